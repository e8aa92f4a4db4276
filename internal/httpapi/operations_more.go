package httpapi

import (
	"context"

	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/ledger"
)

// More business operations: balance freeze (and its unfreeze or
// deduction), split payment, cross-institution transfer, points grant,
// redeem and expire, round deposit and withdraw.

type deductBody struct {
	Reference string            `json:"reference" minLength:"1" maxLength:"125" doc:"The deduction's reference; its transfer leg is posted under reference + \"#to\"."`
	Receiver  string            `json:"receiver" minLength:"1" maxLength:"64" doc:"The account that receives the deducted amount: of the freeze's institution and asset."`
	Amount    int64             `json:"amount,omitempty" minimum:"0" doc:"What to deduct, minor units; omitted or 0: the whole freeze. The rest is released."`
	Metadata  map[string]string `json:"metadata,omitempty"`
}

type deductIn struct {
	IdempotencyHeader
	ID   string `path:"id" maxLength:"64" doc:"The freeze's transaction (hold) ID."`
	Body deductBody
}

type unfreezeIn struct {
	IdempotencyHeader
	ID   string `path:"id" maxLength:"64" doc:"The freeze's transaction (hold) ID."`
	Body resolveWithdrawBody
}

// SplitShareBody is one payee of a split payment.
type SplitShareBody struct {
	Account string `json:"account" minLength:"1" maxLength:"64"`
	Amount  int64  `json:"amount" minimum:"1" doc:"Minor units."`
}

type splitBody struct {
	Reference string            `json:"reference" minLength:"1" maxLength:"128"`
	Account   string            `json:"account" minLength:"1" maxLength:"64" doc:"The payer."`
	Channel   string            `json:"channel" minLength:"1" maxLength:"32"`
	Payees    []SplitShareBody  `json:"payees" minItems:"1" maxItems:"126" doc:"Distinct customer accounts of the payer's institution and asset, other than the payer."`
	Metadata  map[string]string `json:"metadata,omitempty"`
}

type splitIn struct {
	IdempotencyHeader
	Body splitBody
}

func (s *Server) registerMoreOperations() {
	registerOperation(s, "operation-freeze", "/operations/freeze", "Freeze part of a balance",
		"A hold without timeout, Dr the account · Cr the institution's frozen-funds "+
			"account (internal account role frozen): the amount stops being available. The product must allow freeze on the channel, "+
			"within its limits. No fee. Unfreeze or deduct it by the transaction's ID.", s.opFreeze)
	registerOperation(s, "operation-unfreeze", "/operations/freeze/{id}/unfreeze", "Unfreeze a balance freeze",
		"Voids the freeze's hold and gives its limit usage back.", s.opUnfreeze)
	registerOperation(s, "operation-deduct-frozen", "/operations/freeze/{id}/deduct", "Deduct frozen funds",
		"Posts the freeze, in full or in part (the rest is released), and moves the amount "+
			"from the frozen-funds account to the receiver, as one atomic ledger batch: the post under the reference, the transfer "+
			"under reference + \"#to\". The answer is the post.", s.opDeductFrozen)
	registerOperation(s, "operation-split", "/operations/split", "Split payment (AA)",
		"One transaction: Dr the payer · Cr each payee, and the payer product's split fee on "+
			"the total (Dr payer · Cr fee income), always borne by the payer. The total is counted against the payer's limits.", s.opSplit)
	registerOperation(s, "operation-cross-transfer", "/operations/cross-transfer", "Transfer to another institution",
		"Dr payer · Cr clearing(A→B) in the payer's institution and "+
			"Dr clearing(B←A) · Cr payee in the payee's, one atomic ledger batch under the same reference: both or neither. Clearing "+
			"accounts are internal accounts of role clearing_inst with the other institution as channel. The payer product's "+
			"cross_transfer fee is posted in the institution of who bears it. Both institutions must be in the caller's scope. "+
			"The answer is the payer institution's transaction.", s.opCrossTransfer)
	points := []struct{ path, id, summary, desc string }{
		{"grant", "operation-points-grant", "Grant points", "Dr the institution's points issuance account · Cr the points account."},
		{"redeem", "operation-points-redeem", "Redeem points", "Dr the points account · Cr the points issuance account."},
		{"expire", "operation-points-expire", "Expire points", "The postings of a redemption under the operation points_expire. " +
			"Called explicitly: scheduled expiry is a job still to be added."},
	}
	for _, p := range points {
		op := "points_" + p.path
		registerOperation(s, p.id, "/operations/points/"+p.path, p.summary, p.desc+" The account must be of a points product, "+
			"which governs control, limits and the "+op+" fee (borne by the points account).", s.opPoints(op))
	}
	registerOperation(s, "operation-round-deposit", "/operations/round-deposit", "Round deposit (圈存)",
		"Dr the main account (account) · Cr its sub-account (counterparty, e.g. a card purse) of the same customer, "+
			"institution and asset. The main account's product governs control, limits and the fee.", s.opRound(accounts.OpRoundDeposit))
	registerOperation(s, "operation-round-withdraw", "/operations/round-withdraw", "Round withdraw (圈提)",
		"Dr the sub-account (counterparty) · Cr the main account (account). The sub-account's product governs control, "+
			"limits and the fee.", s.opRound(accounts.OpRoundWithdraw))
}

func (s *Server) opPoints(op string) func(context.Context, *topupIn) (*operationOut, error) {
	return func(ctx context.Context, in *topupIn) (*operationOut, error) {
		return s.operations(ctx, in.IdempotencyKey, "operations."+op, in.Body, func(w []ledger.Write) (*accounts.OperationResult, error) {
			r := in.Body.request(ctx, "", w)
			switch op {
			case accounts.OpPointsGrant:
				return s.Operations.GrantPoints(ctx, r)
			case accounts.OpPointsRedeem:
				return s.Operations.RedeemPoints(ctx, r)
			}
			return s.Operations.ExpirePoints(ctx, r)
		})
	}
}

func (s *Server) opRound(op string) func(context.Context, *twoPartyIn) (*operationOut, error) {
	return func(ctx context.Context, in *twoPartyIn) (*operationOut, error) {
		return s.operations(ctx, in.IdempotencyKey, "operations."+op, in.Body, func(w []ledger.Write) (*accounts.OperationResult, error) {
			r := in.Body.request(ctx, in.Body.Counterparty, w)
			if op == accounts.OpRoundDeposit {
				return s.Operations.RoundDeposit(ctx, r)
			}
			return s.Operations.RoundWithdraw(ctx, r)
		})
	}
}

func (s *Server) opFreeze(ctx context.Context, in *topupIn) (*operationOut, error) {
	return s.operations(ctx, in.IdempotencyKey, "operations.freeze", in.Body, func(w []ledger.Write) (*accounts.OperationResult, error) {
		return s.Operations.FreezeBalance(ctx, in.Body.request(ctx, "", w))
	})
}

func (s *Server) opUnfreeze(ctx context.Context, in *unfreezeIn) (*operationOut, error) {
	if err := inScopeTransaction(ctx, s.Ledger, in.ID, "hold_id"); err != nil {
		return nil, err
	}
	return s.operations(ctx, in.IdempotencyKey, "operations.unfreeze:"+in.ID, in.Body, func(w []ledger.Write) (*accounts.OperationResult, error) {
		return s.Operations.UnfreezeBalance(ctx, accounts.ResolveRequest{HoldID: in.ID, Reference: in.Body.Reference,
			Metadata: in.Body.Metadata, Scope: principal(ctx).Scope, Writes: w})
	})
}

func (s *Server) opDeductFrozen(ctx context.Context, in *deductIn) (*operationOut, error) {
	if err := inScopeTransaction(ctx, s.Ledger, in.ID, "hold_id"); err != nil {
		return nil, err
	}
	return s.operations(ctx, in.IdempotencyKey, "operations.deduct:"+in.ID, in.Body, func(w []ledger.Write) (*accounts.OperationResult, error) {
		return s.Operations.DeductFrozen(ctx, accounts.DeductRequest{HoldID: in.ID, Reference: in.Body.Reference,
			Receiver: in.Body.Receiver, Amount: in.Body.Amount, Metadata: in.Body.Metadata, Scope: principal(ctx).Scope, Writes: w})
	})
}

func (s *Server) opSplit(ctx context.Context, in *splitIn) (*operationOut, error) {
	return s.operations(ctx, in.IdempotencyKey, "operations.split", in.Body, func(w []ledger.Write) (*accounts.OperationResult, error) {
		payees := make([]accounts.SplitShare, len(in.Body.Payees))
		for i, p := range in.Body.Payees {
			payees[i] = accounts.SplitShare{Account: p.Account, Amount: p.Amount}
		}
		return s.Operations.Split(ctx, accounts.SplitRequest{Reference: in.Body.Reference, Account: in.Body.Account,
			Channel: in.Body.Channel, Payees: payees, Metadata: in.Body.Metadata, Scope: principal(ctx).Scope, Writes: w})
	})
}

func (s *Server) opCrossTransfer(ctx context.Context, in *twoPartyIn) (*operationOut, error) {
	return s.operations(ctx, in.IdempotencyKey, "operations.cross_transfer", in.Body, func(w []ledger.Write) (*accounts.OperationResult, error) {
		return s.Operations.CrossTransfer(ctx, in.Body.request(ctx, in.Body.Counterparty, w))
	})
}
