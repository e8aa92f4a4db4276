package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/ledger"
)

func TestAssets(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		now := a.clock.Now()
		var cny ledger.Asset
		a.must(http.StatusCreated, a.admin, "POST", "/v1/assets", map[string]any{"code": "CNY", "scale": 2}, &cny, rid("asset-cny")...)
		if want := (ledger.Asset{Code: "CNY", Scale: 2, MaxAmount: ledger.DefaultMaxAmount(2), CreatedAt: now}); cny != want {
			t.Errorf("created %+v, want %+v", cny, want)
		}
		a.auditOnce("asset-cny", "assets.create", "asset:CNY", a.admin)

		a.clock.Advance(time.Hour)
		a.must(http.StatusCreated, a.admin, "POST", "/v1/assets", map[string]any{"code": "JPY", "scale": 0}, nil)

		t.Run("creating it again with the same scale returns it unchanged", func(t *testing.T) {
			var again ledger.Asset
			a.with(t).must(http.StatusCreated, a.admin, "POST", "/v1/assets", map[string]any{"code": "CNY", "scale": 2}, &again, rid("asset-cny-again")...)
			if again != cny {
				t.Errorf("got %+v, want %+v", again, cny)
			}
			a.with(t).noAudit("asset-cny-again")
		})
		t.Run("get", func(t *testing.T) {
			var got ledger.Asset
			a.with(t).must(http.StatusOK, a.admin, "GET", "/v1/assets/CNY", nil, &got)
			if got != cny {
				t.Errorf("got %+v, want %+v", got, cny)
			}
		})
		t.Run("list by code, to any role", func(t *testing.T) {
			for _, role := range auth.Roles() {
				var got []ledger.Asset
				a.with(t).must(http.StatusOK, a.newKey("root", role), "GET", "/v1/assets", nil, &got)
				want := []ledger.Asset{cny, {Code: "JPY", Scale: 0, MaxAmount: ledger.DefaultMaxAmount(0), CreatedAt: now.Add(time.Hour)}}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s: assets (-want +got):\n%s", role, diff)
				}
			}
		})

		tests := []struct {
			name        string
			method      string
			path        string
			body        any
			status      int
			code, field string
		}{
			{"other scale", "POST", "/v1/assets", map[string]any{"code": "CNY", "scale": 3}, 409, "asset_exists", ""},
			{"lowercase code", "POST", "/v1/assets", map[string]any{"code": "cny", "scale": 2}, 422, "invalid_request", "body.code"},
			{"code too long", "POST", "/v1/assets", map[string]any{"code": "ABCDEFGHIJKLMNOPQ", "scale": 2}, 422, "invalid_request", "body.code"},
			{"code starting with a digit", "POST", "/v1/assets", map[string]any{"code": "1X", "scale": 2}, 422, "invalid_request", "body.code"},
			{"empty code", "POST", "/v1/assets", map[string]any{"code": "", "scale": 2}, 422, "invalid_request", "body.code"},
			{"scale above 18", "POST", "/v1/assets", map[string]any{"code": "BIG", "scale": 19}, 422, "invalid_request", "body.scale"},
			{"negative scale", "POST", "/v1/assets", map[string]any{"code": "NEG", "scale": -1}, 422, "invalid_request", "body.scale"},
			{"missing scale", "POST", "/v1/assets", map[string]any{"code": "NOS"}, 422, "invalid_request", "body"},
			{"unknown", "GET", "/v1/assets/USD", nil, 404, "asset_not_found", ""},
			{"path too long", "GET", "/v1/assets/ABCDEFGHIJKLMNOPQ", nil, 422, "invalid_request", "path.code"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a.with(t).fail(tt.status, tt.code, tt.field, a.admin, tt.method, tt.path, tt.body, rid("bad-asset")...)
			})
		}
		a.noAudit("bad-asset")
		t.Run("only admins register assets", func(t *testing.T) {
			for _, role := range auth.Roles() {
				if role.Has(auth.AssetsWrite) {
					continue
				}
				a.with(t).fail(http.StatusForbidden, auth.CodeForbidden, "", a.newKey("root", role), "POST", "/v1/assets", map[string]any{"code": "USD", "scale": 2})
			}
			a.with(t).must(http.StatusNotFound, a.admin, "GET", "/v1/assets/USD", nil, nil)
		})
	})
}
