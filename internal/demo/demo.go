// Package demo seeds a store with a small made-up bank — an institution and
// a branch, a few hundred customer wallets with loyalty points, merchants
// and the bank's internal accounts, some thousands of top-ups, payments,
// transfers and reversals, and open holds — so that `suanpan demo` has
// something to show and to try the API on.
//
// It writes through the ledger and auth services like any module, in large
// batches so that seeding takes a second or two. Seeding is idempotent:
// accounts have fixed IDs and transactions fixed references, so a second
// run (or one resuming an interrupted seed) changes nothing. It must never
// run on a store that holds real money.
package demo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"

	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
)

// The sample's institutions.
const (
	Bank   = "demo-bank"        // the bank, under the root institution
	Branch = "demo-bank-pudong" // a branch of the bank
)

// The sample's sizes.
const (
	Wallets        = 300  // customer wallets of the bank, each with a points account
	BranchWallets  = 40   // customer wallets of the branch
	events         = 3000 // payments, transfers, top-ups and withdrawals after the first top-ups
	openHolds      = 30   // holds left pending, half of them with a timeout
	postedHolds    = 4
	voidedHolds    = 3
	reversals      = 8
	submitChunk    = 1000           // requests per ledger submission
	walletFloor    = 100_00         // no wallet's available balance goes below 100.00 CNY
	seed           = 20261102       // of the pseudo-random sample: the same data every time
	holdTimeoutMin = 24 * time.Hour // shortest timeout of a seeded hold
	holdTimeoutMax = 7 * 24 * time.Hour
)

var merchants = []string{"Lotus Tea House", "Yangtze Books", "Pearl Bakery", "Jade Bicycle Repair", "Golden Noodle Bar"}

// Sample is what Seed made (or found): the IDs the demo's examples use and
// the sample's size.
type Sample struct {
	// Seeded is false when the store held the sample already.
	Seeded bool
	// Wallets are the bank's CNY customer wallets; every one has at least
	// 100.00 CNY available.
	Wallets []string
	// Merchants are the bank's merchant settlement accounts.
	Merchants []string
	// Accounts, Transactions and Holds count what the seed made (Holds:
	// those it left pending); Count tells what the store holds now.
	Accounts, Transactions, Holds int
}

// accountID is the fixed ID of a sample account, a name-based UUID.
func accountID(name string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://suanpan.dev/demo/account/"+name)).String()
}

// plan is the sample's accounts, by role.
type plan struct {
	clearing, feeIncome, pointsExpense, branchClearing string
	wallets, points, merchants, branchWallets          []string
	accounts                                           []ledger.NewAccount
}

func newPlan() *plan {
	p := &plan{}
	add := func(name, inst, asset, code, display string, side ledger.Side, od ledger.Overdraft, meta map[string]string) string {
		id := accountID(name)
		p.accounts = append(p.accounts, ledger.NewAccount{ID: id, InstitutionID: inst, Asset: asset, Code: code,
			Name: display, NormalSide: side, Overdraft: od, Metadata: meta})
		return id
	}
	p.clearing = add("clearing", Bank, "CNY", "1002", "Bank clearing", ledger.Debit, ledger.OverdraftUnlimited, nil)
	p.feeIncome = add("fee-income", Bank, "CNY", "6021", "Fee income", ledger.Credit, ledger.OverdraftNone, nil)
	p.pointsExpense = add("points-expense", Bank, "POINTS", "6601", "Loyalty points issued", ledger.Debit, ledger.OverdraftUnlimited, nil)
	for i, m := range merchants {
		p.merchants = append(p.merchants, add(fmt.Sprintf("merchant-%d", i+1), Bank, "CNY", "2202",
			"Merchant settlement: "+m, ledger.Credit, ledger.OverdraftNone, map[string]string{"merchant": m}))
	}
	for i := range Wallets {
		c := fmt.Sprintf("C%04d", i+1)
		p.wallets = append(p.wallets, add("wallet-"+c, Bank, "CNY", "2001", "Wallet of customer "+c,
			ledger.Credit, ledger.OverdraftNone, map[string]string{"customer": c}))
		p.points = append(p.points, add("points-"+c, Bank, "POINTS", "2401", "Points of customer "+c,
			ledger.Credit, ledger.OverdraftNone, map[string]string{"customer": c}))
	}
	p.branchClearing = add("branch-clearing", Branch, "CNY", "1002", "Pudong branch clearing", ledger.Debit, ledger.OverdraftUnlimited, nil)
	for i := range BranchWallets {
		c := fmt.Sprintf("P%04d", i+1)
		p.branchWallets = append(p.branchWallets, add("wallet-"+c, Branch, "CNY", "2001", "Wallet of customer "+c,
			ledger.Credit, ledger.OverdraftNone, map[string]string{"customer": c}))
	}
	return p
}

// lastReference is the reference of the seed's last request: when it is in
// the ledger, the sample is complete.
var lastReference = fmt.Sprintf("void-%04d", voidedHolds)

// Seed makes the sample under the root institution root, or finds it made.
// The ledger and auth services must run on the same migrated store.
func Seed(ctx context.Context, l *ledger.Ledger, a *auth.Service, root string) (*Sample, error) {
	p := newPlan()
	s := &Sample{Wallets: p.wallets, Merchants: p.merchants, Accounts: len(p.accounts), Holds: openHolds}
	if _, err := l.GetTransactionByReference(ctx, Bank, lastReference); err == nil {
		s.Transactions = countTransactions()
		return s, nil
	} else if ledger.ErrorCode(err) != ledger.CodeTransactionNotFound {
		return nil, fmt.Errorf("demo: look for the sample: %w", err)
	}
	s.Seeded = true
	if err := institutions(ctx, a, root); err != nil {
		return nil, err
	}
	for _, asset := range []struct {
		code  string
		scale int
	}{{"CNY", 2}, {"POINTS", 0}} {
		if _, err := l.CreateAsset(ctx, asset.code, asset.scale); err != nil {
			return nil, fmt.Errorf("demo: asset %s: %w", asset.code, err)
		}
	}
	if _, err := l.GetAccount(ctx, p.accounts[0].ID); ledger.ErrorCode(err) == ledger.CodeAccountNotFound {
		if _, err := l.CreateAccounts(ctx, p.accounts); err != nil {
			return nil, fmt.Errorf("demo: accounts: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("demo: accounts: %w", err)
	}
	n, err := p.transactions(ctx, l)
	if err != nil {
		return nil, err
	}
	s.Transactions = n
	return s, nil
}

// institutions creates the bank and its branch unless they exist.
func institutions(ctx context.Context, a *auth.Service, root string) error {
	for _, inst := range []struct{ id, parent, name string }{
		{Bank, root, "Demo Bank"},
		{Branch, Bank, "Demo Bank Pudong Branch"},
	} {
		_, err := a.CreateInstitution(ctx, inst.id, inst.parent, inst.name)
		var ae *auth.Error
		if errors.As(err, &ae) && ae.Code == auth.CodeConflict {
			continue
		}
		if err != nil {
			return fmt.Errorf("demo: institution %s: %w", inst.id, err)
		}
	}
	return nil
}

// countTransactions is how many transactions the sample holds: the
// generator is deterministic, so planning it again counts them.
func countTransactions() int {
	p := newPlan()
	first := p.activity()
	return len(first) + reversals + postedHolds + voidedHolds
}

// transactions submits the sample's transactions in two rounds: the
// activity, then the posts, voids and reversals that name transactions of
// the first round. It returns how many there are.
func (p *plan) transactions(ctx context.Context, l *ledger.Ledger) (int, error) {
	first := p.activity()
	res, err := submit(ctx, l, first)
	if err != nil {
		return 0, err
	}
	var second []ledger.Request
	// Refund a few payments in full.
	refunded := 0
	for i, r := range first {
		if refunded == reversals {
			break
		}
		if r.Type == "payment" && i%97 == 0 {
			refunded++
			second = append(second, ledger.Request{Kind: ledger.KindReversal, InstitutionID: Bank, Type: "refund",
				Reference: fmt.Sprintf("refund-%04d", refunded), TransactionID: res[i].Transaction.ID})
		}
	}
	if refunded < reversals {
		return 0, fmt.Errorf("demo: found only %d payments to refund", refunded) // a bug in the generator
	}
	// Settle the holds placed last that are not to stay open: post some,
	// void others.
	var holds []string
	for i, r := range first {
		if r.Kind == ledger.KindHold {
			holds = append(holds, res[i].Transaction.ID)
		}
	}
	for i := range postedHolds {
		second = append(second, ledger.Request{Kind: ledger.KindPost, InstitutionID: Bank, Type: "capture",
			Reference: fmt.Sprintf("capture-%04d", i+1), HoldID: holds[openHolds+i]})
	}
	for i := range voidedHolds {
		second = append(second, ledger.Request{Kind: ledger.KindVoid, InstitutionID: Bank, Type: "cancel",
			Reference: fmt.Sprintf("void-%04d", i+1), HoldID: holds[openHolds+postedHolds+i]})
	}
	if _, err := submit(ctx, l, second); err != nil {
		return 0, err
	}
	return len(first) + len(second), nil
}

// activity generates the first round: top-ups of every wallet, then random
// payments (earning points), transfers, top-ups and withdrawals that never
// take a wallet below its floor, then holds, then the branch's top-ups.
func (p *plan) activity() []ledger.Request {
	rng := rand.New(rand.NewPCG(seed, seed))
	avail := make([]int64, len(p.wallets)) // each wallet's available CNY, as the requests leave it
	var reqs []ledger.Request
	transfer := func(inst, typ, ref string, meta map[string]string, ps ...ledger.Posting) {
		reqs = append(reqs, ledger.Request{Kind: ledger.KindTransfer, InstitutionID: inst, Type: typ, Reference: ref,
			Postings: ps, Metadata: meta})
	}
	cny := func(debit, credit string, amount int64) ledger.Posting {
		return ledger.Posting{Debit: debit, Credit: credit, Asset: "CNY", Amount: amount}
	}
	// spendable picks an amount from lo to hi minor units that wallet w can
	// pay without going below its floor; 0 when it cannot pay lo.
	spendable := func(w int, lo, hi int64) int64 {
		amount := lo + rng.Int64N(hi-lo+1)
		amount = min(amount, avail[w]-walletFloor)
		if amount < lo {
			return 0
		}
		return amount
	}

	for w, id := range p.wallets {
		amount := 500_00 + rng.Int64N(4500_00+1)
		avail[w] += amount
		transfer(Bank, "topup", fmt.Sprintf("opening-%04d", w+1), nil, cny(p.clearing, id, amount))
	}
	for i := range events {
		w := rng.IntN(len(p.wallets))
		switch x := rng.IntN(100); {
		case x < 55: // a payment at a merchant, less a 0.6% fee, earning a point per yuan
			amount := spendable(w, 5_00, 300_00)
			if amount == 0 {
				continue
			}
			m := rng.IntN(len(p.merchants))
			fee := max(amount*6/1000, 1)
			avail[w] -= amount
			ref := fmt.Sprintf("payment-%05d", i+1)
			transfer(Bank, "payment", ref, map[string]string{"merchant": merchants[m]},
				cny(p.wallets[w], p.merchants[m], amount), cny(p.merchants[m], p.feeIncome, fee))
			if points := amount / 100; points > 0 {
				transfer(Bank, "points_earn", fmt.Sprintf("points-%05d", i+1), map[string]string{"payment": ref},
					ledger.Posting{Debit: p.pointsExpense, Credit: p.points[w], Asset: "POINTS", Amount: points})
			}
		case x < 80: // a transfer to another customer
			to := rng.IntN(len(p.wallets))
			amount := spendable(w, 1_00, 500_00)
			if to == w || amount == 0 {
				continue
			}
			avail[w] -= amount
			avail[to] += amount
			transfer(Bank, "transfer", fmt.Sprintf("transfer-%05d", i+1), nil, cny(p.wallets[w], p.wallets[to], amount))
		case x < 90: // another top-up
			amount := 50_00 + rng.Int64N(1000_00)
			avail[w] += amount
			transfer(Bank, "topup", fmt.Sprintf("topup-%05d", i+1), nil, cny(p.clearing, p.wallets[w], amount))
		default: // a withdrawal to a bank card
			amount := spendable(w, 10_00, 1000_00)
			if amount == 0 {
				continue
			}
			avail[w] -= amount
			transfer(Bank, "withdrawal", fmt.Sprintf("withdrawal-%05d", i+1), nil, cny(p.wallets[w], p.clearing, amount))
		}
	}
	// Pre-authorizations at merchants: the first openHolds stay open, half
	// of them expiring in one to seven days; the rest are posted or voided
	// in the second round.
	for i := range openHolds + postedHolds + voidedHolds {
		var w int
		var amount int64
		for amount == 0 { // most wallets can pay; the generator is deterministic
			w = 2 + rng.IntN(len(p.wallets)-2) // not the two wallets the printed examples use
			amount = spendable(w, 10_00, 200_00)
		}
		avail[w] -= amount
		m := rng.IntN(len(p.merchants))
		var timeout time.Duration
		if i%2 == 0 {
			timeout = holdTimeoutMin + time.Duration(rng.Int64N(int64(holdTimeoutMax-holdTimeoutMin)))
			timeout = timeout.Truncate(time.Minute)
		}
		reqs = append(reqs, ledger.Request{Kind: ledger.KindHold, InstitutionID: Bank, Type: "preauth",
			Reference: fmt.Sprintf("preauth-%04d", i+1), Timeout: timeout, Metadata: map[string]string{"merchant": merchants[m]},
			Postings: []ledger.Posting{cny(p.wallets[w], p.merchants[m], amount)}})
	}
	for w, id := range p.branchWallets {
		transfer(Branch, "topup", fmt.Sprintf("topup-%04d", w+1), nil, cny(p.branchClearing, id, 200_00+rng.Int64N(2000_00)))
	}
	return reqs
}

// submit commits reqs in order, a chunk per submission, and fails on any
// rejection: the generator keeps every balance within its rules.
func submit(ctx context.Context, l *ledger.Ledger, reqs []ledger.Request) ([]ledger.Result, error) {
	out := make([]ledger.Result, 0, len(reqs))
	for start := 0; start < len(reqs); start += submitChunk {
		chunk := reqs[start:min(start+submitChunk, len(reqs))]
		res, err := l.Submit(ctx, chunk, false)
		if err != nil {
			return nil, fmt.Errorf("demo: submit: %w", err)
		}
		for i, r := range res {
			if r.Err != nil {
				return nil, fmt.Errorf("demo: %s: %w", chunk[i].String(), r.Err)
			}
		}
		out = append(out, res...)
	}
	return out, nil
}

// Census is what the sample's institutions hold in the store now: the
// figures the demo's welcome prints, so that they are the store's, however
// much the sample has moved on since it was seeded.
type Census struct {
	// Transactions are the ledger transactions of the bank and its branch:
	// the seeded ones, the account operations' and the payment orders'.
	Transactions int
	// OpenHolds are their holds still pending: the seeded pre-authorizations
	// and the holds of pay-outs the channel has not settled yet.
	OpenHolds int
}

// Count takes the census of the sample's institutions in db.
func Count(ctx context.Context, db *store.DB) (*Census, error) {
	c := &Census{}
	if err := db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM transactions WHERE institution_id IN ($1, $2)`,
		Bank, Branch).Scan(&c.Transactions); err != nil {
		return nil, fmt.Errorf("demo: count transactions: %w", err)
	}
	if err := db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM holds WHERE status = 'pending' AND institution_id IN ($1, $2)`,
		Bank, Branch).Scan(&c.OpenHolds); err != nil {
		return nil, fmt.Errorf("demo: count open holds: %w", err)
	}
	return c, nil
}
