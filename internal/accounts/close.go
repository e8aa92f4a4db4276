package accounts

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
)

// CloseRequest asks for an account to be closed.
type CloseRequest struct {
	AccountID string
	// SweepTo, when set, receives the remaining balance first: an account
	// of the same institution and asset. Without it the balance must be
	// zero.
	SweepTo string
	// Reference is the sweep transfer's reference (its idempotency key);
	// default "close-sweep:<account>:<entry seq>", which is the same for a
	// retry of the same state and new once the account has moved since.
	Reference string
	Reason    string // optional
	By        string
	Scope     []string // the caller's institutions (nil: any)
}

// Closed is a closed account and the sweep transfer that emptied it, when
// there was one (made now, or earlier under the caller's Reference).
type Closed struct {
	Account *ledger.Account
	Sweep   *ledger.Transaction
}

// Close closes an account: with a zero balance and no open holds; or,
// with SweepTo, after moving the remaining balance there in one ledger
// transfer. The sweep is committed first and is idempotent by its
// reference; the close then sets the ledger status closed, marks the
// product link closed and records an account.closed event with the writes,
// in one storage transaction. A crash between the two leaves an open,
// empty account, and a retry completes the close; closing a closed account
// changes nothing and runs no writes. Open holds refuse the close (post or
// void them first), and so does a freeze in force (lift it first).
//
// Permission: accounts:freeze. Returns CodeInvalidRequest and
// CodeAccountNotFound (for sweep_to), CodeFreezeInForce, or the ledger's
// account_not_found, account_not_empty, account_frozen, insufficient_funds
// or reference_conflict.
func (s *Lifecycle) Close(ctx context.Context, r CloseRequest, writes ...ChangeWrite) (*Closed, error) {
	if err := checkReasonBy(r.Reason, r.By, false); err != nil {
		return nil, err
	}
	if len(r.Reference) > ledger.MaxReferenceLen || !store.Storable(r.Reference) {
		return nil, fieldErr("reference", "reference must be text of at most %d bytes", ledger.MaxReferenceLen)
	}
	a, err := s.ledger.GetAccount(ctx, r.AccountID)
	if err != nil {
		return nil, err
	}
	if !inScope(r.Scope, a.InstitutionID) {
		return nil, &ledger.Error{Code: ledger.CodeAccountNotFound, Message: "account " + r.AccountID + " not found"}
	}
	out := &Closed{Account: a}
	if r.Reference != "" {
		tr, err := s.ledger.GetTransactionByReference(ctx, a.InstitutionID, r.Reference)
		switch {
		case err == nil:
			out.Sweep = tr
		case ledger.ErrorCode(err) != ledger.CodeTransactionNotFound:
			return nil, err
		}
	}
	if a.Status == ledger.StatusClosed {
		return out, nil
	}
	if fs, err := s.freezesInForce(ctx, s.db.Read, a.ID); err != nil {
		return nil, err
	} else if len(fs) > 0 {
		return nil, errorf(CodeFreezeInForce, "account %s has %d freezes in force; lift them before closing", a.ID, len(fs))
	}
	if a.DebitsPending != 0 || a.CreditsPending != 0 {
		return nil, &ledger.Error{Code: ledger.CodeAccountNotEmpty,
			Message: fmt.Sprintf("account %s has open holds; post or void them before closing", a.ID)}
	}
	balance := a.Balance(a.NormalSide)
	switch {
	case balance != 0 && r.SweepTo == "":
		return nil, &ledger.Error{Code: ledger.CodeAccountNotEmpty,
			Message: fmt.Sprintf("account %s has a balance; sweep it to another account (sweep_to) or move it first", a.ID)}
	case balance != 0:
		tr, err := s.sweep(ctx, a, balance, r)
		if err != nil {
			return nil, err
		}
		out.Sweep = tr
	}
	now := s.now()
	_, after, err := s.ledger.SetStatus(ctx, ledger.StatusChange{AccountID: a.ID, Status: ledger.StatusClosed,
		InstitutionIDs: r.Scope}, func(ctx context.Context, tx *sql.Tx, _, a *ledger.Account) error {
		if err := s.checkHeld(ctx, tx, a); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE customer_accounts SET closed_at = $1, closed_by = $2
			WHERE account_id = $3 AND closed_at IS NULL`, now.UnixMicro(), r.By, a.ID); err != nil {
			return fmt.Errorf("close account link: %w", err)
		}
		payload := map[string]any{"account_id": a.ID, "reason": r.Reason, "by": r.By}
		if out.Sweep != nil {
			payload["swept_to"], payload["sweep_transaction_id"] = r.SweepTo, out.Sweep.ID
			payload["swept_amount"] = out.Sweep.Postings[0].Amount
		}
		return recordEvent(ctx, tx, tx, &Event{Type: EventAccountClosed, Subject: "account:" + a.ID,
			InstitutionID: a.InstitutionID, CreatedAt: now, Payload: payload}, writes)
	})
	if err != nil {
		return nil, err
	}
	out.Account = after
	return out, nil
}

// sweep moves balance (on a's normal side; negative for an overdrawn
// account) between a and r.SweepTo in one transfer.
func (s *Lifecycle) sweep(ctx context.Context, a *ledger.Account, balance int64, r CloseRequest) (*ledger.Transaction, error) {
	if r.SweepTo == a.ID {
		return nil, fieldErr("sweep_to", "an account cannot be swept into itself")
	}
	to, err := s.ledger.GetAccount(ctx, r.SweepTo)
	if ledger.ErrorCode(err) == ledger.CodeAccountNotFound || (err == nil && !inScope(r.Scope, to.InstitutionID)) {
		return nil, errorAt(CodeAccountNotFound, "sweep_to", "account %s not found", r.SweepTo)
	}
	if err != nil {
		return nil, err
	}
	if to.InstitutionID != a.InstitutionID || to.Asset != a.Asset {
		return nil, fieldErr("sweep_to", "the sweep account must be of institution %s and asset %s", a.InstitutionID, a.Asset)
	}
	ref := r.Reference
	if ref == "" {
		ref = "close-sweep:" + a.ID + ":" + strconv.FormatInt(a.EntrySeq, 10)
	}
	// Moving a positive balance out takes the side opposite the normal one.
	out, in := a.ID, to.ID
	if a.NormalSide == ledger.Debit {
		out, in = in, out
	}
	amount := balance
	if balance < 0 {
		out, in, amount = in, out, -balance
	}
	return s.ledger.Post(ctx, ledger.Request{Kind: ledger.KindTransfer, InstitutionID: a.InstitutionID, Reference: ref,
		Type: "account_close_sweep", Postings: []ledger.Posting{{Debit: out, Credit: in, Asset: a.Asset, Amount: amount}},
		Metadata: map[string]string{"closes": a.ID}})
}
