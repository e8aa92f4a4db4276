package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/suanpan/suanpan/internal/httpapi"
)

// TestEnvelopes: create, read, claim (success, double claim, empty,
// unknown) and expiry of a red envelope over HTTP.
func TestEnvelopes(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		a.newAsset("CNY", 2)
		a.must(http.StatusCreated, a.admin, "POST", "/v1/products", map[string]any{"id": "w", "name": "Wallet", "class": "wallet",
			"asset": "CNY", "chart_code": "2001", "normal_side": "credit", "channels": []string{"app"},
			"operations": []string{"red_envelope"}}, nil)
		escrow := a.newAccount(a.admin, map[string]any{"asset": "CNY", "code": "2241", "normal_side": "credit"}).ID
		bank := a.newAccount(a.admin, map[string]any{"asset": "CNY", "code": "1002", "normal_side": "debit", "overdraft": "unlimited"}).ID
		open := func() string {
			var c struct {
				ID string `json:"id"`
			}
			a.must(http.StatusCreated, a.admin, "POST", "/v1/customers", map[string]any{"type": "personal", "name": "C"}, &c)
			var o httpapi.CustomerAccountView
			a.must(http.StatusCreated, a.admin, "POST", "/v1/customers/"+c.ID+"/accounts", map[string]any{"product_id": "w"}, &o)
			return o.Account.ID
		}
		payer, r1, r2 := open(), open(), open()
		a.transfer(a.admin, "fund", bank, payer, "CNY", 10000)
		body := map[string]any{"reference": "env1", "account": payer, "channel": "app", "total": 1000, "count": 2, "split": "random",
			"expires_in_seconds": 3600}
		// No escrow account registered yet.
		a.must(http.StatusUnprocessableEntity, a.admin, "POST", "/v1/envelopes", body, nil)
		a.must(http.StatusCreated, a.admin, "POST", "/v1/internal-accounts", map[string]any{"role": "envelope", "account_id": escrow}, nil)
		var e httpapi.EnvelopeView
		a.must(http.StatusCreated, a.admin, "POST", "/v1/envelopes", body, &e)
		if e.Status != "open" || e.Total != 1000 || e.RemainingCount != 2 || e.EscrowAccount != escrow || e.Duplicate {
			t.Errorf("envelope %+v", e)
		}
		var again httpapi.EnvelopeView
		a.must(http.StatusCreated, a.admin, "POST", "/v1/envelopes", body, &again)
		if again.ID != e.ID || !again.Duplicate {
			t.Errorf("retry %+v", again)
		}
		var op httpapi.OperationView
		a.must(http.StatusCreated, a.admin, "POST", "/v1/envelopes/"+e.ID+"/claims", map[string]any{"recipient_account": r1}, &op)
		if op.Operation != "red_envelope_claim" || op.Amount < 1 || op.Amount > 999 {
			t.Errorf("claim %+v", op)
		}
		a.must(http.StatusConflict, a.admin, "POST", "/v1/envelopes/"+e.ID+"/claims", map[string]any{"recipient_account": r1}, nil)
		a.must(http.StatusNotFound, a.admin, "POST", "/v1/envelopes/nope/claims", map[string]any{"recipient_account": r1}, nil)
		a.must(http.StatusNotFound, a.admin, "GET", "/v1/envelopes/nope", nil, nil)
		a.must(http.StatusUnprocessableEntity, a.admin, "POST", "/v1/envelopes", map[string]any{"reference": "env2", "account": payer,
			"channel": "app", "total": 1, "count": 2, "split": "equal", "expires_in_seconds": 60}, nil)
		// A second envelope expires with one claim of three.
		var e2 httpapi.EnvelopeView
		a.must(http.StatusCreated, a.admin, "POST", "/v1/envelopes", map[string]any{"reference": "env3", "account": payer,
			"channel": "app", "total": 300, "count": 3, "split": "equal", "expires_in_seconds": 60}, &e2)
		a.must(http.StatusCreated, a.admin, "POST", "/v1/envelopes/"+e2.ID+"/claims", map[string]any{"recipient_account": r2}, nil)
		a.must(http.StatusCreated, a.admin, "POST", "/v1/envelopes/"+e.ID+"/claims", map[string]any{"recipient_account": r2}, nil)
		a.must(http.StatusConflict, a.admin, "POST", "/v1/envelopes/"+e.ID+"/claims", map[string]any{"recipient_account": payer}, nil)
		a.clock.Advance(time.Minute)
		a.must(http.StatusConflict, a.admin, "POST", "/v1/envelopes/"+e2.ID+"/claims", map[string]any{"recipient_account": r1}, nil)
		before := a.balances(payer)[payer]
		if n, err := a.srv.Operations.ExpireEnvelopes(context.Background()); err != nil || n != 1 {
			t.Fatalf("expire: %d %v", n, err)
		}
		if got := a.balances(payer)[payer]; got[0]-before[0] != 200 {
			t.Errorf("expiry returned %d, want 200", got[0]-before[0])
		}
		var got httpapi.EnvelopeView
		a.must(http.StatusOK, a.admin, "GET", "/v1/envelopes/"+e2.ID, nil, &got)
		if got.Status != "expired" || len(got.Claims) != 1 || got.Claims[0].Amount != 100 {
			t.Errorf("expired envelope %+v", got)
		}
		a.must(http.StatusOK, a.admin, "GET", "/v1/envelopes/"+e.ID, nil, &got)
		if got.Status != "done" || len(got.Claims) != 2 || got.Claims[0].Amount+got.Claims[1].Amount != 1000 {
			t.Errorf("done envelope %+v", got)
		}
	})
}
