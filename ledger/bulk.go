package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/suanpan/suanpan/store"
)

// The batch writes its rows with the cheapest form each engine has. On
// PostgreSQL every statement is a network round trip, so rows go in
// multi-row statements. On SQLite a statement is a function call, but
// parsing a statement with thousands of parameters is not free, so one
// prepared single-row statement, kept for the life of the writer connection,
// is executed per row.

// stmtCache holds statements prepared on the SQLite writer pool (one
// connection), so that tx.StmtContext reuses them without preparing again.
type stmtCache struct {
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	wanted map[string]bool // statements met in a batch, to prepare before the next
}

// want asks for q to be prepared before the next batch.
func (c *stmtCache) want(q string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wanted == nil {
		c.wanted = map[string]bool{}
	}
	if len(c.wanted) < maxWantedStatements {
		c.wanted[q] = true
	}
}

// wantedStatements returns the statements asked for and not yet prepared.
func (c *stmtCache) wantedStatements() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var qs []string
	for q := range c.wanted {
		if c.m[q] == nil {
			qs = append(qs, q)
		}
	}
	return qs
}

// maxWantedStatements bounds the statements cached for ride-along writes:
// statements are meant to be fixed texts, and a caller building them with
// values inside must not grow the cache without bound.
const maxWantedStatements = 256

// prepare prepares the statements not prepared yet. It must run outside a
// transaction: the writer pool's one connection is busy during one.
func (c *stmtCache) prepare(ctx context.Context, db *sql.DB, qs []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, q := range qs {
		if c.m[q] != nil {
			continue
		}
		s, err := db.PrepareContext(ctx, q)
		if err != nil {
			// A statement SQLite cannot prepare is not asked for again; it
			// keeps running unprepared (and failing on its own).
			delete(c.wanted, q)
			errs = append(errs, fmt.Errorf("prepare: %w", err))
			continue
		}
		if c.m == nil {
			c.m = map[string]*sql.Stmt{}
		}
		c.m[q] = s
	}
	return errors.Join(errs...)
}

func (c *stmtCache) get(q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[q]
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.m {
		s.Close()
	}
	c.m = nil
}

// execEach runs the single-row statement q once per row, prepared once.
func (l *Ledger) execEach(ctx context.Context, tx *sql.Tx, q string, rows [][]any) (int64, error) {
	var st *sql.Stmt
	if cached := l.stmts.get(q); cached != nil {
		st = tx.StmtContext(ctx, cached)
	} else {
		var err error
		if st, err = tx.PrepareContext(ctx, q); err != nil {
			return 0, err
		}
	}
	var n int64
	for _, r := range rows {
		res, err := st.ExecContext(ctx, r...)
		if err != nil {
			return n, err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}

// SQL of the batch's writes, with the PostgreSQL type of each column.
const (
	insertTransactions = `INSERT INTO transactions (id, institution_id, reference, kind, type, business_date,
		metadata, hold_id, reverses_id, content_hash, created_at)`
	insertEntries = `INSERT INTO entries (account_id, seq, tx_id, posting, side, kind, asset, amount,
		debits_posted_after, credits_posted_after, debits_pending_after, credits_pending_after, created_at)`
	insertHolds = `INSERT INTO holds (id, institution_id, status, expires_at, resolved_by, created_at, updated_at)`
	setBalances = `debits_posted = %s, credits_posted = %s, debits_pending = %s, credits_pending = %s,
		entry_seq = %s, last_entry_at = %s, updated_at = %s`
)

var (
	transactionTypes = []string{"text", "text", "text", "text", "text", "text", "text", "text", "text", "text", "bigint"}
	entryTypes       = []string{"text", "bigint", "text", "integer", "text", "text", "text", "bigint", "bigint", "bigint", "bigint", "bigint", "bigint"}
	holdTypes        = []string{"text", "text", "text", "bigint", "text", "bigint", "bigint"}
)

var sqliteUpdateAccounts = "UPDATE accounts SET " + fmt.Sprintf(setBalances, "?", "?", "?", "?", "?", "?", "?") + " WHERE id = ?"

// sqliteBatchStatements are prepared once on the SQLite writer connection.
func sqliteBatchStatements() []string {
	one := func(prefix string, cols int) string {
		return prefix + " VALUES " + rowsValues(store.SQLite, 1, cols, nil)
	}
	return []string{one(insertTransactions, 11), one(insertEntries, 13), one(insertHolds, 7), sqliteUpdateAccounts}
}

// insert appends rows to a table on SQLite; prefix is "INSERT INTO t
// (cols…)". On PostgreSQL (pgInsert) the rows travel as one array per
// column through unnest, so the statement text, and with it the prepared
// statement and its plan, is the same whatever the row count.
func (l *Ledger) insert(ctx context.Context, tx *sql.Tx, prefix string, types []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	_, err := l.execEach(ctx, tx, prefix+" VALUES "+rowsValues(l.db.Dialect, 1, len(types), nil), rows)
	return err
}

// unnest returns "unnest($1::t1[], $2::t2[], …)".
func unnest(types []string) string {
	var b strings.Builder
	b.WriteString("unnest(")
	for i, t := range types {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d::%s[]", i+1, t)
	}
	b.WriteString(")")
	return b.String()
}

// columns turns rows into one typed array per column (NULL-able elements).
func columns(rows [][]any, types []string) []any {
	out := make([]any, len(types))
	for c, t := range types {
		if t == "text" {
			col := make([]*string, len(rows))
			for i, r := range rows {
				if v, ok := r[c].(string); ok {
					col[i] = &v
				}
			}
			out[c] = col
			continue
		}
		col := make([]*int64, len(rows))
		for i, r := range rows {
			switch v := r[c].(type) {
			case int64:
				col[i] = &v
			case int:
				n := int64(v)
				col[i] = &n
			}
		}
		out[c] = col
	}
	return out
}

// accountTypes are the PostgreSQL types of an account update row: (id,
// debits_posted, credits_posted, debits_pending, credits_pending,
// entry_seq, last_entry_at).
var accountTypes = []string{"text", "bigint", "bigint", "bigint", "bigint", "bigint", "bigint"}

var pgUpdateAccounts = "UPDATE accounts SET " +
	fmt.Sprintf(setBalances, "v.dp", "v.cp", "v.dpe", "v.cpe", "v.seq", "v.last", "v.last") +
	" FROM " + unnest(accountTypes) + " AS v (id, dp, cp, dpe, cpe, seq, last) WHERE accounts.id = v.id"

// pgInsert is prefix's insert of one array per column.
func pgInsert(prefix string, types []string) string {
	return prefix + " SELECT * FROM " + unnest(types)
}

// updateHold sets a hold's status, resolving transaction and update time.
func updateHold(d store.Dialect) string {
	return `UPDATE holds SET status = ` + d.Placeholder(1) + `, resolved_by = ` + d.Placeholder(2) +
		`, updated_at = ` + d.Placeholder(3) + ` WHERE id = ` + d.Placeholder(4)
}

// updateAccounts writes new balances on SQLite, one prepared statement per
// row (PostgreSQL sends pgUpdateAccounts in the batch's pipeline).
func (l *Ledger) updateAccounts(ctx context.Context, tx *sql.Tx, rows [][]any) (int64, error) {
	// Placeholders bind in order, so the id moves to the end.
	moved := make([][]any, len(rows))
	for i, r := range rows {
		moved[i] = append(append(make([]any, 0, 8), r[1:]...), r[6], r[0])
	}
	return l.execEach(ctx, tx, sqliteUpdateAccounts, moved)
}

// Execer runs statements in a storage transaction.
type Execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// Tx returns an Execer for a batch's storage transaction that reuses
// statements prepared once on SQLite's writer connection: a statement met
// for the first time runs as it is and is prepared before the next batch.
// Ride-along writes that run fixed statement texts should use it. On
// PostgreSQL it is tx itself (pgx caches prepared statements).
func (l *Ledger) Tx(tx *sql.Tx) Execer {
	if l.db.Dialect != store.SQLite {
		return tx
	}
	return cachedTx{l, tx}
}

type cachedTx struct {
	l  *Ledger
	tx *sql.Tx
}

func (c cachedTx) stmt(ctx context.Context, q string) *sql.Stmt {
	if st := c.l.stmts.get(q); st != nil {
		return c.tx.StmtContext(ctx, st)
	}
	c.l.stmts.want(q)
	return nil
}

func (c cachedTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := c.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.tx.ExecContext(ctx, q, args...)
}

func (c cachedTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.tx.QueryContext(ctx, q, args...)
}

func (c cachedTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := c.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.tx.QueryRowContext(ctx, q, args...)
}
