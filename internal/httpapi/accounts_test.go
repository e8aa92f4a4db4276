package httpapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/httpapi"
)

func TestCreateAccount(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		a.newAsset("CNY", 2)
		a.newInstitution("branch-a", "root")
		branch := a.newKey("branch-a", auth.RoleOperator)
		now := a.clock.Now()

		var got httpapi.AccountView
		a.must(http.StatusCreated, a.admin, "POST", "/v1/accounts", map[string]any{"asset": "CNY", "code": "2001", "name": "Alice",
			"normal_side": "credit", "metadata": map[string]string{"customer": "c-1"}}, &got, rid("open-alice")...)
		want := httpapi.AccountView{ID: got.ID, InstitutionID: "root", Asset: "CNY", Code: "2001", Name: "Alice", NormalSide: "credit",
			Overdraft: "none", Status: "active", Metadata: map[string]string{"customer": "c-1"}, BalanceDisplay: "0.00",
			AvailableDisplay: "0.00", CreatedAt: now, UpdatedAt: now}
		if diff := cmp.Diff(want, got); diff != "" || got.ID == "" {
			t.Errorf("created account (-want +got):\n%s", diff)
		}
		rec := a.auditOnce("open-alice", "accounts.create", "account:"+got.ID, a.admin)
		if rec.InstitutionID != "root" || rec.Before != nil || rec.After == nil {
			t.Errorf("audit record: %+v", rec)
		}

		t.Run("defaults to the key's institution", func(t *testing.T) {
			v := a.with(t).newAccount(branch, map[string]any{"asset": "CNY", "code": "2001", "normal_side": "credit"})
			if v.InstitutionID != "branch-a" || v.Metadata == nil || v.Name != "" {
				t.Errorf("got %+v", v)
			}
		})
		t.Run("a parent opens accounts in a child", func(t *testing.T) {
			v := a.with(t).newAccount(a.admin, map[string]any{"institution_id": "branch-a", "asset": "CNY", "code": "1002",
				"normal_side": "debit", "overdraft": "limit", "overdraft_limit": 500})
			if v.InstitutionID != "branch-a" || v.Overdraft != "limit" || v.OverdraftLimit != 500 {
				t.Errorf("got %+v", v)
			}
		})

		tests := []struct {
			name        string
			key         string
			body        map[string]any
			status      int
			code, field string
		}{
			{"unknown asset", a.admin, map[string]any{"asset": "USD", "code": "2001", "normal_side": "credit"}, 404, "asset_not_found", ""},
			{"bad normal side", a.admin, map[string]any{"asset": "CNY", "code": "2001", "normal_side": "up"}, 422, "invalid_request", "body.normal_side"},
			{"bad overdraft", a.admin, map[string]any{"asset": "CNY", "code": "2001", "normal_side": "credit", "overdraft": "maybe"}, 422, "invalid_request", "body.overdraft"},
			{"negative overdraft limit", a.admin, map[string]any{"asset": "CNY", "code": "2001", "normal_side": "credit", "overdraft": "limit", "overdraft_limit": -1}, 422, "invalid_request", "body.overdraft_limit"},
			{"missing asset", a.admin, map[string]any{"code": "2001", "normal_side": "credit"}, 422, "invalid_request", "body"},
			{"empty code", a.admin, map[string]any{"asset": "CNY", "code": "", "normal_side": "credit"}, 422, "invalid_request", "body.code"},
			{"name too long", a.admin, map[string]any{"asset": "CNY", "code": "2001", "normal_side": "credit", "name": strings.Repeat("n", 201)}, 422, "invalid_request", "body.name"},
			{"institution outside the key's", branch, map[string]any{"institution_id": "root", "asset": "CNY", "code": "2001", "normal_side": "credit"}, 403, auth.CodeForbidden, "body.institution_id"},
			{"unknown institution", a.admin, map[string]any{"institution_id": "nope", "asset": "CNY", "code": "2001", "normal_side": "credit"}, 403, auth.CodeForbidden, "body.institution_id"},
			{"role without accounts:write", a.newKey("root", auth.RolePoster), map[string]any{"asset": "CNY", "code": "2001", "normal_side": "credit"}, 403, auth.CodeForbidden, ""},
			{"no key", "", map[string]any{"asset": "CNY", "code": "2001", "normal_side": "credit"}, 401, auth.CodeUnauthenticated, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a.with(t).fail(tt.status, tt.code, tt.field, tt.key, "POST", "/v1/accounts", tt.body, rid("bad-open")...)
			})
		}
		a.noAudit("bad-open")
	})
}

// TestCreateAccountLedgerFields: the ledger's validation errors name the
// body field.
func TestCreateAccountLedgerFields(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		a.newAsset("CNY", 2)
		a.fail(422, "invalid_request", "body.code", a.admin, "POST", "/v1/accounts", map[string]any{"asset": "CNY", "code": "a b", "normal_side": "credit"})
		a.fail(422, "invalid_request", "body.overdraft_limit", a.admin, "POST", "/v1/accounts", map[string]any{"asset": "CNY", "code": "2001", "normal_side": "credit", "overdraft_limit": 5})
		many := map[string]string{}
		for i := range 33 {
			many[strings.Repeat("k", i+1)] = "v"
		}
		a.fail(422, "invalid_request", "body.metadata", a.admin, "POST", "/v1/accounts", map[string]any{"asset": "CNY", "code": "2001", "normal_side": "credit", "metadata": many})
	})
}

func TestGetAndListAccounts(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		a.newInstitution("branch-a", "root")
		a.newInstitution("branch-b", "root")
		branchA := a.newAccount(a.admin, map[string]any{"institution_id": "branch-a", "asset": "CNY", "code": "2001", "normal_side": "credit"})
		keyA, keyB := a.newKey("branch-a", auth.RoleViewer), a.newKey("branch-b", auth.RoleViewer)

		list := func(t *testing.T, key, query string) []string {
			t.Helper()
			var ids []string
			after := ""
			for range 10 {
				var page struct {
					Items      []httpapi.AccountView `json:"items"`
					NextCursor string                `json:"next_cursor"`
				}
				a.with(t).must(http.StatusOK, key, "GET", "/v1/accounts?limit=2&after="+after+query, nil, &page)
				if len(page.Items) > 2 {
					t.Fatalf("page of %d items with limit 2", len(page.Items))
				}
				for _, v := range page.Items {
					ids = append(ids, v.ID)
				}
				if page.NextCursor == "" {
					return ids
				}
				if page.NextCursor != page.Items[len(page.Items)-1].ID {
					t.Fatalf("next_cursor %q is not the page's last ID", page.NextCursor)
				}
				after = page.NextCursor
			}
			t.Fatal("more than 10 pages")
			return nil
		}
		sorted := func(ids ...string) []string {
			out := append([]string(nil), ids...)
			slices.Sort(out)
			return out
		}
		root := []string{b.bank, b.alice, b.bob, b.yenBank, b.yenWallet}
		tests := []struct {
			name, key, query string
			want             []string
		}{
			{"root sees its subtree", a.admin, "", sorted(append(root, branchA.ID)...)},
			{"by asset", a.admin, "&asset=JPY", sorted(b.yenBank, b.yenWallet)},
			{"by code", a.admin, "&code=2001", sorted(b.alice, b.bob, b.yenWallet, branchA.ID)},
			{"by status", a.admin, "&status=active&code=1002", sorted(b.bank, b.yenBank)},
			{"branch sees its own", keyA, "", []string{branchA.ID}},
			{"sibling sees nothing of it", keyB, "", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if diff := cmp.Diff(tt.want, list(t, tt.key, tt.query)); diff != "" {
					t.Errorf("accounts (-want +got):\n%s", diff)
				}
			})
		}
		t.Run("empty list is an empty array", func(t *testing.T) {
			_, raw := a.with(t).raw(keyB, "GET", "/v1/accounts", nil)
			if !strings.Contains(string(raw), `"items":[]`) {
				t.Errorf("got %s", raw)
			}
		})

		t.Run("get", func(t *testing.T) {
			for _, key := range []string{a.admin, keyA} {
				var got httpapi.AccountView
				a.with(t).must(http.StatusOK, key, "GET", "/v1/accounts/"+branchA.ID, nil, &got)
				if diff := cmp.Diff(*branchA, got); diff != "" {
					t.Errorf("account (-want +got):\n%s", diff)
				}
			}
			for _, path := range []string{"", "/balance", "/entries", "/holds"} {
				a.with(t).fail(http.StatusNotFound, "account_not_found", "", keyB, "GET", "/v1/accounts/"+branchA.ID+path, nil)
				a.with(t).fail(http.StatusNotFound, "account_not_found", "", keyA, "GET", "/v1/accounts/"+b.alice+path, nil)
				a.with(t).fail(http.StatusNotFound, "account_not_found", "", a.admin, "GET", "/v1/accounts/nope"+path, nil)
			}
		})
	})
}

func TestBalancesAndEntries(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		t0 := a.clock.Now()
		a.transfer(a.admin, "t1", b.bank, b.alice, "CNY", 1234)
		a.clock.Advance(time.Hour)
		t1 := a.clock.Now()
		var pay httpapi.TransactionView
		a.must(http.StatusCreated, a.admin, "POST", "/v1/transactions", map[string]any{"reference": "t2", "type": "payment",
			"postings": []any{posting(b.alice, b.bob, "CNY", 234)}}, &pay)
		a.clock.Advance(time.Hour)
		hold := a.hold(a.admin, "", "h1", 0, posting(b.alice, b.bob, "CNY", 100))
		a.transfer(a.admin, "y1", b.yenBank, b.yenWallet, "JPY", 500)

		balance := func(t *testing.T, id, query string) httpapi.AccountView {
			t.Helper()
			var v httpapi.AccountView
			a.with(t).must(http.StatusOK, a.admin, "GET", "/v1/accounts/"+id+"/balance"+query, nil, &v)
			return v
		}
		// bal is what a customer sees, then the four running totals.
		type bal struct {
			Balance                                                    int64
			BalanceDisplay                                             string
			Available                                                  int64
			AvailableDisplay                                           string
			DebitsPosted, CreditsPosted, DebitsPending, CreditsPending int64
		}
		view := func(v httpapi.AccountView) bal {
			return bal{v.Balance, v.BalanceDisplay, v.Available, v.AvailableDisplay, v.Balances.DebitsPosted, v.Balances.CreditsPosted,
				v.Balances.DebitsPending, v.Balances.CreditsPending}
		}
		asOf := func(tm time.Time) string { return "?as_of=" + url.QueryEscape(tm.Format(time.RFC3339Nano)) }
		tests := []struct {
			name, id, query string
			want            bal
		}{
			{"now, with a hold", b.alice, "", bal{1000, "10.00", 900, "9.00", 234, 1234, 100, 0}},
			{"get account agrees", b.alice, "", bal{1000, "10.00", 900, "9.00", 234, 1234, 100, 0}},
			{"receiver of the hold", b.bob, "", bal{234, "2.34", 234, "2.34", 0, 234, 0, 100}},
			{"debit-normal", b.bank, "", bal{1234, "12.34", 1234, "12.34", 1234, 0, 0, 0}},
			{"scale 0", b.yenWallet, "", bal{500, "500", 500, "500", 0, 500, 0, 0}},
			{"before the first entry", b.alice, asOf(t0.Add(-time.Second)), bal{0, "0.00", 0, "0.00", 0, 0, 0, 0}},
			{"at the first entry", b.alice, asOf(t0), bal{1234, "12.34", 1234, "12.34", 0, 1234, 0, 0}},
			{"between", b.alice, asOf(t0.Add(30 * time.Minute)), bal{1234, "12.34", 1234, "12.34", 0, 1234, 0, 0}},
			{"after the payment", b.alice, asOf(t1.Add(time.Minute)), bal{1000, "10.00", 1000, "10.00", 234, 1234, 0, 0}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := balance(t, tt.id, tt.query)
				if tt.name == "get account agrees" {
					got = *a.with(t).account(tt.id)
				}
				if diff := cmp.Diff(tt.want, view(got)); diff != "" {
					t.Errorf("balances (-want +got):\n%s", diff)
				}
			})
		}

		type line struct {
			Seq              int64
			Side, Kind, Type string
			Reference        string
			Amount           int64
			AmountDisplay    string
			Balance          int64
			BalanceDisplay   string
			AvailableDisplay string
		}
		entries := func(t *testing.T, query string) ([]line, int64) {
			t.Helper()
			var page struct {
				Items      []httpapi.StatementLineView `json:"items"`
				NextCursor int64                       `json:"next_cursor"`
			}
			a.with(t).must(http.StatusOK, a.admin, "GET", "/v1/accounts/"+b.alice+"/entries"+query, nil, &page)
			var out []line
			for _, l := range page.Items {
				if l.AccountID != b.alice || l.Asset != "CNY" {
					t.Errorf("line of %s %s", l.AccountID, l.Asset)
				}
				out = append(out, line{l.Seq, l.Side, l.Kind, l.Type, l.Reference, l.Amount, l.AmountDisplay, l.Balance, l.BalanceDisplay, l.AvailableDisplay})
			}
			return out, page.NextCursor
		}
		all := []line{
			{1, "credit", "posted", "transfer", "t1", 1234, "12.34", 1234, "12.34", "12.34"},
			{2, "debit", "posted", "payment", "t2", 234, "2.34", 1000, "10.00", "10.00"},
			{3, "debit", "pending", "hold", "h1", 100, "1.00", 1000, "10.00", "9.00"},
		}
		t.Run("entries", func(t *testing.T) {
			got, next := entries(t, "")
			if diff := cmp.Diff(all, got); diff != "" || next != 0 {
				t.Errorf("entries (-want +got):\n%s\nnext %d", diff, next)
			}
		})
		t.Run("entries paged", func(t *testing.T) {
			var got []line
			query := "?limit=2"
			for page := 0; ; page++ {
				lines, next := entries(t, query)
				got = append(got, lines...)
				if next == 0 {
					break
				}
				if page > 3 || next != lines[len(lines)-1].Seq {
					t.Fatalf("next_cursor %d after %+v", next, lines)
				}
				query = "?limit=2&after=" + itoa(next)
			}
			if diff := cmp.Diff(all, got); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
		t.Run("entries by type", func(t *testing.T) {
			// huma takes array query parameters comma-separated (style form,
			// explode false, as the OpenAPI document says).
			got, _ := entries(t, "?type=payment,hold")
			if diff := cmp.Diff(all[1:], got); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
		t.Run("entries by time", func(t *testing.T) {
			got, _ := entries(t, "?from="+url.QueryEscape(t1.Format(time.RFC3339Nano))+"&to="+url.QueryEscape(t1.Add(time.Minute).Format(time.RFC3339Nano)))
			if diff := cmp.Diff(all[1:2], got); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})

		t.Run("holds of an account", func(t *testing.T) {
			holds := func(query string) []string {
				var page struct {
					Items []httpapi.HoldView `json:"items"`
				}
				a.with(t).must(http.StatusOK, a.admin, "GET", "/v1/accounts/"+b.alice+"/holds"+query, nil, &page)
				var ids []string
				for _, h := range page.Items {
					ids = append(ids, h.ID+":"+h.Status)
				}
				return ids
			}
			if diff := cmp.Diff([]string{hold.ID + ":pending"}, holds("")); diff != "" {
				t.Errorf("holds (-want +got):\n%s", diff)
			}
			if got := holds("?status=posted"); got != nil {
				t.Errorf("posted holds: %v", got)
			}
			var none struct {
				Items []httpapi.HoldView `json:"items"`
			}
			a.with(t).must(http.StatusOK, a.admin, "GET", "/v1/accounts/"+b.yenWallet+"/holds", nil, &none)
			if none.Items == nil || len(none.Items) != 0 {
				t.Errorf("yen wallet holds: %+v", none.Items)
			}
		})
	})
}

func TestAccountStatus(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		a.transfer(a.admin, "fund", b.bank, b.alice, "CNY", 1000)
		operator := a.newKey("root", auth.RoleOperator)
		empty := a.newAccount(a.admin, map[string]any{"asset": "CNY", "code": "2001", "normal_side": "credit"}).ID

		status := func(t *testing.T, op, id string, body map[string]any, rid string, want string) httpapi.AccountView {
			t.Helper()
			var v httpapi.AccountView
			a.with(t).must(http.StatusOK, operator, "POST", "/v1/accounts/"+id+"/"+op, body, &v, "X-Request-ID", rid)
			if v.Status != want || v.ID != id {
				t.Errorf("%s: status %q, want %q", op, v.Status, want)
			}
			return v
		}

		t.Run("freeze credits", func(t *testing.T) {
			a.clock.Advance(time.Minute)
			v := status(t, "freeze", b.bob, map[string]any{"side": "credit", "reason": "court order 7"}, "freeze-bob", "credit_frozen")
			if !v.UpdatedAt.Equal(a.clock.Now()) {
				t.Errorf("updated_at %v, want %v", v.UpdatedAt, a.clock.Now())
			}
			rec := a.with(t).auditOnce("freeze-bob", "accounts.freeze", "account:"+b.bob, operator)
			before, _ := rec.Before.(map[string]any)
			after, _ := rec.After.(map[string]any)
			acct, _ := after["account"].(map[string]any)
			if before["status"] != "active" || acct["status"] != "credit_frozen" || after["reason"] != "court order 7" {
				t.Errorf("audit before %v after %v", rec.Before, rec.After)
			}
			a.with(t).fail(422, "account_frozen", "body.postings[0].credit", a.admin, "POST", "/v1/transactions", transferBody("to-bob", b.alice, b.bob, "CNY", 1))
			a.with(t).transfer(a.admin, "from-bob-ok", b.bank, b.alice, "CNY", 1)
		})
		t.Run("freeze debits too", func(t *testing.T) {
			status(t, "freeze", b.bob, map[string]any{"side": "debit"}, "freeze-bob-2", "frozen")
			a.with(t).fail(422, "account_frozen", "body.postings[0].debit", a.admin, "POST", "/v1/transactions", transferBody("from-bob", b.bob, b.alice, "CNY", 1))
		})
		t.Run("thaw credits", func(t *testing.T) {
			status(t, "thaw", b.bob, map[string]any{"side": "credit"}, "thaw-bob", "debit_frozen")
			a.with(t).auditOnce("thaw-bob", "accounts.thaw", "account:"+b.bob, operator)
		})
		t.Run("thaw both", func(t *testing.T) {
			status(t, "thaw", b.bob, map[string]any{"side": "both"}, "thaw-bob-2", "active")
		})
		t.Run("freeze both", func(t *testing.T) {
			status(t, "freeze", b.bob, map[string]any{"side": "both"}, "freeze-bob-3", "frozen")
			status(t, "thaw", b.bob, map[string]any{"side": "both"}, "thaw-bob-3", "active")
		})
		t.Run("close with a balance", func(t *testing.T) {
			a.with(t).fail(409, "account_not_empty", "", operator, "POST", "/v1/accounts/"+b.alice+"/close", map[string]any{}, rid("close-alice")...)
			a.with(t).noAudit("close-alice")
		})
		t.Run("close with a pending hold", func(t *testing.T) {
			h := a.newAccount(a.admin, map[string]any{"asset": "CNY", "code": "2001", "normal_side": "credit"}).ID
			a.with(t).hold(a.admin, "", "hold-into", 0, posting(b.bank, h, "CNY", 5))
			a.with(t).fail(409, "account_not_empty", "", operator, "POST", "/v1/accounts/"+h+"/close", map[string]any{})
		})
		t.Run("close an empty account", func(t *testing.T) {
			status(t, "close", empty, map[string]any{"reason": "customer left"}, "close-empty", "closed")
			rec := a.with(t).auditOnce("close-empty", "accounts.close", "account:"+empty, operator)
			after, _ := rec.After.(map[string]any)
			if change, _ := after["change"].(map[string]any); after["event"] != "account.closed" || change["reason"] != "customer left" {
				t.Errorf("audit after %v", rec.After)
			}
			a.with(t).fail(422, "account_closed", "body.postings[0].credit", a.admin, "POST", "/v1/transactions", transferBody("to-closed", b.bank, empty, "CNY", 1))
			a.with(t).fail(409, "invalid_status_change", "", operator, "POST", "/v1/accounts/"+empty+"/freeze", map[string]any{"side": "debit"})
			a.with(t).fail(409, "invalid_status_change", "", operator, "POST", "/v1/accounts/"+empty+"/thaw", map[string]any{"side": "debit"})
		})

		tests := []struct {
			name, key, op, id string
			body              any
			status            int
			code, field       string
		}{
			{"bad side", operator, "freeze", b.bob, map[string]any{"side": "left"}, 422, "invalid_request", "body.side"},
			{"missing side", operator, "freeze", b.bob, map[string]any{}, 422, "invalid_request", "body"},
			{"reason too long", operator, "freeze", b.bob, map[string]any{"side": "debit", "reason": strings.Repeat("r", 501)}, 422, "invalid_request", "body.reason"},
			{"unknown account", operator, "freeze", "nope", map[string]any{"side": "debit"}, 404, "account_not_found", ""},
			{"unknown account thaw", operator, "thaw", "nope", map[string]any{"side": "debit"}, 404, "account_not_found", ""},
			{"unknown account close", operator, "close", "nope", map[string]any{}, 404, "account_not_found", ""},
			{"poster may not freeze", a.newKey("root", auth.RolePoster), "freeze", b.bob, map[string]any{"side": "debit"}, 403, auth.CodeForbidden, ""},
			{"viewer may not close", a.newKey("root", auth.RoleViewer), "close", empty, map[string]any{}, 403, auth.CodeForbidden, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a.with(t).fail(tt.status, tt.code, tt.field, tt.key, "POST", "/v1/accounts/"+tt.id+"/"+tt.op, tt.body, rid("bad-status")...)
			})
		}
		a.noAudit("bad-status")
		if v := a.account(b.bob); v.Status != "active" {
			t.Errorf("bob is %s after refused changes", v.Status)
		}

		t.Run("other institutions' accounts are not found", func(t *testing.T) {
			a.newInstitution("branch-b", "root")
			keyB := a.newKey("branch-b", auth.RoleOperator)
			for op, body := range map[string]map[string]any{"freeze": {"side": "debit"}, "thaw": {"side": "debit"}, "close": {}} {
				a.with(t).fail(404, "account_not_found", "", keyB, "POST", "/v1/accounts/"+b.bob+"/"+op, body)
			}
			if v := a.account(b.bob); v.Status != "active" {
				t.Errorf("bob is %s", v.Status)
			}
		})
	})
}

func TestOverdraftLimit(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		credit := a.newAccount(a.admin, map[string]any{"asset": "CNY", "code": "1301", "normal_side": "debit", "overdraft": "limit", "overdraft_limit": 500}).ID
		// A debit-normal account with a limit: crediting it lowers it.
		a.fail(422, "insufficient_funds", "", a.admin, "POST", "/v1/transactions", transferBody("over", b.alice, credit, "CNY", 501))
		a.fail(422, "insufficient_funds", "", a.admin, "POST", "/v1/transactions", transferBody("over2", b.alice, b.bob, "CNY", 1))
		a.transfer(a.admin, "fund-alice", b.bank, b.alice, "CNY", 500)
		a.transfer(a.admin, "to-limit", credit, b.bob, "CNY", 500)
		v := a.account(credit)
		if v.Balance != 500 || v.BalanceDisplay != "5.00" {
			t.Errorf("balance %d %q", v.Balance, v.BalanceDisplay)
		}
		a.transfer(a.admin, "back", b.bob, credit, "CNY", 500)
		a.transfer(a.admin, "down", b.alice, credit, "CNY", 500)
		v = a.account(credit)
		if v.Balance != -500 || v.BalanceDisplay != "-5.00" || v.AvailableDisplay != "-5.00" {
			t.Errorf("balance %d %q available %q", v.Balance, v.BalanceDisplay, v.AvailableDisplay)
		}
		a.fail(422, "insufficient_funds", "", a.admin, "POST", "/v1/transactions", transferBody("beyond", b.bob, credit, "CNY", 1))
	})
}

// TestNoOpStatusChange: asking for the status an account already has
// changes nothing and, like revoking a revoked key or registering an
// existing asset, leaves no audit record.
func TestNoOpStatusChange(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		a.must(http.StatusOK, a.admin, "POST", "/v1/accounts/"+b.alice+"/close", map[string]any{}, nil)
		a.must(http.StatusOK, a.admin, "POST", "/v1/accounts/"+b.bob+"/freeze", map[string]any{"side": "debit"}, nil)
		closed, frozen := a.account(b.alice), a.account(b.bob)
		a.clock.Advance(time.Hour)
		a.must(http.StatusOK, a.admin, "POST", "/v1/accounts/"+b.alice+"/close", map[string]any{}, nil, rid("close-again")...)
		a.must(http.StatusOK, a.admin, "POST", "/v1/accounts/"+b.bob+"/freeze", map[string]any{"side": "debit"}, nil, rid("freeze-again")...)
		a.noAudit("close-again")
		a.noAudit("freeze-again")
		if v := a.account(b.alice); !v.UpdatedAt.Equal(closed.UpdatedAt) {
			t.Errorf("closing again moved updated_at from %v to %v", closed.UpdatedAt, v.UpdatedAt)
		}
		if v := a.account(b.bob); !v.UpdatedAt.Equal(frozen.UpdatedAt) {
			t.Errorf("freezing again moved updated_at from %v to %v", frozen.UpdatedAt, v.UpdatedAt)
		}
	})
}
