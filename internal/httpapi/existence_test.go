package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/suanpan/suanpan/internal/httpapi"
)

// unknownLike is an ID of the same shape as id that names nothing.
func unknownLike(id string) string {
	if len(id) < 12 {
		return id + "-unknown"
	}
	return id[:len(id)-12] + "000000000000"
}

// TestForeignIDsLookUnknown checks that a key answered about another
// institution's account, hold, transaction, customer, order or channel
// learns nothing it would not learn about an ID that exists nowhere: the
// two answers are the same bytes but for the ID itself (the request ID is
// sent and so the same).
func TestForeignIDsLookUnknown(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		a.newAsset("CNY", 2)
		a.newInstitution("bank-a", "root")
		a.newInstitution("bank-b", "root")
		keyA, keyB := a.newKey("bank-a", "admin"), a.newKey("bank-b", "admin")
		pa, pb := a.payBooks(keyA, "a"), a.payBooks(keyB, "b")
		// bank-a's own books for the requests that need a valid other side.
		own := a.newAccount(keyA, map[string]any{"asset": "CNY", "code": "1002", "normal_side": "debit", "overdraft": "unlimited"}).ID
		hold := a.hold(keyB, "", "b-hold", 0, posting(pb.wallet, a.newAccount(keyB, map[string]any{"asset": "CNY", "code": "2002", "normal_side": "credit"}).ID, "CNY", 1))
		tr := a.transfer(keyB, "b-tr", pb.wallet, a.newAccount(keyB, map[string]any{"asset": "CNY", "code": "2003", "normal_side": "credit"}).ID, "CNY", 1)
		var cust httpapi.CustomerView
		a.must(http.StatusCreated, keyB, "POST", "/v1/customers", map[string]any{"type": "personal", "name": "Other"}, &cust)
		order := a.order(keyB, map[string]any{"reference": "b-order", "channel_id": pb.channel, "direction": "pay_in", "account": pb.wallet, "amount": 100})

		ps := func(debit, credit string) []any { return []any{posting(debit, credit, "CNY", 1)} }
		tests := []struct {
			name    string
			foreign string
			method  string
			path    func(id string) string
			body    func(id string) any
		}{
			{"transfer credit", pb.wallet, "POST", fixed("/v1/transactions"),
				func(id string) any { return map[string]any{"reference": "x", "postings": ps(own, id)} }},
			{"transfer debit", pb.wallet, "POST", fixed("/v1/transactions"),
				func(id string) any { return map[string]any{"reference": "x", "postings": ps(id, own)} }},
			{"hold", pb.wallet, "POST", fixed("/v1/holds"),
				func(id string) any { return map[string]any{"reference": "x", "postings": ps(own, id)} }},
			{"batch", pb.wallet, "POST", fixed("/v1/transactions/batch"),
				func(id string) any {
					return map[string]any{"items": []any{map[string]any{"kind": "transfer", "reference": "x", "postings": ps(own, id)}}}
				}},
			{"atomic batch", pb.wallet, "POST", fixed("/v1/transactions/batch"),
				func(id string) any {
					return map[string]any{"atomic": true, "items": []any{
						map[string]any{"kind": "transfer", "reference": "x1", "postings": ps(own, pa.wallet)},
						map[string]any{"kind": "transfer", "reference": "x2", "postings": ps(own, id)}}}
				}},
			{"get account", pb.wallet, "GET", under("/v1/accounts/", ""), nil},
			{"balance", pb.wallet, "GET", under("/v1/accounts/", "/balance"), nil},
			{"entries", pb.wallet, "GET", under("/v1/accounts/", "/entries"), nil},
			{"account holds", pb.wallet, "GET", under("/v1/accounts/", "/holds"), nil},
			{"freezes", pb.wallet, "GET", under("/v1/accounts/", "/freezes"), nil},
			{"freeze", pb.wallet, "POST", under("/v1/accounts/", "/freeze"), func(string) any { return map[string]any{"side": "debit"} }},
			{"thaw", pb.wallet, "POST", under("/v1/accounts/", "/thaw"), func(string) any { return map[string]any{"side": "debit"} }},
			{"close", pb.wallet, "POST", under("/v1/accounts/", "/close"), func(string) any { return map[string]any{} }},
			{"topup", pb.wallet, "POST", fixed("/v1/operations/topup"),
				func(id string) any {
					return map[string]any{"reference": "x", "account": id, "channel": "bank_transfer", "amount": 1}
				}},
			{"adjustment", pb.wallet, "POST", fixed("/v1/adjustments"),
				func(id string) any {
					return map[string]any{"reference": "x", "reason": "x", "postings": []any{map[string]any{"debit": own, "credit": id, "amount": 1}}}
				}},
			{"get transaction", tr.ID, "GET", under("/v1/transactions/", ""), nil},
			{"reverse", tr.ID, "POST", under("/v1/transactions/", "/reversals"), func(string) any { return map[string]any{"reference": "x"} }},
			{"batch reversal", tr.ID, "POST", fixed("/v1/transactions/batch"),
				func(id string) any {
					return map[string]any{"items": []any{map[string]any{"kind": "reversal", "reference": "x", "transaction_id": id}}}
				}},
			{"get hold", hold.ID, "GET", under("/v1/holds/", ""), nil},
			{"post hold", hold.ID, "POST", under("/v1/holds/", "/post"), func(string) any { return map[string]any{"reference": "x"} }},
			{"void hold", hold.ID, "POST", under("/v1/holds/", "/void"), func(string) any { return map[string]any{"reference": "x"} }},
			{"batch post", hold.ID, "POST", fixed("/v1/transactions/batch"),
				func(id string) any {
					return map[string]any{"items": []any{map[string]any{"kind": "post", "reference": "x", "hold_id": id}}}
				}},
			{"get customer", cust.ID, "GET", under("/v1/customers/", ""), nil},
			{"customer accounts", cust.ID, "GET", under("/v1/customers/", "/accounts"), nil},
			{"open customer account", cust.ID, "POST", under("/v1/customers/", "/accounts"), func(string) any { return map[string]any{"product_id": "a-wallet"} }},
			{"get order", order.ID, "GET", under("/v1/payments/orders/", ""), nil},
			{"order transitions", order.ID, "GET", under("/v1/payments/orders/", "/transitions"), nil},
			{"get channel", pb.channel, "GET", under("/v1/payments/channels/", ""), nil},
			{"order on a channel", pb.channel, "POST", fixed("/v1/payments/orders"),
				func(id string) any {
					return map[string]any{"reference": "x", "channel_id": id, "direction": "pay_in", "account": pa.wallet, "amount": 1}
				}},
			{"order to an account", pb.wallet, "POST", fixed("/v1/payments/orders"),
				func(id string) any {
					return map[string]any{"reference": "x", "channel_id": pa.channel, "direction": "pay_in", "account": id, "amount": 1}
				}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := a.with(t)
				unknown := unknownLike(tt.foreign)
				send := func(id string) (int, string) {
					var raw []byte
					if tt.body != nil {
						var err error
						if raw, err = json.Marshal(tt.body(id)); err != nil {
							t.Fatal(err)
						}
					}
					resp, got := a.raw(keyA, tt.method, tt.path(id), raw, rid("probe")...)
					return resp.StatusCode, strings.ReplaceAll(string(got), id, "<id>")
				}
				fs, fb := send(tt.foreign)
				us, ub := send(unknown)
				if fs != us || fb != ub {
					t.Errorf("another institution's ID:\n  %d %s\nan unknown ID:\n  %d %s", fs, fb, us, ub)
				}
				if refused := us >= 400 || strings.Contains(ub, `"status":"rejected"`); !refused || !strings.Contains(ub, "not found") {
					t.Errorf("an unknown ID was not refused as unknown: %d %s", us, ub)
				}
			})
		}
		a.noAudit("probe")

		// A head office sees its branches' accounts: the mismatch is no
		// secret from it and is told as such.
		a.fail(http.StatusUnprocessableEntity, "institution_mismatch", "body.postings[0].credit", a.admin, "POST", "/v1/transactions",
			map[string]any{"institution_id": "bank-a", "reference": "x", "postings": ps(own, pb.wallet)})
	})
}

func fixed(p string) func(string) string { return func(string) string { return p } }

func under(prefix, suffix string) func(string) string {
	return func(id string) string { return prefix + id + suffix }
}
