package recon

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/recon/match"
	"github.com/suanpan/suanpan/internal/recon/statement"
	"github.com/suanpan/suanpan/store"
)

// A statement line's reconciliation state.
const (
	lineOpen        = "open"
	lineLate        = "late"
	lineMatched     = "matched"
	lineDiscrepancy = "discrepancy"
	lineIgnored     = "ignored"
)

// An order's reconciliation state (” before any run saw it).
const (
	orderLate        = "late"
	orderMatched     = "matched"
	orderDiscrepancy = "discrepancy"
)

// Run statuses: a run is recorded resolving, and done once its rules and
// parking are applied.
const (
	RunResolving = "resolving"
	RunDone      = "done"
)

// What a run does with an item ("" for matched, late and ignored ones).
const (
	ActionSettle = "settle" // a rule applies the line, the channel's answer, to orders without an outcome
	ActionFail   = "fail"   // a rule fails the orders the channel never listed
	ActionPark   = "park"   // parked in suspense for an operator
)

// Run.Counts keys besides the match kinds.
const (
	countAutoResolved = "auto_resolved" // discrepancies a rule resolved
	countOpen         = "open"          // discrepancies left for operators
	countLines        = "lines"         // lines looked at
	countOrders       = "orders"        // orders looked at
)

// Run is one reconciliation of a channel's statement.
type Run struct {
	ID            string `json:"id,omitempty"`
	InstitutionID string `json:"institution_id"`
	ChannelID     string `json:"channel_id"`
	StatementID   string `json:"statement_id"`
	Date          string `json:"date"`
	DryRun        bool   `json:"dry_run,omitempty"`
	Status        string `json:"status"`
	// Counts counts the items per kind (matched, late, long, short,
	// amount_mismatch, status_mismatch, duplicate, fee_mismatch, ignored),
	// the lines and orders looked at, and, once done, the discrepancies a
	// rule resolved (auto_resolved) and those left open.
	Counts map[string]int `json:"counts"`
	// OpenAmount sums the absolute differences of the discrepancies left
	// open.
	OpenAmount int64      `json:"open_amount"`
	Alerted    bool       `json:"alerted"`
	StartedBy  string     `json:"started_by"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// Items are, for a dry run, what the run would do (at most 1000).
	Items []Item `json:"items,omitempty"`
}

// Item is one result of matching and what a run does with it.
type Item struct {
	Kind       match.Kind `json:"kind"`
	By         match.By   `json:"by,omitempty"`
	Lines      []int      `json:"lines,omitempty" doc:"Line numbers in the statement file."`
	OrderIDs   []string   `json:"order_ids,omitempty"`
	Difference int64      `json:"difference"`
	// Effect is the difference as a debit to the channel's clearing
	// account (the channel's view minus Suanpan's): what parking moves
	// from suspense.
	Effect int64  `json:"effect"`
	Action string `json:"action,omitempty" enum:"settle,fail,park"`
	Detail string `json:"detail,omitempty"`
}

// RunRequest asks to reconcile a channel's statement of a date.
type RunRequest struct {
	ChannelID string
	Date      string
	// DryRun reports what would match and what would be done, writing
	// nothing.
	DryRun bool
	By     string
	Scope  []string
	Writes []Write
}

// input is what a run matches: the statement's open lines and the late
// lines of earlier statements, the channel's orders not yet reconciled,
// and lines referring to orders an earlier run reconciled.
type input struct {
	lines    []statement.Line
	lineStmt []string // statement of each line
	orders   []match.Order
	// nOpen orders come first: those of the open set (openOrders), created
	// at openBefore (µs) at the latest.
	nOpen      int
	openBefore int64
	repeats    []repeat
}

// repeat is a line whose orders an earlier run reconciled: a duplicate.
type repeat struct {
	line   statement.Line
	stmt   string
	orders []string
}

// plan is an item with its discrepancy, before it is recorded.
type plan struct {
	Item
	account string
	dir     channel.Direction
	asset   string
	stmt    string
	lineNo  int
}

// Run matches a channel's statement of a date with its orders and
// records the result: lines and orders reconciled, discrepancies, rules
// applied, the rest parked in suspense. Late items of earlier runs are
// looked at again. A dry run writes nothing and returns the items. A run
// of a date already reconciled looks only at what is still late.
// Permission: recon:write. Returns CodeInvalidRequest,
// CodeStatementNotFound, CodeInternalAccountMissing and payments'
// channel_not_found.
func (s *Service) Run(ctx context.Context, r RunRequest) (*Run, error) {
	run, err := s.prepare(ctx, r)
	if err != nil || r.DryRun {
		return run, err
	}
	return s.finish(ctx, run.ID)
}

// prepare reads, matches and plans a run, and records it unless it is a
// dry run; Run then finishes it.
func (s *Service) prepare(ctx context.Context, r RunRequest) (*Run, error) {
	if _, err := parseDate("date", r.Date); err != nil {
		return nil, err
	}
	ch, err := s.pay.GetChannel(ctx, r.ChannelID, r.Scope)
	if err != nil {
		return nil, err
	}
	st, err := s.statementFor(ctx, ch.ID, r.Date)
	if err != nil {
		return nil, err
	}
	settings, err := s.settings(ctx, s.db.Read, ch)
	if err != nil {
		return nil, err
	}
	if !r.DryRun {
		if err := s.finishChannel(ctx, ch.ID); err != nil {
			return nil, err
		}
	}
	now := s.now()
	in, err := s.load(ctx, ch, st)
	if err != nil {
		return nil, err
	}
	if f := settings.Format; f.Kind == statement.KindCSV && f.Columns != nil && f.Columns.Fee == "" {
		// The file gives no fees: compare none.
		for i := range in.orders {
			in.orders[i].Fee = 0
		}
	}
	res, err := match.Reconcile(in.lines, in.orders, settings.rules(now))
	if err != nil {
		return nil, errorf(CodeStatementInvalid, "", "%v", err)
	}
	preview := 0
	if r.DryRun {
		preview = maxDryRunItems
	}
	plans, sts, items, err := planItems(in, res, settings, st.ID, preview)
	if err != nil {
		return nil, err
	}
	if err := s.accountsOf(ctx, plans); err != nil {
		return nil, err
	}
	run := &Run{InstitutionID: ch.InstitutionID, ChannelID: ch.ID, StatementID: st.ID, Date: r.Date, DryRun: r.DryRun,
		Status: RunResolving, Counts: map[string]int{countLines: len(in.lines) + len(in.repeats), countOrders: len(in.orders)},
		StartedBy: r.By, StartedAt: now}
	for k, n := range res.Counts {
		run.Counts[string(k)] = n
	}
	run.Counts[string(match.Duplicate)] += len(in.repeats)
	// Nothing below reads in or res: the lines and orders (most of a
	// run's memory) can be collected while the run is recorded.
	openBefore := in.openBefore
	if r.DryRun {
		run.Status, run.Items = "", items
		return run, nil
	}
	if err := s.checkAccounts(ctx, ch, plans); err != nil {
		return nil, err
	}
	run.ID = uuid.Must(uuid.NewV7()).String()
	if err := s.save(ctx, run, plans, sts, openBefore, r.Writes); err != nil {
		return nil, err
	}
	return run, nil
}

// load reads a run's input.
func (s *Service) load(ctx context.Context, ch *payments.Channel, st *Statement) (*input, error) {
	// Sized before reading: a run may hold millions of lines and orders
	// (about as many as the statement has lines), and growing by appending
	// would hold up to twice that meanwhile.
	in := &input{lines: make([]statement.Line, 0, st.Lines), lineStmt: make([]string, 0, st.Lines),
		orders: make([]match.Order, 0, st.Lines+st.Lines/64)}
	words := interner{}
	// The statement's open lines in file order, then the channel's late
	// ones (of any statement).
	for _, q := range []struct {
		where string
		args  []any
	}{{`statement_id = $1 AND state = $2`, []any{st.ID, lineOpen}}, {`channel_id = $1 AND state = $2`, []any{ch.ID, lineLate}}} {
		if err := s.scanLines(ctx, in, words, q.where, q.args); err != nil {
			return nil, err
		}
	}
	// The orders not yet reconciled, up to the statement's date: failed
	// ones only when a line refers to them (channels rarely list failures).
	open := make(map[string]struct{}, cap(in.orders))
	if err := s.scanOrders(ctx, openOrders, []any{ch.ID, st.Date}, func(o match.Order, _ string) {
		open[o.ID] = struct{}{}
		in.orders = append(in.orders, o)
		in.openBefore = max(in.openBefore, micros(o.At))
	}); err != nil {
		return nil, err
	}
	in.nOpen = len(in.orders)
	// Orders the lines refer to that are not in the open set: failed or
	// later ones join the input; those an earlier run reconciled make
	// their lines repeats. A reference some open order has is no repeat.
	ids, refs := map[string]bool{}, map[string]bool{}
	for _, l := range in.lines {
		if _, found := open[l.OrderID]; found {
			continue
		}
		if l.OrderID != "" {
			ids[l.OrderID] = true
		}
		if l.ChannelRef != "" {
			refs[l.ChannelRef] = true
		}
	}
	claimed := map[string][]string{}
	openRef := map[string]bool{}
	claim := func(o match.Order, state string) {
		if state == orderMatched || state == orderDiscrepancy {
			for _, k := range []string{o.ID, o.Group, o.ChannelRef} {
				if k != "" {
					claimed[k] = append(claimed[k], o.ID)
				}
			}
			return
		}
		openRef[o.ChannelRef] = true
		if _, ok := open[o.ID]; !ok {
			open[o.ID] = struct{}{}
			in.orders = append(in.orders, o)
		}
	}
	for _, q := range []struct {
		col  string
		keys map[string]bool
	}{{"id", ids}, {"batch_id", ids}, {"channel_ref", refs}} {
		// (The <> '' matches the partial indexes of batch_id and
		// channel_ref.)
		keys := make([]string, 0, len(q.keys))
		for k := range q.keys {
			keys = append(keys, k)
		}
		for start := 0; start < len(keys); start += insertChunk {
			var w store.Where
			w.Add("channel_id = ?", ch.ID)
			w.In(q.col, keys[start:min(start+insertChunk, len(keys))])
			if err := s.scanOrders(ctx, w.String()+" AND "+q.col+" <> ''", w.Args, claim); err != nil {
				return nil, err
			}
		}
	}
	// A line whose reference finds only reconciled orders repeats them.
	kept := 0
	for i, l := range in.lines {
		var rep []string
		if _, found := open[l.OrderID]; !found {
			switch {
			case l.OrderID != "":
				rep = claimed[l.OrderID]
			case l.ChannelRef != "" && !openRef[l.ChannelRef]:
				rep = claimed[l.ChannelRef]
			}
		}
		if rep != nil {
			in.repeats = append(in.repeats, repeat{line: l, stmt: in.lineStmt[i], orders: rep})
			continue
		}
		in.lines[kept], in.lineStmt[kept] = l, in.lineStmt[i]
		kept++
	}
	in.lines, in.lineStmt = in.lines[:kept], in.lineStmt[:kept]
	return in, nil
}

// scanLines appends the statement lines matching where to in.
func (s *Service) scanLines(ctx context.Context, in *input, words interner, where string, args []any) error {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT statement_id, line_no, order_id, channel_ref, direction, amount, fee, asset,
		status, at, party FROM recon_lines WHERE `+where, args...)
	if err != nil {
		return fmt.Errorf("read statement lines: %w", err)
	}
	defer rows.Close()
	var stmt, dir, asset, status sql.RawBytes
	for rows.Next() {
		var l statement.Line
		var at int64
		if err := rows.Scan(&stmt, &l.No, &l.OrderID, &l.ChannelRef, &dir, &l.Amount, &l.Fee, &asset, &status,
			&at, &l.Party); err != nil {
			return fmt.Errorf("read statement lines: %w", err)
		}
		l.Direction, l.Asset, l.Status = channel.Direction(words.of(dir)), words.of(asset), channel.Status(words.of(status))
		l.At = fromMicros(at)
		in.lines = append(in.lines, l)
		in.lineStmt = append(in.lineStmt, words.of(stmt))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read statement lines: %w", err)
	}
	return nil
}

// openOrders selects the orders a run of a channel ($1) and date ($2)
// reads: not yet reconciled, up to the date, not failed (channels rarely
// list failures: a failed order is read when a line refers to it).
const openOrders = `channel_id = $1 AND recon_state IN ('', 'late') AND state <> 'failed' AND business_date <= $2`

// orderCols are the payment_orders columns scanOrders reads.
const orderCols = `id, batch_id, channel_ref, direction, amount, channel_fee, asset, state, created_at, party, recon_state`

// scanOrders calls fn for each order matching where, with its
// reconciliation state. The few distinct words (directions, states,
// assets) share one string each: a run may hold millions of orders.
func (s *Service) scanOrders(ctx context.Context, where string, args []any, fn func(o match.Order, reconState string)) error {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+orderCols+` FROM payment_orders WHERE `+where, args...)
	if err != nil {
		return fmt.Errorf("read orders: %w", err)
	}
	defer rows.Close()
	words := interner{}
	var dir, asset, state, reconState sql.RawBytes
	for rows.Next() {
		var o match.Order
		var at int64
		if err := rows.Scan(&o.ID, &o.Group, &o.ChannelRef, &dir, &o.Amount, &o.Fee, &asset, &state, &at, &o.Party,
			&reconState); err != nil {
			return fmt.Errorf("read orders: %w", err)
		}
		o.Direction, o.Asset, o.State = channel.Direction(words.of(dir)), words.of(asset), words.of(state)
		o.At = fromMicros(at)
		fn(o, words.of(reconState))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read orders: %w", err)
	}
	return nil
}

// interner gives equal byte strings one shared string.
type interner map[string]string

func (in interner) of(b []byte) string {
	if s, ok := in[string(b)]; ok {
		return s
	}
	if len(in) >= 1024 {
		return string(b) // not a word after all: do not grow without bound
	}
	s := string(b)
	in[s] = s
	return s
}
