package money

import "fmt"

// Rounding says how to turn an exact result that falls between two minor
// units into one of them. There is deliberately no default: the zero value is
// invalid, so every caller that rounds must name its mode (a fee schedule or
// an interest product states it; a ledger must not guess).
type Rounding int

// Rounding modes. Examples are for results in minor units.
const (
	_ Rounding = iota // the zero value is not a mode

	// HalfEven rounds to the nearest unit, ties to the even one (banker's
	// rounding): 2.5 → 2, 3.5 → 4, -2.5 → -2.
	HalfEven
	// HalfUp rounds to the nearest unit, ties away from zero: 2.5 → 3,
	// -2.5 → -3.
	HalfUp
	// Down rounds toward zero (truncates): 2.9 → 2, -2.9 → -2.
	Down
	// Up rounds away from zero: 2.1 → 3, -2.1 → -3.
	Up
	// Floor rounds toward negative infinity: 2.9 → 2, -2.1 → -3.
	Floor
	// Ceiling rounds toward positive infinity: 2.1 → 3, -2.9 → -2.
	Ceiling
)

// roundingNames maps each valid mode to its text form; index is the mode.
var roundingNames = [...]string{
	HalfEven: "half_even",
	HalfUp:   "half_up",
	Down:     "down",
	Up:       "up",
	Floor:    "floor",
	Ceiling:  "ceiling",
}

// Valid reports whether m is one of the named modes.
func (m Rounding) Valid() bool {
	return m > 0 && int(m) < len(roundingNames)
}

// String returns the text form of m ("half_even", "half_up", "down", "up",
// "floor", "ceiling"), or "Rounding(N)" for an invalid value.
func (m Rounding) String() string {
	if !m.Valid() {
		return fmt.Sprintf("Rounding(%d)", int(m))
	}
	return roundingNames[m]
}

// ParseRounding returns the mode whose String is s. Matching is exact (lower
// case, underscores). Other input gives an error wrapping ErrInvalidRounding.
func ParseRounding(s string) (Rounding, error) {
	for m, name := range roundingNames {
		if m > 0 && name == s {
			return Rounding(m), nil
		}
	}
	return 0, fmt.Errorf("parse rounding %s: %w", quote(s), ErrInvalidRounding)
}

// MarshalText implements encoding.TextMarshaler, so modes appear by name in
// JSON and configuration. It fails for an invalid mode rather than write one.
func (m Rounding) MarshalText() ([]byte, error) {
	if !m.Valid() {
		return nil, fmt.Errorf("marshal %s: %w", m, ErrInvalidRounding)
	}
	return []byte(roundingNames[m]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler using ParseRounding.
func (m *Rounding) UnmarshalText(text []byte) error {
	v, err := ParseRounding(string(text))
	if err != nil {
		return err
	}
	*m = v
	return nil
}
