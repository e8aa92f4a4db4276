package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	sdk "github.com/suanpan/suanpan/client"
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
func (f *opFlags) body(ctx context.Context, c *client) (sdk.OperationBody, error) {
	asset, _, err := c.accountDefaults(ctx, f.Account, "", "")
	if err != nil {
		return sdk.OperationBody{}, err
	}
	amount, err := c.amount(ctx, "amount", f.Amount, asset)
	if err != nil {
		return sdk.OperationBody{}, err
	}
	body := sdk.OperationBody{Reference: f.Reference, Account: f.Account, Channel: f.Channel, Amount: amount}
	if len(f.Metadata) > 0 {
		body.Metadata = &f.Metadata
	}
	return body, nil
}

// postOperation sends an operation and prints it.
func (c *client) postOperation(ctx context.Context, a *app, send func(*sdk.ClientWithResponses) (*result[sdk.OperationView], error)) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	ans, err := send(api)
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	if ans.replayed || deref(ans.v.Duplicate) {
		fmt.Fprintln(a.stdout, "(an earlier request with this reference did this; nothing changed now)")
	}
	return printOperation(a.stdout, ans.v)
}

func printOperation(w io.Writer, v *sdk.OperationView) error {
	kv := []string{"operation", v.Operation}
	if v.Channel != "" {
		kv = append(kv, "channel", v.Channel)
	}
	kv = append(kv, "amount", v.AmountDisplay+" "+v.Asset)
	if v.Fee != 0 {
		fee := v.FeeDisplay + " " + v.Asset
		if v.FeePayer != nil && *v.FeePayer != "" {
			fee += " (paid by the " + string(*v.FeePayer) + ")"
		}
		kv = append(kv, "fee", fee)
	}
	if err := fields(w, kv...); err != nil {
		return err
	}
	if v.Transaction.Id == "" {
		return nil
	}
	fmt.Fprintln(w)
	return printTransaction(w, &v.Transaction)
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
	return c.postOperation(ctx, a, func(api *sdk.ClientWithResponses) (*result[sdk.OperationView], error) {
		r, err := api.OperationTopupWithResponse(ctx, &sdk.OperationTopupParams{IdempotencyKey: idem(c.Reference)}, body)
		return created(r, err, func() (*sdk.OperationView, *http.Response) { return r.JSON201, r.HTTPResponse })
	})
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
	return c.postOperation(ctx, a, func(api *sdk.ClientWithResponses) (*result[sdk.OperationView], error) {
		r, err := api.OperationPayWithResponse(ctx, &sdk.OperationPayParams{IdempotencyKey: idem(c.Reference)}, twoParty(body, c.Merchant))
		return created(r, err, func() (*sdk.OperationView, *http.Response) { return r.JSON201, r.HTTPResponse })
	})
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
	return c.postOperation(ctx, a, func(api *sdk.ClientWithResponses) (*result[sdk.OperationView], error) {
		r, err := api.OperationTransferWithResponse(ctx, &sdk.OperationTransferParams{IdempotencyKey: idem(c.Reference)}, twoParty(body, c.To))
		return created(r, err, func() (*sdk.OperationView, *http.Response) { return r.JSON201, r.HTTPResponse })
	})
}

// twoParty is the body of an operation between two accounts.
func twoParty(b sdk.OperationBody, counterparty string) sdk.TwoPartyBody {
	return sdk.TwoPartyBody{Reference: b.Reference, Account: b.Account, Channel: b.Channel, Amount: b.Amount,
		Metadata: b.Metadata, Counterparty: counterparty}
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
	w := sdk.WithdrawBody{Reference: body.Reference, Account: body.Account, Channel: body.Channel, Amount: body.Amount,
		Metadata: body.Metadata}
	if c.Timeout > 0 {
		seconds := int64(c.Timeout / time.Second)
		w.TimeoutSeconds = &seconds
	}
	return c.postOperation(ctx, a, func(api *sdk.ClientWithResponses) (*result[sdk.OperationView], error) {
		r, err := api.OperationWithdrawWithResponse(ctx, &sdk.OperationWithdrawParams{IdempotencyKey: idem(c.Reference)}, w)
		return created(r, err, func() (*sdk.OperationView, *http.Response) { return r.JSON201, r.HTTPResponse })
	})
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
	body := sdk.RefundBody{PaymentId: c.Payment, Reference: c.Reference}
	if c.Amount != "" {
		api, err := c.api()
		if err != nil {
			return err
		}
		r, err := api.GetTransactionWithResponse(ctx, c.Payment)
		tr, _, err := jsonOf(r, err, func() *sdk.TransactionView { return r.JSON200 })
		if err != nil {
			return err
		}
		ps := items(tr.Postings)
		if len(ps) == 0 {
			return fmt.Errorf("transaction %s has no postings", c.Payment)
		}
		amount, err := c.amount(ctx, "amount", c.Amount, ps[0].Asset)
		if err != nil {
			return err
		}
		body.Amount = &amount
	}
	if len(c.Metadata) > 0 {
		body.Metadata = &c.Metadata
	}
	return c.postOperation(ctx, a, func(api *sdk.ClientWithResponses) (*result[sdk.OperationView], error) {
		r, err := api.OperationRefundWithResponse(ctx, &sdk.OperationRefundParams{IdempotencyKey: idem(c.Reference)}, body)
		return created(r, err, func() (*sdk.OperationView, *http.Response) { return r.JSON201, r.HTTPResponse })
	})
}
