package accounts

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
)

// The refusal codes of maker–checker approvals.
const (
	CodeApprovalNotFound Code = "approval_not_found" // no such approval (in the caller's institutions)
	CodeApproverIsMaker  Code = "approver_is_maker"  // the maker may not approve or reject its own request
	CodeNotMaker         Code = "not_maker"          // only the maker may cancel its request
)

// The event types approvals emit.
const (
	EventApprovalProposed  = "approval.proposed"
	EventApprovalApproved  = "approval.approved"
	EventApprovalRejected  = "approval.rejected"
	EventApprovalCancelled = "approval.cancelled"
)

// The approval statuses.
const (
	ApprovalPending   = "pending"
	ApprovalApproved  = "approved"
	ApprovalRejected  = "rejected"
	ApprovalCancelled = "cancelled"
)

// KindAdjustment is a balance adjustment (error correction).
const KindAdjustment = "adjustment"

// Adjustment is what a balance adjustment posts once approved: the
// reversal of the wrong transaction (the whole of what is not yet
// reversed), when ReverseTransactionID is set, and the corrective transfer
// of Postings (optional when a transaction is reversed).
type Adjustment struct {
	ReverseTransactionID string            `json:"reverse_transaction_id,omitempty"`
	Postings             []ledger.Posting  `json:"postings,omitempty"`
	Metadata             map[string]string `json:"metadata,omitempty"`
}

// Approval is a maker–checker request.
type Approval struct {
	ID            string     `json:"id"`
	InstitutionID string     `json:"institution_id"`
	Kind          string     `json:"kind"`
	Payload       Adjustment `json:"payload"`
	Reference     string     `json:"reference"`
	Status        string     `json:"status"`
	MakerKey      string     `json:"maker_key"`
	CheckerKey    string     `json:"checker_key,omitempty"`
	Reason        string     `json:"reason"`
	DecidedReason string     `json:"decided_reason,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	DecidedAt     time.Time  `json:"decided_at,omitzero"`
	// TransactionIDs are the ledger transactions an approved adjustment
	// posted: the reversal (if any) first, then the correction.
	TransactionIDs []string `json:"transaction_ids,omitempty"`
}

// Approvals runs maker–checker (four-eyes) requests. Today it knows one
// kind, the balance adjustment: a maker proposes it (nothing posts), a
// different key approves it, which posts — as ONE atomic ledger batch —
// the reversal of the wrong transaction and the corrective transfer, with
// the approval's status change riding along in the same storage
// transaction: an adjustment is approved if and only if it is posted.
// Rejecting or cancelling posts nothing.
//
// Permissions: propose and cancel adjustments:propose (operator, admin);
// approve and reject adjustments:approve (admin only). The maker's key may
// never approve or reject its own request (approver_is_maker).
type Approvals struct {
	db     *store.DB
	ledger *ledger.Ledger
	clock  clock.Clock
}

// NewApprovals returns the approvals service on the ledger's store and clock.
func NewApprovals(l *ledger.Ledger) *Approvals {
	return &Approvals{db: l.DB(), ledger: l, clock: l.Clock()}
}

// Proposal proposes a balance adjustment.
type Proposal struct {
	Adjustment
	// Reference is the maker's idempotency key within the institution:
	// proposing the same adjustment under it again returns the first one.
	Reference string
	Reason    string
	MakerKey  string
	Scope     []string
}

// Propose stores a pending adjustment; it posts nothing. Every account of
// the postings and the transaction to reverse must be of one institution in
// the caller's scope. Returns CodeInvalidRequest, CodeAccountNotFound,
// CodeConflict (the reference names another adjustment) or the ledger's
// transaction_not_found.
func (s *Approvals) Propose(ctx context.Context, p Proposal, writes ...ChangeWrite) (*Approval, bool, error) {
	switch {
	case p.Reference == "" || len(p.Reference) > ledger.MaxReferenceLen || !store.Storable(p.Reference):
		return nil, false, fieldErr("reference", "reference is required: text of at most %d bytes", ledger.MaxReferenceLen)
	case strings.TrimSpace(p.Reason) == "" || len(p.Reason) > 512 || !store.Storable(p.Reason):
		return nil, false, fieldErr("reason", "reason is required: at most 512 bytes")
	case p.MakerKey == "":
		return nil, false, fieldErr("maker_key", "maker_key is required")
	case p.ReverseTransactionID == "" && len(p.Postings) == 0:
		return nil, false, fieldErr("postings", "an adjustment reverses a transaction, posts the right postings, or both")
	case len(p.Postings) > ledger.MaxPostings:
		return nil, false, fieldErr("postings", "at most %d postings", ledger.MaxPostings)
	case len(p.Metadata) > ledger.MaxMetadataKeys:
		return nil, false, fieldErr("metadata", "at most %d metadata keys", ledger.MaxMetadataKeys)
	}
	inst := ""
	same := func(i, field string) error {
		if inst == "" {
			inst = i
		} else if inst != i {
			return fieldErr(field, "everything an adjustment touches must be of one institution")
		}
		return nil
	}
	if p.ReverseTransactionID != "" {
		if len(p.ReverseTransactionID) > 64 || !store.Storable(p.ReverseTransactionID) {
			return nil, false, &ledger.Error{Code: ledger.CodeTransactionNotFound, Field: "reverse_transaction_id", Message: "no such transaction"}
		}
		tr, err := s.ledger.GetTransaction(ctx, p.ReverseTransactionID)
		if ledger.ErrorCode(err) == ledger.CodeTransactionNotFound || (err == nil && !inScope(p.Scope, tr.InstitutionID)) {
			return nil, false, &ledger.Error{Code: ledger.CodeTransactionNotFound, Field: "reverse_transaction_id",
				Message: "transaction " + p.ReverseTransactionID + " not found"}
		}
		if err != nil {
			return nil, false, err
		}
		if tr.Kind != ledger.KindTransfer && tr.Kind != ledger.KindPost {
			return nil, false, fieldErr("reverse_transaction_id", "only a transfer or a post can be reversed, not a %s", tr.Kind)
		}
		_ = same(tr.InstitutionID, "reverse_transaction_id")
	}
	for i, ps := range p.Postings {
		f := "postings[" + strconv.Itoa(i) + "]"
		if ps.Amount <= 0 {
			return nil, false, fieldErr(f+".amount", "amount must be positive")
		}
		if ps.Debit == ps.Credit {
			return nil, false, fieldErr(f, "a posting cannot debit and credit the same account")
		}
		for _, side := range []struct{ id, field string }{{ps.Debit, f + ".debit"}, {ps.Credit, f + ".credit"}} {
			if side.id == "" || len(side.id) > 64 || !store.Storable(side.id) {
				return nil, false, errorAt(CodeAccountNotFound, side.field, "no such account")
			}
			a, err := s.ledger.GetAccount(ctx, side.id)
			if ledger.ErrorCode(err) == ledger.CodeAccountNotFound || (err == nil && !inScope(p.Scope, a.InstitutionID)) {
				return nil, false, errorAt(CodeAccountNotFound, side.field, "account %s not found", side.id)
			}
			if err != nil {
				return nil, false, err
			}
			if ps.Asset == "" {
				p.Postings[i].Asset = a.Asset
				ps.Asset = a.Asset
			}
			if a.Asset != ps.Asset {
				return nil, false, fieldErr(f+".asset", "account %s holds %s, not %s", a.ID, a.Asset, ps.Asset)
			}
			if err := same(a.InstitutionID, side.field); err != nil {
				return nil, false, err
			}
		}
		// Refused now, not when the checker approves it.
		if err := s.ledger.CheckAmount(ctx, ps.Asset, ps.Amount, f+".amount"); err != nil {
			return nil, false, err
		}
	}
	payload, err := json.Marshal(p.Adjustment)
	if err != nil {
		return nil, false, err
	}
	a := &Approval{ID: uuid.Must(uuid.NewV7()).String(), InstitutionID: inst, Kind: KindAdjustment, Payload: p.Adjustment,
		Reference: p.Reference, Status: ApprovalPending, MakerKey: p.MakerKey, Reason: p.Reason,
		CreatedAt: time.UnixMicro(s.clock.Now().UnixMicro()).UTC()}
	var existing *Approval
	err = s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		old, err := s.get(ctx, tx, `institution_id = $1 AND reference = $2`, inst, p.Reference)
		if err != nil && ErrorCode(err) != CodeApprovalNotFound {
			return err
		}
		if old != nil {
			existing = old
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO approvals (id, institution_id, kind, payload, reference, status,
			maker_key, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			a.ID, a.InstitutionID, a.Kind, string(payload), a.Reference, a.Status, a.MakerKey, a.Reason, a.CreatedAt.UnixMicro()); err != nil {
			return fmt.Errorf("propose adjustment: %w", err)
		}
		return recordEvent(ctx, tx, tx, &Event{Type: EventApprovalProposed, Subject: "approval:" + a.ID,
			InstitutionID: a.InstitutionID, CreatedAt: a.CreatedAt, Payload: a}, writes)
	})
	if err != nil {
		return nil, false, err
	}
	if existing != nil {
		old, _ := json.Marshal(existing.Payload)
		if string(old) != string(payload) || existing.Reason != p.Reason {
			return nil, false, errorAt(CodeConflict, "reference", "reference %s names another adjustment", p.Reference)
		}
		return existing, true, nil
	}
	return a, false, nil
}

// Get returns an approval of the caller's institutions.
func (s *Approvals) Get(ctx context.Context, id string, scope []string) (*Approval, error) {
	if id == "" || len(id) > 64 || !store.Storable(id) {
		return nil, errorf(CodeApprovalNotFound, "approval %s not found", id)
	}
	a, err := s.get(ctx, s.db.Read, `id = $1`, id)
	if err != nil {
		return nil, err
	}
	if !inScope(scope, a.InstitutionID) {
		return nil, errorf(CodeApprovalNotFound, "approval %s not found", id)
	}
	return a, nil
}

// List returns the approvals of the institutions in scope, oldest first,
// with status ("" every status), after the ID after, at most limit.
func (s *Approvals) List(ctx context.Context, scope []string, status, after string, limit int) ([]*Approval, string, error) {
	switch status {
	case "", ApprovalPending, ApprovalApproved, ApprovalRejected, ApprovalCancelled:
	default:
		return nil, "", fieldErr("status", "status must be pending, approved, rejected or cancelled")
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	if scope != nil && len(scope) == 0 {
		return nil, "", nil
	}
	args := []any{}
	where := "1 = 1"
	if scope != nil {
		ph := make([]string, len(scope))
		for i, inst := range scope {
			args = append(args, inst)
			ph[i] = "$" + strconv.Itoa(len(args))
		}
		where = "institution_id IN (" + strings.Join(ph, ", ") + ")"
	}
	if status != "" {
		args = append(args, status)
		where += " AND status = $" + strconv.Itoa(len(args))
	}
	if after != "" {
		args = append(args, after)
		where += " AND id > $" + strconv.Itoa(len(args))
	}
	rows, err := s.db.Read.QueryContext(ctx, approvalSelect+` WHERE `+where+` ORDER BY id LIMIT `+strconv.Itoa(limit+1), args...)
	if err != nil {
		return nil, "", fmt.Errorf("list approvals: %w", err)
	}
	defer rows.Close()
	var out []*Approval
	for rows.Next() {
		a, err := scanApproval(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list approvals: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	for _, a := range out {
		s.fillTransactions(ctx, a)
	}
	return out, next, nil
}

const approvalSelect = `SELECT id, institution_id, kind, payload, reference, status, maker_key, checker_key, reason,
	decided_reason, created_at, decided_at FROM approvals`

func scanApproval(sc interface{ Scan(...any) error }) (*Approval, error) {
	var a Approval
	var payload string
	var created int64
	var decided sql.NullInt64
	if err := sc.Scan(&a.ID, &a.InstitutionID, &a.Kind, &payload, &a.Reference, &a.Status, &a.MakerKey, &a.CheckerKey,
		&a.Reason, &a.DecidedReason, &created, &decided); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(payload), &a.Payload); err != nil {
		return nil, fmt.Errorf("approval %s: decode payload: %w", a.ID, err)
	}
	a.CreatedAt = time.UnixMicro(created).UTC()
	if decided.Valid {
		a.DecidedAt = time.UnixMicro(decided.Int64).UTC()
	}
	return &a, nil
}

func (s *Approvals) get(ctx context.Context, q queryer, where string, args ...any) (*Approval, error) {
	rows, err := q.QueryContext(ctx, approvalSelect+` WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read approval: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read approval: %w", err)
		}
		return nil, errorf(CodeApprovalNotFound, "approval not found")
	}
	a, err := scanApproval(rows)
	if err != nil {
		return nil, fmt.Errorf("read approval: %w", err)
	}
	s.fillTransactions(ctx, a)
	return a, nil
}

// The ledger references of an approved adjustment's transactions.
func correctionRef(id string) string { return "adjustment:" + id }
func reversalRef(id string) string   { return "adjustment:" + id + ":reversal" }

// fillTransactions names the transactions an approved adjustment posted.
func (s *Approvals) fillTransactions(ctx context.Context, a *Approval) {
	if a.Status != ApprovalApproved {
		return
	}
	a.TransactionIDs = nil
	refs := []string{}
	if a.Payload.ReverseTransactionID != "" {
		refs = append(refs, reversalRef(a.ID))
	}
	if len(a.Payload.Postings) > 0 {
		refs = append(refs, correctionRef(a.ID))
	}
	for _, ref := range refs {
		if tr, err := s.ledger.GetTransactionByReference(ctx, a.InstitutionID, ref); err == nil {
			a.TransactionIDs = append(a.TransactionIDs, tr.ID)
		}
	}
}

// Decision approves, rejects or cancels an approval.
type Decision struct {
	ID     string
	Key    string // the deciding API key
	Reason string
	Scope  []string
	// Writes ride along with each ledger transaction an approval posts
	// (the caller's audit record of the transaction).
	Writes []ledger.Write
	// Change rides along with the approval.approved event, in the same
	// storage transaction (the caller's audit record of the decision).
	Change []ChangeWrite
}

// Approve posts a pending adjustment: one atomic ledger batch of the
// reversal (reference "adjustment:<id>:reversal") and the correction
// ("adjustment:<id>"), each with the caller's Writes, the last carrying the
// status change and an approval.approved event with the caller's Change. The key must not be the
// maker's (CodeApproverIsMaker). Approving an approved adjustment returns
// it; a rejected or cancelled one is CodeInvalidStatusChange. A ledger
// refusal (insufficient_funds, reversal_exceeds_original, …) leaves it
// pending.
func (s *Approvals) Approve(ctx context.Context, d Decision) (*Approval, error) {
	a, err := s.Get(ctx, d.ID, d.Scope)
	if err != nil {
		return nil, err
	}
	if err := checkDecision(a, d, true); err != nil || a.Status == ApprovalApproved {
		return a, err
	}
	meta := map[string]string{}
	for k, v := range a.Payload.Metadata {
		meta[k] = v
	}
	meta["approval_id"], meta["operation"] = a.ID, "adjustment"
	var reqs []ledger.Request
	if a.Payload.ReverseTransactionID != "" {
		reqs = append(reqs, ledger.Request{Kind: ledger.KindReversal, InstitutionID: a.InstitutionID, Reference: reversalRef(a.ID),
			Type: "adjustment_reversal", TransactionID: a.Payload.ReverseTransactionID, Metadata: meta,
			Writes: append([]ledger.Write(nil), d.Writes...)})
	}
	if len(a.Payload.Postings) > 0 {
		reqs = append(reqs, ledger.Request{Kind: ledger.KindTransfer, InstitutionID: a.InstitutionID, Reference: correctionRef(a.ID),
			Type: "adjustment", Postings: a.Payload.Postings, Metadata: meta, Writes: append([]ledger.Write(nil), d.Writes...)})
	}
	decidedAt := time.UnixMicro(s.clock.Now().UnixMicro()).UTC()
	last := &reqs[len(reqs)-1]
	last.Writes = append(last.Writes, func(ctx context.Context, tx *sql.Tx, tr *ledger.Transaction) error {
		res, err := tx.ExecContext(ctx, `UPDATE approvals SET status = 'approved', checker_key = $1, decided_reason = $2,
			decided_at = $3 WHERE id = $4 AND status = 'pending'`, d.Key, d.Reason, decidedAt.UnixMicro(), a.ID)
		if err != nil {
			return fmt.Errorf("approve %s: %w", a.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return &ledger.Error{Code: ledger.Code(CodeInvalidStatusChange), Message: "the approval is no longer pending"}
		}
		return recordEvent(ctx, tx, tx, &Event{Type: EventApprovalApproved, Subject: "approval:" + a.ID,
			InstitutionID: a.InstitutionID, CreatedAt: tr.CreatedAt, Payload: map[string]any{"approval_id": a.ID,
				"checker_key": d.Key, "reason": d.Reason, "transaction_id": tr.ID}}, d.Change)
	})
	res, err := s.ledger.Submit(ctx, reqs, true)
	if err != nil {
		return nil, err
	}
	for _, r := range res {
		if r.Err != nil && r.Err.Code != ledger.CodeBatchAborted {
			if r.Err.Code == ledger.Code(CodeInvalidStatusChange) {
				break // a concurrent decision: report what it decided
			}
			return nil, r.Err
		}
	}
	out, err := s.Get(ctx, a.ID, d.Scope)
	if err == nil && out.Status == ApprovalPending {
		// The ledger answered with transactions posted under the
		// adjustment's references by someone else.
		return nil, errorf(CodeConflict, "the references of approval %s were used by other transactions", a.ID)
	}
	return out, err
}

// Reject decides a pending adjustment against: nothing posts. The key must
// not be the maker's.
func (s *Approvals) Reject(ctx context.Context, d Decision, writes ...ChangeWrite) (*Approval, error) {
	return s.close(ctx, d, ApprovalRejected, EventApprovalRejected, writes)
}

// Cancel withdraws a pending adjustment: only its maker may (CodeNotMaker).
func (s *Approvals) Cancel(ctx context.Context, d Decision, writes ...ChangeWrite) (*Approval, error) {
	return s.close(ctx, d, ApprovalCancelled, EventApprovalCancelled, writes)
}

func checkDecision(a *Approval, d Decision, approve bool) error {
	if len(d.Reason) > 512 || !store.Storable(d.Reason) {
		return fieldErr("reason", "reason: at most 512 bytes of text")
	}
	if a.Status == ApprovalApproved && approve {
		return nil
	}
	if a.Status != ApprovalPending {
		return errorf(CodeInvalidStatusChange, "approval %s is %s", a.ID, a.Status)
	}
	if d.Key == "" || d.Key == a.MakerKey {
		return errorf(CodeApproverIsMaker, "the maker of approval %s may not decide it: another key must", a.ID)
	}
	return nil
}

func (s *Approvals) close(ctx context.Context, d Decision, status, event string, writes []ChangeWrite) (*Approval, error) {
	a, err := s.Get(ctx, d.ID, d.Scope)
	if err != nil {
		return nil, err
	}
	if status == ApprovalCancelled {
		if len(d.Reason) > 512 || !store.Storable(d.Reason) {
			return nil, fieldErr("reason", "reason: at most 512 bytes of text")
		}
		if a.Status != ApprovalPending {
			return nil, errorf(CodeInvalidStatusChange, "approval %s is %s", a.ID, a.Status)
		}
		if d.Key != a.MakerKey {
			return nil, errorf(CodeNotMaker, "only the maker may cancel approval %s", a.ID)
		}
	} else if err := checkDecision(a, d, false); err != nil {
		return nil, err
	}
	now := time.UnixMicro(s.clock.Now().UnixMicro()).UTC()
	err = s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE approvals SET status = $1, checker_key = $2, decided_reason = $3, decided_at = $4
			WHERE id = $5 AND status = 'pending'`, status, d.Key, d.Reason, now.UnixMicro(), a.ID)
		if err != nil {
			return fmt.Errorf("decide %s: %w", a.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errorf(CodeInvalidStatusChange, "approval %s is no longer pending", a.ID)
		}
		return recordEvent(ctx, tx, tx, &Event{Type: event, Subject: "approval:" + a.ID, InstitutionID: a.InstitutionID,
			CreatedAt: now, Payload: map[string]any{"approval_id": a.ID, "key": d.Key, "reason": d.Reason}}, writes)
	})
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, e
		}
		return nil, err
	}
	return s.Get(ctx, a.ID, d.Scope)
}
