// Package recon reconciles Suanpan's payment orders with the channels'
// daily statements: it imports statement files (the channels' own
// formats, CSV by a column map per channel and branch, ISO 20022
// camt.053), matches them with the orders (internal/recon/match),
// classifies every difference, settles the common cases by rule, parks
// the rest in the suspense account for an operator, and alerts when a run
// finds more than its thresholds allow.
//
// The rules it keeps:
//   - Money moves only through the ledger: an automatic rule settles an
//     order through payments.Service.Settle (a channel success completes an
//     order without an answer; an order the channel never listed fails
//     and, if it had succeeded, is compensated), every other difference
//     is parked — Dr/Cr the channel's clearing account against suspense —
//     so that the clearing account agrees with the channel while the
//     difference is open, and every operator decision is one ledger
//     transaction against suspense.
//   - A run is recorded in one storage transaction (lines, orders,
//     discrepancies) and its rules and parking are applied afterwards, each
//     idempotent by its ledger reference, so a crash between them is
//     finished by the next run.
//   - Importing the same file twice, or reconciling a finished date again,
//     changes nothing.
//
// This package never changes a balance except through the ledger and
// never writes an order's state except through the payments service.
package recon

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
)

// Code is a stable error code of this package; the API returns it as is.
type Code string

// The error codes.
const (
	CodeInvalidRequest         Code = "invalid_request"
	CodeStatementInvalid       Code = "statement_invalid"
	CodeStatementExists        Code = "statement_exists"
	CodeStatementNotFound      Code = "statement_not_found"
	CodeRunNotFound            Code = "recon_run_not_found"
	CodeDiscrepancyNotFound    Code = "discrepancy_not_found"
	CodeDiscrepancyClosed      Code = "discrepancy_closed"
	CodeApproverIsMaker        Code = "approver_is_maker"
	CodeInternalAccountMissing Code = "internal_account_missing"
	CodeRunConflict            Code = "recon_run_conflict"
)

// The event types reconciliation emits.
const (
	EventRunCompleted        = "recon.run.completed"
	EventAlert               = "recon.alert"
	EventDiscrepancyResolved = "recon.discrepancy.resolved"
	EventWriteOffProposed    = "recon.discrepancy.write_off_proposed"
	EventWriteOffRejected    = "recon.discrepancy.write_off_rejected"
)

// CauseReconciliation is the cause orders settled by a rule record.
const CauseReconciliation = "reconciliation"

// Bounds and defaults.
const (
	maxStatementBytes = 512 << 20
	insertChunk       = 500 // rows per multi-row INSERT or IN list
	submitChunk       = 256 // parking requests per ledger submission
	settleWorkers     = 8   // orders settled by rule at once
	maxDryRunItems    = 1000
	// dateSlack widens a statement's day for its lines' times: a channel's
	// day is in its own time zone (UTC−12 … UTC+14).
	dateSlack    = 14 * time.Hour
	maxNoteBytes = 500
)

// The defaults of a channel's settings: a line without a usable reference
// and an order may be a day apart, and a one-sided item waits two days.
const (
	DefaultDateToleranceMs = 24 * 3600 * 1000
	DefaultLateWindowMs    = 48 * 3600 * 1000
)

// codeStale rejects a discrepancy change whose discrepancy changed since
// it was read; riding a ledger request, it rolls the posting back too.
const codeStale ledger.Code = "discrepancy_stale"

// Error is a reconciliation error with a stable code; its text is safe to
// show.
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

// ErrorCode returns the code of the reconciliation error in err's chain,
// or "" when there is none.
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

// Write is extra work (an audit record) committed in the storage
// transaction of a change.
type Write func(ctx context.Context, tx *sql.Tx) error

// Config builds a Service.
type Config struct {
	Ledger     *ledger.Ledger
	Payments   *payments.Service
	Operations *accounts.Operations
	Clock      clock.Clock // default: the ledger's
	Log        *slog.Logger
}

// Service imports statements, runs reconciliation and resolves
// discrepancies.
type Service struct {
	db     *store.DB
	ledger *ledger.Ledger
	pay    *payments.Service
	ops    *accounts.Operations
	clock  clock.Clock
	log    *slog.Logger
}

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = cfg.Ledger.Clock()
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Service{db: cfg.Ledger.DB(), ledger: cfg.Ledger, pay: cfg.Payments, ops: cfg.Operations, clock: cfg.Clock, log: cfg.Log}
}

func (s *Service) now() time.Time { return time.UnixMicro(s.clock.Now().UnixMicro()).UTC() }

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

// text checks a free-text field: at most n bytes, storable.
func text(field, v string, n int) error {
	if len(v) > n || !store.Storable(v) {
		return invalid(field, "%s must be text of at most %d bytes", field, n)
	}
	return nil
}

// validID checks an identifier given by a caller: at most 64 bytes, storable.
func validID(v string) bool { return v != "" && len(v) <= 64 && store.Storable(v) }

// parseDate checks a business date.
func parseDate(field, v string) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, invalid(field, "%s must be a date YYYY-MM-DD", field)
	}
	return d, nil
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }
