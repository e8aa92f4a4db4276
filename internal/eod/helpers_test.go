package eod_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/eod"
	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
)

const (
	inst = "bank-a"
	// closeDate is the day the tests close; dayStart is when its business
	// begins on the fake clock, eodTime when the end of day runs.
	closeDate = "2026-11-21"
	nextDay   = "2026-11-22"
)

var (
	dayStart = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	eodTime  = time.Date(2026, 11, 22, 0, 30, 0, 0, time.UTC)
)

// day is one business day of an institution's books: wallets, two
// merchants, operations of every kind the report counts, a withdrawal
// whose hold expires during the day, and two payment orders that
// succeeded through the channel simulator.
type day struct {
	t        *testing.T
	ctx      context.Context
	db       *store.DB
	clock    *clock.Fake
	ledger   *ledger.Ledger
	ops      *accounts.Operations
	checks   *accounts.Checks
	wallets  []string
	merchant []string // merchant[0]'s product charges the merchant, merchant[1]'s the payer
	expiring string   // the hold that expires on closeDate
	orders   []*payments.Order
	fees     string
}

// newDay books closeDate on db and leaves the clock at eodTime. Its ledger
// is closed when the test ends (or by closeLedger).
func newDay(t *testing.T, db *store.DB) *day {
	t.Helper()
	ctx := context.Background()
	c := clock.NewFake(dayStart.Add(-time.Hour))
	l := ledger.New(db, ledger.Options{Clock: c})
	t.Cleanup(func() { l.Close() })
	d := &day{t: t, ctx: ctx, db: db, clock: c, ledger: l, checks: accounts.NewChecks(l)}
	if _, err := l.CreateAsset(ctx, "CNY", 2); err != nil {
		t.Fatal(err)
	}
	products := accounts.NewProductService(db, c)
	keys, err := accounts.ParseKeyring("k1:" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	if err != nil {
		t.Fatal(err)
	}
	customers := accounts.NewCustomers(db, c, keys)
	lc := accounts.NewLifecycle(l, products)
	d.ops = accounts.NewOperations(l, products, accounts.OperationsConfig{})

	codes := []string{string(channel.BankTransfer), string(channel.QRWallet)}
	percent := func(s string) money.Rate {
		r, err := money.ParseRate(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, p := range []accounts.Product{
		{ID: "wallet", Class: accounts.ClassWallet, ChartCode: "2001", Channels: append([]string{"app"}, codes...),
			Operations: []string{accounts.OpTopup, accounts.OpWithdraw, accounts.OpPayment, accounts.OpTransfer},
			Fees: []accounts.FeeRule{{Operation: accounts.OpTransfer, Kind: accounts.FeeFixed, Fixed: 100,
				Payer: accounts.PartyPayer, Rounding: money.HalfUp, FeeAccountCode: "6021"}}},
		{ID: "shop", Class: accounts.ClassMerchantSettlement, ChartCode: "2002",
			Operations: []string{accounts.OpPayment, accounts.OpRefund},
			Fees: []accounts.FeeRule{{Operation: accounts.OpPayment, Kind: accounts.FeePercentage, Rate: percent("0.006"),
				Payer: accounts.PartyPayee, Rounding: money.HalfEven, FeeAccountCode: "6021"}}},
		{ID: "kiosk", Class: accounts.ClassMerchantSettlement, ChartCode: "2002",
			Operations: []string{accounts.OpPayment, accounts.OpRefund},
			Fees: []accounts.FeeRule{{Operation: accounts.OpPayment, Kind: accounts.FeeFixed, Fixed: 50,
				Payer: accounts.PartyPayer, Rounding: money.HalfUp, FeeAccountCode: "6021"}}},
	} {
		p.InstitutionID, p.Name, p.Asset, p.NormalSide, p.CreatedBy = inst, p.ID, "CNY", ledger.Credit, "k1"
		if _, err := products.Create(ctx, p); err != nil {
			t.Fatalf("product %s: %v", p.ID, err)
		}
	}
	internal := func(code string, normal ledger.Side) string {
		a, err := l.CreateAccount(ctx, ledger.NewAccount{InstitutionID: inst, Asset: "CNY", Code: code,
			NormalSide: normal, Overdraft: ledger.OverdraftUnlimited})
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	d.fees = internal("6021", ledger.Credit)
	register := []accounts.InternalAccount{{Role: accounts.RoleFeeIncome, AccountID: d.fees}}
	for _, code := range append([]string{"app"}, codes...) {
		register = append(register, accounts.InternalAccount{Role: accounts.RoleClearing, Channel: code, AccountID: internal("1002", ledger.Debit)})
	}
	for _, ia := range register {
		ia.RegisteredBy = "k1"
		if _, err := d.ops.RegisterInternalAccount(ctx, ia, nil); err != nil {
			t.Fatal(err)
		}
	}
	open := func(typ accounts.CustomerType, product string) string {
		cu, err := customers.Create(ctx, accounts.NewCustomer{InstitutionID: inst, Type: typ, Name: "Customer"})
		if err != nil {
			t.Fatal(err)
		}
		o, err := lc.Open(ctx, accounts.OpenRequest{CustomerID: cu.ID, ProductID: product, OpenedBy: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		return o.Account.ID
	}
	for range 3 {
		d.wallets = append(d.wallets, open(accounts.Personal, "wallet"))
	}
	d.merchant = []string{open(accounts.Merchant, "shop"), open(accounts.Merchant, "kiosk")}

	// The channels, on the simulator; orders settle by status queries.
	sm, err := sim.New(sim.Config{Clock: c, MinDelay: time.Second, MaxDelay: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sm.Close() })
	srv := httptest.NewServer(sm)
	t.Cleanup(srv.Close)
	sched := jobs.New(db, c, jobs.Options{Log: slog.New(slog.DiscardHandler)})
	svc := payments.New(payments.Config{DB: db, Ledger: l, Operations: d.ops, Jobs: sched, Clock: c,
		Log: slog.New(slog.DiscardHandler)})
	chans := map[channel.Kind]*payments.Channel{}
	for _, k := range []channel.Kind{channel.BankTransfer, channel.QRWallet} {
		cfg := sm.ChannelConfig(srv.URL, k)
		ch, err := svc.CreateChannel(ctx, payments.ChannelSpec{InstitutionID: inst, Code: string(k), Kind: k,
			Endpoint: cfg.Endpoint, MerchantID: cfg.MerchantID, Secret: cfg.Secret, Asset: "CNY",
			Params: payments.Params{TimeoutMs: 2000, Retry: payments.RetryPolicy{MaxAttempts: 20, BackoffMs: 1000, MaxBackoffMs: 2000},
				Fees: map[channel.Direction]payments.FeeRate{channel.PayIn: {Fixed: 30, Rounding: money.HalfUp},
					channel.PayOut: {Fixed: 200, Rounding: money.HalfUp}}}})
		if err != nil {
			t.Fatalf("channel %s: %v", k, err)
		}
		chans[k] = ch
	}

	// The day.
	c.Set(dayStart)
	step := func() { c.Advance(time.Minute) }
	op := func(res *accounts.OperationResult, err error) *accounts.OperationResult {
		t.Helper()
		if err != nil {
			t.Fatalf("operation at %s: %v", c.Now().Format(time.TimeOnly), err)
		}
		step()
		return res
	}
	req := func(ref, acct, counterparty, ch string, amount int64) accounts.OperationRequest {
		return accounts.OperationRequest{Reference: ref, Account: acct, Counterparty: counterparty, Channel: ch, Amount: amount}
	}
	w, m := d.wallets, d.merchant
	for i, amount := range []int64{1000000, 500000, 200000} {
		op(d.ops.TopUp(ctx, req(fmt.Sprintf("fund-%d", i), w[i], "", "app", amount)))
	}
	pay1 := op(d.ops.Pay(ctx, req("pay-1", w[0], m[0], "app", 12000)))
	op(d.ops.Pay(ctx, req("pay-2", w[1], m[0], "app", 8000)))
	op(d.ops.Pay(ctx, req("pay-3", w[0], m[1], "app", 5000)))
	op(d.ops.Refund(ctx, accounts.RefundRequest{PaymentID: pay1.Transaction.ID, Reference: "refund-1", Amount: 2000}))
	op(d.ops.Transfer(ctx, req("transfer-1", w[1], w[2], "app", 10000)))
	expiring := req("withdraw-1", w[2], "", "app", 30000)
	expiring.Timeout = time.Hour
	d.expiring = op(d.ops.Withdraw(ctx, expiring)).Transaction.ID
	held := op(d.ops.Withdraw(ctx, req("withdraw-2", w[0], "", "app", 20000)))
	op(d.ops.CompleteWithdraw(ctx, accounts.ResolveRequest{HoldID: held.Transaction.ID, Reference: "withdraw-2-done"}))

	for _, o := range []payments.OrderRequest{
		{Reference: "order-in", ChannelID: chans[channel.QRWallet].ID, Direction: channel.PayIn, Account: w[2], Amount: 6600},
		{Reference: "order-out", ChannelID: chans[channel.BankTransfer].ID, Direction: channel.PayOut, Account: w[1],
			Amount: 3300, Party: "6222020200112233", PartyName: "Li Lei"},
	} {
		o.CreatedBy = "k1"
		got, _, err := svc.Create(ctx, o)
		if err != nil {
			t.Fatalf("order %s: %v", o.Reference, err)
		}
		d.orders = append(d.orders, got)
	}
	// The channels decide; the orders' follow-up jobs query them.
	sm.Settle()
	for i := 0; i < len(d.orders); {
		got, err := svc.GetOrder(ctx, d.orders[i].ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.State.Final() {
			if got.State != payments.StateSucceeded {
				t.Fatalf("order %s is %s (%s), want succeeded", got.Reference, got.State, got.FailureMessage)
			}
			d.orders[i] = got
			i++
			continue
		}
		if c.Now().After(dayStart.Add(time.Hour)) {
			t.Fatalf("order %s is still %s", got.Reference, got.State)
		}
		c.Advance(2 * time.Second)
		if _, err := sched.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	c.Set(eodTime)
	return d
}

// runner returns an end-of-day runner on the day's ledger.
func (d *day) runner(recon eod.Reconciler) *eod.Runner {
	return eod.New(eod.Config{Ledger: d.ledger, Reconciler: recon})
}

// fakeRecon reconciles every channel from the orders table: bank_transfer
// delivered its file, the others did not. Each call reports a new run ID,
// which the artifacts must not show. fail makes it fail; discrepancies
// reports that many on bank_transfer.
type fakeRecon struct {
	db            *store.DB
	mu            sync.Mutex
	calls         int
	fail          bool
	discrepancies int
}

var _ eod.Reconciler = (*fakeRecon)(nil)

func (f *fakeRecon) ReconcileDay(ctx context.Context, date, by string) (*eod.ReconSummary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail {
		return nil, errors.New("statement store unreachable")
	}
	rows, err := f.db.Read.QueryContext(ctx, `SELECT c.id, c.code, c.institution_id, c.asset,
		(SELECT COUNT(*) FROM payment_orders o WHERE o.channel_id = c.id AND o.business_date = $1 AND o.state = 'succeeded')
		FROM payment_channels c ORDER BY c.code`, date)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	sum := &eod.ReconSummary{}
	for rows.Next() {
		var c eod.ReconChannel
		if err := rows.Scan(&c.ChannelID, &c.Code, &c.InstitutionID, &c.Asset, &c.Matched); err != nil {
			return nil, err
		}
		if c.Code == string(channel.BankTransfer) {
			c.Statement, c.RunID, c.Discrepancies = true, uuid.NewString(), f.discrepancies
			if f.discrepancies > 0 {
				c.OpenAmount = 100
			}
		} else {
			c.Matched = 0
		}
		sum.Channels = append(sum.Channels, c)
	}
	return sum, rows.Err()
}

// code returns the eod error code of err ("" for nil; the text of any
// other error, so that a comparison shows it).
func code(err error) eod.Code {
	if err == nil {
		return ""
	}
	if c := eod.ErrorCode(err); c != "" {
		return c
	}
	return eod.Code("not an eod error: " + err.Error())
}

// mustRun runs the date and fails the test on an error.
func mustRun(t *testing.T, r *eod.Runner, date string) *eod.Run {
	t.Helper()
	run, err := r.Run(context.Background(), date, "ops")
	if err != nil {
		t.Fatalf("run %s: %v", date, err)
	}
	return run
}

// stepStatuses returns the run's step statuses in order.
func stepStatuses(run *eod.Run) []string {
	var out []string
	for _, s := range run.Steps {
		out = append(out, s.Name+"="+string(s.Status))
	}
	return out
}

// files returns the date's artifacts with their content, by name.
func files(t *testing.T, r *eod.Runner, date string) map[string]*eod.Artifact {
	t.Helper()
	ctx := context.Background()
	as, err := r.Artifacts(ctx, date, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*eod.Artifact{}
	for _, a := range as {
		full, err := r.Artifact(ctx, date, a.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		full.CreatedAt = time.Time{} // the only field that may differ between runs
		out[a.Name] = full
	}
	return out
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// digest fingerprints every table of the store: its rows, in any order.
func digest(t *testing.T, db *store.DB) map[string]string {
	t.Helper()
	ctx := context.Background()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if db.Dialect == store.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	var tables []string
	rows, err := db.Read.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	out := map[string]string{}
	for _, table := range tables {
		rows, err := db.Read.QueryContext(ctx, `SELECT * FROM `+table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprintf("%q", vals))
		}
		rows.Close()
		slices.Sort(lines)
		out[table] = fmt.Sprintf("%d rows %s", len(lines), sha([]byte(strings.Join(lines, "\n"))))
	}
	return out
}

// events returns the payloads of the outbox events of type typ.
func events(t *testing.T, db *store.DB, typ string) []map[string]any {
	t.Helper()
	rows, err := db.Read.QueryContext(context.Background(), `SELECT payload FROM events WHERE type = $1 ORDER BY id`, typ)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []map[string]any
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(p), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}
