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
	body := map[string]any{"institution_id": inst, "reference": c.Reference,
		"postings": []map[string]any{{"debit": c.From, "credit": c.To, "asset": asset, "amount": amount}}}
	if c.Type != "" {
		body["type"] = c.Type
	}
	return c.postTransaction(ctx, a, "/v1/transactions", body, c.Reference)
}

// accountDefaults fills in the asset and institution of a transfer or hold
// from its debited account when they are not given.
func (c *client) accountDefaults(ctx context.Context, from, asset, inst string) (string, string, error) {
	if asset != "" && inst != "" {
		return asset, inst, nil
	}
	var acct httpapi.AccountView
	if _, err := c.call(ctx, http.MethodGet, "/v1/accounts/"+url.PathEscape(from), nil, nil, &acct, ""); err != nil {
		return "", "", err
	}
	if asset == "" {
		asset = acct.Asset
	}
	if inst == "" {
		inst = acct.InstitutionID
	}
	return asset, inst, nil
}

// postTransaction sends a money-moving request and prints the transaction.
func (c *client) postTransaction(ctx context.Context, a *app, path string, body any, idemKey string) error {
	var tr httpapi.TransactionView
	ans, err := c.call(ctx, http.MethodPost, path, nil, body, &tr, idemKey)
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans)
	}
	if ans.replayed {
		fmt.Fprintln(a.stdout, "(an earlier request with this reference did this; nothing changed now)")
	}
	return printTransaction(a.stdout, &tr)
}

func printTransaction(w io.Writer, tr *httpapi.TransactionView) error {
	kv := []string{
		"id", tr.ID,
		"kind", tr.Kind + " (" + tr.Type + ")",
		"reference", tr.Reference,
		"institution", tr.InstitutionID,
		"created", timeText(tr.CreatedAt),
	}
	if tr.HoldID != "" {
		kv = append(kv, "hold", tr.HoldID)
	}
	if tr.ReversesID != "" {
		kv = append(kv, "reverses", tr.ReversesID)
	}
	if tr.ExpiresAt != nil {
		kv = append(kv, "expires", timeText(*tr.ExpiresAt))
	}
	if err := fields(w, kv...); err != nil {
		return err
	}
	return printPostings(w, tr.Postings)
}

func printPostings(w io.Writer, ps []httpapi.PostingView) error {
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
	body := map[string]any{"institution_id": inst, "reference": c.Reference,
		"postings": []map[string]any{{"debit": c.From, "credit": c.To, "asset": asset, "amount": amount}}}
	if c.Type != "" {
		body["type"] = c.Type
	}
	if c.Timeout > 0 {
		body["timeout_seconds"] = int64(c.Timeout / time.Second)
	}
	return c.postTransaction(ctx, a, "/v1/holds", body, c.Reference)
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
	id := url.PathEscape(c.ID)
	return c.settle(ctx, a, "/v1/holds/"+id, "/v1/holds/"+id+"/post", c.Reference, c.Type, c.Amount, "hold")
}

// settle posts, voids or reverses what getPath shows (a hold or a
// transaction): it takes the institution and postings from there, adds
// --type and, for a single posting, --amount, and posts to postPath.
func (c *client) settle(ctx context.Context, a *app, getPath, postPath, reference, typ, amount, what string) error {
	var target struct {
		InstitutionID string                `json:"institution_id"`
		Postings      []httpapi.PostingView `json:"postings"`
	}
	if _, err := c.call(ctx, http.MethodGet, getPath, nil, nil, &target, ""); err != nil {
		return err
	}
	body := map[string]any{"institution_id": target.InstitutionID, "reference": reference}
	if typ != "" {
		body["type"] = typ
	}
	if amount != "" {
		amounts, err := c.partial(ctx, target.Postings, amount, what)
		if err != nil {
			return err
		}
		body["amounts"] = amounts
	}
	return c.postTransaction(ctx, a, postPath, body, reference)
}

// partial turns --amount into the per-posting amounts of a post or reversal.
func (c *client) partial(ctx context.Context, ps []httpapi.PostingView, amount, what string) ([]int64, error) {
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
	id := url.PathEscape(c.ID)
	return c.settle(ctx, a, "/v1/holds/"+id, "/v1/holds/"+id+"/void", c.Reference, c.Type, "", "hold")
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
	id := url.PathEscape(c.ID)
	return c.settle(ctx, a, "/v1/transactions/"+id, "/v1/transactions/"+id+"/reversals", c.Reference, c.Type, c.Amount, "transaction")
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
	var tr httpapi.TransactionView
	ans, err := c.call(ctx, http.MethodGet, "/v1/transactions/"+url.PathEscape(c.ID), nil, nil, &tr, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans)
	}
	return printTransaction(a.stdout, &tr)
}
