package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/suanpan/suanpan/ledger"
)

// VerifyCmd checks the ledger's invariants on a live store: every balance
// against its journal, every transaction balanced, holds and reversals
// consistent, the trial balance even.
type VerifyCmd struct {
	StoreFlags `embed:""`
	JSON       bool `name:"json" help:"Print the report as one JSON object."`
}

// Run verifies the ledger and prints the report. It returns errProblems when
// the ledger is inconsistent.
func (c *VerifyCmd) Run(ctx context.Context, a *app) (err error) {
	db, l, done, err := c.openLedger(ctx, a.log)
	if err != nil {
		return err
	}
	defer done(&err)
	rep, err := l.Verify(ctx)
	if err != nil {
		return err
	}
	if c.JSON {
		if rep.Problems == nil {
			rep.Problems = []ledger.Problem{} // [] rather than null for consumers
		}
		if err := json.NewEncoder(a.stdout).Encode(rep); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	} else {
		printVerifyReport(a.stdout, db.Name, rep)
	}
	if !rep.OK {
		return errProblems
	}
	return nil
}

func printVerifyReport(w io.Writer, name string, rep *ledger.VerifyReport) {
	fmt.Fprintf(w, "store         %s\n", name)
	fmt.Fprintf(w, "accounts      %d\n", rep.Accounts)
	fmt.Fprintf(w, "transactions  %d\n", rep.Transactions)
	fmt.Fprintf(w, "entries       %d\n", rep.Entries)
	fmt.Fprintf(w, "duration      %s\n", rep.Duration.Round(time.Millisecond/10))
	if rep.OK {
		fmt.Fprintln(w, "result        OK")
		return
	}
	fmt.Fprintf(w, "result        %d problem(s)\n", len(rep.Problems))
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "  %s %s: %s\n", p.Check, p.ID, p.Detail)
	}
}
