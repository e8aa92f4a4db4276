package accounts_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// opBooks: bank-a with a wallet product (fees on withdraw and transfer,
// limits on payment, channels app and bank_x), a merchant product (a
// payment fee the merchant pays), a bank_x clearing account, a fee-income
// account, two funded wallets and a merchant account.
type opBooks struct {
	db                  *store.DB
	clock               *clock.Fake
	ledger              *ledger.Ledger
	lc                  *accounts.Lifecycle
	ops                 *accounts.Operations
	clearing, fees      string
	alice, bob, shop    string
	aliceID, merchantID string
}

func newOpBooks(t *testing.T, db *store.DB) *opBooks {
	t.Helper()
	ctx := context.Background()
	c := clock.NewFake(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	l := ledger.New(db, ledger.Options{Clock: c})
	t.Cleanup(func() { l.Close() })
	if _, err := l.CreateAsset(ctx, "CNY", 2); err != nil {
		t.Fatal(err)
	}
	products := accounts.NewProductService(db, c)
	customers := accounts.NewCustomers(db, c, mustKeyring(t, key1))
	b := &opBooks{db: db, clock: c, ledger: l, lc: accounts.NewLifecycle(l, products),
		ops: accounts.NewOperations(l, products, accounts.OperationsConfig{})}
	fee := func(op string, kind accounts.FeeKind, fixed int64, r string, payer accounts.Party, mode money.Rounding) accounts.FeeRule {
		f := accounts.FeeRule{Operation: op, Kind: kind, Fixed: fixed, Payer: payer, Rounding: mode, FeeAccountCode: "6021"}
		if r != "" {
			f.Rate = rate(t, r)
		}
		return f
	}
	w := wallet([]accounts.FeeRule{
		fee(accounts.OpWithdraw, accounts.FeeFixed, 200, "", accounts.PartyPayer, money.HalfEven),
		fee(accounts.OpTransfer, accounts.FeePercentage, 0, "0.005", accounts.PartyPayer, money.HalfUp),
	}, []accounts.Limit{
		{Operation: accounts.OpPayment, PerTxn: 50000, DailyAmount: 80000, DailyCount: 3, MonthlyAmount: 120000},
		{Operation: accounts.OpWithdraw, Channel: "bank_x", DailyCount: 1},
	})
	w.InstitutionID, w.ID, w.Channels = "bank-a", "wallet", []string{"app", "bank_x"}
	w.Operations = []string{accounts.OpTopup, accounts.OpWithdraw, accounts.OpPayment, accounts.OpTransfer}
	m := wallet([]accounts.FeeRule{fee(accounts.OpPayment, accounts.FeePercentage, 0, "0.006", accounts.PartyPayee, money.HalfEven)}, nil)
	m.InstitutionID, m.ID, m.Class = "bank-a", "merchant", accounts.ClassMerchantSettlement
	m.Operations = []string{accounts.OpPayment, accounts.OpRefund}
	for _, p := range []accounts.Product{w, m} {
		if _, err := products.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	internal := func(normal ledger.Side) string {
		a, err := l.CreateAccount(ctx, ledger.NewAccount{InstitutionID: "bank-a", Asset: "CNY", Code: "1002",
			NormalSide: normal, Overdraft: ledger.OverdraftUnlimited})
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	b.clearing, b.fees = internal(ledger.Debit), internal(ledger.Credit)
	for _, ia := range []accounts.InternalAccount{{Role: accounts.RoleClearing, Channel: "bank_x", AccountID: b.clearing},
		{Role: accounts.RoleFeeIncome, AccountID: b.fees}} {
		ia.RegisteredBy = "k1"
		if _, err := b.ops.RegisterInternalAccount(ctx, ia, nil); err != nil {
			t.Fatal(err)
		}
	}
	open := func(typ accounts.CustomerType, product string) (string, string) {
		cu := mustCreate(t, customers, accounts.NewCustomer{InstitutionID: "bank-a", Type: typ, Name: "Customer"})
		o, err := b.lc.Open(ctx, accounts.OpenRequest{CustomerID: cu.ID, ProductID: product, OpenedBy: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		return o.Account.ID, cu.ID
	}
	b.alice, b.aliceID = open(accounts.Personal, "wallet")
	b.bob, _ = open(accounts.Personal, "wallet")
	b.shop, b.merchantID = open(accounts.Merchant, "merchant")
	for _, a := range []string{b.alice, b.bob} {
		must(t)(b.ops.TopUp(ctx, accounts.OperationRequest{Reference: "fund-" + a, Account: a, Channel: "bank_x", Amount: 1000000}))
	}
	return b
}

func must(t *testing.T) func(r *accounts.OperationResult, err error) *accounts.OperationResult {
	t.Helper()
	return func(r *accounts.OperationResult, err error) *accounts.OperationResult {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

// balances returns the posted balance and the pending debits of accounts.
func (b *opBooks) balances(t *testing.T, ids ...string) map[string][2]int64 {
	t.Helper()
	out := map[string][2]int64{}
	for _, id := range ids {
		a, err := b.ledger.GetAccount(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		out[id] = [2]int64{a.Balances.Balance(a.NormalSide), a.Balances.DebitsPending}
	}
	return out
}

func (b *opBooks) all() []string { return []string{b.alice, b.bob, b.shop, b.clearing, b.fees} }

// moved returns each account's change from before to after.
func moved(before, after map[string][2]int64) map[string][2]int64 {
	out := map[string][2]int64{}
	for id, a := range after {
		d := [2]int64{a[0] - before[id][0], a[1] - before[id][1]}
		if d != [2]int64{} {
			out[id] = d
		}
	}
	return out
}

func TestOperationsPostings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newOpBooks(t, db)
		tests := []struct {
			name     string
			run      func(ref string) (*accounts.OperationResult, error)
			postings int
			fee      accounts.Fee
			want     map[string][2]int64 // account: posted balance change, pending debits change
		}{
			{"top-up, no fee", func(ref string) (*accounts.OperationResult, error) {
				return b.ops.TopUp(ctx, accounts.OperationRequest{Reference: ref, Account: b.alice, Channel: "bank_x", Amount: 12345})
			}, 1, accounts.Fee{}, map[string][2]int64{b.alice: {12345, 0}, b.clearing: {12345, 0}}},
			{"payment, 0.6% half-even paid by the merchant", func(ref string) (*accounts.OperationResult, error) {
				// 0.6% of 12575 is 75.45 → 75.
				return b.ops.Pay(ctx, accounts.OperationRequest{Reference: ref, Account: b.alice, Counterparty: b.shop, Channel: "app", Amount: 12575})
			}, 2, accounts.Fee{Amount: 75, Payer: accounts.PartyPayee},
				map[string][2]int64{b.alice: {-12575, 0}, b.shop: {12500, 0}, b.fees: {75, 0}}},
			{"transfer, 0.5% half-up paid by the payer", func(ref string) (*accounts.OperationResult, error) {
				// 0.5% of 1010 is 5.05 → 5; of 1030 is 5.15 → 5; of 1100 is 5.5 → 6.
				return b.ops.Transfer(ctx, accounts.OperationRequest{Reference: ref, Account: b.alice, Counterparty: b.bob, Channel: "app", Amount: 1100})
			}, 2, accounts.Fee{Amount: 6, Payer: accounts.PartyPayer},
				map[string][2]int64{b.alice: {-1106, 0}, b.bob: {1100, 0}, b.fees: {6, 0}}},
			{"withdraw hold, fee on the wallet", func(ref string) (*accounts.OperationResult, error) {
				return b.ops.Withdraw(ctx, accounts.OperationRequest{Reference: ref, Account: b.alice, Channel: "bank_x", Amount: 5000})
			}, 2, accounts.Fee{Amount: 200, Payer: accounts.PartyPayer}, map[string][2]int64{b.alice: {0, 5200}}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := b.balances(t, b.all()...)
				res := must(t)(tc.run("ref-" + tc.name))
				if got := moved(before, b.balances(t, b.all()...)); !cmp.Equal(got, tc.want) {
					t.Errorf("moved %v, want %v", got, tc.want)
				}
				if len(res.Transaction.Postings) != tc.postings || res.Fee != tc.fee || res.Duplicate {
					t.Errorf("postings %v fee %+v duplicate %v", res.Transaction.Postings, res.Fee, res.Duplicate)
				}
				// The same reference again: the same transaction, nothing moved.
				mid := b.balances(t, b.all()...)
				again := must(t)(tc.run("ref-" + tc.name))
				if !again.Duplicate || again.Transaction.ID != res.Transaction.ID || again.Fee != tc.fee {
					t.Errorf("retry %+v, want the duplicate of %s", again, res.Transaction.ID)
				}
				if got := moved(mid, b.balances(t, b.all()...)); len(got) != 0 {
					t.Errorf("retry moved %v", got)
				}
			})
		}
		var n int
		if err := db.Read.QueryRow(`SELECT COUNT(*) FROM events WHERE type = $1`, accounts.EventOperation).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 2+len(tests) {
			t.Errorf("%d operation events, want %d", n, 2+len(tests))
		}
	})
}

func TestOperationsLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newOpBooks(t, db)
		pay := func(ref string, amount int64) error {
			_, err := b.ops.Pay(ctx, accounts.OperationRequest{Reference: ref, Account: b.alice, Counterparty: b.shop, Channel: "app", Amount: amount})
			return err
		}
		steps := []struct {
			name   string
			amount int64
			field  string // "" accepted
		}{
			{"per transaction", 50001, "per_transaction"},
			{"at the per-transaction bound", 50000, ""},
			{"daily amount", 30001, "daily_amount"},
			{"to the daily amount", 30000, ""},
		}
		for _, s := range steps {
			before := b.balances(t, b.all()...)
			err := pay("p-"+s.name, s.amount)
			c, f := code(err)
			want := accounts.Code("")
			if s.field != "" {
				want = accounts.CodeLimitExceeded
			}
			if c != want || f != s.field {
				t.Fatalf("%s: %v, want %s (%s)", s.name, err, want, s.field)
			}
			if s.field != "" {
				if got := moved(before, b.balances(t, b.all()...)); len(got) != 0 {
					t.Errorf("%s: refused but moved %v", s.name, got)
				}
			}
		}
		u, err := b.ops.UsageOf(ctx, b.alice, accounts.OpPayment, "", "2026-11-02")
		if err != nil || u != (accounts.Usage{DayAmount: 80000, DayCount: 2, MonthAmount: 80000, MonthCount: 2}) {
			t.Errorf("usage %+v, %v", u, err)
		}
		// A retry counts nothing again.
		if err := pay("p-at the per-transaction bound", 50000); err != nil {
			t.Fatal(err)
		}
		// Daily count: the next day allows one more... then monthly amount.
		b.clock.Advance(24 * time.Hour)
		if err := pay("d2-1", 1); err != nil {
			t.Fatal(err)
		}
		if err := pay("d2-2", 1); err != nil {
			t.Fatal(err)
		}
		if err := pay("d2-3", 1); err != nil {
			t.Fatal(err)
		}
		if c, f := code(pay("d2-4", 1)); c != accounts.CodeLimitExceeded || f != "daily_count" {
			t.Errorf("fourth payment of the day: %s %s", c, f)
		}
		b.clock.Advance(24 * time.Hour)
		if c, f := code(pay("d3-1", 40000)); c != accounts.CodeLimitExceeded || f != "monthly_amount" {
			t.Errorf("past the monthly amount: %s %s", c, f)
		}
		if err := pay("d3-2", 39997); err != nil {
			t.Errorf("to the monthly amount: %v", err)
		}
		// A new month starts afresh.
		b.clock.Set(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
		if err := pay("m2", 40000); err != nil {
			t.Errorf("next month: %v", err)
		}
		u, _ = b.ops.UsageOf(ctx, b.alice, accounts.OpPayment, "app", "2026-12-01")
		if u != (accounts.Usage{DayAmount: 40000, DayCount: 1, MonthAmount: 40000, MonthCount: 1}) {
			t.Errorf("December usage %+v", u)
		}
	})
}

func TestOperationsRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newOpBooks(t, db)
		frozen := b.bob
		if _, _, err := b.lc.Freeze(ctx, accounts.FreezeRequest{AccountID: frozen, Side: accounts.FreezeDebit,
			Authority: accounts.AuthorityRisk, Reason: "fraud", By: "k1"}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name  string
			run   func() error
			code  string
			field string
		}{
			{"channel not allowed", func() error {
				_, err := b.ops.Pay(ctx, accounts.OperationRequest{Reference: "r1", Account: b.alice, Counterparty: b.shop, Channel: "atm", Amount: 1})
				return err
			}, string(accounts.CodeChannelNotAllowed), "channel"},
			{"operation not allowed", func() error {
				_, err := b.ops.Transfer(ctx, accounts.OperationRequest{Reference: "r2", Account: b.shop, Counterparty: b.alice, Channel: "app", Amount: 1})
				return err
			}, string(accounts.CodeOperationNotAllowed), "operation"},
			{"no clearing account for the channel", func() error {
				_, err := b.ops.TopUp(ctx, accounts.OperationRequest{Reference: "r3", Account: b.alice, Channel: "app", Amount: 1})
				return err
			}, string(accounts.CodeChannelNotAllowed), "channel"},
			{"frozen payer", func() error {
				_, err := b.ops.Transfer(ctx, accounts.OperationRequest{Reference: "r4", Account: frozen, Counterparty: b.alice, Channel: "app", Amount: 1})
				return err
			}, string(ledger.CodeAccountFrozen), ""},
			{"insufficient funds with the fee", func() error {
				_, err := b.ops.Transfer(ctx, accounts.OperationRequest{Reference: "r5", Account: b.alice, Counterparty: b.bob, Channel: "app", Amount: 1000000})
				return err
			}, string(ledger.CodeInsufficientFunds), ""},
			{"payment to a wallet", func() error {
				_, err := b.ops.Pay(ctx, accounts.OperationRequest{Reference: "r6", Account: b.alice, Counterparty: b.bob, Channel: "app", Amount: 1})
				return err
			}, string(accounts.CodeInvalidRequest), "counterparty"},
			{"unknown account", func() error {
				_, err := b.ops.TopUp(ctx, accounts.OperationRequest{Reference: "r7", Account: b.clearing, Channel: "bank_x", Amount: 1})
				return err
			}, string(accounts.CodeAccountNotFound), "account"},
			{"out of scope", func() error {
				_, err := b.ops.TopUp(ctx, accounts.OperationRequest{Reference: "r8", Account: b.alice, Channel: "bank_x", Amount: 1, Scope: []string{"bank-b"}})
				return err
			}, string(accounts.CodeAccountNotFound), "account"},
			{"zero amount", func() error {
				_, err := b.ops.TopUp(ctx, accounts.OperationRequest{Reference: "r9", Account: b.alice, Channel: "bank_x"})
				return err
			}, string(accounts.CodeInvalidRequest), "amount"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := b.balances(t, b.all()...)
				err := tc.run()
				got, field := string(ledger.ErrorCode(err)), ""
				if c, f := code(err); got == "" {
					got, field = string(c), f
				}
				if got != tc.code || field != tc.field {
					t.Errorf("%v, want %s (%s)", err, tc.code, tc.field)
				}
				if m := moved(before, b.balances(t, b.all()...)); len(m) != 0 {
					t.Errorf("moved %v", m)
				}
			})
		}
		// A closed payee.
		empty, err := b.lc.Open(ctx, accounts.OpenRequest{CustomerID: b.aliceID, ProductID: "wallet", OpenedBy: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := b.ledger.SetStatus(ctx, ledger.StatusChange{AccountID: empty.Account.ID, Status: ledger.StatusClosed}); err != nil {
			t.Fatal(err)
		}
		_, err = b.ops.Transfer(ctx, accounts.OperationRequest{Reference: "r10", Account: b.alice, Counterparty: empty.Account.ID, Channel: "app", Amount: 1})
		if ledger.ErrorCode(err) != ledger.CodeAccountClosed {
			t.Errorf("to a closed account: %v", err)
		}
	})
}

func TestRefund(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newOpBooks(t, db)
		pay := must(t)(b.ops.Pay(ctx, accounts.OperationRequest{Reference: "pay", Account: b.alice, Counterparty: b.shop, Channel: "app", Amount: 10000}))
		// The merchant pays the 60 fee: another payment lets it refund all.
		must(t)(b.ops.Pay(ctx, accounts.OperationRequest{Reference: "pay-bob", Account: b.bob, Counterparty: b.shop, Channel: "app", Amount: 1000}))
		before := b.balances(t, b.all()...)
		steps := []struct {
			ref    string
			amount int64
			code   ledger.Code
		}{
			{"refund-1", 3000, ""},
			{"refund-1", 3000, ""}, // a retry: the same refund
			{"refund-2", 7001, ledger.CodeReversalExceedsOriginal},
			{"refund-3", 7000, ""},
			{"refund-4", 1, ledger.CodeReversalExceedsOriginal},
		}
		for _, s := range steps {
			_, err := b.ops.Refund(ctx, accounts.RefundRequest{PaymentID: pay.Transaction.ID, Reference: s.ref, Amount: s.amount})
			if ledger.ErrorCode(err) != s.code || (s.code == "" && err != nil) {
				t.Errorf("%s of %d: %v, want %q", s.ref, s.amount, err, s.code)
			}
		}
		// The whole principal went back; the merchant kept paying the fee.
		want := map[string][2]int64{b.alice: {10000, 0}, b.shop: {-10000, 0}}
		if got := moved(before, b.balances(t, b.all()...)); !cmp.Equal(got, want) {
			t.Errorf("refunds moved %v, want %v", got, want)
		}
		// A full refund of a fresh payment; refunding a transfer is refused.
		pay2 := must(t)(b.ops.Pay(ctx, accounts.OperationRequest{Reference: "pay2", Account: b.alice, Counterparty: b.shop, Channel: "app", Amount: 500}))
		r := must(t)(b.ops.Refund(ctx, accounts.RefundRequest{PaymentID: pay2.Transaction.ID, Reference: "full"}))
		if r.Transaction.Postings[0].Amount != 500 || r.Transaction.Type != accounts.OpRefund {
			t.Errorf("full refund %+v", r.Transaction)
		}
		tr := must(t)(b.ops.Transfer(ctx, accounts.OperationRequest{Reference: "t", Account: b.alice, Counterparty: b.bob, Channel: "app", Amount: 500}))
		if _, err := b.ops.Refund(ctx, accounts.RefundRequest{PaymentID: tr.Transaction.ID, Reference: "bad"}); func() bool { c, f := code(err); return c != accounts.CodeInvalidRequest || f != "payment_id" }() {
			t.Errorf("refund of a transfer: %v", err)
		}
		// Refunds do not give usage back.
		u, _ := b.ops.UsageOf(ctx, b.alice, accounts.OpPayment, "", "2026-11-02")
		if u.DayAmount != 10500 || u.DayCount != 2 {
			t.Errorf("usage after refunds %+v", u)
		}
	})
}

func TestWithdrawLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newOpBooks(t, db)
		withdraw := func(ref string) (*accounts.OperationResult, error) {
			return b.ops.Withdraw(ctx, accounts.OperationRequest{Reference: ref, Account: b.alice, Channel: "bank_x", Amount: 5000})
		}
		before := b.balances(t, b.all()...)
		w1 := must(t)(withdraw("w1"))
		// One withdrawal a day on bank_x: the second is refused.
		if c, f := code(func() error { _, err := withdraw("w2"); return err }()); c != accounts.CodeLimitExceeded || f != "daily_count" {
			t.Errorf("second withdrawal: %s %s", c, f)
		}
		// Failing gives the hold and the usage back.
		f := must(t)(b.ops.FailWithdraw(ctx, accounts.ResolveRequest{HoldID: w1.Transaction.ID, Reference: "w1-fail"}))
		if f.Transaction.Kind != ledger.KindVoid || f.Transaction.Type != "withdraw_fail" {
			t.Errorf("fail %+v", f.Transaction)
		}
		if got := moved(before, b.balances(t, b.all()...)); len(got) != 0 {
			t.Errorf("after the failure moved %v", got)
		}
		u, _ := b.ops.UsageOf(ctx, b.alice, accounts.OpWithdraw, "bank_x", "2026-11-02")
		if u != (accounts.Usage{}) {
			t.Errorf("usage after the failure %+v", u)
		}
		// A retried failure changes nothing.
		if r, err := b.ops.FailWithdraw(ctx, accounts.ResolveRequest{HoldID: w1.Transaction.ID, Reference: "w1-fail"}); err != nil || !r.Duplicate {
			t.Errorf("retried failure %+v %v", r, err)
		}
		u, _ = b.ops.UsageOf(ctx, b.alice, accounts.OpWithdraw, "bank_x", "2026-11-02")
		if u != (accounts.Usage{}) {
			t.Errorf("usage after the retried failure %+v", u)
		}
		// Now a second one is allowed and completes.
		w2 := must(t)(withdraw("w2"))
		c := must(t)(b.ops.CompleteWithdraw(ctx, accounts.ResolveRequest{HoldID: w2.Transaction.ID, Reference: "w2-done"}))
		if c.Transaction.Kind != ledger.KindPost || c.Fee.Amount != 200 {
			t.Errorf("complete %+v fee %+v", c.Transaction, c.Fee)
		}
		want := map[string][2]int64{b.alice: {-5200, 0}, b.clearing: {-5000, 0}, b.fees: {200, 0}}
		if got := moved(before, b.balances(t, b.all()...)); !cmp.Equal(got, want) {
			t.Errorf("completed withdrawal moved %v, want %v", got, want)
		}
		if _, err := b.ops.FailWithdraw(ctx, accounts.ResolveRequest{HoldID: w2.Transaction.ID, Reference: "w2-fail"}); ledger.ErrorCode(err) != ledger.CodeHoldAlreadyPosted {
			t.Errorf("failing a completed withdrawal: %v", err)
		}
		if _, err := b.ops.CompleteWithdraw(ctx, accounts.ResolveRequest{HoldID: b.clearing, Reference: "x"}); accounts.ErrorCode(err) != accounts.CodeInvalidRequest {
			t.Errorf("completing no withdrawal: %v", err)
		}
	})
}
