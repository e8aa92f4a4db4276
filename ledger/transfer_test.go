package ledger_test

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/suanpan/suanpan/ledger"
)

func TestTransferPostsEntries(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, w1, w2 := e.bank(), e.wallet(), e.wallet()
		e.post(transfer("topup-1", bank, w1, 10000))
		e.clock.Advance(time.Second)
		pay := e.post(ledger.Request{Kind: ledger.KindTransfer, Reference: "pay-1", Type: "payment",
			Metadata: map[string]string{"order": "o-1"},
			Postings: []ledger.Posting{{Debit: w1.ID, Credit: w2.ID, Asset: "CNY", Amount: 2500}}})

		at := t0.Add(time.Second)
		want := &ledger.Transaction{
			ID: pay.ID, InstitutionID: "inst1", Reference: "pay-1", Kind: ledger.KindTransfer, Type: "payment",
			BusinessDate: "2026-11-02", Metadata: map[string]string{"order": "o-1"},
			Postings: []ledger.Posting{{Debit: w1.ID, Credit: w2.ID, Asset: "CNY", Amount: 2500}},
			Entries: []ledger.Entry{
				{AccountID: w1.ID, Seq: 2, TransactionID: pay.ID, Side: ledger.Debit, Kind: ledger.EntryPosted,
					Asset: "CNY", Amount: 2500, After: ledger.Balances{DebitsPosted: 2500, CreditsPosted: 10000}, CreatedAt: at},
				{AccountID: w2.ID, Seq: 1, TransactionID: pay.ID, Side: ledger.Credit, Kind: ledger.EntryPosted,
					Asset: "CNY", Amount: 2500, After: ledger.Balances{CreditsPosted: 2500}, CreatedAt: at},
			},
			CreatedAt: at,
		}
		if diff := cmp.Diff(want, pay); diff != "" {
			t.Errorf("posted transaction (-want +got):\n%s", diff)
		}
		got, err := e.l.GetTransaction(e.ctx, pay.ID)
		if err != nil {
			t.Fatalf("GetTransaction: %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("stored transaction (-want +got):\n%s", diff)
		}

		for _, c := range []struct {
			name        string
			acct        *ledger.Account
			want        ledger.Balances
			wantBalance int64
		}{
			{"bank", bank, ledger.Balances{DebitsPosted: 10000}, 10000},
			{"payer", w1, ledger.Balances{DebitsPosted: 2500, CreditsPosted: 10000}, 7500},
			{"payee", w2, ledger.Balances{CreditsPosted: 2500}, 2500},
		} {
			a := e.get(c.acct)
			if diff := cmp.Diff(c.want, a.Balances); diff != "" {
				t.Errorf("%s balances (-want +got):\n%s", c.name, diff)
			}
			if got := a.Balance(a.NormalSide); got != c.wantBalance {
				t.Errorf("%s balance = %d, want %d", c.name, got, c.wantBalance)
			}
		}
		e.verify()
	})
}

func TestTransferDefaultsAndDates(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, w := e.bank(), e.wallet()
		r := transfer("no-type", bank, w, 100)
		r.Type = ""
		tr := e.post(r)
		if tr.Type != "transfer" {
			t.Errorf("type = %q, want the kind, %q", tr.Type, "transfer")
		}
		if tr.Metadata == nil || len(tr.Metadata) != 0 {
			t.Errorf("metadata = %#v, want an empty map", tr.Metadata)
		}

		// The business date follows the ledger's clock (UTC by default), and
		// the ledger's timestamps never repeat even when the clock stands still.
		e.clock.Set(time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC))
		a := e.post(transfer("next-day-1", bank, w, 100))
		b := e.post(transfer("next-day-2", bank, w, 100))
		if a.BusinessDate != "2026-11-03" {
			t.Errorf("business date = %q, want 2026-11-03", a.BusinessDate)
		}
		if !b.CreatedAt.After(a.CreatedAt) || b.ID <= a.ID {
			t.Errorf("second transaction at %v (ID %s), first at %v (ID %s): want later time and greater ID",
				b.CreatedAt, b.ID, a.CreatedAt, a.ID)
		}
		e.verify()
	})
}

func TestTransferManyPostingsAndAssets(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, w, fee := e.bank(), e.wallet(), e.wallet()
		jpyBank := e.account("JPY", ledger.Debit, ledger.OverdraftUnlimited, 0)
		jpyW := e.account("JPY", ledger.Credit, ledger.OverdraftNone, 0)
		e.fund(bank, w, 10000)

		tr := e.post(ledger.Request{Kind: ledger.KindTransfer, Reference: "multi", Postings: []ledger.Posting{
			{Debit: w.ID, Credit: bank.ID, Asset: "CNY", Amount: 3000},
			{Debit: w.ID, Credit: fee.ID, Asset: "CNY", Amount: 100},
			{Debit: jpyBank.ID, Credit: jpyW.ID, Asset: "JPY", Amount: 450},
		}})
		if got, want := len(tr.Entries), 6; got != want {
			t.Errorf("entries = %d, want %d", got, want)
		}
		for _, c := range []struct {
			name string
			acct *ledger.Account
			want ledger.Balances
		}{
			{"cny bank", bank, ledger.Balances{DebitsPosted: 10000, CreditsPosted: 3000}},
			{"payer", w, ledger.Balances{DebitsPosted: 3100, CreditsPosted: 10000}},
			{"fee", fee, ledger.Balances{CreditsPosted: 100}},
			{"jpy bank", jpyBank, ledger.Balances{DebitsPosted: 450}},
			{"jpy wallet", jpyW, ledger.Balances{CreditsPosted: 450}},
		} {
			if diff := cmp.Diff(c.want, e.balances(c.acct)); diff != "" {
				t.Errorf("%s balances (-want +got):\n%s", c.name, diff)
			}
		}

		// One bad posting refuses the whole transaction.
		got := e.attempt(ledger.Request{Kind: ledger.KindTransfer, Reference: "multi-bad", Postings: []ledger.Posting{
			{Debit: w.ID, Credit: fee.ID, Asset: "CNY", Amount: 100},
			{Debit: jpyW.ID, Credit: jpyBank.ID, Asset: "JPY", Amount: 451},
		}})
		if want := (rejection{Code: ledger.CodeInsufficientFunds}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
		if diff := cmp.Diff(ledger.Balances{CreditsPosted: 100}, e.balances(fee)); diff != "" {
			t.Errorf("fee balances after the refused transaction (-want +got):\n%s", diff)
		}
		e.verify()
	})
}

// TestRequestLimitsAccepted posts requests exactly at every size limit.
func TestRequestLimitsAccepted(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, w := e.bank(), e.wallet()
		meta := map[string]string{}
		for i := range ledger.MaxMetadataKeys {
			k := strconv.Itoa(i) + strings.Repeat("k", ledger.MaxMetadataKey)
			meta[k[:ledger.MaxMetadataKey]] = strings.Repeat("v", ledger.MaxMetadataValue)
		}
		postings := make([]ledger.Posting, ledger.MaxPostings)
		for i := range postings {
			postings[i] = ledger.Posting{Debit: bank.ID, Credit: w.ID, Asset: "CNY", Amount: 1}
		}
		r := ledger.Request{Kind: ledger.KindTransfer, InstitutionID: strings.Repeat("i", 64),
			Reference: strings.Repeat("r", ledger.MaxReferenceLen), Type: strings.Repeat("t", 64),
			Metadata: meta, Postings: postings}
		// The accounts are in inst1, so the long institution is refused for
		// its accounts, not for its length.
		if got, want := e.attempt(r), (rejection{ledger.CodeInstitutionMismatch, "postings[0].debit"}); got != want {
			t.Errorf("long institution: got %+v, want %+v", got, want)
		}
		r.InstitutionID = "inst1"
		tr := e.post(r)
		if diff := cmp.Diff(meta, tr.Metadata); diff != "" {
			t.Errorf("metadata (-want +got):\n%s", diff)
		}
		if got, want := e.balances(w).CreditsPosted, int64(ledger.MaxPostings); got != want {
			t.Errorf("wallet credits = %d, want %d", got, want)
		}
		if got, want := e.get(w).EntrySeq, int64(ledger.MaxPostings); got != want {
			t.Errorf("wallet entry_seq = %d, want %d", got, want)
		}
		h := e.post(ledger.Request{Kind: ledger.KindHold, Reference: "longest-hold", Timeout: ledger.MaxHoldTimeout,
			Postings: []ledger.Posting{{Debit: w.ID, Credit: bank.ID, Asset: "CNY", Amount: 1}}})
		if got, want := h.ExpiresAt, h.CreatedAt.Add(ledger.MaxHoldTimeout); !got.Equal(want) {
			t.Errorf("expires at %v, want %v", got, want)
		}
		e.verify()
	})
}

func TestRequestRejections(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, w1, w2 := e.bank(), e.wallet(), e.wallet()
		jpyBank := e.account("JPY", ledger.Debit, ledger.OverdraftUnlimited, 0)
		jpyW := e.account("JPY", ledger.Credit, ledger.OverdraftNone, 0)
		other := e.accountIn("inst2", "CNY", ledger.Credit, ledger.OverdraftNone, 0)
		e.fund(bank, w1, 10000)
		e.fund(jpyBank, jpyW, 500)

		pay := func(amount int64) []ledger.Posting {
			return []ledger.Posting{{Debit: w1.ID, Credit: w2.ID, Asset: "CNY", Amount: amount}}
		}
		// valid is a transfer that would succeed; each case changes it.
		valid := func(change func(r *ledger.Request)) ledger.Request {
			r := ledger.Request{Kind: ledger.KindTransfer, InstitutionID: "inst1", Reference: "r-1",
				Type: "payment", Postings: pay(100)}
			change(&r)
			return r
		}
		manyMeta := map[string]string{}
		for i := range ledger.MaxMetadataKeys + 1 {
			manyMeta["k"+strconv.Itoa(i)] = "v"
		}
		long := func(n int) string { return strings.Repeat("x", n) }
		inst1 := func(r ledger.Request) ledger.Request {
			r.InstitutionID = "inst1"
			return r
		}

		tests := []struct {
			name string
			req  ledger.Request
			want rejection
		}{
			// invalid_request, field by field.
			{"kind missing", valid(func(r *ledger.Request) { r.Kind = "" }),
				rejection{ledger.CodeInvalidRequest, "kind"}},
			{"kind unknown", valid(func(r *ledger.Request) { r.Kind = "settle" }),
				rejection{ledger.CodeInvalidRequest, "kind"}},
			{"institution missing", valid(func(r *ledger.Request) { r.InstitutionID = "" }),
				rejection{ledger.CodeInvalidRequest, "institution_id"}},
			{"institution too long", valid(func(r *ledger.Request) { r.InstitutionID = long(65) }),
				rejection{ledger.CodeInvalidRequest, "institution_id"}},
			{"institution with a space", valid(func(r *ledger.Request) { r.InstitutionID = "inst 1" }),
				rejection{ledger.CodeInvalidRequest, "institution_id"}},
			{"reference missing", valid(func(r *ledger.Request) { r.Reference = "" }),
				rejection{ledger.CodeInvalidRequest, "reference"}},
			{"reference too long", valid(func(r *ledger.Request) { r.Reference = long(ledger.MaxReferenceLen + 1) }),
				rejection{ledger.CodeInvalidRequest, "reference"}},
			{"reference with a control character", valid(func(r *ledger.Request) { r.Reference = "r-1\n" }),
				rejection{ledger.CodeInvalidRequest, "reference"}},
			{"reference not UTF-8", valid(func(r *ledger.Request) { r.Reference = "r-\xff" }),
				rejection{ledger.CodeInvalidRequest, "reference"}},
			{"type with a space", valid(func(r *ledger.Request) { r.Type = "top up" }),
				rejection{ledger.CodeInvalidRequest, "type"}},
			{"type with a non-ASCII letter", valid(func(r *ledger.Request) { r.Type = "充值" }),
				rejection{ledger.CodeInvalidRequest, "type"}},
			{"type too long", valid(func(r *ledger.Request) { r.Type = long(65) }),
				rejection{ledger.CodeInvalidRequest, "type"}},
			{"too many metadata keys", valid(func(r *ledger.Request) { r.Metadata = manyMeta }),
				rejection{ledger.CodeInvalidRequest, "metadata"}},
			{"empty metadata key", valid(func(r *ledger.Request) { r.Metadata = map[string]string{"": "v"} }),
				rejection{ledger.CodeInvalidRequest, "metadata"}},
			{"metadata key too long", valid(func(r *ledger.Request) {
				r.Metadata = map[string]string{long(ledger.MaxMetadataKey + 1): "v"}
			}), rejection{ledger.CodeInvalidRequest, "metadata"}},
			{"metadata value too long", valid(func(r *ledger.Request) {
				r.Metadata = map[string]string{"note": long(ledger.MaxMetadataValue + 1)}
			}), rejection{ledger.CodeInvalidRequest, "metadata.note"}},
			{"metadata value not UTF-8", valid(func(r *ledger.Request) { r.Metadata = map[string]string{"note": "\xff"} }),
				rejection{ledger.CodeInvalidRequest, "metadata.note"}},
			{"no postings", valid(func(r *ledger.Request) { r.Postings = nil }),
				rejection{ledger.CodeInvalidRequest, "postings"}},
			{"too many postings", valid(func(r *ledger.Request) {
				r.Postings = make([]ledger.Posting, ledger.MaxPostings+1)
				for i := range r.Postings {
					r.Postings[i] = pay(1)[0]
				}
			}), rejection{ledger.CodeInvalidRequest, "postings"}},
			{"posting without debit account", valid(func(r *ledger.Request) { r.Postings[0].Debit = "" }),
				rejection{ledger.CodeInvalidRequest, "postings[0].debit"}},
			{"posting with a malformed credit account", valid(func(r *ledger.Request) {
				r.Postings = append(pay(1), ledger.Posting{Debit: w1.ID, Credit: "no such/account!", Asset: "CNY", Amount: 1})
			}), rejection{ledger.CodeInvalidRequest, "postings[1].credit"}},
			{"posting without asset", valid(func(r *ledger.Request) { r.Postings[0].Asset = "" }),
				rejection{ledger.CodeInvalidRequest, "postings[0].asset"}},
			{"timeout on a transfer", valid(func(r *ledger.Request) { r.Timeout = time.Minute }),
				rejection{ledger.CodeInvalidRequest, "timeout"}},
			{"hold_id on a transfer", valid(func(r *ledger.Request) { r.HoldID = "h-1" }),
				rejection{ledger.CodeInvalidRequest, "hold_id"}},
			{"transaction_id on a transfer", valid(func(r *ledger.Request) { r.TransactionID = "t-1" }),
				rejection{ledger.CodeInvalidRequest, "transaction_id"}},
			{"amounts on a transfer", valid(func(r *ledger.Request) { r.Amounts = []int64{1} }),
				rejection{ledger.CodeInvalidRequest, "amounts"}},
			{"negative hold timeout", valid(func(r *ledger.Request) { r.Kind, r.Timeout = ledger.KindHold, -time.Second }),
				rejection{ledger.CodeInvalidRequest, "timeout"}},
			{"hold timeout over ten years", valid(func(r *ledger.Request) {
				r.Kind, r.Timeout = ledger.KindHold, ledger.MaxHoldTimeout+time.Microsecond
			}), rejection{ledger.CodeInvalidRequest, "timeout"}},
			{"hold timeout under a millisecond", valid(func(r *ledger.Request) {
				r.Kind, r.Timeout = ledger.KindHold, time.Millisecond-time.Nanosecond
			}), rejection{ledger.CodeInvalidRequest, "timeout"}},
			{"amounts on a hold", valid(func(r *ledger.Request) { r.Kind, r.Amounts = ledger.KindHold, []int64{1} }),
				rejection{ledger.CodeInvalidRequest, "amounts"}},
			{"hold_id on a hold", valid(func(r *ledger.Request) { r.Kind, r.HoldID = ledger.KindHold, "h-1" }),
				rejection{ledger.CodeInvalidRequest, "hold_id"}},
			{"postings on a post", ledger.Request{Kind: ledger.KindPost, InstitutionID: "inst1", Reference: "r-1",
				HoldID: "h-1", Postings: pay(1)}, rejection{ledger.CodeInvalidRequest, "postings"}},
			{"empty postings on a post", ledger.Request{Kind: ledger.KindPost, InstitutionID: "inst1", Reference: "r-1",
				HoldID: "h-1", Postings: []ledger.Posting{}}, rejection{ledger.CodeInvalidRequest, "postings"}},
			{"post without hold_id", ledger.Request{Kind: ledger.KindPost, InstitutionID: "inst1", Reference: "r-1"},
				rejection{ledger.CodeInvalidRequest, "hold_id"}},
			{"timeout on a post", ledger.Request{Kind: ledger.KindPost, InstitutionID: "inst1", Reference: "r-1",
				HoldID: "h-1", Timeout: time.Minute}, rejection{ledger.CodeInvalidRequest, "timeout"}},
			{"transaction_id on a post", ledger.Request{Kind: ledger.KindPost, InstitutionID: "inst1", Reference: "r-1",
				HoldID: "h-1", TransactionID: "t-1"}, rejection{ledger.CodeInvalidRequest, "transaction_id"}},
			{"postings on a void", ledger.Request{Kind: ledger.KindVoid, InstitutionID: "inst1", Reference: "r-1",
				HoldID: "h-1", Postings: pay(1)}, rejection{ledger.CodeInvalidRequest, "postings"}},
			{"amounts on a void", ledger.Request{Kind: ledger.KindVoid, InstitutionID: "inst1", Reference: "r-1",
				HoldID: "h-1", Amounts: []int64{1}}, rejection{ledger.CodeInvalidRequest, "amounts"}},
			{"void without hold_id", ledger.Request{Kind: ledger.KindVoid, InstitutionID: "inst1", Reference: "r-1"},
				rejection{ledger.CodeInvalidRequest, "hold_id"}},
			{"reversal without transaction_id", ledger.Request{Kind: ledger.KindReversal, InstitutionID: "inst1",
				Reference: "r-1"}, rejection{ledger.CodeInvalidRequest, "transaction_id"}},
			{"hold_id on a reversal", ledger.Request{Kind: ledger.KindReversal, InstitutionID: "inst1", Reference: "r-1",
				TransactionID: "t-1", HoldID: "h-1"}, rejection{ledger.CodeInvalidRequest, "hold_id"}},
			{"postings on a reversal", ledger.Request{Kind: ledger.KindReversal, InstitutionID: "inst1", Reference: "r-1",
				TransactionID: "t-1", Postings: pay(1)}, rejection{ledger.CodeInvalidRequest, "postings"}},
			{"too many amounts on a reversal", ledger.Request{Kind: ledger.KindReversal, InstitutionID: "inst1",
				Reference: "r-1", TransactionID: "t-1", Amounts: make([]int64, ledger.MaxPostings+1)},
				rejection{ledger.CodeInvalidRequest, "amounts"}},

			// invalid_amount.
			{"zero amount", valid(func(r *ledger.Request) { r.Postings[0].Amount = 0 }),
				rejection{ledger.CodeInvalidAmount, "postings[0].amount"}},
			{"negative amount", valid(func(r *ledger.Request) { r.Postings[0].Amount = -100 }),
				rejection{ledger.CodeInvalidAmount, "postings[0].amount"}},
			{"zero amount in the second posting", valid(func(r *ledger.Request) { r.Postings = append(pay(1), pay(0)...) }),
				rejection{ledger.CodeInvalidAmount, "postings[1].amount"}},
			{"zero amount on a hold", valid(func(r *ledger.Request) { r.Kind, r.Postings[0].Amount = ledger.KindHold, 0 }),
				rejection{ledger.CodeInvalidAmount, "postings[0].amount"}},
			{"zero in post amounts", inst1(postReq("r-1", "h-1", 5, 0)), rejection{ledger.CodeInvalidAmount, "amounts[1]"}},
			{"negative post amount", inst1(postReq("r-1", "h-1", -5)), rejection{ledger.CodeInvalidAmount, "amounts[0]"}},
			{"empty post amounts", inst1(ledger.Request{Kind: ledger.KindPost, Reference: "r-1", HoldID: "h-1",
				Amounts: []int64{}}), rejection{ledger.CodeInvalidAmount, "amounts"}},
			{"all-zero reversal amounts", inst1(reverseReq("r-1", "t-1", 0, 0)), rejection{ledger.CodeInvalidAmount, "amounts"}},
			{"negative reversal amount", inst1(reverseReq("r-1", "t-1", 0, -1)), rejection{ledger.CodeInvalidAmount, "amounts[1]"}},

			// Checks against the accounts.
			{"same account on both sides", valid(func(r *ledger.Request) { r.Postings[0].Credit = w1.ID }),
				rejection{ledger.CodeSameAccount, "postings[0]"}},
			{"unknown debit account", valid(func(r *ledger.Request) { r.Postings[0].Debit = "no-such-account" }),
				rejection{ledger.CodeAccountNotFound, "postings[0].debit"}},
			{"unknown credit account", valid(func(r *ledger.Request) {
				r.Postings = append(pay(1), ledger.Posting{Debit: w1.ID, Credit: "no-such-account", Asset: "CNY", Amount: 1})
			}), rejection{ledger.CodeAccountNotFound, "postings[1].credit"}},
			{"posting in JPY between CNY accounts", valid(func(r *ledger.Request) { r.Postings[0].Asset = "JPY" }),
				rejection{ledger.CodeAssetMismatch, "postings[0].asset"}},
			{"posting in an unknown asset", valid(func(r *ledger.Request) { r.Postings[0].Asset = "USD" }),
				rejection{ledger.CodeAssetMismatch, "postings[0].asset"}},
			{"CNY wallet to JPY wallet", valid(func(r *ledger.Request) { r.Postings[0].Credit = jpyW.ID }),
				rejection{ledger.CodeAssetMismatch, "postings[0].asset"}},
			{"JPY wallet to CNY wallet in JPY", valid(func(r *ledger.Request) {
				r.Postings[0] = ledger.Posting{Debit: jpyW.ID, Credit: w2.ID, Asset: "JPY", Amount: 1}
			}), rejection{ledger.CodeAssetMismatch, "postings[0].asset"}},
			{"credit account of another institution", valid(func(r *ledger.Request) { r.Postings[0].Credit = other.ID }),
				rejection{ledger.CodeInstitutionMismatch, "postings[0].credit"}},
			{"debit account of another institution", valid(func(r *ledger.Request) { r.InstitutionID = "inst2" }),
				rejection{ledger.CodeInstitutionMismatch, "postings[0].debit"}},
			{"more than the balance", valid(func(r *ledger.Request) { r.Postings[0].Amount = 10001 }),
				rejection{ledger.CodeInsufficientFunds, ""}},
			{"a hold of more than the balance", valid(func(r *ledger.Request) { r.Kind, r.Postings[0].Amount = ledger.KindHold, 10001 }),
				rejection{ledger.CodeInsufficientFunds, ""}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.sub(t)
				_, err := e.l.Post(e.ctx, tc.req)
				if got := e.rejectionOf(err); got != tc.want {
					t.Errorf("got %+v (%v), want %+v", got, err, tc.want)
				}
			})
		}

		// Nothing of it reached the journal.
		if diff := cmp.Diff(ledger.Balances{CreditsPosted: 10000}, e.balances(w1)); diff != "" {
			t.Errorf("payer balances (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(ledger.Balances{}, e.balances(w2)); diff != "" {
			t.Errorf("payee balances (-want +got):\n%s", diff)
		}
		if _, err := e.l.GetTransactionByReference(e.ctx, "inst1", "r-1"); ledger.ErrorCode(err) != ledger.CodeTransactionNotFound {
			t.Errorf("reference r-1: got %v, want transaction_not_found", err)
		}
		e.verify()
	})
}

func TestOverflow(t *testing.T) {
	t.Parallel()
	const half = math.MaxInt64/2 + 1
	each(t, func(t *testing.T, e *env) {
		// Beyond any default ceiling: what is tested is the int64 range.
		if _, err := e.l.SetMaxAmount(e.ctx, "CNY", math.MaxInt64); err != nil {
			t.Fatal(err)
		}
		unconstrained := func() (*ledger.Account, *ledger.Account) {
			return e.account("CNY", ledger.Debit, ledger.OverdraftUnlimited, 0),
				e.account("CNY", ledger.Credit, ledger.OverdraftUnlimited, 0)
		}

		t.Run("two postings of just over half", func(t *testing.T) {
			e := e.sub(t)
			src, dst := unconstrained()
			got := e.attempt(ledger.Request{Kind: ledger.KindTransfer, Reference: e.ref("big"), Postings: []ledger.Posting{
				{Debit: src.ID, Credit: dst.ID, Asset: "CNY", Amount: half},
				{Debit: src.ID, Credit: dst.ID, Asset: "CNY", Amount: half},
			}})
			if want := (rejection{Code: ledger.CodeOverflow}); got != want {
				t.Errorf("got %+v, want %+v", got, want)
			}
			for _, a := range []*ledger.Account{src, dst} {
				if diff := cmp.Diff(ledger.Balances{}, e.balances(a)); diff != "" {
					t.Errorf("balances of %s (-want +got):\n%s", a.ID, diff)
				}
			}
		})

		t.Run("one more after the maximum", func(t *testing.T) {
			e := e.sub(t)
			src, dst := unconstrained()
			e.post(transfer(e.ref("max"), src, dst, math.MaxInt64))
			if got, want := e.attempt(transfer(e.ref("one-more"), src, dst, 1)), (rejection{Code: ledger.CodeOverflow}); got != want {
				t.Errorf("got %+v, want %+v", got, want)
			}
			if diff := cmp.Diff(ledger.Balances{DebitsPosted: math.MaxInt64}, e.balances(src)); diff != "" {
				t.Errorf("source balances (-want +got):\n%s", diff)
			}
		})

		t.Run("pending amounts", func(t *testing.T) {
			e := e.sub(t)
			src, dst := unconstrained()
			e.post(holdReq(e.ref("hold"), src, dst, half, 0))
			if got, want := e.attempt(holdReq(e.ref("hold"), src, dst, half, 0)), (rejection{Code: ledger.CodeOverflow}); got != want {
				t.Errorf("got %+v, want %+v", got, want)
			}
			if diff := cmp.Diff(ledger.Balances{DebitsPending: half}, e.balances(src)); diff != "" {
				t.Errorf("source balances (-want +got):\n%s", diff)
			}
		})
		e.verify()
	})
}

func TestInsufficientFunds(t *testing.T) {
	t.Parallel()
	type spec struct {
		name      string
		normal    ledger.Side
		overdraft ledger.Overdraft
		limit     int64
		fund      int64 // posted inflow first
		holdOut   int64 // then a pending outflow
		holdIn    int64 // and a pending inflow
		pay       int64 // the outflow tried
		want      rejection
		wantAvail int64 // available balance afterwards
	}
	insufficient := rejection{Code: ledger.CodeInsufficientFunds}
	tests := []spec{
		{name: "none: exactly the balance", normal: ledger.Credit, overdraft: ledger.OverdraftNone, fund: 100, pay: 100, wantAvail: 0},
		{name: "none: one over the balance", normal: ledger.Credit, overdraft: ledger.OverdraftNone, fund: 100, pay: 101, want: insufficient, wantAvail: 100},
		{name: "none: empty account", normal: ledger.Credit, overdraft: ledger.OverdraftNone, pay: 1, want: insufficient},
		{name: "limit: exactly at the limit", normal: ledger.Credit, overdraft: ledger.OverdraftLimit, limit: 500, pay: 500, wantAvail: -500},
		{name: "limit: one over the limit", normal: ledger.Credit, overdraft: ledger.OverdraftLimit, limit: 500, pay: 501, want: insufficient},
		{name: "limit: balance plus limit", normal: ledger.Credit, overdraft: ledger.OverdraftLimit, limit: 500, fund: 100, pay: 600, wantAvail: -500},
		{name: "limit: one over balance plus limit", normal: ledger.Credit, overdraft: ledger.OverdraftLimit, limit: 500, fund: 100, pay: 601, want: insufficient, wantAvail: 100},
		{name: "pending outflow counts: one over", normal: ledger.Credit, overdraft: ledger.OverdraftNone, fund: 100, holdOut: 60, pay: 41, want: insufficient, wantAvail: 40},
		{name: "pending outflow counts: exactly what is left", normal: ledger.Credit, overdraft: ledger.OverdraftNone, fund: 100, holdOut: 60, pay: 40, wantAvail: 0},
		{name: "pending outflow counts against the limit", normal: ledger.Credit, overdraft: ledger.OverdraftLimit, limit: 50, fund: 100, holdOut: 100, pay: 51, want: insufficient},
		{name: "pending inflow does not count", normal: ledger.Credit, overdraft: ledger.OverdraftNone, holdIn: 100, pay: 1, want: insufficient},
		{name: "pending inflow does not count on top of a balance", normal: ledger.Credit, overdraft: ledger.OverdraftNone, fund: 10, holdIn: 100, pay: 11, want: insufficient, wantAvail: 10},
		{name: "debit-normal none: exactly the balance", normal: ledger.Debit, overdraft: ledger.OverdraftNone, fund: 100, pay: 100, wantAvail: 0},
		{name: "debit-normal none: one over", normal: ledger.Debit, overdraft: ledger.OverdraftNone, fund: 100, pay: 101, want: insufficient, wantAvail: 100},
		{name: "debit-normal pending outflow counts", normal: ledger.Debit, overdraft: ledger.OverdraftNone, fund: 100, holdOut: 1, pay: 100, want: insufficient, wantAvail: 99},
		{name: "unlimited goes negative", normal: ledger.Credit, overdraft: ledger.OverdraftUnlimited, pay: 1_000_000, wantAvail: -1_000_000},
	}
	each(t, func(t *testing.T, e *env) {
		// other is the unconstrained counterparty of every case.
		other := e.account("CNY", ledger.Credit, ledger.OverdraftUnlimited, 0)
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.sub(t)
				a := e.account("CNY", tc.normal, tc.overdraft, tc.limit)
				// in and out are postings that raise and lower a's balance.
				in := func(amount int64) ledger.Posting {
					if tc.normal == ledger.Credit {
						return ledger.Posting{Debit: other.ID, Credit: a.ID, Asset: "CNY", Amount: amount}
					}
					return ledger.Posting{Debit: a.ID, Credit: other.ID, Asset: "CNY", Amount: amount}
				}
				out := func(amount int64) ledger.Posting {
					p := in(amount)
					p.Debit, p.Credit = p.Credit, p.Debit
					return p
				}
				req := func(kind ledger.Kind, p ledger.Posting) ledger.Request {
					return ledger.Request{Kind: kind, Reference: e.ref(string(kind)), Postings: []ledger.Posting{p}}
				}
				if tc.fund > 0 {
					e.post(req(ledger.KindTransfer, in(tc.fund)))
				}
				if tc.holdOut > 0 {
					e.post(req(ledger.KindHold, out(tc.holdOut)))
				}
				if tc.holdIn > 0 {
					e.post(req(ledger.KindHold, in(tc.holdIn)))
				}
				if got := e.attempt(req(ledger.KindTransfer, out(tc.pay))); got != tc.want {
					t.Errorf("got %+v, want %+v", got, tc.want)
				}
				got := e.get(a)
				avail, err := got.Available(got.NormalSide)
				if err != nil || avail != tc.wantAvail {
					t.Errorf("available = %d (err %v), want %d", avail, err, tc.wantAvail)
				}
			})
		}
		e.verify()
	})
}
