package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/store"
)

func TestStatementsGenerate(t *testing.T) {
	cleanEnv(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "suanpan.db")
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// The same key file the command will use.
	keys, err := keyring("", db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cs := accounts.NewCustomers(db, clock.Real{}, keys)
	for _, name := range []string{"Alice", "Bob"} {
		if _, err := cs.Create(ctx, accounts.NewCustomer{InstitutionID: "inst1", Type: accounts.Personal, Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	out := mustRun(t, exitOK, "statements", "generate", "--store", path, "--month", "2026-10", "--institution", "inst1")
	if !strings.Contains(out, "inst1 2026-10: 2 generated, 0 already stored") {
		t.Errorf("first run printed %q", out)
	}
	out = mustRun(t, exitOK, "statements", "generate", "--store", path, "--month", "2026-10", "--institution", "inst1")
	if !strings.Contains(out, "0 generated, 2 already stored") {
		t.Errorf("second run printed %q; want the stored statements kept", out)
	}
	mustRun(t, exitError, "statements", "generate", "--store", path, "--month", "October", "--institution", "inst1")
}
