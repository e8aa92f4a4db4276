package bench_test

import (
	"context"
	"testing"

	"github.com/suanpan/suanpan/internal/bench"
)

// TestRunRecon runs the reconciliation benchmark small: every fault kind
// shows up, the ledger verifies and suspense explains what stays open.
func TestRunRecon(t *testing.T) {
	rep, err := bench.RunRecon(context.Background(), bench.ReconConfig{Orders: 20_000, FaultRate: 500, Seed: 7}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", rep)
	if !rep.VerifyOK || !rep.BooksOK {
		t.Errorf("verify %v, books %v", rep.VerifyOK, rep.BooksOK)
	}
	for _, k := range []string{"matched", "late", "amount_mismatch", "fee_mismatch", "duplicate"} {
		if rep.Counts[k] == 0 {
			t.Errorf("no %s items: %v", k, rep.Counts)
		}
	}
	if rep.Lines < 19_000 || rep.Counts["matched"] < 18_000 {
		t.Errorf("lines %d, counts %v", rep.Lines, rep.Counts)
	}
}
