package recon_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
	"github.com/suanpan/suanpan/internal/recon"
	"github.com/suanpan/suanpan/internal/recon/statement"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
)

// t0 is 09:00 UTC on the business date day.
var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

const (
	inst = "bank-a"
	day  = "2026-11-21"
)

// world is an institution with a wallet product, a payment channel per
// simulator kind, the clearing, suspense and write-off accounts, and the
// reconciliation service, on one store with a fake clock.
type world struct {
	t        *testing.T
	ctx      context.Context
	db       *store.DB
	clock    *clock.Fake
	ledger   *ledger.Ledger
	ops      *accounts.Operations
	lc       *accounts.Lifecycle
	cust     *accounts.Customers
	jobs     *jobs.Scheduler
	pay      *payments.Service
	rec      *recon.Service
	sim      *sim.Server
	channels map[channel.Kind]*payments.Channel
	clearing map[string]string // channel code → clearing account
	suspense string
	writeOff string
}

func newWorld(t *testing.T, db *store.DB, sc sim.Config) *world {
	t.Helper()
	ctx := context.Background()
	c := clock.NewFake(t0)
	sc.Clock = c
	if sc.MaxDelay == 0 {
		sc.MinDelay, sc.MaxDelay = time.Second, 5*time.Second
	}
	sm, err := sim.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sm.Close() })
	simSrv := httptest.NewServer(sm)
	t.Cleanup(simSrv.Close)

	l := ledger.New(db, ledger.Options{Clock: c})
	t.Cleanup(func() { l.Close() })
	if _, err := l.CreateAsset(ctx, "CNY", 2); err != nil {
		t.Fatal(err)
	}
	products := accounts.NewProductService(db, c)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	kr, err := accounts.ParseKeyring("k1:" + base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, ctx: ctx, db: db, clock: c, ledger: l, sim: sm, lc: accounts.NewLifecycle(l, products),
		cust: accounts.NewCustomers(db, c, kr), ops: accounts.NewOperations(l, products, accounts.OperationsConfig{}),
		channels: map[channel.Kind]*payments.Channel{}, clearing: map[string]string{}}
	codes := []string{}
	for _, k := range channel.Kinds() {
		codes = append(codes, string(k))
	}
	if _, err := products.Create(ctx, accounts.Product{ID: "wallet", InstitutionID: inst, Name: "Wallet", Class: accounts.ClassWallet,
		Asset: "CNY", ChartCode: "2001", NormalSide: ledger.Credit, Channels: codes, CreatedBy: "k1",
		Operations: []string{accounts.OpTopup, accounts.OpWithdraw, accounts.OpPayment, accounts.OpTransfer}}); err != nil {
		t.Fatal(err)
	}
	internal := func(code string, normal ledger.Side, role, ch string) string {
		a, err := l.CreateAccount(ctx, ledger.NewAccount{InstitutionID: inst, Asset: "CNY", Code: code, NormalSide: normal,
			Overdraft: ledger.OverdraftUnlimited})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.ops.RegisterInternalAccount(ctx, accounts.InternalAccount{Role: role, Channel: ch, AccountID: a.ID,
			RegisteredBy: "k1"}, nil); err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	internal("6001", ledger.Credit, accounts.RoleFeeIncome, "")
	w.suspense = internal("2241", ledger.Credit, accounts.RoleSuspense, "")
	w.writeOff = internal("6711", ledger.Debit, accounts.RoleWriteOff, "")
	for _, code := range codes {
		w.clearing[code] = internal("1002", ledger.Debit, accounts.RoleClearing, code)
	}
	quiet := slog.New(slog.DiscardHandler)
	w.jobs = jobs.New(db, c, jobs.Options{Log: quiet})
	w.pay = payments.New(payments.Config{DB: db, Ledger: l, Operations: w.ops, Jobs: w.jobs, Clock: c, Secrets: kr, Log: quiet})
	for _, k := range channel.Kinds() {
		cfg := sm.ChannelConfig(simSrv.URL, k)
		ch, err := w.pay.CreateChannel(ctx, payments.ChannelSpec{InstitutionID: inst, Code: string(k), Kind: k, Endpoint: cfg.Endpoint,
			MerchantID: cfg.MerchantID, Secret: cfg.Secret, Asset: "CNY", Params: payments.Params{TimeoutMs: 500}})
		if err != nil {
			t.Fatal(err)
		}
		w.channels[k] = ch
	}
	w.rec = recon.New(recon.Config{Ledger: l, Payments: w.pay, Operations: w.ops, Clock: c, Log: quiet})
	return w
}

// wallet opens a customer wallet funded with amount.
func (w *world) wallet(amount int64) string {
	w.t.Helper()
	cu, err := w.cust.Create(w.ctx, accounts.NewCustomer{InstitutionID: inst, Type: accounts.Personal, Name: "Customer"})
	if err != nil {
		w.t.Fatal(err)
	}
	op, err := w.lc.Open(w.ctx, accounts.OpenRequest{CustomerID: cu.ID, ProductID: "wallet", OpenedBy: "k1"})
	if err != nil {
		w.t.Fatal(err)
	}
	if amount > 0 {
		if _, err := w.ops.TopUp(w.ctx, accounts.OperationRequest{Reference: "fund-" + op.Account.ID, Account: op.Account.ID,
			Channel: "cash_counter", Amount: amount}); err != nil {
			w.t.Fatal(err)
		}
	}
	return op.Account.ID
}

// order creates an order on ch that is not sent (the test decides its
// fate) and brings it to state: created stays, succeeded and failed are
// settled by an operator with channel reference ref.
func (w *world) order(ch *payments.Channel, d channel.Direction, account string, amount int64, state payments.State, ref string) *payments.Order {
	w.t.Helper()
	o, _, err := w.pay.Create(w.ctx, payments.OrderRequest{Reference: fmt.Sprintf("o-%d", w.clock.Now().UnixNano()), ChannelID: ch.ID,
		Direction: d, Account: account, Amount: amount, Party: "6222000011112222", NoStart: true, CreatedBy: "k1"})
	if err != nil {
		w.t.Fatal(err)
	}
	w.clock.Advance(time.Millisecond)
	switch state {
	case payments.StateSucceeded:
		o, err = w.pay.Settle(w.ctx, o.ID, channel.Succeeded, ref, "operator", "test", nil)
	case payments.StateFailed:
		o, err = w.pay.Settle(w.ctx, o.ID, channel.Failed, ref, "operator", "test", nil)
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return o
}

// csvFormat is the column map of the hand-built statements.
func csvFormat() statement.Format {
	scale := 2
	return statement.Format{Kind: statement.KindCSV, Columns: &statement.ColumnMap{Header: true, OrderID: "order_id",
		ChannelRef: "channel_ref", Direction: "direction", Amount: "amount", Fee: "fee", Status: "status", Time: "time",
		Party: "party", AmountFormat: statement.AmountDecimal, Scale: &scale, DefaultAsset: "CNY",
		DirectionValues: map[string]channel.Direction{"pay_in": channel.PayIn, "pay_out": channel.PayOut, "refund": channel.Refund},
		StatusValues:    map[string]channel.Status{"succeeded": channel.Succeeded, "failed": channel.Failed},
		TimeLayout:      time.RFC3339, TimeZone: "UTC"}}
}

// useCSV makes ch's statements CSV files of csvFormat with rules applied.
func (w *world) useCSV(ch *payments.Channel, rules func(*recon.Settings)) {
	w.t.Helper()
	st, err := w.rec.GetSettings(w.ctx, ch.ID, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	st.Format = csvFormat()
	if rules != nil {
		rules(st)
	}
	if _, err := w.rec.PutSettings(w.ctx, *st, "k1", nil); err != nil {
		w.t.Fatal(err)
	}
}

// line is a hand-built statement line.
type line struct {
	order, ref string
	dir        channel.Direction
	amount     string // decimal yuan
	fee        string
	status     channel.Status
	at         time.Time
	party      string
}

func csvOf(ls []line) []byte {
	var b strings.Builder
	b.WriteString("order_id,channel_ref,direction,amount,fee,status,time,party\n")
	for _, l := range ls {
		dir, status, fee, at := l.dir, l.status, l.fee, l.at
		if dir == "" {
			dir = channel.PayIn
		}
		if status == "" {
			status = channel.Succeeded
		}
		if fee == "" {
			fee = "0.00"
		}
		if at.IsZero() {
			at = t0.Add(time.Hour)
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s,%s,%s\n", l.order, l.ref, dir, l.amount, fee, status, at.Format(time.RFC3339), l.party)
	}
	return []byte(b.String())
}

func (w *world) importCSV(ch *payments.Channel, date string, ls []line) *recon.Statement {
	w.t.Helper()
	st, _, err := w.rec.Import(w.ctx, recon.ImportRequest{ChannelID: ch.ID, Date: date, Content: csvOf(ls), By: "k1"})
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

func (w *world) run(ch *payments.Channel, date string) *recon.Run {
	w.t.Helper()
	r, err := w.rec.Run(w.ctx, recon.RunRequest{ChannelID: ch.ID, Date: date, By: "k1"})
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

func (w *world) discrepancies(runID string) []*recon.Discrepancy {
	w.t.Helper()
	ds, _, err := w.rec.ListDiscrepancies(w.ctx, recon.DiscrepancyFilter{RunID: runID, Limit: 1000})
	if err != nil {
		w.t.Fatal(err)
	}
	return ds
}

func (w *world) getOrder(id string) *payments.Order {
	w.t.Helper()
	o, err := w.pay.GetOrder(w.ctx, id, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return o
}

// balance is an account's posted balance on its normal side.
func (w *world) balance(id string) int64 {
	w.t.Helper()
	a, err := w.ledger.GetAccount(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return a.Balance(a.NormalSide)
}

// checkBooks checks the ledger verifies and suspense holds exactly the
// open discrepancies' effects.
func (w *world) checkBooks() {
	w.t.Helper()
	rep, err := w.ledger.Verify(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	if !rep.OK {
		w.t.Fatalf("ledger does not verify: %+v", rep)
	}
	var open int64
	ds, _, err := w.rec.ListDiscrepancies(w.ctx, recon.DiscrepancyFilter{Limit: 1000})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, d := range ds {
		if d.Status == recon.StatusOpen || d.Status == recon.StatusWriteOffPending {
			open += d.Effect
		}
	}
	if got := w.balance(w.suspense); got != open {
		w.t.Errorf("suspense holds %d; the open discrepancies' effects total %d", got, open)
	}
}
