package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
)

// FreezeSide is what a freeze stops: debits, credits or both.
type FreezeSide string

// The freeze sides.
const (
	FreezeDebit  FreezeSide = "debit"
	FreezeCredit FreezeSide = "credit"
	FreezeBoth   FreezeSide = "both"
)

func (f FreezeSide) sides() []ledger.Side {
	switch f {
	case FreezeDebit:
		return []ledger.Side{ledger.Debit}
	case FreezeCredit:
		return []ledger.Side{ledger.Credit}
	}
	return []ledger.Side{ledger.Debit, ledger.Credit}
}

// Authority is who ordered a freeze. Only the same authority may lift it;
// for operator and risk freezes any holder of accounts:freeze is that
// authority, for a judicial freeze only a holder of accounts:judicial is
// (Judicial in the request).
type Authority string

// The authorities.
const (
	AuthorityOperator Authority = "operator" // the institution's own operations
	AuthorityRisk     Authority = "risk"     // risk control, e.g. suspected fraud
	AuthorityJudicial Authority = "judicial" // a court or another authority with legal power
)

// Freeze is one freeze of an account. It is in force until lifted.
type Freeze struct {
	ID            string     `json:"id"`
	AccountID     string     `json:"account_id"`
	InstitutionID string     `json:"institution_id"`
	Side          FreezeSide `json:"side"`
	Authority     Authority  `json:"authority"`
	Reason        string     `json:"reason"`
	PlacedBy      string     `json:"placed_by"`
	PlacedAt      time.Time  `json:"placed_at"`
	LiftedAt      *time.Time `json:"lifted_at,omitempty"`
	LiftedBy      string     `json:"lifted_by,omitempty"`
	LiftReason    string     `json:"lift_reason,omitempty"`
	Reference     string     `json:"reference,omitempty"`
	// Replayed says Freeze returned the freeze an earlier request with
	// the same reference placed.
	Replayed bool `json:"-"`
}

// FreezeRequest asks for a freeze.
type FreezeRequest struct {
	AccountID string
	Side      FreezeSide
	Authority Authority
	Reason    string // required
	By        string // the API key ID that asks
	// Reference, optional, makes placing the freeze idempotent: unique per
	// account; a retry returns the freeze it placed, even if lifted since.
	Reference string
	// Judicial says the caller holds the judicial authority
	// (accounts:judicial): needed to place or lift a judicial freeze.
	Judicial bool
	Scope    []string // the caller's institutions (nil: any)
}

func (r *FreezeRequest) validate() error {
	switch r.Side {
	case FreezeDebit, FreezeCredit, FreezeBoth:
	default:
		return fieldErr("side", "side must be debit, credit or both")
	}
	switch r.Authority {
	case AuthorityOperator, AuthorityRisk, AuthorityJudicial:
	default:
		return fieldErr("authority", "authority must be operator, risk or judicial")
	}
	if len(r.Reference) > MaxReferenceBytes || !store.Storable(r.Reference) {
		return fieldErr("reference", "reference must be text of at most %d bytes", MaxReferenceBytes)
	}
	return checkReasonBy(r.Reason, r.By, true)
}

func checkReasonBy(reason, by string, required bool) error {
	if (required && reason == "") || len(reason) > MaxReasonBytes || !store.Storable(reason) {
		return fieldErr("reason", "a reason is required: text of at most %d bytes", MaxReasonBytes)
	}
	if by == "" || len(by) > 64 || !store.Storable(by) {
		return fieldErr("by", "who asks is required: at most 64 bytes")
	}
	return nil
}

// Freeze records a freeze of an account and freezes its sides in the
// ledger, with an account.frozen event and the writes, in one storage
// transaction. Freezes stack: a side stays frozen while any freeze in force
// holds it. Any ledger account may be frozen, on a product or not.
//
// Permission: accounts:freeze, and accounts:judicial (r.Judicial) for a
// judicial freeze. With a reference, a retry returns the freeze placed
// (Replayed) and changes nothing; the same reference with another side or
// authority is CodeConflict. Returns CodeInvalidRequest,
// CodeAuthorityRequired, CodeConflict (MaxFreezesInForce reached), or the
// ledger's account_not_found (also out of scope) and invalid_status_change
// (closed).
func (s *Lifecycle) Freeze(ctx context.Context, r FreezeRequest, writes ...ChangeWrite) (*Freeze, *ledger.Account, error) {
	if err := r.validate(); err != nil {
		return nil, nil, err
	}
	if r.Authority == AuthorityJudicial && !r.Judicial {
		return nil, nil, errorf(CodeAuthorityRequired, "a judicial freeze needs the judicial authority (accounts:judicial)")
	}
	if f, a, err := s.replayFreeze(ctx, r); f != nil || err != nil {
		return f, a, err
	}
	f := &Freeze{ID: newID(), AccountID: r.AccountID, Side: r.Side, Authority: r.Authority, Reason: r.Reason,
		PlacedBy: r.By, PlacedAt: s.now(), Reference: r.Reference}
	_, after, err := s.ledger.SetStatus(ctx, ledger.StatusChange{AccountID: r.AccountID, Freeze: r.Side.sides(),
		InstitutionIDs: r.Scope, WriteAlways: true}, func(ctx context.Context, tx *sql.Tx, _, a *ledger.Account) error {
		n, err := s.freezesInForce(ctx, tx, a.ID)
		if err != nil {
			return err
		}
		if len(n) >= MaxFreezesInForce {
			return errorf(CodeConflict, "account %s has %d freezes in force, the most it may have", a.ID, len(n))
		}
		f.InstitutionID = a.InstitutionID
		var ref any
		if f.Reference != "" {
			ref = f.Reference
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO account_freezes (id, account_id, institution_id, side, authority,
			reason, placed_by, placed_at, reference) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, f.ID, f.AccountID,
			f.InstitutionID, string(f.Side), string(f.Authority), f.Reason, f.PlacedBy, f.PlacedAt.UnixMicro(), ref)
		if _, dup := store.UniqueViolation(err); dup {
			return errFreezeReferenceTaken
		}
		if err != nil {
			return fmt.Errorf("record freeze: %w", err)
		}
		return recordEvent(ctx, tx, tx, &Event{Type: EventAccountFrozen, Subject: "account:" + a.ID,
			InstitutionID: a.InstitutionID, CreatedAt: f.PlacedAt, Payload: map[string]any{"freeze": f, "status": a.Status}}, writes)
	})
	if errors.Is(err, errFreezeReferenceTaken) {
		// A concurrent request with the same reference committed first.
		f, a, rerr := s.replayFreeze(ctx, r)
		if f == nil && rerr == nil {
			rerr = fmt.Errorf("place freeze: reference %s taken, yet no freeze has it", r.Reference)
		}
		return f, a, rerr
	}
	if err != nil {
		return nil, nil, err
	}
	return f, after, nil
}

// errFreezeReferenceTaken: a concurrent freeze with the same reference
// committed between replayFreeze and the insert.
var errFreezeReferenceTaken = errors.New("freeze: reference taken concurrently")

// replayFreeze returns the freeze r's reference placed and its account, or
// nil when it placed none (or r has no reference).
func (s *Lifecycle) replayFreeze(ctx context.Context, r FreezeRequest) (*Freeze, *ledger.Account, error) {
	if r.Reference == "" {
		return nil, nil, nil
	}
	fs, err := scanFreezes(s.db.Read.QueryContext(ctx, `SELECT `+freezeCols+` FROM account_freezes
		WHERE account_id = $1 AND reference = $2`, r.AccountID, r.Reference))
	if err != nil || len(fs) == 0 {
		return nil, nil, err
	}
	f := fs[0]
	if !inScope(r.Scope, f.InstitutionID) {
		return nil, nil, nil // the ledger answers account_not_found
	}
	if f.Side != r.Side || f.Authority != r.Authority {
		return nil, nil, errorAt(CodeConflict, "reference", "reference %s placed a %s freeze by %s authority on account %s",
			r.Reference, f.Side, f.Authority, r.AccountID)
	}
	a, err := s.ledger.GetAccount(ctx, f.AccountID)
	if err != nil {
		return nil, nil, err
	}
	f.Replayed = true
	return f, a, nil
}

// LiftRequest asks for a freeze to be lifted.
type LiftRequest struct {
	AccountID string
	FreezeID  string
	Reason    string // optional
	By        string
	Judicial  bool     // the caller holds accounts:judicial
	Scope     []string // the caller's institutions (nil: any)
}

// Lift lifts one freeze and thaws the sides it froze that no other freeze
// in force holds (two debit freezes: lifting one keeps debits frozen), with
// an account.thawed event and the writes, in one storage transaction. A
// judicial freeze is lifted only by the judicial authority (r.Judicial).
//
// Permission: accounts:freeze, and accounts:judicial for a judicial
// freeze. Returns CodeFreezeNotFound (also out of scope),
// CodeAuthorityRequired, CodeInvalidStatusChange (lifted before) or
// CodeConflict.
func (s *Lifecycle) Lift(ctx context.Context, r LiftRequest, writes ...ChangeWrite) (*Freeze, *ledger.Account, error) {
	if err := checkReasonBy(r.Reason, r.By, false); err != nil {
		return nil, nil, err
	}
	for attempt := 1; ; attempt++ {
		f, a, err := s.lift(ctx, r, writes)
		if errors.Is(err, errStale) && attempt < maxAttempts {
			continue
		}
		return f, a, err
	}
}

func (s *Lifecycle) lift(ctx context.Context, r LiftRequest, writes []ChangeWrite) (*Freeze, *ledger.Account, error) {
	f, err := s.freeze(ctx, s.db.Read, r.AccountID, r.FreezeID)
	if err != nil {
		return nil, nil, err
	}
	if f == nil || !inScope(r.Scope, f.InstitutionID) {
		return nil, nil, freezeNotFound(r.FreezeID)
	}
	if f.LiftedAt != nil {
		return nil, nil, errorf(CodeInvalidStatusChange, "freeze %s was lifted before", f.ID)
	}
	if f.Authority == AuthorityJudicial && !r.Judicial {
		return nil, nil, errorf(CodeAuthorityRequired, "only the judicial authority (accounts:judicial) may lift a judicial freeze")
	}
	others, err := s.freezesInForce(ctx, s.db.Read, f.AccountID)
	if err != nil {
		return nil, nil, err
	}
	held := map[ledger.Side]bool{}
	for _, o := range others {
		if o.ID != f.ID {
			for _, side := range o.Side.sides() {
				held[side] = true
			}
		}
	}
	var keep, thaw []ledger.Side
	for _, side := range []ledger.Side{ledger.Debit, ledger.Credit} {
		switch {
		case held[side]:
			keep = append(keep, side)
		case contains(f.Side.sides(), side):
			thaw = append(thaw, side)
		}
	}
	now := s.now()
	_, after, err := s.ledger.SetStatus(ctx, ledger.StatusChange{AccountID: f.AccountID, Freeze: keep, Thaw: thaw,
		InstitutionIDs: r.Scope, WriteAlways: true}, func(ctx context.Context, tx *sql.Tx, _, a *ledger.Account) error {
		res, err := tx.ExecContext(ctx, `UPDATE account_freezes SET lifted_at = $1, lifted_by = $2, lift_reason = $3
			WHERE id = $4 AND lifted_at IS NULL`, now.UnixMicro(), r.By, r.Reason, f.ID)
		if err != nil {
			return fmt.Errorf("lift freeze: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errStale // lifted concurrently; the rerun says so
		}
		// A freeze placed since the sides were computed must stay in force.
		if err := s.checkHeld(ctx, tx, a); err != nil {
			return errStale
		}
		f.LiftedAt, f.LiftedBy, f.LiftReason = &now, r.By, r.Reason
		return recordEvent(ctx, tx, tx, &Event{Type: EventAccountThawed, Subject: "account:" + a.ID,
			InstitutionID: a.InstitutionID, CreatedAt: now, Payload: map[string]any{"freeze": f, "status": a.Status}}, writes)
	})
	if err != nil {
		return nil, nil, err
	}
	return f, after, nil
}

func contains(ss []ledger.Side, s ledger.Side) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Freezes returns an account's freezes, lifted ones too, oldest first, a
// page at a time (limit default 100, at most 1000); next is the cursor for
// the following page. Permission: ledger:read. Returns the ledger's
// account_not_found (also out of scope).
func (s *Lifecycle) Freezes(ctx context.Context, accountID string, scope []string, after string, limit int) (
	fs []*Freeze, next string, err error) {
	a, err := s.ledger.GetAccount(ctx, accountID)
	if err != nil {
		return nil, "", err
	}
	if !inScope(scope, a.InstitutionID) {
		return nil, "", &ledger.Error{Code: ledger.CodeAccountNotFound, Message: "account " + accountID + " not found"}
	}
	if limit <= 0 {
		limit = defaultPage
	}
	limit = min(limit, maxPage)
	fs, err = scanFreezes(s.db.Read.QueryContext(ctx, `SELECT `+freezeCols+` FROM account_freezes
		WHERE account_id = $1 AND id > $2 ORDER BY id`+fmt.Sprintf(" LIMIT %d", limit+1), accountID, after))
	if err != nil {
		return nil, "", err
	}
	if len(fs) > limit {
		fs = fs[:limit]
		next = fs[limit-1].ID
	}
	return fs, next, nil
}

// KeepFreezes returns a ledger write that refuses a status change leaving
// a side unfrozen that a recorded freeze in force holds, or closing an
// account with a freeze in force (CodeFreezeInForce). Ride it along every
// status change that does not go through Lift, so that a plain thaw cannot
// undo a judicial freeze.
func (s *Lifecycle) KeepFreezes() ledger.AccountWrite {
	return func(ctx context.Context, tx *sql.Tx, _, a *ledger.Account) error { return s.checkHeld(ctx, tx, a) }
}

func (s *Lifecycle) checkHeld(ctx context.Context, tx *sql.Tx, a *ledger.Account) error {
	fs, err := s.freezesInForce(ctx, tx, a.ID)
	if err != nil || len(fs) == 0 {
		return err
	}
	if a.Status == ledger.StatusClosed {
		return errorf(CodeFreezeInForce, "account %s has %d freezes in force; lift them before closing", a.ID, len(fs))
	}
	debit := a.Status == ledger.StatusDebitFrozen || a.Status == ledger.StatusFrozen
	credit := a.Status == ledger.StatusCreditFrozen || a.Status == ledger.StatusFrozen
	for _, f := range fs {
		for _, side := range f.Side.sides() {
			if (side == ledger.Debit && !debit) || (side == ledger.Credit && !credit) {
				return errorf(CodeFreezeInForce, "freeze %s (%s) holds the %s side of account %s; lift it instead",
					f.ID, f.Authority, side, a.ID)
			}
		}
	}
	return nil
}

func (s *Lifecycle) freezesInForce(ctx context.Context, q queryer, accountID string) ([]*Freeze, error) {
	return scanFreezes(q.QueryContext(ctx, `SELECT `+freezeCols+` FROM account_freezes
		WHERE account_id = $1 AND lifted_at IS NULL ORDER BY id`+fmt.Sprintf(" LIMIT %d", MaxFreezesInForce+1), accountID))
}

// freeze reads one freeze of an account; nil when there is none.
func (s *Lifecycle) freeze(ctx context.Context, q queryer, accountID, id string) (*Freeze, error) {
	fs, err := scanFreezes(q.QueryContext(ctx, `SELECT `+freezeCols+` FROM account_freezes WHERE id = $1 AND account_id = $2`,
		id, accountID))
	if err != nil || len(fs) == 0 {
		return nil, err
	}
	return fs[0], nil
}

func freezeNotFound(id string) *Error {
	if len(id) > 64 || !store.Storable(id) {
		return errorf(CodeFreezeNotFound, "freeze not found")
	}
	return errorf(CodeFreezeNotFound, "freeze %s not found", id)
}

const freezeCols = `id, account_id, institution_id, side, authority, reason, placed_by, placed_at, lifted_at, lifted_by,
	lift_reason, reference`

func scanFreezes(rows *sql.Rows, err error) ([]*Freeze, error) {
	if err != nil {
		return nil, fmt.Errorf("read freezes: %w", err)
	}
	defer rows.Close()
	out := []*Freeze{}
	for rows.Next() {
		var f Freeze
		var side, authority string
		var placed int64
		var lifted sql.NullInt64
		var ref sql.NullString
		if err := rows.Scan(&f.ID, &f.AccountID, &f.InstitutionID, &side, &authority, &f.Reason, &f.PlacedBy, &placed,
			&lifted, &f.LiftedBy, &f.LiftReason, &ref); err != nil {
			return nil, fmt.Errorf("scan freeze: %w", err)
		}
		f.Side, f.Authority, f.PlacedAt, f.Reference = FreezeSide(side), Authority(authority), time.UnixMicro(placed).UTC(), ref.String
		if lifted.Valid {
			t := time.UnixMicro(lifted.Int64).UTC()
			f.LiftedAt = &t
		}
		out = append(out, &f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read freezes: %w", err)
	}
	return out, nil
}
