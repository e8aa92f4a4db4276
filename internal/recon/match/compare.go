package match

import (
	"fmt"
	"slices"
	"strings"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/recon/statement"
	"github.com/suanpan/suanpan/money"
)

// compare classifies line l against the orders in it.Orders (rule 4 of the
// package documentation).
func (e *engine) compare(l *statement.Line, it *Item) error {
	var sum, fees, booked int64 // booked: the succeeded orders' amounts
	first := &e.orders[it.Orders[0]]
	state, mixed := first.State, false
	var otherDir, otherAsset *Order
	for _, o := range it.Orders {
		ord := &e.orders[o]
		var err error
		if sum, err = money.Add(sum, ord.Amount); err != nil {
			return fmt.Errorf("%s: sum of orders' amounts: %w", lineName(e.lines, it.Lines[0]), err)
		}
		if fees, err = money.Add(fees, ord.Fee); err != nil {
			return fmt.Errorf("%s: sum of orders' fees: %w", lineName(e.lines, it.Lines[0]), err)
		}
		if ord.State == StateSucceeded {
			booked += ord.Amount // ≤ sum, which fitted
		}
		mixed = mixed || ord.State != state
		// Name the lowest ID, so that the Detail does not depend on
		// the order of the orders.
		if ord.Direction != l.Direction && (otherDir == nil || ord.ID < otherDir.ID) {
			otherDir = ord
		}
		if ord.Asset != l.Asset && (otherAsset == nil || ord.ID < otherAsset.ID) {
			otherAsset = ord
		}
	}
	orders := "order"
	if len(it.Orders) > 1 {
		orders = "orders"
	}
	succeeded := l.Status == channel.Succeeded
	var err error
	switch {
	case mixed || (succeeded && state != StateSucceeded) || (!succeeded && state != StateFailed):
		it.Kind = StatusMismatch
		var moved int64
		if succeeded {
			moved = l.Amount
		}
		// Both operands are non-negative, so this cannot overflow.
		it.Difference = moved - booked
		if mixed {
			state = e.states(it.Orders)
		}
		it.Detail = fmt.Sprintf("channel %s, %s %s", l.Status, orders, state)
	case !succeeded:
		it.Kind = Matched // failed on both sides
	case otherDir != nil || otherAsset != nil || sum != l.Amount:
		it.Kind = AmountMismatch
		it.Difference, err = money.Sub(l.Amount, sum)
		switch {
		case otherDir != nil:
			it.Detail = fmt.Sprintf("channel %s, order %s %s", l.Direction, otherDir.ID, otherDir.Direction)
		case otherAsset != nil:
			it.Detail = fmt.Sprintf("channel %s, order %s %s", l.Asset, otherAsset.ID, otherAsset.Asset)
		default:
			it.Detail = fmt.Sprintf("channel %d, %s %d", l.Amount, orders, sum)
		}
	case fees != l.Fee:
		it.Kind = FeeMismatch
		it.Difference, err = money.Sub(l.Fee, fees)
		it.Detail = fmt.Sprintf("channel fee %d, %s fee %d", l.Fee, orders, fees)
	default:
		it.Kind = Matched
	}
	if err != nil {
		return fmt.Errorf("%s: difference: %w", lineName(e.lines, it.Lines[0]), err)
	}
	return nil
}

// states names the distinct states of orders in their life's order:
// "unknown and succeeded".
func (e *engine) states(orders []int) string {
	var seen []string
	for _, s := range [...]string{StateCreated, StateProcessing, StateUnknown, StateSucceeded, StateFailed} {
		if slices.ContainsFunc(orders, func(o int) bool { return e.orders[o].State == s }) {
			seen = append(seen, s)
		}
	}
	return strings.Join(seen, " and ")
}
