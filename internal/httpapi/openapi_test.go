package httpapi_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/internal/httpapi/docsui"
	"github.com/suanpan/suanpan/internal/store"
	"github.com/suanpan/suanpan/internal/store/storetest"
)

var update = flag.Bool("update", false, "rewrite docs/openapi.json from the code")

// openAPIFile is the checked-in OpenAPI document.
var openAPIFile = filepath.Join("..", "..", "docs", "openapi.json")

// TestOpenAPIUpToDate fails when docs/openapi.json differs from the document
// the code generates. Regenerate it with
//
//	go test ./internal/httpapi -run TestOpenAPIUpToDate -update
func TestOpenAPIUpToDate(t *testing.T) {
	a := newAPI(t, storetest.Open(t, store.SQLite))
	got, err := a.srv.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := a.srv.OpenAPI(); !bytes.Equal(got, again) {
		t.Fatal("the OpenAPI document is not deterministic")
	}
	if *update {
		if err := os.WriteFile(openAPIFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(openAPIFile)
	if err != nil {
		t.Fatalf("%v; generate it with -update", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s is stale; regenerate it with go test ./internal/httpapi -run TestOpenAPIUpToDate -update\n%s",
			openAPIFile, cmp.Diff(string(want), string(got)))
	}

	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi %q, want 3.1", doc.OpenAPI)
	}
	// Public routes (a channel's callback) authenticate otherwise.
	public := map[string]bool{}
	for _, r := range a.srv.Routes() {
		if r.Permission == "" {
			public[r.OperationID] = true
		}
	}
	ops := 0
	for path, item := range doc.Paths {
		if !strings.HasPrefix(path, "/v1/") {
			t.Errorf("path %s outside /v1", path)
		}
		for method, raw := range item {
			var op struct {
				OperationID string                `json:"operationId"`
				Security    []map[string][]string `json:"security"`
				Responses   map[string]any        `json:"responses"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				continue // not an operation (parameters, summary)
			}
			ops++
			if public[op.OperationID] {
				if len(op.Security) != 0 {
					t.Errorf("public %s %s (%s) asks for %v", strings.ToUpper(method), path, op.OperationID, op.Security)
				}
			} else if len(op.Security) == 0 || op.Security[0]["apiKey"] == nil {
				t.Errorf("%s %s (%s) has no security requirement", strings.ToUpper(method), path, op.OperationID)
			}
			for _, status := range []string{"401", "403"} {
				if op.Responses[status] == nil {
					t.Errorf("%s %s documents no %s", strings.ToUpper(method), path, status)
				}
			}
		}
	}
	if ops != len(a.srv.Routes()) {
		t.Errorf("%d operations in the document, %d routes", ops, len(a.srv.Routes()))
	}

	t.Run("served", func(t *testing.T) {
		var served, generated any
		a.must(http.StatusOK, "", "GET", "/openapi.json", nil, &served)
		if err := json.Unmarshal(got, &generated); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(generated, served); diff != "" {
			t.Errorf("served document (-generated +served):\n%s", diff)
		}
	})
}

// TestDocsOffline checks that the /docs page and everything it references
// are served by the server itself: the page must render without internet
// access.
func TestDocsOffline(t *testing.T) {
	a := newAPI(t, storetest.Open(t, store.SQLite))
	resp, page := a.raw("", "GET", "/docs", nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /docs: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if m := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+`).FindAllString(string(page), -1); len(m) != 0 {
		t.Errorf("/docs references other hosts: %q", m)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "http") {
		t.Errorf("/docs Content-Security-Policy %q lets the page load from other hosts", csp)
	}
	refs := regexp.MustCompile(`(?i)(?:src|href|spec-url)="([^"]*)"`).FindAllStringSubmatch(string(page), -1)
	if len(refs) < 2 {
		t.Fatalf("/docs references %q, want its script and the document", refs)
	}
	for _, ref := range refs {
		path := ref[1]
		if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") {
			t.Errorf("/docs references %q, not a path of this server", path)
			continue
		}
		resp, body := a.raw("", "GET", path, nil)
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("GET %s (referenced by /docs): %d, %d bytes", path, resp.StatusCode, len(body))
		}
	}
	for _, path := range docsui.Assets() {
		if resp, _ := a.raw("", "GET", path, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
	}
	checkProblem(t, a.do("", "GET", "/docs/no-such-file.js", nil, nil), http.StatusNotFound, "not_found")
}
