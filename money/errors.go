package money

import (
	"errors"
	"strconv"
)

// Sentinel errors. Functions return them either bare (the arithmetic helpers,
// which sit on hot paths) or wrapped with context; test with errors.Is.
var (
	// ErrOverflow reports a result outside the range of int64 minor units (or,
	// for rates, beyond 19 significant digits). Money never wraps around.
	ErrOverflow = errors.New("amount out of range")

	// ErrSyntax reports text that is not a decimal number in the accepted
	// form; see Parse.
	ErrSyntax = errors.New("invalid decimal syntax")

	// ErrTooManyDecimals reports a decimal with more digits after the point
	// than the scale allows, such as "1.234" for a scale-2 asset. It is kept
	// apart from ErrSyntax so that callers can tell the user which rule they
	// broke: the number is well formed but finer than the asset's minor unit.
	ErrTooManyDecimals = errors.New("too many decimal places")

	// ErrInvalidScale reports a scale outside 0..MaxScale (0..MaxRateScale
	// for rates).
	ErrInvalidScale = errors.New("scale out of range")

	// ErrInvalidAsset reports an asset whose code or scale breaks the rules
	// in Asset.Validate.
	ErrInvalidAsset = errors.New("invalid asset")

	// ErrInvalidRounding reports a Rounding that is not one of the named
	// modes, including the zero value.
	ErrInvalidRounding = errors.New("invalid rounding mode")
)

// maxQuotedInput bounds how much of a rejected input an error message
// repeats, so that a hostile multi-megabyte string cannot bloat logs.
const maxQuotedInput = 40

// quote returns s quoted for an error message, cut to maxQuotedInput bytes.
func quote(s string) string {
	if len(s) <= maxQuotedInput {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:maxQuotedInput]) + "..."
}
