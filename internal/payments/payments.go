// Package payments moves money into and out of Suanpan through payment
// channels: it keeps the channels' configuration, and runs pay-in, pay-out
// and refund orders through the state machine of spec 03 —
// created → processing → succeeded | failed, with unknown when a channel
// did not answer — single or from bulk files.
//
// The rules it keeps:
//   - Money moves only through the ledger, by the account operations: a
//     pay-in credits the customer (top-up) when the channel says it
//     succeeded; a pay-out or refund places a hold when it is created,
//     posts it on success and voids it on failure.
//   - A timeout never decides an outcome. An order without an answer is
//     unknown and its status is queried with backoff (durable jobs); only a
//     definite answer from the channel settles it, and a channel that has
//     never seen the order gets it again under the same order ID.
//   - Answers (start responses, queries, callbacks — verified, in any order,
//     any number of times) are applied by compare-and-set on the order's
//     state in the same storage transaction as the ledger posting, so an
//     order settles once and a repeated answer changes nothing.
//   - Compensation (reversing a success) runs only on a definite failure.
//   - Every transition is recorded with its time and cause and emitted as an
//     outbox event in the same transaction.
//
// This package never changes a balance except through the ledger, and never
// treats a channel's silence as an answer.
package payments

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/suanpan/suanpan/store"
)

// Code is a stable error code of this package; the API returns it as is.
type Code string

// The error codes.
const (
	CodeInvalidRequest        Code = "invalid_request"
	CodeChannelNotFound       Code = "channel_not_found"
	CodeChannelExists         Code = "channel_exists"
	CodeChannelDisabled       Code = "channel_disabled"
	CodeDirectionNotSupported Code = "direction_not_supported"
	CodeChannelLimitExceeded  Code = "channel_limit_exceeded"
	CodeOrderNotFound         Code = "order_not_found"
	CodeReferenceConflict     Code = "reference_conflict"
	CodeBadSignature          Code = "bad_signature"
	CodeBatchNotFound         Code = "payment_batch_not_found"
	CodeBatchTooLarge         Code = "payment_batch_too_large"
)

// Error is a payments error with a stable code; its text is safe to show.
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

// ErrorCode returns the code of the payments error in err's chain, or ""
// when there is none.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func errorf(code Code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

func invalid(field, format string, args ...any) *Error {
	return errorf(CodeInvalidRequest, field, format, args...)
}

// codePattern is a channel code: the token products and clearing accounts
// name channels by.
var codePattern = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// text checks a free-text field: at most n bytes, storable.
func text(field, v string, n int) error {
	if len(v) > n || !store.Storable(v) {
		return invalid(field, "%s must be text of at most %d bytes", field, n)
	}
	return nil
}

func inScope(scope []string, inst string) bool {
	if scope == nil {
		return true
	}
	for _, s := range scope {
		if s == inst {
			return true
		}
	}
	return false
}
