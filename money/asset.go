package money

import "fmt"

// MaxScale is the largest scale an asset may have. 10^18 is the largest power
// of ten in an int64, so at scale 18 one whole unit is still representable
// (the range is then about ±9.22 units).
const MaxScale = 18

// MaxCodeLen is the longest asset code, in bytes.
const MaxCodeLen = 16

// Asset is a unit that amounts are counted in: an ISO 4217 currency such as
// CNY, or a custom unit such as POINTS. Scale is the number of decimal places
// of its minor unit: an amount of 1234 at scale 2 means 12.34.
//
// The zero Asset is invalid; build one with NewAsset or LookupISO, or call
// Validate on one read from storage or configuration.
type Asset struct {
	// Code is 1 to MaxCodeLen characters of A-Z, 0-9 and '_', starting with a
	// letter.
	Code string
	// Scale is the minor-unit exponent, 0..MaxScale.
	Scale int
}

// NewAsset returns the asset with the given code and scale, or an error
// wrapping ErrInvalidAsset if Validate rejects it.
//
// NewAsset does not require an ISO currency code to carry its ISO scale: some
// ledgers deliberately count a currency in finer units (USD at scale 4). Use
// LookupISO for the standard scale.
func NewAsset(code string, scale int) (Asset, error) {
	a := Asset{Code: code, Scale: scale}
	if err := a.Validate(); err != nil {
		return Asset{}, err
	}
	return a, nil
}

// LookupISO returns the asset for an ISO 4217 currency code with its ISO
// minor-unit scale, e.g. {CNY 2} or {JPY 0}. ok is false if ISOScale does not
// know the code.
func LookupISO(code string) (Asset, bool) {
	scale, ok := ISOScale(code)
	if !ok {
		return Asset{}, false
	}
	return Asset{Code: code, Scale: scale}, true
}

// Validate reports whether a is well formed: Code is 1 to MaxCodeLen
// characters of A-Z, 0-9 and '_' starting with a letter, and Scale is in
// 0..MaxScale. Errors wrap ErrInvalidAsset, and also ErrInvalidScale when the
// scale is at fault.
func (a Asset) Validate() error {
	if !validCode(a.Code) {
		return fmt.Errorf("%w: code %s must be 1 to %d characters of A-Z, 0-9 and _, starting with a letter",
			ErrInvalidAsset, quote(a.Code), MaxCodeLen)
	}
	if a.Scale < 0 || a.Scale > MaxScale {
		return fmt.Errorf("%w %s: scale %d: %w", ErrInvalidAsset, a.Code, a.Scale, ErrInvalidScale)
	}
	return nil
}

// validCode reports whether code follows the asset code rule.
func validCode(code string) bool {
	if len(code) == 0 || len(code) > MaxCodeLen {
		return false
	}
	if c := code[0]; c < 'A' || c > 'Z' {
		return false
	}
	for i := 1; i < len(code); i++ {
		c := code[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
