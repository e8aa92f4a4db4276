package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/google/go-cmp/cmp"

	"github.com/suanpan/suanpan/internal/bench"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// cli runs the command line in-process, as `suanpan args...`, with no
// SUANPAN_ variables inherited from the environment the tests run in.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// cleanEnv unsets every SUANPAN_ variable for the test, so that the
// developer's or CI's settings cannot leak into it. It keeps the test
// suite's own SUANPAN_TEST_ variables, which are no settings of suanpan.
func cleanEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "SUANPAN_") && !strings.HasPrefix(k, "SUANPAN_TEST_") {
			t.Setenv(k, "") // restores the value after the test
			os.Unsetenv(k)
		}
	}
}

// setEncryptionKeys gives servers on PostgreSQL, which requires them, a
// customer encryption key through the environment; on SQLite servers
// generate their own.
func setEncryptionKeys(t *testing.T, engine store.Dialect) {
	t.Helper()
	if engine == store.Postgres {
		t.Setenv("SUANPAN_ENCRYPTION_KEYS", "t1:"+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	}
}

// mustRun runs the command line and fails the test unless it exits with want.
func mustRun(t *testing.T, want int, args ...string) (stdout string) {
	t.Helper()
	code, stdout, stderr := cli(t, args...)
	if code != want {
		t.Fatalf("suanpan %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, stdout, stderr)
	}
	return stdout
}

func TestMigrateThenVerify(t *testing.T) {
	cleanEnv(t)
	path := filepath.Join(t.TempDir(), "suanpan.db")

	migrated := regexp.MustCompile(`applied (\d+) migration\(s\); schema version (\d+)`)
	out := mustRun(t, exitOK, "migrate", "--store", path)
	first := migrated.FindStringSubmatch(out)
	if first == nil || first[1] == "0" || first[2] == "0" {
		t.Fatalf("first migrate printed %q, want migrations applied and a schema version", out)
	}
	out = mustRun(t, exitOK, "migrate", "--store", path)
	if want := "applied 0 migration(s); schema version " + first[2]; !strings.Contains(out, want) {
		t.Errorf("second migrate printed %q, want %q", out, want)
	}

	out = mustRun(t, exitOK, "verify", "--store", path)
	if !strings.Contains(out, "result        OK") {
		t.Errorf("verify printed %q, want result OK", out)
	}
	var rep ledger.VerifyReport
	if err := json.Unmarshal([]byte(mustRun(t, exitOK, "verify", "--json", "--store", path)), &rep); err != nil {
		t.Fatalf("verify --json: %v", err)
	}
	if !rep.OK || rep.Problems == nil {
		t.Errorf("verify --json = %+v, want ok and an empty (non-null) problems list", rep)
	}
}

func TestVerifyFindsTamperedBalance(t *testing.T) {
	cleanEnv(t)
	path := filepath.Join(t.TempDir(), "suanpan.db")
	wallet := tamperedStore(t, path)

	code, out, stderr := cli(t, "verify", "--store", path)
	if code != exitProblems {
		t.Fatalf("verify: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitProblems, out, stderr)
	}
	for _, want := range []string{"problem(s)", "account_balance " + wallet, "trial_balance"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = cli(t, "verify", "--json", "--store", path)
	if code != exitProblems {
		t.Fatalf("verify --json: exit %d, want %d", code, exitProblems)
	}
	var rep ledger.VerifyReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("verify --json: %v", err)
	}
	if rep.OK || !slices.ContainsFunc(rep.Problems, func(p ledger.Problem) bool {
		return p.Check == "account_balance" && p.ID == wallet
	}) {
		t.Errorf("verify --json = %+v, want an account_balance problem for %s", rep, wallet)
	}
}

// tamperedStore creates a ledger at path with one transfer into a wallet,
// then adds a cent to the wallet's stored credits behind the ledger's back.
// It returns the wallet's ID.
func tamperedStore(t *testing.T, path string) string {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	l := ledger.New(db, ledger.Options{})
	defer l.Close()
	if _, err := l.CreateAsset(ctx, "CNY", 2); err != nil {
		t.Fatal(err)
	}
	accts, err := l.CreateAccounts(ctx, []ledger.NewAccount{
		{InstitutionID: "inst1", Asset: "CNY", Code: "1002", Name: "bank", NormalSide: ledger.Debit, Overdraft: ledger.OverdraftUnlimited},
		{InstitutionID: "inst1", Asset: "CNY", Code: "2001", Name: "wallet", NormalSide: ledger.Credit},
	})
	if err != nil {
		t.Fatal(err)
	}
	bank, wallet := accts[0], accts[1]
	if _, err := l.Post(ctx, ledger.Request{Kind: ledger.KindTransfer, InstitutionID: "inst1", Reference: "topup-1",
		Postings: []ledger.Posting{{Debit: bank.ID, Credit: wallet.ID, Asset: "CNY", Amount: 10000}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Write.ExecContext(ctx, `UPDATE accounts SET credits_posted = credits_posted + 1 WHERE id = $1`, wallet.ID); err != nil {
		t.Fatal(err)
	}
	return wallet.ID
}

func TestBenchLedgerJSON(t *testing.T) {
	cleanEnv(t)
	t.Setenv("TMPDIR", t.TempDir()) // the bench's temporary store
	stores := [][]string{{"--store", "sqlite"}}
	if pg := os.Getenv(storetest.PostgresEnv); pg != "" {
		stores = append(stores, []string{"--store", "postgres", "--postgres-url", pg})
	}
	for _, store := range stores {
		t.Run(store[1], func(t *testing.T) { benchLedgerJSON(t, store) })
	}
}

func benchLedgerJSON(t *testing.T, store []string) {
	args := append([]string{"bench", "ledger", "--duration", "1s", "--accounts", "200", "--concurrency", "8", "--json"}, store...)
	code, out, stderr := cli(t, args...)
	if code != exitOK {
		t.Fatalf("bench ledger: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	var rep bench.LedgerReport
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("stdout is not a LedgerReport: %v\n%s", err, out)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Errorf("stdout holds more than one JSON object:\n%s", out)
	}
	if rep.TransfersPerS <= 0 || !rep.VerifyOK || rep.Store != store[1] {
		t.Errorf("report = %+v, want transfers_per_s > 0 and verify_ok on %s", rep, store[1])
	}
	if stderr != "" {
		t.Errorf("--json wrote to stderr (progress belongs only to the human output):\n%s", stderr)
	}
}

// settings are the values the precedence test looks at.
type settings struct {
	Store, SQLiteSynchronous, LogLevel string
	BenchStore, BenchSynchronous       string
}

func TestConfigPrecedence(t *testing.T) {
	file := writeConfig(t, `{"store": "file.db", "sqlite_synchronous": "normal", "log_level": "warn"}`)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want settings
	}{
		{
			name: "defaults",
			args: []string{"migrate"},
			want: settings{Store: "suanpan.db", SQLiteSynchronous: "full", LogLevel: "info"},
		},
		{
			name: "file over defaults",
			args: []string{"--config", file, "migrate"},
			want: settings{Store: "file.db", SQLiteSynchronous: "normal", LogLevel: "warn"},
		},
		{
			name: "file named by the environment",
			env:  map[string]string{"SUANPAN_CONFIG": file},
			args: []string{"migrate"},
			want: settings{Store: "file.db", SQLiteSynchronous: "normal", LogLevel: "warn"},
		},
		{
			name: "environment over file",
			env:  map[string]string{"SUANPAN_STORE": "env.db", "SUANPAN_LOG_LEVEL": "error"},
			args: []string{"--config", file, "migrate"},
			want: settings{Store: "env.db", SQLiteSynchronous: "normal", LogLevel: "error"},
		},
		{
			name: "flags over environment",
			env: map[string]string{"SUANPAN_CONFIG": file, "SUANPAN_STORE": "env.db", "SUANPAN_LOG_LEVEL": "error",
				"SUANPAN_SQLITE_SYNCHRONOUS": "normal"},
			args: []string{"--log-level", "debug", "migrate", "--store", "flag.db", "--sqlite-synchronous", "full"},
			want: settings{Store: "flag.db", SQLiteSynchronous: "full", LogLevel: "debug"},
		},
		{
			name: "bench ignores the server's store settings",
			env:  map[string]string{"SUANPAN_STORE": "env.db", "SUANPAN_SQLITE_SYNCHRONOUS": "normal"},
			args: []string{"--config", file, "bench", "ledger"},
			want: settings{LogLevel: "warn", BenchStore: "sqlite", BenchSynchronous: "full"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var c CLI
			parser, err := newParser(&c, io.Discard, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			kctx, err := parser.Parse(tt.args)
			if err != nil {
				t.Fatalf("parse %q: %v", tt.args, err)
			}
			got := settings{LogLevel: c.LogLevel}
			if kctx.Command() == "bench ledger" {
				got.BenchStore, got.BenchSynchronous = c.Bench.Ledger.Store, c.Bench.Ledger.SQLiteSynchronous
			} else {
				got.Store, got.SQLiteSynchronous = c.Migrate.Store, c.Migrate.SQLiteSynchronous
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConfigReachesCommand runs a command end to end with its store named
// only in the config file.
func TestConfigReachesCommand(t *testing.T) {
	cleanEnv(t)
	path := filepath.Join(t.TempDir(), "from-config.db")
	t.Setenv("SUANPAN_CONFIG", writeConfig(t, `{"store": `+quote(t, path)+`}`))
	out := mustRun(t, exitOK, "migrate")
	if !strings.Contains(out, path) {
		t.Errorf("migrate printed %q, want it to name %s", out, path)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("store from config not created: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name, config, want string
	}{
		{"unknown key", `{"stroe": "x.db"}`, `"stroe" is not a setting`},
		{"per-run flag", `{"json": true}`, `"json" is not a setting`},
		{"not JSON", `store = "x.db"`, "invalid character"},
		{"bad value", `{"sqlite_synchronous": "off"}`, "sqlite-synchronous"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			code, _, stderr := cli(t, "--config", writeConfig(t, tt.config), "verify",
				"--store", filepath.Join(t.TempDir(), "never.db"))
			if code != exitError || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr, exitError, tt.want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		cleanEnv(t)
		code, _, stderr := cli(t, "--config", filepath.Join(t.TempDir(), "absent.json"), "version")
		if code != exitError || !strings.Contains(stderr, "absent.json") {
			t.Errorf("exit %d, stderr %q; want exit %d naming the file", code, stderr, exitError)
		}
	})
}

func TestVersion(t *testing.T) {
	cleanEnv(t)
	out := mustRun(t, exitOK, "version")
	if !strings.HasPrefix(out, "suanpan ") || !strings.Contains(out, runtime.Version()) {
		t.Errorf("version printed %q, want the suanpan version and %s", out, runtime.Version())
	}
}

func TestExitStatus(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"version", []string{"version"}, exitOK},
		{"help", []string{"--help"}, exitOK},
		{"no command", nil, exitError},
		{"unknown command", []string{"frobnicate"}, exitError},
		{"odd postings", []string{"bench", "ledger", "--postings", "3"}, exitError},
		{"hot above 1", []string{"bench", "ledger", "--hot", "1.5"}, exitError},
		{"bad synchronous", []string{"migrate", "--sqlite-synchronous", "off"}, exitError},
		{"unreachable store", []string{"migrate", "--store", "postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=1"}, exitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			code, stdout, stderr := cli(t, tt.args...)
			if code != tt.want {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.want, stdout, stderr)
			}
			if strings.Contains(stdout+stderr, "hunter2") {
				t.Errorf("output shows the store's password:\n%s%s", stdout, stderr)
			}
		})
	}
}

// TestHelp checks that every command's --help names each of its flags and
// their environment variables, walking the parser's model so that commands
// added later are covered too.
func TestHelp(t *testing.T) {
	var c CLI
	parser, err := newParser(&c, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		if n.Hidden {
			return
		}
		args := commandArgs(n)
		t.Run(strings.Join(append([]string{"suanpan"}, args...), " "), func(t *testing.T) {
			cleanEnv(t)
			out := mustRun(t, exitOK, append(args, "--help")...)
			for a := n; a != nil; a = a.Parent {
				for _, f := range a.Flags {
					if f.Hidden {
						continue
					}
					if !strings.Contains(out, "--"+f.Name) {
						t.Errorf("help lacks --%s:\n%s", f.Name, out)
					}
					for _, env := range f.Tag.Envs {
						if !strings.Contains(out, "$"+env) {
							t.Errorf("help lacks $%s of --%s:\n%s", env, f.Name, out)
						}
					}
				}
			}
		})
		for _, child := range n.Children {
			walk(child)
		}
	}
	walk(parser.Model.Node)
}

// commandArgs returns the words that select n, e.g. ["bench", "ledger"].
func commandArgs(n *kong.Node) []string {
	var args []string
	for ; n != nil && n.Type == kong.CommandNode; n = n.Parent {
		args = append([]string{n.Name}, args...)
	}
	return args
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "suanpan.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func quote(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
