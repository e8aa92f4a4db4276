package recon_test

import (
	"sync"
	"testing"
	"time"

	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
	"github.com/suanpan/suanpan/internal/recon"
	"github.com/suanpan/suanpan/internal/recon/match"
	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

func TestImport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, sim.Config{})
		ch := w.channels[channel.BankTransfer]
		w.useCSV(ch, nil)
		file := csvOf([]line{{ref: "A1", amount: "1.00"}, {ref: "A2", amount: "2.50", fee: "0.01"}, {ref: "A3", dir: channel.PayOut, amount: "3.00"}})
		imp := func(date string, content []byte) (*recon.Statement, bool, error) {
			return w.rec.Import(w.ctx, recon.ImportRequest{ChannelID: ch.ID, Date: date, Content: content, By: "k1"})
		}
		st, dup, err := imp(day, file)
		if err != nil || dup {
			t.Fatalf("first import: %v (duplicate %v)", err, dup)
		}
		if st.Lines != 3 || st.Credits != 350 || st.Debits != 300 || st.Fees != 1 || len(st.SHA256) != 64 {
			t.Errorf("statement %+v", st)
		}
		again, dup, err := imp(day, file)
		if err != nil || !dup || again.ID != st.ID {
			t.Errorf("same file again: %v, duplicate %v, id %s want %s", err, dup, again.ID, st.ID)
		}
		if _, content, err := w.rec.StatementFile(w.ctx, st.ID, nil); err != nil || string(content) != string(file) {
			t.Errorf("stored file differs: %v", err)
		}
		refused := []struct {
			name string
			date string
			file []byte
			code recon.Code
		}{
			{"another file for the date", day, csvOf([]line{{ref: "A1", amount: "1.01"}}), recon.CodeStatementExists},
			{"a line of another day", "2026-11-23", csvOf([]line{{ref: "B1", amount: "1.00"}}), recon.CodeStatementInvalid},
			{"an amount that does not parse", "2026-11-20", []byte("order_id,channel_ref,direction,amount,fee,status,time,party\n,B2,pay_in,1.001,0,succeeded,2026-11-20T10:00:00Z,\n"), recon.CodeStatementInvalid},
			{"a status the map does not know", "2026-11-20", []byte("order_id,channel_ref,direction,amount,fee,status,time,party\n,B2,pay_in,1.00,0,done,2026-11-20T10:00:00Z,\n"), recon.CodeStatementInvalid},
			{"an empty file", "2026-11-20", nil, recon.CodeInvalidRequest},
			{"a malformed date", "21/11/2026", file, recon.CodeInvalidRequest},
		}
		for _, tc := range refused {
			if _, _, err := imp(tc.date, tc.file); recon.ErrorCode(err) != tc.code {
				t.Errorf("%s: got %v, want %s", tc.name, err, tc.code)
			}
		}
		sts, _, err := w.rec.ListStatements(w.ctx, recon.StatementFilter{ChannelID: ch.ID})
		if err != nil || len(sts) != 1 {
			t.Errorf("statements after refused imports: %d, %v", len(sts), err)
		}
		if _, _, err := w.rec.Import(w.ctx, recon.ImportRequest{ChannelID: ch.ID, Date: day, Content: file, Scope: []string{"bank-b"}}); err == nil {
			t.Error("an import out of scope was accepted")
		}
	})
}

func TestDryRunWritesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, sim.Config{})
		ch := w.channels[channel.BankTransfer]
		w.useCSV(ch, nil)
		acct := w.wallet(0)
		o := w.order(ch, channel.PayIn, acct, 10000, payments.StateCreated, "")
		w.importCSV(ch, day, []line{{order: o.ID, amount: "100.00"}, {ref: "L1", amount: "5.00"}})
		w.clock.Advance(72 * time.Hour)
		dry, err := w.rec.Run(w.ctx, recon.RunRequest{ChannelID: ch.ID, Date: day, DryRun: true, By: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		if len(dry.Items) != 2 || dry.Items[0].Action != recon.ActionSettle || dry.Items[1].Action != recon.ActionPark ||
			dry.Items[1].Kind != match.Long || dry.Items[1].Effect != 500 {
			t.Errorf("dry run items: %+v", dry.Items)
		}
		if got := w.getOrder(o.ID).State; got != payments.StateCreated {
			t.Errorf("a dry run settled the order: %s", got)
		}
		runs, _, _ := w.rec.ListRuns(w.ctx, recon.RunFilter{})
		if len(runs) != 0 || w.balance(w.suspense) != 0 {
			t.Errorf("a dry run left %d runs and suspense %d", len(runs), w.balance(w.suspense))
		}
		// The real run does what the dry run said.
		run := w.run(ch, day)
		if run.Counts["auto_resolved"] != 1 || run.Counts["open"] != 1 || w.getOrder(o.ID).State != payments.StateSucceeded {
			t.Errorf("run %v, order %s", run.Counts, w.getOrder(o.ID).State)
		}
		w.checkBooks()
	})
}

// TestResolve decides parked discrepancies every way an operator can and
// checks where the money ends up.
func TestResolve(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, sim.Config{})
		ch := w.channels[channel.BankTransfer]
		w.useCSV(ch, func(s *recon.Settings) { s.AutoFailShort = false })
		acct := w.wallet(50000)
		failedOrder := w.order(ch, channel.PayIn, acct, 2000, payments.StateFailed, "F1")
		okOrder := w.order(ch, channel.PayIn, acct, 3000, payments.StateSucceeded, "K1")
		shortOrder := w.order(ch, channel.PayIn, acct, 4000, payments.StateSucceeded, "S1")
		w.importCSV(ch, day, []line{
			{ref: "L1", amount: "10.00"},                  // long
			{ref: "L2", amount: "11.00"},                  // long, written off
			{order: failedOrder.ID, amount: "20.00"},      // channel success for a failed order
			{order: okOrder.ID, amount: "31.00"},          // amount mismatch
			{ref: "L3", amount: "12.00"},                  // long, the channel will correct it
			{ref: "L4", dir: channel.PayOut, amount: "1"}, // long pay-out, write-off rejected
		})
		w.clock.Advance(72 * time.Hour)
		run := w.run(ch, day)
		byLine := map[int]*recon.Discrepancy{}
		var short *recon.Discrepancy
		for _, d := range w.discrepancies(run.ID) {
			if d.LineNo == 0 {
				short = d
			}
			byLine[d.LineNo] = d
		}
		if len(byLine) != 7 || short == nil || short.OrderIDs[0] != shortOrder.ID {
			t.Fatalf("discrepancies by line: %v", byLine)
		}
		w.checkBooks()
		wallet := w.balance(acct)
		resolve := func(d *recon.Discrepancy, action, account, by string) (*recon.Discrepancy, error) {
			return w.rec.Resolve(w.ctx, recon.ResolveRequest{ID: d.ID, Action: action, AccountID: account, Note: "checked", By: by})
		}
		// A long line needs the account it belongs to.
		if _, err := resolve(byLine[2], recon.ResolutionAcceptChannel, "", "op1"); recon.ErrorCode(err) != recon.CodeInvalidRequest {
			t.Errorf("accept channel without an account: %v", err)
		}
		if _, err := resolve(byLine[2], "", "", "op1"); recon.ErrorCode(err) != recon.CodeInvalidRequest {
			t.Errorf("no action: %v", err)
		}
		steps := []struct {
			name   string
			d      *recon.Discrepancy
			action string
			acct   string
			wallet int64 // the wallet's change
		}{
			{"long: the customer gets the channel's money", byLine[2], recon.ResolutionAcceptChannel, acct, 1000},
			{"failed order the channel paid: credited", byLine[4], recon.ResolutionAcceptChannel, "", 2000},
			{"amount mismatch: the customer gets the extra yuan", byLine[5], recon.ResolutionAcceptChannel, "", 100},
			{"long the channel will correct: unparked", byLine[6], recon.ResolutionAcceptOwn, "", 0},
			{"short: the order fails and is compensated", short, recon.ResolutionAcceptChannel, "", -4000},
		}
		for _, s := range steps {
			got, err := resolve(s.d, s.action, s.acct, "op1")
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if got.Status != recon.StatusResolved || got.Resolution != s.action || got.ResolvedBy != "op1" {
				t.Errorf("%s: %+v", s.name, got)
			}
			if now := w.balance(acct); now-wallet != s.wallet {
				t.Errorf("%s: the wallet moved %d, want %d", s.name, now-wallet, s.wallet)
			}
			wallet = w.balance(acct)
			w.checkBooks()
			if _, err := resolve(s.d, s.action, s.acct, "op1"); recon.ErrorCode(err) != recon.CodeDiscrepancyClosed {
				t.Errorf("%s twice: %v", s.name, err)
			}
		}
		if got := w.getOrder(shortOrder.ID); got.State != payments.StateFailed || got.ReversalID == "" {
			t.Errorf("short order: %s, reversal %q", got.State, got.ReversalID)
		}
		// Write-offs take two people.
		wo, err := resolve(byLine[3], recon.ResolutionWriteOff, "", "op1")
		if err != nil || wo.Status != recon.StatusWriteOffPending || wo.ProposedBy != "op1" {
			t.Fatalf("propose write-off: %+v, %v", wo, err)
		}
		w.checkBooks()
		if _, err := w.rec.DecideWriteOff(w.ctx, recon.DecideRequest{ID: wo.ID, Approve: true, By: "op1"}); recon.ErrorCode(err) != recon.CodeApproverIsMaker {
			t.Errorf("the proposer approved: %v", err)
		}
		before := w.balance(w.writeOff)
		got, err := w.rec.DecideWriteOff(w.ctx, recon.DecideRequest{ID: wo.ID, Approve: true, By: "chk1", Note: "small"})
		if err != nil || got.Status != recon.StatusResolved || got.Resolution != recon.ResolutionWriteOff || got.ResolveTx == "" {
			t.Fatalf("approve write-off: %+v, %v", got, err)
		}
		// The write-off account is debit-normal: a gain lowers it.
		if after := w.balance(w.writeOff); after-before != -1100 {
			t.Errorf("write-off account moved %d, want -1100", after-before)
		}
		w.checkBooks()
		payout, err := resolve(byLine[7], recon.ResolutionWriteOff, "", "op1")
		if err != nil {
			t.Fatal(err)
		}
		rej, err := w.rec.DecideWriteOff(w.ctx, recon.DecideRequest{ID: payout.ID, Approve: false, By: "chk1", Note: "find it"})
		if err != nil || rej.Status != recon.StatusOpen || rej.ProposedBy != "" {
			t.Errorf("reject write-off: %+v, %v", rej, err)
		}
		if _, err := w.rec.DecideWriteOff(w.ctx, recon.DecideRequest{ID: payout.ID, Approve: true, By: "chk1"}); recon.ErrorCode(err) != recon.CodeDiscrepancyClosed {
			t.Errorf("approve what is not proposed: %v", err)
		}
		w.checkBooks()
		open, _, _ := w.rec.ListDiscrepancies(w.ctx, recon.DiscrepancyFilter{Status: recon.StatusOpen})
		if len(open) != 1 || open[0].ID != payout.ID {
			t.Errorf("open discrepancies: %d", len(open))
		}
		var events int
		if err := w.db.Read.QueryRowContext(w.ctx, `SELECT COUNT(*) FROM events WHERE type = $1`, recon.EventDiscrepancyResolved).Scan(&events); err != nil || events != 6 {
			t.Errorf("%d resolved events, want 6 (%v)", events, err)
		}
	})
}

// TestRepeatAcrossRuns lists an order reconciled yesterday on today's
// statement again: a duplicate, parked.
func TestRepeatAcrossRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, sim.Config{})
		ch := w.channels[channel.BankTransfer]
		w.useCSV(ch, nil)
		acct := w.wallet(0)
		o := w.order(ch, channel.PayIn, acct, 10000, payments.StateSucceeded, "R1")
		w.importCSV(ch, day, []line{{order: o.ID, ref: "R1", amount: "100.00"}})
		if run := w.run(ch, day); run.Counts["matched"] != 1 {
			t.Fatalf("day 1: %v", run.Counts)
		}
		w.clock.Advance(24 * time.Hour)
		w.importCSV(ch, "2026-11-22", []line{{order: o.ID, ref: "R1", amount: "100.00", at: t0.Add(25 * time.Hour)}})
		run := w.run(ch, "2026-11-22")
		ds := w.discrepancies(run.ID)
		if len(ds) != 1 || ds[0].Kind != match.Duplicate || ds[0].Effect != 10000 || ds[0].OrderIDs[0] != o.ID {
			t.Errorf("day 2: %v, %+v", run.Counts, ds)
		}
		w.checkBooks()
	})
}

// TestAlerts alerts when a run leaves more open than the thresholds, and
// reconciles a head office with its branches in one call.
func TestAlerts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, sim.Config{})
		bank, pos := w.channels[channel.BankTransfer], w.channels[channel.POSCard]
		w.useCSV(bank, func(s *recon.Settings) { s.AlertCount, s.AlertAmount = 1, 100000 })
		w.useCSV(pos, func(s *recon.Settings) { s.AlertCount, s.AlertAmount = 5, 1000 })
		w.importCSV(bank, day, []line{{ref: "A1", amount: "1.00"}})                              // one open: under both
		w.importCSV(pos, day, []line{{ref: "P1", amount: "10.00"}, {ref: "P2", amount: "0.01"}}) // 1001 open: over the amount
		w.clock.Advance(72 * time.Hour)
		out, err := w.rec.RunBranches(w.ctx, recon.BranchRequest{InstitutionIDs: []string{inst}, Date: day, By: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Runs) != 2 || len(out.Missing) != len(w.channels)-2 || out.Open != 3 || out.OpenAmount != 1101 || !out.Alerted {
			t.Errorf("branches: %d runs, %d missing, open %d (%d), alerted %v", len(out.Runs), len(out.Missing), out.Open,
				out.OpenAmount, out.Alerted)
		}
		for _, r := range out.Runs {
			if want := r.ChannelID == pos.ID; r.Alerted != want {
				t.Errorf("run of %s alerted %v", r.ChannelID, r.Alerted)
			}
		}
		var alerts int
		if err := w.db.Read.QueryRowContext(w.ctx, `SELECT COUNT(*) FROM events WHERE type = $1`, recon.EventAlert).Scan(&alerts); err != nil || alerts != 1 {
			t.Errorf("%d alerts, want 1 (%v)", alerts, err)
		}
		// Another branch's key sees none of it.
		if out, err := w.rec.RunBranches(w.ctx, recon.BranchRequest{InstitutionIDs: []string{inst}, Date: day, Scope: []string{"bank-b"}}); err != nil || len(out.Runs) != 0 {
			t.Errorf("out of scope: %v, %v", out, err)
		}
	})
}

// TestConcurrentRuns starts eight runs of one statement at once: the
// items are recorded once, whoever wins, and a run that read them before
// another recorded them is refused rather than recording them again.
func TestConcurrentRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, sim.Config{})
		ch := w.channels[channel.BankTransfer]
		w.useCSV(ch, nil)
		acct := w.wallet(0)
		var lines []line
		for i := range 20 {
			o := w.order(ch, channel.PayIn, acct, int64(100+i), payments.StateSucceeded, "")
			lines = append(lines, line{order: o.ID, amount: money.Format(int64(100+i), 2)})
		}
		lines = append(lines, line{ref: "L1", amount: "3.00"})
		w.importCSV(ch, day, lines)
		w.clock.Advance(72 * time.Hour)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				_, err := w.rec.Run(w.ctx, recon.RunRequest{ChannelID: ch.ID, Date: day, By: "k1"})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil && recon.ErrorCode(err) != recon.CodeRunConflict {
				t.Errorf("run: %v", err)
			}
		}
		var matched, open int
		runs, _, _ := w.rec.ListRuns(w.ctx, recon.RunFilter{ChannelID: ch.ID})
		for _, r := range runs {
			matched += r.Counts["matched"]
			open += r.Counts["open"]
		}
		if matched != 20 || open != 1 {
			t.Errorf("over %d runs: %d matched, %d open; want 20 and 1", len(runs), matched, open)
		}
		w.checkBooks()
	})
}

// TestSuspenseMissing refuses a run that must park a difference when the
// institution has no suspense account, before it records anything.
func TestSuspenseMissing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, sim.Config{})
		if _, err := db.Write.ExecContext(w.ctx, `DELETE FROM internal_accounts WHERE role = 'suspense'`); err != nil {
			t.Fatal(err)
		}
		ch := w.channels[channel.BankTransfer]
		w.useCSV(ch, nil)
		w.importCSV(ch, day, []line{{ref: "L1", amount: "1.00"}})
		w.clock.Advance(72 * time.Hour)
		_, err := w.rec.Run(w.ctx, recon.RunRequest{ChannelID: ch.ID, Date: day, By: "k1"})
		if recon.ErrorCode(err) != recon.CodeInternalAccountMissing {
			t.Fatalf("run: %v, want %s", err, recon.CodeInternalAccountMissing)
		}
		if runs, _, _ := w.rec.ListRuns(w.ctx, recon.RunFilter{}); len(runs) != 0 {
			t.Errorf("%d runs recorded", len(runs))
		}
	})
}
