package accounts

import (
	"context"
	"math"
	"strconv"

	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
)

// More internal account roles.
const (
	// RoleFrozen is the frozen-funds account of an asset: a balance
	// freeze is a hold crediting it.
	RoleFrozen = "frozen"
	// RoleClearingInst is the clearing account towards another
	// institution (its channel is that institution's ID).
	RoleClearingInst = "clearing_inst"
	// RolePointsIssuance is the issuance account of a points asset.
	RolePointsIssuance = "points_issuance"
)

// The transaction types of a freeze's outcome.
const (
	TypeUnfreeze       = "unfreeze"
	TypeDeductFrozen   = "freeze_deduct"
	typeDeductTransfer = "freeze_deduct_transfer"
	// deductSuffix names the second request of a deduction: its transfer
	// from the frozen-funds account to the receiver.
	deductSuffix = "#to"
)

func copyMeta(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// FreezeBalance freezes Amount of the customer's account (Account): a hold
// without timeout, Dr account · Cr the institution's frozen-funds account
// of the asset (internal account role frozen), so the amount is no longer
// available while the balance is unchanged. The product must allow the
// operation freeze on the channel, within its limits (counted now). A
// freeze has no fee. UnfreezeBalance voids it, DeductFrozen posts it.
// Permission: ledger:post. Returns CodeInvalidRequest (also: no frozen
// account registered), CodeAccountNotFound, CodeOperationNotAllowed,
// CodeChannelNotAllowed, CodeLimitExceeded or the ledger's codes
// (insufficient_funds, account_frozen, reference_conflict, …).
func (s *Operations) FreezeBalance(ctx context.Context, r OperationRequest) (*OperationResult, error) {
	if err := r.validate(false); err != nil {
		return nil, err
	}
	if r.Timeout != 0 {
		return nil, fieldErr("timeout", "a balance freeze has no timeout")
	}
	cust, err := s.party(ctx, r.Account, "account", r.Scope)
	if err != nil {
		return nil, err
	}
	inst, asset := cust.link.InstitutionID, cust.product.Asset
	if err := cust.product.Allows(OpFreeze, r.Channel); err != nil {
		return nil, err
	}
	frozen, err := s.internalAccount(ctx, inst, RoleFrozen, "", asset)
	if err != nil {
		return nil, err
	}
	meta := copyMeta(r.Metadata)
	meta["operation"], meta["channel"], meta["amount"] = OpFreeze, r.Channel, strconv.FormatInt(r.Amount, 10)
	meta["product"] = cust.product.ID + "@" + strconv.Itoa(cust.product.Version)
	meta["fee"], meta["fee_payer"] = "0", ""
	payload := map[string]any{"operation": OpFreeze, "channel": r.Channel, "account": r.Account, "amount": r.Amount,
		"asset": asset, "frozen_account": frozen}
	writes := []ledger.Write{usageWrite(s.ledger, cust.product, r.Account, OpFreeze, r.Channel, r.Amount), s.event(payload)}
	return s.submit(ctx, ledger.Request{Kind: ledger.KindHold, InstitutionID: inst, Reference: r.Reference, Type: OpFreeze,
		Postings: []ledger.Posting{{Debit: r.Account, Credit: frozen, Asset: asset, Amount: r.Amount}},
		Metadata: meta, Writes: append(writes, r.Writes...)})
}

// UnfreezeBalance voids a balance freeze (HoldID: the freeze's
// transaction), making the amount available again, and gives its limit
// usage back. Permission: ledger:post. Returns CodeInvalidRequest (also: no
// such freeze in scope) or the ledger's hold_already_posted,
// hold_already_voided, ….
func (s *Operations) UnfreezeBalance(ctx context.Context, r ResolveRequest) (*OperationResult, error) {
	if err := checkReference(r.Reference, ledger.MaxReferenceLen); err != nil {
		return nil, err
	}
	hold, err := s.original(ctx, r.HoldID, "hold_id", OpFreeze, r.Scope)
	if err != nil {
		return nil, err
	}
	meta := copyMeta(r.Metadata)
	for _, k := range []string{"operation", "channel", "amount", "fee", "fee_payer", "product"} {
		meta[k] = hold.Metadata[k]
	}
	account := hold.Postings[0].Debit
	amount := hold.Postings[0].Amount
	payload := map[string]any{"operation": TypeUnfreeze, "channel": hold.Metadata["channel"], "account": account,
		"amount": amount, "hold_id": hold.ID}
	writes := []ledger.Write{s.event(payload), giveBackUsage(account, OpFreeze, hold.Metadata["channel"], hold.BusinessDate, amount)}
	return s.submit(ctx, ledger.Request{Kind: ledger.KindVoid, InstitutionID: hold.InstitutionID, Reference: r.Reference,
		Type: TypeUnfreeze, HoldID: hold.ID, Metadata: meta, Writes: append(writes, r.Writes...)})
}

// DeductRequest deducts frozen funds.
type DeductRequest struct {
	HoldID    string // the freeze's transaction (hold) ID
	Reference string // at most 125 bytes: the transfer leg uses Reference+"#to"
	// Receiver is the account that receives the deducted amount: any open
	// account of the freeze's institution and asset in the caller's scope.
	Receiver string
	// Amount is what to deduct (minor units); 0 deducts the whole freeze.
	// The rest of the freeze is released.
	Amount   int64
	Metadata map[string]string
	Scope    []string
	Writes   []ledger.Write
}

// DeductFrozen deducts a freeze, in full or in part, to the receiving
// account. The ledger posts a hold to the hold's own credit account, the
// frozen-funds account, so the deduction is an ATOMIC ledger batch of two
// requests of the freeze's institution: the post of the hold (reference
// Reference, type freeze_deduct: Dr account · Cr frozen funds, the rest of
// the freeze released) and a transfer (reference Reference+"#to", type
// freeze_deduct_transfer: Dr frozen funds · Cr receiver); both happen or
// neither. The result is the post; a retry returns both as duplicates.
// Usage is not changed (the freeze counted it). Permission: ledger:post.
// Returns CodeInvalidRequest (also: no such freeze in scope),
// CodeAccountNotFound (receiver) or the ledger's codes
// (hold_already_posted, hold_already_voided, amount_exceeds_hold,
// account_frozen, …).
func (s *Operations) DeductFrozen(ctx context.Context, r DeductRequest) (*OperationResult, error) {
	if err := checkReference(r.Reference, ledger.MaxReferenceLen-len(deductSuffix)); err != nil {
		return nil, err
	}
	if r.Amount < 0 {
		return nil, fieldErr("amount", "amount must be positive, or 0 for the whole freeze")
	}
	hold, err := s.original(ctx, r.HoldID, "hold_id", OpFreeze, r.Scope)
	if err != nil {
		return nil, err
	}
	frozen, asset := hold.Postings[0].Credit, hold.Postings[0].Asset
	if r.Receiver == "" || len(r.Receiver) > 64 || !store.Storable(r.Receiver) {
		return nil, fieldErr("receiver", "receiver must name an account")
	}
	recv, err := s.ledger.GetAccount(ctx, r.Receiver)
	if ledger.ErrorCode(err) == ledger.CodeAccountNotFound || (err == nil && !inScope(r.Scope, recv.InstitutionID)) {
		return nil, errorAt(CodeAccountNotFound, "receiver", "account %s not found", r.Receiver)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case recv.InstitutionID != hold.InstitutionID || recv.Asset != asset:
		return nil, fieldErr("receiver", "the receiver must be an account of institution %s in %s", hold.InstitutionID, asset)
	case recv.ID == frozen:
		return nil, fieldErr("receiver", "the receiver cannot be the frozen-funds account")
	}
	amount := r.Amount
	var amounts []int64
	if amount == 0 {
		amount = hold.Postings[0].Amount
	} else {
		amounts = []int64{amount}
	}
	meta := copyMeta(r.Metadata)
	for _, k := range []string{"operation", "channel", "fee", "fee_payer", "product"} {
		meta[k] = hold.Metadata[k]
	}
	meta["amount"], meta["receiver"] = strconv.FormatInt(amount, 10), r.Receiver
	meta["transfer_reference"] = r.Reference + deductSuffix
	account := hold.Postings[0].Debit
	payload := map[string]any{"operation": TypeDeductFrozen, "channel": hold.Metadata["channel"], "account": account,
		"amount": amount, "hold_id": hold.ID, "receiver": r.Receiver, "asset": asset}
	tmeta := map[string]string{"operation": OpFreeze, "channel": hold.Metadata["channel"], "amount": strconv.FormatInt(amount, 10),
		"fee": "0", "hold_id": hold.ID}
	res, err := s.submitAtomic(ctx, []ledger.Request{
		{Kind: ledger.KindPost, InstitutionID: hold.InstitutionID, Reference: r.Reference, Type: TypeDeductFrozen,
			HoldID: hold.ID, Amounts: amounts, Metadata: meta, Writes: append([]ledger.Write{s.event(payload)}, r.Writes...)},
		{Kind: ledger.KindTransfer, InstitutionID: hold.InstitutionID, Reference: r.Reference + deductSuffix,
			Type: typeDeductTransfer, Metadata: tmeta,
			Postings: []ledger.Posting{{Debit: frozen, Credit: r.Receiver, Asset: asset, Amount: amount}}},
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func checkReference(ref string, max int) error {
	if ref == "" || len(ref) > max || !store.Storable(ref) {
		return fieldErr("reference", "reference is required: text of at most %d bytes", max)
	}
	return nil
}

// submitAtomic posts requests as one atomic ledger batch and answers with
// the first one's result; Duplicate only when every request was. The
// rejection reported is the one that caused the abort.
func (s *Operations) submitAtomic(ctx context.Context, reqs []ledger.Request) (*OperationResult, error) {
	res, err := s.ledger.Submit(ctx, reqs, true)
	if err != nil {
		return nil, err
	}
	var aborted *ledger.Error
	for _, r := range res {
		if e := r.Err; e != nil {
			if e.Code == ledger.CodeBatchAborted {
				aborted = e
				continue
			}
			if e.Code == ledger.Code(CodeLimitExceeded) {
				return nil, &Error{Code: CodeLimitExceeded, Message: e.Message, Field: e.Field}
			}
			return nil, e
		}
	}
	if aborted != nil {
		return nil, aborted
	}
	dup := true
	for _, r := range res {
		dup = dup && r.Duplicate
	}
	return &OperationResult{Transaction: res[0].Transaction, Fee: feeOf(res[0].Transaction), Duplicate: dup}, nil
}

// SplitShare is one payee of a split payment.
type SplitShare struct {
	Account string
	Amount  int64 // minor units, > 0
}

// SplitRequest asks for a split payment (AA).
type SplitRequest struct {
	Reference string
	Account   string // the payer
	Channel   string
	Payees    []SplitShare // 1 to 126 distinct accounts other than the payer
	Metadata  map[string]string
	Scope     []string
	Writes    []ledger.Write
}

// maxSplitPayees leaves room for the fee posting.
const maxSplitPayees = ledger.MaxPostings - 2

// Split pays many payees from one payer in ONE transaction: posting i is
// Dr payer · Cr payee i; the payer product's split fee on the total (the
// sum of the shares, checked for overflow) is the last posting, always
// borne by the payer (Dr payer · Cr fee income) whatever the rule's payer,
// as there is no single payee to bill. Every payee must be a customer
// account of the payer's institution and asset. The payer's product
// governs control and limits (the total is counted). Permission:
// ledger:post. Codes as Operations.Transfer, and CodeOverflow.
func (s *Operations) Split(ctx context.Context, r SplitRequest) (*OperationResult, error) {
	if err := checkReference(r.Reference, ledger.MaxReferenceLen); err != nil {
		return nil, err
	}
	if !tokenPattern.MatchString(r.Channel) {
		return nil, fieldErr("channel", "channel is required: 1-32 lowercase letters, digits or '_'")
	}
	if len(r.Payees) == 0 || len(r.Payees) > maxSplitPayees {
		return nil, fieldErr("payees", "between 1 and %d payees are required", maxSplitPayees)
	}
	var total int64
	seen := map[string]bool{}
	for i, p := range r.Payees {
		f := "payees[" + strconv.Itoa(i) + "]"
		if p.Amount <= 0 {
			return nil, fieldErr(f+".amount", "amount must be positive (minor units)")
		}
		if total > math.MaxInt64-p.Amount {
			return nil, errorAt(CodeOverflow, "payees", "the shares add up beyond the int64 range")
		}
		total += p.Amount
		if p.Account == r.Account {
			return nil, fieldErr(f+".account", "the payer cannot be a payee")
		}
		if seen[p.Account] {
			return nil, fieldErr(f+".account", "account %s is named twice", p.Account)
		}
		seen[p.Account] = true
	}
	payer, err := s.party(ctx, r.Account, "account", r.Scope)
	if err != nil {
		return nil, err
	}
	inst, asset := payer.link.InstitutionID, payer.product.Asset
	if err := payer.product.Allows(OpSplit, r.Channel); err != nil {
		return nil, err
	}
	postings := make([]ledger.Posting, 0, len(r.Payees)+1)
	for i, p := range r.Payees {
		f := "payees[" + strconv.Itoa(i) + "].account"
		pp, err := s.party(ctx, p.Account, f, r.Scope)
		if err != nil {
			return nil, err
		}
		if pp.link.InstitutionID != inst || pp.product.Asset != asset {
			return nil, fieldErr(f, "a payee must be an account of institution %s in %s", inst, asset)
		}
		postings = append(postings, ledger.Posting{Debit: r.Account, Credit: p.Account, Asset: asset, Amount: p.Amount})
	}
	fee, err := payer.product.Fee(OpSplit, r.Channel, total)
	if err != nil {
		return nil, err
	}
	meta := copyMeta(r.Metadata)
	meta["operation"], meta["channel"], meta["amount"] = OpSplit, r.Channel, strconv.FormatInt(total, 10)
	meta["product"] = payer.product.ID + "@" + strconv.Itoa(payer.product.Version)
	meta["payees"] = strconv.Itoa(len(r.Payees))
	meta["fee"], meta["fee_payer"] = strconv.FormatInt(fee.Amount, 10), ""
	if fee.Amount > 0 {
		feeAcct, err := s.cfg.FeeAccount(ctx, inst, asset)
		if err != nil {
			return nil, err
		}
		postings = append(postings, ledger.Posting{Debit: r.Account, Credit: feeAcct, Asset: asset, Amount: fee.Amount})
		meta["fee_payer"], meta["fee_account"] = string(PartyPayer), feeAcct
	}
	payload := map[string]any{"operation": OpSplit, "channel": r.Channel, "account": r.Account, "payees": r.Payees,
		"amount": total, "fee": fee.Amount, "asset": asset}
	writes := []ledger.Write{usageWrite(s.ledger, payer.product, r.Account, OpSplit, r.Channel, total), s.event(payload)}
	return s.submit(ctx, ledger.Request{Kind: ledger.KindTransfer, InstitutionID: inst, Reference: r.Reference, Type: OpSplit,
		Postings: postings, Metadata: meta, Writes: append(writes, r.Writes...)})
}

// CrossTransfer moves the amount from the payer's account (Account, in
// institution A) to the payee's (Counterparty, in institution B ≠ A, the
// same asset). The ledger keeps one institution per transaction, so it is
// an ATOMIC batch of two requests under the same Reference (references are
// per institution): in A, Dr payer · Cr clearing(A→B), with the payer
// product's cross_transfer fee when its rule says payer (Dr payer · Cr A's
// fee income); in B, Dr clearing(B←A) · Cr payee, with the fee when the
// rule says payee (Dr payee · Cr B's fee income). Both happen or neither.
// The clearing accounts are the internal accounts of role clearing_inst
// whose channel is the other institution; the net settlement between them
// is outside this call. The payer's product governs control, limits and the
// fee; the payee's must allow cross_transfer on the channel too. Both
// institutions must be in the caller's scope. The result is A's
// transaction. Permission: ledger:post. Codes as Operations.Transfer.
func (s *Operations) CrossTransfer(ctx context.Context, r OperationRequest) (*OperationResult, error) {
	if err := r.validate(true); err != nil {
		return nil, err
	}
	if r.Timeout != 0 {
		return nil, fieldErr("timeout", "timeout is only for withdrawals")
	}
	payer, err := s.party(ctx, r.Account, "account", r.Scope)
	if err != nil {
		return nil, err
	}
	payee, err := s.party(ctx, r.Counterparty, "counterparty", r.Scope)
	if err != nil {
		return nil, err
	}
	a, b, asset := payer.link.InstitutionID, payee.link.InstitutionID, payer.product.Asset
	switch {
	case a == b:
		return nil, fieldErr("counterparty", "a cross-institution transfer goes to another institution: use transfer")
	case payee.product.Asset != asset:
		return nil, fieldErr("counterparty", "the payee's account holds %s, not %s", payee.product.Asset, asset)
	}
	if err := payer.product.Allows(OpCrossTransfer, r.Channel); err != nil {
		return nil, err
	}
	if err := payee.product.Allows(OpCrossTransfer, r.Channel); err != nil {
		return nil, err
	}
	clrA, err := s.internalAccount(ctx, a, RoleClearingInst, b, asset)
	if err != nil {
		return nil, err
	}
	clrB, err := s.internalAccount(ctx, b, RoleClearingInst, a, asset)
	if err != nil {
		return nil, err
	}
	fee, err := payer.product.Fee(OpCrossTransfer, r.Channel, r.Amount)
	if err != nil {
		return nil, err
	}
	meta := copyMeta(r.Metadata)
	meta["operation"], meta["channel"], meta["amount"] = OpCrossTransfer, r.Channel, strconv.FormatInt(r.Amount, 10)
	meta["product"] = payer.product.ID + "@" + strconv.Itoa(payer.product.Version)
	meta["fee"], meta["fee_payer"] = strconv.FormatInt(fee.Amount, 10), ""
	metaB := copyMeta(meta)
	meta["counter_institution"], metaB["counter_institution"] = b, a
	pa := []ledger.Posting{{Debit: r.Account, Credit: clrA, Asset: asset, Amount: r.Amount}}
	pb := []ledger.Posting{{Debit: clrB, Credit: r.Counterparty, Asset: asset, Amount: r.Amount}}
	if fee.Amount > 0 {
		inst, debtor := a, r.Account
		if fee.Payer == PartyPayee {
			inst, debtor = b, r.Counterparty
		}
		feeAcct, err := s.cfg.FeeAccount(ctx, inst, asset)
		if err != nil {
			return nil, err
		}
		p := ledger.Posting{Debit: debtor, Credit: feeAcct, Asset: asset, Amount: fee.Amount}
		if inst == a {
			pa = append(pa, p)
		} else {
			pb = append(pb, p)
		}
		for _, m := range []map[string]string{meta, metaB} {
			m["fee_payer"], m["fee_account"] = string(fee.Payer), feeAcct
		}
	}
	payload := map[string]any{"operation": OpCrossTransfer, "channel": r.Channel, "account": r.Account,
		"counterparty": r.Counterparty, "amount": r.Amount, "fee": fee.Amount, "fee_payer": fee.Payer, "asset": asset,
		"institution": a, "counter_institution": b}
	writes := []ledger.Write{usageWrite(s.ledger, payer.product, r.Account, OpCrossTransfer, r.Channel, r.Amount), s.event(payload)}
	return s.submitAtomic(ctx, []ledger.Request{
		{Kind: ledger.KindTransfer, InstitutionID: a, Reference: r.Reference, Type: OpCrossTransfer, Postings: pa,
			Metadata: meta, Writes: append(writes, r.Writes...)},
		{Kind: ledger.KindTransfer, InstitutionID: b, Reference: r.Reference, Type: OpCrossTransfer, Postings: pb,
			Metadata: metaB, Writes: []ledger.Write{s.event(payload)}},
	})
}

// GrantPoints credits points to the customer's points account (a product
// of class points): Dr the institution's points issuance account of the
// asset (internal account role points_issuance) · Cr account. The points
// product governs control, limits and the points_grant fee, which the
// customer's account bears (Dr account · Cr fee income). Permission:
// ledger:post. Codes as Operations.TopUp (no issuance account registered:
// CodeInvalidRequest).
func (s *Operations) GrantPoints(ctx context.Context, r OperationRequest) (*OperationResult, error) {
	return s.points(ctx, OpPointsGrant, r)
}

// RedeemPoints takes points back from the customer's points account: Dr
// account · Cr points issuance, with the points_redeem fee. Permission and
// codes as GrantPoints.
func (s *Operations) RedeemPoints(ctx context.Context, r OperationRequest) (*OperationResult, error) {
	return s.points(ctx, OpPointsRedeem, r)
}

// ExpirePoints expires points: the postings of a redemption under the
// operation points_expire. It is an explicit call: which points expire when
// (a points lot's validity) is for a scheduled job still to be added, which
// will call it. Permission and codes as GrantPoints.
func (s *Operations) ExpirePoints(ctx context.Context, r OperationRequest) (*OperationResult, error) {
	return s.points(ctx, OpPointsExpire, r)
}

func (s *Operations) points(ctx context.Context, op string, r OperationRequest) (*OperationResult, error) {
	if err := r.validate(false); err != nil {
		return nil, err
	}
	if r.Timeout != 0 {
		return nil, fieldErr("timeout", "timeout is only for withdrawals")
	}
	cust, err := s.party(ctx, r.Account, "account", r.Scope)
	if err != nil {
		return nil, err
	}
	if cust.product.Class != ClassPoints {
		return nil, fieldErr("account", "points operations need an account of a points product")
	}
	issuance, err := s.internalAccount(ctx, cust.link.InstitutionID, RolePointsIssuance, "", cust.product.Asset)
	if err != nil {
		return nil, err
	}
	p := ledger.Posting{Debit: issuance, Credit: r.Account, Amount: r.Amount}
	if op != OpPointsGrant {
		p.Debit, p.Credit = r.Account, issuance
	}
	return s.simple(ctx, op, r, cust, p)
}

// RoundDeposit moves funds from a customer's main account (Account) to
// their sub-account (Counterparty, e.g. a card purse) of the same customer,
// institution and asset (圈存): one transfer Dr main · Cr sub. The debited
// account's product — here the main account's — governs control, limits
// and the round_deposit fee, borne by the debited account. Permission:
// ledger:post. Codes as Operations.Transfer.
func (s *Operations) RoundDeposit(ctx context.Context, r OperationRequest) (*OperationResult, error) {
	return s.round(ctx, OpRoundDeposit, r)
}

// RoundWithdraw moves funds back from the sub-account (Counterparty) to the
// main account (Account) (圈提): Dr sub · Cr main; the sub-account's
// product governs control, limits and the round_withdraw fee, borne by the
// sub-account. Permission and codes as RoundDeposit.
func (s *Operations) RoundWithdraw(ctx context.Context, r OperationRequest) (*OperationResult, error) {
	return s.round(ctx, OpRoundWithdraw, r)
}

func (s *Operations) round(ctx context.Context, op string, r OperationRequest) (*OperationResult, error) {
	if err := r.validate(true); err != nil {
		return nil, err
	}
	if r.Timeout != 0 {
		return nil, fieldErr("timeout", "timeout is only for withdrawals")
	}
	main, err := s.party(ctx, r.Account, "account", r.Scope)
	if err != nil {
		return nil, err
	}
	sub, err := s.party(ctx, r.Counterparty, "counterparty", r.Scope)
	if err != nil {
		return nil, err
	}
	switch {
	case main.link.AccountID == sub.link.AccountID:
		return nil, fieldErr("counterparty", "the sub-account must differ from the main account")
	case main.link.CustomerID == "" || main.link.CustomerID != sub.link.CustomerID:
		return nil, fieldErr("counterparty", "the sub-account must be of the main account's customer")
	case main.link.InstitutionID != sub.link.InstitutionID || main.product.Asset != sub.product.Asset:
		return nil, fieldErr("counterparty", "the sub-account must be of the main account's institution and asset")
	}
	if op == OpRoundDeposit {
		return s.simple(ctx, op, r, main, ledger.Posting{Debit: r.Account, Credit: r.Counterparty, Amount: r.Amount})
	}
	return s.simple(ctx, op, r, sub, ledger.Posting{Debit: r.Counterparty, Credit: r.Account, Amount: r.Amount})
}

// simple posts a one-principal transfer governed by gov (control, limits
// counted on gov's account, the fee borne by gov's account).
func (s *Operations) simple(ctx context.Context, op string, r OperationRequest, gov *party, principal ledger.Posting) (*OperationResult, error) {
	if err := gov.product.Allows(op, r.Channel); err != nil {
		return nil, err
	}
	inst, asset, acct := gov.link.InstitutionID, gov.product.Asset, gov.link.AccountID
	principal.Asset = asset
	fee, err := gov.product.Fee(op, r.Channel, r.Amount)
	if err != nil {
		return nil, err
	}
	postings := []ledger.Posting{principal}
	meta := copyMeta(r.Metadata)
	meta["operation"], meta["channel"], meta["amount"] = op, r.Channel, strconv.FormatInt(r.Amount, 10)
	meta["product"] = gov.product.ID + "@" + strconv.Itoa(gov.product.Version)
	meta["fee"], meta["fee_payer"] = strconv.FormatInt(fee.Amount, 10), ""
	if fee.Amount > 0 {
		feeAcct, err := s.cfg.FeeAccount(ctx, inst, asset)
		if err != nil {
			return nil, err
		}
		postings = append(postings, ledger.Posting{Debit: acct, Credit: feeAcct, Asset: asset, Amount: fee.Amount})
		meta["fee_payer"], meta["fee_account"] = string(PartyPayer), feeAcct
	}
	payload := map[string]any{"operation": op, "channel": r.Channel, "account": r.Account, "counterparty": r.Counterparty,
		"amount": r.Amount, "fee": fee.Amount, "asset": asset}
	writes := []ledger.Write{usageWrite(s.ledger, gov.product, acct, op, r.Channel, r.Amount), s.event(payload)}
	return s.submit(ctx, ledger.Request{Kind: ledger.KindTransfer, InstitutionID: inst, Reference: r.Reference, Type: op,
		Postings: postings, Metadata: meta, Writes: append(writes, r.Writes...)})
}
