package payments_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
)

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

const inst = "bank-a"

// world is an institution with a wallet product, a channel simulator and
// the payments service, on one store: the clock is fake and shared, jobs
// run when the test calls run, and the simulator decides and calls back
// when the test calls settle.
type world struct {
	t        *testing.T
	ctx      context.Context
	db       *store.DB
	clock    *clock.Fake // nil on a world with a real clock
	ledger   *ledger.Ledger
	ops      *accounts.Operations
	lc       *accounts.Lifecycle
	cust     *accounts.Customers
	jobs     *jobs.Scheduler
	svc      *payments.Service
	sim      *sim.Server
	simURL   string
	clearing map[string]string // channel code → clearing account
	keys     string            // the keyring sealing the channels' secrets, as ParseKeyring reads it
	fees     string
	channels map[channel.Kind]*payments.Channel
	// callbacks counts the callbacks the service answered, by HTTP status.
	mu        sync.Mutex
	callbacks map[int]int

	// simCfg configures the simulator, and serving is the one the server
	// at simURL hands requests to (newWorld's worlds): restartSim
	// replaces it.
	simCfg  sim.Config
	serving *atomic.Pointer[sim.Server]
}

// worldOptions tune newWorld.
type worldOptions struct {
	sim sim.Config
	// retry and timeoutMs set every channel's query policy and timeout.
	retry     payments.RetryPolicy
	timeoutMs int64
}

func newWorld(t *testing.T, db *store.DB, o worldOptions) *world {
	t.Helper()
	c := clock.NewFake(t0)
	o.sim.Clock = c
	if o.sim.MaxDelay == 0 {
		o.sim.MinDelay, o.sim.MaxDelay = time.Second, 5*time.Second
	}
	sm, err := sim.New(o.sim)
	if err != nil {
		t.Fatal(err)
	}
	serving := new(atomic.Pointer[sim.Server])
	serving.Store(sm)
	simSrv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { serving.Load().ServeHTTP(rw, r) }))
	t.Cleanup(simSrv.Close)
	t.Cleanup(func() { serving.Load().Close() }) // runs first: releases held connections
	w := newWorldOn(t, db, c, sm, simSrv.URL, o)
	w.clock, w.simCfg, w.serving = c, o.sim, serving
	return w
}

// restartSim stops the channel simulator and serves, at the same URL, a
// new one configured as the first but keeping its orders in dir: the
// first's directory, for a restart that keeps them, or another, for a
// channel that lost them.
func (w *world) restartSim(dir string) {
	w.t.Helper()
	if err := w.sim.Close(); err != nil {
		w.t.Fatalf("close the simulator: %v", err)
	}
	cfg := w.simCfg
	cfg.Dir = dir
	sm, err := sim.New(cfg)
	if err != nil {
		w.t.Fatalf("restart the simulator: %v", err)
	}
	w.sim = sm
	w.serving.Store(sm)
}

// newWorldOn builds the world on db with clock c and the simulator sm
// served at simURL.
func newWorldOn(t *testing.T, db *store.DB, c clock.Clock, sm *sim.Server, simURL string, o worldOptions) *world {
	t.Helper()
	ctx := context.Background()
	l := ledger.New(db, ledger.Options{Clock: c})
	t.Cleanup(func() { l.Close() })
	if _, err := l.CreateAsset(ctx, "CNY", 2); err != nil {
		t.Fatal(err)
	}
	products := accounts.NewProductService(db, c)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	keys := "k1:" + base64.StdEncoding.EncodeToString(key)
	kr, err := accounts.ParseKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, ctx: ctx, db: db, sim: sm, simURL: simURL, ledger: l, keys: keys, lc: accounts.NewLifecycle(l, products),
		cust: accounts.NewCustomers(db, c, kr), ops: accounts.NewOperations(l, products, accounts.OperationsConfig{}),
		clearing: map[string]string{}, channels: map[channel.Kind]*payments.Channel{}, callbacks: map[int]int{}}

	codes := make([]string, 0, len(channel.Kinds()))
	for _, k := range channel.Kinds() {
		codes = append(codes, string(k))
	}
	p := accounts.Product{ID: "wallet", InstitutionID: inst, Name: "Wallet", Class: accounts.ClassWallet, Asset: "CNY",
		ChartCode: "2001", NormalSide: ledger.Credit, Channels: codes, CreatedBy: "k1",
		Operations: []string{accounts.OpTopup, accounts.OpWithdraw, accounts.OpPayment, accounts.OpTransfer}}
	if _, err := products.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	internal := func(normal ledger.Side) string {
		a, err := l.CreateAccount(ctx, ledger.NewAccount{InstitutionID: inst, Asset: "CNY", Code: "1002",
			NormalSide: normal, Overdraft: ledger.OverdraftUnlimited})
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	w.fees = internal(ledger.Credit)
	if _, err := w.ops.RegisterInternalAccount(ctx, accounts.InternalAccount{Role: accounts.RoleFeeIncome, AccountID: w.fees, RegisteredBy: "k1"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, code := range codes {
		w.clearing[code] = internal(ledger.Debit)
		if _, err := w.ops.RegisterInternalAccount(ctx, accounts.InternalAccount{Role: accounts.RoleClearing, Channel: code,
			AccountID: w.clearing[code], RegisteredBy: "k1"}, nil); err != nil {
			t.Fatal(err)
		}
	}

	quiet := slog.New(slog.DiscardHandler)
	w.jobs = jobs.New(db, c, jobs.Options{Log: quiet})
	recv := httptest.NewServer(http.HandlerFunc(w.receive))
	t.Cleanup(recv.Close)
	w.svc = payments.New(payments.Config{DB: db, Ledger: l, Operations: w.ops, Jobs: w.jobs, Clock: c,
		CallbackURL: recv.URL + "/callbacks", Secrets: kr, Log: quiet})

	if o.timeoutMs == 0 {
		o.timeoutMs = 500
	}
	for _, k := range channel.Kinds() {
		cfg := w.sim.ChannelConfig(w.simURL, k)
		ch, err := w.svc.CreateChannel(ctx, payments.ChannelSpec{InstitutionID: inst, Code: string(k), Kind: k,
			Endpoint: cfg.Endpoint, MerchantID: cfg.MerchantID, Secret: cfg.Secret, Asset: "CNY",
			Params: payments.Params{TimeoutMs: o.timeoutMs, Retry: o.retry}})
		if err != nil {
			t.Fatalf("create channel %s: %v", k, err)
		}
		w.channels[k] = ch
	}
	return w
}

// receive is the service's callback endpoint.
func (w *world) receive(rw http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/callbacks/")
	body, _ := io.ReadAll(r.Body)
	_, ct, ack, err := w.svc.Callback(r.Context(), id, r.Header, body)
	status := http.StatusOK
	if err != nil {
		var pe *payments.Error
		status = http.StatusInternalServerError
		if errors.As(err, &pe) {
			status = http.StatusBadRequest
			if pe.Code == payments.CodeBadSignature {
				status = http.StatusUnauthorized
			}
		}
		rw.WriteHeader(status)
	} else {
		rw.Header().Set("Content-Type", ct)
		_, _ = rw.Write(ack)
	}
	w.mu.Lock()
	w.callbacks[status]++
	w.mu.Unlock()
}

// wallet opens a customer wallet funded with amount through bank_transfer.
func (w *world) wallet(amount int64) string {
	w.t.Helper()
	cu, err := w.cust.Create(w.ctx, accounts.NewCustomer{InstitutionID: inst, Type: accounts.Personal, Name: "Customer"})
	if err != nil {
		w.t.Fatal(err)
	}
	op, err := w.lc.Open(w.ctx, accounts.OpenRequest{CustomerID: cu.ID, ProductID: "wallet", OpenedBy: "k1"})
	if err != nil {
		w.t.Fatal(err)
	}
	if amount > 0 {
		if _, err := w.ops.TopUp(w.ctx, accounts.OperationRequest{Reference: "fund-" + op.Account.ID, Account: op.Account.ID,
			Channel: "bank_transfer", Amount: amount}); err != nil {
			w.t.Fatal(err)
		}
	}
	return op.Account.ID
}

func (w *world) balance(account string) ledger.Balances {
	w.t.Helper()
	a, err := w.ledger.GetAccount(w.ctx, account)
	if err != nil {
		w.t.Fatal(err)
	}
	return a.Balances
}

// create places an order; the request fields left empty get defaults.
func (w *world) create(r payments.OrderRequest) *payments.Order {
	w.t.Helper()
	o, _, err := w.svc.Create(w.ctx, r)
	if err != nil {
		w.t.Fatalf("create %s order: %v", r.Direction, err)
	}
	return o
}

func (w *world) order(id string) *payments.Order {
	w.t.Helper()
	o, err := w.svc.GetOrder(w.ctx, id, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return o
}

// run runs the jobs due now.
func (w *world) run() {
	w.t.Helper()
	if _, err := w.jobs.RunDue(w.ctx); err != nil {
		w.t.Fatal(err)
	}
}

// settle lets time pass in steps of d, n times: the simulator decides and
// calls back, and due jobs run (queries).
func (w *world) settle(d time.Duration, n int) {
	w.t.Helper()
	for range n {
		w.clock.Advance(d)
		w.sim.Step()
		w.run()
	}
}

// events counts the outbox events of type prefix about order id, by type.
func (w *world) events(id string) map[string]int {
	w.t.Helper()
	rows, err := w.db.Read.QueryContext(w.ctx, `SELECT type FROM events WHERE subject = $1`, "payment_order:"+id)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var typ string
		if err := rows.Scan(&typ); err != nil {
			w.t.Fatal(err)
		}
		out[typ]++
	}
	return out
}

// verify checks the ledger's invariants.
func (w *world) verify() {
	w.t.Helper()
	rep, err := w.ledger.Verify(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	if !rep.OK {
		w.t.Fatalf("ledger does not verify: %+v", rep)
	}
}

func cny(s string) int64 {
	v, err := money.Parse(s, 2)
	if err != nil {
		panic(err)
	}
	return v
}
