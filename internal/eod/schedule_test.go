package eod_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/internal/eod"
	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// The scheduled end of day runs each date Delay after it ends and then
// schedules the next date; a job that comes too early waits.
func TestScheduledRunsChainDayByDay(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		d := newDay(t, db)
		midnight := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
		d.clock.Set(midnight.Add(5 * time.Minute))
		r := eod.New(eod.Config{Ledger: d.ledger, Delay: 10 * time.Minute})
		sched := jobs.New(db, d.clock, jobs.Options{Log: slog.New(slog.DiscardHandler)})
		r.Register(sched)
		runDue := func() int {
			t.Helper()
			n, err := sched.RunDue(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		// scheduled lists the eod.run jobs as "date state due-time".
		scheduled := func() []string {
			t.Helper()
			js, _, err := sched.List(ctx, jobs.Filter{Kind: eod.JobRun})
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, j := range js {
				out = append(out, j.Key+" "+string(j.State)+" "+j.RunAt.Format(time.DateTime))
			}
			return out
		}

		// A store that never closed a day starts with yesterday.
		if date, err := r.EnqueueNext(ctx); err != nil || date != closeDate {
			t.Fatalf("EnqueueNext = %q, %v; want %s", date, err, closeDate)
		}
		if n := runDue(); n != 0 {
			t.Errorf("%d runs before the job is due", n)
		}
		d.clock.Set(midnight.Add(11 * time.Minute))
		if n := runDue(); n != 1 {
			t.Fatalf("%d runs when due, want 1", n)
		}
		run, err := r.Get(ctx, closeDate)
		if err != nil || run.Status != eod.StatusCompleted || run.StartedBy != eod.ScheduledBy {
			t.Fatalf("scheduled run %+v, %v", run, err)
		}
		want := []string{"2026-11-21 succeeded 2026-11-22 00:11:00", "2026-11-22 pending 2026-11-23 00:10:00"}
		if diff := cmp.Diff(want, scheduled()); diff != "" {
			t.Errorf("jobs (-want +got):\n%s", diff)
		}
		// At the next start the next date is already scheduled.
		if date, err := r.EnqueueNext(ctx); err != nil || date != nextDay {
			t.Errorf("EnqueueNext = %q, %v; want %s", date, err, nextDay)
		}
		if diff := cmp.Diff(want, scheduled()); diff != "" {
			t.Errorf("jobs after EnqueueNext (-want +got):\n%s", diff)
		}

		// A day that ends, by EndOfDay, before the ledger's business date
		// moves on: the job waits for the date to be over.
		early := eod.New(eod.Config{Ledger: d.ledger, Delay: 10 * time.Minute,
			EndOfDay: func(date string) time.Time {
				t, _ := time.Parse(time.DateOnly, date)
				return t.Add(23 * time.Hour)
			}})
		early.Register(sched)
		if _, err := db.Write.ExecContext(ctx, `UPDATE jobs SET run_at = $1 WHERE kind = $2 AND key = $3`,
			time.Date(2026, 11, 22, 23, 10, 0, 0, time.UTC).UnixMicro(), eod.JobRun, nextDay); err != nil {
			t.Fatal(err)
		}
		d.clock.Set(time.Date(2026, 11, 22, 23, 10, 0, 0, time.UTC))
		if n := runDue(); n != 1 {
			t.Fatalf("%d runs, want 1", n)
		}
		js, _, err := sched.List(ctx, jobs.Filter{Kind: eod.JobRun, State: jobs.Pending})
		if err != nil || len(js) != 1 || js[0].Key != nextDay || !strings.Contains(js[0].LastError, string(eod.CodeDateOpen)) ||
			!js[0].RunAt.Equal(d.clock.Now().Add(time.Minute)) {
			t.Fatalf("the early job: %+v, %v", js, err)
		}
		d.clock.Set(time.Date(2026, 11, 23, 0, 1, 0, 0, time.UTC))
		if n := runDue(); n != 1 {
			t.Fatalf("%d runs, want 1", n)
		}
		want = []string{"2026-11-21 succeeded 2026-11-22 00:11:00", "2026-11-22 succeeded 2026-11-23 00:01:00",
			"2026-11-23 pending 2026-11-23 23:10:00"}
		if diff := cmp.Diff(want, scheduled()); diff != "" {
			t.Errorf("jobs (-want +got):\n%s", diff)
		}
	})
}
