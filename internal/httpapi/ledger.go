package httpapi

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/suanpan/suanpan/internal/audit"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/outbox"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
)

// The ledger's resources: assets, accounts, transactions, holds, reversals,
// balances, entries, reports.

type assetBody struct {
	Code      string `json:"code" pattern:"^[A-Z][A-Z0-9_]{0,15}$" doc:"Asset code, e.g. CNY or POINTS."`
	Scale     int    `json:"scale" minimum:"0" maximum:"18" doc:"Decimal places of the minor unit (CNY 2, JPY 0)."`
	MaxAmount int64  `json:"max_amount,omitempty" minimum:"1" doc:"The largest amount one operation may move, minor units; default a trillion major units, at most 10^18 minor units."`
}

type assetUpdateIn struct {
	Code string `path:"code" maxLength:"16"`
	Body struct {
		MaxAmount int64 `json:"max_amount" minimum:"1" doc:"The largest amount one operation may move from now on, minor units."`
	}
}

type assetOut struct {
	Body *ledger.Asset
}

type postingBody struct {
	Debit  string `json:"debit" minLength:"1" maxLength:"64" doc:"Account debited."`
	Credit string `json:"credit" minLength:"1" maxLength:"64" doc:"Account credited."`
	Asset  string `json:"asset" minLength:"1" maxLength:"16"`
	Amount int64  `json:"amount" minimum:"1" doc:"Minor units."`
}

// TransferBody is the body of a transfer, and with a timeout of a hold.
type TransferBody struct {
	InstitutionID string            `json:"institution_id,omitempty" maxLength:"64" doc:"Institution the transaction belongs to; default: the API key's. Must be in the key's subtree."`
	Reference     string            `json:"reference" minLength:"1" maxLength:"128" doc:"The caller's unique reference: resubmitting the same request under it returns the original transaction."`
	Type          string            `json:"type,omitempty" maxLength:"64" doc:"Business operation, e.g. topup, payment."`
	Postings      []postingBody     `json:"postings" minItems:"1" maxItems:"128"`
	Metadata      map[string]string `json:"metadata,omitempty"`
}

type transferIn struct {
	IdempotencyHeader
	Body TransferBody
}

type holdBody struct {
	TransferBody
	TimeoutSeconds int64 `json:"timeout_seconds,omitempty" minimum:"0" maximum:"315360000" doc:"The hold expires this many seconds after it is accepted; 0 never."`
}

type holdIn struct {
	IdempotencyHeader
	Body holdBody
}

type transactionOut struct {
	ReplayHeader
	Body *TransactionView
}

type resolveBody struct {
	InstitutionID string            `json:"institution_id,omitempty" maxLength:"64"`
	Reference     string            `json:"reference" minLength:"1" maxLength:"128"`
	Type          string            `json:"type,omitempty" maxLength:"64"`
	Amounts       []int64           `json:"amounts,omitempty" maxItems:"128" doc:"Per posting of the original; omitted: everything."`
	Metadata      map[string]string `json:"metadata,omitempty"`
}

type resolveIn struct {
	IdempotencyHeader
	ID   string `path:"id" maxLength:"64"`
	Body resolveBody
}

type voidBody struct {
	InstitutionID string            `json:"institution_id,omitempty" maxLength:"64"`
	Reference     string            `json:"reference" minLength:"1" maxLength:"128"`
	Type          string            `json:"type,omitempty" maxLength:"64"`
	Metadata      map[string]string `json:"metadata,omitempty"`
}

type voidIn struct {
	IdempotencyHeader
	ID   string `path:"id" maxLength:"64"`
	Body voidBody
}

type idIn struct {
	ID string `path:"id" maxLength:"64"`
}

func (s *Server) registerLedger() {
	register(s, huma.Operation{OperationID: "create-asset", Method: http.MethodPost, Path: "/assets", Tags: []string{"Assets"},
		Summary: "Register an asset", Description: "Assets are shared by every institution: only keys of the root institution may register them. Creating an existing asset with the same scale returns it; with another scale fails with asset_exists.",
		DefaultStatus: http.StatusCreated}, auth.AssetsWrite, s.createAsset)
	register(s, huma.Operation{OperationID: "list-assets", Method: http.MethodGet, Path: "/assets", Tags: []string{"Assets"},
		Summary: "List assets"}, auth.LedgerRead, s.listAssets)
	register(s, huma.Operation{OperationID: "get-asset", Method: http.MethodGet, Path: "/assets/{code}", Tags: []string{"Assets"},
		Summary: "Get an asset"}, auth.LedgerRead, s.getAsset)
	register(s, huma.Operation{OperationID: "update-asset", Method: http.MethodPatch, Path: "/assets/{code}", Tags: []string{"Assets"},
		Summary: "Change an asset's ceiling", Description: "Sets max_amount, the largest amount one operation (a posting, order, " +
			"proposal, top-up, …) may move in the asset; requests above it are refused with amount_too_large. Only keys of the " +
			"root institution may change it; the change is audited as assets.update."}, auth.AssetsWrite, s.updateAsset)

	s.registerAccounts()

	register(s, huma.Operation{OperationID: "create-transaction", Method: http.MethodPost, Path: "/transactions", Tags: []string{"Transactions"},
		Summary: "Post a transfer", Description: "Posts the postings at once, all or none. A rejection is a problem with the ledger's code (insufficient_funds, account_frozen, reference_conflict, …).",
		DefaultStatus: http.StatusCreated}, auth.LedgerPost, s.createTransfer)
	register(s, huma.Operation{OperationID: "create-transaction-batch", Method: http.MethodPost, Path: "/transactions/batch", Tags: []string{"Transactions"},
		Summary: "Submit a batch", Description: "Up to 1000 requests of any kind, applied in order. Each succeeds or fails on its own and the answer lists a result per item; with atomic, all or none."},
		auth.LedgerPost, s.createBatch)
	register(s, huma.Operation{OperationID: "list-transactions", Method: http.MethodGet, Path: "/transactions", Tags: []string{"Transactions"},
		Summary: "List transactions", Description: "In the order the ledger accepted them, filtered by type, kind and creation time, a page at a time."},
		auth.LedgerRead, s.listTransactions)
	register(s, huma.Operation{OperationID: "get-transaction", Method: http.MethodGet, Path: "/transactions/{id}", Tags: []string{"Transactions"},
		Summary: "Get a transaction"}, auth.LedgerRead, s.getTransaction)
	register(s, huma.Operation{OperationID: "get-transaction-by-reference", Method: http.MethodGet, Path: "/transactions/by-reference/{reference}",
		Tags: []string{"Transactions"}, Summary: "Find a transaction by its reference"}, auth.LedgerRead, s.getTransactionByReference)
	register(s, huma.Operation{OperationID: "reverse-transaction", Method: http.MethodPost, Path: "/transactions/{id}/reversals", Tags: []string{"Transactions"},
		Summary: "Reverse a transaction", Description: "Posts the mirror image of a transfer, post or reversal, in full or per posting; all reversals together never exceed the original.",
		DefaultStatus: http.StatusCreated}, auth.LedgerPost, s.reverse)

	register(s, huma.Operation{OperationID: "create-hold", Method: http.MethodPost, Path: "/holds", Tags: []string{"Holds"},
		Summary: "Place a hold", Description: "Reserves the postings as pending amounts until posted, voided or expired. The hold's ID is the transaction's.",
		DefaultStatus: http.StatusCreated}, auth.LedgerPost, s.createHold)
	register(s, huma.Operation{OperationID: "get-hold", Method: http.MethodGet, Path: "/holds/{id}", Tags: []string{"Holds"},
		Summary: "Get a hold"}, auth.LedgerRead, s.getHold)
	register(s, huma.Operation{OperationID: "post-hold", Method: http.MethodPost, Path: "/holds/{id}/post", Tags: []string{"Holds"},
		Summary: "Post a hold", Description: "In full, or for smaller amounts per posting; the remainder is released.",
		DefaultStatus: http.StatusCreated}, auth.LedgerPost, s.postHold)
	register(s, huma.Operation{OperationID: "void-hold", Method: http.MethodPost, Path: "/holds/{id}/void", Tags: []string{"Holds"},
		Summary: "Void a hold", DefaultStatus: http.StatusCreated}, auth.LedgerPost, s.voidHold)

	register(s, huma.Operation{OperationID: "trial-balance", Method: http.MethodGet, Path: "/reports/trial-balance", Tags: []string{"Reports"},
		Summary: "Trial balance", Description: "Posted and pending totals per asset and account code over the caller's institutions."},
		auth.LedgerRead, s.trialBalance)
	register(s, huma.Operation{OperationID: "verify-ledger", Method: http.MethodPost, Path: "/ledger/verify", Tags: []string{"Reports"},
		Summary: "Verify the ledger", Description: "Recomputes every balance from the journal and checks every invariant, on a live ledger. It covers every institution, so only keys of the root institution may run it."},
		auth.LedgerVerify, s.verifyLedger)
}

func (s *Server) createAsset(ctx context.Context, in *struct{ Body assetBody }) (*assetOut, error) {
	if err := rootOnly(ctx, "assets are shared by every institution"); err != nil {
		return nil, err
	}
	a, err := s.Ledger.RegisterAsset(ctx, ledger.NewAsset{Code: in.Body.Code, Scale: in.Body.Scale, MaxAmount: in.Body.MaxAmount},
		func(ctx context.Context, tx *sql.Tx, a *ledger.Asset) error {
			return s.audit(ctx, "assets.create", "asset:"+a.Code, "", nil, a)(ctx, tx)
		})
	if err != nil {
		return nil, err
	}
	return &assetOut{Body: a}, nil
}

func (s *Server) updateAsset(ctx context.Context, in *assetUpdateIn) (*assetOut, error) {
	if err := rootOnly(ctx, "assets are shared by every institution"); err != nil {
		return nil, err
	}
	a, err := s.Ledger.SetMaxAmount(ctx, in.Code, in.Body.MaxAmount, func(ctx context.Context, tx *sql.Tx, before, after *ledger.Asset) error {
		return s.audit(ctx, "assets.update", "asset:"+after.Code, "", before, after)(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return &assetOut{Body: a}, nil
}

func (s *Server) listAssets(ctx context.Context, _ *struct{}) (*struct{ Body []*ledger.Asset }, error) {
	as, err := s.Ledger.ListAssets(ctx)
	if err != nil {
		return nil, err
	}
	if as == nil {
		as = []*ledger.Asset{}
	}
	return &struct{ Body []*ledger.Asset }{as}, nil
}

func (s *Server) getAsset(ctx context.Context, in *struct {
	Code string `path:"code" maxLength:"16"`
}) (*assetOut, error) {
	a, err := s.Ledger.GetAsset(ctx, in.Code)
	if err != nil {
		return nil, err
	}
	return &assetOut{Body: a}, nil
}

// institution picks the institution a request acts in: the one asked for
// in field, if in the caller's subtree, or the caller's own.
func institution(ctx context.Context, asked string) (string, error) {
	return institutionIn(ctx, asked, "body.institution_id")
}

func institutionIn(ctx context.Context, asked, field string) (string, error) {
	p := principal(ctx)
	if asked == "" {
		return p.InstitutionID, nil
	}
	if !p.InScope(asked) {
		return "", fail(ctx, http.StatusForbidden, auth.CodeForbidden, field,
			"institution "+asked+" is outside this API key's institutions")
	}
	return asked, nil
}

// rootOnly refuses callers outside the root institution, for what every
// institution shares.
func rootOnly(ctx context.Context, why string) error {
	if principal(ctx).Root {
		return nil
	}
	return fail(ctx, http.StatusForbidden, auth.CodeForbidden, "", why+": only keys of the root institution may do this")
}

func toPostings(ps []postingBody) []ledger.Posting {
	out := make([]ledger.Posting, len(ps))
	for i, p := range ps {
		out[i] = ledger.Posting{Debit: p.Debit, Credit: p.Credit, Asset: p.Asset, Amount: p.Amount}
	}
	return out
}

func (s *Server) createTransfer(ctx context.Context, in *transferIn) (*transactionOut, error) {
	inst, err := institution(ctx, in.Body.InstitutionID)
	if err != nil {
		return nil, err
	}
	return s.submitOne(ctx, in.IdempotencyKey, "transfer", in.Body, ledger.Request{Kind: ledger.KindTransfer,
		InstitutionID: inst, Reference: in.Body.Reference, Type: in.Body.Type, Postings: toPostings(in.Body.Postings),
		Metadata: in.Body.Metadata})
}

func (s *Server) createHold(ctx context.Context, in *holdIn) (*transactionOut, error) {
	inst, err := institution(ctx, in.Body.InstitutionID)
	if err != nil {
		return nil, err
	}
	return s.submitOne(ctx, in.IdempotencyKey, "hold", in.Body, ledger.Request{Kind: ledger.KindHold,
		InstitutionID: inst, Reference: in.Body.Reference, Type: in.Body.Type, Postings: toPostings(in.Body.Postings),
		Metadata: in.Body.Metadata, Timeout: time.Duration(in.Body.TimeoutSeconds) * time.Second})
}

func (s *Server) postHold(ctx context.Context, in *resolveIn) (*transactionOut, error) {
	inst, err := institution(ctx, in.Body.InstitutionID)
	if err != nil {
		return nil, err
	}
	return s.submitOne(ctx, in.IdempotencyKey, "post:"+in.ID, in.Body, ledger.Request{Kind: ledger.KindPost,
		InstitutionID: inst, Reference: in.Body.Reference, Type: in.Body.Type, HoldID: in.ID, Amounts: in.Body.Amounts,
		Metadata: in.Body.Metadata})
}

func (s *Server) voidHold(ctx context.Context, in *voidIn) (*transactionOut, error) {
	inst, err := institution(ctx, in.Body.InstitutionID)
	if err != nil {
		return nil, err
	}
	return s.submitOne(ctx, in.IdempotencyKey, "void:"+in.ID, in.Body, ledger.Request{Kind: ledger.KindVoid,
		InstitutionID: inst, Reference: in.Body.Reference, Type: in.Body.Type, HoldID: in.ID, Metadata: in.Body.Metadata})
}

func (s *Server) reverse(ctx context.Context, in *resolveIn) (*transactionOut, error) {
	inst, err := institution(ctx, in.Body.InstitutionID)
	if err != nil {
		return nil, err
	}
	return s.submitOne(ctx, in.IdempotencyKey, "reverse:"+in.ID, in.Body, ledger.Request{Kind: ledger.KindReversal,
		InstitutionID: inst, Reference: in.Body.Reference, Type: in.Body.Type, TransactionID: in.ID,
		Amounts: in.Body.Amounts, Metadata: in.Body.Metadata})
}

// submitOne posts one request with its audit record (and Idempotency-Key
// record) riding along in the same storage transaction.
func (s *Server) submitOne(ctx context.Context, key, op string, body any, req ledger.Request) (*transactionOut, error) {
	k, err := newIdem(req.InstitutionID, key, op, body)
	if err != nil {
		return nil, err
	}
	if out, err := s.replay(ctx, k); out != nil || err != nil {
		return out, err
	}
	req.Writes = append(req.Writes, s.auditLedger(ctx), s.transactionEvent())
	if k != nil {
		req.Writes = append(req.Writes, s.record(k, false))
	}
	tr, err := s.Ledger.Post(ctx, req)
	var le *ledger.Error
	if errors.As(err, &le) {
		err = s.hideForeign(ctx, le, req.Postings)
	}
	if ledger.ErrorCode(err) == ledger.CodeWriteFailed && k != nil {
		// Most likely a concurrent request with the same key won the race.
		if out, rerr := s.replay(ctx, k); out != nil || rerr != nil {
			return out, rerr
		}
	}
	if err != nil {
		return nil, err
	}
	return &transactionOut{Body: s.transactionView(ctx, tr)}, nil
}

// hideForeign answers a posting's account that the caller's key may not
// see exactly as the ledger answers an unknown one. The ledger checks
// accounts against the transaction's institution, not the key's scope:
// its institution_mismatch would tell a caller that an ID it guessed is an
// account of another institution. A head office that sees the account
// keeps the mismatch, which is then news to nobody.
func (s *Server) hideForeign(ctx context.Context, e *ledger.Error, ps []ledger.Posting) *ledger.Error {
	if e.Code != ledger.CodeInstitutionMismatch {
		return e
	}
	var i int
	var side string
	if _, err := fmt.Sscanf(strings.Replace(e.Field, "].", "] ", 1), "postings[%d] %s", &i, &side); err != nil || i < 0 || i >= len(ps) {
		return e
	}
	id := ps[i].Credit
	if side == string(ledger.Debit) {
		id = ps[i].Debit
	}
	if a, err := s.Ledger.GetAccount(ctx, id); err == nil && principal(ctx).InScope(a.InstitutionID) {
		return e
	}
	return &ledger.Error{Code: ledger.CodeAccountNotFound, Field: e.Field, Message: "account " + id + " not found"}
}

// replayed returns the transaction a request whose Idempotency-Key was
// seen produced; nil, nil for a new key.
func (s *Server) replayed(ctx context.Context, k *idem) (*ledger.Transaction, error) {
	id, err := s.lookup(ctx, k)
	if err != nil || id == "" {
		return nil, err
	}
	return s.Ledger.GetTransaction(ctx, id)
}

// replay answers a request whose Idempotency-Key was seen: with the
// transaction it produced. It returns nil, nil for a new key.
func (s *Server) replay(ctx context.Context, k *idem) (*transactionOut, error) {
	tr, err := s.replayed(ctx, k)
	if err != nil || tr == nil {
		return nil, err
	}
	out := &transactionOut{Body: s.transactionView(ctx, tr)}
	out.Replayed = true
	return out, nil
}

// auditLedger is the ride-along write recording a ledger request.
func (s *Server) auditLedger(ctx context.Context) ledger.Write {
	p := principal(ctx)
	rid, src := requestID(ctx), sourceOf(ctx)
	return func(wctx context.Context, tx *sql.Tx, tr *ledger.Transaction) error {
		_, err := audit.Append(wctx, s.Ledger.Tx(tx), s.DB.Dialect, audit.Record{At: tr.CreatedAt, KeyID: p.KeyID,
			InstitutionID: tr.InstitutionID, Source: src, Operation: "ledger." + string(tr.Kind),
			Target: "transaction:" + tr.ID, RequestID: rid, After: map[string]any{"reference": tr.Reference,
				"type": tr.Type, "postings": tr.Postings, "hold_id": tr.HoldID, "reverses_id": tr.ReversesID,
				"metadata": tr.Metadata}})
		return err
	}
}

// EventTransactionPosted is the event of a transaction posted through the
// ledger routes (/v1/transactions, holds, batches); business operations
// emit operation.completed instead.
const EventTransactionPosted = "transaction.posted"

// transactionEvent is the ride-along write of a ledger route's outbox
// event.
func (s *Server) transactionEvent() ledger.Write {
	return func(ctx context.Context, tx *sql.Tx, tr *ledger.Transaction) error {
		return outbox.Record(ctx, s.Ledger.Tx(tx), &outbox.Event{Type: EventTransactionPosted, Subject: "transaction:" + tr.ID,
			InstitutionID: tr.InstitutionID, CreatedAt: tr.CreatedAt, Payload: map[string]any{"transaction_id": tr.ID,
				"kind": tr.Kind, "type": tr.Type, "reference": tr.Reference, "postings": tr.Postings, "hold_id": tr.HoldID,
				"reverses_id": tr.ReversesID, "business_date": tr.BusinessDate}})
	}
}

// batchItem is one request of a batch.
type batchItem struct {
	Kind           string            `json:"kind" enum:"transfer,hold,post,void,reversal"`
	Reference      string            `json:"reference" minLength:"1" maxLength:"128"`
	Type           string            `json:"type,omitempty" maxLength:"64"`
	Postings       []postingBody     `json:"postings,omitempty" maxItems:"128" doc:"For transfer and hold."`
	Metadata       map[string]string `json:"metadata,omitempty"`
	TimeoutSeconds int64             `json:"timeout_seconds,omitempty" minimum:"0" maximum:"315360000" doc:"For hold."`
	HoldID         string            `json:"hold_id,omitempty" maxLength:"64" doc:"For post and void."`
	TransactionID  string            `json:"transaction_id,omitempty" maxLength:"64" doc:"For reversal."`
	Amounts        []int64           `json:"amounts,omitempty" maxItems:"128" doc:"For post and reversal."`
}

type batchBody struct {
	InstitutionID string      `json:"institution_id,omitempty" maxLength:"64"`
	Atomic        bool        `json:"atomic,omitempty" doc:"All requests succeed or none does."`
	Items         []batchItem `json:"items" minItems:"1" maxItems:"1000"`
}

type batchIn struct {
	IdempotencyHeader
	Body batchBody
}

// ItemError is why one batch item was refused.
type ItemError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// BatchResult answers one batch item.
type BatchResult struct {
	Status      string           `json:"status" enum:"ok,rejected"`
	Duplicate   bool             `json:"duplicate,omitempty" doc:"The reference was posted before with the same content; nothing changed."`
	Transaction *TransactionView `json:"transaction,omitempty"`
	Error       *ItemError       `json:"error,omitempty"`
}

type batchOut struct {
	ReplayHeader
	Body struct {
		Results []BatchResult `json:"results"`
	}
}

func (s *Server) createBatch(ctx context.Context, in *batchIn) (*batchOut, error) {
	inst, err := institution(ctx, in.Body.InstitutionID)
	if err != nil {
		return nil, err
	}
	k, err := newIdem(inst, in.IdempotencyKey, "batch", in.Body)
	if err != nil {
		return nil, err
	}
	seen, err := s.lookup(ctx, k)
	if err != nil {
		return nil, err
	}
	reqs := make([]ledger.Request, len(in.Body.Items))
	for i, it := range in.Body.Items {
		reqs[i] = ledger.Request{Kind: ledger.Kind(it.Kind), InstitutionID: inst, Reference: it.Reference, Type: it.Type,
			Metadata: it.Metadata, Timeout: time.Duration(it.TimeoutSeconds) * time.Second, HoldID: it.HoldID,
			TransactionID: it.TransactionID, Amounts: it.Amounts, Writes: []ledger.Write{s.auditLedger(ctx), s.transactionEvent()}}
		if it.Postings != nil {
			reqs[i].Postings = toPostings(it.Postings)
		}
		if k != nil {
			reqs[i].Writes = append(reqs[i].Writes, s.record(k, true))
		}
	}
	// A replayed batch runs again: each item's reference makes it
	// idempotent, so items that were posted come back as duplicates.
	res, err := s.Ledger.Submit(ctx, reqs, in.Body.Atomic)
	if err != nil {
		return nil, err
	}
	out := &batchOut{}
	out.Replayed = seen != ""
	out.Body.Results = make([]BatchResult, len(res))
	for i, r := range res {
		if r.Err != nil {
			r.Err = s.hideForeign(ctx, r.Err, reqs[i].Postings)
			field := ""
			if r.Err.Field != "" {
				field = fmt.Sprintf("body.items[%d].%s", i, r.Err.Field)
			}
			out.Body.Results[i] = BatchResult{Status: "rejected", Error: &ItemError{Code: string(r.Err.Code),
				Message: r.Err.Message, Field: field}}
			continue
		}
		out.Body.Results[i] = BatchResult{Status: "ok", Duplicate: r.Duplicate, Transaction: s.transactionView(ctx, r.Transaction)}
	}
	return out, nil
}

type listTransactionsIn struct {
	Type  string    `query:"type" maxLength:"64"`
	Kind  string    `query:"kind" enum:"transfer,hold,post,void,reversal,"`
	From  time.Time `query:"from" doc:"Created at or after (RFC 3339)."`
	To    time.Time `query:"to" doc:"Created before (RFC 3339)."`
	After string    `query:"after" maxLength:"64" doc:"Cursor: next_cursor of the previous page."`
	Limit int       `query:"limit" minimum:"0" maximum:"1000" doc:"Page size, default 100."`
}

type transactionPage struct {
	Body struct {
		Items      []*TransactionView `json:"items"`
		NextCursor string             `json:"next_cursor,omitempty"`
	}
}

func (s *Server) listTransactions(ctx context.Context, in *listTransactionsIn) (*transactionPage, error) {
	trs, next, err := s.Ledger.ListTransactions(ctx, ledger.TransactionFilter{InstitutionIDs: principal(ctx).Scope,
		Type: in.Type, Kind: ledger.Kind(in.Kind), From: in.From, To: in.To, After: in.After, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := &transactionPage{}
	out.Body.Items = make([]*TransactionView, len(trs))
	for i, t := range trs {
		out.Body.Items[i] = s.transactionView(ctx, t)
	}
	out.Body.NextCursor = next
	return out, nil
}

func (s *Server) getTransaction(ctx context.Context, in *idIn) (*transactionOut, error) {
	t, err := s.Ledger.GetTransaction(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if !principal(ctx).InScope(t.InstitutionID) {
		return nil, &ledger.Error{Code: ledger.CodeTransactionNotFound, Message: "transaction " + in.ID + " not found"}
	}
	return &transactionOut{Body: s.transactionView(ctx, t)}, nil
}

func (s *Server) getTransactionByReference(ctx context.Context, in *struct {
	Reference     string `path:"reference" maxLength:"128"`
	InstitutionID string `query:"institution_id" maxLength:"64" doc:"Default: the API key's institution."`
}) (*transactionOut, error) {
	inst, err := institutionIn(ctx, in.InstitutionID, "query.institution_id")
	if err != nil {
		return nil, err
	}
	if !store.Storable(in.Reference) {
		return nil, &ledger.Error{Code: ledger.CodeTransactionNotFound, Message: "no transaction with that reference"}
	}
	t, err := s.Ledger.GetTransactionByReference(ctx, inst, in.Reference)
	if err != nil {
		return nil, err
	}
	return &transactionOut{Body: s.transactionView(ctx, t)}, nil
}

type holdOut struct {
	Body *HoldView
}

func (s *Server) getHold(ctx context.Context, in *idIn) (*holdOut, error) {
	h, err := s.Ledger.GetHold(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if !principal(ctx).InScope(h.InstitutionID) {
		return nil, &ledger.Error{Code: ledger.CodeHoldNotFound, Message: "hold " + in.ID + " not found"}
	}
	return &holdOut{Body: s.holdView(ctx, h)}, nil
}

func (s *Server) trialBalance(ctx context.Context, _ *struct{}) (*struct{ Body *ledger.TrialBalance }, error) {
	tb, err := s.Ledger.TrialBalance(ctx, principal(ctx).Scope)
	if err != nil {
		return nil, err
	}
	if tb.Lines == nil {
		tb.Lines, tb.Totals = []ledger.TrialBalanceLine{}, []ledger.TrialBalanceTotal{}
	}
	return &struct{ Body *ledger.TrialBalance }{tb}, nil
}

func (s *Server) verifyLedger(ctx context.Context, _ *struct{}) (*struct{ Body *ledger.VerifyReport }, error) {
	if err := rootOnly(ctx, "verification covers every institution's accounts"); err != nil {
		return nil, err
	}
	rep, err := s.Ledger.Verify(ctx)
	if err != nil {
		return nil, err
	}
	if rep.Problems == nil {
		rep.Problems = []ledger.Problem{}
	}
	return &struct{ Body *ledger.VerifyReport }{rep}, nil
}
