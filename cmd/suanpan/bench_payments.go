package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/suanpan/suanpan/internal/bench"
)

// BenchPaymentsCmd runs bench.RunPayments: pay-in orders end to end against
// the channel simulator, with its callbacks. Like bench ledger it has its
// own --store and never touches the server's.
type BenchPaymentsCmd struct {
	Store             string        `default:"sqlite" placeholder:"sqlite|postgres|PATH|URL" help:"Where to run: sqlite (a new SQLite file in a temporary directory) or postgres (a new database on the server of --postgres-url), both removed afterwards; or an SQLite file path or a postgres:// URL to run in as it is. The run writes test customers, accounts and orders there: never point it at a store that holds real money."`
	PostgresURL       string        `name:"postgres-url" default:"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" env:"SUANPAN_BENCH_POSTGRES_URL" placeholder:"URL" help:"With --store postgres: the server to create the benchmark's database on; its user must be allowed to create databases."`
	SQLiteSynchronous string        `name:"sqlite-synchronous" enum:"full,normal" default:"full" help:"SQLite durability, full or normal."`
	Accounts          int           `default:"1000" help:"Customer wallets that receive pay-ins."`
	Concurrency       int           `default:"64" help:"Concurrent order creators."`
	Duration          time.Duration `default:"10s" help:"How long orders are created; the run then waits for every outcome."`
	FailRate          int           `name:"fail-rate" default:"0" help:"Orders the simulated channel fails, in basis points (100 = 1%)."`
	JSON              bool          `name:"json" help:"Print only the report, as one JSON object, and no progress."`
	benchProfileFlags `embed:""`
}

// Validate checks the flags before anything is opened.
func (c *BenchPaymentsCmd) Validate() error {
	switch {
	case c.Accounts < 1 || c.Accounts > benchMaxPayAccounts:
		return fmt.Errorf("--accounts must be from 1 to %d", benchMaxPayAccounts)
	case c.Concurrency < 1 || c.Concurrency > benchMaxConcurrency:
		return fmt.Errorf("--concurrency must be from 1 to %d", benchMaxConcurrency)
	case c.Duration <= 0 || c.Duration > benchMaxDuration:
		return fmt.Errorf("--duration must be positive and at most %s", benchMaxDuration)
	case c.FailRate < 0 || c.FailRate > 10_000:
		return fmt.Errorf("--fail-rate must be from 0 to 10000 basis points")
	}
	return nil
}

// Run runs the benchmark and prints its report. It returns errProblems when
// the ledger fails verification afterwards.
func (c *BenchPaymentsCmd) Run(ctx context.Context, a *app) error {
	var progress func(string)
	if !c.JSON {
		progress = func(line string) { fmt.Fprintln(a.stderr, line) }
	}
	rep, err := bench.RunPayments(ctx, bench.PaymentsConfig{Store: c.Store, PostgresURL: c.PostgresURL,
		SQLiteSynchronous: c.SQLiteSynchronous, Accounts: c.Accounts, Concurrency: c.Concurrency, Duration: c.Duration,
		FailRate: c.FailRate, Profiles: c.profiles()}, progress)
	if err != nil {
		return fmt.Errorf("bench payments: %w", err)
	}
	if c.JSON {
		if err := json.NewEncoder(a.stdout).Encode(rep); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	} else {
		printBenchPaymentsReport(a.stdout, rep)
	}
	if !rep.VerifyOK {
		return errProblems
	}
	return nil
}

func printBenchPaymentsReport(w io.Writer, r *bench.PaymentsReport) {
	fmt.Fprintf(w, "payments on %s: %d wallets, %d creators (set-up %.1fs)\n", r.Store, r.Accounts, r.Concurrency, r.SetupS)
	fmt.Fprintf(w, "created         %.0f pay-in orders/s (%d in %.1fs)\n", r.OrdersPerS, r.Orders, r.DurationS)
	fmt.Fprintf(w, "completed       %.0f orders/s (%d succeeded, %d failed; last outcome %.1fs after creating stopped; %d callbacks)\n",
		r.CompletedPerS, r.Succeeded, r.Failed, r.DrainS, r.Callbacks)
	fmt.Fprintf(w, "create latency  p50 %.2fms  p99 %.2fms\n", r.CreateP50Ms, r.CreateP99Ms)
	fmt.Fprintf(w, "end to end      p50 %.2fms  p99 %.2fms (created → final)\n", r.EndToEndP50Ms, r.EndToEndP99Ms)
	fmt.Fprintf(w, "ledger batches  %d, average %.1f items, average commit %.2fms\n", r.Batches, r.BatchItemsAvg, r.BatchMsAvg)
	printBatchSizes(w, 16, r.BatchSizes)
	printCost(w, 16, r.Cost)
	if r.VerifyOK {
		fmt.Fprintln(w, "verify          OK")
	} else {
		fmt.Fprintf(w, "verify          %d problem(s)\n", r.VerifyProblems)
	}
}
