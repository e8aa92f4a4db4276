package eod_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/internal/eod"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// Of concurrent runs of one date only one executes: while a runner holds
// the date the others are refused with eod_running, and when many start at
// once every step still runs exactly once.
func TestConcurrentRunsExecuteOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		d := newDay(t, db)

		// A runner stopped inside its first step holds the date.
		holder := d.runner(nil)
		started, release := make(chan struct{}), make(chan struct{})
		eod.SetHooks(holder, func(step string) {
			if step == eod.StepCutover {
				close(started)
				<-release
			}
		}, nil)
		var held *eod.Run
		var heldErr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			held, heldErr = holder.Run(ctx, closeDate, "ops")
		}()
		<-started
		others := d.runner(nil)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { _, errs[i] = others.Run(ctx, closeDate, "ops") })
		}
		wg.Wait()
		close(release)
		<-done
		for i, err := range errs {
			if code(err) != eod.CodeRunning {
				t.Errorf("concurrent run %d: %v, want %s", i, err, eod.CodeRunning)
			}
		}
		if heldErr != nil || held.Status != eod.StatusCompleted {
			t.Fatalf("the holder's run: %+v, %v", held, heldErr)
		}
		checkOnce(t, held)

		// Many runners racing for the next date.
		d.clock.Set(eodTime.Add(24 * time.Hour))
		gate := make(chan struct{})
		runs := make([]*eod.Run, 8)
		for i := range runs {
			wg.Go(func() {
				<-gate
				runs[i], errs[i] = d.runner(nil).Run(ctx, nextDay, "ops")
			})
		}
		close(gate)
		wg.Wait()
		completed := 0
		for i, err := range errs {
			switch code(err) {
			case "":
				completed++
				if runs[i].Status != eod.StatusCompleted {
					t.Errorf("runner %d returned %+v", i, runs[i])
				}
			case eod.CodeRunning:
			default:
				t.Errorf("runner %d: %v", i, err)
			}
		}
		if completed == 0 {
			t.Fatal("no runner completed the day")
		}
		run, err := others.Get(ctx, nextDay)
		if err != nil {
			t.Fatal(err)
		}
		checkOnce(t, run)
		if n := len(events(t, db, eod.EventCompleted)); n != 2 {
			t.Errorf("%d eod.completed events, want 2 (one per day)", n)
		}
	})
}

// checkOnce checks that the run and each of its steps ran once.
func checkOnce(t *testing.T, run *eod.Run) {
	t.Helper()
	if run.Attempts != 1 {
		t.Errorf("run of %s claimed %d times", run.Date, run.Attempts)
	}
	for _, s := range run.Steps {
		if s.Attempts != 1 {
			t.Errorf("step %s of %s ran %d times", s.Name, run.Date, s.Attempts)
		}
	}
}

// A runner whose lease ran out is taken over, and when it comes back it
// records nothing: its step's completion is fenced off.
func TestTakeoverFencesStaleRunner(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		d := newDay(t, db)
		stale := eod.New(eod.Config{Ledger: d.ledger, Lease: time.Minute})
		started, release := make(chan struct{}), make(chan struct{})
		eod.SetHooks(stale, func(step string) {
			if step == eod.StepCheck {
				close(started)
				<-release
			}
		}, nil)
		var staleErr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, staleErr = stale.Run(ctx, closeDate, "ops")
		}()
		<-started

		fresh := eod.New(eod.Config{Ledger: d.ledger, Lease: time.Minute})
		if _, err := fresh.Run(ctx, closeDate, "ops"); code(err) != eod.CodeRunning {
			t.Fatalf("run during the lease: %v, want %s", err, eod.CodeRunning)
		}
		d.clock.Advance(2 * time.Minute)
		run := mustRun(t, fresh, closeDate)
		if run.Status != eod.StatusCompleted || run.Attempts != 2 {
			t.Fatalf("taken-over run %+v", run)
		}
		files0 := files(t, fresh, closeDate)
		close(release)
		<-done
		if code(staleErr) != eod.CodeRunning {
			t.Errorf("the stale runner: %v, want %s", staleErr, eod.CodeRunning)
		}
		after, err := fresh.Get(ctx, closeDate)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(run, after); diff != "" {
			t.Errorf("the stale runner changed the run (-before +after):\n%s", diff)
		}
		if diff := cmp.Diff(files0, files(t, fresh, closeDate)); diff != "" {
			t.Errorf("the stale runner changed the files (-before +after):\n%s", diff)
		}
	})
}
