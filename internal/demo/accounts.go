package demo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/money"
)

// The account layer's sample: products, customers with accounts opened on
// them, the bank's internal accounts and business operations, all of
// demo-bank, made through the accounts services as the API would.
const (
	Customers     = 30 // personal customers, each with a wallet and a points account
	MerchantCount = 3  // merchant customers, each with an auto-opened settlement account

	shopPayments = 180 // payments at merchants, each earning points
	transfers    = 90  // transfers between customers
	topups       = 40  // top-ups after the opening ones
	refunds      = 6   // refunds of payments, half in full, half in part
	opsWorkers   = 16  // operations submitted at once, so that the ledger batches them
	customerSeed = 20261122
	by           = "demo" // who opens and registers, as an API key ID would
)

// The sample's products.
const (
	WalletProduct   = "wallet-cny"
	MerchantProduct = "merchant-cny"
	PointsProduct   = "points"
)

var merchantNames = []string{"Demo Tea House", "Demo Book Store", "Demo Bakery"}

// Services are the account services SeedAccounts works through; they must
// run on the ledger's store.
type Services struct {
	Customers  *accounts.Customers
	Products   *accounts.ProductService
	Lifecycle  *accounts.Lifecycle
	Operations *accounts.Operations
}

// AccountsSample is what SeedAccounts made (or found).
type AccountsSample struct {
	// Seeded is false when the store held the sample already.
	Seeded bool
	// Products are the product IDs.
	Products []string
	// Customers and Merchants count the customers of each kind;
	// Operations the business operations run on their accounts.
	Customers, Merchants, Operations int
}

// accountsDone is the reference of the last operation SeedAccounts runs:
// when the ledger has it, the sample is complete.
const accountsDone = "ops-freeze-0001"

// Fake identities: the ID numbers start with region 000000, which no real
// resident ID has, and the phone numbers with 100, which no mobile has.
func customerName(i int) string {
	surnames := []string{"Zhao", "Qian", "Sun", "Li", "Zhou", "Wu", "Zheng", "Wang", "Feng", "Chen"}
	return fmt.Sprintf("%s Demo%02d", surnames[i%len(surnames)], i+1)
}
func customerIDNumber(i int) string { return fmt.Sprintf("000000190001%02d%04d", i%28+1, i+1) }
func customerPhone(i int) string    { return fmt.Sprintf("1000000%04d", i+1) }
func merchantLicense(i int) string  { return fmt.Sprintf("DEMO-BL-%04d", i+1) }

// SeedAccounts makes the account layer's sample in demo-bank, which Seed
// must have made: the products, the customers and their accounts, the
// bank's internal accounts and some hundreds of operations. Like Seed it is
// idempotent: products and customers are looked up before they are made,
// accounts opened with references and operations run with fixed
// references, so a second run (or one resuming an interrupted seed)
// changes nothing.
func SeedAccounts(ctx context.Context, l *ledger.Ledger, svc Services) (*AccountsSample, error) {
	s := &AccountsSample{Products: []string{WalletProduct, MerchantProduct, PointsProduct}, Customers: Customers,
		Merchants: MerchantCount}
	if _, err := l.GetTransactionByReference(ctx, Bank, accountsDone); err == nil {
		s.Operations = len(newOpsPlan(make([]string, Customers), make([]string, Customers), make([]string, MerchantCount)).ops) +
			refunds + 1
		return s, nil
	} else if ledger.ErrorCode(err) != ledger.CodeTransactionNotFound {
		return nil, fmt.Errorf("demo: look for the accounts sample: %w", err)
	}
	s.Seeded = true
	if err := internalAccounts(ctx, l, svc.Operations); err != nil {
		return nil, err
	}
	if err := products(ctx, svc.Products); err != nil {
		return nil, err
	}
	wallets, points, err := personalCustomers(ctx, svc)
	if err != nil {
		return nil, err
	}
	shops, err := merchantCustomers(ctx, svc)
	if err != nil {
		return nil, err
	}
	n, err := runOperations(ctx, svc.Operations, wallets, points, shops)
	if err != nil {
		return nil, err
	}
	s.Operations = n
	return s, nil
}

// internalAccounts creates the bank's accounts the operations post to and
// registers them for their roles.
func internalAccounts(ctx context.Context, l *ledger.Ledger, ops *accounts.Operations) error {
	type internal struct {
		name, asset, code, display, role, channel string
		side                                      ledger.Side
		od                                        ledger.Overdraft
	}
	list := []internal{
		{"ops-clearing-app", "CNY", "1002", "App channel clearing", accounts.RoleClearing, "app", ledger.Debit, ledger.OverdraftUnlimited},
		{"ops-clearing-bank", "CNY", "1002", "Bank card channel clearing", accounts.RoleClearing, "bank", ledger.Debit, ledger.OverdraftUnlimited},
		{"ops-fee-income", "CNY", "6021", "Operation fee income", accounts.RoleFeeIncome, "", ledger.Credit, ledger.OverdraftNone},
		{"ops-frozen", "CNY", "2009", "Frozen customer funds", accounts.RoleFrozen, "", ledger.Credit, ledger.OverdraftNone},
		{"ops-points-issuance", "POINTS", "6601", "Points issued by operations", accounts.RolePointsIssuance, "", ledger.Debit, ledger.OverdraftUnlimited},
		{"ops-suspense", "CNY", "2241", "Reconciliation suspense", accounts.RoleSuspense, "", ledger.Credit, ledger.OverdraftUnlimited},
		{"ops-write-off", "CNY", "6711", "Reconciliation write-offs", accounts.RoleWriteOff, "", ledger.Debit, ledger.OverdraftUnlimited},
	}
	var news, missing []ledger.NewAccount
	for _, a := range list {
		n := ledger.NewAccount{ID: accountID(a.name), InstitutionID: Bank, Asset: a.asset, Code: a.code,
			Name: a.display, NormalSide: a.side, Overdraft: a.od}
		news = append(news, n)
		// Each one missing is created: a store of an earlier demo lacks
		// the accounts added since.
		if _, err := l.GetAccount(ctx, n.ID); ledger.ErrorCode(err) == ledger.CodeAccountNotFound {
			missing = append(missing, n)
		} else if err != nil {
			return fmt.Errorf("demo: internal accounts: %w", err)
		}
	}
	if len(missing) > 0 {
		if _, err := l.CreateAccounts(ctx, missing); err != nil {
			return fmt.Errorf("demo: internal accounts: %w", err)
		}
	}
	for i, a := range list {
		if _, err := ops.RegisterInternalAccount(ctx, accounts.InternalAccount{InstitutionID: Bank, Role: a.role,
			Channel: a.channel, Asset: a.asset, AccountID: news[i].ID, RegisteredBy: by}, nil); err != nil {
			return fmt.Errorf("demo: register %s: %w", a.name, err)
		}
	}
	return nil
}

// products creates the sample's products unless they exist.
func products(ctx context.Context, ps *accounts.ProductService) error {
	rate := func(s string) money.Rate {
		r, err := money.ParseRate(s)
		if err != nil {
			panic(err) // constants
		}
		return r
	}
	list := []accounts.Product{
		{ID: WalletProduct, Name: "CNY wallet", Class: accounts.ClassWallet, Asset: "CNY", ChartCode: "2001",
			NormalSide: ledger.Credit, Channels: []string{"app", "bank"},
			Limits: []accounts.Limit{
				{Operation: accounts.OpTopup, PerTxn: 50_000_00, DailyAmount: 200_000_00},
				{Operation: accounts.OpPayment, PerTxn: 5_000_00, DailyAmount: 50_000_00},
				{Operation: accounts.OpTransfer, PerTxn: 5_000_00, DailyAmount: 50_000_00},
				{Operation: accounts.OpWithdraw, PerTxn: 20_000_00, DailyCount: 5},
			},
			Fees: []accounts.FeeRule{
				{Operation: accounts.OpTransfer, Kind: accounts.FeePercentage, Rate: rate("0.001"), Min: 10, Max: 10_00,
					Payer: accounts.PartyPayer, Rounding: money.HalfUp, FeeAccountCode: "6021"},
				{Operation: accounts.OpWithdraw, Kind: accounts.FeeFixed, Fixed: 2_00,
					Payer: accounts.PartyPayer, Rounding: money.HalfEven, FeeAccountCode: "6021"},
			},
			AutoOpen: []accounts.AutoOpen{{CustomerType: string(accounts.Personal)}}},
		{ID: MerchantProduct, Name: "Merchant settlement (CNY)", Class: accounts.ClassMerchantSettlement, Asset: "CNY",
			ChartCode: "2202", NormalSide: ledger.Credit, Operations: []string{accounts.OpPayment, accounts.OpRefund},
			Fees: []accounts.FeeRule{{Operation: accounts.OpPayment, Kind: accounts.FeePercentage, Rate: rate("0.006"),
				Payer: accounts.PartyPayee, Rounding: money.HalfEven, FeeAccountCode: "6021"}},
			AutoOpen: []accounts.AutoOpen{{CustomerType: string(accounts.Merchant)}}},
		{ID: PointsProduct, Name: "Loyalty points", Class: accounts.ClassPoints, Asset: "POINTS", ChartCode: "2401",
			NormalSide: ledger.Credit,
			Operations: []string{accounts.OpPointsGrant, accounts.OpPointsRedeem, accounts.OpPointsExpire},
			Limits:     []accounts.Limit{{Operation: accounts.OpPointsGrant, PerTxn: 100_000}},
			AutoOpen:   []accounts.AutoOpen{{CustomerType: string(accounts.Personal)}}},
	}
	for _, p := range list {
		p.InstitutionID, p.CreatedBy = Bank, by
		_, err := ps.Get(ctx, Bank, p.ID, 0)
		if accounts.ErrorCode(err) == accounts.CodeProductNotFound {
			_, err = ps.Create(ctx, p)
		}
		if err != nil {
			return fmt.Errorf("demo: product %s: %w", p.ID, err)
		}
	}
	return nil
}

// customer finds the institution's customer with the ID number, or creates
// it, and opens its accounts by the auto-open rules: product ID → account.
func customer(ctx context.Context, svc Services, n accounts.NewCustomer) (map[string]string, error) {
	found, err := svc.Customers.FindByIDNumber(ctx, []string{Bank}, n.IDDocNumber)
	if err != nil {
		return nil, fmt.Errorf("demo: find customer: %w", err)
	}
	var c *accounts.Customer
	if len(found) > 0 {
		c = found[0]
	} else if c, err = svc.Customers.Create(ctx, n); err != nil {
		return nil, fmt.Errorf("demo: create customer: %w", err)
	}
	opened, err := svc.Lifecycle.OpenForCustomer(ctx, c, by)
	if err != nil {
		return nil, fmt.Errorf("demo: open accounts: %w", err)
	}
	out := map[string]string{}
	for _, o := range opened {
		if o.Err != nil {
			return nil, fmt.Errorf("demo: open %s: %w", o.ProductID, o.Err)
		}
		out[o.ProductID] = o.Opened.Account.ID
	}
	return out, nil
}

// personalCustomers makes the personal customers: their wallets and points
// accounts, in order.
func personalCustomers(ctx context.Context, svc Services) (wallets, points []string, err error) {
	wallets, points = make([]string, Customers), make([]string, Customers)
	err = parallel(ctx, Customers, func(ctx context.Context, i int) error {
		risk := accounts.RiskLow
		if i%10 == 9 {
			risk = accounts.RiskMedium
		}
		accts, err := customer(ctx, svc, accounts.NewCustomer{InstitutionID: Bank, Type: accounts.Personal,
			Name: customerName(i), IDDocType: accounts.ResidentID, IDDocNumber: customerIDNumber(i), Phone: customerPhone(i),
			RiskLevel: risk, Properties: map[string]string{"demo": "true", "segment": []string{"student", "salaried", "retired"}[i%3]}})
		if err != nil {
			return err
		}
		wallets[i], points[i] = accts[WalletProduct], accts[PointsProduct]
		if wallets[i] == "" || points[i] == "" {
			return fmt.Errorf("demo: customer %d has no wallet or points account", i+1)
		}
		return nil
	})
	return wallets, points, err
}

// merchantCustomers makes the merchants and returns their settlement
// accounts.
func merchantCustomers(ctx context.Context, svc Services) ([]string, error) {
	shops := make([]string, MerchantCount)
	for i := range MerchantCount {
		accts, err := customer(ctx, svc, accounts.NewCustomer{InstitutionID: Bank, Type: accounts.Merchant,
			Name: merchantNames[i], IDDocType: accounts.BusinessLicense, IDDocNumber: merchantLicense(i),
			Properties: map[string]string{"demo": "true"}})
		if err != nil {
			return nil, err
		}
		if shops[i] = accts[MerchantProduct]; shops[i] == "" {
			return nil, errors.New("demo: a merchant has no settlement account")
		}
	}
	return shops, nil
}

// opKind is what an operation of the plan is.
type opKind int

const (
	opTopup opKind = iota
	opPay
	opTransfer
	opGrant
)

// planned is one operation of the plan.
type planned struct {
	kind               opKind
	account, other     string // other: the merchant or payee
	channel, reference string
	amount             int64
}

// opsPlan is the sample's operations before refunds and the freeze: the
// opening top-ups first (phase 0), then the rest (phase 1), whose order
// does not matter: every wallet can pay all its debits from its opening
// top-up, so they may run concurrently.
type opsPlan struct {
	ops      []planned
	openings int      // the first openings ops are the opening top-ups
	payments []string // references of the payments, in order
}

func newOpsPlan(wallets, points, shops []string) *opsPlan {
	rng := rand.New(rand.NewPCG(customerSeed, customerSeed))
	p := &opsPlan{}
	budget := make([]int64, len(wallets)) // what each wallet may still spend, fees included
	for w := range wallets {
		amount := 3_000_00 + rng.Int64N(5_000_00)
		budget[w] = amount - 500_00 // a floor, for the freeze and the reader's tries
		p.ops = append(p.ops, planned{kind: opTopup, account: wallets[w], channel: "bank", amount: amount,
			reference: fmt.Sprintf("ops-opening-%04d", w+1)})
	}
	p.openings = len(p.ops)
	spend := func(w int, lo, hi int64) int64 {
		amount := lo + rng.Int64N(hi-lo+1)
		if cost := amount + amount/100 + 10_00; cost > budget[w] { // at most the fee
			return 0
		} else {
			budget[w] -= cost
		}
		return amount
	}
	for i := range shopPayments {
		w, m := rng.IntN(len(wallets)), rng.IntN(len(shops))
		amount := spend(w, 5_00, 300_00)
		if amount == 0 {
			continue
		}
		ref := fmt.Sprintf("ops-payment-%04d", i+1)
		p.payments = append(p.payments, ref)
		p.ops = append(p.ops, planned{kind: opPay, account: wallets[w], other: shops[m], channel: "app", amount: amount, reference: ref})
		p.ops = append(p.ops, planned{kind: opGrant, account: points[w], channel: "app", amount: max(amount/100, 1),
			reference: fmt.Sprintf("ops-points-%04d", i+1)})
	}
	for i := range transfers {
		w, to := rng.IntN(len(wallets)), rng.IntN(len(wallets))
		amount := spend(w, 1_00, 500_00)
		if to == w || amount == 0 {
			continue
		}
		p.ops = append(p.ops, planned{kind: opTransfer, account: wallets[w], other: wallets[to], channel: "app", amount: amount,
			reference: fmt.Sprintf("ops-transfer-%04d", i+1)})
	}
	for i := range topups {
		w := rng.IntN(len(wallets))
		p.ops = append(p.ops, planned{kind: opTopup, account: wallets[w], channel: "app", amount: 50_00 + rng.Int64N(1_000_00),
			reference: fmt.Sprintf("ops-topup-%04d", i+1)})
	}
	return p
}

// runOperations runs the plan, then the refunds, then the freeze (last: it
// marks the sample complete), and returns how many operations there are.
func runOperations(ctx context.Context, ops *accounts.Operations, wallets, points, shops []string) (int, error) {
	p := newOpsPlan(wallets, points, shops)
	if len(p.payments) < refunds {
		return 0, fmt.Errorf("demo: only %d payments to refund", len(p.payments)) // a bug in the generator
	}
	run := func(o planned) (*accounts.OperationResult, error) {
		r := accounts.OperationRequest{Reference: o.reference, Account: o.account, Counterparty: o.other, Channel: o.channel,
			Amount: o.amount, Metadata: map[string]string{"demo": "true"}}
		switch o.kind {
		case opTopup:
			return ops.TopUp(ctx, r)
		case opPay:
			return ops.Pay(ctx, r)
		case opTransfer:
			return ops.Transfer(ctx, r)
		default:
			return ops.GrantPoints(ctx, r)
		}
	}
	payment := map[string]string{} // reference → transaction ID
	var mu sync.Mutex
	do := func(list []planned) error {
		return parallel(ctx, len(list), func(ctx context.Context, i int) error {
			res, err := run(list[i])
			if err != nil {
				return fmt.Errorf("demo: operation %s: %w", list[i].reference, err)
			}
			if list[i].kind == opPay {
				mu.Lock()
				payment[list[i].reference] = res.Transaction.ID
				mu.Unlock()
			}
			return nil
		})
	}
	if err := do(p.ops[:p.openings]); err != nil {
		return 0, err
	}
	if err := do(p.ops[p.openings:]); err != nil {
		return 0, err
	}
	// Refund every 20th payment: the odd ones in full, the even ones in part.
	for i := range refunds {
		ref := p.payments[i*len(p.payments)/refunds]
		var amount int64 // 0: in full
		if i%2 == 1 {
			amount = 1_00
		}
		if _, err := ops.Refund(ctx, accounts.RefundRequest{PaymentID: payment[ref], Reference: fmt.Sprintf("ops-refund-%04d", i+1),
			Amount: amount, Metadata: map[string]string{"demo": "true"}}); err != nil {
			return 0, fmt.Errorf("demo: refund of %s: %w", ref, err)
		}
	}
	if _, err := ops.FreezeBalance(ctx, accounts.OperationRequest{Reference: accountsDone, Account: wallets[len(wallets)-1],
		Channel: "app", Amount: 200_00, Metadata: map[string]string{"demo": "true", "reason": "dispute"}}); err != nil {
		return 0, fmt.Errorf("demo: freeze: %w", err)
	}
	return len(p.ops) + refunds + 1, nil
}

// parallel runs f for 0 to n-1 on opsWorkers goroutines and returns the
// first error.
func parallel(ctx context.Context, n int, f func(context.Context, int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	errs := make(chan error, opsWorkers)
	var wg sync.WaitGroup
	for range min(opsWorkers, n) {
		wg.Go(func() {
			for i := range next {
				if err := f(ctx, i); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}
