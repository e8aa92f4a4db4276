package ledger_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/suanpan/suanpan/ledger"
)

func TestBatchTooLarge(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, w := e.bank(), e.wallet()
		reqs := make([]ledger.Request, 4097)
		for i := range reqs {
			reqs[i] = transfer(e.ref("big"), bank, w, 1)
			reqs[i].InstitutionID = "inst1"
		}
		res, err := e.l.Submit(e.ctx, reqs, false)
		if got, want := e.rejectionOf(err), (rejection{Code: ledger.CodeBatchTooLarge}); got != want || res != nil {
			t.Errorf("got %d results, error %+v; want none and %+v", len(res), got, want)
		}
		if got := e.get(w).Balance(ledger.Credit); got != 0 {
			t.Errorf("balance = %d, want 0", got)
		}
		res, err = e.l.Submit(e.ctx, nil, false)
		if res != nil || err != nil {
			t.Errorf("empty submission: %v, %v; want nothing", res, err)
		}
		e.verify()
	})
}

func TestBatchTooLargeConfigured(t *testing.T) {
	t.Parallel()
	eachWith(t, ledger.Options{MaxBatch: 3}, func(t *testing.T, e *env) {
		bank, w := e.bank(), e.wallet()
		reqs := make([]ledger.Request, 4)
		for i := range reqs {
			reqs[i] = transfer(e.ref("small"), bank, w, 1)
			reqs[i].InstitutionID = "inst1"
		}
		if _, err := e.l.Submit(e.ctx, reqs, true); ledger.ErrorCode(err) != ledger.CodeBatchTooLarge {
			t.Errorf("4 requests: got %v, want batch_too_large", err)
		}
		for i, r := range e.submit(reqs[:3], true) {
			if r.Err != nil {
				t.Errorf("request %d: %v", i, r.Err)
			}
		}
		if got := e.get(w).Balance(ledger.Credit); got != 3 {
			t.Errorf("balance = %d, want 3 (only the batch within the limit)", got)
		}
		e.verify()
	})
}

// TestBatchIndependent: without atomic, each request stands alone, is
// answered in order, and sees the effects of the requests before it.
func TestBatchIndependent(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, w1, w2 := e.bank(), e.wallet(), e.wallet()
		insufficient := rejection{Code: ledger.CodeInsufficientFunds}
		items := []struct {
			req  ledger.Request
			want rejection
		}{
			{transfer("fund", bank, w1, 1000), rejection{}},
			{transfer("too-much", w1, w2, 1500), insufficient},
			{transfer("zero", w1, w2, 0), rejection{ledger.CodeInvalidAmount, "postings[0].amount"}},
			{transfer("funded-by-the-first", w1, w2, 600), rejection{}},
			{transfer("overdraws-after-the-fourth", w1, w2, 500), insufficient},
			{holdReq("hold", w1, w2, 300, 0), rejection{}},
			{transfer("overdraws-after-the-hold", w1, w2, 101), insufficient},
			{transfer("what-is-left", w1, w2, 100), rejection{}},
			{ledger.Request{Kind: ledger.KindTransfer, Reference: "unknown", Postings: []ledger.Posting{
				{Debit: "no-such-account", Credit: w2.ID, Asset: "CNY", Amount: 1}}},
				rejection{ledger.CodeAccountNotFound, "postings[0].debit"}},
			{transfer("spends-the-incoming", w2, w1, 700), rejection{}},
			{transfer("funded-by-the-first", w1, w2, 600), rejection{}}, // a duplicate of the fourth
		}
		var reqs []ledger.Request
		var want []rejection
		for _, it := range items {
			reqs = append(reqs, it.req)
			want = append(want, it.want)
		}
		res := e.submit(reqs, false)
		var got []rejection
		for _, r := range res {
			got = append(got, resultRejection(r))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("results (-want +got):\n%s", diff)
		}
		for i, r := range res {
			if (r.Transaction == nil) != (r.Err != nil) {
				t.Errorf("result %d: transaction %v with error %v", i, r.Transaction, r.Err)
			}
			if r.Transaction != nil && r.Transaction.Reference != reqs[i].Reference {
				t.Errorf("result %d answers %s, want %s", i, r.Transaction.Reference, reqs[i].Reference)
			}
		}
		if !res[10].Duplicate || res[10].Transaction.ID != res[3].Transaction.ID {
			t.Errorf("the repeated request: duplicate %v; want a duplicate of the fourth", res[10].Duplicate)
		}
		// Each transaction's entries carry the balances as they stood in the
		// batch at that point.
		if got, want := res[3].Transaction.Entries[0].After, (ledger.Balances{CreditsPosted: 1000, DebitsPosted: 600}); got != want {
			t.Errorf("w1 after the fourth = %+v, want %+v", got, want)
		}

		for _, c := range []struct {
			name string
			acct *ledger.Account
			want ledger.Balances
		}{
			{"w1", w1, ledger.Balances{CreditsPosted: 1700, DebitsPosted: 700, DebitsPending: 300}},
			{"w2", w2, ledger.Balances{CreditsPosted: 700, DebitsPosted: 700, CreditsPending: 300}},
		} {
			if diff := cmp.Diff(c.want, e.balances(c.acct)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", c.name, diff)
			}
		}
		e.verify()
	})
}

func TestBatchAtomic(t *testing.T) {
	t.Parallel()
	aborted := rejection{Code: ledger.CodeBatchAborted}
	// Each case's requests move money between the wallets a and b, which
	// start with 1000 and 0; bank is unconstrained.
	type accts struct{ bank, a, b *ledger.Account }
	tests := []struct {
		name  string
		reqs  func(e *env, x accts) []ledger.Request
		want  []rejection
		wantA int64 // a's balance afterwards
	}{
		{
			name: "one refused",
			reqs: func(e *env, x accts) []ledger.Request {
				return []ledger.Request{transfer(e.ref("ok"), x.a, x.b, 100), transfer(e.ref("bad"), x.a, x.b, 901),
					transfer(e.ref("ok"), x.bank, x.a, 5000)}
			},
			want:  []rejection{aborted, {Code: ledger.CodeInsufficientFunds}, aborted},
			wantA: 1000,
		},
		{
			name: "one invalid",
			reqs: func(e *env, x accts) []ledger.Request {
				return []ledger.Request{transfer(e.ref("ok"), x.a, x.b, 100), transfer(e.ref("bad"), x.a, x.b, 0)}
			},
			want:  []rejection{aborted, {ledger.CodeInvalidAmount, "postings[0].amount"}},
			wantA: 1000,
		},
		{
			name: "the last refused after a hold",
			reqs: func(e *env, x accts) []ledger.Request {
				return []ledger.Request{holdReq(e.ref("hold"), x.a, x.b, 1000, 0), transfer(e.ref("bad"), x.a, x.b, 1)}
			},
			want:  []rejection{aborted, {Code: ledger.CodeInsufficientFunds}},
			wantA: 1000,
		},
		{
			name: "a duplicate does not save the batch",
			reqs: func(e *env, x accts) []ledger.Request {
				r := transfer(e.ref("ok"), x.a, x.b, 100)
				e.post(r)
				return []ledger.Request{r, transfer(e.ref("bad"), x.a, x.b, 901)}
			},
			want:  []rejection{aborted, {Code: ledger.CodeInsufficientFunds}},
			wantA: 900,
		},
		{
			name: "all good, the second funded by the first",
			reqs: func(e *env, x accts) []ledger.Request {
				return []ledger.Request{transfer(e.ref("in"), x.bank, x.a, 500), transfer(e.ref("out"), x.a, x.b, 1500)}
			},
			want:  []rejection{{}, {}},
			wantA: 0,
		},
	}
	each(t, func(t *testing.T, e *env) {
		bank := e.bank()
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.sub(t)
				x := accts{bank, e.wallet(), e.wallet()}
				e.fund(bank, x.a, 1000)
				reqs := tc.reqs(e, x)
				res := e.submit(reqs, true)
				var got []rejection
				for _, r := range res {
					got = append(got, resultRejection(r))
					if r.Err != nil && r.Transaction != nil {
						t.Errorf("a refused result carries transaction %s", r.Transaction.ID)
					}
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Fatalf("results (-want +got):\n%s", diff)
				}
				if got := e.get(x.a).Balance(ledger.Credit); got != tc.wantA {
					t.Errorf("a's balance = %d, want %d", got, tc.wantA)
				}
				if tc.want[0].Code == "" {
					return
				}
				// Nothing was kept: the references of the good requests are free.
				for i, r := range reqs {
					if tc.want[i] != aborted {
						continue
					}
					tr, err := e.l.GetTransactionByReference(e.ctx, "inst1", r.Reference)
					if existed := i == 0 && tc.name == "a duplicate does not save the batch"; existed {
						if err != nil {
							t.Errorf("the earlier transaction %s: %v", r.Reference, err)
						}
						continue
					}
					if ledger.ErrorCode(err) != ledger.CodeTransactionNotFound {
						t.Errorf("reference %s of an aborted request: got %v, %v; want transaction_not_found", r.Reference, tr, err)
					}
				}
			})
		}
		e.verify()
	})
}
