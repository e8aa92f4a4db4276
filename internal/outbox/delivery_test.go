package outbox_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"
	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/internal/outbox"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

func TestCommittedEventsAreDeliveredOncePerSubscriber(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		a, b := newReceiver(t, w.clk), newReceiver(t, w.clk)
		_, secretA := w.webhook("root", a.url())
		_, secretB := w.webhook("root", b.url())
		a.set(secretA, http.StatusOK)
		b.set(secretB, http.StatusAccepted)

		boom := errors.New("the change failed")
		err := db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
			if err := outbox.Record(ctx, tx, &outbox.Event{Type: "account.frozen", Subject: "account:x", InstitutionID: "root",
				CreatedAt: w.clk.Now()}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("rolled-back transaction = %v, want boom", err)
		}
		ids := w.record(
			outbox.Event{Type: "account.opened", Subject: "account:1", InstitutionID: "root", Payload: map[string]int{"n": 1}},
			outbox.Event{Type: "account.closed", Subject: "account:1", InstitutionID: "branch"},
		)
		if got := w.fanOut(); got != 2 {
			t.Fatalf("fan-out published %d events, want the 2 committed ones", got)
		}
		if got := w.runDue(); got != 4 {
			t.Fatalf("ran %d deliveries, want 4 (2 events × 2 subscribers)", got)
		}
		// Running everything again sends nothing more.
		if n := w.fanOut(); n != 0 {
			t.Errorf("second fan-out published %d events", n)
		}
		w.clk.Advance(24 * time.Hour)
		if n := w.runDue(); n != 0 {
			t.Errorf("a day later %d more jobs ran", n)
		}
		want := map[string]int{ids[0]: 1, ids[1]: 1}
		for name, r := range map[string]*receiver{"a": a, "b": b} {
			if diff := cmp.Diff(want, r.perEvent(t)); diff != "" {
				t.Errorf("receiver %s got (-want +got):\n%s", name, diff)
			}
		}
		got := a.requests()[0].Env
		if got.Type != "account.opened" || got.Subject != "account:1" || got.InstitutionID != "root" ||
			string(got.Data) != `{"n":1}` || !got.CreatedAt.Equal(t0) {
			t.Errorf("envelope = %+v", got)
		}
		for _, d := range w.deliveries(outbox.DeliveryFilter{}) {
			if d.State != outbox.DeliveryDelivered || d.Attempts != 1 || d.DeliveredAt == nil || d.NextAttemptAt != nil {
				t.Errorf("delivery = %+v, want delivered at the first attempt", d)
			}
		}
		if lag, err := w.relay.Lag(ctx); err != nil || lag != 0 {
			t.Errorf("Lag = %s, %v; want 0 with nothing left", lag, err)
		}
	})
}

// A crash after the subscriber answered 2xx but before the outcome is
// stored delivers the event again, with the same webhook-id, by which the
// receiver de-duplicates.
func TestCrashAfterDeliveryDeliversAgainWithTheSameID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		r := newReceiver(t, w.clk)
		_, secret := w.webhook("root", r.url())
		r.set(secret, http.StatusOK)
		ids := w.record(outbox.Event{Type: "account.opened", Subject: "account:1", InstitutionID: "root"})
		w.fanOut()

		// The process "dies" while the subscriber answers: nothing after
		// the HTTP request reaches the store.
		ctx, crash := context.WithCancel(context.Background())
		r.mu.Lock()
		r.onHandle = crash
		r.mu.Unlock()
		_, _ = w.sch.RunDue(ctx) // fails: its context is gone
		r.mu.Lock()
		r.onHandle = nil
		r.mu.Unlock()
		if d := w.deliveries(outbox.DeliveryFilter{})[0]; d.State != outbox.DeliveryPending || d.Attempts != 0 {
			t.Fatalf("after the crash delivery = %s with %d attempts, want pending with none recorded", d.State, d.Attempts)
		}

		// After the job's lease runs out another run delivers it again.
		w.clk.Advance(2 * time.Minute)
		if n := w.runDue(); n != 1 {
			t.Fatalf("after the lease ran %d jobs, want 1", n)
		}
		if diff := cmp.Diff(map[string]int{ids[0]: 2}, r.perEvent(t)); diff != "" {
			t.Errorf("requests by webhook-id (-want +got):\n%s", diff)
		}
		if d := w.deliveries(outbox.DeliveryFilter{})[0]; d.State != outbox.DeliveryDelivered {
			t.Errorf("delivery = %s, want delivered", d.State)
		}
	})
}

func TestRetryUntilTheSubscriberIsBack(t *testing.T) {
	tests := []struct {
		name         string
		downFor      time.Duration // the subscriber answers 500 until t0 + downFor
		events       int
		wantAttempts int // per delivery
		wantState    outbox.DeliveryState
	}{
		{"up", 0, 3, 1, outbox.DeliveryDelivered},
		{"refuses twice", 25 * time.Second, 3, 3, outbox.DeliveryDelivered},
		// Attempts at 0 s, 10, 30, 70, 150, 310, 630 and then every 10 min:
		// 1230 … 3030 still fail, 3630 gets through.
		{"down for an hour", time.Hour, 5, 12, outbox.DeliveryDelivered},
		{"never back", 1000 * time.Hour, 1, outbox.MaxAttempts, outbox.DeliveryFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				ctx := context.Background()
				w := newWorld(t, db)
				r := newReceiver(t, w.clk)
				_, secret := w.webhook("root", r.url())
				r.set(secret, http.StatusInternalServerError)
				evs := make([]outbox.Event, tc.events)
				for i := range evs {
					evs[i] = outbox.Event{Type: "operation.completed", Subject: "transaction:" + uuid.NewString(), InstitutionID: "dept"}
				}
				ids := w.record(evs...)
				w.fanOut()
				for {
					if !w.clk.Now().Before(t0.Add(tc.downFor)) {
						r.set(secret, http.StatusOK)
					}
					w.runDue()
					pending := w.deliveries(outbox.DeliveryFilter{State: outbox.DeliveryPending})
					if len(pending) == 0 {
						break
					}
					next := *pending[0].NextAttemptAt
					for _, d := range pending {
						if d.NextAttemptAt.Before(next) {
							next = *d.NextAttemptAt
						}
					}
					if !next.After(w.clk.Now()) {
						t.Fatalf("a pending delivery is due now, yet RunDue left it: %+v", pending[0])
					}
					w.clk.Set(next)
				}

				want := map[string]int{}
				for _, id := range ids {
					want[id] = tc.wantAttempts
				}
				if diff := cmp.Diff(want, r.perEvent(t)); diff != "" {
					t.Errorf("requests by webhook-id (-want +got):\n%s", diff)
				}
				for _, d := range w.deliveries(outbox.DeliveryFilter{}) {
					if d.State != tc.wantState || d.Attempts != tc.wantAttempts {
						t.Fatalf("delivery = %s after %d attempts, want %s after %d", d.State, d.Attempts, tc.wantState, tc.wantAttempts)
					}
					as, err := w.hooks.Attempts(ctx, nil, d.ID)
					if err != nil || len(as) != tc.wantAttempts {
						t.Fatalf("Attempts = %d, %v; want %d", len(as), err, tc.wantAttempts)
					}
					for i, a := range as {
						if a.Attempt != i+1 {
							t.Errorf("attempt %d numbered %d", i+1, a.Attempt)
						}
						last := i == len(as)-1 && tc.wantState == outbox.DeliveryDelivered
						if last && (a.StatusCode != http.StatusOK || a.Error != "") {
							t.Errorf("last attempt = %+v, want 200 without error", a)
						}
						if !last && (a.StatusCode != http.StatusInternalServerError || a.Error != "http 500") {
							t.Errorf("attempt %d = %+v, want a logged 500", i+1, a)
						}
						if i > 0 {
							if wait, want := a.At.Sub(as[i-1].At), outbox.RetryDelay(i); wait != want {
								t.Errorf("wait before attempt %d = %s, want %s", i+1, wait, want)
							}
						}
					}
				}
			})
		})
	}
}

func TestRetryDelayDoublesToItsCapAndSpansDays(t *testing.T) {
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second,
		320 * time.Second, 10 * time.Minute, 10 * time.Minute}
	var got []time.Duration
	for i := range want {
		got = append(got, outbox.RetryDelay(i+1))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RetryDelay (-want +got):\n%s", diff)
	}
	var span time.Duration
	for i := 1; i < outbox.MaxAttempts; i++ {
		span += outbox.RetryDelay(i)
	}
	if span < 48*time.Hour {
		t.Errorf("the retry schedule spans %s, want more than two days", span)
	}
}

func TestFiltersAndInstitutionScoping(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		type sub struct {
			inst   string
			types  []string
			active bool
		}
		subs := map[string]sub{
			"root, all":                  {"root", nil, true},
			"branch, account.*":          {"branch", []string{"account.*"}, true},
			"dept, exact types":          {"dept", []string{"account.frozen", "operation.completed"}, true},
			"other, all":                 {"other", nil, true},
			"root, inactive":             {"root", nil, false},
			"branch, internal_account.*": {"branch", []string{"internal_account.*"}, true},
		}
		receivers := map[string]*receiver{}
		for name, s := range subs {
			r := newReceiver(t, w.clk)
			h, secret := w.webhook(s.inst, r.url(), s.types...)
			r.set(secret, http.StatusOK)
			receivers[name] = r
			if !s.active {
				off := false
				if _, err := w.hooks.Update(ctx, nil, h.ID, outbox.WebhookUpdate{Active: &off}); err != nil {
					t.Fatal(err)
				}
			}
		}
		evs := []outbox.Event{
			{Type: "account.opened", InstitutionID: "root"},              // 0
			{Type: "account.frozen", InstitutionID: "dept"},              // 1
			{Type: "operation.completed", InstitutionID: "branch"},       // 2
			{Type: "operation.completed", InstitutionID: "dept"},         // 3
			{Type: "account.closed", InstitutionID: "other"},             // 4
			{Type: "internal_account.registered", InstitutionID: "dept"}, // 5
			{Type: "accounting.closed", InstitutionID: "branch"},         // 6: not "account.*"
		}
		ids := w.record(evs...)
		w.fanOut()
		w.runDue()
		want := map[string][]int{
			"root, all":                  {0, 1, 2, 3, 4, 5, 6},
			"branch, account.*":          {1},
			"dept, exact types":          {1, 3},
			"other, all":                 {4},
			"root, inactive":             nil,
			"branch, internal_account.*": {5},
		}
		for name, idx := range want {
			var wantIDs []string
			for _, i := range idx {
				wantIDs = append(wantIDs, ids[i])
			}
			var gotIDs []string
			for id := range receivers[name].perEvent(t) {
				gotIDs = append(gotIDs, id)
			}
			slices.Sort(gotIDs)
			if diff := cmp.Diff(wantIDs, gotIDs); diff != "" {
				t.Errorf("%s received (-want +got):\n%s", name, diff)
			}
		}
	})
}

// An event that commits after later events were already fanned out (a slow
// writer on PostgreSQL commits out of ID order) is still delivered.
func TestLateCommittedEventIsNotSkipped(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		r := newReceiver(t, w.clk)
		_, secret := w.webhook("root", r.url())
		r.set(secret, http.StatusOK)
		early := uuid.Must(uuid.NewV7()).String() // the slow writer's ID, taken first
		late := w.record(outbox.Event{Type: "account.opened", InstitutionID: "root"})
		w.fanOut()
		w.record(outbox.Event{ID: early, Type: "account.closed", InstitutionID: "root"})
		w.fanOut()
		w.runDue()
		if diff := cmp.Diff(map[string]int{early: 1, late[0]: 1}, r.perEvent(t)); diff != "" {
			t.Errorf("requests by webhook-id (-want +got):\n%s", diff)
		}
	})
}

func TestRedeliver(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		r := newReceiver(t, w.clk)
		h, secret := w.webhook("branch", r.url())
		r.set(secret, http.StatusOK)
		ids := w.record(outbox.Event{Type: "account.opened", InstitutionID: "dept"})
		w.fanOut()
		w.runDue()
		d := w.deliveries(outbox.DeliveryFilter{})[0]

		t.Run("a delivered event again", func(t *testing.T) {
			if _, err := w.hooks.Redeliver(ctx, []string{"other"}, d.ID); outbox.ErrorCode(err) != outbox.CodeDeliveryNotFound {
				t.Errorf("Redeliver out of scope = %v, want delivery_not_found", err)
			}
			got, err := w.hooks.Redeliver(ctx, []string{"root", "branch"}, d.ID)
			if err != nil || got.State != outbox.DeliveryPending {
				t.Fatalf("Redeliver = %+v, %v", got, err)
			}
			w.runDue()
			if diff := cmp.Diff(map[string]int{ids[0]: 2}, r.perEvent(t)); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if got, _ := w.hooks.GetDelivery(ctx, nil, d.ID); got.State != outbox.DeliveryDelivered || got.Attempts != 2 {
				t.Errorf("delivery = %s after %d attempts, want delivered after 2", got.State, got.Attempts)
			}
		})
		t.Run("a redelivery retires the retries in progress", func(t *testing.T) {
			r.set(secret, http.StatusServiceUnavailable)
			if _, err := w.hooks.Redeliver(ctx, nil, d.ID); err != nil {
				t.Fatal(err)
			}
			w.runDue() // fails; the job retries in 10 s
			if _, err := w.hooks.Redeliver(ctx, nil, d.ID); err != nil {
				t.Fatal(err)
			}
			r.set(secret, http.StatusOK)
			w.runDue() // the new job delivers
			w.clk.Advance(time.Hour)
			w.runDue() // the old job finds itself retired
			if diff := cmp.Diff(map[string]int{ids[0]: 4}, r.perEvent(t)); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
		t.Run("an inactive webhook's delivery fails until it is active again", func(t *testing.T) {
			off, on := false, true
			if _, err := w.hooks.Update(ctx, nil, h.ID, outbox.WebhookUpdate{Active: &off}); err != nil {
				t.Fatal(err)
			}
			if _, err := w.hooks.Redeliver(ctx, nil, d.ID); err != nil {
				t.Fatal(err)
			}
			w.runDue()
			got, _ := w.hooks.GetDelivery(ctx, nil, d.ID)
			if got.State != outbox.DeliveryFailed || got.LastError != "webhook is inactive" {
				t.Errorf("delivery = %s (%q), want failed: webhook is inactive", got.State, got.LastError)
			}
			if _, err := w.hooks.Update(ctx, nil, h.ID, outbox.WebhookUpdate{Active: &on}); err != nil {
				t.Fatal(err)
			}
			if _, err := w.hooks.Redeliver(ctx, nil, d.ID); err != nil {
				t.Fatal(err)
			}
			w.runDue()
			if got, _ := w.hooks.GetDelivery(ctx, nil, d.ID); got.State != outbox.DeliveryDelivered {
				t.Errorf("delivery = %s, want delivered", got.State)
			}
			if n := len(r.requests()); n != 5 {
				t.Errorf("receiver got %d requests in all, want 5", n)
			}
		})
		if _, err := w.hooks.Redeliver(ctx, nil, "nope"); outbox.ErrorCode(err) != outbox.CodeDeliveryNotFound {
			t.Errorf("Redeliver(nope) = %v, want delivery_not_found", err)
		}
	})
}

func TestRedirectsToOtherHostsAreNotFollowed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		elsewhere := newReceiver(t, w.clk)
		sameHost := newReceiver(t, w.clk)
		// One server redirects to another host, the other within itself.
		away := httptest.NewServer(http.RedirectHandler(elsewhere.url(), http.StatusTemporaryRedirect))
		t.Cleanup(away.Close)
		home := http.NewServeMux()
		home.Handle("/moved", http.RedirectHandler("/hook", http.StatusTemporaryRedirect))
		home.HandleFunc("/hook", sameHost.serve)
		homeSrv := httptest.NewServer(home)
		t.Cleanup(homeSrv.Close)
		_, s1 := w.webhook("root", away.URL+"/moved", "account.opened")
		_, s2 := w.webhook("root", homeSrv.URL+"/moved", "account.closed")
		elsewhere.set(s1, http.StatusOK)
		sameHost.set(s2, http.StatusOK)
		w.record(outbox.Event{Type: "account.opened", InstitutionID: "root"}, outbox.Event{Type: "account.closed", InstitutionID: "root"})
		w.fanOut()
		w.runDue()
		if n := len(elsewhere.requests()); n != 0 {
			t.Errorf("the redirect to another host was followed (%d requests)", n)
		}
		if n := len(sameHost.requests()); n != 1 {
			t.Errorf("the redirect within the host reached it %d times, want 1", n)
		}
		for _, d := range w.deliveries(outbox.DeliveryFilter{}) {
			wantState, wantStatus := outbox.DeliveryDelivered, http.StatusOK
			if d.EventType == "account.opened" {
				wantState, wantStatus = outbox.DeliveryPending, http.StatusTemporaryRedirect
			}
			if d.State != wantState || d.LastStatus != wantStatus {
				t.Errorf("%s delivery = %s %d, want %s %d", d.EventType, d.State, d.LastStatus, wantState, wantStatus)
			}
		}
	})
}

func TestRelayRunFansOutWhenNotified(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		r := newReceiver(t, w.clk)
		_, secret := w.webhook("root", r.url())
		r.set(secret, http.StatusOK)
		delivered := make(chan struct{}, 1)
		relay := outbox.NewRelay(db, w.clk, outbox.RelayOptions{Poll: time.Hour, Delivered: func() { delivered <- struct{}{} }})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- relay.Run(ctx) }()
		w.record(outbox.Event{Type: "account.opened", InstitutionID: "root"})
		w.clk.Advance(time.Minute)
		if lag, err := relay.Lag(ctx); err != nil || lag > time.Minute {
			t.Errorf("Lag = %s, %v; want at most 1m", lag, err)
		}
		relay.Notify()
		<-delivered
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
		w.runDue()
		if n := len(r.requests()); n != 1 {
			t.Errorf("receiver got %d requests, want 1", n)
		}
		if lag, err := relay.Lag(context.Background()); err != nil || lag != 0 {
			t.Errorf("Lag = %s, %v; want 0", lag, err)
		}
	})
}

// attempts returns the attempts of the only delivery there is.
func (w *world) onlyAttempts() (*outbox.Delivery, []outbox.Attempt) {
	w.t.Helper()
	ds := w.deliveries(outbox.DeliveryFilter{})
	if len(ds) != 1 {
		w.t.Fatalf("%d deliveries, want 1", len(ds))
	}
	as, err := w.hooks.Attempts(context.Background(), nil, ds[0].ID)
	if err != nil {
		w.t.Fatal(err)
	}
	return ds[0], as
}

// Deliveries connect only to public addresses and the ranges the operator
// allows, whatever the URL names: the address is checked after DNS, as it
// is connected to. A refused delivery reaches nothing and logs why in three
// words.
func TestDeliveriesConnectOnlyToAllowedAddresses(t *testing.T) {
	tests := []struct {
		name    string
		allow   []string
		host    string // of the URL, with the receiver's port, which listens on 127.0.0.1
		wantHit bool
	}{
		{"loopback refused", nil, "127.0.0.1", false},
		{"a name that resolves to loopback refused", nil, "localhost", false},
		{"other ranges allowed", []string{"10.0.0.0/8", "192.168.1.0/24"}, "127.0.0.1", false},
		{"one address allowed", []string{"127.0.0.1/32"}, "127.0.0.1", true},
		{"loopback allowed", []string{"127.0.0.0/8"}, "localhost", true},
		{"IPv4-mapped range allowed", []string{"::ffff:127.0.0.0/104"}, "127.0.0.1", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				ctx := context.Background()
				var allow []netip.Prefix
				for _, a := range tc.allow {
					allow = append(allow, netip.MustParsePrefix(a))
				}
				w := newWorldWith(t, db, outbox.WebhookOptions{AllowPrefixes: allow})
				r := newReceiver(t, w.clk)
				// Registered while loopback was allowed (or the name
				// resolved elsewhere): only the dialer stands in the way.
				url := "http://" + net.JoinHostPort(tc.host, strconv.Itoa(r.srv.Listener.Addr().(*net.TCPAddr).Port)) + "/hook"
				onPrem := outbox.NewWebhooks(db, w.clk, outbox.WebhookOptions{AllowPrefixes: loopback})
				_, secret, err := onPrem.Create(ctx, nil, outbox.NewWebhook{InstitutionID: "root", URL: url})
				if err != nil {
					t.Fatal(err)
				}
				r.set(secret, http.StatusOK)
				w.record(outbox.Event{Type: "account.opened", InstitutionID: "root"})
				w.fanOut()
				w.runDue()
				if got := len(r.requests()); (got == 1) != tc.wantHit || got > 1 {
					t.Fatalf("receiver got %d requests, want reached %t", got, tc.wantHit)
				}
				d, as := w.onlyAttempts()
				want := outbox.Attempt{DeliveryID: d.ID, Attempt: 1, At: t0, StatusCode: http.StatusOK}
				wantState, wantError := outbox.DeliveryDelivered, ""
				if !tc.wantHit {
					want.StatusCode, want.Error = 0, "address not allowed"
					wantState, wantError = outbox.DeliveryPending, "address not allowed"
				}
				if diff := cmp.Diff([]outbox.Attempt{want}, as, cmpopts.IgnoreFields(outbox.Attempt{}, "DurationMs")); diff != "" {
					t.Errorf("attempts (-want +got):\n%s", diff)
				}
				if d.State != wantState || d.LastError != wantError || d.LastStatus != want.StatusCode {
					t.Errorf("delivery = %s %d %q, want %s %d %q", d.State, d.LastStatus, d.LastError, wantState, want.StatusCode, wantError)
				}
			})
		})
	}
}

// The delivery log says why an attempt failed in a few fixed words: never
// what the receiver answered, nor the addresses and ports a dial tried.
func TestFailedAttemptsLogNeitherAnswersNorAddresses(t *testing.T) {
	const leak = "root:x:0:0 ami-id instance-id secret-token"
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusing := "http://" + closed.Addr().String() + "/hook"
	closed.Close() // nothing listens there now
	tests := []struct {
		name       string
		url        func(t *testing.T) string
		wantStatus int
		wantError  string
	}{
		{"error answer", func(t *testing.T) string {
			return serve(t, func(rw http.ResponseWriter, _ *http.Request) {
				rw.WriteHeader(http.StatusInternalServerError)
				_, _ = io.WriteString(rw, leak)
			}, false)
		}, http.StatusInternalServerError, "http 500"},
		{"not found page", func(t *testing.T) string {
			return serve(t, func(rw http.ResponseWriter, _ *http.Request) { http.Error(rw, leak, http.StatusNotFound) }, false)
		}, http.StatusNotFound, "http 404"},
		{"redirect elsewhere", func(t *testing.T) string {
			return serve(t, func(rw http.ResponseWriter, req *http.Request) {
				rw.Header().Set("Location", "http://169.254.169.254/?"+leak)
				rw.WriteHeader(http.StatusFound)
				_, _ = io.WriteString(rw, leak)
			}, false)
		}, http.StatusFound, "http 302"},
		{"connection refused", func(*testing.T) string { return refusing }, 0, "connection refused"},
		{"untrusted certificate", func(t *testing.T) string {
			return serve(t, func(rw http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(rw, leak) }, true)
		}, 0, "tls: certificate signed by an unknown authority"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				w := newWorld(t, db)
				url := tc.url(t)
				w.webhook("root", url)
				w.record(outbox.Event{Type: "account.opened", InstitutionID: "root"})
				w.fanOut()
				w.runDue()
				d, as := w.onlyAttempts()
				if len(as) != 1 || as[0].StatusCode != tc.wantStatus || as[0].Error != tc.wantError {
					t.Fatalf("attempts = %+v, want one with %d %q", as, tc.wantStatus, tc.wantError)
				}
				if d.LastStatus != tc.wantStatus || d.LastError != tc.wantError {
					t.Errorf("delivery = %d %q, want %d %q", d.LastStatus, d.LastError, tc.wantStatus, tc.wantError)
				}
				js, _, err := w.sch.List(context.Background(), jobs.Filter{Kind: outbox.JobKind})
				if err != nil {
					t.Fatal(err)
				}
				for _, j := range js {
					if strings.Contains(j.LastError, "127.0.0.1") || strings.Contains(j.LastError, "secret-token") {
						t.Errorf("job error %q holds an address or the answer", j.LastError)
					}
				}
			})
		})
	}
}

// serve starts a receiver with handler, over TLS with a certificate no one
// trusts when tls is set, and returns its URL.
func serve(t *testing.T, handler http.HandlerFunc, tls bool) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(handler)
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv.URL + "/hook"
}

// A redirect to a loopback, link-local or otherwise refused address is not
// followed, whatever form the address takes, and what came with it is not
// logged.
func TestRedirectsToRefusedAddressesAreNotFollowed(t *testing.T) {
	// The receiver that must not be reached listens on another loopback
	// address than the one the operator allows.
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no second loopback address: %v", err)
	}
	var hits atomic.Int32
	hidden := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	hidden.Listener.Close()
	hidden.Listener = ln
	hidden.Start()
	t.Cleanup(hidden.Close)
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	tests := []struct{ name, location string }{
		{"other loopback address", "http://127.0.0.2:" + port + "/hook"},
		{"decimal form", "http://2130706434:" + port + "/hook"},
		{"hex form", "http://0x7f000002:" + port + "/hook"},
		{"IPv6 loopback", "http://[::1]:" + port + "/hook"},
		{"IPv4-mapped IPv6", "http://[::ffff:127.0.0.2]:" + port + "/hook"},
		{"localhost", "http://localhost:" + port + "/hook"},
		{"cloud metadata", "http://169.254.169.254/latest/meta-data/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				w := newWorldWith(t, db, outbox.WebhookOptions{AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
				w.webhook("root", serve(t, http.RedirectHandler(tc.location, http.StatusTemporaryRedirect).ServeHTTP, false))
				w.record(outbox.Event{Type: "account.opened", InstitutionID: "root"})
				w.fanOut()
				w.runDue()
				if n := hits.Load(); n != 0 {
					t.Fatalf("the refused address got %d requests", n)
				}
				_, as := w.onlyAttempts()
				if len(as) != 1 || as[0].StatusCode != http.StatusTemporaryRedirect || as[0].Error != "http 307" {
					t.Errorf("attempts = %+v, want one answered 307 and logged as such", as)
				}
			})
		})
	}
}
