package ledger_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// The benchmarks measure the engine's hot paths on a temporary SQLite file
// with durable commits, as `suanpan serve` runs by default. They assert
// correctness, never a speed. `suanpan bench ledger` is the end-to-end
// counterpart, with latency percentiles and more knobs.

// benchWallets is the number of funded wallets transfers move between.
const benchWallets = 1000

// benchLedger is a ledger with funded wallets and a reference counter.
type benchLedger struct {
	l       *ledger.Ledger
	wallets []string
	refs    atomic.Int64
}

// newBenchLedger opens a fresh SQLite ledger with n wallets, each funded from
// an unconstrained bank account in atomic batches, with enough that random
// transfers of at most 100.00 never run one dry.
func newBenchLedger(b *testing.B, n int) *benchLedger {
	b.Helper()
	ctx := context.Background()
	l := ledger.New(storetest.Open(b, store.SQLite), ledger.Options{})
	b.Cleanup(func() { l.Close() })
	if _, err := l.CreateAsset(ctx, "CNY", 2); err != nil {
		b.Fatal(err)
	}
	specs := make([]ledger.NewAccount, n+1)
	specs[0] = ledger.NewAccount{InstitutionID: "bench", Asset: "CNY", Code: "1002", Name: "bank",
		NormalSide: ledger.Debit, Overdraft: ledger.OverdraftUnlimited}
	for i := 1; i <= n; i++ {
		specs[i] = ledger.NewAccount{InstitutionID: "bench", Asset: "CNY", Code: "2001",
			Name: "wallet " + strconv.Itoa(i), NormalSide: ledger.Credit}
	}
	accts, err := l.CreateAccounts(ctx, specs)
	if err != nil {
		b.Fatal(err)
	}
	bl := &benchLedger{l: l}
	var reqs []ledger.Request
	for _, a := range accts[1:] {
		bl.wallets = append(bl.wallets, a.ID)
		reqs = append(reqs, ledger.Request{Kind: ledger.KindTransfer, InstitutionID: "bench", Reference: "fund-" + a.ID,
			Type: "topup", Postings: []ledger.Posting{{Debit: accts[0].ID, Credit: a.ID, Asset: "CNY", Amount: 1_000_000_000_00}}})
		if len(reqs) == 500 {
			bl.submit(b, reqs, true)
			reqs = reqs[:0]
		}
	}
	if len(reqs) > 0 {
		bl.submit(b, reqs, true)
	}
	return bl
}

// transfer is a single-posting transfer between two random wallets, under a
// reference never used before.
func (bl *benchLedger) transfer(rng *rand.Rand) ledger.Request {
	d := rng.IntN(len(bl.wallets))
	c := rng.IntN(len(bl.wallets) - 1)
	if c >= d {
		c++ // any wallet but the debited one
	}
	return ledger.Request{Kind: ledger.KindTransfer, InstitutionID: "bench", Type: "transfer",
		Reference: "t-" + strconv.FormatInt(bl.refs.Add(1), 36),
		Postings:  []ledger.Posting{{Debit: bl.wallets[d], Credit: bl.wallets[c], Asset: "CNY", Amount: 1 + rng.Int64N(10000)}}}
}

// submit submits reqs and fails the benchmark on any error or rejection. It
// must run on the benchmark's goroutine.
func (bl *benchLedger) submit(b *testing.B, reqs []ledger.Request, all bool) {
	b.Helper()
	if err := bl.check(reqs, all); err != nil {
		b.Fatal(err)
	}
}

// check submits reqs and returns the first error or rejection. It is safe to
// call from RunParallel's goroutines.
func (bl *benchLedger) check(reqs []ledger.Request, all bool) error {
	res, err := bl.l.Submit(context.Background(), reqs, all)
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Err != nil {
			return r.Err
		}
	}
	return nil
}

// BenchmarkSubmitTransfer submits one single-posting transfer per op from
// many goroutines, so the group commit has company to batch: the path of an
// API server's transfer requests.
func BenchmarkSubmitTransfer(b *testing.B) {
	bl := newBenchLedger(b, benchWallets)
	// GOMAXPROCS submitters alone would leave the batches tiny on a small
	// machine; a server has many requests in flight.
	b.SetParallelism(8)
	var seed atomic.Uint64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(1, seed.Add(1)))
		reqs := make([]ledger.Request, 1)
		for pb.Next() {
			reqs[0] = bl.transfer(rng)
			if err := bl.check(reqs, false); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transfers/s")
}

// BenchmarkSubmitBatch100 submits 100 transfers in one Submit per op from a
// single goroutine: the path of batch files and bulk imports.
func BenchmarkSubmitBatch100(b *testing.B) {
	const size = 100
	bl := newBenchLedger(b, benchWallets)
	rng := rand.New(rand.NewPCG(1, 2))
	reqs := make([]ledger.Request, size)
	for b.Loop() {
		for i := range reqs {
			reqs[i] = bl.transfer(rng)
		}
		bl.submit(b, reqs, false)
	}
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "transfers/s")
}

// BenchmarkVerify verifies a ledger of about 10,000 transactions (1,000
// fundings and 9,000 transfers) per op.
func BenchmarkVerify(b *testing.B) {
	bl := newBenchLedger(b, benchWallets)
	rng := rand.New(rand.NewPCG(1, 3))
	reqs := make([]ledger.Request, 1000)
	for range 9 {
		for i := range reqs {
			reqs[i] = bl.transfer(rng)
		}
		bl.submit(b, reqs, false)
	}
	ctx := context.Background()
	for b.Loop() {
		rep, err := bl.l.Verify(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if !rep.OK || rep.Transactions != 10_000 {
			b.Fatalf("verify: ok %v, %d transactions (want 10000), problems %+v", rep.OK, rep.Transactions, rep.Problems)
		}
	}
}
