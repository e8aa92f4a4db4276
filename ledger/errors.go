package ledger

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable reason why the ledger refused something.
// Codes never change meaning; the API passes them to clients unchanged.
type Code string

// The ledger's rejection codes.
const (
	CodeInvalidRequest          Code = "invalid_request"            // a field is missing, malformed or not allowed here
	CodeInvalidAmount           Code = "invalid_amount"             // an amount is zero, negative or out of range
	CodeOverflow                Code = "overflow"                   // a balance would leave the int64 range
	CodeAmountTooLarge          Code = "amount_too_large"           // an amount exceeds its asset's ceiling per operation
	CodeAssetNotFound           Code = "asset_not_found"            // no asset with that code
	CodeAssetExists             Code = "asset_exists"               // an asset with that code exists with another scale
	CodeAccountNotFound         Code = "account_not_found"          // no such account (in the caller's institution)
	CodeAssetMismatch           Code = "asset_mismatch"             // posting and account assets differ
	CodeSameAccount             Code = "same_account"               // a posting debits and credits one account
	CodeInstitutionMismatch     Code = "institution_mismatch"       // an account belongs to another institution
	CodeInsufficientFunds       Code = "insufficient_funds"         // the debited account would end beyond its overdraft rule
	CodeAccountFrozen           Code = "account_frozen"             // the account's status forbids this side
	CodeAccountClosed           Code = "account_closed"             // the account is closed
	CodeAccountNotEmpty         Code = "account_not_empty"          // closing needs zero balances and no open holds
	CodeInvalidStatusChange     Code = "invalid_status_change"      // e.g. reopening a closed account
	CodeReferenceConflict       Code = "reference_conflict"         // the reference was used with different content
	CodeHoldNotFound            Code = "hold_not_found"             // no such hold
	CodeHoldAlreadyPosted       Code = "hold_already_posted"        // the hold was posted before
	CodeHoldAlreadyVoided       Code = "hold_already_voided"        // the hold was voided before
	CodeHoldExpired             Code = "hold_expired"               // the hold's expiry has passed
	CodePostExceedsHold         Code = "post_exceeds_hold"          // posting more than the hold reserved
	CodeTransactionNotFound     Code = "transaction_not_found"      // no such transaction
	CodeNotReversible           Code = "transaction_not_reversible" // holds and voids cannot be reversed
	CodeReversalExceedsOriginal Code = "reversal_exceeds_original"  // reversals would exceed the original amount
	CodeBatchTooLarge           Code = "batch_too_large"            // more items than one submission may carry
	CodeBatchAborted            Code = "batch_aborted"              // an atomic batch failed because another item did
	CodeWriteFailed             Code = "write_failed"               // a ride-along domain write failed
)

// Error is a rejection: a stable code, a message safe to show the caller and,
// for validation errors, the offending field. Internal detail, when there is
// any, is kept in the wrapped error and never in Message.
type Error struct {
	Code    Code
	Message string
	// Field names the request field at fault, as a path like
	// "postings[1].amount"; empty when no single field is.
	Field string
	err   error
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the internal cause, if any.
func (e *Error) Unwrap() error { return e.err }

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func fieldErr(code Code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the ledger error in err's chain, or "" when
// err is not a rejection (a storage failure, say).
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// ErrClosed is returned by Submit once the engine is closing.
var ErrClosed = errors.New("ledger: engine closed")
