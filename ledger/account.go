package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
)

// Side is one side of the double entry.
type Side string

// The two sides.
const (
	Debit  Side = "debit"
	Credit Side = "credit"
)

// Overdraft is an account's balance constraint.
type Overdraft string

// The balance constraints.
const (
	// OverdraftNone: the available balance may not go below zero.
	OverdraftNone Overdraft = "none"
	// OverdraftLimit: the available balance may go down to −OverdraftLimit.
	OverdraftLimit Overdraft = "limit"
	// OverdraftUnlimited: no constraint (internal and settlement accounts).
	OverdraftUnlimited Overdraft = "unlimited"
)

// Status is an account's life-cycle state.
type Status string

// The account statuses.
const (
	StatusActive       Status = "active"
	StatusDebitFrozen  Status = "debit_frozen"  // no debits (outflows for a liability)
	StatusCreditFrozen Status = "credit_frozen" // no credits
	StatusFrozen       Status = "frozen"        // neither
	StatusClosed       Status = "closed"        // terminal
)

// allows reports whether the status lets the account be posted on side s.
func (st Status) allows(s Side) *Error {
	switch {
	case st == StatusClosed:
		return errorf(CodeAccountClosed, "account is closed")
	case st == StatusFrozen,
		st == StatusDebitFrozen && s == Debit,
		st == StatusCreditFrozen && s == Credit:
		return errorf(CodeAccountFrozen, "account is %s and cannot be %sed", strings.ReplaceAll(string(st), "_", " "), s)
	}
	return nil
}

// Balances are an account's four running totals. Each is a sum of positive
// amounts and so never negative.
type Balances struct {
	DebitsPosted   int64 `json:"debits_posted"`
	CreditsPosted  int64 `json:"credits_posted"`
	DebitsPending  int64 `json:"debits_pending"`
	CreditsPending int64 `json:"credits_pending"`
}

// Balance is the posted balance on the normal side: credits minus debits for
// a credit-normal account, debits minus credits for a debit-normal one. The
// difference of two non-negative int64 values cannot overflow.
func (b Balances) Balance(normal Side) int64 {
	if normal == Credit {
		return b.CreditsPosted - b.DebitsPosted
	}
	return b.DebitsPosted - b.CreditsPosted
}

// Available is the balance less pending outflows (pending amounts on the
// side opposite the normal side). Pending inflows do not count.
func (b Balances) Available(normal Side) (int64, error) {
	out := b.CreditsPending
	if normal == Credit {
		out = b.DebitsPending
	}
	return money.Sub(b.Balance(normal), out)
}

// Account is a ledger account with its current balances.
type Account struct {
	ID             string            `json:"id"`
	InstitutionID  string            `json:"institution_id"`
	Asset          string            `json:"asset"`
	Code           string            `json:"code"`
	Name           string            `json:"name"`
	NormalSide     Side              `json:"normal_side"`
	Overdraft      Overdraft         `json:"overdraft"`
	OverdraftLimit int64             `json:"overdraft_limit"`
	Status         Status            `json:"status"`
	Metadata       map[string]string `json:"metadata"`
	Balances
	// EntrySeq is the number of journal entries the account has; the newest
	// entry's Seq.
	EntrySeq  int64     `json:"entry_seq"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// lastEntryAt orders entries in time: a new entry is never older.
	lastEntryAt int64
}

// check reports whether b satisfies the account's overdraft rule.
func (a *Account) check(b Balances) *Error {
	if a.Overdraft == OverdraftUnlimited {
		return nil
	}
	avail, err := b.Available(a.NormalSide)
	if err != nil {
		return errorf(CodeOverflow, "available balance of account %s out of range", a.ID)
	}
	limit := int64(0)
	if a.Overdraft == OverdraftLimit {
		limit = a.OverdraftLimit
	}
	if avail < -limit {
		return errorf(CodeInsufficientFunds, "account %s has insufficient available balance", a.ID)
	}
	return nil
}

// NewAccount describes an account to open.
type NewAccount struct {
	// ID is optional; the ledger assigns a time-ordered UUID when empty.
	ID             string
	InstitutionID  string
	Asset          string
	Code           string // chart-of-accounts code, e.g. "2001"
	Name           string
	NormalSide     Side
	Overdraft      Overdraft // default OverdraftNone
	OverdraftLimit int64     // with OverdraftLimit only
	Metadata       map[string]string
}

// Validate checks the shape of an account to open.
func (n *NewAccount) Validate() error {
	if n.ID != "" {
		if err := checkID(n.ID, "id"); err != nil {
			return err
		}
	}
	if err := checkToken(n.InstitutionID, "institution_id", 64); err != nil {
		return err
	}
	if err := checkToken(n.Code, "code", 32); err != nil {
		return err
	}
	if n.Asset == "" {
		return fieldErr(CodeInvalidRequest, "asset", "asset is required")
	}
	if len(n.Name) > 200 || !store.Storable(n.Name) {
		return fieldErr(CodeInvalidRequest, "name", "name must be text of at most 200 bytes")
	}
	if n.NormalSide != Debit && n.NormalSide != Credit {
		return fieldErr(CodeInvalidRequest, "normal_side", "normal side must be debit or credit")
	}
	switch n.Overdraft {
	case "":
		n.Overdraft = OverdraftNone
	case OverdraftNone, OverdraftLimit, OverdraftUnlimited:
	default:
		return fieldErr(CodeInvalidRequest, "overdraft", "overdraft must be none, limit or unlimited")
	}
	if n.OverdraftLimit < 0 || (n.OverdraftLimit != 0 && n.Overdraft != OverdraftLimit) {
		return fieldErr(CodeInvalidRequest, "overdraft_limit", "overdraft limit must be zero or positive, and only with overdraft \"limit\"")
	}
	if err := checkMetadata(n.Metadata); err != nil {
		return err
	}
	return nil
}

// AccountWrite is extra work committed in the same storage transaction as an
// account change (an audit record, an outbox event); see Write.
type AccountWrite func(ctx context.Context, tx *sql.Tx, before, after *Account) error

// CreateAccount opens an account. Its asset must exist. Returns
// CodeInvalidRequest (also for a duplicate ID) or CodeAssetNotFound.
func (l *Ledger) CreateAccount(ctx context.Context, n NewAccount, writes ...AccountWrite) (*Account, error) {
	accts, err := l.CreateAccounts(ctx, []NewAccount{n}, writes...)
	var e *Error
	if errors.As(err, &e) {
		e.Field = strings.TrimPrefix(e.Field, "[0].")
	}
	if err != nil {
		return nil, err
	}
	return accts[0], nil
}

// StatusChange asks for an account's status to change: to Status, or, when
// Status is empty, by freezing and thawing sides relative to the current
// status (freezing debits of a credit-frozen account makes it frozen).
type StatusChange struct {
	AccountID string
	Status    Status
	Freeze    []Side
	Thaw      []Side
	// InstitutionIDs, when not nil, restricts the change to accounts of these
	// institutions; others are reported as not found.
	InstitutionIDs []string
	// WriteAlways runs the writes even when the status does not change, for
	// domain records that matter on their own: a second freeze of a side
	// that is frozen already is still a freeze to record.
	WriteAlways bool
}

// SetStatus freezes, thaws or closes an account. Closing needs zero posted
// balance and no pending amounts (CodeAccountNotEmpty); a closed account
// stays closed (CodeInvalidStatusChange). A change to the status the account
// has already changes nothing and runs no writes (unless c.WriteAlways).
// Returns the account before
// and after the change.
func (l *Ledger) SetStatus(ctx context.Context, c StatusChange, writes ...AccountWrite) (before, after *Account, err error) {
	switch c.Status {
	case StatusActive, StatusDebitFrozen, StatusCreditFrozen, StatusFrozen, StatusClosed:
		if c.Freeze != nil || c.Thaw != nil {
			return nil, nil, fieldErr(CodeInvalidRequest, "status", "give a status or sides to freeze and thaw, not both")
		}
	case "":
		if len(c.Freeze)+len(c.Thaw) == 0 {
			return nil, nil, fieldErr(CodeInvalidRequest, "status", "give a status or sides to freeze or thaw")
		}
		for _, s := range append(append([]Side{}, c.Freeze...), c.Thaw...) {
			if s != Debit && s != Credit {
				return nil, nil, fieldErr(CodeInvalidRequest, "side", "side must be debit or credit")
			}
		}
	default:
		return nil, nil, fieldErr(CodeInvalidRequest, "status", "status must be active, debit_frozen, credit_frozen, frozen or closed")
	}
	err = l.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		accts, err := l.loadAccounts(ctx, tx, []string{c.AccountID}, true)
		if err != nil {
			return err
		}
		a := accts[c.AccountID]
		if a == nil || !inScope(c.InstitutionIDs, a.InstitutionID) {
			return errorf(CodeAccountNotFound, "account %s not found", c.AccountID)
		}
		b := *a
		before = &b
		if c.Status == "" {
			if a.Status == StatusClosed {
				return errorf(CodeInvalidStatusChange, "account %s is closed", a.ID)
			}
			c.Status = refreeze(a.Status, c.Freeze, c.Thaw)
		}
		if c.Status == a.Status {
			// Nothing changes: no update, and no ride-along writes unless
			// the caller asked for them.
			after = a
			if c.WriteAlways {
				return runAccountWrites(ctx, tx, writes, before, a)
			}
			return nil
		}
		if a.Status == StatusClosed && c.Status != StatusClosed {
			return errorf(CodeInvalidStatusChange, "account %s is closed and cannot be reopened", a.ID)
		}
		if c.Status == StatusClosed && a.Status != StatusClosed &&
			(a.Balance(a.NormalSide) != 0 || a.DebitsPending != 0 || a.CreditsPending != 0) {
			return errorf(CodeAccountNotEmpty, "account %s has a balance or open holds; move them before closing", a.ID)
		}
		// Inside the transaction, which holds SQLite's only writer
		// connection: no batch can cache the old status after this.
		l.cache.drop(a.ID)
		now := l.clock.Now()
		a.Status, a.UpdatedAt = c.Status, now.Truncate(time.Microsecond)
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET status = $1, updated_at = $2 WHERE id = $3`,
			string(a.Status), now.UnixMicro(), a.ID); err != nil {
			return fmt.Errorf("update account status: %w", err)
		}
		after = a
		return runAccountWrites(ctx, tx, writes, before, a)
	})
	if err != nil {
		return nil, nil, err
	}
	return before, after, nil
}

// refreeze applies freezes and thaws of sides to a status.
func refreeze(st Status, freeze, thaw []Side) Status {
	debit := st == StatusDebitFrozen || st == StatusFrozen
	credit := st == StatusCreditFrozen || st == StatusFrozen
	for _, s := range freeze {
		debit, credit = debit || s == Debit, credit || s == Credit
	}
	for _, s := range thaw {
		debit, credit = debit && s != Debit, credit && s != Credit
	}
	switch {
	case debit && credit:
		return StatusFrozen
	case debit:
		return StatusDebitFrozen
	case credit:
		return StatusCreditFrozen
	}
	return StatusActive
}

func runAccountWrites(ctx context.Context, tx *sql.Tx, writes []AccountWrite, before, after *Account) error {
	for _, w := range writes {
		if err := w(ctx, tx, before, after); err != nil {
			return err
		}
	}
	return nil
}

// GetAccount returns an account with its current balances, or
// CodeAccountNotFound.
func (l *Ledger) GetAccount(ctx context.Context, id string) (*Account, error) {
	accts, err := l.loadAccounts(ctx, l.db.Read, []string{id}, false)
	if err != nil {
		return nil, err
	}
	if a := accts[id]; a != nil {
		return a, nil
	}
	return nil, errorf(CodeAccountNotFound, "account %s not found", id)
}

// AccountFilter selects accounts for ListAccounts.
type AccountFilter struct {
	InstitutionIDs []string // nil: all institutions
	Asset          string
	Code           string
	Status         Status
	After          string // cursor: the last ID of the previous page
	Limit          int    // default 100, at most 1000
}

// ListAccounts returns accounts ordered by ID, a page at a time. next is the
// cursor for the following page, or "" after the last.
func (l *Ledger) ListAccounts(ctx context.Context, f AccountFilter) (accts []*Account, next string, err error) {
	q := &query{d: l.db.Dialect}
	q.add("id > ?", f.After)
	if f.InstitutionIDs != nil {
		q.in("institution_id", f.InstitutionIDs)
	}
	if f.Asset != "" {
		q.add("asset = ?", f.Asset)
	}
	if f.Code != "" {
		q.add("code = ?", f.Code)
	}
	if f.Status != "" {
		q.add("status = ?", string(f.Status))
	}
	limit := pageLimit(f.Limit)
	rows, err := l.db.Read.QueryContext(ctx, "SELECT "+accountCols+" FROM accounts WHERE "+q.where()+
		fmt.Sprintf(" ORDER BY id LIMIT %d", limit+1), q.args...)
	if err != nil {
		return nil, "", fmt.Errorf("list accounts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, "", err
		}
		accts = append(accts, a)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list accounts: %w", err)
	}
	if len(accts) > limit {
		accts = accts[:limit]
		next = accts[limit-1].ID
	}
	return accts, next, nil
}

const accountCols = `id, institution_id, asset, code, name, normal_side, overdraft, overdraft_limit, status,
	metadata, debits_posted, credits_posted, debits_pending, credits_pending, entry_seq, last_entry_at,
	created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanAccount(s scanner) (*Account, error) {
	var a Account
	var side, od, status, meta string
	var created, updated int64
	if err := s.Scan(&a.ID, &a.InstitutionID, &a.Asset, &a.Code, &a.Name, &side, &od, &a.OverdraftLimit,
		&status, &meta, &a.DebitsPosted, &a.CreditsPosted, &a.DebitsPending, &a.CreditsPending,
		&a.EntrySeq, &a.lastEntryAt, &created, &updated); err != nil {
		return nil, fmt.Errorf("scan account: %w", err)
	}
	a.NormalSide, a.Overdraft, a.Status = Side(side), Overdraft(od), Status(status)
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	if err := json.Unmarshal([]byte(meta), &a.Metadata); err != nil {
		return nil, fmt.Errorf("account %s metadata: %w", a.ID, err)
	}
	return &a, nil
}

// queryer is what both *sql.DB and *sql.Tx offer.
type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// loadAccounts reads the given accounts, in ID order, locking them on
// PostgreSQL when lock is set. Missing IDs are absent from the map.
func (l *Ledger) loadAccounts(ctx context.Context, qr queryer, ids []string, lock bool) (map[string]*Account, error) {
	out := make(map[string]*Account, len(ids))
	suffix := " ORDER BY id"
	if lock {
		suffix += l.db.Dialect.ForUpdate()
	}
	err := inChunks(ids, 1, func(chunk []string) error {
		rows, err := qr.QueryContext(ctx, "SELECT "+accountCols+" FROM accounts WHERE id"+inList(l.db.Dialect, len(chunk))+suffix, inArgs(l.db.Dialect, chunk)...)
		if err != nil {
			return fmt.Errorf("load accounts: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanAccount(rows)
			if err != nil {
				return err
			}
			out[a.ID] = a
		}
		return rows.Err()
	})
	return out, err
}

// inScope reports whether inst is among allowed (nil: every institution).
func inScope(allowed []string, inst string) bool {
	return allowed == nil || slices.Contains(allowed, inst)
}

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

var errNoRows = sql.ErrNoRows

func isNoRows(err error) bool { return errors.Is(err, errNoRows) }

// CreateAccounts opens many accounts in one storage transaction: all or
// none. It is how bulk imports and the demo open thousands of accounts
// without paying a durable commit for each.
// The writes run once per account, in the same storage transaction.
func (l *Ledger) CreateAccounts(ctx context.Context, ns []NewAccount, writes ...AccountWrite) ([]*Account, error) {
	out := make([]*Account, len(ns))
	now := l.clock.Now()
	for i := range ns {
		n := ns[i]
		if err := n.Validate(); err != nil {
			var e *Error
			if errors.As(err, &e) {
				e.Field = fmt.Sprintf("[%d].%s", i, e.Field)
			}
			return nil, err
		}
		if n.ID == "" {
			n.ID = newID()
		}
		if n.Metadata == nil {
			n.Metadata = map[string]string{}
		}
		out[i] = &Account{ID: n.ID, InstitutionID: n.InstitutionID, Asset: n.Asset, Code: n.Code, Name: n.Name,
			NormalSide: n.NormalSide, Overdraft: n.Overdraft, OverdraftLimit: n.OverdraftLimit, Status: StatusActive,
			Metadata: n.Metadata, CreatedAt: fromMicros(now.UnixMicro()), UpdatedAt: fromMicros(now.UnixMicro())}
	}
	const cols = 11
	err := l.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		assets := map[string]bool{}
		for _, a := range out {
			if !assets[a.Asset] {
				if _, err := l.getAsset(ctx, tx, a.Asset); err != nil {
					return err
				}
				assets[a.Asset] = true
			}
		}
		err := inChunks(out, cols, func(chunk []*Account) error {
			args := make([]any, 0, len(chunk)*cols)
			for _, a := range chunk {
				meta, _ := json.Marshal(a.Metadata)
				args = append(args, a.ID, a.InstitutionID, a.Asset, a.Code, a.Name, string(a.NormalSide),
					string(a.Overdraft), a.OverdraftLimit, string(a.Status), string(meta), now.UnixMicro())
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, institution_id, asset, code, name, normal_side,
				overdraft, overdraft_limit, status, metadata, created_at, debits_posted, credits_posted,
				debits_pending, credits_pending, entry_seq, last_entry_at, updated_at)
				SELECT v.*, 0, 0, 0, 0, 0, 0, v.column11 FROM (VALUES `+rowsValues(l.db.Dialect, len(chunk), cols, accountInsertCasts)+`) AS v`, args...)
			if _, dup := store.UniqueViolation(err); dup {
				return fieldErr(CodeInvalidRequest, "id", "an account with one of these ids exists")
			}
			if err != nil {
				return fmt.Errorf("insert accounts: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, a := range out {
			if err := runAccountWrites(ctx, tx, writes, nil, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

var accountInsertCasts = []string{"TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "BIGINT", "TEXT", "TEXT", "BIGINT"}
