package demo_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/demo"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
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
		// The census the welcome prints is the store's.
		c, err := demo.Count(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if int64(c.Transactions) != rep.Transactions || c.OpenHolds != len(pending) {
			t.Errorf("census %+v, want %d transactions and %d open holds", c, rep.Transactions, len(pending))
		}
	})
}

func TestSeedAccounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := ledger.New(db, ledger.Options{})
		defer l.Close()
		a := auth.NewService(db, clock.Real{})
		if _, err := a.Bootstrap(ctx, "root", "Root", ""); err != nil {
			t.Fatal(err)
		}
		keys, err := accounts.NewKeyring(accounts.Key{ID: "k1", Secret: bytes.Repeat([]byte{7}, 32)})
		if err != nil {
			t.Fatal(err)
		}
		products := accounts.NewProductService(db, clock.Real{})
		svc := demo.Services{Customers: accounts.NewCustomers(db, clock.Real{}, keys), Products: products,
			Lifecycle: accounts.NewLifecycle(l, products), Operations: accounts.NewOperations(l, products, accounts.OperationsConfig{})}
		if _, err := demo.Seed(ctx, l, a, "root"); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		first, err := demo.SeedAccounts(ctx, l, svc)
		if err != nil {
			t.Fatalf("first seed: %v", err)
		}
		t.Logf("seeded %d operations in %v", first.Operations, time.Since(start))
		if !first.Seeded || first.Operations < 300 || len(first.Products) != 3 {
			t.Fatalf("first seed = %+v, want seeded with hundreds of operations and 3 products", first)
		}
		rep, err := l.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK {
			t.Fatalf("verify after seeding = %+v", rep)
		}
		cs, _, err := svc.Customers.List(ctx, accounts.CustomerFilter{InstitutionIDs: []string{demo.Bank}, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != demo.Customers+demo.MerchantCount {
			t.Errorf("%d customers, want %d", len(cs), demo.Customers+demo.MerchantCount)
		}
		for _, c := range cs {
			if c.Type == accounts.Personal && (!strings.HasPrefix(c.IDDocNumber, "000000") || !strings.HasPrefix(c.Phone, "100")) {
				t.Errorf("customer %s has ID number %q and phone %q, want clearly fake ones", c.ID, c.IDDocNumber, c.Phone)
			}
		}
		ps, _, err := products.List(ctx, accounts.ProductFilter{InstitutionIDs: []string{demo.Bank}, Limit: 100})
		if err != nil || len(ps) != 3 {
			t.Fatalf("products: %d, %v; want 3", len(ps), err)
		}

		// A second run, and one resuming after the marker was lost, change nothing.
		again, err := demo.SeedAccounts(ctx, l, svc)
		if err != nil {
			t.Fatalf("second seed: %v", err)
		}
		if again.Seeded || again.Operations != first.Operations {
			t.Errorf("second seed = %+v, want the first's found (%d operations)", again, first.Operations)
		}
		rep2, err := l.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep2.Transactions != rep.Transactions || rep2.Accounts != rep.Accounts {
			t.Errorf("after the second seed: %d transactions, %d accounts; want %d, %d", rep2.Transactions, rep2.Accounts,
				rep.Transactions, rep.Accounts)
		}
	})
}
