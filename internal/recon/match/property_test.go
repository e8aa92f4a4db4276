package match_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/recon/match"
	"github.com/suanpan/suanpan/internal/recon/statement"
)

// TestReconcileProperties reconciles random orders against statements
// derived from them with random faults, and checks what must hold whatever
// the input: every line is in exactly one item, every order in at most one
// (duplicates aside), every order that is not failed in one, each
// Difference is what the package documentation says, matches by amount
// are within the rules and are the ones a brute-force search picks, and
// the outcome does not depend on the order of the orders.
func TestReconcileProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(20250301, 1))
	runs := 2000
	if testing.Short() {
		runs = 200
	}
	for run := range runs {
		lines, orders, r := randomCase(rng)
		res, err := match.Reconcile(lines, orders, r)
		if err != nil {
			t.Fatalf("run %d: Reconcile: %v", run, err)
		}
		c := checker{t: t, run: run, lines: lines, orders: orders, rules: r}
		c.check(res)
		c.bruteForceAmounts(res)

		shuffled := slices.Clone(orders)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		again, err := match.Reconcile(lines, shuffled, r)
		if err != nil {
			t.Fatalf("run %d: Reconcile shuffled: %v", run, err)
		}
		if diff := cmp.Diff(byIDs(res, orders), byIDs(again, shuffled)); diff != "" {
			t.Fatalf("run %d: shuffling the orders changed the outcome (-before +after):\n%s", run, diff)
		}
	}
}

// randomCase returns up to 40 orders (sometimes 200 of one or two
// amounts), drawn from few amounts, parties and times so that they collide, and a statement that reports most of them,
// some wrongly, some twice, plus lines for no order at all.
func randomCase(rng *rand.Rand) ([]statement.Line, []match.Order, match.Rules) {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	r := match.Rules{
		AmountTolerance:   int64(rng.IntN(3) * 5),
		AmountToleranceBP: []int64{0, 10, 500}[rng.IntN(3)],
		DateTolerance:     []time.Duration{0, time.Hour, 24 * time.Hour}[rng.IntN(3)],
		LateWindow:        []time.Duration{0, 6 * time.Hour}[rng.IntN(2)],
		AsOf:              t0.Add(48 * time.Hour),
	}
	dirs := []channel.Direction{channel.PayIn, channel.PayIn, channel.PayOut, channel.Refund}
	states := []string{match.StateSucceeded, match.StateSucceeded, match.StateSucceeded, match.StateFailed, match.StateUnknown, match.StateProcessing, match.StateCreated}
	n := rng.IntN(41)
	spread := 8 // distinct amounts
	if rng.IntN(10) == 0 {
		// A payroll: long runs of one amount.
		n, spread = rng.IntN(200), 1+rng.IntN(2)
	}
	orders := make([]match.Order, 0, n)
	for i := 0; len(orders) < n; i++ {
		o := match.Order{
			ID:        fmt.Sprintf("o%03d", rng.IntN(1000)*1000+i), // random order of IDs
			Direction: dirs[rng.IntN(len(dirs))],
			Amount:    100 + int64(rng.IntN(spread))*5,
			Fee:       int64(rng.IntN(2)),
			Asset:     pick("CNY", "CNY", "CNY", "USD"),
			State:     states[rng.IntN(len(states))],
			At:        t0.Add(time.Duration(rng.IntN(50)) * time.Hour),
			Party:     pick("", "", "p1", "p2"),
		}
		switch rng.IntN(10) {
		case 0, 1, 2, 3, 4:
			o.ChannelRef = fmt.Sprintf("r%d", i)
		case 5:
			if len(orders) > 0 {
				o.ChannelRef = orders[len(orders)-1].ChannelRef // shared, or none
			}
		}
		orders = append(orders, o)
		if rng.IntN(8) == 0 { // a bulk batch follows
			g := fmt.Sprintf("B%d", i)
			for k := range 2 + rng.IntN(3) {
				m := o
				m.ID = fmt.Sprintf("%s-%d", g, k)
				m.Group, m.ChannelRef = g, ""
				m.Amount = 100 + int64(rng.IntN(spread))*5
				if rng.IntN(6) == 0 {
					m.State = states[rng.IntN(len(states))]
				}
				orders = append(orders, m)
			}
		}
	}

	var lines []statement.Line
	emit := func(l statement.Line) {
		lines = append(lines, l)
		if rng.IntN(20) == 0 {
			lines = append(lines, l) // the channel lists it twice
		}
	}
	seen := map[string]bool{}
	for _, o := range orders {
		if o.Group != "" && seen[o.Group] {
			continue
		}
		if rng.IntN(10) == 0 {
			continue // short
		}
		l := statement.Line{
			Direction: o.Direction, Amount: o.Amount, Fee: o.Fee, Asset: o.Asset,
			Status: channel.Succeeded, At: o.At, Party: o.Party,
		}
		if o.State == match.StateFailed || rng.IntN(10) == 0 {
			l.Status = channel.Failed
		}
		switch {
		case o.Group != "":
			seen[o.Group] = true
			l.OrderID, l.Amount, l.Fee = o.Group, 0, 0
			for _, m := range orders {
				if m.Group == o.Group {
					l.Amount += m.Amount
					l.Fee += m.Fee
				}
			}
		default:
			switch rng.IntN(4) {
			case 0, 1:
				l.OrderID = o.ID
			case 2:
				l.ChannelRef = o.ChannelRef
			default:
				l.ChannelRef = pick("", "", "x1", "x2", o.ChannelRef)
			}
		}
		if rng.IntN(5) == 0 {
			l.Amount += int64(rng.IntN(25)) - 12
			l.Amount = max(l.Amount, 0)
		}
		if rng.IntN(10) == 0 {
			l.Fee++
		}
		if rng.IntN(30) == 0 {
			l.Asset = "EUR"
		}
		if rng.IntN(30) == 0 {
			l.Direction = channel.PayOut
		}
		l.At = l.At.Add(time.Duration(rng.IntN(61)-30) * time.Minute * 30)
		if rng.IntN(5) == 0 {
			l.Party = pick("", "p1", "p2")
		}
		emit(l)
	}
	for range rng.IntN(5) {
		emit(statement.Line{
			ChannelRef: pick("", "L1", "L2", "x1"), Direction: dirs[rng.IntN(len(dirs))],
			Amount: 100 + int64(rng.IntN(8))*5, Asset: "CNY", Status: pick2(rng, channel.Succeeded, channel.Failed),
			At: t0.Add(time.Duration(rng.IntN(50)) * time.Hour),
		})
	}
	rng.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
	return numbered(lines...), orders, r
}

func pick2(rng *rand.Rand, a, b channel.Status) channel.Status {
	if rng.IntN(4) == 0 {
		return b
	}
	return a
}

type checker struct {
	t      *testing.T
	run    int
	lines  []statement.Line
	orders []match.Order
	rules  match.Rules
}

func (c *checker) errorf(format string, args ...any) {
	c.t.Helper()
	c.t.Fatalf("run %d: %s", c.run, fmt.Sprintf(format, args...))
}

func (c *checker) check(res *match.Result) {
	c.t.Helper()
	if len(res.Items) < len(c.lines) {
		c.errorf("%d items for %d lines", len(res.Items), len(c.lines))
	}
	owner := map[int]int{} // order → the non-duplicate item it is in
	counts := map[match.Kind]int{}
	lastOneSided := -1
	for k, it := range res.Items {
		counts[it.Kind]++
		if k < len(c.lines) {
			if !slices.Equal(it.Lines, []int{k}) {
				c.errorf("item %d: Lines %v, want [%d]", k, it.Lines, k)
			}
		} else {
			if len(it.Lines) != 0 || len(it.Orders) != 1 || it.By != match.ByNone {
				c.errorf("one-sided order item %d: %+v", k, it)
			}
			if it.Orders[0] <= lastOneSided {
				c.errorf("one-sided order item %d out of order: %+v", k, it)
			}
			lastOneSided = it.Orders[0]
		}
		if !slices.IsSorted(it.Orders) {
			c.errorf("item %d: Orders %v not ascending", k, it.Orders)
		}
		if it.Kind == match.Duplicate {
			continue
		}
		for _, o := range it.Orders {
			if prev, ok := owner[o]; ok {
				c.errorf("order %d in items %d and %d", o, prev, k)
			}
			owner[o] = k
		}
		if want := c.difference(it); it.Difference != want {
			c.errorf("item %d: %+v: Difference %d, want %d", k, it, it.Difference, want)
		}
		c.checkBy(k, it)
	}
	for k, it := range res.Items {
		if it.Kind != match.Duplicate {
			continue
		}
		if want := c.duplicateDifference(it); it.Difference != want {
			c.errorf("duplicate item %d: Difference %d, want %d", k, it.Difference, want)
		}
		for _, o := range it.Orders {
			if own, ok := owner[o]; !ok || own >= len(c.lines) || own >= k {
				c.errorf("duplicate item %d names order %d, which no earlier line settles", k, o)
			}
		}
	}
	for o, ord := range c.orders {
		if _, ok := owner[o]; !ok && ord.State != match.StateFailed {
			c.errorf("order %d (%s) in no item", o, ord.State)
		}
	}
	if diff := cmp.Diff(counts, res.Counts); diff != "" {
		c.errorf("Counts (-tally +got):\n%s", diff)
	}
}

// difference is the Difference the package documentation gives it, and
// fails if its Kind is not the one the documentation gives it.
func (c *checker) difference(it match.Item) int64 {
	c.t.Helper()
	if len(it.Lines) == 0 {
		o := c.orders[it.Orders[0]]
		wantKind := match.Short
		if o.At.After(c.rules.AsOf.Add(-c.rules.LateWindow)) {
			wantKind = match.Late
		}
		if it.Kind != wantKind || o.State == match.StateFailed {
			c.errorf("order %+v alone is %s", o, it.Kind)
		}
		if o.State == match.StateSucceeded {
			return -o.Amount
		}
		return 0
	}
	l := c.lines[it.Lines[0]]
	succeeded := l.Status == channel.Succeeded
	if len(it.Orders) == 0 {
		wantKind := match.Ignored
		switch {
		case !succeeded:
			return 0 // and Ignored, checked below
		case l.At.After(c.rules.AsOf.Add(-c.rules.LateWindow)):
			wantKind = match.Late
		default:
			wantKind = match.Long
		}
		if it.Kind != wantKind {
			c.errorf("line %+v alone is %s, want %s", l, it.Kind, wantKind)
		}
		return l.Amount
	}
	var sum, fees, booked int64
	states := map[string]bool{}
	sameKind := true
	for _, o := range it.Orders {
		ord := c.orders[o]
		sum += ord.Amount
		fees += ord.Fee
		if ord.State == match.StateSucceeded {
			booked += ord.Amount
		}
		states[ord.State] = true
		sameKind = sameKind && ord.Direction == l.Direction && ord.Asset == l.Asset
	}
	var moved int64
	if succeeded {
		moved = l.Amount
	}
	wantKind, want := match.Matched, int64(0)
	switch {
	case len(states) > 1 || (succeeded && !states[match.StateSucceeded]) || (!succeeded && !states[match.StateFailed]):
		wantKind, want = match.StatusMismatch, moved-booked
	case !succeeded:
	case !sameKind || sum != l.Amount:
		wantKind, want = match.AmountMismatch, l.Amount-sum
	case fees != l.Fee:
		wantKind, want = match.FeeMismatch, l.Fee-fees
	}
	if it.Kind != wantKind {
		c.errorf("line %+v with orders %v is %s, want %s", l, it.Orders, it.Kind, wantKind)
	}
	return want
}

func (c *checker) duplicateDifference(it match.Item) int64 {
	if l := c.lines[it.Lines[0]]; l.Status == channel.Succeeded {
		return l.Amount
	}
	return 0
}

// checkBy checks that the item's orders are the ones its By says.
func (c *checker) checkBy(k int, it match.Item) {
	c.t.Helper()
	if len(it.Lines) == 0 {
		return
	}
	l := c.lines[it.Lines[0]]
	for _, o := range it.Orders {
		ord := c.orders[o]
		var ok bool
		switch it.By {
		case match.ByOrderID:
			ok = len(it.Orders) == 1 && ord.ID == l.OrderID
		case match.ByChannelRef:
			ok = ord.ChannelRef == l.ChannelRef
		case match.ByGroup:
			ok = ord.Group == l.OrderID || ord.Group == l.ChannelRef
		case match.ByAmount:
			ok = len(it.Orders) == 1 && c.candidate(l, ord)
		}
		if !ok {
			c.errorf("item %d: line %+v matched %s to order %+v", k, l, it.By, ord)
		}
	}
	if it.By == match.ByNone && len(it.Orders) > 0 {
		c.errorf("item %d has orders but no By", k)
	}
}

// candidate reports whether line l may match order o by amount.
func (c *checker) candidate(l statement.Line, o match.Order) bool {
	if l.Status != channel.Succeeded || l.Direction != o.Direction || l.Asset != o.Asset {
		return false
	}
	tol := max(c.rules.AmountTolerance, o.Amount*c.rules.AmountToleranceBP/10000)
	if d := l.Amount - o.Amount; d > tol || -d > tol {
		return false
	}
	if d := l.At.Sub(o.At); d > c.rules.DateTolerance || -d > c.rules.DateTolerance {
		return false
	}
	if l.Party != "" && o.Party != "" && l.Party != o.Party {
		return false
	}
	return l.ChannelRef == "" || o.ChannelRef == "" || l.ChannelRef == o.ChannelRef
}

// bruteForceAmounts replays the amount pass by scanning every order for
// every line, and compares its choices with Reconcile's.
func (c *checker) bruteForceAmounts(res *match.Result) {
	c.t.Helper()
	free := map[int]bool{} // the orders left to the amount pass
	var amountLines []int  // the lines that went to it
	for k, it := range res.Items {
		switch {
		case it.By == match.ByAmount:
			free[it.Orders[0]] = true
			amountLines = append(amountLines, k)
		case k < len(c.lines) && (it.Kind == match.Long || it.Kind == match.Late):
			amountLines = append(amountLines, k)
		case k >= len(c.lines):
			free[it.Orders[0]] = true
		}
	}
	for o, ord := range c.orders { // unclaimed failed orders have no item
		if ord.State != match.StateFailed {
			continue
		}
		if !slices.ContainsFunc(res.Items, func(it match.Item) bool { return slices.Contains(it.Orders, o) }) {
			free[o] = true
		}
	}
	for _, k := range amountLines {
		l := c.lines[k]
		best := -1
		var bestAmt int64
		var bestDur time.Duration
		for o := range c.orders {
			ord := c.orders[o]
			if !free[o] || !c.candidate(l, ord) {
				continue
			}
			a, d := abs(l.Amount-ord.Amount), abs(l.At.Sub(ord.At))
			if best == -1 || a < bestAmt || (a == bestAmt && (d < bestDur || (d == bestDur && ord.ID < c.orders[best].ID))) {
				best, bestAmt, bestDur = o, a, d
			}
		}
		var got []int
		if best != -1 {
			got = []int{best}
			delete(free, best)
		}
		if !slices.Equal(res.Items[k].Orders, got) {
			c.errorf("line %d (%+v) matched by amount to %v, brute force says %v", k, l, res.Items[k].Orders, got)
		}
	}
}

func abs[T int64 | time.Duration](x T) T {
	if x < 0 {
		return -x
	}
	return x
}

// byIDs describes a result in order IDs rather than indexes, so that
// results for the same orders given in different orders compare equal.
func byIDs(res *match.Result, orders []match.Order) []string {
	var out []string
	var oneSided []string
	for _, it := range res.Items {
		ids := make([]string, len(it.Orders))
		for k, o := range it.Orders {
			ids[k] = orders[o].ID
		}
		slices.Sort(ids)
		s := fmt.Sprintf("%v %s %s [%s] %d %s", it.Lines, it.Kind, it.By, strings.Join(ids, " "), it.Difference, it.Detail)
		if len(it.Lines) == 0 {
			oneSided = append(oneSided, s)
		} else {
			out = append(out, s)
		}
	}
	slices.Sort(oneSided)
	return append(out, oneSided...)
}
