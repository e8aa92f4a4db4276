package bench

import (
	"math/bits"
	"time"
)

// histogram records latencies in fixed memory: log-linear buckets with 64
// sub-buckets per power of two of microseconds, under 1% error. A benchmark
// that kept every sample would grow its own heap and hide whether the system
// under test stays flat.
type histogram struct {
	counts [4096]int64
	n      int64
	max    time.Duration
}

// Values below 128µs have a bucket each; above, a bucket spans 1/64 of its
// power of two.
func bucketOf(us uint64) int {
	if us < 128 {
		return int(us)
	}
	e := bits.Len64(us) - 7
	return 128 + (e-1)*64 + int(us>>uint(e)) - 64
}

// bucketValue is the middle of bucket b, in microseconds.
func bucketValue(b int) uint64 {
	if b < 128 {
		return uint64(b)
	}
	e := (b-128)/64 + 1
	top := uint64((b-128)%64 + 64)
	return top<<uint(e) + 1<<uint(e-1)
}

func (h *histogram) record(d time.Duration) {
	us := uint64(d.Microseconds())
	b := bucketOf(us)
	if b >= len(h.counts) {
		b = len(h.counts) - 1
	}
	h.counts[b]++
	h.n++
	h.max = max(h.max, d)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the latency below which a share q of samples fall.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(q*float64(h.n)) + 1
	rank = min(rank, h.n)
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(bucketValue(i))*time.Microsecond, h.max)
		}
	}
	return h.max
}
