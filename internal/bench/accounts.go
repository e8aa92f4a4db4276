package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/money"
)

// AccountsConfig is one account-layer benchmark run: payments to merchants
// through accounts.Operations.Pay, which looks up both accounts' products,
// prices the merchant's fee, and counts the payer's limits in the ledger
// transaction.
type AccountsConfig struct {
	// Store, PostgresURL and SQLiteSynchronous are as in LedgerConfig.
	Store             string
	PostgresURL       string
	SQLiteSynchronous string
	Accounts          int           // customer wallets, default 1,000
	Merchants         int           // merchant settlement accounts, default 10
	Concurrency       int           // concurrent submitters, default 64
	Duration          time.Duration // measured time, default 10s
	// Ledger, when set, also runs RunLedger with the same store kind,
	// accounts and concurrency for the same duration, for the ratio.
	Ledger bool
	Seed   uint64
	// Profiles are written of the account layer's measured window (not
	// the ledger run's).
	Profiles Profiles
}

// AccountsReport is what a run measured. Ratio is operations per second
// over the ledger's transfers per second (0 without the ledger run).
type AccountsReport struct {
	Store               string        `json:"store"`
	Accounts            int           `json:"accounts"`
	Merchants           int           `json:"merchants"`
	Concurrency         int           `json:"concurrency"`
	SetupS              float64       `json:"setup_s"`
	DurationS           float64       `json:"duration_s"`
	Operations          int64         `json:"operations"`
	Rejected            int64         `json:"rejected"`
	OperationsPerS      float64       `json:"operations_per_s"`
	PayP50Ms            float64       `json:"pay_p50_ms"`
	PayP99Ms            float64       `json:"pay_p99_ms"`
	PayP999Ms           float64       `json:"pay_p999_ms"`
	VerifyOK            bool          `json:"verify_ok"`
	VerifyProblems      int           `json:"verify_problems"`
	LedgerTransfersPerS float64       `json:"ledger_transfers_per_s"`
	Ratio               float64       `json:"ratio"`
	Ledger              *LedgerReport `json:"ledger,omitempty"`
	// The account layer's window: batch sizes, WAL, disk writes and CPU,
	// per payment.
	BatchSizes
	Cost
}

// Bounds on the set-up, which opens one customer and account at a time.
const (
	accountsSetupWorkers = 8
	accountsMerchantsMax = 10_000
)

// RunAccounts opens Accounts wallets (a product with a 0.6% payment fee
// borne by the merchant and generous payment limits) and Merchants
// settlement accounts, funds the wallets, then has Concurrency goroutines
// call Operations.Pay for Duration; it verifies the ledger and, with
// cfg.Ledger, runs the raw ledger benchmark for comparison. progress, when
// not nil, receives a line per second.
func RunAccounts(ctx context.Context, cfg AccountsConfig, progress func(string)) (*AccountsReport, error) {
	cfg = cfg.withDefaults()
	if cfg.Accounts < 1 || cfg.Merchants < 1 || cfg.Merchants > accountsMerchantsMax {
		return nil, fmt.Errorf("at least 1 account and from 1 to %d merchants are needed", accountsMerchantsMax)
	}
	rep, err := runAccounts(ctx, cfg, progress)
	if err != nil || !cfg.Ledger {
		return rep, err
	}
	if progress != nil {
		progress(fmt.Sprintf("now the raw ledger: %d accounts, %d submitters, %s", cfg.Accounts+cfg.Merchants, cfg.Concurrency, cfg.Duration))
	}
	lr, err := RunLedger(ctx, LedgerConfig{Store: cfg.Store, PostgresURL: cfg.PostgresURL, SQLiteSynchronous: cfg.SQLiteSynchronous,
		Accounts: cfg.Accounts + cfg.Merchants, Concurrency: cfg.Concurrency, Duration: cfg.Duration, Seed: cfg.Seed}, progress)
	if err != nil {
		return nil, fmt.Errorf("ledger run: %w", err)
	}
	rep.Ledger, rep.LedgerTransfersPerS = lr, lr.TransfersPerS
	if lr.TransfersPerS > 0 {
		rep.Ratio = rep.OperationsPerS / lr.TransfersPerS
	}
	return rep, nil
}

func (c AccountsConfig) withDefaults() AccountsConfig {
	if c.Accounts == 0 {
		c.Accounts = 1000
	}
	if c.Merchants == 0 {
		c.Merchants = 10
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 64
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	return c
}

func runAccounts(ctx context.Context, cfg AccountsConfig, progress func(string)) (*AccountsReport, error) {
	prof, err := cfg.Profiles.open()
	if err != nil {
		return nil, err
	}
	defer prof.close()
	db, cleanup, err := openStore(ctx, cfg.Store, cfg.PostgresURL, cfg.SQLiteSynchronous)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	var batches batchRecorder
	l := ledger.New(db, ledger.Options{OnBatch: batches.observe})
	defer l.Close()

	setupStart := time.Now()
	inst := "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if progress != nil {
		progress(fmt.Sprintf("opening %d wallets and %d merchant accounts", cfg.Accounts, cfg.Merchants))
	}
	ops, wallets, merchants, err := SetupPayAccounts(ctx, l, inst, cfg.Accounts, cfg.Merchants)
	if err != nil {
		return nil, err
	}
	rep := &AccountsReport{Store: string(db.Dialect), Accounts: cfg.Accounts, Merchants: cfg.Merchants,
		Concurrency: cfg.Concurrency, SetupS: time.Since(setupStart).Seconds()}

	batches.reset()
	probe, err := startCost(ctx, db, "this process: the account layer, the ledger engine, the store's driver and the load generator")
	if err != nil {
		return nil, err
	}
	if err := prof.start(); err != nil {
		return nil, err
	}
	var last int64
	tick := func(elapsed time.Duration, n int64) {
		if progress != nil {
			progress(fmt.Sprintf("%6.0fs  %8d payments/s", elapsed.Seconds(), n-last))
			last = n
		}
	}
	d, err := drive(ctx, cfg.Concurrency, cfg.Duration, cfg.Seed, tick, func(w, n int, rng *rand.Rand) (int64, int64, error) {
		r := accounts.OperationRequest{Reference: fmt.Sprintf("w%d-%d", w, n), Account: wallets[rng.IntN(len(wallets))],
			Counterparty: merchants[rng.IntN(len(merchants))], Channel: "app", Amount: 1 + rng.Int64N(10000)}
		_, err := ops.Pay(context.Background(), r)
		switch {
		case err == nil:
			return 1, 0, nil
		case accounts.ErrorCode(err) != "" || ledger.ErrorCode(err) != "":
			return 0, 1, nil
		default:
			return 0, 0, err
		}
	})
	if err != nil {
		return nil, err
	}
	if rep.Cost, err = probe.stop(ctx, d.done, "payment"); err != nil {
		return nil, err
	}
	if err := prof.stop(); err != nil {
		return nil, err
	}
	rep.BatchSizes = batches.distribution(d.elapsed)
	rep.DurationS = d.elapsed.Seconds()
	rep.Operations, rep.Rejected = d.done, d.rejected
	rep.OperationsPerS = float64(rep.Operations) / d.elapsed.Seconds()
	rep.PayP50Ms = ms(d.latency.quantile(0.5))
	rep.PayP99Ms = ms(d.latency.quantile(0.99))
	rep.PayP999Ms = ms(d.latency.quantile(0.999))
	v, err := l.Verify(ctx)
	if err != nil {
		return nil, err
	}
	rep.VerifyOK, rep.VerifyProblems = v.OK, len(v.Problems)
	return rep, nil
}

// PayInChannel is the channel the bench wallets take top-ups (pay-ins) on.
const PayInChannel = "qr_wallet"

// SetupPayAccounts sets up institution inst for payments: the asset CNY, a
// wallet product (payments on channel app and top-ups on PayInChannel,
// limits far above what a run spends but checked on every payment), a merchant product with a 0.6%
// payment fee borne by the merchant, clearing and fee-income accounts, n
// funded customer wallets and m merchant accounts. It returns the
// operations service on l and the accounts' IDs.
func SetupPayAccounts(ctx context.Context, l *ledger.Ledger, inst string, n, m int) (*accounts.Operations, []string, []string, error) {
	if _, err := l.CreateAsset(ctx, "CNY", 2); err != nil {
		return nil, nil, nil, err
	}
	c := clock.Real{}
	db := l.DB()
	products := accounts.NewProductService(db, c)
	secret, err := accounts.GenerateKey("bench")
	if err != nil {
		return nil, nil, nil, err
	}
	// A throwaway store gets a throwaway key, kept nowhere.
	keyring, err := accounts.ParseKeyring(secret)
	if err != nil {
		return nil, nil, nil, err
	}
	customers := accounts.NewCustomers(db, c, keyring)
	lc := accounts.NewLifecycle(l, products)
	ops := accounts.NewOperations(l, products, accounts.OperationsConfig{})

	const big = 1 << 50
	wallet := accounts.Product{ID: "bench-wallet", InstitutionID: inst, Name: "Bench wallet", Class: accounts.ClassWallet,
		Asset: "CNY", ChartCode: "2001", NormalSide: ledger.Credit, Channels: []string{"app", PayInChannel},
		Operations: []string{accounts.OpPayment, accounts.OpTopup},
		Limits: []accounts.Limit{{Operation: accounts.OpPayment, PerTxn: 1_000_000_00, DailyAmount: big, DailyCount: big,
			MonthlyAmount: big, MonthlyCount: big}},
		CreatedBy: "bench"}
	rate, err := money.ParseRate("0.006")
	if err != nil {
		return nil, nil, nil, err
	}
	merchant := accounts.Product{ID: "bench-merchant", InstitutionID: inst, Name: "Bench merchant",
		Class: accounts.ClassMerchantSettlement, Asset: "CNY", ChartCode: "2002", NormalSide: ledger.Credit,
		Channels: []string{"app"}, Operations: []string{accounts.OpPayment, accounts.OpRefund},
		Fees: []accounts.FeeRule{{Operation: accounts.OpPayment, Kind: accounts.FeePercentage, Rate: rate,
			Payer: accounts.PartyPayee, Rounding: money.HalfEven, FeeAccountCode: "6021"}},
		CreatedBy: "bench"}
	for _, p := range []accounts.Product{wallet, merchant} {
		if _, err := products.Create(ctx, p); err != nil {
			return nil, nil, nil, fmt.Errorf("create product %s: %w", p.ID, err)
		}
	}
	internal, err := l.CreateAccounts(ctx, []ledger.NewAccount{
		{InstitutionID: inst, Asset: "CNY", Code: "1002", Name: "clearing", NormalSide: ledger.Debit, Overdraft: ledger.OverdraftUnlimited},
		{InstitutionID: inst, Asset: "CNY", Code: "6021", Name: "fee income", NormalSide: ledger.Credit, Overdraft: ledger.OverdraftUnlimited},
	})
	if err != nil {
		return nil, nil, nil, err
	}
	for _, ia := range []accounts.InternalAccount{
		{InstitutionID: inst, Role: accounts.RoleClearing, Channel: "app", Asset: "CNY", AccountID: internal[0].ID, RegisteredBy: "bench"},
		{InstitutionID: inst, Role: accounts.RoleFeeIncome, Asset: "CNY", AccountID: internal[1].ID, RegisteredBy: "bench"},
	} {
		if _, err := ops.RegisterInternalAccount(ctx, ia, nil); err != nil {
			return nil, nil, nil, fmt.Errorf("register %s account: %w", ia.Role, err)
		}
	}

	// Customers and their accounts, a few at a time.
	ids := make([]string, n+m)
	jobs := make(chan int)
	errs := make(chan error, accountsSetupWorkers)
	var wg sync.WaitGroup
	for range accountsSetupWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				typ, product := accounts.Personal, wallet.ID
				if i >= n {
					typ, product = accounts.Merchant, merchant.ID
				}
				cu, err := customers.Create(ctx, accounts.NewCustomer{InstitutionID: inst, Type: typ, Name: "Bench " + strconv.Itoa(i)})
				if err == nil {
					var o *accounts.Opened
					if o, err = lc.Open(ctx, accounts.OpenRequest{CustomerID: cu.ID, ProductID: product, OpenedBy: "bench"}); err == nil {
						ids[i] = o.Account.ID
					}
				}
				if err != nil {
					errs <- fmt.Errorf("open account %d: %w", i, err)
					for range jobs { // drain
					}
					return
				}
			}
		}()
	}
feed:
	for i := range n + m {
		select {
		case jobs <- i:
		case err := <-errs:
			close(jobs)
			wg.Wait()
			return nil, nil, nil, err
		}
		if ctx.Err() != nil {
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return nil, nil, nil, err
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, nil, err
	}

	// Fund the wallets straight through the ledger, 1,000 at a time.
	wallets, merchants := ids[:n], ids[n:]
	for lo := 0; lo < n; lo += 1000 {
		hi := min(lo+1000, n)
		reqs := make([]ledger.Request, 0, hi-lo)
		for _, w := range wallets[lo:hi] {
			reqs = append(reqs, ledger.Request{Kind: ledger.KindTransfer, InstitutionID: inst, Reference: "fund-" + w, Type: "topup",
				Postings: []ledger.Posting{{Debit: internal[0].ID, Credit: w, Asset: "CNY", Amount: 1_000_000_000_00}}})
		}
		res, err := l.Submit(ctx, reqs, true)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, r := range res {
			if r.Err != nil {
				return nil, nil, nil, errors.Join(errors.New("fund wallets"), r.Err)
			}
		}
	}
	return ops, wallets, merchants, nil
}
