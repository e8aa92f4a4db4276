package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/suanpan/suanpan/internal/audit"
	"github.com/suanpan/suanpan/store"
)

func TestAuditVerify(t *testing.T) {
	cleanEnv(t)
	path := filepath.Join(t.TempDir(), "suanpan.db")
	db := auditedStore(t, path, 3)

	out := mustRun(t, exitOK, "audit", "verify", "--store", path)
	for _, want := range []string{"records   3", "head      3:", "result    OK"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit verify printed %q, want %q", out, want)
		}
	}
	var rep audit.Report
	if err := json.Unmarshal([]byte(mustRun(t, exitOK, "audit", "verify", "--json", "--store", path)), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Records != 3 || rep.Problems == nil {
		t.Errorf("audit verify --json = %+v, want ok, 3 records and an empty (non-null) problems list", rep)
	}

	// The printed head is an anchor for later runs.
	anchor := "3:" + rep.HeadHash
	if !strings.Contains(out, "head      "+anchor) {
		t.Errorf("audit verify printed %q, want the head as %s", out, anchor)
	}
	mustRun(t, exitOK, "audit", "verify", "--store", path, "--expect", anchor)
	out = mustRun(t, exitProblems, "audit", "verify", "--store", path, "--expect", "4:"+rep.HeadHash)
	if !strings.Contains(out, "record 4: the anchor kept outside the database is missing") {
		t.Errorf("audit verify with an anchor beyond the chain printed:\n%s", out)
	}
	mustRun(t, exitError, "audit", "verify", "--store", path, "--expect", "three")

	if _, err := db.Write.ExecContext(context.Background(), `UPDATE audit_log SET operation = 'accounts.thaw' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	out = mustRun(t, exitProblems, "audit", "verify", "--store", path)
	if !strings.Contains(out, "record 2: content does not match its hash") {
		t.Errorf("audit verify of a tampered log printed:\n%s\nwant record 2 reported altered", out)
	}
	if err := json.Unmarshal([]byte(mustRun(t, exitProblems, "audit", "verify", "--json", "--store", path)), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.OK || len(rep.Problems) == 0 || rep.Problems[0].Seq != 2 {
		t.Errorf("audit verify --json of a tampered log = %+v, want a problem at record 2", rep)
	}

	mustRun(t, exitError, "audit", "verify", "--store", "postgres://u:p@127.0.0.1:1/db?connect_timeout=1")
}

// auditedStore creates a store at path with n audit records and returns it
// open, for tampering.
func auditedStore(t *testing.T, path string, n int) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		err := db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
			_, err := audit.Append(ctx, tx, db.Dialect, audit.Record{At: time.Now(), KeyID: "k1", InstitutionID: "root",
				Operation: "accounts.freeze", Target: "account:a" + string(rune('0'+i)), After: map[string]any{"status": "frozen"}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return db
}
