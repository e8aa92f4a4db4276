package money_test

import (
	"errors"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/suanpan/suanpan/money"
)

// amountSyntax is Parse's documented grammar, written independently of its
// hand-rolled scanner.
var amountSyntax = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?$`)

// FuzzParse checks Parse against an oracle built from a regular expression
// and math/big: it must never panic, must accept exactly the documented
// inputs, and whatever it accepts must format back to the same digits.
func FuzzParse(f *testing.F) {
	for _, seed := range []struct {
		s     string
		scale int
	}{
		{"12.34", 2}, {"-0.5", 2}, {"12", 2}, {"12.3", 2}, {"0", 0}, {"-0", 2},
		{"9223372036854775807", 0}, {"-9223372036854775808", 0},
		{"92233720368547758.08", 2}, {"-9.223372036854775808", 18},
		{"1.234", 2}, {"1e3", 2}, {".5", 2}, {"1.", 2}, {"+1", 2}, {" 1", 2},
		{"01", 2}, {"1,000", 2}, {"", 2}, {"-", 2}, {"1", -1}, {"1", 19},
	} {
		f.Add(seed.s, seed.scale)
	}
	f.Fuzz(func(t *testing.T, s string, scale int) {
		got, err := money.Parse(s, scale)

		// The oracle: which error, if any, must Parse return?
		var wantErr error
		var want *big.Int
		switch {
		case scale < 0 || scale > money.MaxScale:
			wantErr = money.ErrInvalidScale
		case !amountSyntax.MatchString(s):
			wantErr = money.ErrSyntax
		default:
			intPart, fracPart, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
			if len(fracPart) > scale {
				wantErr = money.ErrTooManyDecimals
				break
			}
			want, _ = new(big.Int).SetString(intPart+fracPart+strings.Repeat("0", scale-len(fracPart)), 10)
			if strings.HasPrefix(s, "-") {
				want.Neg(want)
			}
			if !want.IsInt64() {
				wantErr = money.ErrOverflow
			}
		}
		if wantErr != nil {
			if !errors.Is(err, wantErr) {
				t.Fatalf("Parse(%q, %d) = %d, %v; want error %v", s, scale, got, err, wantErr)
			}
			return
		}
		if err != nil || got != want.Int64() {
			t.Fatalf("Parse(%q, %d) = %d, %v; want %s", s, scale, got, err, want)
		}

		// Format gives the canonical spelling of the same digits: the input
		// with its fraction padded to scale, and no sign on zero.
		canonical := s
		if scale > 0 {
			_, frac, hasPoint := strings.Cut(s, ".")
			if !hasPoint {
				canonical += "."
			}
			canonical += strings.Repeat("0", scale-len(frac))
		}
		if got == 0 {
			canonical = strings.TrimPrefix(canonical, "-")
		}
		formatted := money.Format(got, scale)
		if formatted != canonical {
			t.Fatalf("Format(Parse(%q, %d)) = %q, want %q", s, scale, formatted, canonical)
		}
		back, err := money.Parse(formatted, scale)
		if err != nil || back != got {
			t.Fatalf("Parse(Format(%d, %d) = %q) = %d, %v; want %d", got, scale, formatted, back, err, got)
		}
	})
}

// FuzzApplyRate checks ApplyRate against the math/big reference for every
// rate ParseRate accepts, including invalid rounding modes.
func FuzzApplyRate(f *testing.F) {
	for _, seed := range []struct {
		amount int64
		rate   string
		mode   int
	}{
		{1001, "0.006", int(money.HalfEven)},
		{1001, "0.006", int(money.Up)},
		{-25, "0.1", int(money.HalfUp)},
		{35, "0.1", int(money.HalfEven)},
		{9223372036854775807, "0.5", int(money.HalfEven)},
		{-9223372036854775808, "0.9999999999999999999", int(money.Floor)},
		{6148914691236517205, "1.5", int(money.HalfEven)},
		{-7378697629483820647, "1.25", int(money.Ceiling)},
		{10, "1000000000000000000", int(money.Down)},
		{1, "0", 0},
		{1, "1", 99},
	} {
		f.Add(seed.amount, seed.rate, seed.mode)
	}
	f.Fuzz(func(t *testing.T, amount int64, rateText string, mode int) {
		rate, err := money.ParseRate(rateText)
		if err != nil {
			return // ParseRate's own rules are tested elsewhere
		}
		checkApplyRate(t, amount, rate, money.Rounding(mode))
	})
}
