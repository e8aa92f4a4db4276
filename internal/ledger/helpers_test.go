package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/suanpan/suanpan/internal/clock"
	"github.com/suanpan/suanpan/internal/ledger"
	"github.com/suanpan/suanpan/internal/store"
	"github.com/suanpan/suanpan/internal/store/storetest"
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
}

// each runs fn once per storage engine, each time on a fresh ledger with the
// assets CNY (scale 2) and JPY (scale 0).
func each(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		fn(t, newEnv(t, db))
	})
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), db: db, clock: clock.NewFake(t0)}
	e.l = ledger.New(db, ledger.Options{Clock: e.clock})
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
