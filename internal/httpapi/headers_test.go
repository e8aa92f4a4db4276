package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/httpapi"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// TestSecurityHeaders: every answer forbids content sniffing; every answer
// of an authenticated route, refusals included, forbids caching.
func TestSecurityHeaders(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		tests := []struct {
			name, key, method, path string
			noStore                 bool
		}{
			{"authenticated read", a.admin, "GET", "/v1/accounts", true},
			{"authenticated refusal", "", "GET", "/v1/accounts", true},
			{"wrong key", "sp_nosuchkey0_" + strings.Repeat("x", 32), "GET", "/v1/keys", true},
			{"authenticated problem", a.admin, "GET", "/v1/accounts/nope", true},
			{"health", "", "GET", "/healthz", false},
			{"no such route", "", "GET", "/v1/nope", false},
			{"OpenAPI document", "", "GET", "/openapi.json", false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp := a.with(t).do(tt.key, tt.method, tt.path, nil, nil)
				if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("X-Content-Type-Options %q, want nosniff", got)
				}
				got := resp.Header.Get("Cache-Control")
				if tt.noStore && got != "no-store" {
					t.Errorf("Cache-Control %q, want no-store", got)
				}
			})
		}
	})
}

// logBuffer collects JSON log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) lines(t *testing.T) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// TestRequestLogKeyID: the request log line names the API key a request
// authenticated with, as docs/operations.md says (it was always empty).
func TestRequestLogKeyID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := clock.NewFake(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
		l := ledger.New(db, ledger.Options{Clock: c})
		t.Cleanup(func() { l.Close() })
		as := auth.NewService(db, c)
		admin, err := as.Bootstrap(context.Background(), "root", "Root", "")
		if err != nil {
			t.Fatal(err)
		}
		var logs logBuffer
		srv := httpapi.New(httpapi.Deps{DB: db, Ledger: l, Auth: as, Clock: c,
			Log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}, httpapi.Config{})
		ts := httptest.NewServer(srv.Handler())
		t.Cleanup(ts.Close)
		for _, key := range []string{admin, ""} {
			req, _ := http.NewRequest("GET", ts.URL+"/v1/accounts", nil)
			if key != "" {
				req.Header.Set("Authorization", "Bearer "+key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		var got []any
		for _, m := range logs.lines(t) {
			if m["msg"] == "request" {
				got = append(got, m["key_id"])
			}
		}
		want := []any{keyID(admin), ""}
		if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("request log key_id %q, want %q", got, want)
		}
	})
}
