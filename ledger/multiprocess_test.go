package ledger_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// TestTwoEnginesOneDatabase runs two ledger engines, as two processes would,
// on one PostgreSQL database: each with its own connection pool and writers,
// posting contended transfers between few accounts and racing each other
// with the same references. Correctness may rest only on the database's row
// locks and unique index: afterwards every reference exists once, every
// balance is the sum of what was acknowledged, and Verify passes.
func TestTwoEnginesOneDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test")
	}
	loc := storetest.Location(t, store.Postgres) // skips without PostgreSQL
	ctx := context.Background()
	clk := clock.NewFake(t0)
	var engines [2]*ledger.Ledger
	for i := range engines {
		db, err := store.Open(ctx, loc, store.Options{MaxConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		engines[i] = ledger.New(db, ledger.Options{Clock: clk, Writers: 2})
		t.Cleanup(func() { engines[i].Close() })
	}
	l := engines[0]
	if _, err := l.CreateAsset(ctx, "CNY", 2); err != nil {
		t.Fatal(err)
	}
	bank, err := l.CreateAccount(ctx, ledger.NewAccount{InstitutionID: "inst1", Asset: "CNY", Code: "1002",
		NormalSide: ledger.Debit, Overdraft: ledger.OverdraftUnlimited})
	if err != nil {
		t.Fatal(err)
	}
	const wallets = 5
	ws := make([]*ledger.Account, wallets)
	for i := range ws {
		if ws[i], err = l.CreateAccount(ctx, ledger.NewAccount{InstitutionID: "inst1", Asset: "CNY", Code: "2001",
			NormalSide: ledger.Credit}); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Post(ctx, ledger.Request{Kind: ledger.KindTransfer, InstitutionID: "inst1", Reference: fmt.Sprintf("fund-%d", i),
			Postings: []ledger.Posting{{Debit: bank.ID, Credit: ws[i].ID, Asset: "CNY", Amount: 10_000}}}); err != nil {
			t.Fatal(err)
		}
	}

	// Each worker goes through one engine; pairs of workers on different
	// engines submit the same references at the same time.
	const workers, perWorker = 8, 60
	type ack struct {
		ref string
		id  string
		ps  []ledger.Posting
	}
	var mu sync.Mutex
	acks := map[string]ack{}
	var wg sync.WaitGroup
	deadline, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for w := range workers {
		wg.Go(func() {
			eng := engines[w%2]
			rng := rand.New(rand.NewPCG(uint64(w/2), 7)) // workers 2k and 2k+1 draw the same requests
			for n := range perWorker {
				from, to := rng.IntN(wallets), rng.IntN(wallets-1)
				if to >= from {
					to++
				}
				r := ledger.Request{Kind: ledger.KindTransfer, InstitutionID: "inst1", Reference: fmt.Sprintf("pair%d-%d", w/2, n),
					Postings: []ledger.Posting{{Debit: ws[from].ID, Credit: ws[to].ID, Asset: "CNY", Amount: 1 + rng.Int64N(3000)}}}
				res, err := eng.Submit(deadline, []ledger.Request{r}, false)
				if err != nil {
					t.Errorf("submit %s: %v", r.Reference, err)
					return
				}
				if e := res[0].Err; e != nil {
					if e.Code != ledger.CodeInsufficientFunds {
						t.Errorf("%s: unexpected rejection %v", r.Reference, e)
					}
					continue
				}
				mu.Lock()
				if prev, ok := acks[r.Reference]; ok && prev.id != res[0].Transaction.ID {
					t.Errorf("%s acknowledged twice with different transactions %s and %s", r.Reference, prev.id, res[0].Transaction.ID)
				}
				acks[r.Reference] = ack{r.Reference, res[0].Transaction.ID, r.Postings}
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	want := map[string]int64{}
	for _, a := range acks {
		got, err := l.GetTransactionByReference(ctx, "inst1", a.ref)
		if err != nil || got.ID != a.id {
			t.Errorf("%s: got %v, %v; want transaction %s", a.ref, got, err, a.id)
		}
		for _, p := range a.ps {
			want[p.Debit] -= p.Amount
			want[p.Credit] += p.Amount
		}
	}
	for _, w := range ws {
		got, err := l.GetAccount(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if bal := got.Balance(ledger.Credit); bal != 10_000+want[w.ID] || bal < 0 {
			t.Errorf("wallet %s: balance %d, want %d from the acknowledged transfers", w.ID, bal, 10_000+want[w.ID])
		}
	}
	rep, err := l.Verify(ctx)
	if err != nil || !rep.OK {
		t.Fatalf("verify: %v %+v", err, rep)
	}
	if len(acks) == 0 {
		t.Fatal("nothing was acknowledged")
	}
	t.Logf("%d distinct references acknowledged by two engines", len(acks))
}
