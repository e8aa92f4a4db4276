package channel_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoFloat enforces, as money's test of the same name does,
// that no floating point appears on a money path: no float types, no
// identifiers naming Float and no float literals in the non-test sources of
// this package and of the simulator, which writes the statements parsed
// here.
func TestNoFloat(t *testing.T) {
	for _, dir := range []string{".", filepath.Join("..", "sim")} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no Go files in %s", dir)
		}
		fset := token.NewFileSet()
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.Ident:
					if n.Name == "float32" || n.Name == "float64" || strings.Contains(n.Name, "Float") {
						t.Errorf("%s: %s on a money path", fset.Position(n.Pos()), n.Name)
					}
				case *ast.BasicLit:
					if n.Kind == token.FLOAT {
						t.Errorf("%s: float literal %s on a money path", fset.Position(n.Pos()), n.Value)
					}
				}
				return true
			})
		}
	}
}
