package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/httpapi"
)

func TestInstitutions(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		now := a.clock.Now()
		var got auth.Institution
		a.must(http.StatusCreated, a.admin, "POST", "/v1/institutions", map[string]any{"id": "branch-a", "name": "Branch A"}, &got, rid("inst-a")...)
		if want := (auth.Institution{ID: "branch-a", ParentID: "root", Name: "Branch A", CreatedAt: now}); !cmp.Equal(want, got, cmp.AllowUnexported(auth.Institution{})) {
			t.Errorf("created %+v, want %+v", got, want)
		}
		rec := a.auditOnce("inst-a", "institutions.create", "institution:branch-a", a.admin)
		if rec.InstitutionID != "root" {
			t.Errorf("audit record in %s, want the parent root", rec.InstitutionID)
		}
		keyA := a.newKey("branch-a", auth.RoleAdmin)
		viewerA := a.newKey("branch-a", auth.RoleViewer)
		a.must(http.StatusOK, viewerA, "GET", "/v1/institutions", nil, nil) // caches its scope
		a.must(http.StatusCreated, a.admin, "POST", "/v1/institutions", map[string]any{"id": "a1", "parent_id": "branch-a", "name": "A1"}, nil)
		a.must(http.StatusCreated, keyA, "POST", "/v1/institutions", map[string]any{"id": "a2", "name": "A2"}, &got)
		if got.ParentID != "branch-a" {
			t.Errorf("a2 under %q, want branch-a", got.ParentID)
		}
		a.must(http.StatusCreated, keyA, "POST", "/v1/institutions", map[string]any{"id": "a11", "parent_id": "a1", "name": "A11"}, nil)
		a.must(http.StatusCreated, a.admin, "POST", "/v1/institutions", map[string]any{"id": "branch-b", "name": "Branch B"}, nil)

		list := func(t *testing.T, key string) []string {
			t.Helper()
			var insts []auth.Institution
			a.with(t).must(http.StatusOK, key, "GET", "/v1/institutions", nil, &insts)
			var ids []string
			for _, i := range insts {
				ids = append(ids, i.ParentID+">"+i.ID)
			}
			return ids
		}
		t.Run("list", func(t *testing.T) {
			if diff := cmp.Diff([]string{"branch-a>a1", "a1>a11", "branch-a>a2", "root>branch-a", "root>branch-b", ">root"}, list(t, a.admin)); diff != "" {
				t.Errorf("root's institutions (-want +got):\n%s", diff)
			}
			// viewerA's scope was cached before a1, a2 and a11 existed.
			if diff := cmp.Diff([]string{"branch-a>a1", "a1>a11", "branch-a>a2", "root>branch-a"}, list(t, viewerA)); diff != "" {
				t.Errorf("branch-a's institutions (-want +got):\n%s", diff)
			}
		})
		t.Run("get", func(t *testing.T) {
			var i auth.Institution
			a.with(t).must(http.StatusOK, viewerA, "GET", "/v1/institutions/a11", nil, &i)
			if i.ID != "a11" || i.ParentID != "a1" || i.Name != "A11" {
				t.Errorf("got %+v", i)
			}
			a.with(t).fail(404, auth.CodeNotFound, "", viewerA, "GET", "/v1/institutions/root", nil)
			a.with(t).fail(404, auth.CodeNotFound, "", viewerA, "GET", "/v1/institutions/branch-b", nil)
			a.with(t).fail(404, auth.CodeNotFound, "", a.admin, "GET", "/v1/institutions/nope", nil)
		})

		tests := []struct {
			name        string
			key         string
			body        any
			status      int
			code, field string
		}{
			{"duplicate", a.admin, map[string]any{"id": "a1", "name": "again"}, 409, auth.CodeConflict, "body.id"},
			{"uppercase id", a.admin, map[string]any{"id": "Bad", "name": "x"}, 422, "invalid_request", "body.id"},
			{"id with a slash", a.admin, map[string]any{"id": "a/b", "name": "x"}, 422, "invalid_request", "body.id"},
			{"id too long", a.admin, map[string]any{"id": strings.Repeat("a", 64), "name": "x"}, 422, "invalid_request", "body.id"},
			{"empty name", a.admin, map[string]any{"id": "x", "name": ""}, 422, "invalid_request", "body.name"},
			{"name too long", a.admin, map[string]any{"id": "x", "name": strings.Repeat("n", 201)}, 422, "invalid_request", "body.name"},
			{"parent outside the key's", keyA, map[string]any{"id": "x", "parent_id": "root", "name": "x"}, 403, auth.CodeForbidden, ""},
			{"sibling parent", keyA, map[string]any{"id": "x", "parent_id": "branch-b", "name": "x"}, 403, auth.CodeForbidden, ""},
			{"unknown parent", a.admin, map[string]any{"id": "x", "parent_id": "nope", "name": "x"}, 403, auth.CodeForbidden, ""},
			{"operator", a.newKey("root", auth.RoleOperator), map[string]any{"id": "x", "name": "x"}, 403, auth.CodeForbidden, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a.with(t).fail(tt.status, tt.code, tt.field, tt.key, "POST", "/v1/institutions", tt.body, rid("bad-inst")...)
			})
		}
		a.noAudit("bad-inst")
		a.fail(403, auth.CodeForbidden, "", a.newKey("root", auth.RolePoster), "GET", "/v1/institutions", nil)
	})
}

// TestScopeErrorFields: a refused institution names the parameter that
// carried it.
func TestScopeErrorFields(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		a.newInstitution("branch-a", "root")
		keyA := a.newKey("branch-a", auth.RoleAdmin)
		a.fail(403, auth.CodeForbidden, "body.parent_id", keyA, "POST", "/v1/institutions", map[string]any{"id": "x", "parent_id": "root", "name": "x"})
		a.fail(403, auth.CodeForbidden, "query.institution_id", keyA, "GET", "/v1/transactions/by-reference/x?institution_id=root", nil)
	})
}

func TestKeys(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		a.newInstitution("branch-a", "root")
		a.newInstitution("branch-b", "root")
		now := a.clock.Now()

		var k httpapi.NewKeyView
		a.must(http.StatusCreated, a.admin, "POST", "/v1/keys", map[string]any{"role": "poster", "name": "checkout"}, &k, rid("key-1")...)
		if k.Key == nil || k.ID == "" || k.InstitutionID != "root" || k.Role != auth.RolePoster || k.Name != "checkout" ||
			k.CreatedBy != keyID(a.admin) || !k.CreatedAt.Equal(now) || k.RevokedAt != nil || !strings.HasPrefix(k.Token, "sp_"+k.ID+"_") {
			t.Fatalf("created %+v token %q", k.Key, k.Token)
		}
		secret := strings.TrimPrefix(k.Token, "sp_"+k.ID+"_")
		a.auditOnce("key-1", "keys.create", "key:"+k.ID, a.admin)
		t.Run("the token works with its role", func(t *testing.T) {
			a.with(t).must(http.StatusOK, k.Token, "GET", "/v1/accounts", nil, nil)
			a.with(t).fail(403, auth.CodeForbidden, "", k.Token, "POST", "/v1/accounts/x/freeze", map[string]any{"side": "debit"})
		})
		t.Run("the secret is never shown again", func(t *testing.T) {
			for _, path := range []string{"/v1/keys", "/v1/audit", "/v1/audit?target=key:" + k.ID} {
				_, raw := a.with(t).raw(a.admin, "GET", path, nil)
				if strings.Contains(string(raw), secret) || strings.Contains(string(raw), `"token"`) || strings.Contains(string(raw), "secret_hash") {
					t.Errorf("GET %s shows the key's secret: %s", path, raw)
				}
			}
		})
		keyA := a.newKey("branch-a", auth.RoleAdmin)
		keyB := a.newKey("branch-b", auth.RoleViewer)
		t.Run("list", func(t *testing.T) {
			ids := func(key string) []string {
				var ks []auth.Key
				a.with(t).must(http.StatusOK, key, "GET", "/v1/keys", nil, &ks)
				var out []string
				for _, x := range ks {
					out = append(out, x.InstitutionID+"/"+string(x.Role)+"/"+x.ID)
				}
				slices.Sort(out) // by creation time, and all were created at once
				return out
			}
			want := []string{"branch-a/admin/" + keyID(keyA), "branch-b/viewer/" + keyID(keyB), "root/admin/" + keyID(a.admin), "root/poster/" + k.ID}
			slices.Sort(want)
			if diff := cmp.Diff(want, ids(a.admin)); diff != "" {
				t.Errorf("root's keys (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"branch-a/admin/" + keyID(keyA)}, ids(keyA)); diff != "" {
				t.Errorf("branch-a's keys (-want +got):\n%s", diff)
			}
		})
		t.Run("revoke", func(t *testing.T) {
			a.clock.Advance(60e9)
			var got auth.Key
			a.with(t).must(http.StatusOK, a.admin, "POST", "/v1/keys/"+k.ID+"/revoke", nil, &got, rid("revoke-1")...)
			if got.RevokedAt == nil || !got.RevokedAt.Equal(a.clock.Now()) || got.ID != k.ID {
				t.Errorf("revoked %+v", got)
			}
			a.with(t).auditOnce("revoke-1", "keys.revoke", "key:"+k.ID, a.admin)
			a.with(t).fail(401, auth.CodeUnauthenticated, "", k.Token, "GET", "/v1/accounts", nil)
			var again auth.Key
			a.with(t).must(http.StatusOK, a.admin, "POST", "/v1/keys/"+k.ID+"/revoke", nil, &again, rid("revoke-2")...)
			if again.RevokedAt == nil || !again.RevokedAt.Equal(*got.RevokedAt) {
				t.Errorf("revoked again %+v, want it unchanged", again)
			}
			a.with(t).noAudit("revoke-2")
		})

		tests := []struct {
			name, key, path string
			body            any
			status          int
			code, field     string
		}{
			{"unknown role", a.admin, "/v1/keys", map[string]any{"role": "god"}, 422, "invalid_request", "body.role"},
			{"name too long", a.admin, "/v1/keys", map[string]any{"role": "viewer", "name": strings.Repeat("n", 201)}, 422, "invalid_request", "body.name"},
			{"institution outside the key's", keyA, "/v1/keys", map[string]any{"role": "viewer", "institution_id": "branch-b"}, 403, auth.CodeForbidden, "body.institution_id"},
			{"operator", a.newKey("root", auth.RoleOperator), "/v1/keys", map[string]any{"role": "viewer"}, 403, auth.CodeForbidden, ""},
			{"revoke unknown", a.admin, "/v1/keys/nope/revoke", nil, 404, auth.CodeNotFound, ""},
			{"revoke another institution's", keyA, "/v1/keys/" + keyID(keyB) + "/revoke", nil, 404, auth.CodeNotFound, ""},
			{"revoke the parent's", keyA, "/v1/keys/" + keyID(a.admin) + "/revoke", nil, 404, auth.CodeNotFound, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a.with(t).fail(tt.status, tt.code, tt.field, tt.key, "POST", tt.path, tt.body, rid("bad-key")...)
			})
		}
		a.noAudit("bad-key")
		a.must(http.StatusOK, keyB, "GET", "/v1/accounts", nil, nil) // not revoked
	})
}

// nulRequest is a request carrying a NUL byte, which PostgreSQL refuses to
// store or compare in TEXT.
type nulRequest struct{ method, path, body string }

func sendNUL(t *testing.T, a *api, reqs []nulRequest) {
	t.Helper()
	for _, r := range reqs {
		var body []byte
		if r.body != "" {
			body = []byte(r.body)
		}
		resp, raw := a.raw(a.admin, r.method, r.path, body)
		if resp.StatusCode >= 500 {
			t.Errorf("%s %s %s: %d %s", r.method, r.path, r.body, resp.StatusCode, raw)
		} else if resp.StatusCode/100 != 2 {
			checkProblem(t, resp, resp.StatusCode, "")
		}
	}
}

// TestNULBytes: text with a NUL byte, in a body, a path or a query, is
// refused (or stored escaped, in JSON) on every engine, never a 500; and one
// bad item does not fail a batch.
func TestNULBytes(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		p := `"postings":[{"debit":"` + b.bank + `","credit":"` + b.alice + `","asset":"CNY","amount":1}]`
		sendNUL(t, a, []nulRequest{
			{"POST", "/v1/transactions", `{"reference":"a\u0000b",` + p + `}`},
			{"POST", "/v1/transactions", `{"reference":"r1","metadata":{"k":"a\u0000"},` + p + `}`},
			{"POST", "/v1/transactions", `{"reference":"r2","metadata":{"k\u0000":"a"},` + p + `}`},
			{"POST", "/v1/accounts", `{"asset":"CNY","code":"2001","normal_side":"credit","name":"x\u0000"}`},
			{"POST", "/v1/accounts/" + b.alice + "/freeze", `{"side":"debit","reason":"x\u0000"}`},
			{"POST", "/v1/holds/%00/void", `{"reference":"v"}`},
			{"POST", "/v1/transactions/%00/reversals", `{"reference":"v"}`},
			{"GET", "/v1/institutions/%00", ""},
			{"POST", "/v1/institutions", `{"id":"nul","name":"x\u0000"}`},
			{"POST", "/v1/keys", `{"role":"viewer","name":"x\u0000"}`},
			{"GET", "/v1/accounts/%00", ""},
			{"GET", "/v1/accounts/%00/balance", ""},
			{"GET", "/v1/accounts/%00/entries", ""},
			{"GET", "/v1/accounts/%00/holds", ""},
			{"POST", "/v1/accounts/%00/freeze", `{"side":"debit"}`},
			{"GET", "/v1/accounts?asset=%00", ""},
			{"GET", "/v1/accounts?code=%00", ""},
			{"GET", "/v1/accounts?after=%00", ""},
			{"GET", "/v1/assets/%00", ""},
			{"GET", "/v1/transactions/%00", ""},
			{"GET", "/v1/transactions?type=%00", ""},
			{"GET", "/v1/transactions?after=%00", ""},
			{"GET", "/v1/transactions/by-reference/%00", ""},
			{"GET", "/v1/holds/%00", ""},
			{"POST", "/v1/keys/%00/revoke", ""},
			{"GET", "/v1/audit?target=%00", ""},
		})
		a.fail(422, "invalid_request", "body.reference", a.admin, "POST", "/v1/transactions", transferBody("a\x00b", b.bank, b.alice, "CNY", 1))
		// Like an item that breaks the schema, an item with a control
		// character refuses the whole batch before anything is decoded;
		// the problem names the item.
		a.fail(422, "invalid_request", "body.items[1].reference", a.admin, "POST", "/v1/transactions/batch", map[string]any{"items": []any{
			map[string]any{"kind": "transfer", "reference": "good", "postings": []any{posting(b.bank, b.alice, "CNY", 1)}},
			map[string]any{"kind": "transfer", "reference": "bad\x00", "postings": []any{posting(b.bank, b.alice, "CNY", 1)}},
		}})
		a.fail(http.StatusNotFound, "transaction_not_found", "", a.admin, "GET", "/v1/transactions/by-reference/good", nil)
	})
}

func TestOperationalEndpoints(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		a.transfer(a.admin, "t1", b.bank, b.alice, "CNY", 100)
		a.do("", "GET", "/v1/accounts", nil, nil)

		tests := []struct {
			path, contentType string
			contains          []string
		}{
			{"/healthz", "text/plain", []string{"ok"}},
			{"/readyz", "text/plain", []string{"ready"}},
			{"/metrics", "text/plain", []string{
				`suanpan_http_requests_total{method="POST",route="/transactions",status="201"} 1`,
				`suanpan_http_requests_total{method="GET",route="/accounts",status="401"} 1`,
				`suanpan_http_request_duration_seconds_bucket{method="POST",route="/transactions",status="201"`,
				"suanpan_ledger_batch_requests_bucket",
				"suanpan_ledger_commit_seconds_count",
				"suanpan_ledger_queue_depth 0",
			}},
			{"/openapi.json", "json", []string{`"openapi":"3.1.0"`, `"/v1/transactions"`}},
			{"/openapi.yaml", "yaml", []string{"openapi: 3.1.0"}},
			{"/docs", "text/html", []string{"/openapi"}},
		}
		for _, tt := range tests {
			t.Run(tt.path, func(t *testing.T) {
				resp, raw := a.with(t).raw("", "GET", tt.path, nil)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s without a key: %d %s", tt.path, resp.StatusCode, raw)
				}
				if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, tt.contentType) {
					t.Errorf("Content-Type %q, want %s", ct, tt.contentType)
				}
				for _, s := range tt.contains {
					if !strings.Contains(string(raw), s) {
						t.Errorf("GET %s lacks %q", tt.path, s)
					}
				}
				if resp.Header.Get("X-Request-ID") == "" {
					t.Errorf("no X-Request-ID")
				}
			})
		}
		t.Run("not ready", func(t *testing.T) {
			a.srv.SetReadiness(func(context.Context) error { return errors.New("draining") })
			defer a.srv.SetReadiness(nil)
			resp, raw := a.with(t).raw("", "GET", "/readyz", nil)
			if resp.StatusCode != http.StatusServiceUnavailable || strings.Contains(string(raw), "draining") {
				t.Errorf("GET /readyz: %d %s", resp.StatusCode, raw)
			}
		})
	})
}
