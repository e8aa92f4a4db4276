package accounts_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// scenario is one institution's books for a month of activity: internal
// accounts, a wallet, a merchant and a points product, and its customers'
// accounts.
type scenario struct {
	clock      *clock.Fake
	ledger     *ledger.Ledger
	lc         *accounts.Lifecycle
	ops        *accounts.Operations
	statements *accounts.Statements
	customers  []string // customer IDs, personal ones first
	wallets    []string
	points     []string // points account of wallets[i]
	merchants  []string
	clearing   string
	fees       string
	frozen     string
	issuance   string
	escrow     string // red envelopes'
}

const (
	scenarioInst      = "bank-a"
	scenarioPersonal  = 16
	scenarioMerchants = 4
	scenarioPayPerTxn = 50000
)

func newScenario(t *testing.T, db *store.DB) *scenario {
	t.Helper()
	ctx := context.Background()
	// Set-up happens in October: November's statements open with its
	// balances.
	c := clock.NewFake(time.Date(2026, 10, 31, 9, 0, 0, 0, time.UTC))
	l := ledger.New(db, ledger.Options{Clock: c})
	t.Cleanup(func() { l.Close() })
	for _, a := range []struct {
		code  string
		scale int
	}{{"CNY", 2}, {"PTS", 0}} {
		if _, err := l.CreateAsset(ctx, a.code, a.scale); err != nil {
			t.Fatal(err)
		}
	}
	products := accounts.NewProductService(db, c)
	customers := accounts.NewCustomers(db, c, mustKeyring(t, key1))
	lc := accounts.NewLifecycle(l, products)
	s := &scenario{clock: c, ledger: l, lc: lc, ops: accounts.NewOperations(l, products, accounts.OperationsConfig{}),
		statements: accounts.NewStatements(l, customers, lc)}

	w := wallet([]accounts.FeeRule{{Operation: accounts.OpTransfer, Kind: accounts.FeePercentage, Rate: rate(t, "0.005"),
		Payer: accounts.PartyPayer, Rounding: money.HalfUp, FeeAccountCode: "6021"}},
		[]accounts.Limit{{Operation: accounts.OpPayment, PerTxn: scenarioPayPerTxn, DailyCount: 4}})
	w.InstitutionID, w.ID = scenarioInst, "wallet"
	w.Operations = []string{accounts.OpTopup, accounts.OpPayment, accounts.OpTransfer, accounts.OpFreeze, accounts.OpRedEnvelope}
	m := wallet([]accounts.FeeRule{{Operation: accounts.OpPayment, Kind: accounts.FeePercentage, Rate: rate(t, "0.006"),
		Payer: accounts.PartyPayee, Rounding: money.HalfEven, FeeAccountCode: "6021"}}, nil)
	m.InstitutionID, m.ID, m.Class, m.ChartCode, m.Name = scenarioInst, "merchant", accounts.ClassMerchantSettlement, "2002", "Settlement"
	m.Operations = []string{accounts.OpPayment, accounts.OpRefund}
	p := wallet(nil, []accounts.Limit{{Operation: accounts.OpPointsGrant, PerTxn: 10000}})
	p.InstitutionID, p.ID, p.Class, p.Asset, p.ChartCode, p.Name = scenarioInst, "points", accounts.ClassPoints, "PTS", "2301", "Points"
	p.Operations = []string{accounts.OpPointsGrant, accounts.OpPointsRedeem, accounts.OpPointsExpire}
	for _, p := range []accounts.Product{w, m, p} {
		if _, err := products.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}

	internal := func(code, asset string, normal ledger.Side) string {
		a, err := l.CreateAccount(ctx, ledger.NewAccount{InstitutionID: scenarioInst, Asset: asset, Code: code,
			NormalSide: normal, Overdraft: ledger.OverdraftUnlimited})
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	s.clearing, s.fees = internal("1002", "CNY", ledger.Debit), internal("6021", "CNY", ledger.Credit)
	s.frozen, s.issuance = internal("2009", "CNY", ledger.Credit), internal("1901", "PTS", ledger.Debit)
	s.escrow = internal("2010", "CNY", ledger.Credit)
	for _, ia := range []accounts.InternalAccount{
		{Role: accounts.RoleClearing, Channel: "bank_x", AccountID: s.clearing},
		{Role: accounts.RoleFeeIncome, AccountID: s.fees},
		{Role: accounts.RoleFrozen, AccountID: s.frozen},
		{Role: accounts.RolePointsIssuance, AccountID: s.issuance},
		{Role: accounts.RoleEnvelope, AccountID: s.escrow},
	} {
		ia.RegisteredBy = "k1"
		if _, err := s.ops.RegisterInternalAccount(ctx, ia, nil); err != nil {
			t.Fatal(err)
		}
	}

	open := func(customer, product string) string {
		t.Helper()
		o, err := lc.Open(ctx, accounts.OpenRequest{CustomerID: customer, ProductID: product, OpenedBy: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		return o.Account.ID
	}
	for i := range scenarioPersonal + scenarioMerchants {
		typ := accounts.Personal
		if i >= scenarioPersonal {
			typ = accounts.Merchant
		}
		cu := mustCreate(t, customers, accounts.NewCustomer{InstitutionID: scenarioInst, Type: typ, Name: fmt.Sprintf("Customer %d", i)})
		s.customers = append(s.customers, cu.ID)
		if typ == accounts.Merchant {
			s.merchants = append(s.merchants, open(cu.ID, "merchant"))
			continue
		}
		s.wallets = append(s.wallets, open(cu.ID, "wallet"))
		s.points = append(s.points, open(cu.ID, "points"))
	}
	for i, a := range s.wallets {
		must(t)(s.ops.TopUp(ctx, accounts.OperationRequest{Reference: "open-" + a, Account: a, Channel: "bank_x", Amount: 200000}))
		must(t)(s.ops.GrantPoints(ctx, accounts.OperationRequest{Reference: "open-" + s.points[i], Account: s.points[i], Channel: "app", Amount: 1000}))
	}
	return s
}

// balance is an account's posted balance on its normal side.
func (s *scenario) balance(t *testing.T, id string) int64 {
	t.Helper()
	a, err := s.ledger.GetAccount(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a.Balances.Balance(a.NormalSide)
}

// TestScenarioMonth runs November for 16 personal customers (a wallet and
// a points account each) and 4 merchants: each day a seeded mix of
// top-ups, payments, transfers, partial refunds, balance freezes with
// their release or deduction, and points grants and redemptions, with the
// clock moved a minute per operation; an account freeze in the middle of
// the month, points expiry near its end. Then it checks the books:
// the total-score check and trial balance, the statements' closing
// balances against the ledger, Verify, and some days' vouchers.
//
// Every few days a customer sends a red envelope that some others claim;
// each expires after two days and the sweeper returns what is unclaimed.
func TestScenarioMonth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newScenario(t, db)
		rng := rand.New(rand.NewPCG(2026, 11))
		pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
		type payment struct {
			id             string
			amount, refund int64
		}
		var payments []*payment
		var holds []string
		refused := map[string]int{}
		n := 0
		ref := func(kind string) string { n++; return fmt.Sprintf("%s-%d", kind, n) }
		// try runs an operation that may be refused for the given codes
		// only (the mix does not track balances and limit usage).
		try := func(what string, allowed ...string) func(*accounts.OperationResult, error) *accounts.OperationResult {
			return func(res *accounts.OperationResult, err error) *accounts.OperationResult {
				t.Helper()
				if err == nil {
					return res
				}
				got := errCode(err)
				for _, c := range allowed {
					if got == c {
						refused[got]++
						return nil
					}
				}
				t.Fatalf("%s on %s: %v", what, s.clock.Now().Format(time.DateTime), err)
				return nil
			}
		}
		limit, funds, frozen := string(accounts.CodeLimitExceeded), string(ledger.CodeInsufficientFunds), string(ledger.CodeAccountFrozen)

		month := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		var accountFreeze *accounts.Freeze
		envelopes, expired := 0, 0
		for day := month; day.Month() == time.November; day = day.AddDate(0, 0, 1) {
			s.clock.Set(day.Add(8 * time.Hour))
			// The envelope sweeper, as serve runs it.
			x, err := s.ops.ExpireEnvelopes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			expired += x
			if day.Day()%6 == 3 { // a red envelope: 10.00 in 5 shares, 3 claimed
				split := []string{"equal", "random"}[day.Day()%2]
				env, err := s.ops.CreateEnvelope(ctx, accounts.EnvelopeRequest{Reference: ref("envelope"), Account: s.wallets[3],
					Channel: "app", Total: 1000, Count: 5, Split: split, ExpiresIn: 48 * time.Hour})
				if err != nil {
					t.Fatalf("red envelope: %v", err)
				}
				envelopes++
				for i := range 3 {
					if _, err := s.ops.ClaimEnvelope(ctx, accounts.ClaimRequest{EnvelopeID: env.Envelope.ID, Recipient: s.wallets[4+i]}); err != nil {
						t.Fatalf("claim %d: %v", i, err)
					}
				}
				if _, err := s.ops.ClaimEnvelope(ctx, accounts.ClaimRequest{EnvelopeID: env.Envelope.ID, Recipient: s.wallets[4]}); errCode(err) != "already_claimed" {
					t.Fatalf("a second claim by one recipient: %v", err)
				}
			}
			switch day.Day() {
			case 5: // a payment over the per-transaction limit is refused
				_, err := s.ops.Pay(ctx, accounts.OperationRequest{Reference: ref("big"), Account: s.wallets[1],
					Counterparty: s.merchants[0], Channel: "app", Amount: scenarioPayPerTxn + 1})
				if c, f := code(err); c != accounts.CodeLimitExceeded || f != "per_transaction" {
					t.Fatalf("payment over the limit: %v", err)
				}
			case 10: // risk freezes a wallet's debits: it cannot pay
				f, _, err := s.lc.Freeze(ctx, accounts.FreezeRequest{AccountID: s.wallets[0], Side: accounts.FreezeDebit,
					Authority: accounts.AuthorityRisk, Reason: "suspected fraud", By: "k1"})
				if err != nil {
					t.Fatal(err)
				}
				accountFreeze = f
				_, err = s.ops.Pay(ctx, accounts.OperationRequest{Reference: ref("frozen"), Account: s.wallets[0],
					Counterparty: s.merchants[0], Channel: "app", Amount: 100})
				if errCode(err) != frozen {
					t.Fatalf("payment from a frozen account: %v", err)
				}
				// Credits still arrive.
				must(t)(s.ops.TopUp(ctx, accounts.OperationRequest{Reference: ref("topup"), Account: s.wallets[0], Channel: "bank_x", Amount: 500}))
			case 13:
				if _, _, err := s.lc.Lift(ctx, accounts.LiftRequest{AccountID: s.wallets[0], FreezeID: accountFreeze.ID, By: "k1"}); err != nil {
					t.Fatal(err)
				}
			case 20: // four payments a day; the fifth is refused
				must(t)(s.ops.TopUp(ctx, accounts.OperationRequest{Reference: ref("topup"), Account: s.wallets[2], Channel: "bank_x", Amount: 1000}))
				for i := range 5 {
					res, err := s.ops.Pay(ctx, accounts.OperationRequest{Reference: ref("pay"), Account: s.wallets[2],
						Counterparty: s.merchants[1], Channel: "app", Amount: 100})
					if i < 4 && err == nil {
						payments = append(payments, &payment{id: res.Transaction.ID, amount: 100})
						continue
					}
					if c, f := code(err); i < 4 || c != accounts.CodeLimitExceeded || f != "daily_count" {
						t.Fatalf("payment %d of the day: %v", i+1, err)
					}
				}
			case 28: // points expire: half of every points account
				for _, p := range s.points {
					if b := s.balance(t, p); b > 1 {
						must(t)(s.ops.ExpirePoints(ctx, accounts.OperationRequest{Reference: ref("expire"), Account: p, Channel: "app", Amount: b / 2}))
					}
				}
			}
			for range 12 {
				s.clock.Advance(time.Minute)
				w := pick(s.wallets)
				switch k := rng.IntN(100); {
				case k < 15:
					try("top-up", frozen)(s.ops.TopUp(ctx, accounts.OperationRequest{Reference: ref("topup"), Account: w, Channel: "bank_x",
						Amount: 1000 + rng.Int64N(20000)}))
				case k < 45:
					amount := 100 + rng.Int64N(30000)
					if res := try("pay", limit, funds, frozen)(s.ops.Pay(ctx, accounts.OperationRequest{Reference: ref("pay"), Account: w,
						Counterparty: pick(s.merchants), Channel: "app", Amount: amount})); res != nil {
						payments = append(payments, &payment{id: res.Transaction.ID, amount: amount})
					}
				case k < 58:
					to := pick(s.wallets)
					if to == w {
						continue
					}
					try("transfer", funds, frozen)(s.ops.Transfer(ctx, accounts.OperationRequest{Reference: ref("transfer"), Account: w, Counterparty: to,
						Channel: "app", Amount: 100 + rng.Int64N(10000)}))
				case k < 66:
					if len(payments) == 0 {
						continue
					}
					p := payments[rng.IntN(len(payments))]
					if left := p.amount - p.refund; left > 1 {
						amount := 1 + rng.Int64N(left/2)
						if try("refund", funds, frozen)(s.ops.Refund(ctx, accounts.RefundRequest{PaymentID: p.id, Reference: ref("refund"), Amount: amount})) != nil {
							p.refund += amount
						}
					}
				case k < 76:
					if res := try("freeze", funds, frozen)(s.ops.FreezeBalance(ctx, accounts.OperationRequest{Reference: ref("freeze"), Account: w,
						Channel: "app", Amount: 100 + rng.Int64N(5000)})); res != nil {
						holds = append(holds, res.Transaction.ID)
					}
				case k < 84:
					if len(holds) == 0 {
						continue
					}
					i := rng.IntN(len(holds))
					h := holds[i]
					holds = append(holds[:i], holds[i+1:]...)
					if rng.IntN(2) == 0 {
						must(t)(s.ops.UnfreezeBalance(ctx, accounts.ResolveRequest{HoldID: h, Reference: ref("unfreeze")}))
					} else {
						// Partly deducted to a merchant; the rest is released.
						must(t)(s.ops.DeductFrozen(ctx, accounts.DeductRequest{HoldID: h, Reference: ref("deduct"),
							Receiver: pick(s.merchants), Amount: 50}))
					}
				case k < 94:
					i := rng.IntN(len(s.points))
					try("grant")(s.ops.GrantPoints(ctx, accounts.OperationRequest{Reference: ref("grant"), Account: s.points[i], Channel: "app",
						Amount: 1 + rng.Int64N(500)}))
				default:
					i := rng.IntN(len(s.points))
					try("redeem", funds)(s.ops.RedeemPoints(ctx, accounts.OperationRequest{Reference: ref("redeem"), Account: s.points[i], Channel: "app",
						Amount: 1 + rng.Int64N(300)}))
				}
			}
		}
		if len(payments) < 50 || refused[frozen] == 0 {
			t.Fatalf("a thin month: %d payments, refused %v", len(payments), refused)
		}
		t.Logf("%d operations, %d payments, refused %v", n, len(payments), refused)

		// Month end: the last envelopes expire; nothing is left in escrow.
		end := month.AddDate(0, 1, 0)
		s.clock.Set(end.Add(time.Hour))
		x, err := s.ops.ExpireEnvelopes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if expired += x; envelopes == 0 || expired != envelopes {
			t.Fatalf("%d envelopes sent, %d expired: every one had unclaimed shares", envelopes, expired)
		}
		if b := s.balance(t, s.escrow); b != 0 {
			t.Fatalf("the envelope escrow holds %d after every envelope expired", b)
		}

		// Statements of November.
		sum, err := s.statements.GenerateMonth(ctx, scenarioInst, "2026-11")
		if err != nil || sum.Generated != len(s.customers) {
			t.Fatalf("generate month: %+v %v", sum, err)
		}
		statementAccounts := 0
		for _, cu := range s.customers {
			st, stored, err := s.statements.Generate(ctx, accounts.StatementRequest{CustomerID: cu, From: "2026-11-01", To: "2026-12-01"})
			if err != nil || !stored {
				t.Fatalf("statement of %s: stored %v, %v", cu, stored, err)
			}
			for _, as := range st.Accounts {
				statementAccounts++
				at, err := s.ledger.BalancesAt(ctx, as.AccountID, end)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := as.Closing, at.Balances.Balance(at.NormalSide); got != want {
					t.Errorf("account %s: statement closes at %d, the ledger at %d", as.AccountID, got, want)
				}
				if got, want := as.Closing, s.balance(t, as.AccountID); got != want {
					t.Errorf("account %s: statement closes at %d, the ledger holds %d", as.AccountID, got, want)
				}
				moved := as.Credits - as.Debits
				if as.NormalSide == ledger.Debit {
					moved = -moved
				}
				if as.Opening+moved != as.Closing {
					t.Errorf("account %s: opening %d + movement %d ≠ closing %d", as.AccountID, as.Opening, moved, as.Closing)
				}
			}
		}
		if want := 2*scenarioPersonal + scenarioMerchants; statementAccounts != want {
			t.Errorf("statements cover %d accounts, want %d", statementAccounts, want)
		}

		// Total-score check: a control account of the wallets' code 2001,
		// mirrored at month end as a general ledger would post it.
		var wallets int64
		for _, w := range s.wallets {
			wallets += s.balance(t, w)
		}
		control, err := s.ledger.CreateAccount(ctx, ledger.NewAccount{InstitutionID: scenarioInst, Asset: "CNY", Code: "2001",
			Name: "wallets control", NormalSide: ledger.Credit, Overdraft: ledger.OverdraftUnlimited})
		if err != nil {
			t.Fatal(err)
		}
		mirror, err := s.ledger.CreateAccount(ctx, ledger.NewAccount{InstitutionID: scenarioInst, Asset: "CNY", Code: "9001",
			Name: "control mirror", NormalSide: ledger.Debit, Overdraft: ledger.OverdraftUnlimited})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ledger.Post(ctx, ledger.Request{Kind: ledger.KindTransfer, InstitutionID: scenarioInst, Reference: "control-2026-11",
			Postings: []ledger.Posting{{Debit: mirror.ID, Credit: control.ID, Asset: "CNY", Amount: wallets}}}); err != nil {
			t.Fatal(err)
		}
		checks := accounts.NewChecks(s.ledger)
		if _, err := checks.RegisterControl(ctx, control.ID, "k1", nil); err != nil {
			t.Fatal(err)
		}
		runs, err := checks.Check(ctx, []string{scenarioInst})
		if err != nil {
			t.Fatal(err)
		}
		if r := runs[0]; !r.OK || r.Differences != 0 || len(r.Lines) != 1 || r.Lines[0].SubAccounts != scenarioPersonal ||
			r.Lines[0].SubTotal != wallets || !r.TrialBalance.Balanced {
			t.Errorf("check: ok %v, differences %d, lines %+v, trial balance balanced %v", r.OK, r.Differences, r.Lines, r.TrialBalance.Balanced)
		}
		tb, err := s.ledger.TrialBalance(ctx, nil)
		if err != nil || !tb.Balanced {
			t.Fatalf("trial balance: %v %+v", err, tb)
		}
		v, err := s.ledger.Verify(ctx)
		if err != nil || !v.OK {
			t.Fatalf("verify: %v %+v", err, v)
		}
		vouchers := accounts.NewVouchers(s.ledger)
		for _, date := range []string{"2026-11-03", "2026-11-10", "2026-11-28", "2026-11-30"} {
			vs, err := vouchers.Daily(ctx, date, []string{scenarioInst})
			if err != nil || len(vs) != 1 || !vs[0].Balanced || len(vs[0].Lines) == 0 {
				t.Fatalf("vouchers of %s: %v %+v", date, err, vs)
			}
		}
	})
}
