package ledger_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/suanpan/suanpan/ledger"
)

func TestDuplicateReturnsOriginal(t *testing.T) {
	t.Parallel()
	// Each case prepares what its request needs and returns the request.
	tests := []struct {
		name string
		make func(e *env, payer, payee *ledger.Account) ledger.Request
	}{
		{"transfer", func(e *env, payer, payee *ledger.Account) ledger.Request {
			r := transfer(e.ref("ref"), payer, payee, 1500)
			r.Metadata = map[string]string{"order": "o-1", "channel": "app"}
			return r
		}},
		{"hold with expiry", func(e *env, payer, payee *ledger.Account) ledger.Request {
			return holdReq(e.ref("ref"), payer, payee, 1500, time.Hour)
		}},
		{"post", func(e *env, payer, payee *ledger.Account) ledger.Request {
			h := e.post(holdReq(e.ref("hold"), payer, payee, 1500, 0))
			return postReq(e.ref("ref"), h.ID, 1000)
		}},
		{"void", func(e *env, payer, payee *ledger.Account) ledger.Request {
			h := e.post(holdReq(e.ref("hold"), payer, payee, 1500, 0))
			return voidReq(e.ref("ref"), h.ID)
		}},
		{"reversal", func(e *env, payer, payee *ledger.Account) ledger.Request {
			tr := e.post(transfer(e.ref("pay"), payer, payee, 1500))
			return reverseReq(e.ref("ref"), tr.ID, 700)
		}},
	}
	each(t, func(t *testing.T, e *env) {
		bank := e.bank()
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.sub(t)
				payer, payee := e.wallet(), e.wallet()
				e.fund(bank, payer, 10000)
				r := tc.make(e, payer, payee)
				orig := e.post(r)
				before := []ledger.Balances{e.balances(payer), e.balances(payee)}
				e.clock.Advance(2 * time.Hour)

				res := e.submit([]ledger.Request{r}, false)[0]
				if res.Err != nil || !res.Duplicate {
					t.Fatalf("resubmission: duplicate %v, error %v; want a duplicate", res.Duplicate, res.Err)
				}
				if diff := cmp.Diff(orig, res.Transaction); diff != "" {
					t.Errorf("duplicate answer differs from the original (-original +duplicate):\n%s", diff)
				}
				after := []ledger.Balances{e.balances(payer), e.balances(payee)}
				if diff := cmp.Diff(before, after); diff != "" {
					t.Errorf("balances changed (-before +after):\n%s", diff)
				}
				// Post returns the original too.
				again := e.post(r)
				if again.ID != orig.ID {
					t.Errorf("Post of the same request: ID %s, want %s", again.ID, orig.ID)
				}
			})
		}
		e.verify()
	})
}

func TestDuplicateWithinBatch(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, payer, payee := e.bank(), e.wallet(), e.wallet()
		e.fund(bank, payer, 10000)
		r := transfer("ref-1", payer, payee, 1500)
		changed := transfer("ref-1", payer, payee, 1501)
		res := e.submit([]ledger.Request{r, r, changed}, false)
		got := []rejection{resultRejection(res[0]), resultRejection(res[1]), resultRejection(res[2])}
		want := []rejection{{}, {}, {ledger.CodeReferenceConflict, "reference"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("results (-want +got):\n%s", diff)
		}
		if res[0].Duplicate || !res[1].Duplicate {
			t.Errorf("duplicate flags %v, %v; want false, true", res[0].Duplicate, res[1].Duplicate)
		}
		if diff := cmp.Diff(res[0].Transaction, res[1].Transaction); diff != "" {
			t.Errorf("the duplicate's transaction differs (-first +second):\n%s", diff)
		}
		if got := e.get(payee).Balance(ledger.Credit); got != 1500 {
			t.Errorf("payee balance = %d, want 1500 (moved once)", got)
		}
		e.verify()
	})
}

func TestReferenceConflict(t *testing.T) {
	t.Parallel()
	conflict := rejection{ledger.CodeReferenceConflict, "reference"}
	tests := []struct {
		name   string
		change func(r *ledger.Request, other *ledger.Account)
		want   rejection // the zero rejection: a duplicate
	}{
		{"another amount", func(r *ledger.Request, _ *ledger.Account) { r.Postings[0].Amount++ }, conflict},
		{"another metadata value", func(r *ledger.Request, _ *ledger.Account) { r.Metadata = map[string]string{"order": "o-2"} }, conflict},
		{"metadata added", func(r *ledger.Request, _ *ledger.Account) {
			r.Metadata = map[string]string{"order": "o-1", "extra": "x"}
		}, conflict},
		{"metadata dropped", func(r *ledger.Request, _ *ledger.Account) { r.Metadata = nil }, conflict},
		{"another type", func(r *ledger.Request, _ *ledger.Account) { r.Type = "refund" }, conflict},
		{"another credit account", func(r *ledger.Request, other *ledger.Account) { r.Postings[0].Credit = other.ID }, conflict},
		{"another kind", func(r *ledger.Request, _ *ledger.Account) { r.Kind = ledger.KindHold }, conflict},
		{"an extra posting", func(r *ledger.Request, other *ledger.Account) {
			r.Postings = append(r.Postings, ledger.Posting{Debit: r.Postings[0].Debit, Credit: other.ID, Asset: "CNY", Amount: 1})
		}, conflict},
		{"a conflicting request that would be refused anyway", func(r *ledger.Request, _ *ledger.Account) {
			r.Postings[0].Amount = 1 << 40
		}, conflict},
		{"same content, metadata in another map", func(r *ledger.Request, _ *ledger.Account) {
			r.Metadata = map[string]string{"order": "o-1"}
		}, rejection{}},
	}
	each(t, func(t *testing.T, e *env) {
		bank := e.bank()
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.sub(t)
				payer, payee, other := e.wallet(), e.wallet(), e.wallet()
				e.fund(bank, payer, 10000)
				ref := e.ref("pay")
				r := transfer(ref, payer, payee, 1500)
				r.Metadata = map[string]string{"order": "o-1"}
				orig := e.post(r)

				again := transfer(ref, payer, payee, 1500)
				tc.change(&again, other)
				res := e.submit([]ledger.Request{again}, false)[0]
				if got := resultRejection(res); got != tc.want {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
				if tc.want.Code == "" && (!res.Duplicate || res.Transaction.ID != orig.ID) {
					t.Errorf("got duplicate %v of %s, want a duplicate of %s", res.Duplicate, res.Transaction.ID, orig.ID)
				}
				if got := e.get(payee).Balance(ledger.Credit); got != 1500 {
					t.Errorf("payee balance = %d, want 1500", got)
				}
				if got := e.get(other).Balance(ledger.Credit); got != 0 {
					t.Errorf("other balance = %d, want 0", got)
				}
				stored, err := e.l.GetTransactionByReference(e.ctx, "inst1", ref)
				if err != nil || stored.ID != orig.ID {
					t.Errorf("reference %s: %v, %v; want the original %s", ref, stored, err, orig.ID)
				}
			})
		}
		e.verify()
	})
}

func TestTypeDefaultIsPartOfContent(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, w := e.bank(), e.wallet()
		r := transfer("ref-1", bank, w, 100)
		r.Type = ""
		orig := e.post(r)
		r.Type = "transfer" // what the default is
		res := e.submit([]ledger.Request{r}, false)[0]
		if res.Err != nil || !res.Duplicate || res.Transaction.ID != orig.ID {
			t.Errorf("explicit default type: duplicate %v, error %v; want a duplicate of %s", res.Duplicate, res.Err, orig.ID)
		}
		e.verify()
	})
}

func TestReferencePerInstitution(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank1, w1 := e.bank(), e.wallet()
		bank2 := e.accountIn("inst2", "CNY", ledger.Debit, ledger.OverdraftUnlimited, 0)
		w2 := e.accountIn("inst2", "CNY", ledger.Credit, ledger.OverdraftNone, 0)
		r1 := transfer("same-ref", bank1, w1, 100)
		r2 := transfer("same-ref", bank2, w2, 200)
		r2.InstitutionID = "inst2"
		res := e.submit([]ledger.Request{r1, r2}, false)
		for i, r := range res {
			if r.Err != nil || r.Duplicate {
				t.Errorf("result %d: duplicate %v, error %v; want a new transaction", i, r.Duplicate, r.Err)
			}
		}
		if res[0].Transaction.ID == res[1].Transaction.ID {
			t.Errorf("both institutions got transaction %s", res[0].Transaction.ID)
		}
		for _, c := range []struct {
			inst string
			want int64
		}{{"inst1", 100}, {"inst2", 200}} {
			tr, err := e.l.GetTransactionByReference(e.ctx, c.inst, "same-ref")
			if err != nil {
				t.Fatalf("GetTransactionByReference(%s): %v", c.inst, err)
			}
			if tr.InstitutionID != c.inst || tr.Postings[0].Amount != c.want {
				t.Errorf("%s: got %s's transaction of %d, want %d", c.inst, tr.InstitutionID, tr.Postings[0].Amount, c.want)
			}
		}
		e.verify()
	})
}

// TestRejectedReferenceStaysFree: a refused request leaves no trace, so a
// retry under the same reference is evaluated afresh.
func TestRejectedReferenceStaysFree(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// refuse submits r so that it is refused, checks how, and then
		// removes the cause.
		refuse func(e *env, r ledger.Request, bank, payer *ledger.Account)
	}{
		{"insufficient funds, then funded", func(e *env, r ledger.Request, bank, payer *ledger.Account) {
			if got, want := e.attempt(r), (rejection{Code: ledger.CodeInsufficientFunds}); got != want {
				e.t.Fatalf("got %+v, want %+v", got, want)
			}
			e.fund(bank, payer, 1000)
		}},
		{"account frozen, then thawed", func(e *env, r ledger.Request, bank, payer *ledger.Account) {
			e.fund(bank, payer, 1000)
			e.setStatus(payer, ledger.StatusFrozen)
			if got, want := e.attempt(r), (rejection{ledger.CodeAccountFrozen, "postings[0].debit"}); got != want {
				e.t.Fatalf("got %+v, want %+v", got, want)
			}
			e.setStatus(payer, ledger.StatusActive)
		}},
		{"aborted with its atomic batch", func(e *env, r ledger.Request, bank, payer *ledger.Account) {
			e.fund(bank, payer, 1000)
			res := e.submit([]ledger.Request{r, transfer(e.ref("too-much"), payer, bank, 1_000_000)}, true)
			if got, want := resultRejection(res[0]), (rejection{Code: ledger.CodeBatchAborted}); got != want {
				e.t.Fatalf("got %+v, want %+v", got, want)
			}
		}},
		{"its write failed", func(e *env, r ledger.Request, bank, payer *ledger.Account) {
			e.fund(bank, payer, 1000)
			r.Writes = []ledger.Write{func(context.Context, *sql.Tx, *ledger.Transaction) error { return errors.New("not now") }}
			if got, want := e.attempt(r), (rejection{Code: ledger.CodeWriteFailed}); got != want {
				e.t.Fatalf("got %+v, want %+v", got, want)
			}
		}},
	}
	each(t, func(t *testing.T, e *env) {
		bank := e.bank()
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.sub(t)
				payer, payee := e.wallet(), e.wallet()
				r := transfer(e.ref("pay"), payer, payee, 600)
				tc.refuse(e, r, bank, payer)
				if _, err := e.l.GetTransactionByReference(e.ctx, "inst1", r.Reference); ledger.ErrorCode(err) != ledger.CodeTransactionNotFound {
					t.Errorf("after the refusal: got %v, want transaction_not_found", err)
				}
				res := e.submit([]ledger.Request{r}, false)[0]
				if res.Err != nil || res.Duplicate {
					t.Fatalf("retry: duplicate %v, error %v; want a new transaction", res.Duplicate, res.Err)
				}
				if got := e.get(payee).Balance(ledger.Credit); got != 600 {
					t.Errorf("payee balance = %d, want 600", got)
				}
			})
		}
		e.verify()
	})
}

// TestDuplicateIgnoresLaterState: a duplicate answers with the original even
// when the request could not be applied now.
func TestDuplicateIgnoresLaterState(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, payer, payee := e.bank(), e.wallet(), e.wallet()
		e.fund(bank, payer, 1000)
		pay := transfer("pay", payer, payee, 1000)
		hold := holdReq("hold", payee, bank, 1000, time.Minute)
		orig := e.post(pay)
		h := e.post(hold)
		post := postReq("post", h.ID, 400)
		p := e.post(post)
		e.setStatus(payer, ledger.StatusFrozen)
		e.clock.Advance(time.Hour) // the hold would have expired
		res := e.submit([]ledger.Request{pay, hold, post}, false)
		for i, want := range []string{orig.ID, h.ID, p.ID} {
			if res[i].Err != nil || !res[i].Duplicate || res[i].Transaction.ID != want {
				t.Errorf("request %d: duplicate %v, error %v; want a duplicate of %s", i, res[i].Duplicate, res[i].Err, want)
			}
		}
		e.verify()
	})
}

func TestDuplicateRunsNoWrites(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, w := e.bank(), e.wallet()
		runs := 0
		r := transfer("ref-1", bank, w, 100)
		r.Writes = []ledger.Write{func(context.Context, *sql.Tx, *ledger.Transaction) error {
			runs++
			return nil
		}}
		e.post(r)
		e.post(r)
		e.submit([]ledger.Request{r, r}, false)
		if runs != 1 {
			t.Errorf("the write ran %d times, want once", runs)
		}
		if got := e.get(w).Balance(ledger.Credit); got != 100 {
			t.Errorf("balance = %d, want 100", got)
		}
		e.verify()
	})
}
