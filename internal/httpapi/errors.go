package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/eod"
	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/internal/outbox"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/recon"
	"github.com/suanpan/suanpan/ledger"
)

// Problem is an RFC 9457 problem document with Suanpan's stable error code.
// Every error the API returns has this shape and the content type
// application/problem+json.
type Problem struct {
	Type      string              `json:"type" doc:"A URI identifying the problem type; the code's documentation."`
	Title     string              `json:"title" doc:"The HTTP status text."`
	Status    int                 `json:"status" doc:"The HTTP status code."`
	Code      string              `json:"code" doc:"Stable machine-readable error code, e.g. insufficient_funds."`
	Detail    string              `json:"detail,omitempty" doc:"What went wrong, for people."`
	Field     string              `json:"field,omitempty" doc:"The request field at fault, e.g. body.postings[0].amount."`
	RequestID string              `json:"request_id,omitempty" doc:"The request's ID, as in the X-Request-ID header."`
	Errors    []*huma.ErrorDetail `json:"errors,omitempty" doc:"Individual validation errors: each names a field, never its value."`
}

func (p *Problem) Error() string  { return p.Detail }
func (p *Problem) GetStatus() int { return p.Status }

// ContentType makes JSON problems application/problem+json.
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" {
		return "application/problem+json"
	}
	return ct
}

// problemType is the documentation URI of a code.
func problemType(code string) string { return "https://suanpan.dev/errors#" + code }

// newProblem builds a problem; it replaces huma's default error model so
// that validation failures huma finds itself carry a code too.
func newProblem(status int, msg string, errs ...error) huma.StatusError {
	for _, e := range errs {
		var c *codedDetail
		if errors.As(e, &c) {
			return c.p
		}
	}
	code := "internal"
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		code = "invalid_request"
	case http.StatusNotFound:
		code = "not_found"
	case http.StatusMethodNotAllowed:
		code = "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		code = "request_too_large"
	case http.StatusUnsupportedMediaType:
		code = "unsupported_media_type"
	case http.StatusNotAcceptable:
		code = "not_acceptable"
	case http.StatusUnauthorized:
		code = auth.CodeUnauthenticated
	case http.StatusForbidden:
		code = auth.CodeForbidden
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		code = "timeout"
	case http.StatusServiceUnavailable:
		code = "unavailable"
	case http.StatusTooManyRequests:
		code = codeTooManyRequests
	}
	p := &Problem{Type: problemType(code), Title: http.StatusText(status), Status: status, Code: code, Detail: msg}
	for _, e := range errs {
		if e == nil {
			continue
		}
		var d huma.ErrorDetailer
		if errors.As(e, &d) {
			ed := redacted(d.ErrorDetail())
			p.Errors = append(p.Errors, ed)
			if p.Field == "" {
				p.Field = ed.Location
			}
		} else {
			p.Errors = append(p.Errors, &huma.ErrorDetail{Message: e.Error()})
		}
	}
	return p
}

// redacted is a copy of a validation error without the request's value,
// which huma echoes (a missing field's value is the whole body: identity
// numbers, phones, secrets). A message huma extends with the error of a
// parser ("expected string to be RFC 3986 uri: parse \"…\": …") quotes the
// value too, so it keeps only what precedes the parser's words. A problem
// names the field; the client has the value.
func redacted(d *huma.ErrorDetail) *huma.ErrorDetail {
	msg := d.Message
	if strings.HasPrefix(msg, "expected ") {
		msg, _, _ = strings.Cut(msg, ": ")
	}
	return &huma.ErrorDetail{Message: msg, Location: d.Location}
}

// ledgerStatus maps each ledger code to its HTTP status.
var ledgerStatus = map[ledger.Code]int{
	ledger.CodeInvalidRequest:          http.StatusUnprocessableEntity,
	ledger.CodeInvalidAmount:           http.StatusUnprocessableEntity,
	ledger.CodeSameAccount:             http.StatusUnprocessableEntity,
	ledger.CodeAssetMismatch:           http.StatusUnprocessableEntity,
	ledger.CodeInstitutionMismatch:     http.StatusUnprocessableEntity,
	ledger.CodeOverflow:                http.StatusUnprocessableEntity,
	ledger.CodeAmountTooLarge:          http.StatusUnprocessableEntity,
	ledger.CodeInsufficientFunds:       http.StatusUnprocessableEntity,
	ledger.CodeAccountFrozen:           http.StatusUnprocessableEntity,
	ledger.CodeAccountClosed:           http.StatusUnprocessableEntity,
	ledger.CodePostExceedsHold:         http.StatusUnprocessableEntity,
	ledger.CodeReversalExceedsOriginal: http.StatusUnprocessableEntity,
	ledger.CodeNotReversible:           http.StatusUnprocessableEntity,
	ledger.CodeBatchAborted:            http.StatusUnprocessableEntity,
	ledger.CodeWriteFailed:             http.StatusInternalServerError,
	ledger.CodeAssetNotFound:           http.StatusNotFound,
	ledger.CodeAccountNotFound:         http.StatusNotFound,
	ledger.CodeHoldNotFound:            http.StatusNotFound,
	ledger.CodeTransactionNotFound:     http.StatusNotFound,
	ledger.CodeAssetExists:             http.StatusConflict,
	ledger.CodeReferenceConflict:       http.StatusConflict,
	ledger.CodeHoldAlreadyPosted:       http.StatusConflict,
	ledger.CodeHoldAlreadyVoided:       http.StatusConflict,
	ledger.CodeHoldExpired:             http.StatusConflict,
	ledger.CodeAccountNotEmpty:         http.StatusConflict,
	ledger.CodeInvalidStatusChange:     http.StatusConflict,
	ledger.CodeBatchTooLarge:           http.StatusRequestEntityTooLarge,
	accounts.CodeEnvelopeExpired:       http.StatusConflict,
	accounts.CodeEnvelopeEmpty:         http.StatusConflict,
	accounts.CodeAlreadyClaimed:        http.StatusConflict,
}

var authStatus = map[string]int{
	auth.CodeUnauthenticated: http.StatusUnauthorized,
	auth.CodeForbidden:       http.StatusForbidden,
	auth.CodeNotFound:        http.StatusNotFound,
	auth.CodeInvalidRequest:  http.StatusUnprocessableEntity,
	auth.CodeConflict:        http.StatusConflict,
}

var accountsStatus = map[accounts.Code]int{
	accounts.CodeInvalidRequest:      http.StatusUnprocessableEntity,
	accounts.CodeOverflow:            http.StatusUnprocessableEntity,
	accounts.CodeOperationNotAllowed: http.StatusUnprocessableEntity,
	accounts.CodeChannelNotAllowed:   http.StatusUnprocessableEntity,
	accounts.CodeLimitExceeded:       http.StatusUnprocessableEntity,
	accounts.CodeCustomerNotFound:    http.StatusNotFound,
	accounts.CodeProductNotFound:     http.StatusNotFound,
	accounts.CodeInvalidStatusChange: http.StatusConflict,
	accounts.CodeConflict:            http.StatusConflict,
	accounts.CodeProductRetired:      http.StatusConflict,
	accounts.CodeCustomerNotActive:   http.StatusConflict,
	accounts.CodeCustomerHasAccounts: http.StatusConflict,
	accounts.CodeFreezeInForce:       http.StatusConflict,
	accounts.CodeAccountNotFound:     http.StatusNotFound,
	accounts.CodeFreezeNotFound:      http.StatusNotFound,
	accounts.CodeAuthorityRequired:   http.StatusForbidden,
	accounts.CodeStatementNotFound:   http.StatusNotFound,
	accounts.CodeApprovalNotFound:    http.StatusNotFound,
	accounts.CodeApproverIsMaker:     http.StatusForbidden,
	accounts.CodeNotMaker:            http.StatusForbidden,
	accounts.CodeBatchNotFound:       http.StatusNotFound,
	accounts.CodeBatchTooLarge:       http.StatusRequestEntityTooLarge,
	accounts.CodeEnvelopeNotFound:    http.StatusNotFound,
}

var paymentsStatus = map[payments.Code]int{
	payments.CodeInvalidRequest:        http.StatusUnprocessableEntity,
	payments.CodeChannelNotFound:       http.StatusNotFound,
	payments.CodeChannelExists:         http.StatusConflict,
	payments.CodeChannelDisabled:       http.StatusUnprocessableEntity,
	payments.CodeDirectionNotSupported: http.StatusUnprocessableEntity,
	payments.CodeChannelLimitExceeded:  http.StatusUnprocessableEntity,
	payments.CodeOrderNotFound:         http.StatusNotFound,
	payments.CodeReferenceConflict:     http.StatusConflict,
	payments.CodeBadSignature:          http.StatusUnauthorized,
	payments.CodeBatchNotFound:         http.StatusNotFound,
	payments.CodeBatchTooLarge:         http.StatusRequestEntityTooLarge,
}

var jobsStatus = map[jobs.Code]int{
	jobs.CodeInvalidRequest:   http.StatusUnprocessableEntity,
	jobs.CodeJobNotFound:      http.StatusNotFound,
	jobs.CodeInvalidJobChange: http.StatusConflict,
}

var outboxStatus = map[outbox.Code]int{
	outbox.CodeInvalidRequest:   http.StatusUnprocessableEntity,
	outbox.CodeWebhookNotFound:  http.StatusNotFound,
	outbox.CodeDeliveryNotFound: http.StatusNotFound,
	outbox.CodeTooManyWebhooks:  http.StatusUnprocessableEntity,
}

var reconStatus = map[recon.Code]int{
	recon.CodeInvalidRequest:         http.StatusUnprocessableEntity,
	recon.CodeStatementInvalid:       http.StatusUnprocessableEntity,
	recon.CodeStatementExists:        http.StatusConflict,
	recon.CodeStatementNotFound:      http.StatusNotFound,
	recon.CodeRunNotFound:            http.StatusNotFound,
	recon.CodeDiscrepancyNotFound:    http.StatusNotFound,
	recon.CodeDiscrepancyClosed:      http.StatusConflict,
	recon.CodeApproverIsMaker:        http.StatusForbidden,
	recon.CodeInternalAccountMissing: http.StatusUnprocessableEntity,
	recon.CodeRunConflict:            http.StatusConflict,
}

var eodStatus = map[eod.Code]int{
	eod.CodeInvalidRequest:   http.StatusUnprocessableEntity,
	eod.CodeDateOpen:         http.StatusConflict,
	eod.CodePreviousOpen:     http.StatusConflict,
	eod.CodeRunning:          http.StatusConflict,
	eod.CodeNotFound:         http.StatusNotFound,
	eod.CodeArtifactNotFound: http.StatusNotFound,
	eod.CodeStepFailed:       http.StatusUnprocessableEntity,
}

// toProblem turns any error a handler meets into the problem the client
// sees. Errors without a code are internal: the client gets a generic
// message and the request ID, the log gets the detail.
func (s *Server) toProblem(ctx context.Context, err error) error {
	var p *Problem
	if errors.As(err, &p) {
		p.RequestID = requestID(ctx)
		return p
	}
	var le *ledger.Error
	if errors.As(err, &le) {
		status, ok := ledgerStatus[le.Code]
		if !ok {
			status = http.StatusUnprocessableEntity
		}
		if le.Code == ledger.CodeWriteFailed {
			s.Log.ErrorContext(ctx, "ride-along write failed", "request_id", requestID(ctx), "err", err)
		}
		return &Problem{Type: problemType(string(le.Code)), Title: http.StatusText(status), Status: status,
			Code: string(le.Code), Detail: le.Message, Field: bodyField(le.Field), RequestID: requestID(ctx)}
	}
	var ae *auth.Error
	if errors.As(err, &ae) {
		status := authStatus[ae.Code]
		if status == 0 {
			status = http.StatusUnprocessableEntity
		}
		return &Problem{Type: problemType(ae.Code), Title: http.StatusText(status), Status: status,
			Code: ae.Code, Detail: ae.Message, Field: bodyField(ae.Field), RequestID: requestID(ctx)}
	}
	var ce *accounts.Error
	if errors.As(err, &ce) {
		status := accountsStatus[ce.Code]
		if status == 0 {
			status = http.StatusUnprocessableEntity
		}
		field := bodyField(ce.Field)
		switch ce.Field {
		case "id_number", "after", "version":
			field = "query." + ce.Field
		}
		if ce.Code == accounts.CodeLimitExceeded {
			// The bound passed: per_transaction, daily_amount, …
			field = ce.Field
		}
		return &Problem{Type: problemType(string(ce.Code)), Title: http.StatusText(status), Status: status,
			Code: string(ce.Code), Detail: ce.Message, Field: field, RequestID: requestID(ctx)}
	}
	var pe *payments.Error
	if errors.As(err, &pe) {
		return coded(ctx, paymentsStatus[pe.Code], string(pe.Code), pe.Message, serviceField(pe.Field))
	}
	var je *jobs.Error
	if errors.As(err, &je) {
		return coded(ctx, jobsStatus[je.Code], string(je.Code), je.Message, serviceField(je.Field))
	}
	var oe *outbox.Error
	if errors.As(err, &oe) {
		return coded(ctx, outboxStatus[oe.Code], string(oe.Code), oe.Message, serviceField(oe.Field))
	}
	var re *recon.Error
	if errors.As(err, &re) {
		return coded(ctx, reconStatus[re.Code], string(re.Code), re.Message, serviceField(re.Field))
	}
	var ee *eod.Error
	if errors.As(err, &ee) {
		if ee.Code == eod.CodeStepFailed {
			s.Log.ErrorContext(ctx, "end-of-day step failed", "request_id", requestID(ctx), "step", ee.Step, "err", err)
		}
		return coded(ctx, eodStatus[ee.Code], string(ee.Code), ee.Message, serviceField(ee.Field))
	}
	if errors.Is(err, ledger.ErrClosed) {
		return &Problem{Type: problemType("unavailable"), Title: http.StatusText(http.StatusServiceUnavailable), Status: http.StatusServiceUnavailable, Code: "unavailable",
			Detail: "the server is shutting down; retry with the same Idempotency-Key or reference", RequestID: requestID(ctx)}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &Problem{Type: problemType("timeout"), Title: http.StatusText(http.StatusGatewayTimeout), Status: http.StatusGatewayTimeout, Code: "timeout",
			Detail:    "the request did not finish in time; its outcome is unknown: retry with the same Idempotency-Key or reference",
			RequestID: requestID(ctx)}
	}
	s.Log.ErrorContext(ctx, "internal error", "request_id", requestID(ctx), "err", err)
	return &Problem{Type: problemType("internal"), Title: http.StatusText(http.StatusInternalServerError), Status: http.StatusInternalServerError, Code: "internal",
		Detail: "internal error; quote the request ID when reporting it", RequestID: requestID(ctx)}
}

// bodyField turns a domain field path into the API's location syntax. The
// hold and transaction a single request acts on come from the path.
func bodyField(f string) string {
	switch f {
	case "":
		return ""
	case "hold_id", "transaction_id":
		return "path.id"
	}
	return "body." + f
}

// serviceField turns the field of a payments, jobs or outbox error into
// the API's location syntax: the resource a request acts on comes from the
// path, cursors and page sizes from the query, the rest from the body. A
// handler that takes a field from elsewhere names its location itself
// ("query.channel_id", or "body" for a whole file).
func serviceField(f string) string {
	switch {
	case f == "":
		return ""
	case f == "id":
		return "path.id"
	case f == "after" || f == "limit":
		return "query." + f
	case f == "body" || strings.HasPrefix(f, "query.") || strings.HasPrefix(f, "path."):
		return f
	}
	return "body." + f
}

// coded is the problem of a domain error with a stable code; a code
// without a status is a refusal of the request (422).
func coded(ctx context.Context, status int, code, detail, field string) *Problem {
	if status == 0 {
		status = http.StatusUnprocessableEntity
	}
	return fail(ctx, status, code, field, detail)
}

// fail returns a problem with the given status and code.
func fail(ctx context.Context, status int, code, field, detail string) *Problem {
	return &Problem{Type: problemType(code), Title: http.StatusText(status), Status: status, Code: code,
		Detail: detail, Field: field, RequestID: requestID(ctx)}
}
