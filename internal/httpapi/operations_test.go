package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/httpapi"
)

// opsBooks are the root institution's operation set-up: a CNY wallet
// product (channels app and bank_x; a 2.00 withdrawal fee, a 0.5% transfer
// fee; payments up to 500.00 each, one bank_x withdrawal a day), a merchant
// product (a 0.6% payment fee the merchant pays), a bank_x clearing account,
// a fee-income account, wallets of alice and bob, and a shop.
type opsBooks struct {
	clearing, fees, alice, bob, shop string
}

func (a *api) opsBooks() opsBooks {
	a.t.Helper()
	a.newAsset("CNY", 2)
	wallet := map[string]any{"id": "wallet", "name": "Wallet", "class": "wallet", "asset": "CNY", "chart_code": "2001", "normal_side": "credit",
		"channels":   []string{"app", "bank_x"},
		"operations": []string{"topup", "withdraw", "payment", "transfer"},
		"fees": []any{
			map[string]any{"operation": "withdraw", "kind": "fixed", "fixed": 200, "payer": "payer", "rounding": "half_even", "fee_account_code": "6021"},
			map[string]any{"operation": "transfer", "kind": "percentage", "rate": "0.005", "payer": "payer", "rounding": "half_up", "fee_account_code": "6021"},
		},
		"limits": []any{
			map[string]any{"operation": "payment", "per_transaction": 50000},
			map[string]any{"operation": "withdraw", "channel": "bank_x", "daily_count": 1},
		}}
	merchant := map[string]any{"id": "merchant", "name": "Merchant", "class": "merchant_settlement", "asset": "CNY", "chart_code": "2201",
		"normal_side": "credit", "channels": []string{"app", "bank_x"}, "operations": []string{"payment", "refund"},
		"fees": []any{map[string]any{"operation": "payment", "kind": "percentage", "rate": "0.006", "payer": "payee", "rounding": "half_even",
			"fee_account_code": "6021"}}}
	a.must(http.StatusCreated, a.admin, "POST", "/v1/products", wallet, nil)
	a.must(http.StatusCreated, a.admin, "POST", "/v1/products", merchant, nil)
	var b opsBooks
	b.clearing = a.newAccount(a.admin, map[string]any{"asset": "CNY", "code": "1002", "normal_side": "debit", "overdraft": "unlimited"}).ID
	b.fees = a.newAccount(a.admin, map[string]any{"asset": "CNY", "code": "6021", "normal_side": "credit", "overdraft": "none"}).ID
	var ia httpapi.InternalAccountView
	a.must(http.StatusCreated, a.admin, "POST", "/v1/internal-accounts", map[string]any{"role": "clearing", "channel": "bank_x", "account_id": b.clearing}, &ia,
		rid("ia-clearing")...)
	if ia.InstitutionID != "root" || ia.Asset != "CNY" || ia.Channel != "bank_x" || ia.RegisteredBy != keyID(a.admin) {
		a.t.Errorf("registered %+v", ia)
	}
	a.auditOnce("ia-clearing", "internal_accounts.register", "account:"+b.clearing, a.admin)
	a.must(http.StatusCreated, a.admin, "POST", "/v1/internal-accounts", map[string]any{"role": "fee_income", "asset": "CNY", "account_id": b.fees}, nil)
	open := func(typ, product string) string {
		var c httpapi.CustomerView
		a.must(http.StatusCreated, a.admin, "POST", "/v1/customers", map[string]any{"type": typ, "name": "Customer"}, &c)
		var o httpapi.CustomerAccountView
		a.must(http.StatusCreated, a.admin, "POST", "/v1/customers/"+c.ID+"/accounts", map[string]any{"product_id": product}, &o)
		return o.Account.ID
	}
	b.alice, b.bob, b.shop = open("personal", "wallet"), open("personal", "wallet"), open("merchant", "merchant")
	return b
}

// balances returns each account's balance and available amount.
func (a *api) balances(ids ...string) map[string][2]int64 {
	a.t.Helper()
	out := map[string][2]int64{}
	for _, id := range ids {
		v := a.account(id)
		out[id] = [2]int64{v.Balance, v.Available}
	}
	return out
}

func (a *api) op(key, path string, body map[string]any, headers ...string) *httpapi.OperationView {
	a.t.Helper()
	var v httpapi.OperationView
	a.must(http.StatusCreated, key, "POST", path, body, &v, headers...)
	return &v
}

func TestOperations(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.opsBooks()
		all := []string{b.alice, b.bob, b.shop, b.clearing, b.fees}
		check := func(t *testing.T, a *api, want map[string][2]int64) {
			t.Helper()
			got := a.balances(all...)
			for id, w := range want {
				if got[id] != w {
					t.Errorf("account %s: balance, available %v, want %v", id, got[id], w)
				}
			}
		}

		top := a.op(a.admin, "/v1/operations/topup", map[string]any{"reference": "top-1", "account": b.alice, "channel": "bank_x", "amount": 1000000},
			rid("op-topup")...)
		if top.Operation != "topup" || top.Amount != 1000000 || top.AmountDisplay != "10000.00" || top.Fee != 0 || top.FeeDisplay != "0.00" ||
			top.Transaction.Kind != "transfer" || top.Transaction.Type != "topup" || len(top.Transaction.Postings) != 1 ||
			top.Transaction.Postings[0].Debit != b.clearing || top.Transaction.Postings[0].Credit != b.alice {
			t.Errorf("top-up %+v", top)
		}
		a.auditOnce("op-topup", "ledger.transfer", "transaction:"+top.Transaction.ID, a.admin)
		check(t, a, map[string][2]int64{b.alice: {1000000, 1000000}, b.clearing: {1000000, 1000000}})

		var pay *httpapi.OperationView
		t.Run("pay with a fee the merchant bears", func(t *testing.T) {
			a := a.with(t)
			pay = a.op(a.admin, "/v1/operations/pay", map[string]any{"reference": "pay-1", "account": b.alice, "counterparty": b.shop,
				"channel": "app", "amount": 10000}, rid("op-pay")...)
			if pay.Fee != 60 || pay.FeeDisplay != "0.60" || pay.FeePayer != "payee" || pay.AmountDisplay != "100.00" || len(pay.Transaction.Postings) != 2 ||
				pay.Transaction.Postings[1].Debit != b.shop || pay.Transaction.Postings[1].Credit != b.fees {
				t.Errorf("pay %+v", pay)
			}
			a.auditOnce("op-pay", "ledger.transfer", "transaction:"+pay.Transaction.ID, a.admin)
			check(t, a, map[string][2]int64{b.alice: {990000, 990000}, b.shop: {9940, 9940}, b.fees: {60, 60}})
		})

		t.Run("transfer", func(t *testing.T) {
			a := a.with(t)
			tr := a.op(a.admin, "/v1/operations/transfer", map[string]any{"reference": "tr-1", "account": b.alice, "counterparty": b.bob,
				"channel": "app", "amount": 10000}, rid("op-transfer")...)
			if tr.Fee != 50 || tr.FeeDisplay != "0.50" || tr.FeePayer != "payer" || tr.Transaction.Type != "transfer" {
				t.Errorf("transfer %+v", tr)
			}
			a.auditOnce("op-transfer", "ledger.transfer", "transaction:"+tr.Transaction.ID, a.admin)
			check(t, a, map[string][2]int64{b.alice: {979950, 979950}, b.bob: {10000, 10000}, b.fees: {110, 110}})
		})

		t.Run("refund in part, then beyond the payment", func(t *testing.T) {
			a := a.with(t)
			if pay == nil {
				t.Skip("no payment")
			}
			r := a.op(a.admin, "/v1/operations/refund", map[string]any{"payment_id": pay.Transaction.ID, "reference": "ref-1", "amount": 4000},
				rid("op-refund")...)
			if r.Operation != "refund" || r.Amount != 4000 || r.Fee != 0 || r.Transaction.Kind != "reversal" || r.Transaction.ReversesID != pay.Transaction.ID {
				t.Errorf("refund %+v", r)
			}
			a.auditOnce("op-refund", "ledger.reversal", "transaction:"+r.Transaction.ID, a.admin)
			check(t, a, map[string][2]int64{b.alice: {983950, 983950}, b.shop: {5940, 5940}, b.fees: {110, 110}})
			a.fail(http.StatusUnprocessableEntity, "reversal_exceeds_original", "", a.admin, "POST", "/v1/operations/refund",
				map[string]any{"payment_id": pay.Transaction.ID, "reference": "ref-2", "amount": 6001}, rid("op-refund-2")...)
			a.noAudit("op-refund-2")
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "body.payment_id", a.admin, "POST", "/v1/operations/refund",
				map[string]any{"payment_id": top.Transaction.ID, "reference": "ref-3"})
			check(t, a, map[string][2]int64{b.alice: {983950, 983950}, b.shop: {5940, 5940}})
		})

		t.Run("withdraw, fail, withdraw, complete, then the daily count", func(t *testing.T) {
			a := a.with(t)
			before := a.balances(all...)
			w1 := a.op(a.admin, "/v1/operations/withdraw", map[string]any{"reference": "wd-1", "account": b.alice, "channel": "bank_x", "amount": 5000},
				rid("op-wd-1")...)
			if w1.Transaction.Kind != "hold" || w1.Fee != 200 || w1.FeeDisplay != "2.00" || w1.FeePayer != "payer" {
				t.Errorf("withdrawal %+v", w1)
			}
			a.auditOnce("op-wd-1", "ledger.hold", "transaction:"+w1.Transaction.ID, a.admin)
			alice := before[b.alice]
			check(t, a, map[string][2]int64{b.alice: {alice[0], alice[1] - 5200}})
			f := a.op(a.admin, "/v1/operations/withdraw/"+w1.Transaction.ID+"/fail", map[string]any{"reference": "wd-1-fail"}, rid("op-wd-1-fail")...)
			if f.Operation != "withdraw_fail" || f.Transaction.Kind != "void" || f.Transaction.HoldID != w1.Transaction.ID {
				t.Errorf("fail %+v", f)
			}
			a.auditOnce("op-wd-1-fail", "ledger.void", "transaction:"+f.Transaction.ID, a.admin)
			check(t, a, before)
			a.fail(http.StatusConflict, "hold_already_voided", "", a.admin, "POST", "/v1/operations/withdraw/"+w1.Transaction.ID+"/complete",
				map[string]any{"reference": "wd-1-complete"})

			// The failed withdrawal gave its usage back: another is allowed today.
			w2 := a.op(a.admin, "/v1/operations/withdraw", map[string]any{"reference": "wd-2", "account": b.alice, "channel": "bank_x", "amount": 5000})
			c := a.op(a.admin, "/v1/operations/withdraw/"+w2.Transaction.ID+"/complete", map[string]any{"reference": "wd-2-complete"}, rid("op-wd-2-complete")...)
			if c.Operation != "withdraw_complete" || c.Transaction.Kind != "post" || c.Fee != 200 {
				t.Errorf("complete %+v", c)
			}
			a.auditOnce("op-wd-2-complete", "ledger.post", "transaction:"+c.Transaction.ID, a.admin)
			check(t, a, map[string][2]int64{b.alice: {alice[0] - 5200, alice[1] - 5200}, b.clearing: {before[b.clearing][0] - 5000, before[b.clearing][1] - 5000},
				b.fees: {before[b.fees][0] + 200, before[b.fees][1] + 200}})

			a.fail(http.StatusUnprocessableEntity, "limit_exceeded", "daily_count", a.admin, "POST", "/v1/operations/withdraw",
				map[string]any{"reference": "wd-3", "account": b.alice, "channel": "bank_x", "amount": 100}, rid("op-wd-3")...)
			a.noAudit("op-wd-3")
			a.fail(http.StatusNotFound, "transaction_not_found", "path.id", a.admin, "POST", "/v1/operations/withdraw/nope/complete",
				map[string]any{"reference": "wd-x"})
		})

		t.Run("refusals", func(t *testing.T) {
			a := a.with(t)
			before := a.balances(all...)
			a.fail(http.StatusUnprocessableEntity, "limit_exceeded", "per_transaction", a.admin, "POST", "/v1/operations/pay",
				map[string]any{"reference": "pay-big", "account": b.alice, "counterparty": b.shop, "channel": "app", "amount": 50001}, rid("op-pay-big")...)
			a.noAudit("op-pay-big")
			a.fail(http.StatusUnprocessableEntity, "channel_not_allowed", "body.channel", a.admin, "POST", "/v1/operations/topup",
				map[string]any{"reference": "top-wechat", "account": b.alice, "channel": "wechat", "amount": 100})
			// app is allowed, but no clearing account is registered for it.
			a.fail(http.StatusUnprocessableEntity, "channel_not_allowed", "body.channel", a.admin, "POST", "/v1/operations/topup",
				map[string]any{"reference": "top-app", "account": b.alice, "channel": "app", "amount": 100})
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "body.counterparty", a.admin, "POST", "/v1/operations/pay",
				map[string]any{"reference": "pay-bob", "account": b.alice, "counterparty": b.bob, "channel": "app", "amount": 100})
			a.must(http.StatusCreated, a.admin, "POST", "/v1/accounts/"+b.bob+"/freezes",
				map[string]any{"side": "credit", "authority": "risk", "reason": "review"}, nil)
			a.fail(http.StatusUnprocessableEntity, "account_frozen", "", a.admin, "POST", "/v1/operations/transfer",
				map[string]any{"reference": "tr-frozen", "account": b.alice, "counterparty": b.bob, "channel": "app", "amount": 100}, rid("op-frozen")...)
			a.noAudit("op-frozen")
			check(t, a, before)
		})

		t.Run("Idempotency-Key and reference replays move money once", func(t *testing.T) {
			a := a.with(t)
			before := a.balances(b.alice)[b.alice]
			body := map[string]any{"reference": "top-idem", "account": b.alice, "channel": "bank_x", "amount": 700}
			var first, second httpapi.OperationView
			r1 := a.must(http.StatusCreated, a.admin, "POST", "/v1/operations/topup", body, &first, "Idempotency-Key", "idem-1", "X-Request-ID", "op-idem-1")
			r2 := a.must(http.StatusCreated, a.admin, "POST", "/v1/operations/topup", body, &second, "Idempotency-Key", "idem-1", "X-Request-ID", "op-idem-2")
			if r1.Header.Get("Idempotent-Replayed") == "true" || r2.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("Idempotent-Replayed: %q then %q", r1.Header.Get("Idempotent-Replayed"), r2.Header.Get("Idempotent-Replayed"))
			}
			if second.Transaction.ID != first.Transaction.ID || second.Amount != 700 || second.Operation != "topup" {
				t.Errorf("replay %+v, first %+v", second, first)
			}
			a.auditOnce("op-idem-1", "ledger.transfer", "transaction:"+first.Transaction.ID, a.admin)
			a.noAudit("op-idem-2")
			other := map[string]any{"reference": "top-idem-2", "account": b.alice, "channel": "bank_x", "amount": 700}
			a.fail(http.StatusConflict, "idempotency_key_reused", "header.Idempotency-Key", a.admin, "POST", "/v1/operations/topup", other,
				"Idempotency-Key", "idem-1")
			var dup httpapi.OperationView
			a.must(http.StatusCreated, a.admin, "POST", "/v1/operations/topup", body, &dup, rid("op-idem-3")...)
			if !dup.Duplicate || dup.Transaction.ID != first.Transaction.ID {
				t.Errorf("same reference: %+v", dup)
			}
			a.noAudit("op-idem-3")
			if got := a.balances(b.alice)[b.alice]; got != [2]int64{before[0] + 700, before[1] + 700} {
				t.Errorf("alice %v, want %v + 700", got, before)
			}
		})

		t.Run("401, 403, 404", func(t *testing.T) {
			a := a.with(t)
			before := a.balances(all...)
			a.newInstitution("other", "root")
			other := a.newKey("other", auth.RoleAdmin)
			viewer := a.newKey("root", auth.RoleViewer)
			operator := a.newKey("root", auth.RoleOperator)
			body := map[string]any{"reference": "top-x", "account": b.alice, "channel": "bank_x", "amount": 100}
			a.fail(http.StatusUnauthorized, auth.CodeUnauthenticated, "", "", "POST", "/v1/operations/topup", body)
			a.fail(http.StatusForbidden, auth.CodeForbidden, "", viewer, "POST", "/v1/operations/topup", body)
			a.fail(http.StatusForbidden, auth.CodeForbidden, "", operator, "POST", "/v1/internal-accounts",
				map[string]any{"role": "fee_income", "account_id": b.fees})
			a.fail(http.StatusNotFound, "account_not_found", "body.account", other, "POST", "/v1/operations/topup", body)
			a.fail(http.StatusNotFound, "account_not_found", "body.account", other, "POST", "/v1/operations/transfer",
				map[string]any{"reference": "tr-x", "account": b.alice, "counterparty": b.bob, "channel": "app", "amount": 100})
			if pay != nil {
				a.fail(http.StatusNotFound, "transaction_not_found", "body.payment_id", other, "POST", "/v1/operations/refund",
					map[string]any{"payment_id": pay.Transaction.ID, "reference": "ref-x"})
			}
			a.fail(http.StatusNotFound, "transaction_not_found", "path.id", other, "POST", "/v1/operations/withdraw/"+top.Transaction.ID+"/fail",
				map[string]any{"reference": "fail-x"})
			a.fail(http.StatusNotFound, "account_not_found", "", other, "POST", "/v1/internal-accounts",
				map[string]any{"role": "fee_income", "account_id": b.fees})
			a.fail(http.StatusForbidden, auth.CodeForbidden, "body.institution_id", other, "POST", "/v1/internal-accounts",
				map[string]any{"institution_id": "root", "role": "fee_income", "account_id": b.fees})
			check(t, a, before)
		})
	})
}
