package bench

import (
	"bufio"
	"context"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// batchMetrics are the ledger engine's batch counters as a server exposes
// them at /metrics (suanpan_ledger_batch_requests and
// suanpan_ledger_commit_seconds): cumulative bucket counts by upper bound,
// and the sums and counts.
type batchMetrics struct {
	buckets     map[float64]float64 // le → cumulative count
	requests    float64             // sum of requests per batch
	batches     float64
	commitSumS  float64
	commitCount float64
}

// scrapeBatchMetrics reads the server's batch metrics; ok is false when
// the server does not expose them.
func scrapeBatchMetrics(ctx context.Context, client *http.Client, base string) (m batchMetrics, ok bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return m, false, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return m, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxHTTPBodyBytes))
		return m, false, nil
	}
	m, ok = parseBatchMetrics(io.LimitReader(resp.Body, maxHTTPBodyBytes))
	return m, ok, nil
}

// parseBatchMetrics reads the Prometheus text format for the batch
// metrics.
func parseBatchMetrics(r io.Reader) (batchMetrics, bool) {
	m := batchMetrics{buckets: map[float64]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "suanpan_ledger_") {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(name, `suanpan_ledger_batch_requests_bucket{le="`):
			le := strings.TrimSuffix(strings.TrimPrefix(name, `suanpan_ledger_batch_requests_bucket{le="`), `"}`)
			bound, err := strconv.ParseFloat(le, 64) // "+Inf" parses as +Inf
			if err == nil {
				m.buckets[bound] = v
			}
		case name == "suanpan_ledger_batch_requests_sum":
			m.requests = v
		case name == "suanpan_ledger_batch_requests_count":
			m.batches = v
		case name == "suanpan_ledger_commit_seconds_sum":
			m.commitSumS = v
		case name == "suanpan_ledger_commit_seconds_count":
			m.commitCount = v
		}
	}
	return m, sc.Err() == nil && len(m.buckets) > 0
}

// batchesSince returns the batches committed between before and m, their
// average size and commit time, and their size distribution: each quantile
// is the upper bound of the bucket it falls in (the largest finite bound
// for the +Inf bucket).
func (m batchMetrics) batchesSince(before batchMetrics, elapsed time.Duration) (batches int64, avg, commitMs float64, sizes BatchSizes) {
	n := m.batches - before.batches
	if n <= 0 {
		return 0, 0, 0, BatchSizes{BatchSizesFrom: "metrics"}
	}
	bounds := make([]float64, 0, len(m.buckets))
	for le := range m.buckets {
		bounds = append(bounds, le)
	}
	sort.Float64s(bounds)
	finite := func(le float64) int {
		if math.IsInf(le, 1) {
			for i := len(bounds) - 1; i >= 0; i-- {
				if !math.IsInf(bounds[i], 1) {
					return int(bounds[i])
				}
			}
			return 0
		}
		return int(le)
	}
	quantile := func(q float64) int {
		rank := math.Ceil(q * n)
		for _, le := range bounds {
			if m.buckets[le]-before.buckets[le] >= rank {
				return finite(le)
			}
		}
		return 0
	}
	sizes = BatchSizes{BatchP50: quantile(0.5), BatchP90: quantile(0.9), BatchP99: quantile(0.99), BatchMax: quantile(1),
		BatchSizesFrom: "metrics"}
	if elapsed > 0 {
		sizes.CommitsPerS = n / elapsed.Seconds()
	}
	avg = (m.requests - before.requests) / n
	if c := m.commitCount - before.commitCount; c > 0 {
		commitMs = (m.commitSumS - before.commitSumS) / c * 1000
	}
	return int64(n), avg, commitMs, sizes
}
