package payments_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

func codeOf(err error) string {
	var pe *payments.Error
	if errors.As(err, &pe) {
		return string(pe.Code)
	}
	return string(ledger.ErrorCode(err))
}

// Bad orders are refused with their code and change nothing; a retried
// request returns the first order.
func TestCreateRefusesAndReplays(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, worldOptions{})
		acct := w.wallet(cny("50.00"))
		bank := w.channels[channel.BankTransfer]
		limited := *bank
		limited.Params.Limits = map[channel.Direction]payments.Limits{channel.PayOut: {PerTxnMax: cny("20.00"), DailyCount: 2}}
		if _, err := w.svc.UpdateChannel(w.ctx, bank.ID, payments.ChannelSpec{Name: bank.Name, Endpoint: bank.Endpoint,
			MerchantID: bank.MerchantID, Params: limited.Params}, nil); err != nil {
			t.Fatal(err)
		}
		payout := func(ref string, amount int64) payments.OrderRequest {
			return payments.OrderRequest{Reference: ref, ChannelID: bank.ID, Direction: channel.PayOut, Account: acct,
				Amount: amount, Party: "6222"}
		}
		first := w.create(payout("p1", cny("10.00")))
		again, dup, err := w.svc.Create(w.ctx, payout("p1", cny("10.00")))
		if err != nil || !dup || again.ID != first.ID {
			t.Fatalf("retry = %v dup %v %v; want the first order", again, dup, err)
		}
		tests := []struct {
			name string
			r    payments.OrderRequest
			want string
		}{
			{"reference reused for another order", payout("p1", cny("11.00")), string(payments.CodeReferenceConflict)},
			{"over the per-order limit", payout("p2", cny("20.01")), string(payments.CodeChannelLimitExceeded)},
			{"insufficient funds for the hold", func() payments.OrderRequest {
				r := payout("p3", cny("19.00"))
				r.Account = w.wallet(cny("1.00"))
				return r
			}(),
				string(ledger.CodeInsufficientFunds)},
			{"no party for a pay-out", func() payments.OrderRequest { r := payout("p4", 100); r.Party = ""; return r }(), string(payments.CodeInvalidRequest)},
			{"direction the kind lacks", payments.OrderRequest{Reference: "p5", ChannelID: w.channels[channel.CashCounter].ID,
				Direction: channel.Refund, Account: acct, Amount: 100, Original: "x"}, string(payments.CodeDirectionNotSupported)},
			{"unknown channel", func() payments.OrderRequest { r := payout("p6", 100); r.ChannelID = "nope"; return r }(), string(payments.CodeChannelNotFound)},
			{"out of scope", func() payments.OrderRequest { r := payout("p7", 100); r.Scope = []string{"bank-b"}; return r }(), string(payments.CodeChannelNotFound)},
			{"zero amount", payout("p8", 0), string(payments.CodeInvalidRequest)},
		}
		for _, tc := range tests {
			_, _, err := w.svc.Create(w.ctx, tc.r)
			if got := codeOf(err); got != tc.want {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
			}
		}
		// The daily count: p1 used one; one more fits, the next does not.
		w.create(payout("p9", cny("1.00")))
		if _, _, err := w.svc.Create(w.ctx, payout("p10", cny("1.00"))); codeOf(err) != string(payments.CodeChannelLimitExceeded) {
			t.Errorf("third pay-out of the day: %v, want %s", err, payments.CodeChannelLimitExceeded)
		}
		// Refused orders left nothing: two orders, two holds.
		orders, _, err := w.svc.ListOrders(w.ctx, payments.OrderFilter{})
		if err != nil || len(orders) != 2 {
			t.Fatalf("orders = %d (%v), want 2", len(orders), err)
		}
		if b := w.balance(acct); b.DebitsPending != cny("11.00") {
			t.Errorf("pending %d, want the two holds (11.00)", b.DebitsPending)
		}
		// A change of the channel applies to the next order at once.
		if _, err := w.svc.UpdateChannel(w.ctx, bank.ID, payments.ChannelSpec{Name: bank.Name, Endpoint: bank.Endpoint,
			MerchantID: bank.MerchantID, Status: payments.ChannelDisabled}, nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.svc.Create(w.ctx, payout("p11", 100)); codeOf(err) != string(payments.CodeChannelDisabled) {
			t.Errorf("order on a disabled channel: %v", err)
		}
		w.verify()
	})
}

// A refund returns part of a pay-in through the channel; refunds never
// exceed it. A success the channel later fails is compensated by a
// reversal, once.
func TestRefundAndCompensation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, worldOptions{})
		acct := w.wallet(cny("100.00"))
		qr := w.channels[channel.QRWallet]
		in := w.create(payments.OrderRequest{Reference: "in", ChannelID: qr.ID, Direction: channel.PayIn, Account: acct, Amount: cny("30.00")})
		w.sim.Settle()
		if got := w.order(in.ID); got.State != payments.StateSucceeded || got.TransactionID == "" {
			t.Fatalf("pay-in %s, want succeeded with its credit", got.State)
		}
		refund := func(ref string, amount int64) (*payments.Order, error) {
			o, _, err := w.svc.Create(w.ctx, payments.OrderRequest{Reference: ref, ChannelID: qr.ID, Direction: channel.Refund,
				Account: acct, Amount: amount, Original: in.ID})
			return o, err
		}
		r1, err := refund("rf1", cny("20.00"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := refund("rf2", cny("10.01")); codeOf(err) != string(payments.CodeInvalidRequest) {
			t.Errorf("refund beyond the pay-in: %v, want invalid_request", err)
		}
		w.sim.Settle()
		if got := w.order(r1.ID); got.State != payments.StateSucceeded {
			t.Fatalf("refund %s", got.State)
		}
		if bal := w.balance(acct); bal.CreditsPosted-bal.DebitsPosted != cny("110.00") {
			t.Errorf("balance after the refund %+v, want 110.00", bal)
		}
		// The channel reverses the pay-in afterwards (a chargeback): the
		// credit is reversed; a repeat changes nothing.
		for range 2 {
			if _, err := w.svc.Settle(w.ctx, in.ID, channel.Failed, "", "operator", "chargeback", nil); err != nil {
				t.Fatal(err)
			}
		}
		got := w.order(in.ID)
		if got.State != payments.StateFailed || got.ReversalID == "" {
			t.Fatalf("after chargeback: %s reversal %q", got.State, got.ReversalID)
		}
		if bal := w.balance(acct); bal.CreditsPosted-bal.DebitsPosted != cny("80.00") {
			t.Errorf("balance after the chargeback %+v, want 80.00", bal)
		}
		if ev := w.events(in.ID); ev["payment_order.failed"] != 1 {
			t.Errorf("events %v, want one failed", ev)
		}
		w.verify()
	})
}

// An order the channel never answers for is queried at the channel's
// backoff until its attempts run out, then left as it is with a stuck note.
func TestQueriesGiveUpAndLeaveTheOrderForReconciliation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, worldOptions{retry: payments.RetryPolicy{MaxAttempts: 3, BackoffMs: 1000, MaxBackoffMs: 4000}})
		acct := w.wallet(cny("10.00"))
		w.sim.SetDown(true)
		o := w.create(payments.OrderRequest{Reference: "x", ChannelID: w.channels[channel.BankTransfer].ID,
			Direction: channel.PayOut, Account: acct, Amount: 500, Party: "6222"})
		if o.State != payments.StateUnknown {
			t.Fatalf("state %s, want unknown (the channel is down)", o.State)
		}
		w.settle(5*time.Second, 10)
		if got := w.order(o.ID); got.State != payments.StateUnknown {
			t.Fatalf("state %s: a channel's silence decided the order", got.State)
		}
		if ev := w.events(o.ID); ev[payments.EventOrderStuck] != 1 {
			t.Errorf("events %v, want one stuck", ev)
		}
		if b := w.balance(acct); b.DebitsPending != 500 {
			t.Errorf("hold released without an answer: %+v", b)
		}
	})
}

// A bulk file becomes orders through the same machinery; bad lines are
// rejected alone, the result file lists every line, and the batch
// completes once every order has an outcome, with one event.
func TestBulkPayouts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, worldOptions{sim: sim.Config{FailRate: 3000}})
		acct := w.wallet(cny("1000.00"))
		var f strings.Builder
		f.WriteString(payments.BatchHeader + "\n")
		for i := range 20 {
			f.WriteString("l" + string(rune('a'+i)) + "," + acct + ",1.50,6222,Payee,,\n")
		}
		f.WriteString("bad1," + acct + ",1.555,6222,,,\n")
		f.WriteString("bad2,nope,1.00,6222,,,\n")
		up := payments.BatchUpload{Reference: "nov-salaries", ChannelID: w.channels[channel.BankTransfer].ID,
			Direction: channel.PayOut, Content: []byte(f.String())}
		b, dup, err := w.svc.UploadBatch(w.ctx, up)
		if err != nil || dup {
			t.Fatalf("upload: %v dup %v", err, dup)
		}
		if _, dup, err := w.svc.UploadBatch(w.ctx, up); err != nil || !dup {
			t.Fatalf("re-upload: %v dup %v, want the stored batch", err, dup)
		}
		w.run() // the batch job: lines → orders (started by their start jobs)
		w.settle(5*time.Second, 3)
		w.sim.Settle()
		w.settle(5*time.Second, 3)
		got, err := w.svc.GetBatch(w.ctx, b.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != payments.BatchCompleted || got.Rejected != 2 || got.Succeeded+got.Failed != 20 || got.OpenOrders != 0 {
			t.Fatalf("batch %+v", got)
		}
		var res bytes.Buffer
		if err := w.svc.WriteBatchResult(w.ctx, &res, b.ID, nil); err != nil {
			t.Fatal(err)
		}
		if lines := strings.Count(res.String(), "\n"); lines != 23 {
			t.Errorf("result file has %d lines, want header + 22:\n%s", lines, res.String())
		}
		var n int
		if err := db.Read.QueryRowContext(w.ctx, `SELECT COUNT(*) FROM events WHERE type = $1`, payments.EventBatchCompleted).Scan(&n); err != nil || n != 1 {
			t.Errorf("%d completion events (%v), want 1", n, err)
		}
		if bal := w.balance(acct); bal.CreditsPosted-bal.DebitsPosted != cny("1000.00")-int64(got.Succeeded)*150 || bal.DebitsPending != 0 {
			t.Errorf("balance %+v after %d successes", bal, got.Succeeded)
		}
		w.verify()
	})
}

// The channel took a pay-in but the account refuses the credit (frozen):
// the order fails with the refusal's code, nothing is posted, and the
// failure is one event.
func TestPayInCreditRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, worldOptions{})
		acct := w.wallet(cny("1.00"))
		o := w.create(payments.OrderRequest{Reference: "in", ChannelID: w.channels[channel.QRWallet].ID,
			Direction: channel.PayIn, Account: acct, Amount: cny("5.00")})
		if _, _, err := w.ledger.SetStatus(w.ctx, ledger.StatusChange{AccountID: acct, Status: ledger.StatusFrozen}); err != nil {
			t.Fatal(err)
		}
		w.sim.Settle()
		got := w.order(o.ID)
		if got.State != payments.StateFailed || got.FailureCode != string(ledger.CodeAccountFrozen) || got.TransactionID != "" {
			t.Fatalf("order %s %q %q, want failed with account_frozen and no posting", got.State, got.FailureCode, got.TransactionID)
		}
		trs, err := w.svc.Transitions(w.ctx, o.ID, nil)
		if err != nil || trs[len(trs)-1].Cause != payments.CauseCredit {
			t.Errorf("last transition %+v (%v), want cause %s", trs[len(trs)-1], err, payments.CauseCredit)
		}
		if b := w.balance(acct); b.CreditsPosted != cny("1.00") {
			t.Errorf("balance %+v: the refused credit posted", b)
		}
		if ev := w.events(o.ID); ev["payment_order.failed"] != 1 || ev["payment_order.succeeded"] != 0 {
			t.Errorf("events %v", ev)
		}
	})
}
