package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/suanpan/suanpan/internal/accounts"
)

func TestStatementRoutes(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		bank := a.lifecycleBooks() // 2026-11-02 09:00
		var c struct {
			ID string `json:"id"`
		}
		a.must(http.StatusCreated, a.admin, "POST", "/v1/customers", map[string]any{"type": "personal", "name": "Wang Wu"}, &c)
		var o struct {
			Account struct {
				ID string `json:"id"`
			} `json:"account"`
		}
		a.must(http.StatusCreated, a.admin, "POST", "/v1/customers/"+c.ID+"/accounts", map[string]any{"product_id": "wallet"}, &o)
		w := o.Account.ID
		a.transfer(a.admin, "fund", bank, w, "CNY", 12345)

		path := "/v1/customers/" + c.ID + "/statements"
		period := map[string]any{"from": "2026-11-01", "to": "2026-12-01"}
		var st accounts.Statement
		a.must(http.StatusCreated, a.admin, "POST", path, period, &st)
		if st.CustomerName != accounts.MaskName("Wang Wu") || len(st.Accounts) != 1 || st.Accounts[0].Closing != 12345 {
			t.Fatalf("statement %+v", st)
		}
		var again accounts.Statement
		a.must(http.StatusOK, a.admin, "POST", path, period, &again)
		a.clock.Advance(time.Minute)
		var re accounts.Statement
		a.must(http.StatusCreated, a.admin, "POST", path, map[string]any{"from": "2026-11-01", "to": "2026-12-01", "regenerate": true}, &re)
		if again.ID != st.ID || re.ID != st.ID || !re.GeneratedAt.After(st.GeneratedAt) {
			t.Errorf("stored %s, again %s, regenerated %s at %v", st.ID, again.ID, re.ID, re.GeneratedAt)
		}
		var list struct {
			Items []accounts.StatementSummary `json:"items"`
		}
		a.must(http.StatusOK, a.admin, "GET", path, nil, &list)
		if len(list.Items) != 1 || list.Items[0].ID != st.ID {
			t.Errorf("list %+v", list.Items)
		}
		a.must(http.StatusOK, a.admin, "GET", "/v1/statements/"+st.ID, nil, &again)

		resp, body := a.raw(a.admin, "GET", "/v1/statements/"+st.ID+"/csv", nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
			!strings.Contains(string(body), w+",CNY,2026-11-02,transfer,fund,,123.45,123.45") {
			t.Errorf("csv %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		resp, body = a.raw(a.admin, "GET", "/v1/statements/"+st.ID+"/html", nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
			!strings.Contains(string(body), "123.45") || strings.Contains(string(body), "Wang Wu") {
			t.Errorf("html %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}

		a.fail(http.StatusUnprocessableEntity, "invalid_request", "body.to", a.admin, "POST", path, map[string]any{"from": "2026-11-01", "to": "2026-11-01"})
		a.fail(http.StatusUnprocessableEntity, "", "", a.admin, "POST", path, map[string]any{"from": "Nov", "to": "2026-11-01"})
		a.fail(http.StatusNotFound, "customer_not_found", "", a.admin, "POST", "/v1/customers/nobody/statements", period)
		a.fail(http.StatusNotFound, "statement_not_found", "", a.admin, "GET", "/v1/statements/nope", nil)
		a.fail(http.StatusNotFound, "statement_not_found", "", a.admin, "GET", "/v1/statements/nope/csv", nil)
	})
}

func TestCheckAndVoucherRoutes(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		bank := a.lifecycleBooks() // 2026-11-02 09:00
		w := a.newAccount(a.admin, map[string]any{"asset": "CNY", "code": "2001", "normal_side": "credit"}).ID
		control := a.newAccount(a.admin, map[string]any{"asset": "CNY", "code": "2001", "normal_side": "credit"}).ID
		mirror := a.newAccount(a.admin, map[string]any{"asset": "CNY", "code": "9001", "normal_side": "debit", "overdraft": "unlimited"}).ID
		a.transfer(a.admin, "f1", bank, w, "CNY", 500)
		a.transfer(a.admin, "m1", mirror, control, "CNY", 500)

		a.fail(http.StatusNotFound, "account_not_found", "", a.admin, "POST", "/v1/control-accounts", map[string]any{"account_id": "nope"})
		var reg accounts.ControlAccount
		a.must(http.StatusOK, a.admin, "POST", "/v1/control-accounts", map[string]any{"account_id": control}, &reg, rid("ctl-1")...)
		a.auditOnce("ctl-1", "accounts.control", "control:2001:CNY", a.admin)
		if reg.Code != "2001" || reg.AccountID != control {
			t.Fatalf("registered %+v", reg)
		}
		type runs struct {
			OK   bool                 `json:"ok"`
			Runs []*accounts.CheckRun `json:"runs"`
		}
		var r runs
		a.must(http.StatusOK, a.admin, "POST", "/v1/checks", nil, &r)
		if !r.OK || len(r.Runs) != 1 || r.Runs[0].Lines[0].Difference != 0 {
			t.Fatalf("clean check %+v", r)
		}
		a.transfer(a.admin, "f2", bank, w, "CNY", 3) // misses the control
		a.must(http.StatusOK, a.admin, "POST", "/v1/checks", nil, &r)
		if r.OK || r.Runs[0].Differences != 1 || r.Runs[0].Lines[0].Difference != -3 {
			t.Fatalf("forged check %+v", r.Runs[0].Lines)
		}
		var past struct {
			Items []*accounts.CheckRun `json:"items"`
		}
		a.must(http.StatusOK, a.admin, "GET", "/v1/checks", nil, &past)
		if len(past.Items) != 2 || past.Items[0].OK || !past.Items[1].OK {
			t.Errorf("past runs %+v", past.Items)
		}

		resp, body := a.raw(a.admin, "GET", "/v1/vouchers?date=2026-11-02", nil)
		var vs struct {
			Date  string              `json:"date"`
			Items []*accounts.Voucher `json:"items"`
		}
		if err := json.Unmarshal(body, &vs); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("vouchers %d: %v %s", resp.StatusCode, err, body)
		}
		if len(vs.Items) != 1 || !vs.Items[0].Balanced || vs.Items[0].Totals[0].Debit != 1003 {
			t.Errorf("vouchers %s", body)
		}
		resp, body = a.raw(a.admin, "GET", "/v1/vouchers?date=2026-11-02&format=csv", nil)
		lines := strings.Split(strings.TrimSpace(string(body)), "\n")
		if resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || len(lines) != 4 ||
			lines[0] != "date,voucher_no,line,account_code,debit,credit,currency,text" || !strings.HasPrefix(lines[1], "2026-11-02,root-20261102,1,1002,5.03,0.00,CNY,") {
			t.Errorf("vouchers csv %q: %s", resp.Header.Get("Content-Type"), body)
		}
		a.fail(http.StatusUnprocessableEntity, "", "", a.admin, "GET", "/v1/vouchers?date=2026-13-01", nil)
		a.fail(http.StatusUnprocessableEntity, "", "", a.admin, "GET", "/v1/vouchers?date=2026-11-02&format=xml", nil)
	})
}
