package match

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/recon/statement"
)

// Order is a payment order as reconciliation sees it.
type Order struct {
	// ID is the order's ID, unique among the orders given.
	ID string
	// Group is the bulk batch ID the order came from, "" if none.
	Group string
	// ChannelRef is the channel's reference, once known.
	ChannelRef string
	// Direction is PayIn, PayOut or Refund.
	Direction channel.Direction
	// Amount is in minor units of Asset; never negative.
	Amount int64
	// Fee is the channel fee Suanpan expects, in minor units.
	Fee   int64
	Asset string
	// State is one of the payment order states: StateCreated,
	// StateProcessing, StateUnknown, StateSucceeded or StateFailed.
	State string
	// At is when the order was created.
	At time.Time
	// Party is the counterparty (account number, card, payer) when known.
	Party string
}

// The payment order states an Order may be in (the values of the payments
// package's State, which this package does not import).
const (
	StateCreated    = "created"
	StateProcessing = "processing"
	StateUnknown    = "unknown"
	StateSucceeded  = "succeeded"
	StateFailed     = "failed"
)

// Kind is how an Item classifies a line, an order or a match between them.
type Kind string

// The kinds of Item.
const (
	// Matched: the line and its orders agree.
	Matched Kind = "matched"
	// Late: a line or order with nothing on the other side that is too
	// recent to be a discrepancy yet (At after AsOf − LateWindow).
	Late Kind = "late"
	// Long: the channel moved money that no order accounts for.
	Long Kind = "long"
	// Short: an order that succeeded or is not final, absent from the
	// statement.
	Short Kind = "short"
	// AmountMismatch: a succeeded line and succeeded orders that differ in
	// amount, asset or direction.
	AmountMismatch Kind = "amount_mismatch"
	// StatusMismatch: the channel and the orders disagree about the
	// outcome, or the orders of one line disagree among themselves.
	StatusMismatch Kind = "status_mismatch"
	// Duplicate: a line for orders an earlier line already settled, or a
	// second line with the same channel reference.
	Duplicate Kind = "duplicate"
	// FeeMismatch: everything agrees but the fee.
	FeeMismatch Kind = "fee_mismatch"
	// Ignored: a failed line with no order; no money moved.
	Ignored Kind = "ignored"
)

// Kinds returns every Kind, in a fixed order.
func Kinds() []Kind {
	return []Kind{Matched, Late, Long, Short, AmountMismatch, StatusMismatch, Duplicate, FeeMismatch, Ignored}
}

// By is how a line found its orders.
type By string

// The ways a line finds its orders.
const (
	// ByOrderID: the order's ID is the line's OrderID.
	ByOrderID By = "order_id"
	// ByChannelRef: the orders' ChannelRef is the line's.
	ByChannelRef By = "channel_ref"
	// ByGroup: the orders' Group is the line's OrderID or ChannelRef.
	ByGroup By = "group"
	// ByAmount: matched without a reference, by amount, date and party.
	ByAmount By = "amount"
	// ByNone: one-sided; nothing was found.
	ByNone By = ""
)

// Item is one finding: a line with its orders, a line alone, or an order
// alone.
type Item struct {
	Kind Kind
	By   By
	// Lines are indexes into the lines given: exactly one, or none for an
	// order alone (Short, or Late).
	Lines []int
	// Orders are indexes into the orders given, ascending: one or several,
	// or none for a line alone (Long, Late, Ignored). A Duplicate's are
	// the orders an earlier line already claimed.
	Orders []int
	// Difference is the money in question, in minor units, positive when
	// the channel moved more than Suanpan booked; see the package
	// documentation for each Kind.
	Difference int64
	// Detail is one human sentence about a difference, "" for Matched.
	Detail string
}

// Result is what Reconcile found. The Lines and Orders of its items share
// a few large arrays (a duplicate's Orders may be the very slice of the line
// it repeats): treat them as read-only.
type Result struct {
	// Items has one item per line, in line order (Items[i] is line i's),
	// followed by the one-sided orders in order index order.
	Items []Item
	// Counts counts Items by Kind.
	Counts map[Kind]int
}

// ErrInvalid reports Rules, lines or orders that break this package's
// preconditions; nothing was matched.
var ErrInvalid = errors.New("invalid reconciliation input")

// Reconcile matches lines with orders under r and classifies every line and
// every order that succeeded or is not final. lines and orders are only
// read. It fails with an error wrapping ErrInvalid for invalid Rules, a line
// whose Status is neither succeeded nor failed, an order in an unknown
// state, a negative amount, an empty or repeated order ID, or more than
// math.MaxInt32 lines or orders; and with one wrapping money.ErrOverflow when
// a sum does not fit in an int64.
func Reconcile(lines []statement.Line, orders []Order, r Rules) (*Result, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if err := checkInput(lines, orders); err != nil {
		return nil, err
	}
	e, err := newEngine(lines, orders, r)
	if err != nil {
		return nil, err
	}
	e.byReference()
	e.byAmount()
	return e.result()
}

func checkInput(lines []statement.Line, orders []Order) error {
	if len(lines) > math.MaxInt32 || len(orders) > math.MaxInt32 {
		return fmt.Errorf("%w: %d lines and %d orders, at most %d each", ErrInvalid, len(lines), len(orders), math.MaxInt32)
	}
	for i := range lines {
		l := &lines[i]
		if l.Status != channel.Succeeded && l.Status != channel.Failed {
			return fmt.Errorf("%w: %s: status %q, want succeeded or failed", ErrInvalid, lineName(lines, i), l.Status)
		}
		if l.Amount < 0 {
			return fmt.Errorf("%w: %s: negative amount %d", ErrInvalid, lineName(lines, i), l.Amount)
		}
	}
	for i := range orders {
		o := &orders[i]
		if o.ID == "" {
			return fmt.Errorf("%w: order %d has no ID", ErrInvalid, i)
		}
		switch o.State {
		case StateCreated, StateProcessing, StateUnknown, StateSucceeded, StateFailed:
		default:
			return fmt.Errorf("%w: order %s: unknown state %q", ErrInvalid, o.ID, o.State)
		}
		if o.Amount < 0 {
			return fmt.Errorf("%w: order %s: negative amount %d", ErrInvalid, o.ID, o.Amount)
		}
	}
	return nil
}

// lineName names line i for people: by its number in the file when it has
// one.
func lineName(lines []statement.Line, i int) string {
	if no := lines[i].No; no > 0 {
		return fmt.Sprintf("line %d", no)
	}
	return fmt.Sprintf("line #%d", i)
}
