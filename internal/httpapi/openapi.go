package httpapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// OpenAPI returns the API's OpenAPI 3.1 document as indented JSON ending in a
// newline: the form checked in as docs/openapi.json.
func (s *Server) OpenAPI() ([]byte, error) {
	b, err := json.MarshalIndent(s.api.OpenAPI(), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// contentResponses documents a 200 answer in several content types: JSON
// with the schema of T, the others (CSV, HTML) as text.
func contentResponses[T any](s *Server, types ...string) map[string]*huma.Response {
	r := rawResponses(types...)
	if mt := r["200"].Content["application/json"]; mt != nil {
		mt.Schema = s.api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[T](), true, "")
	}
	return r
}

// jsonObject is the JSON form of an end-of-day report (the manifest, a
// settlement or reconciliation report or a voucher, each an object of its
// own shape: see docs/eod.md) or of a channel's acknowledgement.
type jsonObject map[string]any

// errorDoc is an error status an operation answers and why, for the
// response's description.
type errorDoc struct {
	status int
	why    string
}

// operationErrors are the error statuses operations answer beyond those
// register derives from their kind (derivedErrors), from the domain codes
// their services return.
var operationErrors = map[string][]errorDoc{
	"payment-callback":       {{http.StatusUnauthorized, "`bad_signature`: the channel's signature does not verify"}},
	"create-asset":           {{http.StatusConflict, "`asset_exists`"}},
	"create-institution":     {{http.StatusConflict, "`conflict` (the ID exists)"}},
	"create-customer":        {{http.StatusConflict, "`conflict` (an open customer has the ID number)"}},
	"set-customer-status":    {{http.StatusConflict, "`invalid_status_change`, `customer_has_accounts`"}},
	"open-customer-account":  {{http.StatusConflict, "`product_retired`, `customer_not_active`"}},
	"freeze-account":         {{http.StatusConflict, "`invalid_status_change`"}},
	"thaw-account":           {{http.StatusConflict, "`invalid_status_change`, `freeze_in_force`"}},
	"close-account":          {{http.StatusConflict, "`account_not_empty`, `freeze_in_force`"}},
	"close-and-sweep":        {{http.StatusConflict, "`account_not_empty`, `freeze_in_force`"}},
	"place-freeze":           {{http.StatusConflict, "`invalid_status_change` (a closed account)"}},
	"lift-freeze":            {{http.StatusConflict, "`invalid_status_change` (lifted before)"}},
	"create-product":         {{http.StatusConflict, "`conflict` (the ID is in use)"}},
	"update-product":         {{http.StatusConflict, "`conflict`, `product_retired`"}},
	"retire-product":         {{http.StatusConflict, "`conflict`"}},
	"approve-adjustment":     {{http.StatusConflict, "`invalid_status_change` (decided before)"}},
	"reject-adjustment":      {{http.StatusConflict, "`invalid_status_change`"}},
	"cancel-adjustment":      {{http.StatusConflict, "`invalid_status_change`"}},
	"envelope-claim":         {{http.StatusConflict, "`envelope_expired`, `envelope_empty`, `already_claimed`"}},
	"post-hold":              {{http.StatusConflict, "`hold_already_posted`, `hold_already_voided`, `hold_expired`"}},
	"void-hold":              {{http.StatusConflict, "`hold_already_posted`, `hold_already_voided`, `hold_expired`"}},
	"upload-batch":           {{http.StatusConflict, "`reference_conflict`"}},
	"upload-payment-batch":   {{http.StatusConflict, "`reference_conflict`"}},
	"cancel-job":             {{http.StatusConflict, "`invalid_job_change`"}},
	"retry-job":              {{http.StatusConflict, "`invalid_job_change`"}},
	"create-payment-channel": {{http.StatusConflict, "`channel_exists`"}},
	"import-recon-statement": {{http.StatusConflict, "`statement_exists`"}},
	"run-recon":              {{http.StatusConflict, "`recon_run_conflict`"}},
	"resolve-discrepancy":    {{http.StatusConflict, "`discrepancy_closed`"}},
	"approve-write-off":      {{http.StatusConflict, "`discrepancy_closed`"}},
	"reject-write-off":       {{http.StatusConflict, "`discrepancy_closed`"}},
	"run-eod":                {{http.StatusConflict, "`eod_date_open`, `eod_previous_open`, `eod_running`"}},
}

// describeErrors describes each error response of an operation with the
// codes it carries and why.
func describeErrors(oapi *huma.OpenAPI, method, path string, why []errorDoc) {
	op := operation(oapi, method, path)
	if op == nil {
		return
	}
	reasons := map[int][]string{
		http.StatusInternalServerError: {"`internal`, `write_failed`: details only in the server log, under the request ID"},
	}
	for _, e := range why {
		if !slices.Contains(reasons[e.status], e.why) {
			reasons[e.status] = append(reasons[e.status], e.why)
		}
	}
	for status, r := range op.Responses {
		n, err := strconv.Atoi(status)
		if err != nil || n < 400 {
			continue
		}
		if rs := reasons[n]; len(rs) > 0 {
			d := *r
			d.Description = http.StatusText(n) + ". " + strings.Join(rs, "; ") + "."
			op.Responses[status] = &d
		}
	}
}

// operation returns the documented operation of method and path.
func operation(oapi *huma.OpenAPI, method, path string) *huma.Operation {
	item := oapi.Paths[path]
	if item == nil {
		return nil
	}
	switch method {
	case http.MethodGet:
		return item.Get
	case http.MethodPost:
		return item.Post
	case http.MethodPut:
		return item.Put
	case http.MethodPatch:
		return item.Patch
	case http.MethodDelete:
		return item.Delete
	}
	return nil
}

// documentOK documents a 200 answer beside the default status of an
// operation whose output sets its status (a Status field): a create that
// finds what the same request made before answers 200 with it.
func documentOK(oapi *huma.OpenAPI, method, path string, out reflect.Type) {
	if f, ok := out.FieldByName("Status"); !ok || f.Type.Kind() != reflect.Int {
		return
	}
	op := operation(oapi, method, path)
	if op == nil || op.Responses["200"] != nil {
		return
	}
	for status, r := range op.Responses {
		if len(status) == 3 && status[0] == '2' {
			ok := *r
			ok.Description = "OK: what an earlier request made, returned again"
			op.Responses["200"] = &ok
			return
		}
	}
}
