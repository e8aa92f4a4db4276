package money

import (
	"math"
	"math/bits"
)

// Add returns a + b, or ErrOverflow if the sum is outside the int64 range.
func Add(a, b int64) (int64, error) {
	if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
		return 0, ErrOverflow
	}
	return a + b, nil
}

// Sub returns a - b, or ErrOverflow if the difference is outside the int64
// range.
func Sub(a, b int64) (int64, error) {
	if (b < 0 && a > math.MaxInt64+b) || (b > 0 && a < math.MinInt64+b) {
		return 0, ErrOverflow
	}
	return a - b, nil
}

// Neg returns -a, or ErrOverflow for math.MinInt64, whose negation does not
// fit in an int64.
func Neg(a int64) (int64, error) {
	if a == math.MinInt64 {
		return 0, ErrOverflow
	}
	return -a, nil
}

// Sum returns the total of xs (0 for none), or ErrOverflow if the total is
// outside the int64 range.
//
// Only the exact total is checked: partial sums are kept in 128 bits, so the
// order of xs never matters and Sum(MaxInt64, 1, -1) is MaxInt64. The 128-bit
// accumulator cannot itself overflow for fewer than 2^63 terms.
func Sum(xs ...int64) (int64, error) {
	var hi int64  // high 64 bits of the two's-complement 128-bit total
	var lo uint64 // low 64 bits
	for _, x := range xs {
		var carry uint64
		lo, carry = bits.Add64(lo, uint64(x), 0)
		hi += x>>63 + int64(carry) // x>>63 sign-extends x into the high word
	}
	// The total fits in an int64 iff the high word is the sign extension of
	// the low word.
	if hi != int64(lo)>>63 {
		return 0, ErrOverflow
	}
	return int64(lo), nil
}

// MulInt returns a × n, or ErrOverflow if the product is outside the int64
// range. Use it for whole multiples (quantity × unit price); for fractions use
// ApplyRate, which rounds explicitly.
func MulInt(a, n int64) (int64, error) {
	hi, lo := bits.Mul64(abs(a), abs(n))
	return withSign(hi, lo, (a < 0) != (n < 0))
}

// abs returns |x| as a uint64; unlike int64 negation it is exact for
// math.MinInt64.
func abs(x int64) uint64 {
	if x < 0 {
		return -uint64(x)
	}
	return uint64(x)
}

// withSign converts the 128-bit magnitude hi:lo with the given sign to an
// int64, or returns ErrOverflow if it does not fit.
func withSign(hi, lo uint64, neg bool) (int64, error) {
	if hi != 0 {
		return 0, ErrOverflow
	}
	if neg {
		if lo > 1<<63 {
			return 0, ErrOverflow
		}
		return int64(-lo), nil // -(1<<63) is exactly math.MinInt64
	}
	if lo > math.MaxInt64 {
		return 0, ErrOverflow
	}
	return int64(lo), nil
}
