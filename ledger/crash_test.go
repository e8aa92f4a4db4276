package ledger_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// The environment of the crash child: the store to write to, the log of
// acknowledged transactions to append to, and the round (for references).
const (
	crashEnvStore = "SUANPAN_CRASH_STORE"
	crashEnvLog   = "SUANPAN_CRASH_LOG"
	crashEnvRound = "SUANPAN_CRASH_ROUND"
)

const (
	crashRounds   = 5
	crashKillMin  = 100 * time.Millisecond // the child is killed this long after start…
	crashKillMax  = 600 * time.Millisecond // …at the latest
	crashChildMax = 20 * time.Second       // a child nobody kills stops by itself
	crashWorkers  = 8
	crashWallets  = 8
	crashInst     = "crash"
)

// TestCrash kills a process that is committing transactions as fast as it
// can — SIGKILL, at a random moment — several times over against the same
// store, and checks after every kill that each transaction the process had
// acknowledged is there, with the ID it was acknowledged with, and that
// nothing partial is: every transaction balances and every balance agrees
// with the journal.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary and kills it; skipped with -short")
	}
	for _, d := range storetest.Engines() {
		t.Run(string(d), func(t *testing.T) {
			start := time.Now()
			loc := storetest.Location(t, d)
			crashSetup(t, loc)
			logPath := filepath.Join(t.TempDir(), "acks.log")
			seed := rand.Uint64()
			t.Logf("kill delays seeded with %d", seed)
			rng := rand.New(rand.NewPCG(seed, 0))
			acked := 0
			for round := 1; round <= crashRounds; round++ {
				delay := crashKillMin + time.Duration(rng.Int64N(int64(crashKillMax-crashKillMin)))
				crashRun(t, loc, logPath, round, delay)
				checked := time.Now()
				n, txs := crashCheck(t, loc, logPath, acked)
				t.Logf("round %d: killed after %v; %d acknowledged so far, %d transactions in the journal; checked in %v",
					round, delay.Round(time.Millisecond), n, txs, time.Since(checked).Round(time.Millisecond))
				acked = n
			}
			if acked == 0 {
				t.Errorf("no transaction was acknowledged in %d rounds: the test tested nothing", crashRounds)
			}
			t.Logf("%s: %v", d, time.Since(start).Round(time.Millisecond))
		})
	}
}

// crashOpen opens and migrates the store at loc and starts a ledger on it
// with the real clock.
func crashOpen(ctx context.Context, loc string) (*ledger.Ledger, *store.DB, error) {
	db, err := store.Open(ctx, loc, store.Options{})
	if err != nil {
		return nil, nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, nil, err
	}
	return ledger.New(db, ledger.Options{}), db, nil
}

func crashClose(l *ledger.Ledger, db *store.DB) error {
	return errors.Join(l.Close(), db.Close())
}

// crashSetup creates the asset and the accounts the child posts to: an
// unconstrained bank and wallets that may not overdraw.
func crashSetup(t *testing.T, loc string) {
	t.Helper()
	ctx := context.Background()
	l, db, err := crashOpen(ctx, loc)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	defer func() {
		if err := crashClose(l, db); err != nil {
			t.Errorf("close store: %v", err)
		}
	}()
	if _, err := l.CreateAsset(ctx, "CNY", 2); err != nil {
		t.Fatalf("create asset: %v", err)
	}
	accts := []ledger.NewAccount{{ID: "crash-bank", InstitutionID: crashInst, Asset: "CNY", Code: "1002",
		NormalSide: ledger.Debit, Overdraft: ledger.OverdraftUnlimited}}
	for i := range crashWallets {
		accts = append(accts, ledger.NewAccount{ID: crashWallet(i), InstitutionID: crashInst, Asset: "CNY",
			Code: "2001", NormalSide: ledger.Credit, Overdraft: ledger.OverdraftNone})
	}
	if _, err := l.CreateAccounts(ctx, accts); err != nil {
		t.Fatalf("create accounts: %v", err)
	}
}

func crashWallet(i int) string { return "crash-w" + strconv.Itoa(i) }

// crashRun starts the child and kills it after delay.
func crashRun(t *testing.T, loc, logPath string, round int, delay time.Duration) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1",
		"-test.timeout="+(crashChildMax+10*time.Second).String())
	cmd.Env = append(os.Environ(), crashEnvStore+"="+loc, crashEnvLog+"="+logPath,
		crashEnvRound+"="+strconv.Itoa(round))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case err := <-done:
		t.Fatalf("round %d: the child exited before it was killed (%v):\n%s", round, err, out.String())
	case <-timer.C:
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("kill child: %v", err)
	}
	err := <-done
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("round %d: child: %v\n%s", round, err, out.String())
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("round %d: the child ended otherwise than by our SIGKILL (%v):\n%s", round, err, out.String())
	}
}

// crashCheck reopens the store after a kill and checks it against the
// acknowledgment log, whose first checked lines earlier rounds checked. It
// returns the number of acknowledged transactions and the number in the
// journal.
func crashCheck(t *testing.T, loc, logPath string, checked int) (acked int, txs int64) {
	t.Helper()
	ctx := context.Background()
	acks := crashReadLog(t, logPath)
	l, db, err := crashOpen(ctx, loc)
	if err != nil {
		t.Fatalf("reopen store after the kill: %v", err)
	}
	defer func() {
		if err := crashClose(l, db); err != nil {
			t.Errorf("close store: %v", err)
		}
	}()
	// This round's acknowledgments are looked up one by one; the earlier
	// rounds' (checked before already) against one listing of the journal,
	// to catch a kill that damaged what an earlier round left.
	journal := crashJournal(t, l)
	lost := 0
	for i, a := range acks {
		id, ok := journal[a.ref]
		if i >= checked {
			tr, err := l.GetTransactionByReference(ctx, crashInst, a.ref)
			if err != nil && ledger.ErrorCode(err) != ledger.CodeTransactionNotFound {
				t.Fatalf("get %s: %v", a.ref, err)
			}
			id, ok = "", err == nil
			if ok {
				id = tr.ID
			}
		}
		switch {
		case !ok:
			lost++
			if lost <= 10 {
				t.Errorf("acknowledged %s (%s) is gone", a.ref, a.id)
			}
		case id != a.id:
			t.Errorf("acknowledged %s as %s, the journal has %s", a.ref, a.id, id)
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged transactions lost", lost, len(acks))
	}
	rep, err := l.Verify(ctx)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !rep.OK {
		t.Fatalf("verify after the kill found problems: %+v", rep.Problems)
	}
	tb, err := l.TrialBalance(ctx, nil)
	if err != nil {
		t.Fatalf("trial balance: %v", err)
	}
	if !tb.Balanced {
		t.Fatalf("trial balance after the kill does not balance: %+v", tb.Totals)
	}
	if rep.Transactions < int64(len(acks)) {
		t.Errorf("journal has %d transactions, %d were acknowledged", rep.Transactions, len(acks))
	}
	return len(acks), rep.Transactions
}

// crashJournal maps every reference in the journal to its transaction ID.
func crashJournal(t *testing.T, l *ledger.Ledger) map[string]string {
	t.Helper()
	out := map[string]string{}
	f := ledger.TransactionFilter{InstitutionIDs: []string{crashInst}, Limit: 1000}
	for {
		trs, next, err := l.ListTransactions(context.Background(), f)
		if err != nil {
			t.Fatalf("list transactions: %v", err)
		}
		for _, tr := range trs {
			out[tr.Reference] = tr.ID
		}
		if next == "" {
			return out
		}
		f.After = next
	}
}

type crashAck struct{ ref, id string }

// crashReadLog reads the acknowledgment log. A last line without its newline
// was being written when the child died; it was never complete, so it is
// ignored.
func crashReadLog(t *testing.T, path string) []crashAck {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatalf("read acknowledgment log: %v", err)
	}
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data = data[:i+1]
	} else {
		data = nil
	}
	var acks []crashAck
	seen := map[string]bool{}
	for line := range strings.Lines(string(data)) {
		ref, id, ok := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
		if !ok || ref == "" || id == "" {
			t.Fatalf("malformed acknowledgment log line %q", line)
		}
		if seen[ref] {
			t.Fatalf("reference %s acknowledged twice", ref)
		}
		seen[ref] = true
		acks = append(acks, crashAck{ref, id})
	}
	return acks
}

// TestCrashChild is the process TestCrash kills. It posts transfers, holds,
// posts, voids and reversals from several goroutines as fast as it can and
// logs every acknowledged one (reference and transaction ID), durably, after
// the ledger acknowledged it. It is skipped unless TestCrash started it.
func TestCrashChild(t *testing.T) {
	loc := os.Getenv(crashEnvStore)
	if loc == "" {
		t.Skip("only run by TestCrash")
	}
	round := os.Getenv(crashEnvRound)
	ctx := context.Background()
	l, db, err := crashOpen(ctx, loc)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	defer crashClose(l, db)
	f, err := os.OpenFile(os.Getenv(crashEnvLog), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatalf("open acknowledgment log: %v", err)
	}
	defer f.Close()

	acks := make(chan string, 4096)
	logged := make(chan error, 1)
	go func() { logged <- crashLogger(f, acks) }()

	deadline := time.Now().Add(crashChildMax)
	var wg sync.WaitGroup
	for g := range crashWorkers {
		wg.Go(func() {
			c := &crashClient{l: l, rng: rand.New(rand.NewPCG(rand.Uint64(), uint64(g))),
				prefix: fmt.Sprintf("r%s-g%d-", round, g), acks: acks}
			for time.Now().Before(deadline) {
				if err := c.step(ctx); err != nil {
					t.Errorf("worker %d: %v", g, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(acks)
	if err := <-logged; err != nil {
		t.Fatalf("acknowledgment log: %v", err)
	}
}

// crashLogger appends acknowledged lines to f, syncing after every group of
// lines it writes: a line reaches the log only after its transaction was
// acknowledged, and is durable before the next group is taken.
func crashLogger(f *os.File, acks <-chan string) error {
	w := bufio.NewWriter(f)
	for line := range acks {
		w.WriteString(line)
	more:
		for {
			select {
			case next, ok := <-acks:
				if !ok {
					break more
				}
				w.WriteString(next)
			default:
				break more
			}
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
	}
	return nil
}

// crashClient is one goroutine of the crash child.
type crashClient struct {
	l      *ledger.Ledger
	rng    *rand.Rand
	prefix string
	n      int
	acks   chan<- string
	holds  []string // own holds not yet resolved
	posted []*ledger.Transaction
}

func (c *crashClient) ref() string {
	c.n++
	return c.prefix + strconv.Itoa(c.n)
}

func (c *crashClient) transfer(kind ledger.Kind) ledger.Request {
	req := ledger.Request{Kind: kind, InstitutionID: crashInst, Reference: c.ref()}
	for range 1 + c.rng.IntN(2) {
		debit := "crash-bank"
		if c.rng.IntN(3) > 0 {
			debit = crashWallet(c.rng.IntN(crashWallets))
		}
		credit := crashWallet(c.rng.IntN(crashWallets))
		if credit == debit {
			credit = "crash-bank"
		}
		req.Postings = append(req.Postings, ledger.Posting{Debit: debit, Credit: credit, Asset: "CNY",
			Amount: 1 + c.rng.Int64N(10_000)})
	}
	return req
}

// step submits one random request or batch and logs what was acknowledged.
func (c *crashClient) step(ctx context.Context) error {
	var reqs []ledger.Request
	atomic := false
	switch n := c.rng.IntN(20); {
	case n < 8:
		reqs = append(reqs, c.transfer(ledger.KindTransfer))
	case n < 11:
		for range 2 + c.rng.IntN(7) {
			reqs = append(reqs, c.transfer(ledger.KindTransfer))
		}
	case n < 13:
		atomic = true
		for range 2 + c.rng.IntN(3) {
			reqs = append(reqs, c.transfer(ledger.KindTransfer))
		}
	case n < 16:
		reqs = append(reqs, c.transfer(ledger.KindHold))
	case n < 18 && len(c.holds) > 0:
		kind := ledger.KindPost
		if c.rng.IntN(3) == 0 {
			kind = ledger.KindVoid
		}
		h := c.holds[len(c.holds)-1]
		c.holds = c.holds[:len(c.holds)-1]
		reqs = append(reqs, ledger.Request{Kind: kind, InstitutionID: crashInst, Reference: c.ref(), HoldID: h})
	case len(c.posted) > 0:
		o := c.posted[c.rng.IntN(len(c.posted))]
		req := ledger.Request{Kind: ledger.KindReversal, InstitutionID: crashInst, Reference: c.ref(), TransactionID: o.ID}
		for _, p := range o.Postings {
			req.Amounts = append(req.Amounts, 1+c.rng.Int64N(p.Amount))
		}
		reqs = append(reqs, req)
	default:
		reqs = append(reqs, c.transfer(ledger.KindTransfer))
	}
	res, err := c.l.Submit(ctx, reqs, atomic)
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Err != nil {
			continue
		}
		tr := r.Transaction
		switch tr.Kind {
		case ledger.KindHold:
			c.holds = append(c.holds, tr.ID)
		case ledger.KindTransfer:
			if len(c.posted) < 100 {
				c.posted = append(c.posted, tr)
			}
		}
		c.acks <- tr.Reference + " " + tr.ID + "\n"
	}
	return nil
}
