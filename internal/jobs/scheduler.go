package jobs

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/store"
)

// Policy bounds how a kind's jobs are retried.
type Policy struct {
	// MaxAttempts is how many runs a job gets before it is dead; default 10.
	MaxAttempts int
	// Backoff is the wait after the first failure, doubled after each
	// further one up to MaxBackoff; defaults 1 s and 5 min. Each wait is
	// spread by up to a tenth, derived from the job's ID, so that jobs
	// failing together do not retry together.
	Backoff, MaxBackoff time.Duration
	// Timeout bounds one run and is the lease: a job whose scheduler has
	// not finished it by then is due again. Default 30 s.
	Timeout time.Duration
}

func (p Policy) withDefaults() Policy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 10
	}
	if p.Backoff <= 0 {
		p.Backoff = time.Second
	}
	if p.MaxBackoff < p.Backoff {
		p.MaxBackoff = max(5*time.Minute, p.Backoff)
	}
	if p.Timeout <= 0 {
		p.Timeout = 30 * time.Second
	}
	return p
}

// backoff is the wait after the attempt-th failed run.
func (p Policy) backoff(id string, attempt int) time.Duration {
	d := p.Backoff
	for i := 1; i < attempt && d < p.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.MaxBackoff)
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%d", id, attempt)
	return d + time.Duration(uint64(d/10)*uint64(h.Sum32())/(1<<32))
}

// Handler runs one job. nil means done; RetryAfter asks for a run after a
// given wait; Permanent ends the job as dead; any other error is retried
// with the kind's backoff until its attempts run out. ctx ends at the
// policy's Timeout.
type Handler func(ctx context.Context, j *Job) error

// Options tune a Scheduler.
type Options struct {
	// Workers is how many jobs run at once; default 8.
	Workers int
	// Poll is how often Run looks for due jobs when not notified; default 1 s.
	Poll time.Duration
	// Batch is how many jobs one claim takes at most; default 64.
	Batch int
	// Log receives handler failures; default slog.Default().
	Log *slog.Logger
}

// Scheduler claims and runs due jobs of the kinds registered with it.
// Several schedulers, in one process or many, may share a store.
type Scheduler struct {
	db    *store.DB
	clock clock.Clock
	opts  Options
	owner string
	wake  chan struct{}

	mu       sync.RWMutex
	handlers map[string]registered
	kinds    []string
}

type registered struct {
	policy  Policy
	handler Handler
}

// New returns a scheduler on db.
func New(db *store.DB, clk clock.Clock, opts Options) *Scheduler {
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Batch <= 0 {
		opts.Batch = 64
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Scheduler{db: db, clock: clk, opts: opts, owner: hex.EncodeToString(b),
		wake: make(chan struct{}, 1), handlers: map[string]registered{}}
}

// Register makes the scheduler run jobs of kind with h under policy p.
// Register before Run; a kind registered twice keeps the last handler.
func (s *Scheduler) Register(kind string, p Policy, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.handlers[kind]; !ok {
		s.kinds = append(s.kinds, kind)
	}
	s.handlers[kind] = registered{policy: p.withDefaults(), handler: h}
}

// Policy returns the policy kind runs under (the defaults when the kind is
// not registered).
func (s *Scheduler) Policy(kind string) Policy {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if r, ok := s.handlers[kind]; ok {
		return r.policy
	}
	return Policy{}.withDefaults()
}

// Notify wakes Run to look for due jobs now, e.g. after a commit that
// enqueued some. It never blocks.
func (s *Scheduler) Notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run claims and runs due jobs until ctx is done, at most Workers at once,
// and then waits for the running ones to finish. A claim that fails (the
// store is down) is logged and tried again at the next poll.
func (s *Scheduler) Run(ctx context.Context) error {
	sem := make(chan struct{}, s.opts.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		free := s.opts.Workers - len(sem)
		claimed := 0
		if free > 0 {
			jobs, err := s.claim(ctx, min(free, s.opts.Batch))
			if err != nil && ctx.Err() == nil {
				s.opts.Log.ErrorContext(ctx, "claim jobs", "err", err)
			}
			claimed = len(jobs)
			for _, j := range jobs {
				sem <- struct{}{}
				wg.Add(1)
				go func() {
					defer func() { <-sem; wg.Done(); s.Notify() }()
					// A run started is finished even while shutting down,
					// so its outcome is recorded rather than leased away.
					s.run(context.WithoutCancel(ctx), j)
				}()
			}
		}
		if claimed > 0 && claimed == free {
			// Possibly more due: look again as soon as a worker is free.
			select {
			case <-ctx.Done():
				return nil
			case <-s.wake:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-time.After(s.opts.Poll):
		}
	}
}

// RunDue runs every job that is due now, including jobs those runs enqueue
// for now, one at a time, and returns how many runs it made. A job retried
// by a run is not run again in the same call (its next run is later), so
// RunDue ends. Tests move the clock and call it; `suanpan jobs run` does too.
func (s *Scheduler) RunDue(ctx context.Context) (int, error) {
	n := 0
	for {
		jobs, err := s.claim(ctx, s.opts.Batch)
		if err != nil {
			return n, err
		}
		if len(jobs) == 0 {
			return n, nil
		}
		for _, j := range jobs {
			s.run(ctx, j)
			n++
		}
	}
}

const jobCols = `id, kind, key, institution_id, payload, state, attempts, run_at, last_error, created_at, updated_at, finished_at`

// claim leases up to n due jobs of the registered kinds: pending ones whose
// run_at has come, and running ones whose lease (held in run_at) ran out.
func (s *Scheduler) claim(ctx context.Context, n int) ([]*Job, error) {
	s.mu.RLock()
	kinds := append([]string(nil), s.kinds...)
	s.mu.RUnlock()
	if len(kinds) == 0 {
		return nil, nil
	}
	now := s.clock.Now()
	args := []any{micros(now), n}
	marks := make([]string, len(kinds))
	for i, k := range kinds {
		args = append(args, k)
		marks[i] = fmt.Sprintf("$%d", i+3)
	}
	q := `SELECT id, kind FROM jobs WHERE state IN ('pending', 'running') AND run_at <= $1
		AND kind IN (` + strings.Join(marks, ", ") + `) ORDER BY run_at LIMIT $2`
	// Most polls find nothing due: look on the read pool first, so that
	// they cost no write transaction (on SQLite, the one writer's).
	var one string
	switch err := s.db.QueryRow(ctx, `SELECT id FROM (`+q+`) due`, args...).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("look for due jobs: %w", err)
	}
	if s.db.Dialect == store.Postgres {
		q += ` FOR UPDATE SKIP LOCKED`
	}
	var jobs []*Job
	err := s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		jobs = jobs[:0]
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		type due struct{ id, kind string }
		var ids []due
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.id, &d.kind); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, d := range ids {
			lease := now.Add(s.Policy(d.kind).Timeout)
			j, err := scanJob(tx.QueryRowContext(ctx, `UPDATE jobs SET state = 'running', attempts = attempts + 1,
				lease_owner = $1, lease_until = $2, run_at = $2, updated_at = $3 WHERE id = $4 RETURNING `+jobCols,
				s.owner, micros(lease), micros(now), d.id))
			if err != nil {
				return err
			}
			jobs = append(jobs, j)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	return jobs, nil
}

// run runs j's handler and records the outcome. The outcome is written only
// while this scheduler still holds the lease (owner and attempt match), so a
// run that overstayed its lease and was taken over cannot overwrite the
// newer run's result.
func (s *Scheduler) run(ctx context.Context, j *Job) {
	s.mu.RLock()
	r := s.handlers[j.Kind]
	s.mu.RUnlock()
	j.MaxAttempts = r.policy.MaxAttempts
	hctx, cancel := context.WithTimeout(ctx, r.policy.Timeout)
	err := safeRun(hctx, r.handler, j)
	cancel()

	now := s.clock.Now()
	state, runAt, msg := Succeeded, now, ""
	var ra *retryAfter
	var perm *permanent
	switch {
	case err == nil:
	case errors.As(err, &perm) || j.Attempts >= r.policy.MaxAttempts:
		state, msg = Dead, err.Error()
	case errors.As(err, &ra):
		state, runAt, msg = Pending, now.Add(max(ra.after, time.Millisecond)), err.Error()
	default:
		state, runAt, msg = Pending, now.Add(r.policy.backoff(j.ID, j.Attempts)), err.Error()
	}
	if len(msg) > maxErrorLen {
		msg = msg[:maxErrorLen]
	}
	var finished any
	if state != Pending {
		finished = micros(now)
	}
	if err != nil {
		level := slog.LevelWarn
		switch {
		case state == Dead:
			level = slog.LevelError
		case ra != nil:
			level = slog.LevelDebug // asked to run again later: no failure
		}
		s.opts.Log.Log(ctx, level, "job failed", "job", j.ID, "kind", j.Kind, "attempt", j.Attempts, "state", state, "err", err)
	}
	werr := s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE jobs SET state = $1, run_at = $2, last_error = $3, updated_at = $4,
			finished_at = $5, lease_owner = '', lease_until = 0
			WHERE id = $6 AND state = 'running' AND lease_owner = $7 AND attempts = $8`,
			string(state), micros(runAt), msg, micros(now), finished, j.ID, s.owner, j.Attempts)
		return err
	})
	if werr != nil {
		// The lease runs out and the job runs again: at least once.
		s.opts.Log.ErrorContext(ctx, "record job outcome", "job", j.ID, "kind", j.Kind, "err", werr)
	}
}

// safeRun runs h, turning a panic into an error so one bad job cannot take
// the scheduler down.
func safeRun(ctx context.Context, h Handler, j *Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return h(ctx, j)
}
