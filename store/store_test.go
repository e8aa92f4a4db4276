package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// The storage conformance suite: what the rest of Suanpan relies on from a
// store, checked on every engine (after HashiCorp Vault's ExerciseBackend).

func createKV(t *testing.T, db *store.DB) {
	t.Helper()
	if _, err := db.Write.Exec(`CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL)`); err != nil {
		t.Fatalf("create table: %v", err)
	}
}

func count(t *testing.T, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) int {
	t.Helper()
	var n int
	if err := q.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM kv`).Scan(&n); err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}

func insert(ctx context.Context, tx *sql.Tx, d store.Dialect, k string, v int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES (`+d.Placeholder(1)+`, `+d.Placeholder(2)+`)`, k, v)
	return err
}

func TestMigrate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		n, err := db.Migrate(ctx) // storetest has migrated once already
		if err != nil || n != 0 {
			t.Fatalf("second Migrate = %d, %v; want 0 migrations, no error", n, err)
		}
		cur, latest, err := db.SchemaVersion(ctx)
		if err != nil || cur != latest || cur < 2 {
			t.Fatalf("SchemaVersion = %d, %d, %v; want current = latest >= 2", cur, latest, err)
		}
	})
}

func TestInTx(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		createKV(t, db)
		d := db.Dialect

		t.Run("commits", func(t *testing.T) {
			if err := db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error { return insert(ctx, tx, d, "a", 1) }); err != nil {
				t.Fatal(err)
			}
			if got := count(t, db.Read); got != 1 {
				t.Fatalf("rows = %d, want 1", got)
			}
		})
		t.Run("an error rolls back and is returned as it is", func(t *testing.T) {
			boom := errors.New("boom")
			err := db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
				if err := insert(ctx, tx, d, "b", 2); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("err = %v, want boom", err)
			}
			if got := count(t, db.Read); got != 1 {
				t.Fatalf("rows = %d, want 1: the failed transaction left a row", got)
			}
		})
		t.Run("a retryable error runs the transaction again", func(t *testing.T) {
			attempts := 0
			err := db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
				attempts++
				if err := insert(ctx, tx, d, "c", 3); err != nil {
					return err
				}
				if attempts == 1 {
					return &pgconn.PgError{Code: "40001", Message: "could not serialize access"}
				}
				return nil
			})
			if err != nil || attempts != 2 {
				t.Fatalf("err = %v after %d attempts; want success on the second", err, attempts)
			}
			if got := count(t, db.Read); got != 2 {
				t.Fatalf("rows = %d, want 2 (the first attempt rolled back)", got)
			}
		})
		t.Run("retries are bounded", func(t *testing.T) {
			attempts := 0
			err := db.InTx(ctx, store.TxOptions{}, func(*sql.Tx) error {
				attempts++
				return &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}
			})
			if err == nil || attempts != store.MaxAttempts || !strings.Contains(err.Error(), "gave up") {
				t.Fatalf("err = %v after %d attempts; want giving up after %d", err, attempts, store.MaxAttempts)
			}
		})
		t.Run("unique violations are recognised and retried only when asked", func(t *testing.T) {
			var dupErr error
			err := db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
				dupErr = insert(ctx, tx, d, "a", 9)
				return dupErr
			})
			if _, ok := store.UniqueViolation(err); !ok {
				t.Fatalf("duplicate key: %v, not recognised as a unique violation", err)
			}
			if name, _ := store.UniqueViolation(err); d == store.Postgres && name != "kv_pkey" {
				t.Errorf("constraint = %q, want kv_pkey", name)
			}
			attempts := 0
			err = db.InTx(ctx, store.TxOptions{RetryIf: func(err error) bool { _, ok := store.UniqueViolation(err); return ok }},
				func(tx *sql.Tx) error {
					attempts++
					if attempts == 1 {
						return insert(ctx, tx, d, "a", 9)
					}
					return insert(ctx, tx, d, "a2", 9)
				})
			if err != nil || attempts != 2 {
				t.Fatalf("err = %v after %d attempts; want success on the second", err, attempts)
			}
		})
		t.Run("a read-only transaction reads one snapshot", func(t *testing.T) {
			err := db.InTx(ctx, store.TxOptions{ReadOnly: true}, func(tx *sql.Tx) error {
				before := count(t, tx)
				if err := db.InTx(ctx, store.TxOptions{}, func(w *sql.Tx) error { return insert(ctx, w, d, "snap", 1) }); err != nil {
					return err
				}
				if after := count(t, tx); after != before {
					t.Errorf("count changed from %d to %d inside one read-only transaction", before, after)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
		t.Run("read-only transactions cannot write", func(t *testing.T) {
			err := db.InTx(ctx, store.TxOptions{ReadOnly: true}, func(tx *sql.Tx) error { return insert(ctx, tx, d, "ro", 1) })
			if err == nil {
				t.Fatal("a write in a read-only transaction succeeded")
			}
		})
	})
}

func TestPlaceholdersBindInOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := db.Dialect
		var got string
		q := `SELECT CAST(` + d.Placeholder(1) + ` AS TEXT) || CAST(` + d.Placeholder(2) + ` AS TEXT) || CAST(` + d.Placeholder(3) + ` AS TEXT)`
		if err := db.Read.QueryRow(q, "a", "b", "c").Scan(&got); err != nil || got != "abc" {
			t.Fatalf("got %q, %v; want abc", got, err)
		}
	})
}

func TestPgxBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if db.Dialect != store.Postgres {
			t.Skip("a PostgreSQL pipeline")
		}
		ctx := context.Background()
		createKV(t, db)
		err := db.InConnTx(ctx, store.TxOptions{}, func(conn *sql.Conn, tx *sql.Tx) error {
			affected, err := store.PgxBatch(ctx, conn, func(b *pgx.Batch) {
				b.Queue(`INSERT INTO kv (k, v) SELECT * FROM unnest($1::text[], $2::bigint[])`, []string{"x", "y"}, []int64{1, 2})
				b.Queue(`UPDATE kv SET v = v + 1`)
			})
			if err != nil {
				return err
			}
			if len(affected) != 2 || affected[0] != 2 || affected[1] != 2 {
				t.Errorf("affected = %v, want [2 2]", affected)
			}
			// The pipeline ran inside tx.
			if n := count(t, tx); n != 2 {
				t.Errorf("rows seen by tx = %d, want 2", n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestClaimEngine(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	if !db.ClaimEngine() {
		t.Fatal("first claim refused")
	}
	if db.ClaimEngine() {
		t.Fatal("second claim granted")
	}
	db.ReleaseEngine()
	if !db.ClaimEngine() {
		t.Fatal("claim after release refused")
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t.Run("creates the SQLite file and its directory", func(t *testing.T) {
		path := filepath.Join(dir, "a", "b", "s.db")
		db, err := store.Open(ctx, "sqlite:"+path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("no file: %v", err)
		}
		var mode, sync string
		if err := db.Write.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal_mode = %q, %v; want wal", mode, err)
		}
		if err := db.Write.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil || sync != "2" {
			t.Errorf("synchronous = %q, %v; want 2 (FULL) by default", sync, err)
		}
	})
	t.Run("normal durability on request", func(t *testing.T) {
		db, err := store.Open(ctx, filepath.Join(dir, "n.db"), store.Options{SQLiteSynchronous: "normal"})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var sync string
		if err := db.Write.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil || sync != "1" {
			t.Errorf("synchronous = %q, %v; want 1 (NORMAL)", sync, err)
		}
	})
	t.Run("refuses an unknown durability", func(t *testing.T) {
		if _, err := store.Open(ctx, filepath.Join(dir, "x.db"), store.Options{SQLiteSynchronous: "off"}); err == nil {
			t.Fatal("synchronous=off accepted")
		}
	})
	t.Run("refuses an empty location", func(t *testing.T) {
		if _, err := store.Open(ctx, "", store.Options{}); err == nil {
			t.Fatal("empty location accepted")
		}
	})
	t.Run("hides the PostgreSQL password", func(t *testing.T) {
		_, err := store.Open(ctx, "postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=1", store.Options{})
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("err = %v; want a failure that does not show the password", err)
		}
	})
}

// QueryRow and Query read through statements kept prepared per text; the
// cache is bounded, and texts past it still run.
func TestPreparedReads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		createKV(t, db)
		if err := db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
			for i, k := range []string{"a", "b"} {
				if err := insert(ctx, tx, db.Dialect, k, int64(i+1)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for i := range 600 { // more texts than the cache keeps
			var v int64
			q := fmt.Sprintf(`SELECT v + %d FROM kv WHERE k = $1`, i%520)
			if err := db.QueryRow(ctx, q, "b").Scan(&v); err != nil || v != int64(2+i%520) {
				t.Fatalf("query %d: %d, %v", i, v, err)
			}
		}
		rows, err := db.Query(ctx, `SELECT k FROM kv ORDER BY k`)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k)
		}
		rows.Close()
		if strings.Join(keys, ",") != "a,b" {
			t.Errorf("keys %v", keys)
		}
		if err := db.QueryRow(ctx, `SELECT v FROM no_such_table`).Scan(new(int64)); err == nil {
			t.Error("a statement that does not prepare reported no error")
		}
	})
}
