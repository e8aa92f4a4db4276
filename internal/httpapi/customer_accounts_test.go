package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/httpapi"
)

// lifecycleBooks registers CNY and a bank account, and the root
// institution's products: a wallet, and a merchant settlement and escrow
// account opened automatically for merchants.
func (a *api) lifecycleBooks() (bank string) {
	a.t.Helper()
	a.newAsset("CNY", 2)
	bank = a.newAccount(a.admin, map[string]any{"asset": "CNY", "code": "1002", "normal_side": "debit", "overdraft": "unlimited"}).ID
	product := func(id, class string, auto ...map[string]any) {
		body := map[string]any{"id": id, "name": "Product " + id, "class": class, "asset": "CNY", "chart_code": "2001", "normal_side": "credit"}
		if auto != nil {
			body["auto_open"] = auto
		}
		a.must(http.StatusCreated, a.admin, "POST", "/v1/products", body, nil)
	}
	merchant := map[string]any{"customer_type": "merchant"}
	product("wallet", "wallet")
	product("settlement", "merchant_settlement", merchant)
	product("escrow", "escrow", merchant)
	return bank
}

func TestCustomerAccountOpen(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		a.lifecycleBooks()
		var c httpapi.CreatedCustomerView
		a.must(http.StatusCreated, a.admin, "POST", "/v1/customers", map[string]any{"type": "personal", "name": "Alice"}, &c)
		if len(c.Accounts) != 0 || len(c.AutoOpenFailures) != 0 {
			t.Errorf("a personal customer got %+v", c)
		}
		var o httpapi.CustomerAccountView
		a.must(http.StatusCreated, a.admin, "POST", "/v1/customers/"+c.ID+"/accounts",
			map[string]any{"product_id": "wallet", "reference": "w-1", "properties": map[string]string{"tier": "gold"}}, &o, rid("open-1")...)
		if o.ProductVersion != 1 || o.Product == nil || o.Product.Version != 1 || o.Account.Code != "2001" || o.CustomerID != c.ID ||
			o.Properties["tier"] != "gold" || o.Account.Status != "active" {
			t.Errorf("opened %+v", o)
		}
		a.auditOnce("open-1", "accounts.open", "account:"+o.Account.ID, a.admin)
		var again httpapi.CustomerAccountView
		a.must(http.StatusOK, a.admin, "POST", "/v1/customers/"+c.ID+"/accounts", map[string]any{"product_id": "wallet", "reference": "w-1"}, &again, rid("open-2")...)
		if again.Account.ID != o.Account.ID {
			t.Errorf("replay opened %s, first %s", again.Account.ID, o.Account.ID)
		}
		a.noAudit("open-2")

		// The product changes: the account keeps version 1.
		a.must(http.StatusOK, a.admin, "PUT", "/v1/products/wallet", map[string]any{"name": "Wallet 2", "class": "wallet", "asset": "CNY",
			"chart_code": "2001", "normal_side": "credit"}, nil)
		var page struct {
			Items []httpapi.CustomerAccountView `json:"items"`
		}
		a.must(http.StatusOK, a.admin, "GET", "/v1/customers/"+c.ID+"/accounts", nil, &page)
		if len(page.Items) != 1 || page.Items[0].ProductVersion != 1 || page.Items[0].Account.ID != o.Account.ID {
			t.Errorf("customer accounts %+v", page.Items)
		}

		var props httpapi.CustomerAccountView
		a.must(http.StatusOK, a.admin, "PUT", "/v1/accounts/"+o.Account.ID+"/properties",
			map[string]any{"properties": map[string]string{"tier": "silver"}}, &props, rid("props-1")...)
		if props.Properties["tier"] != "silver" {
			t.Errorf("properties %+v", props.Properties)
		}
		a.auditOnce("props-1", "accounts.properties", "account:"+o.Account.ID, a.admin)

		a.must(http.StatusOK, a.admin, "POST", "/v1/products/wallet/retire", nil, nil)
		a.fail(http.StatusConflict, "product_retired", "", a.admin, "POST", "/v1/customers/"+c.ID+"/accounts", map[string]any{"product_id": "wallet"})
		a.fail(http.StatusNotFound, "product_not_found", "", a.admin, "POST", "/v1/customers/"+c.ID+"/accounts", map[string]any{"product_id": "nope"})
		a.fail(http.StatusNotFound, "customer_not_found", "", a.admin, "POST", "/v1/customers/nobody/accounts", map[string]any{"product_id": "escrow"})
		a.fail(http.StatusConflict, "conflict", "body.reference", a.admin, "POST", "/v1/customers/"+c.ID+"/accounts",
			map[string]any{"product_id": "escrow", "reference": "w-1"})
		a.fail(http.StatusNotFound, "account_not_found", "", a.admin, "PUT", "/v1/accounts/nope/properties", map[string]any{"properties": map[string]string{}})

		// Another institution's key does not reach the customer.
		a.newInstitution("branch-b", "root")
		other := a.newKey("branch-b", auth.RoleAdmin)
		a.fail(http.StatusNotFound, "customer_not_found", "", other, "POST", "/v1/customers/"+c.ID+"/accounts", map[string]any{"product_id": "escrow"})
		a.fail(http.StatusNotFound, "customer_not_found", "", other, "GET", "/v1/customers/"+c.ID+"/accounts", nil)
	})
}

func TestCustomerCreationAutoOpens(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		a.lifecycleBooks()
		var m httpapi.CreatedCustomerView
		a.must(http.StatusCreated, a.admin, "POST", "/v1/customers", map[string]any{"type": "merchant", "name": "Shop"}, &m, rid("merchant-1")...)
		got := map[string]string{}
		for _, acc := range m.Accounts {
			got[acc.ProductID] = acc.Reference
		}
		if len(m.Accounts) != 2 || got["settlement"] != "auto:"+m.ID+":settlement" || got["escrow"] != "auto:"+m.ID+":escrow" || len(m.AutoOpenFailures) != 0 {
			t.Fatalf("auto-opened %+v, failures %+v", got, m.AutoOpenFailures)
		}
		// A retry of an auto-open by its reference opens nothing new.
		a.must(http.StatusOK, a.admin, "POST", "/v1/customers/"+m.ID+"/accounts", map[string]any{"product_id": "escrow", "reference": got["escrow"]}, nil)
		var page struct {
			Items []httpapi.CustomerAccountView `json:"items"`
		}
		a.must(http.StatusOK, a.admin, "GET", "/v1/customers/"+m.ID+"/accounts", nil, &page)
		if len(page.Items) != 2 {
			t.Errorf("%d accounts", len(page.Items))
		}
		n := 0
		for _, r := range a.auditRecords() {
			if r.RequestID == "merchant-1" {
				n++
			}
		}
		if n != 3 { // the customer and its two accounts
			t.Errorf("%d audit records for the creation", n)
		}
	})
}

type freezeAnswer struct {
	Freeze  httpapi.FreezeView  `json:"freeze"`
	Account httpapi.AccountView `json:"account"`
}

func TestFreezesWithAuthority(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		a.lifecycleBooks()
		operator := a.newKey("root", auth.RoleOperator)
		var c httpapi.CreatedCustomerView
		a.must(http.StatusCreated, a.admin, "POST", "/v1/customers", map[string]any{"type": "personal", "name": "Alice"}, &c)
		var o httpapi.CustomerAccountView
		a.must(http.StatusCreated, operator, "POST", "/v1/customers/"+c.ID+"/accounts", map[string]any{"product_id": "wallet"}, &o)
		id := o.Account.ID
		freezes := "/v1/accounts/" + id + "/freezes"
		// A customer holding an open account is not closed.
		a.fail(http.StatusConflict, "customer_has_accounts", "", a.admin, "POST", "/v1/customers/"+c.ID+"/status",
			map[string]any{"status": "closed"}, rid("close-customer")...)
		a.noAudit("close-customer")

		var d1, d2, j freezeAnswer
		a.must(http.StatusCreated, operator, "POST", freezes, map[string]any{"side": "debit", "authority": "operator", "reason": "dispute"}, &d1, rid("fz-1")...)
		a.auditOnce("fz-1", "accounts.freeze", "account:"+id, operator)
		risk := map[string]any{"side": "debit", "authority": "risk", "reason": "fraud check", "reference": "risk-2"}
		a.must(http.StatusCreated, operator, "POST", freezes, risk, &d2)
		if d2.Account.Status != "debit_frozen" || !d2.Freeze.InForce || d2.Freeze.PlacedBy != keyID(operator) || d2.Freeze.Reference != "risk-2" {
			t.Errorf("second freeze %+v", d2)
		}
		// A retry with the reference returns the same freeze (200) and
		// places no other; another side under it is refused.
		var again freezeAnswer
		a.must(http.StatusOK, operator, "POST", freezes, risk, &again, rid("fz-2-retry")...)
		if again.Freeze.ID != d2.Freeze.ID {
			t.Errorf("retry placed freeze %s, first %s", again.Freeze.ID, d2.Freeze.ID)
		}
		a.fail(http.StatusConflict, "conflict", "body.reference", operator, "POST", freezes,
			map[string]any{"side": "both", "authority": "risk", "reason": "fraud check", "reference": "risk-2"})
		var lifted freezeAnswer
		a.must(http.StatusOK, operator, "POST", freezes+"/"+d1.Freeze.ID+"/lift", map[string]any{"reason": "resolved"}, &lifted, rid("lift-1")...)
		if lifted.Account.Status != "debit_frozen" || lifted.Freeze.InForce || lifted.Freeze.LiftReason != "resolved" {
			t.Errorf("after lifting one of two debit freezes: %+v", lifted)
		}
		a.auditOnce("lift-1", "accounts.thaw", "account:"+id, operator)
		a.fail(http.StatusConflict, "invalid_status_change", "", operator, "POST", freezes+"/"+d1.Freeze.ID+"/lift", map[string]any{})
		a.fail(http.StatusNotFound, "freeze_not_found", "", operator, "POST", freezes+"/nope/lift", map[string]any{})

		// Judicial: operators can neither place nor lift one, nor thaw
		// around it.
		a.fail(http.StatusForbidden, auth.CodeForbidden, "body.authority", operator, "POST", freezes,
			map[string]any{"side": "both", "authority": "judicial", "reason": "court order 12"})
		a.must(http.StatusCreated, a.admin, "POST", freezes, map[string]any{"side": "both", "authority": "judicial", "reason": "court order 12"}, &j)
		a.fail(http.StatusForbidden, "authority_required", "", operator, "POST", freezes+"/"+j.Freeze.ID+"/lift", map[string]any{})
		a.fail(http.StatusConflict, "freeze_in_force", "", operator, "POST", "/v1/accounts/"+id+"/thaw", map[string]any{"side": "credit"})
		a.must(http.StatusOK, operator, "POST", freezes+"/"+d2.Freeze.ID+"/lift", map[string]any{}, &lifted)
		if lifted.Account.Status != "frozen" {
			t.Errorf("the judicial freeze no longer holds: %s", lifted.Account.Status)
		}
		a.must(http.StatusOK, a.admin, "POST", freezes+"/"+j.Freeze.ID+"/lift", map[string]any{"reason": "order lifted"}, &lifted)
		if lifted.Account.Status != "active" {
			t.Errorf("after the last lift: %s", lifted.Account.Status)
		}
		var page struct {
			Items []httpapi.FreezeView `json:"items"`
		}
		a.must(http.StatusOK, operator, "GET", freezes, nil, &page)
		if len(page.Items) != 3 || page.Items[2].Authority != "judicial" || page.Items[2].InForce {
			t.Errorf("freezes %+v", page.Items)
		}
		a.fail(http.StatusUnprocessableEntity, "", "", operator, "POST", freezes, map[string]any{"side": "debit", "authority": "court", "reason": "x"})
		a.fail(http.StatusUnprocessableEntity, "", "", operator, "POST", freezes, map[string]any{"side": "debit", "authority": "risk"})
		a.fail(http.StatusNotFound, "account_not_found", "", operator, "POST", "/v1/accounts/nope/freezes", map[string]any{"side": "debit", "authority": "risk", "reason": "x"})
		// The raw freeze and thaw still work where no recorded freeze holds.
		a.must(http.StatusOK, operator, "POST", "/v1/accounts/"+id+"/freeze", map[string]any{"side": "both"}, nil)
		a.must(http.StatusOK, operator, "POST", "/v1/accounts/"+id+"/thaw", map[string]any{"side": "both"}, nil)
	})
}

func TestCloseAndSweep(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		bank := a.lifecycleBooks()
		var c httpapi.CreatedCustomerView
		a.must(http.StatusCreated, a.admin, "POST", "/v1/customers", map[string]any{"type": "personal", "name": "Alice"}, &c)
		open := func() string {
			var o httpapi.CustomerAccountView
			a.must(http.StatusCreated, a.admin, "POST", "/v1/customers/"+c.ID+"/accounts", map[string]any{"product_id": "wallet"}, &o)
			return o.Account.ID
		}
		id, target := open(), open()
		a.transfer(a.admin, "fund-1", bank, id, "CNY", 4321)
		path := "/v1/accounts/" + id + "/close-and-sweep"
		a.fail(http.StatusConflict, "account_not_empty", "", a.admin, "POST", path, map[string]any{})
		hold := a.hold(a.admin, "", "h-1", 0, posting(id, bank, "CNY", 1))
		a.fail(http.StatusConflict, "account_not_empty", "", a.admin, "POST", path, map[string]any{"sweep_to": target})
		a.must(http.StatusCreated, a.admin, "POST", "/v1/holds/"+hold.ID+"/void", map[string]any{"reference": "v-1"}, nil)
		a.fail(http.StatusUnprocessableEntity, "invalid_request", "body.sweep_to", a.admin, "POST", path, map[string]any{"sweep_to": id})
		a.fail(http.StatusNotFound, "account_not_found", "body.sweep_to", a.admin, "POST", path, map[string]any{"sweep_to": "nope"})

		var out struct {
			Account httpapi.AccountView      `json:"account"`
			Sweep   *httpapi.TransactionView `json:"sweep"`
		}
		a.must(http.StatusOK, a.admin, "POST", path, map[string]any{"sweep_to": target, "reference": "close-1", "reason": "customer left"}, &out, rid("close-1")...)
		if out.Account.Status != "closed" || out.Sweep == nil || out.Sweep.Reference != "close-1" || out.Sweep.Postings[0].Amount != 4321 {
			t.Errorf("closed %+v, sweep %+v", out.Account, out.Sweep)
		}
		a.auditOnce("close-1", "accounts.close", "account:"+id, a.admin)
		a.must(http.StatusOK, a.admin, "POST", path, map[string]any{"sweep_to": target, "reference": "close-1"}, &out, rid("close-2")...)
		a.noAudit("close-2")
		if v := a.account(target); v.Balance != 4321 {
			t.Errorf("target balance %d", v.Balance)
		}
		if v := a.account(id); v.Balance != 0 || v.Status != "closed" {
			t.Errorf("closed account %+v", v)
		}
		var page struct {
			Items []httpapi.CustomerAccountView `json:"items"`
		}
		a.must(http.StatusOK, a.admin, "GET", "/v1/customers/"+c.ID+"/accounts", nil, &page)
		for _, it := range page.Items {
			if (it.Account.ID == id) != (it.ClosedAt != nil) {
				t.Errorf("link %+v", it)
			}
		}
		// An empty account closes without a sweep.
		var empty struct {
			Account httpapi.AccountView      `json:"account"`
			Sweep   *httpapi.TransactionView `json:"sweep"`
		}
		a.must(http.StatusOK, a.admin, "POST", "/v1/accounts/"+open()+"/close-and-sweep", map[string]any{}, &empty)
		if empty.Account.Status != "closed" || empty.Sweep != nil {
			t.Errorf("empty close %+v", empty)
		}
		// The plain close is the same close: the product link is closed too.
		plain := open()
		a.must(http.StatusOK, a.admin, "POST", "/v1/accounts/"+plain+"/close", map[string]any{"reason": "duplicate"}, nil)
		a.must(http.StatusOK, a.admin, "GET", "/v1/customers/"+c.ID+"/accounts", nil, &page)
		for _, it := range page.Items {
			if it.Account.ID == plain && (it.ClosedAt == nil || it.Account.Status != "closed") {
				t.Errorf("after POST /close: link %+v", it)
			}
		}
	})
}
