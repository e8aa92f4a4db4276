// Package accounts is Suanpan's account system: customers, products, the
// account life cycle and business operations, built on the ledger.
//
// It never writes a balance except through the ledger, and never logs,
// audits or returns a customer's identity fields in plain text unless a
// caller explicitly asks to reveal them: they are encrypted at rest
// (Keyring) and masked everywhere else (MaskName, MaskIDNumber, MaskPhone).
package accounts

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable reason why the account system refused
// something. Codes never change meaning; the API passes them on unchanged.
type Code string

// The refusal codes.
const (
	CodeInvalidRequest      Code = "invalid_request"       // a field is missing, malformed or not allowed here
	CodeCustomerNotFound    Code = "customer_not_found"    // no such customer (in the caller's institutions)
	CodeInvalidStatusChange Code = "invalid_status_change" // e.g. reopening a closed customer
	CodeConflict            Code = "conflict"              // e.g. an open customer of the institution has this ID number
	CodeProductNotFound     Code = "product_not_found"     // no such product (in the caller's institution)
	CodeOverflow            Code = "overflow"              // a fee or a limit sum would leave the int64 range
	CodeOperationNotAllowed Code = "operation_not_allowed" // the product does not allow this operation type
	CodeChannelNotAllowed   Code = "channel_not_allowed"   // the product does not allow this channel
	CodeLimitExceeded       Code = "limit_exceeded"        // a per-transaction, daily or monthly limit; Field names which
	CodeProductRetired      Code = "product_retired"       // the product opens no new accounts
	CodeCustomerNotActive   Code = "customer_not_active"   // the customer is frozen or closed
	CodeCustomerHasAccounts Code = "customer_has_accounts" // closing a customer whose accounts are not all closed
	CodeAccountNotFound     Code = "account_not_found"     // no such account (in the caller's institutions)
	CodeFreezeNotFound      Code = "freeze_not_found"      // no such freeze on the account
	CodeFreezeInForce       Code = "freeze_in_force"       // a recorded freeze still holds the side (or blocks closing)
	CodeAuthorityRequired   Code = "authority_required"    // only the freeze's authority may lift it (judicial: accounts:judicial)
	CodeStatementNotFound   Code = "statement_not_found"   // no such statement (in the caller's institutions)
)

// Error is a refusal: a stable code, a message safe to show the caller (it
// never holds an identity value) and, for validation errors, the field at
// fault.
type Error struct {
	Code    Code
	Message string
	Field   string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// errorAt is a refusal with a code and the field at fault.
func errorAt(code Code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

func fieldErr(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidRequest, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the accounts error in err's chain, or "".
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
