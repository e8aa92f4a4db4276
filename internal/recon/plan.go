package recon

import (
	"context"
	"fmt"

	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/recon/match"
	"github.com/suanpan/suanpan/internal/recon/statement"
	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
)

// sign is +1 for money the channel collects for Suanpan (a pay-in debits
// the clearing account) and −1 for money it pays out.
func sign(d channel.Direction) int64 {
	if d == channel.PayIn {
		return 1
	}
	return -1
}

// effectOf is a difference as a debit to the clearing account.
func effectOf(d channel.Direction, difference int64) (int64, error) {
	if sign(d) > 0 {
		return difference, nil
	}
	return money.Neg(difference)
}

// states are the reconciliation states a run gives lines and orders.
type states struct {
	lines  map[lineKey][]any // line numbers by statement and state
	orders map[string][]any  // order IDs by state, but:
	// openMatched counts the matched orders of the open set, most of
	// them, and stmtMatched the matched lines of the run's statement:
	// record sets each in one statement.
	openMatched, stmtMatched int
}

type lineKey struct{ stmt, state string }

// plan is what a run records and does: the states of every line and order,
// the discrepancies (items a rule or an operator must settle) and, for a
// dry run, the first items as they are.
func planItems(in *input, res *match.Result, st *Settings, stmt string, preview int) ([]plan, *states, []Item, error) {
	sts := &states{lines: map[lineKey][]any{}, orders: map[string][]any{}}
	var plans []plan
	var items []Item
	for _, it := range res.Items {
		lineState, orderState := lineDiscrepancy, orderDiscrepancy
		switch it.Kind {
		case match.Matched:
			lineState, orderState = lineMatched, orderMatched
		case match.Late:
			lineState, orderState = lineLate, orderLate
		case match.Ignored:
			lineState = lineIgnored
		case match.Duplicate:
			orderState = "" // the orders belong to the item the line repeats
		}
		for _, i := range it.Lines {
			if lineState == lineMatched && in.lineStmt[i] == stmt {
				sts.stmtMatched++
				continue
			}
			k := lineKey{in.lineStmt[i], lineState}
			sts.lines[k] = append(sts.lines[k], in.lines[i].No)
		}
		for _, i := range it.Orders {
			switch {
			case orderState == "":
			case orderState == orderMatched && i < in.nOpen:
				sts.openMatched++
			default:
				sts.orders[orderState] = append(sts.orders[orderState], in.orders[i].ID)
			}
		}
		if lineState != lineDiscrepancy && len(items) >= preview {
			continue
		}
		p, err := planItem(in, it, st)
		if err != nil {
			return nil, nil, nil, err
		}
		if len(items) < preview {
			items = append(items, p.Item)
		}
		if p.Action != "" {
			plans = append(plans, p)
		}
	}
	for _, r := range in.repeats {
		k := lineKey{r.stmt, lineDiscrepancy}
		sts.lines[k] = append(sts.lines[k], r.line.No)
		p := plan{Item: Item{Kind: match.Duplicate, By: match.ByOrderID, Lines: []int{r.line.No}, OrderIDs: r.orders,
			Action: ActionPark, Detail: fmt.Sprintf("line %d repeats orders an earlier run reconciled", r.line.No)},
			dir: r.line.Direction, asset: r.line.Asset, stmt: r.stmt, lineNo: r.line.No}
		if r.line.OrderID == "" {
			p.By = match.ByChannelRef
		}
		if r.line.Status == channel.Succeeded {
			p.Difference = r.line.Amount
		}
		var err error
		if p.Effect, err = effectOf(p.dir, p.Difference); err != nil {
			return nil, nil, nil, fmt.Errorf("item of line %d: the difference overflows", p.lineNo)
		}
		if len(items) < preview {
			items = append(items, p.Item)
		}
		plans = append(plans, p)
	}
	return plans, sts, items, nil
}

// planItem is one engine item as the run sees it: its effect and action.
func planItem(in *input, it match.Item, st *Settings) (plan, error) {
	p := plan{Item: Item{Kind: it.Kind, By: it.By, Difference: it.Difference, Detail: it.Detail}}
	var l *statement.Line
	for _, i := range it.Lines {
		if l == nil {
			l = &in.lines[i]
			p.dir, p.asset, p.stmt, p.lineNo = l.Direction, l.Asset, in.lineStmt[i], l.No
		}
		p.Lines = append(p.Lines, in.lines[i].No)
	}
	final := true
	for _, i := range it.Orders {
		o := &in.orders[i]
		p.OrderIDs = append(p.OrderIDs, o.ID)
		if l == nil {
			p.dir, p.asset = o.Direction, o.Asset
		}
		final = final && payments.State(o.State).Final()
	}
	if (it.Kind == match.Duplicate || it.Kind == match.Long) && l != nil && l.Status != channel.Succeeded {
		p.Difference = 0 // a failure moved no money
	}
	var err error
	if p.Effect, err = effectOf(p.dir, p.Difference); err != nil {
		return p, fmt.Errorf("item of line %d: the difference overflows", p.lineNo)
	}
	if it.Kind == match.FeeMismatch {
		// Channel fees are not on the books before the channel settles:
		// nothing to park.
		p.Effect = 0
	}
	switch it.Kind {
	case match.Matched, match.Late, match.Ignored:
	case match.StatusMismatch:
		if !final && l != nil {
			p.Action = ActionSettle
		} else {
			p.Action = ActionPark
		}
	case match.Short:
		if st.AutoFailShort {
			p.Action = ActionFail
		} else {
			p.Action = ActionPark
		}
	default:
		p.Action = ActionPark
	}
	return p, nil
}

// accountsOf fills in each discrepancy's customer account: its orders'
// one account, "" when they have several or none.
func (s *Service) accountsOf(ctx context.Context, plans []plan) error {
	var ids []string
	for _, p := range plans {
		ids = append(ids, p.OrderIDs...)
	}
	account := map[string]string{}
	for start := 0; start < len(ids); start += insertChunk {
		var w store.Where
		w.In("id", ids[start:min(start+insertChunk, len(ids))])
		rows, err := s.db.Read.QueryContext(ctx, `SELECT id, account_id FROM payment_orders WHERE `+w.String(), w.Args...)
		if err != nil {
			return fmt.Errorf("read the orders' accounts: %w", err)
		}
		for rows.Next() {
			var id, acct string
			if err := rows.Scan(&id, &acct); err != nil {
				rows.Close()
				return fmt.Errorf("read the orders' accounts: %w", err)
			}
			account[id] = acct
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read the orders' accounts: %w", err)
		}
	}
	for i := range plans {
		p := &plans[i]
		for j, id := range p.OrderIDs {
			if j == 0 {
				p.account = account[id]
			} else if account[id] != p.account {
				p.account = "" // orders of several accounts: the operator names one
			}
		}
	}
	return nil
}

// checkAccounts makes sure the accounts parking needs exist before
// anything is recorded: the channel's clearing account and suspense.
func (s *Service) checkAccounts(ctx context.Context, ch *payments.Channel, plans []plan) error {
	for _, p := range plans {
		if p.Action != "" {
			_, _, err := s.parkAccounts(ctx, ch, ch.Asset)
			return err
		}
	}
	return nil
}

// parkAccounts returns the clearing account of ch and the institution's
// suspense account for asset.
func (s *Service) parkAccounts(ctx context.Context, ch *payments.Channel, asset string) (clearing, suspense string, err error) {
	if clearing, err = s.roleAccount(ctx, ch.InstitutionID, accounts.RoleClearing, ch.Code, asset); err != nil {
		return "", "", err
	}
	if suspense, err = s.roleAccount(ctx, ch.InstitutionID, accounts.RoleSuspense, "", asset); err != nil {
		return "", "", err
	}
	return clearing, suspense, nil
}

// roleAccount returns the account inst registered for role (and channel)
// in asset: CodeInternalAccountMissing when there is none.
func (s *Service) roleAccount(ctx context.Context, inst, role, channel, asset string) (string, error) {
	id, err := s.ops.InternalAccountID(ctx, inst, role, channel, asset)
	if accounts.ErrorCode(err) != "" {
		what := role
		if channel != "" {
			what += " account of channel " + channel
		}
		return "", errorf(CodeInternalAccountMissing, "", "institution %s has no %s for %s: register one (role %s)", inst, what, asset, role)
	}
	return id, err
}
