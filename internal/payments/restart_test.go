package payments_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// restartOrders is how many pay-outs and pay-ins the restart tests place.
const restartOrders = 12

// placeOpen places pay-outs (bank_transfer) and pay-ins (qr_wallet) whose
// callbacks the simulator drops, so that they stay open until a query
// settles them; the late ones are unknown.
func placeOpen(w *world, n int) ([]*payments.Order, map[string]channel.Kind) {
	w.t.Helper()
	acct := w.wallet(cny("10000.00"))
	kinds := map[string]channel.Kind{}
	var orders []*payments.Order
	for i := range n {
		k, dir := channel.BankTransfer, channel.PayOut
		if i%3 == 2 {
			k, dir = channel.QRWallet, channel.PayIn
		}
		o := w.create(payments.OrderRequest{Reference: fmt.Sprintf("restart-%02d", i), ChannelID: w.channels[k].ID,
			Direction: dir, Account: acct, Amount: cny("10.00") + int64(i), Party: "6222020200112233", PartyName: "Li Lei"})
		orders, kinds[o.ID] = append(orders, o), k
	}
	return orders, kinds
}

// TestSimulatorRestart restarts the channel simulator on its data
// directory while Suanpan has orders processing and unknown (late
// answers), some of them already decided at the channel: every order
// reaches the outcome the channel recorded, the channel never completes an
// order twice, no hold is left open and the ledger verifies.
func TestSimulatorRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		dir := t.TempDir()
		w := newWorld(t, db, worldOptions{timeoutMs: 100,
			sim:   sim.Config{Seed: 11, Dir: dir, LateRate: 5000, FailRate: 3000, DropCallbackRate: sim.Always},
			retry: payments.RetryPolicy{MaxAttempts: 50, BackoffMs: 2000, MaxBackoffMs: 8000}})
		orders, kinds := placeOpen(w, restartOrders)
		states := map[payments.State]int{}
		for _, o := range orders {
			states[w.order(o.ID).State]++
		}
		if states[payments.StateProcessing] == 0 || states[payments.StateUnknown] == 0 {
			t.Fatalf("orders by state before the restart: %v; want some processing and some unknown", states)
		}
		// The channel decides some before it stops; Suanpan does not hear
		// of it (no callbacks, no queries yet).
		w.clock.Advance(3 * time.Second)
		w.sim.Step()
		before := map[string]sim.Order{}
		decided := 0
		for _, o := range orders {
			so, ok := w.sim.Order(kinds[o.ID], o.ID)
			if !ok {
				t.Fatalf("the simulator has no order %s", o.ID)
			}
			before[o.ID] = so
			if so.Status.Final() {
				decided++
			}
		}
		if decided == 0 || decided == len(orders) {
			t.Fatalf("%d of %d orders decided at the channel before the restart; want some", decided, len(orders))
		}

		restartedAt := w.clock.Now()
		w.restartSim(dir)
		w.settle(2*time.Second, 60)

		for _, o := range orders {
			got := w.order(o.ID)
			so, ok := w.sim.Order(kinds[o.ID], o.ID)
			switch {
			case !got.State.Final():
				t.Errorf("order %s is %s after the restart", o.Reference, got.State)
			case !ok || string(so.Status) != string(got.State):
				t.Errorf("order %s: Suanpan %s, channel %s (recorded %v)", o.Reference, got.State, so.Status, ok)
			}
			// Completions at the channel: by the first simulator, and by the
			// second after the restart.
			completions := 0
			if before[o.ID].Status == channel.Succeeded {
				completions++
			}
			if so.Status == channel.Succeeded && so.DecidedAt.After(restartedAt) {
				completions++
			}
			if completions > 1 {
				t.Errorf("order %s was completed %d times at the channel", o.Reference, completions)
			}
			if b := before[o.ID]; b.Status.Final() && (so.Status != b.Status || so.Ref != b.Ref) {
				t.Errorf("order %s was %s (%s) at the channel before the restart, %s (%s) after", o.Reference, b.Status, b.Ref,
					so.Status, so.Ref)
			}
		}
		if st := w.sim.Stats(); st.Restored != len(orders) {
			t.Errorf("the simulator restored %d orders, want %d", st.Restored, len(orders))
		}
		acct := orders[0].AccountID
		if b := w.balance(acct); b.DebitsPending != 0 || b.CreditsPending != 0 {
			t.Errorf("holds left open: %+v", b)
		}
		w.verify()
	})
}

// TestChannelLostOrders: a channel that lost its records of processing
// orders answers "not found"; each order is sent again under its order ID
// and settles as the channel then decides. A channel that never takes the
// order is sent it a bounded number of times, then the order is left for
// reconciliation with a stuck note: no endless follow-up.
func TestChannelLostOrders(t *testing.T) {
	tests := []struct {
		name string
		// after configures the simulator that lost the orders.
		after      sim.Config
		wantFinal  bool
		wantResent int // re-sends per order; 0: at least one
	}{
		{name: "re-sent and settled", after: sim.Config{Seed: 5, FailRate: 3000, DropCallbackRate: sim.Always}, wantFinal: true},
		{name: "never taken", after: sim.Config{Seed: 5, TimeoutRate: sim.Always}, wantResent: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				w := newWorld(t, db, worldOptions{timeoutMs: 100, sim: sim.Config{Seed: 5, Dir: t.TempDir(), DropCallbackRate: sim.Always},
					retry: payments.RetryPolicy{MaxAttempts: 40, BackoffMs: 2000, MaxBackoffMs: 8000}})
				orders, kinds := placeOpen(w, 3)
				for _, o := range orders {
					if got := w.order(o.ID); got.State != payments.StateProcessing {
						t.Fatalf("order %s is %s before the channel loses it, want processing", o.Reference, got.State)
					}
				}
				tc.after.Clock = w.clock
				w.simCfg = tc.after
				w.restartSim(t.TempDir()) // an empty directory: the channel lost every order
				w.settle(2*time.Second, 40)
				w.settle(10*time.Second, 40)

				for _, o := range orders {
					got := w.order(o.ID)
					so, ok := w.sim.Order(kinds[o.ID], o.ID)
					trs, err := w.svc.Transitions(w.ctx, o.ID, nil)
					if err != nil {
						t.Fatal(err)
					}
					resent, stuck := 0, 0
					for _, tr := range trs {
						switch tr.Cause {
						case payments.CauseResend:
							resent++
							if tr.From != tr.To || !strings.Contains(tr.Detail, "no record") {
								t.Errorf("re-send transition %+v, want a note saying why", tr)
							}
						case "stuck":
							stuck++
						}
					}
					ev := w.events(o.ID)
					if tc.wantFinal {
						if !got.State.Final() || !ok || string(so.Status) != string(got.State) || so.Starts != 1 {
							t.Errorf("order %s: Suanpan %s, channel %s (recorded %v, %d starts); want one re-send settled",
								o.Reference, got.State, so.Status, ok, so.Starts)
						}
						if resent != 1 || stuck != 0 || ev[payments.EventOrderResent] != 1 {
							t.Errorf("order %s: %d re-sends, %d stuck notes, events %v; want one re-send", o.Reference, resent, stuck, ev)
						}
						continue
					}
					if got.State != payments.StateProcessing || ok {
						t.Errorf("order %s: Suanpan %s, channel recorded %v; want processing, never recorded", o.Reference, got.State, ok)
					}
					if resent != tc.wantResent || stuck != 1 || ev[payments.EventOrderResent] != tc.wantResent || ev[payments.EventOrderStuck] != 1 {
						t.Errorf("order %s: %d re-sends, %d stuck notes, events %v; want %d re-sends and one stuck note",
							o.Reference, resent, stuck, ev, tc.wantResent)
					}
				}
				if !tc.wantFinal {
					// The follow-up has ended: more time changes nothing.
					st := w.sim.Stats()
					w.settle(time.Minute, 10)
					if again := w.sim.Stats(); again.Starts != st.Starts || again.Queries != st.Queries {
						t.Errorf("the follow-up goes on: %d starts and %d queries, then %d and %d", st.Starts, st.Queries,
							again.Starts, again.Queries)
					}
				}
				w.verify()
			})
		})
	}
}
