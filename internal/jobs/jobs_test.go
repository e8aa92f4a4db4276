package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

var t0 = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

func enqueue(t *testing.T, db *store.DB, s Spec, now time.Time) string {
	t.Helper()
	var id string
	err := db.InTx(context.Background(), store.TxOptions{}, func(tx *sql.Tx) error {
		var err error
		id, err = Enqueue(context.Background(), tx, s, now)
		return err
	})
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	return id
}

func mustGet(t *testing.T, s *Scheduler, id string) *Job {
	t.Helper()
	j, err := s.Get(context.Background(), id, nil)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return j
}

func runDue(t *testing.T, s *Scheduler) int {
	t.Helper()
	n, err := s.RunDue(context.Background())
	if err != nil {
		t.Fatalf("run due: %v", err)
	}
	return n
}

func TestEnqueueIsTransactionalAndUniqueByKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := New(db, clock.NewFake(t0), Options{})
		var runs atomic.Int32
		s.Register("k", Policy{}, func(ctx context.Context, j *Job) error { runs.Add(1); return nil })

		// A job enqueued in a transaction that rolls back never exists.
		boom := errors.New("boom")
		err := db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
			if _, err := Enqueue(ctx, tx, Spec{Kind: "k", Key: "rolled-back"}, t0); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want boom", err)
		}
		first := enqueue(t, db, Spec{Kind: "k", Key: "a", Payload: map[string]int{"n": 1}}, t0)
		if first == "" {
			t.Fatal("first enqueue returned no ID")
		}
		if again := enqueue(t, db, Spec{Kind: "k", Key: "a", Payload: map[string]int{"n": 2}}, t0); again != "" {
			t.Errorf("second enqueue of the same key = %q, want no new job", again)
		}
		enqueue(t, db, Spec{Kind: "other", Key: "a"}, t0) // same key, other kind: its own job
		if got := runDue(t, s); got != 1 {
			t.Errorf("RunDue ran %d jobs, want 1 (the rolled-back one must not exist; 'other' is unregistered)", got)
		}
		var p struct{ N int }
		j := mustGet(t, s, first)
		if err := j.Decode(&p); err != nil || p.N != 1 || j.State != Succeeded || j.Attempts != 1 || j.FinishedAt == nil {
			t.Errorf("job = %+v (payload %d, %v), want succeeded once with the first payload", j, p.N, err)
		}
	})
}

// A job whose work was done otherwise never runs; Done on a job that is
// not pending changes nothing.
func TestDone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := New(db, clock.NewFake(t0), Options{})
		runs := 0
		s.Register("k", Policy{}, func(context.Context, *Job) error { runs++; return nil })
		needless := enqueue(t, db, Spec{Kind: "k", Key: "a"}, t0)
		enqueue(t, db, Spec{Kind: "k", Key: "b"}, t0)
		for _, key := range []string{"a", "missing"} {
			if err := db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error { return Done(ctx, tx, "k", key, t0) }); err != nil {
				t.Fatal(err)
			}
		}
		if got := runDue(t, s); got != 1 || runs != 1 {
			t.Errorf("ran %d jobs, want only b", got)
		}
		if j := mustGet(t, s, needless); j.State != Succeeded || j.Attempts != 0 {
			t.Errorf("done job = %s after %d attempts, want succeeded without a run", j.State, j.Attempts)
		}
	})
}

func TestRetryBackoffAndDeath(t *testing.T) {
	pol := Policy{MaxAttempts: 5, Backoff: 10 * time.Second, MaxBackoff: 30 * time.Second, Timeout: time.Minute}
	tests := []struct {
		name      string
		failures  int   // runs that fail before one succeeds
		fail      error // how they fail
		wantState State
		wantRuns  int
		wantWaits []time.Duration // base waits between runs (before the ≤10% spread)
	}{
		{"succeeds after failures", 3, errors.New("down"), Succeeded, 4, []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second}},
		{"exhausts its attempts", 99, errors.New("down"), Dead, 5, []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second, 30 * time.Second}},
		{"permanent error", 99, Permanent(errors.New("bad payload")), Dead, 1, nil},
		{"retry after", 2, RetryAfter(time.Hour, errors.New("still processing")), Succeeded, 3, []time.Duration{time.Hour, time.Hour}},
		{"panic", 1, nil, Succeeded, 2, []time.Duration{10 * time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				clk := clock.NewFake(t0)
				s := New(db, clk, Options{})
				runs := 0
				s.Register("k", pol, func(ctx context.Context, j *Job) error {
					runs++
					if runs <= tc.failures {
						if tc.fail == nil {
							panic("handler bug")
						}
						return tc.fail
					}
					return nil
				})
				id := enqueue(t, db, Spec{Kind: "k"}, t0)
				for i := 0; i < 10; i++ {
					runDue(t, s)
					j := mustGet(t, s, id)
					if j.State != Pending {
						break
					}
					wait := j.RunAt.Sub(clk.Now())
					if i >= len(tc.wantWaits) {
						t.Fatalf("run %d: job still pending, want %s", i+1, tc.wantState)
					}
					if base := tc.wantWaits[i]; wait < base || wait > base+base/10 {
						t.Errorf("wait after run %d = %s, want %s (+≤10%%)", i+1, wait, base)
					}
					if j.LastError == "" {
						t.Errorf("run %d: last error not recorded", i+1)
					}
					if got := runDue(t, s); got != 0 {
						t.Fatalf("job ran again before its backoff was over")
					}
					clk.Set(j.RunAt)
				}
				j := mustGet(t, s, id)
				if j.State != tc.wantState || runs != tc.wantRuns || j.Attempts != tc.wantRuns {
					t.Errorf("state %s after %d runs (attempts %d), want %s after %d", j.State, runs, j.Attempts, tc.wantState, tc.wantRuns)
				}
			})
		})
	}
}

func TestExpiredLeaseRunsAgainAndStaleOutcomeIsIgnored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := clock.NewFake(t0)
		pol := Policy{Timeout: time.Minute}
		crashed := New(db, clk, Options{})
		crashed.Register("k", pol, func(context.Context, *Job) error { return nil })
		id := enqueue(t, db, Spec{Kind: "k"}, t0)

		// The first scheduler claims the job and dies before finishing it.
		claimed, err := crashed.claim(ctx, 10)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim = %d jobs, %v; want 1", len(claimed), err)
		}
		other := New(db, clk, Options{})
		var runs int
		other.Register("k", pol, func(context.Context, *Job) error { runs++; return errors.New("fails this time") })
		if got := runDue(t, other); got != 0 {
			t.Fatalf("a leased job ran while its lease held")
		}
		clk.Advance(time.Minute)
		if got := runDue(t, other); got != 1 || runs != 1 {
			t.Fatalf("after the lease ran out RunDue made %d runs, want 1", got)
		}
		// The first scheduler wakes up and reports success: ignored, since
		// the job is no longer its.
		crashed.run(ctx, claimed[0])
		j := mustGet(t, other, id)
		if j.State != Pending || j.Attempts != 2 || j.LastError == "" {
			t.Errorf("job = %s attempts %d error %q; want the second run's outcome (pending, 2, its error)", j.State, j.Attempts, j.LastError)
		}
	})
}

// Two schedulers run 300 jobs concurrently on one store; each job runs
// exactly once.
func TestRunConcurrentSchedulersRunEachJobOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		var mu sync.Mutex
		runs := map[string]int{}
		const n = 300
		var done sync.WaitGroup
		done.Add(n)
		h := func(_ context.Context, j *Job) error {
			mu.Lock()
			runs[j.Key]++
			first := runs[j.Key] == 1
			mu.Unlock()
			if first {
				done.Done()
			}
			return nil
		}
		var wg sync.WaitGroup
		for range 2 {
			s := New(db, clock.Real{}, Options{Workers: 4, Poll: 5 * time.Millisecond})
			s.Register("k", Policy{Timeout: time.Minute}, h)
			wg.Add(1)
			go func() { defer wg.Done(); _ = s.Run(ctx) }()
		}
		for i := range n {
			enqueue(t, db, Spec{Kind: "k", Key: fmt.Sprint(i)}, time.Now())
		}
		done.Wait()
		cancel()
		wg.Wait()
		if len(runs) != n {
			t.Fatalf("%d distinct jobs ran, want %d", len(runs), n)
		}
		for k, c := range runs {
			if c != 1 {
				t.Errorf("job %s ran %d times", k, c)
			}
		}
	})
}

func TestListGetRetryCancel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := clock.NewFake(t0)
		s := New(db, clk, Options{})
		s.Register("k", Policy{MaxAttempts: 1}, func(context.Context, *Job) error { return errors.New("no") })
		dead := enqueue(t, db, Spec{Kind: "k", InstitutionID: "A"}, t0)
		runDue(t, s)
		later := enqueue(t, db, Spec{Kind: "k", InstitutionID: "B", RunAt: t0.Add(time.Hour)}, t0)

		tests := []struct {
			name string
			f    Filter
			want []string
		}{
			{"all", Filter{}, []string{dead, later}},
			{"dead", Filter{State: Dead}, []string{dead}},
			{"scope B", Filter{Scope: []string{"B"}}, []string{later}},
			{"empty scope", Filter{Scope: []string{}}, nil},
			{"after", Filter{After: dead}, []string{later}},
			{"kind", Filter{Kind: "none"}, nil},
		}
		for _, tc := range tests {
			got, _, err := s.List(ctx, tc.f)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var ids []string
			for _, j := range got {
				ids = append(ids, j.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, ids, tc.want)
			}
		}
		if _, _, err := s.List(ctx, Filter{State: "bogus"}); code(err) != CodeInvalidRequest {
			t.Errorf("bad state: %v, want %s", err, CodeInvalidRequest)
		}
		if _, err := s.Get(ctx, dead, []string{"B"}); code(err) != CodeJobNotFound {
			t.Errorf("out-of-scope get: %v, want %s", err, CodeJobNotFound)
		}

		j, err := s.Retry(ctx, dead, []string{"A"})
		if err != nil || j.State != Pending || j.Attempts != 0 || !j.RunAt.Equal(t0) {
			t.Fatalf("retry = %+v, %v; want pending, due now, fresh attempts", j, err)
		}
		if _, err := s.Cancel(ctx, later, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Cancel(ctx, later, nil); code(err) != CodeInvalidJobChange {
			t.Errorf("cancel of a cancelled job: %v, want %s", err, CodeInvalidJobChange)
		}
		clk.Advance(2 * time.Hour)
		if got := runDue(t, s); got != 1 {
			t.Errorf("RunDue after retry and cancel ran %d jobs, want only the retried one", got)
		}
	})
}

func code(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
