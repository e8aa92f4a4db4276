package accounts

import (
	"strings"
	"unicode/utf8"
)

// The masking rules. Each keeps at most a few characters and replaces every
// other character with one '*', so the length shows but the value does not;
// a value too short for its rule to hide most of it is masked entirely.
//
//	ID document numbers  first 3 and last 4   110***********1234
//	phone numbers        first 3 and last 4   138****8000
//	names                the first character  张*, J***

// MaskIDNumber masks an ID document number: its first 3 and last 4
// characters kept when it has 11 or more, so that at least 4 stay hidden;
// shorter ones are masked entirely.
func MaskIDNumber(s string) string { return maskEnds(s, 3, 4, 11) }

// MaskPhone masks a phone number: first 3 and last 4 characters kept when
// it has 11 or more (a Chinese mobile number: 138****8000); shorter ones are
// masked entirely.
func MaskPhone(s string) string { return maskEnds(s, 3, 4, 11) }

// MaskName masks a name: its first character kept when it has two or more
// (张三 → 张*, John → J***); a one-character name is masked entirely.
func MaskName(s string) string { return maskEnds(s, 1, 0, 2) }

// maskEnds keeps the first head and last tail characters of s when s has at
// least min characters, and replaces every other character with '*'.
// Invalid UTF-8 counts byte by byte and is never copied.
func maskEnds(s string, head, tail, min int) string {
	if s == "" {
		return ""
	}
	runes := make([]rune, 0, len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		runes = append(runes, r) // utf8.RuneError for an invalid byte
		i += size
	}
	n := len(runes)
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range runes {
		if n >= min && (i < head || i >= n-tail) && r != utf8.RuneError {
			b.WriteRune(r)
		} else {
			b.WriteByte('*')
		}
	}
	return b.String()
}
