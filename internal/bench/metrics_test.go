package bench

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBatchesSince checks the batch size distribution read from two
// scrapes of a server's /metrics: only the window's batches count, and
// each quantile is its bucket's upper bound.
func TestBatchesSince(t *testing.T) {
	scrape := func(counts [4]int, sum, commit float64) batchMetrics {
		var b strings.Builder
		for i, le := range []string{"1", "2", "4", "+Inf"} {
			b.WriteString(`suanpan_ledger_batch_requests_bucket{le="` + le + `"} ` + strconv.Itoa(counts[i]) + "\n")
		}
		b.WriteString("suanpan_ledger_batch_requests_sum " + strconv.Itoa(int(sum)) + "\nsuanpan_ledger_batch_requests_count " + strconv.Itoa(counts[3]) + "\n")
		b.WriteString("suanpan_ledger_commit_seconds_sum 0.5\nsuanpan_ledger_commit_seconds_count " + strconv.Itoa(counts[3]) + "\n")
		b.WriteString("# HELP other\nprocess_cpu_seconds_total 1.5e+00\n")
		m, ok := parseBatchMetrics(strings.NewReader(b.String()))
		if !ok {
			t.Fatalf("no batch metrics in\n%s", b.String())
		}
		m.commitSumS = commit
		return m
	}
	before := scrape([4]int{5, 5, 5, 5}, 5, 0.1)
	// The window: 10 batches of 1, 80 of 2, 10 of 3 or 4.
	after := scrape([4]int{15, 95, 105, 105}, 5+10+160+35, 0.6)
	n, avg, commitMs, sizes := after.batchesSince(before, time.Second)
	want := BatchSizes{CommitsPerS: 100, BatchP50: 2, BatchP90: 2, BatchP99: 4, BatchMax: 4, BatchSizesFrom: "metrics"}
	if n != 100 || avg != 2.05 || commitMs != 5 || sizes != want {
		t.Errorf("batchesSince = %d, %v, %v, %+v; want 100, 2.05, 5, %+v", n, avg, commitMs, sizes, want)
	}
	if n, _, _, sizes := before.batchesSince(before, time.Second); n != 0 || sizes.BatchP50 != 0 {
		t.Errorf("no batches: %d, %+v", n, sizes)
	}
}
