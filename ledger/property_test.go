package ledger_test

import (
	"cmp"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/suanpan/suanpan/ledger"
)

// propSeed fixes the random choices of TestPropertyConcurrent. The
// interleaving of the goroutines still varies from run to run; the seed fixes
// what each goroutine asks for.
var propSeed = flag.Uint64("prop.seed", 0, "seed for TestPropertyConcurrent (0: pick one)")

// The size of the property run: bounded by operations, not by time.
const (
	propWorkers      = 16
	propOpsPerWorker = 60
	propFunding      = 50_000 // minor units each wallet starts with
	propLimit        = 20_000 // overdraft limit of the limited wallets
	propMaxAmount    = 15_000 // largest amount of one posting
)

// TestPropertyConcurrent hammers a few accounts from many goroutines with a
// seeded random mix of every kind of request, records every acknowledged
// success, and then checks that the ledger holds exactly what it
// acknowledged: balances, running balances and entry sequences rebuilt from
// the acknowledged results, overdraft rules, hold resolutions, references,
// and Verify.
func TestPropertyConcurrent(t *testing.T) {
	seed := *propSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (rerun with -prop.seed=%d)", seed, seed)
	each(t, func(t *testing.T, e *env) {
		start := time.Now()
		w := newPropWorld(t, e, seed)
		var wg sync.WaitGroup
		for i := range propWorkers {
			wg.Go(func() { w.worker(i) })
		}
		wg.Wait()
		ran := time.Since(start)
		if n, err := e.l.ExpireHolds(e.ctx); err != nil {
			t.Fatalf("final ExpireHolds: %v", err)
		} else {
			w.expired += n
		}
		w.check()
		t.Logf("%d operations, %d transactions acknowledged, %d holds expired by the sweeper; run %v, total %v; outcomes %v",
			propWorkers*propOpsPerWorker, len(w.acked), w.expired, ran.Round(time.Millisecond),
			time.Since(start).Round(time.Millisecond), w.outcomes)
	})
}

// propAck is an acknowledged, newly applied request and what it produced.
type propAck struct {
	req ledger.Request
	tr  *ledger.Transaction
}

// propWorld is the shared state of one property run.
type propWorld struct {
	t    *testing.T
	e    *env
	seed uint64

	bank     *ledger.Account
	accounts []*ledger.Account // the bank first, then the wallets
	byID     map[string]*ledger.Account

	mu         sync.Mutex
	acked      []propAck
	holds      []*ledger.Transaction // acknowledged holds
	reversible []*ledger.Transaction // acknowledged transfers, posts and reversals
	outcomes   map[string]int        // "kind:code" → count, for the log
	expired    int                   // holds the sweeper voided
}

func newPropWorld(t *testing.T, e *env, seed uint64) *propWorld {
	t.Helper()
	w := &propWorld{t: t, e: e, seed: seed, byID: map[string]*ledger.Account{}, outcomes: map[string]int{}}
	w.bank = e.bank()
	w.accounts = append(w.accounts, w.bank)
	for i := range 6 {
		a := e.wallet()
		if i >= 4 {
			a = e.account("CNY", ledger.Credit, ledger.OverdraftLimit, propLimit)
		}
		w.accounts = append(w.accounts, a)
	}
	for _, a := range w.accounts {
		w.byID[a.ID] = a
	}
	for i, a := range w.accounts[1:] {
		req := transfer(fmt.Sprintf("fund-%d", i), w.bank, a, propFunding)
		req.InstitutionID = "inst1"
		w.ack(req, e.post(req))
	}
	return w
}

// ack records an acknowledged new transaction.
func (w *propWorld) ack(req ledger.Request, tr *ledger.Transaction) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.acked = append(w.acked, propAck{req, tr})
	switch tr.Kind {
	case ledger.KindHold:
		w.holds = append(w.holds, tr)
	case ledger.KindTransfer, ledger.KindPost, ledger.KindReversal:
		w.reversible = append(w.reversible, tr)
	}
}

func (w *propWorld) count(kind ledger.Kind, outcome string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.outcomes[string(kind)+":"+outcome]++
}

// pick returns a random element of the list that f selects, or nil.
func (w *propWorld) pick(rng *rand.Rand, f func() []*ledger.Transaction) *ledger.Transaction {
	w.mu.Lock()
	defer w.mu.Unlock()
	xs := f()
	if len(xs) == 0 {
		return nil
	}
	// Prefer recent ones: they are the likeliest to be still open.
	n := min(len(xs), 40)
	return xs[len(xs)-1-rng.IntN(n)]
}

func (w *propWorld) pickAck(rng *rand.Rand) (propAck, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.acked) == 0 {
		return propAck{}, false
	}
	return w.acked[rng.IntN(len(w.acked))], true
}

// submit sends reqs and fails the test on a storage error or a malformed
// answer; it returns nil then.
func (w *propWorld) submit(reqs []ledger.Request, atomic bool) []ledger.Result {
	res, err := w.e.l.Submit(w.e.ctx, reqs, atomic)
	if err != nil {
		w.t.Errorf("submit %d requests (atomic %v): %v", len(reqs), atomic, err)
		return nil
	}
	if len(res) != len(reqs) {
		w.t.Errorf("submit %d requests: got %d results", len(reqs), len(res))
		return nil
	}
	for i, r := range res {
		if r.Err == nil && (r.Transaction == nil || r.Transaction.Reference != reqs[i].Reference) {
			w.t.Errorf("%s %s: success without its transaction: %+v", reqs[i].Kind, reqs[i].Reference, r.Transaction)
			return nil
		}
	}
	return res
}

// expectedCodes lists the rejections a well-formed request of the kind may
// meet in this test; anything else is a failure.
func expectedCodes(k ledger.Kind) []ledger.Code {
	switch k {
	case ledger.KindTransfer, ledger.KindHold:
		return []ledger.Code{ledger.CodeInsufficientFunds}
	case ledger.KindPost, ledger.KindVoid:
		return []ledger.Code{ledger.CodeHoldAlreadyPosted, ledger.CodeHoldAlreadyVoided, ledger.CodeHoldExpired}
	case ledger.KindReversal:
		return []ledger.Code{ledger.CodeReversalExceedsOriginal, ledger.CodeInsufficientFunds}
	}
	return nil
}

// outcome handles the result of a fresh request: a success is recorded, a
// rejection must have a code the request can expect. It reports whether the
// request was applied.
func (w *propWorld) outcome(req ledger.Request, r ledger.Result) bool {
	switch {
	case r.Err == nil && r.Duplicate:
		w.t.Errorf("%s %s: fresh reference answered as a duplicate of %s", req.Kind, req.Reference, r.Transaction.ID)
		return false
	case r.Err == nil:
		if r.Transaction.Kind != req.Kind {
			w.t.Errorf("%s %s: transaction kind %s", req.Kind, req.Reference, r.Transaction.Kind)
		}
		w.ack(req, r.Transaction)
		w.count(req.Kind, "ok")
		return true
	case !slices.Contains(expectedCodes(req.Kind), r.Err.Code):
		w.t.Errorf("%s %s: unexpected rejection %v", req.Kind, req.Reference, r.Err)
	}
	w.count(req.Kind, string(r.Err.Code))
	return false
}

func (w *propWorld) single(req ledger.Request) {
	if res := w.submit([]ledger.Request{req}, false); res != nil {
		w.outcome(req, res[0])
	}
}

func (w *propWorld) worker(id int) {
	rng := rand.New(rand.NewPCG(w.seed, uint64(id)))
	for op := range propOpsPerWorker {
		ref := func(k int) string { return fmt.Sprintf("p%02d-%03d-%d", id, op, k) }
		switch n := rng.IntN(100); {
		case n < 25:
			w.single(w.randTransfer(rng, ledger.KindTransfer, ref(0)))
		case n < 38:
			w.single(w.randTransfer(rng, ledger.KindHold, ref(0)))
		case n < 48:
			if req, ok := w.randResolve(rng, ledger.KindPost, ref(0)); ok {
				w.single(req)
			}
		case n < 54:
			if req, ok := w.randResolve(rng, ledger.KindVoid, ref(0)); ok {
				w.single(req)
			}
		case n < 63:
			if req, ok := w.randReversal(rng, ref(0)); ok {
				w.single(req)
			}
		case n < 71:
			w.atomicBatch(rng, ref)
		case n < 77:
			w.mixedBatch(rng, ref)
		case n < 84:
			w.duplicate(rng)
		case n < 88:
			w.conflict(rng)
		case n < 95:
			w.race(rng, ref(0))
		default:
			w.e.clock.Advance(time.Duration(10+rng.IntN(50)) * time.Second)
			expired, err := w.e.l.ExpireHolds(w.e.ctx)
			if err != nil {
				w.t.Errorf("ExpireHolds: %v", err)
			}
			w.mu.Lock()
			w.expired += expired
			w.mu.Unlock()
		}
	}
}

// randTransfer builds a transfer or hold of one to three postings between
// random accounts; a hold gets a timeout half of the time.
func (w *propWorld) randTransfer(rng *rand.Rand, kind ledger.Kind, ref string) ledger.Request {
	req := ledger.Request{Kind: kind, InstitutionID: "inst1", Reference: ref}
	for range 1 + rng.IntN(3) {
		i := rng.IntN(len(w.accounts))
		j := (i + 1 + rng.IntN(len(w.accounts)-1)) % len(w.accounts)
		req.Postings = append(req.Postings, ledger.Posting{Debit: w.accounts[i].ID, Credit: w.accounts[j].ID,
			Asset: "CNY", Amount: 1 + rng.Int64N(propMaxAmount)})
	}
	if kind == ledger.KindHold && rng.IntN(2) == 0 {
		req.Timeout = time.Duration(30+rng.IntN(150)) * time.Second
	}
	if rng.IntN(4) == 0 {
		req.Type = "payment"
		req.Metadata = map[string]string{"order": ref}
	}
	return req
}

// randResolve posts (in full or in part) or voids a hold some goroutine made.
func (w *propWorld) randResolve(rng *rand.Rand, kind ledger.Kind, ref string) (ledger.Request, bool) {
	h := w.pick(rng, func() []*ledger.Transaction { return w.holds })
	if h == nil {
		return ledger.Request{}, false
	}
	req := ledger.Request{Kind: kind, InstitutionID: "inst1", Reference: ref, HoldID: h.ID}
	if kind == ledger.KindPost && rng.IntN(2) == 0 {
		for _, p := range h.Postings {
			req.Amounts = append(req.Amounts, 1+rng.Int64N(p.Amount))
		}
	}
	return req, true
}

// randReversal reverses an acknowledged transfer, post or reversal, in full
// or in part (a part may exceed what is left, which must be rejected).
func (w *propWorld) randReversal(rng *rand.Rand, ref string) (ledger.Request, bool) {
	o := w.pick(rng, func() []*ledger.Transaction { return w.reversible })
	if o == nil {
		return ledger.Request{}, false
	}
	req := ledger.Request{Kind: ledger.KindReversal, InstitutionID: "inst1", Reference: ref, TransactionID: o.ID}
	if rng.IntN(5) < 3 {
		positive := false
		for _, p := range o.Postings {
			a := rng.Int64N(p.Amount + 1)
			positive = positive || a > 0
			req.Amounts = append(req.Amounts, a)
		}
		if !positive {
			req.Amounts[0] = 1
		}
	}
	return req, true
}

// atomicBatch submits two to four requests all or nothing.
func (w *propWorld) atomicBatch(rng *rand.Rand, ref func(int) string) {
	var reqs []ledger.Request
	for k := range 2 + rng.IntN(3) {
		switch n := rng.IntN(10); {
		case n < 6:
			reqs = append(reqs, w.randTransfer(rng, ledger.KindTransfer, ref(k)))
		case n < 8:
			reqs = append(reqs, w.randTransfer(rng, ledger.KindHold, ref(k)))
		default:
			if req, ok := w.randResolve(rng, ledger.KindPost, ref(k)); ok {
				reqs = append(reqs, req)
			}
		}
	}
	res := w.submit(reqs, true)
	if res == nil {
		return
	}
	failed := slices.ContainsFunc(res, func(r ledger.Result) bool { return r.Err != nil })
	if !failed {
		for i, r := range res {
			w.outcome(reqs[i], r)
		}
		return
	}
	cause := false
	for i, r := range res {
		switch {
		case r.Err == nil:
			w.t.Errorf("atomic batch: %s %s succeeded although the batch failed", reqs[i].Kind, reqs[i].Reference)
		case r.Err.Code == ledger.CodeBatchAborted:
			w.count("atomic", string(r.Err.Code))
		default:
			cause = true
			w.outcome(reqs[i], r)
		}
	}
	if !cause {
		w.t.Errorf("atomic batch failed with every request aborted and none to blame: %+v", res)
	}
}

// mixedBatch submits two to five requests of any kind that each succeed or
// fail on their own, including a resubmission and a conflicting reuse of a
// reference of the same batch.
func (w *propWorld) mixedBatch(rng *rand.Rand, ref func(int) string) {
	var reqs []ledger.Request
	for k := range 2 + rng.IntN(4) {
		var req ledger.Request
		ok := true
		switch rng.IntN(5) {
		case 0:
			req = w.randTransfer(rng, ledger.KindTransfer, ref(k))
		case 1:
			req = w.randTransfer(rng, ledger.KindHold, ref(k))
		case 2:
			req, ok = w.randResolve(rng, ledger.KindPost, ref(k))
		case 3:
			req, ok = w.randResolve(rng, ledger.KindVoid, ref(k))
		case 4:
			req, ok = w.randReversal(rng, ref(k))
		}
		if ok {
			reqs = append(reqs, req)
		}
	}
	if len(reqs) == 0 {
		return
	}
	// The first reference again, right after it: once with the same content,
	// once with other.
	first := reqs[0]
	reqs = slices.Insert(reqs, 1, first, propAltered(first))
	res := w.submit(reqs, false)
	if res == nil {
		return
	}
	w.outcome(first, res[0])
	for i := 3; i < len(reqs); i++ {
		w.outcome(reqs[i], res[i])
	}
	same, other := res[1], res[2]
	if res[0].Err == nil {
		if same.Err != nil || !same.Duplicate || same.Transaction.ID != res[0].Transaction.ID {
			w.t.Errorf("batch resubmission of %s: got %+v (err %v), want a duplicate of %s", first.Reference,
				same.Transaction, same.Err, res[0].Transaction.ID)
		}
		if propCode(other.Err) != ledger.CodeReferenceConflict {
			w.t.Errorf("batch reuse of %s with other content: got err %v, want %s", first.Reference, other.Err,
				ledger.CodeReferenceConflict)
		}
		w.count("batch-dup", "ok")
		return
	}
	// The first was rejected and left no trace: its reference is still free,
	// and the requests that follow it at once meet the same state (a batch is
	// applied in order), so they are rejected the same way.
	for _, r := range []ledger.Result{same, other} {
		if r.Err == nil || r.Err.Code != res[0].Err.Code {
			w.t.Errorf("batch resubmission of rejected %s: got %+v (err %v), want rejection %s", first.Reference,
				r.Transaction, r.Err, res[0].Err.Code)
		}
	}
	w.count("batch-dup", "rejected")
}

// propAltered returns req with other content under the same reference.
func propAltered(req ledger.Request) ledger.Request {
	alt := req
	alt.Metadata = maps.Clone(req.Metadata)
	if alt.Metadata == nil {
		alt.Metadata = map[string]string{}
	}
	alt.Metadata["altered"] += "x" // differs from req's even if req was altered
	return alt
}

// duplicate resubmits an acknowledged request: it must be answered with the
// original transaction and change nothing.
func (w *propWorld) duplicate(rng *rand.Rand) {
	a, ok := w.pickAck(rng)
	if !ok {
		return
	}
	res := w.submit([]ledger.Request{a.req}, rng.IntN(2) == 0)
	if res == nil {
		return
	}
	r := res[0]
	if r.Err != nil || !r.Duplicate || r.Transaction.ID != a.tr.ID || len(r.Transaction.Entries) != len(a.tr.Entries) {
		w.t.Errorf("resubmit %s %s: got %+v (err %v, duplicate %v), want duplicate of %s", a.req.Kind, a.req.Reference,
			r.Transaction, r.Err, r.Duplicate, a.tr.ID)
		return
	}
	w.count("duplicate", "ok")
}

// conflict reuses an acknowledged reference for other content.
func (w *propWorld) conflict(rng *rand.Rand) {
	a, ok := w.pickAck(rng)
	if !ok {
		return
	}
	res := w.submit([]ledger.Request{propAltered(a.req)}, false)
	if res == nil {
		return
	}
	if got := propCode(res[0].Err); got != ledger.CodeReferenceConflict {
		w.t.Errorf("reuse %s for other content: got %+v (err %v, duplicate %v), want %s", a.req.Reference,
			res[0].Transaction, res[0].Err, res[0].Duplicate, ledger.CodeReferenceConflict)
		return
	}
	w.count("conflict", "ok")
}

// race submits one reference from two goroutines at once, with the same
// content or with other: at most one may be applied, and a duplicate answer
// must name the applied transaction.
func (w *propWorld) race(rng *rand.Rand, ref string) {
	a := w.randTransfer(rng, ledger.KindTransfer, ref)
	b := a
	if rng.IntN(2) == 0 {
		b = propAltered(a)
	}
	reqs := [2]ledger.Request{a, b}
	var res [2][]ledger.Result
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { res[i] = w.submit(reqs[i:i+1], false) })
	}
	wg.Wait()
	if res[0] == nil || res[1] == nil {
		return
	}
	r := [2]ledger.Result{res[0][0], res[1][0]}
	applied := -1
	for i := range 2 {
		if r[i].Err == nil && !r[i].Duplicate {
			if applied >= 0 {
				w.t.Errorf("race on %s: applied twice, as %s and %s", ref, r[applied].Transaction.ID, r[i].Transaction.ID)
				return
			}
			applied = i
		}
	}
	for i := range 2 {
		switch {
		case i == applied:
			w.outcome(reqs[i], r[i])
		case r[i].Err == nil: // a duplicate
			if applied < 0 || reqs[0].Metadata["altered"] != reqs[1].Metadata["altered"] ||
				r[i].Transaction.ID != r[applied].Transaction.ID {
				w.t.Errorf("race on %s: duplicate answer %s without a matching applied request", ref, r[i].Transaction.ID)
			}
			w.count("race", "duplicate")
		case r[i].Err.Code == ledger.CodeReferenceConflict:
			if applied < 0 {
				w.t.Errorf("race on %s: reference conflict although nothing was applied", ref)
			}
			w.count("race", "conflict")
		default:
			w.outcome(reqs[i], r[i])
		}
	}
}

// check compares the ledger with what it acknowledged.
func (w *propWorld) check() {
	t, e := w.t, w.e
	t.Helper()

	// Holds: resolved at most once, by the acknowledged post or void, or by
	// the sweeper; the sweeper's voids join the acknowledged transactions.
	all := slices.Clone(w.acked)
	resolvedBy := map[string][]*ledger.Transaction{}
	for _, a := range w.acked {
		if a.tr.HoldID != "" {
			resolvedBy[a.tr.HoldID] = append(resolvedBy[a.tr.HoldID], a.tr)
		}
	}
	for _, h := range w.holds {
		got, err := e.l.GetHold(e.ctx, h.ID)
		if err != nil {
			t.Fatalf("get hold %s: %v", h.ID, err)
		}
		switch rs := resolvedBy[h.ID]; {
		case len(rs) > 1:
			t.Errorf("hold %s resolved %d times: %s and %s", h.ID, len(rs), rs[0].ID, rs[1].ID)
		case len(rs) == 1:
			want := ledger.HoldVoided
			if rs[0].Kind == ledger.KindPost {
				want = ledger.HoldPosted
			}
			if got.Status != want || got.ResolvedBy != rs[0].ID {
				t.Errorf("hold %s: status %s resolved by %s, want %s by %s", h.ID, got.Status, got.ResolvedBy, want, rs[0].ID)
			}
		case got.ResolvedBy != "":
			if got.Status != ledger.HoldExpired {
				t.Errorf("hold %s: %s by %s, which was never acknowledged", h.ID, got.Status, got.ResolvedBy)
				continue
			}
			v, err := e.l.GetTransaction(e.ctx, got.ResolvedBy)
			if err != nil {
				t.Fatalf("get expiry of hold %s: %v", h.ID, err)
			}
			if v.Kind != ledger.KindVoid || v.Reference != "hold-expiry:"+h.ID || v.HoldID != h.ID {
				t.Errorf("hold %s expired by %s %s %s", h.ID, v.Kind, v.Reference, v.HoldID)
			}
			all = append(all, propAck{tr: v})
		case h.ExpiresAt.IsZero() && got.Status != ledger.HoldPending:
			t.Errorf("hold %s without expiry and without resolution is %s", h.ID, got.Status)
		}
	}

	// Every journal entry is accounted for: per account, the acknowledged
	// entries are numbered 1..n and their running balances add up.
	entries := map[string][]ledger.Entry{}
	for _, a := range all {
		last := map[string]ledger.Entry{}
		for _, en := range a.tr.Entries {
			entries[en.AccountID] = append(entries[en.AccountID], en)
			last[en.AccountID] = en
		}
		// No account ends an acknowledged transaction beyond its rule.
		for id, en := range last {
			if msg := propRuleBroken(w.byID[id], en.After); msg != "" {
				t.Errorf("account %s after %s %s: %s", id, a.tr.Kind, a.tr.ID, msg)
			}
		}
	}
	rep, err := e.l.Verify(e.ctx)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !rep.OK {
		t.Errorf("verify found problems: %+v", rep.Problems)
	}
	if got, want := rep.Transactions, int64(len(all)); got != want {
		t.Errorf("journal holds %d transactions, %d were acknowledged (with the sweeper's)", got, want)
	}
	for _, acct := range w.accounts {
		es := entries[acct.ID]
		slices.SortFunc(es, func(x, y ledger.Entry) int { return cmp.Compare(x.Seq, y.Seq) })
		var run ledger.Balances
		for i, en := range es {
			if en.Seq != int64(i+1) {
				t.Errorf("account %s: acknowledged entry %d has seq %d", acct.ID, i+1, en.Seq)
				break
			}
			propApply(&run, en)
			if en.After != run {
				t.Errorf("account %s seq %d: running balances %+v, acknowledged entries sum to %+v", acct.ID, en.Seq, en.After, run)
				break
			}
		}
		got, err := e.l.GetAccount(e.ctx, acct.ID)
		if err != nil {
			t.Fatalf("get account: %v", err)
		}
		if got.Balances != run || got.EntrySeq != int64(len(es)) {
			t.Errorf("account %s: balances %+v after %d entries, acknowledged %+v in %d entries", acct.ID,
				got.Balances, got.EntrySeq, run, len(es))
		}
		if msg := propRuleBroken(acct, got.Balances); msg != "" {
			t.Errorf("account %s now: %s", acct.ID, msg)
		}
	}

	tb, err := e.l.TrialBalance(e.ctx, nil)
	if err != nil {
		t.Fatalf("trial balance: %v", err)
	}
	if !tb.Balanced {
		t.Errorf("trial balance does not balance: %+v", tb.Totals)
	}

	// Every acknowledged reference names its transaction.
	for _, a := range w.acked {
		got, err := e.l.GetTransactionByReference(e.ctx, "inst1", a.req.Reference)
		if err != nil {
			t.Errorf("reference %s: %v", a.req.Reference, err)
			continue
		}
		if got.ID != a.tr.ID || len(got.Entries) != len(a.tr.Entries) {
			t.Errorf("reference %s: transaction %s with %d entries, acknowledged %s with %d", a.req.Reference,
				got.ID, len(got.Entries), a.tr.ID, len(a.tr.Entries))
		}
	}
}

// propApply adds one entry to running balances.
func propApply(b *ledger.Balances, en ledger.Entry) {
	debit := en.Side == ledger.Debit
	switch {
	case en.Kind == ledger.EntryPosted && debit:
		b.DebitsPosted += en.Amount
	case en.Kind == ledger.EntryPosted:
		b.CreditsPosted += en.Amount
	case en.Kind == ledger.EntryPending && debit:
		b.DebitsPending += en.Amount
	case en.Kind == ledger.EntryPending:
		b.CreditsPending += en.Amount
	case debit:
		b.DebitsPending -= en.Amount
	default:
		b.CreditsPending -= en.Amount
	}
}

// propRuleBroken says how b breaks the account's overdraft rule, or "".
func propRuleBroken(a *ledger.Account, b ledger.Balances) string {
	if b.DebitsPosted < 0 || b.CreditsPosted < 0 || b.DebitsPending < 0 || b.CreditsPending < 0 {
		return fmt.Sprintf("negative total in %+v", b)
	}
	avail, err := b.Available(a.NormalSide)
	if err != nil {
		return err.Error()
	}
	switch a.Overdraft {
	case ledger.OverdraftNone:
		if avail < 0 {
			return fmt.Sprintf("available %d below zero", avail)
		}
	case ledger.OverdraftLimit:
		if avail < -a.OverdraftLimit {
			return fmt.Sprintf("available %d below the limit %d", avail, -a.OverdraftLimit)
		}
	}
	return ""
}

// propCode is the code of a rejection, or "" for none. (ledger.ErrorCode
// takes an error; a nil *ledger.Error in an error interface is not nil.)
func propCode(e *ledger.Error) ledger.Code {
	if e == nil {
		return ""
	}
	return e.Code
}
