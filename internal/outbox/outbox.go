// Package outbox delivers Suanpan's business events: the transactional
// outbox they are recorded in (Record, in the storage transaction of the
// change they describe), webhook subscriptions (Webhooks), the relay that
// fans committed events out into signed, retried webhook deliveries run by
// the job scheduler, and the optional publisher to NATS JetStream
// (Streamer).
//
// Delivery is at least once: a receiver de-duplicates by the webhook-id
// header (the event ID) or the Nats-Msg-Id header. This package only reads
// what the rest of Suanpan records; it must never change balances or any
// other business state, never show a webhook's secret except when it is
// created or rotated, never connect a delivery to an address outside the
// public internet and the ranges the operator allows (address.go), and never
// keep what a receiver answered beyond its status code.
package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Execer runs a statement: a *sql.Tx, or a wrapper of one. Record writes
// through it so that the event commits with the caller's change.
type Execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// TxWrite is extra work committed in the same storage transaction as a
// change to a webhook or a delivery (an audit record, say).
type TxWrite func(ctx context.Context, tx *sql.Tx) error

// Code is a stable, machine-readable reason why the outbox refused
// something. Codes never change meaning; the API passes them on unchanged.
type Code string

// The refusal codes.
const (
	CodeInvalidRequest   Code = "invalid_request"    // a field is missing, malformed or not allowed here; Field names which
	CodeWebhookNotFound  Code = "webhook_not_found"  // no such webhook (in the caller's institutions)
	CodeDeliveryNotFound Code = "delivery_not_found" // no such delivery (in the caller's institutions)
	CodeTooManyWebhooks  Code = "too_many_webhooks"  // the institution already has MaxWebhooks webhooks
)

// Error is a refusal: a stable code, a message safe to show the caller and,
// for validation errors, the field at fault.
type Error struct {
	Code    Code
	Message string
	Field   string
}

// Error returns the code, the message and the field at fault.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func fieldErr(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidRequest, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the outbox error in err's chain, or "".
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
