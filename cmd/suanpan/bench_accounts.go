package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/suanpan/suanpan/internal/bench"
)

// benchMaxPayAccounts bounds bench accounts' set-up, which opens a customer
// and an account at a time.
const benchMaxPayAccounts = 1_000_000

// BenchAccountsCmd runs bench.RunAccounts: merchant payments through the
// account layer, then (unless --no-ledger) the raw ledger benchmark with the
// same accounts and concurrency, for the ratio. Like bench ledger it has its
// own --store and never touches the server's.
type BenchAccountsCmd struct {
	Store             string        `default:"sqlite" placeholder:"sqlite|postgres|PATH|URL" help:"Where to run: sqlite (a new SQLite file in a temporary directory) or postgres (a new database on the server of --postgres-url), both removed afterwards; or an SQLite file path or a postgres:// URL to run in as it is. The run writes test customers, accounts and payments there: never point it at a store that holds real money."`
	PostgresURL       string        `name:"postgres-url" default:"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" env:"SUANPAN_BENCH_POSTGRES_URL" placeholder:"URL" help:"With --store postgres: the server to create the benchmark's database on; its user must be allowed to create databases."`
	SQLiteSynchronous string        `name:"sqlite-synchronous" enum:"full,normal" default:"full" help:"SQLite durability, full or normal."`
	Accounts          int           `default:"1000" help:"Customer wallets that pay."`
	Merchants         int           `default:"10" help:"Merchant settlement accounts that are paid."`
	Concurrency       int           `default:"64" help:"Concurrent submitters."`
	Duration          time.Duration `default:"10s" help:"How long to measure (each run: the account layer, then the ledger)."`
	NoLedger          bool          `name:"no-ledger" help:"Skip the raw ledger run (and the ratio)."`
	JSON              bool          `name:"json" help:"Print only the report, as one JSON object, and no progress."`
	benchProfileFlags `embed:""`
}

// Validate checks the flags before anything is opened.
func (c *BenchAccountsCmd) Validate() error {
	switch {
	case c.Accounts < 1 || c.Accounts > benchMaxPayAccounts:
		return fmt.Errorf("--accounts must be from 1 to %d", benchMaxPayAccounts)
	case c.Merchants < 1 || c.Merchants > 10_000:
		return fmt.Errorf("--merchants must be from 1 to %d", 10_000)
	case c.Concurrency < 1 || c.Concurrency > benchMaxConcurrency:
		return fmt.Errorf("--concurrency must be from 1 to %d", benchMaxConcurrency)
	case c.Duration <= 0 || c.Duration > benchMaxDuration:
		return fmt.Errorf("--duration must be positive and at most %s", benchMaxDuration)
	}
	return nil
}

// Run runs the benchmark and prints its report. It returns errProblems when
// a ledger fails verification afterwards.
func (c *BenchAccountsCmd) Run(ctx context.Context, a *app) error {
	cfg := bench.AccountsConfig{Store: c.Store, PostgresURL: c.PostgresURL, SQLiteSynchronous: c.SQLiteSynchronous,
		Accounts: c.Accounts, Merchants: c.Merchants, Concurrency: c.Concurrency, Duration: c.Duration, Ledger: !c.NoLedger,
		Profiles: c.profiles()}
	var progress func(string)
	if !c.JSON {
		progress = func(line string) { fmt.Fprintln(a.stderr, line) }
	}
	rep, err := bench.RunAccounts(ctx, cfg, progress)
	if err != nil {
		return fmt.Errorf("bench accounts: %w", err)
	}
	if c.JSON {
		if err := json.NewEncoder(a.stdout).Encode(rep); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	} else {
		printBenchAccountsReport(a.stdout, rep)
	}
	if !rep.VerifyOK || (rep.Ledger != nil && !rep.Ledger.VerifyOK) {
		return errProblems
	}
	return nil
}

func printBenchAccountsReport(w io.Writer, r *bench.AccountsReport) {
	fmt.Fprintf(w, "accounts on %s: %d wallets, %d merchants, %d submitters (set-up %.1fs)\n",
		r.Store, r.Accounts, r.Merchants, r.Concurrency, r.SetupS)
	fmt.Fprintf(w, "payments        %.0f operations/s (%d in %.1fs, %d rejected)\n", r.OperationsPerS, r.Operations, r.DurationS, r.Rejected)
	fmt.Fprintf(w, "pay latency     p50 %.2fms  p99 %.2fms  p99.9 %.2fms\n", r.PayP50Ms, r.PayP99Ms, r.PayP999Ms)
	printBatchSizes(w, 16, r.BatchSizes)
	printCost(w, 16, r.Cost)
	if r.Ledger != nil {
		fmt.Fprintf(w, "raw ledger      %.0f transfers/s, p50 %.2fms  p99 %.2fms, %.0f WAL bytes and %.0f µs CPU per transfer\n",
			r.LedgerTransfersPerS, r.Ledger.SubmitP50Ms, r.Ledger.SubmitP99Ms, r.Ledger.WALBytesPerUnit, r.Ledger.CPUUsPerUnit)
		fmt.Fprintf(w, "ratio           %.2f of the ledger's throughput\n", r.Ratio)
	}
	if r.VerifyOK {
		fmt.Fprintln(w, "verify          OK")
	} else {
		fmt.Fprintf(w, "verify          %d problem(s)\n", r.VerifyProblems)
	}
}
