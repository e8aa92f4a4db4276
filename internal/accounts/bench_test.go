package accounts_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/bench"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
)

// BenchmarkPay measures merchant payments through Operations.Pay (product
// look-ups, the merchant's fee, the payer's limits counted in the ledger
// transaction) on SQLite, from 64 goroutines (-cpu sets GOMAXPROCS, not
// this), the set-up of bench accounts.
func BenchmarkPay(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), store.Options{MaxConns: 16})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	l := ledger.New(db, ledger.Options{})
	b.Cleanup(func() { l.Close() })
	ops, wallets, merchants, err := bench.SetupPayAccounts(ctx, l, "bench", 1000, 10)
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.SetParallelism(64 / max(1, runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			_, err := ops.Pay(ctx, accounts.OperationRequest{Reference: fmt.Sprintf("p%d", i), Account: wallets[int(i)%len(wallets)],
				Counterparty: merchants[int(i)%len(merchants)], Channel: "app", Amount: 1 + i%10000})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
