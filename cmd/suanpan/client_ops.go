package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/suanpan/suanpan/internal/httpapi"
)

// OpsCmd groups the account operations: the business operations on
// accounts opened on products, priced and limited by their products. Like
// the other money-moving commands they send --reference as the
// Idempotency-Key too.
type OpsCmd struct {
	Topup    OpsTopupCmd    `cmd:"" help:"Top up a customer's account from a channel."`
	Pay      OpsPayCmd      `cmd:"" help:"Pay a merchant from a customer's account."`
	Transfer OpsTransferCmd `cmd:"" help:"Transfer from one customer's account to another's."`
	Refund   OpsRefundCmd   `cmd:"" help:"Refund a payment, in full or in part."`
	Withdraw OpsWithdrawCmd `cmd:"" help:"Withdraw from a customer's account to a channel (a hold until the channel pays out)."`
}

// opFlags are the flags every one-account operation takes.
type opFlags struct {
	Account   string            `required:"" placeholder:"ACCOUNT" help:"The customer's account (opened on a product)."`
	Amount    string            `required:"" placeholder:"DECIMAL" help:"Amount as a decimal in the account's asset, e.g. 12.34."`
	Channel   string            `default:"app" help:"Channel the operation comes through, e.g. app or bank; the product must allow it."`
	Reference string            `required:"" help:"Your unique reference for the operation; it is also the Idempotency-Key, so running the command again is safe."`
	Metadata  map[string]string `placeholder:"KEY=VALUE" help:"Metadata for the transaction; repeat for more."`
}

// body is the request body of the operation, its amount in minor units of
// the account's asset.
func (f *opFlags) body(ctx context.Context, c *client) (map[string]any, error) {
	asset, _, err := c.accountDefaults(ctx, f.Account, "", "")
	if err != nil {
		return nil, err
	}
	amount, err := c.amount(ctx, "amount", f.Amount, asset)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"reference": f.Reference, "account": f.Account, "channel": f.Channel, "amount": amount}
	if len(f.Metadata) > 0 {
		body["metadata"] = f.Metadata
	}
	return body, nil
}

// postOperation sends an operation and prints it.
func (c *client) postOperation(ctx context.Context, a *app, op string, body map[string]any, reference string) error {
	var v httpapi.OperationView
	ans, err := c.call(ctx, http.MethodPost, "/v1/operations/"+op, nil, body, &v, reference)
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans)
	}
	if ans.replayed || v.Duplicate {
		fmt.Fprintln(a.stdout, "(an earlier request with this reference did this; nothing changed now)")
	}
	return printOperation(a.stdout, &v)
}

func printOperation(w io.Writer, v *httpapi.OperationView) error {
	kv := []string{"operation", v.Operation}
	if v.Channel != "" {
		kv = append(kv, "channel", v.Channel)
	}
	kv = append(kv, "amount", v.AmountDisplay+" "+v.Asset)
	if v.Fee != 0 {
		fee := v.FeeDisplay + " " + v.Asset
		if v.FeePayer != "" {
			fee += " (paid by the " + v.FeePayer + ")"
		}
		kv = append(kv, "fee", fee)
	}
	if err := fields(w, kv...); err != nil {
		return err
	}
	if v.Transaction == nil {
		return nil
	}
	fmt.Fprintln(w)
	return printTransaction(w, v.Transaction)
}

// OpsTopupCmd tops up an account.
type OpsTopupCmd struct {
	client  `embed:""`
	opFlags `embed:""`
}

// Run tops up the account and prints the operation.
func (c *OpsTopupCmd) Run(ctx context.Context, a *app) error {
	body, err := c.body(ctx, &c.client)
	if err != nil {
		return err
	}
	return c.postOperation(ctx, a, "topup", body, c.Reference)
}

// OpsPayCmd pays a merchant.
type OpsPayCmd struct {
	client   `embed:""`
	opFlags  `embed:""`
	Merchant string `required:"" placeholder:"ACCOUNT" help:"The merchant's settlement account."`
}

// Run pays and prints the operation.
func (c *OpsPayCmd) Run(ctx context.Context, a *app) error {
	body, err := c.body(ctx, &c.client)
	if err != nil {
		return err
	}
	body["counterparty"] = c.Merchant
	return c.postOperation(ctx, a, "pay", body, c.Reference)
}

// OpsTransferCmd transfers between customers.
type OpsTransferCmd struct {
	client  `embed:""`
	opFlags `embed:""`
	To      string `required:"" placeholder:"ACCOUNT" help:"The payee's account."`
}

// Run transfers and prints the operation.
func (c *OpsTransferCmd) Run(ctx context.Context, a *app) error {
	body, err := c.body(ctx, &c.client)
	if err != nil {
		return err
	}
	body["counterparty"] = c.To
	return c.postOperation(ctx, a, "transfer", body, c.Reference)
}

// OpsWithdrawCmd withdraws from an account.
type OpsWithdrawCmd struct {
	client  `embed:""`
	opFlags `embed:""`
	Timeout time.Duration `help:"The withdrawal's hold expires this long after it is accepted, e.g. 72h; 0 never."`
}

// Run withdraws and prints the operation: a hold, to complete or fail
// through the API when the channel has answered.
func (c *OpsWithdrawCmd) Run(ctx context.Context, a *app) error {
	if c.Timeout < 0 || c.Timeout%time.Second != 0 {
		return fmt.Errorf("--timeout must be a whole number of seconds, 0 or more")
	}
	body, err := c.body(ctx, &c.client)
	if err != nil {
		return err
	}
	if c.Timeout > 0 {
		body["timeout_seconds"] = int64(c.Timeout / time.Second)
	}
	return c.postOperation(ctx, a, "withdraw", body, c.Reference)
}

// OpsRefundCmd refunds a payment.
type OpsRefundCmd struct {
	client    `embed:""`
	Payment   string            `arg:"" help:"The payment's transaction ID."`
	Reference string            `required:"" help:"Your unique reference for the refund; also its Idempotency-Key."`
	Amount    string            `placeholder:"DECIMAL" help:"Refund only this much; default: the whole payment."`
	Metadata  map[string]string `placeholder:"KEY=VALUE" help:"Metadata for the transaction; repeat for more."`
}

// Run refunds and prints the operation.
func (c *OpsRefundCmd) Run(ctx context.Context, a *app) error {
	body := map[string]any{"payment_id": c.Payment, "reference": c.Reference}
	if c.Amount != "" {
		var tr httpapi.TransactionView
		if _, err := c.call(ctx, http.MethodGet, "/v1/transactions/"+url.PathEscape(c.Payment), nil, nil, &tr, ""); err != nil {
			return err
		}
		if len(tr.Postings) == 0 {
			return fmt.Errorf("transaction %s has no postings", c.Payment)
		}
		amount, err := c.amount(ctx, "amount", c.Amount, tr.Postings[0].Asset)
		if err != nil {
			return err
		}
		body["amount"] = amount
	}
	if len(c.Metadata) > 0 {
		body["metadata"] = c.Metadata
	}
	return c.postOperation(ctx, a, "refund", body, c.Reference)
}
