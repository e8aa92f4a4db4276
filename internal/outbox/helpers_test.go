package outbox_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/internal/outbox"
	"github.com/suanpan/suanpan/store"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// world is a store with an institution tree, the webhook service, a relay
// and a job scheduler delivering webhooks, all on a fake clock:
//
//	root ─┬─ branch ── dept
//	      └─ other
type world struct {
	t     *testing.T
	db    *store.DB
	clk   *clock.Fake
	hooks *outbox.Webhooks
	relay *outbox.Relay
	sch   *jobs.Scheduler
}

// loopback allows deliveries to this machine, where the tests' receivers
// listen: what an operator with receivers on its own network sets.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func newWorld(t *testing.T, db *store.DB) *world {
	t.Helper()
	return newWorldWith(t, db, outbox.WebhookOptions{AllowPrefixes: loopback})
}

// newWorldWith is newWorld with the webhook service's options.
func newWorldWith(t *testing.T, db *store.DB, opts outbox.WebhookOptions) *world {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFake(t0)
	insts := auth.NewService(db, clk)
	for _, in := range [][2]string{{"root", ""}, {"branch", "root"}, {"dept", "branch"}, {"other", "root"}} {
		if _, err := insts.CreateInstitution(ctx, in[0], in[1], in[0]); err != nil {
			t.Fatalf("create institution %s: %v", in[0], err)
		}
	}
	quiet := slog.New(slog.DiscardHandler)
	w := &world{t: t, db: db, clk: clk, hooks: outbox.NewWebhooks(db, clk, opts),
		relay: outbox.NewRelay(db, clk, outbox.RelayOptions{Log: quiet}), sch: jobs.New(db, clk, jobs.Options{Log: quiet})}
	w.hooks.Register(w.sch)
	return w
}

// record commits events in one storage transaction and returns their IDs.
func (w *world) record(evs ...outbox.Event) []string {
	w.t.Helper()
	ids := make([]string, len(evs))
	err := w.db.InTx(context.Background(), store.TxOptions{}, func(tx *sql.Tx) error {
		for i := range evs {
			if evs[i].CreatedAt.IsZero() {
				evs[i].CreatedAt = w.clk.Now()
			}
			if err := outbox.Record(context.Background(), tx, &evs[i]); err != nil {
				return err
			}
			ids[i] = evs[i].ID
		}
		return nil
	})
	if err != nil {
		w.t.Fatalf("record events: %v", err)
	}
	return ids
}

// webhook creates an active webhook and returns it with its secret.
func (w *world) webhook(inst, url string, types ...string) (*outbox.Webhook, string) {
	w.t.Helper()
	h, secret, err := w.hooks.Create(context.Background(), nil, outbox.NewWebhook{InstitutionID: inst, URL: url, EventTypes: types})
	if err != nil {
		w.t.Fatalf("create webhook: %v", err)
	}
	return h, secret
}

// fanOut runs the fan-out until no event is left and returns how many
// events it published.
func (w *world) fanOut() int {
	w.t.Helper()
	total := 0
	for {
		n, err := w.relay.FanOut(context.Background())
		if err != nil {
			w.t.Fatalf("fan out: %v", err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
}

// runDue runs the due jobs and returns how many ran.
func (w *world) runDue() int {
	w.t.Helper()
	n, err := w.sch.RunDue(context.Background())
	if err != nil {
		w.t.Fatalf("run due jobs: %v", err)
	}
	return n
}

// deliveries returns the deliveries in state ("" all), newest first.
func (w *world) deliveries(f outbox.DeliveryFilter) []*outbox.Delivery {
	w.t.Helper()
	f.Limit = 1000
	ds, _, err := w.hooks.ListDeliveries(context.Background(), f)
	if err != nil {
		w.t.Fatalf("list deliveries: %v", err)
	}
	return ds
}

// received is one request a receiver got.
type received struct {
	ID        string // the webhook-id header
	Env       outbox.Envelope
	VerifyErr error
}

// receiver is a webhook subscriber: an HTTP server that checks each
// request's signature with its secret and answers with its status.
type receiver struct {
	srv *httptest.Server
	clk clock.Clock

	mu       sync.Mutex
	secret   string
	status   int
	got      []received
	onHandle func() // called before answering
}

func newReceiver(t *testing.T, clk clock.Clock) *receiver {
	t.Helper()
	r := &receiver{clk: clk, status: http.StatusNoContent}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(rw http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		rw.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	rec := received{ID: req.Header.Get(outbox.HeaderID),
		VerifyErr: outbox.Verify(r.secret, req.Header, body, r.clk.Now(), 0)}
	if err := json.Unmarshal(body, &rec.Env); err != nil {
		rec.VerifyErr = errors.Join(rec.VerifyErr, err)
	}
	r.got = append(r.got, rec)
	status, hook := r.status, r.onHandle
	r.mu.Unlock()
	if hook != nil {
		hook()
	}
	rw.WriteHeader(status)
	_, _ = io.WriteString(rw, http.StatusText(status))
}

func (r *receiver) url() string { return r.srv.URL + "/hook" }

func (r *receiver) set(secret string, status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret, r.status = secret, status
}

// requests returns what the receiver got so far.
func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// perEvent counts the requests by webhook-id, failing the test on a bad
// signature or an envelope whose ID is not the header's.
func (r *receiver) perEvent(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, g := range r.requests() {
		if g.VerifyErr != nil {
			t.Errorf("request %s: %v", g.ID, g.VerifyErr)
		}
		if g.Env.ID != g.ID {
			t.Errorf("request with webhook-id %s carries event %s", g.ID, g.Env.ID)
		}
		out[g.ID]++
	}
	return out
}
