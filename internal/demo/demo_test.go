package demo_test

import (
	"context"
	"testing"

	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/clock"
	"github.com/suanpan/suanpan/internal/demo"
	"github.com/suanpan/suanpan/internal/ledger"
	"github.com/suanpan/suanpan/internal/store"
	"github.com/suanpan/suanpan/internal/store/storetest"
)

func TestSeed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := ledger.New(db, ledger.Options{})
		defer l.Close()
		a := auth.NewService(db, clock.Real{})
		if _, err := a.Bootstrap(ctx, "root", "Root", ""); err != nil {
			t.Fatal(err)
		}

		first, err := demo.Seed(ctx, l, a, "root")
		if err != nil {
			t.Fatalf("first seed: %v", err)
		}
		if !first.Seeded || len(first.Wallets) != demo.Wallets || first.Transactions < 1000 {
			t.Fatalf("first seed = %+v, want seeded with %d wallets and thousands of transactions", first, demo.Wallets)
		}
		rep, err := l.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK || rep.Accounts != int64(first.Accounts) || rep.Transactions != int64(first.Transactions) {
			t.Fatalf("verify after seeding = %+v, want OK with %d accounts and %d transactions", rep, first.Accounts, first.Transactions)
		}
		pending, _, err := l.ListHolds(ctx, ledger.HoldFilter{Status: ledger.HoldPending, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		expiring := 0
		for _, h := range pending {
			if !h.ExpiresAt.IsZero() {
				expiring++
			}
		}
		if len(pending) != first.Holds || expiring == 0 || expiring == len(pending) {
			t.Errorf("%d pending holds, %d with a timeout; want %d, some with a timeout and some without", len(pending), expiring, first.Holds)
		}
		for _, id := range first.Wallets[:2] {
			acct, err := l.GetAccount(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if avail, _ := acct.Available(acct.NormalSide); avail < 100_00 {
				t.Errorf("wallet %s has %d available, want at least 100.00", id, avail)
			}
		}

		again, err := demo.Seed(ctx, l, a, "root")
		if err != nil {
			t.Fatalf("second seed: %v", err)
		}
		if again.Seeded || again.Transactions != first.Transactions || again.Wallets[0] != first.Wallets[0] {
			t.Errorf("second seed = %+v, want the first's sample found, not seeded again", again)
		}
		rep, err = l.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Transactions != int64(first.Transactions) {
			t.Errorf("after the second seed the ledger holds %d transactions, want %d", rep.Transactions, first.Transactions)
		}
	})
}
