package httpapi_test

import (
	"net/http"
	"testing"
)

// TestMoreOperations: balance freeze, unfreeze and deduction, split
// payment and a cross-institution transfer from root to its child "peer".
func TestMoreOperations(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		a.newAsset("CNY", 2)
		a.newInstitution("peer", "root")
		for _, inst := range []string{"root", "peer"} {
			a.must(http.StatusCreated, a.admin, "POST", "/v1/products", map[string]any{"id": "w2", "institution_id": inst, "name": "Wallet",
				"class": "wallet", "asset": "CNY", "chart_code": "2001", "normal_side": "credit", "channels": []string{"app"},
				"operations": []string{"freeze", "split", "cross_transfer", "round_deposit", "round_withdraw"},
				"fees": []any{map[string]any{"operation": "split", "kind": "percentage", "rate": "0.01", "payer": "payer", "rounding": "half_up",
					"fee_account_code": "6021"}},
				"limits": []any{map[string]any{"operation": "split", "per_transaction": 50000}}}, nil)
		}
		internal := func(inst, role, channel, side string) string {
			id := a.newAccount(a.admin, map[string]any{"institution_id": inst, "asset": "CNY", "code": "1002", "normal_side": side, "overdraft": "unlimited"}).ID
			a.must(http.StatusCreated, a.admin, "POST", "/v1/internal-accounts", map[string]any{"institution_id": inst, "role": role,
				"channel": channel, "account_id": id}, nil)
			return id
		}
		frozen, fees := internal("root", "frozen", "", "credit"), internal("root", "fee_income", "", "credit")
		clrA, clrB := internal("root", "clearing_inst", "peer", "credit"), internal("peer", "clearing_inst", "root", "debit")
		bank := a.newAccount(a.admin, map[string]any{"asset": "CNY", "code": "1002", "normal_side": "debit", "overdraft": "unlimited"}).ID
		customers := map[string]string{}
		openFor := func(customer, product string) string {
			var o struct {
				Account struct {
					ID string `json:"id"`
				} `json:"account"`
			}
			a.must(http.StatusCreated, a.admin, "POST", "/v1/customers/"+customer+"/accounts", map[string]any{"product_id": product}, &o)
			return o.Account.ID
		}
		open := func(inst string) string {
			var c struct {
				ID string `json:"id"`
			}
			a.must(http.StatusCreated, a.admin, "POST", "/v1/customers", map[string]any{"institution_id": inst, "type": "personal", "name": "C"}, &c)
			var o struct {
				Account struct {
					ID string `json:"id"`
				} `json:"account"`
			}
			a.must(http.StatusCreated, a.admin, "POST", "/v1/customers/"+c.ID+"/accounts", map[string]any{"product_id": "w2"}, &o)
			customers[o.Account.ID] = c.ID
			return o.Account.ID
		}
		carol, dave, erin, fay := open("root"), open("root"), open("root"), open("peer")
		a.transfer(a.admin, "fund-carol", bank, carol, "CNY", 100000)
		check := func(t *testing.T, a *api, want map[string][2]int64) {
			t.Helper()
			for id, w := range want {
				if got := a.balances(id)[id]; got != w {
					t.Errorf("account %s: balance, available %v, want %v", id, got, w)
				}
			}
		}

		t.Run("freeze, deduct in part, unfreeze", func(t *testing.T) {
			a := a.with(t)
			body := map[string]any{"reference": "fz-1", "account": carol, "channel": "app", "amount": 30000}
			f := a.op(a.admin, "/v1/operations/freeze", body, rid("op-freeze")...)
			if f.Operation != "freeze" || f.Transaction.Kind != "hold" || f.Transaction.Postings[0].Credit != frozen {
				t.Errorf("freeze %+v", f)
			}
			a.auditOnce("op-freeze", "ledger.hold", "transaction:"+f.Transaction.ID, a.admin)
			if again := a.op(a.admin, "/v1/operations/freeze", body); !again.Duplicate || again.Transaction.ID != f.Transaction.ID {
				t.Errorf("retry %+v", again)
			}
			check(t, a, map[string][2]int64{carol: {100000, 70000}})
			a.fail(http.StatusUnprocessableEntity, "insufficient_funds", "", a.admin, "POST", "/v1/operations/freeze",
				map[string]any{"reference": "fz-2", "account": carol, "channel": "app", "amount": 70001})
			a.fail(http.StatusUnprocessableEntity, "channel_not_allowed", "body.channel", a.admin, "POST", "/v1/operations/freeze",
				map[string]any{"reference": "fz-3", "account": carol, "channel": "atm", "amount": 1})
			d := a.op(a.admin, "/v1/operations/freeze/"+f.Transaction.ID+"/deduct", map[string]any{"reference": "dd-1", "receiver": dave, "amount": 1234})
			if d.Operation != "freeze_deduct" || d.Amount != 1234 || d.Transaction.Kind != "post" {
				t.Errorf("deduct %+v", d)
			}
			check(t, a, map[string][2]int64{carol: {98766, 98766}, dave: {1234, 1234}, frozen: {0, 0}})
			a.fail(http.StatusConflict, "hold_already_posted", "", a.admin, "POST", "/v1/operations/freeze/"+f.Transaction.ID+"/unfreeze",
				map[string]any{"reference": "uf-1"})
			f2 := a.op(a.admin, "/v1/operations/freeze", map[string]any{"reference": "fz-4", "account": carol, "channel": "app", "amount": 500})
			u := a.op(a.admin, "/v1/operations/freeze/"+f2.Transaction.ID+"/unfreeze", map[string]any{"reference": "uf-2"})
			if u.Operation != "unfreeze" || u.Transaction.Kind != "void" {
				t.Errorf("unfreeze %+v", u)
			}
			check(t, a, map[string][2]int64{carol: {98766, 98766}})
			a.fail(http.StatusNotFound, "transaction_not_found", "path.id", a.admin, "POST", "/v1/operations/freeze/nope/deduct",
				map[string]any{"reference": "dd-2", "receiver": dave})
		})

		t.Run("split", func(t *testing.T) {
			a := a.with(t)
			body := map[string]any{"reference": "sp-1", "account": carol, "channel": "app",
				"payees": []any{map[string]any{"account": dave, "amount": 1117}, map[string]any{"account": erin, "amount": 2233}}}
			s := a.op(a.admin, "/v1/operations/split", body, "Idempotency-Key", "split-1")
			if s.Operation != "split" || s.Amount != 3350 || s.Fee != 34 || len(s.Transaction.Postings) != 3 {
				t.Errorf("split %+v", s)
			}
			if again := a.op(a.admin, "/v1/operations/split", body, "Idempotency-Key", "split-1"); again.Transaction.ID != s.Transaction.ID {
				t.Errorf("replay %+v", again)
			}
			check(t, a, map[string][2]int64{carol: {95382, 95382}, dave: {2351, 2351}, erin: {2233, 2233}, fees: {34, 34}})
			a.fail(http.StatusUnprocessableEntity, "limit_exceeded", "per_transaction", a.admin, "POST", "/v1/operations/split",
				map[string]any{"reference": "sp-2", "account": carol, "channel": "app", "payees": []any{map[string]any{"account": dave, "amount": 60000}}})
		})

		t.Run("cross-institution transfer, all or nothing", func(t *testing.T) {
			a := a.with(t)
			body := map[string]any{"reference": "cx-1", "account": carol, "counterparty": fay, "channel": "app", "amount": 4321}
			x := a.op(a.admin, "/v1/operations/cross-transfer", body, rid("op-cross")...)
			if x.Operation != "cross_transfer" || x.Transaction.InstitutionID != "root" || x.Transaction.Postings[0].Credit != clrA {
				t.Errorf("cross transfer %+v", x)
			}
			a.auditOnce("op-cross", "ledger.transfer", "transaction:"+x.Transaction.ID, a.admin)
			if again := a.op(a.admin, "/v1/operations/cross-transfer", body); !again.Duplicate {
				t.Errorf("retry %+v", again)
			}
			check(t, a, map[string][2]int64{carol: {91061, 91061}, clrA: {4321, 4321}, clrB: {4321, 4321}, fay: {4321, 4321}})
			peerKey := a.newKey("peer", "admin")
			a.fail(http.StatusNotFound, "account_not_found", "body.account", peerKey, "POST", "/v1/operations/cross-transfer",
				map[string]any{"reference": "cx-2", "account": carol, "counterparty": fay, "channel": "app", "amount": 1})
			a.must(http.StatusOK, a.admin, "POST", "/v1/accounts/"+fay+"/freeze", map[string]any{"side": "credit"}, nil)
			a.fail(http.StatusUnprocessableEntity, "account_frozen", "", a.admin, "POST", "/v1/operations/cross-transfer",
				map[string]any{"reference": "cx-3", "account": carol, "counterparty": fay, "channel": "app", "amount": 10})
			check(t, a, map[string][2]int64{carol: {91061, 91061}, clrA: {4321, 4321}, clrB: {4321, 4321}, fay: {4321, 4321}})
		})

		t.Run("points and round deposit/withdraw", func(t *testing.T) {
			a := a.with(t)
			a.newAsset("PTS", 0)
			a.must(http.StatusCreated, a.admin, "POST", "/v1/products", map[string]any{"id": "pts", "name": "Points", "class": "points",
				"asset": "PTS", "chart_code": "2301", "normal_side": "credit", "channels": []string{"app"},
				"operations": []string{"points_grant", "points_redeem", "points_expire"}}, nil)
			pts := openFor(customers[carol], "pts")
			issuance := a.newAccount(a.admin, map[string]any{"asset": "PTS", "code": "1002", "normal_side": "debit", "overdraft": "unlimited"}).ID
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "", a.admin, "POST", "/v1/operations/points/grant",
				map[string]any{"reference": "pg-0", "account": pts, "channel": "app", "amount": 1})
			a.must(http.StatusCreated, a.admin, "POST", "/v1/internal-accounts", map[string]any{"role": "points_issuance", "account_id": issuance}, nil)
			g := a.op(a.admin, "/v1/operations/points/grant", map[string]any{"reference": "pg-1", "account": pts, "channel": "app", "amount": 500},
				rid("op-points")...)
			if g.Operation != "points_grant" || g.Asset != "PTS" || g.Transaction.Postings[0].Debit != issuance {
				t.Errorf("grant %+v", g)
			}
			a.auditOnce("op-points", "ledger.transfer", "transaction:"+g.Transaction.ID, a.admin)
			a.op(a.admin, "/v1/operations/points/redeem", map[string]any{"reference": "pr-1", "account": pts, "channel": "app", "amount": 120})
			e := a.op(a.admin, "/v1/operations/points/expire", map[string]any{"reference": "pe-1", "account": pts, "channel": "app", "amount": 80})
			if e.Operation != "points_expire" {
				t.Errorf("expire %+v", e)
			}
			check(t, a, map[string][2]int64{pts: {300, 300}, issuance: {300, 300}})
			a.fail(http.StatusUnprocessableEntity, "insufficient_funds", "", a.admin, "POST", "/v1/operations/points/redeem",
				map[string]any{"reference": "pr-2", "account": pts, "channel": "app", "amount": 301})

			purse := openFor(customers[carol], "w2")
			before := a.balances(carol)[carol][0]
			body := map[string]any{"reference": "rd-1", "account": carol, "counterparty": purse, "channel": "app", "amount": 2000}
			rd := a.op(a.admin, "/v1/operations/round-deposit", body)
			if rd.Operation != "round_deposit" || rd.Transaction.Postings[0].Debit != carol || rd.Transaction.Postings[0].Credit != purse {
				t.Errorf("round deposit %+v", rd)
			}
			if again := a.op(a.admin, "/v1/operations/round-deposit", body); !again.Duplicate {
				t.Errorf("retry %+v", again)
			}
			a.op(a.admin, "/v1/operations/round-withdraw", map[string]any{"reference": "rw-1", "account": carol, "counterparty": purse, "channel": "app", "amount": 500})
			check(t, a, map[string][2]int64{carol: {before - 1500, before - 1500}, purse: {1500, 1500}})
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "body.counterparty", a.admin, "POST", "/v1/operations/round-deposit",
				map[string]any{"reference": "rd-2", "account": carol, "counterparty": dave, "channel": "app", "amount": 1})
			a.fail(http.StatusUnprocessableEntity, "insufficient_funds", "", a.admin, "POST", "/v1/operations/round-withdraw",
				map[string]any{"reference": "rw-2", "account": carol, "counterparty": purse, "channel": "app", "amount": 1501})
		})
	})
}
