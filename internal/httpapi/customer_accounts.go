package httpapi

import (
	"context"
	"database/sql"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/ledger"
)

// CustomerAccountView is an account opened on a product: the ledger
// account with its balances, its owner and the product version it keeps.
type CustomerAccountView struct {
	Account        *AccountView      `json:"account"`
	CustomerID     string            `json:"customer_id,omitempty" doc:"Empty for an institution's internal account."`
	ProductID      string            `json:"product_id"`
	ProductVersion int               `json:"product_version" doc:"The product version the account was opened on; it keeps it for life."`
	Reference      string            `json:"reference,omitempty" doc:"The open's idempotency reference."`
	Properties     map[string]string `json:"properties"`
	OpenedAt       time.Time         `json:"opened_at"`
	OpenedBy       string            `json:"opened_by" doc:"The API key that opened it."`
	ClosedAt       *time.Time        `json:"closed_at,omitempty"`
	ClosedBy       string            `json:"closed_by,omitempty"`
	Product        *ProductView      `json:"product,omitempty" doc:"The product version, in the answer to an open."`
}

func (s *Server) customerAccountView(ctx context.Context, l *accounts.CustomerAccount, a *ledger.Account, p *accounts.Product) *CustomerAccountView {
	v := &CustomerAccountView{Account: s.accountView(ctx, a), CustomerID: l.CustomerID, ProductID: l.ProductID,
		ProductVersion: l.ProductVersion, Reference: l.Reference, Properties: l.Properties, OpenedAt: l.OpenedAt,
		OpenedBy: l.OpenedBy, ClosedAt: l.ClosedAt, ClosedBy: l.ClosedBy}
	if p != nil {
		v.Product = s.productView(ctx, p)
	}
	return v
}

// FreezeView is one freeze of an account.
type FreezeView struct {
	ID         string     `json:"id"`
	AccountID  string     `json:"account_id"`
	Side       string     `json:"side" enum:"debit,credit,both"`
	Authority  string     `json:"authority" enum:"operator,risk,judicial"`
	Reason     string     `json:"reason"`
	PlacedBy   string     `json:"placed_by" doc:"The API key that placed it."`
	PlacedAt   time.Time  `json:"placed_at"`
	InForce    bool       `json:"in_force"`
	LiftedAt   *time.Time `json:"lifted_at,omitempty"`
	LiftedBy   string     `json:"lifted_by,omitempty"`
	LiftReason string     `json:"lift_reason,omitempty"`
	Reference  string     `json:"reference,omitempty" doc:"The caller's reference that placed it."`
}

func freezeView(f *accounts.Freeze) *FreezeView {
	return &FreezeView{ID: f.ID, AccountID: f.AccountID, Side: string(f.Side), Authority: string(f.Authority),
		Reason: f.Reason, PlacedBy: f.PlacedBy, PlacedAt: f.PlacedAt, InForce: f.LiftedAt == nil, LiftedAt: f.LiftedAt,
		LiftedBy: f.LiftedBy, LiftReason: f.LiftReason, Reference: f.Reference}
}

// AutoOpenFailure is an auto-open rule that did not open its account when
// a customer was created; retry it with POST /v1/customers/{id}/accounts
// and the reference given.
type AutoOpenFailure struct {
	ProductID string `json:"product_id,omitempty" doc:"Empty when the products could not be read at all."`
	Reference string `json:"reference,omitempty" doc:"auto:<customer>:<product>: the reference that opens the account idempotently."`
	Code      string `json:"code"`
	Detail    string `json:"detail"`
}

// CreatedCustomerView is a new customer with the accounts its
// institution's auto-open rules opened for it.
type CreatedCustomerView struct {
	CustomerView
	Accounts         []*CustomerAccountView `json:"accounts" doc:"Accounts opened by the products' auto-open rules for the customer's type."`
	AutoOpenFailures []AutoOpenFailure      `json:"auto_open_failures,omitempty"`
}

type openAccountIn struct {
	ID   string `path:"id" maxLength:"64" doc:"The customer."`
	Body struct {
		ProductID  string            `json:"product_id" minLength:"1" maxLength:"64" doc:"Opened on the product's latest version, which must be active."`
		Name       string            `json:"name,omitempty" maxLength:"200" doc:"Default: the product's name."`
		Reference  string            `json:"reference,omitempty" maxLength:"128" doc:"Idempotency: unique in the institution; a retry with it returns the account it opened (200)."`
		Properties map[string]string `json:"properties,omitempty" doc:"Free properties: at most 32, names up to 64 bytes, values up to 512."`
	}
}

type customerAccountOut struct {
	Status int
	Body   *CustomerAccountView
}

type customerAccountsIn struct {
	ID    string `path:"id" maxLength:"64"`
	After string `query:"after" maxLength:"64" doc:"Cursor: next_cursor of the previous page."`
	Limit int    `query:"limit" minimum:"0" maximum:"1000" doc:"Page size, default 100."`
}

type customerAccountPage struct {
	Body struct {
		Items      []*CustomerAccountView `json:"items"`
		NextCursor string                 `json:"next_cursor,omitempty"`
	}
}

type accountPropertiesIn struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Properties map[string]string `json:"properties" doc:"Replaces every property."`
	}
}

type placeFreezeIn struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Side      string `json:"side" enum:"debit,credit,both"`
		Authority string `json:"authority" enum:"operator,risk,judicial" doc:"Who ordered it; judicial needs accounts:judicial, to place and to lift."`
		Reason    string `json:"reason" minLength:"1" maxLength:"500"`
		Reference string `json:"reference,omitempty" maxLength:"128" doc:"Idempotency: unique per account; a retry with it returns the freeze it placed (200), even if lifted since; with another side or authority it is refused (conflict)."`
	}
}

type liftFreezeIn struct {
	ID       string `path:"id" maxLength:"64"`
	FreezeID string `path:"freeze_id" maxLength:"64"`
	Body     struct {
		Reason string `json:"reason,omitempty" maxLength:"500"`
	}
}

type freezeOut struct {
	Status int
	Body   struct {
		Freeze  *FreezeView  `json:"freeze"`
		Account *AccountView `json:"account" doc:"The account after the change."`
	}
}

type freezesIn struct {
	ID    string `path:"id" maxLength:"64"`
	After string `query:"after" maxLength:"64" doc:"Cursor: next_cursor of the previous page."`
	Limit int    `query:"limit" minimum:"0" maximum:"1000" doc:"Page size, default 100."`
}

type freezePage struct {
	Body struct {
		Items      []*FreezeView `json:"items"`
		NextCursor string        `json:"next_cursor,omitempty"`
	}
}

type closeSweepIn struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		SweepTo   string `json:"sweep_to,omitempty" maxLength:"64" doc:"Receives the remaining balance: same institution and asset. Without it the balance must be zero."`
		Reference string `json:"reference,omitempty" maxLength:"128" doc:"The sweep transfer's reference; default close-sweep:<account>:<entry seq>."`
		Reason    string `json:"reason,omitempty" maxLength:"500"`
	}
}

type closeSweepOut struct {
	Body struct {
		Account *AccountView     `json:"account"`
		Sweep   *TransactionView `json:"sweep,omitempty" doc:"The transfer that moved the remainder."`
	}
}

func (s *Server) registerLifecycle() {
	tags := []string{"Account life cycle"}
	register(s, huma.Operation{OperationID: "open-customer-account", Method: http.MethodPost, Path: "/customers/{id}/accounts", Tags: tags,
		Summary: "Open an account on a product", Description: "Opens a ledger account for the customer on the product's latest version " +
			"(asset, chart code, normal side and overdraft from the product), which the account keeps. The customer must be active; " +
			"a retired product refuses (product_retired). With a reference, a retry returns the same account with 200.",
		DefaultStatus: http.StatusCreated}, auth.AccountsWrite, s.openCustomerAccount)
	register(s, huma.Operation{OperationID: "list-customer-accounts", Method: http.MethodGet, Path: "/customers/{id}/accounts", Tags: tags,
		Summary: "A customer's accounts", Description: "By account ID, a page at a time, with balances and product versions."},
		auth.LedgerRead, s.listCustomerAccounts)
	register(s, huma.Operation{OperationID: "set-account-properties", Method: http.MethodPut, Path: "/accounts/{id}/properties", Tags: tags,
		Summary: "Replace an account's properties", Description: "For accounts opened on a product."}, auth.AccountsWrite, s.setAccountProperties)
	register(s, huma.Operation{OperationID: "place-freeze", Method: http.MethodPost, Path: "/accounts/{id}/freezes", Tags: tags,
		Summary: "Freeze an account with an authority and a reason", Description: "Freezes stack: a side stays frozen while any freeze " +
			"in force holds it. A judicial freeze needs accounts:judicial, and only that permission lifts it. " +
			"With a reference, a retry returns the same freeze with 200 and changes nothing.",
		DefaultStatus: http.StatusCreated}, auth.AccountsFreeze, s.placeFreeze)
	register(s, huma.Operation{OperationID: "list-freezes", Method: http.MethodGet, Path: "/accounts/{id}/freezes", Tags: tags,
		Summary: "An account's freezes", Description: "In force and lifted, oldest first."}, auth.LedgerRead, s.listFreezes)
	register(s, huma.Operation{OperationID: "lift-freeze", Method: http.MethodPost, Path: "/accounts/{id}/freezes/{freeze_id}/lift", Tags: tags,
		Summary: "Lift a freeze", Description: "Thaws the sides it froze that no other freeze in force holds. A judicial freeze needs " +
			"accounts:judicial (authority_required)."}, auth.AccountsFreeze, s.liftFreeze)
	register(s, huma.Operation{OperationID: "close-and-sweep", Method: http.MethodPost, Path: "/accounts/{id}/close-and-sweep", Tags: tags,
		Summary: "Close an account, sweeping its remainder", Description: "Moves the remaining balance to sweep_to in one transfer " +
			"(idempotent by its reference), then closes the account. Open holds (account_not_empty) and freezes in force " +
			"(freeze_in_force) refuse. A retry after a failure between the two completes the close; closing a closed account changes nothing."},
		auth.AccountsFreeze, s.closeAndSweep)
}

// auditChange records a life-cycle change with its outbox event.
func (s *Server) auditChange(ctx context.Context, op string) accounts.ChangeWrite {
	return func(wctx context.Context, tx *sql.Tx, e *accounts.Event) error {
		return s.audit(ctx, op, e.Subject, e.InstitutionID, nil,
			map[string]any{"event": e.Type, "event_id": e.ID, "change": e.Payload})(wctx, tx)
	}
}

func (s *Server) openCustomerAccount(ctx context.Context, in *openAccountIn) (*customerAccountOut, error) {
	p := principal(ctx)
	o, err := s.Lifecycle.Open(ctx, accounts.OpenRequest{CustomerID: in.ID, ProductID: in.Body.ProductID, Name: in.Body.Name,
		Reference: in.Body.Reference, Properties: in.Body.Properties, OpenedBy: p.KeyID, Scope: p.Scope},
		s.auditChange(ctx, "accounts.open"))
	if err != nil {
		return nil, err
	}
	status := http.StatusCreated
	if o.Replayed {
		status = http.StatusOK
	}
	return &customerAccountOut{Status: status, Body: s.customerAccountView(ctx, &o.CustomerAccount, o.Account, o.Product)}, nil
}

func (s *Server) listCustomerAccounts(ctx context.Context, in *customerAccountsIn) (*customerAccountPage, error) {
	links, next, err := s.Lifecycle.CustomerAccounts(ctx, in.ID, principal(ctx).Scope, in.After, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &customerAccountPage{}
	out.Body.Items = make([]*CustomerAccountView, len(links))
	for i, l := range links {
		a, err := s.Ledger.GetAccount(ctx, l.AccountID)
		if err != nil {
			return nil, err
		}
		out.Body.Items[i] = s.customerAccountView(ctx, l, a, nil)
	}
	out.Body.NextCursor = next
	return out, nil
}

func (s *Server) setAccountProperties(ctx context.Context, in *accountPropertiesIn) (*customerAccountOut, error) {
	p := principal(ctx)
	l, err := s.Lifecycle.UpdateProperties(ctx, in.ID, in.Body.Properties, p.KeyID, p.Scope, s.auditChange(ctx, "accounts.properties"))
	if err != nil {
		return nil, err
	}
	a, err := s.Ledger.GetAccount(ctx, l.AccountID)
	if err != nil {
		return nil, err
	}
	return &customerAccountOut{Status: http.StatusOK, Body: s.customerAccountView(ctx, l, a, nil)}, nil
}

// judicial reports whether the caller holds the judicial authority, and
// refuses a judicial request of a caller that does not.
func judicial(ctx context.Context, authority string) (bool, error) {
	p := principal(ctx)
	ok := p.Can(auth.AccountsJudicial)
	if authority == string(accounts.AuthorityJudicial) && !ok {
		return false, fail(ctx, http.StatusForbidden, auth.CodeForbidden, "body.authority",
			"this API key's role ("+string(p.Role)+") lacks the "+string(auth.AccountsJudicial)+" permission a judicial freeze needs")
	}
	return ok, nil
}

func (s *Server) placeFreeze(ctx context.Context, in *placeFreezeIn) (*freezeOut, error) {
	j, err := judicial(ctx, in.Body.Authority)
	if err != nil {
		return nil, err
	}
	p := principal(ctx)
	f, a, err := s.Lifecycle.Freeze(ctx, accounts.FreezeRequest{AccountID: in.ID, Side: accounts.FreezeSide(in.Body.Side),
		Authority: accounts.Authority(in.Body.Authority), Reason: in.Body.Reason, By: p.KeyID, Reference: in.Body.Reference,
		Judicial: j, Scope: p.Scope}, s.auditChange(ctx, "accounts.freeze"))
	if err != nil {
		return nil, err
	}
	out := &freezeOut{Status: http.StatusCreated}
	if f.Replayed {
		out.Status = http.StatusOK
	}
	out.Body.Freeze, out.Body.Account = freezeView(f), s.accountView(ctx, a)
	return out, nil
}

func (s *Server) listFreezes(ctx context.Context, in *freezesIn) (*freezePage, error) {
	fs, next, err := s.Lifecycle.Freezes(ctx, in.ID, principal(ctx).Scope, in.After, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &freezePage{}
	out.Body.Items = make([]*FreezeView, len(fs))
	for i, f := range fs {
		out.Body.Items[i] = freezeView(f)
	}
	out.Body.NextCursor = next
	return out, nil
}

func (s *Server) liftFreeze(ctx context.Context, in *liftFreezeIn) (*freezeOut, error) {
	p := principal(ctx)
	f, a, err := s.Lifecycle.Lift(ctx, accounts.LiftRequest{AccountID: in.ID, FreezeID: in.FreezeID, Reason: in.Body.Reason,
		By: p.KeyID, Judicial: p.Can(auth.AccountsJudicial), Scope: p.Scope}, s.auditChange(ctx, "accounts.thaw"))
	if err != nil {
		return nil, err
	}
	out := &freezeOut{Status: http.StatusOK}
	out.Body.Freeze, out.Body.Account = freezeView(f), s.accountView(ctx, a)
	return out, nil
}

func (s *Server) closeAndSweep(ctx context.Context, in *closeSweepIn) (*closeSweepOut, error) {
	p := principal(ctx)
	c, err := s.Lifecycle.Close(ctx, accounts.CloseRequest{AccountID: in.ID, SweepTo: in.Body.SweepTo, Reference: in.Body.Reference,
		Reason: in.Body.Reason, By: p.KeyID, Scope: p.Scope}, s.auditChange(ctx, "accounts.close"))
	if err != nil {
		return nil, err
	}
	out := &closeSweepOut{}
	out.Body.Account = s.accountView(ctx, c.Account)
	if c.Sweep != nil {
		out.Body.Sweep = s.transactionView(ctx, c.Sweep)
	}
	return out, nil
}

// autoOpen runs the auto-open rules for a customer just created and
// reports what they opened and what failed; failures do not undo the
// customer (it has committed), and each is retried with its reference.
func (s *Server) autoOpen(ctx context.Context, c *accounts.Customer) *CreatedCustomerView {
	res, err := s.Lifecycle.OpenForCustomer(ctx, c, principal(ctx).KeyID, s.auditChange(ctx, "accounts.open"))
	out := &CreatedCustomerView{CustomerView: *customerView(c, false), Accounts: []*CustomerAccountView{}}
	if err != nil {
		// The rules could not be read: none ran, or only those in res.
		p, _ := s.toProblem(ctx, err).(*Problem)
		out.AutoOpenFailures = append(out.AutoOpenFailures, AutoOpenFailure{Code: p.Code, Detail: p.Detail})
	}
	for _, r := range res {
		if r.Err == nil {
			out.Accounts = append(out.Accounts, s.customerAccountView(ctx, &r.Opened.CustomerAccount, r.Opened.Account, r.Opened.Product))
			continue
		}
		p, _ := s.toProblem(ctx, r.Err).(*Problem)
		out.AutoOpenFailures = append(out.AutoOpenFailures, AutoOpenFailure{ProductID: r.ProductID,
			Reference: accounts.AutoOpenReference(c.ID, r.ProductID), Code: p.Code, Detail: p.Detail})
	}
	return out
}
