package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/suanpan/suanpan/internal/httpapi"
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
	body := map[string]any{"type": c.Type, "name": c.Name}
	for k, v := range map[string]string{"id_doc_type": c.IDDocType, "id_doc_number": c.IDNumber, "phone": c.Phone,
		"risk_level": c.RiskLevel, "institution_id": c.Institution} {
		if v != "" {
			body[k] = v
		}
	}
	if len(c.Property) > 0 {
		body["properties"] = c.Property
	}
	var cu httpapi.CreatedCustomerView
	ans, err := c.call(ctx, http.MethodPost, "/v1/customers", nil, body, &cu, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	if err := printCustomer(a.stdout, &cu.CustomerView); err != nil {
		return err
	}
	if err := printCustomerAccounts(a.stdout, cu.Accounts); err != nil {
		return err
	}
	for _, f := range cu.AutoOpenFailures {
		fmt.Fprintf(a.stdout, "not opened: %s: %s: %s (retry with reference %s)\n", f.ProductID, f.Code, f.Detail, f.Reference)
	}
	return nil
}

// CustomersGetCmd shows a customer.
type CustomersGetCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Customer ID."`
	Reveal bool   `help:"Show the identity fields unmasked. Needs the customers:pii permission; every reveal is audited."`
}

// customerAccountPage is a page of GET /v1/customers/{id}/accounts.
type customerAccountPage struct {
	Items      []*httpapi.CustomerAccountView `json:"items"`
	NextCursor string                         `json:"next_cursor"`
}

// Run prints the customer and its first accounts.
func (c *CustomersGetCmd) Run(ctx context.Context, a *app) error {
	var q url.Values
	if c.Reveal {
		q = url.Values{"reveal": {"true"}}
	}
	var cu httpapi.CustomerView
	path := "/v1/customers/" + url.PathEscape(c.ID)
	ans, err := c.call(ctx, http.MethodGet, path, q, nil, &cu, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	var page customerAccountPage
	if _, err := c.call(ctx, http.MethodGet, path+"/accounts", url.Values{"limit": {"100"}}, nil, &page, ""); err != nil {
		return err
	}
	if err := printCustomer(a.stdout, &cu); err != nil {
		return err
	}
	if err := printCustomerAccounts(a.stdout, page.Items); err != nil {
		return err
	}
	if page.NextCursor != "" {
		fmt.Fprintln(a.stdout, "(more accounts: see GET "+path+"/accounts)")
	}
	return nil
}

func printCustomer(w io.Writer, cu *httpapi.CustomerView) error {
	kv := []string{
		"id", cu.ID,
		"institution", cu.InstitutionID,
		"type", cu.Type,
		"name", cu.Name,
	}
	if cu.IDDocNumber != "" {
		kv = append(kv, "id document", cu.IDDocType+" "+cu.IDDocNumber)
	}
	if cu.Phone != "" {
		kv = append(kv, "phone", cu.Phone)
	}
	status := cu.Status
	if cu.StatusReason != "" {
		status += " (" + cu.StatusReason + ")"
	}
	kv = append(kv, "status", status, "risk level", cu.RiskLevel)
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

func printCustomerAccounts(w io.Writer, accts []*httpapi.CustomerAccountView) error {
	if len(accts) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	t := newTable(w, "ACCOUNT", "PRODUCT", "ASSET", "STATUS", "BALANCE", "AVAILABLE")
	for _, ca := range accts {
		product := ca.ProductID + " v" + strconv.Itoa(ca.ProductVersion)
		if ca.Account == nil {
			t.row("?", product, "", "", "", "")
			continue
		}
		acct := ca.Account
		t.row(acct.ID, product, acct.Asset, acct.Status, acct.BalanceDisplay, acct.AvailableDisplay)
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

// customerPage is a page of GET /v1/customers.
type customerPage struct {
	Items      []*httpapi.CustomerView `json:"items"`
	NextCursor string                  `json:"next_cursor"`
}

// Run prints a page of customers, identity fields masked.
func (c *CustomersListCmd) Run(ctx context.Context, a *app) error {
	if c.Limit < 1 || c.Limit > 1000 {
		return fmt.Errorf("--limit must be from 1 to 1000")
	}
	q := url.Values{"limit": {strconv.Itoa(c.Limit)}}
	for k, v := range map[string]string{"type": c.Type, "status": c.Status, "id_number": c.IDNumber, "after": c.After} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var page customerPage
	ans, err := c.call(ctx, http.MethodGet, "/v1/customers", q, nil, &page, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	t := newTable(a.stdout, "ID", "INSTITUTION", "TYPE", "STATUS", "RISK", "NAME", "PHONE")
	for _, cu := range page.Items {
		t.row(cu.ID, cu.InstitutionID, cu.Type, cu.Status, cu.RiskLevel, cu.Name, cu.Phone)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if page.NextCursor != "" {
		fmt.Fprintf(a.stdout, "more: --after %s\n", page.NextCursor)
	}
	return nil
}

// ProductsCmd groups the product commands.
type ProductsCmd struct {
	List     ProductsListCmd     `cmd:"" help:"List the products of the API key's institutions, a page at a time."`
	Get      ProductsGetCmd      `cmd:"" help:"Show a product version: its limits, fees and rules."`
	Create   ProductsCreateCmd   `cmd:"" help:"Create a product from its definition in a JSON file."`
	Versions ProductsVersionsCmd `cmd:"" help:"List a product's versions."`
}

// productPage is a page of GET /v1/products.
type productPage struct {
	Items      []*httpapi.ProductView `json:"items"`
	NextCursor string                 `json:"next_cursor"`
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
	q := url.Values{"limit": {strconv.Itoa(c.Limit)}}
	for k, v := range map[string]string{"institution_id": c.Institution, "class": c.Class, "status": c.Status, "after": c.After} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var page productPage
	ans, err := c.call(ctx, http.MethodGet, "/v1/products", q, nil, &page, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	t := newTable(a.stdout, "ID", "INSTITUTION", "VERSION", "CLASS", "ASSET", "CODE", "STATUS", "NAME")
	for _, p := range page.Items {
		t.row(p.ID, p.InstitutionID, strconv.Itoa(p.Version), p.Class, p.Asset, p.ChartCode, p.Status, p.Name)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if page.NextCursor != "" {
		fmt.Fprintf(a.stdout, "more: --after %s\n", page.NextCursor)
	}
	return nil
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
	q := url.Values{}
	if c.Institution != "" {
		q.Set("institution_id", c.Institution)
	}
	if c.Version != 0 {
		q.Set("version", strconv.Itoa(c.Version))
	}
	var p httpapi.ProductView
	ans, err := c.call(ctx, http.MethodGet, "/v1/products/"+url.PathEscape(c.ID), q, nil, &p, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	return printProduct(a.stdout, &p)
}

func printProduct(w io.Writer, p *httpapi.ProductView) error {
	all := func(list []string) string {
		if len(list) == 0 {
			return "all"
		}
		return strings.Join(list, ", ")
	}
	overdraft := p.Overdraft
	if p.Overdraft == "limit" {
		overdraft += " " + p.OverdraftLimitDisplay
	}
	kv := []string{
		"id", p.ID + " v" + strconv.Itoa(p.Version),
		"institution", p.InstitutionID,
		"name", p.Name,
		"class", p.Class,
		"asset", p.Asset,
		"code", p.ChartCode + " (" + p.NormalSide + "-normal, overdraft " + overdraft + ")",
		"status", p.Status,
		"channels", all(p.Channels),
		"operations", all(p.Operations),
	}
	for _, ao := range p.AutoOpen {
		if ao.CustomerType != "" {
			kv = append(kv, "auto-open", "for new "+ao.CustomerType+" customers")
		} else {
			kv = append(kv, "auto-open", "for scenario "+ao.Scenario)
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
	if len(p.Limits) > 0 {
		fmt.Fprintln(w)
		t := newTable(w, "LIMIT", "CHANNEL", "PER TXN", "DAILY AMOUNT", "DAILY COUNT", "MONTHLY AMOUNT", "MONTHLY COUNT")
		for _, l := range p.Limits {
			t.row(l.Operation, orAll(l.Channel), l.PerTransactionDisplay, l.DailyAmountDisplay, strconv.FormatInt(l.DailyCount, 10),
				l.MonthlyAmountDisplay, strconv.FormatInt(l.MonthlyCount, 10))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if len(p.Fees) > 0 {
		fmt.Fprintln(w)
		t := newTable(w, "FEE", "CHANNEL", "KIND", "FIXED", "RATE", "MIN", "MAX", "PAYER")
		for _, f := range p.Fees {
			t.row(f.Operation, orAll(f.Channel), f.Kind, f.FixedDisplay, f.Rate, f.MinDisplay, f.MaxDisplay, f.Payer)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	return nil
}
