package httpapi_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/httpapi"
)

func TestAdjustments(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		maker := a.newKey("root", auth.RoleOperator)
		checker := a.newKey("root", auth.RoleAdmin)
		wrong := a.transfer(a.admin, "wrong", b.bank, b.alice, "CNY", 5000)
		before := [3]int64{a.account(b.bank).Balance, a.account(b.alice).Balance, a.account(b.bob).Balance}
		now := func() [3]int64 {
			return [3]int64{a.account(b.bank).Balance, a.account(b.alice).Balance, a.account(b.bob).Balance}
		}
		body := map[string]any{"reference": "adj-1", "reverse_transaction_id": wrong.ID, "reason": "paid the wrong wallet",
			"postings": []any{map[string]any{"debit": b.bank, "credit": b.bob, "amount": 5000}}}
		var adj httpapi.AdjustmentView
		a.must(http.StatusCreated, maker, "POST", "/v1/adjustments", body, &adj, rid("adj-propose")...)
		if adj.Status != "pending" || adj.MakerKey != keyID(maker) || adj.Postings[0].Asset != "CNY" || adj.Postings[0].AmountDisplay != "50.00" {
			t.Fatalf("proposed %+v", adj)
		}
		a.auditOnce("adj-propose", "adjustments.propose", "approval:"+adj.ID, maker)
		a.must(http.StatusOK, maker, "POST", "/v1/adjustments", body, nil)
		body["reason"] = "other"
		a.fail(http.StatusConflict, "conflict", "body.reference", maker, "POST", "/v1/adjustments", body)
		if now() != before {
			t.Fatal("proposing moved money")
		}
		// Errors.
		a.fail(http.StatusNotFound, "transaction_not_found", "body.reverse_transaction_id", maker, "POST", "/v1/adjustments",
			map[string]any{"reference": "adj-x", "reverse_transaction_id": "nope", "reason": "x"})
		a.fail(http.StatusNotFound, "account_not_found", "body.postings[0].debit", maker, "POST", "/v1/adjustments",
			map[string]any{"reference": "adj-x", "reason": "x", "postings": []any{map[string]any{"debit": "nope", "credit": b.bob, "amount": 1}}})
		a.fail(http.StatusUnprocessableEntity, "invalid_request", "body.postings", maker, "POST", "/v1/adjustments",
			map[string]any{"reference": "adj-x", "reason": "x"})
		a.fail(http.StatusNotFound, "approval_not_found", "", checker, "GET", "/v1/adjustments/nope", nil)
		a.fail(http.StatusForbidden, "forbidden", "", maker, "POST", "/v1/adjustments/"+adj.ID+"/approve", map[string]any{})
		a.fail(http.StatusForbidden, "approver_is_maker", "", a.admin, "POST", "/v1/adjustments/"+mustPropose(a, a.admin, b).ID+"/approve", map[string]any{})
		a.fail(http.StatusForbidden, "not_maker", "", checker, "POST", "/v1/adjustments/"+adj.ID+"/cancel", map[string]any{})
		var pending struct {
			Items []httpapi.AdjustmentView `json:"items"`
		}
		a.must(http.StatusOK, checker, "GET", "/v1/adjustments?status=pending", nil, &pending)
		if len(pending.Items) != 2 {
			t.Fatalf("pending %+v", pending.Items)
		}
		if now() != before {
			t.Fatal("refusals moved money")
		}

		// Approval posts the reversal and the correction together.
		var done httpapi.AdjustmentView
		a.must(http.StatusOK, checker, "POST", "/v1/adjustments/"+adj.ID+"/approve", map[string]any{"reason": "ok"}, &done, rid("adj-approve")...)
		if done.Status != "approved" || done.CheckerKey != keyID(checker) || len(done.TransactionIDs) != 2 || done.DecidedAt == nil {
			t.Fatalf("approved %+v", done)
		}
		var recs []string
		for _, r := range a.auditRecords() {
			if r.RequestID == "adj-approve" {
				recs = append(recs, r.Operation+" "+r.Target)
			}
		}
		if len(recs) != 3 || !slices.Contains(recs, "adjustments.approve approval:"+adj.ID) ||
			!slices.Contains(recs, "ledger.reversal transaction:"+done.TransactionIDs[0]) ||
			!slices.Contains(recs, "ledger.transfer transaction:"+done.TransactionIDs[1]) {
			t.Errorf("approval audit %v", recs)
		}
		if want := [3]int64{before[0], before[1] - 5000, before[2] + 5000}; now() != want {
			t.Fatalf("balances %v, want %v", now(), want)
		}
		var again httpapi.AdjustmentView
		a.must(http.StatusOK, checker, "POST", "/v1/adjustments/"+adj.ID+"/approve", map[string]any{}, &again)
		if again.Status != "approved" || len(again.TransactionIDs) != 2 || now() != [3]int64{before[0], before[1] - 5000, before[2] + 5000} {
			t.Fatalf("approved again %+v", again)
		}
		a.fail(http.StatusConflict, "invalid_status_change", "", checker, "POST", "/v1/adjustments/"+adj.ID+"/reject", map[string]any{})
		a.fail(http.StatusConflict, "invalid_status_change", "", maker, "POST", "/v1/adjustments/"+adj.ID+"/cancel", map[string]any{})
		var tr httpapi.TransactionView
		a.must(http.StatusOK, checker, "GET", "/v1/transactions/"+done.TransactionIDs[0], nil, &tr)
		if tr.ReversesID != wrong.ID {
			t.Errorf("reversal %+v", tr)
		}

		// Reject and cancel post nothing.
		after := now()
		r := mustPropose(a, maker, b)
		var rej httpapi.AdjustmentView
		a.must(http.StatusOK, checker, "POST", "/v1/adjustments/"+r.ID+"/reject", map[string]any{"reason": "no"}, &rej, rid("adj-reject")...)
		if rej.Status != "rejected" || rej.DecidedReason != "no" {
			t.Fatalf("rejected %+v", rej)
		}
		a.auditOnce("adj-reject", "adjustments.reject", "approval:"+r.ID, checker)
		a.fail(http.StatusConflict, "invalid_status_change", "", checker, "POST", "/v1/adjustments/"+r.ID+"/approve", map[string]any{})
		c := mustPropose(a, maker, b)
		var can httpapi.AdjustmentView
		a.must(http.StatusOK, maker, "POST", "/v1/adjustments/"+c.ID+"/cancel", map[string]any{}, &can)
		if can.Status != "cancelled" || now() != after {
			t.Fatalf("cancelled %+v", can)
		}
		a.must(http.StatusOK, checker, "GET", "/v1/adjustments?status=approved", nil, &pending)
		if len(pending.Items) != 1 || pending.Items[0].ID != adj.ID {
			t.Fatalf("approved list %+v", pending.Items)
		}
	})
}

var proposals int

// mustPropose proposes a small correction with key.
func mustPropose(a *api, key string, b books) *httpapi.AdjustmentView {
	a.t.Helper()
	proposals++
	var v httpapi.AdjustmentView
	a.must(http.StatusCreated, key, "POST", "/v1/adjustments", map[string]any{"reference": "p" + itoa(int64(proposals)), "reason": "x",
		"postings": []any{map[string]any{"debit": b.bank, "credit": b.bob, "amount": 1}}}, &v)
	return &v
}
