package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/httpapi"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// The cross-cutting behaviour of every route: authentication, request IDs,
// problem documents, body limits.

func TestAuthentication(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		viewer := a.newKey("root", auth.RoleViewer)
		revoked := a.newKey("root", auth.RoleViewer)
		a.must(http.StatusOK, a.admin, "POST", "/v1/keys/"+keyID(revoked)+"/revoke", nil, nil)
		id, secret, _ := strings.Cut(strings.TrimPrefix(viewer, "sp_"), "_")

		tests := []struct {
			name   string
			header string // the whole Authorization header; "" sends none
		}{
			{"no header", ""},
			{"empty bearer", "Bearer "},
			{"basic scheme", "Basic " + viewer},
			{"token without scheme", viewer},
			{"wrong secret", "Bearer sp_" + id + "_" + strings.Repeat("x", len(secret))},
			{"unknown key", "Bearer sp_nosuchkey0_" + secret},
			{"no prefix", "Bearer " + id + "_" + secret},
			{"malformed", "Bearer sp_" + id},
			{"empty id", "Bearer sp__" + secret},
			{"revoked", "Bearer " + revoked},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var h []string
				if tt.header != "" {
					h = []string{"Authorization", tt.header}
				}
				p := a.with(t).fail(http.StatusUnauthorized, auth.CodeUnauthenticated, "", "", "GET", "/v1/accounts", nil, h...)
				if strings.Contains(p.Detail, secret) {
					t.Errorf("problem detail echoes the secret: %q", p.Detail)
				}
			})
		}
		t.Run("scheme is case-insensitive", func(t *testing.T) {
			a.with(t).must(http.StatusOK, "", "GET", "/v1/accounts", nil, nil, "Authorization", "bearer "+viewer)
			a.with(t).must(http.StatusOK, "", "GET", "/v1/accounts", nil, nil, "Authorization", "BEARER "+viewer)
		})
		t.Run("a key revoked after use is refused at once", func(t *testing.T) {
			k := a.newKey("root", auth.RoleViewer)
			a.with(t).must(http.StatusOK, k, "GET", "/v1/accounts", nil, nil)
			a.with(t).must(http.StatusOK, a.admin, "POST", "/v1/keys/"+keyID(k)+"/revoke", nil, nil)
			a.with(t).fail(http.StatusUnauthorized, auth.CodeUnauthenticated, "", k, "GET", "/v1/accounts", nil)
		})
	})
}

func TestRequestID(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		tests := []struct {
			name, given string
			keep        bool
		}{
			{"absent", "", false},
			{"valid", "req-123_abc.def:42", true},
			{"64 characters", strings.Repeat("a", 64), true},
			{"65 characters", strings.Repeat("a", 65), false},
			{"spaces", "has spaces", false},
			{"quotes", `x"y`, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var h []string
				if tt.given != "" {
					h = rid(tt.given)
				}
				for _, path := range []string{"/v1/accounts", "/healthz"} {
					resp := a.with(t).do(a.admin, "GET", path, nil, nil, h...)
					got := resp.Header.Get("X-Request-ID")
					switch {
					case tt.keep && got != tt.given:
						t.Errorf("GET %s: X-Request-ID %q, want the client's %q", path, got, tt.given)
					case !tt.keep && (got == "" || got == tt.given):
						t.Errorf("GET %s: X-Request-ID %q, want a generated one", path, got)
					}
				}
				// Errors carry it too.
				resp := a.with(t).do("", "GET", "/v1/accounts", nil, nil, h...)
				p := checkProblem(t, resp, http.StatusUnauthorized, auth.CodeUnauthenticated)
				if tt.keep && p.RequestID != tt.given {
					t.Errorf("problem request_id %q, want %q", p.RequestID, tt.given)
				}
			})
		}
		t.Run("generated IDs differ", func(t *testing.T) {
			r1 := a.with(t).do(a.admin, "GET", "/v1/assets", nil, nil).Header.Get("X-Request-ID")
			r2 := a.with(t).do(a.admin, "GET", "/v1/assets", nil, nil).Header.Get("X-Request-ID")
			if r1 == r2 {
				t.Errorf("two requests got the same generated ID %q", r1)
			}
		})
	})
}

// TestProblems checks that the errors huma finds itself (malformed JSON,
// schema validation, content type, a missing body) are problem documents
// with a code, and validation errors name the field.
func TestProblems(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		tests := []struct {
			name, method, path, body string
			headers                  []string
			status                   int
			code, field              string
		}{
			{"malformed JSON", "POST", "/v1/transactions", `{"reference":`, nil, 400, "invalid_request", "body"},
			{"missing body", "POST", "/v1/accounts/" + b.alice + "/freeze", ``, nil, 400, "invalid_request", ""},
			{"wrong content type", "POST", "/v1/assets", `{"code":"USD","scale":2}`, []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type", "body"},
			{"unknown property", "POST", "/v1/assets", `{"code":"USD","scale":2,"color":"red"}`, nil, 422, "invalid_request", "body.color"},
			{"missing property", "POST", "/v1/assets", `{"scale":2}`, nil, 422, "invalid_request", "body"},
			{"wrong type", "POST", "/v1/assets", `{"code":"USD","scale":"two"}`, nil, 422, "invalid_request", "body.scale"},
			{"bad query integer", "GET", "/v1/accounts?limit=abc", ``, nil, 422, "invalid_request", "query.limit"},
			{"query out of range", "GET", "/v1/accounts?limit=1001", ``, nil, 422, "invalid_request", "query.limit"},
			{"bad query enum", "GET", "/v1/accounts?status=sleeping", ``, nil, 422, "invalid_request", "query.status"},
			{"bad query time", "GET", "/v1/accounts/" + b.alice + "/balance?as_of=yesterday", ``, nil, 422, "invalid_request", "query.as_of"},
			{"negative cursor", "GET", "/v1/accounts/" + b.alice + "/entries?after=-1", ``, nil, 422, "invalid_request", "query.after"},
			{"bad hold status", "GET", "/v1/accounts/" + b.alice + "/holds?status=lost", ``, nil, 422, "invalid_request", "query.status"},
			{"path too long", "GET", "/v1/accounts/" + strings.Repeat("x", 65), ``, nil, 422, "invalid_request", "path.id"},
			{"Idempotency-Key too long", "POST", "/v1/transactions", `{"reference":"r","postings":[{"debit":"` + b.bank + `","credit":"` + b.alice + `","asset":"CNY","amount":1}]}`,
				[]string{"Idempotency-Key", strings.Repeat("k", 129)}, 422, "invalid_request", "header.Idempotency-Key"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var body []byte
				if tt.body != "" {
					body = []byte(tt.body)
				}
				resp, _ := a.with(t).raw(a.admin, tt.method, tt.path, body, tt.headers...)
				p := checkProblem(t, resp, tt.status, tt.code)
				if p.Field != tt.field {
					t.Errorf("field %q, want %q", p.Field, tt.field)
				}
			})
		}
	})
}

// TestProblemsCarryRequestID: every problem carries the request's ID, also
// those huma builds itself.
func TestProblemsCarryRequestID(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		for _, body := range []string{`{"code":`, `{"code":"usd","scale":2}`} {
			resp, raw := a.raw(a.admin, "POST", "/v1/assets", []byte(body), rid("req-42")...)
			var p problem
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatal(err)
			}
			if p.RequestID != "req-42" || resp.Header.Get("X-Request-ID") != "req-42" {
				t.Errorf("POST %s: request_id %q, want req-42: %s", body, p.RequestID, raw)
			}
		}
	})
}

// TestUnknownRoutesAreProblems: paths and methods the API does not have are
// answered with problems too.
func TestUnknownRoutesAreProblems(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		checkProblem(t, a.do(a.admin, "GET", "/v1/nope", nil, nil), http.StatusNotFound, "not_found")
		resp := a.do(a.admin, "DELETE", "/v1/accounts", nil, nil)
		checkProblem(t, resp, http.StatusMethodNotAllowed, "method_not_allowed")
		if allow := resp.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
			t.Errorf("Allow %q", allow)
		}
		checkProblem(t, a.do("", "GET", "/v2/accounts", nil, nil), http.StatusNotFound, "not_found")
	})
}

// TestBodyLimit: a body over Config.MaxBodyBytes is refused with 413.
func TestBodyLimit(t *testing.T) {
	a := newAPIConfig(t, storetest.Open(t, store.SQLite), httpapi.Config{MaxBodyBytes: 512})
	small := []byte(`{"code":"CNY","scale":2}`)
	a.must(http.StatusCreated, a.admin, "POST", "/v1/assets", json.RawMessage(small), nil)
	big := []byte(`{"code":"USD","scale":2,"padding":"` + strings.Repeat("a", 1024) + `"}`)
	resp, _ := a.raw(a.admin, "POST", "/v1/assets", big)
	checkProblem(t, resp, http.StatusRequestEntityTooLarge, "request_too_large")
	a.must(http.StatusNotFound, a.admin, "GET", "/v1/assets/USD", nil, nil)
}

// TestBodyLimitInclusive: a body of exactly Config.MaxBodyBytes is within
// the limit.
func TestBodyLimitInclusive(t *testing.T) {
	a := newAPIConfig(t, storetest.Open(t, store.SQLite), httpapi.Config{MaxBodyBytes: 64})
	body := `{"code":"CNY","scale":2}`
	body += strings.Repeat(" ", 64-len(body))
	if resp, raw := a.raw(a.admin, "POST", "/v1/assets", []byte(body)); resp.StatusCode != http.StatusCreated {
		t.Errorf("a body of %d bytes with a limit of 64: %d %s", len(body), resp.StatusCode, raw)
	}
}

func TestDefaultBodyLimit(t *testing.T) {
	a := newAPI(t, storetest.Open(t, store.SQLite))
	big := []byte(`{"code":"USD","scale":2,"padding":"` + strings.Repeat("a", 1<<20) + `"}`)
	resp, _ := a.raw(a.admin, "POST", "/v1/assets", big)
	checkProblem(t, resp, http.StatusRequestEntityTooLarge, "request_too_large")
}

// TestUnavailable: requests that cannot finish get a problem saying whether
// to retry, never a bare 500.
func TestUnavailable(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		a := newAPIConfig(t, storetest.Open(t, store.SQLite), httpapi.Config{RequestTimeout: time.Nanosecond})
		resp, _ := a.raw(a.admin, "POST", "/v1/assets", []byte(`{"code":"CNY","scale":2}`))
		p := checkProblem(t, resp, http.StatusGatewayTimeout, "timeout")
		if !strings.Contains(p.Detail, "retry") {
			t.Errorf("detail %q", p.Detail)
		}
	})
	t.Run("ledger closed", func(t *testing.T) {
		a := newAPI(t, storetest.Open(t, store.SQLite))
		b := a.books()
		a.ledger.Close()
		p := a.fail(http.StatusServiceUnavailable, "unavailable", "", a.admin, "POST", "/v1/transactions", transferBody("t1", b.bank, b.alice, "CNY", 1))
		if !strings.Contains(p.Detail, "retry") {
			t.Errorf("detail %q", p.Detail)
		}
	})
	t.Run("batch too large for the ledger", func(t *testing.T) {
		a := newAPIOptions(t, storetest.Open(t, store.SQLite), httpapi.Config{}, ledger.Options{MaxBatch: 2})
		b := a.books()
		item := map[string]any{"kind": "transfer", "reference": "x", "postings": []any{posting(b.bank, b.alice, "CNY", 1)}}
		a.fail(http.StatusRequestEntityTooLarge, "batch_too_large", "", a.admin, "POST", "/v1/transactions/batch", map[string]any{"items": []any{item, item, item}})
	})
}
