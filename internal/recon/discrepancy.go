package recon

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/outbox"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/recon/match"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
)

// Discrepancy statuses.
const (
	StatusNew             = "new"               // recorded; its rule or parking not yet applied
	StatusOpen            = "open"              // parked, waiting for an operator
	StatusWriteOffPending = "write_off_pending" // a write-off waits for a second person
	StatusResolved        = "resolved"
)

// Resolutions, and the operator actions of the same names.
const (
	ResolutionAutoSettled   = "auto_settled"   // a rule applied the channel's answer
	ResolutionAutoFailed    = "auto_failed"    // a rule failed orders the channel never listed
	ResolutionAcceptChannel = "accept_channel" // the channel is right: Suanpan's books follow it
	ResolutionAcceptOwn     = "accept_suanpan" // Suanpan is right: the parking is undone, the channel corrects
	ResolutionWriteOff      = "write_off"      // the difference goes to the write-off account
)

// Discrepancy is a difference between a channel's statement and Suanpan.
type Discrepancy struct {
	ID            string     `json:"id"`
	RunID         string     `json:"run_id"`
	InstitutionID string     `json:"institution_id"`
	ChannelID     string     `json:"channel_id"`
	Kind          match.Kind `json:"kind" enum:"long,short,amount_mismatch,status_mismatch,duplicate,fee_mismatch"`
	By            match.By   `json:"by,omitempty"`
	StatementID   string     `json:"statement_id,omitempty"`
	LineNo        int        `json:"line_no,omitempty" doc:"The statement line; 0 for an order the channel never listed."`
	OrderIDs      []string   `json:"order_ids"`
	// AccountID is the customer account accepting the channel's side
	// adjusts: the orders' account, "" when there is none (a long line)
	// or several.
	AccountID string            `json:"account_id,omitempty"`
	Direction channel.Direction `json:"direction"`
	Asset     string            `json:"asset"`
	// Difference is the channel's amount minus Suanpan's (for a fee
	// mismatch, the channel's fee minus the expected one).
	Difference int64 `json:"difference"`
	// Effect is the difference as a debit to the channel's clearing
	// account: what is parked in suspense while the discrepancy is open.
	Effect     int64      `json:"effect"`
	Detail     string     `json:"detail"`
	Status     string     `json:"status" enum:"new,open,write_off_pending,resolved"`
	Action     string     `json:"action" enum:"settle,fail,park"`
	Resolution string     `json:"resolution,omitempty"`
	ParkTx     string     `json:"park_transaction_id,omitempty"`
	ResolveTx  string     `json:"resolve_transaction_id,omitempty"`
	ProposedBy string     `json:"proposed_by,omitempty"`
	ResolvedBy string     `json:"resolved_by,omitempty"`
	Note       string     `json:"note,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	Version    int        `json:"version"`
}

func scanDiscrepancy(sc interface{ Scan(...any) error }) (*Discrepancy, error) {
	var d Discrepancy
	var orders string
	var created int64
	var resolved sql.NullInt64
	if err := sc.Scan(&d.ID, &d.RunID, &d.InstitutionID, &d.ChannelID, &d.Kind, &d.By, &d.StatementID, &d.LineNo, &orders,
		&d.AccountID, &d.Direction, &d.Asset, &d.Difference, &d.Effect, &d.Detail, &d.Status, &d.Action, &d.Resolution, &d.ParkTx,
		&d.ResolveTx, &d.ProposedBy, &d.ResolvedBy, &d.Note, &created, &resolved, &d.Version); err != nil {
		return nil, err
	}
	d.OrderIDs = []string{}
	if orders != "" {
		d.OrderIDs = strings.Split(orders, ",")
	}
	d.CreatedAt = fromMicros(created)
	if resolved.Valid {
		t := fromMicros(resolved.Int64)
		d.ResolvedAt = &t
	}
	return &d, nil
}

// discrepancies reads the discrepancies matching where, by ID, at most
// limit of them (0: all).
func (s *Service) discrepancies(ctx context.Context, where string, args []any, limit int) ([]*Discrepancy, error) {
	q := `SELECT ` + discrepancyCols + ` FROM recon_discrepancies WHERE ` + where + ` ORDER BY id`
	if limit > 0 {
		q += ` LIMIT ` + strconv.Itoa(limit)
	}
	rows, err := s.db.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read discrepancies: %w", err)
	}
	defer rows.Close()
	out := []*Discrepancy{}
	for rows.Next() {
		d, err := scanDiscrepancy(rows)
		if err != nil {
			return nil, fmt.Errorf("read discrepancies: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func sortByID(ds []*Discrepancy) {
	slices.SortFunc(ds, func(a, b *Discrepancy) int { return strings.Compare(a.ID, b.ID) })
}

// GetDiscrepancy returns a discrepancy in scope. Permission: recon:read.
// Returns CodeDiscrepancyNotFound.
func (s *Service) GetDiscrepancy(ctx context.Context, id string, scope []string) (*Discrepancy, error) {
	if !validID(id) {
		return nil, errorf(CodeDiscrepancyNotFound, "id", "discrepancy not found")
	}
	ds, err := s.discrepancies(ctx, `id = $1`, []any{id}, 0)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 || !inScope(scope, ds[0].InstitutionID) {
		return nil, errorf(CodeDiscrepancyNotFound, "id", "discrepancy %s not found", id)
	}
	return ds[0], nil
}

// DiscrepancyFilter selects discrepancies.
type DiscrepancyFilter struct {
	Status    string
	Kind      string
	ChannelID string
	RunID     string
	Scope     []string
	After     string
	Limit     int
}

// ListDiscrepancies returns discrepancies by ID, a page at a time, with the
// cursor of the next page. Permission: recon:read.
func (s *Service) ListDiscrepancies(ctx context.Context, f DiscrepancyFilter) ([]*Discrepancy, string, error) {
	var w store.Where
	w.Add("status = ?", f.Status)
	w.Add("kind = ?", f.Kind)
	w.Add("channel_id = ?", f.ChannelID)
	w.Add("run_id = ?", f.RunID)
	w.Add("id > ?", f.After)
	w.In("institution_id", f.Scope)
	limit := pageSize(f.Limit)
	ds, err := s.discrepancies(ctx, w.String(), w.Args, limit+1)
	if err != nil {
		return nil, "", err
	}
	return page(ds, limit, func(d *Discrepancy) string { return d.ID })
}

const runCols = `id, institution_id, channel_id, statement_id, date, status, counts, open_amount, alerted, started_by, started_at, finished_at`

func scanRun(sc interface{ Scan(...any) error }) (*Run, error) {
	var r Run
	var counts string
	var alerted int
	var started int64
	var finished sql.NullInt64
	if err := sc.Scan(&r.ID, &r.InstitutionID, &r.ChannelID, &r.StatementID, &r.Date, &r.Status, &counts, &r.OpenAmount, &alerted,
		&r.StartedBy, &started, &finished); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(counts), &r.Counts); err != nil {
		return nil, fmt.Errorf("run %s counts: %w", r.ID, err)
	}
	r.Alerted, r.StartedAt = alerted != 0, fromMicros(started)
	if finished.Valid {
		t := fromMicros(finished.Int64)
		r.FinishedAt = &t
	}
	return &r, nil
}

// GetRun returns a run in scope. Permission: recon:read. Returns
// CodeRunNotFound.
func (s *Service) GetRun(ctx context.Context, id string, scope []string) (*Run, error) {
	if !validID(id) {
		return nil, errorf(CodeRunNotFound, "id", "run not found")
	}
	r, err := scanRun(s.db.Read.QueryRowContext(ctx, `SELECT `+runCols+` FROM recon_runs WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !inScope(scope, r.InstitutionID)) {
		return nil, errorf(CodeRunNotFound, "id", "run %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read run %s: %w", id, err)
	}
	return r, nil
}

// RunFilter selects runs.
type RunFilter struct {
	ChannelID string
	Date      string
	Scope     []string
	After     string
	Limit     int
}

// ListRuns returns runs newest first, a page at a time. Permission:
// recon:read.
func (s *Service) ListRuns(ctx context.Context, f RunFilter) ([]*Run, string, error) {
	var w store.Where
	w.Add("channel_id = ?", f.ChannelID)
	w.Add("date = ?", f.Date)
	w.Add("id < ?", f.After)
	w.In("institution_id", f.Scope)
	return listPage(ctx, s.db.Read, `SELECT `+runCols+` FROM recon_runs WHERE `+w.String()+` ORDER BY id DESC`, w.Args, f.Limit,
		scanRun, func(r *Run) string { return r.ID })
}

// ResolveRequest is an operator's decision on an open discrepancy.
type ResolveRequest struct {
	ID string
	// Action is accept_channel (Suanpan's books follow the channel: the
	// orders fail and are compensated when the channel has nothing or a
	// failure for them; otherwise the difference moves between suspense
	// and the customer's account), accept_suanpan (the parking is undone:
	// the channel is expected to correct its side) or write_off (proposes
	// writing the difference off; a second person decides).
	Action string
	// AccountID is the customer account accepting the channel adjusts,
	// when the discrepancy has none (a long line) or another is meant.
	AccountID string
	Note      string
	By        string
	Scope     []string
	Writes    []Write
}

// Resolve applies an operator's decision to an open discrepancy; the
// money moves in one ledger transaction with the discrepancy's change and
// its event. Permission: recon:resolve. Returns CodeInvalidRequest,
// CodeDiscrepancyNotFound, CodeDiscrepancyClosed, and the ledger's and
// payments' refusals (e.g. insufficient funds on the account to debit).
func (s *Service) Resolve(ctx context.Context, r ResolveRequest) (*Discrepancy, error) {
	if r.Note == "" {
		return nil, invalid("note", "say why: note is required")
	}
	if err := text("note", r.Note, maxNoteBytes); err != nil {
		return nil, err
	}
	d, err := s.GetDiscrepancy(ctx, r.ID, r.Scope)
	if err != nil {
		return nil, err
	}
	if d.Status != StatusOpen {
		return nil, errorf(CodeDiscrepancyClosed, "id", "discrepancy %s is %s, not open", d.ID, d.Status)
	}
	switch r.Action {
	case ResolutionAcceptOwn:
		return s.unpark(ctx, d, ResolutionAcceptOwn, r)
	case ResolutionAcceptChannel:
		return s.acceptChannel(ctx, d, r)
	case ResolutionWriteOff:
		return s.withoutMoney(ctx, d, func(ctx context.Context, tx *sql.Tx, _ string) error {
			if err := s.changeDiscrepancy(ctx, tx, d, StatusWriteOffPending, "", "", r.By, "", r.Note); err != nil {
				return err
			}
			return s.discrepancyEvent(ctx, tx, EventWriteOffProposed, d, r.Writes)
		})
	}
	return nil, invalid("action", "action must be accept_channel, accept_suanpan or write_off")
}

// unpark undoes a discrepancy's parking (nothing when none was needed)
// and resolves it.
func (s *Service) unpark(ctx context.Context, d *Discrepancy, resolution string, r ResolveRequest) (*Discrepancy, error) {
	close := func(ctx context.Context, tx *sql.Tx, txID string) error {
		if err := s.changeDiscrepancy(ctx, tx, d, StatusResolved, resolution, txID, "", r.By, r.Note); err != nil {
			return err
		}
		return s.discrepancyEvent(ctx, tx, EventDiscrepancyResolved, d, r.Writes)
	}
	if d.ParkTx == "" {
		return s.withoutMoney(ctx, d, close)
	}
	return s.post(ctx, d, ledger.Request{Kind: ledger.KindReversal, InstitutionID: d.InstitutionID, Reference: resolveRef(d),
		Type: "recon_unpark", TransactionID: d.ParkTx, Metadata: map[string]string{"discrepancy_id": d.ID, "resolution": resolution}}, close)
}

func resolveRef(d *Discrepancy) string {
	return "recon:" + d.ID + ":resolve:" + strconv.Itoa(d.Version)
}

// acceptChannel makes Suanpan's books follow the channel.
func (s *Service) acceptChannel(ctx context.Context, d *Discrepancy, r ResolveRequest) (*Discrepancy, error) {
	channelFailed := len(d.OrderIDs) > 0 && (d.Kind == match.Short || d.Kind == match.StatusMismatch)
	if channelFailed && d.LineNo != 0 {
		var status channel.Status
		if err := s.db.Read.QueryRowContext(ctx, `SELECT status FROM recon_lines WHERE statement_id = $1 AND line_no = $2`,
			d.StatementID, d.LineNo).Scan(&status); err != nil {
			return nil, fmt.Errorf("read line %d of statement %s: %w", d.LineNo, d.StatementID, err)
		}
		channelFailed = status == channel.Failed
	}
	if channelFailed {
		// The channel has no money for these orders: they fail, and a
		// success is compensated by the payments service; the parking
		// then has nothing left to hold.
		for _, id := range d.OrderIDs {
			if _, err := s.pay.Settle(ctx, id, channel.Failed, "", "operator", r.Note, nil); err != nil {
				return nil, err
			}
		}
		return s.unpark(ctx, d, ResolutionAcceptChannel, r)
	}
	close := func(ctx context.Context, tx *sql.Tx, txID string) error {
		if err := s.changeDiscrepancy(ctx, tx, d, StatusResolved, ResolutionAcceptChannel, txID, "", r.By, r.Note); err != nil {
			return err
		}
		if d.Kind == match.FeeMismatch && len(d.OrderIDs) == 1 {
			// The channel's fee is the order's fee from now on.
			if _, err := tx.ExecContext(ctx, `UPDATE payment_orders SET channel_fee = channel_fee + $1 WHERE id = $2`,
				d.Difference, d.OrderIDs[0]); err != nil {
				return fmt.Errorf("take the channel's fee: %w", err)
			}
		}
		return s.discrepancyEvent(ctx, tx, EventDiscrepancyResolved, d, r.Writes)
	}
	if d.Effect == 0 {
		return s.withoutMoney(ctx, d, close)
	}
	account := r.AccountID
	if account == "" {
		account = d.AccountID
	}
	if account == "" {
		return nil, invalid("account_id", "the discrepancy has no single customer account: name the account the channel's side belongs to")
	}
	acct, err := s.ledger.GetAccount(ctx, account)
	if err != nil || acct.InstitutionID != d.InstitutionID {
		return nil, invalid("account_id", "account %s not found in institution %s", account, d.InstitutionID)
	}
	suspense, err := s.roleAccount(ctx, d.InstitutionID, accounts.RoleSuspense, "", d.Asset)
	if err != nil {
		return nil, err
	}
	p := ledger.Posting{Debit: suspense, Credit: account, Asset: d.Asset, Amount: d.Effect}
	if d.Effect < 0 {
		p = ledger.Posting{Debit: account, Credit: suspense, Asset: d.Asset, Amount: -d.Effect}
	}
	return s.post(ctx, d, ledger.Request{Kind: ledger.KindTransfer, InstitutionID: d.InstitutionID, Reference: resolveRef(d),
		Type: "recon_adjustment", Postings: []ledger.Posting{p}, Metadata: map[string]string{"discrepancy_id": d.ID,
			"resolution": ResolutionAcceptChannel}}, close)
}

// DecideRequest approves or rejects a proposed write-off.
type DecideRequest struct {
	ID      string
	Approve bool
	Note    string
	By      string
	Scope   []string
	Writes  []Write
}

// DecideWriteOff approves a proposed write-off — posting the parked
// difference from suspense to the write-off account, with the discrepancy
// resolved in the same transaction — or rejects it (the discrepancy is
// open again). The decider must not be the proposer. Permission:
// recon:approve. Returns CodeInvalidRequest, CodeDiscrepancyNotFound,
// CodeDiscrepancyClosed (no write-off pending), CodeApproverIsMaker and
// CodeInternalAccountMissing.
func (s *Service) DecideWriteOff(ctx context.Context, r DecideRequest) (*Discrepancy, error) {
	if err := text("note", r.Note, maxNoteBytes); err != nil {
		return nil, err
	}
	d, err := s.GetDiscrepancy(ctx, r.ID, r.Scope)
	if err != nil {
		return nil, err
	}
	switch {
	case d.Status != StatusWriteOffPending:
		return nil, errorf(CodeDiscrepancyClosed, "id", "discrepancy %s has no write-off waiting for a decision (it is %s)", d.ID, d.Status)
	case r.By == d.ProposedBy:
		return nil, errorf(CodeApproverIsMaker, "", "the write-off was proposed by %s: another person must decide it", d.ProposedBy)
	}
	if !r.Approve {
		return s.withoutMoney(ctx, d, func(ctx context.Context, tx *sql.Tx, _ string) error {
			if err := s.changeDiscrepancy(ctx, tx, d, StatusOpen, "", "", "", "", r.Note); err != nil {
				return err
			}
			return s.discrepancyEvent(ctx, tx, EventWriteOffRejected, d, r.Writes)
		})
	}
	close := func(ctx context.Context, tx *sql.Tx, txID string) error {
		if err := s.changeDiscrepancy(ctx, tx, d, StatusResolved, ResolutionWriteOff, txID, "", r.By, r.Note); err != nil {
			return err
		}
		return s.discrepancyEvent(ctx, tx, EventDiscrepancyResolved, d, r.Writes)
	}
	if d.Effect == 0 {
		return s.withoutMoney(ctx, d, close)
	}
	suspense, err := s.roleAccount(ctx, d.InstitutionID, accounts.RoleSuspense, "", d.Asset)
	if err != nil {
		return nil, err
	}
	writeOff, err := s.roleAccount(ctx, d.InstitutionID, accounts.RoleWriteOff, "", d.Asset)
	if err != nil {
		return nil, err
	}
	p := ledger.Posting{Debit: suspense, Credit: writeOff, Asset: d.Asset, Amount: d.Effect}
	if d.Effect < 0 {
		p = ledger.Posting{Debit: writeOff, Credit: suspense, Asset: d.Asset, Amount: -d.Effect}
	}
	return s.post(ctx, d, ledger.Request{Kind: ledger.KindTransfer, InstitutionID: d.InstitutionID, Reference: resolveRef(d),
		Type: "recon_write_off", Postings: []ledger.Posting{p}, Metadata: map[string]string{"discrepancy_id": d.ID,
			"resolution": ResolutionWriteOff, "proposed_by": d.ProposedBy}}, close)
}

// post submits a resolution's ledger request with close riding along.
func (s *Service) post(ctx context.Context, d *Discrepancy, req ledger.Request,
	close func(ctx context.Context, tx *sql.Tx, txID string) error) (*Discrepancy, error) {
	req.Writes = []ledger.Write{func(ctx context.Context, tx *sql.Tx, tr *ledger.Transaction) error { return close(ctx, tx, tr.ID) }}
	res, err := s.ledger.Submit(ctx, []ledger.Request{req}, false)
	if err != nil {
		return nil, err
	}
	if res[0].Err != nil {
		if res[0].Err.Code == codeStale {
			return nil, errorf(CodeDiscrepancyClosed, "id", "discrepancy %s changed meanwhile; read it again", d.ID)
		}
		return nil, res[0].Err
	}
	return s.GetDiscrepancy(ctx, d.ID, nil)
}

// withoutMoney records a change of a discrepancy that moves no money,
// riding the ledger's group commit.
func (s *Service) withoutMoney(ctx context.Context, d *Discrepancy, close func(ctx context.Context, tx *sql.Tx, txID string) error) (*Discrepancy, error) {
	err := s.ledger.Do(ctx, func(ctx context.Context, tx *sql.Tx) error { return close(ctx, tx, "") })
	if ledger.ErrorCode(err) == codeStale {
		return nil, errorf(CodeDiscrepancyClosed, "id", "discrepancy %s changed meanwhile; read it again", d.ID)
	}
	if err != nil {
		return nil, err
	}
	return s.GetDiscrepancy(ctx, d.ID, nil)
}

// changeDiscrepancy moves d to status by compare-and-set on its version
// and updates d to match.
func (s *Service) changeDiscrepancy(ctx context.Context, tx *sql.Tx, d *Discrepancy, status, resolution, txID, proposedBy, resolvedBy, note string) error {
	now := s.now()
	var resolvedAt any
	if status == StatusResolved {
		resolvedAt = micros(now)
	}
	if proposedBy == "" && status == StatusWriteOffPending {
		return fmt.Errorf("a write-off needs its proposer")
	}
	if status == StatusOpen {
		proposedBy = ""
	} else if proposedBy == "" {
		proposedBy = d.ProposedBy
	}
	r, err := s.ledger.Tx(tx).ExecContext(ctx, `UPDATE recon_discrepancies SET status = $1, resolution = $2, resolve_tx = $3,
		proposed_by = $4, resolved_by = $5, note = $6, resolved_at = $7, version = version + 1 WHERE id = $8 AND version = $9`,
		status, resolution, txID, proposedBy, resolvedBy, note, resolvedAt, d.ID, d.Version)
	if err != nil {
		return fmt.Errorf("change discrepancy %s: %w", d.ID, err)
	}
	if n, err := r.RowsAffected(); err != nil || n != 1 {
		return &ledger.Error{Code: codeStale, Message: "the discrepancy changed meanwhile"}
	}
	d.Status, d.Resolution, d.ResolveTx, d.ProposedBy, d.ResolvedBy, d.Note = status, resolution, txID, proposedBy, resolvedBy, note
	d.Version++
	if status == StatusResolved {
		d.ResolvedAt = &now
	}
	return nil
}

// discrepancyEvent records a discrepancy's event and the caller's writes.
func (s *Service) discrepancyEvent(ctx context.Context, tx *sql.Tx, typ string, d *Discrepancy, writes []Write) error {
	if err := outbox.Record(ctx, s.ledger.Tx(tx), &outbox.Event{Type: typ, Subject: "discrepancy:" + d.ID, InstitutionID: d.InstitutionID,
		Payload: d, CreatedAt: s.now()}); err != nil {
		return err
	}
	return runWrites(ctx, tx, writes)
}
