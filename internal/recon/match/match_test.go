package match_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/recon/match"
	"github.com/suanpan/suanpan/internal/recon/statement"
	"github.com/suanpan/suanpan/money"
)

// is is a list of indexes.
func is(xs ...int) []int { return xs }

// item is an Item without its Detail.
func item(k match.Kind, by match.By, lines, orders []int, diff int64) match.Item {
	return match.Item{Kind: k, By: by, Lines: lines, Orders: orders, Difference: diff}
}

var ignoreDetail = cmpopts.IgnoreFields(match.Item{}, "Detail")

func TestReconcile(t *testing.T) {
	const (
		matched   = match.Matched
		late      = match.Late
		long      = match.Long
		short     = match.Short
		amount    = match.AmountMismatch
		status    = match.StatusMismatch
		duplicate = match.Duplicate
		fee       = match.FeeMismatch
		ignored   = match.Ignored

		byID    = match.ByOrderID
		byRef   = match.ByChannelRef
		byGroup = match.ByGroup
		byAmt   = match.ByAmount
		byNone  = match.ByNone
	)
	withTolerance := func(abs, bp int64) func(*match.Rules) {
		return func(r *match.Rules) { r.AmountTolerance, r.AmountToleranceBP = abs, bp }
	}
	withDates := func(d time.Duration) func(*match.Rules) {
		return func(r *match.Rules) { r.DateTolerance = d }
	}
	tests := []struct {
		name   string
		lines  []statement.Line
		orders []match.Order
		rules  match.Rules
		want   []match.Item
	}{
		{
			name:   "nothing",
			rules:  rules(),
			want:   []match.Item{},
			orders: []match.Order{order("a", 100, oState(match.StateFailed))},
		},

		// By reference.
		{
			name:   "by order ID",
			lines:  []statement.Line{line(100, lID("b"))},
			orders: []match.Order{order("a", 100), order("b", 100)},
			rules:  rules(),
			want:   []match.Item{item(matched, byID, is(0), is(1), 0), item(short, byNone, nil, is(0), -100)},
		},
		{
			name:   "by channel ref when the line has no order ID",
			lines:  []statement.Line{line(100, lRef("R2"))},
			orders: []match.Order{order("a", 100, oRef("R1")), order("b", 100, oRef("R2"))},
			rules:  rules(),
			want:   []match.Item{item(matched, byRef, is(0), is(1), 0), item(short, byNone, nil, is(0), -100)},
		},
		{
			name:   "by channel ref when the order ID is unknown",
			lines:  []statement.Line{line(100, lID("zz"), lRef("R1"))},
			orders: []match.Order{order("a", 100, oRef("R1"))},
			rules:  rules(),
			want:   []match.Item{item(matched, byRef, is(0), is(0), 0)},
		},
		{
			name:   "order ID before channel ref",
			lines:  []statement.Line{line(100, lID("a"), lRef("R"))},
			orders: []match.Order{order("a", 100), order("b", 100, oRef("R"))},
			rules:  rules(),
			want:   []match.Item{item(matched, byID, is(0), is(0), 0), item(short, byNone, nil, is(1), -100)},
		},
		{
			name:  "group: a batch line settles three orders exactly",
			lines: []statement.Line{line(600, lID("B1"))},
			orders: []match.Order{
				order("g1", 100, oGroup("B1")), order("x", 50), order("g2", 200, oGroup("B1")), order("g3", 300, oGroup("B1")),
			},
			rules: rules(),
			want:  []match.Item{item(matched, byGroup, is(0), is(0, 2, 3), 0), item(short, byNone, nil, is(1), -50)},
		},
		{
			name:  "group: a batch line short of the orders' sum",
			lines: []statement.Line{line(590, lID("B1"))},
			orders: []match.Order{
				order("g1", 100, oGroup("B1")), order("g2", 200, oGroup("B1")), order("g3", 300, oGroup("B1")),
			},
			rules: rules(),
			want:  []match.Item{item(amount, byGroup, is(0), is(0, 1, 2), -10)},
		},
		{
			name:  "group: found by the line's channel ref",
			lines: []statement.Line{line(300, lRef("B1"))},
			orders: []match.Order{
				order("g1", 100, oGroup("B1")), order("g2", 200, oGroup("B1")),
			},
			rules: rules(),
			want:  []match.Item{item(matched, byGroup, is(0), is(0, 1), 0)},
		},
		{
			name:  "group: fees compared with their sum",
			lines: []statement.Line{line(300, lID("B1"), lFee(7))},
			orders: []match.Order{
				order("g1", 100, oGroup("B1"), oFee(3)), order("g2", 200, oGroup("B1"), oFee(3)),
			},
			rules: rules(),
			want:  []match.Item{item(fee, byGroup, is(0), is(0, 1), 1)},
		},
		{
			name:   "one channel ref shared by two orders",
			lines:  []statement.Line{line(300, lRef("R"))},
			orders: []match.Order{order("a", 100, oRef("R")), order("b", 200, oRef("R"))},
			rules:  rules(),
			want:   []match.Item{item(matched, byRef, is(0), is(0, 1), 0)},
		},
		{
			name:  "group of mixed states",
			lines: []statement.Line{line(600, lID("B1"))},
			orders: []match.Order{
				order("g1", 100, oGroup("B1")), order("g2", 200, oGroup("B1"), oState(match.StateUnknown)), order("g3", 300, oGroup("B1")),
			},
			rules: rules(),
			want:  []match.Item{item(status, byGroup, is(0), is(0, 1, 2), 200)},
		},
		{
			name:  "group of mixed states on a failed line",
			lines: []statement.Line{line(300, lID("B1"), lFailed())},
			orders: []match.Order{
				order("g1", 100, oGroup("B1"), oState(match.StateFailed)), order("g2", 200, oGroup("B1")),
			},
			rules: rules(),
			want:  []match.Item{item(status, byGroup, is(0), is(0, 1), -200)},
		},
		{
			name:   "a reference to another asset is an amount mismatch",
			lines:  []statement.Line{line(100, lID("a"), lAsset("USD"))},
			orders: []match.Order{order("a", 100)},
			rules:  rules(),
			want:   []match.Item{item(amount, byID, is(0), is(0), 0)},
		},
		{
			name:   "a reference to another direction is an amount mismatch",
			lines:  []statement.Line{line(100, lID("a"), lDir(channel.PayOut))},
			orders: []match.Order{order("a", 100)},
			rules:  rules(),
			want:   []match.Item{item(amount, byID, is(0), is(0), 0)},
		},
		{
			name:   "amounts differ",
			lines:  []statement.Line{line(90, lID("a"))},
			orders: []match.Order{order("a", 100)},
			rules:  rules(withTolerance(1000, 0)), // tolerances are for matching without a reference
			want:   []match.Item{item(amount, byID, is(0), is(0), -10)},
		},
		{
			name:   "fees differ",
			lines:  []statement.Line{line(100, lID("a"), lFee(3))},
			orders: []match.Order{order("a", 100, oFee(5))},
			rules:  rules(),
			want:   []match.Item{item(fee, byID, is(0), is(0), -2)},
		},
		{
			name:   "amounts and fees differ: the amount counts",
			lines:  []statement.Line{line(90, lID("a"), lFee(3))},
			orders: []match.Order{order("a", 100, oFee(5))},
			rules:  rules(),
			want:   []match.Item{item(amount, byID, is(0), is(0), -10)},
		},

		// Status.
		{
			name:  "channel succeeded, order not succeeded",
			lines: numbered(line(100, lID("c")), line(100, lID("p")), line(100, lID("u")), line(100, lID("f"))),
			orders: []match.Order{
				order("c", 100, oState(match.StateCreated)), order("p", 100, oState(match.StateProcessing)),
				order("u", 100, oState(match.StateUnknown)), order("f", 100, oState(match.StateFailed)),
			},
			rules: rules(),
			want: []match.Item{
				item(status, byID, is(0), is(0), 100), item(status, byID, is(1), is(1), 100),
				item(status, byID, is(2), is(2), 100), item(status, byID, is(3), is(3), 100),
			},
		},
		{
			name:  "channel failed",
			lines: numbered(line(100, lID("s"), lFailed()), line(100, lID("u"), lFailed()), line(100, lID("f"), lFailed()), line(100, lID("c"), lFailed())),
			orders: []match.Order{
				order("s", 100), order("u", 100, oState(match.StateUnknown)),
				order("f", 100, oState(match.StateFailed)), order("c", 100, oState(match.StateCreated)),
			},
			rules: rules(),
			want: []match.Item{
				item(status, byID, is(0), is(0), -100), item(status, byID, is(1), is(1), 0),
				item(matched, byID, is(2), is(2), 0), item(status, byID, is(3), is(3), 0),
			},
		},
		{
			name:   "a failed line with no order is ignored",
			lines:  []statement.Line{line(100, lID("zz"), lFailed())},
			rules:  rules(),
			want:   []match.Item{item(ignored, byNone, is(0), nil, 0)},
			orders: nil,
		},

		// Duplicates.
		{
			name:   "the same order twice",
			lines:  numbered(line(100, lID("a")), line(100, lRef("R")), line(100, lID("a"), lFailed())),
			orders: []match.Order{order("a", 100, oRef("R"))},
			rules:  rules(),
			want: []match.Item{
				item(matched, byID, is(0), is(0), 0), item(duplicate, byRef, is(1), is(0), 100), item(duplicate, byID, is(2), is(0), 0),
			},
		},
		{
			name:   "the same channel ref twice with no order",
			lines:  numbered(line(100, lRef("R")), line(100, lRef("R"))),
			rules:  rules(),
			orders: []match.Order{order("a", 100, oRef("Q"))},
			want: []match.Item{
				item(long, byNone, is(0), nil, 100), item(duplicate, byRef, is(1), nil, 100),
				item(short, byNone, nil, is(0), -100),
			},
		},
		{
			name:   "the same channel ref twice, the first matched by amount",
			lines:  numbered(line(100, lRef("R")), line(100, lRef("R"))),
			orders: []match.Order{order("a", 100)},
			rules:  rules(),
			want:   []match.Item{item(matched, byAmt, is(0), is(0), 0), item(duplicate, byRef, is(1), is(0), 100)},
		},
		{
			name:  "a batch line after a line for one of its orders",
			lines: numbered(line(200, lID("g2")), line(600, lID("B1"))),
			orders: []match.Order{
				order("g1", 100, oGroup("B1")), order("g2", 200, oGroup("B1")), order("g3", 300, oGroup("B1")),
			},
			rules: rules(),
			want: []match.Item{
				item(matched, byID, is(0), is(1), 0), item(duplicate, byGroup, is(1), is(1), 600),
				item(short, byNone, nil, is(0), -100), item(short, byNone, nil, is(2), -300),
			},
		},
		{
			name: "a batch line repeated as lines claim its orders one by one",
			lines: numbered(
				line(200, lID("g2")), line(600, lID("B1")), line(600, lID("B1")),
				line(300, lID("g3")), line(600, lID("B1")), line(600, lRef("B1")),
			),
			orders: []match.Order{
				order("g1", 100, oGroup("B1")), order("g2", 200, oGroup("B1")), order("g3", 300, oGroup("B1")),
			},
			rules: rules(),
			want: []match.Item{
				item(matched, byID, is(0), is(1), 0),
				item(duplicate, byGroup, is(1), is(1), 600), item(duplicate, byGroup, is(2), is(1), 600),
				item(matched, byID, is(3), is(2), 0),
				item(duplicate, byGroup, is(4), is(1, 2), 600), item(duplicate, byGroup, is(5), is(1, 2), 600),
				item(short, byNone, nil, is(0), -100),
			},
		},
		{
			name:  "a batch line twice",
			lines: numbered(line(300, lID("B1")), line(300, lID("B1"))),
			orders: []match.Order{
				order("g1", 100, oGroup("B1")), order("g2", 200, oGroup("B1")),
			},
			rules: rules(),
			want:  []match.Item{item(matched, byGroup, is(0), is(0, 1), 0), item(duplicate, byGroup, is(1), is(0, 1), 300)},
		},
		{
			name:   "a reference beats an earlier line's amount match",
			lines:  numbered(line(100), line(100, lID("a"))),
			orders: []match.Order{order("a", 100)},
			rules:  rules(),
			want:   []match.Item{item(long, byNone, is(0), nil, 100), item(matched, byID, is(1), is(0), 0)},
		},

		// By amount.
		{
			name:   "by amount, exact",
			lines:  []statement.Line{line(100, lRef("R"))},
			orders: []match.Order{order("a", 100)},
			rules:  rules(),
			want:   []match.Item{item(matched, byAmt, is(0), is(0), 0)},
		},
		{
			name:   "by amount, an order ID nobody knows",
			lines:  []statement.Line{line(100, lID("zz"))},
			orders: []match.Order{order("a", 100)},
			rules:  rules(),
			want:   []match.Item{item(matched, byAmt, is(0), is(0), 0)},
		},
		{
			name:   "zero tolerance: one unit off",
			lines:  []statement.Line{line(101)},
			orders: []match.Order{order("a", 100)},
			rules:  rules(),
			want:   []match.Item{item(long, byNone, is(0), nil, 101), item(short, byNone, nil, is(0), -100)},
		},
		{
			name:   "zero tolerance: one nanosecond off",
			lines:  []statement.Line{line(100, lAt(time.Nanosecond))},
			orders: []match.Order{order("a", 100)},
			rules:  rules(),
			want:   []match.Item{item(long, byNone, is(0), nil, 100), item(short, byNone, nil, is(0), -100)},
		},
		{
			name:   "absolute tolerance: at the edge above",
			lines:  numbered(line(1005), line(995)),
			orders: []match.Order{order("a", 1000), order("b", 1000)},
			rules:  rules(withTolerance(5, 0)),
			want:   []match.Item{item(amount, byAmt, is(0), is(0), 5), item(amount, byAmt, is(1), is(1), -5)},
		},
		{
			name:   "absolute tolerance: just beyond",
			lines:  numbered(line(1006), line(994)),
			orders: []match.Order{order("a", 1000), order("b", 1000)},
			rules:  rules(withTolerance(5, 0)),
			want: []match.Item{
				item(long, byNone, is(0), nil, 1006), item(long, byNone, is(1), nil, 994),
				item(short, byNone, nil, is(0), -1000), item(short, byNone, nil, is(1), -1000),
			},
		},
		{
			name:   "basis points: at the edge",
			lines:  numbered(line(10100), line(9900)),
			orders: []match.Order{order("a", 10000), order("b", 10000)},
			rules:  rules(withTolerance(5, 100)),
			want:   []match.Item{item(amount, byAmt, is(0), is(0), 100), item(amount, byAmt, is(1), is(1), -100)},
		},
		{
			name:   "basis points: just beyond",
			lines:  numbered(line(10101), line(9899)),
			orders: []match.Order{order("a", 10000), order("b", 10000)},
			rules:  rules(withTolerance(5, 100)),
			want: []match.Item{
				item(long, byNone, is(0), nil, 10101), item(long, byNone, is(1), nil, 9899),
				item(short, byNone, nil, is(0), -10000), item(short, byNone, nil, is(1), -10000),
			},
		},
		{
			name:   "basis points round down",
			lines:  numbered(line(1008), line(1009)), // 1% of 999 is 9.99: 9
			orders: []match.Order{order("a", 999), order("b", 999)},
			rules:  rules(withTolerance(0, 100)),
			want: []match.Item{
				item(amount, byAmt, is(0), is(0), 9), item(long, byNone, is(1), nil, 1009),
				item(short, byNone, nil, is(1), -999),
			},
		},
		{
			name:   "basis points of the order amount, not the line's",
			lines:  numbered(line(1110)), // 10% of 1000 is 100; of 1110, 111
			orders: []match.Order{order("a", 1000)},
			rules:  rules(withTolerance(0, 1000)),
			want:   []match.Item{item(long, byNone, is(0), nil, 1110), item(short, byNone, nil, is(0), -1000)},
		},
		{
			name:   "absolute tolerance larger than basis points",
			lines:  numbered(line(10050), line(10051)), // 10 bp of 10000 is 10
			orders: []match.Order{order("a", 10000), order("b", 10000)},
			rules:  rules(withTolerance(50, 10)),
			want: []match.Item{
				item(amount, byAmt, is(0), is(0), 50), item(long, byNone, is(1), nil, 10051),
				item(short, byNone, nil, is(1), -10000),
			},
		},
		{
			name:   "basis points larger than absolute tolerance",
			lines:  numbered(line(10100), line(10101)),
			orders: []match.Order{order("a", 10000), order("b", 10000)},
			rules:  rules(withTolerance(50, 100)),
			want: []match.Item{
				item(amount, byAmt, is(0), is(0), 100), item(long, byNone, is(1), nil, 10101),
				item(short, byNone, nil, is(1), -10000),
			},
		},
		{
			name:   "date tolerance: at the edges",
			lines:  numbered(line(100, lAt(time.Hour)), line(100, lAt(-time.Hour))),
			orders: []match.Order{order("a", 100), order("b", 100)},
			rules:  rules(withDates(time.Hour)),
			want:   []match.Item{item(matched, byAmt, is(0), is(0), 0), item(matched, byAmt, is(1), is(1), 0)},
		},
		{
			name:   "date tolerance: just beyond",
			lines:  numbered(line(100, lAt(time.Hour+1)), line(100, lAt(-time.Hour-1))),
			orders: []match.Order{order("a", 100)},
			rules:  rules(withDates(time.Hour)),
			want: []match.Item{
				item(long, byNone, is(0), nil, 100), item(long, byNone, is(1), nil, 100),
				item(short, byNone, nil, is(0), -100),
			},
		},
		{
			name:   "other party",
			lines:  []statement.Line{line(100, lParty("6222 01"))},
			orders: []match.Order{order("a", 100, oParty("6222 02")), order("b", 100, oAt(time.Minute))},
			rules:  rules(withDates(time.Hour)),
			want:   []match.Item{item(matched, byAmt, is(0), is(1), 0), item(short, byNone, nil, is(0), -100)},
		},
		{
			name:   "party known on one side only",
			lines:  numbered(line(100, lParty("6222 01")), line(200)),
			orders: []match.Order{order("a", 100), order("b", 200, oParty("6222 02"))},
			rules:  rules(),
			want:   []match.Item{item(matched, byAmt, is(0), is(0), 0), item(matched, byAmt, is(1), is(1), 0)},
		},
		{
			name:   "a conflicting channel ref is no candidate",
			lines:  []statement.Line{line(100, lRef("R1"))},
			orders: []match.Order{order("a", 100, oRef("R2")), order("b", 100, oAt(time.Minute))},
			rules:  rules(withDates(time.Hour)),
			want:   []match.Item{item(matched, byAmt, is(0), is(1), 0), item(short, byNone, nil, is(0), -100)},
		},
		{
			name:   "an order's channel ref does not stop a line without one",
			lines:  []statement.Line{line(100)},
			orders: []match.Order{order("a", 100, oRef("R2"))},
			rules:  rules(),
			want:   []match.Item{item(matched, byAmt, is(0), is(0), 0)},
		},
		{
			name:  "other direction or asset is no candidate",
			lines: []statement.Line{line(100)},
			orders: []match.Order{
				order("a", 100, oDir(channel.Refund)), order("b", 100, oAsset("USD")),
			},
			rules: rules(),
			want: []match.Item{
				item(long, byNone, is(0), nil, 100), item(short, byNone, nil, is(0), -100), item(short, byNone, nil, is(1), -100),
			},
		},
		{
			name:  "best candidate: smallest amount difference",
			lines: []statement.Line{line(1000)},
			orders: []match.Order{
				order("a", 1010), order("b", 995, oAt(30*time.Minute)), order("c", 1004, oAt(50*time.Minute)),
			},
			rules: rules(withTolerance(20, 0), withDates(time.Hour)),
			want: []match.Item{
				item(amount, byAmt, is(0), is(2), -4),
				item(short, byNone, nil, is(0), -1010), item(short, byNone, nil, is(1), -995),
			},
		},
		{
			name:  "best candidate: same difference above and below, nearer in time",
			lines: []statement.Line{line(1000)},
			orders: []match.Order{
				order("a", 1004, oAt(20*time.Minute)), order("b", 996, oAt(-10*time.Minute)),
			},
			rules: rules(withTolerance(20, 0), withDates(time.Hour)),
			want:  []match.Item{item(amount, byAmt, is(0), is(1), 4), item(short, byNone, nil, is(0), -1004)},
		},
		{
			name:  "best candidate: same amount, nearer in time",
			lines: []statement.Line{line(1000)},
			orders: []match.Order{
				order("a", 1000, oAt(-20*time.Minute)), order("b", 1000, oAt(10*time.Minute)), order("c", 1000, oAt(15*time.Minute)),
			},
			rules: rules(withDates(time.Hour)),
			want: []match.Item{
				item(matched, byAmt, is(0), is(1), 0), item(short, byNone, nil, is(0), -1000), item(short, byNone, nil, is(2), -1000),
			},
		},
		{
			name:  "best candidate: a tie goes to the lowest ID",
			lines: numbered(line(1000), line(1000)),
			orders: []match.Order{
				order("c", 1000, oAt(10*time.Minute)), order("b", 1000, oAt(-10*time.Minute)), order("d", 1000, oAt(10*time.Minute)),
			},
			rules: rules(withDates(time.Hour)),
			want: []match.Item{
				item(matched, byAmt, is(0), is(1), 0), item(matched, byAmt, is(1), is(0), 0), item(short, byNone, nil, is(2), -1000),
			},
		},
		{
			name:  "by amount: an order of another state",
			lines: numbered(line(100), line(200)),
			orders: []match.Order{
				order("a", 100, oState(match.StateUnknown)), order("b", 200, oState(match.StateFailed)),
			},
			rules: rules(),
			want:  []match.Item{item(status, byAmt, is(0), is(0), 100), item(status, byAmt, is(1), is(1), 200)},
		},
		{
			name:   "a failed line is not matched by amount",
			lines:  []statement.Line{line(100, lFailed())},
			orders: []match.Order{order("a", 100, oState(match.StateFailed))},
			rules:  rules(),
			want:   []match.Item{item(ignored, byNone, is(0), nil, 0)},
		},

		// One-sided.
		{
			name:  "shorts",
			lines: nil,
			orders: []match.Order{
				order("s", 100), order("c", 100, oState(match.StateCreated)), order("p", 100, oState(match.StateProcessing)),
				order("u", 100, oState(match.StateUnknown)), order("f", 100, oState(match.StateFailed)),
			},
			rules: rules(),
			want: []match.Item{
				item(short, byNone, nil, is(0), -100), item(short, byNone, nil, is(1), 0),
				item(short, byNone, nil, is(2), 0), item(short, byNone, nil, is(3), 0),
			},
		},
		{
			name:  "late lines: inside the window and at its edge",
			lines: numbered(line(100, lTime(asOf.Add(-time.Hour+1))), line(100, lTime(asOf.Add(-time.Hour))), line(100, lTime(asOf.Add(time.Hour)))),
			rules: rules(),
			want: []match.Item{
				item(late, byNone, is(0), nil, 100), item(long, byNone, is(1), nil, 100), item(late, byNone, is(2), nil, 100),
			},
		},
		{
			name:  "late orders: inside the window and at its edge",
			lines: nil,
			orders: []match.Order{
				order("a", 100, oTime(asOf.Add(-time.Hour+1))), order("b", 100, oTime(asOf.Add(-time.Hour))),
				order("c", 100, oTime(asOf.Add(-time.Minute)), oState(match.StateUnknown)),
				order("d", 100, oTime(asOf.Add(-time.Minute)), oState(match.StateFailed)),
			},
			rules: rules(),
			want: []match.Item{
				item(late, byNone, nil, is(0), -100), item(short, byNone, nil, is(1), -100), item(late, byNone, nil, is(2), 0),
			},
		},
		{
			name:   "a late failed line is still ignored",
			lines:  []statement.Line{line(100, lFailed(), lTime(asOf))},
			rules:  rules(),
			want:   []match.Item{item(ignored, byNone, is(0), nil, 0)},
			orders: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustReconcile(t, tt.lines, tt.orders, tt.rules)
			if diff := cmp.Diff(tt.want, got.Items, ignoreDetail, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Items (-want +got):\n%s", diff)
			}
			wantCounts := map[match.Kind]int{}
			for _, it := range tt.want {
				wantCounts[it.Kind]++
			}
			if diff := cmp.Diff(wantCounts, got.Counts, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Counts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReconcileDetail(t *testing.T) {
	tests := []struct {
		name   string
		lines  []statement.Line
		orders []match.Order
		want   []string
	}{
		{
			name:   "status",
			lines:  numbered(line(100, lID("a"))),
			orders: []match.Order{order("a", 100, oState(match.StateUnknown))},
			want:   []string{"channel succeeded, order unknown"},
		},
		{
			name:  "mixed states",
			lines: numbered(line(300, lID("B"))),
			orders: []match.Order{
				order("a", 100, oGroup("B")), order("b", 100, oGroup("B"), oState(match.StateUnknown)), order("c", 100, oGroup("B")),
			},
			want: []string{"channel succeeded, orders unknown and succeeded"},
		},
		{
			name:   "amount",
			lines:  numbered(line(90, lID("a"))),
			orders: []match.Order{order("a", 100)},
			want:   []string{"channel 90, order 100"},
		},
		{
			name:   "asset",
			lines:  numbered(line(100, lID("a"), lAsset("USD"))),
			orders: []match.Order{order("a", 100)},
			want:   []string{"channel USD, order a CNY"},
		},
		{
			name:   "fee",
			lines:  numbered(line(100, lID("a"), lFee(2))),
			orders: []match.Order{order("a", 100)},
			want:   []string{"channel fee 2, order fee 0"},
		},
		{
			name:   "duplicates",
			lines:  numbered(line(100, lID("a")), line(100, lRef("R")), line(100, lRef("R")), line(50, lRef("S")), line(50, lRef("S"))),
			orders: []match.Order{order("a", 100, oRef("R"))},
			want: []string{
				"", "line 2 repeats line 1 for order a", "line 3 repeats line 1 for order a",
				"channel succeeded 50 CNY, no order", "line 5 repeats line 4 with channel ref S",
			},
		},
		{
			name:   "one-sided",
			lines:  numbered(line(100, lFailed())),
			orders: []match.Order{order("a", 100, oState(match.StateProcessing))},
			want:   []string{"channel failed, no order", "order a processing, not in the statement"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustReconcile(t, tt.lines, tt.orders, rules())
			var details []string
			for _, it := range got.Items {
				details = append(details, it.Detail)
			}
			if diff := cmp.Diff(tt.want, details); diff != "" {
				t.Errorf("Details (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReconcileErrors(t *testing.T) {
	tests := []struct {
		name   string
		lines  []statement.Line
		orders []match.Order
		rules  match.Rules
		want   error
	}{
		{
			name:   "group sum overflows",
			lines:  []statement.Line{line(1, lID("B"))},
			orders: []match.Order{order("a", math.MaxInt64, oGroup("B")), order("b", 1, oGroup("B"))},
			rules:  rules(),
			want:   money.ErrOverflow,
		},
		{
			name:  "group fee sum overflows",
			lines: []statement.Line{line(2, lID("B"))},
			orders: []match.Order{
				order("a", 1, oGroup("B"), oFee(math.MaxInt64)), order("b", 1, oGroup("B"), oFee(1)),
			},
			rules: rules(),
			want:  money.ErrOverflow,
		},
		{
			name:   "fee difference overflows",
			lines:  []statement.Line{line(1, lID("a"), lFee(math.MinInt64))},
			orders: []match.Order{order("a", 1, oFee(1))},
			rules:  rules(),
			want:   money.ErrOverflow,
		},
		{
			name:  "invalid rules",
			rules: match.Rules{},
			want:  match.ErrInvalid,
		},
		{
			name:   "order ID twice",
			orders: []match.Order{order("a", 1), order("a", 2)},
			rules:  rules(),
			want:   match.ErrInvalid,
		},
		{
			name:   "order without ID",
			orders: []match.Order{order("", 1)},
			rules:  rules(),
			want:   match.ErrInvalid,
		},
		{
			name:   "order state unknown to payments",
			orders: []match.Order{order("a", 1, oState("settled"))},
			rules:  rules(),
			want:   match.ErrInvalid,
		},
		{
			name:   "negative order amount",
			orders: []match.Order{order("a", -1)},
			rules:  rules(),
			want:   match.ErrInvalid,
		},
		{
			name:  "line still processing",
			lines: []statement.Line{{Amount: 1, Status: channel.Processing}},
			rules: rules(),
			want:  match.ErrInvalid,
		},
		{
			name:  "negative line amount",
			lines: []statement.Line{line(-1)},
			rules: rules(),
			want:  match.ErrInvalid,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := match.Reconcile(tt.lines, tt.orders, tt.rules)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Reconcile error = %v, want %v", err, tt.want)
			}
			if res != nil {
				t.Errorf("Reconcile returned a result with its error: %+v", res)
			}
		})
	}
}

func TestRulesValidate(t *testing.T) {
	tests := []struct {
		name  string
		rules match.Rules
		ok    bool
	}{
		{"zero tolerances", match.Rules{AsOf: asOf}, true},
		{"all set", rules(func(r *match.Rules) {
			r.AmountTolerance, r.AmountToleranceBP, r.DateTolerance = 100, 10000, 24*time.Hour
		}), true},
		{"no AsOf", match.Rules{}, false},
		{"negative amount tolerance", rules(func(r *match.Rules) { r.AmountTolerance = -1 }), false},
		{"negative basis points", rules(func(r *match.Rules) { r.AmountToleranceBP = -1 }), false},
		{"over 10000 basis points", rules(func(r *match.Rules) { r.AmountToleranceBP = 10001 }), false},
		{"negative date tolerance", rules(func(r *match.Rules) { r.DateTolerance = -1 }), false},
		{"negative late window", rules(func(r *match.Rules) { r.LateWindow = -1 }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.rules.Validate()
			if tt.ok && err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, match.ErrInvalid) {
				t.Fatalf("Validate() = %v, want ErrInvalid", err)
			}
		})
	}
}

// TestReconcileHugeAmounts checks that tolerances near the int64 range
// neither overflow nor wrap into false matches.
func TestReconcileHugeAmounts(t *testing.T) {
	const big = math.MaxInt64
	orders := []match.Order{order("a", big), order("b", big-100)}
	lines := numbered(line(big-1), line(0))
	got := mustReconcile(t, lines, orders, rules(func(r *match.Rules) {
		r.AmountTolerance, r.AmountToleranceBP = 10, 10000
	}))
	want := []match.Item{
		item(match.AmountMismatch, match.ByAmount, is(0), is(0), -1),
		item(match.AmountMismatch, match.ByAmount, is(1), is(1), -(big - 100)),
	}
	if diff := cmp.Diff(want, got.Items, ignoreDetail, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Items (-want +got):\n%s", diff)
	}
}
