package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/httpapi"
	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/internal/outbox"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// paymentsServer is the API in this process with the payments, jobs and
// webhook services on a fake clock, and a channel simulator it calls. Jobs
// run, channels decide and events fan out only when the test says so.
type paymentsServer struct {
	url, key string
	clock    *clock.Fake
	jobs     *jobs.Scheduler
	sim      *sim.Server
	simURL   string
	relay    *outbox.Relay
}

func newPaymentsServer(t *testing.T, engine store.Dialect) *paymentsServer {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, engine)
	p := &paymentsServer{clock: clock.NewFake(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))}
	l := ledger.New(db, ledger.Options{Clock: p.clock})
	t.Cleanup(func() { l.Close() })
	as := auth.NewService(db, p.clock)
	key, err := as.Bootstrap(ctx, "root", "Root", "")
	if err != nil {
		t.Fatal(err)
	}
	kr, err := accounts.NewKeyring(accounts.Key{ID: "k1", Secret: make([]byte, accounts.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	products := accounts.NewProductService(db, p.clock)
	ops := accounts.NewOperations(l, products, accounts.OperationsConfig{})
	p.jobs = jobs.New(db, p.clock, jobs.Options{Log: quiet})
	ts := httptest.NewUnstartedServer(nil)
	t.Cleanup(ts.Close)
	svc := payments.New(payments.Config{DB: db, Ledger: l, Operations: ops, Jobs: p.jobs, Clock: p.clock,
		CallbackURL: "http://" + ts.Listener.Addr().String() + "/v1/payments/callbacks", Log: quiet})
	// The receivers listen on this machine: allowed, as --webhook-allow-cidr does.
	hooks := outbox.NewWebhooks(db, p.clock, outbox.WebhookOptions{AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	hooks.Register(p.jobs)
	p.relay = outbox.NewRelay(db, p.clock, outbox.RelayOptions{Log: quiet})
	if p.sim, err = sim.New(sim.Config{Clock: p.clock, MinDelay: time.Second, MaxDelay: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.sim.Close() })
	simSrv := httptest.NewServer(p.sim)
	t.Cleanup(simSrv.Close)
	p.simURL = simSrv.URL
	srv := httpapi.New(httpapi.Deps{DB: db, Ledger: l, Auth: as, Customers: accounts.NewCustomers(db, p.clock, kr), Products: products,
		Operations: ops, Payments: svc, Jobs: p.jobs, Webhooks: hooks, Clock: p.clock}, httpapi.Config{})
	ts.Config.Handler = srv.Handler()
	ts.Start()
	p.url, p.key = ts.URL, key
	return p
}

// run runs the jobs due now.
func (p *paymentsServer) run(t *testing.T) {
	t.Helper()
	if _, err := p.jobs.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// orderPage is a page of payments orders list --json.
type orderPage struct {
	Items      []*httpapi.OrderView `json:"items"`
	NextCursor string               `json:"next_cursor"`
}

// TestClientPayments configures a channel, runs orders, a bulk file, jobs
// and webhooks with the client commands.
func TestClientPayments(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			cleanEnv(t)
			p := newPaymentsServer(t, engine)
			url, key := p.url, p.key
			mustFetch(t, 201, "POST", url+"/v1/assets", key, `{"code":"CNY","scale":2}`)
			mustFetch(t, 201, "POST", url+"/v1/products", key, `{"id":"wallet","name":"Wallet","class":"wallet","asset":"CNY",
				"chart_code":"2001","normal_side":"credit","channels":["bank_transfer"],"operations":["topup","withdraw"]}`)
			var clearing httpapi.AccountView
			clientJSON(t, url, key, &clearing, "accounts", "create", "--asset", "CNY", "--code", "1002", "--normal-side", "debit", "--overdraft", "unlimited")
			mustFetch(t, 201, "POST", url+"/v1/internal-accounts", key, `{"role":"clearing","channel":"bank_transfer","account_id":"`+clearing.ID+`"}`)
			var cu httpapi.CreatedCustomerView
			clientJSON(t, url, key, &cu, "customers", "create", "--name", "Payer")
			var opened httpapi.CustomerAccountView
			if err := json.Unmarshal([]byte(mustFetch(t, 201, "POST", url+"/v1/customers/"+cu.ID+"/accounts", key, `{"product_id":"wallet"}`)), &opened); err != nil {
				t.Fatal(err)
			}
			wallet := opened.Account.ID
			clientRun(t, url, key, exitOK, nil, "ops", "topup", "--account", wallet, "--channel", "bank_transfer", "--amount", "100.00", "--reference", "fund")

			// Channels.
			cfg := p.sim.ChannelConfig(p.simURL, channel.BankTransfer)
			t.Setenv("SUANPAN_CHANNEL_SECRET", cfg.Secret)
			var ch httpapi.ChannelView
			clientJSON(t, url, key, &ch, "payments", "channels", "create", "--code", "bank_transfer", "--kind", "bank_transfer", "--asset", "CNY",
				"--endpoint", cfg.Endpoint, "--merchant-id", cfg.MerchantID, "--timeout", "500ms")
			out := clientRun(t, url, key, exitOK, []string{ch.ID, "bank_transfer", "pay_in,pay_out", "active"}, "payments", "channels", "list")
			clientRun(t, url, key, exitOK, []string{"endpoint     " + cfg.Endpoint, "timeout      500ms", "version      1"}, "payments", "channels", "get", ch.ID)
			clientRun(t, url, key, exitOK, []string{"name         Bank", "directions   pay_in, pay_out", "timeout      2s", "version      2"},
				"payments", "channels", "update", ch.ID, "--name", "Bank", "--timeout", "2s")
			if strings.Contains(out, cfg.Secret) {
				t.Error("channels list printed the secret")
			}
			t.Setenv("SUANPAN_CHANNEL_SECRET", "")
			clientRun(t, url, key, exitError, []string{"--secret"}, "payments", "channels", "create", "--code", "x", "--kind", "cheque",
				"--asset", "CNY", "--endpoint", cfg.Endpoint, "--merchant-id", "m")
			clientRun(t, url, key, exitError, []string{"channel_exists"}, "payments", "channels", "create", "--code", "bank_transfer",
				"--kind", "bank_transfer", "--asset", "CNY", "--endpoint", cfg.Endpoint, "--merchant-id", "m", "--secret", "s")

			// Orders.
			var in httpapi.OrderView
			clientJSON(t, url, key, &in, "payments", "orders", "create", "--reference", "in-1", "--channel", ch.ID, "--direction", "pay_in",
				"--account", wallet, "--amount", "12.34")
			clientRun(t, url, key, exitOK, []string{"id             " + in.ID, "amount         12.34 CNY", "state          processing"},
				"payments", "orders", "create", "--reference", "in-1", "--channel", ch.ID, "--direction", "pay_in", "--account", wallet, "--amount", "12.34")
			clientRun(t, url, key, exitError, []string{"reference_conflict"}, "payments", "orders", "create", "--reference", "in-1",
				"--channel", ch.ID, "--direction", "pay_in", "--account", wallet, "--amount", "1")
			clientRun(t, url, key, exitError, []string{"too many decimal places"}, "payments", "orders", "create", "--reference", "in-2",
				"--channel", ch.ID, "--direction", "pay_in", "--account", wallet, "--amount", "1.001")
			var payout httpapi.OrderView
			clientJSON(t, url, key, &payout, "payments", "orders", "create", "--reference", "out-1", "--channel", ch.ID, "--direction", "pay_out",
				"--account", wallet, "--amount", "5", "--party", "6222020200112233", "--party-name", "Li Lei")
			clientRun(t, url, key, exitOK, []string{"party name     Li Lei", "hold           " + payout.HoldID}, "payments", "orders", "get", payout.ID)
			clientRun(t, url, key, exitOK, []string{payout.ID, "out-1", "5.00 CNY"}, "payments", "orders", "list", "--direction", "pay_out")
			clientRun(t, url, key, exitOK, []string{"more: --after " + in.ID}, "payments", "orders", "list", "--limit", "1")
			clientRun(t, url, key, exitOK, []string{"created", "processing", "start"}, "payments", "orders", "transitions", in.ID)
			clientRun(t, url, key, exitOK, []string{"state          failed", "channel ref    B-1"}, "payments", "orders", "settle", payout.ID,
				"--status", "failed", "--channel-ref", "B-1", "--reason", "statement")
			p.sim.Settle()
			clientRun(t, url, key, exitOK, []string{"state          succeeded"}, "payments", "orders", "get", in.ID)

			// A bulk file.
			file := filepath.Join(t.TempDir(), "salaries.csv")
			if err := os.WriteFile(file, []byte(payments.BatchHeader+"\ns1,"+wallet+",1.50,6222,Li Lei,salary,\ns2,"+wallet+",x,6222,,,\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			var batch payments.Batch
			clientJSON(t, url, key, &batch, "payments", "batches", "upload", file, "--reference", "nov", "--channel", ch.ID, "--direction", "pay_out")
			clientRun(t, url, key, exitOK, []string{"id           " + batch.ID, "status       processing", "lines        2"},
				"payments", "batches", "upload", file, "--reference", "nov", "--channel", ch.ID, "--direction", "pay_out")
			p.run(t) // the file's line becomes an order, its follow-up job due later
			var line orderPage
			clientJSON(t, url, key, &line, "payments", "orders", "list", "--batch", batch.ID)
			var pending struct {
				Items []jobs.Job `json:"items"`
			}
			clientJSON(t, url, key, &pending, "jobs", "list", "--kind", payments.JobFollow, "--state", "pending")
			job := ""
			for _, j := range pending.Items {
				if len(line.Items) == 1 && j.Key == line.Items[0].ID {
					job = j.ID
				}
			}
			if job == "" {
				t.Fatalf("no pending follow-up job of the bulk file's order %+v among %+v", line.Items, pending.Items)
			}
			clientRun(t, url, key, exitOK, []string{"kind         " + payments.JobFollow, "state        pending"}, "jobs", "get", job)
			clientRun(t, url, key, exitOK, []string{"state        cancelled"}, "jobs", "cancel", job)
			clientRun(t, url, key, exitError, []string{"invalid_job_change"}, "jobs", "cancel", job)
			clientRun(t, url, key, exitOK, []string{"state        pending", "attempts     0/"}, "jobs", "retry", job)
			clientRun(t, url, key, exitOK, []string{job, payments.JobFollow, "pending"}, "jobs", "list", "--state", "pending")
			p.run(t) // the retried follow-up job sends the bulk file's order
			p.sim.Settle()
			clientRun(t, url, key, exitOK, []string{"status       completed", "succeeded    1", "rejected     1"}, "payments", "batches", "get", batch.ID)
			clientRun(t, url, key, exitOK, []string{payments.BatchResultHeader, ",s1,", ",succeeded,", ",s2,,rejected,invalid_request,"},
				"payments", "batches", "results", batch.ID)
			clientRun(t, url, key, exitError, []string{"payment_batch_not_found"}, "payments", "batches", "get", "nope")

			// Webhooks.
			recv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			t.Cleanup(recv.Close)
			var hook httpapi.NewWebhookView
			clientJSON(t, url, key, &hook, "webhooks", "create", recv.URL, "--event", "payment_order.*", "--description", "orders")
			clientRun(t, url, key, exitOK, []string{"secret", "whsec_", "shown only now"}, "webhooks", "create", recv.URL)
			clientRun(t, url, key, exitOK, []string{hook.Webhook.ID, "payment_order.*", "true"}, "webhooks", "list")
			clientRun(t, url, key, exitError, []string{"invalid_request"}, "webhooks", "create", "ftp://example.com")
			clientRun(t, url, key, exitOK, nil, "payments", "orders", "create", "--reference", "in-3", "--channel", ch.ID,
				"--direction", "pay_in", "--account", wallet, "--amount", "1")
			if _, err := p.relay.FanOut(context.Background()); err != nil {
				t.Fatal(err)
			}
			var deliveries struct {
				Items []outbox.Delivery `json:"items"`
			}
			clientJSON(t, url, key, &deliveries, "webhooks", "deliveries", "--webhook", hook.Webhook.ID, "--state", "pending")
			if len(deliveries.Items) == 0 {
				t.Fatal("no pending deliveries")
			}
			p.run(t)
			d := deliveries.Items[0].ID
			clientRun(t, url, key, exitOK, []string{d, "delivered", "HTTP 200"}, "webhooks", "deliveries", "--webhook", hook.Webhook.ID)
			clientRun(t, url, key, exitOK, []string{"id        " + d, "state     pending"}, "webhooks", "redeliver", d)
			clientRun(t, url, key, exitOK, []string{"deleted " + hook.Webhook.ID}, "webhooks", "delete", hook.Webhook.ID)
			clientRun(t, url, key, exitError, []string{"webhook_not_found"}, "webhooks", "delete", hook.Webhook.ID)
		})
	}
}

// TestClientWebhookDeliveryLast checks how webhooks deliveries shows a
// delivery's last attempt: the delivery log's phrase for a failing status
// is the status, which is said once.
func TestClientWebhookDeliveryLast(t *testing.T) {
	tests := []struct {
		name   string
		status int64
		phrase string
		want   string
	}{
		{name: "none yet", want: ""},
		{name: "delivered", status: 200, want: "HTTP 200"},
		{name: "failing status", status: 500, phrase: "http 500", want: "HTTP 500"},
		{name: "no answer", phrase: "connection refused", want: "connection refused"},
		{name: "status and another phrase", status: 503, phrase: "timeout", want: "HTTP 503 timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lastAttempt(tt.status, tt.phrase); got != tt.want {
				t.Errorf("lastAttempt(%d, %q) = %q, want %q", tt.status, tt.phrase, got, tt.want)
			}
		})
	}
}
