package sim_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
)

// epoch is where the harness's clock starts: 10:00 in Beijing, so every
// kind's business day is 2025-03-14.
var epoch = time.Date(2025, 3, 14, 2, 0, 0, 0, time.UTC)

// harness is a simulator served over HTTP on a fake clock, with a receiver
// for its callbacks.
type harness struct {
	t     *testing.T
	clock *clock.Fake
	sim   *sim.Server
	url   string
	recv  *receiver
	cfg   sim.Config
	// serving is the simulator the server at url hands requests to:
	// restart replaces it.
	serving atomic.Pointer[sim.Server]
}

// newHarness starts a simulator configured by cfg on the harness's clock;
// it stops with the test.
func newHarness(t *testing.T, cfg sim.Config) *harness {
	t.Helper()
	h := &harness{t: t, clock: clock.NewFake(epoch)}
	cfg.Clock = h.clock
	if cfg.MaxDelay == 0 {
		cfg.MinDelay, cfg.MaxDelay = time.Second, time.Minute
	}
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.cfg = cfg
	h.serving.Store(s)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.serving.Load().ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	// Cleanups run last first: closing the simulator releases the
	// connections its late and dropped answers hold, which srv.Close waits
	// for.
	t.Cleanup(func() { _ = h.serving.Load().Close() })
	h.sim, h.url = s, srv.URL
	h.recv = newReceiver(t, h)
	return h
}

// restart closes the simulator and serves a new one, configured as the
// first, at the same URL: with Config.Dir set, on the same orders.
func (h *harness) restart() {
	h.t.Helper()
	if err := h.sim.Close(); err != nil {
		h.t.Fatalf("close the simulator: %v", err)
	}
	s, err := sim.New(h.cfg)
	if err != nil {
		h.t.Fatalf("restart the simulator: %v", err)
	}
	h.sim = s
	h.serving.Store(s)
}

// adapter returns an adapter for kind k of the harness's simulator.
func (h *harness) adapter(k channel.Kind) channel.Adapter {
	return h.adapterWithin(k, 5*time.Second)
}

// adapterWithin returns an adapter for kind k that gives up on a call
// after timeout.
func (h *harness) adapterWithin(k channel.Kind, timeout time.Duration) channel.Adapter {
	h.t.Helper()
	cfg := h.sim.ChannelConfig(h.url, k)
	cfg.Timeout = timeout
	a, err := channel.New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	return a
}

// request is a request of kind k in direction d whose callbacks go to the
// receiver. name makes the order ID unique.
func (h *harness) request(k channel.Kind, d channel.Direction, name string) channel.Request {
	return channel.Request{OrderID: fmt.Sprintf("%s-%s-%s", k, d, name), Direction: d, Amount: 12345, Asset: "CNY",
		Party: "6222020000000001", PartyName: "Li Lei", CallbackURL: h.recv.url + "/" + string(k), Memo: "test order"}
}

// mustStart starts r, failing the test on an error.
func (h *harness) mustStart(a channel.Adapter, r channel.Request) *channel.Result {
	h.t.Helper()
	res, err := a.Start(h.t.Context(), r)
	if err != nil {
		h.t.Fatalf("start %s: %v", r.OrderID, err)
	}
	return res
}

// mustQuery queries an order, failing the test on an error.
func (h *harness) mustQuery(a channel.Adapter, id string, d channel.Direction) *channel.Result {
	h.t.Helper()
	res, err := a.Query(h.t.Context(), id, d)
	if err != nil {
		h.t.Fatalf("query %s: %v", id, err)
	}
	return res
}

// mustOrder returns the simulator's record of an order.
func (h *harness) mustOrder(k channel.Kind, id string) sim.Order {
	h.t.Helper()
	o, ok := h.sim.Order(k, id)
	if !ok {
		h.t.Fatalf("the simulator has no %s order %s", k, id)
	}
	return o
}

// statement parses kind k's statement for the harness's day.
func (h *harness) statement(k channel.Kind) []channel.StatementLine {
	h.t.Helper()
	var b bytes.Buffer
	if err := h.sim.WriteStatement(&b, k, epoch); err != nil {
		h.t.Fatal(err)
	}
	lines, err := h.adapter(k).ParseStatement(&b)
	if err != nil {
		h.t.Fatalf("parse %s statement: %v\n%s", k, err, b.String())
	}
	return lines
}

// received is one callback as the receiver saw it.
type received struct {
	kind   channel.Kind
	header http.Header
	body   []byte
	res    *channel.Result // nil if it did not verify
	err    error
}

// receiver takes callbacks at /{kind}, verifies them with that kind's
// adapter and acknowledges them, unless told to fail.
type receiver struct {
	h   *harness
	url string

	mu       sync.Mutex
	got      []received
	failNext int // answer 500 to this many more callbacks
}

func newReceiver(t *testing.T, h *harness) *receiver {
	r := &receiver{h: h}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	k, err := channel.ParseKind(strings.TrimPrefix(req.URL.Path, "/"))
	if err != nil {
		http.NotFound(w, req)
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a := r.h.adapter(k)
	res, verr := a.VerifyCallback(req.Header, body)
	r.mu.Lock()
	r.got = append(r.got, received{kind: k, header: req.Header.Clone(), body: body, res: res, err: verr})
	fail := r.failNext > 0
	if fail {
		r.failNext--
	}
	r.mu.Unlock()
	switch {
	case fail:
		http.Error(w, "receiver down", http.StatusInternalServerError)
	case verr != nil:
		http.Error(w, "bad callback", http.StatusBadRequest)
	default:
		ct, ack := a.CallbackAck()
		w.Header().Set("Content-Type", ct)
		_, _ = w.Write(ack)
	}
}

// failFor makes the receiver answer 500 to the next n callbacks.
func (r *receiver) failFor(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failNext = n
}

// about returns the callbacks received about order id, in order.
func (r *receiver) about(id string) []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []received
	for _, c := range r.got {
		if c.res != nil && c.res.OrderID == id || c.res == nil && bytes.Contains(c.body, []byte(id)) {
			out = append(out, c)
		}
	}
	return out
}

// statuses are the statuses of verified callbacks.
func statuses(cs []received) []channel.Status {
	var out []channel.Status
	for _, c := range cs {
		if c.res != nil {
			out = append(out, c.res.Status)
		}
	}
	return out
}

// isTimeout reports whether err is the client giving up.
func isTimeout(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || strings.Contains(fmt.Sprint(err), "Timeout")
}
