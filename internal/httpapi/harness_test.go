package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/audit"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/eod"
	"github.com/suanpan/suanpan/internal/httpapi"
	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/internal/outbox"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/payments/sim"
	"github.com/suanpan/suanpan/internal/recon"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// api is a running API on a fresh store with a bootstrap admin key for the
// root institution "root".
type api struct {
	t      testing.TB
	db     *store.DB
	clock  *clock.Fake
	ledger *ledger.Ledger
	auth   *auth.Service
	srv    *httpapi.Server

	conform *conformer

	keys      *accounts.Keyring
	customers *accounts.Customers
	ts        *httptest.Server
	admin     string

	// The payments, jobs, webhook, reconciliation and end-of-day services
	// (services builds them).
	jobs     *jobs.Scheduler
	payments *payments.Service
	sim      *sim.Server
	simURL   string
	webhooks *outbox.Webhooks
	relay    *outbox.Relay
	recon    *recon.Service
	eod      *eod.Runner
}

func eachAPI(t *testing.T, fn func(t *testing.T, a *api)) {
	t.Helper()
	storetest.Each(t, func(t *testing.T, db *store.DB) { fn(t, newAPI(t, db)) })
}

func newAPI(t testing.TB, db *store.DB) *api {
	t.Helper()
	return newAPIConfig(t, db, httpapi.Config{})
}

// newAPIConfig is newAPI with a server configuration.
func newAPIConfig(t testing.TB, db *store.DB, cfg httpapi.Config) *api {
	t.Helper()
	return newAPIOptions(t, db, cfg, ledger.Options{})
}

// newAPIOptions is newAPI with a server configuration and ledger options
// (their Clock and OnBatch are the harness's).
func newAPIOptions(t testing.TB, db *store.DB, cfg httpapi.Config, opts ledger.Options) *api {
	t.Helper()
	a := &api{t: t, db: db, clock: clock.NewFake(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))}
	reg := prometheus.NewRegistry()
	opts.Clock, opts.OnBatch = a.clock, httpapi.LedgerMetrics(reg)
	a.ledger = ledger.New(db, opts)
	t.Cleanup(func() { a.ledger.Close() })
	a.auth = auth.NewService(db, a.clock)
	token, err := a.auth.Bootstrap(context.Background(), "root", "Root", "")
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	a.admin = token
	a.keys = testKeyring(t)
	a.customers = accounts.NewCustomers(db, a.clock, a.keys)
	// Channels call the API back, so its address is known before it serves.
	a.ts = httptest.NewUnstartedServer(nil)
	t.Cleanup(a.ts.Close)
	d := httpapi.Deps{DB: db, Ledger: a.ledger, Auth: a.auth, Customers: a.customers, Clock: a.clock, Registry: reg}
	a.services(&d, "http://"+a.ts.Listener.Addr().String())
	a.srv = httpapi.New(d, cfg)
	a.ts.Config.Handler = a.srv.Handler()
	a.ts.Start()
	a.conform = conformance(t, a.srv)
	return a
}

// conformer checks responses against the server's OpenAPI document.
type conformer struct {
	validator validator.Validator
	routes    *http.ServeMux // the documented operations' patterns
}

// conformers holds one conformer for all servers: the document does not
// depend on the store, and parsing it costs a second.
var conformers struct {
	sync.Mutex
	c *conformer
}

// conformance returns the validator of the document srv generates.
func conformance(t testing.TB, srv *httpapi.Server) *conformer {
	t.Helper()
	conformers.Lock()
	defer conformers.Unlock()
	if conformers.c != nil {
		return conformers.c
	}
	b, err := srv.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(b)
	if err != nil {
		t.Fatalf("parse the OpenAPI document: %v", err)
	}
	v, errs := validator.NewValidator(doc, config.WithoutSecurityValidation())
	if len(errs) > 0 {
		t.Fatalf("build the OpenAPI validator: %v", errs)
	}
	c := &conformer{validator: v, routes: http.NewServeMux()}
	for _, r := range srv.Routes() {
		c.routes.HandleFunc(r.Method+" "+r.Path, func(http.ResponseWriter, *http.Request) {})
	}
	conformers.c = c
	return c
}

// check fails the test when resp, the answer to a request for a documented
// operation, has a status the operation does not declare or a body that
// does not match the declared schema. Other requests (no route, /healthz,
// /docs) are not the document's.
func (c *conformer) check(t testing.TB, resp *http.Response, body []byte) {
	t.Helper()
	req := resp.Request
	if _, pattern := c.routes.Handler(req); pattern == "" {
		return
	}
	r := *resp
	r.Body = io.NopCloser(bytes.NewReader(body))
	if ok, errs := c.validator.ValidateHttpResponse(req, &r); !ok {
		var msgs []string
		for _, e := range errs {
			msg := e.Message + ": " + e.Reason
			for _, se := range e.SchemaValidationErrors {
				msg += "; " + se.FieldPath + ": " + se.Reason
			}
			msgs = append(msgs, msg)
		}
		t.Errorf("%s %s: the %d answer does not conform to the OpenAPI document: %s\n%s",
			req.Method, req.URL.Path, resp.StatusCode, strings.Join(msgs, "\n"), truncate(body, 2000))
	}
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return append(b[:n:n], "…"...)
	}
	return b
}

// do sends a request with a key (empty: none) and decodes the JSON answer
// into out (may be nil); it returns the response.
func (a *api) do(key, method, path string, body any, out any, headers ...string) *http.Response {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatalf("encode: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.ts.URL+path, rd)
	if err != nil {
		a.t.Fatalf("request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a.conform.check(a.t, resp, raw)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			a.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	return resp
}

// must sends a request and fails the test unless the status is want.
func (a *api) must(want int, key, method, path string, body, out any, headers ...string) *http.Response {
	a.t.Helper()
	resp := a.do(key, method, path, body, out, headers...)
	if resp.StatusCode != want {
		raw, _ := io.ReadAll(resp.Body)
		a.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	return resp
}

// problem is the error body.
type problem struct {
	Status    int    `json:"status"`
	Code      string `json:"code"`
	Detail    string `json:"detail"`
	Field     string `json:"field"`
	RequestID string `json:"request_id"`
}

// with returns a copy of a that reports failures to t (for subtests and
// fuzz iterations sharing one server).
func (a *api) with(t testing.TB) *api {
	b := *a
	b.t = t
	return &b
}

// raw sends a request with a raw body and returns the response and its body.
func (a *api) raw(key, method, path string, body []byte, headers ...string) (*http.Response, []byte) {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, a.ts.URL+path, rd)
	if err != nil {
		a.t.Fatalf("request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	a.conform.check(a.t, resp, raw)
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	return resp, raw
}

// checkProblem checks that resp is an RFC 9457 problem with the status and
// code (any code when code is "") and the request ID of the X-Request-ID
// header, and returns it.
func checkProblem(t testing.TB, resp *http.Response, status int, code string) problem {
	t.Helper()
	raw, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, raw)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s %s: Content-Type %q, want application/problem+json", resp.Request.Method, resp.Request.URL.Path, ct)
	}
	var p problem
	var typed struct {
		Type  string `json:"type"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("decode problem %q: %v", raw, err)
	}
	_ = json.Unmarshal(raw, &typed)
	if p.Status != status {
		t.Errorf("problem status %d, want %d", p.Status, status)
	}
	if p.Code == "" || (code != "" && p.Code != code) {
		t.Errorf("problem code %q, want %q: %s", p.Code, code, raw)
	}
	if want := "https://suanpan.dev/errors#" + p.Code; typed.Type != want {
		t.Errorf("problem type %q, want %q", typed.Type, want)
	}
	if typed.Title != http.StatusText(status) {
		t.Errorf("problem title %q, want %q", typed.Title, http.StatusText(status))
	}
	if rid := resp.Header.Get("X-Request-ID"); rid == "" || p.RequestID != rid {
		t.Errorf("problem request_id %q, header X-Request-ID %q", p.RequestID, rid)
	}
	return p
}

// fail sends a request and checks that it is refused with a problem of the
// status and code; a non-empty field must match the problem's field.
func (a *api) fail(status int, code, field, key, method, path string, body any, headers ...string) problem {
	a.t.Helper()
	resp := a.do(key, method, path, body, nil, headers...)
	p := checkProblem(a.t, resp, status, code)
	if field != "" && p.Field != field {
		a.t.Errorf("%s %s: problem field %q, want %q (%s)", method, path, p.Field, field, p.Detail)
	}
	return p
}

// keyID is the ID part of a token sp_<id>_<secret>.
func keyID(token string) string {
	parts := strings.SplitN(token, "_", 3)
	if len(parts) != 3 {
		return ""
	}
	return parts[1]
}

// newInstitution creates an institution under parent with the root key.
func (a *api) newInstitution(id, parent string) {
	a.t.Helper()
	a.must(http.StatusCreated, a.admin, "POST", "/v1/institutions", map[string]any{"id": id, "parent_id": parent, "name": "Institution " + id}, nil)
}

// newKey creates an API key of inst with role and returns its token.
func (a *api) newKey(inst string, role auth.Role) string {
	a.t.Helper()
	var k httpapi.NewKeyView
	a.must(http.StatusCreated, a.admin, "POST", "/v1/keys", map[string]any{"institution_id": inst, "role": role, "name": string(role) + " of " + inst}, &k)
	return k.Token
}

// newAsset registers an asset.
func (a *api) newAsset(code string, scale int) {
	a.t.Helper()
	a.must(http.StatusCreated, a.admin, "POST", "/v1/assets", map[string]any{"code": code, "scale": scale}, nil)
}

// newAccount opens an account with key and returns it.
func (a *api) newAccount(key string, body map[string]any) *httpapi.AccountView {
	a.t.Helper()
	var v httpapi.AccountView
	a.must(http.StatusCreated, key, "POST", "/v1/accounts", body, &v)
	return &v
}

// account reads an account with the root key.
func (a *api) account(id string) *httpapi.AccountView {
	a.t.Helper()
	var v httpapi.AccountView
	a.must(http.StatusOK, a.admin, "GET", "/v1/accounts/"+id, nil, &v)
	return &v
}

// posting is a posting body.
func posting(debit, credit, asset string, amount int64) map[string]any {
	return map[string]any{"debit": debit, "credit": credit, "asset": asset, "amount": amount}
}

// transferBody is a one-posting transfer body.
func transferBody(ref, debit, credit, asset string, amount int64) map[string]any {
	return map[string]any{"reference": ref, "postings": []any{posting(debit, credit, asset, amount)}}
}

// transfer posts a one-posting transfer with key and returns it.
func (a *api) transfer(key, ref, debit, credit, asset string, amount int64) *httpapi.TransactionView {
	a.t.Helper()
	var v httpapi.TransactionView
	a.must(http.StatusCreated, key, "POST", "/v1/transactions", transferBody(ref, debit, credit, asset, amount), &v)
	return &v
}

// books are the root institution's CNY (scale 2) and JPY (scale 0) accounts:
// a bank account that may overdraw and two customer wallets.
type books struct {
	bank, alice, bob, yenBank, yenWallet string
}

func (a *api) books() books {
	a.t.Helper()
	a.newAsset("CNY", 2)
	a.newAsset("JPY", 0)
	acct := func(asset, code, side, overdraft string) string {
		return a.newAccount(a.admin, map[string]any{"asset": asset, "code": code, "name": code, "normal_side": side, "overdraft": overdraft}).ID
	}
	return books{
		bank:      acct("CNY", "1002", "debit", "unlimited"),
		alice:     acct("CNY", "2001", "credit", "none"),
		bob:       acct("CNY", "2001", "credit", "none"),
		yenBank:   acct("JPY", "1002", "debit", "unlimited"),
		yenWallet: acct("JPY", "2001", "credit", "none"),
	}
}

// auditRecords returns every audit record, read with the root key.
func (a *api) auditRecords() []audit.Record {
	a.t.Helper()
	var all []audit.Record
	after := int64(0)
	for {
		var page struct {
			Items      []audit.Record `json:"items"`
			NextCursor int64          `json:"next_cursor"`
		}
		a.must(http.StatusOK, a.admin, "GET", "/v1/audit?limit=1000&after="+strconv.FormatInt(after, 10), nil, &page)
		all = append(all, page.Items...)
		if page.NextCursor == 0 {
			return all
		}
		after = page.NextCursor
	}
}

// auditOnce checks that the request rid left exactly one audit record, and
// that it names the operation, the target, the caller's key and the request,
// and is found by GET /v1/audit?target=. It returns the record.
func (a *api) auditOnce(rid, op, target, key string) audit.Record {
	a.t.Helper()
	var got []audit.Record
	for _, r := range a.auditRecords() {
		if r.RequestID == rid {
			got = append(got, r)
		}
	}
	if len(got) != 1 {
		a.t.Fatalf("request %s left %d audit records, want 1: %+v", rid, len(got), got)
	}
	r := got[0]
	if r.Operation != op || r.Target != target || r.KeyID != keyID(key) {
		a.t.Errorf("audit record of %s: operation %q target %q key %q, want %q %q %q", rid, r.Operation, r.Target, r.KeyID, op, target, keyID(key))
	}
	var page struct {
		Items []audit.Record `json:"items"`
	}
	a.must(http.StatusOK, a.admin, "GET", "/v1/audit?target="+url.QueryEscape(target), nil, &page)
	for _, x := range page.Items {
		if x.Target != target {
			a.t.Errorf("GET /v1/audit?target=%s returned a record of %s", target, x.Target)
		}
	}
	if !slices.ContainsFunc(page.Items, func(x audit.Record) bool { return x.Seq == r.Seq }) {
		a.t.Errorf("GET /v1/audit?target=%s does not list record %d", target, r.Seq)
	}
	return r
}

// noAudit checks that the request rid left no audit record.
func (a *api) noAudit(rid string) {
	a.t.Helper()
	for _, r := range a.auditRecords() {
		if r.RequestID == rid {
			a.t.Errorf("request %s left audit record %d (%s %s)", rid, r.Seq, r.Operation, r.Target)
		}
	}
}

// rid returns headers setting X-Request-ID to id.
func rid(id string) []string { return []string{"X-Request-ID", id} }

// itoa formats a cursor or count for a query string.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// hold places a hold with key in institution inst ("": the key's) and
// returns it.
func (a *api) hold(key, inst, ref string, timeoutSeconds int64, postings ...map[string]any) *httpapi.TransactionView {
	a.t.Helper()
	body := map[string]any{"reference": ref, "postings": postings}
	if timeoutSeconds != 0 {
		body["timeout_seconds"] = timeoutSeconds
	}
	if inst != "" {
		body["institution_id"] = inst
	}
	var v httpapi.TransactionView
	a.must(http.StatusCreated, key, "POST", "/v1/holds", body, &v)
	return &v
}
