package store_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// unportable are SQL constructs Suanpan's SQL must not use: each is missing
// from SQLite, or from the PostgreSQL-compatible distributed databases
// (YugabyteDB, CockroachDB) a deployment moves to when it outgrows one
// PostgreSQL server, or turns one row into a point every writer of a
// cluster waits on.
var unportable = []struct {
	name string
	re   *regexp.Regexp
}{
	{"advisory locks", regexp.MustCompile(`(?i)\bpg_(try_)?advisory`)},
	{"LISTEN/NOTIFY", regexp.MustCompile(`(?i)^\s*(LISTEN|NOTIFY)\s+\w|\bpg_notify\s*\(`)},
	{"triggers and stored functions", regexp.MustCompile(`(?i)\bCREATE\s+(OR\s+REPLACE\s+)?(TRIGGER|FUNCTION|PROCEDURE)\b|\bplpgsql\b`)},
	{"sequences (a hot spot in a cluster: IDs are UUIDv7 made in the process)", regexp.MustCompile(`(?i)\b(BIG|SMALL)?SERIAL\b|\bnextval\s*\(|\bCREATE\s+SEQUENCE\b|\bGENERATED\s+(ALWAYS|BY\s+DEFAULT)\s+AS\s+IDENTITY\b`)},
	{"table locks", regexp.MustCompile(`(?i)\bLOCK\s+TABLE\b`)},
	{"unlogged tables", regexp.MustCompile(`(?i)\bUNLOGGED\b`)},
	{"extensions", regexp.MustCompile(`(?i)\bCREATE\s+EXTENSION\b`)},
	{"system columns", regexp.MustCompile(`(?i)\b(ctid|xmin|xmax|oid)\b\s*(,|=|<|>|\)|FROM)`)},
}

// sqlLike tells a string literal that is (part of) an SQL statement.
var sqlLike = regexp.MustCompile(`(?i)\b(SELECT|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX|UNIQUE)|ALTER\s+TABLE)\b|^\s*(LISTEN|NOTIFY)\s+\w`)

// TestPortableSQL checks every migration and every SQL statement in the
// product's Go code (the benchmarks, which read PostgreSQL's statistics,
// and tests aside) for the constructs in unportable.
func TestPortableSQL(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	check := func(where, text string) {
		for _, u := range unportable {
			if m := u.re.FindString(text); m != "" {
				t.Errorf("%s: %s (%q)", where, u.name, m)
			}
		}
	}
	migrations, err := filepath.Glob(filepath.Join(root, "store", "migrations", "*", "*.sql"))
	if err != nil || len(migrations) == 0 {
		t.Fatalf("no migrations found: %v", err)
	}
	for _, m := range migrations {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		check(m, stripSQLComments(string(b)))
	}
	statements := 0
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch rel {
			case ".git", "client", filepath.Join("internal", "bench"):
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err == nil && sqlLike.MatchString(s) {
				statements++
				check(fset.Position(lit.Pos()).String(), s)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if statements < 100 {
		t.Errorf("found %d SQL statements in the Go code; the scan is broken", statements)
	}
}

// stripSQLComments drops "--" comments, which explain what the SQL avoids.
func stripSQLComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}
