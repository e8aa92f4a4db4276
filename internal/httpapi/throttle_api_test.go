package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/httpapi"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// TestAuthThrottle: failed authentications are throttled per source
// address and per key ID with 429 and Retry-After; a right key, however
// busy, is not (the review sent 400 wrong keys at ~3,000/s and got 401s).
func TestAuthThrottle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		// Three failures, then one back every 20 s.
		a := newAPIConfig(t, db, httpapi.Config{TrustProxy: true, AuthFailureBurst: 3, AuthFailureWindow: time.Minute})
		viewer := a.newKey("root", auth.RoleViewer)
		other := a.newKey("root", auth.RoleViewer)
		id := keyID(viewer)
		wrong := "sp_" + id + "_" + strings.Repeat("x", 32)
		from := func(addr string) []string { return []string{"X-Forwarded-For", addr} }

		t.Run("a right key is never slowed", func(t *testing.T) {
			for range 50 {
				a.with(t).must(http.StatusOK, viewer, "GET", "/v1/accounts", nil, nil, from("10.0.0.1")...)
			}
		})
		t.Run("per source address", func(t *testing.T) {
			a := a.with(t)
			for i := range 3 {
				a.fail(http.StatusUnauthorized, auth.CodeUnauthenticated, "", "sp_guess000"+string(rune('a'+i))+"_"+strings.Repeat("y", 32),
					"GET", "/v1/accounts", nil, from("10.0.0.2")...)
			}
			resp := a.do("sp_guess000z_"+strings.Repeat("y", 32), "GET", "/v1/accounts", nil, nil, from("10.0.0.2")...)
			checkProblem(t, resp, http.StatusTooManyRequests, "too_many_requests")
			if got := resp.Header.Get("Retry-After"); got != "20" {
				t.Errorf("Retry-After %q, want 20", got)
			}
			// The address is held, even with a right key: it is not looked at.
			a.fail(http.StatusTooManyRequests, "too_many_requests", "", viewer, "GET", "/v1/accounts", nil, from("10.0.0.2")...)
			// Other addresses are not.
			a.must(http.StatusOK, viewer, "GET", "/v1/accounts", nil, nil, from("10.0.0.3")...)
			// One failure comes back after 20 s.
			a.clock.Advance(20 * time.Second)
			a.must(http.StatusOK, viewer, "GET", "/v1/accounts", nil, nil, from("10.0.0.2")...)
			a.fail(http.StatusUnauthorized, auth.CodeUnauthenticated, "", wrong, "GET", "/v1/accounts", nil, from("10.0.0.2")...)
			a.fail(http.StatusTooManyRequests, "too_many_requests", "", wrong, "GET", "/v1/accounts", nil, from("10.0.0.2")...)
		})
		t.Run("per key ID, from many addresses", func(t *testing.T) {
			a := a.with(t)
			a.clock.Advance(time.Hour)
			for _, addr := range []string{"10.1.0.1", "10.1.0.2", "10.1.0.3"} {
				a.fail(http.StatusUnauthorized, auth.CodeUnauthenticated, "", wrong, "GET", "/v1/accounts", nil, from(addr)...)
			}
			resp := a.do(wrong, "GET", "/v1/accounts", nil, nil, from("10.1.0.4")...)
			checkProblem(t, resp, http.StatusTooManyRequests, "too_many_requests")
			if resp.Header.Get("Retry-After") == "" {
				t.Error("no Retry-After")
			}
			// Another key from that address is not held.
			a.must(http.StatusOK, other, "GET", "/v1/accounts", nil, nil, from("10.1.0.4")...)
		})
		t.Run("metrics", func(t *testing.T) {
			resp := a.with(t).do("", "GET", "/metrics", nil, nil)
			raw, _ := io.ReadAll(resp.Body)
			for _, want := range []string{`suanpan_http_auth_throttled_total{limit="source"} 3`, `suanpan_http_auth_throttled_total{limit="key"} 1`,
				`suanpan_http_auth_failures_total 7`} {
				if !strings.Contains(string(raw), want) {
					t.Errorf("metrics lack %s", want)
				}
			}
		})
	})
}
