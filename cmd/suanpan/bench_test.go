package main

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suanpan/suanpan/internal/bench"
)

// decodeHTTPReport decodes stdout as exactly one HTTPReport.
func decodeHTTPReport(t *testing.T, out string) bench.HTTPReport {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	var rep bench.HTTPReport
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("stdout is not an HTTPReport: %v\n%s", err, out)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Errorf("stdout holds more than one JSON object:\n%s", out)
	}
	return rep
}

// TestBenchHTTPJSON runs the in-process server on each store and checks
// that the report measures the write path: the server's WAL, the process's
// CPU, the server's batch sizes, and a CPU profile of the window.
func TestBenchHTTPJSON(t *testing.T) {
	stores := []string{"sqlite"}
	if os.Getenv("SUANPAN_TEST_POSTGRES_URL") != "" {
		stores = append(stores, "postgres")
	}
	for _, st := range stores {
		t.Run(st, func(t *testing.T) {
			pgURL := os.Getenv("SUANPAN_TEST_POSTGRES_URL")
			cleanEnv(t)
			t.Setenv("TMPDIR", t.TempDir()) // the in-process server's temporary store
			cpu := filepath.Join(t.TempDir(), "cpu.pprof")
			code, out, stderr := cli(t, "bench", "http", "--duration", "1s", "--concurrency", "4", "--accounts", "100", "--json",
				"--store", st, "--postgres-url", pgURL, "--cpuprofile", cpu)
			if code != exitOK {
				t.Fatalf("bench http: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
			}
			rep := decodeHTTPReport(t, out)
			if rep.RequestsPerS <= 0 || rep.TransfersPerS <= 0 || rep.Transfers != rep.Requests || len(rep.Errors) != 0 || rep.LatencyP50Ms <= 0 {
				t.Errorf("report = %+v, want requests and transfers per second > 0 and no errors", rep)
			}
			if rep.Store != st || !rep.WALMeasured || rep.WALBytes <= 0 || rep.WALBytesPerUnit <= 0 || rep.Unit != "transfer" {
				t.Errorf("report on %s: store %q, WAL %+v; want the server's WAL bytes per transfer", st, rep.Store, rep.Cost)
			}
			if !rep.CPUMeasured || rep.CPUUsPerUnit <= 0 {
				t.Errorf("CPU: %+v", rep.Cost)
			}
			if rep.BatchSizesFrom != "metrics" || rep.Batches <= 0 || rep.BatchP50 < 1 || rep.BatchMax < rep.BatchP50 || rep.CommitsPerS <= 0 {
				t.Errorf("batches %d, sizes %+v; want them from the server's metrics", rep.Batches, rep.BatchSizes)
			}
			if b, err := os.ReadFile(cpu); err != nil || len(b) < 20 || b[0] != 0x1f || b[1] != 0x8b {
				t.Errorf("cpu profile: %d bytes, %v; want a gzip-compressed pprof profile", len(b), err)
			}
			if stderr != "" {
				t.Errorf("--json wrote to stderr:\n%s", stderr)
			}
		})
	}
}

// TestBenchLedgerHuman checks that bench ledger prints the write path's
// cost and says what each figure counts.
func TestBenchLedgerHuman(t *testing.T) {
	cleanEnv(t)
	t.Setenv("TMPDIR", t.TempDir())
	out := mustRun(t, exitOK, "bench", "ledger", "--duration", "300ms", "--concurrency", "4", "--accounts", "20",
		"--memprofile", filepath.Join(t.TempDir(), "mem.pprof"))
	for _, want := range []string{"batch sizes     p50 ", "commits/s", "WAL             ", "bytes/transfer", "pages of 4096 bytes/transfer",
		"SQLITE_DBSTATUS_CACHE_WRITE", "µs/transfer", "this process", "verify          OK"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench ledger printed:\n%s\nwant %q", out, want)
		}
	}
}

// TestBenchHTTPAgainstServer runs the load generator against a running
// server: it opens and funds its accounts through the API, and batches.
func TestBenchHTTPAgainstServer(t *testing.T) {
	cleanEnv(t)
	srv := startCommand(t, "http", "serve", "--addr", "127.0.0.1:0", "--store", filepath.Join(t.TempDir(), "suanpan.db"))
	key := tokenPattern.FindString(srv.stdout.String())
	out := mustRun(t, exitOK, "bench", "http", "--url", srv.url, "--api-key", key, "--accounts", "20", "--concurrency", "4",
		"--duration", "10s", "--requests", "40", "--batch", "5", "--json")
	rep := decodeHTTPReport(t, out)
	if rep.Requests != 40 || rep.Transfers != 200 || rep.Batch != 5 || len(rep.Errors) != 0 {
		t.Errorf("report = %+v, want 40 requests of 5 transfers each, all accepted", rep)
	}
	human := mustRun(t, exitOK, "bench", "http", "--url", srv.url, "--api-key", key, "--accounts", "2", "--concurrency", "2",
		"--duration", "10s", "--requests", "10")
	for _, want := range []string{"requests ", "transfers ", "p99", "errors     none", "batch sizes p50 ≤", "not measured: the server's store",
		"the HTTP clients only"} {
		if !strings.Contains(human, want) {
			t.Errorf("bench http printed:\n%s\nwant %q", human, want)
		}
	}
	srv.mustStop()
}

func TestBenchHTTPRefuses(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"remote target", []string{"--url", "http://192.0.2.1:8080", "--api-key", "k"}, "--allow-remote"},
		{"remote name", []string{"--url", "http://example.com", "--api-key", "k"}, "loopback"},
		{"url without key", []string{"--url", "http://127.0.0.1:1"}, "--api-key"},
		{"batch too large", []string{"--batch", "1001"}, "--batch"},
		{"no concurrency", []string{"--concurrency", "0"}, "--concurrency"},
		{"store with url", []string{"--url", "http://127.0.0.1:1", "--api-key", "k", "--store", "postgres"}, "--store"},
		{"unknown store", []string{"--store", "/tmp/x.db"}, "--store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			code, _, stderr := cli(t, append([]string{"bench", "http"}, tt.args...)...)
			if code != exitError || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr, exitError, tt.want)
			}
		})
	}
}

// bench payments runs pay-in orders end to end against the simulator and
// reports every order settled and the ledger verified.
func TestBenchPaymentsJSON(t *testing.T) {
	cleanEnv(t)
	code, out, stderr := cli(t, "bench", "payments", "--duration", "1s", "--concurrency", "4", "--accounts", "20", "--fail-rate", "1000", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep bench.PaymentsReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report %q: %v", out, err)
	}
	if rep.Orders == 0 || rep.Succeeded+rep.Failed != rep.Orders || rep.Failed == 0 || !rep.VerifyOK || rep.Batches == 0 {
		t.Errorf("report %+v: want every order settled, some failed, the ledger verified", rep)
	}
	if code, _, stderr := cli(t, "bench", "payments", "--fail-rate", "10001"); code != exitError || !strings.Contains(stderr, "--fail-rate") {
		t.Errorf("bad --fail-rate: exit %d, %q", code, stderr)
	}
}
