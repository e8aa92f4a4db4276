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

// Balance adjustments with maker–checker approval: one key proposes, a
// different key approves, and only then does anything post.

// AdjustmentPosting is one posting of an adjustment.
type AdjustmentPosting struct {
	Debit         string `json:"debit"`
	Credit        string `json:"credit"`
	Asset         string `json:"asset"`
	Amount        int64  `json:"amount" doc:"Minor units."`
	AmountDisplay string `json:"amount_display"`
}

// AdjustmentView is a balance adjustment and its approval.
type AdjustmentView struct {
	ID                   string              `json:"id"`
	InstitutionID        string              `json:"institution_id"`
	Reference            string              `json:"reference"`
	Status               string              `json:"status" enum:"pending,approved,rejected,cancelled"`
	ReverseTransactionID string              `json:"reverse_transaction_id,omitempty" doc:"The wrong transaction, reversed in full (what is not yet reversed) on approval."`
	Postings             []AdjustmentPosting `json:"postings" doc:"The corrective transfer posted on approval."`
	Metadata             map[string]string   `json:"metadata,omitempty"`
	Reason               string              `json:"reason"`
	MakerKey             string              `json:"maker_key" doc:"The API key that proposed it."`
	CheckerKey           string              `json:"checker_key,omitempty" doc:"The API key that approved, rejected or (the maker) cancelled it."`
	DecidedReason        string              `json:"decided_reason,omitempty"`
	CreatedAt            time.Time           `json:"created_at"`
	DecidedAt            *time.Time          `json:"decided_at,omitempty"`
	TransactionIDs       []string            `json:"transaction_ids,omitempty" doc:"Approved: the reversal's (if any) and then the correction's transaction."`
}

func (s *Server) adjustmentView(ctx context.Context, a *accounts.Approval) *AdjustmentView {
	v := &AdjustmentView{ID: a.ID, InstitutionID: a.InstitutionID, Reference: a.Reference, Status: a.Status,
		ReverseTransactionID: a.Payload.ReverseTransactionID, Postings: []AdjustmentPosting{}, Metadata: a.Payload.Metadata,
		Reason: a.Reason, MakerKey: a.MakerKey, CheckerKey: a.CheckerKey, DecidedReason: a.DecidedReason,
		CreatedAt: a.CreatedAt, TransactionIDs: a.TransactionIDs}
	if !a.DecidedAt.IsZero() {
		t := a.DecidedAt
		v.DecidedAt = &t
	}
	for _, p := range a.Payload.Postings {
		v.Postings = append(v.Postings, AdjustmentPosting{Debit: p.Debit, Credit: p.Credit, Asset: p.Asset, Amount: p.Amount,
			AmountDisplay: s.display(ctx, p.Asset, p.Amount)})
	}
	return v
}

type adjustmentPostingBody struct {
	Debit  string `json:"debit" minLength:"1" maxLength:"64" doc:"Account debited."`
	Credit string `json:"credit" minLength:"1" maxLength:"64" doc:"Account credited."`
	Asset  string `json:"asset,omitempty" maxLength:"16" doc:"Default: the accounts' asset."`
	Amount int64  `json:"amount" minimum:"1" doc:"Minor units."`
}

type proposeAdjustmentIn struct {
	Body struct {
		Reference            string                  `json:"reference" minLength:"1" maxLength:"128" doc:"The maker's unique reference in the institution: proposing the same adjustment under it again returns the first one."`
		ReverseTransactionID string                  `json:"reverse_transaction_id,omitempty" maxLength:"64" doc:"The wrong transaction (a transfer or post) to reverse."`
		Postings             []adjustmentPostingBody `json:"postings,omitempty" maxItems:"128" doc:"The right postings."`
		Metadata             map[string]string       `json:"metadata,omitempty"`
		Reason               string                  `json:"reason" minLength:"1" maxLength:"512" doc:"Why the adjustment is needed."`
	}
}

type adjustmentOut struct {
	Status int
	Body   *AdjustmentView
}

type adjustmentIn struct {
	ID string `path:"id" maxLength:"64"`
}

type decideAdjustmentIn struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Reason string `json:"reason,omitempty" maxLength:"512"`
	}
}

type listAdjustmentsIn struct {
	Status string `query:"status" enum:"pending,approved,rejected,cancelled,"`
	After  string `query:"after" maxLength:"64" doc:"Cursor: next_cursor of the previous page."`
	Limit  int    `query:"limit" minimum:"0" maximum:"500" doc:"Page size, default 100."`
}

type adjustmentPage struct {
	Body struct {
		Items      []*AdjustmentView `json:"items"`
		NextCursor string            `json:"next_cursor,omitempty"`
	}
}

func (s *Server) registerApprovals() {
	tags := []string{"Balance adjustments"}
	register(s, huma.Operation{OperationID: "propose-adjustment", Method: http.MethodPost, Path: "/adjustments", Tags: tags,
		Summary: "Propose a balance adjustment", Description: "Stores a pending adjustment — the reversal of a wrong transaction, " +
			"the right postings, or both — and posts nothing. Another key with adjustments:approve must approve it. " +
			"201 when proposed, 200 when the reference names the same adjustment already (a different one: conflict).",
		DefaultStatus: http.StatusCreated}, auth.AdjustmentsPropose, s.proposeAdjustment)
	register(s, huma.Operation{OperationID: "list-adjustments", Method: http.MethodGet, Path: "/adjustments", Tags: tags,
		Summary: "List balance adjustments", Description: "Oldest first, of the caller's institutions; the approval queue is status=pending."},
		auth.LedgerRead, s.listAdjustments)
	register(s, huma.Operation{OperationID: "get-adjustment", Method: http.MethodGet, Path: "/adjustments/{id}", Tags: tags,
		Summary: "Get a balance adjustment"}, auth.LedgerRead, s.getAdjustment)
	register(s, huma.Operation{OperationID: "approve-adjustment", Method: http.MethodPost, Path: "/adjustments/{id}/approve", Tags: tags,
		Summary: "Approve a balance adjustment", Description: "Posts, as one atomic ledger batch, the reversal (reference " +
			"adjustment:<id>:reversal) and the correction (adjustment:<id>), the approval's status changing in the same storage " +
			"transaction: approved if and only if posted. The maker's key is refused (403 approver_is_maker). Approving an " +
			"approved adjustment returns it; a rejected or cancelled one is 409 invalid_status_change. A ledger refusal " +
			"(insufficient_funds, …) leaves it pending."}, auth.AdjustmentsApprove, s.approveAdjustment)
	register(s, huma.Operation{OperationID: "reject-adjustment", Method: http.MethodPost, Path: "/adjustments/{id}/reject", Tags: tags,
		Summary: "Reject a balance adjustment", Description: "Nothing posts. The maker's key is refused (403 approver_is_maker)."},
		auth.AdjustmentsApprove, s.rejectAdjustment)
	register(s, huma.Operation{OperationID: "cancel-adjustment", Method: http.MethodPost, Path: "/adjustments/{id}/cancel", Tags: tags,
		Summary: "Cancel a balance adjustment", Description: "The maker withdraws its pending adjustment; nothing posts. " +
			"Another key is refused (403 not_maker)."}, auth.AdjustmentsPropose, s.cancelAdjustment)
}

func (s *Server) proposeAdjustment(ctx context.Context, in *proposeAdjustmentIn) (*adjustmentOut, error) {
	p := principal(ctx)
	adj := accounts.Adjustment{ReverseTransactionID: in.Body.ReverseTransactionID, Metadata: in.Body.Metadata}
	for _, ps := range in.Body.Postings {
		adj.Postings = append(adj.Postings, ledger.Posting{Debit: ps.Debit, Credit: ps.Credit, Asset: ps.Asset, Amount: ps.Amount})
	}
	a, replayed, err := s.Approvals.Propose(ctx, accounts.Proposal{Adjustment: adj, Reference: in.Body.Reference,
		Reason: in.Body.Reason, MakerKey: p.KeyID, Scope: p.Scope}, s.auditChange(ctx, "adjustments.propose"))
	if err != nil {
		return nil, err
	}
	status := http.StatusCreated
	if replayed {
		status = http.StatusOK
	}
	return &adjustmentOut{Status: status, Body: s.adjustmentView(ctx, a)}, nil
}

func (s *Server) listAdjustments(ctx context.Context, in *listAdjustmentsIn) (*adjustmentPage, error) {
	list, next, err := s.Approvals.List(ctx, principal(ctx).Scope, in.Status, in.After, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &adjustmentPage{}
	out.Body.Items = make([]*AdjustmentView, len(list))
	for i, a := range list {
		out.Body.Items[i] = s.adjustmentView(ctx, a)
	}
	out.Body.NextCursor = next
	return out, nil
}

func (s *Server) getAdjustment(ctx context.Context, in *adjustmentIn) (*adjustmentOut, error) {
	a, err := s.Approvals.Get(ctx, in.ID, principal(ctx).Scope)
	if err != nil {
		return nil, err
	}
	return &adjustmentOut{Status: http.StatusOK, Body: s.adjustmentView(ctx, a)}, nil
}

func (s *Server) decision(ctx context.Context, in *decideAdjustmentIn) accounts.Decision {
	p := principal(ctx)
	return accounts.Decision{ID: in.ID, Key: p.KeyID, Reason: in.Body.Reason, Scope: p.Scope}
}

func (s *Server) approveAdjustment(ctx context.Context, in *decideAdjustmentIn) (*adjustmentOut, error) {
	d := s.decision(ctx, in)
	// Each posted transaction and the decision are audited in the same
	// storage transaction.
	d.Writes = []ledger.Write{s.auditLedger(ctx)}
	d.Change = []accounts.ChangeWrite{s.auditChange(ctx, "adjustments.approve")}
	a, err := s.Approvals.Approve(ctx, d)
	if err != nil {
		return nil, err
	}
	return &adjustmentOut{Status: http.StatusOK, Body: s.adjustmentView(ctx, a)}, nil
}

func (s *Server) rejectAdjustment(ctx context.Context, in *decideAdjustmentIn) (*adjustmentOut, error) {
	a, err := s.Approvals.Reject(ctx, s.decision(ctx, in), s.auditChange(ctx, "adjustments.reject"))
	if err != nil {
		return nil, err
	}
	return &adjustmentOut{Status: http.StatusOK, Body: s.adjustmentView(ctx, a)}, nil
}

func (s *Server) cancelAdjustment(ctx context.Context, in *decideAdjustmentIn) (*adjustmentOut, error) {
	a, err := s.Approvals.Cancel(ctx, s.decision(ctx, in), s.auditChange(ctx, "adjustments.cancel"))
	if err != nil {
		return nil, err
	}
	return &adjustmentOut{Status: http.StatusOK, Body: s.adjustmentView(ctx, a)}, nil
}
