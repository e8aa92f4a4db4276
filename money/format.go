package money

import (
	"fmt"
	"math"
	"strconv"
)

// Parse converts the decimal text s to an amount in minor units at the given
// scale: Parse("12.34", 2) is 1234, Parse("-0.5", 2) is -50, Parse("12", 2) is
// 1200.
//
// The accepted form is a JSON number without exponent, and nothing else:
//
//	-?(0|[1-9][0-9]*)(\.[0-9]+)?
//
// so "+1", " 1", "1 ", "01", "1.", ".5", "1e3", "1,000", "1_000" and non-ASCII
// digits are all rejected with ErrSyntax. "-0" is accepted and is 0. These are
// amounts that people and other systems send us, and every leniency is a way
// for two parties to read one string differently.
//
// Errors, checked in this order, wrap:
//   - ErrInvalidScale if scale is outside 0..MaxScale;
//   - ErrSyntax if s is not of the form above;
//   - ErrTooManyDecimals if s has more digits after the point than scale,
//     even if they are zeros ("1.230" at scale 2): the count of decimals is
//     part of the contract, not just the value;
//   - ErrOverflow if the value is outside the int64 range of minor units.
//
// For every int64 x and valid scale, Parse(Format(x, scale), scale) == x.
func Parse(s string, scale int) (int64, error) {
	if scale < 0 || scale > MaxScale {
		return 0, fmt.Errorf("parse amount %s: scale %d: %w", quote(s), scale, ErrInvalidScale)
	}
	neg, intPart, fracPart, ok := splitDecimal(s)
	if !ok {
		return 0, fmt.Errorf("parse amount %s: %w", quote(s), ErrSyntax)
	}
	if len(fracPart) > scale {
		return 0, fmt.Errorf("parse amount %s: %d decimal places, scale allows %d: %w",
			quote(s), len(fracPart), scale, ErrTooManyDecimals)
	}
	// Accumulate the magnitude in a uint64 so that -9223372036854775808,
	// whose magnitude exceeds math.MaxInt64, parses without a detour.
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	var mag uint64
	for _, part := range [...]string{intPart, fracPart} {
		for i := 0; i < len(part); i++ {
			d := uint64(part[i] - '0')
			if mag > (limit-d)/10 {
				return 0, fmt.Errorf("parse amount %s: %w", quote(s), ErrOverflow)
			}
			mag = mag*10 + d
		}
	}
	for range scale - len(fracPart) {
		if mag > limit/10 {
			return 0, fmt.Errorf("parse amount %s: %w", quote(s), ErrOverflow)
		}
		mag *= 10
	}
	if neg {
		return int64(-mag), nil
	}
	return int64(mag), nil
}

// splitDecimal checks s against -?(0|[1-9][0-9]*)(\.[0-9]+)? and returns its
// sign, the digits before the point and the digits after it.
func splitDecimal(s string) (neg bool, intPart, fracPart string, ok bool) {
	if len(s) > 0 && s[0] == '-' {
		neg = true
		s = s[1:]
	}
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intPart = s[:i]
	if len(intPart) == 0 || (len(intPart) > 1 && intPart[0] == '0') {
		return false, "", "", false
	}
	if i == len(s) {
		return neg, intPart, "", true
	}
	if s[i] != '.' {
		return false, "", "", false
	}
	fracPart = s[i+1:]
	if len(fracPart) == 0 {
		return false, "", "", false
	}
	for j := 0; j < len(fracPart); j++ {
		if !isDigit(fracPart[j]) {
			return false, "", "", false
		}
	}
	return neg, intPart, fracPart, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// Format returns amount, a count of minor units at the given scale, as decimal
// text with exactly scale digits after the point: Format(1234, 2) is "12.34",
// Format(-5, 2) is "-0.05", Format(7, 0) is "7". The output is always
// accepted by Parse at the same scale and round-trips to the same amount.
//
// Format panics if scale is outside 0..MaxScale: scales come from validated
// assets, and a bad one is a programming error that must not be written out
// as a plausible-looking number.
func Format(amount int64, scale int) string {
	var buf [24]byte // longest output is 21 bytes: "-0." and 18 digits, or "-9." and 18
	return string(appendFormat(buf[:0], amount, scale))
}

// appendFormat appends Format(amount, scale) to dst.
func appendFormat(dst []byte, amount int64, scale int) []byte {
	if scale < 0 || scale > MaxScale {
		panic(fmt.Sprintf("money.Format: scale %d outside 0..%d", scale, MaxScale))
	}
	if amount < 0 {
		dst = append(dst, '-')
	}
	var digits [20]byte // math.MaxUint64 has 20 digits; |MinInt64| has 19
	d := strconv.AppendUint(digits[:0], abs(amount), 10)
	if scale == 0 {
		return append(dst, d...)
	}
	if len(d) <= scale { // pure fraction: "0." then zero padding
		dst = append(dst, '0', '.')
		for range scale - len(d) {
			dst = append(dst, '0')
		}
		return append(dst, d...)
	}
	point := len(d) - scale
	dst = append(dst, d[:point]...)
	dst = append(dst, '.')
	return append(dst, d[point:]...)
}
