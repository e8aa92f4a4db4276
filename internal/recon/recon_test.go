package recon_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
	"github.com/suanpan/suanpan/internal/recon"
	"github.com/suanpan/suanpan/internal/recon/match"
	"github.com/suanpan/suanpan/store/storetest"
)

// disc is what a test expects of a discrepancy.
type disc struct {
	Kind   match.Kind
	Status string
	Effect int64
}

// TestMatching reconciles hand-built statements against orders in every
// state and checks what each run finds, what the rules settle and what is
// parked, and that suspense always holds exactly the open differences.
func TestMatching(t *testing.T) {
	ok, failed, created := payments.StateSucceeded, payments.StateFailed, payments.StateCreated
	cases := []struct {
		name  string
		rules func(*recon.Settings)
		// setup creates the orders and returns the statement.
		setup func(w *world, ch *payments.Channel, acct string) ([]line, func(t *testing.T))
		// advance moves the clock before the run: past the two-day late
		// window, one-sided items are discrepancies.
		advance time.Duration
		counts  map[string]int
		discs   []disc
	}{
		{name: "matched by order ID", setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
			o := w.order(ch, channel.PayIn, acct, 10000, ok, "R1")
			return []line{{order: o.ID, ref: "R1", amount: "100.00"}}, nil
		}, counts: map[string]int{"matched": 1}},
		{name: "matched by channel reference", setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
			w.order(ch, channel.PayIn, acct, 10000, ok, "R2")
			return []line{{ref: "R2", amount: "100.00"}}, nil
		}, counts: map[string]int{"matched": 1}},
		{name: "one line settles three orders", setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
			for _, a := range []int64{1000, 2000, 3000} {
				w.order(ch, channel.PayIn, acct, a, ok, "B1")
			}
			return []line{{ref: "B1", amount: "60.00"}}, nil
		}, counts: map[string]int{"matched": 1}},
		{name: "a batch line short of its orders", setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
			for _, a := range []int64{1000, 2000, 3000} {
				w.order(ch, channel.PayIn, acct, a, ok, "B2")
			}
			return []line{{ref: "B2", amount: "55.00"}}, nil
		}, counts: map[string]int{"amount_mismatch": 1}, discs: []disc{{match.AmountMismatch, recon.StatusOpen, -500}}},
		{name: "amount within tolerance without a reference", rules: func(s *recon.Settings) { s.AmountTolerance = 50 },
			setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
				w.order(ch, channel.PayIn, acct, 10000, ok, "")
				return []line{{amount: "100.30", party: "6222000011112222"}}, nil
			}, counts: map[string]int{"amount_mismatch": 1}, discs: []disc{{match.AmountMismatch, recon.StatusOpen, 30}}},
		{name: "amount at the basis-point tolerance", rules: func(s *recon.Settings) { s.AmountTolerance, s.AmountToleranceBP = 10, 30 },
			setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
				w.order(ch, channel.PayIn, acct, 10000, ok, "")
				return []line{{amount: "99.70", party: "6222000011112222"}}, nil
			}, counts: map[string]int{"amount_mismatch": 1}, discs: []disc{{match.AmountMismatch, recon.StatusOpen, -30}}},
		{name: "amount just beyond the tolerance", rules: func(s *recon.Settings) { s.AmountTolerance = 29 },
			setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
				w.order(ch, channel.PayIn, acct, 10000, ok, "")
				return []line{{amount: "100.30", party: "6222000011112222"}}, nil
			}, counts: map[string]int{"long": 0, "late": 2}},
		{name: "beyond the tolerance past the window", rules: func(s *recon.Settings) { s.AmountTolerance, s.AutoFailShort = 29, false },
			setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
				w.order(ch, channel.PayIn, acct, 10000, ok, "")
				return []line{{amount: "100.30", party: "6222000011112222"}}, nil
			}, advance: 72 * time.Hour, counts: map[string]int{"long": 1, "short": 1},
			discs: []disc{{match.Long, recon.StatusOpen, 10030}, {match.Short, recon.StatusOpen, -10000}}},
		{name: "another party is not the same payment", rules: func(s *recon.Settings) { s.AmountTolerance = 50 },
			setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
				w.order(ch, channel.PayIn, acct, 10000, ok, "")
				return []line{{amount: "100.00", party: "6222999999999999"}}, nil
			}, counts: map[string]int{"late": 2}},
		{name: "in the channel only (long)", setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
			return []line{{ref: "X9", amount: "12.34"}}, nil
		}, advance: 72 * time.Hour, counts: map[string]int{"long": 1}, discs: []disc{{match.Long, recon.StatusOpen, 1234}}},
		{name: "a pay-out in the channel only", setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
			return []line{{ref: "X8", dir: channel.PayOut, amount: "12.34"}}, nil
		}, advance: 72 * time.Hour, counts: map[string]int{"long": 1}, discs: []disc{{match.Long, recon.StatusOpen, -1234}}},
		{name: "long within the late window waits", setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
			return []line{{ref: "X7", amount: "12.34"}}, nil
		}, advance: 47 * time.Hour, counts: map[string]int{"late": 1}},
		{name: "in Suanpan only (short) fails and is compensated", setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
			before := w.balance(acct)
			o := w.order(ch, channel.PayIn, acct, 10000, ok, "S1")
			return nil, func(t *testing.T) {
				if got := w.getOrder(o.ID); got.State != failed || got.ReversalID == "" {
					t.Errorf("order is %s (reversal %q), want failed and compensated", got.State, got.ReversalID)
				}
				if got := w.balance(acct); got != before {
					t.Errorf("wallet %d, want %d", got, before)
				}
			}
		}, advance: 72 * time.Hour, counts: map[string]int{"short": 1, "auto_resolved": 1, "open": 0},
			discs: []disc{{match.Short, recon.StatusResolved, -10000}}},
		{name: "short with the rule off is parked", rules: func(s *recon.Settings) { s.AutoFailShort = false },
			setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
				w.order(ch, channel.PayIn, acct, 10000, ok, "S2")
				return nil, nil
			}, advance: 72 * time.Hour, counts: map[string]int{"short": 1, "open": 1}, discs: []disc{{match.Short, recon.StatusOpen, -10000}}},
		{name: "short within the window waits", setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
			w.order(ch, channel.PayIn, acct, 10000, ok, "S3")
			return nil, nil
		}, advance: 47 * time.Hour, counts: map[string]int{"late": 1}},
		{name: "a short order without an answer fails", setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
			o := w.order(ch, channel.PayIn, acct, 10000, created, "")
			return nil, func(t *testing.T) {
				if got := w.getOrder(o.ID).State; got != failed {
					t.Errorf("order is %s, want failed", got)
				}
			}
		}, advance: 72 * time.Hour, counts: map[string]int{"short": 1, "auto_resolved": 1}, discs: []disc{{match.Short, recon.StatusResolved, 0}}},
		{name: "channel success completes an order without an answer", setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
			before := w.balance(acct)
			o := w.order(ch, channel.PayIn, acct, 10000, created, "")
			return []line{{order: o.ID, ref: "C1", amount: "100.00"}}, func(t *testing.T) {
				if got := w.getOrder(o.ID); got.State != ok || got.ChannelRef != "C1" {
					t.Errorf("order is %s with reference %q, want succeeded with C1", got.State, got.ChannelRef)
				}
				if got := w.balance(acct); got != before+10000 {
					t.Errorf("wallet %d, want %d", got, before+10000)
				}
			}
		}, counts: map[string]int{"status_mismatch": 1, "auto_resolved": 1}, discs: []disc{{match.StatusMismatch, recon.StatusResolved, 10000}}},
		{name: "channel success for more than the order", setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
			o := w.order(ch, channel.PayIn, acct, 10000, created, "")
			return []line{{order: o.ID, amount: "100.50"}}, func(t *testing.T) {
				if got := w.getOrder(o.ID).State; got != ok {
					t.Errorf("order is %s, want succeeded", got)
				}
			}
		}, counts: map[string]int{"status_mismatch": 1, "open": 1}, discs: []disc{{match.AmountMismatch, recon.StatusOpen, 50}}},
		{name: "channel failure fails an order without an answer", setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
			o := w.order(ch, channel.PayIn, acct, 10000, created, "")
			return []line{{order: o.ID, amount: "100.00", status: channel.Failed}}, func(t *testing.T) {
				if got := w.getOrder(o.ID).State; got != failed {
					t.Errorf("order is %s, want failed", got)
				}
			}
		}, counts: map[string]int{"status_mismatch": 1, "auto_resolved": 1}, discs: []disc{{match.StatusMismatch, recon.StatusResolved, 0}}},
		{name: "channel success for a failed order", setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
			o := w.order(ch, channel.PayIn, acct, 10000, failed, "F1")
			return []line{{order: o.ID, ref: "F1", amount: "100.00"}}, nil
		}, counts: map[string]int{"status_mismatch": 1, "open": 1}, discs: []disc{{match.StatusMismatch, recon.StatusOpen, 10000}}},
		{name: "channel failure for a succeeded order", setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
			o := w.order(ch, channel.PayIn, acct, 10000, ok, "F2")
			return []line{{order: o.ID, ref: "F2", amount: "100.00", status: channel.Failed}}, nil
		}, counts: map[string]int{"status_mismatch": 1, "open": 1}, discs: []disc{{match.StatusMismatch, recon.StatusOpen, -10000}}},
		{name: "a line twice", setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
			o := w.order(ch, channel.PayIn, acct, 10000, ok, "D1")
			return []line{{order: o.ID, ref: "D1", amount: "100.00"}, {order: o.ID, ref: "D1", amount: "100.00"}}, nil
		}, counts: map[string]int{"matched": 1, "duplicate": 1}, discs: []disc{{match.Duplicate, recon.StatusOpen, 10000}}},
		{name: "a fee the contract does not say", setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
			o := w.order(ch, channel.PayIn, acct, 10000, ok, "E1")
			return []line{{order: o.ID, ref: "E1", amount: "100.00", fee: "0.60"}}, nil
		}, counts: map[string]int{"fee_mismatch": 1, "open": 1}, discs: []disc{{match.FeeMismatch, recon.StatusOpen, 0}}},
		{name: "a failure the channel alone knows", setup: func(w *world, ch *payments.Channel, acct string) ([]line, func(*testing.T)) {
			return []line{{ref: "G1", amount: "1.00", status: channel.Failed}}, nil
		}, counts: map[string]int{"ignored": 1}},
	}
	for _, engine := range storetest.Engines() {
		for _, tc := range cases {
			t.Run(string(engine)+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, storetest.Open(t, engine), sim.Config{})
				ch := w.channels[channel.BankTransfer]
				w.useCSV(ch, tc.rules)
				acct := w.wallet(50000)
				lines, check := tc.setup(w, ch, acct)
				w.importCSV(ch, day, lines)
				w.clock.Advance(tc.advance)
				run := w.run(ch, day)
				if run.Status != recon.RunDone {
					t.Errorf("run is %s, want done", run.Status)
				}
				for k, want := range tc.counts {
					if got := run.Counts[k]; got != want {
						t.Errorf("counts[%s] = %d, want %d (all: %v)", k, got, want, run.Counts)
					}
				}
				var got []disc
				for _, d := range w.discrepancies(run.ID) {
					got = append(got, disc{d.Kind, d.Status, d.Effect})
				}
				if diff := cmp.Diff(tc.discs, got); diff != "" {
					t.Errorf("discrepancies (-want +got):\n%s", diff)
				}
				if check != nil {
					check(t)
				}
				w.checkBooks()
				// The same date again looks only at what is still late, and
				// parks nothing twice.
				again := w.run(ch, day)
				if again.Counts["late"] != run.Counts["late"] || again.Counts["open"] != 0 || again.Counts["matched"] != 0 {
					t.Errorf("a second run: %v after %v", again.Counts, run.Counts)
				}
				w.checkBooks()
			})
		}
	}
}
