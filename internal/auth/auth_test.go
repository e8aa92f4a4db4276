package auth_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

var ctx = context.Background()

func newService(t *testing.T, db *store.DB) (*auth.Service, *clock.Fake) {
	t.Helper()
	c := clock.NewFake(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	return auth.NewService(db, c), c
}

// code returns the code of an *auth.Error, or "" for another error.
func code(err error) string {
	var e *auth.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestBootstrap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, _ := newService(t, db)
		token, err := s.Bootstrap(ctx, "root", "Root Bank", "")
		if err != nil || !strings.HasPrefix(token, "sp_") {
			t.Fatalf("bootstrap: %q %v", token, err)
		}
		p, err := s.Authenticate(ctx, token)
		if err != nil {
			t.Fatalf("authenticate the bootstrap key: %v", err)
		}
		if p.InstitutionID != "root" || p.Role != auth.RoleAdmin || !cmp.Equal(p.Scope, []string{"root"}) {
			t.Errorf("principal %+v", p)
		}
		inst, err := s.GetInstitution(ctx, "root")
		if err != nil || inst.Name != "Root Bank" || inst.ParentID != "" {
			t.Errorf("root %+v %v", inst, err)
		}
		// The token is shown once: a second start creates nothing.
		again, err := s.Bootstrap(ctx, "root", "Root Bank", "")
		if err != nil || again != "" {
			t.Errorf("second bootstrap: %q %v", again, err)
		}
		keys, err := s.ListKeys(ctx, []string{"root"})
		if err != nil || len(keys) != 1 || keys[0].Role != auth.RoleAdmin || keys[0].CreatedBy != "bootstrap" {
			t.Errorf("keys %+v %v", keys, err)
		}
		if _, err := s.Bootstrap(ctx, "other-root", "Other", ""); err == nil {
			t.Error("bootstrap with another root ID on an existing store succeeded")
		}
	})
}

func TestBootstrapWithToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, _ := newService(t, db)
		for _, bad := range []string{"secret", "sp_short_" + strings.Repeat("s", 32), "sp_longenough_short", "xx_longenough_" + strings.Repeat("s", 32)} {
			if _, err := s.Bootstrap(ctx, "root", "Root", bad); err == nil {
				t.Errorf("bootstrap with token %q succeeded", bad)
			}
		}
		token := auth.NewToken()
		got, err := s.Bootstrap(ctx, "root", "Root", token)
		if err != nil || got != "" {
			t.Fatalf("bootstrap: %q %v", got, err)
		}
		p, err := s.Authenticate(ctx, token)
		if err != nil || p.Role != auth.RoleAdmin || p.InstitutionID != "root" {
			t.Fatalf("authenticate the given token: %+v %v", p, err)
		}
		// A second start with a token keeps the first one.
		if _, err := s.Bootstrap(ctx, "root", "Root", auth.NewToken()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, token); err != nil {
			t.Errorf("the first token stopped working: %v", err)
		}
	})
}

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok := auth.NewToken()
		parts := strings.Split(tok, "_")
		if len(parts) != 3 || parts[0] != "sp" || len(parts[1]) < 8 || len(parts[2]) < 32 || seen[tok] {
			t.Fatalf("token %q", tok)
		}
		seen[tok] = true
	}
}

func TestAuthenticate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, c := newService(t, db)
		admin, err := s.Bootstrap(ctx, "root", "Root", "")
		if err != nil {
			t.Fatal(err)
		}
		k, token, err := s.CreateKey(ctx, "root", auth.RoleViewer, "reports", "test")
		if err != nil {
			t.Fatal(err)
		}
		id, secret, _ := strings.Cut(strings.TrimPrefix(token, "sp_"), "_")
		if id != k.ID {
			t.Fatalf("token %q of key %s", token, k.ID)
		}
		revoked, revokedToken, err := s.CreateKey(ctx, "root", auth.RoleViewer, "", "test")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RevokeKey(ctx, revoked.ID, []string{"root"}); err != nil {
			t.Fatal(err)
		}

		p, err := s.Authenticate(ctx, token)
		if err != nil || p.KeyID != k.ID || p.Role != auth.RoleViewer || p.InstitutionID != "root" {
			t.Fatalf("good key: %+v %v", p, err)
		}
		// Every failure looks the same, cached or not.
		for _, cached := range []bool{false, true} {
			if cached {
				if _, err := s.Authenticate(ctx, token); err != nil {
					t.Fatal(err)
				}
			}
			tests := []struct{ name, token string }{
				{"wrong secret", "sp_" + id + "_" + strings.Repeat("x", len(secret))},
				{"secret of another key", "sp_" + id + "_" + strings.SplitN(admin, "_", 3)[2]},
				{"unknown id", "sp_nosuchkey1_" + secret},
				{"empty", ""},
				{"no prefix", id + "_" + secret},
				{"other prefix", "sk_" + id + "_" + secret},
				{"no secret", "sp_" + id},
				{"empty secret", "sp_" + id + "_"},
				{"empty id", "sp__" + secret},
				{"revoked", revokedToken},
			}
			for _, tt := range tests {
				p, err := s.Authenticate(ctx, tt.token)
				if p != nil || code(err) != auth.CodeUnauthenticated {
					t.Errorf("cached %v, %s: %+v %v", cached, tt.name, p, err)
				}
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Errorf("%s: the error shows the secret", tt.name)
				}
			}
		}

		t.Run("revocation in this process takes effect at once", func(t *testing.T) {
			if _, err := s.RevokeKey(ctx, k.ID, []string{"root"}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Authenticate(ctx, token); code(err) != auth.CodeUnauthenticated {
				t.Errorf("revoked key: %v", err)
			}
		})
		t.Run("revocation in another process takes effect within the cache time", func(t *testing.T) {
			_, tok, err := s.CreateKey(ctx, "root", auth.RolePoster, "", "test")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Authenticate(ctx, tok); err != nil {
				t.Fatal(err)
			}
			other := auth.NewService(db, c)
			if _, err := other.RevokeKey(ctx, strings.Split(tok, "_")[1], []string{"root"}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Authenticate(ctx, tok); err != nil {
				t.Errorf("within the cache time: %v", err)
			}
			c.Advance(5 * time.Second)
			if _, err := s.Authenticate(ctx, tok); code(err) != auth.CodeUnauthenticated {
				t.Errorf("after the cache time: %v", err)
			}
		})
	})
}

func TestInstitutionTree(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, c := newService(t, db)
		mk := func(id, parent string) {
			t.Helper()
			if _, err := s.CreateInstitution(ctx, id, parent, "Institution "+id); err != nil {
				t.Fatalf("create %s: %v", id, err)
			}
		}
		mk("root", "")
		// Siblings whose IDs sort around "a" and share its prefix must not
		// fall into a's subtree.
		for _, id := range []string{"a", "a-b", "a_b", "a0", "ab", "b"} {
			mk(id, "root")
		}
		mk("a1", "a")
		mk("a11", "a1")
		mk("a12", "a1")
		mk("a2", "a")
		mk("a-b1", "a-b")
		mk("b1", "b")

		tests := []struct {
			id   string
			want []string
		}{
			{"root", []string{"a", "a-b", "a-b1", "a0", "a1", "a11", "a12", "a2", "a_b", "ab", "b", "b1", "root"}},
			{"a", []string{"a", "a1", "a11", "a12", "a2"}},
			{"a1", []string{"a1", "a11", "a12"}},
			{"a11", []string{"a11"}},
			{"a-b", []string{"a-b", "a-b1"}},
			{"ab", []string{"ab"}},
			{"b", []string{"b", "b1"}},
		}
		for _, tt := range tests {
			got, err := s.Subtree(ctx, tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Subtree(%s) (-want +got):\n%s", tt.id, diff)
			}
		}
		if _, err := s.Subtree(ctx, "nope"); code(err) != auth.CodeNotFound {
			t.Errorf("Subtree of an unknown institution: %v", err)
		}

		inst, err := s.GetInstitution(ctx, "a11")
		if err != nil || inst.ID != "a11" || inst.ParentID != "a1" || inst.Name != "Institution a11" || !inst.CreatedAt.Equal(c.Now()) {
			t.Errorf("a11: %+v %v", inst, err)
		}
		insts, err := s.ListInstitutions(ctx, []string{"a1", "a11"})
		if err != nil || len(insts) != 2 || insts[0].ID != "a1" || insts[1].ID != "a11" {
			t.Errorf("list: %+v %v", insts, err)
		}
		if _, err := s.ListInstitutions(ctx, []string{"nope"}); code(err) != auth.CodeNotFound {
			t.Errorf("list an unknown institution: %v", err)
		}

		t.Run("a key's scope is its subtree", func(t *testing.T) {
			_, tok, err := s.CreateKey(ctx, "a1", auth.RoleViewer, "", "test")
			if err != nil {
				t.Fatal(err)
			}
			p, err := s.Authenticate(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			if !cmp.Equal(p.Scope, []string{"a1", "a11", "a12"}) || !p.InScope("a12") || p.InScope("a") || p.InScope("a2") {
				t.Errorf("scope %v", p.Scope)
			}
			mk("a13", "a1")
			if p, _ := s.Authenticate(ctx, tok); p.InScope("a13") {
				t.Errorf("the cached scope changed by itself")
			}
			s.ForgetScopes()
			if p, _ := s.Authenticate(ctx, tok); !p.InScope("a13") {
				t.Errorf("after ForgetScopes, scope %v lacks a13", p.Scope)
			}
		})
	})
}

func TestCreateInstitutionErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, _ := newService(t, db)
		if _, err := s.CreateInstitution(ctx, "root", "", "Root"); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, id, parent, instName string
			code, field                string
		}{
			{"empty id", "", "root", "x", auth.CodeInvalidRequest, "id"},
			{"uppercase id", "Branch", "root", "x", auth.CodeInvalidRequest, "id"},
			{"id starting with a dash", "-x", "root", "x", auth.CodeInvalidRequest, "id"},
			{"id with a slash", "a/b", "root", "x", auth.CodeInvalidRequest, "id"},
			{"id too long", strings.Repeat("a", 64), "root", "x", auth.CodeInvalidRequest, "id"},
			{"empty name", "x", "root", "", auth.CodeInvalidRequest, "name"},
			{"name too long", "x", "root", strings.Repeat("n", 201), auth.CodeInvalidRequest, "name"},
			{"name with a NUL byte", "x", "root", "x\x00y", auth.CodeInvalidRequest, "name"},
			{"name that is not UTF-8", "x", "root", "x\xffy", auth.CodeInvalidRequest, "name"},
			{"missing parent", "x", "nope", "x", auth.CodeNotFound, ""},
			{"duplicate", "root", "root", "x", auth.CodeConflict, "id"},
			{"second root", "x", "", "x", auth.CodeInvalidRequest, "parent_id"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.CreateInstitution(ctx, tt.id, tt.parent, tt.instName)
				var e *auth.Error
				if !errors.As(err, &e) || e.Code != tt.code || e.Field != tt.field || e.Message == "" {
					t.Errorf("error %#v, want code %s field %q", err, tt.code, tt.field)
				}
			})
		}
		if _, err := s.CreateInstitution(ctx, strings.Repeat("a", 63), "root", "x"); err != nil {
			t.Errorf("63-character id: %v", err)
		}

		t.Run("writes ride along and roll back together", func(t *testing.T) {
			boom := errors.New("boom")
			ran := false
			_, err := s.CreateInstitution(ctx, "w1", "root", "W1", func(_ context.Context, tx *sql.Tx) error {
				ran = true
				return boom
			})
			if !errors.Is(err, boom) || !ran {
				t.Fatalf("err %v ran %v", err, ran)
			}
			if _, err := s.GetInstitution(ctx, "w1"); code(err) != auth.CodeNotFound {
				t.Errorf("the institution stayed: %v", err)
			}
		})
	})
}

func TestKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, c := newService(t, db)
		for _, x := range [][2]string{{"root", ""}, {"a", "root"}, {"b", "root"}} {
			if _, err := s.CreateInstitution(ctx, x[0], x[1], x[0]); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := s.CreateKey(ctx, "a", auth.Role("god"), "", "test"); code(err) != auth.CodeInvalidRequest {
			t.Errorf("unknown role: %v", err)
		}
		for _, name := range []string{strings.Repeat("n", 201), "x\x00y", "tab\tname"} {
			if _, _, err := s.CreateKey(ctx, "a", auth.RoleViewer, name, "test"); code(err) != auth.CodeInvalidRequest {
				t.Errorf("name %q: %v", name, err)
			}
		}
		if _, _, err := s.CreateKey(ctx, "nope", auth.RoleViewer, "", "test"); code(err) != auth.CodeNotFound {
			t.Errorf("unknown institution: %v", err)
		}
		var written *auth.Key
		ka, tokA, err := s.CreateKey(ctx, "a", auth.RoleOperator, "ops", "creator", func(_ context.Context, _ *sql.Tx, k *auth.Key) error {
			written = k
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if written != ka || ka.InstitutionID != "a" || ka.Role != auth.RoleOperator || ka.Name != "ops" || ka.CreatedBy != "creator" || !ka.CreatedAt.Equal(c.Now()) {
			t.Errorf("key %+v, written %+v", ka, written)
		}
		kb, _, err := s.CreateKey(ctx, "b", auth.RoleViewer, "", "creator")
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(ka)
		if strings.Contains(string(raw), strings.Split(tokA, "_")[2]) {
			t.Errorf("a key's JSON shows its secret: %s", raw)
		}

		ids := func(scope ...string) []string {
			ks, err := s.ListKeys(ctx, scope)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, k := range ks {
				out = append(out, k.ID)
			}
			slices.Sort(out)
			return out
		}
		both := []string{ka.ID, kb.ID}
		slices.Sort(both)
		if diff := cmp.Diff(both, ids("root", "a", "b")); diff != "" {
			t.Errorf("keys (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{ka.ID}, ids("a")); diff != "" {
			t.Errorf("a's keys (-want +got):\n%s", diff)
		}

		if _, err := s.RevokeKey(ctx, kb.ID, []string{"a"}); code(err) != auth.CodeNotFound {
			t.Errorf("revoke outside scope: %v", err)
		}
		if _, err := s.RevokeKey(ctx, "nope", []string{"root"}); code(err) != auth.CodeNotFound {
			t.Errorf("revoke unknown: %v", err)
		}
		c.Advance(time.Hour)
		writes := 0
		count := func(context.Context, *sql.Tx) error { writes++; return nil }
		r1, err := s.RevokeKey(ctx, ka.ID, []string{"a"}, count)
		if err != nil || r1.RevokedAt == nil || !r1.RevokedAt.Equal(c.Now()) || writes != 1 {
			t.Fatalf("revoke: %+v %v (%d writes)", r1, err, writes)
		}
		c.Advance(time.Hour)
		r2, err := s.RevokeKey(ctx, ka.ID, []string{"a"}, count)
		if err != nil || r2.RevokedAt == nil || !r2.RevokedAt.Equal(*r1.RevokedAt) || writes != 1 {
			t.Errorf("revoke again: %+v %v (%d writes), want the first revocation kept and no write", r2, err, writes)
		}
	})
}

func TestRoles(t *testing.T) {
	all := []auth.Permission{auth.LedgerRead, auth.LedgerPost, auth.AccountsWrite, auth.AccountsFreeze, auth.AssetsWrite,
		auth.InstitutionsWrite, auth.InstitutionsRead, auth.KeysWrite, auth.AuditRead, auth.LedgerVerify,
		auth.CustomersRead, auth.CustomersWrite, auth.CustomersPII, auth.ProductsRead, auth.ProductsWrite, auth.AccountsJudicial, auth.AccountsInternal,
		auth.AdjustmentsPropose, auth.AdjustmentsApprove, auth.PaymentsRead, auth.PaymentsOrder, auth.PaymentsConfigure,
		auth.PaymentsSettle, auth.JobsRead, auth.JobsManage, auth.WebhooksRead, auth.WebhooksWrite, auth.ReconRead, auth.ReconWrite,
		auth.ReconResolve, auth.ReconApprove, auth.EODRead, auth.EODRun}
	want := []auth.Role{auth.RoleAdmin, auth.RoleAuditor, auth.RoleOperator, auth.RolePoster, auth.RoleViewer}
	if diff := cmp.Diff(want, auth.Roles()); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	grants := map[auth.Role][]auth.Permission{
		auth.RoleAdmin: all,
		auth.RoleOperator: {auth.LedgerRead, auth.LedgerPost, auth.AccountsWrite, auth.AccountsFreeze, auth.InstitutionsRead,
			auth.CustomersRead, auth.CustomersWrite, auth.ProductsRead, auth.ProductsWrite, auth.AdjustmentsPropose,
			auth.PaymentsRead, auth.PaymentsOrder, auth.PaymentsSettle, auth.JobsRead, auth.WebhooksRead, auth.ReconRead, auth.ReconWrite,
			auth.ReconResolve, auth.EODRead},
		auth.RolePoster: {auth.LedgerRead, auth.LedgerPost, auth.ProductsRead, auth.PaymentsRead, auth.PaymentsOrder},
		auth.RoleViewer: {auth.LedgerRead, auth.InstitutionsRead, auth.CustomersRead, auth.ProductsRead, auth.PaymentsRead,
			auth.JobsRead, auth.WebhooksRead, auth.ReconRead, auth.EODRead},
		auth.RoleAuditor: {auth.LedgerRead, auth.InstitutionsRead, auth.AuditRead, auth.LedgerVerify, auth.CustomersRead, auth.ProductsRead,
			auth.PaymentsRead, auth.JobsRead, auth.WebhooksRead, auth.ReconRead, auth.EODRead},
	}
	for _, r := range auth.Roles() {
		if !r.Valid() {
			t.Errorf("%s is not valid", r)
		}
		for _, p := range all {
			if got, want := r.Has(p), slices.Contains(grants[r], p); got != want {
				t.Errorf("%s.Has(%s) = %v, want %v", r, p, got, want)
			}
			pr := &auth.Principal{Role: r}
			if pr.Can(p) != r.Has(p) {
				t.Errorf("principal of %s: Can(%s) = %v", r, p, pr.Can(p))
			}
		}
		perms := r.Permissions()
		if !cmp.Equal(perms, grants[r]) {
			t.Errorf("%s.Permissions() = %v", r, perms)
		}
		perms[0] = "mutated"
		if r.Permissions()[0] == "mutated" {
			t.Errorf("%s.Permissions() returns the role's own slice", r)
		}
	}
	if auth.Role("god").Valid() || auth.Role("god").Has(auth.LedgerRead) || len(auth.Role("").Permissions()) != 0 {
		t.Error("an unknown role grants something")
	}
	var nobody *auth.Principal
	if nobody.Can(auth.LedgerRead) || nobody.InScope("root") {
		t.Error("a nil principal may act")
	}
	p := &auth.Principal{KeyID: "k", Role: auth.RoleViewer, Scope: []string{"a"}}
	if got := auth.FromContext(auth.WithPrincipal(ctx, p)); got != p {
		t.Errorf("FromContext = %v", got)
	}
	if auth.FromContext(ctx) != nil {
		t.Error("FromContext of an empty context")
	}
}
