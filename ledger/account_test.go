package ledger_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/suanpan/suanpan/ledger"
)

func TestCreateAsset(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		e.clock.Advance(time.Hour)
		tests := []struct {
			name  string
			code  string
			scale int
			want  *ledger.Asset // nil when refused
			// wantErr is the refusal; Field "-" means the field is not checked.
			wantErr rejection
		}{
			{name: "new asset", code: "USD", scale: 2, want: &ledger.Asset{Code: "USD", Scale: 2, MaxAmount: 1e14, CreatedAt: t0.Add(time.Hour)}},
			{name: "same code and scale is idempotent", code: "CNY", scale: 2, want: &ledger.Asset{Code: "CNY", Scale: 2, MaxAmount: 1e14, CreatedAt: t0}},
			{name: "same code, another scale", code: "CNY", scale: 3, wantErr: rejection{Code: ledger.CodeAssetExists}},
			{name: "JPY with CNY's scale", code: "JPY", scale: 2, wantErr: rejection{Code: ledger.CodeAssetExists}},
			{name: "lower-case code", code: "usd", scale: 2, wantErr: rejection{ledger.CodeInvalidRequest, "code"}},
			{name: "empty code", code: "", scale: 2, wantErr: rejection{ledger.CodeInvalidRequest, "code"}},
			{name: "scale above 18", code: "TOKEN", scale: 19, wantErr: rejection{ledger.CodeInvalidRequest, "-"}},
			{name: "negative scale", code: "TOKEN", scale: -1, wantErr: rejection{ledger.CodeInvalidRequest, "-"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.sub(t)
				got, err := e.l.CreateAsset(e.ctx, tc.code, tc.scale)
				gotErr := e.rejectionOf(err)
				if tc.wantErr.Field == "-" {
					gotErr.Field = "-"
				}
				if gotErr != tc.wantErr {
					t.Fatalf("got error %+v (%v), want %+v", gotErr, err, tc.wantErr)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("asset (-want +got):\n%s", diff)
				}
			})
		}

		assets, err := e.l.ListAssets(e.ctx)
		if err != nil {
			t.Fatalf("ListAssets: %v", err)
		}
		want := []*ledger.Asset{{Code: "CNY", Scale: 2, MaxAmount: 1e14, CreatedAt: t0}, {Code: "JPY", Scale: 0, MaxAmount: 1e12, CreatedAt: t0},
			{Code: "USD", Scale: 2, MaxAmount: 1e14, CreatedAt: t0.Add(time.Hour)}}
		if diff := cmp.Diff(want, assets); diff != "" {
			t.Errorf("ListAssets (-want +got):\n%s", diff)
		}
		if _, err := e.l.GetAsset(e.ctx, "EUR"); ledger.ErrorCode(err) != ledger.CodeAssetNotFound {
			t.Errorf("GetAsset(EUR): got %v, want asset_not_found", err)
		}
	})
}

func TestCreateAccount(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		e.clock.Advance(time.Minute)
		a, err := e.l.CreateAccount(e.ctx, ledger.NewAccount{ID: "acct-alice", InstitutionID: "inst1", Asset: "CNY",
			Code: "2001", Name: "Alice", NormalSide: ledger.Credit, Metadata: map[string]string{"kyc": "2"}})
		if err != nil {
			t.Fatalf("CreateAccount: %v", err)
		}
		at := t0.Add(time.Minute)
		want := &ledger.Account{ID: "acct-alice", InstitutionID: "inst1", Asset: "CNY", Code: "2001", Name: "Alice",
			NormalSide: ledger.Credit, Overdraft: ledger.OverdraftNone, Status: ledger.StatusActive,
			Metadata: map[string]string{"kyc": "2"}, CreatedAt: at, UpdatedAt: at}
		if diff := cmp.Diff(want, a, cmp.AllowUnexported(ledger.Account{})); diff != "" {
			t.Errorf("created account (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want, e.get(a), cmp.AllowUnexported(ledger.Account{})); diff != "" {
			t.Errorf("stored account (-want +got):\n%s", diff)
		}

		// Without an ID the ledger assigns one.
		b := e.newAccount(ledger.NewAccount{Asset: "JPY", NormalSide: ledger.Debit})
		if b.ID == "" || b.Metadata == nil {
			t.Errorf("account without ID: got ID %q, metadata %v; want an ID and empty metadata", b.ID, b.Metadata)
		}

		// Field paths of malformed accounts are checked with the batch form
		// (TestCreateAccountsRejections), which prefixes the item's index.
		_, err = e.l.CreateAccount(e.ctx, ledger.NewAccount{InstitutionID: "inst1", Asset: "USD", Code: "2001",
			NormalSide: ledger.Credit})
		if got, want := e.rejectionOf(err), (rejection{Code: ledger.CodeAssetNotFound}); got != want {
			t.Errorf("unknown asset: got %+v (%v), want %+v", got, err, want)
		}
		_, err = e.l.CreateAccount(e.ctx, ledger.NewAccount{ID: "acct-alice", InstitutionID: "inst1", Asset: "CNY",
			Code: "2001", NormalSide: ledger.Credit})
		if got, want := e.rejectionOf(err), (rejection{ledger.CodeInvalidRequest, "id"}); got != want {
			t.Errorf("existing ID: got %+v (%v), want %+v", got, err, want)
		}
		e.verify()
	})
}

func TestCreateAccountsRejections(t *testing.T) {
	t.Parallel()
	ok := ledger.NewAccount{InstitutionID: "inst1", Asset: "CNY", Code: "2001", NormalSide: ledger.Credit}
	with := func(change func(n *ledger.NewAccount)) ledger.NewAccount {
		n := ok
		change(&n)
		return n
	}
	manyMeta := map[string]string{}
	for i := range ledger.MaxMetadataKeys + 1 {
		manyMeta[strings.Repeat("k", i+1)] = "v"
	}
	tests := []struct {
		name string
		ns   []ledger.NewAccount
		want rejection
	}{
		{"malformed id", []ledger.NewAccount{with(func(n *ledger.NewAccount) { n.ID = "a b" })},
			rejection{ledger.CodeInvalidRequest, "[0].id"}},
		{"institution missing", []ledger.NewAccount{with(func(n *ledger.NewAccount) { n.InstitutionID = "" })},
			rejection{ledger.CodeInvalidRequest, "[0].institution_id"}},
		{"code missing", []ledger.NewAccount{with(func(n *ledger.NewAccount) { n.Code = "" })},
			rejection{ledger.CodeInvalidRequest, "[0].code"}},
		{"code too long", []ledger.NewAccount{with(func(n *ledger.NewAccount) { n.Code = strings.Repeat("1", 33) })},
			rejection{ledger.CodeInvalidRequest, "[0].code"}},
		{"asset missing", []ledger.NewAccount{with(func(n *ledger.NewAccount) { n.Asset = "" })},
			rejection{ledger.CodeInvalidRequest, "[0].asset"}},
		{"name too long", []ledger.NewAccount{with(func(n *ledger.NewAccount) { n.Name = strings.Repeat("n", 201) })},
			rejection{ledger.CodeInvalidRequest, "[0].name"}},
		{"normal side missing", []ledger.NewAccount{with(func(n *ledger.NewAccount) { n.NormalSide = "" })},
			rejection{ledger.CodeInvalidRequest, "[0].normal_side"}},
		{"unknown overdraft", []ledger.NewAccount{with(func(n *ledger.NewAccount) { n.Overdraft = "some" })},
			rejection{ledger.CodeInvalidRequest, "[0].overdraft"}},
		{"negative overdraft limit", []ledger.NewAccount{with(func(n *ledger.NewAccount) {
			n.Overdraft, n.OverdraftLimit = ledger.OverdraftLimit, -1
		})}, rejection{ledger.CodeInvalidRequest, "[0].overdraft_limit"}},
		{"limit without overdraft limit", []ledger.NewAccount{with(func(n *ledger.NewAccount) { n.OverdraftLimit = 100 })},
			rejection{ledger.CodeInvalidRequest, "[0].overdraft_limit"}},
		{"too much metadata", []ledger.NewAccount{with(func(n *ledger.NewAccount) { n.Metadata = manyMeta })},
			rejection{ledger.CodeInvalidRequest, "[0].metadata"}},
		{"second account bad", []ledger.NewAccount{ok, with(func(n *ledger.NewAccount) { n.Code = "" })},
			rejection{ledger.CodeInvalidRequest, "[1].code"}},
		{"unknown asset after a good one", []ledger.NewAccount{ok, with(func(n *ledger.NewAccount) { n.Asset = "USD" })},
			rejection{Code: ledger.CodeAssetNotFound}},
		{"the same id twice", []ledger.NewAccount{with(func(n *ledger.NewAccount) { n.ID = "twin" }),
			with(func(n *ledger.NewAccount) { n.ID = "twin" })}, rejection{ledger.CodeInvalidRequest, "id"}},
		{"an existing id", []ledger.NewAccount{ok, with(func(n *ledger.NewAccount) { n.ID = "existing" })},
			rejection{ledger.CodeInvalidRequest, "id"}},
	}
	each(t, func(t *testing.T, e *env) {
		e.newAccount(ledger.NewAccount{ID: "existing", Asset: "CNY", NormalSide: ledger.Credit})
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.sub(t)
				accts, err := e.l.CreateAccounts(e.ctx, tc.ns)
				if got := e.rejectionOf(err); got != tc.want {
					t.Errorf("got %+v (%v), want %+v", got, err, tc.want)
				}
				if accts != nil {
					t.Errorf("got %d accounts, want none", len(accts))
				}
			})
		}
		// All or none: only the account made before the cases exists.
		accts, _, err := e.l.ListAccounts(e.ctx, ledger.AccountFilter{})
		if err != nil {
			t.Fatalf("ListAccounts: %v", err)
		}
		if len(accts) != 1 || accts[0].ID != "existing" {
			t.Errorf("accounts after refused creations: %d, want only %q", len(accts), "existing")
		}
		e.verify()
	})
}

// TestAccountStatusSides posts to and from an account in each status.
func TestAccountStatusSides(t *testing.T) {
	t.Parallel()
	frozen := func(side string) rejection { return rejection{ledger.CodeAccountFrozen, "postings[0]." + side} }
	closed := func(side string) rejection { return rejection{ledger.CodeAccountClosed, "postings[0]." + side} }
	tests := []struct {
		status     ledger.Status
		wantDebit  rejection // money out of the wallet: the wallet is debited
		wantCredit rejection // money into the wallet: the wallet is credited
	}{
		{ledger.StatusActive, rejection{}, rejection{}},
		{ledger.StatusDebitFrozen, frozen("debit"), rejection{}},
		{ledger.StatusCreditFrozen, rejection{}, frozen("credit")},
		{ledger.StatusFrozen, frozen("debit"), frozen("credit")},
		{ledger.StatusClosed, closed("debit"), closed("credit")},
	}
	each(t, func(t *testing.T, e *env) {
		bank, other := e.bank(), e.wallet()
		for _, tc := range tests {
			t.Run(string(tc.status), func(t *testing.T) {
				e := e.sub(t)
				w := e.wallet()
				if tc.status != ledger.StatusClosed {
					e.fund(bank, w, 1000) // a closed account must be empty
				}
				e.setStatus(w, tc.status)
				before := e.balances(w)
				for _, c := range []struct {
					name string
					req  ledger.Request
					want rejection
				}{
					{"debit", transfer(e.ref("out"), w, other, 100), tc.wantDebit},
					{"credit", transfer(e.ref("in"), bank, w, 100), tc.wantCredit},
					{"hold debiting it", holdReq(e.ref("hold-out"), w, other, 100, 0), tc.wantDebit},
					{"hold crediting it", holdReq(e.ref("hold-in"), bank, w, 100, 0), tc.wantCredit},
				} {
					if got := e.attempt(c.req); got != c.want {
						t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
					}
				}
				if tc.wantDebit.Code != "" && tc.wantCredit.Code != "" {
					if diff := cmp.Diff(before, e.balances(w)); diff != "" {
						t.Errorf("balances changed (-before +after):\n%s", diff)
					}
				}
			})
		}

		t.Run("thawed", func(t *testing.T) {
			e := e.sub(t)
			w := e.wallet()
			e.fund(bank, w, 1000)
			e.setStatus(w, ledger.StatusFrozen)
			e.setStatus(w, ledger.StatusActive)
			e.post(transfer(e.ref("out"), w, other, 100))
		})
		e.verify()
	})
}

// TestFreezeWithOpenHold: a hold placed before a freeze cannot be posted
// against the frozen side, but can always be voided.
func TestFreezeWithOpenHold(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		payer    ledger.Status // status the payer gets after the hold
		payee    ledger.Status
		wantPost rejection
	}{
		{"payer debit frozen", ledger.StatusDebitFrozen, ledger.StatusActive,
			rejection{ledger.CodeAccountFrozen, "postings[0].debit"}},
		{"payer fully frozen", ledger.StatusFrozen, ledger.StatusActive,
			rejection{ledger.CodeAccountFrozen, "postings[0].debit"}},
		{"payee credit frozen", ledger.StatusActive, ledger.StatusCreditFrozen,
			rejection{ledger.CodeAccountFrozen, "postings[0].credit"}},
		{"payer credit frozen does not matter", ledger.StatusCreditFrozen, ledger.StatusActive, rejection{}},
		{"payee debit frozen does not matter", ledger.StatusActive, ledger.StatusDebitFrozen, rejection{}},
	}
	each(t, func(t *testing.T, e *env) {
		bank := e.bank()
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.sub(t)
				payer, payee := e.wallet(), e.wallet()
				e.fund(bank, payer, 1000)
				h := e.post(holdReq(e.ref("hold"), payer, payee, 400, 0))
				e.setStatus(payer, tc.payer)
				e.setStatus(payee, tc.payee)
				if got := e.attempt(postReq(e.ref("post"), h.ID)); got != tc.wantPost {
					t.Fatalf("post: got %+v, want %+v", got, tc.wantPost)
				}
				if tc.wantPost.Code == "" {
					if diff := cmp.Diff(ledger.Balances{CreditsPosted: 1000, DebitsPosted: 400}, e.balances(payer)); diff != "" {
						t.Errorf("payer balances after the post (-want +got):\n%s", diff)
					}
					return
				}
				if diff := cmp.Diff(ledger.Balances{CreditsPosted: 1000, DebitsPending: 400}, e.balances(payer)); diff != "" {
					t.Errorf("payer balances after the refused post (-want +got):\n%s", diff)
				}
				e.post(voidReq(e.ref("void"), h.ID))
				if diff := cmp.Diff(ledger.Balances{CreditsPosted: 1000}, e.balances(payer)); diff != "" {
					t.Errorf("payer balances after the void (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(ledger.Balances{}, e.balances(payee)); diff != "" {
					t.Errorf("payee balances after the void (-want +got):\n%s", diff)
				}
			})
		}
		e.verify()
	})
}

func TestSetStatus(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank := e.bank()
		change := func(e *env, a *ledger.Account, st ledger.Status) rejection {
			e.t.Helper()
			_, _, err := e.l.SetStatus(e.ctx, ledger.StatusChange{AccountID: a.ID, Status: st})
			return e.rejectionOf(err)
		}
		notEmpty := rejection{Code: ledger.CodeAccountNotEmpty}

		t.Run("returns the account before and after", func(t *testing.T) {
			e := e.sub(t)
			w := e.wallet()
			e.clock.Advance(time.Minute)
			before, after, err := e.l.SetStatus(e.ctx, ledger.StatusChange{AccountID: w.ID, Status: ledger.StatusDebitFrozen})
			if err != nil {
				t.Fatalf("SetStatus: %v", err)
			}
			if before.Status != ledger.StatusActive || after.Status != ledger.StatusDebitFrozen {
				t.Errorf("status before %s, after %s; want active, debit_frozen", before.Status, after.Status)
			}
			if got := e.get(w); got.Status != ledger.StatusDebitFrozen || !got.UpdatedAt.Equal(e.clock.Now()) {
				t.Errorf("stored status %s updated %v, want debit_frozen updated %v", got.Status, got.UpdatedAt, e.clock.Now())
			}
		})

		t.Run("closing needs an empty account", func(t *testing.T) {
			e := e.sub(t)
			withBalance, inHold := e.wallet(), e.wallet()
			// An overdraft lets a hold leave the balance at zero, so only
			// the hold stands in the way.
			outHold := e.account("CNY", ledger.Credit, ledger.OverdraftLimit, 100)
			e.fund(bank, withBalance, 1)
			h1 := e.post(holdReq(e.ref("hold"), outHold, bank, 100, 0))
			h2 := e.post(holdReq(e.ref("hold"), bank, inHold, 50, 0))
			for _, c := range []struct {
				name string
				acct *ledger.Account
			}{{"with a balance", withBalance}, {"with an outgoing hold", outHold}, {"with an incoming hold", inHold}} {
				if got := change(e, c.acct, ledger.StatusClosed); got != notEmpty {
					t.Errorf("close %s: got %+v, want %+v", c.name, got, notEmpty)
				}
				if got := e.get(c.acct).Status; got != ledger.StatusActive {
					t.Errorf("%s: status %s after refused close, want active", c.name, got)
				}
			}
			e.post(transfer(e.ref("empty"), withBalance, bank, 1))
			e.post(voidReq(e.ref("void"), h1.ID))
			e.post(postReq(e.ref("post"), h2.ID))
			e.post(transfer(e.ref("empty"), inHold, bank, 50))
			for _, a := range []*ledger.Account{withBalance, outHold, inHold} {
				e.setStatus(a, ledger.StatusClosed)
			}
		})

		t.Run("closed stays closed", func(t *testing.T) {
			e := e.sub(t)
			w := e.wallet()
			e.setStatus(w, ledger.StatusClosed)
			for _, st := range []ledger.Status{ledger.StatusActive, ledger.StatusFrozen, ledger.StatusDebitFrozen, ledger.StatusCreditFrozen} {
				if got, want := change(e, w, st), (rejection{Code: ledger.CodeInvalidStatusChange}); got != want {
					t.Errorf("closed to %s: got %+v, want %+v", st, got, want)
				}
			}
			_, _, err := e.l.SetStatus(e.ctx, ledger.StatusChange{AccountID: w.ID, Freeze: []ledger.Side{ledger.Debit}})
			if got, want := e.rejectionOf(err), (rejection{Code: ledger.CodeInvalidStatusChange}); got != want {
				t.Errorf("freeze debits of a closed account: got %+v, want %+v", got, want)
			}
			if got := e.get(w).Status; got != ledger.StatusClosed {
				t.Errorf("status = %s, want closed", got)
			}
			if got, want := e.attempt(transfer(e.ref("in"), bank, w, 1)), (rejection{ledger.CodeAccountClosed, "postings[0].credit"}); got != want {
				t.Errorf("credit a closed account: got %+v, want %+v", got, want)
			}
		})

		t.Run("refusals", func(t *testing.T) {
			e := e.sub(t)
			w := e.wallet()
			other := e.accountIn("inst2", "CNY", ledger.Credit, ledger.OverdraftNone, 0)
			for _, c := range []struct {
				name   string
				change ledger.StatusChange
				want   rejection
			}{
				{"unknown account", ledger.StatusChange{AccountID: "no-such-account", Status: ledger.StatusFrozen},
					rejection{Code: ledger.CodeAccountNotFound}},
				{"account outside the allowed institutions", ledger.StatusChange{AccountID: other.ID,
					Status: ledger.StatusFrozen, InstitutionIDs: []string{"inst1"}}, rejection{Code: ledger.CodeAccountNotFound}},
				{"unknown status", ledger.StatusChange{AccountID: w.ID, Status: "dormant"},
					rejection{ledger.CodeInvalidRequest, "status"}},
				{"empty status", ledger.StatusChange{AccountID: w.ID}, rejection{ledger.CodeInvalidRequest, "status"}},
			} {
				_, _, err := e.l.SetStatus(e.ctx, c.change)
				if got := e.rejectionOf(err); got != c.want {
					t.Errorf("%s: got %+v (%v), want %+v", c.name, got, err, c.want)
				}
			}
			if got := e.get(other).Status; got != ledger.StatusActive {
				t.Errorf("other institution's account: status %s, want active", got)
			}
			if _, _, err := e.l.SetStatus(e.ctx, ledger.StatusChange{AccountID: other.ID, Status: ledger.StatusFrozen,
				InstitutionIDs: []string{"inst2"}}); err != nil {
				t.Errorf("freeze within the allowed institution: %v", err)
			}
		})
		e.verify()
	})
}
