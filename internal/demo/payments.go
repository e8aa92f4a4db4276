package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
	"github.com/suanpan/suanpan/internal/recon"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
)

// The payments sample: demo-bank's two channels on the channel simulator
// the demo runs, and orders in every state. The channel codes are the
// ones the wallet product and the clearing accounts of SeedAccounts name.
const (
	AppChannel  = "app"  // a QR wallet: pay-ins from customers' phones
	BankChannel = "bank" // bank transfers: pay-ins and pay-outs

	// maxPayouts bounds the pay-outs made to get both a success and a
	// failure from the simulator's 30% failure rate.
	maxPayouts = 10
)

// SimConfig is how the demo's channel simulator behaves: a realistic
// share of failures and duplicate callbacks, decisions 20-90 s after an
// order is accepted, so that the orders made at start stay processing for
// a while.
func SimConfig() sim.Config {
	return sim.Config{Seed: customerSeed, FailRate: 3000, DuplicateCallbackRate: 1000,
		MinDelay: 20 * time.Second, MaxDelay: 90 * time.Second, Interval: 500 * time.Millisecond}
}

// PaymentsSample is what SeedPayments made or found.
type PaymentsSample struct {
	// Seeded is false when the store held the orders already.
	Seeded bool
	// Channels are the channels' IDs by code.
	Channels map[string]string
	// States counts the orders by state when SeedPayments returned.
	States map[payments.State]int
	// Recon is the bank channel's reconciliation of the day (SeedRecon).
	Recon *recon.Run
}

// SeedPayments points demo-bank's channels at the simulator sm served at
// simURL (creating them the first time), and makes the sample's orders
// unless the store has them: pay-ins and pay-outs the simulator settles at
// once (some succeed, some fail), two pay-ins it is still processing, a
// pay-out it did not answer (it was down: unknown, queried later) and one
// not yet sent (created). The API must be serving, since the simulator
// calls back. SeedAccounts must have run.
func SeedPayments(ctx context.Context, db *store.DB, svc *payments.Service, sm *sim.Server, simURL string) (*PaymentsSample, error) {
	s := &PaymentsSample{Channels: map[string]string{}, States: map[payments.State]int{}}
	for code, kind := range map[string]channel.Kind{AppChannel: channel.QRWallet, BankChannel: channel.BankTransfer} {
		id, err := demoChannel(ctx, svc, sm, simURL, code, kind)
		if err != nil {
			return nil, err
		}
		s.Channels[code] = id
	}
	existing, _, err := svc.ListOrders(ctx, payments.OrderFilter{Scope: []string{Bank}, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(existing) == 0 {
		s.Seeded = true
		if err := demoOrders(ctx, db, svc, sm, s.Channels); err != nil {
			return nil, err
		}
	}
	for after := ""; ; {
		page, next, err := svc.ListOrders(ctx, payments.OrderFilter{Scope: []string{Bank}, After: after, Limit: 500})
		if err != nil {
			return nil, err
		}
		for _, o := range page {
			s.States[o.State]++
		}
		if next == "" {
			return s, nil
		}
		after = next
	}
}

// demoChannel creates the channel, or points it at this run's simulator.
func demoChannel(ctx context.Context, svc *payments.Service, sm *sim.Server, simURL, code string, kind channel.Kind) (string, error) {
	cfg := sm.ChannelConfig(simURL, kind)
	params := payments.Params{Retry: payments.RetryPolicy{MaxAttempts: 100, BackoffMs: 5_000, MaxBackoffMs: 60_000},
		Limits: map[channel.Direction]payments.Limits{channel.PayOut: {PerTxnMax: 50_000_00, DailyCount: 1000}}}
	spec := payments.ChannelSpec{InstitutionID: Bank, Code: code, Kind: kind, Name: "Demo " + string(kind),
		Endpoint: cfg.Endpoint, MerchantID: cfg.MerchantID, Secret: cfg.Secret, Asset: "CNY", Params: params}
	ch, err := svc.ChannelByCode(ctx, Bank, code)
	switch {
	case payments.ErrorCode(err) == payments.CodeChannelNotFound:
		ch, err = svc.CreateChannel(ctx, spec)
	case err == nil && ch.Endpoint != cfg.Endpoint:
		ch, err = svc.UpdateChannel(ctx, ch.ID, spec, nil)
	}
	if err != nil {
		return "", fmt.Errorf("demo: channel %s: %w", code, err)
	}
	return ch.ID, nil
}

// demoOrders makes the sample's orders.
func demoOrders(ctx context.Context, db *store.DB, svc *payments.Service, sm *sim.Server, channels map[string]string) error {
	wallets, err := demoWallets(ctx, db)
	if err != nil {
		return err
	}
	order := func(ref, code string, dir channel.Direction, wallet int, amount string, noStart bool) (*payments.Order, error) {
		v, err := money.Parse(amount, 2)
		if err != nil {
			return nil, err
		}
		r := payments.OrderRequest{Reference: ref, ChannelID: channels[code], Direction: dir, Account: wallets[wallet%len(wallets)],
			Amount: v, NoStart: noStart, CreatedBy: by, Memo: "demo"}
		if dir == channel.PayOut {
			r.Party, r.PartyName = fmt.Sprintf("62220202000%05d", wallet), customerName(wallet)
		}
		o, _, err := svc.Create(ctx, r)
		if ledger.ErrorCode(err) != "" || accounts.ErrorCode(err) != "" {
			return nil, nil // the wallet cannot take or pay it (funds, limits): left out
		}
		if err != nil {
			return nil, fmt.Errorf("demo: order %s: %w", ref, err)
		}
		return o, nil
	}
	// Settled at once: pay-ins, then pay-outs until one succeeded and one
	// failed.
	for i, amount := range []string{"100.00", "58.80", "230.00", "12.50"} {
		if _, err := order(fmt.Sprintf("demo-in-%d", i+1), AppChannel, channel.PayIn, i, amount, false); err != nil {
			return err
		}
	}
	sm.Settle()
	outcomes := map[payments.State]bool{}
	for i := 0; i < maxPayouts && !(outcomes[payments.StateSucceeded] && outcomes[payments.StateFailed]); i++ {
		o, err := order(fmt.Sprintf("demo-out-%d", i+1), BankChannel, channel.PayOut, i, fmt.Sprintf("%d.00", 20+7*i), false)
		if err != nil {
			return err
		}
		if o == nil {
			continue
		}
		sm.Settle()
		if o, err = svc.GetOrder(ctx, o.ID, nil); err != nil {
			return err
		}
		outcomes[o.State] = true
	}
	// Still processing: the simulator decides them within a minute or two.
	for i, amount := range []string{"66.00", "18.88"} {
		if _, err := order(fmt.Sprintf("demo-in-%d", i+5), AppChannel, channel.PayIn, i+4, amount, false); err != nil {
			return err
		}
	}
	// No answer: the channel is down; the order's follow-up asks again.
	sm.SetDown(true)
	_, err = order("demo-out-unknown", BankChannel, channel.PayOut, 5, "45.00", false)
	sm.SetDown(false)
	if err != nil {
		return err
	}
	// Not sent yet: its follow-up job sends it in a few seconds.
	_, err = order("demo-in-queued", AppChannel, channel.PayIn, 6, "8.00", true)
	return err
}

// demoWallets returns some of the sample customers' wallets.
func demoWallets(ctx context.Context, db *store.DB) ([]string, error) {
	rows, err := db.Read.QueryContext(ctx, `SELECT account_id FROM customer_accounts
		WHERE institution_id = $1 AND product_id = $2 ORDER BY account_id LIMIT 8`, Bank, WalletProduct)
	if err != nil {
		return nil, fmt.Errorf("demo: wallets: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("demo: no customer wallets; SeedAccounts must run first")
	}
	return out, nil
}
