package store

import (
	"strconv"
	"strings"
)

// Where builds the conditions of a list query with optional filters, with
// numbered placeholders ($1, $2, …) that both engines take. The zero value
// matches everything.
type Where struct {
	conds []string
	// Args are the placeholders' values, in order.
	Args []any
	none bool // an empty IN list: nothing matches
}

// Arg returns the next placeholder, bound to v.
func (w *Where) Arg(v any) string {
	w.Args = append(w.Args, v)
	return "$" + strconv.Itoa(len(w.Args))
}

// Add appends cond, whose one "?" becomes the next placeholder bound to v,
// unless v is empty (the filter is not set).
func (w *Where) Add(cond, v string) {
	if v == "" {
		return
	}
	w.conds = append(w.conds, strings.Replace(cond, "?", w.Arg(v), 1))
}

// In appends "col IN (vs)" unless vs is nil; an empty vs matches nothing
// (a caller scoped to no institution sees nothing).
func (w *Where) In(col string, vs []string) {
	if vs == nil {
		return
	}
	if len(vs) == 0 {
		w.none = true
		return
	}
	marks := make([]string, len(vs))
	for i, v := range vs {
		marks[i] = w.Arg(v)
	}
	w.conds = append(w.conds, col+" IN ("+strings.Join(marks, ", ")+")")
}

// String returns the conditions joined with AND: "1 = 1" when there are
// none, "1 = 0" when an empty In matches nothing.
func (w *Where) String() string {
	switch {
	case w.none:
		return "1 = 0"
	case len(w.conds) == 0:
		return "1 = 1"
	}
	return strings.Join(w.conds, " AND ")
}
