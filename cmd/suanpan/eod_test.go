package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/eod"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// daysAgo is the UTC date n days before now: the ledger's business date is
// the UTC date, so any earlier one is over and may be closed.
func daysAgo(n int) string { return time.Now().UTC().AddDate(0, 0, -n).Format(time.DateOnly) }

// manifestLine finds the manifest's SHA-256 in eod run's output.
var manifestLine = regexp.MustCompile(`(?m)^manifest\s+([0-9a-f]{64})$`)

func TestEODRun(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			cleanEnv(t)
			setEncryptionKeys(t, engine)
			loc := storetest.Location(t, engine)
			day := daysAgo(2)
			dir := filepath.Join(t.TempDir(), "reports")

			first := mustRun(t, exitOK, "eod", "run", "--store", loc, "--date", day, "--out", dir)
			for _, step := range eod.Steps() {
				if !regexp.MustCompile(`(?m)^` + step + `\s+(done|skipped)\s`).MatchString(first) {
					t.Errorf("step %s is not done or skipped:\n%s", step, first)
				}
			}
			m := manifestLine.FindStringSubmatch(first)
			if m == nil {
				t.Fatalf("eod run printed no manifest SHA-256:\n%s", first)
			}
			for _, want := range []string{"status    completed", "manifest-" + day + ".json", "SHA-256 checked"} {
				if !strings.Contains(first, want) {
					t.Errorf("eod run printed:\n%s\nwant it to contain %q", first, want)
				}
			}

			// Again: the completed day is shown as it is.
			again := mustRun(t, exitOK, "eod", "run", "--store", loc, "--date", day)
			if m2 := manifestLine.FindStringSubmatch(again); m2 == nil || m2[1] != m[1] {
				t.Errorf("the second run printed another manifest:\n%s\nthe first: %s", again, m[1])
			}
			var v eodView
			if err := json.Unmarshal([]byte(mustRun(t, exitOK, "eod", "run", "--store", loc, "--date", day, "--json")), &v); err != nil {
				t.Fatal(err)
			}
			if v.Run.Status != eod.StatusCompleted || v.Run.Attempts != 1 || v.Run.ManifestSHA256 != m[1] || len(v.Run.Steps) != len(eod.Steps()) {
				t.Errorf("eod run --json = %+v, want the completed run of one attempt with manifest %s", v.Run, m[1])
			}
			checkReports(t, dir, v.Reports, m[1])

			show := mustRun(t, exitOK, "eod", "show", "--store", loc, "--date", day)
			for _, want := range []string{"status    completed", m[1], "archive            done"} {
				if !strings.Contains(show, want) {
					t.Errorf("eod show printed:\n%s\nwant it to contain %q", show, want)
				}
			}

			// Today is not over.
			code, stdout, stderr := cli(t, "eod", "run", "--store", loc, "--date", daysAgo(0))
			if code != exitError || !strings.Contains(stderr, string(eod.CodeDateOpen)) || stdout != "" {
				t.Errorf("eod run of today: exit %d, stdout %q, stderr %q; want %d and %s", code, stdout, stderr, exitError, eod.CodeDateOpen)
			}
			code, _, stderr = cli(t, "eod", "show", "--store", loc, "--date", daysAgo(3))
			if code != exitError || !strings.Contains(stderr, string(eod.CodeNotFound)) {
				t.Errorf("eod show of a day never run: exit %d, stderr %q", code, stderr)
			}
		})
	}
}

func TestEODRunDateFlag(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing", []string{"eod", "run"}, "--date is required"},
		{"another layout", []string{"eod", "run", "--date", "21/11/2026"}, "YYYY-MM-DD"},
		{"no such day", []string{"eod", "run", "--date", "2026-02-30"}, "YYYY-MM-DD"},
		{"show missing", []string{"eod", "show"}, "--date is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			path := filepath.Join(t.TempDir(), "never.db")
			code, _, stderr := cli(t, append(tt.args, "--store", path)...)
			if code != exitError || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d mentioning %q", code, stderr, exitError, tt.want)
			}
			if _, err := os.Stat(path); err == nil {
				t.Error("the store was opened before the date was checked")
			}
		})
	}
}

// TestEODRunWarnings closes a day on a store whose trial balance does not
// balance: the day completes, with a warning.
func TestEODRunWarnings(t *testing.T) {
	cleanEnv(t)
	path := filepath.Join(t.TempDir(), "suanpan.db")
	tamperedStore(t, path)
	out := mustRun(t, exitProblems, "eod", "run", "--store", path, "--date", daysAgo(1))
	for _, want := range []string{"status    completed_with_warnings", "check              warning",
		"1 institution(s) checked, 1 with differences; trial balance UNBALANCED"} {
		if !strings.Contains(out, want) {
			t.Errorf("eod run printed:\n%s\nwant it to contain %q", out, want)
		}
	}
}

// TestEODRunResumes fails a step — its table is out of reach — then runs
// the day again once it is back: the run resumes at that step.
func TestEODRunResumes(t *testing.T) {
	cleanEnv(t)
	path := filepath.Join(t.TempDir(), "suanpan.db")
	mustRun(t, exitOK, "migrate", "--store", path)
	exec := func(q string) {
		t.Helper()
		db, err := store.Open(context.Background(), path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Write.ExecContext(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	day := daysAgo(1)
	exec(`ALTER TABLE payment_orders RENAME TO payment_orders_away`)
	code, stdout, stderr := cli(t, "eod", "run", "--store", path, "--date", day, "--out", filepath.Join(t.TempDir(), "out"))
	if code != exitError {
		t.Fatalf("eod run without payment_orders: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitError, stdout, stderr)
	}
	for _, want := range []string{`(?m)^status\s+failed$`, `(?m)^vouchers\s+pending`, "no reports written",
		`settlement_report\s+failed\s+failed: .*payment_orders`} {
		if !regexp.MustCompile(want).MatchString(stdout) {
			t.Errorf("eod run printed:\n%s\nwant it to match %q", stdout, want)
		}
	}
	if !strings.Contains(stderr, string(eod.CodeStepFailed)) || !strings.Contains(stderr, "settlement_report") {
		t.Errorf("eod run's error does not name the failed step:\n%s", stderr)
	}
	exec(`ALTER TABLE payment_orders_away RENAME TO payment_orders`)
	out := mustRun(t, exitOK, "eod", "run", "--store", path, "--date", day)
	for _, want := range []string{"status    completed", "attempts  2", "settlement_report  done"} {
		if !strings.Contains(out, want) {
			t.Errorf("the resumed run printed:\n%s\nwant it to contain %q", out, want)
		}
	}
}

// TestEODRunReconciles closes a day whose channel delivered its statement
// in its own format: eod run reconciles it on the store with the services
// and keys a server uses, and the server sees the day closed.
func TestEODRunReconciles(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			cleanEnv(t)
			setEncryptionKeys(t, engine)
			ctx := context.Background()
			loc := storetest.Location(t, engine)
			db, err := store.Open(ctx, loc, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			// The keys eod run finds too: the file beside an SQLite store,
			// or the environment's.
			kr, err := keyring(os.Getenv("SUANPAN_ENCRYPTION_KEYS"), db, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			day := daysAgo(2)
			start, err := time.Parse(time.DateOnly, day)
			if err != nil {
				t.Fatal(err)
			}
			r := newReconServerOn(t, db, kr, clock.NewFake(start.Add(9*time.Hour)))
			ch, wallet := r.books(t)
			r.payIn(t, ch.ID, wallet, "in-1", "12.34")
			r.payIn(t, ch.ID, wallet, "in-2", "6.00")
			r.sim.Settle()
			var statement bytes.Buffer
			if err := r.sim.WriteStatement(&statement, channel.BankTransfer, start); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "statement.csv")
			writeFile(t, file, statement.String())
			clientRun(t, r.url, r.key, exitOK, []string{"format       native", "lines        2", "credits      1834 (18.34 CNY)"},
				"recon", "import", "--channel", ch.ID, "--date", day, file)

			out := mustRun(t, exitOK, "eod", "run", "--store", loc, "--date", day)
			for _, want := range []string{`reconcile\s+done\s+1 channel\(s\), 0 without a statement; 2 matched, 0 late, 0 discrepancies open`,
				`settlement_report\s+done\s+settlement reports of 1 institution\(s\)`, "reconciliation-root-" + day + `\.json`,
				"settlement-root-" + day + `\.csv`} {
				if !regexp.MustCompile(want).MatchString(out) {
					t.Errorf("eod run printed:\n%s\nwant it to match %q", out, want)
				}
			}
			clientRun(t, r.url, r.key, exitOK, []string{"status    completed", "by cli"}, "eod", "status", "--date", day)
		})
	}
}
