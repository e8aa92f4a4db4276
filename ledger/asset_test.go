package ledger_test

import (
	"context"
	"database/sql"
	"math"
	"testing"

	"github.com/suanpan/suanpan/ledger"
)

func TestDefaultMaxAmount(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		scale int
		want  int64
	}{
		{0, 1_000_000_000_000},
		{2, 100_000_000_000_000},
		{5, 100_000_000_000_000_000},
		{6, 1_000_000_000_000_000_000},
		{8, 1_000_000_000_000_000_000},
		{18, 1_000_000_000_000_000_000},
	} {
		if got := ledger.DefaultMaxAmount(tt.scale); got != tt.want {
			t.Errorf("DefaultMaxAmount(%d) = %d, want %d", tt.scale, got, tt.want)
		}
	}
}

// Every amount a transfer or hold takes, alone or in a batch, is checked
// against its asset's ceiling before anything moves.
func TestAmountCeiling(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		cny, err := e.l.GetAsset(e.ctx, "CNY")
		if err != nil || cny.MaxAmount != ledger.DefaultMaxAmount(2) {
			t.Fatalf("CNY %+v, %v: want the default ceiling", cny, err)
		}
		src, dst := e.account("CNY", ledger.Debit, ledger.OverdraftUnlimited, 0), e.account("CNY", ledger.Credit, ledger.OverdraftUnlimited, 0)
		e.post(transfer(e.ref("at"), src, dst, cny.MaxAmount))
		big := func(kind ledger.Kind, amount int64) ledger.Request {
			return ledger.Request{Kind: kind, Reference: e.ref("big"), Postings: []ledger.Posting{
				{Debit: src.ID, Credit: dst.ID, Asset: "CNY", Amount: 1},
				{Debit: src.ID, Credit: dst.ID, Asset: "CNY", Amount: amount}}}
		}
		want := rejection{Code: ledger.CodeAmountTooLarge, Field: "postings[1].amount"}
		for _, tt := range []struct {
			name string
			req  ledger.Request
		}{
			{"transfer", big(ledger.KindTransfer, cny.MaxAmount+1)},
			{"hold", big(ledger.KindHold, cny.MaxAmount+1)},
			{"the largest int64", big(ledger.KindTransfer, math.MaxInt64)},
		} {
			if got := e.attempt(tt.req); got != want {
				t.Errorf("%s: got %+v, want %+v", tt.name, got, want)
			}
		}
		res := e.submit([]ledger.Request{transfer(e.ref("ok"), src, dst, 5), big(ledger.KindTransfer, math.MaxInt64)}, false)
		if res[0].Err != nil || res[1].Err == nil || res[1].Err.Code != ledger.CodeAmountTooLarge {
			t.Errorf("batch: %+v", res)
		}

		// A lower ceiling applies to what comes next; an audit write rides along.
		var seen [2]int64
		a, err := e.l.SetMaxAmount(e.ctx, "CNY", 100, func(_ context.Context, _ *sql.Tx, before, after *ledger.Asset) error {
			seen = [2]int64{before.MaxAmount, after.MaxAmount}
			return nil
		})
		if err != nil || a.MaxAmount != 100 || seen != [2]int64{cny.MaxAmount, 100} {
			t.Fatalf("SetMaxAmount = %+v, %v; writes saw %v", a, err, seen)
		}
		e.post(transfer(e.ref("100"), src, dst, 100))
		if got := e.attempt(transfer(e.ref("101"), src, dst, 101)); got != (rejection{Code: ledger.CodeAmountTooLarge, Field: "postings[0].amount"}) {
			t.Errorf("above the new ceiling: %+v", got)
		}
		for _, bad := range []int64{0, -1} {
			if _, err := e.l.SetMaxAmount(e.ctx, "CNY", bad); ledger.ErrorCode(err) != ledger.CodeInvalidRequest {
				t.Errorf("SetMaxAmount(%d): %v", bad, err)
			}
		}
		if _, err := e.l.SetMaxAmount(e.ctx, "NOPE", 5); ledger.ErrorCode(err) != ledger.CodeAssetNotFound {
			t.Errorf("SetMaxAmount of an unknown asset: %v", err)
		}

		// Registering with a ceiling; again with another is a conflict.
		if a, err := e.l.RegisterAsset(e.ctx, ledger.NewAsset{Code: "USD", Scale: 2, MaxAmount: 1000}); err != nil || a.MaxAmount != 1000 {
			t.Errorf("RegisterAsset = %+v, %v", a, err)
		}
		if a, err := e.l.CreateAsset(e.ctx, "USD", 2); err != nil || a.MaxAmount != 1000 {
			t.Errorf("CreateAsset again = %+v, %v", a, err)
		}
		if _, err := e.l.RegisterAsset(e.ctx, ledger.NewAsset{Code: "USD", Scale: 2, MaxAmount: 2000}); ledger.ErrorCode(err) != ledger.CodeAssetExists {
			t.Errorf("RegisterAsset with another ceiling: %v", err)
		}
		if err := e.l.CheckAmount(e.ctx, "USD", 1001, "amount"); ledger.ErrorCode(err) != ledger.CodeAmountTooLarge {
			t.Errorf("CheckAmount: %v", err)
		}
		e.verify()
	})
}
