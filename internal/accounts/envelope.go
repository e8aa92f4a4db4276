package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
)

// Red envelopes (红包).
//
// Create moves the envelope's total from the payer's account to the
// institution's envelope escrow account of the asset (internal account role
// envelope) in ONE transfer (operation red_envelope, governed by the payer's
// product: control, limits, fee), and the envelope row is inserted by a
// ride-along write of that transfer: the row exists if and only if the money
// moved.
//
// A claim is two storage transactions, because its amount is decided under
// the envelope's row lock but a ledger request must carry its amount when it
// is built:
//
//  1. reserve: lock the envelope row (FOR UPDATE on PostgreSQL), refuse an
//     expired or empty envelope or a recipient who has claimed, compute the
//     share and insert the claim as pending, taking the share and one count
//     off the envelope's remainder;
//  2. post: the transfer escrow → recipient (reference
//     envelope-claim:<envelope>:<recipient>), whose ride-along write locks the
//     envelope row and turns the pending claim into done (the last one also
//     the envelope into done); it refuses if the claim is no longer pending.
//
// Crash safety: a claim reserved but never posted stays pending. The
// recipient's retry finds it and posts the same share under the same
// reference (so it never moves twice); a definite ledger rejection of the
// post (a frozen recipient, say) releases it at once; and expiry releases
// every pending claim, returning its share with the remainder in the same
// ledger transaction. Because the claim's post and the expiry both lock the
// envelope row and check the claim's state in their own transaction, a
// share is either paid to its recipient or returned to the payer, never
// both.
//
// Shares. equal: total/count each, the total%count remainder one minor unit
// each on the last claims, so the shares sum to the total exactly. random:
// "double the mean" — with r left for n claims, a claim takes a uniform
// share in [1, 2·⌊r/n⌋ − 1] (1 when that is below 1), the last claim the
// exact remainder; since total ≥ count, at least one unit is left for every
// later claim. The generator is PCG seeded with the envelope's seed and the
// claim's index, so shares are reproducible from the stored row.

// RoleEnvelope is the envelope escrow account of an asset (channel ”).
const RoleEnvelope = "envelope"

// Envelope split rules and statuses.
const (
	SplitEqual  = "equal"
	SplitRandom = "random"

	EnvelopeOpen    = "open"
	EnvelopeDone    = "done"
	EnvelopeExpired = "expired"
)

// Ledger error codes of claims: a ride-along write or the reservation
// refuses with them.
const (
	CodeEnvelopeExpired ledger.Code = "envelope_expired"
	CodeEnvelopeEmpty   ledger.Code = "envelope_empty"
	CodeAlreadyClaimed  ledger.Code = "already_claimed"
	// codeEnvelopeChanged refuses an expiry whose amount is stale (a claim
	// was posted meanwhile); ExpireEnvelopes tries again.
	codeEnvelopeChanged ledger.Code = "envelope_changed"
)

// CodeEnvelopeNotFound: no such envelope in the caller's institutions.
const CodeEnvelopeNotFound Code = "envelope_not_found"

// Transaction types of claims and expiry (the creation's is red_envelope).
const (
	TypeEnvelopeClaim  = "red_envelope_claim"
	TypeEnvelopeExpiry = "red_envelope_expiry"
	envelopeExpiryRef  = "envelope-expiry:"
	envelopeClaimRef   = "envelope-claim:"
	maxEnvelopeCount   = 10000
	maxEnvelopeExpiry  = 30 * 24 * time.Hour
)

// Envelope is a red envelope.
type Envelope struct {
	ID              string          `json:"id"`
	InstitutionID   string          `json:"institution_id"`
	PayerAccount    string          `json:"payer_account"`
	EscrowAccount   string          `json:"escrow_account"`
	Asset           string          `json:"asset"`
	Total           int64           `json:"total"`
	Count           int             `json:"count"`
	RemainingAmount int64           `json:"remaining_amount"` // not yet reserved by a claim
	RemainingCount  int             `json:"remaining_count"`
	Split           string          `json:"split"`
	ExpiresAt       time.Time       `json:"expires_at"`
	Status          string          `json:"status"`
	Reference       string          `json:"reference"`
	TransactionID   string          `json:"transaction_id"` // the creating transfer
	CreatedAt       time.Time       `json:"created_at"`
	Claims          []EnvelopeClaim `json:"claims"`
	seed            int64
}

// EnvelopeClaim is one recipient's share.
type EnvelopeClaim struct {
	Recipient     string    `json:"recipient_account"`
	Amount        int64     `json:"amount"`
	Status        string    `json:"status"` // pending (reserved, not yet posted) or done
	TransactionID string    `json:"transaction_id,omitempty"`
	ClaimedAt     time.Time `json:"claimed_at"`
}

// EnvelopeRequest asks for a red envelope.
type EnvelopeRequest struct {
	Reference string // idempotency key, unique per institution
	Account   string // the payer's customer account
	Channel   string
	Total     int64         // minor units, ≥ Count
	Count     int           // number of shares, 1..10000
	Split     string        // equal or random
	ExpiresIn time.Duration // > 0, at most 30 days
	Metadata  map[string]string
	Scope     []string
	Writes    []ledger.Write
}

// EnvelopeResult is the envelope and the transaction that moved its money.
type EnvelopeResult struct {
	Envelope    *Envelope
	Transaction *ledger.Transaction
	Fee         Fee
	Duplicate   bool
}

// CreateEnvelope moves Total from the payer to the envelope escrow account
// and records the envelope. Idempotent by reference: a retry returns the
// original envelope (Duplicate). Permission: ledger:post. Returns
// CodeInvalidRequest (also: no envelope account registered),
// CodeAccountNotFound, CodeOperationNotAllowed, CodeChannelNotAllowed,
// CodeLimitExceeded or the ledger's codes.
func (s *Operations) CreateEnvelope(ctx context.Context, r EnvelopeRequest) (*EnvelopeResult, error) {
	if err := checkReference(r.Reference, ledger.MaxReferenceLen); err != nil {
		return nil, err
	}
	switch {
	case !tokenPattern.MatchString(r.Channel):
		return nil, fieldErr("channel", "channel is required: 1-32 lowercase letters, digits or '_'")
	case r.Count < 1 || r.Count > maxEnvelopeCount:
		return nil, fieldErr("count", "count must be between 1 and %d", maxEnvelopeCount)
	case r.Total < int64(r.Count):
		return nil, fieldErr("total", "total must be at least count minor units (each share is at least 1)")
	case r.Split != SplitEqual && r.Split != SplitRandom:
		return nil, fieldErr("split", "split must be equal or random")
	case r.ExpiresIn <= 0 || r.ExpiresIn > maxEnvelopeExpiry:
		return nil, fieldErr("expires_in", "expiry must be positive and at most 30 days")
	}
	payer, err := s.party(ctx, r.Account, "account", r.Scope)
	if err != nil {
		return nil, err
	}
	inst, asset := payer.link.InstitutionID, payer.product.Asset
	if err := payer.product.Allows(OpRedEnvelope, r.Channel); err != nil {
		return nil, err
	}
	escrow, err := s.internalAccount(ctx, inst, RoleEnvelope, "", asset)
	if err != nil {
		return nil, err
	}
	fee, err := payer.product.Fee(OpRedEnvelope, r.Channel, r.Total)
	if err != nil {
		return nil, err
	}
	postings := []ledger.Posting{{Debit: r.Account, Credit: escrow, Asset: asset, Amount: r.Total}}
	meta := copyMeta(r.Metadata)
	meta["operation"], meta["channel"], meta["amount"] = OpRedEnvelope, r.Channel, strconv.FormatInt(r.Total, 10)
	meta["product"] = payer.product.ID + "@" + strconv.Itoa(payer.product.Version)
	meta["count"], meta["split"] = strconv.Itoa(r.Count), r.Split
	meta["fee"], meta["fee_payer"] = strconv.FormatInt(fee.Amount, 10), ""
	if fee.Amount > 0 {
		feeAcct, err := s.cfg.FeeAccount(ctx, inst, asset)
		if err != nil {
			return nil, err
		}
		postings = append(postings, ledger.Posting{Debit: r.Account, Credit: feeAcct, Asset: asset, Amount: fee.Amount})
		meta["fee_payer"], meta["fee_account"] = string(PartyPayer), feeAcct
	}
	e := &Envelope{ID: newID(), InstitutionID: inst, PayerAccount: r.Account, EscrowAccount: escrow, Asset: asset,
		Total: r.Total, Count: r.Count, RemainingAmount: r.Total, RemainingCount: r.Count, Split: r.Split,
		Status: EnvelopeOpen, Reference: r.Reference, seed: rand.Int64()}
	expires := s.clock.Now().Add(r.ExpiresIn).UnixMicro()
	insert := func(ctx context.Context, tx *sql.Tx, tr *ledger.Transaction) error {
		now := tr.CreatedAt.UnixMicro()
		_, err := tx.ExecContext(ctx, `INSERT INTO envelopes (id, institution_id, payer_account, escrow_account, asset, total,
			count, remaining_amount, remaining_count, split, seed, expires_at, status, reference, transaction_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			e.ID, e.InstitutionID, e.PayerAccount, e.EscrowAccount, e.Asset, e.Total, e.Count, e.Total, e.Count, e.Split,
			e.seed, expires, EnvelopeOpen, e.Reference, tr.ID, now)
		if err != nil {
			return fmt.Errorf("insert envelope: %w", err)
		}
		return nil
	}
	payload := map[string]any{"operation": OpRedEnvelope, "channel": r.Channel, "account": r.Account, "amount": r.Total,
		"count": r.Count, "split": r.Split, "fee": fee.Amount, "asset": asset, "envelope_id": e.ID}
	writes := []ledger.Write{usageWrite(s.ledger, payer.product, r.Account, OpRedEnvelope, r.Channel, r.Total),
		s.event(payload), insert}
	res, err := s.submit(ctx, ledger.Request{Kind: ledger.KindTransfer, InstitutionID: inst, Reference: r.Reference,
		Type: OpRedEnvelope, Postings: postings, Metadata: meta, Writes: append(writes, r.Writes...)})
	if err != nil {
		return nil, err
	}
	got, err := s.envelopeBy(ctx, `institution_id = $1 AND reference = $2`, inst, r.Reference)
	if err != nil {
		return nil, err
	}
	return &EnvelopeResult{Envelope: got, Transaction: res.Transaction, Fee: res.Fee, Duplicate: res.Duplicate}, nil
}

const envelopeCols = `id, institution_id, payer_account, escrow_account, asset, total, count, remaining_amount,
	remaining_count, split, seed, expires_at, status, reference, transaction_id, created_at`

type rowScanner interface{ Scan(dest ...any) error }

func scanEnvelope(row rowScanner) (*Envelope, error) {
	var e Envelope
	var exp, created int64
	if err := row.Scan(&e.ID, &e.InstitutionID, &e.PayerAccount, &e.EscrowAccount, &e.Asset, &e.Total, &e.Count,
		&e.RemainingAmount, &e.RemainingCount, &e.Split, &e.seed, &exp, &e.Status, &e.Reference, &e.TransactionID,
		&created); err != nil {
		return nil, err
	}
	e.ExpiresAt, e.CreatedAt = time.UnixMicro(exp).UTC(), time.UnixMicro(created).UTC()
	return &e, nil
}

func (s *Operations) envelopeBy(ctx context.Context, where string, args ...any) (*Envelope, error) {
	e, err := scanEnvelope(s.db.Read.QueryRowContext(ctx, `SELECT `+envelopeCols+` FROM envelopes WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errorAt(CodeEnvelopeNotFound, "", "envelope not found")
	}
	if err != nil {
		return nil, fmt.Errorf("read envelope: %w", err)
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT recipient_account, amount, status, transaction_id, claimed_at
		FROM envelope_claims WHERE envelope_id = $1 ORDER BY claimed_at, recipient_account`, e.ID)
	if err != nil {
		return nil, fmt.Errorf("read envelope claims: %w", err)
	}
	defer rows.Close()
	e.Claims = []EnvelopeClaim{}
	for rows.Next() {
		var c EnvelopeClaim
		var tid sql.NullString
		var at int64
		if err := rows.Scan(&c.Recipient, &c.Amount, &c.Status, &tid, &at); err != nil {
			return nil, fmt.Errorf("read envelope claims: %w", err)
		}
		c.TransactionID, c.ClaimedAt = tid.String, time.UnixMicro(at).UTC()
		e.Claims = append(e.Claims, c)
	}
	return e, rows.Err()
}

// GetEnvelope returns an envelope with its claims. Permission: ledger:read.
// Returns CodeEnvelopeNotFound (also out of scope).
func (s *Operations) GetEnvelope(ctx context.Context, id string, scope []string) (*Envelope, error) {
	if id == "" || len(id) > 64 || !store.Storable(id) {
		return nil, errorAt(CodeEnvelopeNotFound, "", "envelope %s not found", id)
	}
	e, err := s.envelopeBy(ctx, `id = $1`, id)
	if err == nil && !inScope(scope, e.InstitutionID) {
		return nil, errorAt(CodeEnvelopeNotFound, "", "envelope %s not found", id)
	}
	return e, err
}

// ClaimRequest claims a share of an envelope.
type ClaimRequest struct {
	EnvelopeID string
	Recipient  string // a customer account of the envelope's institution and asset
	Scope      []string
	Writes     []ledger.Write
}

// share computes the share of the claim with index i (0-based) of e, given
// what is left: r minor units for n claims.
func share(e *Envelope, i int, r int64, n int) int64 {
	if n <= 1 {
		return r
	}
	if e.Split == SplitEqual {
		base, extra := e.Total/int64(e.Count), e.Total%int64(e.Count)
		if int64(i) >= int64(e.Count)-extra {
			return base + 1
		}
		return base
	}
	hi := 2*(r/int64(n)) - 1
	if hi < 1 {
		return 1
	}
	rng := rand.New(rand.NewPCG(uint64(e.seed), uint64(i)))
	return 1 + rng.Int64N(hi)
}

// ClaimEnvelope pays the recipient a share of the envelope: Dr escrow · Cr
// recipient (type red_envelope_claim). Permission: ledger:post. Returns
// CodeEnvelopeNotFound, CodeInvalidRequest, CodeAccountNotFound, the
// ledger codes envelope_expired, envelope_empty, already_claimed, or the
// ledger's codes of the transfer (account_frozen, …), after which the
// reserved share is released.
func (s *Operations) ClaimEnvelope(ctx context.Context, r ClaimRequest) (*OperationResult, error) {
	e, err := s.GetEnvelope(ctx, r.EnvelopeID, r.Scope)
	if err != nil {
		return nil, err
	}
	rec, err := s.party(ctx, r.Recipient, "recipient", r.Scope)
	if err != nil {
		return nil, err
	}
	if rec.link.InstitutionID != e.InstitutionID || rec.product.Asset != e.Asset {
		return nil, fieldErr("recipient", "the recipient must be an account of institution %s in %s", e.InstitutionID, e.Asset)
	}
	amount, err := s.reserveClaim(ctx, e.ID, r.Recipient)
	if err != nil {
		return nil, err
	}
	meta := map[string]string{"operation": TypeEnvelopeClaim, "amount": strconv.FormatInt(amount, 10), "fee": "0",
		"fee_payer": "", "envelope_id": e.ID}
	payload := map[string]any{"operation": TypeEnvelopeClaim, "account": r.Recipient, "amount": amount, "asset": e.Asset,
		"envelope_id": e.ID}
	complete := func(ctx context.Context, tx *sql.Tx, tr *ledger.Transaction) error {
		if _, err := lockEnvelope(ctx, tx, s.db.Dialect, e.ID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE envelope_claims SET status = 'done', transaction_id = $1
			WHERE envelope_id = $2 AND recipient_account = $3 AND status = 'pending'`, tr.ID, e.ID, r.Recipient)
		if err != nil {
			return fmt.Errorf("complete claim: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return &ledger.Error{Code: CodeEnvelopeExpired, Message: "the claim was released: the envelope expired"}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE envelopes SET status = 'done' WHERE id = $1 AND status = 'open'
			AND remaining_count = 0 AND NOT EXISTS (SELECT 1 FROM envelope_claims WHERE envelope_id = $1 AND status = 'pending')`,
			e.ID); err != nil {
			return fmt.Errorf("complete envelope: %w", err)
		}
		return nil
	}
	res, err := s.submit(ctx, ledger.Request{Kind: ledger.KindTransfer, InstitutionID: e.InstitutionID,
		Reference: envelopeClaimRef + e.ID + ":" + r.Recipient, Type: TypeEnvelopeClaim,
		Postings: []ledger.Posting{{Debit: e.EscrowAccount, Credit: r.Recipient, Asset: e.Asset, Amount: amount}},
		Metadata: meta, Writes: append([]ledger.Write{s.event(payload), complete}, r.Writes...)})
	var le *ledger.Error
	if errors.As(err, &le) && le.Code != CodeEnvelopeExpired && le.Code != ledger.CodeWriteFailed {
		// A definite rejection: nothing moved, give the share back.
		if rerr := s.releaseClaim(ctx, e.ID, r.Recipient); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
	}
	if err != nil {
		return nil, err
	}
	if res.Duplicate {
		return nil, &ledger.Error{Code: CodeAlreadyClaimed, Message: "the recipient has claimed this envelope", Field: "recipient"}
	}
	return res, nil
}

// lockEnvelope reads the envelope row, locking it on PostgreSQL.
func lockEnvelope(ctx context.Context, tx *sql.Tx, d store.Dialect, id string) (*Envelope, error) {
	e, err := scanEnvelope(tx.QueryRowContext(ctx, `SELECT `+envelopeCols+` FROM envelopes WHERE id = $1`+d.ForUpdate(), id))
	if err != nil {
		return nil, fmt.Errorf("lock envelope: %w", err)
	}
	return e, nil
}

// reserveClaim is step 1 of a claim: it returns the recipient's share,
// reserved as a pending claim (or the pending claim of an earlier attempt).
func (s *Operations) reserveClaim(ctx context.Context, id, recipient string) (int64, error) {
	var amount int64
	err := s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		e, err := lockEnvelope(ctx, tx, s.db.Dialect, id)
		if err != nil {
			return err
		}
		var status string
		err = tx.QueryRowContext(ctx, `SELECT amount, status FROM envelope_claims WHERE envelope_id = $1 AND recipient_account = $2`,
			id, recipient).Scan(&amount, &status)
		switch {
		case err == nil && status == "pending":
			return nil // an earlier attempt reserved it: post it now
		case err == nil:
			return &ledger.Error{Code: CodeAlreadyClaimed, Message: "the recipient has claimed this envelope", Field: "recipient"}
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("read claim: %w", err)
		}
		now := s.clock.Now()
		switch {
		case e.Status == EnvelopeExpired || !now.Before(e.ExpiresAt):
			return &ledger.Error{Code: CodeEnvelopeExpired, Message: "the envelope has expired"}
		case e.Status == EnvelopeDone || e.RemainingCount == 0:
			return &ledger.Error{Code: CodeEnvelopeEmpty, Message: "every share of the envelope has been claimed"}
		}
		amount = share(e, e.Count-e.RemainingCount, e.RemainingAmount, e.RemainingCount)
		if _, err := tx.ExecContext(ctx, `INSERT INTO envelope_claims (envelope_id, recipient_account, amount, status, claimed_at)
			VALUES ($1, $2, $3, 'pending', $4)`, id, recipient, amount, now.UnixMicro()); err != nil {
			return fmt.Errorf("reserve claim: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE envelopes SET remaining_amount = remaining_amount - $1,
			remaining_count = remaining_count - 1 WHERE id = $2`, amount, id); err != nil {
			return fmt.Errorf("reserve claim: %w", err)
		}
		return nil
	})
	return amount, err
}

// releaseClaim gives a pending claim's share back to the envelope.
func (s *Operations) releaseClaim(ctx context.Context, id, recipient string) error {
	return s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		if _, err := lockEnvelope(ctx, tx, s.db.Dialect, id); err != nil {
			return err
		}
		return releasePending(ctx, tx, id, recipient)
	})
}

// releasePending deletes the pending claims of an envelope (of recipient
// when not empty), adding their shares back to its remainder.
func releasePending(ctx context.Context, tx *sql.Tx, id, recipient string) error {
	cond := `envelope_id = $1 AND status = 'pending'`
	args := []any{id}
	if recipient != "" {
		cond += ` AND recipient_account = $2`
		args = append(args, recipient)
	}
	var sum, n int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0), COUNT(*) FROM envelope_claims WHERE `+cond, args...).
		Scan(&sum, &n); err != nil {
		return fmt.Errorf("release claims: %w", err)
	}
	if n == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM envelope_claims WHERE `+cond, args...); err != nil {
		return fmt.Errorf("release claims: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE envelopes SET remaining_amount = remaining_amount + $1,
		remaining_count = remaining_count + $2 WHERE id = $3`, sum, n, id); err != nil {
		return fmt.Errorf("release claims: %w", err)
	}
	return nil
}

// unpaid is what of an envelope is still in escrow: the remainder plus the
// pending claims.
func unpaid(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT e.remaining_amount + COALESCE((SELECT SUM(c.amount) FROM envelope_claims c
		WHERE c.envelope_id = e.id AND c.status = 'pending'), 0) FROM envelopes e WHERE e.id = $1`, id).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("read envelope remainder: %w", err)
	}
	return n, nil
}

// ExpireEnvelopes returns what is left of every open envelope whose expiry
// has passed by the clock to its payer — Dr escrow · Cr payer, reference
// envelope-expiry:<id>, type red_envelope_expiry — releasing its pending
// claims, and marks it expired, in one ledger transaction per envelope. It
// returns how many it expired. A second run, or a run in another process,
// is harmless.
func (s *Operations) ExpireEnvelopes(ctx context.Context) (int, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+envelopeCols+` FROM envelopes
		WHERE status = 'open' AND expires_at <= $1 ORDER BY expires_at LIMIT 1000`, s.clock.Now().UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("find expired envelopes: %w", err)
	}
	var due []*Envelope
	for rows.Next() {
		e, err := scanEnvelope(rows)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("find expired envelopes: %w", err)
		}
		due = append(due, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("find expired envelopes: %w", err)
	}
	n := 0
	var errs []error
	for _, e := range due {
		done, err := s.expireEnvelope(ctx, e)
		if err != nil {
			errs = append(errs, fmt.Errorf("expire envelope %s: %w", e.ID, err))
		}
		if done {
			n++
		}
	}
	return n, errors.Join(errs...)
}

func (s *Operations) expireEnvelope(ctx context.Context, e *Envelope) (bool, error) {
	for attempt := 0; attempt < 5; attempt++ {
		amount, err := unpaid(ctx, s.db.Read, e.ID)
		if err != nil {
			return false, err
		}
		mark := func(ctx context.Context, tx *sql.Tx, _ *ledger.Transaction) error {
			cur, err := lockEnvelope(ctx, tx, s.db.Dialect, e.ID)
			if err != nil {
				return err
			}
			if cur.Status != EnvelopeOpen {
				return &ledger.Error{Code: codeEnvelopeChanged, Message: "the envelope is no longer open"}
			}
			now, err := unpaid(ctx, tx, e.ID)
			if err != nil {
				return err
			}
			if now != amount {
				return &ledger.Error{Code: codeEnvelopeChanged, Message: "the envelope changed"}
			}
			if err := releasePending(ctx, tx, e.ID, ""); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `UPDATE envelopes SET status = 'expired', remaining_amount = 0 WHERE id = $1`, e.ID)
			return err
		}
		if amount == 0 {
			// Nothing to return (every share posted or the total claimed):
			// just mark it.
			err := s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error { return mark(ctx, tx, nil) })
			if ledger.ErrorCode(err) == codeEnvelopeChanged {
				continue
			}
			return err == nil, err
		}
		meta := map[string]string{"operation": TypeEnvelopeExpiry, "amount": strconv.FormatInt(amount, 10), "fee": "0",
			"fee_payer": "", "envelope_id": e.ID}
		payload := map[string]any{"operation": TypeEnvelopeExpiry, "account": e.PayerAccount, "amount": amount,
			"asset": e.Asset, "envelope_id": e.ID}
		res, err := s.ledger.Submit(ctx, []ledger.Request{{Kind: ledger.KindTransfer, InstitutionID: e.InstitutionID,
			Reference: envelopeExpiryRef + e.ID, Type: TypeEnvelopeExpiry,
			Postings: []ledger.Posting{{Debit: e.EscrowAccount, Credit: e.PayerAccount, Asset: e.Asset, Amount: amount}},
			Metadata: meta, Writes: []ledger.Write{s.event(payload), mark}}}, false)
		if err != nil {
			return false, err
		}
		switch {
		case res[0].Err == nil:
			return !res[0].Duplicate, nil
		case res[0].Err.Code == codeEnvelopeChanged:
			continue
		default:
			return false, res[0].Err
		}
	}
	return false, errors.New("the envelope kept changing")
}

// StartEnvelopeSweeper runs ExpireEnvelopes every interval until ctx ends
// or Close is called on the returned sweeper. Errors go to onErr (which may
// be nil).
func (s *Operations) StartEnvelopeSweeper(ctx context.Context, every time.Duration, onErr func(error)) *EnvelopeSweeper {
	ctx, cancel := context.WithCancel(ctx)
	w := &EnvelopeSweeper{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := s.ExpireEnvelopes(ctx); err != nil && onErr != nil && ctx.Err() == nil {
					onErr(err)
				}
			}
		}
	}()
	return w
}

// EnvelopeSweeper is a running envelope expiry loop.
type EnvelopeSweeper struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Close stops the sweeper and waits for a run in progress to end.
func (w *EnvelopeSweeper) Close() {
	w.cancel()
	<-w.done
}
