package outbox_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/internal/outbox"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

func TestCreateValidates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		ok := outbox.NewWebhook{InstitutionID: "branch", URL: "https://hooks.example.com/suanpan?x=1"}
		with := func(f func(*outbox.NewWebhook)) outbox.NewWebhook { n := ok; f(&n); return n }
		tests := []struct {
			name      string
			scope     []string
			in        outbox.NewWebhook
			wantCode  outbox.Code
			wantField string
		}{
			{"valid", nil, ok, "", ""},
			{"valid in scope", []string{"branch", "dept"}, ok, "", ""},
			{"filters", nil, with(func(n *outbox.NewWebhook) { n.EventTypes = []string{"account.*", "operation.completed"} }), "", ""},
			{"own secret", nil, with(func(n *outbox.NewWebhook) { n.Secret = outbox.NewSecret() }), "", ""},
			{"out of scope", []string{"other"}, ok, outbox.CodeInvalidRequest, "institution_id"},
			{"unknown institution", nil, with(func(n *outbox.NewWebhook) { n.InstitutionID = "nope" }), outbox.CodeInvalidRequest, "institution_id"},
			{"relative URL", nil, with(func(n *outbox.NewWebhook) { n.URL = "/hook" }), outbox.CodeInvalidRequest, "url"},
			{"ftp URL", nil, with(func(n *outbox.NewWebhook) { n.URL = "ftp://example.com/x" }), outbox.CodeInvalidRequest, "url"},
			{"no host", nil, with(func(n *outbox.NewWebhook) { n.URL = "https:///x" }), outbox.CodeInvalidRequest, "url"},
			{"credentials", nil, with(func(n *outbox.NewWebhook) { n.URL = "https://u:p@example.com/" }), outbox.CodeInvalidRequest, "url"},
			{"fragment", nil, with(func(n *outbox.NewWebhook) { n.URL = "https://example.com/#x" }), outbox.CodeInvalidRequest, "url"},
			{"too long URL", nil, with(func(n *outbox.NewWebhook) { n.URL = "https://example.com/" + strings.Repeat("a", 2000) }), outbox.CodeInvalidRequest, "url"},
			{"wildcard in the middle", nil, with(func(n *outbox.NewWebhook) { n.EventTypes = []string{"account.*.x"} }), outbox.CodeInvalidRequest, "event_types"},
			{"bare wildcard", nil, with(func(n *outbox.NewWebhook) { n.EventTypes = []string{"*"} }), outbox.CodeInvalidRequest, "event_types"},
			{"upper case type", nil, with(func(n *outbox.NewWebhook) { n.EventTypes = []string{"Account.Opened"} }), outbox.CodeInvalidRequest, "event_types"},
			{"too many types", nil, with(func(n *outbox.NewWebhook) { n.EventTypes = make([]string, outbox.MaxEventTypes+1) }), outbox.CodeInvalidRequest, "event_types"},
			{"control character", nil, with(func(n *outbox.NewWebhook) { n.Description = "a\x00b" }), outbox.CodeInvalidRequest, "description"},
			{"malformed secret", nil, with(func(n *outbox.NewWebhook) { n.Secret = "hunter2" }), outbox.CodeInvalidRequest, "secret"},
			{"short secret", nil, with(func(n *outbox.NewWebhook) { n.Secret = "whsec_c2hvcnQ=" }), outbox.CodeInvalidRequest, "secret"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				h, secret, err := w.hooks.Create(ctx, tc.scope, tc.in)
				if code, field := codeOf(err); code != tc.wantCode || field != tc.wantField {
					t.Fatalf("Create = %v, want code %q field %q", err, tc.wantCode, tc.wantField)
				}
				if tc.wantCode != "" {
					return
				}
				if tc.in.Secret != "" && secret != tc.in.Secret {
					t.Errorf("secret = %q, want the one given", secret)
				}
				if !strings.HasPrefix(secret, "whsec_") || !h.Active || h.InstitutionID != tc.in.InstitutionID {
					t.Errorf("Create = %+v, %q", h, secret)
				}
				got, err := w.hooks.Get(ctx, nil, h.ID)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(h, got); diff != "" {
					t.Errorf("Get (-created +got):\n%s", diff)
				}
			})
		}
	})
}

func codeOf(err error) (outbox.Code, string) {
	if err == nil {
		return "", ""
	}
	var e *outbox.Error
	if !errors.As(err, &e) {
		return outbox.Code("not an *outbox.Error: " + err.Error()), ""
	}
	return e.Code, e.Field
}

func TestWebhookLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		r := newReceiver(t, w.clk)
		h, secret := w.webhook("dept", r.url())
		var ids []string
		for _, inst := range []string{"root", "branch", "branch", "other"} {
			x, _ := w.webhook(inst, "https://example.com/"+inst)
			ids = append(ids, x.ID)
		}

		t.Run("get is scoped", func(t *testing.T) {
			if _, err := w.hooks.Get(ctx, []string{"other"}, h.ID); outbox.ErrorCode(err) != outbox.CodeWebhookNotFound {
				t.Errorf("Get out of scope = %v, want webhook_not_found", err)
			}
			if _, err := w.hooks.Get(ctx, []string{"branch", "dept"}, h.ID); err != nil {
				t.Errorf("Get in scope = %v", err)
			}
		})
		t.Run("list pages within the scope", func(t *testing.T) {
			var got []string
			after := ""
			for range 10 {
				page, next, err := w.hooks.List(ctx, []string{"branch", "dept"}, after, 2)
				if err != nil {
					t.Fatal(err)
				}
				for _, x := range page {
					got = append(got, x.ID)
				}
				if next == "" {
					break
				}
				after = next
			}
			want := []string{h.ID, ids[1], ids[2]}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("List (-want +got):\n%s", diff)
			}
			if page, _, err := w.hooks.List(ctx, []string{}, "", 0); err != nil || len(page) != 0 {
				t.Errorf("List with an empty scope = %d webhooks, %v; want none", len(page), err)
			}
		})
		t.Run("update", func(t *testing.T) {
			types := []string{"account.frozen", "account.*", "account.frozen"}
			desc := "core banking → CRM"
			got, err := w.hooks.Update(ctx, nil, h.ID, outbox.WebhookUpdate{EventTypes: &types, Description: &desc})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"account.*", "account.frozen"}, got.EventTypes); diff != "" || got.Description != desc || got.URL != h.URL {
				t.Errorf("Update = %+v (types -want +got:\n%s)", got, diff)
			}
			bad := "mailto:x@example.com"
			if _, err := w.hooks.Update(ctx, nil, h.ID, outbox.WebhookUpdate{URL: &bad}); outbox.ErrorCode(err) != outbox.CodeInvalidRequest {
				t.Errorf("Update with a bad URL = %v, want invalid_request", err)
			}
			if _, err := w.hooks.Update(ctx, []string{"other"}, h.ID, outbox.WebhookUpdate{Description: &desc}); outbox.ErrorCode(err) != outbox.CodeWebhookNotFound {
				t.Errorf("Update out of scope = %v, want webhook_not_found", err)
			}
		})
		t.Run("rotated secret signs from then on", func(t *testing.T) {
			_, rotated, err := w.hooks.RotateSecret(ctx, nil, h.ID, "")
			if err != nil || rotated == secret {
				t.Fatalf("RotateSecret = %q, %v; want a new secret", rotated, err)
			}
			r.set(rotated, http.StatusOK)
			w.record(outbox.Event{Type: "account.frozen", InstitutionID: "dept"})
			w.fanOut()
			w.runDue()
			if got := r.requests(); len(got) != 1 || got[0].VerifyErr != nil {
				t.Fatalf("requests = %+v, want one that verifies with the new secret", got)
			}
			if _, _, err := w.hooks.RotateSecret(ctx, nil, h.ID, "whsec_x"); outbox.ErrorCode(err) != outbox.CodeInvalidRequest {
				t.Errorf("RotateSecret to a malformed secret = %v, want invalid_request", err)
			}
		})
		t.Run("delete removes the deliveries too", func(t *testing.T) {
			if err := w.hooks.Delete(ctx, []string{"other"}, h.ID); outbox.ErrorCode(err) != outbox.CodeWebhookNotFound {
				t.Errorf("Delete out of scope = %v, want webhook_not_found", err)
			}
			// A delivery still queued when the webhook goes.
			w.record(outbox.Event{Type: "account.frozen", InstitutionID: "dept"})
			w.fanOut()
			if err := w.hooks.Delete(ctx, nil, h.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := w.hooks.Get(ctx, nil, h.ID); outbox.ErrorCode(err) != outbox.CodeWebhookNotFound {
				t.Errorf("Get after Delete = %v, want webhook_not_found", err)
			}
			if ds := w.deliveries(outbox.DeliveryFilter{WebhookID: h.ID}); len(ds) != 0 {
				t.Errorf("%d deliveries left", len(ds))
			}
			w.runDue()
			if n := len(r.requests()); n != 1 {
				t.Errorf("receiver got %d requests, want only the one before the delete", n)
			}
		})
		t.Run("an institution has at most MaxWebhooks", func(t *testing.T) {
			for i := range outbox.MaxWebhooks {
				_, _, err := w.hooks.Create(ctx, nil, outbox.NewWebhook{InstitutionID: "other", URL: "https://example.com/"})
				if i < outbox.MaxWebhooks-1 && err != nil {
					t.Fatalf("webhook %d: %v", i+2, err)
				}
				if i == outbox.MaxWebhooks-1 && outbox.ErrorCode(err) != outbox.CodeTooManyWebhooks {
					t.Fatalf("webhook %d = %v, want too_many_webhooks", i+2, err)
				}
			}
		})
	})
}

func TestListDeliveriesFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		up, down := newReceiver(t, w.clk), newReceiver(t, w.clk)
		hUp, s1 := w.webhook("branch", up.url())
		hDown, s2 := w.webhook("other", down.url())
		up.set(s1, http.StatusOK)
		down.set(s2, http.StatusBadGateway)
		ids := w.record(outbox.Event{Type: "account.opened", InstitutionID: "root"}, outbox.Event{Type: "account.opened", InstitutionID: "dept"},
			outbox.Event{Type: "account.closed", InstitutionID: "other"})
		w.fanOut()
		w.runDue()
		w.clk.Advance(time.Minute)
		tests := []struct {
			name string
			f    outbox.DeliveryFilter
			want int
		}{
			{"all", outbox.DeliveryFilter{}, 2},
			{"scope", outbox.DeliveryFilter{Scope: []string{"root", "branch", "dept"}}, 1},
			{"empty scope", outbox.DeliveryFilter{Scope: []string{}}, 0},
			{"webhook", outbox.DeliveryFilter{WebhookID: hDown.ID}, 1},
			{"event", outbox.DeliveryFilter{EventID: ids[1]}, 1},
			{"event not delivered", outbox.DeliveryFilter{EventID: ids[0]}, 0},
			{"pending", outbox.DeliveryFilter{State: outbox.DeliveryPending}, 1},
			{"delivered", outbox.DeliveryFilter{State: outbox.DeliveryDelivered, WebhookID: hUp.ID}, 1},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				ds, next, err := w.hooks.ListDeliveries(ctx, tc.f)
				if err != nil || len(ds) != tc.want || next != "" {
					t.Errorf("ListDeliveries = %d, %q, %v; want %d", len(ds), next, err, tc.want)
				}
			})
		}
		if _, _, err := w.hooks.ListDeliveries(ctx, outbox.DeliveryFilter{State: "lost"}); outbox.ErrorCode(err) != outbox.CodeInvalidRequest {
			t.Errorf("ListDeliveries(state lost) = %v, want invalid_request", err)
		}
		page, next, err := w.hooks.ListDeliveries(ctx, outbox.DeliveryFilter{Limit: 1})
		if err != nil || len(page) != 1 || next == "" {
			t.Fatalf("first page = %d, %q, %v", len(page), next, err)
		}
		rest, next2, err := w.hooks.ListDeliveries(ctx, outbox.DeliveryFilter{Limit: 1, After: next})
		if err != nil || len(rest) != 1 || next2 != "" || rest[0].ID >= page[0].ID {
			t.Errorf("second page = %d, %q, %v; want the older delivery and no more", len(rest), next2, err)
		}
		d := w.deliveries(outbox.DeliveryFilter{WebhookID: hDown.ID})[0]
		if d.LastStatus != http.StatusBadGateway || d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(t0.Add(outbox.RetryDelay(1))) {
			t.Errorf("failing delivery = %+v, want 502 and a retry 10 s after the first attempt", d)
		}
		if _, err := w.hooks.Attempts(ctx, []string{"root"}, d.ID); outbox.ErrorCode(err) != outbox.CodeDeliveryNotFound {
			t.Errorf("Attempts out of scope = %v, want delivery_not_found", err)
		}
	})
}

// A URL whose host is an address deliveries would not connect to is refused
// when it is registered, unless the operator allows its range.
func TestCreateRefusesAddressesNotAllowed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorldWith(t, db, outbox.WebhookOptions{}) // public addresses only
		onPrem := outbox.NewWebhooks(db, w.clk, outbox.WebhookOptions{AllowPrefixes: loopback})
		tests := []struct {
			url        string
			want       bool // accepted by default
			wantOnPrem bool // accepted with loopback allowed
		}{
			{"https://hooks.example.com/x", true, true},
			{"https://93.184.215.14/x", true, true},
			{"https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/x", true, true},
			{"http://127.0.0.1:8080/v1/webhooks", false, true}, // the server's own API
			{"http://localhost:8080/v1/webhooks", false, true},
			{"http://[::1]:8080/x", false, true},
			{"http://[::ffff:127.0.0.1]/x", false, true},
			{"http://0.0.0.0:8080/x", false, false},
			{"http://169.254.169.254/latest/meta-data/", false, false},
			{"http://[fd00::1]/x", false, false},
			{"http://10.0.0.1/x", false, false},
			{"http://2130706433/x", false, false},
			{"http://0x7f000001/x", false, false},
			{"http://0177.0.0.1/x", false, false},
			{"http://127.1/x", false, false},
		}
		for _, tc := range tests {
			t.Run(tc.url, func(t *testing.T) {
				for _, c := range []struct {
					name  string
					hooks *outbox.Webhooks
					want  bool
				}{{"default", w.hooks, tc.want}, {"loopback allowed", onPrem, tc.wantOnPrem}} {
					h, _, err := c.hooks.Create(ctx, nil, outbox.NewWebhook{InstitutionID: "root", URL: tc.url})
					if code, field := codeOf(err); (err == nil) != c.want || (err != nil && (code != outbox.CodeInvalidRequest || field != "url")) {
						t.Fatalf("%s: Create = %v, want accepted %t or refused as invalid url", c.name, err, c.want)
					}
					if err == nil {
						if err := c.hooks.Delete(ctx, nil, h.ID); err != nil {
							t.Fatal(err)
						}
					}
				}
				// Changing a webhook's URL is checked alike.
				h, _ := w.webhook("root", "https://hooks.example.com/x")
				defer w.hooks.Delete(ctx, nil, h.ID)
				_, err := w.hooks.Update(ctx, nil, h.ID, outbox.WebhookUpdate{URL: &tc.url})
				if code, _ := codeOf(err); (err == nil) != tc.want || (err != nil && code != outbox.CodeInvalidRequest) {
					t.Errorf("Update = %v, want accepted %t", err, tc.want)
				}
			})
		}
	})
}
