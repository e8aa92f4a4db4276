package httpapi

import (
	"strconv"
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	th := newThrottle(3, time.Minute, 100) // a failure back every 20 s
	steps := []struct {
		name     string
		at       time.Duration
		fail     bool
		wantWait time.Duration
	}{
		{"unknown key waits not", 0, false, 0},
		{"first failure", 0, true, 0},
		{"second failure", 0, true, 0},
		{"third failure", 0, true, 20 * time.Second},
		{"still waiting", 10 * time.Second, false, 10 * time.Second},
		{"one back", 20 * time.Second, false, 0},
		{"spent again", 20 * time.Second, true, 20 * time.Second},
		{"all back after the window", 100 * time.Second, false, 0},
	}
	for _, s := range steps {
		now := t0.Add(s.at)
		if s.fail {
			th.fail("k", now)
		}
		if got := th.wait("k", now); got != s.wantWait {
			t.Errorf("%s: wait %v, want %v", s.name, got, s.wantWait)
		}
	}
	if got := th.wait("other", t0); got != 0 {
		t.Errorf("another key waits %v", got)
	}
	if newThrottle(-1, time.Minute, 10) != nil {
		t.Error("a negative burst makes a throttle")
	}
	var none *throttle
	none.fail("k", t0)
	if got := none.wait("k", t0); got != 0 {
		t.Errorf("no throttle waits %v", got)
	}
}

// TestThrottleBounded: however many addresses fail, the throttle remembers
// at most its bound, and forgets the refilled first.
func TestThrottleBounded(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	th := newThrottle(2, time.Minute, 100)
	for i := range 1000 {
		th.fail("addr"+strconv.Itoa(i), t0)
		if n := th.len(); n > 100 {
			t.Fatalf("after %d failures: %d buckets, bound 100", i+1, n)
		}
	}
	// A minute on, every bucket is full again: one sweep forgets them all.
	th.fail("late", t0.Add(time.Minute))
	for i := range 200 {
		th.fail("later"+strconv.Itoa(i), t0.Add(time.Minute))
	}
	if n := th.len(); n > 100 {
		t.Fatalf("%d buckets, bound 100", n)
	}
	// A key spent just now is not among those forgotten first.
	th2 := newThrottle(1, time.Minute, 10)
	th2.fail("spent", t0.Add(time.Minute))
	for i := range 9 {
		th2.fail("old"+strconv.Itoa(i), t0)
	}
	th2.fail("new", t0.Add(time.Minute+time.Second))
	if th2.wait("spent", t0.Add(time.Minute+time.Second)) == 0 {
		t.Error("eviction forgot a bucket still waiting while full ones were there")
	}
}
