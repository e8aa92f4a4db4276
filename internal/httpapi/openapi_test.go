package httpapi_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/internal/httpapi/docsui"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
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
		Servers []struct{ URL string }                `json:"servers"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi %q, want 3.1", doc.OpenAPI)
	}
	if len(doc.Servers) == 0 {
		t.Errorf("the document declares no servers")
	}
	// Public routes (a channel's callback) authenticate otherwise.
	public := map[string]bool{}
	for _, r := range a.srv.Routes() {
		if r.Permission == "" {
			public[r.OperationID] = true
		}
	}
	type response struct {
		Content map[string]struct {
			Schema struct {
				Ref string `json:"$ref"`
			} `json:"schema"`
		} `json:"content"`
	}
	ops := 0
	for path, item := range doc.Paths {
		if !strings.HasPrefix(path, "/v1/") {
			t.Errorf("path %s outside /v1", path)
		}
		for method, raw := range item {
			var op struct {
				OperationID string                 `json:"operationId"`
				Security    *[]map[string][]string `json:"security"`
				Parameters  []struct{ In string }  `json:"parameters"`
				RequestBody json.RawMessage        `json:"requestBody"`
				Responses   map[string]response    `json:"responses"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				continue // not an operation (parameters, summary)
			}
			ops++
			name := strings.ToUpper(method) + " " + path
			want := []string{"400", "500", "504"}
			switch {
			case public[op.OperationID]:
				// security: [] says so; without it a top-level
				// requirement would apply.
				if op.Security == nil || len(*op.Security) != 0 {
					t.Errorf("public %s (%s) does not declare security: []", name, op.OperationID)
				}
			case op.Security == nil || len(*op.Security) == 0 || (*op.Security)[0]["apiKey"] == nil:
				t.Errorf("%s (%s) has no security requirement", name, op.OperationID)
			default:
				want = append(want, "401", "403", "429")
			}
			if len(op.RequestBody) != 0 {
				want = append(want, "413", "422")
			}
			for _, p := range op.Parameters {
				if p.In == "path" {
					want = append(want, "404", "422")
				}
			}
			for _, status := range want {
				if _, ok := op.Responses[status]; !ok {
					t.Errorf("%s documents no %s", name, status)
				}
			}
			for status, r := range op.Responses {
				if status[0] != '4' && status[0] != '5' {
					continue
				}
				if len(r.Content) != 1 || r.Content["application/problem+json"].Schema.Ref != "#/components/schemas/Problem" {
					t.Errorf("%s: its %s answer is not documented as a problem: %+v", name, status, r.Content)
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

// TestErrorCodesDocumented fails when an error code the server can return
// is missing from the error table of docs/api.md, or the table lists a code
// the code no longer has. The codes are the exported Code… constants of
// the domain packages and the literal codes of this package's problems.
func TestErrorCodesDocumented(t *testing.T) {
	inCode := map[string]string{} // code → where it is defined
	fset := token.NewFileSet()
	parse := func(dir string, visit func(file string, n ast.Node)) {
		t.Helper()
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files in %s: %v", dir, err)
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool { visit(name, n); return true })
		}
	}
	literal := func(file string, e ast.Expr) {
		if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if code, err := strconv.Unquote(lit.Value); err == nil {
				inCode[code] = fset.Position(lit.Pos()).String()
			}
		}
	}
	for _, dir := range []string{"../../ledger", "../accounts", "../auth", "../payments", "../recon", "../eod", "../outbox", "../jobs"} {
		parse(filepath.FromSlash(dir), func(file string, n ast.Node) {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return
			}
			for i, name := range vs.Names {
				if name.IsExported() && strings.HasPrefix(name.Name, "Code") && i < len(vs.Values) {
					literal(file, vs.Values[i])
				}
			}
		})
	}
	parse(".", func(file string, n ast.Node) {
		switch n := n.(type) {
		case *ast.CallExpr: // fail(ctx, status, code, …), coded(…), problemType(code)
			if fn, ok := n.Fun.(*ast.Ident); ok {
				switch {
				case (fn.Name == "fail" || fn.Name == "coded") && len(n.Args) > 2:
					literal(file, n.Args[2])
				case fn.Name == "problemType" && len(n.Args) == 1:
					literal(file, n.Args[0])
				}
			}
		case *ast.AssignStmt: // code = "…" (newProblem)
			if id, ok := n.Lhs[0].(*ast.Ident); ok && id.Name == "code" && len(n.Rhs) == 1 {
				literal(file, n.Rhs[0])
			}
		case *ast.KeyValueExpr: // Problem{Code: "…"}
			if id, ok := n.Key.(*ast.Ident); ok && id.Name == "Code" {
				literal(file, n.Value)
			}
		case *ast.ValueSpec: // const codeTooManyRequests = "…"
			for i, name := range n.Names {
				if strings.HasPrefix(name.Name, "code") && i < len(n.Values) {
					literal(file, n.Values[i])
				}
			}
		}
	})

	md, err := os.ReadFile(filepath.Join("..", "..", "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	inDocs := map[string]bool{}
	table := false
	for _, line := range strings.Split(string(md), "\n") {
		row := strings.TrimSpace(line)
		switch {
		case row == "| status | codes |":
			table = true
		case table && !strings.HasPrefix(row, "|"):
			table = false
		case table:
			for _, m := range regexp.MustCompile("`([a-z0-9_]+)`").FindAllStringSubmatch(row, -1) {
				inDocs[m[1]] = true
			}
		}
	}
	if len(inDocs) == 0 {
		t.Fatal("docs/api.md has no error table (| status | codes |)")
	}
	for code, where := range inCode {
		if !inDocs[code] {
			t.Errorf("error code %q (%s) is missing from the error table of docs/api.md", code, where)
		}
	}
	for code := range inDocs {
		if _, ok := inCode[code]; !ok {
			t.Errorf("docs/api.md lists error code %q, which the code does not have", code)
		}
	}
}

// errorRecorder is a testing.TB that records Errorf instead of failing.
type errorRecorder struct {
	testing.TB
	errs []string
}

func (r *errorRecorder) Helper() {}
func (r *errorRecorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestConformanceCheck checks that the harness's check of responses
// against the OpenAPI document refuses an undocumented status and a body
// that does not match the schema, and accepts what the server answers.
func TestConformanceCheck(t *testing.T) {
	a := newAPI(t, storetest.Open(t, store.SQLite))
	req, err := http.NewRequest("GET", a.ts.URL+"/v1/assets/CNY", nil)
	if err != nil {
		t.Fatal(err)
	}
	problemJSON := http.Header{"Content-Type": {"application/problem+json"}}
	appJSON := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name   string
		status int
		header http.Header
		body   string
		ok     bool
	}{
		{"a documented answer", http.StatusOK, appJSON, `{"code":"CNY","scale":2,"max_amount":100000000000000,"created_at":"2026-11-02T09:00:00Z"}`, true},
		{"a documented problem", http.StatusNotFound, problemJSON,
			`{"type":"https://suanpan.dev/errors#asset_not_found","title":"Not Found","status":404,"code":"asset_not_found"}`, true},
		{"an undocumented status", http.StatusTeapot, problemJSON,
			`{"type":"https://suanpan.dev/errors#internal","title":"I'm a teapot","status":418,"code":"internal"}`, false},
		{"a body of another shape", http.StatusOK, appJSON, `{"code":2,"scale":"two"}`, false},
		{"a problem without its code", http.StatusNotFound, problemJSON, `{"title":"Not Found","status":404}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &errorRecorder{TB: t}
			resp := &http.Response{StatusCode: tt.status, Header: tt.header, Request: req}
			a.conform.check(rec, resp, []byte(tt.body))
			if got := len(rec.errs) == 0; got != tt.ok {
				t.Errorf("accepted %v, want %v: %q", got, tt.ok, rec.errs)
			}
		})
	}
}
