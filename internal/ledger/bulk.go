package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/suanpan/suanpan/internal/store"
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
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// prepare prepares the statements not prepared yet. It must run outside a
// transaction: the writer pool's one connection is busy during one.
func (c *stmtCache) prepare(ctx context.Context, db *sql.DB, qs []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, q := range qs {
		if c.m[q] != nil {
			continue
		}
		s, err := db.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		if c.m == nil {
			c.m = map[string]*sql.Stmt{}
		}
		c.m[q] = s
	}
	return nil
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

// SQL of the batch's writes.
const (
	insertTransactions = `INSERT INTO transactions (id, institution_id, reference, kind, type, business_date,
		metadata, hold_id, reverses_id, content_hash, created_at) VALUES `
	insertEntries = `INSERT INTO entries (account_id, seq, tx_id, posting, side, kind, asset, amount,
		debits_posted_after, credits_posted_after, debits_pending_after, credits_pending_after, created_at) VALUES `
	insertHolds = `INSERT INTO holds (id, institution_id, status, expires_at, resolved_by, created_at,
		updated_at) VALUES `
	setBalances = `debits_posted = %s, credits_posted = %s, debits_pending = %s, credits_pending = %s,
		entry_seq = %s, last_entry_at = %s, updated_at = %s`
)

var sqliteUpdateAccounts = "UPDATE accounts SET " + fmt.Sprintf(setBalances, "?", "?", "?", "?", "?", "?", "?") + " WHERE id = ?"

// sqliteBatchStatements are prepared once on the SQLite writer connection.
func sqliteBatchStatements() []string {
	one := func(prefix string, cols int) string { return prefix + rowsValues(store.SQLite, 1, cols, nil) }
	return []string{one(insertTransactions, 11), one(insertEntries, 13), one(insertHolds, 7), sqliteUpdateAccounts}
}

// insert appends rows with "prefix (…),(…)"; prefix ends in "VALUES ".
func (l *Ledger) insert(ctx context.Context, tx *sql.Tx, prefix string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	cols := len(rows[0])
	if l.db.Dialect == store.SQLite {
		_, err := l.execEach(ctx, tx, prefix+rowsValues(l.db.Dialect, 1, cols, nil), rows)
		return err
	}
	return inChunks(rows, cols, func(chunk [][]any) error {
		_, err := tx.ExecContext(ctx, prefix+rowsValues(l.db.Dialect, len(chunk), cols, nil), flatten(chunk, cols)...)
		return err
	})
}

// updateAccounts writes new balances: rows of (id, debits_posted,
// credits_posted, debits_pending, credits_pending, entry_seq, last_entry_at).
func (l *Ledger) updateAccounts(ctx context.Context, tx *sql.Tx, rows [][]any) (int64, error) {
	if l.db.Dialect == store.SQLite {
		// Placeholders bind in order, so the id moves to the end.
		moved := make([][]any, len(rows))
		for i, r := range rows {
			moved[i] = append(append(make([]any, 0, 8), r[1:]...), r[6], r[0])
		}
		return l.execEach(ctx, tx, sqliteUpdateAccounts, moved)
	}
	const cols = 7
	casts := []string{"TEXT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT"}
	var total int64
	err := inChunks(rows, cols, func(chunk [][]any) error {
		res, err := tx.ExecContext(ctx, "UPDATE accounts SET "+
			fmt.Sprintf(setBalances, "v.column2", "v.column3", "v.column4", "v.column5", "v.column6", "v.column7", "v.column7")+
			" FROM (VALUES "+rowsValues(l.db.Dialect, len(chunk), cols, casts)+") AS v WHERE accounts.id = v.column1",
			flatten(chunk, cols)...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		total += n
		return err
	})
	return total, err
}

func flatten(rows [][]any, cols int) []any {
	out := make([]any, 0, len(rows)*cols)
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}
