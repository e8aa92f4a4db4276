package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/suanpan/suanpan/internal/bench"
	"github.com/suanpan/suanpan/internal/ledger"
)

// BenchCmd groups the load generators. They measure and print; they never
// judge a speed, and they only ever touch stores on this machine or the one
// given.
type BenchCmd struct {
	Ledger BenchLedgerCmd `cmd:"" help:"Drive concurrent transfers through the ledger engine, then verify the ledger."`
}

// Bounds on a bench run, so that a typo cannot ask for a month-long run or a
// million goroutines.
const (
	benchMaxAccounts    = 10_000_000
	benchMaxConcurrency = 100_000
	benchMaxDuration    = 24 * time.Hour
	benchMaxBatch       = 4096 // the engine's default ledger.Options.MaxBatch
	benchMaxWriters     = 64
)

// BenchLedgerCmd runs bench.RunLedger. It has its own --store, empty by
// default, because a benchmark writes test accounts and transfers wherever
// it runs and must never land in the server's store by default or by
// configuration.
type BenchLedgerCmd struct {
	Store             string        `placeholder:"PATH|URL" help:"Where to run: an SQLite file path or a postgres:// URL. Empty: a new SQLite file in a temporary directory, removed afterwards. The run writes test accounts and transfers there: never point it at a store that holds real money."`
	SQLiteSynchronous string        `name:"sqlite-synchronous" enum:"full,normal" default:"full" help:"SQLite durability, full or normal: normal is faster, but a power loss or OS crash may lose the last acknowledged commits."`
	Accounts          int           `default:"10000" help:"Customer accounts that transfers move between."`
	Concurrency       int           `default:"64" help:"Concurrent submitters."`
	Duration          time.Duration `default:"10s" help:"How long to measure."`
	Postings          int           `default:"2" help:"Journal legs per transfer, an even number: 2 is one debit and one credit."`
	Hot               float64       `default:"0" help:"Share of transfers, from 0 to 1, that credit one hot account."`
	Batch             int           `default:"1" help:"Transfers per submission."`
	Writers           int           `default:"0" help:"Batches committed concurrently (PostgreSQL only); 0 takes the engine's default."`
	JSON              bool          `name:"json" help:"Print only the report, as one JSON object, and no progress."`
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
		SQLiteSynchronous: c.SQLiteSynchronous,
		Accounts:          c.Accounts,
		Concurrency:       c.Concurrency,
		Duration:          c.Duration,
		Postings:          c.Postings,
		Hot:               c.Hot,
		Batch:             c.Batch,
		Writers:           c.Writers,
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
	fmt.Fprintf(w, "heap            start %.1f MiB, end %.1f MiB, max %.1f MiB\n", r.HeapStartMiB, r.HeapEndMiB, r.HeapMaxMiB)
	if r.VerifyOK {
		fmt.Fprintln(w, "verify          OK")
	} else {
		fmt.Fprintf(w, "verify          %d problem(s)\n", r.VerifyProblems)
	}
}
