package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/httpapi"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/recon"
	"github.com/suanpan/suanpan/ledger"
)

// crossOutcome is what a key of an unrelated institution ("other") gets when
// it reaches for branch-a's data.
type crossOutcome int

const (
	// crossNotFound: 404, the ID names a resource of branch-a.
	crossNotFound crossOutcome = iota
	// crossForbidden: 403, the request names institution branch-a.
	crossForbidden
	// crossExcludes: 200, a list that holds none of branch-a's data.
	crossExcludes
	// crossShared: 2xx, the resource belongs to no institution (assets are
	// reference data; verification covers the whole store and reports
	// counts); the answer still holds none of branch-a's data.
	crossShared
)

// authzCase is how the authorization matrix calls one route.
type authzCase struct {
	// path is the request path with placeholders ({account}, {tx},
	// {hold}, {key}) for branch-a's resources.
	path string
	// body is sent on every leg; it is valid, and names branch-a where the
	// route takes an institution.
	body any
	// wrongRole is a role that lacks the route's permission; "" when every
	// role has it, and then why says so.
	wrongRole auth.Role
	cross     crossOutcome
	why       string
	// parentQuery is added to the path for the parent's key.
	parentQuery string
	// public marks a route without an API key (its route table permission
	// is ""): something else authenticates it.
	public *publicRoute
}

// publicRoute is how a public route refuses a request that lacks what
// authenticates it, whatever API key it carries.
type publicRoute struct {
	status int
	code   string
}

// callbackRoute is the channels' callback route, which the channel's
// signature over the body authenticates.
var callbackRoute = &publicRoute{status: http.StatusUnauthorized, code: "bad_signature"}

// batchCSV is a batch file with one top-up of account.
func batchCSV(account string) string {
	return "reference,operation,account,counterparty,channel,amount,payment_id\nl1,topup," + account + ",,app,1.00,\n"
}

const (
	everyRole        = "every role has ledger:read"
	everyProductRole = "every role has products:read"
	everyPaymentRole = "every role has payments:read"
)

// productConfig is a valid product body for the matrix.
var productConfig = map[string]any{"name": "BA wallet", "class": "wallet", "asset": "CNY", "chart_code": "ba2001", "normal_side": "credit"}

func withID(id, inst string, m map[string]any) map[string]any {
	out := map[string]any{"id": id, "institution_id": inst}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// authzMatrix lists every route. TestAuthorizationMatrix fails when a route
// is added without an entry here.
var authzMatrix = map[string]authzCase{
	"POST /v1/assets":               {path: "/v1/assets", body: map[string]any{"code": "XTS", "scale": 2}, wrongRole: auth.RoleOperator, cross: crossForbidden, why: "assets are shared by all institutions: only root keys register them"},
	"GET /v1/assets":                {path: "/v1/assets", cross: crossShared, why: everyRole + "; assets are shared reference data"},
	"GET /v1/assets/{code}":         {path: "/v1/assets/CNY", cross: crossShared, why: everyRole + "; assets are shared reference data"},
	"PATCH /v1/assets/{code}":       {path: "/v1/assets/CNY", body: map[string]any{"max_amount": ledger.DefaultMaxAmount(2)}, wrongRole: auth.RoleOperator, cross: crossForbidden, why: "assets are shared by all institutions: only root keys change their ceiling"},
	"POST /v1/accounts":             {path: "/v1/accounts", body: map[string]any{"institution_id": "branch-a", "asset": "CNY", "code": "2001", "normal_side": "credit"}, wrongRole: auth.RolePoster, cross: crossForbidden},
	"GET /v1/accounts":              {path: "/v1/accounts", cross: crossExcludes, why: everyRole},
	"GET /v1/accounts/{id}":         {path: "/v1/accounts/{account}", cross: crossNotFound, why: everyRole},
	"POST /v1/accounts/{id}/freeze": {path: "/v1/accounts/{account}/freeze", body: map[string]any{"side": "both"}, wrongRole: auth.RolePoster, cross: crossNotFound},
	"POST /v1/accounts/{id}/thaw":   {path: "/v1/accounts/{frozen}/thaw", body: map[string]any{"side": "both"}, wrongRole: auth.RoleViewer, cross: crossNotFound},
	"POST /v1/accounts/{id}/close":  {path: "/v1/accounts/{empty}/close", body: map[string]any{}, wrongRole: auth.RoleAuditor, cross: crossNotFound},
	"GET /v1/accounts/{id}/balance": {path: "/v1/accounts/{account}/balance", cross: crossNotFound, why: everyRole},
	"GET /v1/accounts/{id}/entries": {path: "/v1/accounts/{account}/entries", cross: crossNotFound, why: everyRole},
	"GET /v1/accounts/{id}/holds":   {path: "/v1/accounts/{account}/holds", cross: crossNotFound, why: everyRole},
	"POST /v1/transactions": {path: "/v1/transactions", body: map[string]any{"institution_id": "branch-a", "reference": "x1",
		"postings": []any{posting("{bank}", "{account}", "CNY", 1)}}, wrongRole: auth.RoleViewer, cross: crossForbidden},
	"POST /v1/transactions/batch": {path: "/v1/transactions/batch", body: map[string]any{"institution_id": "branch-a", "items": []any{
		map[string]any{"kind": "transfer", "reference": "x2", "postings": []any{posting("{bank}", "{account}", "CNY", 1)}}}}, wrongRole: auth.RoleAuditor, cross: crossForbidden},
	"GET /v1/transactions":                          {path: "/v1/transactions", cross: crossExcludes, why: everyRole},
	"GET /v1/transactions/{id}":                     {path: "/v1/transactions/{tx}", cross: crossNotFound, why: everyRole},
	"GET /v1/transactions/by-reference/{reference}": {path: "/v1/transactions/by-reference/ba-t1", cross: crossNotFound, why: everyRole, parentQuery: "?institution_id=branch-a"},
	"POST /v1/transactions/{id}/reversals":          {path: "/v1/transactions/{tx}/reversals", body: map[string]any{"reference": "x3"}, wrongRole: auth.RoleViewer, cross: crossNotFound},
	"POST /v1/holds": {path: "/v1/holds", body: map[string]any{"institution_id": "branch-a", "reference": "x4",
		"postings": []any{posting("{bank}", "{account}", "CNY", 1)}}, wrongRole: auth.RoleAuditor, cross: crossForbidden},
	"GET /v1/holds/{id}":             {path: "/v1/holds/{hold}", cross: crossNotFound, why: everyRole},
	"POST /v1/holds/{id}/post":       {path: "/v1/holds/{hold}/post", body: map[string]any{"reference": "x5"}, wrongRole: auth.RoleViewer, cross: crossNotFound},
	"POST /v1/holds/{id}/void":       {path: "/v1/holds/{hold}/void", body: map[string]any{"reference": "x6"}, wrongRole: auth.RoleAuditor, cross: crossNotFound},
	"GET /v1/reports/trial-balance":  {path: "/v1/reports/trial-balance", cross: crossExcludes, why: everyRole},
	"POST /v1/ledger/verify":         {path: "/v1/ledger/verify", wrongRole: auth.RolePoster, cross: crossForbidden, why: "verification covers the whole store: only root keys run it"},
	"POST /v1/institutions":          {path: "/v1/institutions", body: map[string]any{"id": "x7", "parent_id": "branch-a", "name": "X7"}, wrongRole: auth.RoleOperator, cross: crossForbidden},
	"GET /v1/institutions":           {path: "/v1/institutions", wrongRole: auth.RolePoster, cross: crossExcludes},
	"GET /v1/institutions/{id}":      {path: "/v1/institutions/branch-a", wrongRole: auth.RolePoster, cross: crossNotFound},
	"POST /v1/keys":                  {path: "/v1/keys", body: map[string]any{"institution_id": "branch-a", "role": "viewer"}, wrongRole: auth.RoleOperator, cross: crossForbidden},
	"GET /v1/keys":                   {path: "/v1/keys", wrongRole: auth.RoleAuditor, cross: crossExcludes},
	"POST /v1/keys/{id}/revoke":      {path: "/v1/keys/{key}/revoke", wrongRole: auth.RoleOperator, cross: crossNotFound},
	"GET /v1/audit":                  {path: "/v1/audit", wrongRole: auth.RoleViewer, cross: crossExcludes},
	"POST /v1/audit/verify":          {path: "/v1/audit/verify", wrongRole: auth.RolePoster, cross: crossForbidden, why: "the chain spans the whole store: only root keys verify it"},
	"POST /v1/products":              {path: "/v1/products", body: withID("x-product", "branch-a", productConfig), wrongRole: auth.RolePoster, cross: crossForbidden},
	"GET /v1/products":               {path: "/v1/products", cross: crossExcludes, why: everyProductRole},
	"GET /v1/products/{id}":          {path: "/v1/products/ba-wallet", cross: crossNotFound, why: everyProductRole, parentQuery: "?institution_id=branch-a"},
	"GET /v1/products/{id}/versions": {path: "/v1/products/ba-wallet/versions", cross: crossNotFound, why: everyProductRole, parentQuery: "?institution_id=branch-a"},
	"PUT /v1/products/{id}":          {path: "/v1/products/ba-wallet", body: productConfig, wrongRole: auth.RoleViewer, cross: crossNotFound},
	"POST /v1/products/{id}/retire":  {path: "/v1/products/ba-wallet/retire", wrongRole: auth.RoleAuditor, cross: crossNotFound},
	"POST /v1/products/{id}/quote": {path: "/v1/products/ba-wallet/quote", body: map[string]any{"operation": "topup", "amount": 100},
		cross: crossNotFound, why: everyProductRole},
	"POST /v1/customers": {path: "/v1/customers", body: map[string]any{"institution_id": "branch-a", "type": "personal", "name": "X"},
		wrongRole: auth.RoleViewer, cross: crossForbidden},
	"GET /v1/customers":                 {path: "/v1/customers", wrongRole: auth.RolePoster, cross: crossExcludes},
	"GET /v1/customers/{id}":            {path: "/v1/customers/{customer}", wrongRole: auth.RolePoster, cross: crossNotFound},
	"POST /v1/customers/{id}/status":    {path: "/v1/customers/{customer}/status", body: map[string]any{"status": "frozen"}, wrongRole: auth.RoleAuditor, cross: crossNotFound},
	"PUT /v1/customers/{id}/properties": {path: "/v1/customers/{customer}/properties", body: map[string]any{"properties": map[string]string{"x": "y"}}, wrongRole: auth.RoleViewer, cross: crossNotFound},
	"POST /v1/customers/{id}/accounts":  {path: "/v1/customers/{customer}/accounts", body: map[string]any{"product_id": "ba-wallet"}, wrongRole: auth.RolePoster, cross: crossNotFound},
	"GET /v1/customers/{id}/accounts":   {path: "/v1/customers/{customer}/accounts", cross: crossNotFound, why: everyRole},
	"PUT /v1/accounts/{id}/properties":  {path: "/v1/accounts/{opened}/properties", body: map[string]any{"properties": map[string]string{"x": "y"}}, wrongRole: auth.RoleViewer, cross: crossNotFound},
	"POST /v1/accounts/{id}/freezes":    {path: "/v1/accounts/{account}/freezes", body: map[string]any{"side": "both", "authority": "operator", "reason": "x"}, wrongRole: auth.RoleViewer, cross: crossNotFound},
	"GET /v1/accounts/{id}/freezes":     {path: "/v1/accounts/{frozen}/freezes", cross: crossNotFound, why: everyRole},
	"POST /v1/accounts/{id}/freezes/{freeze_id}/lift": {path: "/v1/accounts/{frozen}/freezes/{freeze}/lift", body: map[string]any{"reason": "x"},
		wrongRole: auth.RoleAuditor, cross: crossNotFound},
	"POST /v1/accounts/{id}/close-and-sweep": {path: "/v1/accounts/{empty}/close-and-sweep", body: map[string]any{}, wrongRole: auth.RolePoster, cross: crossNotFound},
	"POST /v1/operations/topup": {path: "/v1/operations/topup", body: map[string]any{"reference": "x8", "account": "{opened}", "channel": "app", "amount": 1},
		wrongRole: auth.RoleViewer, cross: crossNotFound},
	"POST /v1/operations/withdraw": {path: "/v1/operations/withdraw", body: map[string]any{"reference": "x9", "account": "{opened}", "channel": "app", "amount": 1},
		wrongRole: auth.RoleAuditor, cross: crossNotFound},
	"POST /v1/operations/withdraw/{id}/complete": {path: "/v1/operations/withdraw/{hold}/complete", body: map[string]any{"reference": "x10"},
		wrongRole: auth.RoleViewer, cross: crossNotFound},
	"POST /v1/operations/withdraw/{id}/fail": {path: "/v1/operations/withdraw/{hold}/fail", body: map[string]any{"reference": "x11"},
		wrongRole: auth.RoleAuditor, cross: crossNotFound},
	"POST /v1/operations/pay": {path: "/v1/operations/pay", body: map[string]any{"reference": "x12", "account": "{opened}", "counterparty": "{opened2}",
		"channel": "app", "amount": 1}, wrongRole: auth.RoleViewer, cross: crossNotFound},
	"POST /v1/operations/transfer": {path: "/v1/operations/transfer", body: map[string]any{"reference": "x13", "account": "{opened}", "counterparty": "{opened2}",
		"channel": "app", "amount": 1}, wrongRole: auth.RoleAuditor, cross: crossNotFound},
	"POST /v1/operations/refund": {path: "/v1/operations/refund", body: map[string]any{"payment_id": "{tx}", "reference": "x14"},
		wrongRole: auth.RoleViewer, cross: crossNotFound},
	"POST /v1/batches": {path: "/v1/batches?reference=mx1", body: batchCSV("{opened}"), wrongRole: auth.RoleViewer, cross: crossExcludes,
		why: "an upload makes a batch of the caller's own institution; branch-a's accounts in it fail line by line (account_not_found)"},
	"GET /v1/batches":              {path: "/v1/batches", cross: crossExcludes, why: everyRole},
	"GET /v1/batches/{id}":         {path: "/v1/batches/{batch}", cross: crossNotFound, why: everyRole},
	"GET /v1/batches/{id}/results": {path: "/v1/batches/{batch}/results", cross: crossNotFound, why: everyRole},
	"POST /v1/operations/freeze": {path: "/v1/operations/freeze", body: map[string]any{"reference": "x25", "account": "{opened}", "channel": "app", "amount": 1},
		wrongRole: auth.RoleViewer, cross: crossNotFound},
	"POST /v1/operations/freeze/{id}/unfreeze": {path: "/v1/operations/freeze/{hold}/unfreeze", body: map[string]any{"reference": "x16"},
		wrongRole: auth.RoleAuditor, cross: crossNotFound},
	"POST /v1/operations/freeze/{id}/deduct": {path: "/v1/operations/freeze/{hold}/deduct", body: map[string]any{"reference": "x17", "receiver": "{opened2}"},
		wrongRole: auth.RoleViewer, cross: crossNotFound},
	"POST /v1/operations/split": {path: "/v1/operations/split", body: map[string]any{"reference": "x18", "account": "{opened}", "channel": "app",
		"payees": []any{map[string]any{"account": "{opened2}", "amount": 1}}}, wrongRole: auth.RoleAuditor, cross: crossNotFound},
	"POST /v1/operations/cross-transfer": {path: "/v1/operations/cross-transfer", body: map[string]any{"reference": "x19", "account": "{opened}",
		"counterparty": "{opened2}", "channel": "app", "amount": 1}, wrongRole: auth.RoleViewer, cross: crossNotFound},
	"POST /v1/operations/points/grant": {path: "/v1/operations/points/grant", body: map[string]any{"reference": "x20", "account": "{opened}", "channel": "app", "amount": 1},
		wrongRole: auth.RoleViewer, cross: crossNotFound},
	"POST /v1/operations/points/redeem": {path: "/v1/operations/points/redeem", body: map[string]any{"reference": "x21", "account": "{opened}", "channel": "app", "amount": 1},
		wrongRole: auth.RoleAuditor, cross: crossNotFound},
	"POST /v1/operations/points/expire": {path: "/v1/operations/points/expire", body: map[string]any{"reference": "x22", "account": "{opened}", "channel": "app", "amount": 1},
		wrongRole: auth.RoleViewer, cross: crossNotFound},
	"POST /v1/operations/round-deposit": {path: "/v1/operations/round-deposit", body: map[string]any{"reference": "x23", "account": "{opened}",
		"counterparty": "{opened2}", "channel": "app", "amount": 1}, wrongRole: auth.RoleAuditor, cross: crossNotFound},
	"POST /v1/operations/round-withdraw": {path: "/v1/operations/round-withdraw", body: map[string]any{"reference": "x24", "account": "{opened}",
		"counterparty": "{opened2}", "channel": "app", "amount": 1}, wrongRole: auth.RoleViewer, cross: crossNotFound},
	"POST /v1/envelopes": {path: "/v1/envelopes", body: map[string]any{"reference": "x26", "account": "{opened}", "channel": "app",
		"total": 3, "count": 3, "split": "equal", "expires_in_seconds": 60}, wrongRole: auth.RoleViewer, cross: crossNotFound},
	"GET /v1/envelopes/{id}": {path: "/v1/envelopes/{envelope}", cross: crossNotFound, why: everyRole},
	"POST /v1/envelopes/{id}/claims": {path: "/v1/envelopes/{envelope}/claims", body: map[string]any{"recipient_account": "{opened2}"},
		wrongRole: auth.RoleAuditor, cross: crossNotFound},
	"POST /v1/internal-accounts": {path: "/v1/internal-accounts", body: map[string]any{"role": "fee_income", "account_id": "{account}"},
		wrongRole: auth.RoleOperator, cross: crossNotFound},
	"POST /v1/customers/{id}/statements": {path: "/v1/customers/{customer}/statements", body: map[string]any{"from": "2026-10-01", "to": "2026-11-01"},
		cross: crossNotFound, why: everyRole},
	"GET /v1/customers/{id}/statements": {path: "/v1/customers/{customer}/statements", cross: crossNotFound, why: everyRole},
	"GET /v1/statements/{id}":           {path: "/v1/statements/{statement}", cross: crossNotFound, why: everyRole},
	"GET /v1/statements/{id}/csv":       {path: "/v1/statements/{statement}/csv", cross: crossNotFound, why: everyRole},
	"GET /v1/statements/{id}/html":      {path: "/v1/statements/{statement}/html", cross: crossNotFound, why: everyRole},
	"POST /v1/checks":                   {path: "/v1/checks", wrongRole: auth.RoleOperator, cross: crossExcludes},
	"GET /v1/checks":                    {path: "/v1/checks", wrongRole: auth.RoleViewer, cross: crossExcludes},
	"POST /v1/control-accounts":         {path: "/v1/control-accounts", body: map[string]any{"account_id": "{account}"}, wrongRole: auth.RoleViewer, cross: crossNotFound},
	"POST /v1/adjustments": {path: "/v1/adjustments", body: map[string]any{"reference": "x15", "reverse_transaction_id": "{tx}", "reason": "x"},
		wrongRole: auth.RolePoster, cross: crossNotFound},
	"GET /v1/adjustments":               {path: "/v1/adjustments", cross: crossExcludes, why: everyRole},
	"GET /v1/adjustments/{id}":          {path: "/v1/adjustments/{adjustment}", cross: crossNotFound, why: everyRole},
	"POST /v1/adjustments/{id}/approve": {path: "/v1/adjustments/{adjustment}/approve", body: map[string]any{}, wrongRole: auth.RoleOperator, cross: crossNotFound},
	"POST /v1/adjustments/{id}/reject":  {path: "/v1/adjustments/{adjustment}/reject", body: map[string]any{}, wrongRole: auth.RoleOperator, cross: crossNotFound},
	"POST /v1/adjustments/{id}/cancel":  {path: "/v1/adjustments/{adjustment}/cancel", body: map[string]any{}, wrongRole: auth.RoleViewer, cross: crossNotFound},
	"GET /v1/vouchers":                  {path: "/v1/vouchers?date=2026-11-02", cross: crossExcludes, why: everyRole},
	"POST /v1/payments/channels": {path: "/v1/payments/channels", body: map[string]any{"institution_id": "branch-a", "code": "x_channel",
		"kind": "bank_transfer", "endpoint": "http://127.0.0.1:1/bank", "merchant_id": "m", "secret": "s", "asset": "CNY"},
		wrongRole: auth.RoleOperator, cross: crossForbidden},
	"GET /v1/payments/channels":      {path: "/v1/payments/channels", cross: crossExcludes, why: everyPaymentRole},
	"GET /v1/payments/channels/{id}": {path: "/v1/payments/channels/{pchannel}", cross: crossNotFound, why: everyPaymentRole},
	"PUT /v1/payments/channels/{id}": {path: "/v1/payments/channels/{pchannel}", body: map[string]any{"endpoint": "http://127.0.0.1:1/bank",
		"merchant_id": "m"}, wrongRole: auth.RoleOperator, cross: crossNotFound},
	"POST /v1/payments/orders": {path: "/v1/payments/orders", body: map[string]any{"reference": "x27", "channel_id": "{pchannel}",
		"direction": "pay_in", "account": "{pwallet}", "amount": 1}, wrongRole: auth.RoleViewer, cross: crossNotFound},
	"GET /v1/payments/orders":                  {path: "/v1/payments/orders", cross: crossExcludes, why: everyPaymentRole},
	"GET /v1/payments/orders/{id}":             {path: "/v1/payments/orders/{porder}", cross: crossNotFound, why: everyPaymentRole},
	"GET /v1/payments/orders/{id}/transitions": {path: "/v1/payments/orders/{porder}/transitions", cross: crossNotFound, why: everyPaymentRole},
	"POST /v1/payments/orders/{id}/settle": {path: "/v1/payments/orders/{porder}/settle", body: map[string]any{"status": "failed", "reason": "x"},
		wrongRole: auth.RolePoster, cross: crossNotFound},
	"POST /v1/payments/batches": {path: "/v1/payments/batches?reference=x28&channel_id={pchannel}&direction=pay_out",
		body: payments.BatchHeader + "\nl1,{pwallet},1.00,6222,X,,\n", wrongRole: auth.RoleAuditor, cross: crossNotFound},
	"GET /v1/payments/batches/{id}":         {path: "/v1/payments/batches/{pbatch}", cross: crossNotFound, why: everyPaymentRole},
	"GET /v1/payments/batches/{id}/results": {path: "/v1/payments/batches/{pbatch}/results", cross: crossNotFound, why: everyPaymentRole},
	"POST /v1/payments/callbacks/{channel_id}": {path: "/v1/payments/callbacks/{pchannel}", body: map[string]any{"order_id": "{porder}",
		"type": "collection", "status": "REJECTED"}, public: callbackRoute},
	"GET /v1/jobs":              {path: "/v1/jobs", wrongRole: auth.RolePoster, cross: crossExcludes},
	"GET /v1/jobs/{id}":         {path: "/v1/jobs/{job}", wrongRole: auth.RolePoster, cross: crossNotFound},
	"POST /v1/jobs/{id}/retry":  {path: "/v1/jobs/{job}/retry", wrongRole: auth.RoleOperator, cross: crossNotFound},
	"POST /v1/jobs/{id}/cancel": {path: "/v1/jobs/{job}/cancel", wrongRole: auth.RoleViewer, cross: crossNotFound},
	"POST /v1/webhooks":         {path: "/v1/webhooks", body: map[string]any{"institution_id": "branch-a", "url": "http://127.0.0.1:1/x"}, wrongRole: auth.RoleOperator, cross: crossForbidden},
	"GET /v1/webhooks":          {path: "/v1/webhooks", wrongRole: auth.RolePoster, cross: crossExcludes},
	"GET /v1/webhooks/{id}":     {path: "/v1/webhooks/{webhook}", wrongRole: auth.RolePoster, cross: crossNotFound},
	"PATCH /v1/webhooks/{id}":   {path: "/v1/webhooks/{webhook}", body: map[string]any{"active": false}, wrongRole: auth.RoleOperator, cross: crossNotFound},
	"DELETE /v1/webhooks/{id}":  {path: "/v1/webhooks/{webhook}", wrongRole: auth.RoleViewer, cross: crossNotFound},
	"POST /v1/webhooks/{id}/rotate-secret": {path: "/v1/webhooks/{webhook}/rotate-secret", body: map[string]any{}, wrongRole: auth.RoleAuditor,
		cross: crossNotFound},
	"GET /v1/webhooks/deliveries":               {path: "/v1/webhooks/deliveries", wrongRole: auth.RolePoster, cross: crossExcludes},
	"GET /v1/webhooks/deliveries/{id}":          {path: "/v1/webhooks/deliveries/{delivery}", wrongRole: auth.RolePoster, cross: crossNotFound},
	"GET /v1/webhooks/deliveries/{id}/attempts": {path: "/v1/webhooks/deliveries/{delivery}/attempts", wrongRole: auth.RolePoster, cross: crossNotFound},
	"POST /v1/webhooks/deliveries/{id}/redeliver": {path: "/v1/webhooks/deliveries/{delivery}/redeliver", wrongRole: auth.RoleOperator,
		cross: crossNotFound},
	"GET /v1/recon/channels/{id}/settings": {path: "/v1/recon/channels/{pchannel}/settings", wrongRole: auth.RolePoster, cross: crossNotFound},
	"PUT /v1/recon/channels/{id}/settings": {path: "/v1/recon/channels/{pchannel}/settings", body: map[string]any{"format": map[string]any{"kind": "native"}},
		wrongRole: auth.RoleViewer, cross: crossNotFound},
	"POST /v1/recon/statements": {path: "/v1/recon/statements?channel_id={pchannel}&date=2026-11-01",
		body: reconCSV(reconLine{"", "x29", "1.00", "2026-11-01T12:00:00Z"}), wrongRole: auth.RoleAuditor, cross: crossNotFound},
	"GET /v1/recon/statements":           {path: "/v1/recon/statements", wrongRole: auth.RolePoster, cross: crossExcludes},
	"GET /v1/recon/statements/{id}":      {path: "/v1/recon/statements/{rstatement}", wrongRole: auth.RolePoster, cross: crossNotFound},
	"GET /v1/recon/statements/{id}/file": {path: "/v1/recon/statements/{rstatement}/file", wrongRole: auth.RolePoster, cross: crossNotFound},
	"POST /v1/recon/runs": {path: "/v1/recon/runs", body: map[string]any{"channel_id": "{pchannel}", "date": "2026-11-01"},
		wrongRole: auth.RoleViewer, cross: crossNotFound},
	"GET /v1/recon/runs":               {path: "/v1/recon/runs", wrongRole: auth.RolePoster, cross: crossExcludes},
	"GET /v1/recon/runs/{id}":          {path: "/v1/recon/runs/{rrun}", wrongRole: auth.RolePoster, cross: crossNotFound},
	"GET /v1/recon/discrepancies":      {path: "/v1/recon/discrepancies", wrongRole: auth.RolePoster, cross: crossExcludes},
	"GET /v1/recon/discrepancies/{id}": {path: "/v1/recon/discrepancies/{discrepancy}", wrongRole: auth.RolePoster, cross: crossNotFound},
	"POST /v1/recon/discrepancies/{id}/resolve": {path: "/v1/recon/discrepancies/{discrepancy}/resolve",
		body: map[string]any{"action": "accept_suanpan", "note": "x"}, wrongRole: auth.RoleViewer, cross: crossNotFound},
	"POST /v1/recon/discrepancies/{id}/write-off/approve": {path: "/v1/recon/discrepancies/{discrepancy}/write-off/approve",
		body: map[string]any{"note": "x"}, wrongRole: auth.RoleOperator, cross: crossNotFound},
	"POST /v1/recon/discrepancies/{id}/write-off/reject": {path: "/v1/recon/discrepancies/{discrepancy}/write-off/reject",
		body: map[string]any{"note": "x"}, wrongRole: auth.RoleOperator, cross: crossNotFound},
	"POST /v1/eod/runs": {path: "/v1/eod/runs", body: map[string]any{"date": "2026-11-01"}, wrongRole: auth.RoleOperator, cross: crossForbidden,
		why: "a day closes for every institution: only root keys run it"},
	"GET /v1/eod/runs": {path: "/v1/eod/runs", wrongRole: auth.RolePoster, cross: crossShared,
		why: "a day closes for every institution: every key sees the same runs, without their steps"},
	"GET /v1/eod/runs/{date}": {path: "/v1/eod/runs/2026-11-01", wrongRole: auth.RolePoster, cross: crossShared,
		why: "a day closes for every institution; a key below the root sees its steps without their outcomes, which cover every institution"},
	"GET /v1/eod/runs/{date}/reports":        {path: "/v1/eod/runs/2026-11-01/reports", wrongRole: auth.RolePoster, cross: crossExcludes},
	"GET /v1/eod/runs/{date}/reports/{name}": {path: "/v1/eod/runs/2026-11-01/reports/{eodreport}", wrongRole: auth.RolePoster, cross: crossNotFound},
}

// TestAuthorizationMatrix calls every route without a key, with a key whose
// role lacks the route's permission, and with a key of an unrelated
// institution reaching for branch-a's data, and checks that each is refused;
// and with the parent's key, which sees branch-a's data.
func TestAuthorizationMatrix(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		var routes []string
		perms := map[string]auth.Permission{}
		for _, r := range a.srv.Routes() {
			k := r.Method + " " + r.Path
			routes = append(routes, k)
			perms[k] = r.Permission
		}
		var table []string
		for k := range authzMatrix {
			table = append(table, k)
		}
		slices.Sort(routes)
		slices.Sort(table)
		if diff := cmp.Diff(table, routes); diff != "" {
			t.Fatalf("the authorization matrix and the routes differ (-matrix +routes):\n%s", diff)
		}

		// branch-a holds the data; other is its sibling under root.
		a.newAsset("CNY", 2)
		a.newInstitution("branch-a", "root")
		a.newInstitution("other", "root")
		keys := map[auth.Role]string{}
		for _, role := range auth.Roles() {
			keys[role] = a.newKey("branch-a", role)
		}
		other := a.newKey("other", auth.RoleAdmin)
		open := func(code, side, overdraft string) string {
			return a.newAccount(keys[auth.RoleAdmin], map[string]any{"asset": "CNY", "code": code, "normal_side": side, "overdraft": overdraft}).ID
		}
		bank, account, frozen, empty := open("ba1002", "debit", "unlimited"), open("ba2001", "credit", "none"), open("ba2001", "credit", "none"), open("ba2001", "credit", "none")
		tx := a.transfer(keys[auth.RoleAdmin], "ba-t1", bank, account, "CNY", 1000)
		hold := a.hold(keys[auth.RoleAdmin], "", "ba-h1", 0, posting(account, bank, "CNY", 10))
		a.must(http.StatusOK, keys[auth.RoleAdmin], "POST", "/v1/accounts/"+frozen+"/freeze", map[string]any{"side": "both"}, nil)
		var customer httpapi.CustomerView
		a.must(http.StatusCreated, keys[auth.RoleAdmin], "POST", "/v1/customers", map[string]any{"type": "personal", "name": "Branch A customer"}, &customer)
		a.must(http.StatusCreated, keys[auth.RoleAdmin], "POST", "/v1/products", withID("ba-wallet", "", productConfig), nil)
		var opened httpapi.CustomerAccountView
		a.must(http.StatusCreated, keys[auth.RoleAdmin], "POST", "/v1/customers/"+customer.ID+"/accounts", map[string]any{"product_id": "ba-wallet"}, &opened)
		var opened2 httpapi.CustomerAccountView
		a.must(http.StatusCreated, keys[auth.RoleAdmin], "POST", "/v1/customers/"+customer.ID+"/accounts", map[string]any{"product_id": "ba-wallet"}, &opened2)
		var freeze struct {
			Freeze httpapi.FreezeView `json:"freeze"`
		}
		a.must(http.StatusCreated, keys[auth.RoleAdmin], "POST", "/v1/accounts/"+frozen+"/freezes",
			map[string]any{"side": "both", "authority": "risk", "reason": "matrix"}, &freeze)
		var statement struct {
			ID string `json:"id"`
		}
		a.must(http.StatusCreated, keys[auth.RoleViewer], "POST", "/v1/customers/"+customer.ID+"/statements",
			map[string]any{"from": "2026-11-01", "to": "2026-12-01"}, &statement)
		a.must(http.StatusOK, keys[auth.RoleAuditor], "POST", "/v1/checks", nil, nil)
		var adjustment httpapi.AdjustmentView
		a.must(http.StatusCreated, keys[auth.RoleOperator], "POST", "/v1/adjustments",
			map[string]any{"reference": "ba-adj", "reverse_transaction_id": tx.ID, "reason": "matrix"}, &adjustment)
		var batch struct {
			ID string `json:"id"`
		}
		if resp, raw := a.raw(keys[auth.RoleAdmin], "POST", "/v1/batches?reference=ba-batch", []byte(batchCSV(opened.Account.ID)),
			"Content-Type", "text/csv"); resp.StatusCode != http.StatusAccepted || json.Unmarshal(raw, &batch) != nil {
			t.Fatalf("upload batch: %d %s", resp.StatusCode, raw)
		}
		if _, err := a.srv.Batches.ProcessNext(context.Background()); err != nil {
			t.Fatal(err)
		}
		escrow := open("ba2241", "credit", "none")
		a.must(http.StatusCreated, keys[auth.RoleAdmin], "POST", "/v1/internal-accounts", map[string]any{"role": "envelope", "account_id": escrow}, nil)
		a.transfer(keys[auth.RoleAdmin], "ba-fund-opened", bank, opened.Account.ID, "CNY", 1000)
		var envelope httpapi.EnvelopeView
		a.must(http.StatusCreated, keys[auth.RoleAdmin], "POST", "/v1/envelopes", map[string]any{"reference": "ba-env", "account": opened.Account.ID,
			"channel": "app", "total": 100, "count": 10, "split": "random", "expires_in_seconds": 3600}, &envelope)
		// Payments, jobs and webhooks: a channel, an order (with its jobs),
		// a processed bulk file, and a webhook with a delivery.
		pay := a.payBooks(keys[auth.RoleAdmin], "bp")
		porder := a.order(keys[auth.RoleAdmin], map[string]any{"reference": "ba-order", "channel_id": pay.channel, "direction": "pay_in",
			"account": pay.wallet, "amount": 100})
		var pbatch struct {
			ID string `json:"id"`
		}
		if resp, raw := a.raw(keys[auth.RoleAdmin], "POST", "/v1/payments/batches?reference=ba-pbatch&channel_id="+pay.channel+"&direction=pay_out",
			[]byte(payments.BatchHeader+"\nba-pay-line,"+pay.wallet+",1.00,6222,X,,\n"), "Content-Type", "text/csv"); resp.StatusCode != http.StatusAccepted ||
			json.Unmarshal(raw, &pbatch) != nil {
			t.Fatalf("upload payment batch: %d %s", resp.StatusCode, raw)
		}
		var webhook httpapi.NewWebhookView
		a.must(http.StatusCreated, keys[auth.RoleAdmin], "POST", "/v1/webhooks", map[string]any{"url": "http://127.0.0.1:1/ba-hook"}, &webhook)
		if _, err := a.relay.FanOut(context.Background()); err != nil {
			t.Fatal(err)
		}
		a.run() // the bulk file's line becomes an order; the delivery fails
		var job, delivery struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		a.must(http.StatusOK, keys[auth.RoleAdmin], "GET", "/v1/jobs?state=pending", nil, &job)
		a.must(http.StatusOK, keys[auth.RoleAdmin], "GET", "/v1/webhooks/deliveries", nil, &delivery)
		if len(job.Items) == 0 || len(delivery.Items) == 0 {
			t.Fatalf("%d pending jobs, %d deliveries", len(job.Items), len(delivery.Items))
		}

		// Reconciliation: the channel's statement of the day before, with
		// a payment Suanpan does not know (a discrepancy, parked), and the
		// end of that day, run by the root (its reconciliation report of
		// branch-a is a file of branch-a's).
		a.reconBooks(keys[auth.RoleAdmin], "bar")
		a.must(http.StatusOK, keys[auth.RoleOperator], "PUT", "/v1/recon/channels/"+pay.channel+"/settings",
			map[string]any{"format": reconFormat(), "late_window_ms": 3600_000}, nil)
		var rstatement recon.Statement
		if resp, raw := a.importStatement(keys[auth.RoleOperator], pay.channel, "2026-11-01",
			reconCSV(reconLine{"", "ba-line-ref", "3.00", "2026-11-01T12:00:00Z"})); resp.StatusCode != http.StatusCreated ||
			json.Unmarshal(raw, &rstatement) != nil {
			t.Fatalf("import statement: %d %s", resp.StatusCode, raw)
		}
		var rrun recon.Branches
		a.must(http.StatusOK, keys[auth.RoleOperator], "POST", "/v1/recon/runs", map[string]any{"channel_id": pay.channel, "date": "2026-11-01"}, &rrun)
		var discrepancies struct {
			Items []recon.Discrepancy `json:"items"`
		}
		a.must(http.StatusOK, keys[auth.RoleViewer], "GET", "/v1/recon/discrepancies?status=open", nil, &discrepancies)
		if len(rrun.Runs) != 1 || len(discrepancies.Items) != 1 {
			t.Fatalf("reconciliation: %d runs, %d open discrepancies", len(rrun.Runs), len(discrepancies.Items))
		}
		discrepancy := discrepancies.Items[0]
		a.must(http.StatusOK, a.admin, "POST", "/v1/eod/runs", map[string]any{"date": "2026-11-01"}, nil)
		eodreport := "reconciliation-branch-a-2026-11-01.json"
		a.must(http.StatusOK, keys[auth.RoleViewer], "GET", "/v1/eod/runs/2026-11-01/reports/"+eodreport, nil, nil)

		key := keyID(keys[auth.RoleViewer])
		fill := strings.NewReplacer("{rstatement}", rstatement.ID, "{rrun}", rrun.Runs[0].ID, "{discrepancy}", discrepancy.ID,
			"{eodreport}", eodreport, "{pchannel}", pay.channel, "{pwallet}", pay.wallet, "{porder}", porder.ID, "{pbatch}", pbatch.ID,
			"{job}", job.Items[0].ID, "{webhook}", webhook.Webhook.ID, "{delivery}", delivery.Items[0].ID, "{envelope}", envelope.ID, "{statement}", statement.ID, "{batch}", batch.ID, "{bank}", bank, "{account}", account, "{frozen}", frozen, "{empty}", empty,
			"{tx}", tx.ID, "{hold}", hold.ID, "{key}", key, "{customer}", customer.ID, "{opened}", opened.Account.ID,
			"{opened2}", opened2.Account.ID, "{freeze}", freeze.Freeze.ID, "{adjustment}", adjustment.ID)
		// Strings found only in branch-a's data.
		markers := []string{"branch-a", rstatement.ID, rrun.Runs[0].ID, discrepancy.ID, "ba-line-ref", pay.channel, pay.wallet, porder.ID,
			pbatch.ID, "ba-pay-line", job.Items[0].ID, webhook.Webhook.ID,
			delivery.Items[0].ID, envelope.ID, escrow, statement.ID, batch.ID, "ba2001", "ba1002", "ba-t1", bank, account, tx.ID, hold.ID, key, customer.ID,
			frozen, opened.Account.ID, opened2.Account.ID, freeze.Freeze.ID, adjustment.ID}
		holds := func(body []byte) string {
			for _, m := range markers {
				if strings.Contains(string(body), m) {
					return m
				}
			}
			return ""
		}
		body := func(c authzCase) []byte {
			if c.body == nil {
				return nil
			}
			if raw, ok := c.body.(string); ok { // a file, sent as it is
				return []byte(fill.Replace(raw))
			}
			b, err := json.Marshal(c.body)
			if err != nil {
				t.Fatal(err)
			}
			return []byte(fill.Replace(string(b)))
		}

		for _, name := range table {
			c := authzMatrix[name]
			method, _, _ := strings.Cut(name, " ")
			path := fill.Replace(c.path)
			perm := perms[name]
			t.Run(name, func(t *testing.T) {
				if c.public != nil {
					if perm != "" {
						t.Fatalf("%s is marked public but needs %s", name, perm)
					}
					// No key is asked for, and none helps: without what
					// authenticates the route, every caller is refused.
					for _, key := range []string{"", keys[auth.RoleAdmin], other} {
						resp, _ := a.with(t).raw(key, method, path, body(c))
						checkProblem(t, resp, c.public.status, c.public.code)
					}
					return
				}
				if perm == "" {
					t.Fatalf("%s is public", name)
				}
				t.Run("without a key", func(t *testing.T) {
					resp, _ := a.with(t).raw("", method, path, body(c))
					checkProblem(t, resp, http.StatusUnauthorized, auth.CodeUnauthenticated)
				})
				t.Run("with a role that lacks "+string(perm), func(t *testing.T) {
					if c.wrongRole == "" {
						for _, r := range auth.Roles() {
							if !r.Has(perm) {
								t.Fatalf("role %s lacks %s: give the matrix a wrongRole", r, perm)
							}
						}
						if c.why == "" {
							t.Fatal("no wrong role and no reason")
						}
						t.Skipf("no role lacks %s: %s", perm, c.why)
					}
					if c.wrongRole.Has(perm) {
						t.Fatalf("role %s has %s", c.wrongRole, perm)
					}
					resp, _ := a.with(t).raw(keys[c.wrongRole], method, path, body(c))
					checkProblem(t, resp, http.StatusForbidden, auth.CodeForbidden)
				})
				t.Run("with another institution's key", func(t *testing.T) {
					resp, raw := a.with(t).raw(other, method, path, body(c))
					switch c.cross {
					case crossNotFound:
						p := checkProblem(t, resp, http.StatusNotFound, "")
						if !strings.HasSuffix(p.Code, "not_found") {
							t.Errorf("code %q", p.Code)
						}
					case crossForbidden:
						checkProblem(t, resp, http.StatusForbidden, auth.CodeForbidden)
					case crossExcludes, crossShared:
						if resp.StatusCode/100 != 2 {
							t.Fatalf("status %d: %s", resp.StatusCode, raw)
						}
						if c.cross == crossShared && c.why == "" {
							t.Error("a shared route needs a reason")
						}
					}
					// A refusal may echo the caller's own request; an answer
					// must show nothing of branch-a.
					if m := holds(raw); m != "" && resp.StatusCode/100 == 2 {
						t.Errorf("the answer shows branch-a's %q: %s", m, raw)
					}
				})
				if method == http.MethodGet {
					t.Run("with the parent's key", func(t *testing.T) {
						resp, raw := a.with(t).raw(a.admin, method, path+c.parentQuery, nil)
						if resp.StatusCode != http.StatusOK {
							t.Fatalf("status %d: %s", resp.StatusCode, raw)
						}
						if c.cross != crossShared && holds(raw) == "" {
							t.Errorf("the parent does not see branch-a's data: %s", raw)
						}
					})
				}
			})
		}
		// Nothing of branch-a changed.
		var adj httpapi.AdjustmentView
		a.must(http.StatusOK, a.admin, "GET", "/v1/adjustments/"+adjustment.ID, nil, &adj)
		if adj.Status != "pending" {
			t.Errorf("branch-a's adjustment is %s", adj.Status)
		}
		var rep httpapi.TransactionView
		a.must(http.StatusOK, a.admin, "GET", "/v1/transactions/by-reference/ba-t1?institution_id=branch-a", nil, &rep)
		if v := a.account(account); v.Balance != 1000 || v.Available != 990 || v.Status != "active" {
			t.Errorf("branch-a's account changed: %+v", v)
		}
		if v := a.account(frozen); v.Status != "frozen" {
			t.Errorf("frozen account is %s", v.Status)
		}
		var fp struct {
			Items []httpapi.FreezeView `json:"items"`
		}
		a.must(http.StatusOK, keys[auth.RoleViewer], "GET", "/v1/accounts/"+frozen+"/freezes", nil, &fp)
		if len(fp.Items) != 1 || !fp.Items[0].InForce {
			t.Errorf("branch-a's freezes changed: %+v", fp.Items)
		}
		if v := a.account(opened.Account.ID); v.Status != "active" || len(v.Metadata) == 0 {
			t.Errorf("branch-a's product account changed: %+v", v)
		}
		if v := a.account(empty); v.Status != "active" {
			t.Errorf("empty account is %s", v.Status)
		}
		a.must(http.StatusOK, keys[auth.RoleViewer], "GET", "/v1/accounts", nil, nil)
		var c httpapi.CustomerView
		a.must(http.StatusOK, a.admin, "GET", "/v1/customers/"+customer.ID, nil, &c)
		if c.Status != "active" || len(c.Properties) != 0 {
			t.Errorf("branch-a's customer changed: %+v", c)
		}
		var d recon.Discrepancy
		a.must(http.StatusOK, a.admin, "GET", "/v1/recon/discrepancies/"+discrepancy.ID, nil, &d)
		if d.Status != recon.StatusOpen || d.Version != discrepancy.Version {
			t.Errorf("branch-a's discrepancy changed: %+v", d)
		}
		var statements struct {
			Items []recon.Statement `json:"items"`
		}
		a.must(http.StatusOK, a.admin, "GET", "/v1/recon/statements", nil, &statements)
		if len(statements.Items) != 1 || statements.Items[0] != rstatement {
			t.Errorf("branch-a's statements changed: %+v", statements.Items)
		}
		var settings recon.Settings
		a.must(http.StatusOK, a.admin, "GET", "/v1/recon/channels/"+pay.channel+"/settings", nil, &settings)
		if settings.Version != 1 || settings.Format.Kind != "csv" {
			t.Errorf("branch-a's reconciliation settings changed: %+v", settings)
		}
		var versions []httpapi.ProductView
		a.must(http.StatusOK, keys[auth.RoleViewer], "GET", "/v1/products/ba-wallet/versions", nil, &versions)
		if len(versions) != 1 || versions[0].Status != "active" {
			t.Errorf("branch-a's product changed: %+v", versions)
		}
	})
}
