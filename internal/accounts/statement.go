package accounts

import (
	"context"
	"database/sql"
	"embed"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
)

// Bounds of statements.
const (
	// MaxStatementDays bounds a statement's period.
	MaxStatementDays = 366
	// MaxStatementAccounts bounds the accounts one statement covers.
	MaxStatementAccounts = 1000
	// MaxStatementLines bounds the entries one statement holds in all: a
	// statement is built in memory and stored as one row.
	MaxStatementLines = 100_000
	// statementPage is the page size the ledger's entries are read in.
	statementPage = 1000
)

// StatementLine is one journal entry of an account in a statement.
type StatementLine struct {
	Seq           int64       `json:"seq"`
	At            time.Time   `json:"at"`
	Date          string      `json:"date" doc:"The entry's date (UTC), YYYY-MM-DD."`
	TransactionID string      `json:"transaction_id"`
	Type          string      `json:"type"`
	Reference     string      `json:"reference"`
	Side          ledger.Side `json:"side"`
	Amount        int64       `json:"amount"`
	Balance       int64       `json:"balance" doc:"The account's posted balance after the entry."`
}

// AccountStatement is one account's part of a statement: the balance at
// the start of the period, its entries, and the balance at its end.
type AccountStatement struct {
	AccountID  string          `json:"account_id"`
	Name       string          `json:"name"`
	Code       string          `json:"code"`
	Asset      string          `json:"asset"`
	Scale      int             `json:"scale"`
	NormalSide ledger.Side     `json:"normal_side"`
	Opening    int64           `json:"opening_balance"`
	Debits     int64           `json:"debits"`
	Credits    int64           `json:"credits"`
	Closing    int64           `json:"closing_balance"`
	Lines      []StatementLine `json:"lines"`
}

// Statement is a customer's statement for a period of business dates
// [From, To) across all their accounts. It holds the customer's name
// masked, never in plain text.
type Statement struct {
	ID            string             `json:"id"`
	InstitutionID string             `json:"institution_id"`
	CustomerID    string             `json:"customer_id"`
	CustomerName  string             `json:"customer_name" doc:"Masked."`
	From          string             `json:"period_from"`
	To            string             `json:"period_to" doc:"Exclusive."`
	GeneratedAt   time.Time          `json:"generated_at"`
	Accounts      []AccountStatement `json:"accounts"`
}

// Statements generates, stores and renders customer statements.
//
// A business date is a UTC calendar day, the ledger's default business
// date: the period [From, To) covers entries created from From 00:00 UTC
// up to, not including, To 00:00 UTC.
type Statements struct {
	db        *store.DB
	ledger    *ledger.Ledger
	customers *Customers
	lifecycle *Lifecycle
	clock     clock.Clock
}

// NewStatements returns the statement service on the ledger's store and
// clock.
func NewStatements(l *ledger.Ledger, customers *Customers, lc *Lifecycle) *Statements {
	return &Statements{db: l.DB(), ledger: l, customers: customers, lifecycle: lc, clock: l.Clock()}
}

// StatementRequest asks for a customer's statement.
type StatementRequest struct {
	CustomerID string
	From, To   string // business dates YYYY-MM-DD, To exclusive
	// Regenerate builds the statement again and replaces the stored one;
	// without it a stored statement of the period is returned as it is.
	Regenerate bool
	Scope      []string // the institutions the caller may reach (nil: any)
}

// period parses and checks a statement period.
func period(from, to string) (time.Time, time.Time, error) {
	f, err := time.Parse(time.DateOnly, from)
	if err != nil {
		return time.Time{}, time.Time{}, fieldErr("from", "from must be a date YYYY-MM-DD")
	}
	t, err := time.Parse(time.DateOnly, to)
	if err != nil {
		return time.Time{}, time.Time{}, fieldErr("to", "to must be a date YYYY-MM-DD")
	}
	if !f.Before(t) {
		return time.Time{}, time.Time{}, fieldErr("to", "to must be after from")
	}
	if t.Sub(f) > MaxStatementDays*24*time.Hour {
		return time.Time{}, time.Time{}, fieldErr("to", "a statement covers at most %d days", MaxStatementDays)
	}
	return f, t, nil
}

// Generate returns the customer's statement for the period, building and
// storing it unless it is stored already (or Regenerate asks). stored
// reports that the answer is the statement stored before. Permission:
// ledger:read. Returns CodeInvalidRequest (a malformed or too long
// period), CodeCustomerNotFound (also outside the scope) and
// CodeOverflow (a total leaves the int64 range).
func (s *Statements) Generate(ctx context.Context, r StatementRequest) (st *Statement, stored bool, err error) {
	from, to, err := period(r.From, r.To)
	if err != nil {
		return nil, false, err
	}
	c, err := s.customers.Get(ctx, r.CustomerID, r.Scope)
	if err != nil {
		return nil, false, err
	}
	if !r.Regenerate {
		st, err := s.find(ctx, c.ID, r.From, r.To)
		if err != nil || st != nil {
			return st, st != nil, err
		}
	}
	st, err = s.build(ctx, c, from, to)
	if err != nil {
		return nil, false, err
	}
	body, err := json.Marshal(st)
	if err != nil {
		return nil, false, fmt.Errorf("statement %s: encode: %w", c.ID, err)
	}
	// A concurrent generation of the same period may have stored one
	// meanwhile: without Regenerate that one stands and is returned.
	q := `INSERT INTO statements (id, institution_id, customer_id, period_from, period_to, generated_at, body)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (customer_id, period_from, period_to) DO `
	if r.Regenerate {
		q += `UPDATE SET generated_at = excluded.generated_at, body = excluded.body`
	} else {
		q += `NOTHING`
	}
	res, err := s.db.Write.ExecContext(ctx, q, st.ID, st.InstitutionID, st.CustomerID, st.From, st.To,
		st.GeneratedAt.UnixMicro(), string(body))
	if err != nil {
		return nil, false, fmt.Errorf("store statement of %s: %w", c.ID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 && !r.Regenerate {
		return st, false, nil
	}
	// Regenerated over a stored one (which keeps its ID), or lost a race.
	got, err := s.find(ctx, c.ID, r.From, r.To)
	if err != nil {
		return nil, false, err
	}
	if got == nil {
		return nil, false, fmt.Errorf("statement of %s %s–%s vanished after storing", c.ID, r.From, r.To)
	}
	return got, !r.Regenerate, nil
}

// build reads the customer's accounts and their entries in the period.
func (s *Statements) build(ctx context.Context, c *Customer, from, to time.Time) (*Statement, error) {
	now := time.UnixMicro(s.clock.Now().UnixMicro()).UTC()
	st := &Statement{ID: uuid.Must(uuid.NewV7()).String(), InstitutionID: c.InstitutionID, CustomerID: c.ID,
		CustomerName: MaskName(c.Name), From: from.Format(time.DateOnly), To: to.Format(time.DateOnly),
		GeneratedAt: now, Accounts: []AccountStatement{}}
	scales := map[string]int{}
	lines := 0
	after := ""
	for {
		links, next, err := s.lifecycle.CustomerAccounts(ctx, c.ID, nil, after, maxPage)
		if err != nil {
			return nil, err
		}
		for _, l := range links {
			if len(st.Accounts) == MaxStatementAccounts {
				return nil, errorf(CodeInvalidRequest, "customer %s has more than %d accounts for one statement", c.ID, MaxStatementAccounts)
			}
			as, err := s.account(ctx, l.AccountID, from, to, scales, &lines)
			if err != nil {
				return nil, err
			}
			st.Accounts = append(st.Accounts, *as)
		}
		if next == "" {
			return st, nil
		}
		after = next
	}
}

// account builds one account's part: opening balance as it stood just
// before from (BalancesAt includes its bound, Entries does not exclude it),
// every entry in [from, to) page by page, and the closing balance.
func (s *Statements) account(ctx context.Context, id string, from, to time.Time, scales map[string]int, lines *int) (*AccountStatement, error) {
	open, err := s.ledger.BalancesAt(ctx, id, from.Add(-time.Microsecond))
	if err != nil {
		return nil, fmt.Errorf("statement account %s: %w", id, err)
	}
	scale, ok := scales[open.Asset]
	if !ok {
		a, err := s.ledger.GetAsset(ctx, open.Asset)
		if err != nil {
			return nil, fmt.Errorf("statement account %s: %w", id, err)
		}
		scale, scales[open.Asset] = a.Scale, a.Scale
	}
	as := &AccountStatement{AccountID: id, Name: open.Name, Code: open.Code, Asset: open.Asset, Scale: scale,
		NormalSide: open.NormalSide, Opening: open.Balance(open.NormalSide), Lines: []StatementLine{}}
	as.Closing = as.Opening
	var after int64
	for {
		page, next, err := s.ledger.Entries(ctx, ledger.EntryFilter{AccountID: id, From: from, To: to, After: after, Limit: statementPage})
		if err != nil {
			return nil, fmt.Errorf("statement account %s: %w", id, err)
		}
		for _, e := range page {
			if e.Kind != ledger.EntryPosted {
				continue // holds reserve, they do not move the balance
			}
			if *lines++; *lines > MaxStatementLines {
				return nil, errorf(CodeInvalidRequest, "the statement would hold more than %d lines; ask for a shorter period", MaxStatementLines)
			}
			var err error
			if e.Side == ledger.Debit {
				as.Debits, err = money.Add(as.Debits, e.Amount)
			} else {
				as.Credits, err = money.Add(as.Credits, e.Amount)
			}
			if err != nil {
				return nil, errorf(CodeOverflow, "the totals of account %s leave the int64 range", id)
			}
			as.Closing = e.Balance
			as.Lines = append(as.Lines, StatementLine{Seq: e.Seq, At: e.CreatedAt, Date: e.CreatedAt.Format(time.DateOnly),
				TransactionID: e.TransactionID, Type: e.Type, Reference: e.Reference, Side: e.Side, Amount: e.Amount, Balance: e.Balance})
		}
		if next == 0 {
			return as, nil
		}
		after = next
	}
}

const statementCols = `id, institution_id, customer_id, period_from, period_to, generated_at, body`

func scanStatement(sc scanner) (*Statement, error) {
	var id, inst, cust, from, to, body string
	var gen int64
	if err := sc.Scan(&id, &inst, &cust, &from, &to, &gen, &body); err != nil {
		return nil, err
	}
	st := &Statement{}
	if err := json.Unmarshal([]byte(body), st); err != nil {
		return nil, fmt.Errorf("statement %s: decode: %w", id, err)
	}
	// The columns are authoritative: a regenerated body keeps the row's ID.
	st.ID, st.InstitutionID, st.CustomerID, st.From, st.To = id, inst, cust, from, to
	st.GeneratedAt = time.UnixMicro(gen).UTC()
	return st, nil
}

func (s *Statements) find(ctx context.Context, customerID, from, to string) (*Statement, error) {
	st, err := scanStatement(s.db.Read.QueryRowContext(ctx, `SELECT `+statementCols+` FROM statements
		WHERE customer_id = $1 AND period_from = $2 AND period_to = $3`, customerID, from, to))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find statement of %s: %w", customerID, err)
	}
	return st, nil
}

// statementNotFound is the refusal for an unknown statement ID.
func statementNotFound(id string) *Error {
	if !store.Storable(id) || len(id) > 64 {
		return errorf(CodeStatementNotFound, "statement not found")
	}
	return errorf(CodeStatementNotFound, "statement %s not found", id)
}

// Get returns a stored statement. Permission: ledger:read. Returns
// CodeStatementNotFound (also outside the scope).
func (s *Statements) Get(ctx context.Context, id string, scope []string) (*Statement, error) {
	if !store.Storable(id) || len(id) > 64 {
		return nil, statementNotFound(id)
	}
	st, err := scanStatement(s.db.Read.QueryRowContext(ctx, `SELECT `+statementCols+` FROM statements WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !inScope(scope, st.InstitutionID)) {
		return nil, statementNotFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("get statement %s: %w", id, err)
	}
	return st, nil
}

// StatementSummary is a stored statement without its lines.
type StatementSummary struct {
	ID          string    `json:"id"`
	CustomerID  string    `json:"customer_id"`
	From        string    `json:"period_from"`
	To          string    `json:"period_to"`
	GeneratedAt time.Time `json:"generated_at"`
}

// List returns the customer's stored statements, newest period first, a
// page at a time (at most 1000). Permission: ledger:read. Returns
// CodeCustomerNotFound (also outside the scope).
func (s *Statements) List(ctx context.Context, customerID string, scope []string, limit int) ([]StatementSummary, error) {
	if _, err := s.customers.Get(ctx, customerID, scope); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = defaultPage
	}
	limit = min(limit, maxPage)
	rows, err := s.db.Read.QueryContext(ctx, `SELECT id, customer_id, period_from, period_to, generated_at FROM statements
		WHERE customer_id = $1 ORDER BY period_from DESC, period_to DESC`+fmt.Sprintf(" LIMIT %d", limit), customerID)
	if err != nil {
		return nil, fmt.Errorf("list statements of %s: %w", customerID, err)
	}
	defer rows.Close()
	out := []StatementSummary{}
	for rows.Next() {
		var x StatementSummary
		var gen int64
		if err := rows.Scan(&x.ID, &x.CustomerID, &x.From, &x.To, &gen); err != nil {
			return nil, fmt.Errorf("list statements of %s: %w", customerID, err)
		}
		x.GeneratedAt = time.UnixMicro(gen).UTC()
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list statements of %s: %w", customerID, err)
	}
	return out, nil
}

// MonthSummary counts what GenerateMonth did.
type MonthSummary struct {
	Generated int `json:"generated"`
	Existing  int `json:"existing" doc:"Stored before: left as they were."`
}

// GenerateMonth generates the statement of month (YYYY-MM) for every
// active customer of the institution, reading customers a page at a time.
// It is idempotent: statements stored already are left as they are, so a
// run that failed halfway is simply run again. Permission: ledger:read.
func (s *Statements) GenerateMonth(ctx context.Context, institutionID, month string) (MonthSummary, error) {
	var sum MonthSummary
	m, err := time.Parse("2006-01", month)
	if err != nil {
		return sum, fieldErr("month", "month must be YYYY-MM")
	}
	if err := checkInstitution(institutionID); err != nil {
		return sum, err
	}
	from, to := m.Format(time.DateOnly), m.AddDate(0, 1, 0).Format(time.DateOnly)
	after := ""
	for {
		cs, next, err := s.customers.List(ctx, CustomerFilter{InstitutionIDs: []string{institutionID}, Status: CustomerActive,
			After: after, Limit: defaultPage})
		if err != nil {
			return sum, err
		}
		for _, c := range cs {
			_, stored, err := s.Generate(ctx, StatementRequest{CustomerID: c.ID, From: from, To: to})
			if err != nil {
				return sum, fmt.Errorf("statement of %s for %s: %w", c.ID, month, err)
			}
			if stored {
				sum.Existing++
			} else {
				sum.Generated++
			}
		}
		if next == "" {
			return sum, nil
		}
		after = next
	}
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// WriteCSV writes the statement as CSV: a header, then per account an
// opening balance line, one line per entry and a closing balance line.
// Amounts are decimal strings in the asset's scale.
func (st *Statement) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"account", "asset", "date", "type", "reference", "debit", "credit", "balance"})
	for _, a := range st.Accounts {
		f := func(v int64) string { return money.Format(v, a.Scale) }
		_ = cw.Write([]string{a.AccountID, a.Asset, st.From, "opening_balance", "", "", "", f(a.Opening)})
		for _, l := range a.Lines {
			debit, credit := "", ""
			if l.Side == ledger.Debit {
				debit = f(l.Amount)
			} else {
				credit = f(l.Amount)
			}
			_ = cw.Write([]string{a.AccountID, a.Asset, l.Date, csvSafe(l.Type), csvSafe(l.Reference), debit, credit, f(l.Balance)})
		}
		_ = cw.Write([]string{a.AccountID, a.Asset, st.To, "closing_balance", "", f(a.Debits), f(a.Credits), f(a.Closing)})
	}
	cw.Flush()
	return cw.Error()
}

//go:embed templates/statement.html
var templates embed.FS

var statementTemplate = template.Must(template.New("statement.html").Funcs(template.FuncMap{
	"amount": money.Format,
	"debit": func(l StatementLine) bool {
		return l.Side == ledger.Debit
	},
}).ParseFS(templates, "templates/statement.html"))

// WriteHTML writes the statement as a printable HTML page.
func (st *Statement) WriteHTML(w io.Writer) error {
	return statementTemplate.Execute(w, st)
}
