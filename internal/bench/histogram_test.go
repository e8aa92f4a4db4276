package bench

import (
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 10000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5000 * time.Microsecond}, {0.99, 9900 * time.Microsecond}, {0.999, 9990 * time.Microsecond}, {1, 10000 * time.Microsecond}} {
		got := h.quantile(tc.q)
		if diff := got - tc.want; diff < -tc.want/50 || diff > tc.want/50 {
			t.Errorf("quantile(%v) = %v, want %v ± 2%%", tc.q, got, tc.want)
		}
	}
}

func TestHistogramBucketsMonotonic(t *testing.T) {
	prev := -1
	for us := uint64(0); us < 1<<22; us += 7 {
		b := bucketOf(us)
		if b < prev {
			t.Fatalf("bucketOf(%d) = %d < %d", us, b, prev)
		}
		if v := bucketValue(b); v+v/32+1 < us || v > us+us/32+1 {
			t.Fatalf("bucketValue(bucketOf(%d)) = %d, off by more than 3%%", us, v)
		}
		prev = b
	}
}
