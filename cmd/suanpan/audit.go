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
	Expect     []string `placeholder:"SEQ:HASH" help:"A record known from outside the database, as serve logs it (\"audit head\") and verify prints it: the chain must still hold it with that hash. Catches the newest records deleted together with a rewritten head. Repeatable."`
	JSON       bool     `name:"json" help:"Print the report as one JSON object."`
}

// Run verifies the chain and prints the report. It returns errProblems when
// the chain is broken.
func (c *AuditVerifyCmd) Run(ctx context.Context, a *app) (err error) {
	anchors := make([]audit.Anchor, len(c.Expect))
	for i, e := range c.Expect {
		if anchors[i], err = audit.ParseAnchor(e); err != nil {
			return err
		}
	}
	db, _, err := c.open(ctx, a.log)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	rep, err := audit.Verify(ctx, db, anchors...)
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
	fmt.Fprintf(w, "head      %d:%s\n", rep.Head, rep.HeadHash)
	if rep.OK {
		fmt.Fprintln(w, "result    OK")
		return
	}
	fmt.Fprintf(w, "result    %d problem(s)\n", len(rep.Problems))
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "  record %d: %s\n", p.Seq, p.Detail)
	}
}
