// Package httpapi is Suanpan's HTTP API under /v1: it decodes requests,
// authenticates and authorizes them, calls the domain services, writes an
// audit record with every change, and encodes responses and RFC 9457
// problems. The OpenAPI 3.1 document is generated from the operations
// registered here.
//
// This package holds no business rules: it must never move money or change
// state except through the ledger and the platform services.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net"
	"net/http"
	"reflect"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/eod"
	"github.com/suanpan/suanpan/internal/httpapi/docsui"
	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/internal/outbox"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/recon"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
)

// Config tunes the API.
type Config struct {
	// MaxBodyBytes bounds a request body; default 1 MiB.
	MaxBodyBytes int64
	// RequestTimeout bounds a request's handling; default 30 s.
	RequestTimeout time.Duration
	// Version is reported in the OpenAPI document.
	Version string
	// TrustProxy takes the client address from X-Forwarded-For.
	TrustProxy bool
	// AuthFailureBurst is how many failed authentications a source
	// address, and separately a key ID, may make before its requests are
	// answered 429 without being looked at; they are allowed again at
	// AuthFailureBurst per AuthFailureWindow. Zero: 20; negative: no
	// throttle.
	AuthFailureBurst int
	// AuthFailureWindow is the time the throttle takes to forget a full
	// burst of failures; default 1 minute.
	AuthFailureWindow time.Duration
}

// Deps are the services the API calls.
type Deps struct {
	DB     *store.DB
	Ledger *ledger.Ledger
	Auth   *auth.Service
	// Customers serves /v1/customers; without it those routes answer
	// 503 unavailable.
	Customers *accounts.Customers
	// Products is built on DB and Clock when nil.
	Products *accounts.ProductService
	// Lifecycle is built on Ledger and Products when nil.
	Lifecycle *accounts.Lifecycle
	// Operations serves /v1/operations and /v1/internal-accounts; it is
	// built on Ledger and Products (internal accounts from the
	// internal_accounts table) when nil.
	Operations *accounts.Operations
	// Approvals serves /v1/adjustments; it is built on Ledger when nil.
	Approvals *accounts.Approvals
	// Batches serves /v1/batches; it is built on Operations when nil.
	// The server only stores batches: a BatchWorker processes them.
	Batches *accounts.Batches
	// Payments serves /v1/payments; without it those routes answer 503
	// unavailable.
	Payments *payments.Service
	// Jobs serves /v1/jobs; without it those routes answer 503
	// unavailable.
	Jobs *jobs.Scheduler
	// Webhooks serves /v1/webhooks; without it those routes answer 503
	// unavailable.
	Webhooks *outbox.Webhooks
	// Recon serves /v1/recon; without it those routes answer 503
	// unavailable.
	Recon *recon.Service
	// EOD serves /v1/eod; without it those routes answer 503 unavailable.
	EOD      *eod.Runner
	Clock    clock.Clock
	Log      *slog.Logger
	Registry *prometheus.Registry
}

// Server serves the API.
type Server struct {
	Deps
	cfg     Config
	api     huma.API
	mux     *http.ServeMux
	metrics *metrics
	routes  []Route
	ready   func(context.Context) error

	// Failed authentications per source address and per key ID.
	sourceThrottle, keyThrottle *throttle

	assetMu sync.Mutex
	scales  map[string]int
}

// Route is one operation with the permission it requires ("" for public).
type Route struct {
	Method, Path, OperationID string
	Permission                auth.Permission
}

var hookErrors sync.Once

// New builds the API. Registry may be nil (no metrics endpoint).
func New(d Deps, cfg Config) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Products == nil {
		d.Products = accounts.NewProductService(d.DB, d.Clock)
	}
	if d.Lifecycle == nil {
		d.Lifecycle = accounts.NewLifecycle(d.Ledger, d.Products)
	}
	if d.Operations == nil {
		d.Operations = accounts.NewOperations(d.Ledger, d.Products, accounts.OperationsConfig{})
	}
	if d.Approvals == nil {
		d.Approvals = accounts.NewApprovals(d.Ledger)
	}
	if d.Batches == nil {
		d.Batches = accounts.NewBatches(d.Operations)
	}
	// huma builds the errors it finds itself (validation, content
	// negotiation) with this package variable; ours carry a code.
	hookErrors.Do(func() { huma.NewError = newProblem })

	s := &Server{Deps: d, cfg: cfg, mux: http.NewServeMux(), scales: map[string]int{},
		sourceThrottle: newThrottle(cfg.AuthFailureBurst, cfg.AuthFailureWindow, throttleEntries),
		keyThrottle:    newThrottle(cfg.AuthFailureBurst, cfg.AuthFailureWindow, throttleEntries)}
	s.metrics = newMetrics(d.Registry, d.Ledger)
	hc := huma.DefaultConfig("Suanpan API", cfg.Version)
	hc.Info.Description = "Suanpan's financial core: ledger, accounts and platform. Authenticate with " +
		"`Authorization: Bearer <API key>`. Amounts are integer minor units of their asset; `*_display` " +
		"fields give the decimal string. Errors are RFC 9457 problems with a stable `code`."
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"apiKey": {Type: "http", Scheme: "bearer", Description: "An API key: sp_<id>_<secret>."},
	}
	// The document's paths carry /v1; a server is wherever it is deployed.
	hc.Servers = []*huma.Server{{
		URL:         "{scheme}://{host}",
		Description: "A Suanpan server (`suanpan serve` listens on 127.0.0.1:8080 unless told otherwise).",
		Variables: map[string]*huma.ServerVariable{
			"scheme": {Enum: []string{"http", "https"}, Default: "http", Description: "https behind a TLS listener or proxy."},
			"host":   {Default: "127.0.0.1:8080", Description: "The server's host and port."},
		},
	}}
	hc.OpenAPIPath = "/openapi"
	// huma's own docs page loads its renderer from a CDN; ours is embedded
	// (docsui.Register below).
	hc.DocsPath = ""
	hc.SchemasPath = "/schemas"
	hc.CreateHooks = nil // no $schema links injected into response bodies
	hc.Components.Schemas = huma.NewMapRegistry("#/components/schemas/", schemaName)
	// Problems huma builds itself (validation, malformed JSON) get the
	// request ID too.
	hc.Transformers = append(hc.Transformers, func(hctx huma.Context, _ string, v any) (any, error) {
		if p, ok := v.(*Problem); ok && p.RequestID == "" {
			p.RequestID = requestID(hctx.Context())
		}
		return v, nil
	})
	s.api = humago.New(s.mux, hc)
	s.registerLedger()
	s.registerPlatform()
	s.registerCustomers()
	s.registerProducts()
	s.registerLifecycle()
	s.registerOperations()
	s.registerStatements()
	s.registerApprovals()
	s.registerBatches()
	s.registerEnvelopes()
	s.registerPayments()
	s.registerJobs()
	s.registerWebhooks()
	s.registerRecon()
	s.registerEOD()

	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /readyz", s.handleReady)
	docsui.Register(s.mux)
	if d.Registry != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{Registry: d.Registry}))
	}
	return s
}

// schemaName names component schemas; types of other Suanpan packages get
// their package as a prefix (ledger.Problem → LedgerProblem), so that
// equally named types of two packages do not clash.
func schemaName(t reflect.Type, hint string) string {
	name := huma.DefaultSchemaNamer(t, hint)
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	pkg := t.PkgPath()
	const module = "github.com/suanpan/suanpan/"
	if strings.HasPrefix(pkg, module) && !strings.HasSuffix(pkg, "/httpapi") && t.Name() != "" {
		p := pkg[strings.LastIndex(pkg, "/")+1:]
		return strings.ToUpper(p[:1]) + p[1:] + name
	}
	return name
}

// Handler returns the server's root handler with its middleware.
func (s *Server) Handler() http.Handler {
	return s.withRequestID(s.withRecover(s.withLimits(http.HandlerFunc(s.route))))
}

// route serves the mux, answering requests that match no route (404) or
// match a path with another method (405) with a problem like every other
// error, where ServeMux would answer in plain text.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if !cleanURL(r) {
		p := fail(r.Context(), http.StatusBadRequest, "invalid_request", "",
			"the path and query must be UTF-8 text without control characters")
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(p.Status)
		_ = json.NewEncoder(w).Encode(p)
		return
	}
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r) // which also sets the request's path values
		return
	}
	probe := &statusProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	status := probe.status
	if status == 0 {
		status = http.StatusNotFound
	}
	if allow := probe.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	p := newProblem(status, "no such route: "+r.Method+" "+r.URL.Path).(*Problem)
	p.RequestID = requestID(r.Context())
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

// cleanURL reports whether the decoded path and query hold only text every
// store can keep (PostgreSQL refuses NUL), so that no handler passes such
// bytes to a query.
func cleanURL(r *http.Request) bool {
	if !store.Storable(r.URL.Path) {
		return false
	}
	for k, vs := range r.URL.Query() {
		if !store.Storable(k) {
			return false
		}
		for _, v := range vs {
			if !store.Storable(v) {
				return false
			}
		}
	}
	return true
}

// statusProbe records what ServeMux's fallback handler answers.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(status int)      { p.status = status }

// API returns the huma API, for the OpenAPI document.
func (s *Server) API() huma.API { return s.api }

// Routes lists every registered operation with its required permission.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// SetReadiness sets the check behind /readyz (default: the store answers).
func (s *Server) SetReadiness(f func(context.Context) error) { s.ready = f }

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	err := s.DB.Read.PingContext(ctx)
	if err == nil && s.ready != nil {
		err = s.ready(ctx)
	}
	w.Header().Set("Content-Type", "text/plain")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

type ctxKey int

const (
	requestIDKey ctxKey = iota
	sourceKey
	callerKey
)

// caller is who a request turned out to be from: authorize fills it in,
// deep in the handler chain, for the request log written outside it.
type caller struct{ keyID string }

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// withRequestID takes a well-formed X-Request-ID from the client or makes
// one, puts it in the context and echoes it in the response. Every answer
// forbids content sniffing: a problem or a CSV file is never a page.
func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !requestIDPattern.MatchString(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-ID", id)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		ctx = context.WithValue(ctx, sourceKey, s.source(r))
		ctx = context.WithValue(ctx, callerKey, &caller{})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (s *Server) source(r *http.Request) string {
	if s.cfg.TrustProxy {
		if f := r.Header.Get("X-Forwarded-For"); f != "" {
			return f
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func requestID(ctx context.Context) string { id, _ := ctx.Value(requestIDKey).(string); return id }
func sourceOf(ctx context.Context) string  { src, _ := ctx.Value(sourceKey).(string); return src }

// keyIDOf is the ID of the API key the request authenticated with, if any.
func keyIDOf(ctx context.Context) string {
	if c, _ := ctx.Value(callerKey).(*caller); c != nil {
		return c.keyID
	}
	return ""
}

// withLimits bounds the handling time (huma bounds the body of every
// operation; the other routes read none).
func (s *Server) withLimits(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// withRecover turns a panic in a handler into a 500 problem and a log line.
func (s *Server) withRecover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Log.ErrorContext(r.Context(), "panic", "request_id", requestID(r.Context()), "panic", v, "stack", string(debug.Stack()))
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write([]byte(`{"type":"` + problemType("internal") + `","title":"Internal Server Error","status":500,"code":"internal","request_id":"` + requestID(r.Context()) + `"}`))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// register adds an operation that requires perm ("" for none) and records
// it in the route table that the authorization tests walk.
func register[I, O any](s *Server, op huma.Operation, perm auth.Permission, h func(context.Context, *I) (*O, error)) {
	route := op.Path
	op.Path = "/v1" + op.Path
	// huma refuses a body of exactly its limit, and handles the refusal
	// itself (413 request_too_large); one more makes MaxBodyBytes inclusive.
	// An operation may set its own (larger) limit: a file upload.
	if op.MaxBodyBytes == 0 {
		op.MaxBodyBytes = s.cfg.MaxBodyBytes + 1
	}
	if perm != "" {
		op.Security = []map[string][]string{{"apiKey": {}}}
		op.Description += "\n\nRequires the `" + string(perm) + "` permission."
		op.Middlewares = append(op.Middlewares, s.authorize(perm))
	} else {
		// Public: the document must say so, or the top-level default
		// (none today, an API key tomorrow) would apply.
		op.Security = []map[string][]string{}
	}
	if hasJSONBody[I]() {
		op.Middlewares = append(op.Middlewares, s.checkBody(op.Method+" "+route, op.MaxBodyBytes))
	}
	op.Middlewares = append(huma.Middlewares{s.observe(route)}, op.Middlewares...)
	why := append(derivedErrors(reflect.TypeFor[I](), route, perm), operationErrors[op.OperationID]...)
	for _, e := range why {
		op.Errors = append(op.Errors, e.status)
	}
	s.routes = append(s.routes, Route{Method: op.Method, Path: op.Path, OperationID: op.OperationID, Permission: perm})
	huma.Register(s.api, op, func(ctx context.Context, in *I) (*O, error) {
		out, err := h(ctx, in)
		if err != nil {
			return nil, s.toProblem(ctx, err)
		}
		return out, nil
	})
	documentOK(s.api.OpenAPI(), op.Method, op.Path, reflect.TypeFor[O]())
	describeErrors(s.api.OpenAPI(), op.Method, op.Path, why)
}

// derivedErrors lists the error statuses every operation of its kind can
// answer, from what the server does around the handler; an operation's
// declaration adds those its handler gives itself (409 …). in is the
// operation's input type, route its path under /v1.
func derivedErrors(in reflect.Type, route string, perm auth.Permission) []errorDoc {
	// route refuses a path or query that is not storable text.
	errs := []errorDoc{{http.StatusBadRequest, "`invalid_request`: the path or query is not UTF-8 text"}}
	var params, pathParams, idempotent, body, rawBody, reference, names404 bool
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			switch {
			case f.Anonymous && f.Type.Kind() == reflect.Struct:
				walk(f.Type)
			case f.Name == "Body":
				body = true
				names := jsonNames(f.Type, map[reflect.Type]bool{})
				reference = names["reference"]
				for name := range names {
					names404 = names404 || namesResource(name)
				}
			case f.Name == "RawBody":
				rawBody = true
			case f.Tag.Get("path") != "":
				params, pathParams = true, true
			case f.Tag.Get("query") != "" || f.Tag.Get("header") != "":
				params = true
				idempotent = idempotent || f.Tag.Get("header") == "Idempotency-Key"
				names404 = names404 || strings.HasSuffix(f.Tag.Get("query"), "_id")
			}
		}
	}
	walk(in)
	if body {
		// huma: malformed JSON 400, an unknown content type 415, a body
		// the schema refuses 422.
		errs = append(errs, errorDoc{http.StatusBadRequest, "`invalid_request`: the body is not JSON"},
			errorDoc{http.StatusUnsupportedMediaType, "`unsupported_media_type`: the body is not JSON"},
			errorDoc{http.StatusUnprocessableEntity, "`invalid_request` and the `field` at fault: the body breaks the schema or a rule"})
	}
	if rawBody {
		// A file or a channel's notification, parsed by the handler.
		errs = append(errs, errorDoc{http.StatusUnprocessableEntity, "`invalid_request` (or the file's own code, e.g. `statement_invalid`): the body cannot be read"})
	}
	if body || rawBody {
		errs = append(errs, errorDoc{http.StatusRequestEntityTooLarge, "`request_too_large`: the body exceeds the limit (1 MiB unless configured)"})
	}
	if params {
		errs = append(errs, errorDoc{http.StatusUnprocessableEntity, "`invalid_request` and the `field` at fault: a parameter breaks the schema"})
	}
	if pathParams || names404 {
		// What the path, body or query names does not exist or is out of
		// the caller's scope.
		errs = append(errs, errorDoc{http.StatusNotFound, "`not_found` or the resource's own code (`account_not_found`, …): what the request names does not exist or is not the caller's"})
	}
	if idempotent || reference {
		// idempotency_key_reused, reference_conflict; a ledger that is
		// shutting down answers 503.
		errs = append(errs, errorDoc{http.StatusConflict, "`idempotency_key_reused`, `reference_conflict`: the key or reference was used for another request"},
			errorDoc{http.StatusServiceUnavailable, "`unavailable`: the server is shutting down; retry with the same Idempotency-Key or reference"})
	}
	if perm != "" {
		// authorize: no or a bad key 401, a key without perm 403, a source
		// throttled after failed authentications 429.
		errs = append(errs, errorDoc{http.StatusUnauthorized, "`unauthenticated`: no valid API key"},
			errorDoc{http.StatusForbidden, "`forbidden`: the key lacks the permission"},
			errorDoc{http.StatusTooManyRequests, "`too_many_requests`: too many failed authentications from the client's address or for the key ID; retry after the `Retry-After` seconds"})
	}
	// Services a server may be built without answer 503 (see Deps).
	for _, prefix := range []string{"/customers", "/payments", "/jobs", "/webhooks", "/recon", "/eod"} {
		if route == prefix || strings.HasPrefix(route, prefix+"/") {
			errs = append(errs, errorDoc{http.StatusServiceUnavailable, "`unavailable`: the service is not configured on this server"})
		}
	}
	// withLimits bounds every request's time (toProblem: 504 timeout).
	return append(errs, errorDoc{http.StatusGatewayTimeout, "`timeout`: the request did not finish in time; its outcome is unknown"})
}

// jsonNames collects the JSON field names of t and of the structs it holds.
func jsonNames(t reflect.Type, seen map[reflect.Type]bool) map[string]bool {
	names := map[string]bool{}
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return names
	}
	seen[t] = true
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name != "" {
			names[name] = true
		}
		for n := range jsonNames(f.Type, seen) {
			names[n] = true
		}
	}
	return names
}

// namesResource reports whether a body field names a resource the request
// needs (an institution, account, asset, channel …), which answers 404
// when it does not exist or is out of the caller's scope.
func namesResource(field string) bool {
	switch field {
	case "account", "debit", "credit", "asset", "sweep_to":
		return true
	}
	return strings.HasSuffix(field, "_id") || strings.HasSuffix(field, "_account")
}

// authorize authenticates the bearer token and checks perm. Answers to
// authenticated routes are never stored by caches: they hold balances,
// customers and secrets shown once.
func (s *Server) authorize(perm auth.Permission) func(huma.Context, func(huma.Context)) {
	return func(hctx huma.Context, next func(huma.Context)) {
		ctx := hctx.Context()
		hctx.SetHeader("Cache-Control", "no-store")
		token, ok := bearer(hctx.Header("Authorization"))
		if !ok {
			s.writeProblem(hctx, fail(ctx, http.StatusUnauthorized, auth.CodeUnauthenticated, "", "a valid API key is required: Authorization: Bearer <key>"))
			return
		}
		src, kid := sourceOf(ctx), tokenKeyID(token)
		now := s.Clock.Now()
		if wait, limit := s.throttled(src, kid, now); wait > 0 {
			s.metrics.authThrottled.WithLabelValues(limit).Inc()
			hctx.SetHeader("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			s.writeProblem(hctx, fail(ctx, http.StatusTooManyRequests, codeTooManyRequests, "",
				"too many failed authentications from this address or for this key; retry after the Retry-After seconds"))
			return
		}
		p, err := s.Auth.Authenticate(ctx, token)
		if err != nil {
			var ae *auth.Error
			if errors.As(err, &ae) && ae.Code == auth.CodeUnauthenticated {
				s.metrics.authFailures.Inc()
				s.sourceThrottle.fail(src, now)
				s.keyThrottle.fail(kid, now)
			}
			s.writeProblem(hctx, s.toProblem(ctx, err).(*Problem))
			return
		}
		if c, _ := ctx.Value(callerKey).(*caller); c != nil {
			c.keyID = p.KeyID
		}
		if !p.Can(perm) {
			s.writeProblem(hctx, fail(ctx, http.StatusForbidden, auth.CodeForbidden, "",
				"this API key's role ("+string(p.Role)+") lacks the "+string(perm)+" permission"))
			return
		}
		next(huma.WithValue(hctx, principalCtxKey{}, p))
	}
}

// codeTooManyRequests is the code of a 429.
const codeTooManyRequests = "too_many_requests"

// throttled reports how long a request must wait, and which limit holds it
// ("source" or "key"), when its address or key ID has no failures left.
func (s *Server) throttled(src, kid string, now time.Time) (time.Duration, string) {
	ws, wk := s.sourceThrottle.wait(src, now), s.keyThrottle.wait(kid, now)
	if ws >= wk && ws > 0 {
		return ws, "source"
	}
	if wk > 0 {
		return wk, "key"
	}
	return 0, ""
}

// tokenKeyID is the key ID of a token sp_<id>_<secret> ("" for another
// form): the part a guesser of secrets keeps.
func tokenKeyID(token string) string {
	rest, ok := strings.CutPrefix(token, "sp_")
	if !ok {
		return ""
	}
	id, _, ok := strings.Cut(rest, "_")
	if !ok || len(id) > 64 {
		return ""
	}
	return id
}

type principalCtxKey struct{}

func principal(ctx context.Context) *auth.Principal {
	p, _ := ctx.Value(principalCtxKey{}).(*auth.Principal)
	return p
}

func bearer(h string) (string, bool) {
	const prefix = "Bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	return h[len(prefix):], true
}

func (s *Server) writeProblem(hctx huma.Context, p *Problem) {
	p.RequestID = requestID(hctx.Context())
	_ = huma.WriteErr(s.api, hctx, p.Status, p.Detail, &codedDetail{p})
}

// codedDetail carries a prepared problem through huma.WriteErr, whose
// error constructor (newProblem) would otherwise build a generic one.
type codedDetail struct{ p *Problem }

func (c *codedDetail) Error() string { return c.p.Detail }
