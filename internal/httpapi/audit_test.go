package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/internal/audit"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/httpapi"
	"github.com/suanpan/suanpan/ledger"
)

func TestAuditLog(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		a.newInstitution("branch-a", "root")
		a.newInstitution("branch-b", "root")
		auditorA, auditorB := a.newKey("branch-a", auth.RoleAuditor), a.newKey("branch-b", auth.RoleAuditor)
		acctA := a.newAccount(a.admin, map[string]any{"institution_id": "branch-a", "asset": "CNY", "code": "2001", "normal_side": "credit"})
		var tr httpapi.TransactionView
		a.must(http.StatusCreated, a.admin, "POST", "/v1/transactions", map[string]any{"reference": "t1",
			"metadata": map[string]string{"phone": "13800138000", "note": "hello"}, "postings": []any{posting(b.bank, b.alice, "CNY", 100)}}, &tr, rid("masked")...)

		all := a.auditRecords()
		t.Run("a chain in order", func(t *testing.T) {
			// 2 assets, 5 accounts, 2 institutions, 2 keys, 1 account, 1 transfer.
			if len(all) != 13 {
				t.Fatalf("%d records, want 13", len(all))
			}
			for i, r := range all {
				if r.Seq != int64(i+1) {
					t.Errorf("record %d has seq %d", i, r.Seq)
				}
				if i > 0 && r.PrevHash != all[i-1].Hash || i == 0 && r.PrevHash != "" || len(r.Hash) != 64 {
					t.Errorf("record %d: prev_hash %q hash %q", r.Seq, r.PrevHash, r.Hash)
				}
				if r.Source != "127.0.0.1" || r.KeyID == "" || r.RequestID == "" || r.At.IsZero() {
					t.Errorf("record %d lacks who, from where, when or why: %+v", r.Seq, r)
				}
			}
		})
		t.Run("paged", func(t *testing.T) {
			var got []audit.Record
			after := int64(0)
			for range 10 {
				var page struct {
					Items      []audit.Record `json:"items"`
					NextCursor int64          `json:"next_cursor"`
				}
				a.with(t).must(http.StatusOK, a.admin, "GET", "/v1/audit?limit=5&after="+itoa(after), nil, &page)
				got = append(got, page.Items...)
				if page.NextCursor == 0 {
					break
				}
				if page.NextCursor != page.Items[len(page.Items)-1].Seq {
					t.Fatalf("next_cursor %d", page.NextCursor)
				}
				after = page.NextCursor
			}
			if diff := cmp.Diff(all, got); diff != "" {
				t.Errorf("pages (-all +paged):\n%s", diff)
			}
		})
		t.Run("scoped to the caller's institutions", func(t *testing.T) {
			seqs := func(key, query string) []int64 {
				var page struct {
					Items []audit.Record `json:"items"`
				}
				a.with(t).must(http.StatusOK, key, "GET", "/v1/audit"+query, nil, &page)
				var out []int64
				for _, r := range page.Items {
					out = append(out, r.Seq)
				}
				return out
			}
			of := func(inst string) []int64 {
				var out []int64
				for _, r := range all {
					if r.InstitutionID == inst {
						out = append(out, r.Seq)
					}
				}
				return out
			}
			if len(of("branch-a")) != 2 || len(of("branch-b")) != 1 { // the keys and the account
				t.Fatalf("branch-a has records %v, branch-b %v", of("branch-a"), of("branch-b"))
			}
			if diff := cmp.Diff(of("branch-a"), seqs(auditorA, "")); diff != "" {
				t.Errorf("branch-a's auditor (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(of("branch-b"), seqs(auditorB, "")); diff != "" {
				t.Errorf("branch-b's auditor (-want +got):\n%s", diff)
			}
			if got := seqs(auditorB, "?target=account:"+acctA.ID); got != nil {
				t.Errorf("branch-b's auditor sees branch-a's account records %v", got)
			}
			if got := seqs(auditorA, "?target=account:"+acctA.ID); len(got) != 1 {
				t.Errorf("branch-a's auditor sees %v of its account", got)
			}
		})
		t.Run("sensitive values are masked", func(t *testing.T) {
			rec := a.with(t).auditOnce("masked", "ledger.transfer", "transaction:"+tr.ID, a.admin)
			after, _ := rec.After.(map[string]any)
			meta, _ := after["metadata"].(map[string]any)
			if meta["phone"] != "***8000" || meta["note"] != "hello" {
				t.Errorf("metadata in the audit log: %v", meta)
			}
			if tr.Metadata["phone"] != "13800138000" {
				t.Errorf("the transaction's own metadata was masked: %v", tr.Metadata)
			}
		})
		t.Run("verify", func(t *testing.T) {
			var rep audit.Report
			// The chain spans every institution: a branch's auditor may not
			// verify it, the root's keys may.
			checkProblem(t, a.with(t).do(auditorB, "POST", "/v1/audit/verify", nil, nil), http.StatusForbidden, "forbidden")
			a.with(t).must(http.StatusOK, a.admin, "POST", "/v1/audit/verify", nil, &rep)
			if len(rep.HeadHash) != 64 {
				t.Errorf("head_hash %q, want the newest record's hash", rep.HeadHash)
			}
			if diff := cmp.Diff(audit.Report{Records: 13, Head: 13, HeadHash: rep.HeadHash, Problems: []audit.Problem{}, OK: true}, rep); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
			// The reported head is an anchor for later verifications.
			anchor := map[string]any{"expect": []any{map[string]any{"seq": rep.Head, "hash": rep.HeadHash}}}
			var again audit.Report
			a.with(t).must(http.StatusOK, a.admin, "POST", "/v1/audit/verify", anchor, &again)
			if !again.OK {
				t.Errorf("verify with its own head as anchor: %+v", again)
			}
			wrong := map[string]any{"expect": []any{map[string]any{"seq": rep.Head + 1, "hash": rep.HeadHash}}}
			a.with(t).must(http.StatusOK, a.admin, "POST", "/v1/audit/verify", wrong, &again)
			if again.OK || len(again.Problems) != 1 || again.Problems[0].Seq != rep.Head+1 {
				t.Errorf("verify with an anchor beyond the chain: %+v, want one problem at %d", again, rep.Head+1)
			}
			if _, err := a.db.Write.ExecContext(context.Background(), `UPDATE audit_log SET target = 'account:forged' WHERE seq = 4`); err != nil {
				t.Fatal(err)
			}
			a.with(t).must(http.StatusOK, a.admin, "POST", "/v1/audit/verify", nil, &rep)
			if rep.OK || len(rep.Problems) != 1 || rep.Problems[0].Seq != 4 || !strings.Contains(rep.Problems[0].Detail, "altered") {
				t.Errorf("report after tampering: %+v", rep)
			}
		})
		t.Run("roles", func(t *testing.T) {
			for _, role := range []auth.Role{auth.RoleOperator, auth.RolePoster, auth.RoleViewer} {
				key := a.newKey("root", role)
				a.with(t).fail(403, auth.CodeForbidden, "", key, "GET", "/v1/audit", nil)
				a.with(t).fail(403, auth.CodeForbidden, "", key, "POST", "/v1/audit/verify", nil)
			}
			a.with(t).fail(422, "invalid_request", "query.limit", a.admin, "GET", "/v1/audit?limit=1001", nil)
		})
	})
}

func TestReports(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		a.transfer(a.admin, "t1", b.bank, b.alice, "CNY", 1000)
		a.transfer(a.admin, "t2", b.alice, b.bob, "CNY", 300)
		a.transfer(a.admin, "y1", b.yenBank, b.yenWallet, "JPY", 7)
		a.hold(a.admin, "", "h1", 0, posting(b.alice, b.bob, "CNY", 50))
		a.newInstitution("branch-a", "root")
		keyA := a.newKey("branch-a", auth.RoleAuditor)

		t.Run("trial balance", func(t *testing.T) {
			var tb ledger.TrialBalance
			a.with(t).must(http.StatusOK, a.newKey("root", auth.RoleViewer), "GET", "/v1/reports/trial-balance", nil, &tb)
			got := tb.Lines
			want := []ledger.TrialBalanceLine{
				{Asset: "CNY", Code: "1002", Accounts: 1, DebitsPosted: 1000},
				{Asset: "CNY", Code: "2001", Accounts: 2, DebitsPosted: 300, CreditsPosted: 1300, DebitsPending: 50, CreditsPending: 50},
				{Asset: "JPY", Code: "1002", Accounts: 1, DebitsPosted: 7},
				{Asset: "JPY", Code: "2001", Accounts: 1, CreditsPosted: 7},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
			if !tb.Balanced || len(tb.Totals) != 2 || tb.Totals[0].DebitsPosted != 1300 || !tb.Totals[0].Balanced {
				t.Errorf("totals %+v balanced %v", tb.Totals, tb.Balanced)
			}
			_, raw := a.with(t).raw(keyA, "GET", "/v1/reports/trial-balance", nil)
			if string(raw) != `{"lines":[],"totals":[],"balanced":true}`+"\n" {
				t.Errorf("branch-a's trial balance: %s", raw)
			}
		})
		t.Run("verify the ledger", func(t *testing.T) {
			var rep struct {
				Accounts, Transactions, Entries int64
				Problems                        []any `json:"problems"`
				OK                              bool  `json:"ok"`
			}
			checkProblem(t, a.with(t).do(keyA, "POST", "/v1/ledger/verify", nil, nil), http.StatusForbidden, "forbidden")
			a.with(t).must(http.StatusOK, a.admin, "POST", "/v1/ledger/verify", nil, &rep)
			if !rep.OK || rep.Accounts != 5 || rep.Transactions != 4 || rep.Entries != 8 || rep.Problems == nil || len(rep.Problems) != 0 {
				t.Errorf("report %+v", rep)
			}
			for _, role := range []auth.Role{auth.RoleOperator, auth.RolePoster, auth.RoleViewer} {
				a.with(t).fail(403, auth.CodeForbidden, "", a.newKey("root", role), "POST", "/v1/ledger/verify", nil)
			}
		})
	})
}

// TestNoChangeWithoutAudit: the audit record is written in the same storage
// transaction as the change, so a change whose record cannot be written
// does not happen.
func TestNoChangeWithoutAudit(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		a.transfer(a.admin, "t1", b.bank, b.alice, "CNY", 100)
		ctx := context.Background()
		var seq int64
		var hash string
		if err := a.db.Read.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash); err != nil {
			t.Fatal(err)
		}
		// Without its head row the chain cannot be extended.
		if _, err := a.db.Write.ExecContext(ctx, `DELETE FROM audit_head`); err != nil {
			t.Fatal(err)
		}
		a.fail(http.StatusInternalServerError, "write_failed", "", a.admin, "POST", "/v1/transactions", transferBody("t2", b.bank, b.alice, "CNY", 5))
		a.fail(http.StatusInternalServerError, "internal", "", a.admin, "POST", "/v1/accounts/"+b.alice+"/freeze", map[string]any{"side": "debit"})
		p := a.fail(http.StatusInternalServerError, "internal", "", a.admin, "POST", "/v1/accounts", map[string]any{"asset": "CNY", "code": "9999", "normal_side": "debit"})
		if strings.Contains(p.Detail, "audit") || strings.Contains(p.Detail, "sql") {
			t.Errorf("internal detail reaches the client: %q", p.Detail)
		}
		var out struct {
			Results []httpapi.BatchResult `json:"results"`
		}
		a.must(http.StatusOK, a.admin, "POST", "/v1/transactions/batch", map[string]any{"items": []any{
			map[string]any{"kind": "transfer", "reference": "t3", "postings": []any{posting(b.bank, b.alice, "CNY", 5)}}}}, &out)
		if out.Results[0].Error == nil || out.Results[0].Error.Code != "write_failed" {
			t.Errorf("batch item: %+v", out.Results[0])
		}
		if _, err := a.db.Write.ExecContext(ctx, `INSERT INTO audit_head (id, seq, hash) VALUES (1, $1, $2)`, seq, hash); err != nil {
			t.Fatal(err)
		}

		if v := a.account(b.alice); v.Balance != 100 || v.Status != "active" {
			t.Errorf("alice %d %s: a change without its audit record happened", v.Balance, v.Status)
		}
		var page struct {
			Items []httpapi.AccountView `json:"items"`
		}
		a.must(http.StatusOK, a.admin, "GET", "/v1/accounts?code=9999", nil, &page)
		if len(page.Items) != 0 {
			t.Errorf("an account was opened without its audit record")
		}
		a.fail(http.StatusNotFound, "transaction_not_found", "", a.admin, "GET", "/v1/transactions/by-reference/t2", nil)
		var rep audit.Report
		a.must(http.StatusOK, a.admin, "POST", "/v1/audit/verify", nil, &rep)
		if !rep.OK || rep.Records != seq {
			t.Errorf("audit report %+v", rep)
		}
		a.transfer(a.admin, "t2", b.bank, b.alice, "CNY", 5) // the refused reference stayed free
	})
}
