package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// t0 is where every test's fake clock starts.
var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// env is a ledger on a fresh store with a fake clock.
type env struct {
	t     *testing.T
	ctx   context.Context
	db    *store.DB
	clock *clock.Fake
	l     *ledger.Ledger
	refs  *atomic.Int64 // numbers references made by ref, shared by sub
}

// each runs fn once per storage engine, each time on a fresh ledger with the
// assets CNY (scale 2) and JPY (scale 0).
func each(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		fn(t, newEnv(t, db))
	})
}

// eachWith is each with ledger options (the fake clock is always set).
func eachWith(t *testing.T, opts ledger.Options, fn func(t *testing.T, e *env)) {
	t.Helper()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		fn(t, newEnvWith(t, db, opts))
	})
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	return newEnvWith(t, db, ledger.Options{})
}

func newEnvWith(t *testing.T, db *store.DB, opts ledger.Options) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), db: db, clock: clock.NewFake(t0), refs: new(atomic.Int64)}
	opts.Clock = e.clock
	e.l = ledger.New(db, opts)
	t.Cleanup(func() { e.l.Close() })
	for _, a := range []struct {
		code  string
		scale int
	}{{"CNY", 2}, {"JPY", 0}} {
		if _, err := e.l.CreateAsset(e.ctx, a.code, a.scale); err != nil {
			t.Fatalf("create asset %s: %v", a.code, err)
		}
	}
	return e
}

// account opens an account in institution "inst1" and fails the test on error.
func (e *env) account(asset string, normal ledger.Side, od ledger.Overdraft, limit int64) *ledger.Account {
	e.t.Helper()
	return e.accountIn("inst1", asset, normal, od, limit)
}

func (e *env) accountIn(inst, asset string, normal ledger.Side, od ledger.Overdraft, limit int64) *ledger.Account {
	e.t.Helper()
	a, err := e.l.CreateAccount(e.ctx, ledger.NewAccount{InstitutionID: inst, Asset: asset, Code: "2001",
		NormalSide: normal, Overdraft: od, OverdraftLimit: limit})
	if err != nil {
		e.t.Fatalf("create account: %v", err)
	}
	return a
}

// wallet is a customer wallet: a credit-normal liability that may not overdraw.
func (e *env) wallet() *ledger.Account {
	return e.account("CNY", ledger.Credit, ledger.OverdraftNone, 0)
}

// bank is an unconstrained debit-normal asset account (money at the bank).
func (e *env) bank() *ledger.Account {
	return e.account("CNY", ledger.Debit, ledger.OverdraftUnlimited, 0)
}

// post submits one request and fails the test on any error or rejection.
func (e *env) post(r ledger.Request) *ledger.Transaction {
	e.t.Helper()
	if r.InstitutionID == "" {
		r.InstitutionID = "inst1"
	}
	tr, err := e.l.Post(e.ctx, r)
	if err != nil {
		e.t.Fatalf("post %s %s: %v", r.Kind, r.Reference, err)
	}
	return tr
}

// reject submits one request and checks it is rejected with want.
func (e *env) reject(r ledger.Request, want ledger.Code) {
	e.t.Helper()
	if r.InstitutionID == "" {
		r.InstitutionID = "inst1"
	}
	_, err := e.l.Post(e.ctx, r)
	if got := ledger.ErrorCode(err); got != want {
		e.t.Fatalf("post %s %s: got %v (code %q), want code %q", r.Kind, r.Reference, err, got, want)
	}
}

// transfer moves amount CNY from debit to credit.
func transfer(ref string, debit, credit *ledger.Account, amount int64) ledger.Request {
	return ledger.Request{Kind: ledger.KindTransfer, Reference: ref, Type: "transfer",
		Postings: []ledger.Posting{{Debit: debit.ID, Credit: credit.ID, Asset: debit.Asset, Amount: amount}}}
}

// balances reads an account's current balances.
func (e *env) balances(a *ledger.Account) ledger.Balances {
	e.t.Helper()
	got, err := e.l.GetAccount(e.ctx, a.ID)
	if err != nil {
		e.t.Fatalf("get account: %v", err)
	}
	return got.Balances
}

// verify runs Verify and fails the test on any problem.
func (e *env) verify() {
	e.t.Helper()
	rep, err := e.l.Verify(e.ctx)
	if err != nil {
		e.t.Fatalf("verify: %v", err)
	}
	if !rep.OK {
		e.t.Fatalf("verify found problems: %+v", rep.Problems)
	}
}

// sub returns the environment bound to the subtest t, so that its helpers
// fail t rather than the test that made the environment.
func (e *env) sub(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// ref returns a reference not used before in this environment.
func (e *env) ref(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, e.refs.Add(1))
}

// newAccount opens an account as described, in "inst1" with code "2001"
// unless n says otherwise, and fails the test on error.
func (e *env) newAccount(n ledger.NewAccount) *ledger.Account {
	e.t.Helper()
	if n.InstitutionID == "" {
		n.InstitutionID = "inst1"
	}
	if n.Code == "" {
		n.Code = "2001"
	}
	a, err := e.l.CreateAccount(e.ctx, n)
	if err != nil {
		e.t.Fatalf("create account: %v", err)
	}
	return a
}

// get reads an account afresh.
func (e *env) get(a *ledger.Account) *ledger.Account {
	e.t.Helper()
	got, err := e.l.GetAccount(e.ctx, a.ID)
	if err != nil {
		e.t.Fatalf("get account %s: %v", a.ID, err)
	}
	return got
}

// fund moves amount from src to dst under a fresh reference.
func (e *env) fund(src, dst *ledger.Account, amount int64) *ledger.Transaction {
	e.t.Helper()
	r := transfer(e.ref("fund"), src, dst, amount)
	r.InstitutionID = dst.InstitutionID
	return e.post(r)
}

// setStatus changes an account's status and fails the test on error.
func (e *env) setStatus(a *ledger.Account, st ledger.Status) {
	e.t.Helper()
	if _, _, err := e.l.SetStatus(e.ctx, ledger.StatusChange{AccountID: a.ID, Status: st}); err != nil {
		e.t.Fatalf("set status of %s to %s: %v", a.ID, st, err)
	}
}

// submit submits a batch, in "inst1" where a request names no institution,
// and fails the test when no answer is known.
func (e *env) submit(reqs []ledger.Request, atomic bool) []ledger.Result {
	e.t.Helper()
	reqs = append([]ledger.Request(nil), reqs...)
	for i := range reqs {
		if reqs[i].InstitutionID == "" {
			reqs[i].InstitutionID = "inst1"
		}
	}
	res, err := e.l.Submit(e.ctx, reqs, atomic)
	if err != nil {
		e.t.Fatalf("submit %d requests: %v", len(reqs), err)
	}
	if len(res) != len(reqs) {
		e.t.Fatalf("submit %d requests: got %d results", len(reqs), len(res))
	}
	return res
}

// rejection is how tests compare refusals: the code and the field at fault.
type rejection struct {
	Code  ledger.Code
	Field string
}

// rejectionOf returns the rejection err carries; the zero rejection for nil.
// A storage error, which carries no code, fails the test.
func (e *env) rejectionOf(err error) rejection {
	e.t.Helper()
	if err == nil {
		return rejection{}
	}
	var le *ledger.Error
	if !errors.As(err, &le) {
		e.t.Fatalf("got error %v, want a *ledger.Error", err)
	}
	return rejection{le.Code, le.Field}
}

// resultRejection returns the rejection of one batch result.
func resultRejection(r ledger.Result) rejection {
	if r.Err == nil {
		return rejection{}
	}
	return rejection{r.Err.Code, r.Err.Field}
}

// attempt submits one request and returns its rejection, the zero
// rejection when it was accepted.
func (e *env) attempt(r ledger.Request) rejection {
	e.t.Helper()
	return resultRejection(e.submit([]ledger.Request{r}, false)[0])
}

// exec runs a statement on the store's writer pool, behind the ledger's back.
func (e *env) exec(query string, args ...any) {
	e.t.Helper()
	if _, err := e.db.Write.ExecContext(e.ctx, query, args...); err != nil {
		e.t.Fatalf("exec %q: %v", query, err)
	}
}

// placeholders returns "p1, p2, …, pn" in the store's placeholder syntax.
func (e *env) placeholders(n int) string {
	s := ""
	for i := 1; i <= n; i++ {
		if i > 1 {
			s += ", "
		}
		s += e.db.Dialect.Placeholder(i)
	}
	return s
}

// holdReq reserves amount of the debit account's asset from debit to credit.
func holdReq(ref string, debit, credit *ledger.Account, amount int64, timeout time.Duration) ledger.Request {
	return ledger.Request{Kind: ledger.KindHold, Reference: ref, Timeout: timeout,
		Postings: []ledger.Posting{{Debit: debit.ID, Credit: credit.ID, Asset: debit.Asset, Amount: amount}}}
}

// postReq posts a hold: in full without amounts, else one amount per posting.
func postReq(ref, holdID string, amounts ...int64) ledger.Request {
	return ledger.Request{Kind: ledger.KindPost, Reference: ref, HoldID: holdID, Amounts: amounts}
}

// voidReq voids a hold.
func voidReq(ref, holdID string) ledger.Request {
	return ledger.Request{Kind: ledger.KindVoid, Reference: ref, HoldID: holdID}
}

// reverseReq reverses a transaction: what is left of it without amounts,
// else the given amount per posting.
func reverseReq(ref, txID string, amounts ...int64) ledger.Request {
	return ledger.Request{Kind: ledger.KindReversal, Reference: ref, TransactionID: txID, Amounts: amounts}
}

// status returns a hold's status as GetHold reports it.
func (e *env) status(holdID string) ledger.HoldStatus {
	e.t.Helper()
	h, err := e.l.GetHold(e.ctx, holdID)
	if err != nil {
		e.t.Fatalf("GetHold %s: %v", holdID, err)
	}
	return h.Status
}
