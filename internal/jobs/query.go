package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/suanpan/suanpan/store"
)

// Code is a stable error code of this package.
type Code string

// The error codes List, Get, Retry and Cancel return.
const (
	CodeInvalidRequest   Code = "invalid_request"
	CodeJobNotFound      Code = "job_not_found"
	CodeInvalidJobChange Code = "invalid_job_change"
)

// Error is a jobs error with a stable code; its text is safe to show.
type Error struct {
	Code    Code
	Message string
	Field   string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Filter selects jobs for List.
type Filter struct {
	Kind  string
	State State
	// Scope limits the jobs to these institutions (nil: any, including
	// system jobs, which have none).
	Scope []string
	// After is the ID of the last job of the previous page; jobs come in
	// ID (creation) order.
	After string
	// Limit is the page size, 1-500; default 100.
	Limit int
}

// List returns a page of jobs, oldest first, and the cursor of the next
// page ("" at the end).
func (s *Scheduler) List(ctx context.Context, f Filter) ([]*Job, string, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	if f.Limit > 500 {
		return nil, "", &Error{Code: CodeInvalidRequest, Message: "limit must be at most 500", Field: "limit"}
	}
	switch f.State {
	case "", Pending, Running, Succeeded, Dead, Cancelled:
	default:
		return nil, "", &Error{Code: CodeInvalidRequest, Field: "state",
			Message: "state must be one of pending, running, succeeded, dead, cancelled"}
	}
	var w store.Where
	w.Add("kind = ?", f.Kind)
	w.Add("state = ?", string(f.State))
	w.Add("id > ?", f.After)
	w.In("institution_id", f.Scope)
	q := `SELECT ` + jobCols + ` FROM jobs WHERE ` + w.String() + ` ORDER BY id LIMIT ` + w.Arg(f.Limit+1)
	rows, err := s.db.Read.QueryContext(ctx, q, w.Args...)
	if err != nil {
		return nil, "", fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	var out []*Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, "", fmt.Errorf("list jobs: %w", err)
		}
		j.MaxAttempts = s.Policy(j.Kind).MaxAttempts
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// Get returns one job in scope (nil scope: any).
func (s *Scheduler) Get(ctx context.Context, id string, scope []string) (*Job, error) {
	return s.get(ctx, s.db.Read, id, scope)
}

type queryRower interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func (s *Scheduler) get(ctx context.Context, q queryRower, id string, scope []string) (*Job, error) {
	if id == "" || len(id) > 64 || !store.Storable(id) {
		return nil, &Error{Code: CodeJobNotFound, Message: "job not found", Field: "id"}
	}
	j, err := scanJob(q.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && scope != nil && !slices.Contains(scope, j.InstitutionID)) {
		return nil, &Error{Code: CodeJobNotFound, Message: fmt.Sprintf("job %s not found", id), Field: "id"}
	}
	if err != nil {
		return nil, fmt.Errorf("get job %s: %w", id, err)
	}
	j.MaxAttempts = s.Policy(j.Kind).MaxAttempts
	return j, nil
}

// Write is extra work (an audit record) committed with an operator's
// change of a job, given the job before and after it.
type Write func(ctx context.Context, tx *sql.Tx, before, after *Job) error

// Retry makes a dead or cancelled job due now with a fresh allowance of
// attempts (its last error stays until the next run). Retrying a pending
// job makes it due now. A running or succeeded job cannot be retried
// (CodeInvalidJobChange).
func (s *Scheduler) Retry(ctx context.Context, id string, scope []string, writes ...Write) (*Job, error) {
	return s.change(ctx, id, scope, writes, func(j *Job) (string, error) {
		switch j.State {
		case Dead, Cancelled, Pending:
			return `UPDATE jobs SET state = 'pending', attempts = 0, run_at = $1, updated_at = $1, finished_at = NULL WHERE id = $2`, nil
		}
		return "", &Error{Code: CodeInvalidJobChange, Message: fmt.Sprintf("a %s job cannot be retried", j.State)}
	})
}

// Cancel stops a pending job from running again. Only pending jobs can be
// cancelled (CodeInvalidJobChange otherwise): a running one is already
// under way.
func (s *Scheduler) Cancel(ctx context.Context, id string, scope []string, writes ...Write) (*Job, error) {
	return s.change(ctx, id, scope, writes, func(j *Job) (string, error) {
		if j.State != Pending {
			return "", &Error{Code: CodeInvalidJobChange, Message: fmt.Sprintf("a %s job cannot be cancelled", j.State)}
		}
		return `UPDATE jobs SET state = 'cancelled', updated_at = $1, finished_at = $1 WHERE id = $2`, nil
	})
}

// change applies the update decide chooses for the job's current state,
// with the writes, in one transaction, and returns the job as it is
// afterwards.
func (s *Scheduler) change(ctx context.Context, id string, scope []string, writes []Write, decide func(*Job) (string, error)) (*Job, error) {
	var out *Job
	err := s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		j, err := s.get(ctx, tx, id, scope)
		if err != nil {
			return err
		}
		q, err := decide(j)
		if err != nil {
			return err
		}
		now := micros(s.clock.Now())
		if _, err := tx.ExecContext(ctx, q, now, id); err != nil {
			return fmt.Errorf("change job %s: %w", id, err)
		}
		if out, err = s.get(ctx, tx, id, scope); err != nil {
			return err
		}
		for _, w := range writes {
			if err := w(ctx, tx, j, out); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		s.Notify()
	}
	return out, err
}

type scanner interface{ Scan(dest ...any) error }

func scanJob(sc scanner) (*Job, error) {
	var j Job
	var payload, state string
	var runAt, created, updated int64
	var finished sql.NullInt64
	if err := sc.Scan(&j.ID, &j.Kind, &j.Key, &j.InstitutionID, &payload, &state, &j.Attempts, &runAt,
		&j.LastError, &created, &updated, &finished); err != nil {
		return nil, err
	}
	j.Payload, j.State = []byte(payload), State(state)
	j.RunAt, j.CreatedAt, j.UpdatedAt = fromMicros(runAt), fromMicros(created), fromMicros(updated)
	if finished.Valid {
		t := fromMicros(finished.Int64)
		j.FinishedAt = &t
	}
	return &j, nil
}
