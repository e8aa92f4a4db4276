package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/eod"
	"github.com/suanpan/suanpan/internal/httpapi"
	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
	"github.com/suanpan/suanpan/internal/recon"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// reconServer is the API in this process with the payments,
// reconciliation and end-of-day services on a fake clock, a channel
// simulator it calls, and two admin keys: a write-off one proposes the
// other approves.
type reconServer struct {
	url, key, approver string
	clock              *clock.Fake
	sim                *sim.Server
	simURL             string
	ops                *accounts.Operations
}

func newReconServer(t *testing.T, engine store.Dialect) *reconServer {
	t.Helper()
	kr, err := accounts.NewKeyring(accounts.Key{ID: "k1", Secret: make([]byte, accounts.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	return newReconServerOn(t, storetest.Open(t, engine), kr, clock.NewFake(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)))
}

// newReconServerOn is newReconServer on db, with the keys that encrypt
// the channels' secrets and the clock given.
func newReconServerOn(t *testing.T, db *store.DB, kr *accounts.Keyring, clk *clock.Fake) *reconServer {
	t.Helper()
	ctx := context.Background()
	r := &reconServer{clock: clk}
	l := ledger.New(db, ledger.Options{Clock: r.clock})
	t.Cleanup(func() { l.Close() })
	as := auth.NewService(db, r.clock)
	key, err := as.Bootstrap(ctx, "root", "Root", "")
	if err != nil {
		t.Fatal(err)
	}
	_, approver, err := as.CreateKey(ctx, "root", auth.RoleAdmin, "approver", "test")
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	products := accounts.NewProductService(db, r.clock)
	r.ops = accounts.NewOperations(l, products, accounts.OperationsConfig{})
	js := jobs.New(db, r.clock, jobs.Options{Log: quiet})
	ts := httptest.NewUnstartedServer(nil)
	t.Cleanup(ts.Close)
	pay := payments.New(payments.Config{DB: db, Ledger: l, Operations: r.ops, Jobs: js, Clock: r.clock,
		CallbackURL: "http://" + ts.Listener.Addr().String() + "/v1/payments/callbacks", Secrets: kr, Log: quiet})
	rec := recon.New(recon.Config{Ledger: l, Payments: pay, Operations: r.ops, Clock: r.clock, Log: quiet})
	if r.sim, err = sim.New(sim.Config{Clock: r.clock, MinDelay: time.Second, MaxDelay: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.sim.Close() })
	simSrv := httptest.NewServer(r.sim)
	t.Cleanup(simSrv.Close)
	r.simURL = simSrv.URL
	srv := httpapi.New(httpapi.Deps{DB: db, Ledger: l, Auth: as, Customers: accounts.NewCustomers(db, r.clock, kr), Products: products,
		Operations: r.ops, Payments: pay, Jobs: js, Recon: rec, EOD: eod.New(eod.Config{Ledger: l, Reconciler: rec}), Clock: r.clock,
		Log: quiet}, httpapi.Config{})
	ts.Config.Handler = srv.Handler()
	ts.Start()
	r.url, r.key, r.approver = ts.URL, key, approver
	return r
}

// books sets up what reconciling a channel needs, with the client
// commands where there is one: the asset CNY, a wallet product, the
// channel's clearing account, suspense and write-off accounts, a
// customer's wallet and a bank_transfer channel of the simulator. It
// returns the channel and the wallet.
func (r *reconServer) books(t *testing.T) (ch httpapi.ChannelView, wallet string) {
	t.Helper()
	url, key := r.url, r.key
	mustFetch(t, 201, "POST", url+"/v1/assets", key, `{"code":"CNY","scale":2}`)
	mustFetch(t, 201, "POST", url+"/v1/products", key, `{"id":"wallet","name":"Wallet","class":"wallet","asset":"CNY",
		"chart_code":"2001","normal_side":"credit","channels":["bank_transfer"],"operations":["topup","withdraw"]}`)
	internal := map[string]string{}
	for _, a := range []struct{ role, code string }{{"clearing", "1002"}, {"suspense", "1901"}, {"write_off", "6711"}} {
		var acct httpapi.AccountView
		clientJSON(t, url, key, &acct, "accounts", "create", "--asset", "CNY", "--code", a.code, "--normal-side", "debit",
			"--overdraft", "unlimited", "--name", a.role)
		internal[a.role] = acct.ID
	}
	mustFetch(t, 201, "POST", url+"/v1/internal-accounts", key, `{"role":"clearing","channel":"bank_transfer","account_id":"`+internal["clearing"]+`"}`)
	for _, role := range []string{"suspense", "write_off"} {
		// POST /v1/internal-accounts does not take these roles yet:
		// register them through the service.
		if _, err := r.ops.RegisterInternalAccount(context.Background(), accounts.InternalAccount{InstitutionID: "root", Role: role,
			Asset: "CNY", AccountID: internal[role], RegisteredBy: "test"}, nil); err != nil {
			t.Fatalf("register %s: %v", role, err)
		}
	}
	var cu httpapi.CreatedCustomerView
	clientJSON(t, url, key, &cu, "customers", "create", "--name", "Payer")
	var opened httpapi.CustomerAccountView
	if err := json.Unmarshal([]byte(mustFetch(t, 201, "POST", url+"/v1/customers/"+cu.ID+"/accounts", key, `{"product_id":"wallet"}`)), &opened); err != nil {
		t.Fatal(err)
	}
	cfg := r.sim.ChannelConfig(r.simURL, channel.BankTransfer)
	t.Setenv("SUANPAN_CHANNEL_SECRET", cfg.Secret)
	clientJSON(t, url, key, &ch, "payments", "channels", "create", "--code", "bank_transfer", "--kind", "bank_transfer", "--asset", "CNY",
		"--endpoint", cfg.Endpoint, "--merchant-id", cfg.MerchantID)
	t.Setenv("SUANPAN_CHANNEL_SECRET", "")
	return ch, opened.Account.ID
}

// payIn creates a pay-in order of amount (a decimal) into wallet.
func (r *reconServer) payIn(t *testing.T, ch, wallet, reference, amount string) httpapi.OrderView {
	t.Helper()
	var o httpapi.OrderView
	clientJSON(t, r.url, r.key, &o, "payments", "orders", "create", "--reference", reference, "--channel", ch, "--direction", "pay_in",
		"--account", wallet, "--amount", amount)
	return o
}

// statementFormat is a CSV column map for the test's statement files.
const statementFormat = `{"kind": "csv", "columns": {"header": true, "order_id": "order_id", "amount": "amount",
	"status": "status", "time": "time", "amount_format": "decimal", "default_direction": "pay_in", "default_asset": "CNY",
	"status_values": {"OK": "succeeded", "FAIL": "failed"}, "time_layout": "2006-01-02 15:04:05", "time_zone": "UTC"}}`

// discrepancyPage is a page of recon discrepancies --json.
type discrepancyPage struct {
	Items      []*recon.Discrepancy `json:"items"`
	NextCursor string               `json:"next_cursor"`
}

// TestClientRecon configures a channel's reconciliation, imports a
// statement, reconciles it (dry, then for real), decides the
// discrepancies, closes the day through the API and downloads its reports,
// with the client commands.
func TestClientRecon(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			cleanEnv(t)
			r := newReconServer(t, engine)
			url, key := r.url, r.key
			const day = "2026-11-02"

			ch, wallet := r.books(t)
			in1, in2 := r.payIn(t, ch.ID, wallet, "in-1", "12.34"), r.payIn(t, ch.ID, wallet, "in-2", "6.00")
			r.sim.Settle()
			clientRun(t, url, key, exitOK, []string{"state          succeeded"}, "payments", "orders", "get", in2.ID)

			// Settings.
			clientRun(t, url, key, exitOK, []string{"format               native", "late window          48h0m0s", "auto-fail short      yes",
				"version              0"}, "recon", "settings", "get", ch.ID)
			formatFile := filepath.Join(t.TempDir(), "format.json")
			writeFile(t, formatFile, statementFormat)
			clientRun(t, url, key, exitOK, []string{"format               csv", `"order_id":"order_id"`, "amount tolerance     1 (0.01 CNY)",
				"late window          24h0m0s", "alert amount         500 (5.00 CNY)", "auto-fail short      no", "version              1"},
				"recon", "settings", "set", ch.ID, "--format-file", formatFile, "--amount-tolerance", "0.01", "--late-window", "24h",
				"--alert-count", "5", "--alert-amount", "5", "--no-auto-fail-short")
			clientRun(t, url, key, exitOK, []string{"format               csv", "amount tolerance     1 (0.01 CNY)", "auto-fail short      yes",
				"version              2"}, "recon", "settings", "set", ch.ID, "--auto-fail-short")
			writeFile(t, formatFile, `{"kind": "csv", "colums": {}}`)
			clientRun(t, url, key, exitError, []string{"unknown field", "colums"}, "recon", "settings", "set", ch.ID, "--format-file", formatFile)
			clientRun(t, url, key, exitError, []string{"--late-window"}, "recon", "settings", "set", ch.ID, "--late-window=-1s")

			// The statement: in-1 as booked, in-2 short of 1.00, and a
			// payment Suanpan knows nothing of.
			file := filepath.Join(t.TempDir(), "statement.csv")
			writeFile(t, file, "order_id,amount,status,time\n"+in1.ID+",12.34,OK,2026-11-02 09:00:05\n"+
				in2.ID+",5.00,OK,2026-11-02 09:00:06\nunknown-9,7.00,OK,2026-11-02 10:00:00\n")
			clientRun(t, url, key, exitOK, []string{"lines        3", "credits      2434 (24.34 CNY)", "fees         0 (0.00 CNY)",
				"format       csv", "\nimported\n"}, "recon", "import", "--channel", ch.ID, "--date", day, file)
			var st recon.Statement
			clientJSON(t, url, key, &st, "recon", "import", "--channel", ch.ID, "--date", day, file)
			clientRun(t, url, key, exitOK, []string{"sha-256      " + st.SHA256, "already imported"}, "recon", "import", "--channel", ch.ID,
				"--date", day, file)
			writeFile(t, file, "order_id,amount,status,time\n"+in1.ID+",12.34,OK,2026-11-02 09:00:05\n")
			clientRun(t, url, key, exitError, []string{"statement_exists"}, "recon", "import", "--channel", ch.ID, "--date", day, file)

			// Runs: after the late window, so that the unknown line is a
			// discrepancy rather than late.
			r.clock.Advance(3 * 24 * time.Hour)
			clientRun(t, url, key, exitError, []string{"--channel or --institution"}, "recon", "run", "--date", day)
			clientRun(t, url, key, exitOK, []string{"dry run of statement " + st.ID, "3 line(s), 2 order(s)",
				"matched 1, long 1, amount_mismatch 1", "park 2", "amount_mismatch", "-100 (-1.00 CNY)", "700 (7.00 CNY)"},
				"recon", "run", "--date", day, "--channel", ch.ID, "--dry-run")
			clientRun(t, url, key, exitOK, []string{"ID  KIND"}, "recon", "discrepancies")
			var runs recon.Branches
			clientJSON(t, url, key, &runs, "recon", "run", "--date", day, "--institution", "root", "--subtree", "--dry-run")
			if len(runs.Runs) != 1 || len(runs.Runs[0].Items) != 3 || runs.Runs[0].ID != "" {
				t.Fatalf("dry run of the branch = %+v, want one run of 3 items, not recorded", runs)
			}
			clientRun(t, url, key, exitOK, []string{"channel " + ch.ID + ": run ", "matched 1, long 1, amount_mismatch 1",
				"open           2, 800 (8.00 CNY)", "alerted        yes"}, "recon", "run", "--date", day, "--channel", ch.ID)

			// Discrepancies and their decisions.
			var open discrepancyPage
			clientJSON(t, url, key, &open, "recon", "discrepancies", "--status", "open")
			if len(open.Items) != 2 {
				t.Fatalf("open discrepancies = %+v, want 2", open.Items)
			}
			ids := map[string]string{}
			for _, d := range open.Items {
				ids[string(d.Kind)] = d.ID
			}
			long, short := ids["long"], ids["amount_mismatch"]
			clientRun(t, url, key, exitOK, []string{open.Items[0].ID, "more: --after " + open.Items[0].ID},
				"recon", "discrepancies", "--status", "open", "--limit", "1")
			clientRun(t, url, key, exitOK, []string{long, "long", ch.ID, "700 (7.00 CNY)", "open"}, "recon", "discrepancies", "--kind", "long")
			clientRun(t, url, key, exitOK, []string{"status       resolved", "resolution   accept_suanpan", "note         channel corrects"},
				"recon", "resolve", long, "--action", "accept_suanpan", "--note", "channel corrects")
			clientRun(t, url, key, exitError, []string{"discrepancy_closed"}, "recon", "resolve", long, "--action", "write_off", "--note", "again")
			clientRun(t, url, key, exitOK, []string{"status       write_off_pending", "difference   -100 (-1.00 CNY)"},
				"recon", "resolve", short, "--action", "write_off", "--note", "not worth chasing")
			clientRun(t, url, key, exitError, []string{"approver_is_maker"}, "recon", "approve", short)
			clientRun(t, url, r.approver, exitOK, []string{"status       open"}, "recon", "reject", short, "--note", "ask the bank first")
			clientRun(t, url, key, exitOK, []string{"status       write_off_pending"}, "recon", "resolve", short, "--action", "write_off",
				"--note", "the bank says no")
			clientRun(t, url, r.approver, exitOK, []string{"status       resolved", "resolution   write_off"}, "recon", "approve", short,
				"--note", "ok")
			clientRun(t, url, key, exitOK, []string{"amount_mismatch", "resolved"}, "recon", "discrepancies", "--kind", "amount_mismatch")

			// The day's close, run through the API, and its reports.
			clientRun(t, url, key, exitOK, []string{"no end-of-day runs"}, "eod", "status")
			mustFetch(t, 200, "POST", url+"/v1/eod/runs", key, `{"date":"`+day+`"}`)
			var run eod.Run
			clientJSON(t, url, key, &run, "eod", "status", "--date", day)
			if !run.Status.Done() || run.ManifestSHA256 == "" || len(run.Steps) != len(eod.Steps()) {
				t.Fatalf("eod status --date %s = %+v, want a completed run with its steps", day, run)
			}
			clientRun(t, url, key, exitOK, []string{day, string(run.Status), run.ManifestSHA256}, "eod", "status")
			clientRun(t, url, key, exitOK, []string{"reconcile          ", "1 channel(s), 0 without a statement; 1 matched",
				"settlement_report  done", "manifest-" + day + ".json lists"}, "eod", "status", "--date", day)
			dir := filepath.Join(t.TempDir(), "reports")
			out := clientRun(t, url, key, exitOK, []string{"manifest-" + day + ".json", "settlement-root-" + day + ".csv",
				"vouchers-root-" + day + ".csv", "SHA-256 checked"}, "eod", "reports", "--date", day, "--out", dir)
			var reports struct {
				Items []*eod.Artifact `json:"items"`
			}
			clientJSON(t, url, key, &reports, "eod", "reports", "--date", day)
			checkReports(t, dir, reports.Items, run.ManifestSHA256)
			if !strings.Contains(out, "wrote "+fmt.Sprint(len(reports.Items))+" report(s)") {
				t.Errorf("eod reports --out printed:\n%s", out)
			}
			clientRun(t, url, key, exitError, []string{"eod_not_found"}, "eod", "reports", "--date", "2026-11-01")
		})
	}
}

// checkReports checks that dir holds exactly the reports, each with its
// SHA-256, and that the manifest's is manifest.
func checkReports(t *testing.T, dir string, reports []*eod.Artifact, manifest string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(reports) {
		t.Errorf("%s holds %d files, want the %d reports", dir, len(entries), len(reports))
	}
	sawManifest := false
	for _, r := range reports {
		content, err := os.ReadFile(filepath.Join(dir, r.Name))
		if err != nil {
			t.Errorf("report %s: %v", r.Name, err)
			continue
		}
		if got := sha256Hex(content); got != r.SHA256 || int64(len(content)) != r.Size {
			t.Errorf("%s: SHA-256 %s, %d bytes; the listing says %s, %d bytes", r.Name, got, len(content), r.SHA256, r.Size)
		}
		if r.Step == eod.StepArchive {
			sawManifest = true
			if r.SHA256 != manifest {
				t.Errorf("manifest %s has SHA-256 %s, the run %s", r.Name, r.SHA256, manifest)
			}
		}
	}
	if !sawManifest {
		t.Errorf("no manifest among the reports %+v", reports)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestEODReportsChecksDownloads serves reports that do not match what the
// server says of them: the client writes none of them.
func TestEODReportsChecksDownloads(t *testing.T) {
	content := []byte(`{"date":"2026-11-02","artifacts":[]}` + "\n")
	tests := []struct {
		name, report, header, want string
		listed                     string // the listing's SHA-256; default the content's
	}{
		{name: "header differs", report: "manifest-2026-11-02.json", header: sha256Hex([]byte("other")), want: "X-Content-SHA256"},
		{name: "no header", report: "manifest-2026-11-02.json", want: "no X-Content-SHA256"},
		{name: "listing differs", report: "manifest-2026-11-02.json", header: sha256Hex(content), listed: sha256Hex([]byte("x")),
			want: "the run lists"},
		{name: "name leaves the directory", report: "../manifest.json", header: sha256Hex(content), want: "not a plain file name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			listed := tt.listed
			if listed == "" {
				listed = sha256Hex(content)
			}
			mux := http.NewServeMux()
			mux.HandleFunc("GET /v1/eod/runs/2026-11-02/reports", func(w http.ResponseWriter, _ *http.Request) {
				_ = json.NewEncoder(w).Encode(map[string]any{"items": []*eod.Artifact{{Date: "2026-11-02", Name: tt.report,
					Step: eod.StepArchive, Size: int64(len(content)), SHA256: listed}}})
			})
			mux.HandleFunc("GET /v1/eod/runs/2026-11-02/reports/{name}", func(w http.ResponseWriter, _ *http.Request) {
				if tt.header != "" {
					w.Header().Set("X-Content-SHA256", tt.header)
				}
				_, _ = w.Write(content)
			})
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			dir := filepath.Join(t.TempDir(), "out")
			clientRun(t, srv.URL, "k", exitError, []string{tt.want}, "eod", "reports", "--date", "2026-11-02", "--out", dir)
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("%s holds %d files after a failed download, want none", dir, len(entries))
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "manifest.json")); err == nil {
				t.Error("a report was written outside --out")
			}
		})
	}
}
