//go:build unix

package store_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/suanpan/suanpan/store"
)

// TestSQLiteFilesPrivate: the SQLite database file and its -wal and -shm
// files are readable by the owner only, also when an older run left them
// readable by others, whatever the umask.
func TestSQLiteFilesPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	ctx := context.Background()
	dir := t.TempDir()
	check := func(t *testing.T, path string) {
		t.Helper()
		db, err := store.Open(ctx, path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Write.Exec(`CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Write.Exec(`INSERT INTO kv VALUES ($1)`, path); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(name)
			if err != nil {
				t.Fatalf("stat: %v", err)
			}
			if got := fi.Mode().Perm(); got != 0o600 {
				t.Errorf("%s: mode %o, want 600", filepath.Base(name), got)
			}
		}
	}
	t.Run("new store", func(t *testing.T) { check(t, filepath.Join(dir, "new.db")) })
	t.Run("store left readable by others", func(t *testing.T) {
		path := filepath.Join(dir, "old.db")
		for _, name := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.WriteFile(name, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		check(t, path)
	})
}
