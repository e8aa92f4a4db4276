package payments

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/ledger"
)

// codeStale rejects a settlement whose order changed since it was read;
// the answer is then applied again to the order as it now is.
const codeStale ledger.Code = "payment_order_stale"

// errNoAnswer is start's error when the channel gave no answer: the order
// is recorded as unknown and its follow-up job queries it.
var errNoAnswer = errors.New("no answer from the channel")

// maxResends bounds how often an order its channel has no record of is
// sent again: after that many re-sends the follow-up stops and leaves it
// for reconciliation, which fails an order the channel never lists once
// the late window has passed, and for an operator.
const maxResends = 5

// start sends a created or unknown order to its channel and applies the
// answer. No answer makes a created order unknown; either way its
// follow-up job goes on. Starting again is safe: channels take a repeated
// start of the same order ID as the same order.
func (s *Service) start(ctx context.Context, o *Order) (*Order, error) {
	if o.State != StateCreated && o.State != StateUnknown {
		return o, nil
	}
	return s.send(ctx, o)
}

// send sends o to its channel under its order ID, whatever its state, and
// applies the answer (see start).
func (s *Service) send(ctx context.Context, o *Order) (*Order, error) {
	ch, a, err := s.channelOf(ctx, o)
	if err != nil {
		return o, err
	}
	req := channel.Request{OrderID: o.ID, Direction: o.Direction, Amount: o.Amount, Asset: o.Asset, Party: o.Party,
		PartyName: o.PartyName, Original: o.OriginalID, Memo: o.Memo}
	if base := *s.callbackURL.Load(); base != "" {
		req.CallbackURL = base + "/" + ch.ID
	}
	res, err := a.Start(ctx, req)
	switch {
	case errors.Is(err, channel.ErrInvalid) || errors.Is(err, channel.ErrUnsupported):
		// Refused before anything was sent: a definite failure.
		res = &channel.Result{OrderID: o.ID, Status: channel.Failed, Code: "not_sent", Message: err.Error()}
	case err != nil:
		got, aerr := s.apply(ctx, o, nil, CauseStart, "no answer: "+err.Error())
		if aerr != nil {
			return o, errors.Join(err, aerr)
		}
		return got, fmt.Errorf("%w: %w", errNoAnswer, err)
	}
	return s.apply(ctx, o, res, CauseStart, "")
}

// channelOf returns an order's channel and its adapter.
func (s *Service) channelOf(ctx context.Context, o *Order) (*Channel, channel.Adapter, error) {
	ch, err := s.current(ctx, o.ChannelID, nil)
	if err != nil {
		return nil, nil, err
	}
	a, err := s.adapter(ch)
	return ch, a, err
}

// effect is what applying an answer does.
type effect int

const (
	none       effect = iota
	move              // change state, no money
	settle            // succeed: credit (pay-in) or post the hold
	release           // fail before success: void the hold (pay-out, refund)
	compensate        // fail after success: reverse the settling posting
	note              // record a contradicting answer, change nothing
)

// decide says what answer res (nil: no answer) does to o, and the state
// it leads to.
func decide(o *Order, res *channel.Result) (effect, State, string) {
	if res == nil {
		if o.State == StateCreated {
			return move, StateUnknown, ""
		}
		return none, o.State, ""
	}
	switch res.Status {
	case channel.Processing:
		if o.State == StateCreated || o.State == StateUnknown {
			return move, StateProcessing, ""
		}
	case channel.Succeeded:
		if (res.Amount != 0 && res.Amount != o.Amount) || (res.Asset != "" && res.Asset != o.Asset) {
			return note, o.State, fmt.Sprintf("channel reports success for %d %s, the order is for %d %s; left for reconciliation",
				res.Amount, res.Asset, o.Amount, o.Asset)
		}
		switch o.State {
		case StateCreated, StateProcessing, StateUnknown:
			return settle, StateSucceeded, ""
		case StateFailed:
			return note, o.State, "channel reports success for a failed order; left for reconciliation"
		}
	case channel.Failed:
		switch o.State {
		case StateCreated, StateProcessing, StateUnknown:
			if o.Direction == channel.PayIn {
				return move, StateFailed, ""
			}
			return release, StateFailed, ""
		case StateSucceeded:
			return compensate, StateFailed, ""
		}
	}
	return none, o.State, ""
}

// apply applies a channel's answer (nil: none came) to an order by
// compare-and-set on its state, with its ledger effect in the same storage
// transaction, and returns the order as it is then. o is the order as the
// caller last read it; when it has changed since, it is read again. A
// repeated or stale answer changes nothing.
func (s *Service) apply(ctx context.Context, o *Order, res *channel.Result, cause, detail string, writes ...Write) (*Order, error) {
	id := o.ID
	for attempt := range 5 {
		if attempt > 0 {
			var err error
			if o, err = s.GetOrder(ctx, id, nil); err != nil {
				return nil, err
			}
		}
		eff, next, why := decide(o, res)
		if eff == none {
			return o, nil
		}
		if why != "" {
			detail = why
		}
		upd := *o
		upd.State = next
		upd.UpdatedAt = s.clock.Now().UTC().Truncate(time.Microsecond)
		if res != nil {
			if res.ChannelRef != "" {
				upd.ChannelRef = res.ChannelRef
			}
			if res.Fee != 0 {
				upd.ChannelFee = res.Fee
			}
			if res.Status == channel.Failed && eff != note {
				upd.FailureCode, upd.FailureMessage = clipText(res.Code, 64), clipText(res.Message, 500)
				if detail == "" {
					detail = res.Code + " " + res.Message
				}
			}
		}
		if eff == compensate {
			cause = CauseCompensation + " (" + cause + ")"
		}
		err := s.commit(ctx, o, &upd, eff, cause, detail, writes)
		if ledger.ErrorCode(err) == codeStale {
			continue
		}
		if code := refusal(err); code != "" && eff == settle && o.Direction == channel.PayIn {
			// The channel has the money but the account refuses it
			// (frozen, closed, over a limit): the order fails with the
			// refusal, and reconciliation sees channel success against it.
			upd.State, upd.FailureCode, upd.FailureMessage, upd.TransactionID = StateFailed, code, clipText(err.Error(), 500), ""
			err = s.commit(ctx, o, &upd, move, CauseCredit, err.Error(), writes)
			if ledger.ErrorCode(err) == codeStale {
				continue
			}
		}
		if err != nil {
			return nil, err
		}
		return &upd, nil
	}
	return nil, fmt.Errorf("apply answer to order %s: it kept changing", id)
}

// commit writes the change from o to upd with its effect: the ledger
// request for money effects, a plain batched write otherwise.
func (s *Service) commit(ctx context.Context, o, upd *Order, eff effect, cause, detail string, writes []Write) error {
	write := func(ctx context.Context, tx *sql.Tx, tr *ledger.Transaction) error {
		switch {
		case tr == nil:
		case eff == compensate:
			upd.ReversalID = tr.ID
		default:
			upd.TransactionID = tr.ID
		}
		return s.record(ctx, tx, o, upd, cause, detail, writes)
	}
	meta := map[string]string{"order_id": o.ID, "direction": string(o.Direction)}
	var err error
	switch eff {
	case move, note:
		err = s.ledger.Do(ctx, func(ctx context.Context, tx *sql.Tx) error { return write(ctx, tx, nil) })
	case settle:
		if o.Direction == channel.PayIn {
			var ch *Channel
			if ch, err = s.current(ctx, o.ChannelID, nil); err == nil {
				_, err = s.ops.TopUp(ctx, accounts.OperationRequest{Reference: ledgerRef(o.ID, "credit"), Account: o.AccountID,
					Channel: ch.Code, Amount: o.Amount, Metadata: meta, Writes: []ledger.Write{write}})
			}
		} else {
			_, err = s.ops.CompleteWithdraw(ctx, accounts.ResolveRequest{HoldID: o.HoldID, Reference: ledgerRef(o.ID, "post"),
				Metadata: meta, Writes: []ledger.Write{write}})
		}
	case release:
		_, err = s.ops.FailWithdraw(ctx, accounts.ResolveRequest{HoldID: o.HoldID, Reference: ledgerRef(o.ID, "void"),
			Metadata: meta, Writes: []ledger.Write{write}})
	case compensate:
		res, serr := s.ledger.Submit(ctx, []ledger.Request{{Kind: ledger.KindReversal, InstitutionID: o.InstitutionID,
			Reference: ledgerRef(o.ID, "reverse"), Type: "payment_compensation", TransactionID: o.TransactionID,
			Metadata: meta, Writes: []ledger.Write{write}}}, false)
		if err = serr; err == nil && res[0].Err != nil {
			err = res[0].Err
		}
	}
	return err
}

// record writes the order's change: compare-and-set on its state, the
// transition and its event, follow-up jobs, limits given back, the bulk
// file's counters.
func (s *Service) record(ctx context.Context, tx *sql.Tx, o, upd *Order, cause, detail string, writes []Write) error {
	ex := s.ledger.Tx(tx)
	var finished any
	if upd.State.Final() && !o.State.Final() {
		t := upd.UpdatedAt
		upd.FinishedAt = &t
	}
	if upd.FinishedAt != nil {
		finished = upd.FinishedAt.UnixMicro()
	}
	r, err := ex.ExecContext(ctx, `UPDATE payment_orders SET state = $1, channel_ref = $2, channel_fee = $3,
		failure_code = $4, failure_message = $5, transaction_id = $6, reversal_id = $7, updated_at = $8, finished_at = $9,
		version = version + 1 WHERE id = $10 AND version = $11`,
		string(upd.State), upd.ChannelRef, upd.ChannelFee, upd.FailureCode, upd.FailureMessage, upd.TransactionID,
		upd.ReversalID, upd.UpdatedAt.UnixMicro(), finished, o.ID, o.Version)
	if err != nil {
		return fmt.Errorf("update order %s: %w", o.ID, err)
	}
	if n, err := r.RowsAffected(); err != nil || n != 1 {
		return &ledger.Error{Code: codeStale, Message: "the order changed meanwhile"}
	}
	upd.Version = o.Version + 1
	if err := s.transition(ctx, ex, upd, o.State, cause, detail); err != nil {
		return err
	}
	if upd.State.Final() {
		if err := jobs.Done(ctx, ex, JobFollow, o.ID, upd.UpdatedAt); err != nil {
			return err
		}
		if o.State != StateFailed && upd.State == StateFailed {
			if err := giveBackLimits(ctx, ex, o); err != nil {
				return err
			}
		}
	}
	if o.BatchID != "" && upd.State.Final() && !o.State.Final() {
		if err := s.orderFinished(ctx, tx, upd); err != nil {
			return err
		}
	}
	for _, w := range writes {
		if err := w(ctx, tx, o, upd); err != nil {
			return err
		}
	}
	return nil
}

// runFollow is an order's follow-up job: it starts the order if the
// creating request did not, and queries it at the channel's backoff until
// a definite answer settles it or the channel's attempts run out (the
// order then stays as it is, with a stuck note, for reconciliation). A
// channel that has no record of the order gets it again under the same
// order ID, at most maxResends times (see resend).
func (s *Service) runFollow(ctx context.Context, j *jobs.Job) error {
	var p orderJob
	if err := j.Decode(&p); err != nil {
		return err
	}
	o, err := s.GetOrder(ctx, p.OrderID, nil)
	if err != nil {
		return jobs.Permanent(err)
	}
	if o.State.Final() {
		return nil
	}
	ch, a, err := s.channelOf(ctx, o)
	if err != nil {
		return err
	}
	retry := ch.Params.Retry
	if j.Attempts > retry.MaxAttempts {
		msg := fmt.Sprintf("no definite answer after %d queries; left %s for reconciliation", retry.MaxAttempts, o.State)
		upd := *o
		upd.UpdatedAt = s.clock.Now().UTC().Truncate(time.Microsecond)
		if err := s.commit(ctx, o, &upd, note, "stuck", msg, nil); err != nil {
			return err
		}
		return jobs.Permanent(errors.New(msg))
	}
	next := retry.backoff(j.Attempts)
	if o.State == StateCreated {
		o, err = s.start(ctx, o)
		switch {
		case err != nil && !errors.Is(err, errNoAnswer):
			return err
		case o.State.Final():
			return nil
		}
		return jobs.RetryAfter(next, errors.New("started; the outcome comes later"))
	}
	res, err := a.Query(ctx, o.ID, o.Direction)
	if err != nil {
		return jobs.RetryAfter(next, err)
	}
	switch res.Status {
	case channel.NotFound:
		return s.resend(ctx, o, next)
	case channel.Processing:
		if _, err := s.apply(ctx, o, res, CauseQuery, ""); err != nil {
			return err
		}
		return jobs.RetryAfter(next, errors.New("still processing"))
	}
	o, err = s.apply(ctx, o, res, CauseQuery, "")
	if err != nil {
		return err
	}
	if !o.State.Final() {
		// A success the order cannot take (amount mismatch): noted; keep
		// asking in case the channel corrects itself.
		return jobs.RetryAfter(next, errors.New("answer not applied"))
	}
	return nil
}

// resend sends again, under the same order ID, an unsettled order whose
// channel answers that it has no record of it: a start that never reached
// it, or a channel that lost the order. The channel's idempotency by order
// ID makes this safe — a channel that does have the order answers with it
// and never pays twice. Each re-send is noted in the order's transitions
// (a payment_order.resent event) before it goes out; after maxResends the
// order is left as it is with a stuck note (a payment_order.stuck event)
// for reconciliation and the operators, and the follow-up ends.
func (s *Service) resend(ctx context.Context, o *Order, next time.Duration) error {
	var n int
	if err := s.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM payment_order_transitions WHERE order_id = $1 AND cause = $2`,
		o.ID, CauseResend).Scan(&n); err != nil {
		return fmt.Errorf("count re-sends of order %s: %w", o.ID, err)
	}
	upd := *o
	upd.UpdatedAt = s.clock.Now().UTC().Truncate(time.Microsecond)
	if n >= maxResends {
		msg := fmt.Sprintf("the channel still has no record of the order after %d re-sends under the same order ID; left %s "+
			"for reconciliation (an order the channel never lists fails once the late window has passed) or an operator",
			n, o.State)
		if err := s.commit(ctx, o, &upd, note, "stuck", msg, nil); err != nil {
			return err
		}
		return jobs.Permanent(errors.New(msg))
	}
	what := fmt.Sprintf("re-send %d of %d under the same order ID", n+1, maxResends)
	if err := s.commit(ctx, o, &upd, note, CauseResend, "the channel has no record of the order: "+what, nil); err != nil {
		return err
	}
	got, err := s.send(ctx, &upd) // commit moved upd to the order's new version
	switch {
	case errors.Is(err, errNoAnswer):
		return jobs.RetryAfter(next, fmt.Errorf("the channel had no record of the order; %s got no answer: %w", what, err))
	case err != nil:
		return err
	case got.State.Final():
		return nil
	}
	return jobs.RetryAfter(next, fmt.Errorf("the channel had no record of the order; %s: the order is %s", what, got.State))
}

// Callback verifies and applies a channel's notification for channel id,
// and returns the acknowledgement the channel expects. Callbacks are
// authenticated by the channel's signature alone. Returns CodeChannelNotFound,
// CodeBadSignature or CodeOrderNotFound (the order is not this channel's).
func (s *Service) Callback(ctx context.Context, id string, header http.Header, body []byte, writes ...Write) (*Order, string, []byte, error) {
	ch, err := s.current(ctx, id, nil)
	if err != nil {
		return nil, "", nil, err
	}
	a, err := s.adapter(ch)
	if err != nil {
		return nil, "", nil, err
	}
	res, err := a.VerifyCallback(header, body)
	if err != nil {
		if errors.Is(err, channel.ErrBadSignature) {
			return nil, "", nil, errorf(CodeBadSignature, "", "callback signature does not verify")
		}
		return nil, "", nil, invalid("", "callback not understood: %v", err)
	}
	o, err := s.GetOrder(ctx, res.OrderID, nil)
	if err != nil || o.ChannelID != ch.ID {
		return nil, "", nil, errorf(CodeOrderNotFound, "", "channel %s has no order %s", ch.Code, res.OrderID)
	}
	if res.Status != channel.Processing && res.Status != channel.Succeeded && res.Status != channel.Failed {
		return nil, "", nil, invalid("", "callback status %q is not an answer", res.Status)
	}
	if o, err = s.apply(ctx, o, res, CauseCallback, "", writes...); err != nil {
		return nil, "", nil, err
	}
	ct, ack := a.CallbackAck()
	return o, ct, ack, nil
}

// Settle applies an answer an operator or reconciliation has established
// (e.g. from the channel's statement) as if the channel had sent it; cause
// names who (e.g. "operator", "reconciliation") and reason why, both kept
// in the transition. Permission: payments:settle. Returns
// CodeOrderNotFound or CodeInvalidRequest.
func (s *Service) Settle(ctx context.Context, id string, status channel.Status, channelRef, cause, reason string, scope []string, writes ...Write) (*Order, error) {
	o, err := s.GetOrder(ctx, id, scope)
	if err != nil {
		return nil, err
	}
	if status != channel.Succeeded && status != channel.Failed {
		return nil, invalid("status", "status must be succeeded or failed")
	}
	if err := text("reason", reason, 500); err != nil {
		return nil, err
	}
	res := &channel.Result{OrderID: o.ID, Status: status, ChannelRef: channelRef, Code: "settled_by_" + cause, Message: reason}
	return s.apply(ctx, o, res, cause, reason, writes...)
}

// refusal is the code of a business refusal in err ("" for none, or for a
// failure of the store or of a ride-along write).
func refusal(err error) string {
	var ae *accounts.Error
	if errors.As(err, &ae) {
		return string(ae.Code)
	}
	switch c := ledger.ErrorCode(err); c {
	case "", ledger.CodeWriteFailed, codeStale:
		return ""
	default:
		return string(c)
	}
}

func clipText(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
