package httpapi

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/money"
)

// Account products: versioned configuration that accounts are opened on.

type limitBody struct {
	Operation      string `json:"operation" enum:"topup,withdraw,payment,transfer,refund,cross_transfer,freeze,adjust,split,red_envelope,points_grant,points_redeem,points_expire,round_deposit,round_withdraw"`
	Channel        string `json:"channel,omitempty" maxLength:"32" doc:"The channel this limit is for; omitted: every channel without a limit of its own."`
	PerTransaction int64  `json:"per_transaction,omitempty" minimum:"0" doc:"Largest amount of one operation, minor units; 0 none."`
	DailyAmount    int64  `json:"daily_amount,omitempty" minimum:"0" doc:"Largest total per business day, minor units; 0 none."`
	DailyCount     int64  `json:"daily_count,omitempty" minimum:"0" doc:"Most operations per business day; 0 none."`
	MonthlyAmount  int64  `json:"monthly_amount,omitempty" minimum:"0" doc:"Largest total per calendar month, minor units; 0 none."`
	MonthlyCount   int64  `json:"monthly_count,omitempty" minimum:"0" doc:"Most operations per calendar month; 0 none."`
}

type tierBody struct {
	UpTo  int64  `json:"up_to,omitempty" minimum:"0" doc:"Upper bound of the tier, inclusive, minor units; 0 (the last tier only): none."`
	Fixed int64  `json:"fixed,omitempty" minimum:"0" doc:"Fixed part, minor units."`
	Rate  string `json:"rate,omitempty" maxLength:"24" doc:"Decimal rate on the whole amount, 0 to 1: \"0.006\" is 0.6%."`
}

type feeBody struct {
	Operation      string     `json:"operation" enum:"topup,withdraw,payment,transfer,refund,cross_transfer,freeze,adjust,split,red_envelope,points_grant,points_redeem,points_expire,round_deposit,round_withdraw"`
	Channel        string     `json:"channel,omitempty" maxLength:"32" doc:"The channel this rule is for; omitted: every channel without a rule of its own."`
	Kind           string     `json:"kind" enum:"fixed,percentage,tiered"`
	Fixed          int64      `json:"fixed,omitempty" minimum:"0" doc:"Fixed fee (fixed), or fixed part added to a percentage, minor units."`
	Rate           string     `json:"rate,omitempty" maxLength:"24" doc:"Percentage fee rate as a decimal, 0 to 1: \"0.006\" is 0.6%."`
	Tiers          []tierBody `json:"tiers,omitempty" maxItems:"32" doc:"Tiered fees: the tier whose range holds the amount prices the whole amount."`
	Min            int64      `json:"min,omitempty" minimum:"0" doc:"Smallest percentage or tiered fee, minor units; 0 none."`
	Max            int64      `json:"max,omitempty" minimum:"0" doc:"Largest percentage or tiered fee, minor units; 0 none."`
	Payer          string     `json:"payer" enum:"payer,payee" doc:"Who pays the fee."`
	Rounding       string     `json:"rounding" enum:"half_even,half_up,down,up,floor,ceiling" doc:"How amount × rate is rounded to minor units, once. Required."`
	FeeAccountCode string     `json:"fee_account_code" minLength:"1" maxLength:"32" doc:"Chart code of the fee-income account."`
}

// ProductConfig is the body of a product version: everything but its
// identity.
type ProductConfig struct {
	Name           string              `json:"name" minLength:"1" maxLength:"200"`
	Class          string              `json:"class" enum:"wallet,merchant_settlement,escrow,points,credit,shadow,clearing,internal" doc:"Cannot change between versions."`
	Asset          string              `json:"asset" minLength:"1" maxLength:"16" doc:"A registered asset. Cannot change between versions."`
	ChartCode      string              `json:"chart_code" minLength:"1" maxLength:"32" doc:"Chart-of-accounts code of the accounts opened, e.g. 2001."`
	NormalSide     string              `json:"normal_side" enum:"debit,credit"`
	Overdraft      string              `json:"overdraft,omitempty" enum:"none,limit,unlimited" doc:"Default none."`
	OverdraftLimit int64               `json:"overdraft_limit,omitempty" minimum:"0" doc:"With overdraft limit: how far below zero, minor units."`
	Limits         []limitBody         `json:"limits,omitempty" maxItems:"64"`
	Channels       []string            `json:"channels,omitempty" maxItems:"32" doc:"Allowed channels (bank, card, wechat, alipay, unionpay, cash, …); omitted: all."`
	Operations     []string            `json:"operations,omitempty" maxItems:"15" doc:"Allowed operation types (topup, withdraw, payment, transfer, refund, cross_transfer, freeze, adjust, split, red_envelope, points_grant, points_redeem, points_expire, round_deposit, round_withdraw); omitted: all."`
	Fees           []feeBody           `json:"fees,omitempty" maxItems:"64"`
	Term           *accounts.Term      `json:"term,omitempty" doc:"For fixed-term products: days from opening, or a maturity date (YYYY-MM-DD)."`
	AutoOpen       []accounts.AutoOpen `json:"auto_open,omitempty" maxItems:"16" doc:"Open an account on this product when a customer of a type is created or a scenario starts."`
}

type createProductBody struct {
	ID            string `json:"id" pattern:"^[a-z0-9][a-z0-9._-]{0,63}$" doc:"The product's code, unique in its institution, e.g. wallet-cny."`
	InstitutionID string `json:"institution_id,omitempty" maxLength:"64" doc:"Default: the API key's institution."`
	ProductConfig
}

// productRef names a product in the path, and its institution in the query.
type productRef struct {
	ID            string `path:"id" maxLength:"64"`
	InstitutionID string `query:"institution_id" maxLength:"64" doc:"The product's institution; default: the API key's."`
}

type getProductIn struct {
	ID            string `path:"id" maxLength:"64"`
	InstitutionID string `query:"institution_id" maxLength:"64" doc:"The product's institution; default: the API key's."`
	Version       int    `query:"version" minimum:"0" doc:"A version; omitted or 0: the latest."`
}

type updateProductIn struct {
	ID            string `path:"id" maxLength:"64"`
	InstitutionID string `query:"institution_id" maxLength:"64" doc:"The product's institution; default: the API key's."`
	Body          ProductConfig
}

type retireProductIn struct {
	ID            string `path:"id" maxLength:"64"`
	InstitutionID string `query:"institution_id" maxLength:"64" doc:"The product's institution; default: the API key's."`
	Body          *struct {
		Reason string `json:"reason,omitempty" maxLength:"500" doc:"Recorded in the audit log."`
	} `required:"false"`
}

type quoteIn struct {
	ID            string `path:"id" maxLength:"64"`
	InstitutionID string `query:"institution_id" maxLength:"64" doc:"The product's institution; default: the API key's."`
	Version       int    `query:"version" minimum:"0" doc:"A version; omitted or 0: the latest."`
	Body          struct {
		Operation string `json:"operation" enum:"topup,withdraw,payment,transfer,refund,cross_transfer,freeze,adjust,split,red_envelope,points_grant,points_redeem,points_expire,round_deposit,round_withdraw"`
		Channel   string `json:"channel,omitempty" maxLength:"32"`
		Amount    int64  `json:"amount" minimum:"1" doc:"Minor units."`
	}
}

type listProductsIn struct {
	InstitutionID string `query:"institution_id" maxLength:"64" doc:"Only this institution's products; default: all of the caller's."`
	Class         string `query:"class" enum:"wallet,merchant_settlement,escrow,points,credit,shadow,clearing,internal,"`
	Status        string `query:"status" enum:"active,retired," doc:"Of the latest version."`
	After         string `query:"after" maxLength:"200" doc:"Cursor: next_cursor of the previous page."`
	Limit         int    `query:"limit" minimum:"0" maximum:"1000" doc:"Page size, default 100."`
}

// LimitView is a product limit. Amounts are minor units with their decimal
// strings; 0 is no limit.
type LimitView struct {
	Operation             string `json:"operation"`
	Channel               string `json:"channel" doc:"Empty: every channel without a limit of its own."`
	PerTransaction        int64  `json:"per_transaction"`
	PerTransactionDisplay string `json:"per_transaction_display"`
	DailyAmount           int64  `json:"daily_amount"`
	DailyAmountDisplay    string `json:"daily_amount_display"`
	DailyCount            int64  `json:"daily_count"`
	MonthlyAmount         int64  `json:"monthly_amount"`
	MonthlyAmountDisplay  string `json:"monthly_amount_display"`
	MonthlyCount          int64  `json:"monthly_count"`
}

// TierView is one tier of a tiered fee.
type TierView struct {
	UpTo         int64  `json:"up_to" doc:"Inclusive upper bound; 0: none."`
	UpToDisplay  string `json:"up_to_display"`
	Fixed        int64  `json:"fixed"`
	FixedDisplay string `json:"fixed_display"`
	Rate         string `json:"rate"`
}

// FeeRuleView is a product fee rule.
type FeeRuleView struct {
	Operation      string     `json:"operation"`
	Channel        string     `json:"channel" doc:"Empty: every channel without a rule of its own."`
	Kind           string     `json:"kind" enum:"fixed,percentage,tiered"`
	Fixed          int64      `json:"fixed"`
	FixedDisplay   string     `json:"fixed_display"`
	Rate           string     `json:"rate"`
	Tiers          []TierView `json:"tiers"`
	Min            int64      `json:"min"`
	MinDisplay     string     `json:"min_display"`
	Max            int64      `json:"max"`
	MaxDisplay     string     `json:"max_display"`
	Payer          string     `json:"payer" enum:"payer,payee"`
	Rounding       string     `json:"rounding"`
	FeeAccountCode string     `json:"fee_account_code"`
}

// ProductView is one version of an account product.
type ProductView struct {
	ID                    string              `json:"id"`
	InstitutionID         string              `json:"institution_id"`
	Version               int                 `json:"version"`
	Name                  string              `json:"name"`
	Class                 string              `json:"class"`
	Asset                 string              `json:"asset"`
	ChartCode             string              `json:"chart_code"`
	NormalSide            string              `json:"normal_side" enum:"debit,credit"`
	Overdraft             string              `json:"overdraft" enum:"none,limit,unlimited"`
	OverdraftLimit        int64               `json:"overdraft_limit"`
	OverdraftLimitDisplay string              `json:"overdraft_limit_display"`
	Limits                []LimitView         `json:"limits"`
	Channels              []string            `json:"channels" doc:"Allowed channels; empty: all."`
	Operations            []string            `json:"operations" doc:"Allowed operation types; empty: all."`
	Fees                  []FeeRuleView       `json:"fees"`
	Term                  *accounts.Term      `json:"term,omitempty"`
	AutoOpen              []accounts.AutoOpen `json:"auto_open"`
	Status                string              `json:"status" enum:"active,retired"`
	CreatedAt             time.Time           `json:"created_at"`
	CreatedBy             string              `json:"created_by" doc:"The API key that wrote this version."`
}

type productOut struct {
	Body *ProductView
}

type productPage struct {
	Body struct {
		Items      []*ProductView `json:"items"`
		NextCursor string         `json:"next_cursor,omitempty"`
	}
}

// Refusal is why a quoted operation would be refused.
type Refusal struct {
	Code    string `json:"code" doc:"operation_not_allowed, channel_not_allowed or limit_exceeded."`
	Field   string `json:"field" doc:"operation or channel; for limits, which: per_transaction, daily_amount, daily_count, monthly_amount, monthly_count."`
	Message string `json:"message"`
}

// QuoteView is what a product would charge for and say to one operation.
type QuoteView struct {
	ProductID      string `json:"product_id"`
	Version        int    `json:"version"`
	Asset          string `json:"asset"`
	Operation      string `json:"operation"`
	Channel        string `json:"channel"`
	Amount         int64  `json:"amount"`
	AmountDisplay  string `json:"amount_display"`
	Fee            int64  `json:"fee"`
	FeeDisplay     string `json:"fee_display"`
	Payer          string `json:"payer" doc:"Who pays the fee: payer or payee; empty when no fee rule applies."`
	FeeAccountCode string `json:"fee_account_code"`
	// Allowed is the channel and operation control.
	Allowed bool     `json:"allowed" doc:"Whether the product allows the operation on the channel."`
	Refusal *Refusal `json:"refusal,omitempty"`
	// WithinLimits checks against an account that has used nothing yet.
	WithinLimits bool       `json:"within_limits" doc:"Whether the amount is within the governing limit, for an account that has used nothing in the day or month."`
	Limit        *LimitView `json:"limit,omitempty" doc:"The governing limit, if any."`
	LimitRefusal *Refusal   `json:"limit_refusal,omitempty"`
}

func (s *Server) registerProducts() {
	tags := []string{"Products"}
	register(s, huma.Operation{OperationID: "create-product", Method: http.MethodPost, Path: "/products", Tags: tags,
		Summary: "Create an account product", Description: "Stores version 1 of a new product.", DefaultStatus: http.StatusCreated},
		auth.ProductsWrite, s.createProduct)
	register(s, huma.Operation{OperationID: "list-products", Method: http.MethodGet, Path: "/products", Tags: tags,
		Summary: "List account products", Description: "The latest version of each of the caller's institutions' products, a page at a time."},
		auth.ProductsRead, s.listProducts)
	register(s, huma.Operation{OperationID: "get-product", Method: http.MethodGet, Path: "/products/{id}", Tags: tags,
		Summary: "Get an account product", Description: "The latest version, or the one asked for."}, auth.ProductsRead, s.getProduct)
	register(s, huma.Operation{OperationID: "list-product-versions", Method: http.MethodGet, Path: "/products/{id}/versions", Tags: tags,
		Summary: "Every version of an account product", Description: "Oldest first."}, auth.ProductsRead, s.productVersions)
	register(s, huma.Operation{OperationID: "update-product", Method: http.MethodPut, Path: "/products/{id}", Tags: tags,
		Summary: "Change an account product", Description: "Stores the body as the product's next version and returns it; earlier versions, and accounts opened on them, are unchanged. " +
			"Class and asset cannot change. A body equal to the latest version adds no version."},
		auth.ProductsWrite, s.updateProduct)
	register(s, huma.Operation{OperationID: "retire-product", Method: http.MethodPost, Path: "/products/{id}/retire", Tags: tags,
		Summary: "Retire an account product", Description: "Adds a version with status retired: no new accounts open on it; existing accounts keep working. Retiring a retired product changes nothing."},
		auth.ProductsWrite, s.retireProduct)
	register(s, huma.Operation{OperationID: "quote-product", Method: http.MethodPost, Path: "/products/{id}/quote", Tags: tags,
		Summary: "Price and check an operation", Description: "The fee, who pays it, the channel and operation control and the limit check (for an account that has used nothing yet) that the product gives one operation. Moves no money."},
		auth.ProductsRead, s.quoteProduct)
}

func (s *Server) createProduct(ctx context.Context, in *struct{ Body createProductBody }) (*productOut, error) {
	inst, err := institution(ctx, in.Body.InstitutionID)
	if err != nil {
		return nil, err
	}
	p, err := toProduct(ctx, in.Body.ProductConfig)
	if err != nil {
		return nil, err
	}
	p.ID, p.InstitutionID = in.Body.ID, inst
	out, err := s.Products.Create(ctx, p, s.auditProduct(ctx, "products.create", ""))
	if err != nil {
		return nil, err
	}
	return &productOut{Body: s.productView(ctx, out)}, nil
}

func (s *Server) updateProduct(ctx context.Context, in *updateProductIn) (*productOut, error) {
	inst, err := institutionIn(ctx, in.InstitutionID, "query.institution_id")
	if err != nil {
		return nil, err
	}
	p, err := toProduct(ctx, in.Body)
	if err != nil {
		return nil, err
	}
	p.ID, p.InstitutionID = in.ID, inst
	out, err := s.Products.Update(ctx, p, s.auditProduct(ctx, "products.update", ""))
	if err != nil {
		return nil, err
	}
	return &productOut{Body: s.productView(ctx, out)}, nil
}

func (s *Server) retireProduct(ctx context.Context, in *retireProductIn) (*productOut, error) {
	inst, err := institutionIn(ctx, in.InstitutionID, "query.institution_id")
	if err != nil {
		return nil, err
	}
	reason := ""
	if in.Body != nil {
		reason = in.Body.Reason
	}
	out, err := s.Products.Retire(ctx, inst, in.ID, principal(ctx).KeyID, s.auditProduct(ctx, "products.retire", reason))
	if err != nil {
		return nil, err
	}
	return &productOut{Body: s.productView(ctx, out)}, nil
}

func (s *Server) getProduct(ctx context.Context, in *getProductIn) (*productOut, error) {
	p, err := s.product(ctx, in.InstitutionID, in.ID, in.Version)
	if err != nil {
		return nil, err
	}
	return &productOut{Body: s.productView(ctx, p)}, nil
}

// product reads the product a request names, in the caller's institutions.
func (s *Server) product(ctx context.Context, inst, id string, version int) (*accounts.Product, error) {
	inst, err := institutionIn(ctx, inst, "query.institution_id")
	if err != nil {
		return nil, err
	}
	return s.Products.Get(ctx, inst, id, version)
}

func (s *Server) productVersions(ctx context.Context, in *productRef) (*struct{ Body []*ProductView }, error) {
	inst, err := institutionIn(ctx, in.InstitutionID, "query.institution_id")
	if err != nil {
		return nil, err
	}
	ps, err := s.Products.Versions(ctx, inst, in.ID)
	if err != nil {
		return nil, err
	}
	out := make([]*ProductView, len(ps))
	for i, p := range ps {
		out[i] = s.productView(ctx, p)
	}
	return &struct{ Body []*ProductView }{out}, nil
}

func (s *Server) listProducts(ctx context.Context, in *listProductsIn) (*productPage, error) {
	scope := principal(ctx).Scope
	if in.InstitutionID != "" {
		inst, err := institutionIn(ctx, in.InstitutionID, "query.institution_id")
		if err != nil {
			return nil, err
		}
		scope = []string{inst}
	}
	ps, next, err := s.Products.List(ctx, accounts.ProductFilter{InstitutionIDs: scope, Class: accounts.Class(in.Class),
		Status: accounts.ProductStatus(in.Status), After: in.After, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := &productPage{}
	out.Body.Items = make([]*ProductView, len(ps))
	for i, p := range ps {
		out.Body.Items[i] = s.productView(ctx, p)
	}
	out.Body.NextCursor = next
	return out, nil
}

func (s *Server) quoteProduct(ctx context.Context, in *quoteIn) (*struct{ Body *QuoteView }, error) {
	p, err := s.product(ctx, in.InstitutionID, in.ID, in.Version)
	if err != nil {
		return nil, err
	}
	op, channel, amount := in.Body.Operation, in.Body.Channel, in.Body.Amount
	fee, err := p.Fee(op, channel, amount)
	if err != nil {
		return nil, err
	}
	q := &QuoteView{ProductID: p.ID, Version: p.Version, Asset: p.Asset, Operation: op, Channel: channel,
		Amount: amount, AmountDisplay: s.display(ctx, p.Asset, amount), Fee: fee.Amount,
		FeeDisplay: s.display(ctx, p.Asset, fee.Amount), Payer: string(fee.Payer), FeeAccountCode: fee.AccountCode}
	q.Refusal, err = refusal(p.Allows(op, channel))
	if err != nil {
		return nil, err
	}
	q.Allowed = q.Refusal == nil
	if l, ok := p.LimitFor(op, channel); ok {
		v := s.limitView(ctx, p.Asset, l)
		q.Limit = &v
	}
	q.LimitRefusal, err = refusal(p.CheckLimits(op, channel, amount, accounts.Usage{}))
	if err != nil {
		return nil, err
	}
	q.WithinLimits = q.LimitRefusal == nil
	return &struct{ Body *QuoteView }{q}, nil
}

// refusal turns a control or limit refusal into its description; other
// errors are returned.
func refusal(err error) (*Refusal, error) {
	var e *accounts.Error
	if err == nil {
		return nil, nil
	}
	if errors.As(err, &e) {
		switch e.Code {
		case accounts.CodeOperationNotAllowed, accounts.CodeChannelNotAllowed, accounts.CodeLimitExceeded:
			return &Refusal{Code: string(e.Code), Field: e.Field, Message: e.Message}, nil
		}
	}
	return nil, err
}

// toProduct converts a request body to a product, parsing rates and
// rounding modes; the service validates the rest. CreatedBy is the caller.
func toProduct(ctx context.Context, c ProductConfig) (accounts.Product, error) {
	p := accounts.Product{Name: c.Name, Class: accounts.Class(c.Class), Asset: c.Asset, ChartCode: c.ChartCode,
		NormalSide: ledger.Side(c.NormalSide), Overdraft: ledger.Overdraft(c.Overdraft), OverdraftLimit: c.OverdraftLimit,
		Channels: c.Channels, Operations: c.Operations, Term: c.Term, AutoOpen: c.AutoOpen,
		CreatedBy: principal(ctx).KeyID}
	for _, l := range c.Limits {
		p.Limits = append(p.Limits, accounts.Limit{Operation: l.Operation, Channel: l.Channel, PerTxn: l.PerTransaction,
			DailyAmount: l.DailyAmount, DailyCount: l.DailyCount, MonthlyAmount: l.MonthlyAmount, MonthlyCount: l.MonthlyCount})
	}
	for i, f := range c.Fees {
		field := fmt.Sprintf("body.fees[%d]", i)
		r, err := parseRate(ctx, f.Rate, field+".rate")
		if err != nil {
			return p, err
		}
		mode, err := money.ParseRounding(f.Rounding)
		if err != nil {
			return p, fail(ctx, http.StatusUnprocessableEntity, string(accounts.CodeInvalidRequest), field+".rounding",
				"rounding must be half_even, half_up, down, up, floor or ceiling")
		}
		rule := accounts.FeeRule{Operation: f.Operation, Channel: f.Channel, Kind: accounts.FeeKind(f.Kind), Fixed: f.Fixed,
			Rate: r, Min: f.Min, Max: f.Max, Payer: accounts.Party(f.Payer), Rounding: mode, FeeAccountCode: f.FeeAccountCode}
		for j, t := range f.Tiers {
			tr, err := parseRate(ctx, t.Rate, fmt.Sprintf("%s.tiers[%d].rate", field, j))
			if err != nil {
				return p, err
			}
			rule.Tiers = append(rule.Tiers, accounts.Tier{UpTo: t.UpTo, Fixed: t.Fixed, Rate: tr})
		}
		p.Fees = append(p.Fees, rule)
	}
	return p, nil
}

// parseRate parses a rate field; omitted is 0.
func parseRate(ctx context.Context, s, field string) (money.Rate, error) {
	if s == "" {
		return money.Rate{}, nil
	}
	r, err := money.ParseRate(s)
	if err != nil {
		return r, fail(ctx, http.StatusUnprocessableEntity, string(accounts.CodeInvalidRequest), field,
			"a rate is a decimal such as 0.006 (0.6%) with at most 19 digits")
	}
	return r, nil
}

// auditProduct records a product change with the versions before and after.
func (s *Server) auditProduct(ctx context.Context, op, reason string) accounts.ProductWrite {
	return func(wctx context.Context, tx *sql.Tx, before, after *accounts.Product) error {
		var b, a any
		if before != nil {
			b = s.productView(ctx, before)
		}
		a = s.productView(ctx, after)
		if reason != "" {
			a = map[string]any{"product": a, "reason": reason}
		}
		return s.audit(ctx, op, "product:"+after.ID, after.InstitutionID, b, a)(wctx, tx)
	}
}

func (s *Server) limitView(ctx context.Context, asset string, l accounts.Limit) LimitView {
	return LimitView{Operation: l.Operation, Channel: l.Channel,
		PerTransaction: l.PerTxn, PerTransactionDisplay: s.display(ctx, asset, l.PerTxn),
		DailyAmount: l.DailyAmount, DailyAmountDisplay: s.display(ctx, asset, l.DailyAmount), DailyCount: l.DailyCount,
		MonthlyAmount: l.MonthlyAmount, MonthlyAmountDisplay: s.display(ctx, asset, l.MonthlyAmount), MonthlyCount: l.MonthlyCount}
}

func (s *Server) productView(ctx context.Context, p *accounts.Product) *ProductView {
	v := &ProductView{ID: p.ID, InstitutionID: p.InstitutionID, Version: p.Version, Name: p.Name, Class: string(p.Class),
		Asset: p.Asset, ChartCode: p.ChartCode, NormalSide: string(p.NormalSide), Overdraft: string(p.Overdraft),
		OverdraftLimit: p.OverdraftLimit, OverdraftLimitDisplay: s.display(ctx, p.Asset, p.OverdraftLimit),
		Limits: make([]LimitView, len(p.Limits)), Channels: p.Channels, Operations: p.Operations,
		Fees: make([]FeeRuleView, len(p.Fees)), Term: p.Term, AutoOpen: p.AutoOpen, Status: string(p.Status),
		CreatedAt: p.CreatedAt, CreatedBy: p.CreatedBy}
	for i, l := range p.Limits {
		v.Limits[i] = s.limitView(ctx, p.Asset, l)
	}
	for i, f := range p.Fees {
		fv := FeeRuleView{Operation: f.Operation, Channel: f.Channel, Kind: string(f.Kind), Fixed: f.Fixed,
			FixedDisplay: s.display(ctx, p.Asset, f.Fixed), Rate: f.Rate.String(), Tiers: make([]TierView, len(f.Tiers)),
			Min: f.Min, MinDisplay: s.display(ctx, p.Asset, f.Min), Max: f.Max, MaxDisplay: s.display(ctx, p.Asset, f.Max),
			Payer: string(f.Payer), Rounding: f.Rounding.String(), FeeAccountCode: f.FeeAccountCode}
		for j, t := range f.Tiers {
			fv.Tiers[j] = TierView{UpTo: t.UpTo, UpToDisplay: s.display(ctx, p.Asset, t.UpTo), Fixed: t.Fixed,
				FixedDisplay: s.display(ctx, p.Asset, t.Fixed), Rate: t.Rate.String()}
		}
		v.Fees[i] = fv
	}
	return v
}
