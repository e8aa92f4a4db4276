package recon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/suanpan/suanpan/internal/recon/statement"
	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
)

// Statement is an imported statement file of one channel and business
// date.
type Statement struct {
	ID            string `json:"id"`
	InstitutionID string `json:"institution_id"`
	ChannelID     string `json:"channel_id"`
	Date          string `json:"date"`
	Format        string `json:"format"`
	SHA256        string `json:"sha256"`
	Size          int64  `json:"size"`
	Lines         int64  `json:"lines"`
	// Credits and Debits total the succeeded lines by direction (pay-ins;
	// pay-outs and refunds); Fees their fees.
	Credits    int64     `json:"credits"`
	Debits     int64     `json:"debits"`
	Fees       int64     `json:"fees"`
	ImportedBy string    `json:"imported_by"`
	ImportedAt time.Time `json:"imported_at"`
}

// ImportRequest asks to import a channel's statement for a business date.
type ImportRequest struct {
	ChannelID string
	Date      string
	Content   []byte
	By        string
	Scope     []string
	Writes    []Write
}

const statementCols = `id, institution_id, channel_id, date, format, sha256, size, lines, credits, debits, fees, imported_by, imported_at`

func scanStatement(sc interface{ Scan(...any) error }) (*Statement, error) {
	var st Statement
	var at int64
	if err := sc.Scan(&st.ID, &st.InstitutionID, &st.ChannelID, &st.Date, &st.Format, &st.SHA256, &st.Size, &st.Lines,
		&st.Credits, &st.Debits, &st.Fees, &st.ImportedBy, &at); err != nil {
		return nil, err
	}
	st.ImportedAt = fromMicros(at)
	return &st, nil
}

// Import reads, validates and stores a channel's statement file for a
// business date, in the format the channel's settings name. Every line
// must parse, be of the channel's asset and fall on the date (in any time
// zone); the file's own totals, balances and counts must agree. The same
// file again returns the stored statement with duplicate set and changes
// nothing; another file for a channel and date already imported is
// refused. Permission: recon:write. Returns CodeInvalidRequest,
// CodeStatementInvalid, CodeStatementExists and payments'
// channel_not_found.
func (s *Service) Import(ctx context.Context, r ImportRequest) (st *Statement, duplicate bool, err error) {
	day, err := parseDate("date", r.Date)
	if err != nil {
		return nil, false, err
	}
	if len(r.Content) == 0 || len(r.Content) > maxStatementBytes {
		return nil, false, invalid("content", "the statement file must have 1 byte to %d MiB", maxStatementBytes>>20)
	}
	ch, err := s.pay.GetChannel(ctx, r.ChannelID, r.Scope)
	if err != nil {
		return nil, false, err
	}
	sum := sha256.Sum256(r.Content)
	hash := hex.EncodeToString(sum[:])
	if st, err := s.statementFor(ctx, ch.ID, r.Date); err == nil {
		if st.SHA256 == hash {
			return st, true, nil
		}
		return nil, false, errorf(CodeStatementExists, "date", "channel %s already has statement %s for %s (SHA-256 %s); this file differs",
			ch.Code, st.ID, r.Date, st.SHA256)
	} else if ErrorCode(err) != CodeStatementNotFound {
		return nil, false, err
	}
	settings, err := s.settings(ctx, s.db.Read, ch)
	if err != nil {
		return nil, false, err
	}
	adapter, err := s.pay.Adapter(ch)
	if err != nil {
		return nil, false, err
	}
	f, err := statement.Parse(bytes.NewReader(r.Content), settings.Format, adapter)
	if err != nil {
		return nil, false, errorf(CodeStatementInvalid, "content", "%v", err)
	}
	if err := f.CheckDates(day.Add(-dateSlack), day.AddDate(0, 0, 1).Add(dateSlack)); err != nil {
		return nil, false, errorf(CodeStatementInvalid, "content", "%v", err)
	}
	st = &Statement{ID: uuid.Must(uuid.NewV7()).String(), InstitutionID: ch.InstitutionID, ChannelID: ch.ID, Date: r.Date,
		Format: settings.Format.Kind, SHA256: hash, Size: int64(len(r.Content)), Lines: int64(len(f.Lines)),
		Credits: f.Credits, Debits: f.Debits, ImportedBy: r.By, ImportedAt: s.now()}
	for i := range f.Lines {
		l := &f.Lines[i]
		if l.Asset != ch.Asset {
			return nil, false, errorf(CodeStatementInvalid, "content", "line %d is in %s; channel %s moves %s", l.No, l.Asset, ch.Code, ch.Asset)
		}
		if !storable(l) {
			return nil, false, errorf(CodeStatementInvalid, "content", "line %d has a reference or party that is not storable text of at most 64 bytes", l.No)
		}
		if st.Fees, err = money.Add(st.Fees, l.Fee); err != nil {
			return nil, false, errorf(CodeStatementInvalid, "content", "the fees overflow at line %d", l.No)
		}
	}
	err = s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recon_statements (`+statementCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, st.ID, st.InstitutionID, st.ChannelID, st.Date,
			st.Format, st.SHA256, st.Size, st.Lines, st.Credits, st.Debits, st.Fees, st.ImportedBy, micros(st.ImportedAt)); err != nil {
			if _, dup := store.UniqueViolation(err); dup {
				return errorf(CodeStatementExists, "date", "channel %s got a statement for %s meanwhile", ch.Code, r.Date)
			}
			return fmt.Errorf("store statement: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO recon_statement_files (statement_id, content) VALUES ($1, $2)`, st.ID, r.Content); err != nil {
			return fmt.Errorf("store statement file: %w", err)
		}
		if err := insertLines(ctx, tx, s.db.Dialect, st, f.Lines); err != nil {
			return err
		}
		return runWrites(ctx, tx, r.Writes)
	})
	if ErrorCode(err) == CodeStatementExists {
		// A concurrent import of the same file is the same import.
		if got, gerr := s.statementFor(ctx, ch.ID, r.Date); gerr == nil && got.SHA256 == hash {
			return got, true, nil
		}
	}
	if err != nil {
		return nil, false, err
	}
	return st, false, nil
}

func storable(l *statement.Line) bool {
	for _, v := range []string{l.OrderID, l.ChannelRef, l.Party} {
		if len(v) > 64 || !store.Storable(v) {
			return false
		}
	}
	return true
}

// lineCols are recon_lines' columns as insertLines writes them.
const lineCols = `statement_id, line_no, channel_id, order_id, channel_ref, direction, amount, fee, asset, status, at, party, state`

// insertLines writes a statement's lines, open.
func insertLines(ctx context.Context, tx *sql.Tx, d store.Dialect, st *Statement, lines []statement.Line) error {
	err := insertRows(ctx, tx, d, `INSERT INTO recon_lines (`+lineCols+`) VALUES `, 13, len(lines), func(i int, args []any) []any {
		l := &lines[i]
		return append(args, st.ID, l.No, st.ChannelID, l.OrderID, l.ChannelRef, string(l.Direction), l.Amount, l.Fee,
			l.Asset, string(l.Status), micros(l.At), l.Party, lineOpen)
	})
	if err != nil {
		return fmt.Errorf("store statement lines: %w", err)
	}
	return nil
}

// insertRows inserts n rows of cols values each — row appends row i's to
// args — in multi-row INSERTs of insertChunk rows, the placeholders
// numbered as d wants them (SQLite looks a "$n" up by a linear search).
func insertRows(ctx context.Context, tx *sql.Tx, d store.Dialect, insert string, cols, n int, row func(i int, args []any) []any) error {
	var b strings.Builder
	args := make([]any, 0, min(n, insertChunk)*cols)
	for start := 0; start < n; start += insertChunk {
		b.Reset()
		args = args[:0]
		b.WriteString(insert)
		for i := start; i < min(start+insertChunk, n); i++ {
			if i > start {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for c := range cols {
				if c > 0 {
					b.WriteString(", ")
				}
				b.WriteString(d.Placeholder(len(args) + c + 1))
			}
			b.WriteByte(')')
			args = row(i, args)
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// statementFor returns the statement of a channel and date.
func (s *Service) statementFor(ctx context.Context, channelID, date string) (*Statement, error) {
	st, err := scanStatement(s.db.Read.QueryRowContext(ctx, `SELECT `+statementCols+` FROM recon_statements
		WHERE channel_id = $1 AND date = $2`, channelID, date))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errorf(CodeStatementNotFound, "date", "channel %s has no statement for %s", channelID, date)
	}
	if err != nil {
		return nil, fmt.Errorf("read statement: %w", err)
	}
	return st, nil
}

// GetStatement returns a statement in scope. Permission: recon:read.
// Returns CodeStatementNotFound.
func (s *Service) GetStatement(ctx context.Context, id string, scope []string) (*Statement, error) {
	if !validID(id) {
		return nil, errorf(CodeStatementNotFound, "id", "statement not found")
	}
	st, err := scanStatement(s.db.Read.QueryRowContext(ctx, `SELECT `+statementCols+` FROM recon_statements WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !inScope(scope, st.InstitutionID)) {
		return nil, errorf(CodeStatementNotFound, "id", "statement %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read statement %s: %w", id, err)
	}
	return st, nil
}

// StatementFile returns a statement's file as it was imported.
// Permission: recon:read. Returns CodeStatementNotFound.
func (s *Service) StatementFile(ctx context.Context, id string, scope []string) (*Statement, []byte, error) {
	st, err := s.GetStatement(ctx, id, scope)
	if err != nil {
		return nil, nil, err
	}
	var content []byte
	if err := s.db.Read.QueryRowContext(ctx, `SELECT content FROM recon_statement_files WHERE statement_id = $1`, st.ID).Scan(&content); err != nil {
		return nil, nil, fmt.Errorf("read statement file %s: %w", id, err)
	}
	return st, content, nil
}

// StatementFilter selects statements.
type StatementFilter struct {
	ChannelID string
	Date      string
	Scope     []string
	After     string // the last ID of the previous page
	Limit     int
}

// ListStatements returns statements newest first by ID, a page at a time,
// with the cursor of the next page ("" at the end). Permission:
// recon:read.
func (s *Service) ListStatements(ctx context.Context, f StatementFilter) ([]*Statement, string, error) {
	var w store.Where
	w.Add("channel_id = ?", f.ChannelID)
	w.Add("date = ?", f.Date)
	w.Add("id < ?", f.After)
	w.In("institution_id", f.Scope)
	return listPage(ctx, s.db.Read, `SELECT `+statementCols+` FROM recon_statements WHERE `+w.String()+` ORDER BY id DESC`,
		w.Args, f.Limit, scanStatement, func(st *Statement) string { return st.ID })
}

// pageSize bounds a page: default 100, at most 1000.
func pageSize(n int) int {
	if n <= 0 {
		return 100
	}
	return min(n, 1000)
}

// page cuts a list read with one extra row to limit and returns the cursor
// of the next page.
func page[T any](items []T, limit int, key func(T) string) ([]T, string, error) {
	if len(items) <= limit {
		return items, "", nil
	}
	items = items[:limit]
	return items, key(items[limit-1]), nil
}

// listPage reads a page of q (ordered, without its LIMIT) with scan and
// returns it with the cursor of the next page.
func listPage[T any](ctx context.Context, db *sql.DB, q string, args []any, limit int, scan func(sc interface{ Scan(...any) error }) (T, error),
	key func(T) string) ([]T, string, error) {
	limit = pageSize(limit)
	rows, err := db.QueryContext(ctx, q+` LIMIT `+strconv.Itoa(limit+1), args...)
	if err != nil {
		return nil, "", fmt.Errorf("list: %w", err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		x, err := scan(rows)
		if err != nil {
			return nil, "", fmt.Errorf("list: %w", err)
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list: %w", err)
	}
	return page(out, limit, key)
}
