package accounts_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

func TestTotalScoreCheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newStBooks(t, db)
		c := b.customer(t, accounts.Personal)
		w1, w2 := b.wallet(t, c.ID), b.wallet(t, c.ID)
		newAccount := func(code string, side ledger.Side) string {
			t.Helper()
			a, err := b.ledger.CreateAccount(ctx, ledger.NewAccount{InstitutionID: "bank-a", Asset: "CNY", Code: code,
				NormalSide: side, Overdraft: ledger.OverdraftUnlimited})
			if err != nil {
				t.Fatal(err)
			}
			return a.ID
		}
		control, mirror := newAccount("2001", ledger.Credit), newAccount("9001", ledger.Debit)
		b.transfer(t, b.bank, w1, "f1", 30000)
		b.transfer(t, b.bank, w2, "f2", 12345)
		b.transfer(t, mirror, control, "mirror", 42345) // the control mirrors its sub-accounts

		chk := accounts.NewChecks(b.ledger)
		if _, err := chk.RegisterControl(ctx, control, "k1", []string{"bank-b"}); accounts.ErrorCode(err) != accounts.CodeAccountNotFound {
			t.Fatalf("register out of scope: %v", err)
		}
		if _, err := chk.RegisterControl(ctx, "nope", "k1", nil); accounts.ErrorCode(err) != accounts.CodeAccountNotFound {
			t.Fatalf("register unknown: %v", err)
		}
		reg, err := chk.RegisterControl(ctx, control, "k1", []string{"bank-a"})
		if err != nil || reg.Code != "2001" || reg.Asset != "CNY" {
			t.Fatalf("register: %v %+v", err, reg)
		}

		runs, err := chk.Check(ctx, []string{"bank-a"})
		if err != nil {
			t.Fatal(err)
		}
		r := runs[0]
		want := []accounts.CheckLine{{Code: "2001", Asset: "CNY", ControlAccountID: control, ControlBalance: 42345, SubAccounts: 2, SubTotal: 42345}}
		if d := cmp.Diff(want, r.Lines); d != "" || !r.OK || r.Differences != 0 || !r.TrialBalance.Balanced {
			t.Fatalf("clean check: ok %v, differences %d, lines (-want +got):\n%s", r.OK, r.Differences, d)
		}
		wantUn := []accounts.CheckLine{{Code: "1002", Asset: "CNY", SubAccounts: 1, SubTotal: 42345}, {Code: "9001", Asset: "CNY", SubAccounts: 1, SubTotal: 42345}}
		if d := cmp.Diff(wantUn, r.Uncontrolled); d != "" {
			t.Fatalf("uncontrolled (-want +got):\n%s", d)
		}

		// Forged: a posting to a sub-account that misses the control.
		b.clock.Advance(time.Hour)
		b.transfer(t, b.bank, w1, "forged", 777)
		runs, err = chk.Check(ctx, []string{"bank-a"})
		if err != nil {
			t.Fatal(err)
		}
		r = runs[0]
		if r.OK || r.Differences != 1 || r.Lines[0].Difference != -777 || r.Lines[0].SubTotal != 43122 {
			t.Fatalf("forged check: ok %v, differences %d, line %+v", r.OK, r.Differences, r.Lines[0])
		}

		past, err := chk.Runs(ctx, []string{"bank-a"}, 0)
		if err != nil || len(past) != 2 || past[0].ID != r.ID || past[0].OK || !past[1].OK {
			t.Fatalf("runs: %v, %d", err, len(past))
		}
		if d := cmp.Diff(r, past[0], cmpopts.EquateEmpty()); d != "" {
			t.Errorf("stored run (-ran +stored):\n%s", d)
		}
		if other, err := chk.Runs(ctx, []string{"bank-b"}, 0); err != nil || len(other) != 0 {
			t.Fatalf("runs of another institution: %v %d", err, len(other))
		}
		insts, err := chk.Institutions(ctx)
		if err != nil || !cmp.Equal(insts, []string{"bank-a"}) {
			t.Fatalf("institutions: %v %v", err, insts)
		}
	})
}
