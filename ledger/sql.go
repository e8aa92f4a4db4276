package ledger

import (
	"fmt"
	"strings"

	"github.com/suanpan/suanpan/store"
)

// maxParams keeps every statement under SQLite's default limit of 32,766
// bound parameters (PostgreSQL allows 65,535).
const maxParams = 30000

// query builds a WHERE clause with the dialect's placeholders.
type query struct {
	d     store.Dialect
	conds []string
	args  []any
}

// add appends a condition; each "?" in cond becomes the next placeholder,
// and args supply their values in order.
func (q *query) add(cond string, args ...any) {
	var b strings.Builder
	for _, r := range cond {
		if r == '?' {
			q.args = append(q.args, args[0])
			args = args[1:]
			b.WriteString(q.d.Placeholder(len(q.args)))
			continue
		}
		b.WriteRune(r)
	}
	q.conds = append(q.conds, b.String())
}

// in appends "col IN (…)"; an empty list matches nothing.
func (q *query) in(col string, vals []string) {
	if len(vals) == 0 {
		q.conds = append(q.conds, "1 = 0")
		return
	}
	if q.d == store.Postgres {
		q.args = append(q.args, vals)
		q.conds = append(q.conds, col+" = ANY("+q.d.Placeholder(len(q.args))+"::text[])")
		return
	}
	q.conds = append(q.conds, col+" IN ("+placeholders(q.d, len(vals), len(q.args)+1)+")")
	q.args = append(q.args, anys(vals)...)
}

func (q *query) where() string {
	if len(q.conds) == 0 {
		return "1 = 1"
	}
	return strings.Join(q.conds, " AND ")
}

// placeholders returns n placeholders from the start-th on.
func placeholders(d store.Dialect, n, start int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(d.Placeholder(start + i))
	}
	return b.String()
}

// rowsValues returns "($1,…,$cols),(…)" for n rows of cols columns, each
// placeholder wrapped in the given casts (needed for VALUES lists on
// PostgreSQL, harmless on SQLite); casts may be nil.
func rowsValues(d store.Dialect, n, cols int, casts []string) string {
	var b strings.Builder
	b.Grow(n * cols * 6)
	p := 1
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("(")
		for c := 0; c < cols; c++ {
			if c > 0 {
				b.WriteString(",")
			}
			if casts != nil {
				fmt.Fprintf(&b, "CAST(%s AS %s)", d.Placeholder(p), casts[c])
			} else {
				b.WriteString(d.Placeholder(p))
			}
			p++
		}
		b.WriteString(")")
	}
	return b.String()
}

// inChunks calls fn with consecutive pieces of xs small enough that a
// statement binding perItem parameters for each stays under maxParams.
func inChunks[T any](xs []T, perItem int, fn func([]T) error) error {
	n := maxParams / perItem
	for len(xs) > 0 {
		k := min(n, len(xs))
		if err := fn(xs[:k]); err != nil {
			return err
		}
		xs = xs[k:]
	}
	return nil
}

func anys(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func pageLimit(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}

// inList returns the membership test for n string values bound from the
// first parameter on: " IN (?, …)" on SQLite; on PostgreSQL " = ANY($1)"
// with the values as one array, so that the statement text, prepared
// statement and plan do not vary with n.
func inList(d store.Dialect, n int) string {
	if d == store.Postgres {
		return " = ANY($1::text[])"
	}
	return " IN (" + placeholders(d, n, 1) + ")"
}

// inArgs are the arguments for inList.
func inArgs(d store.Dialect, vals []string) []any {
	if d == store.Postgres {
		return []any{vals}
	}
	return anys(vals)
}

// inArgCount is the number of parameters inArgs binds.
func inArgCount(d store.Dialect, n int) int {
	if d == store.Postgres {
		return 1
	}
	return n
}
