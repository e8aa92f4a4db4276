package sim

import (
	"fmt"

	"github.com/suanpan/suanpan/money"
)

// Rate is how often a fault happens, in basis points: Never (0) to Always
// (10000). Its text form is a decimal fraction, "0.05" for 5%, so flags
// read naturally without floating point.
type Rate int

// The extreme rates.
const (
	Never  Rate = 0
	Always Rate = 10000
)

// rateScale is the number of decimals of a Rate's text form.
const rateScale = 4

// ParseRate reads a fraction between 0 and 1 with at most four decimals,
// such as "0.05".
func ParseRate(s string) (Rate, error) {
	v, err := money.Parse(s, rateScale)
	if err != nil {
		return 0, fmt.Errorf("rate %q: %w", s, err)
	}
	if v < int64(Never) || v > int64(Always) {
		return 0, fmt.Errorf("rate %q is not between 0 and 1", s)
	}
	return Rate(v), nil
}

// String returns r as a fraction, "0.0500" for 5%.
func (r Rate) String() string { return money.Format(int64(r), rateScale) }

// MarshalText returns r's text form.
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads a text form accepted by ParseRate.
func (r *Rate) UnmarshalText(text []byte) error {
	v, err := ParseRate(string(text))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// valid reports whether r is between Never and Always.
func (r Rate) valid() bool { return r >= Never && r <= Always }
