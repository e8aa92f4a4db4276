package accounts_test

import (
	"testing"
	"unicode/utf8"

	"github.com/suanpan/suanpan/internal/accounts"
)

func TestMask(t *testing.T) {
	for _, tc := range []struct {
		name string
		mask func(string) string
		in   string
		want string
	}{
		{"resident ID", accounts.MaskIDNumber, "110105194912310021", "110***********0021"},
		{"ID ending in X", accounts.MaskIDNumber, "11010519491231002X", "110***********002X"},
		{"11-character ID", accounts.MaskIDNumber, "E1234567890", "E12****7890"},
		{"short ID", accounts.MaskIDNumber, "G1234567", "********"},
		{"empty ID", accounts.MaskIDNumber, "", ""},
		{"mobile", accounts.MaskPhone, "13800138000", "138****8000"},
		{"international", accounts.MaskPhone, "+8613800138000", "+86*******8000"},
		{"short phone", accounts.MaskPhone, "95588", "*****"},
		{"Chinese name", accounts.MaskName, "张三", "张*"},
		{"long Chinese name", accounts.MaskName, "欧阳娜娜", "欧***"},
		{"Latin name", accounts.MaskName, "John", "J***"},
		{"one character", accounts.MaskName, "张", "*"},
		{"company", accounts.MaskName, "ACME Ltd", "A*******"},
		{"invalid UTF-8", accounts.MaskName, "\xffabc", "****"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.mask(tc.in); got != tc.want {
				t.Errorf("mask(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// revealed counts the characters of masked that are not '*' and checks that
// each sits where it was in plain.
func revealed(t *testing.T, plain, masked string) int {
	t.Helper()
	p, m := []rune(plain), []rune(masked)
	if len(p) != len(m) {
		t.Fatalf("mask of %q has %d characters, want %d", plain, len(m), len(p))
	}
	n := 0
	for i, r := range m {
		if r == '*' {
			continue
		}
		if p[i] != r {
			t.Fatalf("mask of %q shows %q at %d, which is not there", plain, r, i)
		}
		n++
	}
	return n
}

func FuzzMask(f *testing.F) {
	for _, s := range []string{"110105194912310021", "13800138000", "张三", "J", "", "\xff\xfe", "ab*cd*efghijkl"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tc := range []struct {
			name       string
			mask       func(string) string
			shown, hid int // at most shown characters, and at least hid hidden
		}{
			{"id number", accounts.MaskIDNumber, 7, 4},
			{"phone", accounts.MaskPhone, 7, 4},
			{"name", accounts.MaskName, 1, 1},
		} {
			got := tc.mask(s)
			if !utf8.ValidString(s) {
				// Never copies an invalid byte; never longer than the input.
				if len(got) > len(s) || !utf8.ValidString(got) {
					t.Fatalf("%s mask of %q = %q", tc.name, s, got)
				}
				continue
			}
			n := utf8.RuneCountInString(s)
			shown := revealed(t, s, got)
			if shown > tc.shown || n-shown < min(n, tc.hid) {
				t.Fatalf("%s mask of %q = %q shows %d of %d characters", tc.name, s, got, shown, n)
			}
		}
	})
}
