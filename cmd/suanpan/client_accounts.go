package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/suanpan/suanpan/internal/httpapi"
	"github.com/suanpan/suanpan/internal/money"
)

// AccountsCmd groups the account commands.
type AccountsCmd struct {
	List   AccountsListCmd   `cmd:"" help:"List the accounts of the API key's institutions, a page at a time."`
	Get    AccountsGetCmd    `cmd:"" help:"Show an account with its balances."`
	Create AccountsCreateCmd `cmd:"" help:"Open an account."`
	Freeze AccountsFreezeCmd `cmd:"" help:"Freeze an account: stop its debits, credits or both."`
	Thaw   AccountsThawCmd   `cmd:"" help:"Thaw a frozen account."`
	Close  AccountsCloseCmd  `cmd:"" help:"Close an account for good. It must hold nothing and have no pending amounts."`
}

// accountPage is a page of GET /v1/accounts.
type accountPage struct {
	Items      []*httpapi.AccountView `json:"items"`
	NextCursor string                 `json:"next_cursor"`
}

// AccountsListCmd lists accounts.
type AccountsListCmd struct {
	client `embed:""`
	Asset  string `help:"Only accounts of this asset."`
	Code   string `help:"Only accounts with this chart-of-accounts code."`
	Status string `enum:"active,debit_frozen,credit_frozen,frozen,closed," default:"" help:"Only accounts with this status: active, debit_frozen, credit_frozen, frozen or closed."`
	After  string `placeholder:"CURSOR" help:"Start after this cursor, printed at the end of the previous page."`
	Limit  int    `default:"50" help:"Accounts per page, 1 to 1000."`
}

// Run prints a page of accounts.
func (c *AccountsListCmd) Run(ctx context.Context, a *app) error {
	if c.Limit < 1 || c.Limit > 1000 {
		return fmt.Errorf("--limit must be from 1 to 1000")
	}
	q := url.Values{"limit": {strconv.Itoa(c.Limit)}}
	for k, v := range map[string]string{"asset": c.Asset, "code": c.Code, "status": c.Status, "after": c.After} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var page accountPage
	ans, err := c.call(ctx, http.MethodGet, "/v1/accounts", q, nil, &page, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans)
	}
	t := newTable(a.stdout, "ID", "INSTITUTION", "ASSET", "CODE", "STATUS", "BALANCE", "AVAILABLE", "NAME")
	for _, acct := range page.Items {
		t.row(acct.ID, acct.InstitutionID, acct.Asset, acct.Code, acct.Status, acct.BalanceDisplay, acct.AvailableDisplay, acct.Name)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if page.NextCursor != "" {
		fmt.Fprintf(a.stdout, "more: --after %s\n", page.NextCursor)
	}
	return nil
}

// AccountsGetCmd shows one account.
type AccountsGetCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Account ID."`
}

// Run prints the account.
func (c *AccountsGetCmd) Run(ctx context.Context, a *app) error {
	var acct httpapi.AccountView
	ans, err := c.call(ctx, http.MethodGet, "/v1/accounts/"+url.PathEscape(c.ID), nil, nil, &acct, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans)
	}
	return printAccount(a.stdout, &acct)
}

func printAccount(w io.Writer, acct *httpapi.AccountView) error {
	overdraft := acct.Overdraft
	if acct.Overdraft == "limit" {
		overdraft += " " + strconv.FormatInt(acct.OverdraftLimit, 10) + " minor units"
	}
	return fields(w,
		"id", acct.ID,
		"institution", acct.InstitutionID,
		"name", acct.Name,
		"asset", acct.Asset,
		"code", acct.Code+" ("+acct.NormalSide+"-normal, overdraft "+overdraft+")",
		"status", acct.Status,
		"balance", acct.BalanceDisplay+" "+acct.Asset,
		"available", acct.AvailableDisplay+" "+acct.Asset,
		"created", timeText(acct.CreatedAt),
	)
}

// AccountsCreateCmd opens an account.
type AccountsCreateCmd struct {
	client         `embed:""`
	Asset          string `required:"" help:"Asset of the account, e.g. CNY."`
	Code           string `required:"" help:"Chart-of-accounts code, e.g. 2001 for customer deposits."`
	NormalSide     string `name:"normal-side" required:"" enum:"debit,credit" help:"debit for assets and expenses; credit for liabilities (customer wallets), equity and income."`
	Overdraft      string `enum:"none,limit,unlimited" default:"none" help:"How far the available balance may go below zero: none, limit (--overdraft-limit) or unlimited."`
	OverdraftLimit string `name:"overdraft-limit" placeholder:"AMOUNT" help:"With --overdraft limit: how far below zero, as a decimal amount, e.g. 500.00."`
	Name           string `help:"Name of the account."`
	Institution    string `placeholder:"ID" help:"Institution to open it in; default: the API key's."`
}

// Run opens the account and prints it.
func (c *AccountsCreateCmd) Run(ctx context.Context, a *app) error {
	body := map[string]any{"asset": c.Asset, "code": c.Code, "normal_side": c.NormalSide, "overdraft": c.Overdraft}
	if c.Name != "" {
		body["name"] = c.Name
	}
	if c.Institution != "" {
		body["institution_id"] = c.Institution
	}
	switch {
	case c.OverdraftLimit != "" && c.Overdraft != "limit":
		return fmt.Errorf("--overdraft-limit needs --overdraft limit")
	case c.OverdraftLimit != "":
		limit, err := c.amount(ctx, "overdraft-limit", c.OverdraftLimit, c.Asset)
		if err != nil {
			return err
		}
		body["overdraft_limit"] = limit
	}
	var acct httpapi.AccountView
	ans, err := c.call(ctx, http.MethodPost, "/v1/accounts", nil, body, &acct, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans)
	}
	return printAccount(a.stdout, &acct)
}

// AccountsFreezeCmd freezes an account.
type AccountsFreezeCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Account ID."`
	Side   string `required:"" enum:"debit,credit,both" help:"What to stop: debit, credit or both."`
	Reason string `help:"Why, for the audit log."`
}

// Run freezes the account and prints it.
func (c *AccountsFreezeCmd) Run(ctx context.Context, a *app) error {
	return changeStatus(ctx, a, &c.client, c.ID, "freeze", map[string]any{"side": c.Side, "reason": c.Reason})
}

// AccountsThawCmd thaws an account.
type AccountsThawCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Account ID."`
	Side   string `required:"" enum:"debit,credit,both" help:"What to allow again: debit, credit or both."`
	Reason string `help:"Why, for the audit log."`
}

// Run thaws the account and prints it.
func (c *AccountsThawCmd) Run(ctx context.Context, a *app) error {
	return changeStatus(ctx, a, &c.client, c.ID, "thaw", map[string]any{"side": c.Side, "reason": c.Reason})
}

// AccountsCloseCmd closes an account.
type AccountsCloseCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Account ID."`
	Reason string `help:"Why, for the audit log."`
}

// Run closes the account and prints it.
func (c *AccountsCloseCmd) Run(ctx context.Context, a *app) error {
	return changeStatus(ctx, a, &c.client, c.ID, "close", map[string]any{"reason": c.Reason})
}

func changeStatus(ctx context.Context, a *app, c *client, id, action string, body map[string]any) error {
	if body["reason"] == "" {
		delete(body, "reason")
	}
	var acct httpapi.AccountView
	ans, err := c.call(ctx, http.MethodPost, "/v1/accounts/"+url.PathEscape(id)+"/"+action, nil, body, &acct, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans)
	}
	return printAccount(a.stdout, &acct)
}

// BalanceCmd shows an account's balances.
type BalanceCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Account ID."`
	AsOf   string `name:"as-of" placeholder:"RFC3339" help:"Balances as they stood at this time, e.g. 2026-11-02T09:00:00Z; default now."`
}

// Run prints the balances.
func (c *BalanceCmd) Run(ctx context.Context, a *app) error {
	var q url.Values
	asOf := "now"
	if c.AsOf != "" {
		t, err := time.Parse(time.RFC3339, c.AsOf)
		if err != nil {
			return fmt.Errorf("--as-of must be an RFC 3339 time such as 2026-11-02T09:00:00Z: %w", err)
		}
		q = url.Values{"as_of": {t.Format(time.RFC3339Nano)}}
		asOf = timeText(t)
	}
	var acct httpapi.AccountView
	ans, err := c.call(ctx, http.MethodGet, "/v1/accounts/"+url.PathEscape(c.ID)+"/balance", q, nil, &acct, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans)
	}
	scale, err := c.scale(ctx, acct.Asset)
	if err != nil {
		return err
	}
	b := acct.Balances
	return fields(a.stdout,
		"account", acct.ID+" ("+acct.Name+")",
		"as of", asOf,
		"balance", acct.BalanceDisplay+" "+acct.Asset,
		"available", acct.AvailableDisplay+" "+acct.Asset,
		"posted", "debits "+money.Format(b.DebitsPosted, scale)+", credits "+money.Format(b.CreditsPosted, scale),
		"pending", "debits "+money.Format(b.DebitsPending, scale)+", credits "+money.Format(b.CreditsPending, scale),
	)
}

// entryPage is a page of GET /v1/accounts/{id}/entries.
type entryPage struct {
	Items      []httpapi.StatementLineView `json:"items"`
	NextCursor int64                       `json:"next_cursor"`
}

// EntriesCmd shows an account's journal.
type EntriesCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Account ID."`
	After  int64  `placeholder:"CURSOR" help:"Start after this cursor, printed at the end of the previous page."`
	Limit  int    `default:"20" help:"Entries per page, 1 to 1000."`
}

// Run prints a page of entries, oldest first.
func (c *EntriesCmd) Run(ctx context.Context, a *app) error {
	if c.Limit < 1 || c.Limit > 1000 {
		return fmt.Errorf("--limit must be from 1 to 1000")
	}
	q := url.Values{"limit": {strconv.Itoa(c.Limit)}}
	if c.After > 0 {
		q.Set("after", strconv.FormatInt(c.After, 10))
	}
	var page entryPage
	ans, err := c.call(ctx, http.MethodGet, "/v1/accounts/"+url.PathEscape(c.ID)+"/entries", q, nil, &page, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans)
	}
	t := newTable(a.stdout, "SEQ", "TIME", "TYPE", "REFERENCE", "SIDE", "KIND", "AMOUNT", "BALANCE", "AVAILABLE", "TRANSACTION")
	for _, e := range page.Items {
		t.row(strconv.FormatInt(e.Seq, 10), timeText(e.CreatedAt), e.Type, e.Reference, e.Side, e.Kind, e.AmountDisplay,
			e.BalanceDisplay, e.AvailableDisplay, e.TransactionID)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if page.NextCursor != 0 {
		fmt.Fprintf(a.stdout, "more: --after %d\n", page.NextCursor)
	}
	return nil
}
