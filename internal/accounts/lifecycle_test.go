package accounts_test

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// lcBooks is a life-cycle service on a fresh store with CNY registered, a
// wallet product of bank-a and a bank account to fund wallets from.
type lcBooks struct {
	db        *store.DB
	ledger    *ledger.Ledger
	products  *accounts.ProductService
	customers *accounts.Customers
	lc        *accounts.Lifecycle
	bank      string
	writes    []string // the event types the ride-along writes saw
}

func newLifecycle(t *testing.T, db *store.DB) *lcBooks {
	t.Helper()
	return newLifecycleAt(t, db, clock.NewFake(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)))
}

// newLifecycleAt is newLifecycle with its clock c.
func newLifecycleAt(t *testing.T, db *store.DB, c *clock.Fake) *lcBooks {
	t.Helper()
	ctx := context.Background()
	l := ledger.New(db, ledger.Options{Clock: c})
	t.Cleanup(func() { l.Close() })
	if _, err := l.CreateAsset(ctx, "CNY", 2); err != nil {
		t.Fatal(err)
	}
	b := &lcBooks{db: db, ledger: l, products: accounts.NewProductService(db, c),
		customers: accounts.NewCustomers(db, c, mustKeyring(t, key1))}
	b.lc = accounts.NewLifecycle(l, b.products)
	bank, err := l.CreateAccount(ctx, ledger.NewAccount{InstitutionID: "bank-a", Asset: "CNY", Code: "1002",
		NormalSide: ledger.Debit, Overdraft: ledger.OverdraftUnlimited})
	if err != nil {
		t.Fatal(err)
	}
	b.bank = bank.ID
	b.product(t, "wallet", accounts.ClassWallet)
	return b
}

// record is a ride-along write that notes the event it was given.
func (b *lcBooks) record() accounts.ChangeWrite {
	return func(_ context.Context, _ *sql.Tx, e *accounts.Event) error {
		b.writes = append(b.writes, e.Type)
		return nil
	}
}

func (b *lcBooks) product(t *testing.T, id string, class accounts.Class, auto ...accounts.AutoOpen) *accounts.Product {
	t.Helper()
	p := wallet(nil, nil)
	p.InstitutionID, p.ID, p.Class, p.AutoOpen, p.Name = "bank-a", id, class, auto, "Product "+id
	out, err := b.products.Create(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (b *lcBooks) customer(t *testing.T, typ accounts.CustomerType) *accounts.Customer {
	t.Helper()
	return mustCreate(t, b.customers, accounts.NewCustomer{InstitutionID: "bank-a", Type: typ, Name: "Customer"})
}

func (b *lcBooks) open(t *testing.T, r accounts.OpenRequest) *accounts.Opened {
	t.Helper()
	if r.OpenedBy == "" {
		r.OpenedBy = "k1"
	}
	o, err := b.lc.Open(context.Background(), r, b.record())
	if err != nil {
		t.Fatalf("open %+v: %v", r, err)
	}
	return o
}

func (b *lcBooks) fund(t *testing.T, account, ref string, amount int64) {
	t.Helper()
	_, err := b.ledger.Post(context.Background(), ledger.Request{Kind: ledger.KindTransfer, InstitutionID: "bank-a", Reference: ref,
		Postings: []ledger.Posting{{Debit: b.bank, Credit: account, Asset: "CNY", Amount: amount}}})
	if err != nil {
		t.Fatal(err)
	}
}

func (b *lcBooks) events(t *testing.T, typ, account string) int {
	t.Helper()
	var n int
	if err := b.db.Read.QueryRow(`SELECT COUNT(*) FROM events WHERE type = $1 AND subject = $2 AND published_at IS NULL`,
		typ, "account:"+account).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (b *lcBooks) status(t *testing.T, id string) ledger.Status {
	t.Helper()
	a, err := b.ledger.GetAccount(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a.Status
}

func TestOpenFromProduct(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newLifecycle(t, db)
		c := b.customer(t, accounts.Personal)
		o := b.open(t, accounts.OpenRequest{CustomerID: c.ID, ProductID: "wallet", Properties: map[string]string{"purpose": "daily"}})
		if o.ProductVersion != 1 || o.Product.Version != 1 || o.InstitutionID != "bank-a" || o.CustomerID != c.ID || o.Replayed {
			t.Errorf("opened %+v", o.CustomerAccount)
		}
		a := o.Account
		if a.Asset != "CNY" || a.Code != "2001" || a.NormalSide != ledger.Credit || a.Overdraft != ledger.OverdraftNone ||
			a.Name != "Product wallet" || a.Metadata["product_version"] != "1" {
			t.Errorf("ledger account %+v", a)
		}
		if n := b.events(t, accounts.EventAccountOpened, a.ID); n != 1 {
			t.Errorf("%d account.opened events", n)
		}

		// A new version of the product: the account keeps version 1, a new
		// account gets version 2.
		p, _ := b.products.Get(ctx, "bank-a", "wallet", 0)
		p.Name, p.CreatedBy = "Wallet v2", "k1"
		if _, err := b.products.Update(ctx, *p); err != nil {
			t.Fatal(err)
		}
		o2 := b.open(t, accounts.OpenRequest{CustomerID: c.ID, ProductID: "wallet"})
		links, _, err := b.lc.CustomerAccounts(ctx, c.ID, nil, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, l := range links {
			got[l.AccountID] = l.ProductVersion
		}
		if len(links) != 2 || got[a.ID] != 1 || got[o2.Account.ID] != 2 || links[0].Properties == nil {
			t.Errorf("customer accounts %v, want %s on 1 and %s on 2", got, a.ID, o2.Account.ID)
		}

		// Refusals.
		internal := b.product(t, "fees", accounts.ClassInternal)
		b.product(t, "old", accounts.ClassWallet)
		if _, err := b.products.Retire(ctx, "bank-a", "old", "k1"); err != nil {
			t.Fatal(err)
		}
		frozen := b.customer(t, accounts.Personal)
		if _, _, err := b.customers.SetStatus(ctx, frozen.ID, accounts.CustomerFrozen, "kyc", nil); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name  string
			req   accounts.OpenRequest
			code  accounts.Code
			field string
		}{
			{"retired product", accounts.OpenRequest{CustomerID: c.ID, ProductID: "old"}, accounts.CodeProductRetired, ""},
			{"unknown product", accounts.OpenRequest{CustomerID: c.ID, ProductID: "nope"}, accounts.CodeProductNotFound, ""},
			{"customer out of scope", accounts.OpenRequest{CustomerID: c.ID, ProductID: "wallet", Scope: []string{"bank-b"}}, accounts.CodeCustomerNotFound, ""},
			{"customer of another institution", accounts.OpenRequest{InstitutionID: "bank-b", CustomerID: c.ID, ProductID: "wallet"}, accounts.CodeCustomerNotFound, ""},
			{"unknown customer", accounts.OpenRequest{CustomerID: "nobody", ProductID: "wallet"}, accounts.CodeCustomerNotFound, ""},
			{"frozen customer", accounts.OpenRequest{CustomerID: frozen.ID, ProductID: "wallet"}, accounts.CodeCustomerNotActive, ""},
			{"internal product for a customer", accounts.OpenRequest{CustomerID: c.ID, ProductID: internal.ID}, accounts.CodeInvalidRequest, "product_id"},
			{"wallet without a customer", accounts.OpenRequest{InstitutionID: "bank-a", ProductID: "wallet"}, accounts.CodeInvalidRequest, "customer_id"},
			{"properties", accounts.OpenRequest{CustomerID: c.ID, ProductID: "wallet", Properties: map[string]string{"": "x"}}, accounts.CodeInvalidRequest, "properties"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				tc.req.OpenedBy = "k1"
				_, err := b.lc.Open(ctx, tc.req)
				if gotCode, gotField := code(err); gotCode != tc.code || gotField != tc.field {
					t.Errorf("got %s (%s), want %s (%s): %v", gotCode, gotField, tc.code, tc.field, err)
				}
			})
		}
		// An internal account needs no customer.
		fees := b.open(t, accounts.OpenRequest{InstitutionID: "bank-a", ProductID: internal.ID})
		if fees.CustomerID != "" {
			t.Errorf("internal account %+v", fees.CustomerAccount)
		}
	})
}

func TestOpenIdempotentByReference(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newLifecycle(t, db)
		c := b.customer(t, accounts.Personal)
		first := b.open(t, accounts.OpenRequest{CustomerID: c.ID, ProductID: "wallet", Reference: "open-1"})
		again := b.open(t, accounts.OpenRequest{CustomerID: c.ID, ProductID: "wallet", Reference: "open-1"})
		if !again.Replayed || again.Account.ID != first.Account.ID || again.Product.Version != 1 {
			t.Errorf("replay %+v, first %s", again.CustomerAccount, first.Account.ID)
		}
		if len(b.writes) != 1 || b.events(t, accounts.EventAccountOpened, first.Account.ID) != 1 {
			t.Errorf("writes %v", b.writes)
		}
		b.product(t, "escrow", accounts.ClassEscrow)
		_, err := b.lc.Open(ctx, accounts.OpenRequest{CustomerID: c.ID, ProductID: "escrow", Reference: "open-1", OpenedBy: "k1"})
		if gotCode, field := code(err); gotCode != accounts.CodeConflict || field != "reference" {
			t.Errorf("reference reused for another product: %v", err)
		}
		links, _, _ := b.lc.CustomerAccounts(ctx, c.ID, nil, "", 0)
		if len(links) != 1 {
			t.Errorf("%d accounts", len(links))
		}
	})
}

func TestOpenForCustomer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newLifecycle(t, db)
		merchant := accounts.AutoOpen{CustomerType: "merchant"}
		b.product(t, "settlement", accounts.ClassMerchantSettlement, merchant)
		b.product(t, "escrow", accounts.ClassEscrow, merchant, accounts.AutoOpen{Scenario: "prepaid"})
		b.product(t, "personal-wallet", accounts.ClassWallet, accounts.AutoOpen{CustomerType: "personal"})
		b.product(t, "retired", accounts.ClassEscrow, merchant)
		if _, err := b.products.Retire(ctx, "bank-a", "retired", "k1"); err != nil {
			t.Fatal(err)
		}
		m := b.customer(t, accounts.Merchant)
		for round := range 2 {
			res, err := b.lc.OpenForCustomer(ctx, m, "k1", b.record())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res {
				if r.Err != nil {
					t.Fatalf("%s: %v", r.ProductID, r.Err)
				}
				if r.Opened.Replayed != (round == 1) || r.Opened.Reference != accounts.AutoOpenReference(m.ID, r.ProductID) {
					t.Errorf("round %d: %+v", round, r.Opened.CustomerAccount)
				}
				got = append(got, r.ProductID)
			}
			if diff := diff([]string{"escrow", "settlement"}, got); diff != "" {
				t.Errorf("round %d opened (-want +got):\n%s", round, diff)
			}
		}
		links, _, _ := b.lc.CustomerAccounts(ctx, m.ID, nil, "", 0)
		if len(links) != 2 || len(b.writes) != 2 {
			t.Errorf("%d accounts, writes %v", len(links), b.writes)
		}
	})
}

func TestFreezeStackingAndLifting(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newLifecycle(t, db)
		c := b.customer(t, accounts.Personal)
		id := b.open(t, accounts.OpenRequest{CustomerID: c.ID, ProductID: "wallet"}).Account.ID
		freeze := func(side accounts.FreezeSide, auth accounts.Authority, judicial bool) (*accounts.Freeze, error) {
			f, _, err := b.lc.Freeze(ctx, accounts.FreezeRequest{AccountID: id, Side: side, Authority: auth, Reason: "why",
				By: "k1", Judicial: judicial}, b.record())
			return f, err
		}
		lift := func(f *accounts.Freeze, judicial bool) error {
			_, _, err := b.lc.Lift(ctx, accounts.LiftRequest{AccountID: id, FreezeID: f.ID, By: "k2", Judicial: judicial}, b.record())
			return err
		}
		must := func(f *accounts.Freeze, err error) *accounts.Freeze {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		want := func(st ledger.Status) {
			t.Helper()
			if got := b.status(t, id); got != st {
				t.Fatalf("status %s, want %s", got, st)
			}
		}
		d1 := must(freeze(accounts.FreezeDebit, accounts.AuthorityOperator, false))
		d2 := must(freeze(accounts.FreezeDebit, accounts.AuthorityRisk, false))
		want(ledger.StatusDebitFrozen)
		if err := lift(d1, false); err != nil {
			t.Fatal(err)
		}
		want(ledger.StatusDebitFrozen) // d2 still holds debits
		cr := must(freeze(accounts.FreezeCredit, accounts.AuthorityOperator, false))
		want(ledger.StatusFrozen)
		if err := lift(d2, false); err != nil {
			t.Fatal(err)
		}
		want(ledger.StatusCreditFrozen)
		if err := lift(d2, false); accounts.ErrorCode(err) != accounts.CodeInvalidStatusChange {
			t.Errorf("lifting twice: %v", err)
		}

		// Judicial freezes need the judicial authority to place and lift.
		if _, err := freeze(accounts.FreezeBoth, accounts.AuthorityJudicial, false); accounts.ErrorCode(err) != accounts.CodeAuthorityRequired {
			t.Errorf("judicial freeze without the authority: %v", err)
		}
		j := must(freeze(accounts.FreezeBoth, accounts.AuthorityJudicial, true))
		want(ledger.StatusFrozen)
		if err := lift(cr, false); err != nil {
			t.Fatal(err)
		}
		want(ledger.StatusFrozen) // the judicial freeze holds both
		if err := lift(j, false); accounts.ErrorCode(err) != accounts.CodeAuthorityRequired {
			t.Errorf("judicial lift without the authority: %v", err)
		}
		// A plain thaw cannot undo a recorded freeze.
		_, _, err := b.ledger.SetStatus(ctx, ledger.StatusChange{AccountID: id, Thaw: []ledger.Side{ledger.Debit}}, b.lc.KeepFreezes())
		if accounts.ErrorCode(err) != accounts.CodeFreezeInForce {
			t.Errorf("plain thaw under a judicial freeze: %v", err)
		}
		want(ledger.StatusFrozen)
		if err := lift(j, true); err != nil {
			t.Fatal(err)
		}
		want(ledger.StatusActive)

		fs, _, err := b.lc.Freezes(ctx, id, nil, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != 4 {
			t.Fatalf("%d freezes", len(fs))
		}
		for _, f := range fs {
			if f.LiftedAt == nil || f.LiftedBy != "k2" || f.PlacedBy != "k1" || f.InstitutionID != "bank-a" {
				t.Errorf("freeze %+v", f)
			}
		}
		if _, _, err := b.lc.Freezes(ctx, id, []string{"bank-b"}, "", 0); ledger.ErrorCode(err) != ledger.CodeAccountNotFound {
			t.Errorf("freezes out of scope: %v", err)
		}
		if _, _, err := b.lc.Lift(ctx, accounts.LiftRequest{AccountID: id, FreezeID: "nope", By: "k1"}); accounts.ErrorCode(err) != accounts.CodeFreezeNotFound {
			t.Errorf("unknown freeze: %v", err)
		}
		if b.events(t, accounts.EventAccountFrozen, id) != 4 || b.events(t, accounts.EventAccountThawed, id) != 4 {
			t.Errorf("events: %d frozen, %d thawed", b.events(t, accounts.EventAccountFrozen, id), b.events(t, accounts.EventAccountThawed, id))
		}
		if len(b.writes) != 9 { // 1 open, 4 freezes, 4 lifts
			t.Errorf("writes %v", b.writes)
		}
	})
}

func TestClose(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newLifecycle(t, db)
		c := b.customer(t, accounts.Personal)
		id := b.open(t, accounts.OpenRequest{CustomerID: c.ID, ProductID: "wallet"}).Account.ID
		target := b.open(t, accounts.OpenRequest{CustomerID: c.ID, ProductID: "wallet"}).Account.ID
		b.fund(t, id, "fund-1", 12345)
		closeIt := func(r accounts.CloseRequest) (*accounts.Closed, error) {
			r.AccountID, r.By = id, "k1"
			return b.lc.Close(ctx, r, b.record())
		}
		if _, err := closeIt(accounts.CloseRequest{}); ledger.ErrorCode(err) != ledger.CodeAccountNotEmpty {
			t.Errorf("close with a balance: %v", err)
		}
		hold, err := b.ledger.Post(ctx, ledger.Request{Kind: ledger.KindHold, InstitutionID: "bank-a", Reference: "hold-1",
			Postings: []ledger.Posting{{Debit: id, Credit: b.bank, Asset: "CNY", Amount: 5}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := closeIt(accounts.CloseRequest{SweepTo: target}); ledger.ErrorCode(err) != ledger.CodeAccountNotEmpty {
			t.Errorf("close with an open hold: %v", err)
		}
		if _, err := b.ledger.Post(ctx, ledger.Request{Kind: ledger.KindVoid, InstitutionID: "bank-a", Reference: "void-1", HoldID: hold.ID}); err != nil {
			t.Fatal(err)
		}
		f, _, err := b.lc.Freeze(ctx, accounts.FreezeRequest{AccountID: id, Side: accounts.FreezeCredit, Authority: accounts.AuthorityRisk,
			Reason: "check", By: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := closeIt(accounts.CloseRequest{SweepTo: target}); accounts.ErrorCode(err) != accounts.CodeFreezeInForce {
			t.Errorf("close with a freeze in force: %v", err)
		}
		if _, _, err := b.lc.Lift(ctx, accounts.LiftRequest{AccountID: id, FreezeID: f.ID, By: "k1"}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, to string
			code     accounts.Code
		}{
			{"itself", id, accounts.CodeInvalidRequest},
			{"unknown", "nope", accounts.CodeAccountNotFound},
			{"another institution's", "", accounts.CodeAccountNotFound},
		} {
			r := accounts.CloseRequest{SweepTo: tc.to}
			if tc.to == "" {
				r.SweepTo, r.Scope = target, []string{"bank-a"}
				other, err := b.ledger.CreateAccount(ctx, ledger.NewAccount{InstitutionID: "bank-b", Asset: "CNY", Code: "2001", NormalSide: ledger.Credit})
				if err != nil {
					t.Fatal(err)
				}
				r.SweepTo = other.ID
			}
			if _, err := closeIt(r); accounts.ErrorCode(err) != tc.code {
				t.Errorf("sweep to %s: %v", tc.name, err)
			}
		}

		// The sweep committed, then the process died before the close.
		if _, err := b.ledger.Post(ctx, ledger.Request{Kind: ledger.KindTransfer, InstitutionID: "bank-a", Reference: "sweep-1",
			Type: "account_close_sweep", Postings: []ledger.Posting{{Debit: id, Credit: target, Asset: "CNY", Amount: 12000}}}); err != nil {
			t.Fatal(err)
		}
		// The retry sweeps what is left now, and closes.
		closed, err := closeIt(accounts.CloseRequest{SweepTo: target})
		if err != nil {
			t.Fatal(err)
		}
		if closed.Account.Status != ledger.StatusClosed || closed.Sweep == nil || closed.Sweep.Postings[0].Amount != 345 {
			t.Errorf("closed %+v, sweep %+v", closed.Account, closed.Sweep)
		}
		again, err := closeIt(accounts.CloseRequest{SweepTo: target, Reference: "sweep-1"})
		if err != nil || again.Account.Status != ledger.StatusClosed || again.Sweep == nil || again.Sweep.Reference != "sweep-1" {
			t.Errorf("retry: %+v, %v", again, err)
		}
		to, _ := b.ledger.GetAccount(ctx, target)
		from, _ := b.ledger.GetAccount(ctx, id)
		if to.Balance(ledger.Credit) != 12345 || from.Balance(ledger.Credit) != 0 {
			t.Errorf("balances: target %d, closed %d", to.Balance(ledger.Credit), from.Balance(ledger.Credit))
		}
		links, _, _ := b.lc.CustomerAccounts(ctx, c.ID, nil, "", 0)
		for _, l := range links {
			if (l.AccountID == id) != (l.ClosedAt != nil) || (l.AccountID == id && l.ClosedBy != "k1") {
				t.Errorf("link %+v", l)
			}
		}
		if n := b.events(t, accounts.EventAccountClosed, id); n != 1 {
			t.Errorf("%d account.closed events", n)
		}
		if _, err := b.lc.UpdateProperties(ctx, id, map[string]string{"a": "b"}, "k1", nil); accounts.ErrorCode(err) != accounts.CodeInvalidStatusChange {
			t.Errorf("properties of a closed account: %v", err)
		}
		l, err := b.lc.UpdateProperties(ctx, target, map[string]string{"a": "b"}, "k1", nil, b.record())
		if err != nil || l.Properties["a"] != "b" || b.events(t, accounts.EventAccountPropertiesChanged, target) != 1 {
			t.Errorf("properties: %+v, %v", l, err)
		}
		if _, err := b.lc.UpdateProperties(ctx, target, nil, "k1", []string{"bank-b"}); accounts.ErrorCode(err) != accounts.CodeAccountNotFound {
			t.Errorf("properties out of scope: %v", err)
		}
	})
}

// TestFreezeReference: a freeze placed with a reference is placed once,
// however often and however concurrently the request is retried.
func TestFreezeReference(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newLifecycle(t, db)
		id := b.open(t, accounts.OpenRequest{CustomerID: b.customer(t, accounts.Personal).ID, ProductID: "wallet"}).Account.ID
		req := func(ref string, side accounts.FreezeSide, auth accounts.Authority) accounts.FreezeRequest {
			return accounts.FreezeRequest{AccountID: id, Side: side, Authority: auth, Reason: "court order 7", By: "k1",
				Reference: ref, Judicial: true}
		}
		first, _, err := b.lc.Freeze(ctx, req("order-7", accounts.FreezeDebit, accounts.AuthorityRisk), b.record())
		if err != nil || first.Replayed || first.Reference != "order-7" {
			t.Fatalf("first freeze %+v, %v", first, err)
		}
		for _, tc := range []struct {
			name     string
			req      accounts.FreezeRequest
			code     accounts.Code
			replayed bool
		}{
			{"retry", req("order-7", accounts.FreezeDebit, accounts.AuthorityRisk), "", true},
			{"another side", req("order-7", accounts.FreezeBoth, accounts.AuthorityRisk), accounts.CodeConflict, false},
			{"another authority", req("order-7", accounts.FreezeDebit, accounts.AuthorityJudicial), accounts.CodeConflict, false},
			{"reference too long", req(strings.Repeat("r", 129), accounts.FreezeDebit, accounts.AuthorityRisk), accounts.CodeInvalidRequest, false},
			{"other reference", req("order-8", accounts.FreezeCredit, accounts.AuthorityRisk), "", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f, _, err := b.lc.Freeze(ctx, tc.req, b.record())
				if accounts.ErrorCode(err) != tc.code || (tc.code == "" && err != nil) {
					t.Fatalf("err %v, want code %q", err, tc.code)
				}
				if err == nil && (f.Replayed != tc.replayed || (tc.replayed && f.ID != first.ID)) {
					t.Errorf("freeze %+v, first %s", f, first.ID)
				}
			})
		}
		if got := b.events(t, accounts.EventAccountFrozen, id); got != 2 {
			t.Errorf("%d account.frozen events, want 2 (order-7 and order-8)", got)
		}
		if len(b.writes) != 3 { // open, order-7, order-8
			t.Errorf("ride-along writes %v", b.writes)
		}

		// A retry after the lift returns the lifted freeze and freezes nothing.
		if _, _, err := b.lc.Lift(ctx, accounts.LiftRequest{AccountID: id, FreezeID: first.ID, By: "k2"}, b.record()); err != nil {
			t.Fatal(err)
		}
		f, a, err := b.lc.Freeze(ctx, req("order-7", accounts.FreezeDebit, accounts.AuthorityRisk))
		if err != nil || !f.Replayed || f.LiftedAt == nil || a.Status != ledger.StatusCreditFrozen {
			t.Fatalf("retry after lift: %+v, account %+v, %v", f, a, err)
		}

		// Concurrent first attempts: one freeze, every caller gets it.
		const n = 8
		ids := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f, _, err := b.lc.Freeze(ctx, req("order-9", accounts.FreezeDebit, accounts.AuthorityOperator))
				if err == nil {
					ids[i] = f.ID
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Errorf("caller %d: freeze %s, %v; caller 0: %s", i, ids[i], errs[i], ids[0])
			}
		}
		fs, _, err := b.lc.Freezes(ctx, id, nil, "", 0)
		if err != nil || len(fs) != 3 {
			t.Fatalf("%d freezes, %v", len(fs), err)
		}
	})
}

// TestCloseCustomerNeedsAccountsClosed: a customer is closed only once every
// account they hold is, so no balance is left with a closed customer.
func TestCloseCustomerNeedsAccountsClosed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newLifecycle(t, db)
		c := b.customer(t, accounts.Personal)
		w1 := b.open(t, accounts.OpenRequest{CustomerID: c.ID, ProductID: "wallet"}).Account.ID
		w2 := b.open(t, accounts.OpenRequest{CustomerID: c.ID, ProductID: "wallet", Reference: "second"}).Account.ID
		b.fund(t, w2, "fund-w2", 1250)
		closeCustomer := func() error {
			_, _, err := b.customers.SetStatus(ctx, c.ID, accounts.CustomerClosed, "moved away", nil)
			return err
		}
		for _, step := range []struct {
			name  string
			close string // the account closed before trying
			sweep string
			code  accounts.Code
		}{
			{"two accounts open", "", "", accounts.CodeCustomerHasAccounts},
			{"one account open, with money", w1, "", accounts.CodeCustomerHasAccounts},
			{"all closed", w2, b.bank, ""},
		} {
			t.Run(step.name, func(t *testing.T) {
				if step.close != "" {
					if _, err := b.lc.Close(ctx, accounts.CloseRequest{AccountID: step.close, SweepTo: step.sweep, By: "k1"}); err != nil {
						t.Fatal(err)
					}
				}
				if err := closeCustomer(); accounts.ErrorCode(err) != step.code || (step.code == "" && err != nil) {
					t.Fatalf("close customer: %v, want %q", err, step.code)
				}
				got, err := b.customers.Get(ctx, c.ID, nil)
				if err != nil {
					t.Fatal(err)
				}
				if closed := got.Status == accounts.CustomerClosed; closed != (step.code == "") {
					t.Errorf("customer status %s", got.Status)
				}
			})
		}
	})
}
