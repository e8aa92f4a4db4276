package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/clock"
	"github.com/suanpan/suanpan/internal/httpapi"
	"github.com/suanpan/suanpan/internal/ledger"
	"github.com/suanpan/suanpan/internal/store"
	"github.com/suanpan/suanpan/internal/store/storetest"
)

// api is a running API on a fresh store with a bootstrap admin key for the
// root institution "root".
type api struct {
	t      *testing.T
	db     *store.DB
	clock  *clock.Fake
	ledger *ledger.Ledger
	auth   *auth.Service
	srv    *httpapi.Server
	ts     *httptest.Server
	admin  string
}

func eachAPI(t *testing.T, fn func(t *testing.T, a *api)) {
	t.Helper()
	storetest.Each(t, func(t *testing.T, db *store.DB) { fn(t, newAPI(t, db)) })
}

func newAPI(t *testing.T, db *store.DB) *api {
	t.Helper()
	a := &api{t: t, db: db, clock: clock.NewFake(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))}
	reg := prometheus.NewRegistry()
	a.ledger = ledger.New(db, ledger.Options{Clock: a.clock, OnBatch: httpapi.LedgerMetrics(reg)})
	t.Cleanup(func() { a.ledger.Close() })
	a.auth = auth.NewService(db, a.clock)
	token, err := a.auth.Bootstrap(context.Background(), "root", "Root", "")
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	a.admin = token
	a.srv = httpapi.New(httpapi.Deps{DB: db, Ledger: a.ledger, Auth: a.auth, Clock: a.clock, Registry: reg}, httpapi.Config{})
	a.ts = httptest.NewServer(a.srv.Handler())
	t.Cleanup(a.ts.Close)
	return a
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
