package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/httpapi"
	"github.com/suanpan/suanpan/ledger"
)

// twinAnswer is what one of two identical concurrent requests was told.
type twinAnswer struct {
	status int
	body   []byte
}

// twins sends the same request twice at the same moment and returns both
// answers. It may run on any goroutine: it reports nothing itself.
func (a *api) twins(key, path string, body any, headers ...string) [2]twinAnswer {
	b, err := json.Marshal(body)
	if err != nil {
		a.t.Fatalf("encode: %v", err)
	}
	var out [2]twinAnswer
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range out {
		wg.Go(func() {
			req, err := http.NewRequest("POST", a.ts.URL+path, bytes.NewReader(b))
			if err != nil {
				out[i] = twinAnswer{body: []byte(err.Error())}
				return
			}
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Content-Type", "application/json")
			for j := 0; j+1 < len(headers); j += 2 {
				req.Header.Set(headers[j], headers[j+1])
			}
			<-start
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				out[i] = twinAnswer{body: []byte(err.Error())}
				return
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			out[i] = twinAnswer{status: resp.StatusCode, body: raw}
		})
	}
	close(start)
	wg.Wait()
	return out
}

// TestConcurrentTwins sends every money-moving request twice at the same
// moment, with the same reference (with and without the same
// Idempotency-Key), where only one of the two could succeed on its own:
// the payer holds exactly the amount. Both callers must be told the one
// result that owns the reference. A caller told insufficient_funds (or
// hold_already_posted, …) for money that moved would pay again another way.
func TestConcurrentTwins(t *testing.T) {
	const trials = 12
	eachAPI(t, func(t *testing.T, a *api) {
		a.newAsset("CNY", 2)
		a.newInstitution("tw", "root")
		admin := a.newKey("tw", auth.RoleAdmin)
		pb := a.payBooks(admin, "tw")
		bank := a.newAccount(admin, map[string]any{"asset": "CNY", "code": "1002", "normal_side": "debit", "overdraft": "unlimited"}).ID
		n := 0
		next := func(prefix string) string { n++; return fmt.Sprintf("%s-%d", prefix, n) }
		// funded is a ledger wallet holding exactly amount.
		funded := func(amount int64) string {
			w := a.newAccount(admin, map[string]any{"asset": "CNY", "code": "2001", "normal_side": "credit"}).ID
			a.transfer(admin, next("fund"), bank, w, "CNY", amount)
			return w
		}
		// customerWallet is a customer's wallet (open to bank_transfer)
		// holding exactly amount.
		customerWallet := func(amount int64) string {
			var c httpapi.CustomerView
			a.must(http.StatusCreated, admin, "POST", "/v1/customers", map[string]any{"type": "personal", "name": "Twin"}, &c)
			var o httpapi.CustomerAccountView
			a.must(http.StatusCreated, admin, "POST", "/v1/customers/"+c.ID+"/accounts", map[string]any{"product_id": "tw-wallet"}, &o)
			a.must(http.StatusCreated, admin, "POST", "/v1/operations/topup", map[string]any{"reference": next("top"), "account": o.Account.ID,
				"channel": "bank_transfer", "amount": amount}, nil)
			return o.Account.ID
		}
		txID := func(t *testing.T, raw []byte) string {
			var v httpapi.TransactionView
			if err := json.Unmarshal(raw, &v); err != nil || v.ID == "" {
				t.Fatalf("answer %s: no transaction", raw)
			}
			return v.ID
		}
		tests := []struct {
			name string
			// request prepares one trial: the path, body and headers
			// of the request to send twice.
			request func() (path string, body any, headers []string)
			// id is the identity of the result an answer names.
			id func(t *testing.T, raw []byte) string
		}{
			{"transfer", func() (string, any, []string) {
				return "/v1/transactions", transferBody(next("t"), funded(1000), bank, "CNY", 1000), nil
			}, txID},
			{"transfer with Idempotency-Key", func() (string, any, []string) {
				return "/v1/transactions", transferBody(next("tk"), funded(1000), bank, "CNY", 1000), []string{"Idempotency-Key", next("key")}
			}, txID},
			{"hold", func() (string, any, []string) {
				return "/v1/holds", map[string]any{"reference": next("h"), "postings": []any{posting(funded(1000), bank, "CNY", 1000)}}, nil
			}, txID},
			{"post", func() (string, any, []string) {
				h := a.hold(admin, "", next("hold"), 0, posting(funded(1000), bank, "CNY", 1000))
				return "/v1/holds/" + h.ID + "/post", map[string]any{"reference": next("p")}, nil
			}, txID},
			{"void", func() (string, any, []string) {
				h := a.hold(admin, "", next("hold"), 0, posting(funded(1000), bank, "CNY", 1000))
				return "/v1/holds/" + h.ID + "/void", map[string]any{"reference": next("v")}, nil
			}, txID},
			{"reversal", func() (string, any, []string) {
				tr := a.transfer(admin, next("pay"), funded(1000), bank, "CNY", 1000)
				return "/v1/transactions/" + tr.ID + "/reversals", map[string]any{"reference": next("r")}, nil
			}, txID},
			{"atomic batch", func() (string, any, []string) {
				w := funded(1000)
				return "/v1/transactions/batch", map[string]any{"atomic": true, "items": []any{
					map[string]any{"kind": "transfer", "reference": next("b1"), "postings": []any{posting(w, bank, "CNY", 600)}},
					map[string]any{"kind": "transfer", "reference": next("b2"), "postings": []any{posting(w, bank, "CNY", 400)}},
				}}, nil
			}, func(t *testing.T, raw []byte) string {
				var v struct {
					Results []httpapi.BatchResult `json:"results"`
				}
				if err := json.Unmarshal(raw, &v); err != nil || len(v.Results) != 2 {
					t.Fatalf("answer %s: not two results", raw)
				}
				ids := ""
				for _, r := range v.Results {
					if r.Status != "ok" {
						t.Fatalf("answer %s: an item was refused", raw)
					}
					ids += r.Transaction.ID + " "
				}
				return ids
			}},
			{"withdrawal", func() (string, any, []string) {
				return "/v1/operations/withdraw", map[string]any{"reference": next("w"), "account": customerWallet(1000),
					"channel": "bank_transfer", "amount": 1000}, nil
			}, func(t *testing.T, raw []byte) string {
				var v httpapi.OperationView
				if err := json.Unmarshal(raw, &v); err != nil || v.Transaction == nil {
					t.Fatalf("answer %s: no operation", raw)
				}
				return v.Transaction.ID
			}},
			{"pay-out order", func() (string, any, []string) {
				return "/v1/payments/orders", map[string]any{"reference": next("po"), "channel_id": pb.channel, "direction": "pay_out",
					"account": customerWallet(1000), "amount": 1000, "party": "6222"}, nil
			}, func(t *testing.T, raw []byte) string {
				var v httpapi.OrderView
				if err := json.Unmarshal(raw, &v); err != nil || v.ID == "" {
					t.Fatalf("answer %s: no order", raw)
				}
				return v.ID
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				for range trials {
					path, body, headers := tc.request()
					got := a.twins(admin, path, body, headers...)
					for i, g := range got {
						if g.status != http.StatusOK && g.status != http.StatusCreated {
							t.Fatalf("caller %d was told %d %s; the other %d %s", i, g.status, g.body, got[1-i].status, got[1-i].body)
						}
					}
					if x, y := tc.id(t, got[0].body), tc.id(t, got[1].body); x != y {
						t.Fatalf("the twins were told two results: %s and %s", x, y)
					}
				}
			})
		}
		var rep ledger.VerifyReport
		a.must(http.StatusOK, a.admin, "POST", "/v1/ledger/verify", nil, &rep)
		if !rep.OK {
			t.Errorf("the ledger does not verify: %+v", rep)
		}
	})
}
