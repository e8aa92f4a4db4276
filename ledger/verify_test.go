package ledger_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/suanpan/suanpan/ledger"
)

// busy fills a ledger with every kind of transaction, refusals, duplicates
// and expired holds, and returns the number of transactions and entries it
// made.
func (e *env) busy() (accounts, transactions, entries int64) {
	e.t.Helper()
	bank, fees := e.bank(), e.wallet()
	jpyBank := e.account("JPY", ledger.Debit, ledger.OverdraftUnlimited, 0)
	jpyW := e.account("JPY", ledger.Credit, ledger.OverdraftNone, 0)
	ws := []*ledger.Account{e.wallet(), e.wallet(), e.account("CNY", ledger.Credit, ledger.OverdraftLimit, 5000)}
	accounts = 7
	count := func(res []ledger.Result) {
		for _, r := range res {
			if r.Err == nil && !r.Duplicate {
				transactions++
				entries += int64(len(r.Transaction.Entries))
			}
		}
	}
	submit := func(atomic bool, reqs ...ledger.Request) []ledger.Result {
		res := e.submit(reqs, atomic)
		count(res)
		return res
	}
	for i, w := range ws {
		submit(false, transfer(e.ref("fund"), bank, w, int64(10000*(i+1))))
	}
	submit(false, transfer(e.ref("fund"), jpyBank, jpyW, 5000))
	for round := range 3 {
		e.clock.Advance(time.Minute)
		a, b, c := ws[round%3], ws[(round+1)%3], ws[(round+2)%3]
		pay := ledger.Request{Kind: ledger.KindTransfer, Reference: e.ref("pay"), Postings: []ledger.Posting{
			{Debit: a.ID, Credit: b.ID, Asset: "CNY", Amount: 1200},
			{Debit: a.ID, Credit: fees.ID, Asset: "CNY", Amount: 12},
		}}
		res := submit(false,
			pay,
			pay, // a duplicate
			transfer(e.ref("too-much"), c, a, 1_000_000),
			holdReq(e.ref("hold"), b, c, 700, 0),
			holdReq(e.ref("hold"), c, a, 300, 0),
			holdReq(e.ref("expiring"), a, b, 100, time.Minute),
			transfer(e.ref("jpy"), jpyW, jpyBank, 10),
		)
		submit(false,
			postReq(e.ref("post"), res[3].Transaction.ID, 500),
			voidReq(e.ref("void"), res[4].Transaction.ID),
			reverseReq(e.ref("refund"), res[0].Transaction.ID, 200, 12),
			reverseReq(e.ref("refund"), res[0].Transaction.ID, 1001, 0), // too much
		)
		submit(true, transfer(e.ref("atomic"), a, c, 1), transfer(e.ref("atomic"), c, a, 1))
		submit(true, transfer(e.ref("aborted"), a, c, 1), transfer(e.ref("aborted"), c, a, 1_000_000))
		if round == 1 {
			e.clock.Advance(time.Hour)
			n, err := e.l.ExpireHolds(e.ctx)
			if err != nil {
				e.t.Fatalf("ExpireHolds: %v", err)
			}
			transactions += int64(n)
			entries += int64(2 * n)
		}
	}
	// The last round's expiring hold is left expired but not swept.
	e.clock.Advance(time.Hour)
	return accounts, transactions, entries
}

func TestVerifyBusyLedger(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		accounts, transactions, entries := e.busy()
		rep, err := e.l.Verify(e.ctx)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		got := ledger.VerifyReport{Accounts: rep.Accounts, Transactions: rep.Transactions, Entries: rep.Entries,
			Problems: rep.Problems, OK: rep.OK}
		want := ledger.VerifyReport{Accounts: accounts, Transactions: transactions, Entries: entries, OK: true}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("report (-want +got):\n%s", diff)
		}
		tb, err := e.l.TrialBalance(e.ctx, nil)
		if err != nil || !tb.Balanced {
			t.Errorf("trial balance: %+v, %v; want balanced", tb, err)
		}
	})
}

func TestVerifyDetectsTampering(t *testing.T) {
	t.Parallel()
	// Each case tampers with the ledger of fixture behind the ledger's back
	// and lists the problems Verify must report, as "check id".
	type fixture struct {
		w2          *ledger.Account
		pay, payout *ledger.Transaction
		hold        *ledger.Transaction
	}
	tests := []struct {
		name   string
		tamper func(e *env, f fixture)
		want   func(f fixture) []ledger.Problem
	}{
		{
			name: "posted credits raised on an account",
			tamper: func(e *env, f fixture) {
				e.exec(`UPDATE accounts SET credits_posted = credits_posted + 1 WHERE id = `+e.db.Dialect.Placeholder(1), f.w2.ID)
			},
			want: func(f fixture) []ledger.Problem {
				return []ledger.Problem{{Check: "account_balance", ID: f.w2.ID}, {Check: "running_balance", ID: f.w2.ID},
					{Check: "trial_balance", ID: "CNY"}}
			},
		},
		{
			name: "an entry deleted",
			tamper: func(e *env, f fixture) {
				e.exec(`DELETE FROM entries WHERE account_id = `+e.db.Dialect.Placeholder(1)+` AND seq = 1`, f.w2.ID)
			},
			want: func(f fixture) []ledger.Problem {
				return []ledger.Problem{{Check: "account_balance", ID: f.w2.ID}, {Check: "entry_sequence", ID: f.w2.ID},
					{Check: "transaction_balance", ID: f.pay.ID}}
			},
		},
		{
			name: "an entry amount changed",
			tamper: func(e *env, f fixture) {
				e.exec(`UPDATE entries SET amount = amount + 1 WHERE account_id = `+e.db.Dialect.Placeholder(1)+` AND seq = 1`, f.w2.ID)
			},
			want: func(f fixture) []ledger.Problem {
				return []ledger.Problem{{Check: "account_balance", ID: f.w2.ID}, {Check: "transaction_balance", ID: f.pay.ID}}
			},
		},
		{
			name: "the last entry deleted",
			tamper: func(e *env, f fixture) {
				e.exec(`DELETE FROM entries WHERE account_id = `+e.db.Dialect.Placeholder(1)+` AND seq = 2`, f.w2.ID)
			},
			want: func(f fixture) []ledger.Problem {
				return []ledger.Problem{{Check: "account_balance", ID: f.w2.ID}, {Check: "running_balance", ID: f.w2.ID},
					{Check: "entry_sequence", ID: f.w2.ID}, {Check: "transaction_balance", ID: f.payout.ID}}
			},
		},
		{
			name: "a hold marked posted without a post",
			tamper: func(e *env, f fixture) {
				e.exec(`UPDATE holds SET status = 'posted' WHERE id = `+e.db.Dialect.Placeholder(1), f.hold.ID)
			},
			want: func(f fixture) []ledger.Problem { return []ledger.Problem{{Check: "hold_state", ID: f.hold.ID}} },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			each(t, func(t *testing.T, e *env) {
				bank, w1, w2 := e.bank(), e.wallet(), e.wallet()
				e.fund(bank, w1, 10000)
				f := fixture{w2: w2}
				f.pay = e.post(transfer("pay", w1, w2, 3000))
				f.payout = e.post(transfer("payout", w2, bank, 500))
				f.hold = e.post(holdReq("hold", w1, bank, 100, 0))
				e.verify()

				tc.tamper(e, f)
				rep, err := e.l.Verify(e.ctx)
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if rep.OK {
					t.Errorf("report OK after tampering")
				}
				if diff := cmp.Diff(tc.want(f), rep.Problems,
					cmpopts.IgnoreFields(ledger.Problem{}, "Detail"),
					cmpopts.SortSlices(func(a, b ledger.Problem) bool { return a.Check+a.ID < b.Check+b.ID }),
				); diff != "" {
					t.Errorf("problems (-want +got):\n%s", diff)
				}
				for _, p := range rep.Problems {
					if p.Detail == "" {
						t.Errorf("problem %s %s without detail", p.Check, p.ID)
					}
				}
			})
		})
	}
}

// TestVerifyLargeTurnover: posted totals are cumulative, so an asset's
// totals over all accounts can pass the int64 range while every account
// stays within it — after a few units of turnover at scale 18. Verify and
// the trial balance must still answer, and never with a wrapped sum.
func TestVerifyLargeTurnover(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		if _, err := e.l.RegisterAsset(e.ctx, ledger.NewAsset{Code: "TOKEN", Scale: 18, MaxAmount: math.MaxInt64}); err != nil {
			t.Fatalf("CreateAsset: %v", err)
		}
		unit := int64(1_000_000_000_000_000_000) // one TOKEN
		treasury := e.newAccount(ledger.NewAccount{Asset: "TOKEN", Code: "1002", NormalSide: ledger.Debit, Overdraft: ledger.OverdraftUnlimited})
		w := e.newAccount(ledger.NewAccount{Asset: "TOKEN", Code: "2001", NormalSide: ledger.Credit})
		// Five tokens out and back: every account ends at zero, each of its
		// totals is 5e18, and the asset's totals are 1e19 > MaxInt64.
		e.post(transfer("issue", treasury, w, 5*unit))
		e.post(transfer("redeem", w, treasury, 5*unit))

		if rep, err := e.l.Verify(e.ctx); err != nil {
			t.Errorf("Verify on a sound ledger: %v", err)
		} else if !rep.OK {
			t.Errorf("Verify on a sound ledger: %+v", rep.Problems)
		}
		tb, err := e.l.TrialBalance(e.ctx, nil)
		if err != nil {
			return // refusing to add up is acceptable; a wrong sum is not
		}
		for _, tot := range tb.Totals {
			if tot.DebitsPosted < 0 || tot.CreditsPosted < 0 {
				t.Errorf("trial balance total for %s wrapped: debits %d, credits %d", tot.Asset, tot.DebitsPosted, tot.CreditsPosted)
			}
		}
	})
}

// TestVerifyWhileWriting: Verify reads one snapshot, so it reports a sound
// ledger while transfers commit around it.
func TestVerifyWhileWriting(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, w1, w2 := e.bank(), e.wallet(), e.wallet()
		e.fund(bank, w1, 1_000_000)
		ctx, cancel := context.WithCancel(e.ctx)
		defer cancel()
		done := make(chan error, 1)
		go func() {
			for i := 0; ctx.Err() == nil && i < 2000; i++ {
				r := transfer(e.ref("pay"), w1, w2, 1)
				r.InstitutionID = "inst1"
				if _, err := e.l.Post(ctx, r); err != nil && !errors.Is(err, context.Canceled) {
					done <- err
					return
				}
			}
			done <- nil
		}()
		for range 5 {
			rep, err := e.l.Verify(e.ctx)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !rep.OK {
				t.Errorf("Verify during writes: %+v", rep.Problems)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("writer: %v", err)
		}
		e.verify()
	})
}
