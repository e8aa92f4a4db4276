package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/ledger"
)

// The business operations: top-up, withdraw (and its completion or
// failure), pay, transfer and refund, each one ledger transaction carrying
// the principal and the fee; and the registration of the institution's own
// accounts (clearing, fee income) they post to.

// OperationView is an operation's transaction with its fee.
type OperationView struct {
	Operation     string           `json:"operation" doc:"topup, withdraw, payment, transfer, refund, withdraw_complete, withdraw_fail, freeze, unfreeze, freeze_deduct, split or cross_transfer."`
	Channel       string           `json:"channel"`
	Asset         string           `json:"asset"`
	Amount        int64            `json:"amount" doc:"The principal, minor units."`
	AmountDisplay string           `json:"amount_display"`
	Fee           int64            `json:"fee" doc:"The fee, minor units (0: none). For a withdrawal's completion or failure, the withdrawal's fee (posted or released with it)."`
	FeeDisplay    string           `json:"fee_display"`
	FeePayer      string           `json:"fee_payer,omitempty" enum:"payer,payee," doc:"Who bore the fee by the product's rule; empty without a fee."`
	Duplicate     bool             `json:"duplicate,omitempty" doc:"The reference was used before with the same request: this is the original transaction and nothing moved now."`
	Transaction   *TransactionView `json:"transaction"`
}

type operationOut struct {
	ReplayHeader
	Body *OperationView
}

// OperationBody is the body of a top-up, and within others of every operation.
type OperationBody struct {
	Reference string            `json:"reference" minLength:"1" maxLength:"128" doc:"The caller's unique reference in the account's institution: a retry with it returns the original transaction and counts nothing again."`
	Account   string            `json:"account" minLength:"1" maxLength:"64" doc:"The customer's account (opened on a product)."`
	Channel   string            `json:"channel" minLength:"1" maxLength:"32" doc:"How the operation came in, e.g. app, bank_x; the product must allow it."`
	Amount    int64             `json:"amount" minimum:"1" doc:"Minor units of the account's asset."`
	Metadata  map[string]string `json:"metadata,omitempty" doc:"Added to the transaction's; operation, channel, amount, fee, fee_payer and product are the service's."`
}

type withdrawBody struct {
	OperationBody
	TimeoutSeconds int64 `json:"timeout_seconds,omitempty" minimum:"0" maximum:"315360000" doc:"The withdrawal's hold expires this many seconds after it is accepted; 0 never."`
}

// twoPartyBody is the body of a payment or transfer.
type twoPartyBody struct {
	OperationBody
	Counterparty string `json:"counterparty" minLength:"1" maxLength:"64" doc:"The merchant settlement account (pay) or the payee's account (transfer)."`
}

type resolveWithdrawBody struct {
	Reference string            `json:"reference" minLength:"1" maxLength:"128" doc:"The post's or void's reference."`
	Metadata  map[string]string `json:"metadata,omitempty"`
}

type refundBody struct {
	PaymentID string            `json:"payment_id" minLength:"1" maxLength:"64" doc:"The payment's transaction ID."`
	Reference string            `json:"reference" minLength:"1" maxLength:"128"`
	Amount    int64             `json:"amount,omitempty" minimum:"0" doc:"What to give back, minor units; omitted or 0: the whole payment (refused if any of it was refunded)."`
	Metadata  map[string]string `json:"metadata,omitempty"`
}

type topupIn struct {
	IdempotencyHeader
	Body OperationBody
}

type withdrawIn struct {
	IdempotencyHeader
	Body withdrawBody
}

type twoPartyIn struct {
	IdempotencyHeader
	Body twoPartyBody
}

type resolveWithdrawIn struct {
	IdempotencyHeader
	ID   string `path:"id" maxLength:"64" doc:"The withdrawal's transaction (hold) ID."`
	Body resolveWithdrawBody
}

type refundIn struct {
	IdempotencyHeader
	Body refundBody
}

// InternalAccountView is an account an institution uses for a role.
type InternalAccountView struct {
	InstitutionID string    `json:"institution_id"`
	Role          string    `json:"role" enum:"clearing,fee_income,frozen,clearing_inst,points_issuance,envelope,suspense,write_off"`
	Channel       string    `json:"channel,omitempty"`
	Asset         string    `json:"asset"`
	AccountID     string    `json:"account_id"`
	RegisteredAt  time.Time `json:"registered_at"`
	RegisteredBy  string    `json:"registered_by" doc:"The API key that registered it."`
}

type internalAccountIn struct {
	Body struct {
		InstitutionID string `json:"institution_id,omitempty" maxLength:"64" doc:"Must be the account's institution when given."`
		Role          string `json:"role" enum:"clearing,fee_income,frozen,clearing_inst,points_issuance,envelope,suspense,write_off" doc:"suspense parks reconciliation differences while they are open; write_off takes those written off."`
		Channel       string `json:"channel,omitempty" maxLength:"32" doc:"The channel of a clearing account, the other institution's ID for clearing_inst; none for the other roles."`
		Asset         string `json:"asset,omitempty" maxLength:"16" doc:"Must be the account's asset when given."`
		AccountID     string `json:"account_id" minLength:"1" maxLength:"64" doc:"An open account of the institution."`
	}
}

type internalAccountOut struct {
	Body *InternalAccountView
}

// registerOperation registers a business operation: a POST answering 201,
// needing ledger:post, idempotent by its reference and by an
// Idempotency-Key.
func registerOperation[I, O any](s *Server, id, path, summary, description string, h func(context.Context, *I) (*O, error)) {
	register(s, huma.Operation{OperationID: id, Method: http.MethodPost, Path: path, Tags: []string{"Business operations"},
		Summary: summary, Description: description + " Accepts an Idempotency-Key; the reference makes it idempotent too.",
		DefaultStatus: http.StatusCreated}, auth.LedgerPost, h)
}

func (s *Server) registerOperations() {
	tags := []string{"Business operations"}
	registerOperation(s, "operation-topup", "/operations/topup", "Top up a wallet",
		"Dr the channel's clearing account · Cr the account; the wallet product's top-up fee, "+
			"if any, Dr the account · Cr fee income, in the same transaction. The product must allow topup on the channel "+
			"(operation_not_allowed, channel_not_allowed) within its limits (limit_exceeded, field: the bound).", s.opTopup)
	registerOperation(s, "operation-withdraw", "/operations/withdraw", "Withdraw from a wallet",
		"Reserves the amount (Dr account · Cr clearing) and the fee as a hold, counted "+
			"against the limits now; complete it when the channel has paid out, fail it otherwise. The transaction's ID is the withdrawal's.", s.opWithdraw)
	registerOperation(s, "operation-withdraw-complete", "/operations/withdraw/{id}/complete", "Complete a withdrawal",
		"Posts the withdrawal's hold in full.", s.opWithdrawComplete)
	registerOperation(s, "operation-withdraw-fail", "/operations/withdraw/{id}/fail", "Fail a withdrawal",
		"Voids the withdrawal's hold, releasing the amount and the fee, and gives its limit usage back.", s.opWithdrawFail)
	registerOperation(s, "operation-pay", "/operations/pay", "Pay a merchant",
		"Dr the payer's account · Cr the merchant settlement account; the merchant product's "+
			"payment fee is borne by the payer or the merchant as its rule says. The payer's product decides control and limits; "+
			"the merchant's must allow the payment on the channel too.", s.opPay)
	registerOperation(s, "operation-transfer", "/operations/transfer", "Transfer between customers",
		"Dr the payer's account · Cr the payee's, with the payer product's transfer fee.", s.opTransfer)
	registerOperation(s, "operation-refund", "/operations/refund", "Refund a payment",
		"Reverses the payment's principal by the amount (the fee is kept); all refunds of a payment "+
			"together never exceed it (reversal_exceeds_original). The merchant product must allow refunds on the payment's channel.", s.opRefund)
	register(s, huma.Operation{OperationID: "register-internal-account", Method: http.MethodPost, Path: "/internal-accounts", Tags: tags,
		Summary: "Register an internal account", Description: "Names the account an institution's operations post to: " +
			"the clearing account of a channel and asset, the fee-income account of an asset, the frozen-funds account of an asset (frozen), " +
			"the clearing account towards another institution (clearing_inst, channel: that institution's ID). Registering the role again replaces the account.",
		DefaultStatus: http.StatusCreated}, auth.AccountsInternal, s.registerInternalAccount)
	s.registerMoreOperations()
}

// operations runs one operation call with the caller's audit record and
// Idempotency-Key record riding along in its ledger transaction. Keys are
// scoped to the caller's institution.
func (s *Server) operations(ctx context.Context, key, op string, body any,
	run func(writes []ledger.Write) (*accounts.OperationResult, error)) (*operationOut, error) {
	k, err := newIdem(principal(ctx).InstitutionID, key, op, body)
	if err != nil {
		return nil, err
	}
	if out, err := s.replayOperation(ctx, k); out != nil || err != nil {
		return out, err
	}
	writes := []ledger.Write{s.auditLedger(ctx)}
	if k != nil {
		writes = append(writes, s.record(k, false))
	}
	res, err := run(writes)
	if ledger.ErrorCode(err) == ledger.CodeWriteFailed && k != nil {
		// Most likely a concurrent request with the same key won the race.
		if out, rerr := s.replayOperation(ctx, k); out != nil || rerr != nil {
			return out, rerr
		}
	}
	if err != nil {
		return nil, err
	}
	v := s.operationView(ctx, res.Transaction)
	v.Duplicate = res.Duplicate
	return &operationOut{Body: v}, nil
}

// replayOperation is replay for the business operations.
func (s *Server) replayOperation(ctx context.Context, k *idem) (*operationOut, error) {
	tr, err := s.replayed(ctx, k)
	if err != nil || tr == nil {
		return nil, err
	}
	out := &operationOut{Body: s.operationView(ctx, tr)}
	out.Replayed = true
	return out, nil
}

// operationView reads the operation, amount and fee back from the
// transaction's metadata, which the operations service writes.
func (s *Server) operationView(ctx context.Context, tr *ledger.Transaction) *OperationView {
	asset := ""
	if len(tr.Postings) > 0 {
		asset = tr.Postings[0].Asset
	} else if len(tr.Entries) > 0 {
		asset = tr.Entries[0].Asset
	}
	amount, _ := strconv.ParseInt(tr.Metadata["amount"], 10, 64)
	fee, _ := strconv.ParseInt(tr.Metadata["fee"], 10, 64)
	return &OperationView{Operation: tr.Type, Channel: tr.Metadata["channel"], Asset: asset, Amount: amount,
		AmountDisplay: s.display(ctx, asset, amount), Fee: fee, FeeDisplay: s.display(ctx, asset, fee),
		FeePayer: tr.Metadata["fee_payer"], Transaction: s.transactionView(ctx, tr)}
}

func (b OperationBody) request(ctx context.Context, counterparty string, writes []ledger.Write) accounts.OperationRequest {
	return accounts.OperationRequest{Reference: b.Reference, Account: b.Account, Counterparty: counterparty, Channel: b.Channel,
		Amount: b.Amount, Metadata: b.Metadata, Scope: principal(ctx).Scope, Writes: writes}
}

func (s *Server) opTopup(ctx context.Context, in *topupIn) (*operationOut, error) {
	return s.operations(ctx, in.IdempotencyKey, "operations.topup", in.Body, func(w []ledger.Write) (*accounts.OperationResult, error) {
		return s.Operations.TopUp(ctx, in.Body.request(ctx, "", w))
	})
}

func (s *Server) opWithdraw(ctx context.Context, in *withdrawIn) (*operationOut, error) {
	return s.operations(ctx, in.IdempotencyKey, "operations.withdraw", in.Body, func(w []ledger.Write) (*accounts.OperationResult, error) {
		r := in.Body.request(ctx, "", w)
		r.Timeout = time.Duration(in.Body.TimeoutSeconds) * time.Second
		return s.Operations.Withdraw(ctx, r)
	})
}

func (s *Server) opPay(ctx context.Context, in *twoPartyIn) (*operationOut, error) {
	return s.operations(ctx, in.IdempotencyKey, "operations.pay", in.Body, func(w []ledger.Write) (*accounts.OperationResult, error) {
		return s.Operations.Pay(ctx, in.Body.request(ctx, in.Body.Counterparty, w))
	})
}

func (s *Server) opTransfer(ctx context.Context, in *twoPartyIn) (*operationOut, error) {
	return s.operations(ctx, in.IdempotencyKey, "operations.transfer", in.Body, func(w []ledger.Write) (*accounts.OperationResult, error) {
		return s.Operations.Transfer(ctx, in.Body.request(ctx, in.Body.Counterparty, w))
	})
}

// inScopeTransaction answers 404 for a transaction the caller may not see,
// as GET /v1/transactions/{id} does.
func inScopeTransaction(ctx context.Context, l *ledger.Ledger, id, field string) error {
	tr, err := l.GetTransaction(ctx, id)
	if ledger.ErrorCode(err) == ledger.CodeTransactionNotFound || (err == nil && !principal(ctx).InScope(tr.InstitutionID)) {
		return &ledger.Error{Code: ledger.CodeTransactionNotFound, Message: "transaction " + id + " not found", Field: field}
	}
	return err
}

func (s *Server) opWithdrawComplete(ctx context.Context, in *resolveWithdrawIn) (*operationOut, error) {
	return s.resolveWithdraw(ctx, in, "operations.withdraw.complete:", s.Operations.CompleteWithdraw)
}

func (s *Server) opWithdrawFail(ctx context.Context, in *resolveWithdrawIn) (*operationOut, error) {
	return s.resolveWithdraw(ctx, in, "operations.withdraw.fail:", s.Operations.FailWithdraw)
}

func (s *Server) resolveWithdraw(ctx context.Context, in *resolveWithdrawIn, op string,
	f func(context.Context, accounts.ResolveRequest) (*accounts.OperationResult, error)) (*operationOut, error) {
	if err := inScopeTransaction(ctx, s.Ledger, in.ID, "hold_id"); err != nil {
		return nil, err
	}
	return s.operations(ctx, in.IdempotencyKey, op+in.ID, in.Body, func(w []ledger.Write) (*accounts.OperationResult, error) {
		return f(ctx, accounts.ResolveRequest{HoldID: in.ID, Reference: in.Body.Reference, Metadata: in.Body.Metadata,
			Scope: principal(ctx).Scope, Writes: w})
	})
}

func (s *Server) opRefund(ctx context.Context, in *refundIn) (*operationOut, error) {
	if err := inScopeTransaction(ctx, s.Ledger, in.Body.PaymentID, "payment_id"); err != nil {
		return nil, err
	}
	return s.operations(ctx, in.IdempotencyKey, "operations.refund", in.Body, func(w []ledger.Write) (*accounts.OperationResult, error) {
		return s.Operations.Refund(ctx, accounts.RefundRequest{PaymentID: in.Body.PaymentID, Reference: in.Body.Reference,
			Amount: in.Body.Amount, Metadata: in.Body.Metadata, Scope: principal(ctx).Scope, Writes: w})
	})
}

func (s *Server) registerInternalAccount(ctx context.Context, in *internalAccountIn) (*internalAccountOut, error) {
	p := principal(ctx)
	if in.Body.InstitutionID != "" {
		if _, err := institution(ctx, in.Body.InstitutionID); err != nil {
			return nil, err
		}
	}
	a, err := s.Operations.RegisterInternalAccount(ctx, accounts.InternalAccount{InstitutionID: in.Body.InstitutionID,
		Role: in.Body.Role, Channel: in.Body.Channel, Asset: in.Body.Asset, AccountID: in.Body.AccountID, RegisteredBy: p.KeyID},
		p.Scope, s.auditChange(ctx, "internal_accounts.register"))
	if err != nil {
		return nil, err
	}
	return &internalAccountOut{Body: &InternalAccountView{InstitutionID: a.InstitutionID, Role: a.Role, Channel: a.Channel,
		Asset: a.Asset, AccountID: a.AccountID, RegisteredAt: a.RegisteredAt, RegisteredBy: a.RegisteredBy}}, nil
}
