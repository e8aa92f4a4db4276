package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/httpapi"
)

// testKeyring is the harness's field-encryption keyring.
func testKeyring(t testing.TB) *accounts.Keyring {
	t.Helper()
	kr, err := accounts.NewKeyring(accounts.Key{ID: "t1", Secret: bytes.Repeat([]byte{7}, accounts.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// Plain identity values of the test customer; no response without a reveal
// and no audit record may contain them.
const (
	plainName   = "张三丰"
	plainNumber = "110105194912310021"
	plainPhone  = "13800138000"
)

func customerBody() map[string]any {
	return map[string]any{"type": "personal", "name": plainName, "id_doc_type": "resident_id",
		"id_doc_number": plainNumber, "phone": plainPhone, "properties": map[string]string{"segment": "retail"}}
}

// showsPlain reports which plain identity value s contains, or "".
func showsPlain(s string) string {
	for _, v := range []string{plainName, plainNumber, plainPhone, "三丰", "19491231", "00138000"} {
		if strings.Contains(s, v) {
			return v
		}
	}
	return ""
}

func TestCustomers(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		a.newInstitution("branch-a", "root")
		operator, viewer, poster := a.newKey("branch-a", auth.RoleOperator), a.newKey("branch-a", auth.RoleViewer), a.newKey("branch-a", auth.RolePoster)

		var c httpapi.CustomerView
		resp := a.must(http.StatusCreated, operator, "POST", "/v1/customers", customerBody(), &c, rid("create-1")...)
		raw, _ := json.Marshal(c)
		if m := showsPlain(string(raw)); m != "" {
			t.Errorf("the created customer shows %q: %s", m, raw)
		}
		if c.Name != "张**" || c.IDDocNumber != "110***********0021" || c.Phone != "138****8000" || !c.Masked ||
			c.InstitutionID != "branch-a" || c.Status != "active" || c.RiskLevel != "low" || c.Properties["segment"] != "retail" {
			t.Errorf("created %+v", c)
		}
		_ = resp
		rec := a.auditOnce("create-1", "customers.create", "customer:"+c.ID, operator)
		if rec.InstitutionID != "branch-a" {
			t.Errorf("audit institution %q", rec.InstitutionID)
		}

		t.Run("masked by default", func(t *testing.T) {
			a := a.with(t)
			var got httpapi.CustomerView
			for _, key := range []string{viewer, operator, a.admin} {
				a.must(http.StatusOK, key, "GET", "/v1/customers/"+c.ID, nil, &got)
				if !got.Masked || got.Name != "张**" || got.Phone != "138****8000" {
					t.Errorf("GET shows %+v", got)
				}
			}
			var page struct {
				Items      []httpapi.CustomerView `json:"items"`
				NextCursor string                 `json:"next_cursor"`
			}
			resp, body := a.raw(viewer, "GET", "/v1/customers?id_number="+plainNumber, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("list: %d %s", resp.StatusCode, body)
			}
			_ = json.Unmarshal(body, &page)
			if len(page.Items) != 1 || page.Items[0].ID != c.ID {
				t.Errorf("find by ID number: %s", body)
			}
			// The number only appears in the request's own query string.
			if m := showsPlain(string(body)); m != "" {
				t.Errorf("the list shows %q", m)
			}
			a.must(http.StatusOK, viewer, "GET", "/v1/customers?id_number=E0000000", nil, &page)
			if len(page.Items) != 0 {
				t.Errorf("another number finds %v", page.Items)
			}
			a.must(http.StatusOK, viewer, "GET", "/v1/customers?type=merchant", nil, &page)
			if len(page.Items) != 0 {
				t.Errorf("type filter: %v", page.Items)
			}
		})

		t.Run("reveal needs customers:pii and is audited", func(t *testing.T) {
			a := a.with(t)
			for _, key := range []string{viewer, operator} {
				p := a.fail(http.StatusForbidden, auth.CodeForbidden, "query.reveal", key, "GET", "/v1/customers/"+c.ID+"?reveal=true", nil, rid("no-reveal")...)
				if !strings.Contains(p.Detail, "customers:pii") {
					t.Errorf("detail %q", p.Detail)
				}
			}
			a.noAudit("no-reveal")
			admin := a.newKey("branch-a", auth.RoleAdmin)
			var got httpapi.CustomerView
			a.must(http.StatusOK, admin, "GET", "/v1/customers/"+c.ID+"?reveal=true", nil, &got, rid("reveal-1")...)
			if got.Masked || got.Name != plainName || got.IDDocNumber != plainNumber || got.Phone != plainPhone {
				t.Errorf("revealed %+v", got)
			}
			r := a.auditOnce("reveal-1", "customers.reveal", "customer:"+c.ID, admin)
			raw, _ := json.Marshal(r)
			if m := showsPlain(string(raw)); m != "" {
				t.Errorf("the reveal's audit record shows %q: %s", m, raw)
			}
			// Revealing what is out of scope is not found, and not audited.
			a.newInstitution("other", "root")
			other := a.newKey("other", auth.RoleAdmin)
			a.fail(http.StatusNotFound, "customer_not_found", "", other, "GET", "/v1/customers/"+c.ID+"?reveal=true", nil, rid("reveal-other")...)
			a.noAudit("reveal-other")
		})

		t.Run("status changes are audited masked", func(t *testing.T) {
			a := a.with(t)
			var got httpapi.CustomerView
			a.must(http.StatusOK, operator, "POST", "/v1/customers/"+c.ID+"/status", map[string]any{"status": "frozen", "reason": "court order 42"}, &got, rid("freeze-1")...)
			if got.Status != "frozen" || got.StatusReason != "court order 42" || !got.Masked {
				t.Errorf("frozen: %+v", got)
			}
			r := a.auditOnce("freeze-1", "customers.status", "customer:"+c.ID, operator)
			raw, _ := json.Marshal(r)
			if m := showsPlain(string(raw)); m != "" {
				t.Errorf("the audit record shows %q: %s", m, raw)
			}
			before, _ := r.Before.(map[string]any)
			after, _ := r.After.(map[string]any)
			cust, _ := after["customer"].(map[string]any)
			if before["status"] != "active" || before["name"] != "张**" || cust["status"] != "frozen" ||
				cust["id_doc_number"] != "110***********0021" || after["reason"] != "court order 42" {
				t.Errorf("audit before %v after %v", r.Before, r.After)
			}
			// No change, no record.
			a.must(http.StatusOK, operator, "POST", "/v1/customers/"+c.ID+"/status", map[string]any{"status": "frozen"}, nil, rid("freeze-2")...)
			a.noAudit("freeze-2")
		})

		t.Run("properties", func(t *testing.T) {
			a := a.with(t)
			var got httpapi.CustomerView
			a.must(http.StatusOK, operator, "PUT", "/v1/customers/"+c.ID+"/properties", map[string]any{"properties": map[string]string{"tier": "gold"}}, &got, rid("props-1")...)
			if len(got.Properties) != 1 || got.Properties["tier"] != "gold" {
				t.Errorf("properties %v", got.Properties)
			}
			a.auditOnce("props-1", "customers.properties", "customer:"+c.ID, operator)
		})

		t.Run("refusals", func(t *testing.T) {
			a := a.with(t)
			a.fail(http.StatusUnauthorized, auth.CodeUnauthenticated, "", "", "GET", "/v1/customers/"+c.ID, nil)
			a.fail(http.StatusForbidden, auth.CodeForbidden, "", poster, "GET", "/v1/customers", nil)
			a.fail(http.StatusForbidden, auth.CodeForbidden, "", viewer, "POST", "/v1/customers", customerBody())
			a.fail(http.StatusNotFound, "customer_not_found", "", viewer, "GET", "/v1/customers/no-such-customer", nil)
			a.fail(http.StatusNotFound, "customer_not_found", "", operator, "POST", "/v1/customers/no-such-customer/status", map[string]any{"status": "frozen"})
			bad := customerBody()
			bad["phone"] = "138-0013"
			p := a.fail(http.StatusUnprocessableEntity, "invalid_request", "body.phone", operator, "POST", "/v1/customers", bad, rid("bad-1")...)
			if showsPlain(p.Detail) != "" {
				t.Errorf("detail %q", p.Detail)
			}
			a.noAudit("bad-1")
			noType := customerBody()
			noType["id_doc_type"] = ""
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "body.id_doc_type", operator, "POST", "/v1/customers", noType)
			a.fail(http.StatusUnprocessableEntity, "", "", operator, "POST", "/v1/customers", map[string]any{"type": "robot", "name": "x"})
			a.fail(http.StatusForbidden, auth.CodeForbidden, "body.institution_id", operator, "POST", "/v1/customers",
				map[string]any{"institution_id": "root", "type": "personal", "name": "x"})
			// One open customer per number and institution.
			a.fail(http.StatusConflict, "conflict", "body.id_doc_number", operator, "POST", "/v1/customers", customerBody(), rid("dup-1")...)
			a.noAudit("dup-1")
			// Closed is final.
			a.must(http.StatusOK, operator, "POST", "/v1/customers/"+c.ID+"/status", map[string]any{"status": "closed"}, nil)
			a.fail(http.StatusConflict, "invalid_status_change", "", operator, "POST", "/v1/customers/"+c.ID+"/status", map[string]any{"status": "active"})
			// Control characters never reach the store.
			a.fail(http.StatusBadRequest, "invalid_request", "", viewer, "GET", "/v1/customers?id_number="+url.QueryEscape("1\x00"), nil)
		})

		t.Run("the audit log holds no identity value", func(t *testing.T) {
			for _, r := range a.with(t).auditRecords() {
				raw, _ := json.Marshal(r)
				if m := showsPlain(string(raw)); m != "" {
					t.Errorf("audit record %d (%s) shows %q", r.Seq, r.Operation, m)
				}
			}
		})
	})
}
