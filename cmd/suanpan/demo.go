package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/demo"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/payments/sim"
	"github.com/suanpan/suanpan/money"
)

// DemoCmd serves the API on an SQLite store of its own, seeded with a
// sample bank on first use, and prints an API key and commands to try.
type DemoCmd struct {
	Addr           string `default:"127.0.0.1:8080" env:"SUANPAN_ADDR" help:"Address to listen on, host:port."`
	EncryptionKeys string `name:"encryption-keys" placeholder:"ID:BASE64,…" env:"SUANPAN_ENCRYPTION_KEYS" help:"Keys that encrypt customers' identity fields, as for serve; when empty, a key is generated once into demo.db.keys in the data directory."`
	DataDir        string `name:"data-dir" default:"${demo_dir}" env:"SUANPAN_DEMO_DIR" help:"Directory of the demo's SQLite store (demo.db), API key (demo.key) and channel simulator's orders (channels/), created when missing and reused afterwards. Delete it to start over."`
}

// Files in the demo's data directory.
const (
	demoStoreFile = "demo.db"
	// demoKeyFile keeps the demo's admin API key, since the store keeps only
	// its hash and the demo prints the key at every start.
	demoKeyFile = "demo.key"
	// demoChannelsDir keeps the channel simulator's orders, so that a
	// restarted demo's channels know every order they acknowledged.
	demoChannelsDir = "channels"
)

// demoShutdownTimeout is shorter than serve's: nothing in a demo is worth
// waiting long for.
const demoShutdownTimeout = 5 * time.Second

// Run seeds the store (the first time), prints how to try the API and
// serves until ctx ends.
func (c *DemoCmd) Run(ctx context.Context, a *app) (err error) {
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("demo data directory: %w", err)
	}
	storeFlags := StoreFlags{Store: filepath.Join(c.DataDir, demoStoreFile), SQLiteSynchronous: "full"}
	db, _, err := storeFlags.open(ctx, a.log)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	cfg := defaultServerConfig()
	cfg.ShutdownTimeout = demoShutdownTimeout
	cfg.EncryptionKeys = c.EncryptionKeys
	srv, err := newAPIServer(ctx, db, cfg, a.log)
	if err != nil {
		return err
	}
	channels, err := startSim(filepath.Join(c.DataDir, demoChannelsDir))
	if err != nil {
		return errors.Join(err, srv.close())
	}
	defer channels.close()
	ln, welcome, err := c.prepare(ctx, a, srv)
	if err != nil {
		return errors.Join(err, srv.close())
	}
	// The payment orders need the API serving: the simulator calls back.
	return srv.serve(ctx, ln, func(addr net.Addr) {
		pay, err := demo.SeedPayments(ctx, db, srv.payments, channels.sim, channels.url)
		if err != nil {
			a.log.Error("seed the payment orders", "err", err)
		} else if pay.Recon, err = demo.SeedRecon(ctx, srv.recon, channels.sim, pay.Channels[demo.BankChannel], time.Now()); err != nil {
			a.log.Error("reconcile the bank statement", "err", err)
		}
		census, err := demo.Count(ctx, db)
		if err != nil {
			a.log.Error("count the sample", "err", err)
		}
		welcome(pay, census, channels.url)
		if a.listening != nil {
			a.listening(addr)
		}
	})
}

// demoSim is the channel simulator the demo's payment channels talk to.
type demoSim struct {
	sim *sim.Server
	url string
	hs  *http.Server
}

// startSim serves a channel simulator on a loopback port of its own,
// keeping its orders in dir.
func startSim(dir string) (*demoSim, error) {
	cfg := demo.SimConfig()
	cfg.Dir = dir
	sm, err := sim.New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		sm.Close()
		return nil, fmt.Errorf("channel simulator: %w", err)
	}
	d := &demoSim{sim: sm, url: "http://" + ln.Addr().String(), hs: &http.Server{Handler: sm, ReadHeaderTimeout: readHeaderTimeout}}
	go func() { _ = d.hs.Serve(ln) }()
	return d, nil
}

// close stops the simulator (releasing the connections it holds), then
// its server.
func (d *demoSim) close() {
	d.sim.Close()
	_ = d.hs.Close()
}

// prepare bootstraps and seeds the store and listens; the welcome it
// returns prints how to try the demo, once the payment orders are made.
func (c *DemoCmd) prepare(ctx context.Context, a *app, srv *apiServer) (net.Listener, func(*demo.PaymentsSample, *demo.Census, string), error) {
	token, err := c.apiKey(ctx, srv)
	if err != nil {
		return nil, nil, err
	}
	start := time.Now()
	sample, err := demo.Seed(ctx, srv.ledger, srv.auth, srv.cfg.RootInstitution)
	if err != nil {
		return nil, nil, err
	}
	// The sample's institutions join the key's scope, which checking the
	// key cached without them.
	srv.auth.ForgetScopes()
	api := srv.api
	more, err := demo.SeedAccounts(ctx, srv.ledger, demo.Services{Customers: api.Customers, Products: api.Products,
		Lifecycle: api.Lifecycle, Operations: api.Operations})
	if err != nil {
		return nil, nil, err
	}
	if sample.Seeded || more.Seeded {
		a.log.Info("seeded the demo store", "accounts", sample.Accounts, "transactions", sample.Transactions,
			"customers", more.Customers+more.Merchants, "operations", more.Operations,
			"duration_ms", time.Since(start).Milliseconds())
	}
	ln, err := listen(c.Addr)
	if err != nil {
		return nil, nil, err
	}
	url := baseURL(srv.scheme(), ln.Addr())
	return ln, func(pay *demo.PaymentsSample, census *demo.Census, simURL string) {
		printDemo(a.stdout, url, token, c.DataDir, sample, more, pay, census, simURL)
	}, nil
}

// apiKey returns the demo's admin API key: the one kept in the data
// directory, or a new one that it keeps there. Bootstrap makes it the
// store's first key; should the store have other keys but not this one (the
// file was deleted), a new admin key replaces the file.
func (c *DemoCmd) apiKey(ctx context.Context, srv *apiServer) (string, error) {
	path := filepath.Join(c.DataDir, demoKeyFile)
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("demo API key: %w", err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		token = auth.NewToken()
		if err := writeSecret(path, token); err != nil {
			return "", err
		}
	}
	if _, err := srv.bootstrap(ctx, token); err != nil {
		return "", err
	}
	_, err = srv.auth.Authenticate(ctx, token)
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Code != auth.CodeUnauthenticated {
		return token, err // nil: the kept key works
	}
	_, token, err = srv.auth.CreateKey(ctx, srv.cfg.RootInstitution, auth.RoleAdmin, "demo admin", "demo")
	if err != nil {
		return "", fmt.Errorf("demo API key: %w", err)
	}
	return token, writeSecret(path, token)
}

// writeSecret writes a secret to a file only its owner can read.
func writeSecret(path, secret string) error {
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("keep the demo API key: %w", err)
	}
	return os.Chmod(path, 0o600) // WriteFile keeps an existing file's mode
}

// printDemo prints where the demo is, its API key, and curl commands that
// work on the sample as printed: five, or three when the payment orders
// could not be made (pay nil). The ledger's counts are the store's
// (census; nil when it could not be taken), not the seed's, so that they
// hold on every start however far the sample has moved on.
func printDemo(w io.Writer, url, token, dir string, s *demo.Sample, more *demo.AccountsSample, pay *demo.PaymentsSample,
	census *demo.Census, simURL string) {
	state := "seeded just now"
	if !s.Seeded {
		state = "kept from an earlier run"
	}
	fmt.Fprintf(w, "Suanpan demo: %s with %d customer wallets and %d merchants (%s).\n",
		demo.Bank, len(s.Wallets), len(s.Merchants), state)
	fmt.Fprintf(w, "It also has %d customers and %d merchants with accounts on the products %s, and %d operations on them.\n",
		more.Customers, more.Merchants, strings.Join(more.Products, ", "), more.Operations)
	if census != nil {
		fmt.Fprintf(w, "Its ledger holds %d transactions and %d open holds.\n", census.Transactions, census.OpenHolds)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  API       %s\n", url)
	fmt.Fprintf(w, "  API docs  %s/docs\n", url)
	fmt.Fprintf(w, "  Channels  %s (a simulator of the payment channels, with faults)\n", simURL)
	fmt.Fprintf(w, "  API key   %s\n", token)
	fmt.Fprintf(w, "            (admin of every institution; kept in %s)\n\n", filepath.Join(dir, demoKeyFile))

	authHeader := "-H 'Authorization: Bearer " + token + "'"
	payer, payee := s.Wallets[0], s.Wallets[1]
	type posting struct {
		Debit  string `json:"debit"`
		Credit string `json:"credit"`
		Asset  string `json:"asset"`
		Amount int64  `json:"amount"`
	}
	transfer, _ := json.Marshal(struct { // cannot fail: strings and numbers
		InstitutionID string    `json:"institution_id"`
		Reference     string    `json:"reference"`
		Type          string    `json:"type"`
		Postings      []posting `json:"postings"`
	}{demo.Bank, "demo-transfer-1", "transfer", []posting{{payer, payee, "CNY", 1234}}})
	fmt.Fprintf(w, "Try it:\n\n")
	fmt.Fprintf(w, "  # the customer wallets\n")
	fmt.Fprintf(w, "  curl -sS '%s/v1/accounts?code=2001&limit=5' \\\n    %s\n\n", url, authHeader)
	fmt.Fprintf(w, "  # one wallet's balance\n")
	fmt.Fprintf(w, "  curl -sS '%s/v1/accounts/%s/balance' \\\n    %s\n\n", url, payer, authHeader)
	fmt.Fprintf(w, "  # move %s CNY to another wallet; the same Idempotency-Key never moves it twice\n", money.Format(1234, 2))
	fmt.Fprintf(w, "  curl -sS -X POST '%s/v1/transactions' \\\n    %s \\\n    -H 'Content-Type: application/json' \\\n"+
		"    -H 'Idempotency-Key: demo-transfer-1' \\\n    -d '%s'\n\n", url, authHeader, transfer)
	if pay != nil {
		var states []string
		for _, st := range []payments.State{payments.StateCreated, payments.StateProcessing, payments.StateUnknown,
			payments.StateSucceeded, payments.StateFailed} {
			states = append(states, fmt.Sprintf("%d %s", pay.States[st], st))
		}
		fmt.Fprintf(w, "  # payment orders through the channels (%s; the simulator settles the open ones within two minutes)\n",
			strings.Join(states, ", "))
		fmt.Fprintf(w, "  curl -sS '%s/v1/payments/orders?limit=20' \\\n    %s\n\n", url, authHeader)
		if r := pay.Recon; r != nil {
			fmt.Fprintf(w, "  # today's bank statement so far, reconciled (%d lines and %d orders: %d matched, %d late, %d discrepancies open)\n",
				r.Counts["lines"], r.Counts["orders"], r.Counts["matched"], r.Counts["late"], r.Counts["open"])
			fmt.Fprintf(w, "  curl -sS '%s/v1/recon/runs/%s' \\\n    %s\n\n", url, r.ID, authHeader)
		}
	}
	fmt.Fprintf(w, "Or with the client commands:\n\n")
	fmt.Fprintf(w, "  export SUANPAN_SERVER=%s SUANPAN_API_KEY=%s\n", url, token)
	fmt.Fprintf(w, "  suanpan balance %s\n", payer)
	fmt.Fprintf(w, "  suanpan customers list --type personal --limit 5\n")
	fmt.Fprintf(w, "  suanpan products get %s --institution %s\n", demo.WalletProduct, demo.Bank)
	fmt.Fprintf(w, "  suanpan payments orders list --limit 20\n\n")
	fmt.Fprintf(w, "Stop with Ctrl-C; the data stays in %s for the next run (delete it to start over).\n", dir)
}
