// Package jobs is Suanpan's durable job scheduler: work that must happen
// later, or again until it succeeds — a channel status query with backoff,
// a webhook delivery — stored in the database so that it survives restarts.
//
// A job is enqueued inside the storage transaction of the change that needs
// it (Enqueue takes the caller's transaction), so the change and its
// follow-up commit together or not at all. Schedulers claim due jobs with a
// lease, run their kind's handler, and record the outcome; a job whose
// worker died is due again when its lease runs out. Delivery is therefore
// at least once: handlers must be idempotent.
//
// (kind, key) is unique, so enqueueing the same work twice is a no-op. Every
// job has a bounded number of attempts with exponential backoff and a cap;
// a job that exhausts them is dead, visible through List and Get, and an
// operator can Retry it. Time comes from the injected clock, so tests move
// the clock instead of sleeping.
//
// This package never moves money: handlers do, through the ledger.
package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// State is where a job is in its life.
type State string

// The states of a job.
const (
	Pending   State = "pending"   // waiting for RunAt
	Running   State = "running"   // leased by a scheduler
	Succeeded State = "succeeded" // its handler returned nil
	Dead      State = "dead"      // attempts exhausted or a permanent error
	Cancelled State = "cancelled" // an operator stopped it
)

// Limits on what a job may carry.
const (
	MaxKindLen    = 64
	MaxKeyLen     = 200
	MaxPayloadLen = 64 << 10
	maxErrorLen   = 2000
)

// Execer is what Enqueue writes through: a *sql.Tx, or the ledger's
// statement-caching wrapper of one inside a ride-along write.
type Execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// Spec describes a job to enqueue.
type Spec struct {
	// Kind names the handler, e.g. "webhook.deliver".
	Kind string
	// Key identifies the work within its kind; enqueueing an existing
	// (Kind, Key) does nothing. Empty: the job's own ID (always new).
	Key string
	// InstitutionID scopes the job for listing; empty for system work.
	InstitutionID string
	// Payload is encoded as JSON for the handler.
	Payload any
	// RunAt is when the job is first due; zero means now.
	RunAt time.Time
}

// Job is one stored job.
type Job struct {
	ID            string          `json:"id"`
	Kind          string          `json:"kind"`
	Key           string          `json:"key"`
	InstitutionID string          `json:"institution_id"`
	Payload       json.RawMessage `json:"payload"`
	State         State           `json:"state"`
	// Attempts counts the runs started so far, this one included while
	// the handler runs.
	Attempts int `json:"attempts"`
	// MaxAttempts is the kind's limit, when a scheduler that knows the
	// kind loaded the job (0 otherwise).
	MaxAttempts int `json:"max_attempts,omitempty"`
	// RunAt is when the job is next due (for a running job: when its lease
	// runs out).
	RunAt      time.Time  `json:"run_at"`
	LastError  string     `json:"last_error,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// Decode decodes the job's payload into v.
func (j *Job) Decode(v any) error {
	if err := json.Unmarshal(j.Payload, v); err != nil {
		return Permanent(fmt.Errorf("job %s (%s): decode payload: %w", j.ID, j.Kind, err))
	}
	return nil
}

// Enqueue inserts a job through ex — normally the caller's storage
// transaction, so that the job exists exactly when the caller's change
// does — and returns its ID, or "" when (Kind, Key) already existed and
// nothing was inserted. now is the caller's clock reading.
func Enqueue(ctx context.Context, ex Execer, s Spec, now time.Time) (string, error) {
	if s.Kind == "" || len(s.Kind) > MaxKindLen {
		return "", fmt.Errorf("enqueue: kind must be 1-%d bytes", MaxKindLen)
	}
	if len(s.Key) > MaxKeyLen {
		return "", fmt.Errorf("enqueue %s: key longer than %d bytes", s.Kind, MaxKeyLen)
	}
	payload, err := json.Marshal(s.Payload)
	if err != nil {
		return "", fmt.Errorf("enqueue %s: encode payload: %w", s.Kind, err)
	}
	if len(payload) > MaxPayloadLen {
		return "", fmt.Errorf("enqueue %s: payload of %d bytes exceeds %d", s.Kind, len(payload), MaxPayloadLen)
	}
	id := uuid.Must(uuid.NewV7()).String()
	key := s.Key
	if key == "" {
		key = id
	}
	runAt := s.RunAt
	if runAt.IsZero() {
		runAt = now
	}
	res, err := ex.ExecContext(ctx, `INSERT INTO jobs (id, kind, key, institution_id, payload, state, run_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $7) ON CONFLICT (kind, key) DO NOTHING`,
		id, s.Kind, key, s.InstitutionID, string(payload), micros(runAt), micros(now))
	if err != nil {
		return "", fmt.Errorf("enqueue %s %s: %w", s.Kind, key, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return "", nil
	}
	return id, nil
}

// Done records, through ex (the caller's storage transaction), that the
// work of the pending job (kind, key) has been done by other means, so it
// will not run: a status query made needless by a callback, say. It is a
// no-op when there is no such pending job (a running one finishes on its
// own and sees the work done).
func Done(ctx context.Context, ex Execer, kind, key string, now time.Time) error {
	if _, err := ex.ExecContext(ctx, `UPDATE jobs SET state = 'succeeded', updated_at = $1, finished_at = $1
		WHERE kind = $2 AND key = $3 AND state = 'pending'`, micros(now), kind, key); err != nil {
		return fmt.Errorf("job %s %s done: %w", kind, key, err)
	}
	return nil
}

// retryAfter is the error RetryAfter returns.
type retryAfter struct {
	after  time.Duration
	reason error
}

func (r *retryAfter) Error() string { return fmt.Sprintf("retry after %s: %v", r.after, r.reason) }
func (r *retryAfter) Unwrap() error { return r.reason }

// RetryAfter is what a handler returns to be run again after d instead of
// after the policy's backoff: a status query that got "still processing",
// say. It counts as an attempt.
func RetryAfter(d time.Duration, reason error) error {
	if reason == nil {
		reason = errors.New("retry requested")
	}
	return &retryAfter{after: d, reason: reason}
}

// permanent is the error Permanent returns.
type permanent struct{ err error }

func (p *permanent) Error() string { return p.err.Error() }
func (p *permanent) Unwrap() error { return p.err }

// Permanent marks a handler's error as final: the job is dead at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanent{err: err}
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }
