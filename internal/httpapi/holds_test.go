package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/httpapi"
)

// TestCreateHold places a hold, replays it and refuses bad ones.
func TestCreateHold(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		a.transfer(a.admin, "fund", b.bank, b.alice, "CNY", 1000)
		body := map[string]any{"reference": "h1", "type": "preauth", "timeout_seconds": 60, "postings": []any{posting(b.alice, b.bob, "CNY", 300)}}
		var h httpapi.TransactionView
		a.must(http.StatusCreated, a.admin, "POST", "/v1/holds", body, &h, "Idempotency-Key", "hk", "X-Request-ID", "hold-1")
		if h.Kind != "hold" || h.Type != "preauth" || h.ExpiresAt == nil || !h.ExpiresAt.Equal(h.CreatedAt.Add(time.Minute)) ||
			h.Postings[0].AmountDisplay != "3.00" {
			t.Errorf("hold %+v", h)
		}
		a.auditOnce("hold-1", "ledger.hold", "transaction:"+h.ID, a.admin)
		var again httpapi.TransactionView
		resp := a.must(http.StatusCreated, a.admin, "POST", "/v1/holds", body, &again, "Idempotency-Key", "hk")
		if resp.Header.Get("Idempotent-Replayed") != "true" || again.ID != h.ID {
			t.Errorf("replay: %q %s", resp.Header.Get("Idempotent-Replayed"), again.ID)
		}
		if v := a.account(b.alice); v.Available != 700 || v.AvailableDisplay != "7.00" {
			t.Errorf("alice available %d", v.Available)
		}
		a.fail(422, "insufficient_funds", "", a.admin, "POST", "/v1/holds", map[string]any{"reference": "h2", "postings": []any{posting(b.alice, b.bob, "CNY", 701)}})
		a.fail(422, "invalid_request", "body.timeout_seconds", a.admin, "POST", "/v1/holds", map[string]any{"reference": "h3", "timeout_seconds": 315360001, "postings": []any{posting(b.alice, b.bob, "CNY", 1)}})
		a.fail(403, auth.CodeForbidden, "body.institution_id", a.newKey("root", auth.RolePoster), "POST", "/v1/holds", map[string]any{"institution_id": "nope", "reference": "h4", "postings": []any{posting(b.alice, b.bob, "CNY", 1)}})
	})
}

func TestHolds(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		a.transfer(a.admin, "fund", b.bank, b.alice, "CNY", 1000)
		poster := a.newKey("root", auth.RolePoster)
		h1 := a.hold(poster, "", "h1", 60, posting(b.alice, b.bob, "CNY", 300))
		getHold := func(t *testing.T, key, id string) httpapi.HoldView {
			t.Helper()
			var v httpapi.HoldView
			a.with(t).must(http.StatusOK, key, "GET", "/v1/holds/"+id, nil, &v)
			return v
		}

		t.Run("pending", func(t *testing.T) {
			exp := h1.CreatedAt.Add(time.Minute)
			want := httpapi.HoldView{ID: h1.ID, InstitutionID: "root", Status: "pending", ExpiresAt: &exp,
				Postings:  []httpapi.PostingView{{Debit: b.alice, Credit: b.bob, Asset: "CNY", Amount: 300, AmountDisplay: "3.00"}},
				CreatedAt: h1.CreatedAt}
			if diff := cmp.Diff(want, getHold(t, a.newKey("root", auth.RoleViewer), h1.ID)); diff != "" {
				t.Errorf("hold (-want +got):\n%s", diff)
			}
			if v := a.with(t).account(b.alice); v.Balance != 1000 || v.Available != 700 || v.AvailableDisplay != "7.00" {
				t.Errorf("alice balance %d available %d %q", v.Balance, v.Available, v.AvailableDisplay)
			}
		})

		path := "/v1/holds/" + h1.ID
		tests := []struct {
			name, path  string
			body        any
			status      int
			code, field string
		}{
			{"post more than reserved", path + "/post", map[string]any{"reference": "p", "amounts": []int64{301}}, 422, "post_exceeds_hold", "body.amounts[0]"},
			{"post a zero amount", path + "/post", map[string]any{"reference": "p", "amounts": []int64{0}}, 422, "invalid_amount", "body.amounts[0]"},
			{"post the wrong number of amounts", path + "/post", map[string]any{"reference": "p", "amounts": []int64{1, 1}}, 422, "invalid_request", "body.amounts"},
			{"post without a reference", path + "/post", map[string]any{}, 422, "invalid_request", "body"},
			{"post with the hold's reference", path + "/post", map[string]any{"reference": "h1"}, 409, "reference_conflict", "body.reference"},
			{"post an unknown hold", "/v1/holds/nope/post", map[string]any{"reference": "p"}, 404, "hold_not_found", "path.id"},
			{"void an unknown hold", "/v1/holds/nope/void", map[string]any{"reference": "v"}, 404, "hold_not_found", "path.id"},
			{"void with amounts", path + "/void", map[string]any{"reference": "v", "amounts": []int64{1}}, 422, "invalid_request", "body.amounts"},
			{"post for an institution outside the key's", path + "/post", map[string]any{"reference": "p", "institution_id": "nope"}, 403, auth.CodeForbidden, "body.institution_id"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a.with(t).fail(tt.status, tt.code, tt.field, poster, "POST", tt.path, tt.body, rid("bad-hold")...)
			})
		}
		a.fail(404, "hold_not_found", "", poster, "GET", "/v1/holds/nope", nil)
		a.noAudit("bad-hold")

		t.Run("post in part", func(t *testing.T) {
			var p httpapi.TransactionView
			a.with(t).must(http.StatusCreated, poster, "POST", path+"/post", map[string]any{"reference": "p1", "type": "capture", "amounts": []int64{200}}, &p, rid("post-h1")...)
			if p.Kind != "post" || p.Type != "capture" || p.HoldID != h1.ID || len(p.Postings) != 1 || p.Postings[0].Amount != 200 || p.Postings[0].AmountDisplay != "2.00" {
				t.Errorf("post %+v", p)
			}
			a.with(t).auditOnce("post-h1", "ledger.post", "transaction:"+p.ID, poster)
			h := getHold(t, a.admin, h1.ID)
			if h.Status != "posted" || h.ResolvedBy != p.ID {
				t.Errorf("hold after post: %+v", h)
			}
			if v := a.with(t).account(b.alice); v.Balance != 800 || v.Available != 800 {
				t.Errorf("alice balance %d available %d, want 800 800", v.Balance, v.Available)
			}
			if v := a.with(t).account(b.bob); v.Balance != 200 || v.Balances.CreditsPending != 0 {
				t.Errorf("bob %+v", v.Balances)
			}
			a.with(t).fail(409, "hold_already_posted", "path.id", poster, "POST", path+"/post", map[string]any{"reference": "p2"})
			a.with(t).fail(409, "hold_already_posted", "path.id", poster, "POST", path+"/void", map[string]any{"reference": "v2"})
		})
		t.Run("post in full, replayed", func(t *testing.T) {
			h := a.with(t).hold(poster, "", "h-full", 0, posting(b.alice, b.bob, "CNY", 50))
			var p1, p2 httpapi.TransactionView
			a.with(t).must(http.StatusCreated, poster, "POST", "/v1/holds/"+h.ID+"/post", map[string]any{"reference": "pf"}, &p1, "Idempotency-Key", "pk")
			resp := a.with(t).must(http.StatusCreated, poster, "POST", "/v1/holds/"+h.ID+"/post", map[string]any{"reference": "pf"}, &p2, "Idempotency-Key", "pk")
			if resp.Header.Get("Idempotent-Replayed") != "true" || p1.ID != p2.ID || p1.Postings[0].Amount != 50 {
				t.Errorf("replay %q %s %s %+v", resp.Header.Get("Idempotent-Replayed"), p1.ID, p2.ID, p1.Postings)
			}
			if v := a.with(t).account(b.bob); v.Balance != 250 {
				t.Errorf("bob %d, want 250", v.Balance)
			}
		})
		t.Run("void", func(t *testing.T) {
			h := a.with(t).hold(poster, "", "h2", 0, posting(b.alice, b.bob, "CNY", 100))
			var v httpapi.TransactionView
			a.with(t).must(http.StatusCreated, poster, "POST", "/v1/holds/"+h.ID+"/void", map[string]any{"reference": "v1"}, &v, rid("void-h2")...)
			if v.Kind != "void" || v.HoldID != h.ID || v.Postings[0].Amount != 100 {
				t.Errorf("void %+v", v)
			}
			a.with(t).auditOnce("void-h2", "ledger.void", "transaction:"+v.ID, poster)
			if got := getHold(t, a.admin, h.ID); got.Status != "voided" || got.ResolvedBy != v.ID {
				t.Errorf("hold after void: %+v", got)
			}
			if acct := a.with(t).account(b.alice); acct.Available != acct.Balance {
				t.Errorf("alice still has pending amounts: %+v", acct.Balances)
			}
			a.with(t).fail(409, "hold_already_voided", "path.id", poster, "POST", "/v1/holds/"+h.ID+"/post", map[string]any{"reference": "p3"})
			a.with(t).fail(409, "hold_already_voided", "path.id", poster, "POST", "/v1/holds/"+h.ID+"/void", map[string]any{"reference": "v3"})
			a.with(t).fail(422, "transaction_not_reversible", "path.id", poster, "POST", "/v1/transactions/"+v.ID+"/reversals", map[string]any{"reference": "rv"})
		})
		t.Run("expiry", func(t *testing.T) {
			h := a.with(t).hold(poster, "", "h3", 60, posting(b.alice, b.bob, "CNY", 10))
			a.clock.Advance(59 * time.Second)
			if got := getHold(t, a.admin, h.ID); got.Status != "pending" {
				t.Errorf("status %q before expiry", got.Status)
			}
			a.clock.Advance(2 * time.Second)
			if got := getHold(t, a.admin, h.ID); got.Status != "expired" {
				t.Errorf("status %q after expiry", got.Status)
			}
			a.with(t).fail(409, "hold_expired", "path.id", poster, "POST", "/v1/holds/"+h.ID+"/post", map[string]any{"reference": "p4"})
			a.with(t).fail(409, "hold_expired", "path.id", poster, "POST", "/v1/holds/"+h.ID+"/void", map[string]any{"reference": "v4"})
			holds := func(status string) []string {
				var page struct {
					Items []httpapi.HoldView `json:"items"`
				}
				a.with(t).must(http.StatusOK, a.admin, "GET", "/v1/accounts/"+b.alice+"/holds?status="+status, nil, &page)
				var refs []string
				for _, x := range page.Items {
					refs = append(refs, x.ID)
				}
				return refs
			}
			if got := holds("expired"); !cmp.Equal(got, []string{h.ID}) {
				t.Errorf("expired holds %v, want [%s]", got, h.ID)
			}
			if got := holds("pending"); len(got) != 0 {
				t.Errorf("pending holds %v", got)
			}
			if got := holds("posted"); len(got) != 2 {
				t.Errorf("posted holds %v", got)
			}
		})
		t.Run("paging holds of an account", func(t *testing.T) {
			var ids []string
			after := ""
			for range 10 {
				var page struct {
					Items      []httpapi.HoldView `json:"items"`
					NextCursor string             `json:"next_cursor"`
				}
				a.with(t).must(http.StatusOK, a.admin, "GET", "/v1/accounts/"+b.alice+"/holds?limit=1&after="+after, nil, &page)
				for _, x := range page.Items {
					ids = append(ids, x.ID)
				}
				if page.NextCursor == "" {
					break
				}
				after = page.NextCursor
			}
			if len(ids) != 4 {
				t.Errorf("paged through %d holds, want 4", len(ids))
			}
		})
	})
}

func TestHoldScope(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		a.newAsset("CNY", 2)
		a.newInstitution("branch-a", "root")
		a.newInstitution("branch-b", "root")
		keyA, keyB := a.newKey("branch-a", auth.RolePoster), a.newKey("branch-b", auth.RoleAdmin)
		bank := a.newAccount(a.admin, map[string]any{"institution_id": "branch-a", "asset": "CNY", "code": "1002", "normal_side": "debit", "overdraft": "unlimited"}).ID
		wallet := a.newAccount(a.admin, map[string]any{"institution_id": "branch-a", "asset": "CNY", "code": "2001", "normal_side": "credit"}).ID
		h := a.hold(keyA, "", "h1", 0, posting(bank, wallet, "CNY", 10))

		a.must(http.StatusOK, keyA, "GET", "/v1/holds/"+h.ID, nil, nil)
		a.must(http.StatusOK, a.admin, "GET", "/v1/holds/"+h.ID, nil, nil)
		a.fail(404, "hold_not_found", "", keyB, "GET", "/v1/holds/"+h.ID, nil)
		a.fail(404, "hold_not_found", "path.id", keyB, "POST", "/v1/holds/"+h.ID+"/post", map[string]any{"reference": "p"})
		a.fail(404, "hold_not_found", "path.id", keyB, "POST", "/v1/holds/"+h.ID+"/void", map[string]any{"reference": "v"})
		a.fail(403, auth.CodeForbidden, "body.institution_id", keyB, "POST", "/v1/holds/"+h.ID+"/post", map[string]any{"reference": "p", "institution_id": "branch-a"})
		// A parent acts on a child's hold by naming the child.
		a.fail(404, "hold_not_found", "path.id", a.admin, "POST", "/v1/holds/"+h.ID+"/void", map[string]any{"reference": "v"})
		var v httpapi.TransactionView
		a.must(http.StatusCreated, a.admin, "POST", "/v1/holds/"+h.ID+"/void", map[string]any{"reference": "v", "institution_id": "branch-a"}, &v)
		if v.InstitutionID != "branch-a" {
			t.Errorf("void in %s", v.InstitutionID)
		}
	})
}
