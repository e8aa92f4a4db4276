package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
)

func TestCheckCommand(t *testing.T) {
	cleanEnv(t)
	path := filepath.Join(t.TempDir(), "suanpan.db")
	wallet := tamperedStore(t, path)
	if out := mustRun(t, exitProblems, "check", "--store", path); !strings.Contains(out, "trial balance unbalanced") {
		t.Errorf("check of a tampered store printed:\n%s", out)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Write.ExecContext(ctx, `UPDATE accounts SET credits_posted = credits_posted - 1 WHERE id = $1`, wallet); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, exitOK, "check", "--store", path); !strings.Contains(out, "inst1") || !strings.Contains(out, "OK") {
		t.Errorf("clean check printed:\n%s", out)
	}

	// A control account for 2001 that mirrors nothing: the wallet's
	// balance is the difference.
	l := ledger.New(db, ledger.Options{})
	control, err := l.CreateAccount(ctx, ledger.NewAccount{InstitutionID: "inst1", Asset: "CNY", Code: "2001", Name: "control", NormalSide: ledger.Credit})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.NewChecks(l).RegisterControl(ctx, control.ID, "test", nil); err != nil {
		t.Fatal(err)
	}
	l.Close()
	db.Close()

	out := mustRun(t, exitProblems, "check", "--store", path)
	if !strings.Contains(out, "1 difference(s)") || !strings.Contains(out, "difference -10000") {
		t.Errorf("check printed:\n%s", out)
	}
	var rep struct {
		OK   bool                 `json:"ok"`
		Runs []*accounts.CheckRun `json:"runs"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, exitProblems, "check", "--json", "--store", path, "--institution", "inst1")), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.OK || len(rep.Runs) != 1 || rep.Runs[0].Lines[0].SubTotal != 10000 || rep.Runs[0].Lines[0].SubAccounts != 1 {
		t.Errorf("check --json = %+v (wallet %s)", rep, wallet)
	}
}
