// Package storetest gives tests a freshly migrated store on every engine:
// SQLite always, and PostgreSQL when SUANPAN_TEST_POSTGRES_URL is set. Each
// call creates its own database (a temporary SQLite file, or a new PostgreSQL
// database that is dropped when the test ends), so tests and test runs never
// see each other's data.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/suanpan/suanpan/store"
)

// PostgresEnv names the environment variable holding the PostgreSQL URL that
// tests create their databases through.
const PostgresEnv = "SUANPAN_TEST_POSTGRES_URL"

// Engines lists the engines tests run on: sqlite, plus postgres when
// SUANPAN_TEST_POSTGRES_URL is set.
func Engines() []store.Dialect {
	if os.Getenv(PostgresEnv) != "" {
		return []store.Dialect{store.SQLite, store.Postgres}
	}
	return []store.Dialect{store.SQLite}
}

// Each runs fn as a subtest once per engine, each with its own fresh store.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, d := range Engines() {
		t.Run(string(d), func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}

// Open returns a freshly created and migrated store of the given engine,
// closed and removed when the test ends.
func Open(t testing.TB, d store.Dialect) *store.DB {
	t.Helper()
	loc := Location(t, d)
	db, err := store.Open(context.Background(), loc, store.Options{MaxConns: 8})
	if err != nil {
		t.Fatalf("open %s store: %v", d, err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s store: %v", d, err)
	}
	return db
}

// Location creates an empty database of the given engine and returns its
// location for store.Open. The database is removed when the test ends (after
// the caller's own cleanups, which close it).
func Location(t testing.TB, d store.Dialect) string {
	t.Helper()
	if d == store.SQLite {
		return filepath.Join(t.TempDir(), "suanpan.db")
	}
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skipf("%s is not set: skipping PostgreSQL", PostgresEnv)
	}
	name := "suanpan_test_" + randomHex(8)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("connect %s: %v", PostgresEnv, err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("connect to drop %s: %v", name, err)
			return
		}
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
