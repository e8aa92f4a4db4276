package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"

	sdk "github.com/suanpan/suanpan/client"
)

// CustomersCmd groups the customer commands.
type CustomersCmd struct {
	Create CustomersCreateCmd `cmd:"" help:"Create a customer; the products' auto-open rules open its accounts."`
	Get    CustomersGetCmd    `cmd:"" help:"Show a customer (identity fields masked unless --reveal) with its accounts."`
	List   CustomersListCmd   `cmd:"" help:"List the customers of the API key's institutions, a page at a time."`
}

// CustomersCreateCmd creates a customer.
type CustomersCreateCmd struct {
	client      `embed:""`
	Type        string            `enum:"personal,corporate,merchant,staff,partner,supplier" default:"personal" help:"personal, corporate, merchant, staff, partner or supplier."`
	Name        string            `required:"" help:"Name of the customer (encrypted at rest, shown masked)."`
	IDDocType   string            `name:"id-doc-type" enum:"resident_id,passport,business_license,other," default:"" help:"Type of the ID document: resident_id, passport, business_license or other; with --id-number."`
	IDNumber    string            `name:"id-number" placeholder:"NUMBER" help:"ID document number (encrypted at rest); one open customer per number and institution."`
	Phone       string            `help:"Phone number: digits, optionally after +."`
	RiskLevel   string            `name:"risk-level" enum:"low,medium,high," default:"" help:"low (the default), medium or high."`
	Property    map[string]string `placeholder:"NAME=VALUE" help:"A property of the customer; repeat for more."`
	Institution string            `placeholder:"ID" help:"Institution of the customer; default: the API key's."`
}

// Run creates the customer and prints it with the accounts opened for it.
func (c *CustomersCreateCmd) Run(ctx context.Context, a *app) error {
	body := sdk.CustomerBody{Type: sdk.CustomerBodyType(c.Type), Name: c.Name, IdDocType: opt(sdk.CustomerBodyIdDocType(c.IDDocType)),
		IdDocNumber: opt(c.IDNumber), Phone: opt(c.Phone), RiskLevel: opt(sdk.CustomerBodyRiskLevel(c.RiskLevel)),
		InstitutionId: opt(c.Institution)}
	if len(c.Property) > 0 {
		body.Properties = &c.Property
	}
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.CreateCustomerWithResponse(ctx, body)
	return show(a, c.JSON, r, err, func() *sdk.CreatedCustomerView { return r.JSON201 }, func(cu *sdk.CreatedCustomerView) error {
		if err := printCustomer(a.stdout, &sdk.CustomerView{Id: cu.Id, InstitutionId: cu.InstitutionId, Type: sdk.CustomerViewType(cu.Type),
			Name: cu.Name, IdDocType: (*sdk.CustomerViewIdDocType)(cu.IdDocType), IdDocNumber: cu.IdDocNumber, Phone: cu.Phone,
			Status: sdk.CustomerViewStatus(cu.Status), StatusReason: cu.StatusReason, RiskLevel: sdk.CustomerViewRiskLevel(cu.RiskLevel),
			Properties: cu.Properties, CreatedAt: cu.CreatedAt}); err != nil {
			return err
		}
		if err := printCustomerAccounts(a.stdout, items(cu.Accounts)); err != nil {
			return err
		}
		for _, f := range items(cu.AutoOpenFailures) {
			fmt.Fprintf(a.stdout, "not opened: %s: %s: %s (retry with reference %s)\n", deref(f.ProductId), f.Code, f.Detail, deref(f.Reference))
		}
		return nil
	})
}

// CustomersGetCmd shows a customer.
type CustomersGetCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Customer ID."`
	Reveal bool   `help:"Show the identity fields unmasked. Needs the customers:pii permission; every reveal is audited."`
}

// Run prints the customer and its first accounts.
func (c *CustomersGetCmd) Run(ctx context.Context, a *app) error {
	var params sdk.GetCustomerParams
	if c.Reveal {
		params.Reveal = &c.Reveal
	}
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.GetCustomerWithResponse(ctx, c.ID, &params)
	cu, _, err := jsonOf(r, err, func() *sdk.CustomerView { return r.JSON200 })
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, r.Body)
	}
	limit := int64(100)
	ar, err := api.ListCustomerAccountsWithResponse(ctx, c.ID, &sdk.ListCustomerAccountsParams{Limit: &limit})
	page, _, err := jsonOf(ar, err, func() *sdk.CustomerAccountPageBody { return ar.JSON200 })
	if err != nil {
		return err
	}
	if err := printCustomer(a.stdout, cu); err != nil {
		return err
	}
	if err := printCustomerAccounts(a.stdout, items(page.Items)); err != nil {
		return err
	}
	if deref(page.NextCursor) != "" {
		fmt.Fprintln(a.stdout, "(more accounts: see GET /v1/customers/"+url.PathEscape(c.ID)+"/accounts)")
	}
	return nil
}

func printCustomer(w io.Writer, cu *sdk.CustomerView) error {
	kv := []string{
		"id", cu.Id,
		"institution", cu.InstitutionId,
		"type", string(cu.Type),
		"name", cu.Name,
	}
	if n := deref(cu.IdDocNumber); n != "" {
		kv = append(kv, "id document", string(deref(cu.IdDocType))+" "+n)
	}
	if p := deref(cu.Phone); p != "" {
		kv = append(kv, "phone", p)
	}
	status := string(cu.Status)
	if r := deref(cu.StatusReason); r != "" {
		status += " (" + r + ")"
	}
	kv = append(kv, "status", status, "risk level", string(cu.RiskLevel))
	keys := make([]string, 0, len(cu.Properties))
	for k := range cu.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kv = append(kv, "property", k+"="+cu.Properties[k])
	}
	kv = append(kv, "created", timeText(cu.CreatedAt))
	return fields(w, kv...)
}

func printCustomerAccounts(w io.Writer, accts []sdk.CustomerAccountView) error {
	if len(accts) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	t := newTable(w, "ACCOUNT", "PRODUCT", "ASSET", "STATUS", "BALANCE", "AVAILABLE")
	for _, ca := range accts {
		product := ca.ProductId + " v" + strconv.FormatInt(ca.ProductVersion, 10)
		if ca.Account.Id == "" {
			t.row("?", product, "", "", "", "")
			continue
		}
		acct := ca.Account
		t.row(acct.Id, product, acct.Asset, string(acct.Status), acct.BalanceDisplay, acct.AvailableDisplay)
	}
	return t.flush()
}

// CustomersListCmd lists customers.
type CustomersListCmd struct {
	client   `embed:""`
	Type     string `enum:"personal,corporate,merchant,staff,partner,supplier," default:"" help:"Only customers of this type."`
	Status   string `enum:"active,frozen,closed," default:"" help:"Only customers with this status: active, frozen or closed."`
	IDNumber string `name:"id-number" placeholder:"NUMBER" help:"Only customers with this exact ID document number."`
	After    string `placeholder:"CURSOR" help:"Start after this cursor, printed at the end of the previous page."`
	Limit    int    `default:"50" help:"Customers per page, 1 to 1000."`
}

// Run prints a page of customers, identity fields masked.
func (c *CustomersListCmd) Run(ctx context.Context, a *app) error {
	if c.Limit < 1 || c.Limit > 1000 {
		return fmt.Errorf("--limit must be from 1 to 1000")
	}
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.ListCustomersWithResponse(ctx, &sdk.ListCustomersParams{Type: opt(sdk.ListCustomersParamsType(c.Type)),
		Status: opt(sdk.ListCustomersParamsStatus(c.Status)), IdNumber: opt(c.IDNumber), After: opt(c.After), Limit: limitOf(c.Limit)})
	return show(a, c.JSON, r, err, func() *sdk.CustomerPageBody { return r.JSON200 }, func(page *sdk.CustomerPageBody) error {
		t := newTable(a.stdout, "ID", "INSTITUTION", "TYPE", "STATUS", "RISK", "NAME", "PHONE")
		for _, cu := range items(page.Items) {
			t.row(cu.Id, cu.InstitutionId, string(cu.Type), string(cu.Status), string(cu.RiskLevel), cu.Name, deref(cu.Phone))
		}
		if err := t.flush(); err != nil {
			return err
		}
		more(a.stdout, page.NextCursor)
		return nil
	})
}

// ProductsCmd groups the product commands.
type ProductsCmd struct {
	List     ProductsListCmd     `cmd:"" help:"List the products of the API key's institutions, a page at a time."`
	Get      ProductsGetCmd      `cmd:"" help:"Show a product version: its limits, fees and rules."`
	Create   ProductsCreateCmd   `cmd:"" help:"Create a product from its definition in a JSON file."`
	Versions ProductsVersionsCmd `cmd:"" help:"List a product's versions."`
}

// ProductsListCmd lists products.
type ProductsListCmd struct {
	client      `embed:""`
	Institution string `placeholder:"ID" help:"Only this institution's products; default: all of the API key's."`
	Class       string `enum:"wallet,merchant_settlement,escrow,points,credit,shadow,clearing,internal," default:"" help:"Only products of this class."`
	Status      string `enum:"active,retired," default:"" help:"Only active or retired products."`
	After       string `placeholder:"CURSOR" help:"Start after this cursor, printed at the end of the previous page."`
	Limit       int    `default:"50" help:"Products per page, 1 to 1000."`
}

// Run prints a page of products.
func (c *ProductsListCmd) Run(ctx context.Context, a *app) error {
	if c.Limit < 1 || c.Limit > 1000 {
		return fmt.Errorf("--limit must be from 1 to 1000")
	}
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.ListProductsWithResponse(ctx, &sdk.ListProductsParams{InstitutionId: opt(c.Institution),
		Class: opt(sdk.ListProductsParamsClass(c.Class)), Status: opt(sdk.ListProductsParamsStatus(c.Status)), After: opt(c.After),
		Limit: limitOf(c.Limit)})
	return show(a, c.JSON, r, err, func() *sdk.ProductPageBody { return r.JSON200 }, func(page *sdk.ProductPageBody) error {
		t := newTable(a.stdout, "ID", "INSTITUTION", "VERSION", "CLASS", "ASSET", "CODE", "STATUS", "NAME")
		for _, p := range items(page.Items) {
			t.row(p.Id, p.InstitutionId, strconv.FormatInt(p.Version, 10), p.Class, p.Asset, p.ChartCode, string(p.Status), p.Name)
		}
		if err := t.flush(); err != nil {
			return err
		}
		more(a.stdout, page.NextCursor)
		return nil
	})
}

// ProductsGetCmd shows a product.
type ProductsGetCmd struct {
	client      `embed:""`
	ID          string `arg:"" help:"Product ID, e.g. wallet-cny."`
	Institution string `placeholder:"ID" help:"The product's institution; default: the API key's."`
	Version     int    `help:"A version; default: the latest."`
}

// Run prints the product version.
func (c *ProductsGetCmd) Run(ctx context.Context, a *app) error {
	params := sdk.GetProductParams{InstitutionId: opt(c.Institution)}
	if c.Version != 0 {
		v := int64(c.Version)
		params.Version = &v
	}
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.GetProductWithResponse(ctx, c.ID, &params)
	return show(a, c.JSON, r, err, func() *sdk.ProductView { return r.JSON200 }, func(p *sdk.ProductView) error {
		return printProduct(a.stdout, p)
	})
}

func printProduct(w io.Writer, p *sdk.ProductView) error {
	all := func(list *[]string) string {
		if len(items(list)) == 0 {
			return "all"
		}
		return strings.Join(*list, ", ")
	}
	overdraft := string(p.Overdraft)
	if p.Overdraft == "limit" {
		overdraft += " " + p.OverdraftLimitDisplay
	}
	kv := []string{
		"id", p.Id + " v" + strconv.FormatInt(p.Version, 10),
		"institution", p.InstitutionId,
		"name", p.Name,
		"class", p.Class,
		"asset", p.Asset,
		"code", p.ChartCode + " (" + string(p.NormalSide) + "-normal, overdraft " + overdraft + ")",
		"status", string(p.Status),
		"channels", all(p.Channels),
		"operations", all(p.Operations),
	}
	for _, ao := range items(p.AutoOpen) {
		if t := deref(ao.CustomerType); t != "" {
			kv = append(kv, "auto-open", "for new "+t+" customers")
		} else {
			kv = append(kv, "auto-open", "for scenario "+deref(ao.Scenario))
		}
	}
	kv = append(kv, "created", timeText(p.CreatedAt))
	if err := fields(w, kv...); err != nil {
		return err
	}
	orAll := func(s string) string {
		if s == "" {
			return "*"
		}
		return s
	}
	if limits := items(p.Limits); len(limits) > 0 {
		fmt.Fprintln(w)
		t := newTable(w, "LIMIT", "CHANNEL", "PER TXN", "DAILY AMOUNT", "DAILY COUNT", "MONTHLY AMOUNT", "MONTHLY COUNT")
		for _, l := range limits {
			t.row(l.Operation, orAll(l.Channel), l.PerTransactionDisplay, l.DailyAmountDisplay, strconv.FormatInt(l.DailyCount, 10),
				l.MonthlyAmountDisplay, strconv.FormatInt(l.MonthlyCount, 10))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if fees := items(p.Fees); len(fees) > 0 {
		fmt.Fprintln(w)
		t := newTable(w, "FEE", "CHANNEL", "KIND", "FIXED", "RATE", "MIN", "MAX", "PAYER")
		for _, f := range fees {
			t.row(f.Operation, orAll(f.Channel), string(f.Kind), f.FixedDisplay, f.Rate, f.MinDisplay, f.MaxDisplay, string(f.Payer))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	return nil
}
