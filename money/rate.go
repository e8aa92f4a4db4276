package money

import (
	"fmt"
	"math/bits"

	"github.com/govalues/decimal"
)

// MaxRateScale is the largest number of decimal places a Rate may have, and
// MaxRateDigits the most significant digits: the limits of
// github.com/govalues/decimal, whose coefficient is a uint64.
const (
	MaxRateScale  = 19
	MaxRateDigits = 19
)

// Rate is an exact decimal factor applied to amounts: a fee rate (0.006 for
// 0.6%), an interest rate for one period, an exchange rate. It is a plain
// value; the zero Rate is 0. Rates are kept with trailing zeros removed, so
// == compares values: ParseRate("0.0060") == ParseRate("0.006").
//
// Rate is built on github.com/govalues/decimal; use Decimal and
// RateFromDecimal to do further decimal arithmetic (e.g. turning an annual
// rate into a daily one) before applying the result with ApplyRate.
type Rate struct {
	d decimal.Decimal
}

// ParseRate parses a decimal rate such as "0.006", "1", "-0.0025" or
// "7.1234". It accepts the same form as Parse (a JSON number without
// exponent: no "+", no spaces, no leading zeros, no "1." or ".5"), with at
// most MaxRateScale digits after the point (else ErrTooManyDecimals) and at
// most MaxRateDigits significant digits (else ErrOverflow). Malformed text
// gives ErrSyntax. It never rounds: a rate is used exactly as written.
func ParseRate(s string) (Rate, error) {
	_, intPart, fracPart, ok := splitDecimal(s)
	if !ok {
		return Rate{}, fmt.Errorf("parse rate %s: %w", quote(s), ErrSyntax)
	}
	if len(fracPart) > MaxRateScale {
		return Rate{}, fmt.Errorf("parse rate %s: %d decimal places, at most %d: %w",
			quote(s), len(fracPart), MaxRateScale, ErrTooManyDecimals)
	}
	if significantDigits(intPart, fracPart) > MaxRateDigits {
		return Rate{}, fmt.Errorf("parse rate %s: more than %d significant digits: %w",
			quote(s), MaxRateDigits, ErrOverflow)
	}
	// s is now known to be within decimal's exact range, so decimal.Parse
	// neither rounds nor fails; the check is for the impossible.
	d, err := decimal.Parse(s)
	if err != nil {
		return Rate{}, fmt.Errorf("parse rate %s: %w", quote(s), err)
	}
	return Rate{d: d.Trim(0)}, nil
}

// significantDigits counts the digits of intPart followed by fracPart,
// ignoring leading zeros.
func significantDigits(intPart, fracPart string) int {
	n := len(intPart) + len(fracPart)
	for _, part := range [...]string{intPart, fracPart} {
		for i := 0; i < len(part); i++ {
			if part[i] != '0' {
				return n
			}
			n--
		}
	}
	return n
}

// NewRate returns value × 10^-scale: NewRate(6, 3) is 0.006 and NewRate(25, 4)
// is 25 basis points. scale must be in 0..MaxRateScale, else the error wraps
// ErrInvalidScale.
func NewRate(value int64, scale int) (Rate, error) {
	if scale < 0 || scale > MaxRateScale {
		return Rate{}, fmt.Errorf("new rate %d: scale %d not in 0..%d: %w", value, scale, MaxRateScale, ErrInvalidScale)
	}
	d, err := decimal.New(value, scale)
	if err != nil { // unreachable: any int64 has at most 19 digits
		return Rate{}, fmt.Errorf("new rate %d scale %d: %w", value, scale, err)
	}
	return Rate{d: d.Trim(0)}, nil
}

// RateFromDecimal returns d as a Rate.
func RateFromDecimal(d decimal.Decimal) Rate {
	return Rate{d: d.Trim(0)}
}

// Decimal returns r as a decimal.Decimal.
func (r Rate) Decimal() decimal.Decimal {
	return r.d
}

// Sign returns -1, 0 or +1 as r is negative, zero or positive. Callers that
// accept only fee rates, say, check Sign() >= 0.
func (r Rate) Sign() int {
	return r.d.Sign()
}

// String returns r in the form ParseRate accepts, without trailing zeros:
// "0.006", "1", "-0.0025".
func (r Rate) String() string {
	return r.d.String()
}

// MarshalText implements encoding.TextMarshaler; the text is String.
func (r Rate) MarshalText() ([]byte, error) {
	return []byte(r.d.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler using ParseRate.
func (r *Rate) UnmarshalText(text []byte) error {
	v, err := ParseRate(string(text))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// pow10 holds 10^0 .. 10^MaxRateScale; 10^19 still fits in a uint64.
var pow10 = [MaxRateScale + 1]uint64{
	1,
	10,
	100,
	1_000,
	10_000,
	100_000,
	1_000_000,
	10_000_000,
	100_000_000,
	1_000_000_000,
	10_000_000_000,
	100_000_000_000,
	1_000_000_000_000,
	10_000_000_000_000,
	100_000_000_000_000,
	1_000_000_000_000_000,
	10_000_000_000_000_000,
	100_000_000_000_000_000,
	1_000_000_000_000_000_000,
	10_000_000_000_000_000_000,
}

// ApplyRate returns amount × r rounded once, with mode, to a whole number of
// minor units. A fee of 0.6% on 1001 minor units is exactly 6.006: HalfEven
// gives 6 and Up gives 7.
//
// The product is computed exactly in 128-bit integer arithmetic (|amount| <
// 2^63 times a coefficient < 10^19), so there is no intermediate rounding and
// no spurious overflow: ApplyRate fails with ErrOverflow only when the rounded
// result itself is outside the int64 range. An invalid mode fails with
// ErrInvalidRounding; there is no default.
func ApplyRate(amount int64, r Rate, mode Rounding) (int64, error) {
	if !mode.Valid() {
		return 0, fmt.Errorf("apply rate %s: %w", r, ErrInvalidRounding)
	}
	coef, scale := r.d.Coef(), r.d.Scale()
	neg := (amount < 0) != r.d.IsNeg()
	div := pow10[scale]

	hi, lo := bits.Mul64(abs(amount), coef)
	if hi >= div { // the quotient needs more than 64 bits
		return 0, fmt.Errorf("apply rate %s to %d: %w", r, amount, ErrOverflow)
	}
	q, rem := bits.Div64(hi, lo, div)
	if rem != 0 && roundsAway(mode, neg, q, rem, div) {
		q++
		if q == 0 {
			return 0, fmt.Errorf("apply rate %s to %d: %w", r, amount, ErrOverflow)
		}
	}
	v, err := withSign(0, q, neg)
	if err != nil {
		return 0, fmt.Errorf("apply rate %s to %d: %w", r, amount, err)
	}
	return v, nil
}

// roundsAway reports whether a magnitude with truncated quotient q and
// nonzero remainder rem (of divisor div) rounds away from zero to q+1 under
// mode, for a result that is negative if neg.
func roundsAway(mode Rounding, neg bool, q, rem, div uint64) bool {
	switch mode {
	case HalfEven:
		// rem vs div-rem compares the fraction with one half without
		// computing 2*rem, which can overflow when div is 10^19.
		half := div - rem
		return rem > half || (rem == half && q&1 == 1)
	case HalfUp:
		return rem >= div-rem
	case Down:
		return false
	case Up:
		return true
	case Floor:
		return neg
	case Ceiling:
		return !neg
	}
	panic(fmt.Sprintf("money: unhandled rounding mode %d", int(mode))) // ApplyRate validated mode
}
