package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/httpapi"
	"github.com/suanpan/suanpan/internal/outbox"
)

// receiver is a webhook endpoint that records what it is sent.
type receiver struct {
	mu     sync.Mutex
	bodies []string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.bodies = append(r.bodies, string(b))
	r.mu.Unlock()
}

func (r *receiver) received() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

func TestWebhooks(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		a.newAsset("CNY", 2)
		a.newInstitution("pa", "root")
		a.newInstitution("pb", "root")
		admin, viewer, sibling := a.newKey("pa", auth.RoleAdmin), a.newKey("pa", auth.RoleViewer), a.newKey("pb", auth.RoleAdmin)
		recv := &receiver{}
		hook := httptest.NewServer(recv)
		t.Cleanup(hook.Close)

		var created httpapi.NewWebhookView
		a.must(http.StatusCreated, admin, "POST", "/v1/webhooks", map[string]any{"url": hook.URL + "/events",
			"event_types": []string{"payment_order.*"}, "description": "orders"}, &created, rid("wh-create")...)
		w := created.Webhook
		if w == nil || w.InstitutionID != "pa" || !w.Active || !strings.HasPrefix(created.Secret, "whsec_") {
			t.Fatalf("created %+v", created)
		}
		rec := a.auditOnce("wh-create", "webhooks.create", "institution:pa", admin)
		if b, _ := json.Marshal(rec); strings.Contains(string(b), created.Secret) {
			t.Errorf("the audit record holds the secret: %s", b)
		}

		t.Run("refusals", func(t *testing.T) {
			a := a.with(t)
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "body.url", admin, "POST", "/v1/webhooks",
				map[string]any{"url": "ftp://example.com"}, rid("wh-bad")...)
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "body.event_types", admin, "POST", "/v1/webhooks",
				map[string]any{"url": hook.URL, "event_types": []string{"Not A Type"}}, rid("wh-bad")...)
			a.fail(http.StatusForbidden, "forbidden", "body.institution_id", admin, "POST", "/v1/webhooks",
				map[string]any{"url": hook.URL, "institution_id": "pb"}, rid("wh-bad")...)
			// Addresses deliveries would not connect to (this server only
			// allows 127.0.0.0/8): refused on creation and on change.
			for _, url := range []string{"http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/hook", "http://[::1]/hook",
				"http://2130706433/hook", "http://0x7f000001/hook", "http://0177.0.0.1/hook"} {
				a.fail(http.StatusUnprocessableEntity, "invalid_request", "body.url", admin, "POST", "/v1/webhooks",
					map[string]any{"url": url}, rid("wh-bad")...)
				a.fail(http.StatusUnprocessableEntity, "invalid_request", "body.url", admin, "PATCH", "/v1/webhooks/"+w.ID,
					map[string]any{"url": url}, rid("wh-bad")...)
			}
			for _, c := range []struct{ method, path string }{
				{"GET", "/v1/webhooks/" + w.ID}, {"PATCH", "/v1/webhooks/" + w.ID}, {"DELETE", "/v1/webhooks/" + w.ID},
				{"POST", "/v1/webhooks/" + w.ID + "/rotate-secret"},
			} {
				a.fail(http.StatusNotFound, "webhook_not_found", "", sibling, c.method, c.path, map[string]any{}, rid("wh-bad")...)
			}
			a.noAudit("wh-bad")
		})

		t.Run("read and change", func(t *testing.T) {
			a := a.with(t)
			var list struct {
				Items []outbox.Webhook `json:"items"`
			}
			a.must(http.StatusOK, viewer, "GET", "/v1/webhooks", nil, &list)
			if len(list.Items) != 1 || list.Items[0].ID != w.ID {
				t.Errorf("list %+v", list.Items)
			}
			a.must(http.StatusOK, sibling, "GET", "/v1/webhooks", nil, &list)
			if len(list.Items) != 0 {
				t.Errorf("the sibling sees %+v", list.Items)
			}
			var got outbox.Webhook
			a.must(http.StatusOK, admin, "PATCH", "/v1/webhooks/"+w.ID, map[string]any{"description": "payment orders"}, &got, rid("wh-patch")...)
			if got.Description != "payment orders" || got.URL != w.URL || !got.Active {
				t.Errorf("patched %+v", got)
			}
			if r := a.auditOnce("wh-patch", "webhooks.update", "webhook:"+w.ID, admin); r.Before == nil {
				t.Error("no webhook before the change in the audit record")
			}
			var rotated httpapi.NewWebhookView
			a.must(http.StatusOK, admin, "POST", "/v1/webhooks/"+w.ID+"/rotate-secret", map[string]any{}, &rotated, rid("wh-rotate")...)
			if rotated.Secret == "" || rotated.Secret == created.Secret || rotated.Webhook.ID != w.ID {
				t.Errorf("rotated %+v", rotated)
			}
			r := a.auditOnce("wh-rotate", "webhooks.rotate_secret", "webhook:"+w.ID, admin)
			if b, _ := json.Marshal(r); strings.Contains(string(b), rotated.Secret) {
				t.Errorf("the audit record holds the secret: %s", b)
			}
			if strings.Contains(readAll(t, a.must(http.StatusOK, viewer, "GET", "/v1/webhooks/"+w.ID, nil, nil)), rotated.Secret) {
				t.Error("the webhook shows its secret")
			}
		})

		var b payBooks // the payment books the deliveries' orders are made on
		t.Run("deliveries", func(t *testing.T) {
			a := a.with(t)
			b = a.payBooks(admin, "pa")
			o := a.order(admin, map[string]any{"reference": "in-1", "channel_id": b.channel, "direction": "pay_in", "account": b.wallet, "amount": 100})
			if _, err := a.relay.FanOut(context.Background()); err != nil {
				t.Fatal(err)
			}
			type page struct {
				Items      []outbox.Delivery `json:"items"`
				NextCursor string            `json:"next_cursor"`
			}
			var p page
			a.must(http.StatusOK, viewer, "GET", "/v1/webhooks/deliveries?webhook_id="+w.ID+"&state=pending", nil, &p)
			if len(p.Items) != 2 { // payment_order.created, .processing
				t.Fatalf("pending deliveries %+v", p.Items)
			}
			a.must(http.StatusOK, sibling, "GET", "/v1/webhooks/deliveries", nil, &p)
			if len(p.Items) != 0 {
				t.Errorf("the sibling sees %+v", p.Items)
			}
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "query.state", viewer, "GET", "/v1/webhooks/deliveries?state=lost", nil)
			a.run()
			if n := recv.received(); n != 2 || !strings.Contains(recv.bodies[0], o.ID) {
				t.Fatalf("the receiver got %d requests: %v", n, recv.bodies)
			}
			a.must(http.StatusOK, viewer, "GET", "/v1/webhooks/deliveries?state=delivered&limit=1", nil, &p)
			if len(p.Items) != 1 || p.NextCursor == "" {
				t.Fatalf("delivered %+v", p)
			}
			d := p.Items[0]
			var got outbox.Delivery
			a.must(http.StatusOK, viewer, "GET", "/v1/webhooks/deliveries/"+d.ID, nil, &got)
			if got.ID != d.ID || got.State != outbox.DeliveryDelivered || got.LastStatus != http.StatusOK {
				t.Errorf("delivery %+v", got)
			}
			for _, c := range []struct{ method, path string }{
				{"GET", "/v1/webhooks/deliveries/" + d.ID}, {"GET", "/v1/webhooks/deliveries/" + d.ID + "/attempts"},
				{"POST", "/v1/webhooks/deliveries/" + d.ID + "/redeliver"},
			} {
				a.fail(http.StatusNotFound, "delivery_not_found", "", sibling, c.method, c.path, nil, rid("wd-bad")...)
			}
			a.noAudit("wd-bad")

			a.must(http.StatusOK, admin, "POST", "/v1/webhooks/deliveries/"+d.ID+"/redeliver", nil, &got, rid("wd-redeliver")...)
			if got.State != outbox.DeliveryPending {
				t.Errorf("redelivered %+v", got)
			}
			a.auditOnce("wd-redeliver", "webhook_deliveries.redeliver", "webhook_delivery:"+d.ID, admin)
			a.run()
			var attempts struct {
				Items []outbox.Attempt `json:"items"`
			}
			a.must(http.StatusOK, viewer, "GET", "/v1/webhooks/deliveries/"+d.ID+"/attempts", nil, &attempts)
			if len(attempts.Items) != 2 || attempts.Items[1].StatusCode != http.StatusOK || recv.received() != 3 {
				t.Errorf("attempts %+v, %d received", attempts.Items, recv.received())
			}
		})

		t.Run("an error answer is not shown", func(t *testing.T) {
			a := a.with(t)
			const leak = "upstream secret-token at 10.1.2.3:5432"
			failing := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
				http.Error(rw, leak, http.StatusInternalServerError)
			}))
			t.Cleanup(failing.Close)
			var h httpapi.NewWebhookView
			a.must(http.StatusCreated, admin, "POST", "/v1/webhooks", map[string]any{"url": failing.URL,
				"event_types": []string{"payment_order.*"}}, &h)
			a.order(admin, map[string]any{"reference": "in-2", "channel_id": b.channel, "direction": "pay_in", "account": b.wallet, "amount": 100})
			if _, err := a.relay.FanOut(context.Background()); err != nil {
				t.Fatal(err)
			}
			a.run()
			raw := readAll(t, a.must(http.StatusOK, viewer, "GET", "/v1/webhooks/deliveries?webhook_id="+h.Webhook.ID, nil, nil))
			var p struct {
				Items []outbox.Delivery `json:"items"`
			}
			if err := json.Unmarshal([]byte(raw), &p); err != nil || len(p.Items) == 0 {
				t.Fatalf("deliveries %s: %v", raw, err)
			}
			for _, d := range p.Items {
				raw += readAll(t, a.must(http.StatusOK, viewer, "GET", "/v1/webhooks/deliveries/"+d.ID+"/attempts", nil, nil))
				if d.LastStatus != http.StatusInternalServerError || d.LastError != "http 500" {
					t.Errorf("delivery %+v, want last 500 logged as http 500", d)
				}
			}
			if strings.Contains(raw, "secret-token") || strings.Contains(raw, "127.0.0.1") {
				t.Errorf("the deliveries show the answer or an address: %s", raw)
			}
		})

		t.Run("delete", func(t *testing.T) {
			a := a.with(t)
			resp := a.must(http.StatusNoContent, admin, "DELETE", "/v1/webhooks/"+w.ID, nil, nil, rid("wh-delete")...)
			if b := readAll(t, resp); b != "" {
				t.Errorf("body %q", b)
			}
			a.auditOnce("wh-delete", "webhooks.delete", "webhook:"+w.ID, admin)
			a.fail(http.StatusNotFound, "webhook_not_found", "", viewer, "GET", "/v1/webhooks/"+w.ID, nil)
		})
	})
}
