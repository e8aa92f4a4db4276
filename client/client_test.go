package client_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/suanpan/suanpan/client"
)

// TestNewAndCheck runs New and Check against a server that answers what
// each case needs: the key reaches it, problems become *ProblemError,
// other failures quote the answer, and an answer too large fails.
func TestNewAndCheck(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		wantErr     string // "" : none
		wantCode    string
	}{
		{"ok", 200, "application/json", `{"code":"CNY","scale":2,"created_at":"2026-11-02T09:00:00Z"}`, "", ""},
		{"problem", 404, "application/problem+json",
			`{"status":404,"title":"Not Found","type":"about:blank","code":"asset_not_found","detail":"no asset XXX","request_id":"r1"}`,
			"asset_not_found: no asset XXX (HTTP 404, request r1)", "asset_not_found"},
		{"not a problem", 502, "text/html", `<html>bad gateway</html>`, "HTTP 502: <html>bad gateway</html>", ""},
		{"too large", 200, "application/json", `"` + strings.Repeat("x", client.MaxAnswerBytes) + `"`, "answer larger than", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if got := r.Header.Get("Authorization"); got != "Bearer sp_test" {
					t.Errorf("Authorization %q, want the bearer key", got)
				}
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c, err := client.New(srv.URL+"/", "sp_test")
			if err != nil {
				t.Fatal(err)
			}
			r, err := c.GetAssetWithResponse(t.Context(), "CNY")
			err = client.Check(r, err)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Check = %v, want nil", err)
			case tt.wantErr == "":
				if r.JSON200 == nil || r.JSON200.Scale != 2 {
					t.Errorf("JSON200 = %+v, want scale 2", r.JSON200)
				}
			case err == nil || !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("Check = %v, want %q", err, tt.wantErr)
			}
			if got := client.Code(err); got != tt.wantCode {
				t.Errorf("Code = %q, want %q", got, tt.wantCode)
			}
			if tt.name == "too large" && !errors.Is(err, client.ErrAnswerTooLarge) {
				t.Errorf("err = %v, want ErrAnswerTooLarge", err)
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	for _, tt := range []struct{ server, key string }{
		{"ftp://example.com", "k"}, {"127.0.0.1:8080", "k"}, {"http://", "k"}, {"http://127.0.0.1:8080", ""},
	} {
		if _, err := client.New(tt.server, tt.key); err == nil {
			t.Errorf("New(%q, %q) took them", tt.server, tt.key)
		}
	}
}
