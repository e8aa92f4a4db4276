package match

import (
	"fmt"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/recon/statement"
)

// none marks a missing index: no line, no order, end of a chain.
const none = -1

// how is By as a byte, so lineMatch stays small.
type how uint8

const (
	howNone how = iota
	howOrderID
	howChannelRef
	howGroup
	howAmount
)

var hows = [...]By{howNone: ByNone, howOrderID: ByOrderID, howChannelRef: ByChannelRef, howGroup: ByGroup, howAmount: ByAmount}

// lineState is what the passes decided for a line.
type lineState uint8

const (
	// unresolved: no orders; one-sided unless the amount pass finds one.
	unresolved lineState = iota
	// settles: the line claimed orders arena[start:start+n].
	settles
	// repeats: a duplicate of line first. Its orders are arena[start:
	// start+n], or, when n is 0 (no order was found by reference), those
	// line first settles.
	repeats
)

// lineMatch is one line's outcome of the matching passes; 24 bytes, one per
// line.
type lineMatch struct {
	start int   // into engine.arena
	n     int32 // orders
	first int32 // repeats: the earlier line
	state lineState
	how   how
}

// engine holds one run's input, indexes and decisions. Order and line
// indexes are int32 to halve the indexes' memory; Reconcile refuses inputs
// they cannot count.
type engine struct {
	lines  []statement.Line
	orders []Order
	rules  Rules

	byID    *index  // order ID → order
	byRef   *index  // channel ref → first order of its chain in refNext
	refNext []int32 // next order with the same channel ref, or none
	byGroup *index  // group → first order of its chain in grpNext; nil if no order has a group
	grpNext []int32 // next order of the same group, or none

	refLines map[string]int32    // channel ref → first line with it that found no order
	repeated map[int64]lineMatch // a chain's first order (×2, +1 for a group) → its last duplicate

	claimedBy []int32     // order → the line that claimed it, or none
	lm        []lineMatch // line → its outcome
	arena     []int       // the lines' orders, in runs lineMatch points into
	found     []int32     // scratch: the orders a reference found
}

func newEngine(lines []statement.Line, orders []Order, r Rules) (*engine, error) {
	e := &engine{
		lines:     lines,
		orders:    orders,
		rules:     r,
		refNext:   make([]int32, len(orders)),
		claimedBy: make([]int32, len(orders)),
		lm:        make([]lineMatch, len(lines)),
		arena:     make([]int, 0, len(orders)),
		refLines:  make(map[string]int32),
	}
	refs, groups := 0, 0
	for i := range orders {
		if orders[i].ChannelRef != "" {
			refs++
		}
		if orders[i].Group != "" {
			groups++
		}
	}
	e.byID = newIndex(len(orders), func(o int32) string { return orders[o].ID })
	e.byRef = newIndex(refs, func(o int32) string { return orders[o].ChannelRef })
	if groups > 0 {
		e.byGroup = newIndex(groups, func(o int32) string { return orders[o].Group })
		e.grpNext = make([]int32, len(orders))
	}
	// Backwards, so that each chain runs in ascending order index.
	for i := len(orders) - 1; i >= 0; i-- {
		o := &orders[i]
		e.claimedBy[i] = none
		if e.byID.put(o.ID, int32(i)) != none {
			return nil, fmt.Errorf("%w: order ID %s given twice", ErrInvalid, o.ID)
		}
		e.refNext[i] = none
		if o.ChannelRef != "" {
			e.refNext[i] = e.byRef.put(o.ChannelRef, int32(i))
		}
		if o.Group != "" {
			e.grpNext[i] = e.byGroup.put(o.Group, int32(i))
		}
	}
	return e, nil
}

// byReference is the first pass: each line, in order, claims the orders its
// reference finds, or is a duplicate of the line that claimed them first.
func (e *engine) byReference() {
	for i := range e.lines {
		l := &e.lines[i]
		h := e.lookup(l)
		if h == howNone {
			if l.ChannelRef == "" {
				continue
			}
			if f, ok := e.refLines[l.ChannelRef]; ok {
				e.lm[i] = lineMatch{state: repeats, how: howChannelRef, first: f}
				continue
			}
			e.refLines[l.ChannelRef] = int32(i)
			continue
		}
		first, claimed, sameLine := int32(none), 0, true
		for _, o := range e.found {
			c := e.claimedBy[o]
			if c == none {
				continue
			}
			if first != none && c != first {
				sameLine = false
			}
			if first == none || c < first {
				first = c // name the earliest line
			}
			claimed++
		}
		if claimed == 0 {
			e.lm[i] = e.claim(int32(i), e.found, h)
			continue
		}
		e.lm[i] = e.repeat(h, first, claimed, sameLine)
	}
}

// repeat returns the outcome of a line that found the orders in e.found, of
// which claimed, the first by line first, were claimed before: a duplicate
// naming those. It shares a run of the arena when it can, so that a
// statement that repeats a reference many times costs no memory for it.
func (e *engine) repeat(h how, first int32, claimed int, sameLine bool) lineMatch {
	m := lineMatch{state: repeats, how: h, first: first}
	if f := e.lm[first]; sameLine && int(f.n) == claimed {
		// Exactly the orders line first settles.
		m.start, m.n = f.start, f.n
		return m
	}
	// Orders are only ever claimed, never released: if this chain had as
	// many claimed orders when it was last repeated, they are the same.
	key := 2 * int64(e.found[0])
	if h == howGroup {
		key++
	}
	if prev, ok := e.repeated[key]; ok && int(prev.n) == claimed {
		m.start, m.n = prev.start, prev.n
		return m
	}
	m.start = len(e.arena)
	for _, o := range e.found {
		if e.claimedBy[o] != none {
			e.arena = append(e.arena, int(o))
		}
	}
	m.n = int32(claimed)
	if e.repeated == nil {
		e.repeated = make(map[int64]lineMatch)
	}
	e.repeated[key] = m
	return m
}

// lookup finds the orders l refers to into e.found, and says how.
func (e *engine) lookup(l *statement.Line) how {
	if l.OrderID != "" {
		if o, ok := e.byID.get(l.OrderID); ok {
			e.found = append(e.found[:0], o)
			return howOrderID
		}
	}
	if l.ChannelRef != "" {
		if o, ok := e.byRef.get(l.ChannelRef); ok {
			e.found = chain(e.found[:0], o, e.refNext)
			return howChannelRef
		}
	}
	if e.byGroup == nil {
		return howNone
	}
	for _, ref := range [...]string{l.OrderID, l.ChannelRef} {
		if ref == "" {
			continue
		}
		if o, ok := e.byGroup.get(ref); ok {
			e.found = chain(e.found[:0], o, e.grpNext)
			return howGroup
		}
	}
	return howNone
}

// chain appends the orders linked from o in next to dst.
func chain(dst []int32, o int32, next []int32) []int32 {
	for ; o != none; o = next[o] {
		dst = append(dst, o)
	}
	return dst
}

// claim records that line i settles orders and returns its outcome.
func (e *engine) claim(i int32, orders []int32, h how) lineMatch {
	m := lineMatch{state: settles, how: h, start: len(e.arena), n: int32(len(orders)), first: none}
	for _, o := range orders {
		e.claimedBy[o] = i
		e.arena = append(e.arena, int(o))
	}
	return m
}

// result classifies every line and every unclaimed order.
func (e *engine) result() (*Result, error) {
	oneSided := 0
	for o := range e.orders {
		if e.claimedBy[o] == none && e.orders[o].State != StateFailed {
			oneSided++
		}
	}
	// Every Item's Lines and Orders slice one of three arrays, so the
	// result costs a handful of allocations however many items it has.
	lineIdx := make([]int, len(e.lines))
	orderIdx := make([]int, 0, oneSided)
	items := make([]Item, len(e.lines), len(e.lines)+oneSided)
	counts := make(map[Kind]int, len(Kinds()))
	for i := range e.lines {
		lineIdx[i] = i
		it := &items[i]
		it.Lines = lineIdx[i : i+1 : i+1]
		if err := e.classifyLine(i, it); err != nil {
			return nil, err
		}
		counts[it.Kind]++
	}
	for o := range e.orders {
		if e.claimedBy[o] != none || e.orders[o].State == StateFailed {
			continue
		}
		k := len(orderIdx)
		orderIdx = append(orderIdx, o)
		it := e.classifyOrder(o)
		it.Orders = orderIdx[k : k+1 : k+1]
		items = append(items, it)
		counts[it.Kind]++
	}
	return &Result{Items: items, Counts: counts}, nil
}

// ordersOf returns the arena run [start, start+n) as Item.Orders.
func (e *engine) ordersOf(start int, n int32) []int {
	if n == 0 {
		return nil
	}
	end := start + int(n)
	return e.arena[start:end:end]
}

func (e *engine) classifyLine(i int, it *Item) error {
	l := &e.lines[i]
	m := e.lm[i]
	it.By = hows[m.how]
	switch m.state {
	case settles:
		it.Orders = e.ordersOf(m.start, m.n)
		return e.compare(l, it)
	case repeats:
		start, n := m.start, m.n
		if f := e.lm[m.first]; n == 0 && f.state == settles {
			start, n = f.start, f.n
		}
		it.Kind = Duplicate
		it.Orders = e.ordersOf(start, n)
		if l.Status == channel.Succeeded {
			it.Difference = l.Amount
		}
		var what string
		switch {
		case n == 0:
			what = "with channel ref " + l.ChannelRef
		case m.how == howGroup:
			what = "for group " + e.orders[it.Orders[0]].Group
		case n == 1:
			what = "for order " + e.orders[it.Orders[0]].ID
		default:
			what = "for the orders of channel ref " + l.ChannelRef
		}
		it.Detail = fmt.Sprintf("%s repeats %s %s", lineName(e.lines, i), lineName(e.lines, int(m.first)), what)
		return nil
	}
	switch {
	case l.Status == channel.Failed:
		it.Kind = Ignored
		it.Detail = "channel failed, no order"
	case e.rules.late(l.At):
		it.Kind = Late
		it.Difference = l.Amount
		it.Detail = fmt.Sprintf("channel succeeded %d %s, no order yet", l.Amount, l.Asset)
	default:
		it.Kind = Long
		it.Difference = l.Amount
		it.Detail = fmt.Sprintf("channel succeeded %d %s, no order", l.Amount, l.Asset)
	}
	return nil
}

func (e *engine) classifyOrder(o int) Item {
	ord := &e.orders[o]
	it := Item{Kind: Short}
	if ord.State == StateSucceeded {
		it.Difference = -ord.Amount
	}
	if e.rules.late(ord.At) {
		it.Kind = Late
		it.Detail = fmt.Sprintf("order %s %s, not in the statement yet", ord.ID, ord.State)
	} else {
		it.Detail = fmt.Sprintf("order %s %s, not in the statement", ord.ID, ord.State)
	}
	return it
}
