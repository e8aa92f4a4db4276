package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	sdk "github.com/suanpan/suanpan/client"
)

// The money-moving client commands send their reference as the
// Idempotency-Key too, so that running one again — after a timeout, say —
// never moves money twice.

// TransferCmd posts a transfer.
type TransferCmd struct {
	client      `embed:""`
	From        string `required:"" placeholder:"ACCOUNT" help:"Account debited: the money leaves it (for a customer wallet)."`
	To          string `required:"" placeholder:"ACCOUNT" help:"Account credited."`
	Amount      string `required:"" placeholder:"DECIMAL" help:"Amount as a decimal in the asset's units, e.g. 12.34."`
	Asset       string `placeholder:"CODE" help:"Asset of the transfer; default: the --from account's."`
	Reference   string `required:"" help:"Your unique reference for the transfer; it is also the Idempotency-Key, so running the command again is safe."`
	Type        string `help:"Business operation, e.g. payment or topup; default transfer."`
	Institution string `placeholder:"ID" help:"Institution the transfer belongs to; default: the --from account's."`
}

// Run posts the transfer and prints the transaction.
func (c *TransferCmd) Run(ctx context.Context, a *app) error {
	asset, inst, err := c.accountDefaults(ctx, c.From, c.Asset, c.Institution)
	if err != nil {
		return err
	}
	amount, err := c.amount(ctx, "amount", c.Amount, asset)
	if err != nil {
		return err
	}
	postings := []sdk.PostingBody{{Debit: c.From, Credit: c.To, Asset: asset, Amount: amount}}
	body := sdk.TransferBody{InstitutionId: &inst, Reference: c.Reference, Postings: &postings, Type: opt(c.Type)}
	return c.postTransaction(ctx, a, func(api *sdk.ClientWithResponses) (*result[sdk.TransactionView], error) {
		r, err := api.CreateTransactionWithResponse(ctx, &sdk.CreateTransactionParams{IdempotencyKey: idem(c.Reference)}, body)
		return created(r, err, func() (*sdk.TransactionView, *http.Response) { return r.JSON201, r.HTTPResponse })
	})
}

// accountDefaults fills in the asset and institution of a transfer or hold
// from its debited account when they are not given.
func (c *client) accountDefaults(ctx context.Context, from, asset, inst string) (string, string, error) {
	if asset != "" && inst != "" {
		return asset, inst, nil
	}
	api, err := c.api()
	if err != nil {
		return "", "", err
	}
	r, err := api.GetAccountWithResponse(ctx, from)
	acct, _, err := jsonOf(r, err, func() *sdk.AccountView { return r.JSON200 })
	if err != nil {
		return "", "", err
	}
	if asset == "" {
		asset = acct.Asset
	}
	if inst == "" {
		inst = acct.InstitutionId
	}
	return asset, inst, nil
}

// result is a 2xx answer to a money-moving request: what it created, its
// body as it came (for --json), and whether it replays an earlier request
// with the same Idempotency-Key.
type result[T any] struct {
	v        *T
	raw      []byte
	replayed bool
}

// created checks the answer r to a money-moving request; body returns its
// decoded body and its HTTP response.
func created[T any, R sdk.Response](r R, err error, body func() (*T, *http.Response)) (*result[T], error) {
	v, _, err := jsonOf(r, err, func() *T { v, _ := body(); return v })
	if err != nil {
		return nil, err
	}
	_, resp := body()
	return &result[T]{v: v, raw: r.Bytes(), replayed: replayed(resp)}, nil
}

// postTransaction sends a money-moving request and prints the transaction.
func (c *client) postTransaction(ctx context.Context, a *app, send func(*sdk.ClientWithResponses) (*result[sdk.TransactionView], error)) error {
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
	if ans.replayed {
		fmt.Fprintln(a.stdout, "(an earlier request with this reference did this; nothing changed now)")
	}
	return printTransaction(a.stdout, ans.v)
}

func printTransaction(w io.Writer, tr *sdk.TransactionView) error {
	kv := []string{
		"id", tr.Id,
		"kind", string(tr.Kind) + " (" + tr.Type + ")",
		"reference", tr.Reference,
		"institution", tr.InstitutionId,
		"created", timeText(tr.CreatedAt),
	}
	if id := deref(tr.HoldId); id != "" {
		kv = append(kv, "hold", id)
	}
	if id := deref(tr.ReversesId); id != "" {
		kv = append(kv, "reverses", id)
	}
	if tr.ExpiresAt != nil {
		kv = append(kv, "expires", timeText(*tr.ExpiresAt))
	}
	if err := fields(w, kv...); err != nil {
		return err
	}
	return printPostings(w, items(tr.Postings))
}

func printPostings(w io.Writer, ps []sdk.PostingView) error {
	fmt.Fprintln(w)
	t := newTable(w, "DEBIT", "CREDIT", "AMOUNT", "ASSET")
	for _, p := range ps {
		t.row(p.Debit, p.Credit, p.AmountDisplay, p.Asset)
	}
	return t.flush()
}

// HoldCmd groups the hold commands.
type HoldCmd struct {
	Create HoldCreateCmd `cmd:"" help:"Reserve an amount (a two-phase transfer) until it is posted, voided or expires."`
	Post   HoldPostCmd   `cmd:"" help:"Post a hold, in full or for less; the rest is released."`
	Void   HoldVoidCmd   `cmd:"" help:"Void a hold, releasing what it reserved."`
}

// HoldCreateCmd places a hold.
type HoldCreateCmd struct {
	client      `embed:""`
	From        string        `required:"" placeholder:"ACCOUNT" help:"Account whose funds are reserved."`
	To          string        `required:"" placeholder:"ACCOUNT" help:"Account credited when the hold is posted."`
	Amount      string        `required:"" placeholder:"DECIMAL" help:"Amount as a decimal in the asset's units, e.g. 12.34."`
	Asset       string        `placeholder:"CODE" help:"Asset of the hold; default: the --from account's."`
	Reference   string        `required:"" help:"Your unique reference for the hold; also its Idempotency-Key."`
	Type        string        `help:"Business operation, e.g. preauth; default hold."`
	Timeout     time.Duration `help:"The hold expires this long after it is placed, e.g. 72h; 0 never."`
	Institution string        `placeholder:"ID" help:"Institution the hold belongs to; default: the --from account's."`
}

// Run places the hold and prints it.
func (c *HoldCreateCmd) Run(ctx context.Context, a *app) error {
	if c.Timeout < 0 || c.Timeout%time.Second != 0 {
		return fmt.Errorf("--timeout must be a whole number of seconds, 0 or more")
	}
	asset, inst, err := c.accountDefaults(ctx, c.From, c.Asset, c.Institution)
	if err != nil {
		return err
	}
	amount, err := c.amount(ctx, "amount", c.Amount, asset)
	if err != nil {
		return err
	}
	postings := []sdk.PostingBody{{Debit: c.From, Credit: c.To, Asset: asset, Amount: amount}}
	body := sdk.HoldBody{InstitutionId: &inst, Reference: c.Reference, Postings: &postings, Type: opt(c.Type)}
	if c.Timeout > 0 {
		seconds := int64(c.Timeout / time.Second)
		body.TimeoutSeconds = &seconds
	}
	return c.postTransaction(ctx, a, func(api *sdk.ClientWithResponses) (*result[sdk.TransactionView], error) {
		r, err := api.CreateHoldWithResponse(ctx, &sdk.CreateHoldParams{IdempotencyKey: idem(c.Reference)}, body)
		return created(r, err, func() (*sdk.TransactionView, *http.Response) { return r.JSON201, r.HTTPResponse })
	})
}

// HoldPostCmd posts a hold.
type HoldPostCmd struct {
	client    `embed:""`
	ID        string `arg:"" help:"Hold ID (the ID of the transaction that placed it)."`
	Reference string `required:"" help:"Your unique reference for the post; also its Idempotency-Key."`
	Amount    string `placeholder:"DECIMAL" help:"Post only this much of a single-posting hold; default: all of it."`
	Type      string `help:"Business operation, e.g. capture; default post."`
}

// Run posts the hold and prints the transaction.
func (c *HoldPostCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.GetHoldWithResponse(ctx, c.ID)
	hold, _, err := jsonOf(r, err, func() *sdk.HoldView { return r.JSON200 })
	if err != nil {
		return err
	}
	body, err := c.resolve(ctx, hold.InstitutionId, items(hold.Postings), c.Reference, c.Type, c.Amount, "hold")
	if err != nil {
		return err
	}
	return c.postTransaction(ctx, a, func(api *sdk.ClientWithResponses) (*result[sdk.TransactionView], error) {
		r, err := api.PostHoldWithResponse(ctx, c.ID, &sdk.PostHoldParams{IdempotencyKey: idem(c.Reference)}, body)
		return created(r, err, func() (*sdk.TransactionView, *http.Response) { return r.JSON201, r.HTTPResponse })
	})
}

// resolve is the body of the post of a hold or the reversal of a
// transaction (what) in institution with postings ps: --type and, for a
// single posting, --amount.
func (c *client) resolve(ctx context.Context, institution string, ps []sdk.PostingView, reference, typ, amount, what string) (sdk.ResolveBody, error) {
	body := sdk.ResolveBody{InstitutionId: &institution, Reference: reference, Type: opt(typ)}
	if amount != "" {
		amounts, err := c.partial(ctx, ps, amount, what)
		if err != nil {
			return body, err
		}
		body.Amounts = &amounts
	}
	return body, nil
}

// partial turns --amount into the per-posting amounts of a post or reversal.
func (c *client) partial(ctx context.Context, ps []sdk.PostingView, amount, what string) ([]int64, error) {
	if len(ps) != 1 {
		return nil, fmt.Errorf("--amount works only on a %s with one posting; this one has %d", what, len(ps))
	}
	n, err := c.amount(ctx, "amount", amount, ps[0].Asset)
	if err != nil {
		return nil, err
	}
	return []int64{n}, nil
}

// HoldVoidCmd voids a hold.
type HoldVoidCmd struct {
	client    `embed:""`
	ID        string `arg:"" help:"Hold ID (the ID of the transaction that placed it)."`
	Reference string `required:"" help:"Your unique reference for the void; also its Idempotency-Key."`
	Type      string `help:"Business operation, e.g. cancel; default void."`
}

// Run voids the hold and prints the transaction.
func (c *HoldVoidCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.GetHoldWithResponse(ctx, c.ID)
	hold, _, err := jsonOf(r, err, func() *sdk.HoldView { return r.JSON200 })
	if err != nil {
		return err
	}
	body := sdk.VoidBody{InstitutionId: &hold.InstitutionId, Reference: c.Reference, Type: opt(c.Type)}
	return c.postTransaction(ctx, a, func(api *sdk.ClientWithResponses) (*result[sdk.TransactionView], error) {
		r, err := api.VoidHoldWithResponse(ctx, c.ID, &sdk.VoidHoldParams{IdempotencyKey: idem(c.Reference)}, body)
		return created(r, err, func() (*sdk.TransactionView, *http.Response) { return r.JSON201, r.HTTPResponse })
	})
}

// ReverseCmd reverses a transaction.
type ReverseCmd struct {
	client    `embed:""`
	ID        string `arg:"" name:"tx-id" help:"ID of the transaction to reverse: a transfer, a hold's post or a reversal."`
	Reference string `required:"" help:"Your unique reference for the reversal; also its Idempotency-Key."`
	Amount    string `placeholder:"DECIMAL" help:"Reverse only this much of a single-posting transaction; default: all that is not yet reversed."`
	Type      string `help:"Business operation, e.g. refund; default reversal."`
}

// Run reverses the transaction and prints the reversal.
func (c *ReverseCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.GetTransactionWithResponse(ctx, c.ID)
	tr, _, err := jsonOf(r, err, func() *sdk.TransactionView { return r.JSON200 })
	if err != nil {
		return err
	}
	body, err := c.resolve(ctx, tr.InstitutionId, items(tr.Postings), c.Reference, c.Type, c.Amount, "transaction")
	if err != nil {
		return err
	}
	return c.postTransaction(ctx, a, func(api *sdk.ClientWithResponses) (*result[sdk.TransactionView], error) {
		r, err := api.ReverseTransactionWithResponse(ctx, c.ID, &sdk.ReverseTransactionParams{IdempotencyKey: idem(c.Reference)}, body)
		return created(r, err, func() (*sdk.TransactionView, *http.Response) { return r.JSON201, r.HTTPResponse })
	})
}

// TransactionsCmd groups the transaction commands.
type TransactionsCmd struct {
	Get TransactionsGetCmd `cmd:"" help:"Show a transaction with its postings."`
}

// TransactionsGetCmd shows a transaction.
type TransactionsGetCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Transaction ID."`
}

// Run prints the transaction.
func (c *TransactionsGetCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.GetTransactionWithResponse(ctx, c.ID)
	return show(a, c.JSON, r, err, func() *sdk.TransactionView { return r.JSON200 }, func(tr *sdk.TransactionView) error {
		return printTransaction(a.stdout, tr)
	})
}
