package httpapi_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/audit"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/eod"
	"github.com/suanpan/suanpan/internal/httpapi"
	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/internal/outbox"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
	"github.com/suanpan/suanpan/internal/recon"
)

// services builds the payments, jobs, webhook, reconciliation and
// end-of-day services on the harness's store, ledger and clock into d,
// with a channel simulator served by httptest that calls back on the API
// at apiURL. Nothing runs by itself: tests run due jobs (a.run), let the
// simulator decide and call back (a.sim.Settle) and fan events out
// (a.relay.FanOut).
func (a *api) services(d *httpapi.Deps, apiURL string) {
	t := a.t
	quiet := slog.New(slog.DiscardHandler)
	d.Products = accounts.NewProductService(a.db, a.clock)
	d.Operations = accounts.NewOperations(a.ledger, d.Products, accounts.OperationsConfig{})
	a.jobs = jobs.New(a.db, a.clock, jobs.Options{Log: quiet})
	a.payments = payments.New(payments.Config{DB: a.db, Ledger: a.ledger, Operations: d.Operations, Jobs: a.jobs, Clock: a.clock,
		CallbackURL: apiURL + "/v1/payments/callbacks", Log: quiet})
	// The tests' receivers listen on this machine, which deliveries
	// reach only when the operator allows it.
	a.webhooks = outbox.NewWebhooks(a.db, a.clock, outbox.WebhookOptions{
		AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	a.webhooks.Register(a.jobs)
	a.relay = outbox.NewRelay(a.db, a.clock, outbox.RelayOptions{Log: quiet})
	s, err := sim.New(sim.Config{Clock: a.clock, MinDelay: time.Second, MaxDelay: 5 * time.Second})
	if err != nil {
		t.Fatalf("simulator: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	a.sim, a.simURL = s, srv.URL
	a.recon = recon.New(recon.Config{Ledger: a.ledger, Payments: a.payments, Operations: d.Operations, Clock: a.clock, Log: quiet})
	a.eod = eod.New(eod.Config{Ledger: a.ledger, Reconciler: a.recon})
	d.Payments, d.Jobs, d.Webhooks, d.Recon, d.EOD = a.payments, a.jobs, a.webhooks, a.recon, a.eod
}

// run runs the jobs due now.
func (a *api) run() {
	a.t.Helper()
	if _, err := a.jobs.RunDue(context.Background()); err != nil {
		a.t.Fatalf("run jobs: %v", err)
	}
}

// payBooks are an institution's payment set-up: a wallet product open to
// the bank_transfer channel, the channel's clearing account, the channel
// itself pointing at the simulator, and a customer wallet funded with
// 1000.00.
type payBooks struct {
	channel, wallet string
}

// channelBody is a valid bank_transfer channel pointing at the simulator.
func (a *api) channelBody() map[string]any {
	cfg := a.sim.ChannelConfig(a.simURL, channel.BankTransfer)
	return map[string]any{"code": "bank_transfer", "kind": "bank_transfer", "endpoint": cfg.Endpoint, "merchant_id": cfg.MerchantID,
		"secret": cfg.Secret, "asset": "CNY", "params": map[string]any{"timeout_ms": 500}}
}

// payBooks sets up payments with key, an admin key of its institution;
// prefix keeps product IDs apart. CNY must exist.
func (a *api) payBooks(key, prefix string) payBooks {
	a.t.Helper()
	a.must(http.StatusCreated, key, "POST", "/v1/products", map[string]any{"id": prefix + "-wallet", "name": "Wallet", "class": "wallet",
		"asset": "CNY", "chart_code": prefix + "2001", "normal_side": "credit", "channels": []string{"bank_transfer"},
		"operations": []string{"topup", "withdraw"}}, nil)
	clearing := a.newAccount(key, map[string]any{"asset": "CNY", "code": prefix + "1002", "normal_side": "debit", "overdraft": "unlimited"}).ID
	a.must(http.StatusCreated, key, "POST", "/v1/internal-accounts", map[string]any{"role": "clearing", "channel": "bank_transfer", "account_id": clearing}, nil)
	var ch httpapi.ChannelView
	a.must(http.StatusCreated, key, "POST", "/v1/payments/channels", a.channelBody(), &ch)
	var c httpapi.CustomerView
	a.must(http.StatusCreated, key, "POST", "/v1/customers", map[string]any{"type": "personal", "name": "Payer"}, &c)
	var o httpapi.CustomerAccountView
	a.must(http.StatusCreated, key, "POST", "/v1/customers/"+c.ID+"/accounts", map[string]any{"product_id": prefix + "-wallet"}, &o)
	a.must(http.StatusCreated, key, "POST", "/v1/operations/topup", map[string]any{"reference": prefix + "-fund", "account": o.Account.ID,
		"channel": "bank_transfer", "amount": 100000}, nil)
	return payBooks{channel: ch.ID, wallet: o.Account.ID}
}

// order creates an order with key and returns it.
func (a *api) order(key string, body map[string]any) *httpapi.OrderView {
	a.t.Helper()
	var o httpapi.OrderView
	a.must(http.StatusCreated, key, "POST", "/v1/payments/orders", body, &o)
	return &o
}

// getOrder reads an order with the root key.
func (a *api) getOrder(id string) *httpapi.OrderView {
	a.t.Helper()
	var o httpapi.OrderView
	a.must(http.StatusOK, a.admin, "GET", "/v1/payments/orders/"+id, nil, &o)
	return &o
}

// bankNotification is the headers of a bank_transfer callback of body,
// signed as the channel signs them: the merchant, and HMAC-SHA256 with
// secret over "timestamp.body".
func bankNotification(merchant, secret string, at time.Time, body string) []string {
	ts := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + body))
	return []string{"Content-Type", "application/json", "X-Sim-Merchant", merchant, "X-Sim-Timestamp", ts, "X-Sim-Signature", hex.EncodeToString(m.Sum(nil))}
}

// recordsOf returns the audit records of an operation on a target.
func (a *api) recordsOf(op, target string) []audit.Record {
	a.t.Helper()
	var out []audit.Record
	for _, r := range a.auditRecords() {
		if r.Operation == op && r.Target == target {
			out = append(out, r)
		}
	}
	return out
}

func TestPaymentChannels(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		a.newAsset("CNY", 2)
		a.newInstitution("pa", "root")
		a.newInstitution("pb", "root")
		admin, sibling := a.newKey("pa", auth.RoleAdmin), a.newKey("pb", auth.RoleAdmin)
		body := a.channelBody()
		secret := body["secret"].(string)

		var ch httpapi.ChannelView
		resp := a.must(http.StatusCreated, admin, "POST", "/v1/payments/channels", body, &ch, rid("ch-create")...)
		if ch.InstitutionID != "pa" || ch.Code != "bank_transfer" || ch.Status != "active" || ch.Version != 1 ||
			strings.Join(ch.Params.Directions, ",") != "pay_in,pay_out" || ch.Params.TimeoutMs != 500 || ch.Params.Retry.MaxAttempts != 30 {
			t.Errorf("created %+v", ch)
		}
		raw := readAll(t, resp)
		if strings.Contains(raw, secret) {
			t.Errorf("the answer shows the secret: %s", raw)
		}
		rec := a.auditOnce("ch-create", "payment_channels.create", "payment_channel:"+ch.ID, admin)
		if b, _ := json.Marshal(rec); strings.Contains(string(b), secret) || !strings.Contains(string(b), `"secret_changed":true`) {
			t.Errorf("audit record: %s", b)
		}

		t.Run("refusals", func(t *testing.T) {
			a := a.with(t)
			with := func(k string, v any) map[string]any {
				out := map[string]any{}
				for k, v := range body {
					out[k] = v
				}
				out[k] = v
				return out
			}
			for _, c := range []struct {
				name, code, field string
				status            int
				body              map[string]any
			}{
				{"unknown kind", "invalid_request", "body.kind", http.StatusUnprocessableEntity, with("kind", "pigeon")},
				{"no secret", "invalid_request", "body.secret", http.StatusUnprocessableEntity, with("secret", "")},
				{"relative endpoint", "invalid_request", "body.endpoint", http.StatusUnprocessableEntity, with("endpoint", "/bank")},
				{"direction of another kind", "invalid_request", "body.params.directions[0]", http.StatusUnprocessableEntity,
					with("params", map[string]any{"directions": []string{"refund"}})},
				{"fee without rounding", "invalid_request", "body.params.fees.pay_in.rounding", http.StatusUnprocessableEntity,
					with("params", map[string]any{"fees": map[string]any{"pay_in": map[string]any{"rate": "0.01", "rounding": ""}}})},
				{"bad rate", "invalid_request", "body.params.fees.pay_in.rate", http.StatusUnprocessableEntity,
					with("params", map[string]any{"fees": map[string]any{"pay_in": map[string]any{"rate": "lots", "rounding": "half_up"}}})},
				{"code taken", "channel_exists", "body.code", http.StatusConflict, body},
				{"another institution", "forbidden", "body.institution_id", http.StatusForbidden, with("institution_id", "pb")},
			} {
				t.Run(c.name, func(t *testing.T) {
					a := a.with(t)
					p := a.fail(c.status, c.code, c.field, admin, "POST", "/v1/payments/channels", c.body, rid("ch-bad")...)
					if strings.Contains(p.Detail, secret) {
						t.Errorf("the problem shows the secret: %s", p.Detail)
					}
				})
			}
			a.noAudit("ch-bad")
		})

		t.Run("read", func(t *testing.T) {
			a := a.with(t)
			var list struct {
				Items []httpapi.ChannelView `json:"items"`
			}
			a.must(http.StatusOK, admin, "GET", "/v1/payments/channels", nil, &list)
			if len(list.Items) != 1 || list.Items[0].ID != ch.ID {
				t.Errorf("list %+v", list.Items)
			}
			a.must(http.StatusOK, sibling, "GET", "/v1/payments/channels", nil, &list)
			if len(list.Items) != 0 {
				t.Errorf("the sibling sees %+v", list.Items)
			}
			var got httpapi.ChannelView
			a.must(http.StatusOK, a.admin, "GET", "/v1/payments/channels/"+ch.ID, nil, &got)
			if got.ID != ch.ID {
				t.Errorf("got %+v", got)
			}
			a.fail(http.StatusNotFound, "channel_not_found", "path.id", sibling, "GET", "/v1/payments/channels/"+ch.ID, nil)
		})

		t.Run("update", func(t *testing.T) {
			a := a.with(t)
			upd := map[string]any{"name": "Bank", "endpoint": body["endpoint"], "merchant_id": body["merchant_id"],
				"params": map[string]any{"directions": []string{"pay_in"}, "limits": map[string]any{"pay_in": map[string]any{"per_txn_max": 500000}},
					"fees": map[string]any{"pay_in": map[string]any{"fixed": 10, "rate": "0.006", "rounding": "half_up", "max": 1000}}}}
			var got httpapi.ChannelView
			a.must(http.StatusOK, admin, "PUT", "/v1/payments/channels/"+ch.ID, upd, &got, rid("ch-update")...)
			if got.Name != "Bank" || got.Version != 2 || got.Asset != "CNY" || strings.Join(got.Params.Directions, ",") != "pay_in" ||
				got.Params.Limits["pay_in"].PerTxnMax != 500000 || got.Params.Fees["pay_in"] != (httpapi.ChannelFeeRate{Fixed: 10, Rate: "0.006", Rounding: "half_up", Max: 1000}) {
				t.Errorf("updated %+v", got)
			}
			r := a.auditOnce("ch-update", "payment_channels.update", "payment_channel:"+ch.ID, admin)
			if b, _ := json.Marshal(r); r.Before == nil || !strings.Contains(string(b), `"secret_changed":false`) {
				t.Errorf("audit record: %s", b)
			}
			upd["secret"] = secret
			a.must(http.StatusOK, admin, "PUT", "/v1/payments/channels/"+ch.ID, upd, &got, rid("ch-secret")...)
			r = a.auditOnce("ch-secret", "payment_channels.update", "payment_channel:"+ch.ID, admin)
			if b, _ := json.Marshal(r); strings.Contains(string(b), secret) || !strings.Contains(string(b), `"secret_changed":true`) {
				t.Errorf("audit record: %s", b)
			}
			a.fail(http.StatusNotFound, "channel_not_found", "path.id", sibling, "PUT", "/v1/payments/channels/"+ch.ID, upd, rid("ch-cross")...)
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "body.params.timeout_ms", admin, "PUT", "/v1/payments/channels/"+ch.ID,
				map[string]any{"endpoint": body["endpoint"], "merchant_id": "m", "params": map[string]any{"timeout_ms": 5}}, rid("ch-cross")...)
			a.noAudit("ch-cross")
		})
	})
}

// readAll returns a response's (already buffered) body.
func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPaymentOrders(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		a.newAsset("CNY", 2)
		a.newInstitution("pa", "root")
		a.newInstitution("pb", "root")
		admin, poster, operator := a.newKey("pa", auth.RoleAdmin), a.newKey("pa", auth.RolePoster), a.newKey("pa", auth.RoleOperator)
		sibling := a.newKey("pb", auth.RoleAdmin)
		b := a.payBooks(admin, "pa")
		payIn := map[string]any{"reference": "in-1", "channel_id": b.channel, "direction": "pay_in", "account": b.wallet, "amount": 1234}

		var o httpapi.OrderView
		a.must(http.StatusCreated, poster, "POST", "/v1/payments/orders", payIn, &o, rid("order-create")...)
		if o.State != "processing" || o.InstitutionID != "pa" || o.Amount != 1234 || o.AmountDisplay != "12.34" ||
			o.ChannelFeeDisplay != "0.00" || o.Reference != "in-1" || o.CreatedBy != keyID(poster) {
			t.Errorf("created %+v", o)
		}
		a.auditOnce("order-create", "payment_orders.create", "payment_order:"+o.ID, poster)

		t.Run("idempotent", func(t *testing.T) {
			a := a.with(t)
			var again httpapi.OrderView
			a.must(http.StatusOK, poster, "POST", "/v1/payments/orders", payIn, &again, rid("order-again")...)
			if again.ID != o.ID {
				t.Errorf("a retry made order %s, want %s", again.ID, o.ID)
			}
			other := map[string]any{}
			for k, v := range payIn {
				other[k] = v
			}
			other["amount"] = 99
			a.fail(http.StatusConflict, "reference_conflict", "body.reference", poster, "POST", "/v1/payments/orders", other, rid("order-again")...)
			a.noAudit("order-again")
			if n := len(a.sim.Orders()); n != 1 {
				t.Errorf("the channel saw %d orders, want 1", n)
			}
		})

		t.Run("refusals", func(t *testing.T) {
			a := a.with(t)
			for _, c := range []struct {
				name, code, field string
				status            int
				key               string
				body              map[string]any
			}{
				{"zero amount", "invalid_request", "body.amount", http.StatusUnprocessableEntity, poster,
					map[string]any{"reference": "x1", "channel_id": b.channel, "direction": "pay_in", "account": b.wallet, "amount": 0}},
				{"unknown direction", "invalid_request", "body.direction", http.StatusUnprocessableEntity, poster,
					map[string]any{"reference": "x2", "channel_id": b.channel, "direction": "sideways", "account": b.wallet, "amount": 1}},
				{"pay-out without a party", "invalid_request", "body.party", http.StatusUnprocessableEntity, poster,
					map[string]any{"reference": "x3", "channel_id": b.channel, "direction": "pay_out", "account": b.wallet, "amount": 1}},
				{"direction the channel lacks", "direction_not_supported", "body.direction", http.StatusUnprocessableEntity, poster,
					map[string]any{"reference": "x4", "channel_id": b.channel, "direction": "refund", "account": b.wallet, "amount": 1, "original": o.ID}},
				{"unknown channel", "channel_not_found", "body.channel_id", http.StatusNotFound, poster,
					map[string]any{"reference": "x5", "channel_id": "nope", "direction": "pay_in", "account": b.wallet, "amount": 1}},
				{"a sibling's channel", "channel_not_found", "body.channel_id", http.StatusNotFound, sibling,
					map[string]any{"reference": "x6", "channel_id": b.channel, "direction": "pay_in", "account": b.wallet, "amount": 1}},
				{"pay-out beyond the balance", "insufficient_funds", "", http.StatusUnprocessableEntity, poster,
					map[string]any{"reference": "x7", "channel_id": b.channel, "direction": "pay_out", "account": b.wallet, "amount": 10000000, "party": "6222"}},
			} {
				t.Run(c.name, func(t *testing.T) {
					a.with(t).fail(c.status, c.code, c.field, c.key, "POST", "/v1/payments/orders", c.body, rid("order-bad")...)
				})
			}
			a.noAudit("order-bad")
		})

		t.Run("read", func(t *testing.T) {
			a := a.with(t)
			out := a.order(poster, map[string]any{"reference": "out-1", "channel_id": b.channel, "direction": "pay_out", "account": b.wallet,
				"amount": 500, "party": "6222020200112233", "party_name": "Li Lei"})
			if out.HoldID == "" || a.account(b.wallet).Available != 100000-500 {
				t.Errorf("pay-out %+v holds nothing", out)
			}
			var got httpapi.OrderView
			a.must(http.StatusOK, admin, "GET", "/v1/payments/orders/"+o.ID, nil, &got)
			if got.ID != o.ID || got.AmountDisplay != "12.34" {
				t.Errorf("got %+v", got)
			}
			a.fail(http.StatusNotFound, "order_not_found", "path.id", sibling, "GET", "/v1/payments/orders/"+o.ID, nil)
			a.fail(http.StatusNotFound, "order_not_found", "path.id", sibling, "GET", "/v1/payments/orders/"+o.ID+"/transitions", nil)
			type page struct {
				Items      []httpapi.OrderView `json:"items"`
				NextCursor string              `json:"next_cursor"`
			}
			for _, c := range []struct {
				query string
				want  []string
			}{
				{"", []string{o.ID, out.ID}},
				{"?direction=pay_out", []string{out.ID}},
				{"?state=processing&channel_id=" + b.channel + "&date=" + o.BusinessDate, []string{o.ID, out.ID}},
				{"?state=failed", nil},
				{"?after=" + o.ID, []string{out.ID}},
			} {
				var p page
				a.must(http.StatusOK, admin, "GET", "/v1/payments/orders"+c.query, nil, &p)
				var ids []string
				for _, x := range p.Items {
					ids = append(ids, x.ID)
				}
				if strings.Join(ids, ",") != strings.Join(c.want, ",") {
					t.Errorf("orders%s: %v, want %v", c.query, ids, c.want)
				}
			}
			var p page
			a.must(http.StatusOK, admin, "GET", "/v1/payments/orders?limit=1", nil, &p)
			if len(p.Items) != 1 || p.NextCursor != o.ID {
				t.Errorf("first page %+v", p)
			}
			a.must(http.StatusOK, sibling, "GET", "/v1/payments/orders", nil, &p)
			if len(p.Items) != 0 {
				t.Errorf("the sibling sees %+v", p.Items)
			}
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "query.date", admin, "GET", "/v1/payments/orders?date=yesterday", nil)
			var ts struct {
				Items []payments.Transition `json:"items"`
			}
			a.must(http.StatusOK, admin, "GET", "/v1/payments/orders/"+o.ID+"/transitions", nil, &ts)
			if len(ts.Items) != 2 || ts.Items[0].To != payments.StateCreated || ts.Items[1].To != payments.StateProcessing {
				t.Errorf("transitions %+v", ts.Items)
			}
		})

		t.Run("settle", func(t *testing.T) {
			a := a.with(t)
			out := a.order(poster, map[string]any{"reference": "out-2", "channel_id": b.channel, "direction": "pay_out", "account": b.wallet,
				"amount": 700, "party": "6222020200112233"})
			before := a.account(b.wallet).Available
			path := "/v1/payments/orders/" + out.ID + "/settle"
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "body.status", operator, "POST", path,
				map[string]any{"status": "processing", "reason": "x"}, rid("settle-bad")...)
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "body", operator, "POST", path,
				map[string]any{"status": "failed"}, rid("settle-bad")...)
			a.fail(http.StatusNotFound, "order_not_found", "path.id", sibling, "POST", path,
				map[string]any{"status": "failed", "reason": "x"}, rid("settle-bad")...)
			a.noAudit("settle-bad")

			var got httpapi.OrderView
			a.must(http.StatusOK, operator, "POST", path, map[string]any{"status": "failed", "channel_ref": "B-77", "reason": "statement of 2 Nov"},
				&got, rid("settle")...)
			if got.State != "failed" || got.ChannelRef != "B-77" || got.FinishedAt == nil {
				t.Errorf("settled %+v", got)
			}
			if v := a.account(b.wallet).Available; v != before+700 {
				t.Errorf("available %d after the failed pay-out, want %d", v, before+700)
			}
			r := a.auditOnce("settle", "payment_orders.settle", "payment_order:"+out.ID, operator)
			if b, _ := json.Marshal(r); !strings.Contains(string(b), `"reason":"statement of 2 Nov"`) ||
				!strings.Contains(string(b), `"before":{`) || !strings.Contains(string(b), `"state":"processing"`) {
				t.Errorf("audit record: %s", b)
			}
			a.must(http.StatusOK, operator, "POST", path, map[string]any{"status": "failed", "reason": "again"}, &got, rid("settle-again")...)
			a.noAudit("settle-again")
		})
	})
}

// An Idempotency-Key replays an order; the key with another order is
// refused and makes nothing.
func TestPaymentOrderIdempotencyKey(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		a.newAsset("CNY", 2)
		a.newInstitution("pa", "root")
		admin, poster := a.newKey("pa", auth.RoleAdmin), a.newKey("pa", auth.RolePoster)
		b := a.payBooks(admin, "pa")

		keyed := map[string]any{"reference": "in-key", "channel_id": b.channel, "direction": "pay_in", "account": b.wallet, "amount": 500}
		var k1, k2 httpapi.OrderView
		a.must(http.StatusCreated, poster, "POST", "/v1/payments/orders", keyed, &k1, "Idempotency-Key", "order-key-1")
		r := a.must(http.StatusOK, poster, "POST", "/v1/payments/orders", keyed, &k2, "Idempotency-Key", "order-key-1")
		if k2.ID != k1.ID || r.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("replay %s (replayed %q), want %s", k2.ID, r.Header.Get("Idempotent-Replayed"), k1.ID)
		}
		other := map[string]any{"reference": "in-key-2", "channel_id": b.channel, "direction": "pay_in", "account": b.wallet, "amount": 501}
		a.fail(http.StatusConflict, "idempotency_key_reused", "header.Idempotency-Key", poster, "POST", "/v1/payments/orders", other,
			"Idempotency-Key", "order-key-1")
		var listed struct{ Items []httpapi.OrderView }
		a.must(http.StatusOK, poster, "GET", "/v1/payments/orders", nil, &listed)
		for _, o := range listed.Items {
			if o.Reference == "in-key-2" {
				t.Errorf("the refused request made order %s", o.ID)
			}
		}
		if len(listed.Items) != 1 {
			t.Errorf("%d orders, want the one", len(listed.Items))
		}
	})
}

func TestPaymentCallback(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		a.newAsset("CNY", 2)
		a.newInstitution("pa", "root")
		admin := a.newKey("pa", auth.RoleAdmin)
		b := a.payBooks(admin, "pa")
		o := a.order(admin, map[string]any{"reference": "in-1", "channel_id": b.channel, "direction": "pay_in", "account": b.wallet, "amount": 2500})
		path := "/v1/payments/callbacks/" + b.channel
		secret := a.sim.Secret(channel.BankTransfer)
		notice := func(status string, amount int64) string {
			return `{"order_id":"` + o.ID + `","type":"collection","status":"` + status + `","bank_ref":"T1","amount":` +
				strconv.FormatInt(amount, 10) + `,"currency":"CNY","fee":0,"updated_at":"` + a.clock.Now().Format(time.RFC3339) + `"}`
		}

		t.Run("tampered", func(t *testing.T) {
			a := a.with(t)
			signed := bankNotification(a.sim.MerchantID(), secret, a.clock.Now(), notice("REJECTED", 2500))
			resp, _ := a.raw("", "POST", path, []byte(notice("COMPLETED", 2500)), append(signed, rid("cb-tampered")...)...)
			checkProblem(t, resp, http.StatusUnauthorized, "bad_signature")
			resp, _ = a.raw("", "POST", path, []byte(notice("COMPLETED", 2500)), rid("cb-tampered")...)
			checkProblem(t, resp, http.StatusUnauthorized, "bad_signature")
			resp, _ = a.raw("", "POST", "/v1/payments/callbacks/nope", []byte(notice("COMPLETED", 2500)), signed...)
			checkProblem(t, resp, http.StatusNotFound, "channel_not_found")
			if got := a.getOrder(o.ID); got.State != "processing" || got.Version != o.Version {
				t.Errorf("a refused callback changed the order: %+v", got)
			}
			a.noAudit("cb-tampered")
		})

		t.Run("from the channel", func(t *testing.T) {
			a := a.with(t)
			a.sim.Settle()
			so, ok := a.sim.Order(channel.BankTransfer, o.ID)
			if !ok || len(so.Deliveries) == 0 || !so.Deliveries[0].Delivered || so.Deliveries[0].HTTPStatus != http.StatusOK {
				t.Fatalf("the channel's callback was not taken: %+v", so)
			}
			got := a.getOrder(o.ID)
			if got.State != "succeeded" || got.TransactionID == "" || got.ChannelRef != so.Ref {
				t.Errorf("after the callback: %+v", got)
			}
			if v := a.account(b.wallet).Balance; v != 100000+2500 {
				t.Errorf("balance %d, want %d", v, 100000+2500)
			}
			recs := a.recordsOf("payment_orders.callback", "payment_order:"+o.ID)
			if len(recs) != 1 {
				t.Fatalf("%d callback audit records, want 1", len(recs))
			}
			r := recs[0]
			if r.KeyID != "channel:bank_transfer" || r.InstitutionID != "pa" {
				t.Errorf("audit record by %q of %q", r.KeyID, r.InstitutionID)
			}
			if b, _ := json.Marshal(r); !strings.Contains(string(b), `"state":"processing"`) || !strings.Contains(string(b), `"state":"succeeded"`) {
				t.Errorf("audit record: %s", b)
			}
		})

		t.Run("repeated", func(t *testing.T) {
			a := a.with(t)
			body := notice("COMPLETED", 2500)
			resp, raw := a.raw("", "POST", path, []byte(body), append(bankNotification(a.sim.MerchantID(), secret, a.clock.Now(), body), rid("cb-again")...)...)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" || string(raw) != `{"code":"SUCCESS"}` {
				t.Errorf("ack %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
			}
			a.noAudit("cb-again")
			if got := a.getOrder(o.ID); got.State != "succeeded" {
				t.Errorf("order %s", got.State)
			}
		})
	})
}

func TestPaymentBatches(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		a.newAsset("CNY", 2)
		a.newInstitution("pa", "root")
		a.newInstitution("pb", "root")
		admin, poster, sibling := a.newKey("pa", auth.RoleAdmin), a.newKey("pa", auth.RolePoster), a.newKey("pb", auth.RoleAdmin)
		b := a.payBooks(admin, "pa")
		file := payments.BatchHeader + "\nsal-1," + b.wallet + ",12.00,6222020200112233,Li Lei,salary,\nsal-2," + b.wallet + ",1.234,6222,X,,\n"
		query := "/v1/payments/batches?reference=nov&channel_id=" + b.channel + "&direction=pay_out"
		csv := []string{"Content-Type", "text/csv"}

		resp, raw := a.raw(poster, "POST", query, []byte(file), append(csv, rid("pb-upload")...)...)
		var batch payments.Batch
		if resp.StatusCode != http.StatusAccepted || json.Unmarshal(raw, &batch) != nil || batch.Lines != 2 || batch.Status != payments.BatchProcessing {
			t.Fatalf("upload: %d %s", resp.StatusCode, raw)
		}
		a.auditOnce("pb-upload", "payment_batches.upload", "payment_batch:"+batch.ID, poster)
		resp, raw = a.raw(poster, "POST", query, []byte(file), append(csv, rid("pb-again")...)...)
		var again payments.Batch
		if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &again) != nil || again.ID != batch.ID {
			t.Errorf("upload again: %d %s", resp.StatusCode, raw)
		}
		for _, c := range []struct {
			name, query, body, code, field string
			status                         int
		}{
			{"another file", query, file + "sal-3," + b.wallet + ",1.00,6222,X,,\n", "reference_conflict", "query.reference", http.StatusConflict},
			{"not a bulk file", query, "a,b\n1,2\n", "invalid_request", "body", http.StatusUnprocessableEntity},
			{"no reference", "/v1/payments/batches?channel_id=" + b.channel + "&direction=pay_out", file, "invalid_request", "query.reference",
				http.StatusUnprocessableEntity},
			{"a sibling's channel", query, file, "channel_not_found", "query.channel_id", http.StatusNotFound},
		} {
			t.Run(c.name, func(t *testing.T) {
				key := poster
				if strings.Contains(c.name, "sibling") {
					key = sibling
				}
				resp, _ := a.with(t).raw(key, "POST", c.query, []byte(c.body), append(csv, rid("pb-again")...)...)
				if p := checkProblem(t, resp, c.status, c.code); p.Field != c.field {
					t.Errorf("field %q, want %q", p.Field, c.field)
				}
			})
		}
		a.noAudit("pb-again")

		a.run()                          // the file's lines become orders
		a.clock.Advance(6 * time.Second) // their follow-up jobs are due
		a.run()
		a.sim.Settle()
		var got payments.Batch
		a.must(http.StatusOK, poster, "GET", "/v1/payments/batches/"+batch.ID, nil, &got)
		if got.Status != payments.BatchCompleted || got.Succeeded != 1 || got.Rejected != 1 || got.OpenOrders != 0 {
			t.Errorf("batch %+v", got)
		}
		a.fail(http.StatusNotFound, "payment_batch_not_found", "path.id", sibling, "GET", "/v1/payments/batches/"+batch.ID, nil)
		a.fail(http.StatusNotFound, "payment_batch_not_found", "path.id", sibling, "GET", "/v1/payments/batches/"+batch.ID+"/results", nil)

		resp, raw = a.raw(poster, "GET", "/v1/payments/batches/"+batch.ID+"/results", nil)
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || len(lines) != 3 ||
			lines[0] != payments.BatchResultHeader || !strings.Contains(lines[1], ",sal-1,") || !strings.Contains(lines[1], ",succeeded,") ||
			!strings.Contains(lines[2], ",rejected,invalid_request,") {
			t.Errorf("results: %d %q\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
		}
		var orders struct {
			Items []httpapi.OrderView `json:"items"`
		}
		a.must(http.StatusOK, poster, "GET", "/v1/payments/orders?batch_id="+batch.ID, nil, &orders)
		if len(orders.Items) != 1 || orders.Items[0].Reference != "nov:sal-1" || orders.Items[0].AmountDisplay != "12.00" {
			t.Errorf("the batch's orders: %+v", orders.Items)
		}
	})
}

// TestServicesUnavailable checks that a server built without the payments,
// jobs and webhook services answers their routes 503.
func TestServicesUnavailable(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		srv := httpapi.New(httpapi.Deps{DB: a.db, Ledger: a.ledger, Auth: a.auth, Clock: a.clock}, httpapi.Config{})
		ts := httptest.NewServer(srv.Handler())
		t.Cleanup(ts.Close)
		b := a.with(t)
		b.ts = ts
		for _, path := range []string{"/v1/payments/channels", "/v1/payments/orders", "/v1/jobs", "/v1/webhooks", "/v1/webhooks/deliveries"} {
			b.fail(http.StatusServiceUnavailable, "unavailable", "", a.admin, "GET", path, nil)
		}
		resp, _ := b.raw("", "POST", "/v1/payments/callbacks/x", []byte("{}"))
		checkProblem(t, resp, http.StatusServiceUnavailable, "unavailable")
	})
}
