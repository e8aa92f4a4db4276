package match

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/recon/statement"
)

// bucket is the (direction, asset) an order can only match a line of.
type bucket struct {
	dir   channel.Direction
	asset string
}

// span is a bucket's positions [lo, hi) in a pool.
type span struct{ lo, hi int }

// pool is the orders left unclaimed by the reference pass, for matching by
// amount. Positions are sorted by (direction, asset, amount, At, ID), so
// that a bucket is a span of positions, the orders of one amount a run
// within it, and a date window a sub-run found by binary search.
type pool struct {
	orders  []Order
	pos     []int32 // position → order
	amounts []int64 // position → its order's amount, for cache-friendly searches
	// next finds the first position at or after p whose order is still
	// unclaimed: a union-find over positions, next[p] == p while p's
	// order is free. A claimed position is skipped in near-constant
	// amortized time, so many orders of one amount and day do not make
	// every line rescan the ones already taken. len(pos)+1 entries; the
	// last is a sentinel that stays free.
	next  []int32
	spans map[bucket]span
}

// byAmount is the second pass: each succeeded line, in order, that found no
// order by reference and repeats no other line claims the best unclaimed
// candidate (rule 3 of the package documentation).
func (e *engine) byAmount() {
	var p *pool
	var one [1]int32
	for i := range e.lines {
		l := &e.lines[i]
		if e.lm[i].state != unresolved || l.Status != channel.Succeeded {
			continue
		}
		if p == nil {
			p = e.newPool()
		}
		if one[0] = p.best(l, e.rules); one[0] != none {
			e.lm[i] = e.claim(int32(i), one[:], howAmount)
		}
	}
}

// poolKey is an order's sort key, kept compact so that sorting does not
// chase every order.
type poolKey struct {
	amount int64
	sec    int64
	nsec   int32
	bucket int32
	order  int32
}

func (e *engine) newPool() *pool {
	n := 0
	for o := range e.orders {
		if e.claimedBy[o] == none {
			n++
		}
	}
	buckets := make(map[bucket]int32)
	keys := make([]poolKey, 0, n)
	for o := range e.orders {
		if e.claimedBy[o] != none {
			continue
		}
		ord := &e.orders[o]
		k := bucket{ord.Direction, ord.Asset}
		b, ok := buckets[k]
		if !ok {
			b = int32(len(buckets))
			buckets[k] = b
		}
		keys = append(keys, poolKey{amount: ord.Amount, sec: ord.At.Unix(), nsec: int32(ord.At.Nanosecond()), bucket: b, order: int32(o)})
	}
	slices.SortFunc(keys, func(x, y poolKey) int {
		switch {
		case x.bucket != y.bucket:
			return cmp.Compare(x.bucket, y.bucket)
		case x.amount != y.amount:
			return cmp.Compare(x.amount, y.amount)
		case x.sec != y.sec:
			return cmp.Compare(x.sec, y.sec)
		case x.nsec != y.nsec:
			return cmp.Compare(x.nsec, y.nsec)
		}
		return strings.Compare(e.orders[x.order].ID, e.orders[y.order].ID)
	})
	p := &pool{
		orders:  e.orders,
		pos:     make([]int32, len(keys)),
		amounts: make([]int64, len(keys)),
		next:    make([]int32, len(keys)+1),
		spans:   make(map[bucket]span, len(buckets)),
	}
	for i, k := range keys {
		p.pos[i], p.amounts[i] = k.order, k.amount
	}
	for i := range p.next {
		p.next[i] = int32(i)
	}
	for lo := 0; lo < len(keys); {
		hi := lo + 1
		for hi < len(keys) && keys[hi].bucket == keys[lo].bucket {
			hi++
		}
		o := &e.orders[keys[lo].order]
		p.spans[bucket{o.Direction, o.Asset}] = span{lo, hi}
		lo = hi
	}
	return p
}

// free returns the first position at or after i whose order is unclaimed.
func (p *pool) free(i int) int {
	root := int32(i)
	for p.next[root] != root {
		root = p.next[root]
	}
	for j := int32(i); j != root; {
		n := p.next[j]
		p.next[j] = root
		j = n
	}
	return int(root)
}

// runEnd returns the end of the run of equal amounts that starts at i,
// before hi: galloping, so that a long run costs its logarithm.
func (p *pool) runEnd(i, hi int) int {
	a, step := p.amounts[i], 1
	for i+step < hi && p.amounts[i+step] == a {
		step *= 2
	}
	from, to := i+step/2+1, min(i+step, hi)
	return from + sort.Search(to-from, func(k int) bool { return p.amounts[from+k] != a })
}

// runStart returns the start of the run of equal amounts that ends at
// i−1, not before lo.
func (p *pool) runStart(lo, i int) int {
	a, step := p.amounts[i-1], 1
	for i-1-step >= lo && p.amounts[i-1-step] == a {
		step *= 2
	}
	from, to := max(i-step, lo), i-step/2-1
	return from + sort.Search(to-from, func(k int) bool { return p.amounts[from+k] == a })
}

// candidate is the best order found so far for a line.
type candidate struct {
	pos      int // none while there is none
	amount   int64
	duration time.Duration
}

// better reports whether order o, at amount and time differences a and d,
// beats c: smaller amount difference, then smaller time difference, then
// lower ID.
func (p *pool) better(o *Order, a int64, d time.Duration, c *candidate) bool {
	if c.pos == none {
		return true
	}
	if a != c.amount {
		return a < c.amount
	}
	if d != c.duration {
		return d < c.duration
	}
	return o.ID < p.orders[p.pos[c.pos]].ID
}

// best claims and returns the order l matches by amount, or none. It visits
// the runs of equal amounts from l's amount outwards, nearer first, while
// they are within tolerance, and stops past the first run with a candidate
// (and the run as far away on the other side, which ties it).
func (p *pool) best(l *statement.Line, r Rules) int32 {
	sp, ok := p.spans[bucket{l.Direction, l.Asset}]
	if !ok {
		return none
	}
	amt := l.Amount
	mid, _ := slices.BinarySearch(p.amounts[sp.lo:sp.hi], amt)
	mid += sp.lo

	// The tolerance test is monotone on either side, so the first run out
	// of tolerance ends that side: a − tolerance(a) grows with a because
	// the basis points are at most 10000, and a + tolerance(a) too. No
	// difference here can overflow: amounts are not negative.
	c := candidate{pos: none}
	up, down := mid, mid // [down, up) has been looked at
	for {
		diffUp, diffDown := int64(math.MaxInt64), int64(math.MaxInt64)
		if up < sp.hi {
			if a := p.amounts[up]; a-amt <= r.tolerance(a) {
				diffUp = a - amt
			}
		}
		if down > sp.lo {
			if a := p.amounts[down-1]; amt-a <= r.tolerance(a) {
				diffDown = amt - a
			}
		}
		d := min(diffUp, diffDown)
		if d == math.MaxInt64 || (c.pos != none && d > c.amount) {
			break
		}
		if diffUp <= diffDown {
			end := p.runEnd(up, sp.hi)
			p.scan(l, r, up, end, diffUp, &c)
			up = end
		} else {
			start := p.runStart(sp.lo, down)
			p.scan(l, r, start, down, diffDown, &c)
			down = start
		}
	}
	if c.pos == none {
		return none
	}
	p.next[c.pos] = int32(c.pos + 1)
	return p.pos[c.pos]
}

// scan looks for candidates among positions [start, end), which all hold
// orders of one amount, diff away from l's, sorted by At then ID.
func (p *pool) scan(l *statement.Line, r Rules, start, end int, diff int64, c *candidate) {
	from, to := l.At.Add(-r.DateTolerance), l.At.Add(r.DateTolerance)
	i := start
	if end-start > 1 {
		i += sort.Search(end-start, func(k int) bool {
			return !p.orders[p.pos[start+k]].At.Before(from)
		})
	}
	for i = p.free(i); i < end; i = p.free(i + 1) {
		o := &p.orders[p.pos[i]]
		if o.At.Before(from) {
			continue // only when the run was not searched
		}
		if o.At.After(to) {
			return
		}
		if o.Party != "" && l.Party != "" && o.Party != l.Party {
			continue
		}
		if o.ChannelRef != "" && l.ChannelRef != "" && o.ChannelRef != l.ChannelRef {
			continue
		}
		d := l.At.Sub(o.At)
		if d < 0 {
			d = -d
		}
		if c.pos != none && diff == c.amount && o.At.After(l.At) && d > c.duration {
			return // later orders of this amount are further away still
		}
		if p.better(o, diff, d, c) {
			*c = candidate{pos: i, amount: diff, duration: d}
		}
	}
}
