package payments

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/internal/outbox"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
)

// State is where an order is in its life.
type State string

// The order states of spec 03.
const (
	StateCreated    State = "created"    // stored, not yet answered by the channel
	StateProcessing State = "processing" // the channel accepted it; outcome later
	StateUnknown    State = "unknown"    // the channel did not answer; being queried
	StateSucceeded  State = "succeeded"
	StateFailed     State = "failed"
)

// Final reports whether s is an outcome.
func (s State) Final() bool { return s == StateSucceeded || s == StateFailed }

// Event types orders emit; each transition to a state emits
// "payment_order.<state>".
const (
	EventOrderPrefix   = "payment_order."
	EventOrderConflict = "payment_order.conflict" // a channel answer that contradicts the order's outcome
	EventOrderStuck    = "payment_order.stuck"    // queries or re-sends exhausted without a definite answer
	EventOrderResent   = "payment_order.resent"   // sent again under the same order ID: the channel had no record of it
)

// Order is a pay-in, pay-out or refund through a channel.
type Order struct {
	ID            string            `json:"id"`
	InstitutionID string            `json:"institution_id"`
	Reference     string            `json:"reference"`
	ChannelID     string            `json:"channel_id"`
	Direction     channel.Direction `json:"direction"`
	AccountID     string            `json:"account_id"`
	Asset         string            `json:"asset"`
	Amount        int64             `json:"amount"`
	// ChannelFee is what the channel charges for the order: as it reported
	// it, or as its configured rate expects until it does.
	ChannelFee     int64      `json:"channel_fee"`
	Party          string     `json:"party"`
	PartyName      string     `json:"party_name,omitempty"`
	Memo           string     `json:"memo,omitempty"`
	OriginalID     string     `json:"original_id,omitempty"`
	State          State      `json:"state"`
	ChannelRef     string     `json:"channel_ref,omitempty"`
	FailureCode    string     `json:"failure_code,omitempty"`
	FailureMessage string     `json:"failure_message,omitempty"`
	HoldID         string     `json:"hold_id,omitempty"`
	TransactionID  string     `json:"transaction_id,omitempty"`
	ReversalID     string     `json:"reversal_id,omitempty"`
	BatchID        string     `json:"batch_id,omitempty"`
	LineNo         int        `json:"line_no,omitempty"`
	BusinessDate   string     `json:"business_date"`
	CreatedBy      string     `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	FinishedAt     *time.Time `json:"finished_at,omitempty"`
	// Version counts the order's changes.
	Version int `json:"version"`

	requestHash string
}

// Transition is one recorded change of an order: From = To for a note
// (an answer that changed nothing but must be seen).
type Transition struct {
	Seq    int       `json:"seq"`
	From   State     `json:"from"`
	To     State     `json:"to"`
	Cause  string    `json:"cause"`
	Detail string    `json:"detail,omitempty"`
	At     time.Time `json:"at"`
}

// Transition causes.
const (
	CauseAPI          = "api"
	CauseStart        = "start"
	CauseQuery        = "query"
	CauseCallback     = "callback"
	CauseCompensation = "compensation"
	CauseCredit       = "credit_refused"
	CauseResend       = "resend" // a note: the channel had no record of the order, which is sent again
)

// Write is extra work (an audit record) committed with an order change:
// the order before it (nil on creation) and after it.
type Write func(ctx context.Context, tx *sql.Tx, before, after *Order) error

// Job kinds the service registers. An order's follow-up job is enqueued
// with it and runs until the order has an outcome: it starts an order the
// creating request did not get to (it crashed), and queries one without an
// answer at the channel's backoff.
const (
	JobFollow = "payments.follow"
	JobBatch  = "payments.batch"
)

// Config builds a Service.
type Config struct {
	DB         *store.DB
	Ledger     *ledger.Ledger
	Operations *accounts.Operations
	Jobs       *jobs.Scheduler
	Clock      clock.Clock
	// CallbackURL is the public base URL channels post callbacks to; the
	// channel's ID is appended ("…/v1/payments/callbacks/{id}"). Empty: no
	// callbacks are asked for, and only queries settle orders.
	CallbackURL string
	// StartDelay is how long after creation the order's follow-up job
	// first looks at it: it starts an order the creating request did not
	// get to (it crashed, or Create was told not to start), and queries one
	// still without an outcome; default 5 s.
	StartDelay time.Duration
	// JobLease bounds one run of a follow-up job and is how long it stays
	// leased when the process running it dies; default 2 min, and at least
	// the longest channel timeout.
	JobLease time.Duration
	// Secrets, when set, encrypts the channels' signing secrets at rest;
	// without it they are stored as they are. Use one or the other for the
	// life of a store.
	Secrets store.Sealer
	// HTTPClient talks to the channels; nil: one channel.NewClient shared by
	// every channel.
	HTTPClient *http.Client
	Log        *slog.Logger
}

// Service runs channels and orders.
type Service struct {
	db          *store.DB
	ledger      *ledger.Ledger
	ops         *accounts.Operations
	jobs        *jobs.Scheduler
	clock       clock.Clock
	client      *http.Client
	callbackURL atomic.Pointer[string]
	startDelay  time.Duration
	log         *slog.Logger
	secrets     store.Sealer

	mu       sync.Mutex
	adapters map[string]versioned
	channels map[string]cachedChannel
}

// New returns the service and registers its job kinds with cfg.Jobs.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = cfg.Ledger.Clock()
	}
	if cfg.StartDelay <= 0 {
		cfg.StartDelay = 5 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.JobLease <= 0 {
		cfg.JobLease = 2 * time.Minute
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = channel.NewClient()
	}
	s := &Service{db: cfg.DB, ledger: cfg.Ledger, ops: cfg.Operations, jobs: cfg.Jobs, clock: cfg.Clock,
		client: cfg.HTTPClient, startDelay: cfg.StartDelay, log: cfg.Log, secrets: cfg.Secrets, adapters: map[string]versioned{}, channels: map[string]cachedChannel{}}
	s.SetCallbackURL(cfg.CallbackURL)
	// The channel's own retry policy paces queries (RetryAfter); the kind's
	// attempt limit only stops a runaway.
	cfg.Jobs.Register(JobFollow, jobs.Policy{MaxAttempts: 1001, Backoff: 5 * time.Second, MaxBackoff: 10 * time.Minute, Timeout: cfg.JobLease},
		s.runFollow)
	cfg.Jobs.Register(JobBatch, jobs.Policy{MaxAttempts: 100, Backoff: 5 * time.Second, MaxBackoff: 10 * time.Minute, Timeout: 10 * time.Minute},
		s.runBatch)
	return s
}

// SetCallbackURL changes the base URL channels are told to post callbacks
// to (see Config.CallbackURL), e.g. once the server knows its address.
func (s *Service) SetCallbackURL(url string) {
	url = strings.TrimRight(url, "/")
	s.callbackURL.Store(&url)
}

// OrderRequest asks for an order.
type OrderRequest struct {
	// Reference is the caller's idempotency key, unique per institution:
	// the same request under it returns the existing order.
	Reference string
	ChannelID string
	Direction channel.Direction
	// Account is the customer's account: credited by a pay-in, debited by
	// a pay-out or refund.
	Account   string
	Amount    int64
	Party     string
	PartyName string
	Memo      string
	// Original is, for a refund, the pay-in order refunded.
	Original string
	// NoStart leaves the order to its follow-up job instead of sending it to
	// the channel before Create returns (bulk files do this).
	NoStart   bool
	Scope     []string
	CreatedBy string
	Writes    []Write

	batchID string
	lineNo  int
}

func (r *OrderRequest) validate() error {
	switch {
	case r.Reference == "" || len(r.Reference) > 128 || !store.Storable(r.Reference):
		return invalid("reference", "reference is required: text of at most 128 bytes")
	case r.Direction != channel.PayIn && r.Direction != channel.PayOut && r.Direction != channel.Refund:
		return invalid("direction", "direction must be pay_in, pay_out or refund")
	case r.Account == "":
		return invalid("account", "account is required")
	case r.Amount <= 0:
		return invalid("amount", "amount must be positive (minor units)")
	case r.Direction == channel.Refund && r.Original == "":
		return invalid("original", "a refund names the pay-in order it refunds")
	case r.Direction != channel.Refund && r.Original != "":
		return invalid("original", "original is only for refunds")
	case r.Direction == channel.PayOut && r.Party == "":
		return invalid("party", "a pay-out needs the party paid (account, wallet or card)")
	}
	for _, f := range []struct {
		name, v string
		n       int
	}{{"account", r.Account, 64}, {"party", r.Party, 128}, {"party_name", r.PartyName, 200}, {"memo", r.Memo, 500}, {"original", r.Original, 64}} {
		if err := text(f.name, f.v, f.n); err != nil {
			return err
		}
	}
	return nil
}

// hash is the request's content, to tell a retry from a conflicting reuse
// of its reference.
func (r *OrderRequest) hash() string {
	h := sha256.New()
	for _, v := range []string{r.ChannelID, string(r.Direction), r.Account, fmt.Sprint(r.Amount), r.Party, r.PartyName, r.Memo, r.Original} {
		fmt.Fprintf(h, "%d:%s", len(v), v)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Create stores an order and, unless NoStart, sends it to the channel
// before returning (a failure to get an answer leaves it unknown, to be
// queried). A pay-out or refund places its hold in the same transaction,
// so a refused hold (insufficient funds, frozen account, limits) refuses
// the order. The same request again under the same reference returns the
// existing order with duplicate set.
//
// Permission: payments:order. Returns CodeInvalidRequest,
// CodeChannelNotFound, CodeChannelDisabled, CodeDirectionNotSupported,
// CodeChannelLimitExceeded, CodeOrderNotFound (refund's original),
// CodeReferenceConflict, or the account and ledger codes of the hold.
func (s *Service) Create(ctx context.Context, r OrderRequest) (o *Order, duplicate bool, err error) {
	if err := r.validate(); err != nil {
		return nil, false, err
	}
	ch, err := s.current(ctx, r.ChannelID, r.Scope)
	if err != nil {
		return nil, false, err
	}
	if existing, err := s.byReference(ctx, ch.InstitutionID, r.Reference); err == nil {
		return s.duplicate(existing, &r)
	} else if !isCode(err, CodeOrderNotFound) {
		return nil, false, err
	}
	if err := s.admit(ch, &r); err != nil {
		return nil, false, err
	}
	acct, err := s.ledger.GetAccount(ctx, r.Account)
	if err != nil || acct.InstitutionID != ch.InstitutionID {
		return nil, false, errorf(CodeInvalidRequest, "account", "account %s not found in the channel's institution", r.Account)
	}
	if acct.Asset != ch.Asset {
		return nil, false, invalid("account", "account %s holds %s; channel %s moves %s", r.Account, acct.Asset, ch.Code, ch.Asset)
	}
	// Before any channel is called: an amount past the asset's ceiling is
	// a typing error or an attack, never a payment.
	if err := s.ledger.CheckAmount(ctx, ch.Asset, r.Amount, "amount"); err != nil {
		return nil, false, err
	}
	fee, err := ch.Params.fee(r.Direction, r.Amount)
	if err != nil {
		return nil, false, invalid("amount", "the channel fee of %d overflows", r.Amount)
	}
	now := s.clock.Now().UTC().Truncate(time.Microsecond)
	o = &Order{ID: uuid.Must(uuid.NewV7()).String(), InstitutionID: ch.InstitutionID, Reference: r.Reference,
		ChannelID: ch.ID, Direction: r.Direction, AccountID: r.Account, Asset: ch.Asset, Amount: r.Amount,
		ChannelFee: fee, Party: r.Party, PartyName: r.PartyName, Memo: r.Memo, OriginalID: r.Original,
		State: StateCreated, BatchID: r.batchID, LineNo: r.lineNo, BusinessDate: s.ledger.BusinessDate(now),
		CreatedBy: r.CreatedBy, CreatedAt: now, UpdatedAt: now, requestHash: r.hash()}
	write := func(ctx context.Context, tx *sql.Tx) error {
		ex := s.ledger.Tx(tx)
		if err := s.insert(ctx, ex, o); err != nil {
			return err
		}
		if r.Direction == channel.Refund {
			if err := s.checkRefund(ctx, tx, o); err != nil {
				return err
			}
		}
		if err := s.useLimits(ctx, ex, ch, o); err != nil {
			return err
		}
		if err := s.transition(ctx, ex, o, StateCreated, CauseAPI, ""); err != nil {
			return err
		}
		if _, err := jobs.Enqueue(ctx, ex, jobs.Spec{Kind: JobFollow, Key: o.ID, InstitutionID: o.InstitutionID,
			Payload: orderJob{OrderID: o.ID}, RunAt: now.Add(s.startDelay)}, now); err != nil {
			return err
		}
		for _, w := range r.Writes {
			if err := w(ctx, tx, nil, o); err != nil {
				return err
			}
		}
		return nil
	}
	if r.Direction == channel.PayIn {
		err = s.ledger.Do(ctx, write)
	} else {
		_, err = s.ops.Withdraw(ctx, accounts.OperationRequest{Reference: ledgerRef(o.ID, "hold"), Account: r.Account,
			Channel: ch.Code, Amount: r.Amount, Scope: r.Scope, Metadata: map[string]string{"order_id": o.ID, "direction": string(r.Direction)},
			Writes: []ledger.Write{func(ctx context.Context, tx *sql.Tx, tr *ledger.Transaction) error {
				o.HoldID = tr.ID
				return write(ctx, tx)
			}}})
	}
	if err != nil {
		// The reference decides, whatever refused this request: a twin sent
		// at the same moment may have committed first, and then this one
		// failed on what the twin did (a pay-out's hold finds the money
		// already held by the twin's; a pay-in's insert finds the reference
		// taken). Its caller is answered with the twin's order, never with
		// a refusal for money that moved.
		existing, gerr := s.byReference(ctx, ch.InstitutionID, r.Reference)
		switch {
		case gerr == nil:
			return s.duplicate(existing, &r)
		case !isCode(gerr, CodeOrderNotFound):
			return nil, false, gerr
		}
		return nil, false, unwrapWrite(err)
	}
	if !r.NoStart {
		got, err := s.start(ctx, o)
		if err != nil {
			// The order is stored; its follow-up job takes over.
			s.log.WarnContext(ctx, "start order", "order", o.ID, "err", err)
		}
		if got != nil {
			o = got
		}
	} else {
		s.jobs.Notify()
	}
	return o, false, nil
}

func (s *Service) duplicate(existing *Order, r *OrderRequest) (*Order, bool, error) {
	if existing.requestHash != r.hash() {
		return nil, false, errorf(CodeReferenceConflict, "reference", "reference %s was used before for a different order", r.Reference)
	}
	return existing, true, nil
}

// admit checks the order against the channel's status, directions and
// per-order limits (the daily ones are counted in the transaction).
func (s *Service) admit(ch *Channel, r *OrderRequest) error {
	if ch.Status != ChannelActive {
		return errorf(CodeChannelDisabled, "channel_id", "channel %s is disabled", ch.Code)
	}
	enabled := false
	for _, d := range ch.Params.Directions {
		enabled = enabled || d == r.Direction
	}
	if !enabled {
		return errorf(CodeDirectionNotSupported, "direction", "channel %s does not take %s orders", ch.Code, r.Direction)
	}
	l := ch.Params.Limits[r.Direction]
	switch {
	case l.PerTxnMin > 0 && r.Amount < l.PerTxnMin:
		return errorf(CodeChannelLimitExceeded, "amount", "channel %s takes %s orders of at least %d", ch.Code, r.Direction, l.PerTxnMin)
	case l.PerTxnMax > 0 && r.Amount > l.PerTxnMax:
		return errorf(CodeChannelLimitExceeded, "amount", "channel %s takes %s orders of at most %d", ch.Code, r.Direction, l.PerTxnMax)
	}
	return nil
}

// useLimits counts the order against the channel's daily limits.
func (s *Service) useLimits(ctx context.Context, ex ledger.Execer, ch *Channel, o *Order) error {
	l := ch.Params.Limits[o.Direction]
	if l.DailyAmount == 0 && l.DailyCount == 0 {
		return nil
	}
	var amount, count int64
	err := ex.QueryRowContext(ctx, `INSERT INTO payment_channel_usage (channel_id, direction, day, amount, count)
		VALUES ($1, $2, $3, $4, 1) ON CONFLICT (channel_id, direction, day)
		DO UPDATE SET amount = payment_channel_usage.amount + excluded.amount, count = payment_channel_usage.count + 1
		RETURNING amount, count`, ch.ID, string(o.Direction), o.BusinessDate, o.Amount).Scan(&amount, &count)
	if err != nil {
		return fmt.Errorf("count channel usage: %w", err)
	}
	if (l.DailyAmount > 0 && amount > l.DailyAmount) || (l.DailyCount > 0 && count > l.DailyCount) {
		return &ledger.Error{Code: ledger.Code(CodeChannelLimitExceeded), Field: "amount",
			Message: fmt.Sprintf("channel %s's daily %s limit would be exceeded", ch.Code, o.Direction)}
	}
	return nil
}

// giveBackLimits returns a failed order's amount to the day's usage.
func giveBackLimits(ctx context.Context, ex ledger.Execer, o *Order) error {
	_, err := ex.ExecContext(ctx, `UPDATE payment_channel_usage SET amount = amount - $1, count = count - 1
		WHERE channel_id = $2 AND direction = $3 AND day = $4`, o.Amount, o.ChannelID, string(o.Direction), o.BusinessDate)
	return err
}

// checkRefund locks the refunded pay-in and checks the refunds so far
// (failed ones do not count) stay within it.
func (s *Service) checkRefund(ctx context.Context, tx *sql.Tx, o *Order) error {
	var acct, state, dir string
	var amount int64
	err := tx.QueryRowContext(ctx, `SELECT account_id, state, direction, amount FROM payment_orders
		WHERE id = $1 AND institution_id = $2 AND channel_id = $3`+s.db.Dialect.ForUpdate(), o.OriginalID, o.InstitutionID, o.ChannelID).
		Scan(&acct, &state, &dir, &amount)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (dir != string(channel.PayIn) || acct != o.AccountID)) {
		return &ledger.Error{Code: ledger.Code(CodeOrderNotFound), Field: "original",
			Message: fmt.Sprintf("no pay-in order %s of account %s on this channel", o.OriginalID, o.AccountID)}
	}
	if err != nil {
		return err
	}
	if state != string(StateSucceeded) {
		return &ledger.Error{Code: ledger.Code(CodeInvalidRequest), Field: "original", Message: "only a succeeded pay-in can be refunded"}
	}
	var refunded int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM payment_orders
		WHERE original_id = $1 AND state <> 'failed'`, o.OriginalID).Scan(&refunded); err != nil {
		return err
	}
	if refunded > amount {
		return &ledger.Error{Code: ledger.Code(CodeInvalidRequest), Field: "amount",
			Message: fmt.Sprintf("refunds would total %d of a %d pay-in", refunded, amount)}
	}
	return nil
}

const codeReferenceTaken ledger.Code = "order_reference_taken"

const orderCols = `id, institution_id, reference, request_hash, channel_id, direction, account_id, asset, amount,
	channel_fee, party, party_name, memo, original_id, state, channel_ref, failure_code, failure_message, hold_id,
	transaction_id, reversal_id, batch_id, line_no, business_date, created_by, created_at, updated_at, finished_at, version`

func (s *Service) insert(ctx context.Context, ex ledger.Execer, o *Order) error {
	_, err := ex.ExecContext(ctx, `INSERT INTO payment_orders (`+orderCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
		$10, $11, $12, $13, $14, $15, '', '', '', $16, '', '', $17, $18, $19, $20, $21, $21, NULL, 0)`,
		o.ID, o.InstitutionID, o.Reference, o.requestHash, o.ChannelID, string(o.Direction), o.AccountID, o.Asset, o.Amount,
		o.ChannelFee, o.Party, o.PartyName, o.Memo, o.OriginalID, string(o.State), o.HoldID, o.BatchID, o.LineNo,
		o.BusinessDate, o.CreatedBy, o.CreatedAt.UnixMicro())
	if c, ok := store.UniqueViolation(err); ok && (c == "" || strings.Contains(c, "reference")) {
		return &ledger.Error{Code: codeReferenceTaken, Message: "order reference taken"}
	}
	if err != nil {
		return fmt.Errorf("insert order: %w", err)
	}
	if o.BatchID != "" {
		if _, err := ex.ExecContext(ctx, `UPDATE payment_batches SET open_orders = open_orders + 1 WHERE id = $1`, o.BatchID); err != nil {
			return fmt.Errorf("count batch order: %w", err)
		}
	}
	return nil
}

// transition records a change (or a note, from = to) and emits its event.
func (s *Service) transition(ctx context.Context, ex ledger.Execer, o *Order, from State, cause, detail string) error {
	if len(detail) > 1000 {
		detail = detail[:1000]
	}
	if _, err := ex.ExecContext(ctx, `INSERT INTO payment_order_transitions (order_id, seq, from_state, to_state, cause, detail, at)
		VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM payment_order_transitions WHERE order_id = $1), $2, $3, $4, $5, $6)`,
		o.ID, string(from), string(o.State), cause, detail, o.UpdatedAt.UnixMicro()); err != nil {
		return fmt.Errorf("record transition of %s: %w", o.ID, err)
	}
	typ := EventOrderPrefix + string(o.State)
	if from == o.State && cause != CauseAPI {
		typ = EventOrderConflict
		switch cause {
		case "stuck":
			typ = EventOrderStuck
		case CauseResend:
			typ = EventOrderResent
		}
	}
	return outbox.Record(ctx, ex, &outbox.Event{Type: typ, Subject: "payment_order:" + o.ID, InstitutionID: o.InstitutionID,
		CreatedAt: o.UpdatedAt, Payload: map[string]any{"order": o, "from": from, "cause": cause, "detail": detail}})
}

// GetOrder returns an order in scope (nil: any). Returns CodeOrderNotFound.
func (s *Service) GetOrder(ctx context.Context, id string, scope []string) (*Order, error) {
	if id == "" || len(id) > 64 || !store.Storable(id) {
		return nil, errorf(CodeOrderNotFound, "id", "order not found")
	}
	o, err := scanOrder(s.db.QueryRow(ctx, `SELECT `+orderCols+` FROM payment_orders WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !inScope(scope, o.InstitutionID)) {
		return nil, errorf(CodeOrderNotFound, "id", "order %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get order %s: %w", id, err)
	}
	return o, nil
}

func (s *Service) byReference(ctx context.Context, inst, ref string) (*Order, error) {
	o, err := scanOrder(s.db.QueryRow(ctx, `SELECT `+orderCols+` FROM payment_orders
		WHERE institution_id = $1 AND reference = $2`, inst, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errorf(CodeOrderNotFound, "reference", "no order with reference %s", ref)
	}
	return o, err
}

// OrderFilter selects orders for ListOrders.
type OrderFilter struct {
	Scope     []string
	State     State
	ChannelID string
	Direction channel.Direction
	BatchID   string
	Date      string // business date
	After     string // the last order ID of the previous page
	Limit     int    // 1-500, default 100
}

// ListOrders returns a page of orders, oldest first, and the cursor of the
// next page ("" at the end).
func (s *Service) ListOrders(ctx context.Context, f OrderFilter) ([]*Order, string, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	if f.Limit > 500 {
		return nil, "", invalid("limit", "limit must be at most 500")
	}
	var w store.Where
	w.Add("state = ?", string(f.State))
	w.Add("channel_id = ?", f.ChannelID)
	w.Add("direction = ?", string(f.Direction))
	w.Add("batch_id = ?", f.BatchID)
	w.Add("business_date = ?", f.Date)
	w.Add("id > ?", f.After)
	w.In("institution_id", f.Scope)
	q := `SELECT ` + orderCols + ` FROM payment_orders WHERE ` + w.String() + ` ORDER BY id LIMIT ` + w.Arg(f.Limit+1)
	rows, err := s.db.Read.QueryContext(ctx, q, w.Args...)
	if err != nil {
		return nil, "", fmt.Errorf("list orders: %w", err)
	}
	defer rows.Close()
	var out []*Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// Transitions returns an order's recorded changes, oldest first.
func (s *Service) Transitions(ctx context.Context, id string, scope []string) ([]Transition, error) {
	if _, err := s.GetOrder(ctx, id, scope); err != nil {
		return nil, err
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT seq, from_state, to_state, cause, detail, at
		FROM payment_order_transitions WHERE order_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("list transitions of %s: %w", id, err)
	}
	defer rows.Close()
	var out []Transition
	for rows.Next() {
		var t Transition
		var at int64
		if err := rows.Scan(&t.Seq, &t.From, &t.To, &t.Cause, &t.Detail, &at); err != nil {
			return nil, err
		}
		t.At = time.UnixMicro(at).UTC()
		out = append(out, t)
	}
	return out, rows.Err()
}

func scanOrder(sc interface{ Scan(...any) error }) (*Order, error) {
	var o Order
	var created, updated int64
	var finished sql.NullInt64
	if err := sc.Scan(&o.ID, &o.InstitutionID, &o.Reference, &o.requestHash, &o.ChannelID, &o.Direction, &o.AccountID,
		&o.Asset, &o.Amount, &o.ChannelFee, &o.Party, &o.PartyName, &o.Memo, &o.OriginalID, &o.State, &o.ChannelRef,
		&o.FailureCode, &o.FailureMessage, &o.HoldID, &o.TransactionID, &o.ReversalID, &o.BatchID, &o.LineNo,
		&o.BusinessDate, &o.CreatedBy, &created, &updated, &finished, &o.Version); err != nil {
		return nil, err
	}
	o.CreatedAt, o.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	if finished.Valid {
		t := time.UnixMicro(finished.Int64).UTC()
		o.FinishedAt = &t
	}
	return &o, nil
}

// ledgerRef is the ledger reference of an order's step: each step posts at
// most once whatever happens around it.
func ledgerRef(orderID, step string) string { return "payment:" + orderID + ":" + step }

func isCode(err error, c Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == c
}

// unwrapWrite turns a ledger rejection that carries one of this package's
// codes back into a payments error.
func unwrapWrite(err error) error {
	var le *ledger.Error
	if errors.As(err, &le) {
		switch Code(le.Code) {
		case CodeChannelLimitExceeded, CodeOrderNotFound, CodeInvalidRequest:
			return &Error{Code: Code(le.Code), Message: le.Message, Field: le.Field}
		}
	}
	return err
}

type orderJob struct {
	OrderID string `json:"order_id"`
}
