package money_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoFloat enforces the package rule that no floating point appears on a
// money path: no float types and no calls of anything named *Float* (such as
// decimal.Decimal.Float64 or decimal.NewFromFloat64) and no float literals
// (not even 1e18, which is exact but invites 0.1) in non-test sources.
func TestNoFloat(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
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
