package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/suanpan/suanpan/internal/httpapi"
	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/internal/outbox"
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

// pageQuery is the query of a list command: its filters that are set, and
// the page.
func pageQuery(after string, limit int, filters ...string) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(filters); i += 2 {
		if filters[i+1] != "" {
			q.Set(filters[i], filters[i+1])
		}
	}
	if after != "" {
		q.Set("after", after)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return q
}

// more prints where the next page starts, if there is one.
func more(w io.Writer, next string) {
	if next != "" {
		fmt.Fprintf(w, "more: --after %s\n", next)
	}
}

// channelPage is the answer of GET /v1/payments/channels.
type channelPage struct {
	Items []*httpapi.ChannelView `json:"items"`
}

// ChannelsListCmd lists channels.
type ChannelsListCmd struct {
	client `embed:""`
}

// Run prints the channels.
func (c *ChannelsListCmd) Run(ctx context.Context, a *app) error {
	var page channelPage
	ans, err := c.call(ctx, http.MethodGet, "/v1/payments/channels", nil, nil, &page, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	t := newTable(a.stdout, "ID", "INSTITUTION", "CODE", "KIND", "ASSET", "DIRECTIONS", "STATUS")
	for _, ch := range page.Items {
		t.row(ch.ID, ch.InstitutionID, ch.Code, ch.Kind, ch.Asset, strings.Join(ch.Params.Directions, ","), ch.Status)
	}
	return t.flush()
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

// apply sets the flags given on a channel body.
func (f *channelFlags) apply(body map[string]any, params *httpapi.ChannelParams) {
	for k, v := range map[string]string{"name": f.Name, "endpoint": f.Endpoint, "merchant_id": f.MerchantID, "secret": f.Secret, "status": f.Status} {
		if v != "" {
			body[k] = v
		}
	}
	if len(f.Direction) > 0 {
		params.Directions = f.Direction
	}
	if f.Timeout > 0 {
		params.TimeoutMs = f.Timeout.Milliseconds()
	}
	body["params"] = params
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
	body := map[string]any{"code": c.Code, "kind": c.Kind, "asset": c.Asset}
	if c.Institution != "" {
		body["institution_id"] = c.Institution
	}
	c.apply(body, &httpapi.ChannelParams{})
	var ch httpapi.ChannelView
	ans, err := c.call(ctx, http.MethodPost, "/v1/payments/channels", nil, body, &ch, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	return printChannel(a.stdout, &ch)
}

// ChannelsGetCmd shows a channel.
type ChannelsGetCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Channel ID."`
}

// Run prints the channel.
func (c *ChannelsGetCmd) Run(ctx context.Context, a *app) error {
	var ch httpapi.ChannelView
	ans, err := c.call(ctx, http.MethodGet, "/v1/payments/channels/"+url.PathEscape(c.ID), nil, nil, &ch, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	return printChannel(a.stdout, &ch)
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
	path := "/v1/payments/channels/" + url.PathEscape(c.ID)
	var cur httpapi.ChannelView
	if _, err := c.call(ctx, http.MethodGet, path, nil, nil, &cur, ""); err != nil {
		return err
	}
	body := map[string]any{"name": cur.Name, "endpoint": cur.Endpoint, "merchant_id": cur.MerchantID, "asset": cur.Asset, "status": cur.Status}
	c.apply(body, &cur.Params)
	var ch httpapi.ChannelView
	ans, err := c.call(ctx, http.MethodPut, path, nil, body, &ch, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	return printChannel(a.stdout, &ch)
}

func printChannel(w io.Writer, ch *httpapi.ChannelView) error {
	return fields(w,
		"id", ch.ID,
		"institution", ch.InstitutionID,
		"code", ch.Code,
		"kind", ch.Kind,
		"name", ch.Name,
		"endpoint", ch.Endpoint,
		"merchant", ch.MerchantID,
		"asset", ch.Asset,
		"directions", strings.Join(ch.Params.Directions, ", "),
		"timeout", (time.Duration(ch.Params.TimeoutMs) * time.Millisecond).String(),
		"status", ch.Status,
		"version", strconv.Itoa(ch.Version),
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
	var ch httpapi.ChannelView
	if _, err := c.call(ctx, http.MethodGet, "/v1/payments/channels/"+url.PathEscape(c.Channel), nil, nil, &ch, ""); err != nil {
		return err
	}
	amount, err := c.amount(ctx, "amount", c.Amount, ch.Asset)
	if err != nil {
		return err
	}
	body := map[string]any{"reference": c.Reference, "channel_id": c.Channel, "direction": c.Direction, "account": c.Account, "amount": amount}
	for k, v := range map[string]string{"party": c.Party, "party_name": c.PartyName, "memo": c.Memo, "original": c.Original} {
		if v != "" {
			body[k] = v
		}
	}
	var o httpapi.OrderView
	ans, err := c.call(ctx, http.MethodPost, "/v1/payments/orders", nil, body, &o, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	return printOrder(a.stdout, &o)
}

// OrdersGetCmd shows an order.
type OrdersGetCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Order ID."`
}

// Run prints the order.
func (c *OrdersGetCmd) Run(ctx context.Context, a *app) error {
	var o httpapi.OrderView
	ans, err := c.call(ctx, http.MethodGet, "/v1/payments/orders/"+url.PathEscape(c.ID), nil, nil, &o, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	return printOrder(a.stdout, &o)
}

func printOrder(w io.Writer, o *httpapi.OrderView) error {
	kv := []string{
		"id", o.ID,
		"reference", o.Reference,
		"institution", o.InstitutionID,
		"channel", o.ChannelID,
		"direction", o.Direction,
		"account", o.AccountID,
		"amount", o.AmountDisplay + " " + o.Asset,
		"channel fee", o.ChannelFeeDisplay + " " + o.Asset,
		"state", o.State,
	}
	for _, f := range [][2]string{{"party", o.Party}, {"party name", o.PartyName}, {"original", o.OriginalID}, {"channel ref", o.ChannelRef},
		{"failure", strings.TrimSpace(o.FailureCode + " " + o.FailureMessage)}, {"hold", o.HoldID}, {"transaction", o.TransactionID},
		{"reversal", o.ReversalID}, {"batch", o.BatchID}} {
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

// orderPage is a page of GET /v1/payments/orders.
type orderPage struct {
	Items      []*httpapi.OrderView `json:"items"`
	NextCursor string               `json:"next_cursor"`
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
	var page orderPage
	ans, err := c.call(ctx, http.MethodGet, "/v1/payments/orders", pageQuery(c.After, c.Limit, "state", c.State, "channel_id", c.Channel,
		"direction", c.Direction, "batch_id", c.Batch, "date", c.Date), nil, &page, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	t := newTable(a.stdout, "ID", "REFERENCE", "DIRECTION", "AMOUNT", "STATE", "CREATED")
	for _, o := range page.Items {
		t.row(o.ID, o.Reference, o.Direction, o.AmountDisplay+" "+o.Asset, o.State, timeText(o.CreatedAt))
	}
	if err := t.flush(); err != nil {
		return err
	}
	more(a.stdout, page.NextCursor)
	return nil
}

// OrdersTransitionsCmd shows an order's history.
type OrdersTransitionsCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Order ID."`
}

// Run prints the order's transitions, oldest first.
func (c *OrdersTransitionsCmd) Run(ctx context.Context, a *app) error {
	var list struct {
		Items []payments.Transition `json:"items"`
	}
	ans, err := c.call(ctx, http.MethodGet, "/v1/payments/orders/"+url.PathEscape(c.ID)+"/transitions", nil, nil, &list, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	t := newTable(a.stdout, "SEQ", "AT", "FROM", "TO", "CAUSE", "DETAIL")
	for _, tr := range list.Items {
		t.row(strconv.Itoa(tr.Seq), timeText(tr.At), string(tr.From), string(tr.To), tr.Cause, tr.Detail)
	}
	return t.flush()
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
	body := map[string]any{"status": c.Status, "reason": c.Reason}
	if c.ChannelRef != "" {
		body["channel_ref"] = c.ChannelRef
	}
	var o httpapi.OrderView
	ans, err := c.call(ctx, http.MethodPost, "/v1/payments/orders/"+url.PathEscape(c.ID)+"/settle", nil, body, &o, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	return printOrder(a.stdout, &o)
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
	raw, err := c.raw(ctx, http.MethodPost, "/v1/payments/batches",
		url.Values{"reference": {c.Reference}, "channel_id": {c.Channel}, "direction": {c.Direction}}, "text/csv", content)
	if err != nil {
		return err
	}
	return c.printBatch(a.stdout, raw)
}

// BatchesGetCmd shows a bulk order file's progress.
type BatchesGetCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Batch ID."`
}

// Run prints the batch.
func (c *BatchesGetCmd) Run(ctx context.Context, a *app) error {
	raw, err := c.raw(ctx, http.MethodGet, "/v1/payments/batches/"+url.PathEscape(c.ID), nil, "", nil)
	if err != nil {
		return err
	}
	return c.printBatch(a.stdout, raw)
}

func (c *client) printBatch(w io.Writer, raw []byte) error {
	if c.JSON {
		return printJSON(w, raw)
	}
	var b payments.Batch
	if err := json.Unmarshal(raw, &b); err != nil {
		return fmt.Errorf("decode batch: %w", err)
	}
	kv := []string{"id", b.ID, "reference", b.Reference, "channel", b.ChannelID, "direction", string(b.Direction), "status", b.Status,
		"lines", strconv.Itoa(b.Lines), "processed", strconv.Itoa(b.Processed), "open orders", strconv.Itoa(b.OpenOrders),
		"succeeded", strconv.Itoa(b.Succeeded), "failed", strconv.Itoa(b.Failed), "rejected", strconv.Itoa(b.Rejected),
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
	raw, err := c.raw(ctx, http.MethodGet, "/v1/payments/batches/"+url.PathEscape(c.ID)+"/results", nil, "", nil)
	if err != nil {
		return err
	}
	_, err = a.stdout.Write(raw)
	return err
}

// jobPage is a page of GET /v1/jobs.
type jobPage struct {
	Items      []*jobs.Job `json:"items"`
	NextCursor string      `json:"next_cursor"`
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
	var page jobPage
	ans, err := c.call(ctx, http.MethodGet, "/v1/jobs", pageQuery(c.After, c.Limit, "kind", c.Kind, "state", c.State), nil, &page, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	t := newTable(a.stdout, "ID", "KIND", "STATE", "ATTEMPTS", "RUN AT", "LAST ERROR")
	for _, j := range page.Items {
		t.row(j.ID, j.Kind, string(j.State), attempts(j), timeText(j.RunAt), j.LastError)
	}
	if err := t.flush(); err != nil {
		return err
	}
	more(a.stdout, page.NextCursor)
	return nil
}

func attempts(j *jobs.Job) string {
	if j.MaxAttempts == 0 {
		return strconv.Itoa(j.Attempts)
	}
	return strconv.Itoa(j.Attempts) + "/" + strconv.Itoa(j.MaxAttempts)
}

// jobCmd is a command on one job.
type jobCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Job ID."`
}

// do sends the job request (action "": read it) and prints the job.
func (c *jobCmd) do(ctx context.Context, a *app, action string) error {
	method, path := http.MethodGet, "/v1/jobs/"+url.PathEscape(c.ID)
	if action != "" {
		method, path = http.MethodPost, path+"/"+action
	}
	var j jobs.Job
	ans, err := c.call(ctx, method, path, nil, nil, &j, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	kv := []string{"id", j.ID, "kind", j.Kind, "key", j.Key, "institution", j.InstitutionID, "state", string(j.State),
		"attempts", attempts(&j), "run at", timeText(j.RunAt), "payload", string(j.Payload)}
	if j.LastError != "" {
		kv = append(kv, "last error", j.LastError)
	}
	return fields(a.stdout, kv...)
}

// JobsGetCmd shows a job.
type JobsGetCmd struct {
	jobCmd `embed:""`
}

// Run prints the job.
func (c *JobsGetCmd) Run(ctx context.Context, a *app) error { return c.do(ctx, a, "") }

// JobsRetryCmd retries a job.
type JobsRetryCmd struct {
	jobCmd `embed:""`
}

// Run retries the job and prints it.
func (c *JobsRetryCmd) Run(ctx context.Context, a *app) error { return c.do(ctx, a, "retry") }

// JobsCancelCmd cancels a job.
type JobsCancelCmd struct {
	jobCmd `embed:""`
}

// Run cancels the job and prints it.
func (c *JobsCancelCmd) Run(ctx context.Context, a *app) error { return c.do(ctx, a, "cancel") }

// webhookPage is a page of GET /v1/webhooks.
type webhookPage struct {
	Items      []*outbox.Webhook `json:"items"`
	NextCursor string            `json:"next_cursor"`
}

// WebhooksListCmd lists webhooks.
type WebhooksListCmd struct {
	client `embed:""`
	After  string `placeholder:"CURSOR" help:"Start after this cursor (printed by the previous page)."`
	Limit  int    `help:"At most this many webhooks (default 100)."`
}

// Run prints a page of webhooks.
func (c *WebhooksListCmd) Run(ctx context.Context, a *app) error {
	var page webhookPage
	ans, err := c.call(ctx, http.MethodGet, "/v1/webhooks", pageQuery(c.After, c.Limit), nil, &page, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	t := newTable(a.stdout, "ID", "INSTITUTION", "URL", "EVENTS", "ACTIVE")
	for _, w := range page.Items {
		events := strings.Join(w.EventTypes, ",")
		if events == "" {
			events = "all"
		}
		t.row(w.ID, w.InstitutionID, w.URL, events, strconv.FormatBool(w.Active))
	}
	if err := t.flush(); err != nil {
		return err
	}
	more(a.stdout, page.NextCursor)
	return nil
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
	body := map[string]any{"url": c.URL}
	if len(c.Event) > 0 {
		body["event_types"] = c.Event
	}
	for k, v := range map[string]string{"description": c.Description, "institution_id": c.Institution} {
		if v != "" {
			body[k] = v
		}
	}
	var v httpapi.NewWebhookView
	ans, err := c.call(ctx, http.MethodPost, "/v1/webhooks", nil, body, &v, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	if err := fields(a.stdout, "id", v.Webhook.ID, "institution", v.Webhook.InstitutionID, "url", v.Webhook.URL,
		"events", strings.Join(v.Webhook.EventTypes, ", "), "secret", v.Secret); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, "(the secret is shown only now: store it where the receiver verifies signatures)")
	return nil
}

// WebhooksDeleteCmd deletes a webhook.
type WebhooksDeleteCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Webhook ID."`
}

// Run deletes the webhook.
func (c *WebhooksDeleteCmd) Run(ctx context.Context, a *app) error {
	if _, err := c.call(ctx, http.MethodDelete, "/v1/webhooks/"+url.PathEscape(c.ID), nil, nil, nil, ""); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "deleted %s\n", c.ID)
	return nil
}

// deliveryPage is a page of GET /v1/webhooks/deliveries.
type deliveryPage struct {
	Items      []*outbox.Delivery `json:"items"`
	NextCursor string             `json:"next_cursor"`
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
	var page deliveryPage
	ans, err := c.call(ctx, http.MethodGet, "/v1/webhooks/deliveries", pageQuery(c.After, c.Limit, "webhook_id", c.Webhook,
		"event_id", c.Event, "state", c.State), nil, &page, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	t := newTable(a.stdout, "ID", "WEBHOOK", "EVENT", "STATE", "ATTEMPTS", "LAST")
	for _, d := range page.Items {
		last := d.LastError
		if d.LastStatus != 0 {
			last = strings.TrimSpace("HTTP " + strconv.Itoa(d.LastStatus) + " " + last)
		}
		t.row(d.ID, d.WebhookID, d.EventType, string(d.State), strconv.Itoa(d.Attempts), last)
	}
	if err := t.flush(); err != nil {
		return err
	}
	more(a.stdout, page.NextCursor)
	return nil
}

// WebhooksRedeliverCmd sends a delivery again.
type WebhooksRedeliverCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Delivery ID."`
}

// Run queues the delivery again and prints it.
func (c *WebhooksRedeliverCmd) Run(ctx context.Context, a *app) error {
	var d outbox.Delivery
	ans, err := c.call(ctx, http.MethodPost, "/v1/webhooks/deliveries/"+url.PathEscape(c.ID)+"/redeliver", nil, nil, &d, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	return fields(a.stdout, "id", d.ID, "webhook", d.WebhookID, "event", d.EventID+" ("+d.EventType+")", "state", string(d.State),
		"attempts", strconv.Itoa(d.Attempts))
}
