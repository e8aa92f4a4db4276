// Package store opens Suanpan's storage — the embedded SQLite file or a
// PostgreSQL database — applies the versioned schema migrations and runs
// storage transactions with one retry discipline for both engines.
//
// The SQL elsewhere in Suanpan is written once, in the subset both engines
// (and PostgreSQL-compatible distributed databases) accept: `$N`
// placeholders, no triggers, no advisory locks, no LISTEN/NOTIFY, no
// sequences, times as integer microseconds since the Unix epoch
// (TestPortableSQL checks the migrations and the code's statements). The few
// differences live here, in Dialect. This package must never contain
// business rules.
//
// It is part of Suanpan's public Go API, with ledger, money and clock.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

// Dialect names a storage engine.
type Dialect string

// The supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// ForUpdate returns the row-locking clause to append to a SELECT: on
// PostgreSQL it locks the rows until the transaction ends; on SQLite, where
// the single writer connection already serializes every write transaction, it
// is empty.
func (d Dialect) ForUpdate() string {
	if d == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// Placeholder returns the i-th (1-based) bind parameter. PostgreSQL numbers
// them ($1, $2, …); on SQLite the anonymous "?" is used, because SQLite
// resolves "$N" by name with a linear search per parameter, which makes
// statements with thousands of parameters quadratic. Statements built with
// Placeholder must therefore bind their arguments in the order the
// placeholders appear.
func (d Dialect) Placeholder(i int) string {
	if d == Postgres {
		return "$" + strconv.Itoa(i)
	}
	return "?"
}

// Storable reports whether s is text every engine keeps as it is: valid
// UTF-8 without control characters (PostgreSQL refuses NUL in text, and a
// refused value in a group-committed batch would fail everyone's requests).
// Identifiers, references and names are checked with it before they reach a
// statement.
func Storable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// Options tune how a store is opened. The zero value is the durable default.
type Options struct {
	// SQLiteSynchronous is SQLite's `synchronous` setting for the writer:
	// "full" (the default: a commit is on disk before it is acknowledged) or
	// "normal" (faster; in WAL mode the last commits may roll back after a
	// power loss or OS crash, though never after a process crash). Relax it
	// only where losing acknowledged transactions on power loss is acceptable.
	SQLiteSynchronous string
	// MaxConns bounds the PostgreSQL connection pool, and SQLite's reader pool.
	// Zero means 16.
	MaxConns int
}

// DB is an open store. Write is the pool that write transactions use; Read
// is the pool for queries. On PostgreSQL they are the same pool. On SQLite
// Write holds exactly one connection (SQLite allows one writer at a time, and
// BEGIN IMMEDIATE takes the write lock up front) and Read holds read-only
// connections that see WAL snapshots.
type DB struct {
	Dialect Dialect
	Write   *sql.DB
	Read    *sql.DB
	// Name is the store's location with any password removed, for logs.
	Name string

	stop, stopped chan struct{} // the SQLite checkpointer's
	engine        atomic.Bool   // a ledger engine writes through this DB
	reads         readStmts     // see QueryRow
}

// ClaimEngine reserves the store for one ledger engine and reports whether
// it was free. Two engines on one DB would share SQLite's writer connection
// without seeing each other's batches.
func (db *DB) ClaimEngine() bool { return db.engine.CompareAndSwap(false, true) }

// ReleaseEngine frees the store for another engine.
func (db *DB) ReleaseEngine() { db.engine.Store(false) }

// Open opens the store at location: a PostgreSQL URL (postgres://… or
// postgresql://…) or an SQLite file given as sqlite:PATH, sqlite://PATH or a
// plain path. The SQLite file and its directory are created when missing.
// Open does not migrate; call Migrate.
func Open(ctx context.Context, location string, opts Options) (*DB, error) {
	if opts.MaxConns <= 0 {
		opts.MaxConns = 16
	}
	switch {
	case strings.HasPrefix(location, "postgres://"), strings.HasPrefix(location, "postgresql://"):
		return openPostgres(ctx, location, opts)
	case location == "":
		return nil, errors.New("open store: no location given")
	default:
		path := strings.TrimPrefix(strings.TrimPrefix(location, "sqlite://"), "sqlite:")
		return openSQLite(ctx, path, opts)
	}
}

func openPostgres(ctx context.Context, location string, opts Options) (*DB, error) {
	db, err := sql.Open("pgx", location)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(opts.MaxConns)
	db.SetMaxIdleConns(opts.MaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres %s: %w", redact(location), err)
	}
	return &DB{Dialect: Postgres, Write: db, Read: db, Name: redact(location)}, nil
}

func openSQLite(ctx context.Context, path string, opts Options) (*DB, error) {
	sync := strings.ToLower(opts.SQLiteSynchronous)
	switch sync {
	case "":
		sync = "full"
	case "full", "normal":
	default:
		return nil, fmt.Errorf("open sqlite: synchronous must be full or normal, not %q", opts.SQLiteSynchronous)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
	}
	if err := privateFiles(path); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// Pragmas go in the DSN so that every pooled connection gets them. The
	// writer does not checkpoint on commit below walCheckpointCap pages: the
	// checkpointer goroutine does that off the commit path.
	common := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)"
	w, err := sql.Open("sqlite", path+"?"+common+"&_pragma=cache_size(-65536)&_pragma=synchronous("+sync+")"+
		"&_pragma=wal_autocheckpoint("+strconv.Itoa(walCheckpointCap)+")&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// SQLite gives the WAL and shared-memory files the database file's
	// mode; this holds for any it finds from an older run too.
	if err := privateFiles(path); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	r, err := sql.Open("sqlite", path+"?"+common+"&_pragma=cache_size(-16384)&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r.SetMaxOpenConns(opts.MaxConns)
	r.SetMaxIdleConns(opts.MaxConns)
	db := &DB{Dialect: SQLite, Write: w, Read: r, Name: path, stop: make(chan struct{}), stopped: make(chan struct{})}
	go db.checkpointer(path + "?" + common + "&_pragma=synchronous(" + sync + ")")
	return db, nil
}

// privateFiles makes the SQLite database file (created here when missing,
// before the driver would create it with the umask's mode) and its -wal
// and -shm files readable by the owner only: they hold the whole books.
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(name, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// walCheckpointCap is the WAL size, in pages, past which the writer itself
// checkpoints: a bound on the WAL file should the checkpointer fall behind.
const walCheckpointCap = 20000

// checkpointInterval is how often the checkpointer copies the WAL back into
// the database file.
const checkpointInterval = time.Second

// checkpointer runs passive WAL checkpoints on its own connection, so that
// commits do not pay for copying the WAL into the database file. A passive
// checkpoint never blocks the writer or readers; what it cannot copy yet it
// copies next time.
func (db *DB) checkpointer(dsn string) {
	defer close(db.stopped)
	c, err := sql.Open("sqlite", dsn)
	if err != nil {
		return // the writer's own cap still bounds the WAL
	}
	defer c.Close()
	c.SetMaxOpenConns(1)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-t.C:
			// Errors (a busy database, say) are retried on the next tick.
			_, _ = c.Exec("PRAGMA wal_checkpoint(PASSIVE)")
		}
	}
}

// Close stops the checkpointer and closes both pools.
func (db *DB) Close() error {
	db.closeReads()
	if db.stop != nil {
		close(db.stop)
		<-db.stopped
		db.stop = nil
	}
	err := db.Write.Close()
	if db.Read != db.Write {
		err = errors.Join(err, db.Read.Close())
	}
	return err
}

func redact(location string) string {
	u, err := url.Parse(location)
	if err != nil {
		return "postgres"
	}
	return u.Redacted()
}
