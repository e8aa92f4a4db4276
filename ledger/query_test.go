package ledger_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/suanpan/suanpan/ledger"
)

// statement posts, a minute apart, the five statement lines of one wallet:
// a top-up, a payment, a hold, and the hold's post (a release and a posted
// line). It returns the wallet and the transactions' times t1..t4.
func (e *env) statement() (w *ledger.Account, at [5]time.Time) {
	e.t.Helper()
	bank, shop := e.bank(), e.wallet()
	w = e.wallet()
	at[0] = e.clock.Now()
	step := func(i int, r ledger.Request) *ledger.Transaction {
		e.clock.Set(at[0].Add(time.Duration(i) * time.Minute))
		at[i] = e.clock.Now()
		tr := e.post(r)
		if !tr.CreatedAt.Equal(at[i]) {
			e.t.Fatalf("transaction %d at %v, want %v", i, tr.CreatedAt, at[i])
		}
		return tr
	}
	topup := transfer("topup", bank, w, 10000)
	topup.Type = "topup"
	step(1, topup)
	pay := transfer("pay", w, shop, 2500)
	pay.Type = "payment"
	step(2, pay)
	h := step(3, holdReq("hold", w, shop, 1000, 0))
	capture := postReq("capture", h.ID, 600)
	capture.Type = "capture"
	step(4, capture)
	e.clock.Advance(time.Minute)
	return w, at
}

func TestBalancesAt(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		w, at := e.statement()
		tests := []struct {
			name    string
			at      time.Time
			want    ledger.Balances
			wantSeq int64
		}{
			{"when the account was opened", at[0], ledger.Balances{}, 0},
			{"just before the first entry", at[1].Add(-time.Microsecond), ledger.Balances{}, 0},
			{"at the first entry", at[1], ledger.Balances{CreditsPosted: 10000}, 1},
			{"between the first and second", at[1].Add(30 * time.Second), ledger.Balances{CreditsPosted: 10000}, 1},
			{"at the payment", at[2], ledger.Balances{CreditsPosted: 10000, DebitsPosted: 2500}, 2},
			{"while held", at[3].Add(time.Second), ledger.Balances{CreditsPosted: 10000, DebitsPosted: 2500, DebitsPending: 1000}, 3},
			{"after the capture", at[4], ledger.Balances{CreditsPosted: 10000, DebitsPosted: 3100}, 5},
			{"in a year", at[4].AddDate(1, 0, 0), ledger.Balances{CreditsPosted: 10000, DebitsPosted: 3100}, 5},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.sub(t)
				got, err := e.l.BalancesAt(e.ctx, w.ID, tc.at)
				if err != nil {
					t.Fatalf("BalancesAt: %v", err)
				}
				if diff := cmp.Diff(tc.want, got.Balances); diff != "" {
					t.Errorf("balances (-want +got):\n%s", diff)
				}
				if got.EntrySeq != tc.wantSeq || got.ID != w.ID {
					t.Errorf("account %s at entry %d, want %s at %d", got.ID, got.EntrySeq, w.ID, tc.wantSeq)
				}
			})
		}
		if _, err := e.l.BalancesAt(e.ctx, "no-such-account", at[4]); ledger.ErrorCode(err) != ledger.CodeAccountNotFound {
			t.Errorf("unknown account: got %v, want account_not_found", err)
		}
		e.verify()
	})
}

func TestEntries(t *testing.T) {
	t.Parallel()
	// line is what a statement shows of an entry.
	type line struct {
		Seq       int64
		Type      string
		Reference string
		Kind      ledger.EntryKind
		Side      ledger.Side
		Amount    int64
		Balance   int64
		Available int64
	}
	all := []line{
		{1, "topup", "topup", ledger.EntryPosted, ledger.Credit, 10000, 10000, 10000},
		{2, "payment", "pay", ledger.EntryPosted, ledger.Debit, 2500, 7500, 7500},
		{3, "hold", "hold", ledger.EntryPending, ledger.Debit, 1000, 7500, 6500},
		{4, "capture", "capture", ledger.EntryRelease, ledger.Debit, 1000, 7500, 7500},
		{5, "capture", "capture", ledger.EntryPosted, ledger.Debit, 600, 6900, 6900},
	}
	each(t, func(t *testing.T, e *env) {
		w, at := e.statement()
		lines := func(e *env, f ledger.EntryFilter) ([]line, int64) {
			e.t.Helper()
			f.AccountID = w.ID
			got, next, err := e.l.Entries(e.ctx, f)
			if err != nil {
				e.t.Fatalf("Entries: %v", err)
			}
			var out []line
			for _, l := range got {
				if l.AccountID != w.ID {
					e.t.Errorf("line of account %s", l.AccountID)
				}
				out = append(out, line{l.Seq, l.Type, l.Reference, l.Kind, l.Side, l.Amount, l.Balance, l.Available})
			}
			return out, next
		}

		t.Run("whole statement", func(t *testing.T) {
			e := e.sub(t)
			got, next := lines(e, ledger.EntryFilter{})
			if diff := cmp.Diff(all, got); diff != "" || next != 0 {
				t.Errorf("next %d (want 0); lines (-want +got):\n%s", next, diff)
			}
			full, _, _ := e.l.Entries(e.ctx, ledger.EntryFilter{AccountID: w.ID})
			if want := (ledger.Balances{CreditsPosted: 10000, DebitsPosted: 2500, DebitsPending: 1000}); full[2].After != want {
				t.Errorf("balances after the hold line = %+v, want %+v", full[2].After, want)
			}
			if !full[0].CreatedAt.Equal(at[1]) || !full[4].CreatedAt.Equal(at[4]) {
				t.Errorf("line times %v … %v, want %v … %v", full[0].CreatedAt, full[4].CreatedAt, at[1], at[4])
			}
		})

		pagingTests := []struct {
			name   string
			filter ledger.EntryFilter
			pages  [][]line
			nexts  []int64
		}{
			{"two a page", ledger.EntryFilter{Limit: 2}, [][]line{all[0:2], all[2:4], all[4:5]}, []int64{2, 4, 0}},
			{"four a page", ledger.EntryFilter{Limit: 4}, [][]line{all[0:4], all[4:5]}, []int64{4, 0}},
			{"exactly all", ledger.EntryFilter{Limit: 5}, [][]line{all}, []int64{0}},
			{"one type, one a page", ledger.EntryFilter{Types: []string{"capture"}, Limit: 1},
				[][]line{all[3:4], all[4:5]}, []int64{4, 0}},
		}
		for _, tc := range pagingTests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.sub(t)
				f := tc.filter
				for i, want := range tc.pages {
					got, next := lines(e, f)
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("page %d (-want +got):\n%s", i, diff)
					}
					if next != tc.nexts[i] {
						t.Errorf("page %d: next %d, want %d", i, next, tc.nexts[i])
					}
					f.After = next
				}
			})
		}

		filterTests := []struct {
			name   string
			filter ledger.EntryFilter
			want   []line
		}{
			{"from the payment to the capture", ledger.EntryFilter{From: at[2], To: at[4]}, all[1:3]},
			{"from the capture", ledger.EntryFilter{From: at[4]}, all[3:5]},
			{"until the payment", ledger.EntryFilter{To: at[2]}, all[0:1]},
			{"until just after the payment", ledger.EntryFilter{To: at[2].Add(time.Microsecond)}, all[0:2]},
			{"an empty range", ledger.EntryFilter{From: at[2].Add(time.Second), To: at[3]}, nil},
			{"payments and captures", ledger.EntryFilter{Types: []string{"payment", "capture"}}, []line{all[1], all[3], all[4]}},
			{"an unknown type", ledger.EntryFilter{Types: []string{"refund"}}, nil},
			{"no types", ledger.EntryFilter{Types: []string{}}, nil},
			{"captures after the release", ledger.EntryFilter{Types: []string{"capture"}, After: 4}, all[4:5]},
			{"time and type", ledger.EntryFilter{From: at[2], Types: []string{"hold", "topup"}}, all[2:3]},
		}
		for _, tc := range filterTests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.sub(t)
				got, next := lines(e, tc.filter)
				if diff := cmp.Diff(tc.want, got); diff != "" || next != 0 {
					t.Errorf("next %d (want 0); lines (-want +got):\n%s", next, diff)
				}
			})
		}

		if _, _, err := e.l.Entries(e.ctx, ledger.EntryFilter{AccountID: "no-such-account"}); ledger.ErrorCode(err) != ledger.CodeAccountNotFound {
			t.Errorf("unknown account: got %v, want account_not_found", err)
		}
		e.verify()
	})
}

func TestListTransactions(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, w, shop := e.bank(), e.wallet(), e.wallet()
		bank2 := e.accountIn("inst2", "CNY", ledger.Debit, ledger.OverdraftUnlimited, 0)
		w2 := e.accountIn("inst2", "CNY", ledger.Credit, ledger.OverdraftNone, 0)
		var at []time.Time
		step := func(r ledger.Request) *ledger.Transaction {
			e.clock.Advance(time.Minute)
			at = append(at, e.clock.Now())
			return e.post(r)
		}
		typed := func(r ledger.Request, typ string) ledger.Request {
			r.Type = typ
			return r
		}
		fund := step(typed(transfer("fund", bank, w, 10000), "topup"))
		pay := step(typed(transfer("pay", w, shop, 2500), "payment"))
		h := step(typed(holdReq("auth", w, shop, 1000, 0), "authorize"))
		capture := step(typed(postReq("capture", h.ID), "capture"))
		refund := step(typed(reverseReq("refund", pay.ID, 500), "refund"))
		r := typed(transfer("fund", bank2, w2, 700), "topup")
		r.InstitutionID = "inst2"
		other := step(r)
		ids := func(trs ...*ledger.Transaction) []string {
			var out []string
			for _, tr := range trs {
				out = append(out, tr.ID)
			}
			return out
		}

		tests := []struct {
			name   string
			filter ledger.TransactionFilter
			want   []string
		}{
			{"all, in order", ledger.TransactionFilter{}, ids(fund, pay, h, capture, refund, other)},
			{"by type", ledger.TransactionFilter{Type: "topup"}, ids(fund, other)},
			{"by kind", ledger.TransactionFilter{Kind: ledger.KindHold}, ids(h)},
			{"by kind reversal", ledger.TransactionFilter{Kind: ledger.KindReversal}, ids(refund)},
			{"from, to", ledger.TransactionFilter{From: at[1], To: at[3]}, ids(pay, h)},
			{"to is exclusive", ledger.TransactionFilter{To: at[1]}, ids(fund)},
			{"from is inclusive", ledger.TransactionFilter{From: at[4]}, ids(refund, other)},
			{"between transactions", ledger.TransactionFilter{From: at[1].Add(time.Second), To: at[2]}, nil},
			{"by institution", ledger.TransactionFilter{InstitutionIDs: []string{"inst2"}}, ids(other)},
			{"by institution and type", ledger.TransactionFilter{InstitutionIDs: []string{"inst1"}, Type: "topup"}, ids(fund)},
			{"no institution", ledger.TransactionFilter{InstitutionIDs: []string{}}, nil},
			{"after a cursor", ledger.TransactionFilter{After: capture.ID}, ids(refund, other)},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.sub(t)
				got, next, err := e.l.ListTransactions(e.ctx, tc.filter)
				if err != nil {
					t.Fatalf("ListTransactions: %v", err)
				}
				if diff := cmp.Diff(tc.want, ids(got...)); diff != "" || next != "" {
					t.Errorf("next %q (want none); transactions (-want +got):\n%s", next, diff)
				}
			})
		}

		t.Run("pages", func(t *testing.T) {
			e := e.sub(t)
			var got [][]string
			var nexts []string
			f := ledger.TransactionFilter{Limit: 2}
			for range 4 {
				page, next, err := e.l.ListTransactions(e.ctx, f)
				if err != nil {
					t.Fatalf("ListTransactions: %v", err)
				}
				got, nexts = append(got, ids(page...)), append(nexts, next)
				if next == "" {
					break
				}
				f.After = next
			}
			want := [][]string{ids(fund, pay), ids(h, capture), ids(refund, other)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("pages (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{pay.ID, capture.ID, ""}, nexts); diff != "" {
				t.Errorf("cursors (-want +got):\n%s", diff)
			}
		})

		t.Run("whole transactions", func(t *testing.T) {
			e := e.sub(t)
			got, _, err := e.l.ListTransactions(e.ctx, ledger.TransactionFilter{Type: "capture"})
			if err != nil || len(got) != 1 {
				t.Fatalf("ListTransactions: %d, %v", len(got), err)
			}
			if diff := cmp.Diff(capture, got[0]); diff != "" {
				t.Errorf("listed capture differs from the answer (-answer +listed):\n%s", diff)
			}
		})
		e.verify()
	})
}

func TestGetTransaction(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, w := e.bank(), e.wallet()
		tr := e.post(transfer("ref-1", bank, w, 100))
		bank2 := e.accountIn("inst2", "CNY", ledger.Debit, ledger.OverdraftUnlimited, 0)
		w2 := e.accountIn("inst2", "CNY", ledger.Credit, ledger.OverdraftNone, 0)
		r := transfer("ref-2", bank2, w2, 100)
		r.InstitutionID = "inst2"
		e.post(r)

		got, err := e.l.GetTransactionByReference(e.ctx, "inst1", "ref-1")
		if err != nil {
			t.Fatalf("GetTransactionByReference: %v", err)
		}
		if diff := cmp.Diff(tr, got); diff != "" {
			t.Errorf("by reference (-answer +got):\n%s", diff)
		}
		for _, c := range []struct {
			name, inst, ref string
		}{
			{"unknown reference", "inst1", "ref-9"},
			{"another institution's reference", "inst1", "ref-2"},
			{"reference of inst1 asked by inst2", "inst2", "ref-1"},
		} {
			if _, err := e.l.GetTransactionByReference(e.ctx, c.inst, c.ref); ledger.ErrorCode(err) != ledger.CodeTransactionNotFound {
				t.Errorf("%s: got %v, want transaction_not_found", c.name, err)
			}
		}
		if _, err := e.l.GetTransaction(e.ctx, "no-such-transaction"); ledger.ErrorCode(err) != ledger.CodeTransactionNotFound {
			t.Errorf("GetTransaction(unknown): got %v, want transaction_not_found", err)
		}
		if _, err := e.l.GetAccount(e.ctx, "no-such-account"); ledger.ErrorCode(err) != ledger.CodeAccountNotFound {
			t.Errorf("GetAccount(unknown): got %v, want account_not_found", err)
		}
		e.verify()
	})
}

func TestListAccounts(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		open := func(id, inst, asset, code string) {
			e.newAccount(ledger.NewAccount{ID: id, InstitutionID: inst, Asset: asset, Code: code, NormalSide: ledger.Credit})
		}
		for _, id := range []string{"a-01", "a-02", "a-03", "a-04", "a-05"} {
			open(id, "inst1", "CNY", "2001")
		}
		open("a-06", "inst1", "JPY", "2001")
		open("a-07", "inst1", "CNY", "1002")
		open("a-08", "inst2", "CNY", "2001")
		e.setStatus(&ledger.Account{ID: "a-03"}, ledger.StatusFrozen)
		e.setStatus(&ledger.Account{ID: "a-08"}, ledger.StatusFrozen)

		tests := []struct {
			name   string
			filter ledger.AccountFilter
			want   []string
		}{
			{"all", ledger.AccountFilter{}, []string{"a-01", "a-02", "a-03", "a-04", "a-05", "a-06", "a-07", "a-08"}},
			{"by asset", ledger.AccountFilter{Asset: "JPY"}, []string{"a-06"}},
			{"by code", ledger.AccountFilter{Code: "1002"}, []string{"a-07"}},
			{"by status", ledger.AccountFilter{Status: ledger.StatusFrozen}, []string{"a-03", "a-08"}},
			{"by institution", ledger.AccountFilter{InstitutionIDs: []string{"inst2"}}, []string{"a-08"}},
			{"by institution and status", ledger.AccountFilter{InstitutionIDs: []string{"inst1"}, Status: ledger.StatusFrozen}, []string{"a-03"}},
			{"all filters", ledger.AccountFilter{InstitutionIDs: []string{"inst1"}, Asset: "CNY", Code: "2001", Status: ledger.StatusActive},
				[]string{"a-01", "a-02", "a-04", "a-05"}},
			{"no institution", ledger.AccountFilter{InstitutionIDs: []string{}}, nil},
			{"after a cursor", ledger.AccountFilter{After: "a-06"}, []string{"a-07", "a-08"}},
		}
		ids := func(as []*ledger.Account) []string {
			var out []string
			for _, a := range as {
				out = append(out, a.ID)
			}
			return out
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.sub(t)
				got, next, err := e.l.ListAccounts(e.ctx, tc.filter)
				if err != nil {
					t.Fatalf("ListAccounts: %v", err)
				}
				if diff := cmp.Diff(tc.want, ids(got)); diff != "" || next != "" {
					t.Errorf("next %q (want none); accounts (-want +got):\n%s", next, diff)
				}
			})
		}

		t.Run("pages", func(t *testing.T) {
			e := e.sub(t)
			var got [][]string
			var nexts []string
			f := ledger.AccountFilter{Limit: 3}
			for range 4 {
				page, next, err := e.l.ListAccounts(e.ctx, f)
				if err != nil {
					t.Fatalf("ListAccounts: %v", err)
				}
				got, nexts = append(got, ids(page)), append(nexts, next)
				if next == "" {
					break
				}
				f.After = next
			}
			want := [][]string{{"a-01", "a-02", "a-03"}, {"a-04", "a-05", "a-06"}, {"a-07", "a-08"}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("pages (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"a-03", "a-06", ""}, nexts); diff != "" {
				t.Errorf("cursors (-want +got):\n%s", diff)
			}
		})
		e.verify()
	})
}

func TestTrialBalance(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		open := func(inst, asset, code string, side ledger.Side, od ledger.Overdraft) *ledger.Account {
			return e.newAccount(ledger.NewAccount{InstitutionID: inst, Asset: asset, Code: code, NormalSide: side, Overdraft: od})
		}
		bank := open("inst1", "CNY", "1002", ledger.Debit, ledger.OverdraftUnlimited)
		w1 := open("inst1", "CNY", "2001", ledger.Credit, ledger.OverdraftNone)
		w2 := open("inst1", "CNY", "2001", ledger.Credit, ledger.OverdraftNone)
		fees := open("inst1", "CNY", "6001", ledger.Credit, ledger.OverdraftNone)
		jpyBank := open("inst1", "JPY", "1002", ledger.Debit, ledger.OverdraftUnlimited)
		jpyW := open("inst1", "JPY", "2001", ledger.Credit, ledger.OverdraftNone)
		bank2 := open("inst2", "CNY", "1002", ledger.Debit, ledger.OverdraftUnlimited)
		w3 := open("inst2", "CNY", "2001", ledger.Credit, ledger.OverdraftNone)

		e.fund(bank, w1, 10000)
		e.fund(bank, w2, 5000)
		e.post(ledger.Request{Kind: ledger.KindTransfer, Reference: "pay", Postings: []ledger.Posting{
			{Debit: w1.ID, Credit: w2.ID, Asset: "CNY", Amount: 1000},
			{Debit: w1.ID, Credit: fees.ID, Asset: "CNY", Amount: 50},
		}})
		e.post(holdReq("hold", w2, w1, 300, 0))
		e.fund(jpyBank, jpyW, 700)
		e.fund(bank2, w3, 9)

		tests := []struct {
			name         string
			institutions []string
			want         *ledger.TrialBalance
		}{
			{"inst1", []string{"inst1"}, &ledger.TrialBalance{
				Lines: []ledger.TrialBalanceLine{
					{Asset: "CNY", Code: "1002", Accounts: 1, DebitsPosted: 15000},
					{Asset: "CNY", Code: "2001", Accounts: 2, DebitsPosted: 1050, CreditsPosted: 16000, DebitsPending: 300, CreditsPending: 300},
					{Asset: "CNY", Code: "6001", Accounts: 1, CreditsPosted: 50},
					{Asset: "JPY", Code: "1002", Accounts: 1, DebitsPosted: 700},
					{Asset: "JPY", Code: "2001", Accounts: 1, CreditsPosted: 700},
				},
				Totals: []ledger.TrialBalanceTotal{
					{Asset: "CNY", DebitsPosted: 16050, CreditsPosted: 16050, Balanced: true},
					{Asset: "JPY", DebitsPosted: 700, CreditsPosted: 700, Balanced: true},
				},
				Balanced: true,
			}},
			{"inst2", []string{"inst2"}, &ledger.TrialBalance{
				Lines: []ledger.TrialBalanceLine{
					{Asset: "CNY", Code: "1002", Accounts: 1, DebitsPosted: 9},
					{Asset: "CNY", Code: "2001", Accounts: 1, CreditsPosted: 9},
				},
				Totals:   []ledger.TrialBalanceTotal{{Asset: "CNY", DebitsPosted: 9, CreditsPosted: 9, Balanced: true}},
				Balanced: true,
			}},
			{"all", nil, &ledger.TrialBalance{
				Lines: []ledger.TrialBalanceLine{
					{Asset: "CNY", Code: "1002", Accounts: 2, DebitsPosted: 15009},
					{Asset: "CNY", Code: "2001", Accounts: 3, DebitsPosted: 1050, CreditsPosted: 16009, DebitsPending: 300, CreditsPending: 300},
					{Asset: "CNY", Code: "6001", Accounts: 1, CreditsPosted: 50},
					{Asset: "JPY", Code: "1002", Accounts: 1, DebitsPosted: 700},
					{Asset: "JPY", Code: "2001", Accounts: 1, CreditsPosted: 700},
				},
				Totals: []ledger.TrialBalanceTotal{
					{Asset: "CNY", DebitsPosted: 16059, CreditsPosted: 16059, Balanced: true},
					{Asset: "JPY", DebitsPosted: 700, CreditsPosted: 700, Balanced: true},
				},
				Balanced: true,
			}},
			{"no institution", []string{}, &ledger.TrialBalance{Balanced: true}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.sub(t)
				got, err := e.l.TrialBalance(e.ctx, tc.institutions)
				if err != nil {
					t.Fatalf("TrialBalance: %v", err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("trial balance (-want +got):\n%s", diff)
				}
			})
		}
		e.verify()
	})
}
