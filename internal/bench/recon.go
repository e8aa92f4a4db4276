package bench

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/recon"
	"github.com/suanpan/suanpan/internal/recon/statement"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
)

// ReconConfig is one reconciliation benchmark run: a channel's statement
// of Orders lines imported (parsed, validated, stored) and reconciled
// against as many orders (matched, recorded, the differences parked in
// suspense).
type ReconConfig struct {
	// Store, PostgresURL and SQLiteSynchronous are as in LedgerConfig.
	Store             string
	PostgresURL       string
	SQLiteSynchronous string
	Orders            int // default 1,000,000
	// FaultRate is the share of lines, in basis points, that differ from
	// their order: an amount, a fee, a line twice, a line the channel alone
	// has; as many orders again are missing from the statement (late).
	FaultRate int
	Seed      uint64
	// MemoryLimit is the Go runtime's soft memory limit for the run, in
	// bytes, as GOMEMLIMIT sets it for a server (0: leave it as it is).
	// Without one the collector lets the heap grow to twice what is live.
	MemoryLimit int64
	// Profiles are written of the import and the run.
	Profiles Profiles
}

// ReconReport is what a run measured. The time and memory targets of
// spec 03 are for 1,000,000 lines against 1,000,000 orders: under 60 s
// and under 1 GiB.
type ReconReport struct {
	Store     string         `json:"store"`
	Orders    int            `json:"orders"`
	Lines     int64          `json:"lines"`
	FileMiB   float64        `json:"file_mib"`
	SetupS    float64        `json:"setup_s"`
	ImportS   float64        `json:"import_s"`
	RunS      float64        `json:"run_s"`
	TotalS    float64        `json:"total_s"`
	Counts    map[string]int `json:"counts"`
	Open      int            `json:"open"`
	MemLimit  float64        `json:"memory_limit_mib" doc:"The soft memory limit the run had; 0: none."`
	PeakHeap  float64        `json:"peak_heap_mib"`
	PeakRSS   float64        `json:"peak_rss_mib"`
	VerifyOK  bool           `json:"verify_ok"`
	BooksOK   bool           `json:"books_ok" doc:"Suspense holds exactly the open discrepancies' differences."`
	TargetMet bool           `json:"target_met"`
	// The import's and the run's WAL, disk writes and CPU, per line.
	Cost
}

// reconDay is the benchmark's business date.
const reconDay = "2026-11-21"

// RunRecon sets up a channel with Orders succeeded orders (stored as the
// payments service stores them: this fixture does not move money, and
// reconciliation never touches a matched order's postings), writes the
// channel's statement with the configured faults, and measures its import
// and its reconciliation, sampling the heap as it goes. progress, when not
// nil, learns each phase.
func RunRecon(ctx context.Context, cfg ReconConfig, progress func(string)) (*ReconReport, error) {
	if cfg.Orders <= 0 {
		cfg.Orders = 1_000_000
	}
	if cfg.FaultRate == 0 {
		cfg.FaultRate = 100
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	say := func(format string, args ...any) {
		if progress != nil {
			progress(fmt.Sprintf(format, args...))
		}
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
	// The clock stands an hour after the statement's day: what the
	// statement lacks is late, not yet short.
	now, _ := time.Parse(time.DateOnly, reconDay)
	clk := clock.NewFake(now.Add(25 * time.Hour))
	l := ledger.New(db, ledger.Options{Clock: clk})
	defer l.Close()
	rep := &ReconReport{Store: string(db.Dialect), Orders: cfg.Orders}
	setupStart := time.Now()
	inst := "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	say("setting up %d orders", cfg.Orders)
	ops, wallets, _, err := SetupPayAccounts(ctx, l, inst, 100, 1)
	if err != nil {
		return nil, err
	}
	for _, r := range []struct{ role, ch, code string }{{accounts.RoleClearing, "bank", "1002"}, {accounts.RoleSuspense, "", "2241"}} {
		a, err := l.CreateAccount(ctx, ledger.NewAccount{InstitutionID: inst, Asset: "CNY", Code: r.code, NormalSide: ledger.Debit,
			Overdraft: ledger.OverdraftUnlimited})
		if err != nil {
			return nil, err
		}
		if _, err := ops.RegisterInternalAccount(ctx, accounts.InternalAccount{InstitutionID: inst, Role: r.role, Channel: r.ch,
			AccountID: a.ID, RegisteredBy: "bench"}, nil); err != nil {
			return nil, err
		}
	}
	quiet := slog.New(slog.DiscardHandler)
	pay := payments.New(payments.Config{DB: db, Ledger: l, Operations: ops, Jobs: jobs.New(db, clk, jobs.Options{Log: quiet}), Clock: clk, Log: quiet})
	ch, err := pay.CreateChannel(ctx, payments.ChannelSpec{InstitutionID: inst, Code: "bank", Kind: channel.BankTransfer,
		Endpoint: "http://127.0.0.1:9", MerchantID: "m1", Secret: "bench-secret", Asset: "CNY"})
	if err != nil {
		return nil, err
	}
	rec := recon.New(recon.Config{Ledger: l, Payments: pay, Operations: ops, Clock: clk, Log: quiet})
	if _, err := rec.PutSettings(ctx, recon.Settings{ChannelID: ch.ID, Format: reconFormat(), DateToleranceMs: 86_400_000,
		LateWindowMs: 172_800_000, AutoFailShort: true, AlertCount: 1 << 40, AlertAmount: 1 << 40}, "bench", nil); err != nil {
		return nil, err
	}
	file, err := reconFixture(ctx, db, ch, wallets, now, cfg)
	if err != nil {
		return nil, err
	}
	rep.FileMiB = float64(len(file)) / (1 << 20)
	rep.SetupS = time.Since(setupStart).Seconds()

	if cfg.MemoryLimit > 0 {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(cfg.MemoryLimit))
		rep.MemLimit = float64(cfg.MemoryLimit) / (1 << 20)
	}
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	probe, err := startCost(ctx, db, "this process: reconciliation, the ledger engine and the store's driver")
	if err != nil {
		close(stop)
		sampler.Wait()
		return nil, err
	}
	if err := prof.start(); err != nil {
		close(stop)
		sampler.Wait()
		return nil, err
	}
	start := time.Now()
	say("importing a %.0f MiB statement", rep.FileMiB)
	st, _, err := rec.Import(ctx, recon.ImportRequest{ChannelID: ch.ID, Date: reconDay, Content: file, By: "bench"})
	file = nil
	if err != nil {
		close(stop)
		sampler.Wait()
		return nil, err
	}
	rep.Lines, rep.ImportS = st.Lines, time.Since(start).Seconds()
	say("reconciling %d lines against %d orders", st.Lines, cfg.Orders)
	runStart := time.Now()
	run, err := rec.Run(ctx, recon.RunRequest{ChannelID: ch.ID, Date: reconDay, By: "bench"})
	close(stop)
	sampler.Wait()
	if err != nil {
		return nil, err
	}
	rep.RunS = time.Since(runStart).Seconds()
	rep.TotalS = time.Since(start).Seconds()
	if rep.Cost, err = probe.stop(ctx, st.Lines, "line"); err != nil {
		return nil, err
	}
	if err := prof.stop(); err != nil {
		return nil, err
	}
	rep.Counts, rep.Open = run.Counts, run.Counts["open"]
	rep.PeakHeap = float64(peak.Load()) / (1 << 20)
	rep.PeakRSS = peakRSS()
	say("verifying")
	vr, err := l.Verify(ctx)
	if err != nil {
		return nil, err
	}
	rep.VerifyOK = vr.OK
	if rep.BooksOK, err = suspenseExplains(ctx, l, rec, ops, inst); err != nil {
		return nil, err
	}
	rep.TargetMet = cfg.Orders < 1_000_000 || (rep.TotalS < 60 && rep.PeakRSS < 1024)
	return rep, nil
}

func reconFormat() statement.Format {
	scale := 2
	return statement.Format{Kind: statement.KindCSV, Columns: &statement.ColumnMap{Header: true, OrderID: "order_id",
		ChannelRef: "channel_ref", Amount: "amount", Fee: "fee", Time: "time", AmountFormat: statement.AmountDecimal, Scale: &scale,
		DefaultAsset: "CNY", DefaultDirection: channel.PayIn, DefaultStatus: channel.Succeeded, TimeLayout: time.RFC3339, TimeZone: "UTC"}}
}

// reconFixture stores the orders and returns the statement file.
func reconFixture(ctx context.Context, db *store.DB, ch *payments.Channel, wallets []string, day time.Time, cfg ReconConfig) ([]byte, error) {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	var file bytes.Buffer
	file.Grow(cfg.Orders * 80)
	file.WriteString("order_id,channel_ref,amount,fee,time\n")
	const chunk = 500
	var b strings.Builder
	args := make([]any, 0, chunk*12)
	for start := 0; start < cfg.Orders; start += chunk {
		n := min(chunk, cfg.Orders-start)
		b.Reset()
		args = args[:0]
		b.WriteString(`INSERT INTO payment_orders (id, institution_id, reference, request_hash, channel_id, direction, account_id, asset,
			amount, channel_fee, party, party_name, memo, state, channel_ref, business_date, created_by, created_at, updated_at,
			finished_at) VALUES `)
		for i := range n {
			k := start + i
			id := fmt.Sprintf("bench-%08d", k)
			ref := fmt.Sprintf("R%08d", k)
			amount := 100 + rng.Int64N(1_000_000)
			fee := amount * 6 / 1000
			at := day.Add(time.Duration(rng.Int64N(int64(20 * time.Hour))))
			if i > 0 {
				b.WriteString(", ")
			}
			ph := make([]string, 12)
			for j := range ph {
				ph[j] = db.Dialect.Placeholder(len(args) + j + 1)
			}
			fmt.Fprintf(&b, "(%s, %s, %s, '', %s, 'pay_in', %s, 'CNY', %s, %s, '', '', '', 'succeeded', %s, %s, 'bench', %s, %s, %s)",
				ph[0], ph[1], ph[2], ph[3], ph[4], ph[5], ph[6], ph[7], ph[8], ph[9], ph[10], ph[11])
			args = append(args, id, ch.InstitutionID, "ref-"+id, ch.ID, wallets[k%len(wallets)], amount, fee, ref, reconDay,
				at.UnixMicro(), at.UnixMicro(), at.UnixMicro())
			// The statement: mostly the order as it is; faults by rate.
			lineAmount, lineFee, order := amount, fee, id
			switch f := rng.IntN(10_000); {
			case f < cfg.FaultRate/5:
				continue // not on the statement: late
			case f < 2*cfg.FaultRate/5:
				lineAmount++ // amount mismatch
			case f < 3*cfg.FaultRate/5:
				lineFee++ // fee mismatch
			case f < 4*cfg.FaultRate/5:
				writeReconLine(&file, id, ref, amount, fee, at) // listed twice
			case f < cfg.FaultRate:
				writeReconLine(&file, "", fmt.Sprintf("X%08d", k), amount, 0, at) // the channel's alone
			case f < cfg.FaultRate+100:
				order = "" // by channel reference only
			}
			writeReconLine(&file, order, ref, lineAmount, lineFee, at)
		}
		if _, err := db.Write.ExecContext(ctx, b.String(), args...); err != nil {
			return nil, fmt.Errorf("store orders: %w", err)
		}
	}
	return file.Bytes(), nil
}

func writeReconLine(w *bytes.Buffer, order, ref string, amount, fee int64, at time.Time) {
	fmt.Fprintf(w, "%s,%s,%s,%s,%s\n", order, ref, money.Format(amount, 2), money.Format(fee, 2), at.Format(time.RFC3339))
}

// suspenseExplains reports whether suspense holds exactly the effects of
// the open discrepancies.
func suspenseExplains(ctx context.Context, l *ledger.Ledger, rec *recon.Service, ops *accounts.Operations, inst string) (bool, error) {
	var open int64
	after := ""
	for {
		ds, next, err := rec.ListDiscrepancies(ctx, recon.DiscrepancyFilter{Status: recon.StatusOpen, After: after, Limit: 1000})
		if err != nil {
			return false, err
		}
		for _, d := range ds {
			open += d.Effect
		}
		if next == "" {
			break
		}
		after = next
	}
	id, err := ops.InternalAccountID(ctx, inst, accounts.RoleSuspense, "", "CNY")
	if err != nil {
		return false, err
	}
	a, err := l.GetAccount(ctx, id)
	if err != nil {
		return false, err
	}
	return a.CreditsPosted-a.DebitsPosted == open, nil
}

// peakRSS is the process's peak resident set in MiB (Linux; 0 elsewhere).
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				return 0
			}
			return kb / 1024
		}
	}
	return 0
}
