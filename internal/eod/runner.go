package eod

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/outbox"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
)

// The events a run emits, in the transaction that ends it. Their payload
// is the date, the run's status and every step's status (and the error,
// for eod.failed).
const (
	EventCompleted = "eod.completed"
	EventFailed    = "eod.failed"
)

// Defaults and bounds.
const (
	// DefaultLease is how long a runner's hold on a date lasts without
	// renewal: a runner renews it as each step starts and ends and, while
	// a step works, every third of it; a run whose lease ran out (its
	// runner crashed) may be taken over, so a crashed day can be resumed
	// within this long.
	DefaultLease = 2 * time.Minute
	// DefaultDelay is how long after a business day ends its scheduled run
	// starts.
	DefaultDelay = 15 * time.Minute
	// maxErrorLen bounds a recorded error.
	maxErrorLen = 2000
	// maxByLen bounds who started a run.
	maxByLen = 64
	// failTimeout bounds recording a failure after the run's context ended.
	failTimeout = 10 * time.Second
)

// Config builds a Runner.
type Config struct {
	// Ledger is the journal the day is closed on; the store, the clock and
	// the business date are its.
	Ledger *ledger.Ledger
	// Reconciler reconciles the channels; nil skips the reconcile step
	// (recorded as skipped, not as a failure).
	Reconciler Reconciler
	// Lease bounds one step (DefaultLease when zero); see DefaultLease.
	Lease time.Duration
	// Delay is how long after a business day ends its scheduled run is due
	// (DefaultDelay when zero).
	Delay time.Duration
	// EndOfDay returns when a business date ends, for scheduling. Default:
	// midnight UTC after it, which matches the ledger's default business
	// date (the UTC calendar date); a ledger with another BusinessDate
	// needs its own.
	EndOfDay func(date string) time.Time
}

// Runner runs the end of day. It is safe for concurrent use; concurrent
// runs of one date are refused with CodeRunning (in this process or any
// other sharing the store).
type Runner struct {
	db       *store.DB
	ledger   *ledger.Ledger
	checks   *accounts.Checks
	vouchers *accounts.Vouchers
	recon    Reconciler
	clock    clock.Clock
	lease    time.Duration
	delay    time.Duration
	endOfDay func(string) time.Time
	steps    []stepDef
	hooks    hooks
}

// hooks let tests stop a run at a chosen point (see export_test.go).
type hooks struct {
	// beforeWork runs when a step has been marked running, before its work.
	beforeWork func(step string)
	// beforeCommit runs inside the storage transaction that completes a
	// step, after all its writes and before the commit.
	beforeCommit func(step string)
}

// stepDef is a step and what it does. run must be idempotent: a step that
// failed or was interrupted runs again from its start.
type stepDef struct {
	name string
	run  func(ctx context.Context, x *execution) (*result, error)
}

// execution is one attempt at a date.
type execution struct {
	date, by, owner string
}

// result is what a step produced.
type result struct {
	status    StepStatus // done, warning or skipped
	outcome   any
	artifacts []*Artifact
	// manifest is the archive's manifest SHA-256, stored on the run.
	manifest string
}

// New returns a runner on the ledger's store and clock.
func New(cfg Config) *Runner {
	r := &Runner{db: cfg.Ledger.DB(), ledger: cfg.Ledger, checks: accounts.NewChecks(cfg.Ledger),
		vouchers: accounts.NewVouchers(cfg.Ledger), recon: cfg.Reconciler, clock: cfg.Ledger.Clock(),
		lease: cfg.Lease, delay: cfg.Delay, endOfDay: cfg.EndOfDay}
	if r.lease <= 0 {
		r.lease = DefaultLease
	}
	if r.delay <= 0 {
		r.delay = DefaultDelay
	}
	if r.endOfDay == nil {
		r.endOfDay = func(date string) time.Time {
			d, _ := time.Parse(time.DateOnly, date)
			return d.AddDate(0, 0, 1)
		}
	}
	r.steps = []stepDef{
		{StepCutover, r.cutover},
		{StepExpireHolds, r.expireHolds},
		{StepCheck, r.check},
		{StepReconcile, r.reconcile},
		{StepSettlement, r.settlement},
		{StepVouchers, r.voucherFiles},
		{StepArchive, r.archive},
	}
	return r
}

// checkDate refuses anything but a real YYYY-MM-DD date.
func checkDate(date string) error {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil || d.Format(time.DateOnly) != date {
		return invalid("date", "date must be a calendar date, YYYY-MM-DD")
	}
	return nil
}

// Run closes the business date: it creates the date's run, or resumes it
// at its first step not done (a failed step, or one a crash interrupted, is
// run again from its start), runs the remaining steps in order and returns
// the run with its steps. A date already completed is returned as it is,
// and nothing is written.
//
// The date must be over: before the ledger's current business date. An
// earlier date that has a run must have completed it (days close in
// order); dates that never had a run are not required, so a new store or
// one that starts closing days later is not stuck.
//
// When a step fails, Run records it (the step and the run are failed, an
// eod.failed event is emitted) and returns the run as recorded together
// with an error of CodeStepFailed; running the date again resumes there.
//
// Permission: eod:run. Returns CodeInvalidRequest, CodeDateOpen,
// CodePreviousOpen, CodeRunning (another runner holds the date) or
// CodeStepFailed.
func (r *Runner) Run(ctx context.Context, date, by string) (*Run, error) {
	if err := checkDate(date); err != nil {
		return nil, err
	}
	if by == "" || len(by) > maxByLen || !store.Storable(by) {
		return nil, invalid("by", "by names who runs the day: 1-%d bytes of text", maxByLen)
	}
	run, err := r.Get(ctx, date)
	switch {
	case err == nil && run.Status.Done():
		return run, nil
	case err != nil && ErrorCode(err) != CodeNotFound:
		return nil, err
	}
	if today := r.ledger.BusinessDate(r.clock.Now()); date >= today {
		return nil, errorf(CodeDateOpen, "business date %s is not over: the ledger's business date is %s", date, today)
	}
	if err := r.checkPrevious(ctx, date); err != nil {
		return nil, err
	}
	x := &execution{date: date, by: by, owner: newOwner()}
	statuses, err := r.claim(ctx, x)
	if errors.Is(err, errCompleted) {
		return r.Get(ctx, date)
	}
	if err != nil {
		return nil, err
	}
	hbCtx, stopHeartbeat := context.WithCancel(ctx)
	var heartbeat sync.WaitGroup
	heartbeat.Go(func() { r.heartbeat(hbCtx, x) })
	defer func() { stopHeartbeat(); heartbeat.Wait() }()
	for i, def := range r.steps {
		if statuses[def.name].ended() {
			continue
		}
		if err := r.runStep(ctx, x, def, i == len(r.steps)-1); err != nil {
			if ErrorCode(err) != CodeStepFailed {
				return nil, err
			}
			run, gerr := r.Get(context.WithoutCancel(ctx), date)
			if gerr != nil {
				return nil, errors.Join(err, gerr)
			}
			return run, err
		}
	}
	return r.Get(ctx, date)
}

// heartbeat renews x's lease every third of it until ctx ends, so that a
// long step keeps the date while a crashed runner loses it soon. A renewal
// that fails (the lease was taken over) changes nothing: the step's own
// fence refuses to record.
func (r *Runner) heartbeat(ctx context.Context, x *execution) {
	t := time.NewTicker(r.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := r.clock.Now()
		_, _ = r.db.Write.ExecContext(ctx, `UPDATE eod_runs SET lease_until = $1, updated_at = $2
			WHERE business_date = $3 AND lease_owner = $4 AND status = 'running'`,
			now.Add(r.lease).UnixMicro(), now.UnixMicro(), x.date, x.owner)
	}
}

// errCompleted is claim's answer when the date completed meanwhile.
var errCompleted = errors.New("the date completed meanwhile")

// newOwner names one attempt at a date, for its lease.
func newOwner() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// checkPrevious refuses the date while an earlier date's run has not
// completed.
func (r *Runner) checkPrevious(ctx context.Context, date string) error {
	var prev, status string
	err := r.db.Read.QueryRowContext(ctx, `SELECT business_date, status FROM eod_runs
		WHERE business_date < $1 AND status NOT IN ('completed', 'completed_with_warnings')
		ORDER BY business_date DESC LIMIT 1`, date).Scan(&prev, &status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("eod %s: previous runs: %w", date, err)
	}
	return errorf(CodePreviousOpen, "the end of day of %s is %s: close it before %s", prev, status, date)
}

// claim takes the date's lease — creating the run, or taking over a failed
// run or one whose lease ran out — creates its steps and returns their
// statuses. The INSERT … ON CONFLICT and the conditional UPDATE are each
// atomic on both engines, so of concurrent claims exactly one succeeds.
func (r *Runner) claim(ctx context.Context, x *execution) (map[string]StepStatus, error) {
	statuses := map[string]StepStatus{}
	err := r.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		clear(statuses)
		now := r.clock.Now()
		until := now.Add(r.lease).UnixMicro()
		res, err := tx.ExecContext(ctx, `INSERT INTO eod_runs (business_date, status, started_by, started_at, attempts,
			lease_owner, lease_until, updated_at) VALUES ($1, 'running', $2, $3, 1, $4, $5, $3)
			ON CONFLICT (business_date) DO NOTHING`, x.date, x.by, now.UnixMicro(), x.owner, until)
		if err != nil {
			return fmt.Errorf("eod %s: create run: %w", x.date, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			res, err = tx.ExecContext(ctx, `UPDATE eod_runs SET status = 'running', attempts = attempts + 1,
				lease_owner = $1, lease_until = $2, updated_at = $3
				WHERE business_date = $4 AND status IN ('running', 'failed') AND lease_until <= $3`,
				x.owner, until, now.UnixMicro(), x.date)
			if err != nil {
				return fmt.Errorf("eod %s: claim run: %w", x.date, err)
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				var status string
				var leased int64
				if err := tx.QueryRowContext(ctx, `SELECT status, lease_until FROM eod_runs WHERE business_date = $1`,
					x.date).Scan(&status, &leased); err != nil {
					return fmt.Errorf("eod %s: claim run: %w", x.date, err)
				}
				if Status(status).Done() {
					return errCompleted
				}
				return errorf(CodeRunning, "the end of day of %s is being run (leased until %s)", x.date,
					fromMicros(leased).Format(time.RFC3339))
			}
		}
		for i, name := range Steps() {
			if _, err := tx.ExecContext(ctx, `INSERT INTO eod_steps (business_date, step, seq, status)
				VALUES ($1, $2, $3, 'pending') ON CONFLICT (business_date, step) DO NOTHING`, x.date, name, i+1); err != nil {
				return fmt.Errorf("eod %s: create steps: %w", x.date, err)
			}
		}
		rows, err := tx.QueryContext(ctx, `SELECT step, status FROM eod_steps WHERE business_date = $1`, x.date)
		if err != nil {
			return fmt.Errorf("eod %s: steps: %w", x.date, err)
		}
		defer rows.Close()
		for rows.Next() {
			var name, status string
			if err := rows.Scan(&name, &status); err != nil {
				return fmt.Errorf("eod %s: steps: %w", x.date, err)
			}
			statuses[name] = StepStatus(status)
		}
		return rows.Err()
	})
	return statuses, err
}

// fence renews the lease inside tx, and refuses when this attempt no
// longer holds it (it ran out and another runner took the date over): a
// stale runner never records anything. On PostgreSQL the UPDATE also
// locks the run row until tx ends.
func (r *Runner) fence(ctx context.Context, tx *sql.Tx, x *execution, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE eod_runs SET lease_until = $1, updated_at = $2
		WHERE business_date = $3 AND lease_owner = $4 AND status = 'running'`,
		now.Add(r.lease).UnixMicro(), now.UnixMicro(), x.date, x.owner)
	if err != nil {
		return fmt.Errorf("eod %s: renew lease: %w", x.date, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errorf(CodeRunning, "the end of day of %s was taken over by another runner", x.date)
	}
	return nil
}

// runStep runs one step: marks it running, does its work and completes
// it with its artifacts in one storage transaction, or records its
// failure.
func (r *Runner) runStep(ctx context.Context, x *execution, def stepDef, last bool) error {
	err := r.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		now := r.clock.Now()
		if err := r.fence(ctx, tx, x, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE eod_steps SET status = 'running', attempts = attempts + 1, started_at = $1,
			finished_at = NULL, outcome = '', error = '' WHERE business_date = $2 AND step = $3`, now.UnixMicro(), x.date, def.name)
		if err != nil {
			return fmt.Errorf("eod %s: start %s: %w", x.date, def.name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if r.hooks.beforeWork != nil {
		r.hooks.beforeWork(def.name)
	}
	res, err := def.run(ctx, x)
	if err == nil {
		err = r.complete(ctx, x, def.name, res, last)
		if ErrorCode(err) == CodeRunning {
			return err
		}
	}
	if err != nil {
		return r.fail(ctx, x, def.name, err)
	}
	return nil
}

// complete records a step's outcome and stores its artifacts in one
// storage transaction; after the last step it also ends the run.
func (r *Runner) complete(ctx context.Context, x *execution, step string, res *result, last bool) error {
	outcome, err := json.Marshal(res.outcome)
	if err != nil {
		return fmt.Errorf("encode the outcome: %w", err)
	}
	return r.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		now := r.clock.Now()
		if err := r.fence(ctx, tx, x, now); err != nil {
			return err
		}
		if err := storeArtifacts(ctx, tx, x.date, step, res.artifacts, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE eod_steps SET status = $1, outcome = $2, error = '', finished_at = $3
			WHERE business_date = $4 AND step = $5`, string(res.status), string(outcome), now.UnixMicro(), x.date, step); err != nil {
			return fmt.Errorf("complete %s: %w", step, err)
		}
		if last {
			if err := r.finish(ctx, tx, x, res.manifest, now); err != nil {
				return err
			}
		}
		if r.hooks.beforeCommit != nil {
			r.hooks.beforeCommit(step)
		}
		return nil
	})
}

// finish ends the run after its last step, inside that step's
// transaction: completed, or completed with warnings when a step ended
// with one; the lease is released and eod.completed emitted.
func (r *Runner) finish(ctx context.Context, tx *sql.Tx, x *execution, manifest string, now time.Time) error {
	steps, err := stepStatuses(ctx, tx, x.date)
	if err != nil {
		return err
	}
	status := StatusCompleted
	for _, s := range steps {
		switch s.Status {
		case StepWarning:
			status = StatusCompletedWithWarnings
		case StepDone, StepSkipped:
		default:
			// Steps run in order and the last one is ending: an earlier
			// step not ended is a bug, not a state to record.
			return fmt.Errorf("eod %s: step %s is %s at the end of the run", x.date, s.Name, s.Status)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE eod_runs SET status = $1, finished_at = $2, manifest_sha256 = $3,
		lease_owner = '', lease_until = 0, last_error = '', updated_at = $2 WHERE business_date = $4`,
		string(status), now.UnixMicro(), manifest, x.date); err != nil {
		return fmt.Errorf("eod %s: finish: %w", x.date, err)
	}
	root, err := rootInstitution(ctx, tx)
	if err != nil {
		return err
	}
	return outbox.Record(ctx, tx, &outbox.Event{Type: EventCompleted, Subject: "eod:" + x.date, InstitutionID: root, CreatedAt: now,
		Payload: eventPayload{Date: x.date, Status: status, Steps: steps}})
}

// rootInstitution is the institution at the top of the tree ("" on a store
// without one): a day closes for all of them, so its events are the root's,
// delivered to the webhooks of the root (which see every institution).
func rootInstitution(ctx context.Context, tx *sql.Tx) (string, error) {
	var id string
	err := tx.QueryRowContext(ctx, `SELECT id FROM institutions WHERE parent_id IS NULL ORDER BY id LIMIT 1`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("find the root institution: %w", err)
	}
	return id, nil
}

// fail records a step's failure: the step and the run are failed, the
// lease is released (running the date again resumes at once) and
// eod.failed is emitted. It returns the CodeStepFailed error for Run.
func (r *Runner) fail(ctx context.Context, x *execution, step string, cause error) error {
	msg := cause.Error()
	if len(msg) > maxErrorLen {
		msg = msg[:maxErrorLen]
	}
	// The failure is recorded even when ctx ended (that may be the cause).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), failTimeout)
	defer cancel()
	err := r.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		now := r.clock.Now()
		res, err := tx.ExecContext(ctx, `UPDATE eod_runs SET status = 'failed', last_error = $1, lease_owner = '',
			lease_until = 0, updated_at = $2 WHERE business_date = $3 AND lease_owner = $4 AND status = 'running'`,
			step+": "+msg, now.UnixMicro(), x.date, x.owner)
		if err != nil {
			return fmt.Errorf("eod %s: record failure: %w", x.date, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errorf(CodeRunning, "the end of day of %s was taken over by another runner", x.date)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE eod_steps SET status = 'failed', error = $1, finished_at = $2
			WHERE business_date = $3 AND step = $4`, msg, now.UnixMicro(), x.date, step); err != nil {
			return fmt.Errorf("eod %s: record failure: %w", x.date, err)
		}
		steps, err := stepStatuses(ctx, tx, x.date)
		if err != nil {
			return err
		}
		root, err := rootInstitution(ctx, tx)
		if err != nil {
			return err
		}
		return outbox.Record(ctx, tx, &outbox.Event{Type: EventFailed, Subject: "eod:" + x.date, InstitutionID: root, CreatedAt: now,
			Payload: eventPayload{Date: x.date, Status: StatusFailed, Steps: steps, Error: step + ": " + msg}})
	})
	if ErrorCode(err) == CodeRunning {
		return err
	}
	if err != nil {
		return errors.Join(cause, err)
	}
	return &Error{Code: CodeStepFailed, Step: step, Message: fmt.Sprintf("step %s of %s failed: %s", step, x.date, msg), err: cause}
}

// eventPayload is the payload of eod.completed and eod.failed.
type eventPayload struct {
	Date   string       `json:"date"`
	Status Status       `json:"status"`
	Steps  []stepStatus `json:"steps"`
	Error  string       `json:"error,omitempty"`
}

type stepStatus struct {
	Name   string     `json:"name"`
	Status StepStatus `json:"status"`
}

func stepStatuses(ctx context.Context, tx *sql.Tx, date string) ([]stepStatus, error) {
	rows, err := tx.QueryContext(ctx, `SELECT step, status FROM eod_steps WHERE business_date = $1 ORDER BY seq`, date)
	if err != nil {
		return nil, fmt.Errorf("eod %s: steps: %w", date, err)
	}
	defer rows.Close()
	var out []stepStatus
	for rows.Next() {
		var s stepStatus
		if err := rows.Scan(&s.Name, &s.Status); err != nil {
			return nil, fmt.Errorf("eod %s: steps: %w", date, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
