package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
	"github.com/suanpan/suanpan/ledger"
)

// PaymentsConfig is one payments benchmark run: pay-in orders end to end
// against the channel simulator — create the order, start it at the channel
// (HTTP), receive the channel's signed callback (HTTP), credit the wallet in
// the ledger with the order's transition and events.
type PaymentsConfig struct {
	// Store, PostgresURL and SQLiteSynchronous are as in LedgerConfig.
	Store             string
	PostgresURL       string
	SQLiteSynchronous string
	Accounts          int           // customer wallets, default 1,000
	Concurrency       int           // concurrent order creators, default 64
	Duration          time.Duration // how long orders are created, default 10s
	// FailRate is the simulator's rate of definite failures, in basis
	// points; other faults are off, so the run measures the machinery.
	FailRate int
	Seed     uint64
	// Profiles are written of the window orders are created and settled in.
	Profiles Profiles
}

// PaymentsReport is what a run measured. Orders are created for the
// duration; the run then waits for every order to be final. OrdersPerS is
// created orders over the creating time, CompletedPerS final orders over
// the time until the last one was.
type PaymentsReport struct {
	Store         string  `json:"store"`
	Accounts      int     `json:"accounts"`
	Concurrency   int     `json:"concurrency"`
	SetupS        float64 `json:"setup_s"`
	DurationS     float64 `json:"duration_s"`
	Orders        int64   `json:"orders"`
	Succeeded     int64   `json:"succeeded"`
	Failed        int64   `json:"failed"`
	OrdersPerS    float64 `json:"orders_per_s"`
	CompletedPerS float64 `json:"completed_per_s"`
	DrainS        float64 `json:"drain_s"`
	CreateP50Ms   float64 `json:"create_p50_ms"`
	CreateP99Ms   float64 `json:"create_p99_ms"`
	EndToEndP50Ms float64 `json:"end_to_end_p50_ms"`
	EndToEndP99Ms float64 `json:"end_to_end_p99_ms"`
	Callbacks     int     `json:"callbacks"`
	// Batches are the ledger's group commits while orders were created
	// and settled; each carries postings and the orders' own writes.
	Batches        int64   `json:"batches"`
	BatchItemsAvg  float64 `json:"batch_items_avg"`
	BatchMsAvg     float64 `json:"batch_ms_avg"`
	VerifyOK       bool    `json:"verify_ok"`
	VerifyProblems int     `json:"verify_problems"`
	// The window's write path, per order: from the first order created to
	// the last outcome.
	BatchSizes
	Cost
}

// paymentsDrainMax bounds the wait for the last orders to settle.
const paymentsDrainMax = 2 * time.Minute

// RunPayments sets up Accounts wallets and a QR-wallet channel on the
// simulator, has Concurrency goroutines create pay-in orders for Duration,
// waits for every order's outcome, and verifies the ledger. progress, when
// not nil, receives a line per second.
func RunPayments(ctx context.Context, cfg PaymentsConfig, progress func(string)) (*PaymentsReport, error) {
	if cfg.Accounts <= 0 {
		cfg.Accounts = 1000
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	prof, err := cfg.Profiles.open()
	if err != nil {
		return nil, err
	}
	defer prof.close()
	db, cleanup, err := openStore(ctx, cfg.Store, cfg.PostgresURL, cfg.SQLiteSynchronous)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	var batches batchRecorder
	l := ledger.New(db, ledger.Options{OnBatch: batches.observe})
	defer l.Close()
	setupStart := time.Now()
	inst := "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if progress != nil {
		progress(fmt.Sprintf("opening %d wallets", cfg.Accounts))
	}
	ops, wallets, _, err := SetupPayAccounts(ctx, l, inst, cfg.Accounts, 1)
	if err != nil {
		return nil, err
	}
	clearing, err := l.CreateAccount(ctx, ledger.NewAccount{InstitutionID: inst, Asset: "CNY", Code: "1002",
		Name: "qr clearing", NormalSide: ledger.Debit, Overdraft: ledger.OverdraftUnlimited})
	if err != nil {
		return nil, err
	}
	if _, err := ops.RegisterInternalAccount(ctx, accounts.InternalAccount{InstitutionID: inst, Role: accounts.RoleClearing,
		Channel: PayInChannel, Asset: "CNY", AccountID: clearing.ID, RegisteredBy: "bench"}, nil); err != nil {
		return nil, err
	}

	sm, err := sim.New(sim.Config{Seed: int64(cfg.Seed), FailRate: sim.Rate(cfg.FailRate), MaxDelay: 20 * time.Millisecond,
		Interval: 5 * time.Millisecond, Deliverers: 256})
	if err != nil {
		return nil, err
	}
	defer sm.Close()
	simSrv := httptest.NewServer(sm)
	defer simSrv.Close()

	quiet := slog.New(slog.DiscardHandler)
	sch := jobs.New(db, clock.Real{}, jobs.Options{Log: quiet, Poll: 50 * time.Millisecond})
	var svc *payments.Service
	var cbMu sync.Mutex
	callbacks := 0
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, ct, ack, err := svc.Callback(r.Context(), strings.TrimPrefix(r.URL.Path, "/callbacks/"), r.Header, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		cbMu.Lock()
		callbacks++
		cbMu.Unlock()
		w.Header().Set("Content-Type", ct)
		_, _ = w.Write(ack)
	}))
	defer recv.Close()
	svc = payments.New(payments.Config{DB: db, Ledger: l, Operations: ops, Jobs: sch, CallbackURL: recv.URL + "/callbacks", Log: quiet})
	cc := sm.ChannelConfig(simSrv.URL, channel.QRWallet)
	ch, err := svc.CreateChannel(ctx, payments.ChannelSpec{InstitutionID: inst, Code: PayInChannel, Kind: channel.QRWallet,
		Endpoint: cc.Endpoint, MerchantID: cc.MerchantID, Secret: cc.Secret, Asset: "CNY"})
	if err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	var bg sync.WaitGroup
	bg.Go(func() { _ = sch.Run(runCtx) })
	defer func() { stop(); bg.Wait() }()

	rep := &PaymentsReport{Store: string(db.Dialect), Accounts: cfg.Accounts, Concurrency: cfg.Concurrency,
		SetupS: time.Since(setupStart).Seconds()}
	var last int64
	tick := func(elapsed time.Duration, n int64) {
		if progress != nil {
			progress(fmt.Sprintf("%6.0fs  %8d orders/s", elapsed.Seconds(), n-last))
			last = n
		}
	}
	batches.reset()
	probe, err := startCost(ctx, db, "this process: the ledger engine, the payments service, the job scheduler, "+
		"the channel simulator and the load generator")
	if err != nil {
		return nil, err
	}
	if err := prof.start(); err != nil {
		return nil, err
	}
	start := time.Now()
	d, err := drive(ctx, cfg.Concurrency, cfg.Duration, cfg.Seed, tick, func(w, n int, rng *rand.Rand) (int64, int64, error) {
		_, _, err := svc.Create(context.Background(), payments.OrderRequest{Reference: fmt.Sprintf("w%d-%d", w, n),
			ChannelID: ch.ID, Direction: channel.PayIn, Account: wallets[rng.IntN(len(wallets))], Amount: 1 + rng.Int64N(10000)})
		return 1, 0, err
	})
	if err != nil {
		return nil, err
	}
	rep.DurationS, rep.Orders = d.elapsed.Seconds(), d.done
	rep.OrdersPerS = float64(d.done) / d.elapsed.Seconds()
	rep.CreateP50Ms, rep.CreateP99Ms = ms(d.latency.quantile(0.5)), ms(d.latency.quantile(0.99))
	if progress != nil {
		progress("waiting for the last outcomes")
	}
	drainStart := time.Now()
	for {
		var open int64
		if err := db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM payment_orders WHERE state NOT IN ('succeeded', 'failed')`).Scan(&open); err != nil {
			return nil, err
		}
		if open == 0 {
			break
		}
		if time.Since(drainStart) > paymentsDrainMax {
			return nil, fmt.Errorf("%d orders still without an outcome after %s", open, paymentsDrainMax)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rep.DrainS = time.Since(drainStart).Seconds()
	window := time.Since(start)
	if rep.Cost, err = probe.stop(ctx, rep.Orders, "order"); err != nil {
		return nil, err
	}
	if err := prof.stop(); err != nil {
		return nil, err
	}
	rep.Batches, rep.BatchItemsAvg, rep.BatchMsAvg = batches.totals()
	rep.BatchSizes = batches.distribution(window)
	var e2e histogram
	rows, err := db.Read.QueryContext(ctx, `SELECT state, finished_at - created_at FROM payment_orders`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var state string
		var us int64
		if err := rows.Scan(&state, &us); err != nil {
			rows.Close()
			return nil, err
		}
		if state == string(payments.StateSucceeded) {
			rep.Succeeded++
		} else {
			rep.Failed++
		}
		e2e.record(time.Duration(us) * time.Microsecond)
	}
	rows.Close()
	rep.CompletedPerS = float64(rep.Succeeded+rep.Failed) / time.Since(start).Seconds()
	rep.EndToEndP50Ms, rep.EndToEndP99Ms = ms(e2e.quantile(0.5)), ms(e2e.quantile(0.99))
	cbMu.Lock()
	rep.Callbacks = callbacks
	cbMu.Unlock()
	v, err := l.Verify(ctx)
	if err != nil {
		return nil, err
	}
	rep.VerifyOK, rep.VerifyProblems = v.OK, len(v.Problems)
	return rep, nil
}
