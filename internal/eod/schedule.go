package eod

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/store"
)

// JobRun is the job kind of the scheduled end of day; a job's key is its
// date, so a date is scheduled at most once.
const JobRun = "eod.run"

// ScheduledBy is who the scheduled runs are started by.
const ScheduledBy = "scheduler"

// The scheduled job's policy: a run is retried with backoff for days (a
// failed step waits for an operator; a date whose predecessor is open
// waits for it) and bounded to an hour per attempt.
var jobPolicy = jobs.Policy{MaxAttempts: 1000, Backoff: time.Minute, MaxBackoff: time.Hour, Timeout: time.Hour}

type jobPayload struct {
	Date string `json:"date"`
}

// Register makes the scheduler run the scheduled end of day: each JobRun
// job runs its date and, once the date has completed, enqueues the next
// date's job, due Delay after that date ends. EnqueueNext starts (or
// resumes) the chain.
func (r *Runner) Register(s *jobs.Scheduler) {
	s.Register(JobRun, jobPolicy, r.runJob)
}

func (r *Runner) runJob(ctx context.Context, j *jobs.Job) error {
	var p jobPayload
	if err := j.Decode(&p); err != nil {
		return err
	}
	_, err := r.Run(ctx, p.Date, ScheduledBy)
	switch ErrorCode(err) {
	case "":
		if err != nil {
			return err
		}
	case CodeInvalidRequest:
		return jobs.Permanent(err)
	case CodeDateOpen:
		// Early (the job was enqueued by hand, or clocks differ): wait
		// until the date is due.
		return jobs.RetryAfter(max(r.dueAt(p.Date).Sub(r.clock.Now()), time.Minute), err)
	case CodeRunning:
		// Another runner has it; when it is done, the next attempt finds the
		// date completed and goes on.
		return jobs.RetryAfter(time.Minute, err)
	default:
		return err
	}
	_, err = r.schedule(ctx, nextDate(p.Date))
	return err
}

// EnqueueNext schedules the next date to close and returns it: the day
// after the last completed one, or, on a store that never closed a day,
// the day before the current business date. The job is due Delay after
// the date ends (at once if that has passed), and enqueueing a date
// already scheduled does nothing, so serve calls it at every start.
func (r *Runner) EnqueueNext(ctx context.Context) (string, error) {
	var last sql.NullString
	if err := r.db.Read.QueryRowContext(ctx, `SELECT MAX(business_date) FROM eod_runs
		WHERE status IN ('completed', 'completed_with_warnings')`).Scan(&last); err != nil {
		return "", fmt.Errorf("schedule end of day: %w", err)
	}
	date := prevDate(r.ledger.BusinessDate(r.clock.Now()))
	if last.Valid {
		date = nextDate(last.String)
	}
	return r.schedule(ctx, date)
}

// schedule enqueues the date's job, due Delay after the date ends.
func (r *Runner) schedule(ctx context.Context, date string) (string, error) {
	err := r.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		_, err := jobs.Enqueue(ctx, tx, jobs.Spec{Kind: JobRun, Key: date, Payload: jobPayload{Date: date},
			RunAt: r.dueAt(date)}, r.clock.Now())
		return err
	})
	if err != nil {
		return "", fmt.Errorf("schedule end of day %s: %w", date, err)
	}
	return date, nil
}

// dueAt is when the date's scheduled run is due.
func (r *Runner) dueAt(date string) time.Time { return r.endOfDay(date).Add(r.delay) }

func nextDate(date string) string { return shiftDate(date, 1) }
func prevDate(date string) string { return shiftDate(date, -1) }

// shiftDate moves a YYYY-MM-DD date by days (a malformed date is returned
// as it is; Run refuses it).
func shiftDate(date string, days int) string {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	return d.AddDate(0, 0, days).Format(time.DateOnly)
}
