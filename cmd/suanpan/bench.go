package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/bench"
	"github.com/suanpan/suanpan/ledger"
)

// BenchCmd groups the load generators. They measure and print; they never
// judge a speed, and they only ever touch stores on this machine or the one
// given.
type BenchCmd struct {
	Ledger   BenchLedgerCmd   `cmd:"" help:"Drive concurrent transfers through the ledger engine, then verify the ledger."`
	Accounts BenchAccountsCmd `cmd:"" help:"Drive concurrent merchant payments (fee and limit checks) through the account layer, then the raw ledger for comparison."`
	HTTP     BenchHTTPCmd     `cmd:"" name:"http" help:"Drive concurrent transfer requests through the HTTP API, of a server started in-process or a running one."`
	Payments BenchPaymentsCmd `cmd:"" help:"Drive pay-in orders end to end against the channel simulator (start, signed callback, credit), then verify the ledger."`
	Recon    BenchReconCmd    `cmd:"" help:"Import a channel statement and reconcile it against as many orders (default 1,000,000 each); report time and memory."`
}

// Bounds on a bench run, so that a typo cannot ask for a month-long run or a
// million goroutines.
const (
	benchMaxAccounts    = 10_000_000
	benchMaxConcurrency = 100_000
	benchMaxDuration    = 24 * time.Hour
	benchMaxBatch       = 4096 // the engine's default ledger.Options.MaxBatch
	benchMaxWriters     = 64
	// An HTTP client is a connection (a file descriptor on each side).
	benchMaxHTTPConcurrency = 4096
	benchMaxHTTPBatch       = 1000 // the API's limit per batch request
	benchMaxHTTPAccounts    = 1_000_000
)

// BenchLedgerCmd runs bench.RunLedger. It has its own --store, empty by
// default, because a benchmark writes test accounts and transfers wherever
// it runs and must never land in the server's store by default or by
// configuration.
type BenchLedgerCmd struct {
	Store             string        `default:"sqlite" placeholder:"sqlite|postgres|PATH|URL" help:"Where to run: sqlite (a new SQLite file in a temporary directory) or postgres (a new database on the server of --postgres-url), both removed afterwards; or an SQLite file path or a postgres:// URL to run in as it is. The run writes test accounts and transfers there: never point it at a store that holds real money."`
	PostgresURL       string        `name:"postgres-url" default:"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" env:"SUANPAN_BENCH_POSTGRES_URL" placeholder:"URL" help:"With --store postgres: the server to create the benchmark's database on; its user must be allowed to create databases."`
	SQLiteSynchronous string        `name:"sqlite-synchronous" enum:"full,normal" default:"full" help:"SQLite durability, full or normal: normal is faster, but a power loss or OS crash may lose the last acknowledged commits."`
	Accounts          int           `default:"10000" help:"Customer accounts that transfers move between."`
	Concurrency       int           `default:"64" help:"Concurrent submitters."`
	Duration          time.Duration `default:"10s" help:"How long to measure."`
	Postings          int           `default:"2" help:"Journal legs per transfer, an even number: 2 is one debit and one credit."`
	Hot               float64       `default:"0" help:"Share of transfers, from 0 to 1, that credit one hot account."`
	Batch             int           `default:"1" help:"Transfers per submission."`
	Writers           int           `default:"0" help:"Batches committed concurrently (PostgreSQL only); 0 takes the engine's default."`
	JSON              bool          `name:"json" help:"Print only the report, as one JSON object, and no progress."`
	benchProfileFlags `embed:""`
}

// benchProfileFlags are the profiling flags of every bench subcommand.
type benchProfileFlags struct {
	CPUProfile string `name:"cpuprofile" placeholder:"FILE" help:"Write a CPU profile (pprof) of the measured window, set-up excluded, to FILE."`
	MemProfile string `name:"memprofile" placeholder:"FILE" help:"Write a heap profile (pprof) taken at the end of the measured window to FILE."`
}

func (f benchProfileFlags) profiles() bench.Profiles {
	return bench.Profiles{CPU: f.CPUProfile, Mem: f.MemProfile}
}

// Validate checks the flags before anything is opened.
func (c *BenchLedgerCmd) Validate() error {
	switch {
	case c.Accounts < 2 || c.Accounts > benchMaxAccounts:
		return fmt.Errorf("--accounts must be from 2 to %d", benchMaxAccounts)
	case c.Concurrency < 1 || c.Concurrency > benchMaxConcurrency:
		return fmt.Errorf("--concurrency must be from 1 to %d", benchMaxConcurrency)
	case c.Duration <= 0 || c.Duration > benchMaxDuration:
		return fmt.Errorf("--duration must be positive and at most %s", benchMaxDuration)
	case c.Postings < 2 || c.Postings%2 != 0 || c.Postings > 2*ledger.MaxPostings:
		return fmt.Errorf("--postings must be an even number from 2 to %d", 2*ledger.MaxPostings)
	case c.Hot < 0 || c.Hot > 1:
		return errors.New("--hot must be from 0 to 1")
	case c.Batch < 1 || c.Batch > benchMaxBatch:
		return fmt.Errorf("--batch must be from 1 to %d", benchMaxBatch)
	case c.Writers < 0 || c.Writers > benchMaxWriters:
		return fmt.Errorf("--writers must be from 0 to %d", benchMaxWriters)
	}
	return nil
}

// Run runs the benchmark and prints its report. It returns errProblems when
// the ledger fails verification afterwards.
func (c *BenchLedgerCmd) Run(ctx context.Context, a *app) error {
	cfg := bench.LedgerConfig{
		Store:             c.Store,
		PostgresURL:       c.PostgresURL,
		SQLiteSynchronous: c.SQLiteSynchronous,
		Accounts:          c.Accounts,
		Concurrency:       c.Concurrency,
		Duration:          c.Duration,
		Postings:          c.Postings,
		Hot:               c.Hot,
		Batch:             c.Batch,
		Writers:           c.Writers,
		Profiles:          c.profiles(),
	}
	var progress func(string)
	if !c.JSON {
		progress = func(line string) { fmt.Fprintln(a.stderr, line) }
		fmt.Fprintf(a.stderr, "setting up %d accounts, then measuring for %s\n", c.Accounts, c.Duration)
	}
	rep, err := bench.RunLedger(ctx, cfg, progress)
	if err != nil {
		return fmt.Errorf("bench ledger: %w", err)
	}
	if c.JSON {
		if err := json.NewEncoder(a.stdout).Encode(rep); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	} else {
		printBenchReport(a.stdout, rep)
	}
	if !rep.VerifyOK {
		return errProblems
	}
	return nil
}

func printBenchReport(w io.Writer, r *bench.LedgerReport) {
	fmt.Fprintf(w, "ledger on %s: %d accounts, %d submitters, %d postings per transfer, %d transfers per submission, %.0f%% hot\n",
		r.Store, r.Accounts, r.Concurrency, r.Postings, r.Batch, 100*r.Hot)
	fmt.Fprintf(w, "throughput      %.0f transfers/s (%d in %.1fs, %d rejected)\n",
		r.TransfersPerS, r.Transfers, r.DurationS, r.Rejected)
	fmt.Fprintf(w, "submit latency  p50 %.2fms  p99 %.2fms  p99.9 %.2fms\n", r.SubmitP50Ms, r.SubmitP99Ms, r.SubmitP999Ms)
	fmt.Fprintf(w, "batches         %d, average %.1f requests, average commit %.2fms\n", r.Batches, r.AvgBatch, r.AvgCommitMs)
	printBatchSizes(w, 16, r.BatchSizes)
	printCost(w, 16, r.Cost)
	fmt.Fprintf(w, "heap            start %.1f MiB, end %.1f MiB, max %.1f MiB\n", r.HeapStartMiB, r.HeapEndMiB, r.HeapMaxMiB)
	if r.VerifyOK {
		fmt.Fprintln(w, "verify          OK")
	} else {
		fmt.Fprintf(w, "verify          %d problem(s)\n", r.VerifyProblems)
	}
}

// benchLabel pads label to width, leaving at least one space after it.
func benchLabel(label string, width int) string {
	return fmt.Sprintf("%-*s ", width-1, label)
}

// printBatchSizes prints the distribution of requests per committed batch,
// its label padded to width.
func printBatchSizes(w io.Writer, width int, b bench.BatchSizes) {
	switch b.BatchSizesFrom {
	case "":
		fmt.Fprintf(w, "%snot measured\n", benchLabel("batch sizes", width))
	case "metrics":
		fmt.Fprintf(w, "%sp50 ≤%d  p90 ≤%d  p99 ≤%d  max ≤%d requests (the server's power-of-two histogram), %.0f commits/s\n",
			benchLabel("batch sizes", width), b.BatchP50, b.BatchP90, b.BatchP99, b.BatchMax, b.CommitsPerS)
	default:
		fmt.Fprintf(w, "%sp50 %d  p90 %d  p99 %d  max %d requests, %.0f commits/s\n",
			benchLabel("batch sizes", width), b.BatchP50, b.BatchP90, b.BatchP99, b.BatchMax, b.CommitsPerS)
	}
}

// printCost prints what the window cost, per unit and in total, and what
// each figure counts, its labels padded to width.
func printCost(w io.Writer, width int, c bench.Cost) {
	switch {
	case !c.WALMeasured:
		fmt.Fprintf(w, "%s%s\n", benchLabel("WAL", width), c.WALScope)
	case c.WALPages > 0 || c.PageSize > 0:
		fmt.Fprintf(w, "%s%.0f bytes/%s, %.2f pages of %d bytes/%s (%.1f MiB in all)\n", benchLabel("WAL", width),
			c.WALBytesPerUnit, c.Unit, c.WALPagesPerUnit, c.PageSize, c.Unit, float64(c.WALBytes)/(1<<20))
		fmt.Fprintf(w, "%s(%s)\n", benchLabel("", width), c.WALScope)
	default:
		fmt.Fprintf(w, "%s%.0f bytes/%s, %.2f records/%s, %d full-page images (%.1f MiB in all)\n", benchLabel("WAL", width),
			c.WALBytesPerUnit, c.Unit, c.WALRecordsPerUnit, c.Unit, c.WALFPI, float64(c.WALBytes)/(1<<20))
		fmt.Fprintf(w, "%s(%s)\n", benchLabel("", width), c.WALScope)
	}
	if c.DiskIOMeasured {
		fmt.Fprintf(w, "%s%.0f bytes/%s (%.1f MiB in all; this process's write_bytes in /proc/self/io)\n", benchLabel("disk writes", width),
			c.DiskWriteBytesPerUnit, c.Unit, float64(c.DiskWriteBytes)/(1<<20))
	}
	if c.CPUMeasured {
		fmt.Fprintf(w, "%s%.0f µs/%s (user %.2fs, system %.2fs)\n", benchLabel("CPU", width), c.CPUUsPerUnit, c.Unit, c.CPUUserS, c.CPUSysS)
	}
	fmt.Fprintf(w, "%s(%s)\n", benchLabel("", width), c.CPUScope)
}

// BenchHTTPCmd runs bench.RunHTTP. Like bench ledger it never touches the
// server's store: without --url it starts a server of its own on a new
// temporary SQLite store, removed afterwards.
type BenchHTTPCmd struct {
	URL               string        `placeholder:"URL" help:"Base URL of a running server to load, e.g. http://127.0.0.1:8080; it gets --accounts new funded test accounts in the API key's institution. Empty: start a server in-process on a temporary SQLite store, listening on 127.0.0.1, with its own accounts and key."`
	APIKey            string        `name:"api-key" placeholder:"KEY" help:"API key for --url, with the admin role (it registers CNY and opens and funds the test accounts)."`
	AllowRemote       bool          `name:"allow-remote" help:"Allow a --url that is not a loopback address. The run writes test accounts and transfers there: never point it at a server that holds real money."`
	Accounts          int           `default:"10000" help:"Customer accounts that transfers move between."`
	Concurrency       int           `default:"64" help:"Concurrent clients, each with one request in flight and a connection of its own."`
	Duration          time.Duration `default:"10s" help:"How long to measure."`
	Requests          int64         `default:"0" help:"Stop after this many requests; 0: when --duration has passed."`
	Batch             int           `default:"1" help:"Transfers per request: 1 posts to /v1/transactions; more post to /v1/transactions/batch."`
	Store             string        `default:"sqlite" enum:"sqlite,postgres" placeholder:"sqlite|postgres" help:"The in-process server's store: sqlite (a new SQLite file in a temporary directory) or postgres (a new database on the server of --postgres-url), both removed afterwards."`
	PostgresURL       string        `name:"postgres-url" default:"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" env:"SUANPAN_BENCH_POSTGRES_URL" placeholder:"URL" help:"With --store postgres: the server to create the in-process server's database on; its user must be allowed to create databases."`
	SQLiteSynchronous string        `name:"sqlite-synchronous" enum:"full,normal" default:"full" help:"Durability of the in-process server's SQLite store, full or normal."`
	JSON              bool          `name:"json" help:"Print only the report, as one JSON object, and no progress."`
	benchProfileFlags `embed:""`
}

// Validate checks the flags before anything is started.
func (c *BenchHTTPCmd) Validate() error {
	switch {
	case c.Accounts < 2 || c.Accounts > benchMaxHTTPAccounts:
		return fmt.Errorf("--accounts must be from 2 to %d", benchMaxHTTPAccounts)
	case c.Concurrency < 1 || c.Concurrency > benchMaxHTTPConcurrency:
		return fmt.Errorf("--concurrency must be from 1 to %d", benchMaxHTTPConcurrency)
	case c.Duration <= 0 || c.Duration > benchMaxDuration:
		return fmt.Errorf("--duration must be positive and at most %s", benchMaxDuration)
	case c.Requests < 0:
		return errors.New("--requests must be 0 or more")
	case c.Batch < 1 || c.Batch > benchMaxHTTPBatch:
		return fmt.Errorf("--batch must be from 1 to %d", benchMaxHTTPBatch)
	case c.URL != "" && c.APIKey == "":
		return errors.New("--url needs --api-key")
	case c.URL == "" && c.APIKey != "":
		return errors.New("--api-key goes with --url; the in-process server makes its own")
	case c.URL != "" && c.Store != "sqlite":
		return errors.New("--store is the in-process server's; it does not go with --url")
	}
	if c.URL != "" {
		return bench.CheckTarget(c.URL, c.AllowRemote)
	}
	return nil
}

// Run sets up the target, runs the load and prints the report. It returns
// errProblems when requests failed.
func (c *BenchHTTPCmd) Run(ctx context.Context, a *app) error {
	var progress func(string)
	if !c.JSON {
		progress = func(line string) { fmt.Fprintln(a.stderr, line) }
	}
	cfg := bench.HTTPConfig{URL: c.URL, APIKey: c.APIKey, Concurrency: c.Concurrency, Duration: c.Duration,
		MaxRequests: c.Requests, Batch: c.Batch, AllowRemote: c.AllowRemote, Profiles: c.profiles()}
	var rep *bench.HTTPReport
	var err error
	if c.URL == "" {
		rep, err = c.inProcess(ctx, a, cfg, progress)
	} else {
		if progress != nil {
			progress(fmt.Sprintf("opening and funding %d accounts on %s", c.Accounts, c.URL))
		}
		cfg.Accounts, err = bench.SetupHTTPAccounts(ctx, c.URL, c.APIKey, c.Accounts, c.Concurrency, c.AllowRemote, progress)
		if err == nil {
			if progress != nil {
				progress(fmt.Sprintf("measuring for %s", c.Duration))
			}
			rep, err = bench.RunHTTP(ctx, cfg, progress)
		}
	}
	if err != nil {
		return fmt.Errorf("bench http: %w", err)
	}
	if c.JSON {
		if err := json.NewEncoder(a.stdout).Encode(rep); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	} else {
		printBenchHTTPReport(a.stdout, rep)
	}
	if rep.Failed() > 0 {
		return errProblems
	}
	return nil
}

// inProcess runs the load against a server of its own: a temporary SQLite
// store or PostgreSQL database with funded accounts and a bootstrap key,
// served on a free loopback port and stopped (finishing what is in flight)
// after the run.
func (c *BenchHTTPCmd) inProcess(ctx context.Context, a *app, cfg bench.HTTPConfig, progress func(string)) (rep *bench.HTTPReport, err error) {
	db, cleanup, err := bench.OpenStore(ctx, c.Store, c.PostgresURL, c.SQLiteSynchronous)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if progress != nil {
		progress(fmt.Sprintf("setting up an in-process server on %s with %d accounts, then measuring for %s", db.Dialect, c.Accounts, c.Duration))
	}
	srvCfg := defaultServerConfig()
	srvCfg.RootInstitution, srvCfg.RootName = "bench", "Bench"
	// A throwaway store gets a throwaway key, kept nowhere.
	if srvCfg.EncryptionKeys, err = accounts.GenerateKey("bench"); err != nil {
		return nil, err
	}
	// The server logs only warnings and errors, so that its lines do not
	// mix with the report.
	log := slog.New(minLevel{a.log.Handler(), slog.LevelWarn})
	srvCtx, stop := context.WithCancel(ctx)
	defer stop()
	srv, err := newAPIServer(srvCtx, db, srvCfg, log)
	if err != nil {
		return nil, err
	}
	if cfg.APIKey, err = srv.bootstrap(ctx, ""); err == nil {
		cfg.Accounts, err = bench.SetupAccounts(ctx, srv.ledger, srvCfg.RootInstitution, c.Accounts)
	}
	if err != nil {
		return nil, errors.Join(err, srv.close())
	}
	ln, err := listen("127.0.0.1:0")
	if err != nil {
		return nil, errors.Join(err, srv.close())
	}
	cfg.URL = baseURL(srv.scheme(), ln.Addr())
	cfg.Store = db
	served := make(chan error, 1)
	go func() { served <- srv.serve(srvCtx, ln, nil) }()
	rep, err = bench.RunHTTP(ctx, cfg, progress)
	stop()
	return rep, errors.Join(err, <-served)
}

func printBenchHTTPReport(w io.Writer, r *bench.HTTPReport) {
	on := r.URL
	if r.Store != "" {
		on += " (in-process, on " + r.Store + ")"
	}
	fmt.Fprintf(w, "http on %s: %d accounts, %d clients, %d transfers per request\n", on, r.Accounts, r.Concurrency, r.Batch)
	fmt.Fprintf(w, "requests   %.0f/s (%d in %.1fs)\n", r.RequestsPerS, r.Requests, r.DurationS)
	fmt.Fprintf(w, "transfers  %.0f/s (%d accepted, %d rejected)\n", r.TransfersPerS, r.Transfers, r.Rejected)
	fmt.Fprintf(w, "latency    p50 %.2fms  p99 %.2fms  p99.9 %.2fms  max %.2fms\n", r.LatencyP50Ms, r.LatencyP99Ms, r.LatencyP999Ms, r.LatencyMaxMs)
	if r.BatchSizesFrom != "" {
		fmt.Fprintf(w, "batches    %d, average %.1f requests, average commit %.2fms\n", r.Batches, r.AvgBatch, r.AvgCommitMs)
	}
	printBatchSizes(w, 11, r.BatchSizes)
	printCost(w, 11, r.Cost)
	if len(r.Errors) == 0 {
		fmt.Fprintln(w, "errors     none")
		return
	}
	fmt.Fprintf(w, "errors     %d:", r.Failed())
	for _, status := range slices.Sorted(maps.Keys(r.Errors)) {
		fmt.Fprintf(w, " %s×%d", status, r.Errors[status])
	}
	fmt.Fprintln(w)
}

// minLevel is a slog handler that drops records below a level.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.level}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.level}
}
