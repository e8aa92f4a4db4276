package match_test

import (
	"testing"
	"time"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/recon/match"
	"github.com/suanpan/suanpan/internal/recon/statement"
)

// t0 is when the test day's payments happen; asOf is well after it, so that
// nothing at t0 is late under rules().
var (
	t0   = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	asOf = t0.Add(72 * time.Hour)
)

// rules returns exact rules as of asOf, changed by fs.
func rules(fs ...func(*match.Rules)) match.Rules {
	r := match.Rules{AsOf: asOf, LateWindow: time.Hour}
	for _, f := range fs {
		f(&r)
	}
	return r
}

type orderOpt func(*match.Order)

// order returns a succeeded CNY pay-in created at t0.
func order(id string, amount int64, opts ...orderOpt) match.Order {
	o := match.Order{ID: id, Direction: channel.PayIn, Amount: amount, Asset: "CNY", State: match.StateSucceeded, At: t0}
	for _, f := range opts {
		f(&o)
	}
	return o
}

func oRef(ref string) orderOpt          { return func(o *match.Order) { o.ChannelRef = ref } }
func oGroup(g string) orderOpt          { return func(o *match.Order) { o.Group = g } }
func oState(s string) orderOpt          { return func(o *match.Order) { o.State = s } }
func oAt(d time.Duration) orderOpt      { return func(o *match.Order) { o.At = t0.Add(d) } }
func oTime(t time.Time) orderOpt        { return func(o *match.Order) { o.At = t } }
func oParty(p string) orderOpt          { return func(o *match.Order) { o.Party = p } }
func oFee(f int64) orderOpt             { return func(o *match.Order) { o.Fee = f } }
func oAsset(a string) orderOpt          { return func(o *match.Order) { o.Asset = a } }
func oDir(d channel.Direction) orderOpt { return func(o *match.Order) { o.Direction = d } }

type lineOpt func(*statement.Line)

// line returns a succeeded CNY pay-in line dated t0 with no reference.
func line(amount int64, opts ...lineOpt) statement.Line {
	l := statement.Line{Direction: channel.PayIn, Amount: amount, Asset: "CNY", Status: channel.Succeeded, At: t0}
	for _, f := range opts {
		f(&l)
	}
	return l
}

func lID(id string) lineOpt            { return func(l *statement.Line) { l.OrderID = id } }
func lRef(ref string) lineOpt          { return func(l *statement.Line) { l.ChannelRef = ref } }
func lFailed() lineOpt                 { return func(l *statement.Line) { l.Status = channel.Failed } }
func lAt(d time.Duration) lineOpt      { return func(l *statement.Line) { l.At = t0.Add(d) } }
func lTime(t time.Time) lineOpt        { return func(l *statement.Line) { l.At = t } }
func lParty(p string) lineOpt          { return func(l *statement.Line) { l.Party = p } }
func lFee(f int64) lineOpt             { return func(l *statement.Line) { l.Fee = f } }
func lAsset(a string) lineOpt          { return func(l *statement.Line) { l.Asset = a } }
func lDir(d channel.Direction) lineOpt { return func(l *statement.Line) { l.Direction = d } }

// numbered numbers lines from 1, as a statement file would.
func numbered(lines ...statement.Line) []statement.Line {
	for i := range lines {
		lines[i].No = i + 1
	}
	return lines
}

// mustReconcile runs Reconcile and fails the test on an error.
func mustReconcile(t testing.TB, lines []statement.Line, orders []match.Order, r match.Rules) *match.Result {
	t.Helper()
	res, err := match.Reconcile(lines, orders, r)
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	return res
}
