package httpapi

import (
	"math"
	"sync"
	"time"
)

// Failed authentications are throttled per source address and per key
// ID (the sp_<id>_ part of a token), each with a token bucket: a failure
// takes a token, tokens come back at burst per window, and a source or key
// ID without a token is answered 429 before its key is looked at. Only
// failures take tokens, so a caller whose key is right is never slowed,
// however busy; guessing secrets, from one address or from many at one
// key, is.

// Defaults of the throttle.
const (
	defaultAuthFailureBurst  = 20
	defaultAuthFailureWindow = time.Minute
	// throttleEntries bounds the addresses and key IDs remembered (each);
	// past it, the fully refilled are forgotten, then arbitrary ones.
	throttleEntries = 50_000
)

// throttle is a bounded set of token buckets.
type throttle struct {
	burst float64
	rate  float64 // tokens per second
	max   int

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was computed
}

// newThrottle returns a throttle of burst failures refilled over window;
// nil (no throttle) when burst is negative.
func newThrottle(burst int, window time.Duration, max int) *throttle {
	if burst < 0 {
		return nil
	}
	if burst == 0 {
		burst = defaultAuthFailureBurst
	}
	if window <= 0 {
		window = defaultAuthFailureWindow
	}
	return &throttle{burst: float64(burst), rate: float64(burst) / window.Seconds(), max: max, buckets: map[string]*bucket{}}
}

// level is a bucket's tokens at now.
func (t *throttle) level(b *bucket, now time.Time) float64 {
	d := now.Sub(b.at).Seconds()
	if d < 0 {
		d = 0
	}
	return math.Min(t.burst, b.tokens+d*t.rate)
}

// wait reports how long the key must wait for a token (0: it has one).
func (t *throttle) wait(key string, now time.Time) time.Duration {
	if t == nil || key == "" {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.buckets[key]
	if !ok {
		return 0
	}
	tokens := t.level(b, now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) / t.rate * float64(time.Second))
}

// fail takes a token from the key's bucket.
func (t *throttle) fail(key string, now time.Time) {
	if t == nil || key == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.buckets[key]
	if !ok {
		if len(t.buckets) >= t.max {
			t.evict(now)
		}
		b = &bucket{tokens: t.burst, at: now}
		t.buckets[key] = b
	}
	b.tokens = math.Max(0, t.level(b, now)-1)
	b.at = now
}

// evict makes room: it forgets the buckets that are full again (as good as
// absent) and, when none is, an arbitrary tenth of them. The caller holds
// mu.
func (t *throttle) evict(now time.Time) {
	for k, b := range t.buckets {
		if t.level(b, now) >= t.burst {
			delete(t.buckets, k)
		}
	}
	for k := range t.buckets {
		if len(t.buckets) < t.max-t.max/10 {
			break
		}
		delete(t.buckets, k)
	}
}

// len is the number of buckets remembered.
func (t *throttle) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.buckets)
}
