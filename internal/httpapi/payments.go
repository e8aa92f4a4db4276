package httpapi

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/money"
)

// Payments: channels money enters and leaves through, orders through them
// (single or from bulk files), and the public route channels call back on.

// ChannelParams are a channel's run-time settings.
type ChannelParams struct {
	Directions []string                   `json:"directions,omitempty" enum:"pay_in,pay_out,refund" doc:"The enabled directions, a subset of what the kind supports; default all of them."`
	Limits     map[string]payments.Limits `json:"limits,omitempty" doc:"Per direction (pay_in, pay_out, refund); 0 is no bound."`
	TimeoutMs  int64                      `json:"timeout_ms,omitempty" doc:"How long a request to the channel may take, 100-120000; default 10000."`
	Retry      payments.RetryPolicy       `json:"retry,omitzero" doc:"How an order without a definite answer is queried; zero fields take the defaults (30 queries, 2 s doubling to 10 min)."`
	Fees       map[string]ChannelFeeRate  `json:"fees,omitempty" doc:"What the channel charges per order, per direction: the fee expected on its statement."`
}

// ChannelFeeRate is what a channel charges per order of one direction:
// fixed plus amount × rate rounded once, clamped to min and max (0: no
// bound). Amounts are minor units of the channel's asset.
type ChannelFeeRate struct {
	Fixed    int64  `json:"fixed,omitempty" minimum:"0"`
	Rate     string `json:"rate,omitempty" maxLength:"24" doc:"Decimal rate on the amount, 0 to 1: \"0.006\" is 0.6%."`
	Rounding string `json:"rounding" enum:"half_even,half_up,down,up,floor,ceiling" doc:"How amount × rate is rounded to minor units. Required."`
	Min      int64  `json:"min,omitempty" minimum:"0"`
	Max      int64  `json:"max,omitempty" minimum:"0"`
}

// ChannelView is a payment channel's configuration. Its secret is never
// shown.
type ChannelView struct {
	ID            string        `json:"id"`
	InstitutionID string        `json:"institution_id"`
	Code          string        `json:"code" doc:"The channel token products and clearing accounts name."`
	Kind          string        `json:"kind" enum:"bank_transfer,pos_card,qr_wallet,unionpay,cash_counter,cheque"`
	Name          string        `json:"name"`
	Endpoint      string        `json:"endpoint"`
	MerchantID    string        `json:"merchant_id"`
	Asset         string        `json:"asset"`
	Params        ChannelParams `json:"params"`
	Status        string        `json:"status" enum:"active,disabled"`
	Version       int           `json:"version" doc:"Counts the configuration's changes."`
	CreatedAt     time.Time     `json:"created_at"`
	UpdatedAt     time.Time     `json:"updated_at"`
}

// OrderView is a pay-in, pay-out or refund order through a channel.
type OrderView struct {
	ID                string     `json:"id"`
	InstitutionID     string     `json:"institution_id"`
	Reference         string     `json:"reference" doc:"The caller's idempotency key, unique in the institution."`
	ChannelID         string     `json:"channel_id"`
	Direction         string     `json:"direction" enum:"pay_in,pay_out,refund"`
	AccountID         string     `json:"account_id"`
	Asset             string     `json:"asset"`
	Amount            int64      `json:"amount" doc:"Minor units."`
	AmountDisplay     string     `json:"amount_display"`
	ChannelFee        int64      `json:"channel_fee" doc:"What the channel charges, minor units: as it reported it, or as its configured rate expects until it does."`
	ChannelFeeDisplay string     `json:"channel_fee_display"`
	Party             string     `json:"party,omitempty"`
	PartyName         string     `json:"party_name,omitempty"`
	Memo              string     `json:"memo,omitempty"`
	OriginalID        string     `json:"original_id,omitempty" doc:"For a refund, the pay-in order refunded."`
	State             string     `json:"state" enum:"created,processing,unknown,succeeded,failed" doc:"unknown: the channel did not answer and is being queried; only a definite answer settles the order."`
	ChannelRef        string     `json:"channel_ref,omitempty" doc:"The channel's own transaction number."`
	FailureCode       string     `json:"failure_code,omitempty"`
	FailureMessage    string     `json:"failure_message,omitempty"`
	HoldID            string     `json:"hold_id,omitempty" doc:"A pay-out's or refund's hold on the account."`
	TransactionID     string     `json:"transaction_id,omitempty" doc:"The ledger transaction that settled the order."`
	ReversalID        string     `json:"reversal_id,omitempty" doc:"The compensating reversal of a success the channel later failed."`
	BatchID           string     `json:"batch_id,omitempty"`
	LineNo            int        `json:"line_no,omitempty" doc:"The order's line in its bulk file."`
	BusinessDate      string     `json:"business_date"`
	CreatedBy         string     `json:"created_by"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	FinishedAt        *time.Time `json:"finished_at,omitempty"`
	Version           int        `json:"version" doc:"Counts the order's changes."`
}

func channelView(c *payments.Channel) *ChannelView {
	p := ChannelParams{Limits: map[string]payments.Limits{}, TimeoutMs: c.Params.TimeoutMs, Retry: c.Params.Retry,
		Fees: map[string]ChannelFeeRate{}}
	for _, d := range c.Params.Directions {
		p.Directions = append(p.Directions, string(d))
	}
	for d, l := range c.Params.Limits {
		p.Limits[string(d)] = l
	}
	for d, f := range c.Params.Fees {
		p.Fees[string(d)] = ChannelFeeRate{Fixed: f.Fixed, Rate: f.Rate.String(), Rounding: f.Rounding.String(), Min: f.Min, Max: f.Max}
	}
	return &ChannelView{ID: c.ID, InstitutionID: c.InstitutionID, Code: c.Code, Kind: string(c.Kind), Name: c.Name,
		Endpoint: c.Endpoint, MerchantID: c.MerchantID, Asset: c.Asset, Params: p, Status: c.Status, Version: c.Version,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func (s *Server) orderView(ctx context.Context, o *payments.Order) *OrderView {
	return &OrderView{ID: o.ID, InstitutionID: o.InstitutionID, Reference: o.Reference, ChannelID: o.ChannelID,
		Direction: string(o.Direction), AccountID: o.AccountID, Asset: o.Asset, Amount: o.Amount,
		AmountDisplay: s.display(ctx, o.Asset, o.Amount), ChannelFee: o.ChannelFee,
		ChannelFeeDisplay: s.display(ctx, o.Asset, o.ChannelFee), Party: o.Party, PartyName: o.PartyName, Memo: o.Memo,
		OriginalID: o.OriginalID, State: string(o.State), ChannelRef: o.ChannelRef, FailureCode: o.FailureCode,
		FailureMessage: o.FailureMessage, HoldID: o.HoldID, TransactionID: o.TransactionID, ReversalID: o.ReversalID,
		BatchID: o.BatchID, LineNo: o.LineNo, BusinessDate: o.BusinessDate, CreatedBy: o.CreatedBy,
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, FinishedAt: o.FinishedAt, Version: o.Version}
}

// toParams converts the body's settings for the service, which checks
// them against the channel's kind.
func toParams(ctx context.Context, in ChannelParams) (payments.Params, error) {
	p := payments.Params{TimeoutMs: in.TimeoutMs, Retry: in.Retry}
	for _, d := range in.Directions {
		p.Directions = append(p.Directions, channel.Direction(d))
	}
	if len(in.Limits) > 0 {
		p.Limits = map[channel.Direction]payments.Limits{}
		for d, l := range in.Limits {
			p.Limits[channel.Direction(d)] = l
		}
	}
	if len(in.Fees) > 0 {
		p.Fees = map[channel.Direction]payments.FeeRate{}
		for _, d := range slices.Sorted(maps.Keys(in.Fees)) {
			f := in.Fees[d]
			rate, err := parseRate(ctx, f.Rate, "body.params.fees."+d+".rate")
			if err != nil {
				return p, err
			}
			// An empty mode stays the zero value, which the service
			// refuses by name.
			mode, _ := money.ParseRounding(f.Rounding)
			p.Fees[channel.Direction(d)] = payments.FeeRate{Fixed: f.Fixed, Rate: rate, Rounding: mode, Min: f.Min, Max: f.Max}
		}
	}
	return p, nil
}

type channelBody struct {
	InstitutionID string        `json:"institution_id,omitempty" maxLength:"64" doc:"Default: the API key's institution."`
	Code          string        `json:"code" minLength:"1" maxLength:"32" pattern:"^[a-z0-9_]+$" doc:"Unique in the institution; products and clearing accounts name the channel by it."`
	Kind          string        `json:"kind" enum:"bank_transfer,pos_card,qr_wallet,unionpay,cash_counter,cheque" doc:"The dialect the channel speaks."`
	Name          string        `json:"name,omitempty" maxLength:"200" doc:"Default: the code."`
	Endpoint      string        `json:"endpoint" minLength:"1" maxLength:"500" doc:"The channel's absolute http(s) base URL."`
	MerchantID    string        `json:"merchant_id" minLength:"1" maxLength:"64" doc:"The number the channel knows the institution by."`
	Secret        string        `json:"secret" doc:"The key the channel and Suanpan sign their messages with, at most 256 bytes. Write-only: never shown, logged or audited."`
	Asset         string        `json:"asset" minLength:"3" maxLength:"3" doc:"ISO 4217 currency the channel moves, e.g. CNY."`
	Params        ChannelParams `json:"params,omitzero"`
	Status        string        `json:"status,omitempty" enum:"active,disabled," doc:"Default active; a disabled channel takes no new orders."`
}

type channelUpdateBody struct {
	Name       string        `json:"name,omitempty" maxLength:"200" doc:"Default: the code."`
	Endpoint   string        `json:"endpoint" minLength:"1" maxLength:"500"`
	MerchantID string        `json:"merchant_id" minLength:"1" maxLength:"64"`
	Secret     string        `json:"secret,omitempty" doc:"A new signing key, at most 256 bytes; omitted keeps the current one. Write-only."`
	Asset      string        `json:"asset,omitempty" maxLength:"3" doc:"Default: unchanged."`
	Params     ChannelParams `json:"params,omitzero"`
	Status     string        `json:"status,omitempty" enum:"active,disabled," doc:"Default active."`
}

type channelUpdateIn struct {
	ID   string `path:"id" maxLength:"64"`
	Body channelUpdateBody
}

type channelOut struct {
	Body *ChannelView
}

type channelList struct {
	Body struct {
		Items []*ChannelView `json:"items"`
	}
}

type orderBody struct {
	Reference string `json:"reference" minLength:"1" maxLength:"128" doc:"The order's idempotency key, unique in the channel's institution: the same order again under it returns the existing one (200); another order under it is refused (reference_conflict)."`
	ChannelID string `json:"channel_id" minLength:"1" maxLength:"64"`
	Direction string `json:"direction" enum:"pay_in,pay_out,refund"`
	Account   string `json:"account" minLength:"1" maxLength:"64" doc:"The customer's account, of the channel's institution and asset: credited by a pay-in, debited by a pay-out or refund."`
	Amount    int64  `json:"amount" minimum:"1" doc:"Minor units of the channel's asset."`
	Party     string `json:"party,omitempty" maxLength:"128" doc:"The external account, wallet or card; required for a pay-out."`
	PartyName string `json:"party_name,omitempty" maxLength:"200"`
	Memo      string `json:"memo,omitempty" maxLength:"500"`
	Original  string `json:"original,omitempty" maxLength:"64" doc:"For a refund: the pay-in order refunded."`
}

type orderOut struct {
	Status int
	ReplayHeader
	Body *OrderView
}

type orderIn struct {
	IdempotencyHeader
	Body orderBody
}

type listOrdersIn struct {
	State     string `query:"state" enum:"created,processing,unknown,succeeded,failed,"`
	ChannelID string `query:"channel_id" maxLength:"64"`
	Direction string `query:"direction" enum:"pay_in,pay_out,refund,"`
	BatchID   string `query:"batch_id" maxLength:"64"`
	Date      string `query:"date" pattern:"^\\d{4}-\\d{2}-\\d{2}$" doc:"Business date, YYYY-MM-DD."`
	After     string `query:"after" maxLength:"64" doc:"Cursor: next_cursor of the previous page."`
	Limit     int    `query:"limit" minimum:"0" maximum:"500" doc:"Page size, default 100."`
}

type orderPage struct {
	Body struct {
		Items      []*OrderView `json:"items"`
		NextCursor string       `json:"next_cursor,omitempty"`
	}
}

type transitionList struct {
	Body struct {
		OrderID string                `json:"order_id"`
		Items   []payments.Transition `json:"items"`
	}
}

type settleIn struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Status     string `json:"status" enum:"succeeded,failed" doc:"The definite answer established, e.g. from the channel's statement."`
		ChannelRef string `json:"channel_ref,omitempty" maxLength:"64" doc:"The channel's transaction number, when known."`
		Reason     string `json:"reason" minLength:"1" maxLength:"500" doc:"Why: recorded in the audit log."`
	}
}

type paymentBatchUploadIn struct {
	Reference string `query:"reference" required:"true" minLength:"1" maxLength:"64" doc:"The file's reference, unique in the channel's institution: the same file under it again returns the stored batch (200); another file is refused (reference_conflict). Each line's order gets the reference <batch reference>:<line reference>."`
	ChannelID string `query:"channel_id" required:"true" minLength:"1" maxLength:"64"`
	Direction string `query:"direction" required:"true" enum:"pay_in,pay_out,refund"`
	RawBody   []byte `contentType:"text/csv"`
}

type paymentBatchOut struct {
	Status int
	Body   *payments.Batch
}

type callbackIn struct {
	ChannelID string `path:"channel_id" maxLength:"64"`
	RawBody   []byte `contentType:"application/octet-stream"`
	header    http.Header
}

// Resolve keeps every request header: each channel signs in its own ones.
func (in *callbackIn) Resolve(hctx huma.Context) []error {
	in.header = http.Header{}
	hctx.EachHeader(func(name, value string) { in.header.Add(name, value) })
	return nil
}

// ackOut is the acknowledgement a channel expects, as its dialect has it.
type ackOut struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

func (s *Server) registerPayments() {
	tags := []string{"Payments"}
	register(s, huma.Operation{OperationID: "create-payment-channel", Method: http.MethodPost, Path: "/payments/channels", Tags: tags,
		Summary: "Configure a payment channel", Description: "The secret signs the messages exchanged with the channel; it is " +
			"never shown, logged or audited. A channel code is unique in its institution (channel_exists).",
		DefaultStatus: http.StatusCreated}, auth.PaymentsConfigure, s.createChannel)
	register(s, huma.Operation{OperationID: "list-payment-channels", Method: http.MethodGet, Path: "/payments/channels", Tags: tags,
		Summary: "Payment channels", Description: "Of the caller's institutions, by institution and code."}, auth.PaymentsRead, s.listChannels)
	register(s, huma.Operation{OperationID: "get-payment-channel", Method: http.MethodGet, Path: "/payments/channels/{id}", Tags: tags,
		Summary: "A payment channel"}, auth.PaymentsRead, s.getChannel)
	register(s, huma.Operation{OperationID: "update-payment-channel", Method: http.MethodPut, Path: "/payments/channels/{id}", Tags: tags,
		Summary: "Replace a payment channel's configuration", Description: "All but its code, kind and institution; the next order " +
			"uses it. An omitted secret keeps the current one."}, auth.PaymentsConfigure, s.updateChannel)
	register(s, huma.Operation{OperationID: "create-payment-order", Method: http.MethodPost, Path: "/payments/orders", Tags: tags,
		Summary: "Create a payment order", Description: "A pay-in credits the account when the channel reports success; a pay-out " +
			"or refund holds the amount at once (so a refused hold refuses the order) and posts or releases it on the outcome. " +
			"The order is sent to the channel before the answer (201); without a definite answer it is unknown and queried " +
			"until one comes. The reference is the idempotency key: the same order again under it returns the existing one " +
			"(200) and sends nothing. An Idempotency-Key is accepted too.",
		DefaultStatus: http.StatusCreated}, auth.PaymentsOrder, s.createOrder)
	register(s, huma.Operation{OperationID: "list-payment-orders", Method: http.MethodGet, Path: "/payments/orders", Tags: tags,
		Summary: "Payment orders", Description: "Of the caller's institutions, oldest first, a page at a time."}, auth.PaymentsRead, s.listOrders)
	register(s, huma.Operation{OperationID: "get-payment-order", Method: http.MethodGet, Path: "/payments/orders/{id}", Tags: tags,
		Summary: "A payment order"}, auth.PaymentsRead, s.getOrder)
	register(s, huma.Operation{OperationID: "list-payment-order-transitions", Method: http.MethodGet, Path: "/payments/orders/{id}/transitions",
		Tags: tags, Summary: "A payment order's history", Description: "Every recorded change, oldest first, with its time and cause; " +
			"from = to marks an answer that changed nothing but must be seen (a contradiction left for reconciliation)."},
		auth.PaymentsRead, s.orderTransitions)
	register(s, huma.Operation{OperationID: "settle-payment-order", Method: http.MethodPost, Path: "/payments/orders/{id}/settle", Tags: tags,
		Summary: "Apply a definite answer by hand", Description: "For an answer an operator has established (e.g. from the channel's " +
			"statement), applied as if the channel had sent it: succeeded settles an open order; failed releases an open one, " +
			"or compensates a success. An answer the order already has changes nothing and is not audited."},
		auth.PaymentsSettle, s.settleOrder)
	register(s, huma.Operation{OperationID: "upload-payment-batch", Method: http.MethodPost, Path: "/payments/batches", Tags: tags,
		Summary: "Upload a bulk order file", Description: "The body is a CSV file (text/csv, at most 16 MiB and 100,000 lines) whose " +
			"first line is `" + payments.BatchHeader + "`; every further line becomes an order of the query's channel and " +
			"direction, its amount a decimal in the channel asset's scale. The file is stored and queued (202); a line that " +
			"cannot become an order is rejected without stopping the others. The same file under the same reference returns " +
			"the stored batch (200).",
		DefaultStatus: http.StatusAccepted, MaxBodyBytes: payments.MaxBatchBytes + 64<<10}, auth.PaymentsOrder, s.uploadPaymentBatch)
	register(s, huma.Operation{OperationID: "get-payment-batch", Method: http.MethodGet, Path: "/payments/batches/{id}", Tags: tags,
		Summary: "A bulk order file's progress", Description: "completed once every line is processed and every order has an outcome."},
		auth.PaymentsRead, s.getPaymentBatch)
	register(s, huma.Operation{OperationID: "get-payment-batch-results", Method: http.MethodGet, Path: "/payments/batches/{id}/results",
		Tags: tags, Summary: "A bulk order file's result file", Description: "text/csv: `" + payments.BatchResultHeader + "`, one line " +
			"per file line with its order's state now (final once the batch is completed), or rejected with the reason.",
		Responses: rawResponses("text/csv")}, auth.PaymentsRead, s.paymentBatchResults)
	register(s, huma.Operation{OperationID: "payment-callback", Method: http.MethodPost, Path: "/payments/callbacks/{channel_id}", Tags: tags,
		Summary: "A channel's notification (public)", Description: "Public: no API key. The channel's signature over the raw body " +
			"(and its headers, as its dialect has them) authenticates the request; a signature that does not verify is refused " +
			"(401 bad_signature) and changes nothing. The body is whatever the channel posts (JSON, XML or a form); the answer " +
			"is the acknowledgement its dialect expects, in its content type. Answers are applied by compare-and-set: a " +
			"repeated or stale notification changes nothing. A change is audited under the key ID channel:<channel code>.",
		Responses: contentResponses[jsonObject](s, "text/plain", "application/json", "application/xml")}, "", s.paymentCallback)
}

// payments returns the payments service, or a problem when the server was
// built without one.
func (s *Server) payments(ctx context.Context) (*payments.Service, error) {
	if s.Payments == nil {
		return nil, fail(ctx, http.StatusServiceUnavailable, "unavailable", "", "payments are not configured on this server")
	}
	return s.Payments, nil
}

// auditChannel records a channel change. The view never holds the secret;
// the record says only whether it changed.
func (s *Server) auditChannel(ctx context.Context, op string, secretSet bool) payments.ChannelWrite {
	return func(wctx context.Context, tx *sql.Tx, before, after *payments.Channel) error {
		var b any
		if before != nil {
			b = channelView(before)
		}
		a := map[string]any{"channel": channelView(after), "secret_changed": secretSet}
		return s.audit(ctx, op, "payment_channel:"+after.ID, after.InstitutionID, b, a)(wctx, tx)
	}
}

// auditOrder records an order change with the order before and after, and
// extra facts (a reason).
func (s *Server) auditOrder(ctx context.Context, op string, extra map[string]any) payments.Write {
	return func(wctx context.Context, tx *sql.Tx, b, o *payments.Order) error {
		var before any
		if b != nil {
			before = s.orderView(ctx, b)
		}
		after := map[string]any{"order": s.orderView(ctx, o)}
		for k, v := range extra {
			after[k] = v
		}
		return s.audit(ctx, op, "payment_order:"+o.ID, o.InstitutionID, before, after)(wctx, tx)
	}
}

func (s *Server) createChannel(ctx context.Context, in *struct{ Body channelBody }) (*channelOut, error) {
	ps, err := s.payments(ctx)
	if err != nil {
		return nil, err
	}
	inst, err := institution(ctx, in.Body.InstitutionID)
	if err != nil {
		return nil, err
	}
	params, err := toParams(ctx, in.Body.Params)
	if err != nil {
		return nil, err
	}
	b := in.Body
	c, err := ps.CreateChannel(ctx, payments.ChannelSpec{InstitutionID: inst, Code: b.Code, Kind: channel.Kind(b.Kind), Name: b.Name,
		Endpoint: b.Endpoint, MerchantID: b.MerchantID, Secret: b.Secret, Asset: b.Asset, Params: params, Status: b.Status},
		s.auditChannel(ctx, "payment_channels.create", true))
	if err != nil {
		return nil, err
	}
	return &channelOut{Body: channelView(c)}, nil
}

func (s *Server) listChannels(ctx context.Context, _ *struct{}) (*channelList, error) {
	ps, err := s.payments(ctx)
	if err != nil {
		return nil, err
	}
	cs, err := ps.ListChannels(ctx, principal(ctx).Scope)
	if err != nil {
		return nil, err
	}
	out := &channelList{}
	out.Body.Items = make([]*ChannelView, len(cs))
	for i, c := range cs {
		out.Body.Items[i] = channelView(c)
	}
	return out, nil
}

func (s *Server) getChannel(ctx context.Context, in *idIn) (*channelOut, error) {
	ps, err := s.payments(ctx)
	if err != nil {
		return nil, err
	}
	c, err := ps.GetChannel(ctx, in.ID, principal(ctx).Scope)
	if err != nil {
		return nil, relocate(err, map[string]string{"channel_id": "path.id"})
	}
	return &channelOut{Body: channelView(c)}, nil
}

func (s *Server) updateChannel(ctx context.Context, in *channelUpdateIn) (*channelOut, error) {
	ps, err := s.payments(ctx)
	if err != nil {
		return nil, err
	}
	params, err := toParams(ctx, in.Body.Params)
	if err != nil {
		return nil, err
	}
	b := in.Body
	c, err := ps.UpdateChannel(ctx, in.ID, payments.ChannelSpec{Name: b.Name, Endpoint: b.Endpoint, MerchantID: b.MerchantID,
		Secret: b.Secret, Asset: b.Asset, Params: params, Status: b.Status}, principal(ctx).Scope,
		s.auditChannel(ctx, "payment_channels.update", b.Secret != ""))
	if err != nil {
		return nil, relocate(err, map[string]string{"channel_id": "path.id"})
	}
	return &channelOut{Body: channelView(c)}, nil
}

func (s *Server) createOrder(ctx context.Context, in *orderIn) (*orderOut, error) {
	ps, err := s.payments(ctx)
	if err != nil {
		return nil, err
	}
	p, b := principal(ctx), in.Body
	k, err := newIdem(p.InstitutionID, in.IdempotencyKey, "payment_orders.create", b)
	if err != nil {
		return nil, err
	}
	if out, err := s.replayOrder(ctx, k); out != nil || err != nil {
		return out, err
	}
	writes := []payments.Write{s.auditOrder(ctx, "payment_orders.create", nil)}
	if k != nil {
		writes = append(writes, func(wctx context.Context, tx *sql.Tx, _, o *payments.Order) error {
			return s.storeKey(wctx, s.Ledger.Tx(tx), k, o.ID, o.CreatedAt, false)
		})
	}
	o, duplicate, err := ps.Create(ctx, payments.OrderRequest{Reference: b.Reference, ChannelID: b.ChannelID,
		Direction: channel.Direction(b.Direction), Account: b.Account, Amount: b.Amount, Party: b.Party, PartyName: b.PartyName,
		Memo: b.Memo, Original: b.Original, Scope: p.Scope, CreatedBy: p.KeyID, Writes: writes})
	if err != nil && k != nil {
		// Most likely a concurrent request with the same key won the race.
		if out, rerr := s.replayOrder(ctx, k); out != nil || rerr != nil {
			return out, rerr
		}
	}
	if err != nil {
		return nil, err
	}
	status := http.StatusCreated
	if duplicate {
		status = http.StatusOK
	}
	return &orderOut{Status: status, Body: s.orderView(ctx, o)}, nil
}

// replayOrder answers a request whose Idempotency-Key made an order before
// with that order (nil when the key is new).
func (s *Server) replayOrder(ctx context.Context, k *idem) (*orderOut, error) {
	id, err := s.lookup(ctx, k)
	if err != nil || id == "" {
		return nil, err
	}
	o, err := s.Payments.GetOrder(ctx, id, principal(ctx).Scope)
	if err != nil {
		return nil, err
	}
	out := &orderOut{Status: http.StatusOK, Body: s.orderView(ctx, o)}
	out.Replayed = true
	return out, nil
}

func (s *Server) listOrders(ctx context.Context, in *listOrdersIn) (*orderPage, error) {
	ps, err := s.payments(ctx)
	if err != nil {
		return nil, err
	}
	os, next, err := ps.ListOrders(ctx, payments.OrderFilter{Scope: principal(ctx).Scope, State: payments.State(in.State),
		ChannelID: in.ChannelID, Direction: channel.Direction(in.Direction), BatchID: in.BatchID, Date: in.Date,
		After: in.After, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := &orderPage{}
	out.Body.Items = make([]*OrderView, len(os))
	for i, o := range os {
		out.Body.Items[i] = s.orderView(ctx, o)
	}
	out.Body.NextCursor = next
	return out, nil
}

func (s *Server) getOrder(ctx context.Context, in *idIn) (*orderOut, error) {
	ps, err := s.payments(ctx)
	if err != nil {
		return nil, err
	}
	o, err := ps.GetOrder(ctx, in.ID, principal(ctx).Scope)
	if err != nil {
		return nil, err
	}
	return &orderOut{Status: http.StatusOK, Body: s.orderView(ctx, o)}, nil
}

func (s *Server) orderTransitions(ctx context.Context, in *idIn) (*transitionList, error) {
	ps, err := s.payments(ctx)
	if err != nil {
		return nil, err
	}
	ts, err := ps.Transitions(ctx, in.ID, principal(ctx).Scope)
	if err != nil {
		return nil, err
	}
	out := &transitionList{}
	out.Body.OrderID, out.Body.Items = in.ID, ts
	if ts == nil {
		out.Body.Items = []payments.Transition{}
	}
	return out, nil
}

func (s *Server) settleOrder(ctx context.Context, in *settleIn) (*orderOut, error) {
	ps, err := s.payments(ctx)
	if err != nil {
		return nil, err
	}
	o, err := ps.Settle(ctx, in.ID, channel.Status(in.Body.Status), in.Body.ChannelRef, "operator", in.Body.Reason,
		principal(ctx).Scope, s.auditOrder(ctx, "payment_orders.settle", map[string]any{"reason": in.Body.Reason}))
	if err != nil {
		return nil, err
	}
	return &orderOut{Status: http.StatusOK, Body: s.orderView(ctx, o)}, nil
}

func (s *Server) uploadPaymentBatch(ctx context.Context, in *paymentBatchUploadIn) (*paymentBatchOut, error) {
	ps, err := s.payments(ctx)
	if err != nil {
		return nil, err
	}
	p := principal(ctx)
	b, duplicate, err := ps.UploadBatch(ctx, payments.BatchUpload{Reference: in.Reference, ChannelID: in.ChannelID,
		Direction: channel.Direction(in.Direction), Content: in.RawBody, Scope: p.Scope, CreatedBy: p.KeyID,
		Writes: []func(context.Context, *sql.Tx, *payments.Batch) error{func(wctx context.Context, tx *sql.Tx, b *payments.Batch) error {
			return s.audit(ctx, "payment_batches.upload", "payment_batch:"+b.ID, b.InstitutionID, nil, b)(wctx, tx)
		}}})
	if err != nil {
		// The upload's own fields come from the query; the file is the body.
		return nil, relocate(err, map[string]string{"reference": "query.reference", "channel_id": "query.channel_id",
			"direction": "query.direction", "file": "body"})
	}
	status := http.StatusAccepted
	if duplicate {
		status = http.StatusOK
	}
	return &paymentBatchOut{Status: status, Body: b}, nil
}

func (s *Server) getPaymentBatch(ctx context.Context, in *idIn) (*paymentBatchOut, error) {
	ps, err := s.payments(ctx)
	if err != nil {
		return nil, err
	}
	b, err := ps.GetBatch(ctx, in.ID, principal(ctx).Scope)
	if err != nil {
		return nil, err
	}
	return &paymentBatchOut{Status: http.StatusOK, Body: b}, nil
}

func (s *Server) paymentBatchResults(ctx context.Context, in *idIn) (*rawOut, error) {
	ps, err := s.payments(ctx)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := ps.WriteBatchResult(ctx, &b, in.ID, principal(ctx).Scope); err != nil {
		return nil, err
	}
	return &rawOut{ContentType: "text/csv; charset=utf-8",
		ContentDisposition: `attachment; filename="payment-batch-` + in.ID + `-results.csv"`, Body: b.Bytes()}, nil
}

// paymentCallback serves a channel's notification. There is no API key:
// the channel acts as a principal of its own institution without a role,
// so that its changes are audited as channel:<code>.
func (s *Server) paymentCallback(ctx context.Context, in *callbackIn) (*ackOut, error) {
	ps, err := s.payments(ctx)
	if err != nil {
		return nil, err
	}
	ch, err := ps.GetChannel(ctx, in.ChannelID, nil)
	if err != nil {
		return nil, relocate(err, map[string]string{"channel_id": "path.channel_id"})
	}
	ctx = context.WithValue(ctx, principalCtxKey{}, &auth.Principal{KeyID: "channel:" + ch.Code,
		InstitutionID: ch.InstitutionID, Scope: []string{ch.InstitutionID}})
	_, ct, ack, err := ps.Callback(ctx, ch.ID, in.header, in.RawBody, s.auditOrder(ctx, "payment_orders.callback", nil))
	if err != nil {
		return nil, err
	}
	return &ackOut{ContentType: ct, Body: ack}, nil
}

// relocate moves a payments error's field to where the request carries
// it (to maps the service's field names to API locations): the service
// names a channel channel_id whether it comes from a body, a query or a
// path.
func relocate(err error, to map[string]string) error {
	var pe *payments.Error
	if errors.As(err, &pe) && to[pe.Field] != "" {
		return &payments.Error{Code: pe.Code, Message: pe.Message, Field: to[pe.Field]}
	}
	return err
}
