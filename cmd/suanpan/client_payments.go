package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	sdk "github.com/suanpan/suanpan/client"
	"github.com/suanpan/suanpan/internal/payments"
)

// PaymentsCmd groups the payment commands: channels, orders and bulk order
// files.
type PaymentsCmd struct {
	Channels PaymentChannelsCmd `cmd:"" help:"Configure and show payment channels."`
	Orders   PaymentOrdersCmd   `cmd:"" help:"Create, show, list and settle payment orders."`
	Batches  PaymentBatchesCmd  `cmd:"" help:"Upload bulk order files and fetch their results."`
}

// PaymentChannelsCmd groups the channel commands.
type PaymentChannelsCmd struct {
	List   ChannelsListCmd   `cmd:"" help:"List the payment channels of the API key's institutions."`
	Create ChannelsCreateCmd `cmd:"" help:"Configure a payment channel."`
	Get    ChannelsGetCmd    `cmd:"" help:"Show a payment channel."`
	Update ChannelsUpdateCmd `cmd:"" help:"Change a payment channel: the flags given replace their settings, the rest stay."`
}

// PaymentOrdersCmd groups the order commands.
type PaymentOrdersCmd struct {
	Create      OrdersCreateCmd      `cmd:"" help:"Create a pay-in, pay-out or refund order; running it again with the same reference is safe."`
	Get         OrdersGetCmd         `cmd:"" help:"Show a payment order."`
	List        OrdersListCmd        `cmd:"" help:"List payment orders, a page at a time."`
	Transitions OrdersTransitionsCmd `cmd:"" help:"Show a payment order's recorded changes."`
	Settle      OrdersSettleCmd      `cmd:"" help:"Apply a definite answer to an order by hand, e.g. from the channel's statement."`
}

// PaymentBatchesCmd groups the bulk order file commands.
type PaymentBatchesCmd struct {
	Upload  BatchesUploadCmd  `cmd:"" help:"Upload a bulk order file (CSV); uploading the same file under the same reference again is safe."`
	Get     BatchesGetCmd     `cmd:"" help:"Show a bulk order file's progress."`
	Results BatchesResultsCmd `cmd:"" help:"Print a bulk order file's result file (CSV)."`
}

// JobsCmd groups the job commands.
type JobsCmd struct {
	List   JobsListCmd   `cmd:"" help:"List scheduled jobs, a page at a time."`
	Get    JobsGetCmd    `cmd:"" help:"Show a job."`
	Retry  JobsRetryCmd  `cmd:"" help:"Run a dead, cancelled or pending job again now."`
	Cancel JobsCancelCmd `cmd:"" help:"Stop a pending job."`
}

// WebhooksCmd groups the webhook commands.
type WebhooksCmd struct {
	List       WebhooksListCmd       `cmd:"" help:"List the webhooks of the API key's institutions."`
	Create     WebhooksCreateCmd     `cmd:"" help:"Subscribe a URL to events; prints the signing secret, this once."`
	Delete     WebhooksDeleteCmd     `cmd:"" help:"Delete a webhook with its deliveries."`
	Deliveries WebhooksDeliveriesCmd `cmd:"" help:"List webhook deliveries, newest first."`
	Redeliver  WebhooksRedeliverCmd  `cmd:"" help:"Send a delivery again now."`
}

// limitOf is a list command's --limit as a query parameter: none when
// not given (0), for the server's default.
func limitOf(n int) *int64 {
	if n <= 0 {
		return nil
	}
	l := int64(n)
	return &l
}

// more prints where the next page starts, if there is one.
func more(w io.Writer, next *string) {
	if n := deref(next); n != "" {
		fmt.Fprintf(w, "more: --after %s\n", n)
	}
}

// rawField returns the JSON value of a top-level field of an answer's
// body as the server wrote it (a job's payload, say), "" when absent.
func rawField(body []byte, name string) string {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return ""
	}
	return string(fields[name])
}

// ChannelsListCmd lists channels.
type ChannelsListCmd struct {
	client `embed:""`
}

// Run prints the channels.
func (c *ChannelsListCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.ListPaymentChannelsWithResponse(ctx)
	return show(a, c.JSON, r, err, func() *sdk.ChannelListBody { return r.JSON200 }, func(page *sdk.ChannelListBody) error {
		t := newTable(a.stdout, "ID", "INSTITUTION", "CODE", "KIND", "ASSET", "DIRECTIONS", "STATUS")
		for _, ch := range items(page.Items) {
			t.row(ch.Id, ch.InstitutionId, ch.Code, string(ch.Kind), ch.Asset, directions(ch.Params, ","), string(ch.Status))
		}
		return t.flush()
	})
}

// directions lists a channel's enabled directions, joined by sep.
func directions(p sdk.ChannelParams, sep string) string {
	ds := items(p.Directions)
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = string(d)
	}
	return strings.Join(s, sep)
}

// channelFlags are the settings create and update take.
type channelFlags struct {
	Name       string        `help:"Display name; default: the code."`
	Endpoint   string        `placeholder:"URL" help:"The channel's absolute http(s) base URL."`
	MerchantID string        `name:"merchant-id" help:"The number the channel knows the institution by."`
	Secret     string        `env:"SUANPAN_CHANNEL_SECRET" help:"The key the channel signs its messages with. Prefer the environment variable to the flag, which other users of this machine can see. Never shown again."`
	Direction  []string      `enum:"pay_in,pay_out,refund" placeholder:"DIRECTION" help:"An enabled direction (pay_in, pay_out, refund); repeat for more. Default: all the kind supports."`
	Timeout    time.Duration `help:"How long a request to the channel may take, e.g. 10s."`
	Status     string        `enum:"active,disabled," default:"" help:"active or disabled."`
}

// params sets the parameters given on p and returns it.
func (f *channelFlags) params(p *sdk.ChannelParams) *sdk.ChannelParams {
	if len(f.Direction) > 0 {
		ds := make([]sdk.ChannelParamsDirections, len(f.Direction))
		for i, d := range f.Direction {
			ds[i] = sdk.ChannelParamsDirections(d)
		}
		p.Directions = &ds
	}
	if f.Timeout > 0 {
		ms := f.Timeout.Milliseconds()
		p.TimeoutMs = &ms
	}
	return p
}

// ChannelsCreateCmd configures a channel.
type ChannelsCreateCmd struct {
	client       `embed:""`
	channelFlags `embed:""`
	Code         string `required:"" help:"The channel's code, unique in its institution; products and clearing accounts name it."`
	Kind         string `required:"" enum:"bank_transfer,pos_card,qr_wallet,unionpay,cash_counter,cheque" help:"bank_transfer, pos_card, qr_wallet, unionpay, cash_counter or cheque."`
	Asset        string `required:"" placeholder:"CODE" help:"ISO 4217 currency the channel moves, e.g. CNY."`
	Institution  string `placeholder:"ID" help:"Institution of the channel; default: the API key's."`
}

// Validate asks for what a new channel needs.
func (c *ChannelsCreateCmd) Validate() error {
	switch {
	case c.Endpoint == "":
		return fmt.Errorf("--endpoint is required")
	case c.MerchantID == "":
		return fmt.Errorf("--merchant-id is required")
	case c.Secret == "":
		return fmt.Errorf("--secret (or SUANPAN_CHANNEL_SECRET) is required")
	}
	return nil
}

// Run creates the channel and prints it.
func (c *ChannelsCreateCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.CreatePaymentChannelWithResponse(ctx, sdk.ChannelBody{Code: c.Code, Kind: sdk.ChannelBodyKind(c.Kind), Asset: c.Asset,
		InstitutionId: opt(c.Institution), Name: opt(c.Name), Endpoint: c.Endpoint, MerchantId: c.MerchantID, Secret: c.Secret,
		Status: opt(sdk.ChannelBodyStatus(c.Status)), Params: c.params(&sdk.ChannelParams{})})
	return show(a, c.JSON, r, err, func() *sdk.ChannelView { return r.JSON201 }, func(ch *sdk.ChannelView) error {
		return printChannel(a.stdout, ch)
	})
}

// channel reads a channel.
func (c *client) channel(ctx context.Context, id string) (*sdk.GetPaymentChannelResponse, *sdk.ChannelView, error) {
	api, err := c.api()
	if err != nil {
		return nil, nil, err
	}
	r, err := api.GetPaymentChannelWithResponse(ctx, id)
	ch, _, err := jsonOf(r, err, func() *sdk.ChannelView { return r.JSON200 })
	if err != nil {
		return nil, nil, err
	}
	return r, ch, nil
}

// ChannelsGetCmd shows a channel.
type ChannelsGetCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Channel ID."`
}

// Run prints the channel.
func (c *ChannelsGetCmd) Run(ctx context.Context, a *app) error {
	r, ch, err := c.channel(ctx, c.ID)
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, r.Body)
	}
	return printChannel(a.stdout, ch)
}

// ChannelsUpdateCmd changes a channel.
type ChannelsUpdateCmd struct {
	client       `embed:""`
	channelFlags `embed:""`
	ID           string `arg:"" help:"Channel ID."`
}

// Run reads the channel, replaces the settings given and stores the
// result: the API replaces a channel's configuration as a whole.
func (c *ChannelsUpdateCmd) Run(ctx context.Context, a *app) error {
	_, cur, err := c.channel(ctx, c.ID)
	if err != nil {
		return err
	}
	body := sdk.ChannelUpdateBody{Name: &cur.Name, Endpoint: cur.Endpoint, MerchantId: cur.MerchantId, Asset: &cur.Asset,
		Status: opt(sdk.ChannelUpdateBodyStatus(cur.Status)), Secret: opt(c.Secret), Params: c.params(&cur.Params)}
	if c.Name != "" {
		body.Name = &c.Name
	}
	if c.Endpoint != "" {
		body.Endpoint = c.Endpoint
	}
	if c.MerchantID != "" {
		body.MerchantId = c.MerchantID
	}
	if c.Status != "" {
		body.Status = opt(sdk.ChannelUpdateBodyStatus(c.Status))
	}
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.UpdatePaymentChannelWithResponse(ctx, c.ID, body)
	return show(a, c.JSON, r, err, func() *sdk.ChannelView { return r.JSON200 }, func(ch *sdk.ChannelView) error {
		return printChannel(a.stdout, ch)
	})
}

func printChannel(w io.Writer, ch *sdk.ChannelView) error {
	return fields(w,
		"id", ch.Id,
		"institution", ch.InstitutionId,
		"code", ch.Code,
		"kind", string(ch.Kind),
		"name", ch.Name,
		"endpoint", ch.Endpoint,
		"merchant", ch.MerchantId,
		"asset", ch.Asset,
		"directions", directions(ch.Params, ", "),
		"timeout", (time.Duration(deref(ch.Params.TimeoutMs)) * time.Millisecond).String(),
		"status", string(ch.Status),
		"version", strconv.FormatInt(ch.Version, 10),
		"updated", timeText(ch.UpdatedAt))
}

// OrdersCreateCmd creates an order.
type OrdersCreateCmd struct {
	client    `embed:""`
	Reference string `required:"" help:"Your unique reference for the order; running the command again with it is safe."`
	Channel   string `required:"" placeholder:"CHANNEL-ID" help:"The channel's ID."`
	Direction string `required:"" enum:"pay_in,pay_out,refund" help:"pay_in, pay_out or refund."`
	Account   string `required:"" placeholder:"ACCOUNT" help:"The customer's account: credited by a pay-in, debited by a pay-out or refund."`
	Amount    string `required:"" placeholder:"DECIMAL" help:"Amount as a decimal in the channel's asset, e.g. 12.34."`
	Party     string `help:"The external account, wallet or card; required for a pay-out."`
	PartyName string `name:"party-name" help:"The party's name."`
	Memo      string `help:"A memo the channel passes on."`
	Original  string `placeholder:"ORDER-ID" help:"For a refund: the pay-in order refunded."`
}

// Run creates the order and prints it.
func (c *OrdersCreateCmd) Run(ctx context.Context, a *app) error {
	_, ch, err := c.channel(ctx, c.Channel)
	if err != nil {
		return err
	}
	amount, err := c.amount(ctx, "amount", c.Amount, ch.Asset)
	if err != nil {
		return err
	}
	api, err := c.api()
	if err != nil {
		return err
	}
	// A reference seen before answers 200 with its order, not 201:
	// jsonOf decodes that one too.
	r, err := api.CreatePaymentOrderWithResponse(ctx, &sdk.CreatePaymentOrderParams{}, sdk.OrderBody{Reference: c.Reference,
		ChannelId: c.Channel, Direction: sdk.OrderBodyDirection(c.Direction), Account: c.Account, Amount: amount,
		Party: opt(c.Party), PartyName: opt(c.PartyName), Memo: opt(c.Memo), Original: opt(c.Original)})
	return show(a, c.JSON, r, err, func() *sdk.OrderView { return r.JSON201 }, func(o *sdk.OrderView) error {
		return printOrder(a.stdout, o)
	})
}

// OrdersGetCmd shows an order.
type OrdersGetCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Order ID."`
}

// Run prints the order.
func (c *OrdersGetCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.GetPaymentOrderWithResponse(ctx, c.ID)
	return show(a, c.JSON, r, err, func() *sdk.OrderView { return r.JSON200 }, func(o *sdk.OrderView) error {
		return printOrder(a.stdout, o)
	})
}

func printOrder(w io.Writer, o *sdk.OrderView) error {
	kv := []string{
		"id", o.Id,
		"reference", o.Reference,
		"institution", o.InstitutionId,
		"channel", o.ChannelId,
		"direction", string(o.Direction),
		"account", o.AccountId,
		"amount", o.AmountDisplay + " " + o.Asset,
		"channel fee", o.ChannelFeeDisplay + " " + o.Asset,
		"state", string(o.State),
	}
	for _, f := range [][2]string{{"party", deref(o.Party)}, {"party name", deref(o.PartyName)}, {"original", deref(o.OriginalId)},
		{"channel ref", deref(o.ChannelRef)}, {"failure", strings.TrimSpace(deref(o.FailureCode) + " " + deref(o.FailureMessage))},
		{"hold", deref(o.HoldId)}, {"transaction", deref(o.TransactionId)}, {"reversal", deref(o.ReversalId)}, {"batch", deref(o.BatchId)}} {
		if f[1] != "" {
			kv = append(kv, f[0], f[1])
		}
	}
	kv = append(kv, "business date", o.BusinessDate, "created", timeText(o.CreatedAt))
	if o.FinishedAt != nil {
		kv = append(kv, "finished", timeText(*o.FinishedAt))
	}
	return fields(w, kv...)
}

// OrdersListCmd lists orders.
type OrdersListCmd struct {
	client    `embed:""`
	State     string `enum:"created,processing,unknown,succeeded,failed," default:"" help:"Only orders in this state."`
	Channel   string `placeholder:"CHANNEL-ID" help:"Only orders of this channel."`
	Direction string `enum:"pay_in,pay_out,refund," default:"" help:"Only orders of this direction."`
	Batch     string `placeholder:"BATCH-ID" help:"Only orders of this bulk file."`
	Date      string `placeholder:"YYYY-MM-DD" help:"Only orders of this business date."`
	After     string `placeholder:"CURSOR" help:"Start after this cursor (printed by the previous page)."`
	Limit     int    `help:"At most this many orders (default 100, at most 500)."`
}

// Run prints a page of orders.
func (c *OrdersListCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.ListPaymentOrdersWithResponse(ctx, &sdk.ListPaymentOrdersParams{State: opt(sdk.ListPaymentOrdersParamsState(c.State)),
		ChannelId: opt(c.Channel), Direction: opt(sdk.ListPaymentOrdersParamsDirection(c.Direction)), BatchId: opt(c.Batch),
		Date: opt(c.Date), After: opt(c.After), Limit: limitOf(c.Limit)})
	return show(a, c.JSON, r, err, func() *sdk.OrderPageBody { return r.JSON200 }, func(page *sdk.OrderPageBody) error {
		t := newTable(a.stdout, "ID", "REFERENCE", "DIRECTION", "AMOUNT", "STATE", "CREATED")
		for _, o := range items(page.Items) {
			t.row(o.Id, o.Reference, string(o.Direction), o.AmountDisplay+" "+o.Asset, string(o.State), timeText(o.CreatedAt))
		}
		if err := t.flush(); err != nil {
			return err
		}
		more(a.stdout, page.NextCursor)
		return nil
	})
}

// OrdersTransitionsCmd shows an order's history.
type OrdersTransitionsCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Order ID."`
}

// Run prints the order's transitions, oldest first.
func (c *OrdersTransitionsCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.ListPaymentOrderTransitionsWithResponse(ctx, c.ID)
	return show(a, c.JSON, r, err, func() *sdk.TransitionListBody { return r.JSON200 }, func(list *sdk.TransitionListBody) error {
		t := newTable(a.stdout, "SEQ", "AT", "FROM", "TO", "CAUSE", "DETAIL")
		for _, tr := range items(list.Items) {
			t.row(strconv.FormatInt(tr.Seq, 10), timeText(tr.At), tr.From, tr.To, tr.Cause, deref(tr.Detail))
		}
		return t.flush()
	})
}

// OrdersSettleCmd settles an order by hand.
type OrdersSettleCmd struct {
	client     `embed:""`
	ID         string `arg:"" help:"Order ID."`
	Status     string `required:"" enum:"succeeded,failed" help:"The definite answer: succeeded or failed."`
	ChannelRef string `name:"channel-ref" help:"The channel's transaction number, when known."`
	Reason     string `required:"" help:"Why, for the audit log: e.g. the statement line."`
}

// Run applies the answer and prints the order.
func (c *OrdersSettleCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.SettlePaymentOrderWithResponse(ctx, c.ID, sdk.SettleInBody{Status: sdk.SettleInBodyStatus(c.Status),
		Reason: c.Reason, ChannelRef: opt(c.ChannelRef)})
	return show(a, c.JSON, r, err, func() *sdk.OrderView { return r.JSON200 }, func(o *sdk.OrderView) error {
		return printOrder(a.stdout, o)
	})
}

// BatchesUploadCmd uploads a bulk order file.
type BatchesUploadCmd struct {
	client    `embed:""`
	File      string `arg:"" type:"existingfile" help:"The CSV file: header reference,account,amount,party,party_name,memo,original."`
	Reference string `required:"" help:"Your unique reference for the file; uploading the same file under it again is safe."`
	Channel   string `required:"" placeholder:"CHANNEL-ID" help:"The channel every line's order goes through."`
	Direction string `required:"" enum:"pay_in,pay_out,refund" help:"pay_in, pay_out or refund."`
}

// Run uploads the file and prints the batch.
func (c *BatchesUploadCmd) Run(ctx context.Context, a *app) error {
	content, err := os.ReadFile(c.File)
	if err != nil {
		return err
	}
	if len(content) > payments.MaxBatchBytes {
		return fmt.Errorf("%s: larger than %d bytes", c.File, payments.MaxBatchBytes)
	}
	api, err := c.api()
	if err != nil {
		return err
	}
	// The same file under the same reference answers 200 with its batch,
	// not 202: jsonOf decodes that one too.
	r, err := api.UploadPaymentBatchWithBodyWithResponse(ctx, &sdk.UploadPaymentBatchParams{Reference: c.Reference, ChannelId: c.Channel,
		Direction: sdk.UploadPaymentBatchParamsDirection(c.Direction)}, "text/csv", bytes.NewReader(content))
	b, _, err := jsonOf(r, err, func() *sdk.PaymentsBatch { return r.JSON202 })
	if err != nil {
		return err
	}
	return c.printBatch(a.stdout, r.Body, b)
}

// BatchesGetCmd shows a bulk order file's progress.
type BatchesGetCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Batch ID."`
}

// Run prints the batch.
func (c *BatchesGetCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.GetPaymentBatchWithResponse(ctx, c.ID)
	b, _, err := jsonOf(r, err, func() *sdk.PaymentsBatch { return r.JSON200 })
	if err != nil {
		return err
	}
	return c.printBatch(a.stdout, r.Body, b)
}

// printBatch prints a batch, or the raw answer for --json.
func (c *client) printBatch(w io.Writer, raw []byte, b *sdk.PaymentsBatch) error {
	if c.JSON {
		return printJSON(w, raw)
	}
	count := func(n int64) string { return strconv.FormatInt(n, 10) }
	kv := []string{"id", b.Id, "reference", b.Reference, "channel", b.ChannelId, "direction", b.Direction, "status", b.Status,
		"lines", count(b.Lines), "processed", count(b.Processed), "open orders", count(b.OpenOrders),
		"succeeded", count(b.Succeeded), "failed", count(b.Failed), "rejected", count(b.Rejected),
		"created", timeText(b.CreatedAt)}
	if b.FinishedAt != nil {
		kv = append(kv, "finished", timeText(*b.FinishedAt))
	}
	return fields(w, kv...)
}

// BatchesResultsCmd prints a result file.
type BatchesResultsCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Batch ID."`
}

// Run prints the result file as the server wrote it.
func (c *BatchesResultsCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.GetPaymentBatchResultsWithResponse(ctx, c.ID)
	if err := sdk.Check(r, err); err != nil {
		return err
	}
	_, err = a.stdout.Write(r.Body)
	return err
}

// JobsListCmd lists jobs.
type JobsListCmd struct {
	client `embed:""`
	Kind   string `help:"Only jobs of this kind, e.g. payments.query or webhook.deliver."`
	State  string `enum:"pending,running,succeeded,dead,cancelled," default:"" help:"Only jobs in this state."`
	After  string `placeholder:"CURSOR" help:"Start after this cursor (printed by the previous page)."`
	Limit  int    `help:"At most this many jobs (default 100, at most 500)."`
}

// Run prints a page of jobs.
func (c *JobsListCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.ListJobsWithResponse(ctx, &sdk.ListJobsParams{Kind: opt(c.Kind), State: opt(sdk.ListJobsParamsState(c.State)),
		After: opt(c.After), Limit: limitOf(c.Limit)})
	return show(a, c.JSON, r, err, func() *sdk.JobPageBody { return r.JSON200 }, func(page *sdk.JobPageBody) error {
		t := newTable(a.stdout, "ID", "KIND", "STATE", "ATTEMPTS", "RUN AT", "LAST ERROR")
		for _, j := range items(page.Items) {
			t.row(j.Id, j.Kind, j.State, attempts(&j), timeText(j.RunAt), deref(j.LastError))
		}
		if err := t.flush(); err != nil {
			return err
		}
		more(a.stdout, page.NextCursor)
		return nil
	})
}

func attempts(j *sdk.JobsJob) string {
	if deref(j.MaxAttempts) == 0 {
		return strconv.FormatInt(j.Attempts, 10)
	}
	return strconv.FormatInt(j.Attempts, 10) + "/" + strconv.FormatInt(*j.MaxAttempts, 10)
}

// jobCmd is a command on one job.
type jobCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Job ID."`
}

// do sends the job request and prints the job.
func (c *jobCmd) do(ctx context.Context, a *app, send func(*sdk.ClientWithResponses) (sdk.Response, *sdk.JobsJob, error)) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, j, err := send(api)
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, r.Bytes())
	}
	kv := []string{"id", j.Id, "kind", j.Kind, "key", j.Key, "institution", j.InstitutionId, "state", j.State,
		"attempts", attempts(j), "run at", timeText(j.RunAt), "payload", rawField(r.Bytes(), "payload")}
	if e := deref(j.LastError); e != "" {
		kv = append(kv, "last error", e)
	}
	return fields(a.stdout, kv...)
}

// JobsGetCmd shows a job.
type JobsGetCmd struct {
	jobCmd `embed:""`
}

// Run prints the job.
func (c *JobsGetCmd) Run(ctx context.Context, a *app) error {
	return c.do(ctx, a, func(api *sdk.ClientWithResponses) (sdk.Response, *sdk.JobsJob, error) {
		r, err := api.GetJobWithResponse(ctx, c.ID)
		j, _, err := jsonOf(r, err, func() *sdk.JobsJob { return r.JSON200 })
		return r, j, err
	})
}

// JobsRetryCmd retries a job.
type JobsRetryCmd struct {
	jobCmd `embed:""`
}

// Run retries the job and prints it.
func (c *JobsRetryCmd) Run(ctx context.Context, a *app) error {
	return c.do(ctx, a, func(api *sdk.ClientWithResponses) (sdk.Response, *sdk.JobsJob, error) {
		r, err := api.RetryJobWithResponse(ctx, c.ID)
		j, _, err := jsonOf(r, err, func() *sdk.JobsJob { return r.JSON200 })
		return r, j, err
	})
}

// JobsCancelCmd cancels a job.
type JobsCancelCmd struct {
	jobCmd `embed:""`
}

// Run cancels the job and prints it.
func (c *JobsCancelCmd) Run(ctx context.Context, a *app) error {
	return c.do(ctx, a, func(api *sdk.ClientWithResponses) (sdk.Response, *sdk.JobsJob, error) {
		r, err := api.CancelJobWithResponse(ctx, c.ID)
		j, _, err := jsonOf(r, err, func() *sdk.JobsJob { return r.JSON200 })
		return r, j, err
	})
}

// WebhooksListCmd lists webhooks.
type WebhooksListCmd struct {
	client `embed:""`
	After  string `placeholder:"CURSOR" help:"Start after this cursor (printed by the previous page)."`
	Limit  int    `help:"At most this many webhooks (default 100)."`
}

// Run prints a page of webhooks.
func (c *WebhooksListCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.ListWebhooksWithResponse(ctx, &sdk.ListWebhooksParams{After: opt(c.After), Limit: limitOf(c.Limit)})
	return show(a, c.JSON, r, err, func() *sdk.WebhookPageBody { return r.JSON200 }, func(page *sdk.WebhookPageBody) error {
		t := newTable(a.stdout, "ID", "INSTITUTION", "URL", "EVENTS", "ACTIVE")
		for _, w := range items(page.Items) {
			events := strings.Join(items(w.EventTypes), ",")
			if events == "" {
				events = "all"
			}
			t.row(w.Id, w.InstitutionId, w.Url, events, strconv.FormatBool(w.Active))
		}
		if err := t.flush(); err != nil {
			return err
		}
		more(a.stdout, page.NextCursor)
		return nil
	})
}

// WebhooksCreateCmd subscribes a webhook.
type WebhooksCreateCmd struct {
	client      `embed:""`
	URL         string   `arg:"" help:"The absolute http(s) URL events are POSTed to."`
	Event       []string `placeholder:"TYPE" help:"An event type (account.frozen) or prefix (payment_order.*) to receive; repeat for more. Default: all."`
	Description string   `help:"What the webhook is for."`
	Institution string   `placeholder:"ID" help:"Institution whose events (and its descendants') to receive; default: the API key's."`
}

// Run creates the webhook and prints it with its secret.
func (c *WebhooksCreateCmd) Run(ctx context.Context, a *app) error {
	body := sdk.WebhookBody{Url: c.URL, Description: opt(c.Description), InstitutionId: opt(c.Institution)}
	if len(c.Event) > 0 {
		body.EventTypes = &c.Event
	}
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.CreateWebhookWithResponse(ctx, body)
	return show(a, c.JSON, r, err, func() *sdk.NewWebhookView { return r.JSON201 }, func(v *sdk.NewWebhookView) error {
		if err := fields(a.stdout, "id", v.Webhook.Id, "institution", v.Webhook.InstitutionId, "url", v.Webhook.Url,
			"events", strings.Join(items(v.Webhook.EventTypes), ", "), "secret", v.Secret); err != nil {
			return err
		}
		fmt.Fprintln(a.stdout, "(the secret is shown only now: store it where the receiver verifies signatures)")
		return nil
	})
}

// WebhooksDeleteCmd deletes a webhook.
type WebhooksDeleteCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Webhook ID."`
}

// Run deletes the webhook.
func (c *WebhooksDeleteCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.DeleteWebhookWithResponse(ctx, c.ID)
	if err := sdk.Check(r, err); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "deleted %s\n", c.ID)
	return nil
}

// WebhooksDeliveriesCmd lists deliveries.
type WebhooksDeliveriesCmd struct {
	client  `embed:""`
	Webhook string `placeholder:"WEBHOOK-ID" help:"Only deliveries to this webhook."`
	Event   string `placeholder:"EVENT-ID" help:"Only deliveries of this event."`
	State   string `enum:"pending,delivered,failed," default:"" help:"Only deliveries in this state."`
	After   string `placeholder:"CURSOR" help:"Start after this cursor (printed by the previous page)."`
	Limit   int    `help:"At most this many deliveries (default 100)."`
}

// Run prints a page of deliveries.
func (c *WebhooksDeliveriesCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.ListWebhookDeliveriesWithResponse(ctx, &sdk.ListWebhookDeliveriesParams{WebhookId: opt(c.Webhook), EventId: opt(c.Event),
		State: opt(sdk.ListWebhookDeliveriesParamsState(c.State)), After: opt(c.After), Limit: limitOf(c.Limit)})
	return show(a, c.JSON, r, err, func() *sdk.DeliveryPageBody { return r.JSON200 }, func(page *sdk.DeliveryPageBody) error {
		t := newTable(a.stdout, "ID", "WEBHOOK", "EVENT", "STATE", "ATTEMPTS", "LAST")
		for _, d := range items(page.Items) {
			t.row(d.Id, d.WebhookId, d.EventType, d.State, strconv.FormatInt(d.Attempts, 10), lastAttempt(deref(d.LastStatus), deref(d.LastError)))
		}
		if err := t.flush(); err != nil {
			return err
		}
		more(a.stdout, page.NextCursor)
		return nil
	})
}

// lastAttempt says how a delivery's last attempt went: the status it got,
// if any, and why it failed. The log's phrase for a failing status is the
// status itself ("http 500"), said once.
func lastAttempt(status int64, phrase string) string {
	if status == 0 {
		return phrase
	}
	code := "HTTP " + strconv.FormatInt(status, 10)
	if phrase == "" || strings.EqualFold(phrase, code) {
		return code
	}
	return code + " " + phrase
}

// WebhooksRedeliverCmd sends a delivery again.
type WebhooksRedeliverCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Delivery ID."`
}

// Run queues the delivery again and prints it.
func (c *WebhooksRedeliverCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.RedeliverWebhookDeliveryWithResponse(ctx, c.ID)
	return show(a, c.JSON, r, err, func() *sdk.OutboxDelivery { return r.JSON200 }, func(d *sdk.OutboxDelivery) error {
		return fields(a.stdout, "id", d.Id, "webhook", d.WebhookId, "event", d.EventId+" ("+d.EventType+")", "state", d.State,
			"attempts", strconv.FormatInt(d.Attempts, 10))
	})
}
