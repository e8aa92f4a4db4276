// Package eod closes a business day: the end-of-day runner of spec 03. For
// a date that is over it cuts the business date over (waits until no
// ledger batch can still book on it), expires holds, runs the total-score
// check and the trial balance, reconciles the channels, produces the daily
// settlement report and the summarized accounting vouchers, and archives
// them with SHA-256 checksums — each a step whose outcome is recorded.
//
// A run is idempotent and resumable. Every step is idempotent on its own;
// a step's files (artifacts) are written in the storage transaction that
// marks it done, so a step either completes with its files or not at all,
// and a run interrupted anywhere resumes at the first step not done. The
// files depend only on the date's data — never on run IDs or the time of
// the run — so a resumed run writes the same bytes as an uninterrupted
// one. A completed date is never run again.
//
// This package only reads the books: it moves no money (expiring holds is
// the ledger's own sweep) and changes no business record but its own runs.
package eod

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Code is a stable error code of this package; the API returns it as is.
type Code string

// The error codes.
const (
	CodeInvalidRequest   Code = "invalid_request"    // a malformed date or caller
	CodeDateOpen         Code = "eod_date_open"      // the date is not over yet by the ledger's business date
	CodePreviousOpen     Code = "eod_previous_open"  // an earlier date has a run that is not completed
	CodeRunning          Code = "eod_running"        // another runner holds the date's lease
	CodeNotFound         Code = "eod_not_found"      // no run for the date
	CodeArtifactNotFound Code = "artifact_not_found" // no such artifact (in the caller's institutions)
	CodeStepFailed       Code = "eod_step_failed"    // a step failed; the run is recorded as failed
)

// Error is an end-of-day error with a stable code; its text is safe to
// show an operator.
type Error struct {
	Code    Code
	Message string
	Field   string
	// Step names the failed step, for CodeStepFailed.
	Step string
	err  error
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause of a step failure.
func (e *Error) Unwrap() error { return e.err }

// ErrorCode returns the code of the eod error in err's chain, or "".
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidRequest, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Status is where a run is.
type Status string

// The run statuses.
const (
	StatusRunning Status = "running" // claimed, or interrupted (a crash) until resumed
	// StatusCompleted: every step done (or skipped).
	StatusCompleted Status = "completed"
	// StatusCompletedWithWarnings: every step ended, some with a warning
	// (a check difference, an unbalanced voucher, a reconciliation
	// discrepancy) that an operator must look at.
	StatusCompletedWithWarnings Status = "completed_with_warnings"
	StatusFailed                Status = "failed" // a step failed; running the date again resumes there
)

// Done reports whether the run has completed, with or without warnings.
func (s Status) Done() bool { return s == StatusCompleted || s == StatusCompletedWithWarnings }

// StepStatus is where a step is.
type StepStatus string

// The step statuses.
const (
	StepPending StepStatus = "pending"
	StepRunning StepStatus = "running" // started (or interrupted while running)
	StepDone    StepStatus = "done"
	StepWarning StepStatus = "warning" // ended, with findings an operator must look at
	StepFailed  StepStatus = "failed"
	StepSkipped StepStatus = "skipped" // not applicable (the outcome says why)
)

// ended reports whether a step is over and is not run again.
func (s StepStatus) ended() bool { return s == StepDone || s == StepWarning || s == StepSkipped }

// The steps, in the order they run. The names are stable: the API and the
// events show them.
const (
	StepCutover     = "cutover"
	StepExpireHolds = "expire_holds"
	StepCheck       = "check"
	StepReconcile   = "reconcile"
	StepSettlement  = "settlement_report"
	StepVouchers    = "vouchers"
	StepArchive     = "archive"
)

// Steps returns the step names in the order they run.
func Steps() []string {
	return []string{StepCutover, StepExpireHolds, StepCheck, StepReconcile, StepSettlement, StepVouchers, StepArchive}
}

// Run is one business date's end of day.
type Run struct {
	Date       string     `json:"date"`
	Status     Status     `json:"status"`
	StartedBy  string     `json:"started_by"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// Attempts counts the times the date was claimed: 1 for a run that
	// went through at once, more for one resumed after a crash or failure.
	Attempts int `json:"attempts"`
	// ManifestSHA256 is the SHA-256 (hex) of the archive's manifest, once
	// archived.
	ManifestSHA256 string `json:"manifest_sha256,omitempty"`
	// LeaseUntil is, for a running run, when its runner's lease runs out:
	// a run still running after it was interrupted (its runner crashed)
	// and is resumed by the next Run.
	LeaseUntil *time.Time `json:"lease_until,omitempty"`
	// LastError is why the run last failed ("" once it completed).
	LastError string `json:"last_error,omitempty"`
	// Steps are the run's steps in order (Get fills them; Runs does not).
	Steps []*Step `json:"steps,omitempty"`
}

// Step is one step of a run.
type Step struct {
	Name   string     `json:"name"`
	Seq    int        `json:"seq"`
	Status StepStatus `json:"status"`
	// Outcome is the step's result as JSON (absent until it has one).
	Outcome    json.RawMessage `json:"outcome,omitempty"`
	Error      string          `json:"error,omitempty"`
	Attempts   int             `json:"attempts"`
	StartedAt  *time.Time      `json:"started_at,omitempty"`
	FinishedAt *time.Time      `json:"finished_at,omitempty"`
}

// Artifact is a file a run produced. Its content depends only on the
// date's data; CreatedAt is when it was stored.
type Artifact struct {
	Date string `json:"date"`
	// Name is unique per date, e.g. "settlement-bank-a-2026-11-21.csv".
	Name string `json:"name"`
	// InstitutionID is the institution the file is about; "" for a file
	// about every institution (the manifest).
	InstitutionID string    `json:"institution_id"`
	Step          string    `json:"step"`
	ContentType   string    `json:"content_type"`
	Size          int64     `json:"size"`
	SHA256        string    `json:"sha256"`
	CreatedAt     time.Time `json:"created_at"`
	// Content is the file itself; only Artifact fills it.
	Content []byte `json:"-"`
}
