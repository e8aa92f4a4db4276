package ledger_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/suanpan/suanpan/ledger"
)

// TestFreezeThaw checks that freezing and thawing sides combine with the
// current status, and that a frozen side refuses postings until thawed.
func TestFreezeThaw(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		bank, w := e.bank(), e.wallet()
		e.post(transfer("fund", bank, w, 1000))
		steps := []struct {
			name          string
			freeze, thaw  []ledger.Side
			want          ledger.Status
			debit, credit ledger.Code // outcome of a debit and a credit of w after the step
		}{
			{"freeze debits", []ledger.Side{ledger.Debit}, nil, ledger.StatusDebitFrozen, ledger.CodeAccountFrozen, ""},
			{"then credits", []ledger.Side{ledger.Credit}, nil, ledger.StatusFrozen, ledger.CodeAccountFrozen, ledger.CodeAccountFrozen},
			{"thaw debits", nil, []ledger.Side{ledger.Debit}, ledger.StatusCreditFrozen, "", ledger.CodeAccountFrozen},
			{"thaw credits", nil, []ledger.Side{ledger.Credit}, ledger.StatusActive, "", ""},
			{"freeze both", []ledger.Side{ledger.Debit, ledger.Credit}, nil, ledger.StatusFrozen, ledger.CodeAccountFrozen, ledger.CodeAccountFrozen},
			{"thaw both", nil, []ledger.Side{ledger.Debit, ledger.Credit}, ledger.StatusActive, "", ""},
		}
		for i, s := range steps {
			_, after, err := e.l.SetStatus(e.ctx, ledger.StatusChange{AccountID: w.ID, Freeze: s.freeze, Thaw: s.thaw})
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if after.Status != s.want {
				t.Fatalf("%s: status %s, want %s", s.name, after.Status, s.want)
			}
			for _, leg := range []struct {
				req  ledger.Request
				want ledger.Code
			}{
				{transfer("debit-"+s.name, w, bank, 1), s.debit},
				{transfer("credit-"+s.name, bank, w, 1), s.credit},
			} {
				leg.req.InstitutionID = "inst1"
				_, err := e.l.Post(e.ctx, leg.req)
				if got := ledger.ErrorCode(err); got != leg.want {
					t.Errorf("step %d %s: %s got %q, want %q", i, s.name, leg.req.Reference, got, leg.want)
				}
			}
		}
		if _, _, err := e.l.SetStatus(e.ctx, ledger.StatusChange{AccountID: w.ID, Status: ledger.StatusFrozen,
			Freeze: []ledger.Side{ledger.Debit}}); ledger.ErrorCode(err) != ledger.CodeInvalidRequest {
			t.Errorf("status and freeze together: %v, want invalid_request", err)
		}
		if _, _, err := e.l.SetStatus(e.ctx, ledger.StatusChange{AccountID: w.ID, Freeze: []ledger.Side{"sideways"}}); ledger.ErrorCode(err) != ledger.CodeInvalidRequest {
			t.Errorf("bad side: %v, want invalid_request", err)
		}
		e.verify()
	})
}

// TestSetStatusWriteAlways checks that a change to the status an account
// has already runs no writes unless WriteAlways asks for them.
func TestSetStatusWriteAlways(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		w := e.wallet()
		calls := 0
		count := func(context.Context, *sql.Tx, *ledger.Account, *ledger.Account) error { calls++; return nil }
		freeze := ledger.StatusChange{AccountID: w.ID, Freeze: []ledger.Side{ledger.Debit}}
		for i, want := range []int{1, 1} {
			if _, _, err := e.l.SetStatus(e.ctx, freeze, count); err != nil || calls != want {
				t.Fatalf("freeze %d: %d writes, want %d (%v)", i, calls, want, err)
			}
		}
		freeze.WriteAlways = true
		_, after, err := e.l.SetStatus(e.ctx, freeze, count)
		if err != nil || calls != 2 || after.Status != ledger.StatusDebitFrozen {
			t.Fatalf("WriteAlways: %d writes, status %s (%v)", calls, after.Status, err)
		}
	})
}
