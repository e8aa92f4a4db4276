package recon_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/eod"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
	"github.com/suanpan/suanpan/internal/recon"
	"github.com/suanpan/suanpan/internal/recon/match"
	"github.com/suanpan/suanpan/internal/recon/statement"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// TestSimulatedDay runs a business day of pay-ins and pay-outs against the
// channel simulator with faults (refusals, starts the channel never
// records, answers that never come because queries give up), plus an order
// an operator marked paid that the channel never saw and a statement line
// nobody here knows. The simulator's statement is imported and the day is
// closed; then Suanpan must agree with the channel on every order, the
// trial balance must be equal, suspense must hold exactly the open
// differences, and the vouchers must balance and equal the day's ledger
// movement per account code.
func TestSimulatedDay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, sim.Config{Seed: 11, FailRate: 1500, TimeoutRate: 1000, MinDelay: time.Minute, MaxDelay: 30 * time.Minute})
		ch := w.channels[channel.BankTransfer]
		// Queries give up at once: what the channel decides later only its
		// statement tells.
		if _, err := w.pay.UpdateChannel(w.ctx, ch.ID, payments.ChannelSpec{Endpoint: ch.Endpoint, MerchantID: ch.MerchantID,
			Asset: ch.Asset, Params: payments.Params{TimeoutMs: 500, Retry: payments.RetryPolicy{MaxAttempts: 1, BackoffMs: 60_000,
				MaxBackoffMs: 60_000}}}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := w.rec.PutSettings(w.ctx, recon.Settings{ChannelID: ch.ID, Format: defaultFormat(), DateToleranceMs: 3_600_000,
			LateWindowMs: 3_600_000, AutoFailShort: true}, "k1", nil); err != nil {
			t.Fatal(err)
		}
		wallets := make([]string, 8)
		for i := range wallets {
			wallets[i] = w.wallet(1_000_000)
		}
		var orders []*payments.Order
		for i := range 80 {
			d := channel.PayIn
			if i%4 == 3 {
				d = channel.PayOut
			}
			o, _, err := w.pay.Create(w.ctx, payments.OrderRequest{Reference: fmt.Sprintf("day-%d", i), ChannelID: ch.ID, Direction: d,
				Account: wallets[i%len(wallets)], Amount: int64(1000 + 37*i), Party: "6222000011112222", CreatedBy: "k1"})
			if err != nil {
				t.Fatal(err)
			}
			orders = append(orders, o)
			w.clock.Advance(3 * time.Minute)
			w.sim.Step()
			if _, err := w.jobs.RunDue(w.ctx); err != nil {
				t.Fatal(err)
			}
		}
		// An operator settles an order by hand that never reached the
		// channel: Suanpan has it paid, the channel has nothing.
		ghost := w.order(ch, channel.PayIn, wallets[0], 4242, payments.StateSucceeded, "GHOST")
		// The channel decides everything before the day ends; the follow-up
		// queries have long given up on some.
		w.clock.Advance(2 * time.Hour)
		w.sim.Settle()
		if _, err := w.jobs.RunDue(w.ctx); err != nil {
			t.Fatal(err)
		}
		unknown := 0
		for _, o := range orders {
			if !w.getOrder(o.ID).State.Final() {
				unknown++
			}
		}
		if unknown == 0 {
			t.Fatal("no order is left without an answer: the day tests nothing")
		}

		// After midnight: the statement, with a line of a payment nobody
		// here knows, and the day's close.
		w.clock.Set(time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC))
		var file bytes.Buffer
		if err := w.sim.WriteStatement(&file, channel.BankTransfer, t0); err != nil {
			t.Fatal(err)
		}
		content := appendForeignLine(t, file.Bytes())
		if _, _, err := w.rec.Import(w.ctx, recon.ImportRequest{ChannelID: ch.ID, Date: day, Content: content, By: "k1"}); err != nil {
			t.Fatal(err)
		}
		runner := eod.New(eod.Config{Ledger: w.ledger, Reconciler: w.rec})
		run, err := runner.Run(w.ctx, day, "k1")
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != eod.StatusCompleted && run.Status != eod.StatusCompletedWithWarnings {
			t.Fatalf("day close: %s", run.Status)
		}
		for _, s := range run.Steps {
			if s.Status != eod.StepDone && s.Status != eod.StepWarning {
				t.Errorf("step %s: %s %s", s.Name, s.Status, s.Error)
			}
		}

		// Suanpan agrees with the channel on every order it sent.
		for _, o := range orders {
			got := w.getOrder(o.ID)
			so, ok := w.sim.Order(channel.BankTransfer, o.ID)
			want := payments.StateFailed // never recorded by the channel
			if ok && so.Status == channel.Succeeded {
				want = payments.StateSucceeded
			}
			if got.State != want {
				t.Errorf("order %s: %s, the channel says %v (recorded %v)", o.ID, got.State, so.Status, ok)
			}
		}
		if got := w.getOrder(ghost.ID); got.State != payments.StateFailed || got.ReversalID == "" {
			t.Errorf("the order the channel never saw: %s, reversal %q", got.State, got.ReversalID)
		}
		// One difference is left: the foreign line, parked.
		open, _, err := w.rec.ListDiscrepancies(w.ctx, recon.DiscrepancyFilter{Status: recon.StatusOpen})
		if err != nil {
			t.Fatal(err)
		}
		if len(open) != 1 || open[0].Kind != match.Long || open[0].Effect != 777 {
			t.Errorf("open discrepancies: %+v", open)
		}
		w.checkBooks()
		tb, err := w.ledger.TrialBalance(w.ctx, nil)
		if err != nil || !tb.Balanced {
			t.Errorf("trial balance: %+v, %v", tb, err)
		}

		// The vouchers balance and are the day's movement per code.
		a, err := runner.Artifact(w.ctx, day, "vouchers-"+inst+"-"+day+".json", nil)
		if err != nil {
			t.Fatal(err)
		}
		var v accounts.Voucher
		if err := json.Unmarshal(a.Content, &v); err != nil {
			t.Fatal(err)
		}
		if !v.Balanced {
			t.Errorf("voucher unbalanced: %+v", v.Totals)
		}
		movement := dayMovement(t, w, day)
		for _, l := range v.Lines {
			m := movement[l.Code]
			if l.Debit != m[0] || l.Credit != m[1] {
				t.Errorf("voucher code %s: debit %d credit %d; the ledger moved %d and %d", l.Code, l.Debit, l.Credit, m[0], m[1])
			}
			delete(movement, l.Code)
		}
		if len(movement) != 0 {
			t.Errorf("codes that moved but have no voucher line: %v", movement)
		}

		// Closing the day again changes nothing.
		again, err := runner.Run(w.ctx, day, "k1")
		if err != nil || again.ManifestSHA256 != run.ManifestSHA256 || again.Attempts != run.Attempts {
			t.Errorf("second close: %+v, %v", again, err)
		}
	})
}

// defaultFormat is the channel's own statement format.
func defaultFormat() statement.Format { return statement.Format{Kind: statement.KindNative} }

// appendForeignLine adds to a bank_transfer statement a 7.77 credit with a
// reference no order has.
func appendForeignLine(t *testing.T, file []byte) []byte {
	t.Helper()
	lines := bytes.Split(bytes.TrimRight(file, "\n"), []byte("\n"))
	if len(lines) < 2 {
		t.Fatalf("statement without lines: %q", file)
	}
	// Copy the last line, giving it another order ID, reference and
	// amount: the format stays the channel's own.
	last := string(lines[len(lines)-1])
	foreign, err := rewriteBankLine(last, "FOREIGN-ORDER", "FOREIGN-REF", 777)
	if err != nil {
		t.Fatal(err)
	}
	return append(bytes.Join(append(lines, []byte(foreign)), []byte("\n")), '\n')
}

// dayMovement sums the day's posted entries per account code: [debits,
// credits], read from the ledger's transactions.
func dayMovement(t *testing.T, w *world, date string) map[string][2]int64 {
	t.Helper()
	out := map[string][2]int64{}
	codes := map[string]string{}
	after := ""
	for {
		trs, next, err := w.ledger.ListTransactions(w.ctx, ledger.TransactionFilter{InstitutionIDs: []string{inst}, After: after, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range trs {
			if tr.BusinessDate != date {
				continue
			}
			for _, e := range tr.Entries {
				if e.Kind != ledger.EntryPosted {
					continue
				}
				code, ok := codes[e.AccountID]
				if !ok {
					a, err := w.ledger.GetAccount(w.ctx, e.AccountID)
					if err != nil {
						t.Fatal(err)
					}
					code, codes[e.AccountID] = a.Code, a.Code
				}
				m := out[code]
				i := 1
				if e.Side == ledger.Debit {
					i = 0
				}
				if m[i], err = money.Add(m[i], e.Amount); err != nil {
					t.Fatal(err)
				}
				out[code] = m
			}
		}
		if next == "" {
			return out
		}
		after = next
	}
}

// rewriteBankLine is a bank_transfer statement line (order_id, reference,
// type, amount, fee, asset, status, time) for another order: a completed
// collection of amount.
func rewriteBankLine(line, orderID, ref string, amount int64) (string, error) {
	rec := strings.Split(line, ",")
	if len(rec) != 8 {
		return "", fmt.Errorf("bank_transfer statement line %q has %d fields", line, len(rec))
	}
	rec[0], rec[1], rec[2], rec[3], rec[4], rec[6] = orderID, ref, "collection", strconv.FormatInt(amount, 10), "0", "COMPLETED"
	return strings.Join(rec, ","), nil
}

// TestCrashAfterRecording leaves a run recorded but its rules and parking
// not applied, as a crash would; the end of day's reconciliation finishes
// it instead of reconciling again, and a second call changes nothing.
func TestCrashAfterRecording(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, sim.Config{})
		ch := w.channels[channel.BankTransfer]
		w.useCSV(ch, nil)
		acct := w.wallet(0)
		created := w.order(ch, channel.PayIn, acct, 10000, payments.StateCreated, "")
		w.importCSV(ch, day, []line{{order: created.ID, amount: "100.00"}, {ref: "L1", amount: "5.00"}})
		w.clock.Advance(72 * time.Hour)
		run, err := w.rec.Prepare(w.ctx, recon.RunRequest{ChannelID: ch.ID, Date: day, By: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := w.rec.GetRun(w.ctx, run.ID, nil); got.Status != recon.RunResolving {
			t.Fatalf("recorded run is %s", got.Status)
		}
		for range 2 {
			sum, err := w.rec.ReconcileDay(w.ctx, day, "eod")
			if err != nil {
				t.Fatal(err)
			}
			var c *eod.ReconChannel
			for i := range sum.Channels {
				if sum.Channels[i].ChannelID == ch.ID {
					c = &sum.Channels[i]
				}
			}
			if c == nil || c.RunID != run.ID || c.Discrepancies != 1 || c.OpenAmount != 500 {
				t.Errorf("summary: %+v", c)
			}
			if got := w.getOrder(created.ID).State; got != payments.StateSucceeded {
				t.Errorf("order %s", got)
			}
			w.checkBooks()
		}
		runs, _, _ := w.rec.ListRuns(w.ctx, recon.RunFilter{ChannelID: ch.ID})
		if len(runs) != 1 || runs[0].Status != recon.RunDone {
			t.Errorf("runs: %+v", runs)
		}
	})
}
