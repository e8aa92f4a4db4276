package accounts_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// envBooks: opBooks plus an "envwallet" product allowing red_envelope on
// app (fee 10 fixed, paid by the payer), an envelope escrow account, a
// funded payer and recipients.
type envBooks struct {
	*opBooks
	escrow, payer string
	recipients    []string
}

func newEnvBooks(t *testing.T, db *store.DB, recipients int) *envBooks {
	t.Helper()
	ctx := context.Background()
	b := &envBooks{opBooks: newOpBooks(t, db)}
	products := accounts.NewProductService(db, b.clock)
	customers := accounts.NewCustomers(db, b.clock, mustKeyring(t, key1))
	w := wallet([]accounts.FeeRule{{Operation: accounts.OpRedEnvelope, Kind: accounts.FeeFixed, Fixed: 10,
		Payer: accounts.PartyPayer, Rounding: money.HalfEven, FeeAccountCode: "6021"}}, nil)
	w.InstitutionID, w.ID, w.Channels = "bank-a", "envwallet", []string{"app"}
	w.Operations = []string{accounts.OpTopup, accounts.OpRedEnvelope}
	if _, err := products.Create(ctx, w); err != nil {
		t.Fatal(err)
	}
	a, err := b.ledger.CreateAccount(ctx, ledger.NewAccount{InstitutionID: "bank-a", Asset: "CNY", Code: "2241", NormalSide: ledger.Credit})
	if err != nil {
		t.Fatal(err)
	}
	b.escrow = a.ID
	if _, err := b.ops.RegisterInternalAccount(ctx, accounts.InternalAccount{Role: accounts.RoleEnvelope, AccountID: b.escrow,
		RegisteredBy: "k1"}, nil); err != nil {
		t.Fatal(err)
	}
	open := func() string {
		cu := mustCreate(t, customers, accounts.NewCustomer{InstitutionID: "bank-a", Type: accounts.Personal, Name: "Customer"})
		o, err := b.lc.Open(ctx, accounts.OpenRequest{CustomerID: cu.ID, ProductID: "envwallet", OpenedBy: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		return o.Account.ID
	}
	b.payer = open()
	if _, err := b.ledger.Submit(ctx, []ledger.Request{{Kind: ledger.KindTransfer, InstitutionID: "bank-a", Reference: "fund-payer",
		Postings: []ledger.Posting{{Debit: b.clearing, Credit: b.payer, Asset: "CNY", Amount: 1000000}}}}, false); err != nil {
		t.Fatal(err)
	}
	for range recipients {
		b.recipients = append(b.recipients, open())
	}
	return b
}

func (b *envBooks) create(t *testing.T, ref string, total int64, count int, split string) *accounts.Envelope {
	t.Helper()
	res, err := b.ops.CreateEnvelope(context.Background(), accounts.EnvelopeRequest{Reference: ref, Account: b.payer,
		Channel: "app", Total: total, Count: count, Split: split, ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return res.Envelope
}

func (b *envBooks) balance(t *testing.T, id string) int64 {
	t.Helper()
	return b.balances(t, id)[id][0]
}

func TestEnvelopeCreate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newEnvBooks(t, db, 0)
		req := accounts.EnvelopeRequest{Reference: "e1", Account: b.payer, Channel: "app", Total: 1000, Count: 3,
			Split: accounts.SplitEqual, ExpiresIn: time.Hour}
		before := b.balances(t, b.payer, b.escrow, b.fees)
		res, err := b.ops.CreateEnvelope(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][2]int64{b.payer: {-1010, 0}, b.escrow: {1000, 0}, b.fees: {10, 0}}
		if got := moved(before, b.balances(t, b.payer, b.escrow, b.fees)); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("moved %v, want %v", got, want)
		}
		e := res.Envelope
		if e.Status != accounts.EnvelopeOpen || e.RemainingAmount != 1000 || e.RemainingCount != 3 || e.TransactionID != res.Transaction.ID ||
			!e.ExpiresAt.Equal(b.clock.Now().Add(time.Hour)) {
			t.Errorf("envelope %+v", e)
		}
		again, err := b.ops.CreateEnvelope(ctx, req)
		if err != nil || !again.Duplicate || again.Envelope.ID != e.ID {
			t.Errorf("retry %+v %v", again, err)
		}
		for name, r := range map[string]accounts.EnvelopeRequest{
			"count":  {Reference: "e2", Account: b.payer, Channel: "app", Total: 2, Count: 3, Split: accounts.SplitEqual, ExpiresIn: time.Hour},
			"split":  {Reference: "e3", Account: b.payer, Channel: "app", Total: 10, Count: 3, Split: "fair", ExpiresIn: time.Hour},
			"expiry": {Reference: "e4", Account: b.payer, Channel: "app", Total: 10, Count: 3, Split: accounts.SplitEqual},
		} {
			if _, err := b.ops.CreateEnvelope(ctx, r); errCode(err) != string(accounts.CodeInvalidRequest) {
				t.Errorf("%s: %v", name, err)
			}
		}
		// alice's product does not allow red envelopes.
		if _, err := b.ops.CreateEnvelope(ctx, accounts.EnvelopeRequest{Reference: "e5", Account: b.alice, Channel: "app", Total: 10,
			Count: 1, Split: accounts.SplitEqual, ExpiresIn: time.Hour}); errCode(err) != string(accounts.CodeOperationNotAllowed) {
			t.Errorf("not allowed: %v", err)
		}
		if _, err := b.ops.CreateEnvelope(ctx, accounts.EnvelopeRequest{Reference: "e6", Account: b.payer, Channel: "app", Total: 1 << 40,
			Count: 1, Split: accounts.SplitEqual, ExpiresIn: time.Hour}); errCode(err) != string(ledger.CodeInsufficientFunds) {
			t.Errorf("insufficient: %v", err)
		}
		var n int
		if err := db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM envelopes`).Scan(&n); err != nil || n != 1 {
			t.Errorf("%d envelopes (%v), want 1: a refused create records none", n, err)
		}
	})
}

func TestEnvelopeSharesSumExactly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newEnvBooks(t, db, 7)
		for _, tc := range []struct {
			split string
			total int64
		}{{accounts.SplitEqual, 1000}, {accounts.SplitRandom, 1000}, {accounts.SplitRandom, 7}, {accounts.SplitEqual, 7}, {accounts.SplitRandom, 100003}} {
			e := b.create(t, fmt.Sprintf("%s-%d", tc.split, tc.total), tc.total, 7, tc.split)
			var sum int64
			for i, r := range b.recipients {
				before := b.balance(t, r)
				res, err := b.ops.ClaimEnvelope(ctx, accounts.ClaimRequest{EnvelopeID: e.ID, Recipient: r})
				if err != nil {
					t.Fatalf("%s claim %d: %v", tc.split, i, err)
				}
				amt := res.Transaction.Postings[0].Amount
				if amt < 1 || b.balance(t, r)-before != amt {
					t.Errorf("%s claim %d: share %d", tc.split, i, amt)
				}
				if tc.split == accounts.SplitEqual && amt != tc.total/7 && amt != tc.total/7+1 {
					t.Errorf("equal share %d of %d", amt, tc.total)
				}
				sum += amt
			}
			if sum != tc.total {
				t.Errorf("%s %d: shares sum to %d", tc.split, tc.total, sum)
			}
			got, err := b.ops.GetEnvelope(ctx, e.ID, nil)
			if err != nil || got.Status != accounts.EnvelopeDone || got.RemainingAmount != 0 || got.RemainingCount != 0 || len(got.Claims) != 7 {
				t.Errorf("after all claims: %+v %v", got, err)
			}
			if _, err := b.ops.ClaimEnvelope(ctx, accounts.ClaimRequest{EnvelopeID: e.ID, Recipient: b.payer}); errCode(err) != string(accounts.CodeEnvelopeEmpty) {
				t.Errorf("claim of an empty envelope: %v", err)
			}
		}
		if got := b.balance(t, b.escrow); got != 0 {
			t.Errorf("escrow holds %d", got)
		}
	})
}

func TestEnvelopeClaimErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newEnvBooks(t, db, 2)
		e := b.create(t, "e1", 100, 5, accounts.SplitRandom)
		claim := func(r string) error {
			_, err := b.ops.ClaimEnvelope(ctx, accounts.ClaimRequest{EnvelopeID: e.ID, Recipient: r})
			return err
		}
		if err := claim(b.recipients[0]); err != nil {
			t.Fatal(err)
		}
		before := b.balances(t, b.recipients[0], b.escrow)
		if err := claim(b.recipients[0]); errCode(err) != string(accounts.CodeAlreadyClaimed) {
			t.Errorf("double claim: %v", err)
		}
		if got := moved(before, b.balances(t, b.recipients[0], b.escrow)); len(got) != 0 {
			t.Errorf("double claim moved %v", got)
		}
		if _, err := b.ops.ClaimEnvelope(ctx, accounts.ClaimRequest{EnvelopeID: "nope", Recipient: b.recipients[1]}); errCode(err) != string(accounts.CodeEnvelopeNotFound) {
			t.Errorf("unknown envelope: %v", err)
		}
		if _, err := b.ops.ClaimEnvelope(ctx, accounts.ClaimRequest{EnvelopeID: e.ID, Recipient: b.recipients[1], Scope: []string{"bank-b"}}); errCode(err) != string(accounts.CodeEnvelopeNotFound) {
			t.Errorf("out of scope: %v", err)
		}
		// A frozen recipient: the post is refused and the share released.
		if _, _, err := b.lc.Freeze(ctx, accounts.FreezeRequest{AccountID: b.recipients[1], Side: accounts.FreezeCredit,
			Authority: accounts.AuthorityRisk, Reason: "check", By: "k1"}); err != nil {
			t.Fatal(err)
		}
		if err := claim(b.recipients[1]); errCode(err) != string(ledger.CodeAccountFrozen) {
			t.Errorf("frozen recipient: %v", err)
		}
		got, _ := b.ops.GetEnvelope(ctx, e.ID, nil)
		if got.RemainingCount != 4 || len(got.Claims) != 1 {
			t.Errorf("after a refused claim: %+v", got)
		}
		b.clock.Advance(time.Hour)
		if err := claim(b.payer); errCode(err) != string(accounts.CodeEnvelopeExpired) {
			t.Errorf("expired: %v", err)
		}
	})
}

func TestEnvelopeConcurrentClaims(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newEnvBooks(t, db, 12)
		for _, split := range []string{accounts.SplitEqual, accounts.SplitRandom} {
			e := b.create(t, "c-"+split, 1001, 8, split)
			var wg sync.WaitGroup
			var mu sync.Mutex
			var sum int64
			ok, empty := 0, 0
			for _, r := range b.recipients {
				wg.Go(func() {
					res, err := b.ops.ClaimEnvelope(ctx, accounts.ClaimRequest{EnvelopeID: e.ID, Recipient: r})
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						ok++
						sum += res.Transaction.Postings[0].Amount
					case errCode(err) == string(accounts.CodeEnvelopeEmpty):
						empty++
					default:
						t.Errorf("claim: %v", err)
					}
				})
			}
			wg.Wait()
			if ok != 8 || empty != 4 || sum != 1001 {
				t.Errorf("%s: %d claims, %d empty, sum %d", split, ok, empty, sum)
			}
		}
		if got := b.balance(t, b.escrow); got != 0 {
			t.Errorf("escrow holds %d", got)
		}
	})
}

func TestEnvelopeExpiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newEnvBooks(t, db, 2)
		e := b.create(t, "e1", 1000, 4, accounts.SplitEqual)
		full := b.create(t, "e2", 10, 1, accounts.SplitEqual)
		var claimed int64
		for _, r := range b.recipients {
			res, err := b.ops.ClaimEnvelope(ctx, accounts.ClaimRequest{EnvelopeID: e.ID, Recipient: r})
			if err != nil {
				t.Fatal(err)
			}
			claimed += res.Transaction.Postings[0].Amount
		}
		if _, err := b.ops.ClaimEnvelope(ctx, accounts.ClaimRequest{EnvelopeID: full.ID, Recipient: b.recipients[0]}); err != nil {
			t.Fatal(err)
		}
		if n, err := b.ops.ExpireEnvelopes(ctx); err != nil || n != 0 {
			t.Errorf("before expiry: %d %v", n, err)
		}
		b.clock.Advance(time.Hour)
		before := b.balances(t, b.payer, b.escrow)
		if n, err := b.ops.ExpireEnvelopes(ctx); err != nil || n != 1 {
			t.Errorf("expiry: %d %v", n, err)
		}
		want := fmt.Sprint(map[string][2]int64{b.payer: {1000 - claimed, 0}, b.escrow: {-(1000 - claimed), 0}})
		if got := moved(before, b.balances(t, b.payer, b.escrow)); fmt.Sprint(got) != want {
			t.Errorf("expiry moved %v, want %v", got, want)
		}
		got, _ := b.ops.GetEnvelope(ctx, e.ID, nil)
		if got.Status != accounts.EnvelopeExpired || got.RemainingAmount != 0 {
			t.Errorf("expired envelope %+v", got)
		}
		if got, _ := b.ops.GetEnvelope(ctx, full.ID, nil); got.Status != accounts.EnvelopeDone {
			t.Errorf("a fully claimed envelope: %+v", got)
		}
		mid := b.balances(t, b.payer, b.escrow)
		if n, err := b.ops.ExpireEnvelopes(ctx); err != nil || n != 0 {
			t.Errorf("second run: %d %v", n, err)
		}
		if got := moved(mid, b.balances(t, b.payer, b.escrow)); len(got) != 0 {
			t.Errorf("second run moved %v", got)
		}
		if b.balance(t, b.escrow) != 0 {
			t.Errorf("escrow holds %d", b.balance(t, b.escrow))
		}
	})
}

// TestEnvelopeExpiryReleasesPending: a claim reserved but never posted
// (a crash between the two steps) is returned by expiry with the rest, and
// its retry afterwards is refused, never paid.
func TestEnvelopeExpiryReleasesPending(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newEnvBooks(t, db, 1)
		e := b.create(t, "e1", 900, 3, accounts.SplitEqual)
		// Simulate step 1 without step 2.
		if _, err := db.Write.ExecContext(ctx, `INSERT INTO envelope_claims (envelope_id, recipient_account, amount, status, claimed_at)
			VALUES ($1, $2, 300, 'pending', 0)`, e.ID, b.recipients[0]); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Write.ExecContext(ctx, `UPDATE envelopes SET remaining_amount = 600, remaining_count = 2 WHERE id = $1`, e.ID); err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(2 * time.Hour)
		before := b.balances(t, b.payer, b.escrow, b.recipients[0])
		if n, err := b.ops.ExpireEnvelopes(ctx); err != nil || n != 1 {
			t.Fatalf("expiry: %d %v", n, err)
		}
		want := fmt.Sprint(map[string][2]int64{b.payer: {900, 0}, b.escrow: {-900, 0}})
		if got := moved(before, b.balances(t, b.payer, b.escrow, b.recipients[0])); fmt.Sprint(got) != want {
			t.Errorf("expiry moved %v, want %v", got, want)
		}
		if _, err := b.ops.ClaimEnvelope(ctx, accounts.ClaimRequest{EnvelopeID: e.ID, Recipient: b.recipients[0]}); errCode(err) != string(accounts.CodeEnvelopeExpired) {
			t.Errorf("retry after expiry: %v", err)
		}
	})
}

// TestEnvelopeRetryCompletesPending: the retry of a claim whose transfer
// was never posted posts the reserved share.
func TestEnvelopeRetryCompletesPending(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newEnvBooks(t, db, 1)
		e := b.create(t, "e1", 900, 3, accounts.SplitEqual)
		if _, err := db.Write.ExecContext(ctx, `INSERT INTO envelope_claims (envelope_id, recipient_account, amount, status, claimed_at)
			VALUES ($1, $2, 300, 'pending', 0)`, e.ID, b.recipients[0]); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Write.ExecContext(ctx, `UPDATE envelopes SET remaining_amount = 600, remaining_count = 2 WHERE id = $1`, e.ID); err != nil {
			t.Fatal(err)
		}
		res, err := b.ops.ClaimEnvelope(ctx, accounts.ClaimRequest{EnvelopeID: e.ID, Recipient: b.recipients[0]})
		if err != nil || res.Transaction.Postings[0].Amount != 300 {
			t.Fatalf("retry: %+v %v", res, err)
		}
		got, _ := b.ops.GetEnvelope(ctx, e.ID, nil)
		if got.RemainingCount != 2 || got.Claims[0].Status != "done" || got.Claims[0].TransactionID != res.Transaction.ID {
			t.Errorf("after retry %+v", got)
		}
	})
}
