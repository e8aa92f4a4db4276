package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/suanpan/suanpan/internal/bench"
)

// BenchReconCmd runs bench.RunRecon: a channel's statement imported and
// reconciled against as many orders. Like bench ledger it has its own
// --store and never touches the server's.
type BenchReconCmd struct {
	Store             string `default:"sqlite" placeholder:"sqlite|postgres|PATH|URL" help:"Where to run: sqlite (a new SQLite file in a temporary directory) or postgres (a new database on the server of --postgres-url), both removed afterwards; or an SQLite file path or a postgres:// URL to run in as it is. The run writes test orders and statements there: never point it at a store that holds real money."`
	PostgresURL       string `name:"postgres-url" default:"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" env:"SUANPAN_BENCH_POSTGRES_URL" placeholder:"URL" help:"With --store postgres: the server to create the benchmark's database on; its user must be allowed to create databases."`
	SQLiteSynchronous string `name:"sqlite-synchronous" enum:"full,normal" default:"full" help:"SQLite durability, full or normal."`
	Orders            int    `default:"1000000" help:"Orders, and about as many statement lines."`
	FaultRate         int    `name:"fault-rate" default:"100" help:"Lines that differ from their order (amount, fee, twice, the channel's alone), in basis points; as many orders again are missing from the statement."`
	MemoryLimit       int    `name:"memory-limit" default:"600" help:"The Go runtime's soft memory limit for the run in MiB, as GOMEMLIMIT sets it for a server; 0 leaves it as it is (the heap may then grow to twice what is live)."`
	JSON              bool   `name:"json" help:"Print only the report, as one JSON object, and no progress."`
	benchProfileFlags `embed:""`
}

// Validate checks the flags before anything is opened.
func (c *BenchReconCmd) Validate() error {
	switch {
	case c.Orders < 1 || c.Orders > 2_000_000:
		return fmt.Errorf("--orders must be from 1 to 2000000")
	case c.FaultRate < 0 || c.FaultRate > 2_000:
		return fmt.Errorf("--fault-rate must be from 0 to 2000 basis points")
	case c.MemoryLimit < 0:
		return fmt.Errorf("--memory-limit must not be negative")
	}
	return nil
}

// Run runs the benchmark and prints its report. It returns errProblems when
// the ledger fails verification or suspense does not explain what is open.
func (c *BenchReconCmd) Run(ctx context.Context, a *app) error {
	var progress func(string)
	if !c.JSON {
		progress = func(line string) { fmt.Fprintln(a.stderr, line) }
	}
	rep, err := bench.RunRecon(ctx, bench.ReconConfig{Store: c.Store, PostgresURL: c.PostgresURL, SQLiteSynchronous: c.SQLiteSynchronous,
		Orders: c.Orders, FaultRate: c.FaultRate, MemoryLimit: int64(c.MemoryLimit) << 20, Profiles: c.profiles()}, progress)
	if err != nil {
		return fmt.Errorf("bench recon: %w", err)
	}
	if c.JSON {
		if err := json.NewEncoder(a.stdout).Encode(rep); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	} else {
		printBenchReconReport(a.stdout, rep)
	}
	if !rep.VerifyOK || !rep.BooksOK {
		return errProblems
	}
	return nil
}

func printBenchReconReport(w io.Writer, r *bench.ReconReport) {
	fmt.Fprintf(w, "reconciliation on %s: %d lines (%.0f MiB) against %d orders (set-up %.1fs)\n", r.Store, r.Lines, r.FileMiB,
		r.Orders, r.SetupS)
	fmt.Fprintf(w, "import          %.1fs (parse, validate, store)\n", r.ImportS)
	fmt.Fprintf(w, "run             %.1fs (load, match, record, park %d open)\n", r.RunS, r.Open)
	fmt.Fprintf(w, "total           %.1fs, peak heap %.0f MiB, peak RSS %.0f MiB", r.TotalS, r.PeakHeap, r.PeakRSS)
	if r.MemLimit > 0 {
		fmt.Fprintf(w, " (memory limit %.0f MiB)", r.MemLimit)
	}
	if r.Orders >= 1_000_000 {
		if r.TargetMet {
			fmt.Fprint(w, " (target < 60 s and < 1 GiB: met)")
		} else {
			fmt.Fprint(w, " (target < 60 s and < 1 GiB: NOT met)")
		}
	}
	fmt.Fprintln(w)
	kinds := make([]string, 0, len(r.Counts))
	for k := range r.Counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(w, "  %-16s %d\n", k, r.Counts[k])
	}
	printCost(w, 16, r.Cost)
	fmt.Fprintf(w, "verify          %v; suspense explains the open differences: %v\n", r.VerifyOK, r.BooksOK)
}
