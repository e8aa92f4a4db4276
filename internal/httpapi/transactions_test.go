package httpapi_test

import (
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/httpapi"
	"github.com/suanpan/suanpan/ledger"
)

func TestCreateTransfer(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		poster := a.newKey("root", auth.RolePoster)
		now := a.clock.Now()

		var got httpapi.TransactionView
		a.must(http.StatusCreated, poster, "POST", "/v1/transactions", map[string]any{"reference": "t1", "type": "topup",
			"metadata": map[string]string{"order": "o-1"}, "postings": []any{posting(b.bank, b.alice, "CNY", 1234)}}, &got, rid("post-t1")...)
		want := httpapi.TransactionView{ID: got.ID, InstitutionID: "root", Reference: "t1", Kind: "transfer", Type: "topup",
			BusinessDate: "2026-11-02", Metadata: map[string]string{"order": "o-1"},
			Postings: []httpapi.PostingView{{Debit: b.bank, Credit: b.alice, Asset: "CNY", Amount: 1234, AmountDisplay: "12.34"}},
			Entries: []httpapi.EntryView{
				{AccountID: b.bank, Seq: 1, TransactionID: got.ID, Posting: 0, Side: "debit", Kind: "posted", Asset: "CNY", Amount: 1234,
					AmountDisplay: "12.34", After: ledger.Balances{DebitsPosted: 1234}, CreatedAt: now},
				{AccountID: b.alice, Seq: 1, TransactionID: got.ID, Posting: 0, Side: "credit", Kind: "posted", Asset: "CNY", Amount: 1234,
					AmountDisplay: "12.34", After: ledger.Balances{CreditsPosted: 1234}, CreatedAt: now},
			},
			CreatedAt: now}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("transfer (-want +got):\n%s", diff)
		}
		rec := a.auditOnce("post-t1", "ledger.transfer", "transaction:"+got.ID, poster)
		if after, _ := rec.After.(map[string]any); after["reference"] != "t1" || rec.InstitutionID != "root" || !rec.At.Equal(now) {
			t.Errorf("audit record %+v", rec)
		}
		if v := a.account(b.alice); v.Balance != 1234 || v.BalanceDisplay != "12.34" {
			t.Errorf("alice %d %q", v.Balance, v.BalanceDisplay)
		}

		t.Run("get", func(t *testing.T) {
			var again httpapi.TransactionView
			a.with(t).must(http.StatusOK, a.admin, "GET", "/v1/transactions/"+got.ID, nil, &again)
			if diff := cmp.Diff(want, again); diff != "" {
				t.Errorf("get (-want +got):\n%s", diff)
			}
			a.with(t).fail(404, "transaction_not_found", "", a.admin, "GET", "/v1/transactions/nope", nil)
		})
		t.Run("by reference", func(t *testing.T) {
			var again httpapi.TransactionView
			a.with(t).must(http.StatusOK, a.admin, "GET", "/v1/transactions/by-reference/t1", nil, &again)
			if diff := cmp.Diff(want, again); diff != "" {
				t.Errorf("by reference (-want +got):\n%s", diff)
			}
			a.with(t).fail(404, "transaction_not_found", "", a.admin, "GET", "/v1/transactions/by-reference/t9", nil)
		})
		t.Run("several postings at once", func(t *testing.T) {
			var tr httpapi.TransactionView
			a.with(t).must(http.StatusCreated, poster, "POST", "/v1/transactions", map[string]any{"reference": "split",
				"postings": []any{posting(b.alice, b.bob, "CNY", 200), posting(b.yenBank, b.yenWallet, "JPY", 7)}}, &tr)
			if tr.Type != "transfer" || len(tr.Postings) != 2 || len(tr.Entries) != 4 || tr.Postings[1].AmountDisplay != "7" || tr.Postings[0].AmountDisplay != "2.00" {
				t.Errorf("got %+v", tr)
			}
			if v := a.with(t).account(b.alice); v.Balance != 1034 {
				t.Errorf("alice %d", v.Balance)
			}
		})
		t.Run("resubmitting the same reference and content returns the original", func(t *testing.T) {
			var again httpapi.TransactionView
			a.with(t).must(http.StatusCreated, poster, "POST", "/v1/transactions", map[string]any{"reference": "t1", "type": "topup",
				"metadata": map[string]string{"order": "o-1"}, "postings": []any{posting(b.bank, b.alice, "CNY", 1234)}}, &again, rid("post-t1-again")...)
			if again.ID != got.ID {
				t.Errorf("id %s, want %s", again.ID, got.ID)
			}
			a.with(t).noAudit("post-t1-again")
			if v := a.with(t).account(b.bank); v.Balance != 1234 {
				t.Errorf("bank moved twice: %d", v.Balance)
			}
		})
	})
}

func TestCreateTransferErrors(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		a.newInstitution("branch-a", "root")
		branchKey := a.newKey("branch-a", auth.RolePoster)
		branchAcct := a.newAccount(a.admin, map[string]any{"institution_id": "branch-a", "asset": "CNY", "code": "2001", "normal_side": "credit"}).ID
		a.transfer(a.admin, "t1", b.bank, b.alice, "CNY", 1000)

		many := make([]any, 129)
		for i := range many {
			many[i] = posting(b.bank, b.alice, "CNY", 1)
		}
		meta := map[string]string{}
		for i := range 33 {
			meta["k"+itoa(int64(i))] = "v"
		}
		tr := func(ref string, ps ...any) map[string]any { return map[string]any{"reference": ref, "postings": ps} }
		tests := []struct {
			name        string
			key         string
			body        any
			status      int
			code, field string
		}{
			{"insufficient funds", a.admin, tr("r", posting(b.bob, b.alice, "CNY", 1)), 422, "insufficient_funds", ""},
			{"more than the balance", a.admin, tr("r", posting(b.alice, b.bob, "CNY", 1001)), 422, "insufficient_funds", ""},
			{"asset mismatch", a.admin, tr("r", posting(b.bank, b.alice, "JPY", 1)), 422, "asset_mismatch", "body.postings[0].asset"},
			{"unknown asset", a.admin, tr("r", posting(b.bank, b.alice, "USD", 1)), 422, "asset_mismatch", "body.postings[0].asset"},
			{"same account", a.admin, tr("r", posting(b.alice, b.alice, "CNY", 1)), 422, "same_account", "body.postings[0]"},
			{"unknown debit account", a.admin, tr("r", posting("nope", b.alice, "CNY", 1)), 404, "account_not_found", "body.postings[0].debit"},
			{"unknown credit account in the second posting", a.admin, tr("r", posting(b.bank, b.alice, "CNY", 1), posting(b.bank, "nope", "CNY", 1)), 404, "account_not_found", "body.postings[1].credit"},
			{"another institution's account", a.admin, tr("r", posting(b.bank, branchAcct, "CNY", 1)), 422, "institution_mismatch", "body.postings[0].credit"},
			{"malformed account ID", a.admin, tr("r", posting("a b", b.alice, "CNY", 1)), 422, "invalid_request", "body.postings[0].debit"},
			{"zero amount", a.admin, tr("r", posting(b.bank, b.alice, "CNY", 0)), 422, "invalid_request", "body.postings[0].amount"},
			{"negative amount", a.admin, tr("r", posting(b.bank, b.alice, "CNY", -5)), 422, "invalid_request", "body.postings[0].amount"},
			{"fractional amount", a.admin, tr("r", map[string]any{"debit": b.bank, "credit": b.alice, "asset": "CNY", "amount": 1.5}), 422, "invalid_request", "body.postings[0].amount"},
			{"amount as a string", a.admin, tr("r", map[string]any{"debit": b.bank, "credit": b.alice, "asset": "CNY", "amount": "12.34"}), 422, "invalid_request", "body.postings[0].amount"},
			{"missing debit", a.admin, tr("r", map[string]any{"credit": b.alice, "asset": "CNY", "amount": 1}), 422, "invalid_request", "body.postings[0]"},
			{"missing reference", a.admin, map[string]any{"postings": []any{posting(b.bank, b.alice, "CNY", 1)}}, 422, "invalid_request", "body"},
			{"empty reference", a.admin, tr("", posting(b.bank, b.alice, "CNY", 1)), 422, "invalid_request", "body.reference"},
			{"reference too long", a.admin, tr(strings.Repeat("r", 129), posting(b.bank, b.alice, "CNY", 1)), 422, "invalid_request", "body.reference"},
			{"no postings", a.admin, tr("r"), 422, "invalid_request", "body.postings"},
			{"too many postings", a.admin, tr("r", many...), 422, "invalid_request", "body.postings"},
			{"bad type", a.admin, map[string]any{"reference": "r", "type": "top up", "postings": []any{posting(b.bank, b.alice, "CNY", 1)}}, 422, "invalid_request", "body.type"},
			{"too many metadata keys", a.admin, map[string]any{"reference": "r", "metadata": meta, "postings": []any{posting(b.bank, b.alice, "CNY", 1)}}, 422, "invalid_request", "body.metadata"},
			{"metadata value too long", a.admin, map[string]any{"reference": "r", "metadata": map[string]string{"note": strings.Repeat("v", 513)}, "postings": []any{posting(b.bank, b.alice, "CNY", 1)}}, 422, "invalid_request", "body.metadata.note"},
			{"unknown property", a.admin, map[string]any{"reference": "r", "amount": 5, "postings": []any{posting(b.bank, b.alice, "CNY", 1)}}, 422, "invalid_request", "body.amount"},
			{"reference used for other content", a.admin, tr("t1", posting(b.bank, b.alice, "CNY", 999)), 409, "reference_conflict", "body.reference"},
			{"institution outside the key's", branchKey, map[string]any{"institution_id": "root", "reference": "r", "postings": []any{posting(b.bank, b.alice, "CNY", 1)}}, 403, auth.CodeForbidden, "body.institution_id"},
			{"role without ledger:post", a.newKey("root", auth.RoleViewer), tr("r", posting(b.bank, b.alice, "CNY", 1)), 403, auth.CodeForbidden, ""},
			{"no key", "", tr("r", posting(b.bank, b.alice, "CNY", 1)), 401, auth.CodeUnauthenticated, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a.with(t).fail(tt.status, tt.code, tt.field, tt.key, "POST", "/v1/transactions", tt.body, rid("refused")...)
			})
		}
		a.noAudit("refused")
		if v := a.account(b.alice); v.Balance != 1000 {
			t.Errorf("refused requests moved money: alice %d", v.Balance)
		}
		// A refused reference stays free.
		a.transfer(a.admin, "r", b.bank, b.alice, "CNY", 1)

		t.Run("overflow", func(t *testing.T) {
			// Beyond the default ceiling: what is tested is the int64 range.
			a.with(t).must(http.StatusOK, a.admin, "PATCH", "/v1/assets/CNY", map[string]any{"max_amount": int64(math.MaxInt64)}, nil)
			src := a.with(t).newAccount(a.admin, map[string]any{"asset": "CNY", "code": "1002", "normal_side": "debit", "overdraft": "unlimited"}).ID
			dst := a.with(t).newAccount(a.admin, map[string]any{"asset": "CNY", "code": "2001", "normal_side": "credit"}).ID
			big := a.with(t).transfer(a.admin, "max", src, dst, "CNY", math.MaxInt64)
			if big.Postings[0].AmountDisplay != "92233720368547758.07" {
				t.Errorf("display %q", big.Postings[0].AmountDisplay)
			}
			a.with(t).fail(422, "overflow", "", a.admin, "POST", "/v1/transactions", transferBody("max+1", src, dst, "CNY", 1))
		})
	})
}

func TestIdempotencyKey(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		a.newInstitution("branch-a", "root")
		body := transferBody("t1", b.bank, b.alice, "CNY", 500)

		var first httpapi.TransactionView
		resp := a.must(http.StatusCreated, a.admin, "POST", "/v1/transactions", body, &first, "Idempotency-Key", "k1", "X-Request-ID", "idem-1")
		if resp.Header.Get("Idempotent-Replayed") == "true" {
			t.Errorf("first request marked as replayed")
		}
		a.auditOnce("idem-1", "ledger.transfer", "transaction:"+first.ID, a.admin)

		t.Run("replay", func(t *testing.T) {
			a.clock.Advance(time.Minute)
			var again httpapi.TransactionView
			resp := a.with(t).must(http.StatusCreated, a.admin, "POST", "/v1/transactions", body, &again, "Idempotency-Key", "k1", "X-Request-ID", "idem-2")
			if resp.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("Idempotent-Replayed %q, want true", resp.Header.Get("Idempotent-Replayed"))
			}
			if diff := cmp.Diff(first, again); diff != "" {
				t.Errorf("replay (-first +replay):\n%s", diff)
			}
			a.with(t).noAudit("idem-2")
			if v := a.with(t).account(b.alice); v.Balance != 500 {
				t.Errorf("money moved twice: alice %d", v.Balance)
			}
		})
		t.Run("same key, other body", func(t *testing.T) {
			a.with(t).fail(409, "idempotency_key_reused", "header.Idempotency-Key", a.admin, "POST", "/v1/transactions",
				transferBody("t1", b.bank, b.alice, "CNY", 501), "Idempotency-Key", "k1", "X-Request-ID", "idem-3")
			a.with(t).fail(409, "idempotency_key_reused", "header.Idempotency-Key", a.admin, "POST", "/v1/transactions",
				transferBody("t2", b.bank, b.alice, "CNY", 500), "Idempotency-Key", "k1", "X-Request-ID", "idem-3")
			a.with(t).noAudit("idem-3")
		})
		t.Run("same key, other operation", func(t *testing.T) {
			a.with(t).fail(409, "idempotency_key_reused", "header.Idempotency-Key", a.admin, "POST", "/v1/transactions/"+first.ID+"/reversals",
				map[string]any{"reference": "t1"}, "Idempotency-Key", "k1")
		})
		t.Run("keys are per institution", func(t *testing.T) {
			acct := a.with(t).newAccount(a.admin, map[string]any{"institution_id": "branch-a", "asset": "CNY", "code": "1002", "normal_side": "debit", "overdraft": "unlimited"}).ID
			acct2 := a.with(t).newAccount(a.admin, map[string]any{"institution_id": "branch-a", "asset": "CNY", "code": "2001", "normal_side": "credit"}).ID
			var other httpapi.TransactionView
			resp := a.with(t).must(http.StatusCreated, a.newKey("branch-a", auth.RolePoster), "POST", "/v1/transactions",
				transferBody("t1", acct, acct2, "CNY", 500), &other, "Idempotency-Key", "k1")
			if resp.Header.Get("Idempotent-Replayed") == "true" || other.ID == first.ID || other.InstitutionID != "branch-a" {
				t.Errorf("another institution's key k1 replayed: %+v", other)
			}
		})
		t.Run("a refused request does not use up its key", func(t *testing.T) {
			overdraw := transferBody("t3", b.bob, b.alice, "CNY", 100)
			a.with(t).fail(422, "insufficient_funds", "", a.admin, "POST", "/v1/transactions", overdraw, "Idempotency-Key", "k3")
			a.with(t).transfer(a.admin, "fund-bob", b.bank, b.bob, "CNY", 100)
			resp := a.with(t).must(http.StatusCreated, a.admin, "POST", "/v1/transactions", overdraw, nil, "Idempotency-Key", "k3")
			if resp.Header.Get("Idempotent-Replayed") == "true" {
				t.Errorf("a retry after a refusal was replayed")
			}
		})
	})
}

func TestBatch(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		a.transfer(a.admin, "fund", b.bank, b.alice, "CNY", 1000)
		type result struct {
			Status, Code, Field, Reference string
			Duplicate                      bool
		}
		batch := func(t *testing.T, body map[string]any, headers ...string) ([]result, []httpapi.BatchResult, *http.Response) {
			t.Helper()
			var out struct {
				Results []httpapi.BatchResult `json:"results"`
			}
			resp := a.with(t).must(http.StatusOK, a.admin, "POST", "/v1/transactions/batch", body, &out, headers...)
			var rs []result
			for _, r := range out.Results {
				x := result{Status: r.Status, Duplicate: r.Duplicate}
				if r.Error != nil {
					x.Code, x.Field = r.Error.Code, r.Error.Field
					if r.Error.Message == "" {
						t.Errorf("rejection without a message: %+v", r.Error)
					}
				}
				if r.Transaction != nil {
					x.Reference = r.Transaction.Reference
				}
				if (r.Status == "ok") != (r.Transaction != nil && r.Error == nil) {
					t.Errorf("result %+v", r)
				}
				rs = append(rs, x)
			}
			return rs, out.Results, resp
		}
		item := func(ref string, debit, credit string, amount int64) map[string]any {
			return map[string]any{"kind": "transfer", "reference": ref, "postings": []any{posting(debit, credit, "CNY", amount)}}
		}

		t.Run("each item on its own, in order", func(t *testing.T) {
			got, res, _ := batch(t, map[string]any{"items": []any{
				item("b1", b.alice, b.bob, 100),
				item("b2", b.bob, b.alice, 1000), // bob has 100
				item("b3", b.alice, b.bob, 200),
				item("b1", b.alice, b.bob, 100), // a retry of b1
				item("b1", b.alice, b.bob, 101), // a conflicting reuse
				map[string]any{"kind": "transfer", "reference": "b4", "type": "a b", "postings": []any{posting(b.alice, b.bob, "CNY", 1)}},
			}}, rid("batch-1")...)
			want := []result{
				{Status: "ok", Reference: "b1"},
				{Status: "rejected", Code: "insufficient_funds"},
				{Status: "ok", Reference: "b3"},
				{Status: "ok", Reference: "b1", Duplicate: true},
				{Status: "rejected", Code: "reference_conflict", Field: "body.items[4].reference"},
				{Status: "rejected", Code: "invalid_request", Field: "body.items[5].type"},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("results (-want +got):\n%s", diff)
			}
			if res[3].Transaction.ID != res[0].Transaction.ID || res[0].Transaction.Postings[0].AmountDisplay != "1.00" {
				t.Errorf("duplicate %s of %s", res[3].Transaction.ID, res[0].Transaction.ID)
			}
			if v := a.with(t).account(b.bob); v.Balance != 300 {
				t.Errorf("bob %d, want 300", v.Balance)
			}
			// One audit record per transaction the batch created.
			var recs []string
			for _, r := range a.with(t).auditRecords() {
				if r.RequestID == "batch-1" {
					recs = append(recs, r.Operation+" "+r.Target)
				}
			}
			wantRecs := []string{"ledger.transfer transaction:" + res[0].Transaction.ID, "ledger.transfer transaction:" + res[2].Transaction.ID}
			if diff := cmp.Diff(wantRecs, recs); diff != "" {
				t.Errorf("audit records (-want +got):\n%s", diff)
			}
		})
		t.Run("atomic: all or none", func(t *testing.T) {
			got, _, _ := batch(t, map[string]any{"atomic": true, "items": []any{
				item("a1", b.alice, b.bob, 100),
				item("a2", b.bob, b.alice, 100000),
				item("a3", b.alice, b.bob, 100),
			}}, rid("batch-atomic")...)
			want := []result{
				{Status: "rejected", Code: "batch_aborted"},
				{Status: "rejected", Code: "insufficient_funds"},
				{Status: "rejected", Code: "batch_aborted"},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			a.with(t).noAudit("batch-atomic")
			if v := a.with(t).account(b.bob); v.Balance != 300 {
				t.Errorf("an aborted batch moved money: bob %d", v.Balance)
			}
			got, _, _ = batch(t, map[string]any{"atomic": true, "items": []any{item("a1", b.alice, b.bob, 100), item("a3", b.alice, b.bob, 100)}})
			if diff := cmp.Diff([]result{{Status: "ok", Reference: "a1"}, {Status: "ok", Reference: "a3"}}, got); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			got, _, _ = batch(t, map[string]any{"atomic": true, "items": []any{item("a4", b.alice, b.bob, 1),
				map[string]any{"kind": "transfer", "reference": "a5", "postings": []any{posting(b.alice, b.alice, "CNY", 1)}}}})
			if diff := cmp.Diff([]result{{Status: "rejected", Code: "batch_aborted"}, {Status: "rejected", Code: "same_account", Field: "body.items[1].postings[0]"}}, got); diff != "" {
				t.Errorf("invalid item in an atomic batch (-want +got):\n%s", diff)
			}
		})
		t.Run("holds, posts, voids and reversals", func(t *testing.T) {
			got, res, _ := batch(t, map[string]any{"items": []any{
				map[string]any{"kind": "hold", "reference": "h1", "timeout_seconds": 60, "postings": []any{posting(b.alice, b.bob, "CNY", 50)}},
				map[string]any{"kind": "hold", "reference": "h2", "postings": []any{posting(b.alice, b.bob, "CNY", 20)}},
				item("x1", b.alice, b.bob, 30),
			}})
			if diff := cmp.Diff([]result{{Status: "ok", Reference: "h1"}, {Status: "ok", Reference: "h2"}, {Status: "ok", Reference: "x1"}}, got); diff != "" {
				t.Fatalf("results (-want +got):\n%s", diff)
			}
			if h := res[0].Transaction; h.Kind != "hold" || h.ExpiresAt == nil || !h.ExpiresAt.Equal(h.CreatedAt.Add(time.Minute)) {
				t.Errorf("hold %+v", h)
			}
			h1, h2, x1 := res[0].Transaction.ID, res[1].Transaction.ID, res[2].Transaction.ID
			got, res, _ = batch(t, map[string]any{"items": []any{
				map[string]any{"kind": "post", "reference": "p1", "hold_id": h1, "amounts": []int64{40}},
				map[string]any{"kind": "void", "reference": "v2", "hold_id": h2},
				map[string]any{"kind": "reversal", "reference": "r1", "transaction_id": x1, "amounts": []int64{10}},
				map[string]any{"kind": "void", "reference": "v1", "hold_id": h1},
				map[string]any{"kind": "post", "reference": "p9", "hold_id": "nope"},
			}})
			want := []result{{Status: "ok", Reference: "p1"}, {Status: "ok", Reference: "v2"}, {Status: "ok", Reference: "r1"},
				{Status: "rejected", Code: "hold_already_posted", Field: "body.items[3].hold_id"}, {Status: "rejected", Code: "hold_not_found", Field: "body.items[4].hold_id"}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("results (-want +got):\n%s", diff)
			}
			if p := res[0].Transaction; p.Kind != "post" || p.HoldID != h1 || p.Postings[0].Amount != 40 {
				t.Errorf("post %+v", p)
			}
			if r := res[2].Transaction; r.Kind != "reversal" || r.ReversesID != x1 || r.Postings[0].Debit != b.bob {
				t.Errorf("reversal %+v", r)
			}
		})
		t.Run("Idempotency-Key", func(t *testing.T) {
			body := map[string]any{"items": []any{item("i1", b.alice, b.bob, 1), item("i2", b.alice, b.bob, 2)}}
			before := a.with(t).account(b.bob).Balance
			_, first, resp := batch(t, body, "Idempotency-Key", "bk1")
			if resp.Header.Get("Idempotent-Replayed") == "true" {
				t.Errorf("first batch marked replayed")
			}
			got, again, resp := batch(t, body, "Idempotency-Key", "bk1", "X-Request-ID", "batch-replay")
			if resp.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("Idempotent-Replayed %q", resp.Header.Get("Idempotent-Replayed"))
			}
			if diff := cmp.Diff([]result{{Status: "ok", Reference: "i1", Duplicate: true}, {Status: "ok", Reference: "i2", Duplicate: true}}, got); diff != "" {
				t.Errorf("replay (-want +got):\n%s", diff)
			}
			for i := range first {
				if first[i].Transaction.ID != again[i].Transaction.ID {
					t.Errorf("item %d: %s, then %s", i, first[i].Transaction.ID, again[i].Transaction.ID)
				}
			}
			a.with(t).noAudit("batch-replay")
			if after := a.with(t).account(b.bob).Balance; after != before+3 {
				t.Errorf("bob %d, want %d", after, before+3)
			}
			a.with(t).fail(409, "idempotency_key_reused", "header.Idempotency-Key", a.admin, "POST", "/v1/transactions/batch",
				map[string]any{"items": []any{item("i1", b.alice, b.bob, 1)}}, "Idempotency-Key", "bk1")
			a.with(t).fail(409, "idempotency_key_reused", "header.Idempotency-Key", a.admin, "POST", "/v1/transactions",
				transferBody("i1", b.alice, b.bob, "CNY", 1), "Idempotency-Key", "bk1")
		})

		items := make([]any, 1001)
		for i := range items {
			items[i] = item("many"+itoa(int64(i)), b.bank, b.alice, 1)
		}
		tests := []struct {
			name        string
			key         string
			body        any
			status      int
			code, field string
		}{
			{"no items", a.admin, map[string]any{"items": []any{}}, 422, "invalid_request", "body.items"},
			{"too many items", a.admin, map[string]any{"items": items}, 422, "invalid_request", "body.items"},
			{"unknown kind", a.admin, map[string]any{"items": []any{map[string]any{"kind": "gift", "reference": "g"}}}, 422, "invalid_request", "body.items[0].kind"},
			{"zero amount", a.admin, map[string]any{"items": []any{item("z", b.bank, b.alice, 0)}}, 422, "invalid_request", "body.items[0].postings[0].amount"},
			{"institution outside the key's", a.newKey("root", auth.RolePoster), map[string]any{"institution_id": "nope", "items": []any{item("o", b.bank, b.alice, 1)}}, 403, auth.CodeForbidden, "body.institution_id"},
			{"viewer", a.newKey("root", auth.RoleViewer), map[string]any{"items": []any{item("o", b.bank, b.alice, 1)}}, 403, auth.CodeForbidden, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a.with(t).fail(tt.status, tt.code, tt.field, tt.key, "POST", "/v1/transactions/batch", tt.body, rid("bad-batch")...)
			})
		}
		a.noAudit("bad-batch")
	})
}

// TestBatchItemFields: a batch item's rejection names the field within the
// batch body, as huma's validation errors do (body.items[0].postings[0].amount).
func TestBatchItemFields(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		var out struct {
			Results []httpapi.BatchResult `json:"results"`
		}
		a.must(http.StatusOK, a.admin, "POST", "/v1/transactions/batch", map[string]any{"items": []any{
			map[string]any{"kind": "transfer", "reference": "x", "postings": []any{posting(b.bank, b.alice, "CNY", 1)}},
			map[string]any{"kind": "transfer", "reference": "y", "type": "a b", "postings": []any{posting(b.bank, b.alice, "CNY", 1)}},
		}}, &out)
		if e := out.Results[1].Error; e == nil || e.Field != "body.items[1].type" {
			t.Errorf("error %+v, want field body.items[1].type", e)
		}
	})
}

func TestListTransactions(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		a.newInstitution("branch-a", "root")
		a.newInstitution("branch-b", "root")
		t0 := a.clock.Now()
		t1 := a.transfer(a.admin, "t1", b.bank, b.alice, "CNY", 1000)
		a.clock.Advance(time.Hour)
		var t2 httpapi.TransactionView
		a.must(201, a.admin, "POST", "/v1/transactions", map[string]any{"reference": "t2", "type": "payment", "postings": []any{posting(b.alice, b.bob, "CNY", 100)}}, &t2)
		a.clock.Advance(time.Hour)
		var t3 httpapi.TransactionView
		a.must(201, a.admin, "POST", "/v1/transactions/"+t1.ID+"/reversals", map[string]any{"reference": "t3", "amounts": []int64{10}}, &t3)
		ba := a.newAccount(a.admin, map[string]any{"institution_id": "branch-a", "asset": "CNY", "code": "1002", "normal_side": "debit", "overdraft": "unlimited"}).ID
		ba2 := a.newAccount(a.admin, map[string]any{"institution_id": "branch-a", "asset": "CNY", "code": "2001", "normal_side": "credit"}).ID
		keyA, keyB := a.newKey("branch-a", auth.RolePoster), a.newKey("branch-b", auth.RoleViewer)
		t4 := a.transfer(keyA, "t1", ba, ba2, "CNY", 5) // the same reference in another institution

		list := func(t *testing.T, key, query string) []string {
			t.Helper()
			var refs []string
			after := ""
			for range 10 {
				var page struct {
					Items      []httpapi.TransactionView `json:"items"`
					NextCursor string                    `json:"next_cursor"`
				}
				a.with(t).must(http.StatusOK, key, "GET", "/v1/transactions?limit=2&after="+after+query, nil, &page)
				for _, tr := range page.Items {
					refs = append(refs, tr.InstitutionID+"/"+tr.Reference)
					if len(tr.Entries) == 0 || len(tr.Postings) == 0 || tr.Postings[0].AmountDisplay == "" {
						t.Errorf("listed transaction without postings or entries: %+v", tr)
					}
				}
				if page.NextCursor == "" {
					return refs
				}
				after = page.NextCursor
			}
			t.Fatal("more than 10 pages")
			return nil
		}
		ts := func(tm time.Time) string { return url.QueryEscape(tm.Format(time.RFC3339Nano)) }
		tests := []struct {
			name, key, query string
			want             []string
		}{
			{"all, in order", a.admin, "", []string{"root/t1", "root/t2", "root/t3", "branch-a/t1"}},
			{"by type", a.admin, "&type=payment", []string{"root/t2"}},
			{"by kind", a.admin, "&kind=reversal", []string{"root/t3"}},
			{"from", a.admin, "&from=" + ts(t0.Add(time.Hour)), []string{"root/t2", "root/t3", "branch-a/t1"}},
			{"to", a.admin, "&to=" + ts(t0.Add(time.Hour)), []string{"root/t1"}},
			{"from and to", a.admin, "&from=" + ts(t0.Add(time.Minute)) + "&to=" + ts(t0.Add(90*time.Minute)), []string{"root/t2"}},
			{"a branch sees its own", keyA, "", []string{"branch-a/t1"}},
			{"a sibling sees nothing", keyB, "", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if diff := cmp.Diff(tt.want, list(t, tt.key, tt.query)); diff != "" {
					t.Errorf("transactions (-want +got):\n%s", diff)
				}
			})
		}
		a.fail(422, "invalid_request", "query.kind", a.admin, "GET", "/v1/transactions?kind=gift", nil)

		t.Run("get is scoped", func(t *testing.T) {
			a.with(t).must(http.StatusOK, a.admin, "GET", "/v1/transactions/"+t4.ID, nil, nil)
			a.with(t).must(http.StatusOK, keyA, "GET", "/v1/transactions/"+t4.ID, nil, nil)
			a.with(t).fail(404, "transaction_not_found", "", keyB, "GET", "/v1/transactions/"+t4.ID, nil)
			a.with(t).fail(404, "transaction_not_found", "", keyA, "GET", "/v1/transactions/"+t2.ID, nil)
		})
		t.Run("by reference is per institution", func(t *testing.T) {
			var got httpapi.TransactionView
			a.with(t).must(http.StatusOK, a.admin, "GET", "/v1/transactions/by-reference/t1", nil, &got)
			if got.ID != t1.ID {
				t.Errorf("root t1 is %s, want %s", got.ID, t1.ID)
			}
			a.with(t).must(http.StatusOK, a.admin, "GET", "/v1/transactions/by-reference/t1?institution_id=branch-a", nil, &got)
			if got.ID != t4.ID {
				t.Errorf("branch-a t1 is %s, want %s", got.ID, t4.ID)
			}
			a.with(t).must(http.StatusOK, keyA, "GET", "/v1/transactions/by-reference/t1", nil, &got)
			if got.ID != t4.ID {
				t.Errorf("branch-a t1 is %s, want %s", got.ID, t4.ID)
			}
			a.with(t).fail(404, "transaction_not_found", "", keyB, "GET", "/v1/transactions/by-reference/t1", nil)
			a.with(t).fail(403, auth.CodeForbidden, "", keyB, "GET", "/v1/transactions/by-reference/t1?institution_id=branch-a", nil)
			a.with(t).fail(403, auth.CodeForbidden, "", keyA, "GET", "/v1/transactions/by-reference/t1?institution_id=root", nil)
		})
	})
}

func TestReversals(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		a.newInstitution("branch-a", "root")
		orig := a.transfer(a.admin, "t1", b.bank, b.alice, "CNY", 1000)
		hold := a.hold(a.admin, "", "h1", 0, posting(b.bank, b.bob, "CNY", 10))
		poster := a.newKey("root", auth.RolePoster)
		reverse := func(t *testing.T, body map[string]any, headers ...string) httpapi.TransactionView {
			t.Helper()
			var v httpapi.TransactionView
			a.with(t).must(http.StatusCreated, poster, "POST", "/v1/transactions/"+orig.ID+"/reversals", body, &v, headers...)
			return v
		}

		part := reverse(t, map[string]any{"reference": "r1", "type": "refund", "amounts": []int64{300}, "metadata": map[string]string{"why": "damaged"}}, rid("rev-1")...)
		want := httpapi.TransactionView{ID: part.ID, InstitutionID: "root", Reference: "r1", Kind: "reversal", Type: "refund",
			BusinessDate: "2026-11-02", Metadata: map[string]string{"why": "damaged"}, ReversesID: orig.ID,
			Postings: []httpapi.PostingView{{Debit: b.alice, Credit: b.bank, Asset: "CNY", Amount: 300, AmountDisplay: "3.00"}},
			Entries:  part.Entries, CreatedAt: part.CreatedAt}
		// The ledger hands out strictly increasing timestamps: with the
		// clock standing still, each transaction is a microsecond later.
		if d := part.CreatedAt.Sub(a.clock.Now()); d < 0 || d > time.Millisecond {
			t.Errorf("created_at %v, now %v", part.CreatedAt, a.clock.Now())
		}
		if diff := cmp.Diff(want, part); diff != "" {
			t.Errorf("reversal (-want +got):\n%s", diff)
		}
		a.auditOnce("rev-1", "ledger.reversal", "transaction:"+part.ID, poster)
		if v := a.account(b.alice); v.Balance != 700 || v.BalanceDisplay != "7.00" {
			t.Errorf("alice %d %q", v.Balance, v.BalanceDisplay)
		}

		path := "/v1/transactions/" + orig.ID + "/reversals"
		tests := []struct {
			name, path  string
			body        any
			status      int
			code, field string
		}{
			{"more than is left", path, map[string]any{"reference": "r2", "amounts": []int64{701}}, 422, "reversal_exceeds_original", "body.amounts[0]"},
			{"wrong number of amounts", path, map[string]any{"reference": "r2", "amounts": []int64{1, 2}}, 422, "invalid_request", "body.amounts"},
			{"zero amounts", path, map[string]any{"reference": "r2", "amounts": []int64{0}}, 422, "invalid_amount", "body.amounts"},
			{"negative amount", path, map[string]any{"reference": "r2", "amounts": []int64{-1}}, 422, "invalid_amount", "body.amounts[0]"},
			{"missing reference", path, map[string]any{"amounts": []int64{1}}, 422, "invalid_request", "body"},
			{"reference used before", path, map[string]any{"reference": "r1", "amounts": []int64{1}}, 409, "reference_conflict", "body.reference"},
			{"reference of the original", path, map[string]any{"reference": "t1"}, 409, "reference_conflict", "body.reference"},
			{"a hold", "/v1/transactions/" + hold.ID + "/reversals", map[string]any{"reference": "r2"}, 422, "transaction_not_reversible", "path.id"},
			{"unknown", "/v1/transactions/nope/reversals", map[string]any{"reference": "r2"}, 404, "transaction_not_found", "path.id"},
			{"institution outside the key's", path, map[string]any{"reference": "r2", "institution_id": "nope"}, 403, auth.CodeForbidden, "body.institution_id"},
			{"of another institution than the one named", path, map[string]any{"reference": "r2", "institution_id": "branch-a"}, 404, "transaction_not_found", "path.id"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a.with(t).fail(tt.status, tt.code, tt.field, poster, "POST", tt.path, tt.body, rid("bad-reversal")...)
			})
		}
		a.noAudit("bad-reversal")

		rest := reverse(t, map[string]any{"reference": "r2"})
		if rest.Postings[0].Amount != 700 || rest.Type != "reversal" {
			t.Errorf("the rest: %+v", rest.Postings)
		}
		a.fail(422, "reversal_exceeds_original", "path.id", poster, "POST", path, map[string]any{"reference": "r3"})
		if v := a.account(b.alice); v.Balance != 0 {
			t.Errorf("alice %d after a full reversal", v.Balance)
		}
		// A reversal can be reversed.
		var back httpapi.TransactionView
		a.must(http.StatusCreated, poster, "POST", "/v1/transactions/"+rest.ID+"/reversals", map[string]any{"reference": "r4"}, &back)
		if back.ReversesID != rest.ID || back.Postings[0].Credit != b.alice {
			t.Errorf("reversal of a reversal: %+v", back)
		}
		t.Run("replay", func(t *testing.T) {
			body := map[string]any{"reference": "r5", "amounts": []int64{1}}
			first := a.with(t).transfer(a.admin, "t5", b.bank, b.alice, "CNY", 10)
			p := "/v1/transactions/" + first.ID + "/reversals"
			var r1, r2 httpapi.TransactionView
			a.with(t).must(201, poster, "POST", p, body, &r1, "Idempotency-Key", "rk")
			resp := a.with(t).must(201, poster, "POST", p, body, &r2, "Idempotency-Key", "rk")
			if resp.Header.Get("Idempotent-Replayed") != "true" || r1.ID != r2.ID {
				t.Errorf("replay %q %s %s", resp.Header.Get("Idempotent-Replayed"), r1.ID, r2.ID)
			}
		})
	})
}

// A transaction posted through the ledger routes emits one
// transaction.posted event, in its transaction; a refusal emits none; a
// replay by Idempotency-Key emits nothing more.
func TestTransactionEvents(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		count := func(subject string) int {
			t.Helper()
			var n int
			if err := a.db.Read.QueryRow(`SELECT COUNT(*) FROM events WHERE type = $1 AND subject LIKE $2`,
				httpapi.EventTransactionPosted, subject).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		var tr httpapi.TransactionView
		for range 2 {
			a.must(http.StatusCreated, a.admin, "POST", "/v1/transactions", transferBody("ev-1", b.bank, b.alice, "CNY", 100), &tr,
				"Idempotency-Key", "ev-1")
		}
		a.fail(http.StatusUnprocessableEntity, "insufficient_funds", "", a.admin, "POST", "/v1/transactions",
			transferBody("ev-2", b.alice, b.bob, "CNY", 101))
		a.must(http.StatusOK, a.admin, "POST", "/v1/transactions/batch", map[string]any{"items": []any{
			map[string]any{"kind": "transfer", "reference": "ev-3", "postings": []any{posting(b.bank, b.bob, "CNY", 5)}},
			map[string]any{"kind": "transfer", "reference": "ev-4", "postings": []any{posting(b.bank, b.bob, "CNY", 6)}},
		}}, nil)
		if got, total := count("transaction:"+tr.ID), count("transaction:%"); got != 1 || total != 3 {
			t.Errorf("events: %d for the transfer, %d in all; want 1 and 3", got, total)
		}
	})
}
