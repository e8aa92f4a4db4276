package accounts_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// stBooks is a ledger of bank-a with a bank account, a wallet product and
// a clock the test moves.
type stBooks struct {
	*lcBooks
	clock *clock.Fake
}

func newStBooks(t *testing.T, db *store.DB) *stBooks {
	t.Helper()
	c := clock.NewFake(time.Date(2026, 10, 30, 9, 0, 0, 0, time.UTC))
	return &stBooks{lcBooks: newLifecycleAt(t, db, c), clock: c}
}

// transfer posts amount from debit to credit, failing the test on refusal.
func (b *stBooks) transfer(t *testing.T, debit, credit, ref string, amount int64) {
	t.Helper()
	_, err := b.ledger.Post(context.Background(), ledger.Request{Kind: ledger.KindTransfer, InstitutionID: "bank-a", Reference: ref,
		Postings: []ledger.Posting{{Debit: debit, Credit: credit, Asset: "CNY", Amount: amount}}})
	if err != nil {
		t.Fatalf("transfer %s: %v", ref, err)
	}
}

func (b *stBooks) wallet(t *testing.T, customer string) string {
	t.Helper()
	return b.open(t, accounts.OpenRequest{CustomerID: customer, ProductID: "wallet"}).AccountID
}

func TestStatement(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newStBooks(t, db)
		c := mustCreate(t, b.customers, accounts.NewCustomer{InstitutionID: "bank-a", Type: accounts.Personal, Name: "Zhang Sanfeng"})
		other := mustCreate(t, b.customers, accounts.NewCustomer{InstitutionID: "bank-a", Type: accounts.Personal, Name: "Li Si"})
		a1, a2 := b.wallet(t, c.ID), b.wallet(t, c.ID)
		b.wallet(t, other.ID)
		b.transfer(t, b.bank, a1, "before", 10000) // October: the opening balance

		from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		to := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		b.clock.Set(from) // exactly on the bound: inside the period
		b.transfer(t, b.bank, a1, "on-from", 1)
		b.clock.Set(from.Add(10 * time.Hour))
		// More entries than one page of the ledger holds.
		const n = 1005
		reqs := make([]ledger.Request, n)
		for i := range reqs {
			reqs[i] = ledger.Request{Kind: ledger.KindTransfer, InstitutionID: "bank-a", Reference: fmt.Sprintf("p%d", i),
				Postings: []ledger.Posting{{Debit: b.bank, Credit: a1, Asset: "CNY", Amount: 100}}}
		}
		res, err := b.ledger.Submit(ctx, reqs, true)
		if err != nil || res[0].Err != nil {
			t.Fatalf("submit: %v %v", err, res[0].Err)
		}
		b.clock.Set(from.Add(14 * 24 * time.Hour))
		b.transfer(t, a1, a2, "move", 5000)
		b.clock.Set(to) // exactly on the end: outside the period
		b.transfer(t, b.bank, a1, "on-to", 7)

		st := accounts.NewStatements(b.ledger, b.customers, b.lc)
		got, stored, err := st.Generate(ctx, accounts.StatementRequest{CustomerID: c.ID, From: "2026-11-01", To: "2026-12-01"})
		if err != nil || stored {
			t.Fatalf("generate: %v, stored %v", err, stored)
		}
		if len(got.Accounts) != 2 || got.CustomerName != accounts.MaskName("Zhang Sanfeng") {
			t.Fatalf("statement: %d accounts, name %q", len(got.Accounts), got.CustomerName)
		}
		want := map[string]struct {
			opening, closing int64
			lines            int
		}{a1: {10000, 10000 + 1 + n*100 - 5000, 1 + n + 1}, a2: {0, 5000, 1}}
		for _, as := range got.Accounts {
			w := want[as.AccountID]
			open, err := b.ledger.BalancesAt(ctx, as.AccountID, from.Add(-time.Microsecond))
			if err != nil {
				t.Fatal(err)
			}
			end, err := b.ledger.BalancesAt(ctx, as.AccountID, to.Add(-time.Microsecond))
			if err != nil {
				t.Fatal(err)
			}
			if as.Opening != w.opening || as.Opening != open.Balance(ledger.Credit) {
				t.Errorf("%s opening = %d, want %d (ledger %d)", as.AccountID, as.Opening, w.opening, open.Balance(ledger.Credit))
			}
			if as.Closing != w.closing || as.Closing != end.Balance(ledger.Credit) {
				t.Errorf("%s closing = %d, want %d (ledger %d)", as.AccountID, as.Closing, w.closing, end.Balance(ledger.Credit))
			}
			if len(as.Lines) != w.lines {
				t.Errorf("%s has %d lines, want %d", as.AccountID, len(as.Lines), w.lines)
			}
			if as.Opening+as.Credits-as.Debits != as.Closing {
				t.Errorf("%s: opening %d + credits %d − debits %d ≠ closing %d", as.AccountID, as.Opening, as.Credits, as.Debits, as.Closing)
			}
			bal := as.Opening
			for _, l := range as.Lines {
				if l.Side == ledger.Credit {
					bal += l.Amount
				} else {
					bal -= l.Amount
				}
				if l.Balance != bal {
					t.Fatalf("%s line %d balance %d, want running %d", as.AccountID, l.Seq, l.Balance, bal)
				}
			}
		}

		// Stored: asked again, the same statement comes back.
		b.clock.Advance(time.Hour)
		again, stored, err := st.Generate(ctx, accounts.StatementRequest{CustomerID: c.ID, From: "2026-11-01", To: "2026-12-01"})
		if err != nil || !stored || again.ID != got.ID || !again.GeneratedAt.Equal(got.GeneratedAt) {
			t.Fatalf("again: %v, stored %v, id %s vs %s", err, stored, again.ID, got.ID)
		}
		re, stored, err := st.Generate(ctx, accounts.StatementRequest{CustomerID: c.ID, From: "2026-11-01", To: "2026-12-01", Regenerate: true})
		if err != nil || stored || re.ID != got.ID || !re.GeneratedAt.After(got.GeneratedAt) {
			t.Fatalf("regenerate: %v, stored %v, id %s vs %s, at %v", err, stored, re.ID, got.ID, re.GeneratedAt)
		}
		if byID, err := st.Get(ctx, got.ID, []string{"bank-a"}); err != nil || len(byID.Accounts[0].Lines)+len(byID.Accounts[1].Lines) != 1+n+1+1 {
			t.Fatalf("get: %v", err)
		}
		if _, err := st.Get(ctx, got.ID, []string{"bank-b"}); accounts.ErrorCode(err) != accounts.CodeStatementNotFound {
			t.Fatalf("get out of scope: %v", err)
		}
		list, err := st.List(ctx, c.ID, nil, 0)
		if err != nil || len(list) != 1 || list[0].ID != got.ID {
			t.Fatalf("list: %v %+v", err, list)
		}

		var csvOut, htmlOut bytes.Buffer
		if err := got.WriteCSV(&csvOut); err != nil {
			t.Fatal(err)
		}
		rows := strings.Split(strings.TrimSpace(csvOut.String()), "\n")
		if rows[0] != "account,asset,date,type,reference,debit,credit,balance" || len(rows) != 1+2*2+1+n+1+1 {
			t.Fatalf("csv: %d rows, header %q", len(rows), rows[0])
		}
		for _, want := range []string{a1 + ",CNY,2026-11-01,opening_balance,,,,100.00", a1 + ",CNY,2026-11-01,transfer,on-from,,0.01,100.01",
			a1 + ",CNY,2026-11-15,transfer,move,50.00,,", a2 + ",CNY,2026-12-01,closing_balance,,0.00,50.00,50.00"} {
			if !strings.Contains(csvOut.String(), want) {
				t.Errorf("csv lacks %q", want)
			}
		}
		if strings.Contains(csvOut.String(), "on-to") {
			t.Error("csv holds an entry after the period")
		}
		if err := got.WriteHTML(&htmlOut); err != nil {
			t.Fatal(err)
		}
		h := htmlOut.String()
		for _, want := range []string{"@media print", accounts.MaskName("Zhang Sanfeng"), "Opening balance", "100.00", "Closing balance", "on-from"} {
			if !strings.Contains(h, want) {
				t.Errorf("html lacks %q", want)
			}
		}
		if strings.Contains(h, "Zhang Sanfeng") || strings.Contains(csvOut.String(), "Zhang") {
			t.Error("the plain name leaked into the statement")
		}

		// The monthly job: the stored one stands, the other customer gets one.
		sum, err := st.GenerateMonth(ctx, "bank-a", "2026-11")
		if err != nil || sum != (accounts.MonthSummary{Generated: 1, Existing: 1}) {
			t.Fatalf("month: %v %+v", err, sum)
		}
		if sum, err = st.GenerateMonth(ctx, "bank-a", "2026-11"); err != nil || sum != (accounts.MonthSummary{Existing: 2}) {
			t.Fatalf("month again: %v %+v", err, sum)
		}
	})
}

func TestStatementRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newStBooks(t, db)
		c := b.customer(t, accounts.Personal)
		st := accounts.NewStatements(b.ledger, b.customers, b.lc)
		for _, tc := range []struct {
			name     string
			r        accounts.StatementRequest
			code     accounts.Code
			field    string
			monthErr bool
		}{
			{"bad from", accounts.StatementRequest{CustomerID: c.ID, From: "2026-13-01", To: "2026-12-01"}, accounts.CodeInvalidRequest, "from", false},
			{"bad to", accounts.StatementRequest{CustomerID: c.ID, From: "2026-11-01", To: "x"}, accounts.CodeInvalidRequest, "to", false},
			{"empty", accounts.StatementRequest{CustomerID: c.ID, From: "2026-11-01", To: "2026-11-01"}, accounts.CodeInvalidRequest, "to", false},
			{"too long", accounts.StatementRequest{CustomerID: c.ID, From: "2025-01-01", To: "2026-12-01"}, accounts.CodeInvalidRequest, "to", false},
			{"unknown customer", accounts.StatementRequest{CustomerID: "nobody", From: "2026-11-01", To: "2026-12-01"}, accounts.CodeCustomerNotFound, "", false},
			{"out of scope", accounts.StatementRequest{CustomerID: c.ID, From: "2026-11-01", To: "2026-12-01", Scope: []string{"bank-b"}}, accounts.CodeCustomerNotFound, "", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, _, err := st.Generate(ctx, tc.r)
				if gotCode, gotField := code(err); gotCode != tc.code || gotField != tc.field {
					t.Errorf("got %s (%s), want %s (%s)", gotCode, gotField, tc.code, tc.field)
				}
			})
		}
		if _, err := st.GenerateMonth(ctx, "bank-a", "2026-1"); accounts.ErrorCode(err) != accounts.CodeInvalidRequest {
			t.Errorf("bad month: %v", err)
		}
		if _, err := st.Get(ctx, "nope", nil); accounts.ErrorCode(err) != accounts.CodeStatementNotFound {
			t.Errorf("unknown statement: %v", err)
		}
	})
}
