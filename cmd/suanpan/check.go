package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/suanpan/suanpan/internal/accounts"
)

// CheckCmd runs the total-score check (总分核对) and the trial balance on a
// live store and stores the runs, for a daily job: every registered control
// account against its sub-accounts, per institution.
type CheckCmd struct {
	StoreFlags  `embed:""`
	Institution []string `name:"institution" placeholder:"ID" help:"Check only these institutions (repeatable); default: every institution with accounts."`
	JSON        bool     `name:"json" help:"Print the runs as one JSON object."`
}

// Run checks and prints the runs. It returns errProblems when any
// institution has a difference or an unbalanced trial balance.
func (c *CheckCmd) Run(ctx context.Context, a *app) (err error) {
	_, l, done, err := c.openLedger(ctx, a.log)
	if err != nil {
		return err
	}
	defer done(&err)
	chk := accounts.NewChecks(l)
	insts := c.Institution
	if len(insts) == 0 {
		if insts, err = chk.Institutions(ctx); err != nil {
			return err
		}
	}
	runs, err := chk.Check(ctx, insts)
	if err != nil {
		return err
	}
	ok := true
	for _, r := range runs {
		ok = ok && r.OK
	}
	if c.JSON {
		if runs == nil {
			runs = []*accounts.CheckRun{}
		}
		if err := json.NewEncoder(a.stdout).Encode(map[string]any{"ok": ok, "runs": runs}); err != nil {
			return fmt.Errorf("write runs: %w", err)
		}
	} else {
		printCheckRuns(a.stdout, runs)
	}
	if !ok {
		return errProblems
	}
	return nil
}

func printCheckRuns(w io.Writer, runs []*accounts.CheckRun) {
	for _, r := range runs {
		result := "OK"
		if !r.OK {
			result = fmt.Sprintf("%d difference(s)", r.Differences)
			if !r.TrialBalance.Balanced {
				result += ", trial balance unbalanced"
			}
		}
		fmt.Fprintf(w, "%-20s %s (run %s)\n", r.InstitutionID, result, r.ID)
		for _, x := range r.Lines {
			if x.Difference != 0 {
				fmt.Fprintf(w, "  %s %s control %s: balance %d, sub-accounts %d (%d), difference %d\n",
					x.Code, x.Asset, x.ControlAccountID, x.ControlBalance, x.SubTotal, x.SubAccounts, x.Difference)
			}
		}
	}
	if len(runs) == 0 {
		fmt.Fprintln(w, "no institution has accounts")
	}
}
