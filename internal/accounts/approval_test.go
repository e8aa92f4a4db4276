package accounts_test

import (
	"context"
	"testing"

	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

func countEvents(t *testing.T, db *store.DB, typ string) int {
	t.Helper()
	var n int
	if err := db.Read.QueryRow(`SELECT COUNT(*) FROM events WHERE type = $1`, typ).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAdjustmentMakerChecker(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newOpBooks(t, db)
		ap := accounts.NewApprovals(b.ledger)
		// The wrong transaction: 50.00 went to bob instead of the shop.
		wrong, err := b.ledger.Post(ctx, ledger.Request{Kind: ledger.KindTransfer, InstitutionID: "bank-a", Reference: "wrong",
			Postings: []ledger.Posting{{Debit: b.alice, Credit: b.bob, Asset: "CNY", Amount: 5000}}})
		if err != nil {
			t.Fatal(err)
		}
		propose := func(ref string, adj accounts.Adjustment) *accounts.Approval {
			t.Helper()
			a, replayed, err := ap.Propose(ctx, accounts.Proposal{Adjustment: adj, Reference: ref, Reason: "misrouted", MakerKey: "maker"})
			if err != nil || replayed {
				t.Fatalf("propose: %v %v", replayed, err)
			}
			return a
		}
		before := b.balances(t, b.all()...)
		fix := accounts.Adjustment{ReverseTransactionID: wrong.ID,
			Postings: []ledger.Posting{{Debit: b.alice, Credit: b.shop, Amount: 5000}}}
		a := propose("adj-1", fix)
		if a.Status != accounts.ApprovalPending || a.InstitutionID != "bank-a" || a.Payload.Postings[0].Asset != "CNY" {
			t.Fatalf("proposed %+v", a)
		}
		if m := moved(before, b.balances(t, b.all()...)); len(m) != 0 {
			t.Fatalf("proposing moved %v", m)
		}
		// Same reference, same content: the first one; other content: conflict.
		if again, replayed, err := ap.Propose(ctx, accounts.Proposal{Adjustment: fix, Reference: "adj-1", Reason: "misrouted", MakerKey: "maker"}); err != nil || !replayed || again.ID != a.ID {
			t.Fatalf("again: %v %v %v", again, replayed, err)
		}
		if _, _, err := ap.Propose(ctx, accounts.Proposal{Adjustment: accounts.Adjustment{ReverseTransactionID: wrong.ID}, Reference: "adj-1",
			Reason: "misrouted", MakerKey: "maker"}); accounts.ErrorCode(err) != accounts.CodeConflict {
			t.Fatalf("conflict: %v", err)
		}
		// Out of scope and invalid.
		if _, _, err := ap.Propose(ctx, accounts.Proposal{Adjustment: fix, Reference: "adj-x", Reason: "x", MakerKey: "maker",
			Scope: []string{"bank-b"}}); ledger.ErrorCode(err) != ledger.CodeTransactionNotFound {
			t.Fatalf("out of scope: %v", err)
		}
		if _, _, err := ap.Propose(ctx, accounts.Proposal{Reference: "adj-x", Reason: "x", MakerKey: "maker"}); accounts.ErrorCode(err) != accounts.CodeInvalidRequest {
			t.Fatalf("empty: %v", err)
		}

		// The maker cannot approve or reject.
		if _, err := ap.Approve(ctx, accounts.Decision{ID: a.ID, Key: "maker"}); accounts.ErrorCode(err) != accounts.CodeApproverIsMaker {
			t.Fatalf("maker approves: %v", err)
		}
		if _, err := ap.Reject(ctx, accounts.Decision{ID: a.ID, Key: "maker"}); accounts.ErrorCode(err) != accounts.CodeApproverIsMaker {
			t.Fatalf("maker rejects: %v", err)
		}
		if _, err := ap.Approve(ctx, accounts.Decision{ID: a.ID, Key: "checker", Scope: []string{"bank-b"}}); accounts.ErrorCode(err) != accounts.CodeApprovalNotFound {
			t.Fatalf("out of scope: %v", err)
		}
		if m := moved(before, b.balances(t, b.all()...)); len(m) != 0 {
			t.Fatalf("refusals moved %v", m)
		}
		got, err := ap.Approve(ctx, accounts.Decision{ID: a.ID, Key: "checker", Reason: "checked"})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != accounts.ApprovalApproved || got.CheckerKey != "checker" || len(got.TransactionIDs) != 2 || got.DecidedAt.IsZero() {
			t.Fatalf("approved %+v", got)
		}
		want := map[string][2]int64{b.bob: {-5000, 0}, b.shop: {5000, 0}}
		if d := diff(want, moved(before, b.balances(t, b.all()...))); d != "" {
			t.Fatalf("approval moved (-want +got):\n%s", d)
		}
		// Approving again returns it and moves nothing.
		if again, err := ap.Approve(ctx, accounts.Decision{ID: a.ID, Key: "other"}); err != nil || again.CheckerKey != "checker" {
			t.Fatalf("again: %+v %v", again, err)
		}
		if d := diff(want, moved(before, b.balances(t, b.all()...))); d != "" {
			t.Fatalf("second approval moved (-want +got):\n%s", d)
		}
		if _, err := ap.Reject(ctx, accounts.Decision{ID: a.ID, Key: "other"}); accounts.ErrorCode(err) != accounts.CodeInvalidStatusChange {
			t.Fatalf("reject approved: %v", err)
		}
		if n := countEvents(t, db, accounts.EventApprovalApproved); n != 1 {
			t.Fatalf("%d approved events", n)
		}

		// Reject and cancel post nothing.
		before = b.balances(t, b.all()...)
		r := propose("adj-2", accounts.Adjustment{Postings: []ledger.Posting{{Debit: b.bob, Credit: b.alice, Amount: 100}}})
		if _, err := ap.Reject(ctx, accounts.Decision{ID: r.ID, Key: "checker", Reason: "no"}); err != nil {
			t.Fatal(err)
		}
		if _, err := ap.Approve(ctx, accounts.Decision{ID: r.ID, Key: "checker"}); accounts.ErrorCode(err) != accounts.CodeInvalidStatusChange {
			t.Fatalf("approve rejected: %v", err)
		}
		c := propose("adj-3", accounts.Adjustment{Postings: []ledger.Posting{{Debit: b.bob, Credit: b.alice, Amount: 100}}})
		if _, err := ap.Cancel(ctx, accounts.Decision{ID: c.ID, Key: "checker"}); accounts.ErrorCode(err) != accounts.CodeNotMaker {
			t.Fatalf("cancel by another: %v", err)
		}
		if got, err := ap.Cancel(ctx, accounts.Decision{ID: c.ID, Key: "maker"}); err != nil || got.Status != accounts.ApprovalCancelled {
			t.Fatalf("cancel: %+v %v", got, err)
		}
		if m := moved(before, b.balances(t, b.all()...)); len(m) != 0 {
			t.Fatalf("reject and cancel moved %v", m)
		}

		// A refused batch leaves the approval pending and posts nothing,
		// not even the reversal.
		wrong2, err := b.ledger.Post(ctx, ledger.Request{Kind: ledger.KindTransfer, InstitutionID: "bank-a", Reference: "wrong2",
			Postings: []ledger.Posting{{Debit: b.alice, Credit: b.bob, Asset: "CNY", Amount: 700}}})
		if err != nil {
			t.Fatal(err)
		}
		before = b.balances(t, b.all()...)
		big := propose("adj-4", accounts.Adjustment{ReverseTransactionID: wrong2.ID,
			Postings: []ledger.Posting{{Debit: b.alice, Credit: b.shop, Amount: 1 << 40}}})
		if _, err := ap.Approve(ctx, accounts.Decision{ID: big.ID, Key: "checker"}); ledger.ErrorCode(err) != ledger.CodeInsufficientFunds {
			t.Fatalf("overspending approval: %v", err)
		}
		if got, _ := ap.Get(ctx, big.ID, nil); got.Status != accounts.ApprovalPending || len(got.TransactionIDs) != 0 {
			t.Fatalf("after refusal %+v", got)
		}
		if m := moved(before, b.balances(t, b.all()...)); len(m) != 0 {
			t.Fatalf("refused approval moved %v", m)
		}
		list, _, err := ap.List(ctx, []string{"bank-a"}, accounts.ApprovalPending, "", 0)
		if err != nil || len(list) != 1 || list[0].ID != big.ID {
			t.Fatalf("pending: %v %v", list, err)
		}
		all, _, err := ap.List(ctx, nil, "", "", 0)
		if err != nil || len(all) != 4 {
			t.Fatalf("all: %d %v", len(all), err)
		}
		if n := countEvents(t, db, accounts.EventApprovalProposed); n != 4 {
			t.Fatalf("%d proposed events", n)
		}
	})
}
