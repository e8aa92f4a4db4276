package ledger_test

import (
	"sync"
	"testing"
	"time"

	"github.com/suanpan/suanpan/ledger"
)

// TestConcurrentDuplicatesAgree sends the same request twice at the same
// moment, many times over, where only one of the two could succeed on its
// own (the payer holds exactly the amount, the hold exactly what is posted,
// the transaction exactly what is reversed). Both callers must be told the
// one transaction that owns the reference: a caller told
// insufficient_funds for money that moved would pay a second time by
// another route. On PostgreSQL the engine's two writers commit the twins
// in concurrent storage transactions; run it with -race too.
func TestConcurrentDuplicatesAgree(t *testing.T) {
	t.Parallel()
	const trials = 40
	tests := []struct {
		name string
		make func(e *env, payer, payee *ledger.Account) ledger.Request
	}{
		{"transfer", func(e *env, payer, payee *ledger.Account) ledger.Request {
			return transfer(e.ref("t"), payer, payee, 1000)
		}},
		{"hold", func(e *env, payer, payee *ledger.Account) ledger.Request {
			return holdReq(e.ref("h"), payer, payee, 1000, time.Hour)
		}},
		{"post", func(e *env, payer, payee *ledger.Account) ledger.Request {
			h := e.post(holdReq(e.ref("hold"), payer, payee, 1000, 0))
			return postReq(e.ref("p"), h.ID, 1000)
		}},
		{"void", func(e *env, payer, payee *ledger.Account) ledger.Request {
			h := e.post(holdReq(e.ref("hold"), payer, payee, 1000, 0))
			return voidReq(e.ref("v"), h.ID)
		}},
		{"reversal", func(e *env, payer, payee *ledger.Account) ledger.Request {
			tr := e.post(transfer(e.ref("pay"), payer, payee, 1000))
			return reverseReq(e.ref("r"), tr.ID, 1000)
		}},
	}
	each(t, func(t *testing.T, e *env) {
		bank := e.bank()
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.sub(t)
				for range trials {
					payer, payee := e.wallet(), e.wallet()
					e.fund(bank, payer, 1000)
					r := tc.make(e, payer, payee)
					var res [2]ledger.Result
					var wg sync.WaitGroup
					start := make(chan struct{})
					for i := range res {
						wg.Go(func() {
							<-start
							res[i] = e.submit([]ledger.Request{r}, false)[0]
						})
					}
					close(start)
					wg.Wait()
					for i, got := range res {
						if got.Err != nil {
							t.Fatalf("%s: caller %d was refused with %s (%s) while the other got %+v",
								r.Reference, i, got.Err.Code, got.Err.Message, res[1-i])
						}
					}
					if res[0].Transaction.ID != res[1].Transaction.ID {
						t.Fatalf("%s: the twins were told two transactions, %s and %s",
							r.Reference, res[0].Transaction.ID, res[1].Transaction.ID)
					}
					if res[0].Duplicate == res[1].Duplicate {
						t.Fatalf("%s: duplicate flags %v and %v; want exactly one original",
							r.Reference, res[0].Duplicate, res[1].Duplicate)
					}
				}
				e.verify()
			})
		}
	})
}
