package ledger_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/suanpan/suanpan/ledger"
)

func TestHoldResolution(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		resolve    func(ref, holdID string) ledger.Request
		wantStatus ledger.HoldStatus
		wantPayer  ledger.Balances
		wantPayee  ledger.Balances
		wantMoved  []ledger.Posting // the resolving transaction's postings, with payer and payee as "P" and "Q"
	}{
		{
			name:       "post in full",
			resolve:    func(ref, id string) ledger.Request { return postReq(ref, id) },
			wantStatus: ledger.HoldPosted,
			wantPayer:  ledger.Balances{CreditsPosted: 10000, DebitsPosted: 6000},
			wantPayee:  ledger.Balances{CreditsPosted: 6000},
			wantMoved:  []ledger.Posting{{Debit: "P", Credit: "Q", Asset: "CNY", Amount: 6000}},
		},
		{
			name:       "post part, the rest is released",
			resolve:    func(ref, id string) ledger.Request { return postReq(ref, id, 4000) },
			wantStatus: ledger.HoldPosted,
			wantPayer:  ledger.Balances{CreditsPosted: 10000, DebitsPosted: 4000},
			wantPayee:  ledger.Balances{CreditsPosted: 4000},
			wantMoved:  []ledger.Posting{{Debit: "P", Credit: "Q", Asset: "CNY", Amount: 4000}},
		},
		{
			name:       "post exactly the hold",
			resolve:    func(ref, id string) ledger.Request { return postReq(ref, id, 6000) },
			wantStatus: ledger.HoldPosted,
			wantPayer:  ledger.Balances{CreditsPosted: 10000, DebitsPosted: 6000},
			wantPayee:  ledger.Balances{CreditsPosted: 6000},
			wantMoved:  []ledger.Posting{{Debit: "P", Credit: "Q", Asset: "CNY", Amount: 6000}},
		},
		{
			name:       "void",
			resolve:    voidReq,
			wantStatus: ledger.HoldVoided,
			wantPayer:  ledger.Balances{CreditsPosted: 10000},
			wantPayee:  ledger.Balances{},
			wantMoved:  []ledger.Posting{{Debit: "P", Credit: "Q", Asset: "CNY", Amount: 6000}},
		},
	}
	each(t, func(t *testing.T, e *env) {
		bank := e.bank()
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.sub(t)
				payer, payee := e.wallet(), e.wallet()
				e.fund(bank, payer, 10000)
				h := e.post(holdReq(e.ref("hold"), payer, payee, 6000, 0))
				if diff := cmp.Diff(ledger.Balances{CreditsPosted: 10000, DebitsPending: 6000}, e.balances(payer)); diff != "" {
					t.Errorf("payer while held (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(ledger.Balances{CreditsPending: 6000}, e.balances(payee)); diff != "" {
					t.Errorf("payee while held (-want +got):\n%s", diff)
				}
				if got := e.get(payer); got.Balance(ledger.Credit) != 10000 {
					t.Errorf("payer balance while held = %d, want 10000", got.Balance(ledger.Credit))
				}

				res := e.post(tc.resolve(e.ref("resolve"), h.ID))
				if diff := cmp.Diff(tc.wantPayer, e.balances(payer)); diff != "" {
					t.Errorf("payer after (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.wantPayee, e.balances(payee)); diff != "" {
					t.Errorf("payee after (-want +got):\n%s", diff)
				}
				names := map[string]string{payer.ID: "P", payee.ID: "Q"}
				var moved []ledger.Posting
				for _, p := range res.Postings {
					moved = append(moved, ledger.Posting{Debit: names[p.Debit], Credit: names[p.Credit], Asset: p.Asset, Amount: p.Amount})
				}
				if diff := cmp.Diff(tc.wantMoved, moved); diff != "" {
					t.Errorf("resolving transaction's postings (-want +got):\n%s", diff)
				}
				if res.HoldID != h.ID {
					t.Errorf("resolving transaction's hold = %q, want %q", res.HoldID, h.ID)
				}

				got, err := e.l.GetHold(e.ctx, h.ID)
				if err != nil {
					t.Fatalf("GetHold: %v", err)
				}
				want := &ledger.Hold{ID: h.ID, InstitutionID: "inst1", Status: tc.wantStatus, ResolvedBy: res.ID,
					Postings: h.Postings, CreatedAt: h.CreatedAt}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("hold (-want +got):\n%s", diff)
				}
			})
		}
		e.verify()
	})
}

func TestHoldEntries(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, payer, payee := e.bank(), e.wallet(), e.wallet()
		e.fund(bank, payer, 10000)
		h := e.post(holdReq("hold-1", payer, payee, 6000, 0))
		p := e.post(postReq("post-1", h.ID, 4000))

		type line struct {
			Account string
			Seq     int64
			Side    ledger.Side
			Kind    ledger.EntryKind
			Amount  int64
			After   ledger.Balances
		}
		lines := func(tr *ledger.Transaction) []line {
			names := map[string]string{payer.ID: "payer", payee.ID: "payee"}
			var out []line
			for _, en := range tr.Entries {
				out = append(out, line{names[en.AccountID], en.Seq, en.Side, en.Kind, en.Amount, en.After})
			}
			return out
		}
		wantHold := []line{
			{"payer", 2, ledger.Debit, ledger.EntryPending, 6000, ledger.Balances{CreditsPosted: 10000, DebitsPending: 6000}},
			{"payee", 1, ledger.Credit, ledger.EntryPending, 6000, ledger.Balances{CreditsPending: 6000}},
		}
		wantPost := []line{
			{"payer", 3, ledger.Debit, ledger.EntryRelease, 6000, ledger.Balances{CreditsPosted: 10000}},
			{"payee", 2, ledger.Credit, ledger.EntryRelease, 6000, ledger.Balances{}},
			{"payer", 4, ledger.Debit, ledger.EntryPosted, 4000, ledger.Balances{CreditsPosted: 10000, DebitsPosted: 4000}},
			{"payee", 3, ledger.Credit, ledger.EntryPosted, 4000, ledger.Balances{CreditsPosted: 4000}},
		}
		for _, c := range []struct {
			name string
			tr   *ledger.Transaction
			want []line
		}{{"hold", h, wantHold}, {"post", p, wantPost}} {
			if diff := cmp.Diff(c.want, lines(c.tr)); diff != "" {
				t.Errorf("%s entries (-want +got):\n%s", c.name, diff)
			}
			stored, err := e.l.GetTransaction(e.ctx, c.tr.ID)
			if err != nil {
				t.Fatalf("GetTransaction: %v", err)
			}
			if diff := cmp.Diff(c.tr, stored); diff != "" {
				t.Errorf("%s: stored transaction differs from the answer (-answer +stored):\n%s", c.name, diff)
			}
		}
		if h.Kind != ledger.KindHold || p.Kind != ledger.KindPost || p.HoldID != h.ID || !h.ExpiresAt.IsZero() {
			t.Errorf("hold kind %s expires %v; post kind %s of hold %q", h.Kind, h.ExpiresAt, p.Kind, p.HoldID)
		}
		e.verify()
	})
}

func TestHoldManyPostings(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, payer, merchant, fee := e.bank(), e.wallet(), e.wallet(), e.wallet()
		e.fund(bank, payer, 10000)
		h := e.post(ledger.Request{Kind: ledger.KindHold, Reference: "hold-1", Postings: []ledger.Posting{
			{Debit: payer.ID, Credit: merchant.ID, Asset: "CNY", Amount: 3000},
			{Debit: payer.ID, Credit: fee.ID, Asset: "CNY", Amount: 200},
		}})
		if diff := cmp.Diff(ledger.Balances{CreditsPosted: 10000, DebitsPending: 3200}, e.balances(payer)); diff != "" {
			t.Errorf("payer while held (-want +got):\n%s", diff)
		}

		for _, c := range []struct {
			name string
			req  ledger.Request
			want rejection
		}{
			{"one amount for two postings", postReq("post-1", h.ID, 2500), rejection{ledger.CodeInvalidRequest, "amounts"}},
			{"three amounts for two postings", postReq("post-1", h.ID, 2500, 200, 1), rejection{ledger.CodeInvalidRequest, "amounts"}},
			{"more than the first posting", postReq("post-1", h.ID, 3001, 200), rejection{ledger.CodePostExceedsHold, "amounts[0]"}},
			{"more than the second posting", postReq("post-1", h.ID, 3000, 201), rejection{ledger.CodePostExceedsHold, "amounts[1]"}},
		} {
			if got := e.attempt(c.req); got != c.want {
				t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
			}
		}

		p := e.post(postReq("post-1", h.ID, 2500, 200))
		want := []ledger.Posting{
			{Debit: payer.ID, Credit: merchant.ID, Asset: "CNY", Amount: 2500},
			{Debit: payer.ID, Credit: fee.ID, Asset: "CNY", Amount: 200},
		}
		if diff := cmp.Diff(want, p.Postings); diff != "" {
			t.Errorf("posted (-want +got):\n%s", diff)
		}
		for _, c := range []struct {
			name string
			acct *ledger.Account
			want ledger.Balances
		}{
			{"payer", payer, ledger.Balances{CreditsPosted: 10000, DebitsPosted: 2700}},
			{"merchant", merchant, ledger.Balances{CreditsPosted: 2500}},
			{"fee", fee, ledger.Balances{CreditsPosted: 200}},
		} {
			if diff := cmp.Diff(c.want, e.balances(c.acct)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", c.name, diff)
			}
		}
		e.verify()
	})
}

func TestHoldRejections(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, payer, payee := e.bank(), e.wallet(), e.wallet()
		e.fund(bank, payer, 10000)
		posted := e.post(holdReq("held-then-posted", payer, payee, 1000, 0))
		e.post(postReq("post-it", posted.ID, 500))
		voided := e.post(holdReq("held-then-voided", payer, payee, 1000, 0))
		e.post(voidReq("void-it", voided.ID))
		open := e.post(holdReq("held", payer, payee, 1000, 0))
		// A hold of another institution is not found, whoever asks.
		bank2 := e.accountIn("inst2", "CNY", ledger.Debit, ledger.OverdraftUnlimited, 0)
		w2 := e.accountIn("inst2", "CNY", ledger.Credit, ledger.OverdraftNone, 0)
		r := holdReq("held-elsewhere", bank2, w2, 1000, 0)
		r.InstitutionID = "inst2"
		foreign := e.post(r)
		notATransfer := e.post(transfer("plain", payer, payee, 1))

		notFound := rejection{ledger.CodeHoldNotFound, "hold_id"}
		tests := []struct {
			name string
			req  ledger.Request
			want rejection
		}{
			{"post an unknown hold", postReq("r", "no-such-hold"), notFound},
			{"void an unknown hold", voidReq("r", "no-such-hold"), notFound},
			{"post another institution's hold", postReq("r", foreign.ID), notFound},
			{"void another institution's hold", voidReq("r", foreign.ID), notFound},
			{"post a transfer", postReq("r", notATransfer.ID), notFound},
			{"post a posted hold", postReq("r", posted.ID), rejection{ledger.CodeHoldAlreadyPosted, "hold_id"}},
			{"void a posted hold", voidReq("r", posted.ID), rejection{ledger.CodeHoldAlreadyPosted, "hold_id"}},
			{"post a voided hold", postReq("r", voided.ID), rejection{ledger.CodeHoldAlreadyVoided, "hold_id"}},
			{"void a voided hold", voidReq("r", voided.ID), rejection{ledger.CodeHoldAlreadyVoided, "hold_id"}},
			{"post more than held", postReq("r", open.ID, 1001), rejection{ledger.CodePostExceedsHold, "amounts[0]"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.sub(t)
				if got := e.attempt(tc.req); got != tc.want {
					t.Errorf("got %+v, want %+v", got, tc.want)
				}
			})
		}
		// Nothing changed: the open hold still reserves its amount.
		want := ledger.Balances{CreditsPosted: 10000, DebitsPosted: 501, DebitsPending: 1000}
		if diff := cmp.Diff(want, e.balances(payer)); diff != "" {
			t.Errorf("payer (-want +got):\n%s", diff)
		}
		if got, err := e.l.GetHold(e.ctx, foreign.ID); err != nil || got.Status != ledger.HoldPending {
			t.Errorf("foreign hold: %+v, %v; want pending", got, err)
		}
		e.verify()
	})
}

func TestHoldExpiry(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, payer, payee := e.bank(), e.wallet(), e.wallet()
		e.fund(bank, payer, 10000)
		e.clock.Advance(time.Second)
		early := e.post(holdReq("posted-in-time", payer, payee, 1000, time.Minute))
		h := e.post(holdReq("expiring", payer, payee, 3000, time.Minute))
		if want := h.CreatedAt.Add(time.Minute); !h.ExpiresAt.Equal(want) {
			t.Fatalf("expires at %v, want %v", h.ExpiresAt, want)
		}
		held := ledger.Balances{CreditsPosted: 10000, DebitsPending: 3000}

		// Just before the expiry the hold can still be posted.
		e.clock.Set(early.ExpiresAt.Add(-time.Microsecond))
		e.post(postReq("post-in-time", early.ID))
		held.DebitsPosted = 1000
		if got := e.status(h.ID); got != ledger.HoldPending {
			t.Errorf("status just before expiry = %s, want pending", got)
		}

		// At the expiry it is expired, before any sweep.
		e.clock.Set(h.ExpiresAt)
		expired := rejection{ledger.CodeHoldExpired, "hold_id"}
		for _, c := range []struct {
			name string
			req  ledger.Request
		}{
			{"post", postReq("post-late", h.ID)},
			{"post part", postReq("post-part-late", h.ID, 1)},
			{"void", voidReq("void-late", h.ID)},
		} {
			if got := e.attempt(c.req); got != expired {
				t.Errorf("%s before the sweep: got %+v, want %+v", c.name, got, expired)
			}
		}
		if got := e.status(h.ID); got != ledger.HoldExpired {
			t.Errorf("status before the sweep = %s, want expired", got)
		}
		if diff := cmp.Diff(held, e.balances(payer)); diff != "" {
			t.Errorf("payer before the sweep: still reserved (-want +got):\n%s", diff)
		}

		// The sweep gives the reservation back.
		e.clock.Advance(time.Hour)
		n, err := e.l.ExpireHolds(e.ctx)
		if err != nil || n != 1 {
			t.Fatalf("ExpireHolds = %d, %v; want 1", n, err)
		}
		held.DebitsPending = 0
		if diff := cmp.Diff(held, e.balances(payer)); diff != "" {
			t.Errorf("payer after the sweep (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(ledger.Balances{CreditsPosted: 1000}, e.balances(payee)); diff != "" {
			t.Errorf("payee after the sweep (-want +got):\n%s", diff)
		}
		got, err := e.l.GetHold(e.ctx, h.ID)
		if err != nil {
			t.Fatalf("GetHold: %v", err)
		}
		sweep, err := e.l.GetTransactionByReference(e.ctx, "inst1", "hold-expiry:"+h.ID)
		if err != nil {
			t.Fatalf("the sweep's void: %v", err)
		}
		if got.Status != ledger.HoldExpired || got.ResolvedBy != sweep.ID {
			t.Errorf("hold %s resolved by %q, want expired resolved by %q", got.Status, got.ResolvedBy, sweep.ID)
		}
		if sweep.Kind != ledger.KindVoid || sweep.Type != "hold_expiry" || sweep.HoldID != h.ID {
			t.Errorf("sweep transaction: kind %s type %s hold %s; want void, hold_expiry, %s", sweep.Kind, sweep.Type, sweep.HoldID, h.ID)
		}

		// A second sweep finds nothing; the hold stays expired.
		n, err = e.l.ExpireHolds(e.ctx)
		if err != nil || n != 0 {
			t.Errorf("second ExpireHolds = %d, %v; want 0", n, err)
		}
		if diff := cmp.Diff(held, e.balances(payer)); diff != "" {
			t.Errorf("payer after the second sweep (-want +got):\n%s", diff)
		}
		for _, c := range []struct {
			name string
			req  ledger.Request
		}{{"post", postReq("post-after-sweep", h.ID)}, {"void", voidReq("void-after-sweep", h.ID)}} {
			if got := e.attempt(c.req); got != expired {
				t.Errorf("%s after the sweep: got %+v, want %+v", c.name, got, expired)
			}
		}
		e.verify()
	})
}

func TestHoldWithoutExpiry(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, payer, payee := e.bank(), e.wallet(), e.wallet()
		e.fund(bank, payer, 10000)
		h := e.post(holdReq("forever", payer, payee, 3000, 0))
		if !h.ExpiresAt.IsZero() {
			t.Errorf("expires at %v, want never", h.ExpiresAt)
		}
		e.clock.Advance(20 * 365 * 24 * time.Hour)
		if n, err := e.l.ExpireHolds(e.ctx); err != nil || n != 0 {
			t.Errorf("ExpireHolds = %d, %v; want 0", n, err)
		}
		if got := e.status(h.ID); got != ledger.HoldPending {
			t.Errorf("status after twenty years = %s, want pending", got)
		}
		e.post(postReq("post", h.ID))
		if diff := cmp.Diff(ledger.Balances{CreditsPosted: 3000}, e.balances(payee)); diff != "" {
			t.Errorf("payee (-want +got):\n%s", diff)
		}
		e.verify()
	})
}

func TestListHolds(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, w1, w2, w3 := e.bank(), e.wallet(), e.wallet(), e.wallet()
		e.fund(bank, w1, 10000)
		e.fund(bank, w2, 10000)
		pending := e.post(holdReq("pending", w1, w3, 100, 0))
		posted := e.post(holdReq("posted", w1, w3, 100, 0))
		e.post(postReq("post", posted.ID))
		voided := e.post(holdReq("voided", w2, w3, 100, 0))
		e.post(voidReq("void", voided.ID))
		swept1 := e.post(holdReq("swept-1", w1, w3, 100, time.Minute))
		swept2 := e.post(holdReq("swept-2", w2, w3, 100, time.Minute))
		later := e.post(holdReq("later", w2, w3, 100, time.Hour))
		bank2 := e.accountIn("inst2", "CNY", ledger.Debit, ledger.OverdraftUnlimited, 0)
		x := e.accountIn("inst2", "CNY", ledger.Credit, ledger.OverdraftNone, 0)
		r := holdReq("elsewhere", bank2, x, 100, 0)
		r.InstitutionID = "inst2"
		elsewhere := e.post(r)

		// Two holds expire and are swept; one more expires after the sweep.
		e.clock.Set(swept2.ExpiresAt)
		if n, err := e.l.ExpireHolds(e.ctx); err != nil || n != 2 {
			t.Fatalf("ExpireHolds = %d, %v; want 2", n, err)
		}
		notSwept := e.post(holdReq("not-swept", w1, w3, 100, time.Second))
		e.clock.Set(notSwept.ExpiresAt)

		ids := func(hs []*ledger.Hold) []string {
			var out []string
			for _, h := range hs {
				out = append(out, h.ID)
			}
			return out
		}
		idsOf := func(trs ...*ledger.Transaction) []string {
			var out []string
			for _, t := range trs {
				out = append(out, t.ID)
			}
			return out
		}
		tests := []struct {
			name   string
			filter ledger.HoldFilter
			want   []string
		}{
			{"all", ledger.HoldFilter{}, idsOf(pending, posted, voided, swept1, swept2, later, elsewhere, notSwept)},
			{"pending", ledger.HoldFilter{Status: ledger.HoldPending}, idsOf(pending, later, elsewhere)},
			{"expired, swept or not", ledger.HoldFilter{Status: ledger.HoldExpired}, idsOf(swept1, swept2, notSwept)},
			{"posted", ledger.HoldFilter{Status: ledger.HoldPosted}, idsOf(posted)},
			{"voided", ledger.HoldFilter{Status: ledger.HoldVoided}, idsOf(voided)},
			{"on w1", ledger.HoldFilter{AccountID: w1.ID}, idsOf(pending, posted, swept1, notSwept)},
			{"on w2, expired", ledger.HoldFilter{AccountID: w2.ID, Status: ledger.HoldExpired}, idsOf(swept2)},
			{"on w3, pending", ledger.HoldFilter{AccountID: w3.ID, Status: ledger.HoldPending}, idsOf(pending, later)},
			{"inst2", ledger.HoldFilter{InstitutionIDs: []string{"inst2"}}, idsOf(elsewhere)},
			{"no institution", ledger.HoldFilter{InstitutionIDs: []string{}}, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.sub(t)
				got, next, err := e.l.ListHolds(e.ctx, tc.filter)
				if err != nil {
					t.Fatalf("ListHolds: %v", err)
				}
				if diff := cmp.Diff(tc.want, ids(got), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
					t.Errorf("holds (-want +got):\n%s", diff)
				}
				if next != "" {
					t.Errorf("next = %q, want none", next)
				}
			})
		}

		t.Run("statuses reported", func(t *testing.T) {
			e := e.sub(t)
			for _, c := range []struct {
				id   string
				want ledger.HoldStatus
			}{
				{pending.ID, ledger.HoldPending}, {posted.ID, ledger.HoldPosted}, {voided.ID, ledger.HoldVoided},
				{swept1.ID, ledger.HoldExpired}, {notSwept.ID, ledger.HoldExpired}, {later.ID, ledger.HoldPending},
			} {
				if got := e.status(c.id); got != c.want {
					t.Errorf("hold %s: status %s, want %s", c.id, got, c.want)
				}
			}
			if _, err := e.l.GetHold(e.ctx, "no-such-hold"); ledger.ErrorCode(err) != ledger.CodeHoldNotFound {
				t.Errorf("GetHold(unknown): got %v, want hold_not_found", err)
			}
		})

		t.Run("pages", func(t *testing.T) {
			e := e.sub(t)
			var all []string
			after, pages := "", 0
			for {
				got, next, err := e.l.ListHolds(e.ctx, ledger.HoldFilter{After: after, Limit: 3})
				if err != nil {
					t.Fatalf("ListHolds: %v", err)
				}
				pages++
				all = append(all, ids(got)...)
				if next == "" {
					break
				}
				after = next
			}
			want, _, _ := e.l.ListHolds(e.ctx, ledger.HoldFilter{})
			if diff := cmp.Diff(ids(want), all); diff != "" || pages != 3 {
				t.Errorf("paged through %d pages (want 3); holds (-want +got):\n%s", pages, diff)
			}
		})
		e.verify()
	})
}

// TestExpiryReferenceTaken: a client reference that happens to be the one
// the sweeper uses for a hold's expiry must not keep the hold's reservation
// forever: once expired, the hold can be neither posted nor voided, so the
// sweep is the only way its amounts come back.
func TestExpiryReferenceTaken(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		bank, payer, payee := e.bank(), e.wallet(), e.wallet()
		e.fund(bank, payer, 1000)
		h := e.post(holdReq("hold", payer, payee, 1000, time.Minute))
		// Refusing the reference would do; so would a sweep that copes.
		e.attempt(transfer("hold-expiry:"+h.ID, bank, payee, 1))
		e.clock.Set(h.ExpiresAt)
		if n, err := e.l.ExpireHolds(e.ctx); err != nil || n != 1 {
			t.Errorf("ExpireHolds = %d, %v; want 1", n, err)
		}
		if diff := cmp.Diff(ledger.Balances{CreditsPosted: 1000}, e.balances(payer)); diff != "" {
			t.Errorf("payer after the sweep (-want +got):\n%s", diff)
		}
		e.verify()
	})
}
