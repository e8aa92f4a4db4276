package store

import (
	"context"
	"database/sql"
	"sync"
)

// maxReadStatements bounds the statements Query and QueryRow keep prepared:
// they are meant for fixed texts, and a caller building texts with values
// inside must not grow the cache without bound (past it, texts run
// unprepared).
const maxReadStatements = 512

// readStmts holds statements prepared on the SQLite read pool. SQLite
// parses a statement on every unprepared run, which costs as much as the
// lookup it runs on the hot paths (an order by ID, an account's product);
// database/sql prepares a pooled *sql.Stmt once per connection and reuses
// it.
type readStmts struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// stmt returns the prepared statement for q, preparing it once, or nil
// when the cache is full or q does not prepare (it then runs unprepared
// and reports its own error).
func (db *DB) stmt(ctx context.Context, q string) *sql.Stmt {
	c := &db.reads
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[q]; ok {
		return st
	}
	if len(c.m) >= maxReadStatements {
		return nil
	}
	st, err := db.Read.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[q] = st
	return st
}

// QueryRow runs a read of one row on the Read pool. On SQLite the
// statement is prepared once per text and reused; PostgreSQL's driver
// caches prepared statements itself.
func (db *DB) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if db.Dialect == SQLite {
		if st := db.stmt(ctx, q); st != nil {
			return st.QueryRowContext(ctx, args...)
		}
	}
	return db.Read.QueryRowContext(ctx, q, args...)
}

// Query runs a read on the Read pool, its statement prepared once per text
// on SQLite as for QueryRow.
func (db *DB) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if db.Dialect == SQLite {
		if st := db.stmt(ctx, q); st != nil {
			return st.QueryContext(ctx, args...)
		}
	}
	return db.Read.QueryContext(ctx, q, args...)
}

// closeReads closes the prepared read statements.
func (db *DB) closeReads() {
	db.reads.mu.Lock()
	defer db.reads.mu.Unlock()
	for _, st := range db.reads.m {
		st.Close()
	}
	db.reads.m = nil
}
