package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/suanpan/suanpan/money"
)

const txCols = `t.id, t.institution_id, t.reference, t.kind, t.type, t.business_date, t.metadata, t.hold_id,
	t.reverses_id, t.created_at, h.expires_at`

func scanTransaction(s scanner) (*Transaction, error) {
	var t Transaction
	var kind, meta string
	var hold, rev sql.NullString
	var created int64
	var expires sql.NullInt64
	if err := s.Scan(&t.ID, &t.InstitutionID, &t.Reference, &kind, &t.Type, &t.BusinessDate, &meta, &hold, &rev,
		&created, &expires); err != nil {
		return nil, fmt.Errorf("scan transaction: %w", err)
	}
	t.Kind, t.HoldID, t.ReversesID, t.CreatedAt = Kind(kind), hold.String, rev.String, fromMicros(created)
	if expires.Valid {
		t.ExpiresAt = fromMicros(expires.Int64)
	}
	if err := json.Unmarshal([]byte(meta), &t.Metadata); err != nil {
		return nil, fmt.Errorf("transaction %s metadata: %w", t.ID, err)
	}
	return &t, nil
}

// loadTransactions reads whole transactions (with postings and entries).
func (l *Ledger) loadTransactions(ctx context.Context, q queryer, ids []string) (map[string]*Transaction, error) {
	out := make(map[string]*Transaction, len(ids))
	err := inChunks(ids, 1, func(chunk []string) error {
		rows, err := q.QueryContext(ctx, `SELECT `+txCols+` FROM transactions t LEFT JOIN holds h ON h.id = t.id
			WHERE t.id`+inList(l.db.Dialect, len(chunk)), inArgs(l.db.Dialect, chunk)...)
		if err != nil {
			return fmt.Errorf("load transactions: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanTransaction(rows)
			if err != nil {
				return err
			}
			out[t.ID] = t
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	err = inChunks(slices.Sorted(maps.Keys(out)), 1, func(chunk []string) error {
		rows, err := q.QueryContext(ctx, `SELECT `+entryCols+` FROM entries
			WHERE tx_id`+inList(l.db.Dialect, len(chunk))+` ORDER BY tx_id, kind DESC, posting, side DESC`, inArgs(l.db.Dialect, chunk)...)
		if err != nil {
			return fmt.Errorf("load entries: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanEntry(rows)
			if err != nil {
				return err
			}
			t := out[e.TransactionID]
			t.Entries = append(t.Entries, e)
		}
		return rows.Err()
	})
	for _, t := range out {
		t.Postings = postingsOf(t)
	}
	return out, err
}

// postingsOf rebuilds what a transaction moved from its entries.
func postingsOf(t *Transaction) []Posting {
	want := EntryPosted
	switch t.Kind {
	case KindHold:
		want = EntryPending
	case KindVoid:
		want = EntryRelease
	}
	var ps []Posting
	last := -1
	for _, e := range t.Entries {
		if e.Kind != want {
			continue
		}
		if e.Posting != last {
			ps = append(ps, Posting{Asset: e.Asset, Amount: e.Amount})
			last = e.Posting
		}
		if e.Side == Debit {
			ps[len(ps)-1].Debit = e.AccountID
		} else {
			ps[len(ps)-1].Credit = e.AccountID
		}
	}
	return ps
}

const entryCols = `account_id, seq, tx_id, posting, side, kind, asset, amount, debits_posted_after,
	credits_posted_after, debits_pending_after, credits_pending_after, created_at`

func scanEntry(s scanner, extra ...any) (Entry, error) {
	var e Entry
	var side, kind string
	var created int64
	dest := append([]any{&e.AccountID, &e.Seq, &e.TransactionID, &e.Posting, &side, &kind, &e.Asset, &e.Amount,
		&e.After.DebitsPosted, &e.After.CreditsPosted, &e.After.DebitsPending, &e.After.CreditsPending, &created}, extra...)
	if err := s.Scan(dest...); err != nil {
		return e, fmt.Errorf("scan entry: %w", err)
	}
	e.Side, e.Kind, e.CreatedAt = Debit, EntryKind(kind), fromMicros(created)
	if side == "C" {
		e.Side = Credit
	}
	return e, nil
}

// GetTransaction returns a transaction with its postings and entries, or
// CodeTransactionNotFound.
func (l *Ledger) GetTransaction(ctx context.Context, id string) (*Transaction, error) {
	trs, err := l.loadTransactions(ctx, l.db.Read, []string{id})
	if err != nil {
		return nil, err
	}
	if t := trs[id]; t != nil {
		return t, nil
	}
	return nil, errorf(CodeTransactionNotFound, "transaction %s not found", id)
}

// GetTransactionByReference returns the transaction an institution posted
// under a reference, or CodeTransactionNotFound.
func (l *Ledger) GetTransactionByReference(ctx context.Context, institutionID, reference string) (*Transaction, error) {
	var id string
	err := l.db.Read.QueryRowContext(ctx, `SELECT id FROM transactions WHERE reference = $1 AND institution_id = $2`,
		reference, institutionID).Scan(&id)
	if isNoRows(err) {
		return nil, errorf(CodeTransactionNotFound, "no transaction with reference %s", reference)
	}
	if err != nil {
		return nil, fmt.Errorf("find transaction by reference: %w", err)
	}
	return l.GetTransaction(ctx, id)
}

// TransactionFilter selects transactions for ListTransactions.
type TransactionFilter struct {
	InstitutionIDs []string // nil: all
	Type           string
	Kind           Kind
	From, To       time.Time // creation time, From inclusive, To exclusive; zero: open
	After          string    // cursor: the last ID of the previous page
	Limit          int       // default 100, at most 1000
}

// ListTransactions returns transactions in the order the ledger accepted
// them, a page at a time; next is the cursor for the following page.
func (l *Ledger) ListTransactions(ctx context.Context, f TransactionFilter) (trs []*Transaction, next string, err error) {
	q := &query{d: l.db.Dialect}
	if f.InstitutionIDs != nil {
		q.in("t.institution_id", f.InstitutionIDs)
	}
	if f.Type != "" {
		q.add("t.type = ?", f.Type)
	}
	if f.Kind != "" {
		q.add("t.kind = ?", string(f.Kind))
	}
	// IDs are ordered by creation time, so time bounds are ID bounds.
	if !f.From.IsZero() {
		q.add("t.id >= ?", idFloor(f.From))
	}
	if !f.To.IsZero() {
		q.add("t.id < ?", idFloor(f.To))
	}
	if f.After != "" {
		q.add("t.id > ?", f.After)
	}
	limit := pageLimit(f.Limit)
	rows, err := l.db.Read.QueryContext(ctx, `SELECT t.id FROM transactions t WHERE `+q.where()+
		fmt.Sprintf(" ORDER BY t.id LIMIT %d", limit+1), q.args...)
	if err != nil {
		return nil, "", fmt.Errorf("list transactions: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, "", fmt.Errorf("list transactions: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list transactions: %w", err)
	}
	more := len(ids) > limit
	if more {
		ids = ids[:limit]
	}
	byID, err := l.loadTransactions(ctx, l.db.Read, ids)
	if err != nil {
		return nil, "", err
	}
	for _, id := range ids {
		trs = append(trs, byID[id])
	}
	if more {
		next = trs[len(trs)-1].ID
	}
	return trs, next, nil
}

// BalancesAt returns an account as it stood at t: its balances after the
// last entry at or before t (all zero before its first entry).
func (l *Ledger) BalancesAt(ctx context.Context, accountID string, t time.Time) (*Account, error) {
	a, err := l.GetAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var b Balances
	var seq int64
	err = l.db.Read.QueryRowContext(ctx, `SELECT seq, debits_posted_after, credits_posted_after, debits_pending_after,
		credits_pending_after FROM entries WHERE account_id = $1 AND created_at <= $2
		ORDER BY created_at DESC, seq DESC LIMIT 1`, accountID, t.UnixMicro()).
		Scan(&seq, &b.DebitsPosted, &b.CreditsPosted, &b.DebitsPending, &b.CreditsPending)
	if err != nil && !isNoRows(err) {
		return nil, fmt.Errorf("balance at: %w", err)
	}
	a.Balances, a.EntrySeq = b, seq
	return a, nil
}

// StatementLine is an account entry with the transaction it belongs to and
// the account's balance and available balance after it.
type StatementLine struct {
	Entry
	Type      string `json:"type"`
	Reference string `json:"reference"`
	Balance   int64  `json:"balance"`
	Available int64  `json:"available"`
}

// EntryFilter selects an account's entries.
type EntryFilter struct {
	AccountID string
	From, To  time.Time // From inclusive, To exclusive; zero: open
	Types     []string  // transaction types; nil: all
	After     int64     // cursor: the Seq of the last line of the previous page
	Limit     int       // default 100, at most 1000
}

// Entries returns an account's journal in order, with the running balance
// after each line, a page at a time; next is the cursor for the following
// page, 0 after the last.
func (l *Ledger) Entries(ctx context.Context, f EntryFilter) (lines []StatementLine, next int64, err error) {
	a, err := l.GetAccount(ctx, f.AccountID)
	if err != nil {
		return nil, 0, err
	}
	q := &query{d: l.db.Dialect}
	q.add("e.account_id = ?", f.AccountID)
	q.add("e.seq > ?", f.After)
	if !f.From.IsZero() {
		q.add("e.created_at >= ?", f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		q.add("e.created_at < ?", f.To.UnixMicro())
	}
	if f.Types != nil {
		q.in("t.type", f.Types)
	}
	limit := pageLimit(f.Limit)
	rows, err := l.db.Read.QueryContext(ctx, `SELECT `+prefixCols("e.", entryCols)+`, t.type, t.reference FROM entries e
		JOIN transactions t ON t.id = e.tx_id WHERE `+q.where()+fmt.Sprintf(" ORDER BY e.seq LIMIT %d", limit+1), q.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list entries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var line StatementLine
		if line.Entry, err = scanEntry(rows, &line.Type, &line.Reference); err != nil {
			return nil, 0, err
		}
		line.Balance = line.After.Balance(a.NormalSide)
		line.Available, _ = line.After.Available(a.NormalSide)
		lines = append(lines, line)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list entries: %w", err)
	}
	if len(lines) > limit {
		lines = lines[:limit]
		next = lines[limit-1].Seq
	}
	return lines, next, nil
}

// HoldStatus is a hold's state.
type HoldStatus string

// The hold states.
const (
	HoldPending HoldStatus = "pending"
	HoldPosted  HoldStatus = "posted"
	HoldVoided  HoldStatus = "voided"
	HoldExpired HoldStatus = "expired"
)

// Hold is a reservation made by a hold transaction (its ID is the hold's).
type Hold struct {
	ID            string     `json:"id"`
	InstitutionID string     `json:"institution_id"`
	Status        HoldStatus `json:"status"`
	// ExpiresAt is zero for a hold that never expires. A pending hold past
	// its expiry is reported as expired: it can no longer be posted, and the
	// sweeper releases its reservation.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// ResolvedBy is the post or void transaction that ended the hold.
	ResolvedBy string    `json:"resolved_by,omitempty"`
	Postings   []Posting `json:"postings"`
	CreatedAt  time.Time `json:"created_at"`
}

// GetHold returns a hold, or CodeHoldNotFound.
func (l *Ledger) GetHold(ctx context.Context, id string) (*Hold, error) {
	q := &query{d: l.db.Dialect}
	q.add("h.id = ?", id)
	hs, _, err := l.listHolds(ctx, q.where(), q.args, 1)
	if err != nil {
		return nil, err
	}
	if len(hs) == 0 {
		return nil, errorf(CodeHoldNotFound, "hold %s not found", id)
	}
	return hs[0], nil
}

// HoldFilter selects holds for ListHolds.
type HoldFilter struct {
	InstitutionIDs []string // nil: all
	AccountID      string   // holds with a posting on this account
	Status         HoldStatus
	After          string // cursor: the last ID of the previous page
	Limit          int    // default 100, at most 1000
}

// ListHolds returns holds ordered by ID, a page at a time.
func (l *Ledger) ListHolds(ctx context.Context, f HoldFilter) ([]*Hold, string, error) {
	q := &query{d: l.db.Dialect}
	q.add("h.id > ?", f.After)
	if f.InstitutionIDs != nil {
		q.in("h.institution_id", f.InstitutionIDs)
	}
	if f.AccountID != "" {
		q.add("EXISTS (SELECT 1 FROM entries e WHERE e.tx_id = h.id AND e.account_id = ?)", f.AccountID)
	}
	now := l.clock.Now().UnixMicro()
	switch f.Status {
	case "":
	case HoldPending:
		q.add("h.status = 'pending' AND (h.expires_at IS NULL OR h.expires_at > ?)", now)
	case HoldExpired:
		q.add("(h.status = 'expired' OR (h.status = 'pending' AND h.expires_at <= ?))", now)
	default:
		q.add("h.status = ?", string(f.Status))
	}
	return l.listHolds(ctx, q.where(), q.args, pageLimit(f.Limit))
}

func (l *Ledger) listHolds(ctx context.Context, where string, args []any, limit int) ([]*Hold, string, error) {
	rows, err := l.db.Read.QueryContext(ctx, `SELECT h.id, h.institution_id, h.status, h.expires_at, h.resolved_by,
		h.created_at FROM holds h WHERE `+where+fmt.Sprintf(" ORDER BY h.id LIMIT %d", limit+1), args...)
	if err != nil {
		return nil, "", fmt.Errorf("list holds: %w", err)
	}
	var states []*holdState
	for rows.Next() {
		h, err := scanHold(rows)
		if err != nil {
			rows.Close()
			return nil, "", err
		}
		states = append(states, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list holds: %w", err)
	}
	next := ""
	if len(states) > limit {
		states = states[:limit]
		next = states[limit-1].id
	}
	ids := make([]string, len(states))
	for i, h := range states {
		ids[i] = h.id
	}
	postings, err := loadPostings(ctx, l.db.Dialect, l.db.Read, ids, EntryPending)
	if err != nil {
		return nil, "", err
	}
	now := l.clock.Now().UnixMicro()
	out := make([]*Hold, len(states))
	for i, s := range states {
		h := &Hold{ID: s.id, InstitutionID: s.inst, Status: HoldStatus(s.status), ResolvedBy: s.resolvedBy,
			CreatedAt: fromMicros(s.createdAt)}
		if s.expiresAt != 0 {
			h.ExpiresAt = fromMicros(s.expiresAt)
			if h.Status == HoldPending && s.expiresAt <= now {
				h.Status = HoldExpired
			}
		}
		for _, p := range postings[s.id] {
			h.Postings = append(h.Postings, p.Posting)
		}
		out[i] = h
	}
	return out, next, nil
}

// TrialBalanceLine totals the accounts of one asset and chart code.
type TrialBalanceLine struct {
	Asset          string `json:"asset"`
	Code           string `json:"code"`
	Accounts       int64  `json:"accounts"`
	DebitsPosted   int64  `json:"debits_posted"`
	CreditsPosted  int64  `json:"credits_posted"`
	DebitsPending  int64  `json:"debits_pending"`
	CreditsPending int64  `json:"credits_pending"`
}

// TrialBalanceTotal totals one asset; in a sound ledger debits equal credits.
type TrialBalanceTotal struct {
	Asset         string `json:"asset"`
	DebitsPosted  int64  `json:"debits_posted"`
	CreditsPosted int64  `json:"credits_posted"`
	Balanced      bool   `json:"balanced"`
}

// TrialBalance is the trial balance per asset and chart-of-accounts code.
type TrialBalance struct {
	Lines    []TrialBalanceLine  `json:"lines"`
	Totals   []TrialBalanceTotal `json:"totals"`
	Balanced bool                `json:"balanced"`
}

// TrialBalance totals posted and pending debits and credits per asset and
// account code, over the given institutions (nil: all).
func (l *Ledger) TrialBalance(ctx context.Context, institutionIDs []string) (*TrialBalance, error) {
	q := &query{d: l.db.Dialect}
	if institutionIDs != nil {
		q.in("institution_id", institutionIDs)
	}
	// Summed in Go, overflow-checked: an asset's totals over many accounts
	// can leave the int64 range although every account is within it, and
	// SQL SUM would fail (SQLite) or change type (PostgreSQL).
	rows, err := l.db.Read.QueryContext(ctx, `SELECT asset, code, debits_posted, credits_posted, debits_pending,
		credits_pending FROM accounts WHERE `+q.where()+` ORDER BY asset, code`, q.args...)
	if err != nil {
		return nil, fmt.Errorf("trial balance: %w", err)
	}
	defer rows.Close()
	tb := &TrialBalance{Balanced: true}
	overflow := func(asset string) error {
		return errorf(CodeOverflow, "the %s totals exceed the int64 range; Verify still checks them", asset)
	}
	for rows.Next() {
		var asset, code string
		var b Balances
		if err := rows.Scan(&asset, &code, &b.DebitsPosted, &b.CreditsPosted, &b.DebitsPending, &b.CreditsPending); err != nil {
			return nil, fmt.Errorf("trial balance: %w", err)
		}
		if n := len(tb.Lines); n == 0 || tb.Lines[n-1].Asset != asset || tb.Lines[n-1].Code != code {
			tb.Lines = append(tb.Lines, TrialBalanceLine{Asset: asset, Code: code})
		}
		x := &tb.Lines[len(tb.Lines)-1]
		x.Accounts++
		var errs [4]error
		x.DebitsPosted, errs[0] = money.Add(x.DebitsPosted, b.DebitsPosted)
		x.CreditsPosted, errs[1] = money.Add(x.CreditsPosted, b.CreditsPosted)
		x.DebitsPending, errs[2] = money.Add(x.DebitsPending, b.DebitsPending)
		x.CreditsPending, errs[3] = money.Add(x.CreditsPending, b.CreditsPending)
		if n := len(tb.Totals); n == 0 || tb.Totals[n-1].Asset != asset {
			tb.Totals = append(tb.Totals, TrialBalanceTotal{Asset: asset})
		}
		t := &tb.Totals[len(tb.Totals)-1]
		var e1, e2 error
		t.DebitsPosted, e1 = money.Add(t.DebitsPosted, b.DebitsPosted)
		t.CreditsPosted, e2 = money.Add(t.CreditsPosted, b.CreditsPosted)
		if errors.Join(errs[0], errs[1], errs[2], errs[3], e1, e2) != nil {
			return nil, overflow(asset)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("trial balance: %w", err)
	}
	for i := range tb.Totals {
		t := &tb.Totals[i]
		t.Balanced = t.DebitsPosted == t.CreditsPosted
		tb.Balanced = tb.Balanced && t.Balanced
	}
	return tb, nil
}

// prefixCols qualifies each column of a comma-separated list.
func prefixCols(prefix, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}
