package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/suanpan/suanpan/internal/audit"
)

// AuditCmd groups the audit log's commands.
type AuditCmd struct {
	Verify AuditVerifyCmd `cmd:"" help:"Check the audit log's hash chain. Exit status 0: intact; 1: records altered, inserted or deleted; 2: error."`
}

// AuditVerifyCmd walks the audit log's hash chain and reports every break.
type AuditVerifyCmd struct {
	StoreFlags `embed:""`
	JSON       bool `name:"json" help:"Print the report as one JSON object."`
}

// Run verifies the chain and prints the report. It returns errProblems when
// the chain is broken.
func (c *AuditVerifyCmd) Run(ctx context.Context, a *app) (err error) {
	db, _, err := c.open(ctx, a.log)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	rep, err := audit.Verify(ctx, db)
	if err != nil {
		return err
	}
	if c.JSON {
		if rep.Problems == nil {
			rep.Problems = []audit.Problem{} // [] rather than null for consumers
		}
		if err := json.NewEncoder(a.stdout).Encode(rep); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	} else {
		printAuditReport(a.stdout, db.Name, rep)
	}
	if !rep.OK {
		return errProblems
	}
	return nil
}

func printAuditReport(w io.Writer, name string, rep *audit.Report) {
	fmt.Fprintf(w, "store     %s\n", name)
	fmt.Fprintf(w, "records   %d\n", rep.Records)
	fmt.Fprintf(w, "head      %d\n", rep.Head)
	if rep.OK {
		fmt.Fprintln(w, "result    OK")
		return
	}
	fmt.Fprintf(w, "result    %d problem(s)\n", len(rep.Problems))
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "  record %d: %s\n", p.Seq, p.Detail)
	}
}
