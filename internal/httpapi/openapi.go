package httpapi

import (
	"encoding/json"
	"net/http"
	"reflect"

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

// operationErrors are the error statuses operations answer beyond those
// register derives from their kind (derivedErrors), from the domain codes
// their services return:
var operationErrors = map[string][]int{
	"create-asset":           {http.StatusConflict}, // asset_exists
	"create-institution":     {http.StatusConflict}, // conflict (the ID exists)
	"create-customer":        {http.StatusConflict}, // conflict (an open customer has the ID number)
	"set-customer-status":    {http.StatusConflict}, // invalid_status_change, customer_has_accounts
	"open-customer-account":  {http.StatusConflict}, // product_retired, customer_not_active
	"freeze-account":         {http.StatusConflict}, // invalid_status_change
	"thaw-account":           {http.StatusConflict}, // invalid_status_change, freeze_in_force
	"close-account":          {http.StatusConflict}, // account_not_empty, freeze_in_force
	"close-and-sweep":        {http.StatusConflict}, // account_not_empty, freeze_in_force
	"place-freeze":           {http.StatusConflict}, // invalid_status_change (a closed account)
	"lift-freeze":            {http.StatusConflict}, // invalid_status_change (lifted before)
	"create-product":         {http.StatusConflict}, // conflict (the ID is in use)
	"update-product":         {http.StatusConflict}, // conflict, product_retired
	"retire-product":         {http.StatusConflict}, // conflict
	"approve-adjustment":     {http.StatusConflict}, // invalid_status_change (decided before)
	"reject-adjustment":      {http.StatusConflict}, // invalid_status_change
	"cancel-adjustment":      {http.StatusConflict}, // invalid_status_change
	"envelope-claim":         {http.StatusConflict}, // envelope_expired, envelope_empty, already_claimed
	"post-hold":              {http.StatusConflict}, // hold_already_posted, hold_already_voided, hold_expired
	"void-hold":              {http.StatusConflict}, // hold_already_posted, hold_already_voided, hold_expired
	"upload-batch":           {http.StatusConflict}, // reference_conflict
	"upload-payment-batch":   {http.StatusConflict}, // reference_conflict
	"cancel-job":             {http.StatusConflict}, // invalid_job_change
	"retry-job":              {http.StatusConflict}, // invalid_job_change
	"create-payment-channel": {http.StatusConflict}, // channel_exists
	"import-recon-statement": {http.StatusConflict}, // statement_exists
	"run-recon":              {http.StatusConflict}, // recon_run_conflict
	"resolve-discrepancy":    {http.StatusConflict}, // discrepancy_closed
	"approve-write-off":      {http.StatusConflict}, // discrepancy_closed
	"reject-write-off":       {http.StatusConflict}, // discrepancy_closed
	"run-eod":                {http.StatusConflict}, // eod_date_open, eod_previous_open, eod_running
}

// documentOK documents a 200 answer beside the default status of an
// operation whose output sets its status (a Status field): a create that
// finds what the same request made before answers 200 with it.
func documentOK(oapi *huma.OpenAPI, method, path string, out reflect.Type) {
	if f, ok := out.FieldByName("Status"); !ok || f.Type.Kind() != reflect.Int {
		return
	}
	item := oapi.Paths[path]
	if item == nil {
		return
	}
	var op *huma.Operation
	switch method {
	case http.MethodPost:
		op = item.Post
	case http.MethodPut:
		op = item.Put
	case http.MethodPatch:
		op = item.Patch
	}
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
