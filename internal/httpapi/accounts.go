package httpapi

import (
	"context"
	"database/sql"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/audit"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/ledger"
)

type accountBody struct {
	InstitutionID  string            `json:"institution_id,omitempty" maxLength:"64" doc:"Default: the API key's institution."`
	Asset          string            `json:"asset" minLength:"1" maxLength:"16"`
	Code           string            `json:"code" minLength:"1" maxLength:"32" doc:"Chart-of-accounts code, e.g. 2001 customer deposits."`
	Name           string            `json:"name,omitempty" maxLength:"200"`
	NormalSide     string            `json:"normal_side" enum:"debit,credit" doc:"debit for assets and expenses, credit for liabilities, equity and income."`
	Overdraft      string            `json:"overdraft,omitempty" enum:"none,limit,unlimited" doc:"Default none: the available balance may not go below zero."`
	OverdraftLimit int64             `json:"overdraft_limit,omitempty" minimum:"0" doc:"With overdraft limit: how far below zero, minor units."`
	Metadata       map[string]string `json:"metadata,omitempty"`
}

type accountOut struct {
	Body *AccountView
}

type freezeBody struct {
	Side   string `json:"side" enum:"debit,credit,both" doc:"Which side to freeze or thaw."`
	Reason string `json:"reason,omitempty" maxLength:"500" doc:"Recorded in the audit log."`
}

type freezeIn struct {
	ID   string `path:"id" maxLength:"64"`
	Body freezeBody
}

type closeIn struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Reason string `json:"reason,omitempty" maxLength:"500"`
	}
}

type listAccountsIn struct {
	Asset  string `query:"asset" maxLength:"16"`
	Code   string `query:"code" maxLength:"32"`
	Status string `query:"status" enum:"active,debit_frozen,credit_frozen,frozen,closed,"`
	After  string `query:"after" maxLength:"64" doc:"Cursor: next_cursor of the previous page."`
	Limit  int    `query:"limit" minimum:"0" maximum:"1000" doc:"Page size, default 100."`
}

type accountPage struct {
	Body struct {
		Items      []*AccountView `json:"items"`
		NextCursor string         `json:"next_cursor,omitempty"`
	}
}

type balanceIn struct {
	ID   string    `path:"id" maxLength:"64"`
	AsOf time.Time `query:"as_of" doc:"Balances as they stood at this time (RFC 3339); default now."`
}

type entriesIn struct {
	ID    string    `path:"id" maxLength:"64"`
	From  time.Time `query:"from" doc:"Entries at or after (RFC 3339)."`
	To    time.Time `query:"to" doc:"Entries before (RFC 3339)."`
	Type  []string  `query:"type" maxItems:"20" doc:"Transaction types to include."`
	After int64     `query:"after" minimum:"0" doc:"Cursor: next_cursor of the previous page."`
	Limit int       `query:"limit" minimum:"0" maximum:"1000" doc:"Page size, default 100."`
}

// StatementLineView is an entry with its transaction and running balances.
type StatementLineView struct {
	EntryView
	Type             string `json:"type"`
	Reference        string `json:"reference"`
	Balance          int64  `json:"balance" doc:"The account's balance after this entry."`
	BalanceDisplay   string `json:"balance_display"`
	Available        int64  `json:"available" doc:"The available balance after this entry."`
	AvailableDisplay string `json:"available_display"`
}

type entriesPage struct {
	Body struct {
		Items      []StatementLineView `json:"items"`
		NextCursor int64               `json:"next_cursor,omitempty"`
	}
}

type holdsIn struct {
	ID     string `path:"id" maxLength:"64"`
	Status string `query:"status" enum:"pending,posted,voided,expired,"`
	After  string `query:"after" maxLength:"64"`
	Limit  int    `query:"limit" minimum:"0" maximum:"1000"`
}

type holdPage struct {
	Body struct {
		Items      []*HoldView `json:"items"`
		NextCursor string      `json:"next_cursor,omitempty"`
	}
}

func (s *Server) registerAccounts() {
	register(s, huma.Operation{OperationID: "create-account", Method: http.MethodPost, Path: "/accounts", Tags: []string{"Accounts"},
		Summary: "Open an account", DefaultStatus: http.StatusCreated}, auth.AccountsWrite, s.createAccount)
	register(s, huma.Operation{OperationID: "list-accounts", Method: http.MethodGet, Path: "/accounts", Tags: []string{"Accounts"},
		Summary: "List accounts", Description: "The caller's institutions' accounts by ID, a page at a time."}, auth.LedgerRead, s.listAccounts)
	register(s, huma.Operation{OperationID: "get-account", Method: http.MethodGet, Path: "/accounts/{id}", Tags: []string{"Accounts"},
		Summary: "Get an account with its balances"}, auth.LedgerRead, s.getAccount)
	register(s, huma.Operation{OperationID: "freeze-account", Method: http.MethodPost, Path: "/accounts/{id}/freeze", Tags: []string{"Accounts"},
		Summary: "Freeze an account", Description: "Stops debits, credits or both."}, auth.AccountsFreeze, s.freezeAccount)
	register(s, huma.Operation{OperationID: "thaw-account", Method: http.MethodPost, Path: "/accounts/{id}/thaw", Tags: []string{"Accounts"},
		Summary: "Thaw an account"}, auth.AccountsFreeze, s.thawAccount)
	register(s, huma.Operation{OperationID: "close-account", Method: http.MethodPost, Path: "/accounts/{id}/close", Tags: []string{"Accounts"},
		Summary: "Close an account", Description: "Needs a zero balance and no pending amounts (account_not_empty) and no freeze in force (freeze_in_force). " +
			"Closing is final; closing a closed account changes nothing. Same as close-and-sweep without sweep_to."},
		auth.AccountsFreeze, s.closeAccount)
	register(s, huma.Operation{OperationID: "get-balance", Method: http.MethodGet, Path: "/accounts/{id}/balance", Tags: []string{"Accounts"},
		Summary: "Balances now or as of a time"}, auth.LedgerRead, s.getBalance)
	register(s, huma.Operation{OperationID: "list-entries", Method: http.MethodGet, Path: "/accounts/{id}/entries", Tags: []string{"Accounts"},
		Summary: "Account entries with running balances", Description: "The account's journal in order, a page at a time."},
		auth.LedgerRead, s.listEntries)
	register(s, huma.Operation{OperationID: "list-account-holds", Method: http.MethodGet, Path: "/accounts/{id}/holds", Tags: []string{"Accounts"},
		Summary: "Holds on an account"}, auth.LedgerRead, s.listAccountHolds)
}

func (s *Server) createAccount(ctx context.Context, in *struct{ Body accountBody }) (*accountOut, error) {
	inst, err := institution(ctx, in.Body.InstitutionID)
	if err != nil {
		return nil, err
	}
	a, err := s.Ledger.CreateAccount(ctx, ledger.NewAccount{InstitutionID: inst, Asset: in.Body.Asset, Code: in.Body.Code,
		Name: in.Body.Name, NormalSide: ledger.Side(in.Body.NormalSide), Overdraft: ledger.Overdraft(in.Body.Overdraft),
		OverdraftLimit: in.Body.OverdraftLimit, Metadata: in.Body.Metadata}, s.auditAccount(ctx, "accounts.create", ""))
	if err != nil {
		return nil, err
	}
	return &accountOut{Body: s.accountView(ctx, a)}, nil
}

// auditAccount records an account change with the account before and after.
func (s *Server) auditAccount(ctx context.Context, op, reason string) ledger.AccountWrite {
	return func(wctx context.Context, tx *sql.Tx, before, after *ledger.Account) error {
		var b, a any
		if before != nil {
			b = s.accountView(ctx, before)
		}
		if after != nil {
			v := s.accountView(ctx, after)
			if reason != "" {
				a = map[string]any{"account": v, "reason": reason}
			} else {
				a = v
			}
		}
		return s.audit(ctx, op, "account:"+after.ID, after.InstitutionID, b, a)(wctx, tx)
	}
}

// audit returns a write appending an audit record for the request in ctx,
// about a target of institution inst ("": the caller's).
func (s *Server) audit(ctx context.Context, op, target, inst string, before, after any) auth.TxWrite {
	p := principal(ctx)
	if inst == "" {
		inst = p.InstitutionID
	}
	rec := audit.Record{At: s.Clock.Now(), KeyID: p.KeyID, InstitutionID: inst, Source: sourceOf(ctx),
		Operation: op, Target: target, RequestID: requestID(ctx), Before: before, After: after}
	return func(wctx context.Context, tx *sql.Tx) error {
		_, err := audit.Append(wctx, tx, s.DB.Dialect, rec)
		return err
	}
}

func (s *Server) listAccounts(ctx context.Context, in *listAccountsIn) (*accountPage, error) {
	accts, next, err := s.Ledger.ListAccounts(ctx, ledger.AccountFilter{InstitutionIDs: principal(ctx).Scope,
		Asset: in.Asset, Code: in.Code, Status: ledger.Status(in.Status), After: in.After, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := &accountPage{}
	out.Body.Items = make([]*AccountView, len(accts))
	for i, a := range accts {
		out.Body.Items[i] = s.accountView(ctx, a)
	}
	out.Body.NextCursor = next
	return out, nil
}

// account returns an account of the caller's institutions.
func (s *Server) account(ctx context.Context, id string) (*ledger.Account, error) {
	a, err := s.Ledger.GetAccount(ctx, id)
	if err != nil {
		return nil, err
	}
	if !principal(ctx).InScope(a.InstitutionID) {
		return nil, &ledger.Error{Code: ledger.CodeAccountNotFound, Message: "account " + id + " not found"}
	}
	return a, nil
}

func (s *Server) getAccount(ctx context.Context, in *idIn) (*accountOut, error) {
	a, err := s.account(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &accountOut{Body: s.accountView(ctx, a)}, nil
}

func sides(side string) []ledger.Side {
	switch side {
	case "debit":
		return []ledger.Side{ledger.Debit}
	case "credit":
		return []ledger.Side{ledger.Credit}
	}
	return []ledger.Side{ledger.Debit, ledger.Credit}
}

func (s *Server) freezeAccount(ctx context.Context, in *freezeIn) (*accountOut, error) {
	return s.changeStatus(ctx, "accounts.freeze", in.Body.Reason, ledger.StatusChange{AccountID: in.ID, Freeze: sides(in.Body.Side)})
}

// thawAccount keeps the recorded freezes (POST /v1/accounts/{id}/freezes):
// a side a freeze in force holds stays frozen (freeze_in_force), so that
// only lifting the freeze, with its authority, thaws it.
func (s *Server) thawAccount(ctx context.Context, in *freezeIn) (*accountOut, error) {
	return s.changeStatus(ctx, "accounts.thaw", in.Body.Reason, ledger.StatusChange{AccountID: in.ID, Thaw: sides(in.Body.Side)},
		s.Lifecycle.KeepFreezes())
}

// closeAccount is the account system's close without a sweep: the account
// must be empty, and the close also marks its product link closed and
// records the account.closed event.
func (s *Server) closeAccount(ctx context.Context, in *closeIn) (*accountOut, error) {
	p := principal(ctx)
	c, err := s.Lifecycle.Close(ctx, accounts.CloseRequest{AccountID: in.ID, Reason: in.Body.Reason, By: p.KeyID, Scope: p.Scope},
		s.auditChange(ctx, "accounts.close"))
	if err != nil {
		return nil, err
	}
	return &accountOut{Body: s.accountView(ctx, c.Account)}, nil
}

func (s *Server) changeStatus(ctx context.Context, op, reason string, c ledger.StatusChange, guards ...ledger.AccountWrite) (*accountOut, error) {
	c.InstitutionIDs = principal(ctx).Scope
	_, after, err := s.Ledger.SetStatus(ctx, c, append(guards, s.auditAccount(ctx, op, reason))...)
	if err != nil {
		return nil, err
	}
	return &accountOut{Body: s.accountView(ctx, after)}, nil
}

func (s *Server) getBalance(ctx context.Context, in *balanceIn) (*accountOut, error) {
	a, err := s.account(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if !in.AsOf.IsZero() {
		if a, err = s.Ledger.BalancesAt(ctx, in.ID, in.AsOf); err != nil {
			return nil, err
		}
	}
	return &accountOut{Body: s.accountView(ctx, a)}, nil
}

func (s *Server) listEntries(ctx context.Context, in *entriesIn) (*entriesPage, error) {
	if _, err := s.account(ctx, in.ID); err != nil {
		return nil, err
	}
	lines, next, err := s.Ledger.Entries(ctx, ledger.EntryFilter{AccountID: in.ID, From: in.From, To: in.To,
		Types: in.Type, After: in.After, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := &entriesPage{}
	out.Body.Items = make([]StatementLineView, len(lines))
	for i, l := range lines {
		out.Body.Items[i] = StatementLineView{EntryView: s.entryView(ctx, l.Entry), Type: l.Type, Reference: l.Reference,
			Balance: l.Balance, BalanceDisplay: s.display(ctx, l.Asset, l.Balance), Available: l.Available,
			AvailableDisplay: s.display(ctx, l.Asset, l.Available)}
	}
	out.Body.NextCursor = next
	return out, nil
}

func (s *Server) listAccountHolds(ctx context.Context, in *holdsIn) (*holdPage, error) {
	if _, err := s.account(ctx, in.ID); err != nil {
		return nil, err
	}
	hs, next, err := s.Ledger.ListHolds(ctx, ledger.HoldFilter{InstitutionIDs: principal(ctx).Scope, AccountID: in.ID,
		Status: ledger.HoldStatus(in.Status), After: in.After, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := &holdPage{}
	out.Body.Items = make([]*HoldView, len(hs))
	for i, h := range hs {
		out.Body.Items[i] = s.holdView(ctx, h)
	}
	out.Body.NextCursor = next
	return out, nil
}
