package payments_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// The chaos child's environment: the store, the setup file (wallets and
// channel), and the port its callback endpoint listens on.
const (
	chaosEnvStore = "SUANPAN_CHAOS_STORE"
	chaosEnvSetup = "SUANPAN_CHAOS_SETUP"
	chaosEnvPort  = "SUANPAN_CHAOS_PORT"
)

const (
	chaosOrders  = 1500
	chaosWallets = 16
	chaosKills   = 4
	chaosWorkers = 8
	chaosFund    = 10_000_000 // minor units per wallet: more than its orders
	chaosFinal   = 3 * time.Minute
)

// chaosSimRestarts: the simulator is restarted on its data directory in
// the middle of rounds 2 and 4 and of the last one.
const chaosSimRestarts = 3

type chaosSetup struct {
	Wallets []string `json:"wallets"`
	Channel string   `json:"channel"`
	Keys    string   `json:"keys"` // the keyring the channel's secret is sealed with
}

// chaosAmount is order i's amount: the same in every run of the child.
func chaosAmount(i int) int64 { return 100 + int64(i%97) }

// TestChaos places pay-outs against a simulator with high fault rates in
// a child process that is killed with SIGKILL several times and
// restarted; the last run finishes. The simulator itself is restarted on
// its data directory in the middle of some rounds, as a channel's own
// outage would. Then every order is final and agrees with the simulator's
// record, no order was paid twice (by Suanpan, or at the channel across
// its restarts), no hold is left open, every wallet lost exactly its
// succeeded orders, and the ledger verifies.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary and kills it; skipped with -short")
	}
	for _, d := range storetest.Engines() {
		t.Run(string(d), func(t *testing.T) {
			start := time.Now()
			loc := storetest.Location(t, d)
			sh, err := newChaosSim(sim.Config{Seed: 7, FailRate: 2000, TimeoutRate: 1000, LateRate: 1000, DropCallbackRate: 3000,
				DuplicateCallbackRate: 2000, OutOfOrderRate: 2000, BadSignatureRate: 1000,
				MinDelay: 10 * time.Millisecond, MaxDelay: 300 * time.Millisecond, HoldFor: 2 * time.Second,
				Interval: 10 * time.Millisecond, Client: &http.Client{Timeout: time.Second}, Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(sh)
			defer srv.Close()
			defer sh.close() // runs first: releases held connections
			setupPath := filepath.Join(t.TempDir(), "setup.json")
			chaosPrepare(t, loc, sh.current(), srv.URL, setupPath)
			port := freePort(t)

			seed := rand.Uint64()
			t.Logf("kill delays seeded with %d", seed)
			rng := rand.New(rand.NewPCG(seed, 0))
			for round := 1; round <= chaosKills+1; round++ {
				var delay, restart time.Duration
				if round <= chaosKills {
					delay = 300*time.Millisecond + time.Duration(rng.Int64N(int64(2*time.Second)))
				}
				if round%2 == 0 {
					restart = delay / 2
				}
				if round == chaosKills+1 {
					restart = 300*time.Millisecond + time.Duration(rng.Int64N(int64(2*time.Second)))
				}
				chaosRun(t, loc, setupPath, port, delay, restart, sh)
				what := map[bool]string{true: "killed after " + delay.Round(time.Millisecond).String(), false: "ran to the end"}[delay > 0]
				if restart > 0 {
					what += "; simulator restarted after " + restart.Round(time.Millisecond).String()
				}
				t.Logf("round %d: %s", round, what)
			}
			if sh.restarts != chaosSimRestarts {
				t.Errorf("the simulator was restarted %d times, want %d", sh.restarts, chaosSimRestarts)
			}
			chaosCheck(t, loc, sh, setupPath)
			st := sh.stats
			t.Logf("%s: %v; simulator: %d starts (%d repeats, %d dropped), %d late, %d queries, %d callbacks (%d bad signatures), %d orders restored",
				d, time.Since(start).Round(time.Millisecond), st.Starts, st.Repeats, st.Dropped, st.Late, st.Queries, st.Callbacks,
				st.BadSignatures, st.Restored)
		})
	}
}

// chaosSim is the chaos test's channel simulator, restarted on its data
// directory now and then while it serves at one URL.
type chaosSim struct {
	cfg sim.Config
	cur atomic.Pointer[sim.Server]

	mu       sync.Mutex
	restarts int
	// paid records, per order ID, the successes each simulator that ran
	// recorded (its reference and decision time): one, if the channel
	// never paid an order twice.
	paid  map[string]map[string]bool
	stats sim.Stats // added up over the simulators that ran
}

func newChaosSim(cfg sim.Config) (*chaosSim, error) {
	s, err := sim.New(cfg)
	if err != nil {
		return nil, err
	}
	h := &chaosSim{cfg: cfg, paid: map[string]map[string]bool{}}
	h.cur.Store(s)
	return h, nil
}

func (h *chaosSim) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.current().ServeHTTP(w, r) }

func (h *chaosSim) current() *sim.Server { return h.cur.Load() }

// retire closes the current simulator and notes what it did.
func (h *chaosSim) retire() error {
	s := h.current()
	err := s.Close()
	for _, o := range s.Orders() {
		if o.Status == channel.Succeeded {
			if h.paid[o.ID] == nil {
				h.paid[o.ID] = map[string]bool{}
			}
			h.paid[o.ID][o.Ref+"@"+o.DecidedAt.String()] = true
		}
	}
	st := s.Stats()
	h.stats.Starts += st.Starts
	h.stats.Repeats += st.Repeats
	h.stats.Dropped += st.Dropped
	h.stats.Late += st.Late
	h.stats.Queries += st.Queries
	h.stats.Callbacks += st.Callbacks
	h.stats.BadSignatures += st.BadSignatures
	h.stats.Restored += st.Restored
	return err
}

// restart replaces the simulator by a new one on the same directory.
func (h *chaosSim) restart() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.retire(); err != nil {
		return err
	}
	s, err := sim.New(h.cfg)
	if err != nil {
		return err
	}
	h.cur.Store(s)
	h.restarts++
	return nil
}

// close closes the last simulator, noting what it did.
func (h *chaosSim) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	_ = h.retire()
}

// chaosPrepare creates the books: funded wallets and the channel.
func chaosPrepare(t *testing.T, loc string, sm *sim.Server, simURL, setupPath string) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, loc, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	w := newWorldOn(t, db, clock.Real{}, sm, simURL, worldOptions{timeoutMs: 300,
		retry: payments.RetryPolicy{MaxAttempts: 1000, BackoffMs: 50, MaxBackoffMs: 500}})
	setup := chaosSetup{Channel: w.channels[channel.BankTransfer].ID, Keys: w.keys}
	for range chaosWallets {
		setup.Wallets = append(setup.Wallets, w.wallet(chaosFund))
	}
	data, _ := json.Marshal(setup)
	if err := os.WriteFile(setupPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	w.ledger.Close()
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// chaosRun runs the child; with delay > 0 it kills it with SIGKILL after
// delay, otherwise waits for it to finish. With restart > 0 it restarts
// the simulator that long after starting the child.
func chaosRun(t *testing.T, loc, setupPath, port string, delay, restart time.Duration, sh *chaosSim) {
	t.Helper()
	if restart > 0 {
		restarted := make(chan error, 1)
		timer := time.AfterFunc(restart, func() { restarted <- sh.restart() })
		defer func() {
			if timer.Stop() {
				t.Errorf("the child ended before the simulator was restarted")
				return
			}
			if err := <-restarted; err != nil {
				t.Errorf("restart the simulator: %v", err)
			}
		}()
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestChaosChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), chaosEnvStore+"="+loc, chaosEnvSetup+"="+setupPath, chaosEnvPort+"="+port)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	limit := chaosFinal
	if delay > 0 {
		limit = delay
	}
	select {
	case err := <-done:
		if delay > 0 {
			t.Fatalf("the child ended before it was killed: %v\n%s", err, out.String())
		}
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out.String())
		}
		for _, line := range strings.Split(out.String(), "\n") {
			if strings.Contains(line, "chaos_test.go") {
				t.Log("child:", strings.TrimSpace(line))
			}
		}
	case <-time.After(limit):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		if delay == 0 {
			t.Fatalf("the final run did not finish in %v\n%s", chaosFinal, tail(out.String(), 3000))
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestChaosChild is the process TestChaos kills: it runs the payments
// service with its job scheduler and callback endpoint, places every pay-out
// (again: creation is idempotent by reference), and returns once all are
// final.
func TestChaosChild(t *testing.T) {
	loc := os.Getenv(chaosEnvStore)
	if loc == "" {
		t.Skip("run by TestChaos")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := store.Open(ctx, loc, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var setup chaosSetup
	data, err := os.ReadFile(os.Getenv(chaosEnvSetup))
	if err != nil || json.Unmarshal(data, &setup) != nil {
		t.Fatalf("setup: %v", err)
	}
	keys, err := accounts.ParseKeyring(setup.Keys)
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(db, ledger.Options{})
	defer l.Close()
	products := accounts.NewProductService(db, clock.Real{})
	quiet := slog.New(slog.DiscardHandler)
	sch := jobs.New(db, clock.Real{}, jobs.Options{Workers: 32, Poll: 20 * time.Millisecond, Log: quiet})
	port := os.Getenv(chaosEnvPort)
	svc := payments.New(payments.Config{DB: db, Ledger: l, Operations: accounts.NewOperations(l, products, accounts.OperationsConfig{}),
		Jobs: sch, CallbackURL: "http://127.0.0.1:" + port + "/callbacks", Secrets: keys, Log: quiet, JobLease: 3 * time.Second,
		StartDelay: 200 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, ct, ack, err := svc.Callback(r.Context(), strings.TrimPrefix(r.URL.Path, "/callbacks/"), r.Header, body)
		if err != nil {
			rw.WriteHeader(http.StatusBadRequest)
			return
		}
		rw.Header().Set("Content-Type", ct)
		_, _ = rw.Write(ack)
	})}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	var wg sync.WaitGroup
	wg.Go(func() { _ = sch.Run(ctx) })
	defer wg.Wait()
	defer cancel()

	next := make(chan int)
	var cw sync.WaitGroup
	for range chaosWorkers {
		cw.Go(func() {
			for i := range next {
				r := payments.OrderRequest{Reference: fmt.Sprintf("chaos-%04d", i), ChannelID: setup.Channel,
					Direction: channel.PayOut, Account: setup.Wallets[i%len(setup.Wallets)], Amount: chaosAmount(i),
					Party: fmt.Sprintf("62220202%08d", i), PartyName: "Payee"}
				if _, _, err := svc.Create(ctx, r); err != nil {
					t.Errorf("create %s: %v", r.Reference, err)
				}
			}
		})
	}
	began := time.Now()
	for i := range chaosOrders {
		next <- i
	}
	close(next)
	cw.Wait()
	t.Logf("placed %d orders in %v", chaosOrders, time.Since(began).Round(time.Millisecond))
	for deadline := time.Now().Add(chaosFinal); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var open int
		if err := db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM payment_orders WHERE state NOT IN ('succeeded', 'failed')`).Scan(&open); err != nil {
			t.Fatal(err)
		}
		if open == 0 {
			t.Logf("all final after %v", time.Since(began).Round(time.Millisecond))
			return
		}
	}
	t.Fatal("orders still open at the deadline")
}

// chaosCheck checks the end state against the simulator's records.
func chaosCheck(t *testing.T, loc string, sh *chaosSim, setupPath string) {
	t.Helper()
	sm := sh.current()
	ctx := context.Background()
	db, err := store.Open(ctx, loc, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var setup chaosSetup
	data, _ := os.ReadFile(setupPath)
	if err := json.Unmarshal(data, &setup); err != nil {
		t.Fatal(err)
	}
	l := ledger.New(db, ledger.Options{})
	defer l.Close()
	svc := payments.New(payments.Config{DB: db, Ledger: l, Jobs: jobs.New(db, clock.Real{}, jobs.Options{})})
	paid := map[string]int64{} // wallet → succeeded pay-outs
	var orders, succeeded int
	for after := ""; ; {
		page, next, err := svc.ListOrders(ctx, payments.OrderFilter{After: after, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page {
			orders++
			so, ok := sm.Order(channel.BankTransfer, o.ID)
			switch {
			case !o.State.Final():
				t.Errorf("order %s is %s", o.Reference, o.State)
			case !ok:
				t.Errorf("order %s (%s) never reached the channel", o.Reference, o.State)
			case string(so.Status) != string(o.State) || so.Amount != o.Amount:
				t.Errorf("order %s: Suanpan %s %d, channel %s %d", o.Reference, o.State, o.Amount, so.Status, so.Amount)
			}
			if o.State == payments.StateSucceeded {
				succeeded++
				paid[o.AccountID] += o.Amount
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	if orders != chaosOrders {
		t.Errorf("%d orders, want %d (one per reference)", orders, chaosOrders)
	}
	simSucceeded := 0
	for _, so := range sm.Orders() {
		if so.Status == channel.Succeeded {
			simSucceeded++
		}
	}
	if simSucceeded != succeeded {
		t.Errorf("the channel paid %d orders, Suanpan booked %d", simSucceeded, succeeded)
	}
	// Every simulator that ran recorded each success as the one before it
	// did: the channel never paid an order twice across its restarts.
	sh.mu.Lock()
	_ = sh.retire() // the last one's successes too; closing twice is harmless
	for id, paid := range sh.paid {
		if len(paid) > 1 {
			t.Errorf("the channel paid order %s %d times across its restarts: %v", id, len(paid), paid)
		}
	}
	sh.mu.Unlock()
	for _, w := range setup.Wallets {
		a, err := l.GetAccount(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		b := a.Balances
		if b.DebitsPending != 0 || b.CreditsPending != 0 {
			t.Errorf("wallet %s has holds left: %+v", w, b)
		}
		if got := chaosFund - (b.CreditsPosted - b.DebitsPosted); got != paid[w] {
			t.Errorf("wallet %s lost %d, its succeeded pay-outs total %d", w, got, paid[w])
		}
	}
	rep, err := l.Verify(ctx)
	if err != nil || !rep.OK {
		t.Errorf("ledger does not verify: %v %+v", err, rep)
	}
	t.Logf("%d orders: %d succeeded, %d failed", orders, succeeded, orders-succeeded)
}
