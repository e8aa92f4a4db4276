package payments_test

import (
	"testing"
	"time"

	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// Every fault of the simulator, for a pay-in and a pay-out: the order ends
// in the outcome the channel decided, the ledger moved exactly once or not
// at all, no hold is left open, and every transition was emitted once.
func TestOrdersSurviveChannelFaults(t *testing.T) {
	tests := []struct {
		name     string
		sim      sim.Config
		down     bool // the channel is down when the order is created
		want     payments.State
		viaQuery bool // the outcome must have come from a status query
		// wantStates are the states the order passed through after created.
		wantStates []payments.State
		wantBadSig bool
	}{
		{name: "answered by callback", want: payments.StateSucceeded,
			wantStates: []payments.State{payments.StateProcessing, payments.StateSucceeded}},
		{name: "definite failure", sim: sim.Config{FailRate: sim.Always}, want: payments.StateFailed},
		{name: "timeout then success", sim: sim.Config{LateRate: sim.Always, DropCallbackRate: sim.Always},
			want: payments.StateSucceeded, viaQuery: true},
		{name: "timeout then failure", sim: sim.Config{LateRate: sim.Always, FailRate: sim.Always, DropCallbackRate: sim.Always},
			want: payments.StateFailed, viaQuery: true},
		{name: "callback before the query answers", sim: sim.Config{LateRate: sim.Always}, want: payments.StateSucceeded},
		{name: "duplicate and out-of-order callbacks", sim: sim.Config{DuplicateCallbackRate: sim.Always, OutOfOrderRate: sim.Always},
			want: payments.StateSucceeded, wantStates: []payments.State{payments.StateProcessing, payments.StateSucceeded}},
		{name: "bad signature", sim: sim.Config{BadSignatureRate: sim.Always}, want: payments.StateSucceeded, viaQuery: true, wantBadSig: true},
		{name: "channel down for a while", down: true, want: payments.StateSucceeded,
			wantStates: []payments.State{payments.StateUnknown, payments.StateProcessing, payments.StateSucceeded}},
	}
	directions := []struct {
		kind channel.Kind
		dir  channel.Direction
	}{{channel.QRWallet, channel.PayIn}, {channel.BankTransfer, channel.PayOut}}
	for _, tc := range tests {
		for _, d := range directions {
			t.Run(tc.name+"/"+string(d.dir), func(t *testing.T) {
				t.Parallel()
				storetest.Each(t, func(t *testing.T, db *store.DB) {
					w := newWorld(t, db, worldOptions{sim: tc.sim, retry: payments.RetryPolicy{MaxAttempts: 20, BackoffMs: 2000, MaxBackoffMs: 8000}})
					acct := w.wallet(cny("100.00"))
					before := w.balance(acct)
					w.sim.SetDown(tc.down)
					o := w.create(payments.OrderRequest{Reference: "r1", ChannelID: w.channels[d.kind].ID, Direction: d.dir,
						Account: acct, Amount: cny("12.34"), Party: "6222020200112233", PartyName: "Li Lei"})
					if d.dir == channel.PayOut && o.HoldID == "" {
						t.Fatal("a pay-out has no hold")
					}
					w.sim.SetDown(false)
					w.settle(2*time.Second, 30)
					w.sim.Settle()
					w.settle(10*time.Second, 5)

					got := w.order(o.ID)
					if got.State != tc.want {
						t.Fatalf("state = %s (%s %s), want %s", got.State, got.FailureCode, got.FailureMessage, tc.want)
					}
					simOrder, ok := w.sim.Order(d.kind, o.ID)
					if !ok || string(simOrder.Status) != string(got.State) {
						t.Errorf("simulator has %v (recorded %v), Suanpan %s", simOrder.Status, ok, got.State)
					}
					after := w.balance(acct)
					moved := int64(0)
					if tc.want == payments.StateSucceeded {
						moved = cny("12.34")
					}
					wantPosted := before.CreditsPosted - before.DebitsPosted
					if d.dir == channel.PayIn {
						wantPosted += moved
					} else {
						wantPosted -= moved
					}
					if bal := after.CreditsPosted - after.DebitsPosted; bal != wantPosted || after.DebitsPending != 0 || after.CreditsPending != 0 {
						t.Errorf("account %+v: balance %d, want %d and nothing pending", after, bal, wantPosted)
					}
					trs, err := w.svc.Transitions(w.ctx, o.ID, nil)
					if err != nil {
						t.Fatal(err)
					}
					var states []payments.State
					finalCause := ""
					for _, tr := range trs[1:] {
						if tr.From == tr.To {
							continue // a note, such as a re-send to a channel that had no record of the order
						}
						states = append(states, tr.To)
						if tr.To.Final() {
							finalCause = tr.Cause
						}
					}
					if tc.wantStates != nil && !equalStates(states, tc.wantStates) {
						t.Errorf("transitions %v, want %v", states, tc.wantStates)
					}
					if tc.viaQuery && finalCause != payments.CauseQuery {
						t.Errorf("outcome came by %q, want a query (transitions %+v)", finalCause, trs)
					}
					for typ, n := range w.events(o.ID) {
						if n != 1 {
							t.Errorf("event %s emitted %d times", typ, n)
						}
					}
					if ev := w.events(o.ID); ev["payment_order."+string(tc.want)] != 1 || ev["payment_order.created"] != 1 {
						t.Errorf("events %v: want created and %s once", ev, tc.want)
					}
					w.mu.Lock()
					refused := w.callbacks[401]
					w.mu.Unlock()
					if tc.wantBadSig && refused == 0 {
						t.Error("no callback was refused for its signature")
					}
					w.verify()
				})
			})
		}
	}
}

func equalStates(a, b []payments.State) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
