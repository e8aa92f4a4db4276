// Package bench holds Suanpan's load generators: the code behind
// `suanpan bench`. They measure; they never assert a speed, and they only
// talk to stores and servers on this machine unless told otherwise.
package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"runtime"
	"strconv"
	"time"

	"github.com/suanpan/suanpan/ledger"
)

// LedgerConfig is one ledger benchmark run.
type LedgerConfig struct {
	// Store is where to run: "sqlite" (or empty) for a new SQLite file in a
	// temporary directory, "postgres" for a new database on the server at
	// PostgresURL, both removed afterwards; or an SQLite path or PostgreSQL
	// URL to run in as it is.
	Store string
	// PostgresURL is the server "postgres" creates its database on.
	PostgresURL string
	// SQLiteSynchronous relaxes durability when "normal"; default "full".
	SQLiteSynchronous string
	Accounts          int           // customer accounts, default 10,000
	Concurrency       int           // concurrent submitters, default 64
	Duration          time.Duration // measured time, default 10s
	// Postings is the number of journal legs per transfer: 2 is one debit
	// and one credit (one ledger.Posting); 4 is two postings, and so on.
	Postings int
	// Hot is the share (0..1) of transfers that credit one hot account.
	Hot float64
	// Batch is the number of transfers per submission; default 1.
	Batch int
	// Writers overrides the engine's concurrent batch writers (PostgreSQL).
	Writers int
	Seed    uint64
	// Profiles are written of the measured window.
	Profiles Profiles
}

// LedgerReport is what a run measured.
type LedgerReport struct {
	Store          string  `json:"store"`
	Accounts       int     `json:"accounts"`
	Concurrency    int     `json:"concurrency"`
	Postings       int     `json:"postings"`
	Hot            float64 `json:"hot"`
	Batch          int     `json:"batch"`
	DurationS      float64 `json:"duration_s"`
	Transfers      int64   `json:"transfers"`
	Rejected       int64   `json:"rejected"`
	TransfersPerS  float64 `json:"transfers_per_s"`
	SubmitP50Ms    float64 `json:"submit_p50_ms"`
	SubmitP99Ms    float64 `json:"submit_p99_ms"`
	SubmitP999Ms   float64 `json:"submit_p999_ms"`
	Batches        int64   `json:"batches"`
	AvgBatch       float64 `json:"avg_batch"`
	AvgCommitMs    float64 `json:"avg_commit_ms"`
	HeapStartMiB   float64 `json:"heap_start_mib"`
	HeapEndMiB     float64 `json:"heap_end_mib"`
	HeapMaxMiB     float64 `json:"heap_max_mib"`
	VerifyOK       bool    `json:"verify_ok"`
	VerifyProblems int     `json:"verify_problems"`
	// The window's write path: batch sizes, WAL, disk writes and CPU.
	BatchSizes
	Cost
}

// RunLedger sets up accounts, drives transfers from Concurrency goroutines
// for Duration, verifies the ledger and reports. progress, when not nil,
// receives a line per second.
func RunLedger(ctx context.Context, cfg LedgerConfig, progress func(string)) (*LedgerReport, error) {
	cfg = cfg.withDefaults()
	if cfg.Postings < 2 || cfg.Postings%2 != 0 || cfg.Postings/2 > ledger.MaxPostings {
		return nil, fmt.Errorf("postings must be an even number from 2 to %d", 2*ledger.MaxPostings)
	}
	if cfg.Hot < 0 || cfg.Hot > 1 {
		return nil, errors.New("hot must be between 0 and 1")
	}
	if cfg.Accounts < 2 {
		return nil, errors.New("at least 2 accounts are needed")
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
	l := ledger.New(db, ledger.Options{Writers: cfg.Writers, OnBatch: batches.observe})
	defer l.Close()

	inst := "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	accts, err := SetupAccounts(ctx, l, inst, cfg.Accounts)
	if err != nil {
		return nil, err
	}

	rep := &LedgerReport{Store: string(db.Dialect), Accounts: cfg.Accounts, Concurrency: cfg.Concurrency,
		Postings: cfg.Postings, Hot: cfg.Hot, Batch: cfg.Batch}
	heap := newHeapSampler()
	rep.HeapStartMiB = heap.sample()

	bufs := make([][]ledger.Request, cfg.Concurrency)
	for w := range bufs {
		bufs[w] = make([]ledger.Request, cfg.Batch)
	}
	batches.reset()
	probe, err := startCost(ctx, db, "this process: the ledger engine, the store's driver and the load generator")
	if err != nil {
		return nil, err
	}
	if err := prof.start(); err != nil {
		return nil, err
	}
	var last int64
	tick := func(elapsed time.Duration, n int64) {
		heap.sample()
		if progress != nil {
			progress(fmt.Sprintf("%6.0fs  %8d transfers/s  queue %5d", elapsed.Seconds(), n-last, l.QueueDepth()))
			last = n
		}
	}
	d, err := drive(ctx, cfg.Concurrency, cfg.Duration, cfg.Seed, tick, func(w, n int, rng *rand.Rand) (int64, int64, error) {
		reqs := bufs[w]
		for i := range reqs {
			reqs[i] = randomTransfer(rng, inst, fmt.Sprintf("w%d-%d-%d", w, n, i), accts, cfg)
		}
		res, err := l.Submit(context.Background(), reqs, false)
		if err != nil {
			return 0, 0, err
		}
		var done, rejected int64
		for _, r := range res {
			if r.Err != nil {
				rejected++
			} else {
				done++
			}
		}
		return done, rejected, nil
	})
	if err != nil {
		return nil, err
	}
	if rep.Cost, err = probe.stop(ctx, d.done, "transfer"); err != nil {
		return nil, err
	}
	if err := prof.stop(); err != nil {
		return nil, err
	}
	rep.HeapEndMiB = heap.sample()
	rep.HeapMaxMiB = heap.max
	rep.DurationS = d.elapsed.Seconds()
	rep.Transfers, rep.Rejected = d.done, d.rejected
	rep.TransfersPerS = float64(rep.Transfers) / d.elapsed.Seconds()
	rep.SubmitP50Ms = ms(d.latency.quantile(0.5))
	rep.SubmitP99Ms = ms(d.latency.quantile(0.99))
	rep.SubmitP999Ms = ms(d.latency.quantile(0.999))
	rep.Batches, rep.AvgBatch, rep.AvgCommitMs = batches.totals()
	rep.BatchSizes = batches.distribution(d.elapsed)
	v, err := l.Verify(ctx)
	if err != nil {
		return nil, err
	}
	rep.VerifyOK, rep.VerifyProblems = v.OK, len(v.Problems)
	return rep, nil
}

func (c LedgerConfig) withDefaults() LedgerConfig {
	if c.Accounts == 0 {
		c.Accounts = 10000
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 64
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Postings == 0 {
		c.Postings = 2
	}
	if c.Batch <= 0 {
		c.Batch = 1
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	return c
}

// SetupAccounts registers the asset CNY and opens, in institution inst, n
// customer wallets that may not overdraw, funding each from an unconstrained
// bank account so that a run exercises the overdraft checks without running
// dry. It returns the wallets' IDs.
func SetupAccounts(ctx context.Context, l *ledger.Ledger, inst string, n int) ([]string, error) {
	if _, err := l.CreateAsset(ctx, "CNY", 2); err != nil {
		return nil, err
	}
	specs := make([]ledger.NewAccount, n+1)
	specs[0] = ledger.NewAccount{InstitutionID: inst, Asset: "CNY", Code: "1002", Name: "bank",
		NormalSide: ledger.Debit, Overdraft: ledger.OverdraftUnlimited}
	for i := 1; i <= n; i++ {
		specs[i] = ledger.NewAccount{InstitutionID: inst, Asset: "CNY", Code: "2001",
			Name: "customer " + strconv.Itoa(i), NormalSide: ledger.Credit}
	}
	accts, err := l.CreateAccounts(ctx, specs)
	if err != nil {
		return nil, fmt.Errorf("create accounts: %w", err)
	}
	ids := make([]string, n)
	reqs := make([]ledger.Request, 0, 1000)
	flush := func() error {
		res, err := l.Submit(ctx, reqs, true)
		if err != nil {
			return err
		}
		for _, r := range res {
			if r.Err != nil {
				return fmt.Errorf("fund accounts: %w", r.Err)
			}
		}
		reqs = reqs[:0]
		return nil
	}
	for i, a := range accts[1:] {
		ids[i] = a.ID
		reqs = append(reqs, ledger.Request{Kind: ledger.KindTransfer, InstitutionID: inst, Reference: "fund-" + a.ID,
			Type: "topup", Postings: []ledger.Posting{{Debit: accts[0].ID, Credit: a.ID, Asset: "CNY", Amount: 1_000_000_000_00}}})
		if len(reqs) == cap(reqs) {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if len(reqs) > 0 {
		if err := flush(); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

func randomTransfer(rng *rand.Rand, inst, ref string, accts []string, cfg LedgerConfig) ledger.Request {
	ps := make([]ledger.Posting, cfg.Postings/2)
	for i := range ps {
		d := accts[rng.IntN(len(accts))]
		var c string
		if rng.Float64() < cfg.Hot {
			c = accts[0]
		} else {
			c = accts[rng.IntN(len(accts))]
		}
		for c == d {
			d = accts[rng.IntN(len(accts))]
		}
		ps[i] = ledger.Posting{Debit: d, Credit: c, Asset: "CNY", Amount: 1 + rng.Int64N(10000)}
	}
	return ledger.Request{Kind: ledger.KindTransfer, InstitutionID: inst, Reference: ref, Type: "transfer", Postings: ps}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// heapSampler tracks the live heap after collection, in MiB.
type heapSampler struct{ max float64 }

func newHeapSampler() *heapSampler { return &heapSampler{} }

func (h *heapSampler) sample() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	v := float64(m.HeapAlloc) / (1 << 20)
	h.max = max(h.max, v)
	return v
}

// TempPostgres creates a new database on the PostgreSQL server at admin
// (a URL whose user may create databases) and returns its URL and a
// function that drops it.
func TempPostgres(ctx context.Context, admin string) (string, func(), error) {
	if admin == "" {
		return "", nil, errors.New("a PostgreSQL URL is needed to create the benchmark's database")
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", nil, fmt.Errorf("postgres url: %w", err)
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return "", nil, err
	}
	name := "suanpan_bench_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	_, err = db.ExecContext(ctx, "CREATE DATABASE "+name)
	// Closed at once: a backend reports its WAL statistics when it ends or
	// some seconds after it goes idle, so one kept open would put the copy
	// of the template database (hundreds of full-page images) into the
	// measured window's pg_stat_wal.
	db.Close()
	if err != nil {
		return "", nil, fmt.Errorf("create benchmark database: %w", err)
	}
	u.Path = "/" + name
	drop := func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	return u.String(), drop, nil
}
