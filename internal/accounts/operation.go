package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
)

// The event types business operations emit.
const (
	EventOperation                 = "operation.completed" // one per operation transaction (the op in the payload)
	EventInternalAccountRegistered = "internal_account.registered"
)

// Internal account roles.
const (
	RoleClearing  = "clearing"   // a channel's clearing account for one asset
	RoleFeeIncome = "fee_income" // the fee-income account for one asset
	// RoleSuspense parks reconciliation differences (挂账) while an
	// operator decides them, so that the books balance meanwhile.
	RoleSuspense = "suspense"
	// RoleWriteOff takes the reconciliation differences written off: a
	// loss or gain account.
	RoleWriteOff = "write_off"
)

// OperationsConfig finds the institution's own accounts an operation posts
// to. The zero value reads them from the internal_accounts table
// (Operations.RegisterInternalAccount).
type OperationsConfig struct {
	// ClearingAccount returns the clearing account of channel for asset.
	ClearingAccount func(ctx context.Context, inst, channel, asset string) (string, error)
	// FeeAccount returns the fee-income account for asset.
	FeeAccount func(ctx context.Context, inst, asset string) (string, error)
}

// Operations runs the business operations — top-up, withdraw, pay,
// transfer, refund — each as ONE ledger request: the principal is posting
// 0 and a fee, when there is one, posting 1 of the same transaction. Every
// request is idempotent by the caller's reference (the ledger's), checked
// against the product's operation and channel control before it is
// submitted and against its limits inside the ledger transaction (the usage
// write), and carries an operation.completed event and the caller's writes.
//
// Which product governs: top-up and withdraw the wallet's; pay the payer's
// for control and limits and the merchant's for the fee; transfer the
// payer's; refund the merchant's for control (refunds have no limits and no
// fee). The fee of a top-up or withdrawal is borne by the customer's
// account whatever the rule's payer (the channel is not billed); for pay
// and transfer the rule's payer says who (payer: the payer's account, payee:
// the receiving account is debited the fee).
//
// Usage: a refund does not give usage back (limits bound what a customer
// may spend, and a refund is no negative payment); a failed withdrawal does,
// because nothing left the account. A hold the ledger voids on expiry keeps
// its usage.
type Operations struct {
	db       *store.DB
	ledger   *ledger.Ledger
	products *ProductService
	clock    clock.Clock
	cfg      OperationsConfig
}

// NewOperations returns the operations service on the ledger's store and
// clock. Zero functions of cfg read the internal_accounts table.
func NewOperations(l *ledger.Ledger, products *ProductService, cfg OperationsConfig) *Operations {
	s := &Operations{db: l.DB(), ledger: l, products: products, clock: l.Clock()}
	if cfg.ClearingAccount == nil {
		cfg.ClearingAccount = func(ctx context.Context, inst, channel, asset string) (string, error) {
			return s.internalAccount(ctx, inst, RoleClearing, channel, asset)
		}
	}
	if cfg.FeeAccount == nil {
		cfg.FeeAccount = func(ctx context.Context, inst, asset string) (string, error) {
			return s.internalAccount(ctx, inst, RoleFeeIncome, "", asset)
		}
	}
	s.cfg = cfg
	return s
}

// InternalAccount registers an institution's own account for a role.
type InternalAccount struct {
	InstitutionID string    `json:"institution_id"`
	Role          string    `json:"role"`              // clearing, fee_income, frozen, clearing_inst, points_issuance, envelope, suspense, write_off
	Channel       string    `json:"channel,omitempty"` // clearing: the channel; clearing_inst: the other institution; else ""
	Asset         string    `json:"asset"`
	AccountID     string    `json:"account_id"`
	RegisteredAt  time.Time `json:"registered_at"`
	RegisteredBy  string    `json:"registered_by"`
}

// RegisterInternalAccount names (or renames) the account an institution
// uses for a role: the clearing account of a channel and asset, or the
// fee-income account of an asset. The account must be of the institution,
// of the asset, and open. An internal_account.registered event and the
// writes commit with it. Permission: admin (platform:admin). Returns
// CodeInvalidRequest or CodeAccountNotFound (also out of scope).
func (s *Operations) RegisterInternalAccount(ctx context.Context, a InternalAccount, scope []string, writes ...ChangeWrite) (*InternalAccount, error) {
	switch {
	case a.Role != RoleClearing && a.Role != RoleFeeIncome && a.Role != RoleFrozen && a.Role != RoleClearingInst &&
		a.Role != RolePointsIssuance && a.Role != RoleEnvelope && a.Role != RoleSuspense && a.Role != RoleWriteOff:
		return nil, fieldErr("role", "role must be clearing, fee_income, frozen, clearing_inst, points_issuance, envelope, suspense or write_off")
	case a.Role == RoleClearing && !tokenPattern.MatchString(a.Channel):
		return nil, fieldErr("channel", "a clearing account needs its channel: 1-32 lowercase letters, digits or '_'")
	case a.Role == RoleClearingInst && (a.Channel == "" || len(a.Channel) > 64 || !store.Storable(a.Channel)):
		return nil, fieldErr("channel", "a clearing_inst account needs the other institution's ID as its channel")
	case a.Role != RoleClearing && a.Role != RoleClearingInst && a.Channel != "":
		return nil, fieldErr("channel", "a %s account serves every channel: give no channel", a.Role)
	case a.RegisteredBy == "" || len(a.RegisteredBy) > 64 || !store.Storable(a.RegisteredBy):
		return nil, fieldErr("registered_by", "registered_by is required: at most 64 bytes")
	}
	if len(a.AccountID) > 64 || !store.Storable(a.AccountID) {
		return nil, accountNotFound(a.AccountID)
	}
	acct, err := s.ledger.GetAccount(ctx, a.AccountID)
	if ledger.ErrorCode(err) == ledger.CodeAccountNotFound || (err == nil && !inScope(scope, acct.InstitutionID)) {
		return nil, accountNotFound(a.AccountID)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case a.InstitutionID != "" && a.InstitutionID != acct.InstitutionID:
		return nil, fieldErr("account_id", "account %s is not of institution %s", acct.ID, a.InstitutionID)
	case a.Role == RoleClearingInst && a.Channel == acct.InstitutionID:
		return nil, fieldErr("channel", "a clearing_inst account clears with another institution")
	case a.Asset != "" && a.Asset != acct.Asset:
		return nil, fieldErr("asset", "account %s holds %s, not %s", acct.ID, acct.Asset, a.Asset)
	case acct.Status == ledger.StatusClosed:
		return nil, fieldErr("account_id", "account %s is closed", acct.ID)
	}
	a.InstitutionID, a.Asset = acct.InstitutionID, acct.Asset
	a.RegisteredAt = time.UnixMicro(s.clock.Now().UnixMicro()).UTC()
	err = s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO internal_accounts (institution_id, role, channel, asset, account_id,
			registered_at, registered_by) VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (institution_id, role, channel, asset) DO UPDATE SET account_id = excluded.account_id,
				registered_at = excluded.registered_at, registered_by = excluded.registered_by`,
			a.InstitutionID, a.Role, a.Channel, a.Asset, a.AccountID, a.RegisteredAt.UnixMicro(), a.RegisteredBy); err != nil {
			return fmt.Errorf("register internal account: %w", err)
		}
		return recordEvent(ctx, tx, tx, &Event{Type: EventInternalAccountRegistered, Subject: "account:" + a.AccountID,
			InstitutionID: a.InstitutionID, CreatedAt: a.RegisteredAt, Payload: a}, writes)
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// InternalAccountID returns the account an institution registered for a
// role (channel: the clearing channel, "" for roles that serve every
// channel) and asset. Returns CodeChannelNotAllowed (no clearing account)
// or CodeInvalidRequest (none registered).
func (s *Operations) InternalAccountID(ctx context.Context, inst, role, channel, asset string) (string, error) {
	return s.internalAccount(ctx, inst, role, channel, asset)
}

func (s *Operations) internalAccount(ctx context.Context, inst, role, channel, asset string) (string, error) {
	var id string
	err := s.db.QueryRow(ctx, `SELECT account_id FROM internal_accounts
		WHERE institution_id = $1 AND role = $2 AND channel = $3 AND asset = $4`, inst, role, channel, asset).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		switch role {
		case RoleClearing:
			return "", errorAt(CodeChannelNotAllowed, "channel", "institution %s has no clearing account for channel %q and %s", inst, channel, asset)
		case RoleClearingInst:
			return "", errorAt(CodeInvalidRequest, "", "institution %s has no clearing account towards %s for %s", inst, channel, asset)
		}
		return "", errorAt(CodeInvalidRequest, "", "institution %s has no %s account for %s", inst, role, asset)
	}
	if err != nil {
		return "", fmt.Errorf("find %s account: %w", role, err)
	}
	return id, nil
}

// OperationRequest asks for a top-up, withdrawal, payment or transfer.
type OperationRequest struct {
	// Reference is the caller's idempotency key, unique within the
	// account's institution: the same request under it returns the
	// original transaction and counts nothing again.
	Reference string
	// Account is the customer's account: credited by a top-up, debited by
	// a withdrawal, payment or transfer.
	Account string
	// Counterparty is the merchant settlement account of a payment or the
	// payee account of a transfer; empty for top-up and withdraw.
	Counterparty string
	Channel      string // how the operation came in, e.g. app, bank_x
	Amount       int64  // minor units of the account's asset, > 0
	// Timeout makes a withdrawal's hold expire (0: never).
	Timeout time.Duration
	// Metadata is added to the transaction's (keys operation, channel, fee,
	// fee_payer and product are the service's).
	Metadata map[string]string
	Scope    []string // the caller's institutions (nil: any)
	// Writes ride along in the ledger transaction (the caller's audit).
	Writes []ledger.Write
}

// OperationResult is an operation's transaction and fee.
type OperationResult struct {
	Transaction *ledger.Transaction
	Fee         Fee
	// Duplicate is set when the reference had been used before with the
	// same request: Transaction is the original and nothing changed now.
	Duplicate bool
}

// party is an account an operation touches, with its product version.
type party struct {
	link    *CustomerAccount
	product *Product
}

func (s *Operations) party(ctx context.Context, id, field string, scope []string) (*party, error) {
	if id == "" || len(id) > 64 || !store.Storable(id) {
		return nil, fieldErr(field, "%s must name an account", field)
	}
	links, err := scanLinks(s.db.Query(ctx, `SELECT `+linkCols+` FROM customer_accounts WHERE account_id = $1`, id))
	if err != nil {
		return nil, err
	}
	if len(links) == 0 || !inScope(scope, links[0].InstitutionID) {
		return nil, errorAt(CodeAccountNotFound, field, "account %s not found", id)
	}
	l := links[0]
	p, err := s.products.Get(ctx, l.InstitutionID, l.ProductID, l.ProductVersion)
	if err != nil {
		return nil, err
	}
	return &party{link: l, product: p}, nil
}

func (r *OperationRequest) validate(counterparty bool) error {
	switch {
	case r.Reference == "" || len(r.Reference) > ledger.MaxReferenceLen || !store.Storable(r.Reference):
		return fieldErr("reference", "reference is required: text of at most %d bytes", ledger.MaxReferenceLen)
	case !tokenPattern.MatchString(r.Channel):
		return fieldErr("channel", "channel is required: 1-32 lowercase letters, digits or '_'")
	case r.Amount <= 0:
		return fieldErr("amount", "amount must be positive (minor units)")
	case counterparty && r.Counterparty == "":
		return fieldErr("counterparty", "counterparty is required")
	case !counterparty && r.Counterparty != "":
		return fieldErr("counterparty", "counterparty is only for pay and transfer")
	case r.Timeout < 0:
		return fieldErr("timeout", "timeout must not be negative")
	}
	return nil
}

// TopUp credits the customer's account from the channel's clearing account
// (Dr clearing · Cr account), with the wallet product's top-up fee debited
// to the account (Dr account · Cr fee income). Permission: ledger:post.
// Returns CodeInvalidRequest, CodeAccountNotFound,
// CodeOperationNotAllowed, CodeChannelNotAllowed (also: no clearing
// account for the channel), CodeLimitExceeded, CodeOverflow, or the
// ledger's codes (account_frozen, account_closed, insufficient_funds,
// reference_conflict, …).
func (s *Operations) TopUp(ctx context.Context, r OperationRequest) (*OperationResult, error) {
	return s.run(ctx, OpTopup, r)
}

// Withdraw reserves the amount and the withdrawal fee on the customer's
// account as a hold (Dr account · Cr clearing, Dr account · Cr fee
// income), counted against the limits now; CompleteWithdraw posts it when
// the channel confirms, FailWithdraw voids it. Permission and codes as
// TopUp.
func (s *Operations) Withdraw(ctx context.Context, r OperationRequest) (*OperationResult, error) {
	return s.run(ctx, OpWithdraw, r)
}

// Pay moves the amount from the customer's account to the merchant's
// settlement account (Counterparty), with the merchant product's payment
// fee debited to the payer or the merchant as its rule says. Permission
// and codes as TopUp.
func (s *Operations) Pay(ctx context.Context, r OperationRequest) (*OperationResult, error) {
	return s.run(ctx, OpPayment, r)
}

// Transfer moves the amount from the customer's account to the payee's
// (Counterparty), with the payer product's transfer fee. Permission and
// codes as TopUp.
func (s *Operations) Transfer(ctx context.Context, r OperationRequest) (*OperationResult, error) {
	return s.run(ctx, OpTransfer, r)
}

func (s *Operations) run(ctx context.Context, op string, r OperationRequest) (*OperationResult, error) {
	twoParty := op == OpPayment || op == OpTransfer
	if err := r.validate(twoParty); err != nil {
		return nil, err
	}
	if r.Timeout != 0 && op != OpWithdraw {
		return nil, fieldErr("timeout", "timeout is only for withdrawals")
	}
	cust, err := s.party(ctx, r.Account, "account", r.Scope)
	if err != nil {
		return nil, err
	}
	inst, asset := cust.link.InstitutionID, cust.product.Asset
	if err := cust.product.Allows(op, r.Channel); err != nil {
		return nil, err
	}
	priced := cust.product
	var other *party
	if twoParty {
		if other, err = s.party(ctx, r.Counterparty, "counterparty", r.Scope); err != nil {
			return nil, err
		}
		if other.link.AccountID == cust.link.AccountID {
			return nil, fieldErr("counterparty", "an account cannot pay itself")
		}
		if op == OpPayment {
			if other.product.Class != ClassMerchantSettlement {
				return nil, fieldErr("counterparty", "a payment goes to a merchant settlement account")
			}
			if err := other.product.Allows(op, r.Channel); err != nil {
				return nil, err
			}
			priced = other.product
		}
	}
	fee, err := priced.Fee(op, r.Channel, r.Amount)
	if err != nil {
		return nil, err
	}
	// Principal: posting 0.
	var principal ledger.Posting
	switch op {
	case OpTopup, OpWithdraw:
		clearing, err := s.cfg.ClearingAccount(ctx, inst, r.Channel, asset)
		if err != nil {
			return nil, err
		}
		principal = ledger.Posting{Debit: clearing, Credit: r.Account, Asset: asset, Amount: r.Amount}
		if op == OpWithdraw {
			principal.Debit, principal.Credit = r.Account, clearing
		}
	default:
		principal = ledger.Posting{Debit: r.Account, Credit: r.Counterparty, Asset: asset, Amount: r.Amount}
	}
	postings := []ledger.Posting{principal}
	meta := map[string]string{}
	for k, v := range r.Metadata {
		meta[k] = v
	}
	meta["operation"], meta["channel"], meta["amount"] = op, r.Channel, strconv.FormatInt(r.Amount, 10)
	meta["product"] = cust.product.ID + "@" + strconv.Itoa(cust.product.Version)
	meta["fee"] = strconv.FormatInt(fee.Amount, 10)
	meta["fee_payer"] = ""
	if fee.Amount > 0 {
		// Top-up and withdraw fees are borne by the customer's account.
		debtor := r.Account
		if twoParty && fee.Payer == PartyPayee {
			debtor = r.Counterparty
		}
		feeAcct, err := s.cfg.FeeAccount(ctx, inst, asset)
		if err != nil {
			return nil, err
		}
		postings = append(postings, ledger.Posting{Debit: debtor, Credit: feeAcct, Asset: asset, Amount: fee.Amount})
		meta["fee_payer"] = string(fee.Payer)
		meta["fee_account"] = feeAcct
	}
	kind := ledger.KindTransfer
	if op == OpWithdraw {
		kind = ledger.KindHold
	}
	payload := map[string]any{"operation": op, "channel": r.Channel, "account": r.Account,
		"counterparty": r.Counterparty, "amount": r.Amount, "fee": fee.Amount, "fee_payer": fee.Payer, "asset": asset}
	writes := []ledger.Write{usageWrite(s.ledger, cust.product, r.Account, op, r.Channel, r.Amount), s.event(payload)}
	writes = append(writes, r.Writes...)
	return s.submit(ctx, ledger.Request{Kind: kind, InstitutionID: inst, Reference: r.Reference, Type: op,
		Postings: postings, Metadata: meta, Timeout: r.Timeout, Writes: writes})
}

// event is the ride-along write of the operation.completed outbox row.
func (s *Operations) event(payload map[string]any) ledger.Write {
	return func(ctx context.Context, tx *sql.Tx, tr *ledger.Transaction) error {
		p := map[string]any{"transaction_id": tr.ID, "reference": tr.Reference, "kind": tr.Kind}
		for k, v := range payload {
			p[k] = v
		}
		return recordEvent(ctx, tx, s.ledger.Tx(tx), &Event{Type: EventOperation, Subject: "transaction:" + tr.ID,
			InstitutionID: tr.InstitutionID, CreatedAt: tr.CreatedAt, Payload: p}, nil)
	}
}

// submit posts one request; a limit refusal from the usage write becomes
// the accounts error it stands for.
func (s *Operations) submit(ctx context.Context, req ledger.Request) (*OperationResult, error) {
	res, err := s.ledger.Submit(ctx, []ledger.Request{req}, false)
	if err != nil {
		return nil, err
	}
	if e := res[0].Err; e != nil {
		if e.Code == ledger.Code(CodeLimitExceeded) {
			return nil, &Error{Code: CodeLimitExceeded, Message: e.Message, Field: e.Field}
		}
		return nil, e
	}
	return &OperationResult{Transaction: res[0].Transaction, Fee: feeOf(res[0].Transaction), Duplicate: res[0].Duplicate}, nil
}

// feeOf reads an operation's fee back from its transaction's metadata.
func feeOf(tr *ledger.Transaction) Fee {
	n, _ := strconv.ParseInt(tr.Metadata["fee"], 10, 64)
	return Fee{Amount: n, Payer: Party(tr.Metadata["fee_payer"])}
}

// ResolveRequest completes or fails a withdrawal.
type ResolveRequest struct {
	HoldID    string // the withdrawal's transaction (hold) ID
	Reference string // idempotency key of the post or void
	Metadata  map[string]string
	Scope     []string
	Writes    []ledger.Write
}

// CompleteWithdraw posts a withdrawal's hold in full: the channel paid out.
// Permission: ledger:post. Returns CodeInvalidRequest,
// CodeAccountNotFound (no such withdrawal in scope) or the ledger's
// hold_already_posted, hold_already_voided, hold_expired, ….
func (s *Operations) CompleteWithdraw(ctx context.Context, r ResolveRequest) (*OperationResult, error) {
	return s.resolve(ctx, r, ledger.KindPost)
}

// FailWithdraw voids a withdrawal's hold, releasing the amount and the fee,
// and gives its usage back. Permission and codes as CompleteWithdraw.
func (s *Operations) FailWithdraw(ctx context.Context, r ResolveRequest) (*OperationResult, error) {
	return s.resolve(ctx, r, ledger.KindVoid)
}

func (s *Operations) resolve(ctx context.Context, r ResolveRequest, kind ledger.Kind) (*OperationResult, error) {
	if r.Reference == "" || len(r.Reference) > ledger.MaxReferenceLen || !store.Storable(r.Reference) {
		return nil, fieldErr("reference", "reference is required: text of at most %d bytes", ledger.MaxReferenceLen)
	}
	hold, err := s.original(ctx, r.HoldID, "hold_id", OpWithdraw, r.Scope)
	if err != nil {
		return nil, err
	}
	typ := "withdraw_complete"
	if kind == ledger.KindVoid {
		typ = "withdraw_fail"
	}
	meta := map[string]string{}
	for k, v := range r.Metadata {
		meta[k] = v
	}
	for _, k := range []string{"operation", "channel", "amount", "fee", "fee_payer", "product"} {
		meta[k] = hold.Metadata[k]
	}
	account := hold.Postings[0].Debit
	amount, _ := strconv.ParseInt(hold.Metadata["amount"], 10, 64)
	payload := map[string]any{"operation": typ, "channel": hold.Metadata["channel"], "account": account,
		"amount": amount, "hold_id": hold.ID}
	writes := []ledger.Write{s.event(payload)}
	if kind == ledger.KindVoid {
		writes = append(writes, giveBackUsage(account, OpWithdraw, hold.Metadata["channel"], hold.BusinessDate, amount))
	}
	return s.submit(ctx, ledger.Request{Kind: kind, InstitutionID: hold.InstitutionID, Reference: r.Reference,
		Type: typ, HoldID: hold.ID, Metadata: meta, Writes: append(writes, r.Writes...)})
}

// original loads an operation's transaction of type op in scope.
func (s *Operations) original(ctx context.Context, id, field, op string, scope []string) (*ledger.Transaction, error) {
	if id == "" || len(id) > 64 || !store.Storable(id) {
		return nil, fieldErr(field, "%s is required", field)
	}
	tr, err := s.ledger.GetTransaction(ctx, id)
	if ledger.ErrorCode(err) == ledger.CodeTransactionNotFound || (err == nil && (!inScope(scope, tr.InstitutionID) || tr.Type != op)) {
		return nil, errorAt(CodeInvalidRequest, field, "no %s with ID %s", op, id)
	}
	return tr, err
}

// RefundRequest refunds a payment, in full or in part.
type RefundRequest struct {
	PaymentID string // the payment's transaction ID
	Reference string
	// Amount is what to give back (minor units); 0 refunds the payment's
	// whole amount (refused if any of it was refunded before).
	Amount   int64
	Metadata map[string]string
	Scope    []string
	Writes   []ledger.Write
}

// Refund reverses a payment's principal (posting 0: Dr merchant · Cr
// payer) by Amount; the fee is not refunded. All refunds of a payment
// together never exceed it: the ledger refuses with
// reversal_exceeds_original. The merchant product must allow refunds on
// the payment's channel. Refunds count no usage and give none back.
// Permission: ledger:post. Returns CodeInvalidRequest (also: no such
// payment), CodeOperationNotAllowed, CodeChannelNotAllowed or the ledger's
// codes.
func (s *Operations) Refund(ctx context.Context, r RefundRequest) (*OperationResult, error) {
	switch {
	case r.Reference == "" || len(r.Reference) > ledger.MaxReferenceLen || !store.Storable(r.Reference):
		return nil, fieldErr("reference", "reference is required: text of at most %d bytes", ledger.MaxReferenceLen)
	case r.Amount < 0:
		return nil, fieldErr("amount", "amount must be positive, or 0 for the whole payment")
	}
	pay, err := s.original(ctx, r.PaymentID, "payment_id", OpPayment, r.Scope)
	if err != nil {
		return nil, err
	}
	channel := pay.Metadata["channel"]
	merchant, err := s.party(ctx, pay.Postings[0].Credit, "payment_id", nil)
	if err != nil {
		return nil, err
	}
	if err := merchant.product.Allows(OpRefund, channel); err != nil {
		return nil, err
	}
	amount := r.Amount
	if amount == 0 {
		amount = pay.Postings[0].Amount
	}
	amounts := make([]int64, len(pay.Postings))
	amounts[0] = amount
	meta := map[string]string{}
	for k, v := range r.Metadata {
		meta[k] = v
	}
	meta["operation"], meta["channel"], meta["amount"], meta["fee"] = OpRefund, channel, strconv.FormatInt(amount, 10), "0"
	meta["payment_id"] = pay.ID
	payload := map[string]any{"operation": OpRefund, "channel": channel, "payment_id": pay.ID, "amount": amount,
		"account": pay.Postings[0].Debit, "counterparty": pay.Postings[0].Credit}
	return s.submit(ctx, ledger.Request{Kind: ledger.KindReversal, InstitutionID: pay.InstitutionID, Reference: r.Reference,
		Type: OpRefund, TransactionID: pay.ID, Amounts: amounts, Metadata: meta,
		Writes: append([]ledger.Write{s.event(payload)}, r.Writes...)})
}
