package ledger_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/suanpan/suanpan/ledger"
)

func TestReversalMirrorsOriginal(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, payer, merchant, fee := e.bank(), e.wallet(), e.wallet(), e.wallet()
		e.fund(bank, payer, 10000)
		orig := e.post(ledger.Request{Kind: ledger.KindTransfer, Reference: "pay", Type: "payment", Postings: []ledger.Posting{
			{Debit: payer.ID, Credit: merchant.ID, Asset: "CNY", Amount: 3000},
			{Debit: payer.ID, Credit: fee.ID, Asset: "CNY", Amount: 100},
		}})
		e.clock.Advance(time.Minute)
		rev := e.post(ledger.Request{Kind: ledger.KindReversal, Reference: "refund", Type: "refund", TransactionID: orig.ID})

		if rev.Kind != ledger.KindReversal || rev.Type != "refund" || rev.ReversesID != orig.ID {
			t.Errorf("reversal: kind %s, type %s, reverses %q; want reversal, refund, %q", rev.Kind, rev.Type, rev.ReversesID, orig.ID)
		}
		wantPostings := []ledger.Posting{
			{Debit: merchant.ID, Credit: payer.ID, Asset: "CNY", Amount: 3000},
			{Debit: fee.ID, Credit: payer.ID, Asset: "CNY", Amount: 100},
		}
		if diff := cmp.Diff(wantPostings, rev.Postings); diff != "" {
			t.Errorf("reversal postings (-want +got):\n%s", diff)
		}
		// Entry by entry: same account, posting and amount, other side.
		type line struct {
			Account string
			Posting int
			Side    ledger.Side
			Amount  int64
		}
		var want, got []line
		flip := map[ledger.Side]ledger.Side{ledger.Debit: ledger.Credit, ledger.Credit: ledger.Debit}
		for _, en := range orig.Entries {
			want = append(want, line{en.AccountID, en.Posting, flip[en.Side], en.Amount})
		}
		for _, en := range rev.Entries {
			got = append(got, line{en.AccountID, en.Posting, en.Side, en.Amount})
		}
		sortLines := cmp.Transformer("sort", func(ls []line) map[line]int {
			m := map[line]int{}
			for _, l := range ls {
				m[l]++
			}
			return m
		})
		if diff := cmp.Diff(want, got, sortLines); diff != "" {
			t.Errorf("reversal entries (-want +got):\n%s", diff)
		}
		stored, err := e.l.GetTransaction(e.ctx, rev.ID)
		if err != nil {
			t.Fatalf("GetTransaction: %v", err)
		}
		if diff := cmp.Diff(rev, stored); diff != "" {
			t.Errorf("stored reversal differs from the answer (-answer +stored):\n%s", diff)
		}

		for _, c := range []struct {
			name string
			acct *ledger.Account
			want ledger.Balances
		}{
			{"payer", payer, ledger.Balances{CreditsPosted: 13100, DebitsPosted: 3100}},
			{"merchant", merchant, ledger.Balances{CreditsPosted: 3000, DebitsPosted: 3000}},
			{"fee", fee, ledger.Balances{CreditsPosted: 100, DebitsPosted: 100}},
		} {
			if diff := cmp.Diff(c.want, e.balances(c.acct)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", c.name, diff)
			}
		}

		// A transaction is reversed in full at most once.
		if got, want := e.attempt(reverseReq("refund-again", orig.ID)), (rejection{ledger.CodeReversalExceedsOriginal, "transaction_id"}); got != want {
			t.Errorf("second full reversal: got %+v, want %+v", got, want)
		}
		e.verify()
	})
}

func TestPartialReversals(t *testing.T) {
	t.Parallel()
	type step struct {
		amounts []int64 // nil: all that is left
		want    rejection
	}
	exceeds := func(field string) rejection { return rejection{ledger.CodeReversalExceedsOriginal, field} }
	tests := []struct {
		name     string
		original []int64 // amounts of the original's postings, each to its own payee
		steps    []step
		// wantPayees are the payees' balances at the end.
		wantPayees []int64
	}{
		{
			name:     "parts add up to the original, then one more fails",
			original: []int64{3000},
			steps: []step{
				{amounts: []int64{1000}},
				{amounts: []int64{1500}},
				{amounts: []int64{501}, want: exceeds("amounts[0]")},
				{amounts: []int64{500}},
				{amounts: []int64{1}, want: exceeds("amounts[0]")},
				{want: exceeds("transaction_id")},
			},
			wantPayees: []int64{0},
		},
		{
			name:       "full after a part reverses what is left",
			original:   []int64{3000},
			steps:      []step{{amounts: []int64{1000}}, {}, {want: exceeds("transaction_id")}},
			wantPayees: []int64{0},
		},
		{
			name:     "posting by posting",
			original: []int64{3000, 100},
			steps: []step{
				{amounts: []int64{0, 100}},
				{amounts: []int64{1}, want: rejection{ledger.CodeInvalidRequest, "amounts"}},
				{amounts: []int64{1, 1, 1}, want: rejection{ledger.CodeInvalidRequest, "amounts"}},
				{amounts: []int64{2000, 1}, want: exceeds("amounts[1]")},
				{amounts: []int64{2000, 0}},
				{},
				{amounts: []int64{1, 0}, want: exceeds("amounts[0]")},
			},
			wantPayees: []int64{0, 0},
		},
		{
			name:       "one part only",
			original:   []int64{3000, 100},
			steps:      []step{{amounts: []int64{250, 0}}},
			wantPayees: []int64{2750, 100},
		},
	}
	each(t, func(t *testing.T, e *env) {
		bank := e.bank()
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.sub(t)
				payer := e.wallet()
				e.fund(bank, payer, 10000)
				var postings []ledger.Posting
				var payees []*ledger.Account
				total := int64(0)
				for _, amount := range tc.original {
					p := e.wallet()
					payees = append(payees, p)
					postings = append(postings, ledger.Posting{Debit: payer.ID, Credit: p.ID, Asset: "CNY", Amount: amount})
					total += amount
				}
				orig := e.post(ledger.Request{Kind: ledger.KindTransfer, Reference: e.ref("pay"), Postings: postings})
				reversed := int64(0)
				for i, s := range tc.steps {
					res := e.submit([]ledger.Request{reverseReq(e.ref("refund"), orig.ID, s.amounts...)}, false)[0]
					if got := resultRejection(res); got != s.want {
						t.Fatalf("step %d (%v): got %+v, want %+v", i, s.amounts, got, s.want)
					}
					if res.Transaction != nil {
						for _, p := range res.Transaction.Postings {
							reversed += p.Amount
						}
					}
				}
				if got, want := e.get(payer).Balance(ledger.Credit), 10000-total+reversed; got != want {
					t.Errorf("payer balance = %d, want %d", got, want)
				}
				for i, p := range payees {
					if got := e.get(p).Balance(ledger.Credit); got != tc.wantPayees[i] {
						t.Errorf("payee %d balance = %d, want %d", i, got, tc.wantPayees[i])
					}
				}
			})
		}
		e.verify()
	})
}

func TestReversalKinds(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank := e.bank()

		t.Run("a post", func(t *testing.T) {
			e := e.sub(t)
			payer, payee := e.wallet(), e.wallet()
			e.fund(bank, payer, 10000)
			h := e.post(holdReq(e.ref("hold"), payer, payee, 5000, 0))
			p := e.post(postReq(e.ref("post"), h.ID, 4000))
			rev := e.post(reverseReq(e.ref("refund"), p.ID))
			want := []ledger.Posting{{Debit: payee.ID, Credit: payer.ID, Asset: "CNY", Amount: 4000}}
			if diff := cmp.Diff(want, rev.Postings); diff != "" {
				t.Errorf("reversal of the post (-want +got):\n%s", diff)
			}
			if got := e.get(payer).Balance(ledger.Credit); got != 10000 {
				t.Errorf("payer balance = %d, want 10000", got)
			}
			if got, want := e.attempt(reverseReq(e.ref("refund"), p.ID, 1)), (rejection{ledger.CodeReversalExceedsOriginal, "amounts[0]"}); got != want {
				t.Errorf("reverse the post again: got %+v, want %+v", got, want)
			}
		})

		t.Run("a reversal", func(t *testing.T) {
			e := e.sub(t)
			payer, payee := e.wallet(), e.wallet()
			e.fund(bank, payer, 10000)
			orig := e.post(transfer(e.ref("pay"), payer, payee, 3000))
			rev := e.post(reverseReq(e.ref("refund"), orig.ID, 1200))
			revRev := e.post(reverseReq(e.ref("undo-refund"), rev.ID))
			want := []ledger.Posting{{Debit: payer.ID, Credit: payee.ID, Asset: "CNY", Amount: 1200}}
			if diff := cmp.Diff(want, revRev.Postings); diff != "" {
				t.Errorf("reversal of the reversal (-want +got):\n%s", diff)
			}
			if revRev.ReversesID != rev.ID {
				t.Errorf("reverses %q, want %q", revRev.ReversesID, rev.ID)
			}
			if got := e.get(payee).Balance(ledger.Credit); got != 3000 {
				t.Errorf("payee balance = %d, want 3000", got)
			}
			// Undoing a refund does not make the original refundable again.
			if got, want := e.attempt(reverseReq(e.ref("refund"), orig.ID, 1801)), (rejection{ledger.CodeReversalExceedsOriginal, "amounts[0]"}); got != want {
				t.Errorf("reverse the original beyond what is left: got %+v, want %+v", got, want)
			}
			if got, want := e.attempt(reverseReq(e.ref("undo-refund"), rev.ID)), (rejection{ledger.CodeReversalExceedsOriginal, "transaction_id"}); got != want {
				t.Errorf("reverse the reversal again: got %+v, want %+v", got, want)
			}
		})

		t.Run("not reversible", func(t *testing.T) {
			e := e.sub(t)
			payer, payee := e.wallet(), e.wallet()
			e.fund(bank, payer, 10000)
			h := e.post(holdReq(e.ref("hold"), payer, payee, 100, 0))
			voided := e.post(holdReq(e.ref("hold"), payer, payee, 100, 0))
			v := e.post(voidReq(e.ref("void"), voided.ID))
			expiring := e.post(holdReq(e.ref("hold"), payer, payee, 100, time.Second))
			e.clock.Set(expiring.ExpiresAt)
			if n, err := e.l.ExpireHolds(e.ctx); err != nil || n != 1 {
				t.Fatalf("ExpireHolds = %d, %v; want 1", n, err)
			}
			expiry, err := e.l.GetTransactionByReference(e.ctx, "inst1", "hold-expiry:"+expiring.ID)
			if err != nil {
				t.Fatalf("expiry void: %v", err)
			}
			notReversible := rejection{ledger.CodeNotReversible, "transaction_id"}
			for _, c := range []struct {
				name string
				id   string
			}{{"a hold", h.ID}, {"a void", v.ID}, {"an expiry", expiry.ID}, {"an expired hold", expiring.ID}} {
				if got := e.attempt(reverseReq(e.ref("refund"), c.id)); got != notReversible {
					t.Errorf("reverse %s: got %+v, want %+v", c.name, got, notReversible)
				}
			}
		})

		t.Run("not found", func(t *testing.T) {
			e := e.sub(t)
			bank2 := e.accountIn("inst2", "CNY", ledger.Debit, ledger.OverdraftUnlimited, 0)
			w2 := e.accountIn("inst2", "CNY", ledger.Credit, ledger.OverdraftNone, 0)
			r := transfer(e.ref("pay"), bank2, w2, 100)
			r.InstitutionID = "inst2"
			foreign := e.post(r)
			notFound := rejection{ledger.CodeTransactionNotFound, "transaction_id"}
			for _, c := range []struct {
				name string
				id   string
			}{{"unknown", "no-such-transaction"}, {"another institution's", foreign.ID}} {
				if got := e.attempt(reverseReq(e.ref("refund"), c.id)); got != notFound {
					t.Errorf("reverse %s: got %+v, want %+v", c.name, got, notFound)
				}
			}
		})

		t.Run("the money must still be there", func(t *testing.T) {
			e := e.sub(t)
			payer, payee, shop := e.wallet(), e.wallet(), e.wallet()
			e.fund(bank, payer, 10000)
			orig := e.post(transfer(e.ref("pay"), payer, payee, 3000))
			e.post(transfer(e.ref("spend"), payee, shop, 2500))
			if got, want := e.attempt(reverseReq(e.ref("refund"), orig.ID)), (rejection{Code: ledger.CodeInsufficientFunds}); got != want {
				t.Errorf("full reversal: got %+v, want %+v", got, want)
			}
			e.post(reverseReq(e.ref("refund"), orig.ID, 500))
			if got := e.get(payee).Balance(ledger.Credit); got != 0 {
				t.Errorf("payee balance = %d, want 0", got)
			}
		})
		e.verify()
	})
}
