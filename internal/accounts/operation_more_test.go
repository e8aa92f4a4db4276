package accounts_test

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// moreBooks: opBooks plus a "wallet2" product in bank-a and bank-b
// allowing freeze, split, cross_transfer and round deposit/withdraw on app
// (split fee 1% half-up paid by the payer, cross_transfer fee 100 fixed,
// round_withdraw fee 50 fixed, freeze at most 3 a day, round deposits at
// most 500.00 each), a frozen-funds account, clearing accounts between bank-a and
// bank-b, and funded accounts carol, dave, erin (bank-a) and fay (bank-b).
type moreBooks struct {
	*opBooks
	frozen, clrA, clrB, feesB string
	customers                 map[string]string // account: customer
	carol, dave, erin, fay    string
}

func newMoreBooks(t *testing.T, db *store.DB) *moreBooks {
	t.Helper()
	ctx := context.Background()
	b := &moreBooks{opBooks: newOpBooks(t, db)}
	products := accounts.NewProductService(db, b.clock)
	customers := accounts.NewCustomers(db, b.clock, mustKeyring(t, key1))
	for _, inst := range []string{"bank-a", "bank-b"} {
		w := wallet([]accounts.FeeRule{
			{Operation: accounts.OpSplit, Kind: accounts.FeePercentage, Rate: rate(t, "0.01"), Payer: accounts.PartyPayer,
				Rounding: money.HalfUp, FeeAccountCode: "6021"},
			{Operation: accounts.OpCrossTransfer, Kind: accounts.FeeFixed, Fixed: 100, Payer: accounts.PartyPayer, Rounding: money.HalfEven, FeeAccountCode: "6021"},
		}, []accounts.Limit{{Operation: accounts.OpFreeze, DailyCount: 3}})
		w.InstitutionID, w.ID, w.Channels = inst, "wallet2", []string{"app"}
		w.Operations = []string{accounts.OpTopup, accounts.OpFreeze, accounts.OpSplit, accounts.OpCrossTransfer,
			accounts.OpRoundDeposit, accounts.OpRoundWithdraw}
		w.Fees = append(w.Fees, accounts.FeeRule{Operation: accounts.OpRoundWithdraw, Kind: accounts.FeeFixed, Fixed: 50,
			Payer: accounts.PartyPayer, Rounding: money.HalfEven, FeeAccountCode: "6021"})
		w.Limits = append(w.Limits, accounts.Limit{Operation: accounts.OpRoundDeposit, PerTxn: 50000})
		if _, err := products.Create(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	internal := func(inst string, normal ledger.Side) string {
		a, err := b.ledger.CreateAccount(ctx, ledger.NewAccount{InstitutionID: inst, Asset: "CNY", Code: "1002",
			NormalSide: normal, Overdraft: ledger.OverdraftUnlimited})
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	b.frozen, b.clrA, b.clrB, b.feesB = internal("bank-a", ledger.Credit), internal("bank-a", ledger.Credit),
		internal("bank-b", ledger.Debit), internal("bank-b", ledger.Credit)
	clrBankX := internal("bank-b", ledger.Debit)
	for _, ia := range []accounts.InternalAccount{
		{Role: accounts.RoleFrozen, AccountID: b.frozen},
		{Role: accounts.RoleClearingInst, Channel: "bank-b", AccountID: b.clrA},
		{Role: accounts.RoleClearingInst, Channel: "bank-a", AccountID: b.clrB},
		{Role: accounts.RoleFeeIncome, AccountID: b.feesB},
		{Role: accounts.RoleClearing, Channel: "bank_x", AccountID: clrBankX},
	} {
		ia.RegisteredBy = "k1"
		if _, err := b.ops.RegisterInternalAccount(ctx, ia, nil); err != nil {
			t.Fatal(err)
		}
	}
	b.customers = map[string]string{}
	open := func(inst string) string {
		cu := mustCreate(t, customers, accounts.NewCustomer{InstitutionID: inst, Type: accounts.Personal, Name: "Customer"})
		o, err := b.lc.Open(ctx, accounts.OpenRequest{CustomerID: cu.ID, ProductID: "wallet2", OpenedBy: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		// wallet2 allows top-ups on app only; fund through the ledger.
		clr := b.clearing
		if inst == "bank-b" {
			clr = clrBankX
		}
		if _, err := b.ledger.Submit(ctx, []ledger.Request{{Kind: ledger.KindTransfer, InstitutionID: inst, Reference: "fund-" + o.Account.ID,
			Postings: []ledger.Posting{{Debit: clr, Credit: o.Account.ID, Asset: "CNY", Amount: 100000}}}}, false); err != nil {
			t.Fatal(err)
		}
		b.customers[o.Account.ID] = cu.ID
		return o.Account.ID
	}
	b.carol, b.dave, b.erin, b.fay = open("bank-a"), open("bank-a"), open("bank-a"), open("bank-b")
	return b
}

func (b *moreBooks) all() []string {
	return append(b.opBooks.all(), b.frozen, b.clrA, b.clrB, b.feesB, b.carol, b.dave, b.erin, b.fay)
}

// errCode is the code of an accounts or ledger error.
func errCode(err error) string {
	var e *accounts.Error
	if errors.As(err, &e) {
		return string(e.Code)
	}
	return string(ledger.ErrorCode(err))
}

// step runs an operation, checks what it moved and that a retry under the
// same reference moves nothing and returns the same transaction.
func (b *moreBooks) step(t *testing.T, run func() (*accounts.OperationResult, error), want map[string][2]int64) *accounts.OperationResult {
	t.Helper()
	before := b.balances(t, b.all()...)
	res := must(t)(run())
	if got := moved(before, b.balances(t, b.all()...)); !cmp.Equal(got, want) {
		t.Errorf("moved %v, want %v", got, want)
	}
	if res.Duplicate {
		t.Errorf("first run is a duplicate")
	}
	mid := b.balances(t, b.all()...)
	again := must(t)(run())
	if !again.Duplicate || again.Transaction.ID != res.Transaction.ID {
		t.Errorf("retry %+v, want the duplicate of %s", again, res.Transaction.ID)
	}
	if got := moved(mid, b.balances(t, b.all()...)); len(got) != 0 {
		t.Errorf("retry moved %v", got)
	}
	return res
}

func TestFreezeBalance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newMoreBooks(t, db)
		freeze := func(ref string, amount int64) func() (*accounts.OperationResult, error) {
			return func() (*accounts.OperationResult, error) {
				return b.ops.FreezeBalance(ctx, accounts.OperationRequest{Reference: ref, Account: b.carol, Channel: "app", Amount: amount})
			}
		}
		f1 := b.step(t, freeze("f1", 30000), map[string][2]int64{b.carol: {0, 30000}})
		if f1.Transaction.Kind != ledger.KindHold || !f1.Transaction.ExpiresAt.IsZero() || f1.Transaction.Type != accounts.OpFreeze {
			t.Errorf("freeze %+v", f1.Transaction)
		}
		// Frozen funds are not available: 100000 - 30000 left.
		if _, err := b.ops.FreezeBalance(ctx, accounts.OperationRequest{Reference: "f-big", Account: b.carol, Channel: "app", Amount: 70001}); errCode(err) != string(ledger.CodeInsufficientFunds) {
			t.Errorf("freeze beyond available: %v", err)
		}
		// Partial deduction to dave: 12345 posted, the rest released.
		d := b.step(t, func() (*accounts.OperationResult, error) {
			return b.ops.DeductFrozen(ctx, accounts.DeductRequest{HoldID: f1.Transaction.ID, Reference: "d1", Receiver: b.dave, Amount: 12345})
		}, map[string][2]int64{b.carol: {-12345, -30000}, b.dave: {12345, 0}})
		if d.Transaction.Type != accounts.TypeDeductFrozen || d.Transaction.Metadata["amount"] != "12345" {
			t.Errorf("deduction %+v", d.Transaction)
		}
		// The posted hold cannot be voided or deducted again.
		if _, err := b.ops.UnfreezeBalance(ctx, accounts.ResolveRequest{HoldID: f1.Transaction.ID, Reference: "u1"}); errCode(err) != string(ledger.CodeHoldAlreadyPosted) {
			t.Errorf("unfreeze after deduction: %v", err)
		}
		// Freeze and unfreeze: nothing moves in the end, usage given back.
		f2 := b.step(t, freeze("f2", 5000), map[string][2]int64{b.carol: {0, 5000}})
		b.step(t, func() (*accounts.OperationResult, error) {
			return b.ops.UnfreezeBalance(ctx, accounts.ResolveRequest{HoldID: f2.Transaction.ID, Reference: "u2"})
		}, map[string][2]int64{b.carol: {0, -5000}})
		u, err := b.ops.UsageOf(ctx, b.carol, accounts.OpFreeze, "", f2.Transaction.BusinessDate)
		if err != nil || u.DayCount != 1 {
			t.Errorf("usage %+v %v, want 1 freeze counted", u, err)
		}
		// Whole deduction with Amount 0; a receiver frozen for credits
		// aborts the batch: nothing posted, the hold still pending.
		f3 := b.step(t, freeze("f3", 700), map[string][2]int64{b.carol: {0, 700}})
		if _, _, err := b.lc.Freeze(ctx, accounts.FreezeRequest{AccountID: b.erin, Side: accounts.FreezeCredit,
			Authority: accounts.AuthorityRisk, Reason: "check", By: "k1"}); err != nil {
			t.Fatal(err)
		}
		before := b.balances(t, b.all()...)
		if _, err := b.ops.DeductFrozen(ctx, accounts.DeductRequest{HoldID: f3.Transaction.ID, Reference: "d3", Receiver: b.erin}); errCode(err) != string(ledger.CodeAccountFrozen) {
			t.Errorf("deduct to a frozen receiver: %v", err)
		}
		if got := moved(before, b.balances(t, b.all()...)); len(got) != 0 {
			t.Errorf("aborted deduction moved %v", got)
		}
		b.step(t, func() (*accounts.OperationResult, error) {
			return b.ops.DeductFrozen(ctx, accounts.DeductRequest{HoldID: f3.Transaction.ID, Reference: "d3", Receiver: b.dave})
		}, map[string][2]int64{b.carol: {-700, -700}, b.dave: {700, 0}})
		// Limit: 3 freezes a day (f1, f3, f4; f2 was given back).
		must(t)(freeze("f4", 1)())
		if _, err := b.ops.FreezeBalance(ctx, accounts.OperationRequest{Reference: "f4b", Account: b.carol, Channel: "app", Amount: 1}); errCode(err) != string(accounts.CodeLimitExceeded) {
			t.Errorf("fourth freeze: %v", err)
		}
		// Channel and operation control; not a freeze.
		if _, err := b.ops.FreezeBalance(ctx, accounts.OperationRequest{Reference: "f5", Account: b.dave, Channel: "bank_x", Amount: 1}); errCode(err) != string(accounts.CodeChannelNotAllowed) {
			t.Errorf("freeze on bank_x: %v", err)
		}
		if _, err := b.ops.FreezeBalance(ctx, accounts.OperationRequest{Reference: "f6", Account: b.alice, Channel: "app", Amount: 1}); errCode(err) != string(accounts.CodeOperationNotAllowed) {
			t.Errorf("freeze on wallet: %v", err)
		}
		if _, err := b.ops.UnfreezeBalance(ctx, accounts.ResolveRequest{HoldID: d.Transaction.ID, Reference: "u9"}); errCode(err) != string(accounts.CodeInvalidRequest) {
			t.Errorf("unfreeze of a non-freeze: %v", err)
		}
		// A debit-frozen account cannot be balance-frozen.
		if _, _, err := b.lc.Freeze(ctx, accounts.FreezeRequest{AccountID: b.dave, Side: accounts.FreezeDebit,
			Authority: accounts.AuthorityRisk, Reason: "check", By: "k1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.ops.FreezeBalance(ctx, accounts.OperationRequest{Reference: "f7", Account: b.dave, Channel: "app", Amount: 1}); errCode(err) != string(ledger.CodeAccountFrozen) {
			t.Errorf("freeze on a frozen account: %v", err)
		}
	})
}

func TestSplit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newMoreBooks(t, db)
		split := func(ref string, shares ...accounts.SplitShare) func() (*accounts.OperationResult, error) {
			return func() (*accounts.OperationResult, error) {
				return b.ops.Split(ctx, accounts.SplitRequest{Reference: ref, Account: b.carol, Channel: "app", Payees: shares})
			}
		}
		// 1% of 3350 is 33.5 → 34, paid by the payer.
		res := b.step(t, split("s1", accounts.SplitShare{Account: b.dave, Amount: 1117}, accounts.SplitShare{Account: b.erin, Amount: 2233}),
			map[string][2]int64{b.carol: {-3384, 0}, b.dave: {1117, 0}, b.erin: {2233, 0}, b.fees: {34, 0}})
		if len(res.Transaction.Postings) != 3 || res.Fee != (accounts.Fee{Amount: 34, Payer: accounts.PartyPayer}) || res.Transaction.Metadata["amount"] != "3350" {
			t.Errorf("split %+v fee %+v", res.Transaction, res.Fee)
		}
		for _, tc := range []struct {
			name string
			run  func() (*accounts.OperationResult, error)
			code string
		}{
			{"overflow", split("s2", accounts.SplitShare{Account: b.dave, Amount: math.MaxInt64}, accounts.SplitShare{Account: b.erin, Amount: 1}), string(accounts.CodeOverflow)},
			{"insufficient funds", split("s3", accounts.SplitShare{Account: b.dave, Amount: 90000}, accounts.SplitShare{Account: b.erin, Amount: 9000}), string(ledger.CodeInsufficientFunds)},
			{"payer as payee", split("s4", accounts.SplitShare{Account: b.carol, Amount: 1}), string(accounts.CodeInvalidRequest)},
			{"payee twice", split("s5", accounts.SplitShare{Account: b.dave, Amount: 1}, accounts.SplitShare{Account: b.dave, Amount: 1}), string(accounts.CodeInvalidRequest)},
			{"payee of another institution", split("s6", accounts.SplitShare{Account: b.fay, Amount: 1}), string(accounts.CodeInvalidRequest)},
			{"not allowed", func() (*accounts.OperationResult, error) {
				return b.ops.Split(ctx, accounts.SplitRequest{Reference: "s7", Account: b.alice, Channel: "app", Payees: []accounts.SplitShare{{Account: b.bob, Amount: 1}}})
			}, string(accounts.CodeOperationNotAllowed)},
			{"channel", func() (*accounts.OperationResult, error) {
				return b.ops.Split(ctx, accounts.SplitRequest{Reference: "s8", Account: b.carol, Channel: "bank_x", Payees: []accounts.SplitShare{{Account: b.dave, Amount: 1}}})
			}, string(accounts.CodeChannelNotAllowed)},
		} {
			before := b.balances(t, b.all()...)
			if _, err := tc.run(); errCode(err) != tc.code {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
			}
			if got := moved(before, b.balances(t, b.all()...)); len(got) != 0 {
				t.Errorf("%s moved %v", tc.name, got)
			}
		}
		// A frozen payee refuses the whole split.
		if _, _, err := b.lc.Freeze(ctx, accounts.FreezeRequest{AccountID: b.erin, Side: accounts.FreezeCredit,
			Authority: accounts.AuthorityRisk, Reason: "check", By: "k1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := split("s9", accounts.SplitShare{Account: b.dave, Amount: 1}, accounts.SplitShare{Account: b.erin, Amount: 1})(); errCode(err) != string(ledger.CodeAccountFrozen) {
			t.Errorf("split to a frozen payee: %v", err)
		}
	})
}

func TestCrossTransfer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newMoreBooks(t, db)
		cross := func(ref string, amount int64, scope []string) func() (*accounts.OperationResult, error) {
			return func() (*accounts.OperationResult, error) {
				return b.ops.CrossTransfer(ctx, accounts.OperationRequest{Reference: ref, Account: b.carol, Counterparty: b.fay,
					Channel: "app", Amount: amount, Scope: scope})
			}
		}
		res := b.step(t, cross("x1", 4321, nil), map[string][2]int64{b.carol: {-4421, 0}, b.clrA: {4321, 0}, b.fees: {100, 0},
			b.clrB: {4321, 0}, b.fay: {4321, 0}})
		if res.Transaction.InstitutionID != "bank-a" || res.Fee.Amount != 100 || res.Transaction.Type != accounts.OpCrossTransfer {
			t.Errorf("cross transfer %+v", res)
		}
		// Scope: both institutions.
		if _, err := cross("x2", 1, []string{"bank-a"})(); errCode(err) != string(accounts.CodeAccountNotFound) {
			t.Errorf("payee out of scope: %v", err)
		}
		// Same institution.
		if _, err := b.ops.CrossTransfer(ctx, accounts.OperationRequest{Reference: "x3", Account: b.carol, Counterparty: b.dave, Channel: "app", Amount: 1}); errCode(err) != string(accounts.CodeInvalidRequest) {
			t.Errorf("same institution: %v", err)
		}
		if _, err := cross("x4", 100000, nil)(); errCode(err) != string(ledger.CodeInsufficientFunds) {
			t.Errorf("insufficient: %v", err)
		}
		// All or nothing: the payee frozen for credits → nothing in A.
		if _, _, err := b.lc.Freeze(ctx, accounts.FreezeRequest{AccountID: b.fay, Side: accounts.FreezeCredit,
			Authority: accounts.AuthorityRisk, Reason: "check", By: "k1"}); err != nil {
			t.Fatal(err)
		}
		before := b.balances(t, b.all()...)
		if _, err := cross("x5", 10, nil)(); errCode(err) != string(ledger.CodeAccountFrozen) {
			t.Errorf("frozen payee: %v", err)
		}
		if got := moved(before, b.balances(t, b.all()...)); len(got) != 0 {
			t.Errorf("aborted cross transfer moved %v", got)
		}
		if _, err := b.ledger.GetTransactionByReference(ctx, "bank-a", "x5"); ledger.ErrorCode(err) != ledger.CodeTransactionNotFound {
			t.Errorf("x5 in bank-a: %v", err)
		}
		u, err := b.ops.UsageOf(ctx, b.carol, accounts.OpCrossTransfer, "", res.Transaction.BusinessDate)
		if err != nil || u.DayCount != 1 || u.DayAmount != 4321 {
			t.Errorf("usage %+v %v", u, err)
		}
	})
}

func TestPoints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newMoreBooks(t, db)
		if _, err := b.ledger.CreateAsset(ctx, "PTS", 0); err != nil {
			t.Fatal(err)
		}
		products := accounts.NewProductService(db, b.clock)
		p := wallet([]accounts.FeeRule{{Operation: accounts.OpPointsRedeem, Kind: accounts.FeeFixed, Fixed: 1, Payer: accounts.PartyPayer,
			Rounding: money.HalfEven, FeeAccountCode: "6021"}}, []accounts.Limit{{Operation: accounts.OpPointsGrant, PerTxn: 10000}})
		p.InstitutionID, p.ID, p.Class, p.Asset, p.Channels = "bank-a", "points", accounts.ClassPoints, "PTS", []string{"app"}
		p.Operations = []string{accounts.OpPointsGrant, accounts.OpPointsRedeem, accounts.OpPointsExpire}
		if _, err := products.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		o, err := b.lc.Open(ctx, accounts.OpenRequest{CustomerID: b.customers[b.carol], ProductID: "points", OpenedBy: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		pts := o.Account.ID
		var issuance, ptsFees string
		for _, side := range []ledger.Side{ledger.Debit, ledger.Credit} {
			a, err := b.ledger.CreateAccount(ctx, ledger.NewAccount{InstitutionID: "bank-a", Asset: "PTS", Code: "1002",
				NormalSide: side, Overdraft: ledger.OverdraftUnlimited})
			if err != nil {
				t.Fatal(err)
			}
			if side == ledger.Debit {
				issuance = a.ID
			} else {
				ptsFees = a.ID
			}
		}
		req := func(ref string, amount int64) accounts.OperationRequest {
			return accounts.OperationRequest{Reference: ref, Account: pts, Channel: "app", Amount: amount}
		}
		if _, err := b.ops.GrantPoints(ctx, req("g0", 1)); errCode(err) != string(accounts.CodeInvalidRequest) {
			t.Errorf("grant without an issuance account: %v", err)
		}
		for _, ia := range []accounts.InternalAccount{{Role: accounts.RolePointsIssuance, AccountID: issuance},
			{Role: accounts.RoleFeeIncome, AccountID: ptsFees}} {
			ia.RegisteredBy = "k1"
			if _, err := b.ops.RegisterInternalAccount(ctx, ia, nil); err != nil {
				t.Fatal(err)
			}
		}
		all := func() []string { return []string{pts, issuance, ptsFees} }
		step := func(run func() (*accounts.OperationResult, error), want map[string][2]int64) *accounts.OperationResult {
			t.Helper()
			before := b.balances(t, all()...)
			res := must(t)(run())
			if got := moved(before, b.balances(t, all()...)); !cmp.Equal(got, want) {
				t.Errorf("moved %v, want %v", got, want)
			}
			again := must(t)(run())
			if !again.Duplicate || again.Transaction.ID != res.Transaction.ID {
				t.Errorf("retry %+v", again)
			}
			return res
		}
		g := step(func() (*accounts.OperationResult, error) { return b.ops.GrantPoints(ctx, req("g1", 500)) },
			map[string][2]int64{pts: {500, 0}, issuance: {500, 0}})
		r := step(func() (*accounts.OperationResult, error) { return b.ops.RedeemPoints(ctx, req("r1", 120)) },
			map[string][2]int64{pts: {-121, 0}, issuance: {-120, 0}, ptsFees: {1, 0}})
		e := step(func() (*accounts.OperationResult, error) { return b.ops.ExpirePoints(ctx, req("e1", 79)) },
			map[string][2]int64{pts: {-79, 0}, issuance: {-79, 0}})
		for i, tc := range []struct {
			res *accounts.OperationResult
			typ string
		}{{g, accounts.OpPointsGrant}, {r, accounts.OpPointsRedeem}, {e, accounts.OpPointsExpire}} {
			if tc.res.Transaction.Type != tc.typ || tc.res.Transaction.Postings[0].Asset != "PTS" {
				t.Errorf("%d: %+v", i, tc.res.Transaction)
			}
		}
		if _, err := b.ops.RedeemPoints(ctx, req("r2", 301)); errCode(err) != string(ledger.CodeInsufficientFunds) {
			t.Errorf("redeem beyond: %v", err)
		}
		if _, err := b.ops.GrantPoints(ctx, req("g2", 10001)); errCode(err) != string(accounts.CodeLimitExceeded) {
			t.Errorf("grant beyond the limit: %v", err)
		}
		if _, err := b.ops.GrantPoints(ctx, accounts.OperationRequest{Reference: "g3", Account: pts, Channel: "bank_x", Amount: 1}); errCode(err) != string(accounts.CodeChannelNotAllowed) {
			t.Errorf("grant on bank_x: %v", err)
		}
		if _, err := b.ops.GrantPoints(ctx, accounts.OperationRequest{Reference: "g4", Account: b.carol, Channel: "app", Amount: 1}); errCode(err) != string(accounts.CodeInvalidRequest) {
			t.Errorf("grant to a wallet: %v", err)
		}
	})
}

func TestRoundDepositWithdraw(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newMoreBooks(t, db)
		o, err := b.lc.Open(ctx, accounts.OpenRequest{CustomerID: b.customers[b.carol], ProductID: "wallet2", OpenedBy: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		purse := o.Account.ID
		req := func(ref string, amount int64) accounts.OperationRequest {
			return accounts.OperationRequest{Reference: ref, Account: b.carol, Counterparty: purse, Channel: "app", Amount: amount}
		}
		all := func() []string { return []string{b.carol, purse, b.fees} }
		step := func(run func() (*accounts.OperationResult, error), want map[string][2]int64) {
			t.Helper()
			before := b.balances(t, all()...)
			res := must(t)(run())
			if got := moved(before, b.balances(t, all()...)); !cmp.Equal(got, want) {
				t.Errorf("moved %v, want %v", got, want)
			}
			again := must(t)(run())
			if !again.Duplicate || again.Transaction.ID != res.Transaction.ID {
				t.Errorf("retry %+v", again)
			}
		}
		step(func() (*accounts.OperationResult, error) { return b.ops.RoundDeposit(ctx, req("rd1", 20000)) },
			map[string][2]int64{b.carol: {-20000, 0}, purse: {20000, 0}})
		step(func() (*accounts.OperationResult, error) { return b.ops.RoundWithdraw(ctx, req("rw1", 4999)) },
			map[string][2]int64{b.carol: {4999, 0}, purse: {-5049, 0}, b.fees: {50, 0}})
		if _, err := b.ops.RoundDeposit(ctx, req("rd2", 50001)); errCode(err) != string(accounts.CodeLimitExceeded) {
			t.Errorf("round deposit beyond the limit: %v", err)
		}
		if _, err := b.ops.RoundWithdraw(ctx, req("rw2", 20000)); errCode(err) != string(ledger.CodeInsufficientFunds) {
			t.Errorf("round withdraw beyond the purse: %v", err)
		}
		if _, err := b.ops.RoundDeposit(ctx, accounts.OperationRequest{Reference: "rd3", Account: b.carol, Counterparty: b.dave, Channel: "app", Amount: 1}); errCode(err) != string(accounts.CodeInvalidRequest) {
			t.Errorf("round deposit to another customer: %v", err)
		}
		if _, err := b.ops.RoundDeposit(ctx, accounts.OperationRequest{Reference: "rd4", Account: b.alice, Counterparty: b.bob, Channel: "app", Amount: 1}); err == nil {
			t.Errorf("round deposit on wallet accepted")
		}
		if _, _, err := b.lc.Freeze(ctx, accounts.FreezeRequest{AccountID: purse, Side: accounts.FreezeCredit,
			Authority: accounts.AuthorityRisk, Reason: "check", By: "k1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.ops.RoundDeposit(ctx, req("rd5", 1)); errCode(err) != string(ledger.CodeAccountFrozen) {
			t.Errorf("round deposit to a frozen purse: %v", err)
		}
	})
}
