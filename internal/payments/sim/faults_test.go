package sim_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
)

// clientTimeout is how long adapters wait in the tests where the simulator
// holds its answer: the client giving up is the event those tests wait
// for. It leaves a loaded machine time to record the order first.
const clientTimeout = 500 * time.Millisecond

// TestFail checks that an order the channel refuses ends Failed with one of
// the kind's codes, in the query, the callback and, where listed, the
// statement.
func TestFail(t *testing.T) {
	for _, k := range channel.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			h := newHarness(t, sim.Config{Seed: 2, FailRate: sim.Always, PendingRate: sim.Always})
			a := h.adapter(k)
			req := h.request(k, channel.PayIn, "fail")
			res := h.mustStart(a, req)
			h.sim.Settle()
			got := h.mustQuery(a, req.OrderID, channel.PayIn)
			o := h.mustOrder(k, req.OrderID)
			if got.Status != channel.Failed || got.Code == "" || got.Code != o.Code || got.Fee != 0 {
				t.Errorf("query = %+v, want failed with the simulator's code %q", got, o.Code)
			}
			if k == channel.CashCounter {
				if res.Status != channel.Failed || res.Code != o.Code {
					t.Errorf("a teller's start = %+v, want failed at once", res)
				}
				return
			}
			if cbs := h.recv.about(req.OrderID); len(cbs) != 1 || cbs[0].res == nil || cbs[0].res.Status != channel.Failed || cbs[0].res.Code != o.Code {
				t.Errorf("callbacks = %+v, want one failed with %q", cbs, o.Code)
			}
		})
	}
}

// TestChequeBounce checks that a deposited cheque stays processing through
// its clearing delay and is then returned, in the clearing report too.
func TestChequeBounce(t *testing.T) {
	h := newHarness(t, sim.Config{Seed: 3, FailRate: sim.Always, ClearingDelay: 48 * time.Hour})
	a := h.adapter(channel.Cheque)
	req := h.request(channel.Cheque, channel.PayIn, "bounce")
	h.mustStart(a, req)
	h.clock.Advance(47 * time.Hour)
	h.sim.Step()
	if got := h.mustQuery(a, req.OrderID, channel.PayIn); got.Status != channel.Processing {
		t.Fatalf("after 47h: %s, want processing", got.Status)
	}
	h.clock.Advance(time.Hour)
	h.sim.Step()
	got := h.mustQuery(a, req.OrderID, channel.PayIn)
	if got.Status != channel.Failed || got.Code == "" {
		t.Fatalf("after 48h: %+v, want returned", got)
	}
	var b bytes.Buffer
	if err := h.sim.WriteStatement(&b, channel.Cheque, epoch.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	lines, err := a.ParseStatement(&b)
	if err != nil || len(lines) != 1 || lines[0].Status != channel.Failed || lines[0].Amount != req.Amount {
		t.Errorf("clearing report = %+v, %v; want the returned cheque", lines, err)
	}
}

// TestTimeout checks that a dropped start is an error, not an answer, and
// that the channel has no record of it.
func TestTimeout(t *testing.T) {
	for _, k := range channel.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, sim.Config{Seed: 4, TimeoutRate: sim.Always})
			a := h.adapterWithin(k, clientTimeout)
			req := h.request(k, k.Directions()[0], "lost")
			if res, err := a.Start(t.Context(), req); err == nil {
				t.Fatalf("start = %+v, want an error", res)
			}
			if got := h.mustQuery(h.adapter(k), req.OrderID, req.Direction); got.Status != channel.NotFound {
				t.Errorf("query = %+v, want not found", got)
			}
			if st := h.sim.Stats(); st.Dropped != 1 || st.Orders != 0 {
				t.Errorf("stats = %+v, want one dropped start and no order", st)
			}
		})
	}
}

// TestLate checks that a late answer is an error to the client, but the
// order was recorded: a query finds it, and it is decided like any other.
func TestLate(t *testing.T) {
	for _, k := range channel.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, sim.Config{Seed: 5, LateRate: sim.Always, PendingRate: sim.Always})
			a := h.adapterWithin(k, clientTimeout)
			req := h.request(k, k.Directions()[0], "late")
			_, err := a.Start(t.Context(), req)
			if !isTimeout(err) {
				t.Fatalf("start: %v, want a timeout", err)
			}
			got := h.mustQuery(a, req.OrderID, req.Direction)
			if got.Status == channel.NotFound {
				t.Fatalf("query = %+v, want the recorded order", got)
			}
			h.sim.Settle()
			if got := h.mustQuery(a, req.OrderID, req.Direction); got.Status != channel.Succeeded {
				t.Errorf("query after the decision = %+v, want succeeded", got)
			}
			if o := h.mustOrder(k, req.OrderID); !o.Late {
				t.Errorf("order not marked late: %+v", o)
			}
		})
	}
}

// callbackKinds are the kinds that call back.
func callbackKinds() []channel.Kind {
	return []channel.Kind{channel.BankTransfer, channel.POSCard, channel.QRWallet, channel.UnionPay, channel.Cheque}
}

// TestCallbackSequences checks the callbacks a receiver sees for each
// callback fault, and that the simulator's own status never goes back.
func TestCallbackSequences(t *testing.T) {
	tests := []struct {
		name string
		cfg  sim.Config
		want []channel.Status
	}{
		{"normal", sim.Config{}, []channel.Status{channel.Succeeded}},
		{"duplicate", sim.Config{DuplicateCallbackRate: sim.Always}, []channel.Status{channel.Succeeded, channel.Succeeded}},
		{"out of order", sim.Config{OutOfOrderRate: sim.Always}, []channel.Status{channel.Succeeded, channel.Processing}},
		{"dropped", sim.Config{DropCallbackRate: sim.Always}, nil},
	}
	for _, tt := range tests {
		for _, k := range callbackKinds() {
			t.Run(tt.name+"/"+string(k), func(t *testing.T) {
				cfg := tt.cfg
				cfg.Seed, cfg.PendingRate = 6, sim.Always
				h := newHarness(t, cfg)
				a := h.adapter(k)
				req := h.request(k, channel.PayIn, "cb")
				h.mustStart(a, req)
				h.sim.Settle()
				cbs := h.recv.about(req.OrderID)
				for _, c := range cbs {
					if c.err != nil {
						t.Errorf("callback did not verify: %v", c.err)
					}
				}
				if diff := cmp.Diff(tt.want, statuses(cbs)); diff != "" {
					t.Errorf("callback statuses (-want +got):\n%s", diff)
				}
				o := h.mustOrder(k, req.OrderID)
				if o.Status != channel.Succeeded || o.CallbacksDropped != (tt.want == nil) {
					t.Errorf("order = %+v, want succeeded, callbacks dropped %v", o, tt.want == nil)
				}
				if got := h.mustQuery(a, req.OrderID, channel.PayIn); got.Status != channel.Succeeded {
					t.Errorf("query = %s after a stale callback, want succeeded", got.Status)
				}
			})
		}
	}
}

// TestBadSignature checks that callbacks signed with the wrong key are
// refused by the adapter with ErrBadSignature, retried, and given up.
func TestBadSignature(t *testing.T) {
	for _, k := range callbackKinds() {
		t.Run(string(k), func(t *testing.T) {
			h := newHarness(t, sim.Config{Seed: 7, BadSignatureRate: sim.Always, PendingRate: sim.Always})
			req := h.request(k, channel.PayIn, "badsig")
			h.mustStart(h.adapter(k), req)
			h.sim.Settle()
			cbs := h.recv.about(req.OrderID)
			if len(cbs) != 8 {
				t.Errorf("%d deliveries, want 8 (1 and 7 retries)", len(cbs))
			}
			for _, c := range cbs {
				if !errors.Is(c.err, channel.ErrBadSignature) {
					t.Errorf("callback verified as %+v, %v; want ErrBadSignature", c.res, c.err)
				}
			}
			st := h.sim.Stats()
			if st.BadSignatures != 8 || st.CallbacksAbandoned != 1 || st.CallbacksDelivered != 0 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

// TestTamperedCallback checks that changing one byte of a good callback,
// or its signature, breaks it.
func TestTamperedCallback(t *testing.T) {
	for _, k := range callbackKinds() {
		t.Run(string(k), func(t *testing.T) {
			h := newHarness(t, sim.Config{Seed: 8, PendingRate: sim.Always})
			a := h.adapter(k)
			req := h.request(k, channel.PayIn, "tamper")
			req.Amount = 7777
			h.mustStart(a, req)
			h.sim.Settle()
			cbs := h.recv.about(req.OrderID)
			if len(cbs) != 1 || cbs[0].err != nil {
				t.Fatalf("callbacks = %+v", cbs)
			}
			body := []byte(strings.Replace(string(cbs[0].body), "77", "78", 1))
			if _, err := a.VerifyCallback(cbs[0].header, body); !errors.Is(err, channel.ErrBadSignature) {
				t.Errorf("tampered amount: %v, want ErrBadSignature", err)
			}
			other, err := channel.New(channel.Config{Kind: k, Endpoint: h.url, MerchantID: h.sim.MerchantID(), Secret: "other", Clock: h.clock})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := other.VerifyCallback(cbs[0].header, cbs[0].body); !errors.Is(err, channel.ErrBadSignature) {
				t.Errorf("another key: %v, want ErrBadSignature", err)
			}
		})
	}
}

// TestStaleCallback checks that the dialects with a timestamp refuse a
// callback replayed more than five minutes later.
func TestStaleCallback(t *testing.T) {
	for _, k := range []channel.Kind{channel.BankTransfer, channel.Cheque} {
		t.Run(string(k), func(t *testing.T) {
			h := newHarness(t, sim.Config{Seed: 9})
			a := h.adapter(k)
			req := h.request(k, channel.PayIn, "stale")
			h.mustStart(a, req)
			h.sim.Settle()
			cbs := h.recv.about(req.OrderID)
			if len(cbs) != 1 || cbs[0].err != nil {
				t.Fatalf("callbacks = %+v", cbs)
			}
			h.clock.Advance(6 * time.Minute)
			if _, err := a.VerifyCallback(cbs[0].header, cbs[0].body); !errors.Is(err, channel.ErrBadSignature) {
				t.Errorf("replayed after 6 minutes: %v, want ErrBadSignature", err)
			}
		})
	}
}

// TestCallbackRetry checks that a callback the receiver fails is retried
// after WeChat's backoff, and not before.
func TestCallbackRetry(t *testing.T) {
	h := newHarness(t, sim.Config{Seed: 10, MinDelay: time.Second, MaxDelay: time.Second})
	a := h.adapter(channel.QRWallet)
	req := h.request(channel.QRWallet, channel.PayIn, "retry")
	h.mustStart(a, req)
	h.recv.failFor(2)

	h.clock.Advance(time.Second)
	h.sim.Step() // decides, first delivery fails
	h.sim.Step() // nothing is due yet
	h.clock.Advance(14 * time.Second)
	h.sim.Step()
	if got := len(h.mustOrder(channel.QRWallet, req.OrderID).Deliveries); got != 1 {
		t.Fatalf("%d deliveries within 15s, want 1", got)
	}
	h.clock.Advance(time.Second)
	h.sim.Step() // second delivery, fails
	h.clock.Advance(15 * time.Second)
	h.sim.Step() // third, delivered
	var got []int
	for _, d := range h.mustOrder(channel.QRWallet, req.OrderID).Deliveries {
		got = append(got, d.HTTPStatus)
	}
	if diff := cmp.Diff([]int{500, 500, 200}, got); diff != "" {
		t.Errorf("delivery answers (-want +got):\n%s", diff)
	}
	h.clock.Advance(time.Hour)
	h.sim.Step()
	if n := len(h.recv.about(req.OrderID)); n != 3 {
		t.Errorf("%d callbacks received, want 3", n)
	}
}

// TestDown checks that a channel that is down answers nothing definite,
// whether forced or in its scheduled window.
func TestDown(t *testing.T) {
	t.Run("forced", func(t *testing.T) {
		h := newHarness(t, sim.Config{Seed: 11})
		a := h.adapter(channel.BankTransfer)
		req := h.request(channel.BankTransfer, channel.PayIn, "down")
		h.sim.SetDown(true)
		if res, err := a.Start(t.Context(), req); err == nil {
			t.Fatalf("start while down = %+v, want an error", res)
		}
		if res, err := a.Query(t.Context(), req.OrderID, channel.PayIn); err == nil {
			t.Fatalf("query while down = %+v, want an error", res)
		}
		h.sim.SetDown(false)
		if res := h.mustStart(a, req); res.Status != channel.Processing {
			t.Errorf("start when up = %+v", res)
		}
	})
	t.Run("window", func(t *testing.T) {
		// Down for the first 10 minutes of every hour; epoch is on the hour.
		h := newHarness(t, sim.Config{Seed: 11, DownEvery: time.Hour, DownFor: 10 * time.Minute})
		a := h.adapter(channel.UnionPay)
		req := h.request(channel.UnionPay, channel.PayIn, "window")
		if _, err := a.Start(t.Context(), req); err == nil {
			t.Fatal("start in the down window succeeded")
		}
		h.clock.Advance(10 * time.Minute)
		if res := h.mustStart(a, req); res.Status != channel.Processing {
			t.Errorf("start after the window = %+v", res)
		}
		if st := h.sim.Stats(); st.Down != 1 {
			t.Errorf("down answers = %d, want 1", st.Down)
		}
	})
}

// TestRejectedRequest checks that a request the channel cannot
// authenticate is ErrRejected, not a failed order.
func TestRejectedRequest(t *testing.T) {
	h := newHarness(t, sim.Config{Seed: 12})
	for _, k := range channel.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			cfg := h.sim.ChannelConfig(h.url, k)
			cfg.Secret = "wrong"
			a, err := channel.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			req := h.request(k, channel.PayIn, "rejected")
			res, err := a.Start(t.Context(), req)
			if err == nil {
				t.Fatalf("start with the wrong key = %+v, want an error", res)
			}
			if _, ok := h.sim.Order(k, req.OrderID); ok {
				t.Error("the simulator recorded a request it could not authenticate")
			}
		})
	}
}

// outcome is what determinism compares of an order.
type outcome struct {
	Status     channel.Status
	Code, Ref  string
	Fee        int64
	Late       bool
	Dropped    bool
	Deliveries []channel.Status
	BadSigs    int
}

// TestDeterminism checks that two simulators with one seed give the same
// orders the same fates, however concurrently they arrive.
func TestDeterminism(t *testing.T) {
	// A dropped start is held only briefly, so every start has ended, and
	// every order been recorded, when the clients return.
	cfg := sim.Config{Seed: 42, FailRate: 3000, PendingRate: 5000, DropCallbackRate: 2000, DuplicateCallbackRate: 3000,
		OutOfOrderRate: 3000, BadSignatureRate: 2000, TimeoutRate: 1000, HoldFor: time.Millisecond}
	run := func() map[string]outcome {
		h := newHarness(t, cfg)
		var wg sync.WaitGroup
		for _, k := range []channel.Kind{channel.QRWallet, channel.POSCard, channel.BankTransfer} {
			a := h.adapter(k)
			for i := range 20 {
				wg.Go(func() { _, _ = a.Start(t.Context(), h.request(k, channel.PayIn, fmt.Sprint(i))) })
			}
		}
		wg.Wait()
		h.sim.Settle()
		out := map[string]outcome{}
		for _, o := range h.sim.Orders() {
			oc := outcome{Status: o.Status, Code: o.Code, Ref: o.Ref, Fee: o.Fee, Late: o.Late, Dropped: o.CallbacksDropped}
			for _, d := range o.Deliveries {
				oc.Deliveries = append(oc.Deliveries, d.Status)
				if d.BadSignature {
					oc.BadSigs++
				}
			}
			out[string(o.Kind)+"/"+o.ID] = oc
		}
		return out
	}
	first, second := run(), run()
	if len(first) < 40 {
		t.Fatalf("only %d orders recorded", len(first))
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("outcomes differ between runs (-first +second):\n%s", diff)
	}
}
