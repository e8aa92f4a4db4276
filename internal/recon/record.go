package recon

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/uuid"
	"github.com/suanpan/suanpan/internal/outbox"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/recon/match"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
)

// save writes a run's matching in one storage transaction: the run, the
// lines' and orders' states, the discrepancies (new: their rules and
// parking follow).
func (s *Service) save(ctx context.Context, run *Run, plans []plan, sts *states, openBefore int64, writes []Write) error {
	counts, err := json.Marshal(run.Counts)
	if err != nil {
		return fmt.Errorf("encode counts: %w", err)
	}
	discs := make([]*Discrepancy, len(plans))
	for i := range plans {
		p := &plans[i]
		discs[i] = &Discrepancy{ID: uuid.Must(uuid.NewV7()).String(), RunID: run.ID, InstitutionID: run.InstitutionID,
			ChannelID: run.ChannelID, Kind: p.Kind, By: p.By, StatementID: p.stmt, LineNo: p.lineNo, OrderIDs: p.OrderIDs,
			AccountID: p.account, Direction: p.dir, Asset: p.asset, Difference: p.Difference, Effect: p.Effect,
			Detail: clip(p.Detail, 500), Status: StatusNew, Action: p.Action, CreatedAt: run.StartedAt}
	}
	d := s.db.Dialect
	return s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recon_runs (id, institution_id, channel_id, statement_id, date, status, counts,
			started_by, started_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, run.ID, run.InstitutionID, run.ChannelID,
			run.StatementID, run.Date, run.Status, string(counts), run.StartedBy, micros(run.StartedAt)); err != nil {
			return fmt.Errorf("record run: %w", err)
		}
		// Each change is guarded by the state it leaves, so that a run
		// that read the same lines or orders meanwhile cannot record
		// them twice. The statement's own matched lines, most of them,
		// are set in one statement once the others are.
		for k, nos := range sts.lines {
			if err := updateIn(ctx, tx, d, `UPDATE recon_lines SET state = `+d.Placeholder(1)+`, run_id = `+d.Placeholder(2)+
				` WHERE statement_id = `+d.Placeholder(3)+` AND state IN ('open', 'late') AND line_no`,
				[]any{k.state, run.ID, k.stmt}, nos); errors.Is(err, errChanged) {
				return errConcurrentRun(run)
			} else if err != nil {
				return fmt.Errorf("record lines: %w", err)
			}
		}
		r, err := tx.ExecContext(ctx, `UPDATE recon_lines SET state = $1, run_id = $2 WHERE statement_id = $3 AND state = $4`,
			lineMatched, run.ID, run.StatementID, lineOpen)
		if err != nil {
			return fmt.Errorf("record lines: %w", err)
		}
		if n, err := r.RowsAffected(); err != nil || n != int64(sts.stmtMatched) {
			return errConcurrentRun(run)
		}
		for state, ids := range sts.orders {
			if err := updateIn(ctx, tx, d, `UPDATE payment_orders SET recon_state = `+d.Placeholder(1)+`, recon_run = `+d.Placeholder(2)+
				` WHERE recon_state IN ('', 'late') AND id`, []any{state, run.ID}, ids); errors.Is(err, errChanged) {
				return errConcurrentRun(run)
			} else if err != nil {
				return fmt.Errorf("record orders: %w", err)
			}
		}
		// What is left of the open set as it was read is what matched;
		// anything else there (an order created meanwhile) fails the count.
		r, err = tx.ExecContext(ctx, `UPDATE payment_orders SET recon_state = $3, recon_run = $4
			WHERE `+openOrders+` AND recon_run <> $4 AND created_at <= $5`, run.ChannelID, run.Date, orderMatched, run.ID, openBefore)
		if err != nil {
			return fmt.Errorf("record orders: %w", err)
		}
		if n, err := r.RowsAffected(); err != nil || n != int64(sts.openMatched) {
			return errConcurrentRun(run)
		}
		if err := insertDiscrepancies(ctx, tx, d, discs); err != nil {
			return err
		}
		return runWrites(ctx, tx, writes)
	})
}

// errChanged is updateIn's answer when a row it was to change had changed.
var errChanged = errors.New("rows changed meanwhile")

// errConcurrentRun is why save refuses: another run changed what this one
// read.
func errConcurrentRun(run *Run) error {
	return errorf(CodeRunConflict, "channel_id", "another run of channel %s recorded some of the same lines or orders meanwhile; run again",
		run.ChannelID)
}

// updateIn runs q + " IN (keys)" with args first, in chunks of keys, and
// requires every key's row to change (errChanged otherwise); q's own
// placeholders are d.Placeholder's too (SQLite numbers "?" in order).
func updateIn(ctx context.Context, tx *sql.Tx, d store.Dialect, q string, args []any, keys []any) error {
	var b strings.Builder
	for start := 0; start < len(keys); start += insertChunk {
		chunk := keys[start:min(start+insertChunk, len(keys))]
		b.Reset()
		b.WriteString(q)
		b.WriteString(" IN (")
		for i := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(d.Placeholder(len(args) + i + 1))
		}
		b.WriteByte(')')
		r, err := tx.ExecContext(ctx, b.String(), append(args[:len(args):len(args)], chunk...)...)
		if err != nil {
			return err
		}
		if n, err := r.RowsAffected(); err != nil || n != int64(len(chunk)) {
			return errChanged
		}
	}
	return nil
}

// discrepancyCols are recon_discrepancies' columns as scanDiscrepancy reads
// them.
const discrepancyCols = `id, run_id, institution_id, channel_id, kind, by_rule, statement_id, line_no, order_ids, account_id,
	direction, asset, difference, effect, detail, status, action, resolution, park_tx, resolve_tx, proposed_by, resolved_by, note,
	created_at, resolved_at, version`

func insertDiscrepancies(ctx context.Context, tx *sql.Tx, d store.Dialect, discs []*Discrepancy) error {
	err := insertRows(ctx, tx, d, `INSERT INTO recon_discrepancies (id, run_id, institution_id, channel_id, kind, by_rule,
		statement_id, line_no, order_ids, account_id, direction, asset, difference, effect, detail, status, action, created_at) VALUES `,
		18, len(discs), func(i int, args []any) []any {
			x := discs[i]
			return append(args, x.ID, x.RunID, x.InstitutionID, x.ChannelID, string(x.Kind), string(x.By), x.StatementID, x.LineNo,
				strings.Join(x.OrderIDs, ","), x.AccountID, string(x.Direction), x.Asset, x.Difference, x.Effect, x.Detail,
				x.Status, x.Action, micros(x.CreatedAt))
		})
	if err != nil {
		return fmt.Errorf("record discrepancies: %w", err)
	}
	return nil
}

// finishChannel finishes the channel's runs a crash left resolving.
func (s *Service) finishChannel(ctx context.Context, channelID string) error {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT id FROM recon_runs WHERE channel_id = $1 AND status = $2 ORDER BY id`,
		channelID, RunResolving)
	if err != nil {
		return fmt.Errorf("find unfinished runs: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("find unfinished runs: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find unfinished runs: %w", err)
	}
	for _, id := range ids {
		if _, err := s.finish(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// finish applies a recorded run's rules and parking — each step idempotent,
// so that a run a crash interrupted is finished by calling it again — and
// completes the run.
func (s *Service) finish(ctx context.Context, runID string) (*Run, error) {
	run, err := s.GetRun(ctx, runID, nil)
	if err != nil || run.Status == RunDone {
		return run, err
	}
	ch, err := s.pay.GetChannel(ctx, run.ChannelID, nil)
	if err != nil {
		return nil, err
	}
	discs, err := s.discrepancies(ctx, `run_id = $1 AND status = $2`, []any{run.ID, StatusNew}, 0)
	if err != nil {
		return nil, err
	}
	var ruled, park []*Discrepancy
	for _, d := range discs {
		if d.Action == ActionSettle || d.Action == ActionFail {
			ruled = append(ruled, d)
		} else {
			park = append(park, d)
		}
	}
	resolved, toPark, err := s.applyRules(ctx, ruled)
	if err != nil {
		return nil, err
	}
	if err := s.resolveByRule(ctx, resolved); err != nil {
		return nil, err
	}
	if err := s.park(ctx, ch, append(park, toPark...)); err != nil {
		return nil, err
	}
	return s.complete(ctx, run, ch)
}

// applyRules settles the orders of the discrepancies a rule decides, a few
// at a time, and sorts them into those resolved and those to park (with
// their difference as it is now).
func (s *Service) applyRules(ctx context.Context, discs []*Discrepancy) (resolved, park []*Discrepancy, err error) {
	var mu sync.Mutex
	var firstErr error
	work := make(chan *Discrepancy)
	var wg sync.WaitGroup
	for range settleWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range work {
				done, err := s.applyRule(ctx, d)
				mu.Lock()
				switch {
				case err != nil && firstErr == nil:
					firstErr = err
				case err != nil:
				case done:
					resolved = append(resolved, d)
				default:
					park = append(park, d)
				}
				mu.Unlock()
			}
		}()
	}
	for _, d := range discs {
		work <- d
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return nil, nil, firstErr
	}
	sortByID(resolved)
	sortByID(park)
	return resolved, park, nil
}

// applyRule settles d's orders to the channel's answer (its line's status;
// failed for orders the channel never listed) and reports whether Suanpan
// and the channel now agree. When they do not — the account refused a
// credit, a compensation could not be posted, or the line's amount differs
// from the orders' — d is updated to the difference left, for parking.
func (s *Service) applyRule(ctx context.Context, d *Discrepancy) (bool, error) {
	want, ref, lineAmount := channel.Failed, "", int64(0)
	if d.LineNo != 0 {
		if err := s.db.Read.QueryRowContext(ctx, `SELECT status, channel_ref, amount FROM recon_lines WHERE statement_id = $1 AND line_no = $2`,
			d.StatementID, d.LineNo).Scan(&want, &ref, &lineAmount); err != nil {
			return false, fmt.Errorf("read line %d of statement %s: %w", d.LineNo, d.StatementID, err)
		}
	}
	reason := fmt.Sprintf("statement %s line %d", d.StatementID, d.LineNo)
	if d.LineNo == 0 {
		reason = "not on the channel's statements past the late window"
	}
	var booked int64
	agree := true
	for _, id := range d.OrderIDs {
		o, err := s.pay.Settle(ctx, id, want, ref, CauseReconciliation, reason, nil)
		if err != nil && payments.ErrorCode(err) == "" && ledger.ErrorCode(err) == "" {
			return false, fmt.Errorf("settle order %s by rule: %w", id, err)
		}
		if err != nil {
			s.log.Warn("reconciliation rule could not settle order", "order", id, "err", err)
			if o, err = s.pay.GetOrder(ctx, id, nil); err != nil {
				return false, err
			}
		}
		if o.State != payments.State(want) {
			agree = false
		}
		if o.State == payments.StateSucceeded {
			if booked, err = money.Add(booked, o.Amount); err != nil {
				return false, err
			}
		}
	}
	if want != channel.Succeeded {
		lineAmount = 0
	}
	diff, err := money.Sub(lineAmount, booked)
	if err != nil {
		return false, err
	}
	if agree && diff == 0 {
		return true, nil
	}
	if agree {
		d.Kind = match.AmountMismatch
		d.Detail = clip(fmt.Sprintf("%s; settled by rule, the line differs from the orders by %d", d.Detail, diff), 500)
	}
	d.Difference = diff
	if d.Effect, err = effectOf(d.Direction, diff); err != nil {
		return false, err
	}
	return false, nil
}

// resolveByRule marks discrepancies a rule resolved.
func (s *Service) resolveByRule(ctx context.Context, discs []*Discrepancy) error {
	if len(discs) == 0 {
		return nil
	}
	now := s.now()
	return s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		for _, d := range discs {
			resolution := ResolutionAutoSettled
			if d.Action == ActionFail {
				resolution = ResolutionAutoFailed
			}
			if _, err := tx.ExecContext(ctx, `UPDATE recon_discrepancies SET status = $1, resolution = $2, resolved_by = $3,
				resolved_at = $4, version = version + 1 WHERE id = $5 AND status = $6`,
				StatusResolved, resolution, CauseReconciliation, micros(now), d.ID, StatusNew); err != nil {
				return fmt.Errorf("resolve discrepancy %s: %w", d.ID, err)
			}
		}
		return nil
	})
}

// park moves each discrepancy's effect between the channel's clearing
// account and suspense, so that clearing agrees with the channel while the
// discrepancy is open, and opens it for the operators. Each posting's
// reference is the discrepancy's, so parking again posts nothing twice.
func (s *Service) park(ctx context.Context, ch *payments.Channel, discs []*Discrepancy) error {
	var reqs []ledger.Request
	var zero []*Discrepancy
	var clearing, suspense string
	byID := make(map[string]*Discrepancy, len(discs))
	for _, d := range discs {
		byID[d.ID] = d
		if d.Effect == 0 {
			zero = append(zero, d)
			continue
		}
		if clearing == "" {
			// A run's discrepancies are all in the channel's asset (an
			// import refuses any other).
			var err error
			if clearing, suspense, err = s.parkAccounts(ctx, ch, ch.Asset); err != nil {
				return err
			}
		}
		p := ledger.Posting{Debit: clearing, Credit: suspense, Asset: d.Asset, Amount: d.Effect}
		if d.Effect < 0 {
			p = ledger.Posting{Debit: suspense, Credit: clearing, Asset: d.Asset, Amount: -d.Effect}
		}
		reqs = append(reqs, ledger.Request{Kind: ledger.KindTransfer, InstitutionID: d.InstitutionID, Reference: "recon:" + d.ID + ":park",
			Type: "recon_park", Postings: []ledger.Posting{p}, Metadata: map[string]string{"discrepancy_id": d.ID, "kind": string(d.Kind),
				"channel": ch.Code}, Writes: []ledger.Write{func(ctx context.Context, tx *sql.Tx, tr *ledger.Transaction) error {
				return openDiscrepancy(ctx, tx, d, tr.ID)
			}}})
	}
	for start := 0; start < len(reqs); start += submitChunk {
		chunk := reqs[start:min(start+submitChunk, len(reqs))]
		res, err := s.ledger.Submit(ctx, chunk, false)
		if err != nil {
			return fmt.Errorf("park discrepancies: %w", err)
		}
		for i, r := range res {
			switch {
			case r.Err != nil:
				return fmt.Errorf("park discrepancy %s: %w", chunk[i].Metadata["discrepancy_id"], r.Err)
			case r.Duplicate:
				// Parked before a crash: open it if that did not commit.
				d := byID[chunk[i].Metadata["discrepancy_id"]]
				if err := s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
					return openDiscrepancy(ctx, tx, d, r.Transaction.ID)
				}); err != nil {
					return err
				}
			}
		}
	}
	if len(zero) == 0 {
		return nil
	}
	return s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		for _, d := range zero {
			if err := openDiscrepancy(ctx, tx, d, ""); err != nil {
				return err
			}
		}
		return nil
	})
}

// openDiscrepancy opens a new discrepancy with its difference as it is
// now and its parking transaction.
func openDiscrepancy(ctx context.Context, tx *sql.Tx, d *Discrepancy, parkTx string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE recon_discrepancies SET status = $1, park_tx = $2, kind = $3, difference = $4,
		effect = $5, detail = $6, version = version + 1 WHERE id = $7 AND status = $8`, StatusOpen, parkTx, string(d.Kind),
		d.Difference, d.Effect, d.Detail, d.ID, StatusNew); err != nil {
		return fmt.Errorf("open discrepancy %s: %w", d.ID, err)
	}
	return nil
}

// complete counts a run's outcome, alerts when it is over the channel's
// thresholds, and marks it done.
func (s *Service) complete(ctx context.Context, run *Run, ch *payments.Channel) (*Run, error) {
	settings, err := s.settings(ctx, s.db.Read, ch)
	if err != nil {
		return nil, err
	}
	open, auto, openAmount, err := s.tally(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	run.Counts[countAutoResolved], run.Counts[countOpen] = auto, open
	run.OpenAmount = openAmount
	run.Alerted = int64(open) > settings.AlertCount || openAmount > settings.AlertAmount
	counts, err := json.Marshal(run.Counts)
	if err != nil {
		return nil, err
	}
	now := s.now()
	run.Status, run.FinishedAt = RunDone, &now
	alerted := 0
	if run.Alerted {
		alerted = 1
	}
	summary := map[string]any{"run_id": run.ID, "channel_id": ch.ID, "channel": ch.Code, "date": run.Date,
		"statement_id": run.StatementID, "counts": run.Counts, "open_amount": openAmount, "asset": ch.Asset}
	err = s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE recon_runs SET status = $1, counts = $2, open_amount = $3, alerted = $4, finished_at = $5
			WHERE id = $6 AND status = $7`, RunDone, string(counts), openAmount, alerted, micros(now), run.ID, RunResolving)
		if err != nil {
			return fmt.Errorf("complete run: %w", err)
		}
		if n, err := r.RowsAffected(); err != nil || n != 1 {
			return nil // completed by another caller meanwhile
		}
		ev := &outbox.Event{Type: EventRunCompleted, Subject: "recon_run:" + run.ID, InstitutionID: run.InstitutionID,
			Payload: summary, CreatedAt: now}
		if err := outbox.Record(ctx, tx, ev); err != nil {
			return err
		}
		if !run.Alerted {
			return nil
		}
		summary["alert_count"], summary["alert_amount"] = settings.AlertCount, settings.AlertAmount
		return outbox.Record(ctx, tx, &outbox.Event{Type: EventAlert, Subject: "recon_run:" + run.ID, InstitutionID: run.InstitutionID,
			Payload: summary, CreatedAt: now})
	})
	if err != nil {
		return nil, err
	}
	return s.GetRun(ctx, run.ID, nil)
}

// tally counts a run's discrepancies as they are now: those open (or
// waiting for a write-off's approval) with the sum of their absolute
// differences, and those a rule resolved.
func (s *Service) tally(ctx context.Context, runID string) (open, auto int, openAmount int64, err error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT status, resolution, difference FROM recon_discrepancies WHERE run_id = $1`, runID)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("count discrepancies: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var status, resolution string
		var diff int64
		if err := rows.Scan(&status, &resolution, &diff); err != nil {
			return 0, 0, 0, fmt.Errorf("count discrepancies: %w", err)
		}
		switch {
		case resolution == ResolutionAutoSettled || resolution == ResolutionAutoFailed:
			auto++
		case status != StatusResolved:
			open++
			if diff < 0 {
				diff = -diff
			}
			if openAmount, err = money.Add(openAmount, diff); err != nil {
				return 0, 0, 0, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return 0, 0, 0, fmt.Errorf("count discrepancies: %w", err)
	}
	return open, auto, openAmount, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
