package sim_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
)

// feeInResults reports whether kind k's answers carry the fee: qr_wallet and
// unionpay report it only in their statements.
func feeInResults(k channel.Kind) bool { return k != channel.QRWallet && k != channel.UnionPay }

// TestRoundTrip drives every supported direction of every kind through an
// adapter against the simulator: start, query, decision, callback, query
// again, statement, and a repeated start.
func TestRoundTrip(t *testing.T) {
	for _, k := range channel.Kinds() {
		for _, d := range k.Directions() {
			t.Run(string(k)+"/"+string(d), func(t *testing.T) {
				h := newHarness(t, sim.Config{Seed: 1, PendingRate: sim.Always})
				a := h.adapter(k)
				req := h.request(k, d, "1")
				if d == channel.Refund {
					pay := h.request(k, channel.PayIn, "orig")
					h.mustStart(a, pay)
					h.sim.Settle()
					req.Original, req.Amount = pay.OrderID, pay.Amount-45
				}

				// A teller answers at once; every other kind accepts now and
				// decides later.
				wantFirst := channel.Processing
				if k == channel.CashCounter {
					wantFirst = channel.Succeeded
				}
				res := h.mustStart(a, req)
				if res.Status != wantFirst || res.OrderID != req.OrderID || res.Amount != req.Amount || res.Asset != req.Asset {
					t.Fatalf("start = %+v, want %s of %d %s", res, wantFirst, req.Amount, req.Asset)
				}
				if got := h.mustQuery(a, req.OrderID, d); got.Status != wantFirst {
					t.Errorf("query before the decision = %s, want %s", got.Status, wantFirst)
				}

				h.sim.Settle()
				o := h.mustOrder(k, req.OrderID)
				if o.Status != channel.Succeeded || o.Amount != req.Amount || o.Direction != d {
					t.Fatalf("simulator's order = %+v", o)
				}
				wantFee := o.Fee
				if !feeInResults(k) {
					wantFee = 0
				}
				got := h.mustQuery(a, req.OrderID, d)
				want := &channel.Result{OrderID: req.OrderID, Status: channel.Succeeded, ChannelRef: o.Ref, Amount: req.Amount,
					Asset: req.Asset, Fee: wantFee, At: o.DecidedAt}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("query after the decision (-want +got):\n%s", diff)
				}

				cbs := h.recv.about(req.OrderID)
				switch {
				case k == channel.CashCounter && len(cbs) != 0:
					t.Errorf("a teller called back: %+v", cbs)
				case k != channel.CashCounter:
					if len(cbs) != 1 || cbs[0].err != nil {
						t.Fatalf("callbacks = %+v, want one that verifies", cbs)
					}
					if diff := cmp.Diff(want, cbs[0].res); diff != "" {
						t.Errorf("callback (-want +got):\n%s", diff)
					}
				}

				lines := h.statement(k)
				i := slices.IndexFunc(lines, func(l channel.StatementLine) bool { return l.OrderID == req.OrderID })
				if i < 0 {
					t.Fatalf("statement lacks %s: %+v", req.OrderID, lines)
				}
				wantLine := channel.StatementLine{OrderID: req.OrderID, ChannelRef: o.Ref, Direction: d, Amount: req.Amount,
					Fee: o.Fee, Asset: req.Asset, Status: channel.Succeeded, At: o.DecidedAt}
				if diff := cmp.Diff(wantLine, lines[i]); diff != "" {
					t.Errorf("statement line (-want +got):\n%s", diff)
				}

				again := h.mustStart(a, req)
				if again.Status != channel.Succeeded || again.ChannelRef != o.Ref {
					t.Errorf("repeated start = %+v, want the same succeeded order", again)
				}
				if o := h.mustOrder(k, req.OrderID); o.Starts != 2 {
					t.Errorf("starts = %d, want 2", o.Starts)
				}
			})
		}
	}
}

// TestUnsupportedDirection checks that an adapter refuses, without a call,
// the directions its kind does not support.
func TestUnsupportedDirection(t *testing.T) {
	h := newHarness(t, sim.Config{Seed: 1})
	for _, k := range channel.Kinds() {
		for _, d := range []channel.Direction{channel.PayIn, channel.PayOut, channel.Refund} {
			a := h.adapter(k)
			if a.Supports(d) != slices.Contains(k.Directions(), d) {
				t.Errorf("%s supports %s = %v", k, d, a.Supports(d))
			}
			if a.Supports(d) {
				continue
			}
			t.Run(string(k)+"/"+string(d), func(t *testing.T) {
				req := h.request(k, d, "x")
				req.Original = "ORIG-1"
				if _, err := a.Start(t.Context(), req); !errors.Is(err, channel.ErrUnsupported) {
					t.Errorf("start: %v, want ErrUnsupported", err)
				}
				if _, err := a.Query(t.Context(), req.OrderID, d); !errors.Is(err, channel.ErrUnsupported) {
					t.Errorf("query: %v, want ErrUnsupported", err)
				}
			})
		}
	}
	if st := h.sim.Stats(); st.Requests != 0 {
		t.Errorf("the simulator saw %d requests, want none", st.Requests)
	}
}

// TestPOSAnswersAtOnce checks that a card sale not left pending is
// approved in the answer to the start, with no callback.
func TestPOSAnswersAtOnce(t *testing.T) {
	h := newHarness(t, sim.Config{Seed: 1})
	a := h.adapter(channel.POSCard)
	req := h.request(channel.POSCard, channel.PayIn, "sync")
	res := h.mustStart(a, req)
	o := h.mustOrder(channel.POSCard, req.OrderID)
	if res.Status != channel.Succeeded || res.Fee != o.Fee || o.Fee != 47 { // 0.38% of 123.45 is 0.46911, half up
		t.Errorf("start = %+v, order fee %d; want succeeded with fee 47", res, o.Fee)
	}
	h.sim.Settle()
	if cbs := h.recv.about(req.OrderID); len(cbs) != 0 {
		t.Errorf("callbacks = %+v, want none", cbs)
	}
}

// TestRefundRules checks the refunds a channel refuses at once: of an
// unknown order, and beyond the amount paid.
func TestRefundRules(t *testing.T) {
	h := newHarness(t, sim.Config{Seed: 1})
	for _, k := range []channel.Kind{channel.QRWallet, channel.UnionPay, channel.POSCard} {
		t.Run(string(k), func(t *testing.T) {
			a := h.adapter(k)
			pay := h.request(k, channel.PayIn, "paid")
			h.mustStart(a, pay)
			h.sim.Settle()
			tests := []struct {
				name     string
				original string
				amount   int64
				want     channel.Status
			}{
				{"unknown original", "NOPE-1", 100, channel.Failed},
				{"part", pay.OrderID, 10000, channel.Processing},
				{"beyond what is left", pay.OrderID, 2346, channel.Failed},
				{"the rest", pay.OrderID, 2345, channel.Processing},
			}
			for i, tt := range tests {
				req := h.request(k, channel.Refund, string(rune('a'+i)))
				req.Original, req.Amount = tt.original, tt.amount
				res := h.mustStart(a, req)
				if k == channel.POSCard && tt.want == channel.Processing {
					tt.want = channel.Succeeded // the acquirer answers at once
				}
				if res.Status != tt.want || (tt.want == channel.Failed) != (res.Code != "") {
					t.Errorf("%s: start = %+v, want %s", tt.name, res, tt.want)
				}
			}
		})
	}
}
