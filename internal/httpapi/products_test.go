package httpapi_test

import (
	"math"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/httpapi"
)

// walletProduct is a CNY wallet: withdrawals to bank or wechat at 0.1%
// (at least 1.00, at most 25.00, paid by the payer), tiered merchant
// payments paid by the payee, and a 5,000.00 per-withdrawal limit.
func walletProduct(id string) map[string]any {
	return map[string]any{
		"id": id, "name": "CNY wallet", "class": "wallet", "asset": "CNY", "chart_code": "2001", "normal_side": "credit",
		"channels":   []string{"bank", "wechat"},
		"operations": []string{"topup", "withdraw", "payment"},
		"limits": []any{
			map[string]any{"operation": "withdraw", "per_transaction": 500000, "daily_count": 3},
		},
		"fees": []any{
			map[string]any{"operation": "withdraw", "kind": "percentage", "rate": "0.001", "min": 100, "max": 2500,
				"payer": "payer", "rounding": "half_up", "fee_account_code": "6001"},
			map[string]any{"operation": "payment", "kind": "tiered", "payer": "payee", "rounding": "half_even", "fee_account_code": "6002",
				"tiers": []any{map[string]any{"up_to": 100000, "rate": "0.006"}, map[string]any{"rate": "0.0038", "fixed": 10}}},
		},
		"term":      map[string]any{"days": 365},
		"auto_open": []any{map[string]any{"customer_type": "personal"}},
	}
}

func TestProducts(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		a.newAsset("CNY", 2)
		var v1 httpapi.ProductView
		a.must(http.StatusCreated, a.admin, "POST", "/v1/products", walletProduct("wallet-cny"), &v1, rid("p-create")...)
		if v1.Version != 1 || v1.Status != "active" || v1.InstitutionID != "root" || v1.CreatedBy != keyID(a.admin) {
			t.Errorf("created %+v", v1)
		}
		if f := v1.Fees[0]; f.Rate != "0.001" || f.Rounding != "half_up" || f.MinDisplay != "1.00" || f.MaxDisplay != "25.00" {
			t.Errorf("fee rule %+v", f)
		}
		if l := v1.Limits[0]; l.PerTransactionDisplay != "5000.00" || l.DailyCount != 3 || l.MonthlyAmount != 0 {
			t.Errorf("limit %+v", l)
		}
		if tr := v1.Fees[1].Tiers; len(tr) != 2 || tr[0].UpToDisplay != "1000.00" || tr[1].UpTo != 0 || tr[1].FixedDisplay != "0.10" {
			t.Errorf("tiers %+v", tr)
		}
		rec := a.auditOnce("p-create", "products.create", "product:wallet-cny", a.admin)
		if rec.Before != nil {
			t.Errorf("create audit before = %v", rec.Before)
		}

		t.Run("get", func(t *testing.T) {
			a := a.with(t)
			for _, path := range []string{"/v1/products/wallet-cny", "/v1/products/wallet-cny?version=1", "/v1/products/wallet-cny?institution_id=root"} {
				var got httpapi.ProductView
				a.must(http.StatusOK, a.admin, "GET", path, nil, &got)
				if diff := cmp.Diff(v1, got); diff != "" {
					t.Errorf("GET %s (-created +got):\n%s", path, diff)
				}
			}
			a.fail(http.StatusNotFound, "product_not_found", "", a.admin, "GET", "/v1/products/nope", nil)
			a.fail(http.StatusNotFound, "product_not_found", "", a.admin, "GET", "/v1/products/wallet-cny?version=2", nil)
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "query.version", a.admin, "GET", "/v1/products/wallet-cny?version=-1", nil)
		})

		t.Run("create refuses", func(t *testing.T) {
			a := a.with(t)
			edit := func(f func(m map[string]any)) map[string]any { m := walletProduct("x"); f(m); return m }
			fee := func(m map[string]any) map[string]any { return m["fees"].([]any)[0].(map[string]any) }
			tests := []struct {
				name, code, field string
				status            int
				body              map[string]any
			}{
				{"an existing id", "conflict", "body.id", http.StatusConflict, walletProduct("wallet-cny")},
				{"an unknown asset", "invalid_request", "body.asset", http.StatusUnprocessableEntity, edit(func(m map[string]any) { m["asset"] = "USD" })},
				{"a bad rate", "invalid_request", "body.fees[0].rate", http.StatusUnprocessableEntity, edit(func(m map[string]any) { fee(m)["rate"] = "0.1%" })},
				{"a rate above 1", "invalid_request", "body.fees[0].rate", http.StatusUnprocessableEntity, edit(func(m map[string]any) { fee(m)["rate"] = "1.5" })},
				{"no rounding", "invalid_request", "body.fees[0]", http.StatusUnprocessableEntity, edit(func(m map[string]any) { delete(fee(m), "rounding") })},
				{"min above max", "invalid_request", "body.fees[0].min", http.StatusUnprocessableEntity, edit(func(m map[string]any) { fee(m)["min"] = 5000 })},
				{"a limit on a refused operation", "invalid_request", "body.limits[0].operation", http.StatusUnprocessableEntity,
					edit(func(m map[string]any) { m["operations"] = []string{"topup"}; m["fees"] = []any{} })},
				{"an unknown operation", "invalid_request", "body.operations[0]", http.StatusUnprocessableEntity, edit(func(m map[string]any) { m["operations"] = []string{"teleport"} })},
				{"a bad id", "invalid_request", "body.id", http.StatusUnprocessableEntity, walletProduct("Wallet CNY")},
				{"a bad maturity", "invalid_request", "body.term.maturity", http.StatusUnprocessableEntity,
					edit(func(m map[string]any) { m["term"] = map[string]any{"maturity": "2027-13-01"} })},
			}
			for _, tt := range tests {
				a.fail(tt.status, tt.code, tt.field, a.admin, "POST", "/v1/products", tt.body, rid("p-bad")...)
			}
			a.noAudit("p-bad")
			a.newInstitution("branch-x", "root")
			a.fail(http.StatusForbidden, "forbidden", "body.institution_id", a.newKey("branch-x", auth.RoleOperator), "POST", "/v1/products",
				map[string]any{"id": "y", "institution_id": "root", "name": "Y", "class": "wallet", "asset": "CNY", "chart_code": "2001", "normal_side": "credit"})
		})

		// Version 2: a cheaper withdrawal and a monthly limit.
		change := walletProduct("")
		delete(change, "id")
		change["fees"].([]any)[0].(map[string]any)["rate"] = "0.0005"
		change["limits"] = []any{map[string]any{"operation": "withdraw", "per_transaction": 500000, "daily_count": 3, "monthly_amount": 2000000}}
		var v2 httpapi.ProductView
		a.must(http.StatusOK, a.admin, "PUT", "/v1/products/wallet-cny", change, &v2, rid("p-update")...)
		if v2.Version != 2 || v2.Fees[0].Rate != "0.0005" || v2.Limits[0].MonthlyAmountDisplay != "20000.00" {
			t.Errorf("updated %+v", v2)
		}
		rec = a.auditOnce("p-update", "products.update", "product:wallet-cny", a.admin)
		if before, _ := rec.Before.(map[string]any); before == nil || before["version"] != float64(1) {
			t.Errorf("update audit before = %v", rec.Before)
		}

		t.Run("versions", func(t *testing.T) {
			a := a.with(t)
			var old httpapi.ProductView
			a.must(http.StatusOK, a.admin, "GET", "/v1/products/wallet-cny?version=1", nil, &old)
			if diff := cmp.Diff(v1, old); diff != "" {
				t.Errorf("version 1 changed (-created +now):\n%s", diff)
			}
			var all []httpapi.ProductView
			a.must(http.StatusOK, a.admin, "GET", "/v1/products/wallet-cny/versions", nil, &all)
			if diff := cmp.Diff([]httpapi.ProductView{v1, v2}, all); diff != "" {
				t.Errorf("versions (-want +got):\n%s", diff)
			}
			var again httpapi.ProductView
			a.must(http.StatusOK, a.admin, "PUT", "/v1/products/wallet-cny", change, &again, rid("p-same")...)
			if again.Version != 2 {
				t.Errorf("an unchanged PUT made version %d", again.Version)
			}
			a.noAudit("p-same")
			a.fail(http.StatusNotFound, "product_not_found", "", a.admin, "GET", "/v1/products/nope/versions", nil)
		})

		t.Run("update refuses", func(t *testing.T) {
			a := a.with(t)
			escrow := walletProduct("")
			delete(escrow, "id")
			escrow["class"] = "escrow"
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "body.class", a.admin, "PUT", "/v1/products/wallet-cny", escrow, rid("p-bad-update")...)
			a.fail(http.StatusNotFound, "product_not_found", "", a.admin, "PUT", "/v1/products/nope", change, rid("p-bad-update")...)
			a.fail(http.StatusForbidden, "forbidden", "", a.newKey("root", auth.RoleViewer), "PUT", "/v1/products/wallet-cny", change, rid("p-bad-update")...)
			a.noAudit("p-bad-update")
		})

		t.Run("quote", func(t *testing.T) {
			a := a.with(t)
			tests := []struct {
				name                  string
				query                 string
				body                  map[string]any
				fee                   int64
				feeDisplay, payer     string
				allowed, withinLimits bool
				refusal, limitRefusal string
			}{
				{"withdraw at the minimum", "", map[string]any{"operation": "withdraw", "channel": "bank", "amount": 100000}, 100, "1.00", "payer", true, true, "", ""},
				{"withdraw by rate", "", map[string]any{"operation": "withdraw", "channel": "bank", "amount": 300000}, 150, "1.50", "payer", true, true, "", ""},
				{"withdraw on version 1", "?version=1", map[string]any{"operation": "withdraw", "channel": "bank", "amount": 300000}, 300, "3.00", "payer", true, true, "", ""},
				{"withdraw at the limit", "", map[string]any{"operation": "withdraw", "channel": "wechat", "amount": 500000}, 250, "2.50", "payer", true, true, "", ""},
				{"withdraw over the limit", "", map[string]any{"operation": "withdraw", "channel": "wechat", "amount": 500001}, 250, "2.50", "payer", true, false, "", "per_transaction"},
				{"payment in tier 1", "", map[string]any{"operation": "payment", "channel": "wechat", "amount": 100000}, 600, "6.00", "payee", true, true, "", ""},
				{"payment in tier 2", "", map[string]any{"operation": "payment", "channel": "wechat", "amount": 100001}, 390, "3.90", "payee", true, true, "", ""},
				{"a topup is free", "", map[string]any{"operation": "topup", "channel": "bank", "amount": 100}, 0, "0.00", "", true, true, "", ""},
				{"a refused channel", "", map[string]any{"operation": "topup", "channel": "cash", "amount": 100}, 0, "0.00", "", false, true, "channel", ""},
				{"a refused operation", "", map[string]any{"operation": "refund", "channel": "bank", "amount": 100}, 0, "0.00", "", false, true, "operation", ""},
			}
			viewer := a.newKey("root", auth.RoleViewer)
			for _, tt := range tests {
				var q httpapi.QuoteView
				a.must(http.StatusOK, viewer, "POST", "/v1/products/wallet-cny/quote"+tt.query, tt.body, &q, rid("p-quote")...)
				if q.Fee != tt.fee || q.FeeDisplay != tt.feeDisplay || q.Payer != tt.payer || q.Allowed != tt.allowed || q.WithinLimits != tt.withinLimits {
					t.Errorf("%s: %+v", tt.name, q)
				}
				if got := field(q.Refusal); got != tt.refusal {
					t.Errorf("%s: refusal %+v, want field %q", tt.name, q.Refusal, tt.refusal)
				}
				if got := field(q.LimitRefusal); got != tt.limitRefusal {
					t.Errorf("%s: limit refusal %+v, want field %q", tt.name, q.LimitRefusal, tt.limitRefusal)
				}
			}
			a.noAudit("p-quote")
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "body.amount", viewer, "POST", "/v1/products/wallet-cny/quote",
				map[string]any{"operation": "topup", "amount": 0})
			huge := walletProduct("huge")
			huge["fees"] = []any{map[string]any{"operation": "payment", "kind": "percentage", "rate": "1", "fixed": 1,
				"payer": "payer", "rounding": "down", "fee_account_code": "6001"}}
			a.must(http.StatusCreated, a.admin, "POST", "/v1/products", huge, nil)
			a.fail(http.StatusUnprocessableEntity, "overflow", "body.amount", viewer, "POST", "/v1/products/huge/quote",
				map[string]any{"operation": "payment", "amount": int64(math.MaxInt64)})
		})

		t.Run("retire", func(t *testing.T) {
			a := a.with(t)
			var r httpapi.ProductView
			a.must(http.StatusOK, a.admin, "POST", "/v1/products/wallet-cny/retire", map[string]any{"reason": "replaced by wallet-cny-2"}, &r, rid("p-retire")...)
			if r.Version != 3 || r.Status != "retired" || r.Name != v2.Name {
				t.Errorf("retired %+v", r)
			}
			rec := a.auditOnce("p-retire", "products.retire", "product:wallet-cny", a.admin)
			if after, _ := rec.After.(map[string]any); after == nil || after["reason"] != "replaced by wallet-cny-2" {
				t.Errorf("retire audit after = %v", rec.After)
			}
			a.must(http.StatusOK, a.admin, "POST", "/v1/products/wallet-cny/retire", nil, &r, rid("p-retire-again")...)
			if r.Version != 3 {
				t.Errorf("retired again: version %d", r.Version)
			}
			a.noAudit("p-retire-again")
			a.fail(http.StatusConflict, "conflict", "", a.admin, "PUT", "/v1/products/wallet-cny", change)
			a.fail(http.StatusNotFound, "product_not_found", "", a.admin, "POST", "/v1/products/nope/retire", nil)
		})

		t.Run("list", func(t *testing.T) {
			a := a.with(t)
			a.newInstitution("branch-l", "root")
			a.must(http.StatusCreated, a.admin, "POST", "/v1/products", map[string]any{"id": "escrow-cny", "institution_id": "branch-l",
				"name": "Escrow", "class": "escrow", "asset": "CNY", "chart_code": "2101", "normal_side": "credit"}, nil)
			list := func(key, query string) []string {
				var out []string
				after := ""
				for range 10 {
					var page struct {
						Items      []httpapi.ProductView `json:"items"`
						NextCursor string                `json:"next_cursor"`
					}
					q := query + "&limit=1"
					if after != "" {
						q += "&after=" + after
					}
					a.must(http.StatusOK, key, "GET", "/v1/products?"+q, nil, &page)
					for _, p := range page.Items {
						out = append(out, p.InstitutionID+"/"+p.ID+"@"+itoa(int64(p.Version))+":"+p.Status)
					}
					if page.NextCursor == "" {
						return out
					}
					after = page.NextCursor
				}
				t.Fatal("too many pages")
				return nil
			}
			tests := []struct {
				name, key, query string
				want             []string
			}{
				{"all", a.admin, "", []string{"branch-l/escrow-cny@1:active", "root/huge@1:active", "root/wallet-cny@3:retired"}},
				{"retired", a.admin, "status=retired", []string{"root/wallet-cny@3:retired"}},
				{"escrow", a.admin, "class=escrow", []string{"branch-l/escrow-cny@1:active"}},
				{"one institution", a.admin, "institution_id=branch-l", []string{"branch-l/escrow-cny@1:active"}},
				{"a branch's own", a.newKey("branch-l", auth.RoleAuditor), "", []string{"branch-l/escrow-cny@1:active"}},
			}
			for _, tt := range tests {
				if diff := cmp.Diff(tt.want, list(tt.key, tt.query)); diff != "" {
					t.Errorf("%s (-want +got):\n%s", tt.name, diff)
				}
			}
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "query.after", a.admin, "GET", "/v1/products?after=nonsense", nil)
			a.fail(http.StatusForbidden, "forbidden", "query.institution_id", a.newKey("branch-l", auth.RoleViewer), "GET", "/v1/products?institution_id=root", nil)
		})
	})
}

func field(r *httpapi.Refusal) string {
	if r == nil {
		return ""
	}
	return r.Field
}
