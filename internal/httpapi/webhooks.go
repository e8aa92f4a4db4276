package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/outbox"
)

// Webhooks: subscriptions to Suanpan's business events, and the signed,
// retried deliveries of those events.

// NewWebhookView is a created webhook or one whose secret was rotated,
// with the secret, shown this once.
type NewWebhookView struct {
	Webhook *outbox.Webhook `json:"webhook"`
	Secret  string          `json:"secret" doc:"Signs every request (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature headers). Shown only now."`
}

type webhookBody struct {
	InstitutionID string   `json:"institution_id,omitempty" maxLength:"64" doc:"Default: the API key's institution. The webhook receives the events of this institution and of every institution below it."`
	URL           string   `json:"url" minLength:"1" maxLength:"2000" doc:"Absolute http(s) URL, without credentials or fragment."`
	EventTypes    []string `json:"event_types,omitempty" maxItems:"50" doc:"Exact types (account.frozen) or prefixes (payment_order.*); empty: every event."`
	Description   string   `json:"description,omitempty" maxLength:"500"`
	Secret        string   `json:"secret,omitempty" doc:"whsec_ followed by the base64 of a 24 to 64 byte key; omitted: a new random one."`
}

type webhookPatchIn struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		URL         *string   `json:"url,omitempty" maxLength:"2000"`
		EventTypes  *[]string `json:"event_types,omitempty" maxItems:"50"`
		Active      *bool     `json:"active,omitempty" doc:"false stops deliveries; pending ones end failed, and redeliver sends them once it is active again."`
		Description *string   `json:"description,omitempty" maxLength:"500"`
	}
}

type rotateSecretIn struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Secret string `json:"secret,omitempty" doc:"The new secret; omitted: a new random one."`
	}
}

type webhookOut struct {
	Body *outbox.Webhook
}

type newWebhookOut struct {
	Body *NewWebhookView
}

type listWebhooksIn struct {
	After string `query:"after" maxLength:"64" doc:"Cursor: next_cursor of the previous page."`
	Limit int    `query:"limit" minimum:"0" maximum:"1000" doc:"Page size, default 100."`
}

type webhookPage struct {
	Body struct {
		Items      []*outbox.Webhook `json:"items"`
		NextCursor string            `json:"next_cursor,omitempty"`
	}
}

type listDeliveriesIn struct {
	WebhookID string `query:"webhook_id" maxLength:"64"`
	EventID   string `query:"event_id" maxLength:"64"`
	State     string `query:"state" enum:"pending,delivered,failed,"`
	After     string `query:"after" maxLength:"64" doc:"Cursor: next_cursor of the previous page."`
	Limit     int    `query:"limit" minimum:"0" maximum:"1000" doc:"Page size, default 100."`
}

type deliveryPage struct {
	Body struct {
		Items      []*outbox.Delivery `json:"items"`
		NextCursor string             `json:"next_cursor,omitempty"`
	}
}

type deliveryOut struct {
	Body *outbox.Delivery
}

type attemptList struct {
	Body struct {
		Items []outbox.Attempt `json:"items"`
	}
}

func (s *Server) registerWebhooks() {
	tags := []string{"Webhooks"}
	register(s, huma.Operation{OperationID: "create-webhook", Method: http.MethodPost, Path: "/webhooks", Tags: tags,
		Summary: "Subscribe a webhook", Description: "Events are POSTed to the URL as JSON, signed per Standard Webhooks with the " +
			"secret the answer shows this once; delivery is at least once (de-duplicate by webhook-id) and retried with backoff.",
		DefaultStatus: http.StatusCreated}, auth.WebhooksWrite, s.createWebhook)
	register(s, huma.Operation{OperationID: "list-webhooks", Method: http.MethodGet, Path: "/webhooks", Tags: tags,
		Summary: "Webhooks", Description: "Of the caller's institutions, by ID, a page at a time."}, auth.WebhooksRead, s.listWebhooks)
	register(s, huma.Operation{OperationID: "get-webhook", Method: http.MethodGet, Path: "/webhooks/{id}", Tags: tags,
		Summary: "A webhook"}, auth.WebhooksRead, s.getWebhook)
	register(s, huma.Operation{OperationID: "update-webhook", Method: http.MethodPatch, Path: "/webhooks/{id}", Tags: tags,
		Summary: "Change a webhook", Description: "Omitted fields stay as they are."}, auth.WebhooksWrite, s.updateWebhook)
	register(s, huma.Operation{OperationID: "delete-webhook", Method: http.MethodDelete, Path: "/webhooks/{id}", Tags: tags,
		Summary: "Delete a webhook", Description: "With its deliveries and their attempt log; deactivate it instead (active: false) " +
			"to keep them.", DefaultStatus: http.StatusNoContent}, auth.WebhooksWrite, s.deleteWebhook)
	register(s, huma.Operation{OperationID: "rotate-webhook-secret", Method: http.MethodPost, Path: "/webhooks/{id}/rotate-secret",
		Tags: tags, Summary: "Rotate a webhook's secret", Description: "Requests signed from now on, retries included, carry only the " +
			"new signature; the answer shows the new secret this once."}, auth.WebhooksWrite, s.rotateWebhookSecret)
	register(s, huma.Operation{OperationID: "list-webhook-deliveries", Method: http.MethodGet, Path: "/webhooks/deliveries", Tags: tags,
		Summary: "Webhook deliveries", Description: "Of the caller's institutions' webhooks, newest first, a page at a time."},
		auth.WebhooksRead, s.listDeliveries)
	register(s, huma.Operation{OperationID: "get-webhook-delivery", Method: http.MethodGet, Path: "/webhooks/deliveries/{id}", Tags: tags,
		Summary: "A webhook delivery"}, auth.WebhooksRead, s.getDelivery)
	register(s, huma.Operation{OperationID: "list-webhook-delivery-attempts", Method: http.MethodGet, Path: "/webhooks/deliveries/{id}/attempts",
		Tags: tags, Summary: "A delivery's attempts", Description: "Every HTTP request made for it, oldest first."},
		auth.WebhooksRead, s.listAttempts)
	register(s, huma.Operation{OperationID: "redeliver-webhook-delivery", Method: http.MethodPost, Path: "/webhooks/deliveries/{id}/redeliver",
		Tags: tags, Summary: "Send a delivery again", Description: "Whatever its state, now, with a fresh retry schedule."},
		auth.WebhooksWrite, s.redeliver)
}

// webhooks returns the webhook service, or a problem when the server was
// built without one.
func (s *Server) webhooks(ctx context.Context) (*outbox.Webhooks, error) {
	if s.Webhooks == nil {
		return nil, fail(ctx, http.StatusServiceUnavailable, "unavailable", "", "webhooks are not configured on this server")
	}
	return s.Webhooks, nil
}

// createWebhook audits the subscription under its institution: the
// service creates the webhook's ID inside the transaction its audit write
// shares and does not pass it on.
func (s *Server) createWebhook(ctx context.Context, in *struct{ Body webhookBody }) (*newWebhookOut, error) {
	ws, err := s.webhooks(ctx)
	if err != nil {
		return nil, err
	}
	inst, err := institution(ctx, in.Body.InstitutionID)
	if err != nil {
		return nil, err
	}
	b := in.Body
	w, secret, err := ws.Create(ctx, principal(ctx).Scope, outbox.NewWebhook{InstitutionID: inst, URL: b.URL, EventTypes: b.EventTypes,
		Description: b.Description, Secret: b.Secret}, outbox.TxWrite(s.audit(ctx, "webhooks.create", "institution:"+inst, inst, nil,
		map[string]any{"url": b.URL, "event_types": b.EventTypes, "description": b.Description})))
	if err != nil {
		return nil, err
	}
	return &newWebhookOut{Body: &NewWebhookView{Webhook: w, Secret: secret}}, nil
}

func (s *Server) listWebhooks(ctx context.Context, in *listWebhooksIn) (*webhookPage, error) {
	ws, err := s.webhooks(ctx)
	if err != nil {
		return nil, err
	}
	list, next, err := ws.List(ctx, principal(ctx).Scope, in.After, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &webhookPage{}
	out.Body.Items, out.Body.NextCursor = list, next
	if list == nil {
		out.Body.Items = []*outbox.Webhook{}
	}
	return out, nil
}

func (s *Server) getWebhook(ctx context.Context, in *idIn) (*webhookOut, error) {
	ws, err := s.webhooks(ctx)
	if err != nil {
		return nil, err
	}
	w, err := ws.Get(ctx, principal(ctx).Scope, in.ID)
	if err != nil {
		return nil, err
	}
	return &webhookOut{Body: w}, nil
}

// updateWebhook audits the webhook before and the change asked for: the
// service's ride-along write does not see the webhook after it.
func (s *Server) updateWebhook(ctx context.Context, in *webhookPatchIn) (*webhookOut, error) {
	ws, err := s.webhooks(ctx)
	if err != nil {
		return nil, err
	}
	scope := principal(ctx).Scope
	before, err := ws.Get(ctx, scope, in.ID)
	if err != nil {
		return nil, err
	}
	b := in.Body
	change := map[string]any{}
	if b.URL != nil {
		change["url"] = *b.URL
	}
	if b.EventTypes != nil {
		change["event_types"] = *b.EventTypes
	}
	if b.Active != nil {
		change["active"] = *b.Active
	}
	if b.Description != nil {
		change["description"] = *b.Description
	}
	w, err := ws.Update(ctx, scope, in.ID, outbox.WebhookUpdate{URL: b.URL, EventTypes: b.EventTypes, Active: b.Active,
		Description: b.Description}, outbox.TxWrite(s.audit(ctx, "webhooks.update", "webhook:"+in.ID, before.InstitutionID, before, change)))
	if err != nil {
		return nil, err
	}
	return &webhookOut{Body: w}, nil
}

func (s *Server) deleteWebhook(ctx context.Context, in *idIn) (*struct{}, error) {
	ws, err := s.webhooks(ctx)
	if err != nil {
		return nil, err
	}
	scope := principal(ctx).Scope
	before, err := ws.Get(ctx, scope, in.ID)
	if err != nil {
		return nil, err
	}
	if err := ws.Delete(ctx, scope, in.ID, outbox.TxWrite(s.audit(ctx, "webhooks.delete", "webhook:"+in.ID, before.InstitutionID, before, nil))); err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// rotateWebhookSecret audits that the secret changed, never the secret.
func (s *Server) rotateWebhookSecret(ctx context.Context, in *rotateSecretIn) (*newWebhookOut, error) {
	ws, err := s.webhooks(ctx)
	if err != nil {
		return nil, err
	}
	scope := principal(ctx).Scope
	before, err := ws.Get(ctx, scope, in.ID)
	if err != nil {
		return nil, err
	}
	w, secret, err := ws.RotateSecret(ctx, scope, in.ID, in.Body.Secret, outbox.TxWrite(s.audit(ctx, "webhooks.rotate_secret",
		"webhook:"+in.ID, before.InstitutionID, nil, map[string]any{"secret": "replaced"})))
	if err != nil {
		return nil, err
	}
	return &newWebhookOut{Body: &NewWebhookView{Webhook: w, Secret: secret}}, nil
}

func (s *Server) listDeliveries(ctx context.Context, in *listDeliveriesIn) (*deliveryPage, error) {
	ws, err := s.webhooks(ctx)
	if err != nil {
		return nil, err
	}
	list, next, err := ws.ListDeliveries(ctx, outbox.DeliveryFilter{Scope: principal(ctx).Scope, WebhookID: in.WebhookID,
		EventID: in.EventID, State: outbox.DeliveryState(in.State), After: in.After, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := &deliveryPage{}
	out.Body.Items, out.Body.NextCursor = list, next
	if list == nil {
		out.Body.Items = []*outbox.Delivery{}
	}
	return out, nil
}

func (s *Server) getDelivery(ctx context.Context, in *idIn) (*deliveryOut, error) {
	ws, err := s.webhooks(ctx)
	if err != nil {
		return nil, err
	}
	d, err := ws.GetDelivery(ctx, principal(ctx).Scope, in.ID)
	if err != nil {
		return nil, err
	}
	return &deliveryOut{Body: d}, nil
}

func (s *Server) listAttempts(ctx context.Context, in *idIn) (*attemptList, error) {
	ws, err := s.webhooks(ctx)
	if err != nil {
		return nil, err
	}
	as, err := ws.Attempts(ctx, principal(ctx).Scope, in.ID)
	if err != nil {
		return nil, err
	}
	out := &attemptList{}
	out.Body.Items = as
	if as == nil {
		out.Body.Items = []outbox.Attempt{}
	}
	return out, nil
}

// redeliver queues the delivery again and wakes the scheduler, when the
// server has one, to send it at once.
func (s *Server) redeliver(ctx context.Context, in *idIn) (*deliveryOut, error) {
	ws, err := s.webhooks(ctx)
	if err != nil {
		return nil, err
	}
	scope := principal(ctx).Scope
	before, err := ws.GetDelivery(ctx, scope, in.ID)
	if err != nil {
		return nil, err
	}
	d, err := ws.Redeliver(ctx, scope, in.ID, outbox.TxWrite(s.audit(ctx, "webhook_deliveries.redeliver", "webhook_delivery:"+in.ID,
		before.InstitutionID, before, map[string]any{"state": outbox.DeliveryPending})))
	if err != nil {
		return nil, err
	}
	if s.Jobs != nil {
		s.Jobs.Notify()
	}
	return &deliveryOut{Body: d}, nil
}
