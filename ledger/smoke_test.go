package ledger_test

import (
	"testing"

	"github.com/suanpan/suanpan/ledger"
)

func TestSmoke(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		bank, w1, w2 := e.bank(), e.wallet(), e.wallet()
		e.post(transfer("topup-1", bank, w1, 10000))
		e.post(transfer("pay-1", w1, w2, 2500))
		e.reject(transfer("pay-2", w1, w2, 7501), ledger.CodeInsufficientFunds)
		h := e.post(ledger.Request{Kind: ledger.KindHold, Reference: "hold-1",
			Postings: []ledger.Posting{{Debit: w1.ID, Credit: w2.ID, Asset: "CNY", Amount: 5000}}})
		e.reject(transfer("pay-3", w1, w2, 2501), ledger.CodeInsufficientFunds)
		e.post(ledger.Request{Kind: ledger.KindPost, Reference: "post-1", HoldID: h.ID, Amounts: []int64{4000}})
		tr := e.post(transfer("pay-4", w1, w2, 3500))
		e.post(ledger.Request{Kind: ledger.KindReversal, Reference: "rev-1", TransactionID: tr.ID, Amounts: []int64{1000}})
		if got, want := e.balances(w1).Balance(ledger.Credit), int64(10000-2500-4000-3500+1000); got != want {
			t.Errorf("w1 balance = %d, want %d", got, want)
		}
		e.verify()
	})
}
