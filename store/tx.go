package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// MaxAttempts bounds how often InTx runs a transaction that keeps failing
// with a retryable error.
const MaxAttempts = 10

// Retryable reports whether err is a transient conflict after which the whole
// transaction may be run again: a serialization failure, a deadlock, an
// ambiguous commit on a distributed engine (the function must be idempotent,
// which every Suanpan write is by reference), or SQLite's busy lock.
func Retryable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "40001", "40P01", "40003":
			return true
		}
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

// UniqueViolation reports whether err is a unique-constraint violation, and
// on PostgreSQL returns the constraint's name.
func UniqueViolation(err error) (constraint string, ok bool) {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.ConstraintName, pg.Code == "23505"
	}
	if err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return "", true
	}
	return "", false
}

// TxOptions tune one InTx call.
type TxOptions struct {
	// ReadOnly runs on the read pool in a read-only snapshot.
	ReadOnly bool
	// RetryIf, when set, makes additional errors retryable (for example a
	// unique violation that a concurrent writer caused and a rerun resolves).
	RetryIf func(error) bool
}

// InTx runs fn in a storage transaction and commits it. When fn or the commit
// fails with a retryable error, the transaction is rolled back and fn runs
// again, up to MaxAttempts times with a short jittered backoff; fn must
// therefore be a pure function of its inputs and the database, with no side
// effects outside tx. Any other error rolls back and is returned as it is.
//
// Write transactions on PostgreSQL run at READ COMMITTED: every ledger write
// locks the rows it depends on with SELECT … FOR UPDATE, in a fixed order.
// Read-only transactions run at REPEATABLE READ, so a report sees one
// snapshot.
func (db *DB) InTx(ctx context.Context, opts TxOptions, fn func(tx *sql.Tx) error) error {
	return db.InConnTx(ctx, opts, func(_ *sql.Conn, tx *sql.Tx) error { return fn(tx) })
}

// InConnTx is InTx that also hands fn the connection the transaction runs
// on, for driver-level work inside it (pgx pipelines; see PgxBatch).
func (db *DB) InConnTx(ctx context.Context, opts TxOptions, fn func(conn *sql.Conn, tx *sql.Tx) error) error {
	pool, txo := db.Write, &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	if opts.ReadOnly {
		pool, txo = db.Read, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	if db.Dialect == SQLite {
		// SQLite's isolation is serializable; database/sql's driver rejects
		// other levels, and read-only is enforced by query_only.
		txo = nil
	}
	var err error
	for attempt := 1; ; attempt++ {
		err = runTx(ctx, pool, txo, fn)
		if err == nil {
			return nil
		}
		retry := Retryable(err) || (opts.RetryIf != nil && opts.RetryIf(err))
		if !retry || attempt >= MaxAttempts || ctx.Err() != nil {
			if retry {
				return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
			}
			return err
		}
		backoff := time.Duration(attempt*attempt) * time.Millisecond
		backoff += time.Duration(rand.Int64N(int64(backoff)))
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return err
		}
	}
}

func runTx(ctx context.Context, pool *sql.DB, txo *sql.TxOptions, fn func(conn *sql.Conn, tx *sql.Tx) error) (err error) {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, txo)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, ignoreDone(tx.Rollback()))
		}
	}()
	if err := fn(conn, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// PgxBatch sends the statements queued by queue to PostgreSQL in one round
// trip on conn (inside whatever transaction conn is in) and returns the rows
// each affected, in order.
func PgxBatch(ctx context.Context, conn *sql.Conn, queue func(b *pgx.Batch)) ([]int64, error) {
	var affected []int64
	err := conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("pgx batch: not a pgx connection (%T)", dc)
		}
		b := &pgx.Batch{}
		queue(b)
		res := sc.Conn().SendBatch(ctx, b)
		for range b.Len() {
			tag, err := res.Exec()
			if err != nil {
				return errors.Join(err, res.Close())
			}
			affected = append(affected, tag.RowsAffected())
		}
		return res.Close()
	})
	return affected, err
}
