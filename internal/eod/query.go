package eod

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/suanpan/suanpan/store"
)

// Page sizes of Runs.
const (
	defaultRuns = 30
	maxRuns     = 1000
)

const runCols = `business_date, status, started_by, started_at, finished_at, attempts, manifest_sha256, last_error, lease_until`

func scanRun(s scanner) (*Run, error) {
	r := &Run{}
	var started int64
	var finished sql.NullInt64
	var leased int64
	if err := s.Scan(&r.Date, &r.Status, &r.StartedBy, &started, &finished, &r.Attempts, &r.ManifestSHA256, &r.LastError,
		&leased); err != nil {
		return nil, err
	}
	if r.Status == StatusRunning {
		t := fromMicros(leased)
		r.LeaseUntil = &t
	}
	r.StartedAt = fromMicros(started)
	if finished.Valid {
		t := fromMicros(finished.Int64)
		r.FinishedAt = &t
	}
	return r, nil
}

// Runs returns the most recent runs, newest date first, at most limit
// (default 30, at most 1000), without their steps. Permission: eod:read.
func (r *Runner) Runs(ctx context.Context, limit int) ([]*Run, error) {
	if limit <= 0 {
		limit = defaultRuns
	}
	limit = min(limit, maxRuns)
	rows, err := r.db.Read.QueryContext(ctx, `SELECT `+runCols+` FROM eod_runs ORDER BY business_date DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list eod runs: %w", err)
	}
	defer rows.Close()
	out := []*Run{}
	for rows.Next() {
		run, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list eod runs: %w", err)
		}
		out = append(out, run)
	}
	return out, rows.Err()
}

// Get returns the date's run with its steps in order. Permission:
// eod:read. Returns CodeInvalidRequest or CodeNotFound.
func (r *Runner) Get(ctx context.Context, date string) (*Run, error) {
	if err := checkDate(date); err != nil {
		return nil, err
	}
	// One snapshot, so that the run and its steps agree.
	var run *Run
	err := r.db.InTx(ctx, store.TxOptions{ReadOnly: true}, func(tx *sql.Tx) error {
		var err error
		if run, err = getRun(ctx, tx, date); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT step, seq, status, outcome, error, attempts, started_at, finished_at
			FROM eod_steps WHERE business_date = $1 ORDER BY seq`, date)
		if err != nil {
			return fmt.Errorf("eod %s: steps: %w", date, err)
		}
		defer rows.Close()
		run.Steps = []*Step{}
		for rows.Next() {
			s := &Step{}
			var outcome string
			var started, finished sql.NullInt64
			if err := rows.Scan(&s.Name, &s.Seq, &s.Status, &outcome, &s.Error, &s.Attempts, &started, &finished); err != nil {
				return fmt.Errorf("eod %s: steps: %w", date, err)
			}
			if outcome != "" {
				s.Outcome = []byte(outcome)
			}
			if started.Valid {
				t := fromMicros(started.Int64)
				s.StartedAt = &t
			}
			if finished.Valid {
				t := fromMicros(finished.Int64)
				s.FinishedAt = &t
			}
			run.Steps = append(run.Steps, s)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return run, nil
}

// get returns the date's run without its steps.
func (r *Runner) get(ctx context.Context, date string) (*Run, error) {
	return getRun(ctx, r.db.Read, date)
}

type rowQueryer interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func getRun(ctx context.Context, q rowQueryer, date string) (*Run, error) {
	run, err := scanRun(q.QueryRowContext(ctx, `SELECT `+runCols+` FROM eod_runs WHERE business_date = $1`, date))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errorf(CodeNotFound, "no end of day for %s", date)
	}
	if err != nil {
		return nil, fmt.Errorf("eod %s: %w", date, err)
	}
	return run, nil
}
