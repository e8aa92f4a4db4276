package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	sdk "github.com/suanpan/suanpan/client"
	"github.com/suanpan/suanpan/money"
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
	api, err := c.api()
	if err != nil {
		return err
	}
	limit := int64(c.Limit)
	r, err := api.ListAccountsWithResponse(ctx, &sdk.ListAccountsParams{Asset: opt(c.Asset), Code: opt(c.Code),
		Status: opt(sdk.ListAccountsParamsStatus(c.Status)), After: opt(c.After), Limit: &limit})
	return show(a, c.JSON, r, err, func() *sdk.AccountPageBody { return r.JSON200 }, func(page *sdk.AccountPageBody) error {
		t := newTable(a.stdout, "ID", "INSTITUTION", "ASSET", "CODE", "STATUS", "BALANCE", "AVAILABLE", "NAME")
		for _, acct := range items(page.Items) {
			t.row(acct.Id, acct.InstitutionId, acct.Asset, acct.Code, string(acct.Status), acct.BalanceDisplay, acct.AvailableDisplay, acct.Name)
		}
		if err := t.flush(); err != nil {
			return err
		}
		if next := deref(page.NextCursor); next != "" {
			fmt.Fprintf(a.stdout, "more: --after %s\n", next)
		}
		return nil
	})
}

// AccountsGetCmd shows one account.
type AccountsGetCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Account ID."`
}

// Run prints the account.
func (c *AccountsGetCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.GetAccountWithResponse(ctx, c.ID)
	return show(a, c.JSON, r, err, func() *sdk.AccountView { return r.JSON200 }, func(acct *sdk.AccountView) error {
		return printAccount(a.stdout, acct)
	})
}

func printAccount(w io.Writer, acct *sdk.AccountView) error {
	overdraft := string(acct.Overdraft)
	if acct.Overdraft == "limit" {
		overdraft += " " + strconv.FormatInt(acct.OverdraftLimit, 10) + " minor units"
	}
	return fields(w,
		"id", acct.Id,
		"institution", acct.InstitutionId,
		"name", acct.Name,
		"asset", acct.Asset,
		"code", acct.Code+" ("+string(acct.NormalSide)+"-normal, overdraft "+overdraft+")",
		"status", string(acct.Status),
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
	body := sdk.AccountBody{Asset: c.Asset, Code: c.Code, NormalSide: sdk.AccountBodyNormalSide(c.NormalSide),
		Overdraft: opt(sdk.AccountBodyOverdraft(c.Overdraft)), Name: opt(c.Name), InstitutionId: opt(c.Institution)}
	switch {
	case c.OverdraftLimit != "" && c.Overdraft != "limit":
		return fmt.Errorf("--overdraft-limit needs --overdraft limit")
	case c.OverdraftLimit != "":
		limit, err := c.amount(ctx, "overdraft-limit", c.OverdraftLimit, c.Asset)
		if err != nil {
			return err
		}
		body.OverdraftLimit = &limit
	}
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.CreateAccountWithResponse(ctx, body)
	if err := sdk.Check(r, err); err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, r.Body)
	}
	return printAccount(a.stdout, r.JSON201)
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
	return c.changeStatus(ctx, a, func(api *sdk.ClientWithResponses) (*sdk.AccountView, sdk.Response, error) {
		r, err := api.FreezeAccountWithResponse(ctx, c.ID, sdk.FreezeBody{Side: sdk.FreezeBodySide(c.Side), Reason: opt(c.Reason)})
		return jsonOf(r, err, func() *sdk.AccountView { return r.JSON200 })
	})
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
	return c.changeStatus(ctx, a, func(api *sdk.ClientWithResponses) (*sdk.AccountView, sdk.Response, error) {
		r, err := api.ThawAccountWithResponse(ctx, c.ID, sdk.FreezeBody{Side: sdk.FreezeBodySide(c.Side), Reason: opt(c.Reason)})
		return jsonOf(r, err, func() *sdk.AccountView { return r.JSON200 })
	})
}

// AccountsCloseCmd closes an account.
type AccountsCloseCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Account ID."`
	Reason string `help:"Why, for the audit log."`
}

// Run closes the account and prints it.
func (c *AccountsCloseCmd) Run(ctx context.Context, a *app) error {
	return c.changeStatus(ctx, a, func(api *sdk.ClientWithResponses) (*sdk.AccountView, sdk.Response, error) {
		r, err := api.CloseAccountWithResponse(ctx, c.ID, sdk.CloseInBody{Reason: opt(c.Reason)})
		return jsonOf(r, err, func() *sdk.AccountView { return r.JSON200 })
	})
}

// changeStatus sends a change of an account's status and prints the
// account.
func (c *client) changeStatus(ctx context.Context, a *app, send func(*sdk.ClientWithResponses) (*sdk.AccountView, sdk.Response, error)) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	acct, r, err := send(api)
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, r.Bytes())
	}
	return printAccount(a.stdout, acct)
}

// BalanceCmd shows an account's balances.
type BalanceCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Account ID."`
	AsOf   string `name:"as-of" placeholder:"RFC3339" help:"Balances as they stood at this time, e.g. 2026-11-02T09:00:00Z; default now."`
}

// Run prints the balances.
func (c *BalanceCmd) Run(ctx context.Context, a *app) error {
	var params sdk.GetBalanceParams
	asOf := "now"
	if c.AsOf != "" {
		t, err := time.Parse(time.RFC3339, c.AsOf)
		if err != nil {
			return fmt.Errorf("--as-of must be an RFC 3339 time such as 2026-11-02T09:00:00Z: %w", err)
		}
		params.AsOf = &t
		asOf = timeText(t)
	}
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.GetBalanceWithResponse(ctx, c.ID, &params)
	return show(a, c.JSON, r, err, func() *sdk.AccountView { return r.JSON200 }, func(acct *sdk.AccountView) error {
		scale, err := c.scale(ctx, acct.Asset)
		if err != nil {
			return err
		}
		b := acct.Balances
		return fields(a.stdout,
			"account", acct.Id+" ("+acct.Name+")",
			"as of", asOf,
			"balance", acct.BalanceDisplay+" "+acct.Asset,
			"available", acct.AvailableDisplay+" "+acct.Asset,
			"posted", "debits "+money.Format(b.DebitsPosted, scale)+", credits "+money.Format(b.CreditsPosted, scale),
			"pending", "debits "+money.Format(b.DebitsPending, scale)+", credits "+money.Format(b.CreditsPending, scale),
		)
	})
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
	limit := int64(c.Limit)
	params := sdk.ListEntriesParams{Limit: &limit}
	if c.After > 0 {
		params.After = &c.After
	}
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.ListEntriesWithResponse(ctx, c.ID, &params)
	return show(a, c.JSON, r, err, func() *sdk.EntriesPageBody { return r.JSON200 }, func(page *sdk.EntriesPageBody) error {
		t := newTable(a.stdout, "SEQ", "TIME", "TYPE", "REFERENCE", "SIDE", "KIND", "AMOUNT", "BALANCE", "AVAILABLE", "TRANSACTION")
		for _, e := range items(page.Items) {
			t.row(strconv.FormatInt(e.Seq, 10), timeText(e.CreatedAt), e.Type, e.Reference, string(e.Side), string(e.Kind), e.AmountDisplay,
				e.BalanceDisplay, e.AvailableDisplay, e.TransactionId)
		}
		if err := t.flush(); err != nil {
			return err
		}
		if next := page.NextCursor; next != nil && *next != 0 {
			fmt.Fprintf(a.stdout, "more: --after %d\n", *next)
		}
		return nil
	})
}
