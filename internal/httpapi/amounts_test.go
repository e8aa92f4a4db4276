package httpapi_test

import (
	"math"
	"net/http"
	"testing"

	"github.com/suanpan/suanpan/ledger"
)

// TestAmountCeiling checks that every entry point taking an amount refuses
// one above its asset's ceiling before anything moves or any channel is
// called, and that the ceiling is changed by an audited update.
func TestAmountCeiling(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		pb := a.payBooks(a.admin, "pc")
		var cny ledger.Asset
		a.must(http.StatusOK, a.admin, "GET", "/v1/assets/CNY", nil, &cny)
		if cny.MaxAmount != ledger.DefaultMaxAmount(2) {
			t.Errorf("CNY's default ceiling %d", cny.MaxAmount)
		}
		t.Run("at the default ceiling", func(t *testing.T) {
			a := a.with(t)
			for _, tt := range []struct{ name, path, field string }{
				{"transfer", "/v1/transactions", "body.postings[0].amount"},
				{"hold", "/v1/holds", "body.postings[0].amount"},
			} {
				a.fail(422, "amount_too_large", tt.field, a.admin, "POST", tt.path, transferBody("big", b.bank, b.alice, "CNY", math.MaxInt64), rid("big")...)
			}
			a.fail(422, "amount_too_large", "body.amount", a.admin, "POST", "/v1/payments/orders", map[string]any{"reference": "big",
				"channel_id": pb.channel, "direction": "pay_in", "account": pb.wallet, "amount": int64(math.MaxInt64)}, rid("big")...)
			a.fail(422, "amount_too_large", "body.amount", a.admin, "POST", "/v1/payments/orders", map[string]any{"reference": "big",
				"channel_id": pb.channel, "direction": "pay_out", "account": pb.wallet, "party": "6222000011112222", "amount": cny.MaxAmount + 1}, rid("big")...)
			a.fail(422, "amount_too_large", "body.postings[0].amount", a.admin, "POST", "/v1/adjustments", map[string]any{"reference": "big",
				"reason": "x", "postings": []any{map[string]any{"debit": b.bank, "credit": b.bob, "amount": int64(math.MaxInt64)}}}, rid("big")...)
			a.transfer(a.admin, "at", b.bank, b.alice, "CNY", cny.MaxAmount)
		})

		var lowered ledger.Asset
		a.must(http.StatusOK, a.admin, "PATCH", "/v1/assets/CNY", map[string]any{"max_amount": 1000}, &lowered, rid("ceiling")...)
		if lowered.MaxAmount != 1000 {
			t.Errorf("lowered %+v", lowered)
		}
		a.auditOnce("ceiling", "assets.update", "asset:CNY", a.admin)
		a.fail(422, "invalid_request", "body.max_amount", a.admin, "PATCH", "/v1/assets/CNY", map[string]any{"max_amount": 0})
		a.fail(404, "asset_not_found", "", a.admin, "PATCH", "/v1/assets/NOPE", map[string]any{"max_amount": 5})

		before := a.balances(b.bank, b.alice, pb.wallet)
		tests := []struct {
			name, path, field string
			body              map[string]any
		}{
			{"transfer", "/v1/transactions", "body.postings[0].amount", transferBody("r", b.bank, b.alice, "CNY", 1001)},
			{"hold", "/v1/holds", "body.postings[0].amount", transferBody("r", b.bank, b.alice, "CNY", 1001)},
			{"pay-in", "/v1/payments/orders", "body.amount", map[string]any{"reference": "r", "channel_id": pb.channel, "direction": "pay_in",
				"account": pb.wallet, "amount": 1001}},
			{"adjustment", "/v1/adjustments", "body.postings[0].amount", map[string]any{"reference": "r", "reason": "x",
				"postings": []any{map[string]any{"debit": b.bank, "credit": b.bob, "amount": 1001}}}},
			{"topup", "/v1/operations/topup", "", map[string]any{"reference": "r", "account": pb.wallet, "channel": "bank_transfer", "amount": 1001}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a.with(t).fail(422, "amount_too_large", tt.field, a.admin, "POST", tt.path, tt.body, rid("over")...)
			})
		}
		t.Run("batch", func(t *testing.T) {
			var out struct {
				Results []struct {
					Status string `json:"status"`
					Error  struct{ Code, Field string }
				} `json:"results"`
			}
			a.with(t).must(http.StatusOK, a.admin, "POST", "/v1/transactions/batch", map[string]any{"items": []any{
				map[string]any{"kind": "transfer", "reference": "b1", "postings": []any{posting(b.bank, b.alice, "CNY", 1001)}}}}, &out, rid("over")...)
			if len(out.Results) != 1 || out.Results[0].Error.Code != "amount_too_large" || out.Results[0].Error.Field != "body.items[0].postings[0].amount" {
				t.Errorf("batch %+v", out)
			}
		})
		a.noAudit("over")
		a.noAudit("big")
		if after := a.balances(b.bank, b.alice, pb.wallet); after[b.alice][0] != before[b.alice][0]+0 || after[pb.wallet] != before[pb.wallet] {
			t.Errorf("refused requests moved money: %v, then %v", before, after)
		}
		var orders struct {
			Items []any `json:"items"`
		}
		a.must(http.StatusOK, a.admin, "GET", "/v1/payments/orders", nil, &orders)
		if len(orders.Items) != 0 {
			t.Errorf("refused orders were created: %v", orders.Items)
		}
	})
}
