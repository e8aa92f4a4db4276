package httpapi_test

import (
	"net/http"
	"testing"
)

func TestAPISmoke(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		a.must(201, a.admin, "POST", "/v1/assets", map[string]any{"code": "CNY", "scale": 2}, nil)
		var bank, wallet map[string]any
		a.must(201, a.admin, "POST", "/v1/accounts", map[string]any{"asset": "CNY", "code": "1002", "normal_side": "debit", "overdraft": "unlimited"}, &bank)
		a.must(201, a.admin, "POST", "/v1/accounts", map[string]any{"asset": "CNY", "code": "2001", "normal_side": "credit"}, &wallet)
		var tr map[string]any
		a.must(201, a.admin, "POST", "/v1/transactions", map[string]any{"reference": "t1", "type": "topup",
			"postings": []any{map[string]any{"debit": bank["id"], "credit": wallet["id"], "asset": "CNY", "amount": 1234}}}, &tr,
			"Idempotency-Key", "k1")
		var got map[string]any
		a.must(200, a.admin, "GET", "/v1/accounts/"+wallet["id"].(string), nil, &got)
		if got["balance_display"] != "12.34" {
			t.Errorf("balance_display = %v, want 12.34", got["balance_display"])
		}
		var p problem
		a.must(http.StatusUnauthorized, "", "GET", "/v1/accounts", nil, &p)
		if p.Code != "unauthenticated" {
			t.Errorf("code = %q", p.Code)
		}
		a.must(422, a.admin, "POST", "/v1/transactions", map[string]any{"reference": "t2",
			"postings": []any{map[string]any{"debit": wallet["id"], "credit": bank["id"], "asset": "CNY", "amount": 999999}}}, &p)
		if p.Code != "insufficient_funds" {
			t.Errorf("code = %q, want insufficient_funds: %+v", p.Code, p)
		}
		resp := a.must(201, a.admin, "POST", "/v1/transactions", map[string]any{"reference": "t1", "type": "topup",
			"postings": []any{map[string]any{"debit": bank["id"], "credit": wallet["id"], "asset": "CNY", "amount": 1234}}}, &got,
			"Idempotency-Key", "k1")
		if resp.Header.Get("Idempotent-Replayed") != "true" || got["id"] != tr["id"] {
			t.Errorf("replay: header %q id %v, want %v", resp.Header.Get("Idempotent-Replayed"), got["id"], tr["id"])
		}
		var rep map[string]any
		a.must(200, a.admin, "POST", "/v1/audit/verify", nil, &rep)
		if rep["ok"] != true || rep["records"].(float64) < 4 {
			t.Errorf("audit verify: %v", rep)
		}
	})
}
