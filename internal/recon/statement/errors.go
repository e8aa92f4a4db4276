package statement

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Errors. Test with errors.Is.
var (
	// ErrInvalid reports a statement file that breaks its format's rules
	// or fails its own checks (a footer total, a balance, an entry count).
	// The file is at fault, not the configuration: the API reports it as
	// "statement_invalid". Errors wrapping it are *Error values.
	ErrInvalid = errors.New("invalid statement")
	// ErrBadFormat reports a Format or ColumnMap that breaks the rules:
	// the configuration is at fault, not the file.
	ErrBadFormat = errors.New("invalid statement format")
)

// Error locates a problem in a statement file. It wraps ErrInvalid and,
// when there is one, its cause (such as money.ErrOverflow,
// money.ErrTooManyDecimals or money.ErrSyntax). Its text is safe to show
// the operator who uploaded the file: it repeats at most 40 bytes of any
// input.
type Error struct {
	// Line is the line number (CSV), entry number (camt.053) or position
	// (a channel adapter's lines) of the problem; 0 when it concerns the
	// file as a whole.
	Line int
	// Field names where the problem is: the ColumnMap field for CSV
	// ("amount", "footer_count"), the element path for camt.053
	// ("Ntry/Amt", "TxsSummry/TtlNtries/Sum"); "" when there is none.
	Field string
	// Reason says what is wrong; it is empty when Err says it all (a
	// money.Parse error quotes the amount and the rule it broke).
	Reason string
	// Err is the cause, or nil.
	Err error

	// entry is set when Line counts camt.053 entries.
	entry bool
}

// Error formats e as "statement line 7: amount: reason: cause".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("statement")
	if e.Line > 0 {
		unit := " line "
		if e.entry {
			unit = " entry "
		}
		b.WriteString(unit)
		b.WriteString(strconv.Itoa(e.Line))
	}
	for _, s := range [...]string{e.Field, e.Reason} {
		if s != "" {
			b.WriteString(": ")
			b.WriteString(s)
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns ErrInvalid and the cause, if any.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalid}
	}
	return []error{ErrInvalid, e.Err}
}

// lineError reports a problem on line n (0 for the whole file).
func lineError(n int, field, format string, args ...any) *Error {
	return &Error{Line: n, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// entryError reports a problem in camt.053 entry n (0 for the whole file).
func entryError(n int, field, format string, args ...any) *Error {
	return &Error{Line: n, Field: field, Reason: fmt.Sprintf(format, args...), entry: true}
}

// badFormat reports a Format field that breaks the rules.
func badFormat(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrBadFormat, field, fmt.Sprintf(format, args...))
}

// maxQuoted bounds how much of an input an error message repeats, so that
// a hostile file cannot bloat logs.
const maxQuoted = 40

// quote returns s quoted for an error message, cut to maxQuoted bytes at a
// character boundary.
func quote(s string) string {
	cut, more := clip(s)
	return strconv.Quote(cut) + more
}

// clip cuts s to maxQuoted bytes at a character boundary, returning "…"
// as more when it did.
func clip(s string) (cut, more string) {
	if len(s) <= maxQuoted {
		return s, ""
	}
	n := maxQuoted
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], "…"
}

// errTooBig reports input beyond a parser's byte bound.
var errTooBig = errors.New("input too large")

// source reads at most max bytes from r (no bound when max < 0) and
// remembers r's own read error, so that a parser can tell a failing
// reader (not the file's fault) from a bad file.
type source struct {
	r       io.Reader
	max, n  int64
	readErr error
}

// Read reads from r, returning errTooBig once more than max bytes came.
func (s *source) Read(p []byte) (int, error) {
	if s.max >= 0 {
		if s.n > s.max {
			return 0, errTooBig
		}
		if room := s.max + 1 - s.n; int64(len(p)) > room {
			p = p[:room]
		}
	}
	n, err := s.r.Read(p)
	s.n += int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		s.readErr = err
	}
	if s.max >= 0 && s.n > s.max {
		return n - int(s.n-s.max), errTooBig
	}
	return n, err
}
