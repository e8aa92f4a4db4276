package bench_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/suanpan/suanpan/internal/bench"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// TestRunLedgerCost runs the ledger benchmark tiny on each engine and checks
// that it measured the write path: WAL written, CPU used, batch sizes, and
// profiles of the window.
func TestRunLedgerCost(t *testing.T) {
	for _, d := range storetest.Engines() {
		t.Run(string(d), func(t *testing.T) {
			dir := t.TempDir()
			prof := bench.Profiles{CPU: filepath.Join(dir, "cpu.pprof"), Mem: filepath.Join(dir, "mem.pprof")}
			rep, err := bench.RunLedger(context.Background(), bench.LedgerConfig{Store: storetest.Location(t, d),
				Accounts: 50, Concurrency: 4, Duration: 300 * time.Millisecond, Profiles: prof}, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", rep)
			if !rep.VerifyOK || rep.Transfers == 0 {
				t.Fatalf("verify %v, %d transfers", rep.VerifyOK, rep.Transfers)
			}
			c := rep.Cost
			if c.Unit != "transfer" || !c.WALMeasured || c.WALBytes <= 0 || c.WALBytesPerUnit <= 0 || c.WALScope == "" {
				t.Errorf("WAL: %+v, want bytes written per transfer", c)
			}
			if d == store.SQLite && (c.WALPages <= 0 || c.PageSize <= 0 || c.WALBytes != c.WALPages*(c.PageSize+24)) {
				t.Errorf("SQLite WAL: %d pages of %d bytes, %d bytes", c.WALPages, c.PageSize, c.WALBytes)
			}
			if d == store.Postgres && c.WALRecords <= 0 {
				t.Errorf("PostgreSQL WAL records: %d", c.WALRecords)
			}
			if !c.CPUMeasured || c.CPUUserS+c.CPUSysS <= 0 || c.CPUUsPerUnit <= 0 || c.CPUScope == "" {
				t.Errorf("CPU: %+v", c)
			}
			b := rep.BatchSizes
			if b.BatchSizesFrom != "engine" || b.BatchP50 < 1 || b.BatchP90 < b.BatchP50 || b.BatchP99 < b.BatchP90 ||
				b.BatchMax < b.BatchP99 || b.BatchMax > 4 || b.CommitsPerS <= 0 {
				t.Errorf("batch sizes %+v, want 1 ≤ p50 ≤ p90 ≤ p99 ≤ max ≤ 4 submitters", b)
			}
			for _, f := range []string{prof.CPU, prof.Mem} {
				checkProfile(t, f)
			}
		})
	}
}

// checkProfile checks that file holds a pprof profile: gzip-compressed
// protocol buffers.
func checkProfile(t *testing.T, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 20 || !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		t.Errorf("%s: %d bytes, not a gzip-compressed profile", filepath.Base(file), len(b))
	}
}
