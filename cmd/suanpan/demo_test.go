package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/suanpan/suanpan/internal/payments/sim"
	"github.com/suanpan/suanpan/store"
)

func TestDemo(t *testing.T) {
	cleanEnv(t)
	dir := filepath.Join(t.TempDir(), "demo")

	first := startCommand(t, "http", "demo", "--addr", "127.0.0.1:0", "--data-dir", dir)
	out := first.stdout.String()
	key := tokenPattern.FindString(out)
	for _, want := range []string{"seeded just now", first.url, first.url + "/docs", "300 customer wallets", "30 customers and 3 merchants"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if key == "" {
		t.Fatalf("demo printed no API key:\n%s", out)
	}
	if fi, err := os.Stat(filepath.Join(dir, demoKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, %v; want mode 0600", fi, err)
	}
	cmds := curlCommands(t, out)
	if len(cmds) != 5 {
		t.Fatalf("found %d curl commands, want 5:\n%s", len(cmds), out)
	}
	answers := runCurls(t, cmds)
	var page struct {
		Items []struct{ ID, Code string }
	}
	if err := json.Unmarshal([]byte(answers[0].body), &page); err != nil || len(page.Items) == 0 || page.Items[0].Code != "2001" {
		t.Errorf("the accounts command answered %s, want customer wallets", answers[0].body)
	}
	var balance struct {
		Balance int64 `json:"balance"`
	}
	if err := json.Unmarshal([]byte(answers[1].body), &balance); err != nil || balance.Balance < 100_00 {
		t.Errorf("the balance command answered %s, want a balance of at least 100.00", answers[1].body)
	}
	if answers[2].status != http.StatusCreated || answers[2].replayed {
		t.Errorf("the transfer answered %d (replayed %v), want 201, new", answers[2].status, answers[2].replayed)
	}
	// The payment orders: the welcome counts some in every state (the open
	// ones move on within seconds); the final ones are listed.
	var orders struct {
		Items []struct{ State string }
	}
	if err := json.Unmarshal([]byte(answers[3].body), &orders); err != nil {
		t.Fatalf("the orders command answered %s: %v", answers[3].body, err)
	}
	states := map[string]int{}
	for _, o := range orders.Items {
		states[o.State]++
	}
	for _, st := range []string{"succeeded", "failed", "processing", "unknown", "created"} {
		final := st == "succeeded" || st == "failed"
		if !regexp.MustCompile(`[ (][1-9][0-9]* `+st+`[,;]`).MatchString(out) || (final && states[st] == 0) {
			t.Errorf("demo orders %v (printed:\n%s): want some %s", states, out, st)
		}
	}
	// The bank statement so far, reconciled: its run.
	var run struct {
		Status string
		Counts map[string]int
	}
	if err := json.Unmarshal([]byte(answers[4].body), &run); err != nil || run.Status != "done" || run.Counts["matched"] == 0 {
		t.Errorf("the reconciliation command answered %s", answers[4].body)
	}
	first.mustStop()
	afterFirst := readDemoStore(t, dir)
	checkBanner(t, "first run", out, demoStore{}, afterFirst)

	// A second run keeps the data and the key, and the same transfer is
	// recognised by its Idempotency-Key.
	second := startCommand(t, "http", "demo", "--addr", "127.0.0.1:0", "--data-dir", dir)
	out = second.stdout.String()
	if !strings.Contains(out, "kept from an earlier run") || tokenPattern.FindString(out) != key {
		t.Errorf("second run printed:\n%s\nwant the sample kept and the same key %s", out, key)
	}
	cmds = curlCommands(t, out)
	if len(cmds) != 5 {
		t.Fatalf("the second run printed %d curl commands, want 5:\n%s", len(cmds), out)
	}
	again := runCurls(t, cmds)
	if !again[2].replayed {
		t.Errorf("the transfer on the second run was not replayed: %d %s", again[2].status, again[2].body)
	}
	second.mustStop()
	checkBanner(t, "second run", out, afterFirst, readDemoStore(t, dir))
	// The channel simulator kept the orders it acknowledged.
	if fi, err := os.Stat(filepath.Join(dir, demoChannelsDir, sim.JournalFile)); err != nil || fi.Size() == 0 {
		t.Errorf("the channel simulator's journal: %v, %v; want the orders kept", fi, err)
	}
}

// demoStore is what the demo's store holds, counted apart from the demo's
// own code.
type demoStore struct {
	transactions, openHolds int
	orders                  map[string]int // by state
}

func readDemoStore(t *testing.T, dir string) demoStore {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(dir, demoStoreFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := demoStore{orders: map[string]int{}}
	if err := db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM transactions`).Scan(&s.transactions); err != nil {
		t.Fatal(err)
	}
	if err := db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM holds WHERE status = 'pending'`).Scan(&s.openHolds); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Read.QueryContext(ctx, `SELECT state, COUNT(*) FROM payment_orders GROUP BY state`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			t.Fatal(err)
		}
		s.orders[st] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	ledgerLine = regexp.MustCompile(`(\d+) transactions and (\d+) open holds`)
	ordersLine = regexp.MustCompile(`\((\d+) created, (\d+) processing, (\d+) unknown, (\d+) succeeded, (\d+) failed;`)
)

// checkBanner checks the counts a run of the demo printed against its
// store before the run (the previous run's end; zero for the first) and
// after it. The demo moves on in the background after printing (orders
// settle, holds are posted or voided, the printed transfer is made), so a
// count must lie between the two; on a run that makes no orders, the open
// holds can only have gone down since the start.
func checkBanner(t *testing.T, run, out string, before, after demoStore) {
	t.Helper()
	m := ledgerLine.FindStringSubmatch(out)
	o := ordersLine.FindStringSubmatch(out)
	if m == nil || o == nil {
		t.Fatalf("%s: the banner lacks the ledger's or the orders' counts:\n%s", run, out)
	}
	num := func(s string) int {
		n, _ := strconv.Atoi(s)
		return n
	}
	if tx := num(m[1]); tx < before.transactions || tx > after.transactions {
		t.Errorf("%s: the banner says %d transactions; the store held %d before and %d after", run, tx, before.transactions, after.transactions)
	}
	if before.orders != nil {
		if holds := num(m[2]); holds > before.openHolds || holds < after.openHolds {
			t.Errorf("%s: the banner says %d open holds; the store held %d before and %d after", run, holds, before.openHolds, after.openHolds)
		}
	}
	printed, stored := 0, 0
	for i, st := range []string{"created", "processing", "unknown", "succeeded", "failed"} {
		printed += num(o[i+1])
		stored += after.orders[st]
		if final := st == "succeeded" || st == "failed"; final && num(o[i+1]) > after.orders[st] {
			t.Errorf("%s: the banner says %s %s orders; the store has %d", run, o[i+1], st, after.orders[st])
		}
	}
	if printed != stored {
		t.Errorf("%s: the banner counts %d orders, the store has %d (%v)", run, printed, stored, after.orders)
	}
}

// TestDemoReplacesLostKey deletes the key file between runs: the demo makes
// a new admin key rather than printing one that does not work.
func TestDemoReplacesLostKey(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	first := startCommand(t, "http", "demo", "--addr", "127.0.0.1:0", "--data-dir", dir)
	old := tokenPattern.FindString(first.stdout.String())
	first.mustStop()
	if err := os.Remove(filepath.Join(dir, demoKeyFile)); err != nil {
		t.Fatal(err)
	}
	second := startCommand(t, "http", "demo", "--addr", "127.0.0.1:0", "--data-dir", dir)
	key := tokenPattern.FindString(second.stdout.String())
	if key == "" || key == old {
		t.Fatalf("second run printed key %q, want a new one (old %q)", key, old)
	}
	mustFetch(t, 200, "GET", second.url+"/v1/accounts", key, "")
	second.mustStop()
}

// curl is a curl command line as the demo prints it.
type curl struct {
	method, url, body string
	headers           http.Header
}

// curlCommands parses the curl commands in out: lines starting with curl,
// continued by a trailing backslash, with single-quoted words.
func curlCommands(t *testing.T, out string) []curl {
	t.Helper()
	var cmds []curl
	lines := strings.Split(out, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(line, "curl ") {
			continue
		}
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, `\`) + " " + strings.TrimSpace(lines[i])
		}
		words := shellWords(t, line)
		c := curl{method: http.MethodGet, headers: http.Header{}}
		for j := 1; j < len(words); j++ {
			switch w := words[j]; w {
			case "-sS", "-s", "-S":
			case "-X":
				j++
				c.method = words[j]
			case "-H":
				j++
				k, v, ok := strings.Cut(words[j], ": ")
				if !ok {
					t.Fatalf("malformed header %q in %q", words[j], line)
				}
				c.headers.Add(k, v)
			case "-d":
				j++
				c.body = words[j]
				if c.method == http.MethodGet {
					c.method = http.MethodPost
				}
			default:
				if strings.HasPrefix(w, "-") {
					t.Fatalf("unknown curl option %q in %q", w, line)
				}
				c.url = w
			}
		}
		cmds = append(cmds, c)
	}
	return cmds
}

// shellWords splits a POSIX shell line made of plain and single-quoted
// words.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	for _, r := range line {
		switch {
		case quoted && r == '\'':
			quoted = false
		case quoted:
			w.WriteRune(r)
		case r == '\'':
			quoted, inWord = true, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case r == '"' || r == '\\' || r == '$' || r == '`':
			t.Fatalf("unquoted %q in %q: the test's shell parser handles single quotes only", r, line)
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unterminated quote in %q", line)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// curlAnswer is what a curl command got.
type curlAnswer struct {
	status   int
	body     string
	replayed bool
}

// runCurls performs the commands' equivalents with net/http and fails the
// test unless each succeeds.
func runCurls(t *testing.T, cmds []curl) []curlAnswer {
	t.Helper()
	var out []curlAnswer
	for _, c := range cmds {
		var rd io.Reader
		if c.body != "" {
			rd = strings.NewReader(c.body)
		}
		req, err := http.NewRequest(c.method, c.url, rd)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = c.headers
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.url, err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: status %d: %s", c.method, c.url, resp.StatusCode, raw)
		}
		out = append(out, curlAnswer{status: resp.StatusCode, body: string(raw),
			replayed: resp.Header.Get("Idempotent-Replayed") == "true"})
	}
	return out
}

func TestShellWords(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{"curl -sS 'http://x/y?a=1&b=2'", []string{"curl", "-sS", "http://x/y?a=1&b=2"}},
		{"-H 'A: b c'  -d '{\"k\": 1}'", []string{"-H", "A: b c", "-d", `{"k": 1}`}},
		{"a''b 'c'd", []string{"ab", "cd"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, shellWords(t, tt.line)); diff != "" {
			t.Errorf("shellWords(%q) (-want +got):\n%s", tt.line, diff)
		}
	}
}
