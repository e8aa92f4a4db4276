package ledger_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/suanpan/suanpan/ledger"
)

// domain is a table of a module that rides along with the ledger.
type domain struct {
	e      *env
	insert string
}

func newDomain(e *env) *domain {
	e.t.Helper()
	e.exec(`CREATE TABLE domain_records (tx_id TEXT PRIMARY KEY, note TEXT)`)
	return &domain{e: e, insert: `INSERT INTO domain_records (tx_id, note) VALUES (` + e.placeholders(2) + `)`}
}

// record is a write that stores a row keyed by the transaction's ID plus
// suffix.
func (d *domain) record(suffix, note string) ledger.Write {
	return func(ctx context.Context, tx *sql.Tx, tr *ledger.Transaction) error {
		_, err := tx.ExecContext(ctx, d.insert, tr.ID+suffix, note)
		return err
	}
}

// rows returns the table's rows: key → note.
func (d *domain) rows() map[string]string {
	d.e.t.Helper()
	rs, err := d.e.db.Read.QueryContext(d.e.ctx, `SELECT tx_id, note FROM domain_records`)
	if err != nil {
		d.e.t.Fatalf("read domain_records: %v", err)
	}
	defer rs.Close()
	out := map[string]string{}
	for rs.Next() {
		var k, v string
		if err := rs.Scan(&k, &v); err != nil {
			d.e.t.Fatalf("read domain_records: %v", err)
		}
		out[k] = v
	}
	if err := rs.Err(); err != nil {
		d.e.t.Fatalf("read domain_records: %v", err)
	}
	return out
}

func fail(err error) ledger.Write {
	return func(context.Context, *sql.Tx, *ledger.Transaction) error { return err }
}

func TestWritesRideAlong(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		d := newDomain(e)
		e.exec(d.insert, "taken", "already there")
		bank, w := e.bank(), e.wallet()
		pay := func(amount int64, writes ...ledger.Write) ledger.Request {
			r := transfer(e.ref("pay"), bank, w, amount)
			r.Writes = writes
			return r
		}
		refused := &ledger.Error{Code: ledger.CodeInvalidRequest, Message: "coupon expired", Field: "metadata.coupon"}
		taken := func(ctx context.Context, tx *sql.Tx, _ *ledger.Transaction) error {
			_, err := tx.ExecContext(ctx, d.insert, "taken", "again")
			return err
		}
		reqs := []ledger.Request{
			pay(1, d.record("", "one")),
			pay(2, d.record("", "two"), fail(errors.New("domain refused"))),
			pay(4, fail(refused)),
			pay(8, d.record("", "four"), d.record("-audit", "four, audited")),
			pay(16, d.record("", "five"), taken), // an SQL error inside the write
			pay(32, d.record("", "six")),
		}
		res := e.submit(reqs, false)
		var got []rejection
		for _, r := range res {
			got = append(got, resultRejection(r))
		}
		want := []rejection{{}, {Code: ledger.CodeWriteFailed}, {ledger.CodeInvalidRequest, "metadata.coupon"}, {},
			{Code: ledger.CodeWriteFailed}, {}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("results (-want +got):\n%s", diff)
		}
		if res[2].Err != refused {
			t.Errorf("the write's own error: got %#v, want the *ledger.Error it returned", res[2].Err)
		}
		if got := res[1].Err.Unwrap(); got == nil || got.Error() != "domain refused" {
			t.Errorf("write_failed wraps %v, want the write's error", got)
		}

		wantRows := map[string]string{
			"taken":                          "already there",
			res[0].Transaction.ID:            "one",
			res[3].Transaction.ID:            "four",
			res[3].Transaction.ID + "-audit": "four, audited",
			res[5].Transaction.ID:            "six",
		}
		if diff := cmp.Diff(wantRows, d.rows()); diff != "" {
			t.Errorf("domain rows (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(ledger.Balances{CreditsPosted: 1 + 8 + 32}, e.balances(w)); diff != "" {
			t.Errorf("wallet (-want +got):\n%s", diff)
		}
		for _, i := range []int{1, 2, 4} {
			if _, err := e.l.GetTransactionByReference(e.ctx, "inst1", reqs[i].Reference); ledger.ErrorCode(err) != ledger.CodeTransactionNotFound {
				t.Errorf("request %d was refused but its reference gives %v", i, err)
			}
		}
		e.verify()
	})
}

func TestWritesInAtomicBatch(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		d := newDomain(e)
		bank, w := e.bank(), e.wallet()
		a := transfer("a", bank, w, 100)
		a.Writes = []ledger.Write{d.record("", "a")}
		b := transfer("b", bank, w, 200)
		b.Writes = []ledger.Write{d.record("", "b"), fail(errors.New("no"))}

		res := e.submit([]ledger.Request{a, b}, true)
		got := []rejection{resultRejection(res[0]), resultRejection(res[1])}
		if diff := cmp.Diff([]rejection{{Code: ledger.CodeBatchAborted}, {Code: ledger.CodeWriteFailed}}, got); diff != "" {
			t.Fatalf("results (-want +got):\n%s", diff)
		}
		if rows := d.rows(); len(rows) != 0 {
			t.Errorf("rows after the aborted batch: %v, want none", rows)
		}
		if diff := cmp.Diff(ledger.Balances{}, e.balances(w)); diff != "" {
			t.Errorf("wallet after the aborted batch (-want +got):\n%s", diff)
		}

		b.Writes = []ledger.Write{d.record("", "b")}
		res = e.submit([]ledger.Request{a, b}, true)
		for i, r := range res {
			if r.Err != nil {
				t.Fatalf("request %d: %v", i, r.Err)
			}
		}
		want := map[string]string{res[0].Transaction.ID: "a", res[1].Transaction.ID: "b"}
		if diff := cmp.Diff(want, d.rows()); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(ledger.Balances{CreditsPosted: 300}, e.balances(w)); diff != "" {
			t.Errorf("wallet (-want +got):\n%s", diff)
		}
		e.verify()
	})
}

// TestWriteSeesTransaction: a write gets the transaction as it will be
// answered, ID and entries included.
func TestWriteSeesTransaction(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, w := e.bank(), e.wallet()
		e.fund(bank, w, 500)
		var seen ledger.Transaction
		r := transfer("pay", bank, w, 100)
		r.Metadata = map[string]string{"order": "o-1"}
		r.Writes = []ledger.Write{func(_ context.Context, _ *sql.Tx, tr *ledger.Transaction) error {
			seen = *tr
			return nil
		}}
		tr := e.post(r)
		if diff := cmp.Diff(*tr, seen); diff != "" {
			t.Errorf("what the write saw differs from the answer (-answer +seen):\n%s", diff)
		}
		e.verify()
	})
}

// TestWriteWrappedError: a write that wraps a ledger error with context, as
// our style asks, still refuses its request with that error's code.
func TestWriteWrappedError(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, w := e.bank(), e.wallet()
		r := transfer("pay", bank, w, 100)
		cause := &ledger.Error{Code: ledger.CodeInsufficientFunds, Message: "coupon balance too low"}
		r.Writes = []ledger.Write{fail(fmt.Errorf("redeem coupon c-1: %w", cause))}
		if got, want := e.attempt(r), (rejection{Code: ledger.CodeInsufficientFunds}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
		e.verify()
	})
}

func TestAccountWrites(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		d := newDomain(e)
		note := func(ctx context.Context, tx *sql.Tx, before, after *ledger.Account) error {
			from := "none"
			if before != nil {
				from = string(before.Status)
			}
			_, err := tx.ExecContext(ctx, d.insert, after.ID+"@"+string(after.Status), from+" -> "+string(after.Status))
			return err
		}
		boom := errors.New("audit store refused")
		failing := func(context.Context, *sql.Tx, *ledger.Account, *ledger.Account) error { return boom }
		n := ledger.NewAccount{InstitutionID: "inst1", Asset: "CNY", Code: "2001", NormalSide: ledger.Credit}

		t.Run("create", func(t *testing.T) {
			e := e.sub(t)
			a := n
			a.ID = "opened"
			if _, err := e.l.CreateAccount(e.ctx, a, note); err != nil {
				t.Fatalf("CreateAccount: %v", err)
			}
			b := n
			b.ID = "never-opened"
			if _, err := e.l.CreateAccount(e.ctx, b, note, failing); !errors.Is(err, boom) {
				t.Errorf("CreateAccount with a failing write: got %v, want %v", err, boom)
			}
			if _, err := e.l.GetAccount(e.ctx, "never-opened"); ledger.ErrorCode(err) != ledger.CodeAccountNotFound {
				t.Errorf("the account whose write failed: got %v, want account_not_found", err)
			}
			many := []ledger.NewAccount{n, n}
			many[0].ID, many[1].ID = "batch-1", "batch-2"
			if _, err := e.l.CreateAccounts(e.ctx, many, note); err != nil {
				t.Fatalf("CreateAccounts: %v", err)
			}
		})

		t.Run("set status", func(t *testing.T) {
			e := e.sub(t)
			w := e.newAccount(ledger.NewAccount{ID: "frozen-later", Asset: "CNY", NormalSide: ledger.Credit})
			if _, _, err := e.l.SetStatus(e.ctx, ledger.StatusChange{AccountID: w.ID, Status: ledger.StatusFrozen}, note); err != nil {
				t.Fatalf("SetStatus: %v", err)
			}
			_, _, err := e.l.SetStatus(e.ctx, ledger.StatusChange{AccountID: w.ID, Status: ledger.StatusClosed}, note, failing)
			if !errors.Is(err, boom) {
				t.Errorf("SetStatus with a failing write: got %v, want %v", err, boom)
			}
			if got := e.get(w).Status; got != ledger.StatusFrozen {
				t.Errorf("status after the failed change = %s, want frozen", got)
			}
			// A refused change runs no write.
			bank := e.bank()
			e.setStatus(w, ledger.StatusActive)
			e.fund(bank, w, 1)
			_, _, err = e.l.SetStatus(e.ctx, ledger.StatusChange{AccountID: w.ID, Status: ledger.StatusClosed}, failing)
			if ledger.ErrorCode(err) != ledger.CodeAccountNotEmpty {
				t.Errorf("close a funded account: got %v, want account_not_empty", err)
			}
		})

		want := map[string]string{
			"opened@active":       "none -> active",
			"batch-1@active":      "none -> active",
			"batch-2@active":      "none -> active",
			"frozen-later@frozen": "active -> frozen",
		}
		if diff := cmp.Diff(want, d.rows()); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
		e.verify()
	})
}

// Do commits domain writes that move no money in the ledger's batches:
// each is kept or undone on its own, and concurrent ones share commits.
func TestDoWritesInTheBatch(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		d := newDomain(e)
		insert := func(k string) func(context.Context, *sql.Tx) error {
			return func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, d.insert, k, "do")
				return err
			}
		}
		refused := errors.New("order already final")
		tests := []struct {
			name string
			w    func(context.Context, *sql.Tx) error
			want error
		}{
			{"kept", insert("a"), nil},
			{"own error undoes its writes", func(ctx context.Context, tx *sql.Tx) error {
				if err := insert("b")(ctx, tx); err != nil {
					return err
				}
				return refused
			}, refused},
		}
		for _, tc := range tests {
			if err := e.l.Do(e.ctx, tc.w); !errors.Is(err, tc.want) {
				t.Errorf("%s: Do = %v, want %v", tc.name, err, tc.want)
			}
		}
		// Many at once, alongside transfers: every one lands.
		bank, w := e.bank(), e.wallet()
		errs := make(chan error, 100)
		for i := range 50 {
			go func() { errs <- e.l.Do(e.ctx, insert(fmt.Sprint("c", i))) }()
			go func() {
				r := transfer(e.ref("do"), bank, w, 1)
				r.InstitutionID = "inst1"
				_, err := e.l.Post(e.ctx, r)
				errs <- err
			}()
		}
		for range 100 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		rows := d.rows()
		if _, ok := rows["b"]; ok || rows["a"] != "do" || len(rows) != 51 {
			t.Errorf("rows = %d (a=%q, b present=%v); want a and the 50 concurrent ones, not b", len(rows), rows["a"], ok)
		}
	})
}
