package sim_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
)

// TestRestartKeepsOrders restarts a simulator on its data directory with
// orders decided, processing and owed a callback: the new one knows every
// order as it was, answers a repeated start with the order it has (never
// deciding, so never paying, an order twice), decides the processing
// order when it falls due and delivers the callback still owed.
func TestRestartKeepsOrders(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, sim.Config{Seed: 3, FailRate: 5000, Dir: dir, MinDelay: time.Minute, MaxDelay: 2 * time.Minute})
	a := h.adapter(channel.BankTransfer)
	decided := []channel.Request{h.request(channel.BankTransfer, channel.PayOut, "decided-1"),
		h.request(channel.BankTransfer, channel.PayOut, "decided-2"), h.request(channel.BankTransfer, channel.PayIn, "decided-3")}
	for _, r := range decided {
		h.mustStart(a, r)
	}
	h.sim.Settle()
	// The owed order is decided while the receiver is down: its callback
	// waits for a retry when the simulator stops.
	owed := h.request(channel.QRWallet, channel.PayIn, "owed")
	h.mustStart(h.adapter(channel.QRWallet), owed)
	h.clock.Advance(2*time.Minute + time.Second)
	h.recv.failFor(1)
	h.sim.Step()
	if o := h.mustOrder(channel.QRWallet, owed.OrderID); !o.Status.Final() || len(o.Deliveries) != 1 || o.Deliveries[0].Delivered {
		t.Fatalf("owed order %s with deliveries %+v, want decided with one failed delivery", o.Status, o.Deliveries)
	}
	processing := h.request(channel.BankTransfer, channel.PayOut, "processing")
	h.mustStart(a, processing)
	before := h.sim.Orders()

	h.restart()
	if st := h.sim.Stats(); st.Restored != len(before) {
		t.Fatalf("restored %d orders, want %d", st.Restored, len(before))
	}
	ignore := cmpopts.IgnoreFields(sim.Order{}, "Deliveries", "Starts", "Queries")
	if diff := cmp.Diff(before, h.sim.Orders(), ignore, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("orders after the restart (-before +after):\n%s", diff)
	}
	for _, r := range append(decided, processing) {
		was := h.mustOrder(channel.BankTransfer, r.OrderID)
		if got := h.mustQuery(a, r.OrderID, r.Direction); got.Status != was.Status || got.ChannelRef != was.Ref {
			t.Errorf("query %s after the restart: %s %s, want %s %s", r.OrderID, got.Status, got.ChannelRef, was.Status, was.Ref)
		}
		if got := h.mustStart(a, r); got.Status != was.Status || got.ChannelRef != was.Ref {
			t.Errorf("start %s again after the restart: %s %s, want the order it has: %s %s", r.OrderID, got.Status,
				got.ChannelRef, was.Status, was.Ref)
		}
		if now := h.mustOrder(channel.BankTransfer, r.OrderID); !now.DecidedAt.Equal(was.DecidedAt) || now.Status != was.Status {
			t.Errorf("order %s was decided again: %s at %v, was %s at %v", r.OrderID, now.Status, now.DecidedAt, was.Status, was.DecidedAt)
		}
	}
	if st := h.sim.Stats(); st.Repeats != len(decided)+1 || st.Orders != len(before) {
		t.Errorf("after starting every order again: %d repeats, %d orders; want %d, %d", st.Repeats, st.Orders, len(decided)+1, len(before))
	}

	// The processing order is decided when due, and the statement lists
	// what the first simulator decided too.
	h.clock.Advance(3 * time.Minute)
	h.sim.Step()
	h.sim.Flush()
	if o := h.mustOrder(channel.BankTransfer, processing.OrderID); !o.Status.Final() {
		t.Errorf("processing order still %s after its due time", o.Status)
	}
	listed := map[string]bool{}
	for _, l := range h.statement(channel.BankTransfer) {
		listed[l.OrderID] = true
	}
	for _, r := range append(decided, processing) {
		if !listed[r.OrderID] {
			t.Errorf("the statement after the restart lacks %s", r.OrderID)
		}
	}
	if st := statuses(h.recv.about(owed.OrderID)); len(st) == 0 || !st[len(st)-1].Final() {
		t.Errorf("callbacks about the owed order: %v, want its outcome delivered", st)
	}
}

// TestJournalDamage: a torn last line (a crash in the middle of a write)
// is dropped; a damaged line before it stops the simulator from starting
// rather than forgetting orders.
func TestJournalDamage(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, sim.Config{Seed: 3, Dir: dir})
	r := h.request(channel.UnionPay, channel.PayIn, "kept")
	h.mustStart(h.adapter(channel.UnionPay), r)
	if err := h.sim.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, sim.JournalFile)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		content string
		wantErr bool
	}{
		{"torn last line", string(good) + `{"order":{"Kind":"unionpay","ID":"torn`, false},
		{"damaged line", "not json\n" + string(good), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := sim.New(sim.Config{Seed: 3, Dir: dir})
			if tt.wantErr {
				if err == nil {
					s.Close()
					t.Fatal("a simulator started on a damaged journal")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, ok := s.Order(channel.UnionPay, r.OrderID); !ok || len(s.Orders()) != 1 {
				t.Errorf("orders %v, want only %s", s.Orders(), r.OrderID)
			}
		})
	}
}
