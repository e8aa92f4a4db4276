package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/ledger"
)

// Red envelopes: create (payer → escrow), claim (escrow → recipient, the
// share decided under the envelope's lock) and read; the unclaimed
// remainder returns to the payer on expiry (the server's envelope sweeper).

// EnvelopeClaimView is one recipient's share.
type EnvelopeClaimView struct {
	RecipientAccount string    `json:"recipient_account"`
	Amount           int64     `json:"amount" doc:"Minor units."`
	AmountDisplay    string    `json:"amount_display"`
	Status           string    `json:"status" enum:"pending,done" doc:"pending: reserved, its transfer not yet posted (a retry of the claim posts it; expiry releases it)."`
	TransactionID    string    `json:"transaction_id,omitempty"`
	ClaimedAt        time.Time `json:"claimed_at"`
}

// EnvelopeView is a red envelope with its claims.
type EnvelopeView struct {
	ID              string              `json:"id"`
	InstitutionID   string              `json:"institution_id"`
	PayerAccount    string              `json:"payer_account"`
	EscrowAccount   string              `json:"escrow_account" doc:"The institution's envelope escrow account (internal account role envelope)."`
	Asset           string              `json:"asset"`
	Total           int64               `json:"total"`
	TotalDisplay    string              `json:"total_display"`
	Count           int                 `json:"count"`
	RemainingAmount int64               `json:"remaining_amount" doc:"Not yet reserved by a claim."`
	RemainingCount  int                 `json:"remaining_count"`
	Split           string              `json:"split" enum:"equal,random"`
	ExpiresAt       time.Time           `json:"expires_at"`
	Status          string              `json:"status" enum:"open,done,expired"`
	Reference       string              `json:"reference"`
	TransactionID   string              `json:"transaction_id" doc:"The transfer that funded the envelope."`
	CreatedAt       time.Time           `json:"created_at"`
	Claims          []EnvelopeClaimView `json:"claims"`
	Duplicate       bool                `json:"duplicate,omitempty" doc:"The reference was used before with the same request: this is the original envelope."`
}

type envelopeBody struct {
	Reference        string            `json:"reference" minLength:"1" maxLength:"128" doc:"Unique per institution: a retry returns the original envelope."`
	Account          string            `json:"account" minLength:"1" maxLength:"64" doc:"The payer's customer account; its product must allow red_envelope on the channel."`
	Channel          string            `json:"channel" minLength:"1" maxLength:"32"`
	Total            int64             `json:"total" minimum:"1" doc:"Minor units, at least count."`
	Count            int               `json:"count" minimum:"1" maximum:"10000" doc:"Number of shares."`
	Split            string            `json:"split" enum:"equal,random" doc:"equal: total/count each, the remainder one unit each on the last claims; random: double the mean, each share at least 1, the last claim the exact remainder."`
	ExpiresInSeconds int64             `json:"expires_in_seconds" minimum:"1" maximum:"2592000" doc:"The unclaimed remainder returns to the payer this many seconds after creation."`
	Metadata         map[string]string `json:"metadata,omitempty"`
}

type envelopeIn struct {
	Body envelopeBody
}

type envelopeOut struct {
	Body *EnvelopeView
}

type envelopeGetIn struct {
	ID string `path:"id" maxLength:"64"`
}

type envelopeClaimIn struct {
	ID   string `path:"id" maxLength:"64" doc:"The envelope's ID."`
	Body struct {
		RecipientAccount string `json:"recipient_account" minLength:"1" maxLength:"64" doc:"A customer account of the envelope's institution and asset; one claim each."`
	}
}

func (s *Server) registerEnvelopes() {
	tags := []string{"Red envelopes"}
	register(s, huma.Operation{OperationID: "envelope-create", Method: http.MethodPost, Path: "/envelopes", Tags: tags,
		Summary: "Create a red envelope", Description: "One transfer (operation red_envelope): Dr the payer · Cr the institution's " +
			"envelope escrow account, with the payer product's control, limits and red_envelope fee; the envelope is recorded in " +
			"the same transaction. Idempotent by reference.",
		DefaultStatus: http.StatusCreated}, auth.LedgerPost, s.createEnvelope)
	register(s, huma.Operation{OperationID: "envelope-get", Method: http.MethodGet, Path: "/envelopes/{id}", Tags: tags,
		Summary: "Get a red envelope", Description: "The envelope with its claims."}, auth.LedgerRead, s.getEnvelope)
	register(s, huma.Operation{OperationID: "envelope-claim", Method: http.MethodPost, Path: "/envelopes/{id}/claims", Tags: tags,
		Summary: "Claim a red envelope", Description: "Reserves the recipient's share under the envelope's lock, then posts " +
			"Dr escrow · Cr recipient (type red_envelope_claim). 409 envelope_expired, envelope_empty or already_claimed. A retry " +
			"after a failure posts the share reserved before.",
		DefaultStatus: http.StatusCreated}, auth.LedgerPost, s.claimEnvelope)
}

func (s *Server) envelopeView(ctx context.Context, e *accounts.Envelope) *EnvelopeView {
	v := &EnvelopeView{ID: e.ID, InstitutionID: e.InstitutionID, PayerAccount: e.PayerAccount, EscrowAccount: e.EscrowAccount,
		Asset: e.Asset, Total: e.Total, TotalDisplay: s.display(ctx, e.Asset, e.Total), Count: e.Count,
		RemainingAmount: e.RemainingAmount, RemainingCount: e.RemainingCount, Split: e.Split, ExpiresAt: e.ExpiresAt,
		Status: e.Status, Reference: e.Reference, TransactionID: e.TransactionID, CreatedAt: e.CreatedAt,
		Claims: make([]EnvelopeClaimView, len(e.Claims))}
	for i, c := range e.Claims {
		v.Claims[i] = EnvelopeClaimView{RecipientAccount: c.Recipient, Amount: c.Amount,
			AmountDisplay: s.display(ctx, e.Asset, c.Amount), Status: c.Status, TransactionID: c.TransactionID, ClaimedAt: c.ClaimedAt}
	}
	return v
}

func (s *Server) createEnvelope(ctx context.Context, in *envelopeIn) (*envelopeOut, error) {
	b := in.Body
	res, err := s.Operations.CreateEnvelope(ctx, accounts.EnvelopeRequest{Reference: b.Reference, Account: b.Account,
		Channel: b.Channel, Total: b.Total, Count: b.Count, Split: b.Split,
		ExpiresIn: time.Duration(b.ExpiresInSeconds) * time.Second, Metadata: b.Metadata, Scope: principal(ctx).Scope,
		Writes: []ledger.Write{s.auditLedger(ctx)}})
	if err != nil {
		return nil, err
	}
	v := s.envelopeView(ctx, res.Envelope)
	v.Duplicate = res.Duplicate
	return &envelopeOut{Body: v}, nil
}

func (s *Server) getEnvelope(ctx context.Context, in *envelopeGetIn) (*envelopeOut, error) {
	e, err := s.Operations.GetEnvelope(ctx, in.ID, principal(ctx).Scope)
	if err != nil {
		return nil, err
	}
	return &envelopeOut{Body: s.envelopeView(ctx, e)}, nil
}

func (s *Server) claimEnvelope(ctx context.Context, in *envelopeClaimIn) (*operationOut, error) {
	res, err := s.Operations.ClaimEnvelope(ctx, accounts.ClaimRequest{EnvelopeID: in.ID, Recipient: in.Body.RecipientAccount,
		Scope: principal(ctx).Scope, Writes: []ledger.Write{s.auditLedger(ctx)}})
	if err != nil {
		return nil, err
	}
	return &operationOut{Body: s.operationView(ctx, res.Transaction)}, nil
}
