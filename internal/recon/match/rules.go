package match

import (
	"fmt"
	"time"
)

// Rules are a reconciliation run's tolerances and its notion of now. The
// zero tolerances are exact: same amount, same instant.
type Rules struct {
	// AmountTolerance, in minor units, or AmountToleranceBP, in basis
	// points of the order amount (0 to 10000), whichever is larger, is how
	// far amounts may differ for a line without a usable reference to be
	// taken for the same payment as an order. Matches by reference ignore
	// both: any difference there is an AmountMismatch.
	AmountTolerance   int64
	AmountToleranceBP int64
	// DateTolerance is how far line.At and order.At may differ for such a
	// match.
	DateTolerance time.Duration
	// LateWindow: a line or order with nothing on the other side whose At
	// is after AsOf − LateWindow is Late, not yet a discrepancy.
	LateWindow time.Duration
	// AsOf is the time of the run; required, since this package reads no
	// clock.
	AsOf time.Time
}

// Validate reports, wrapping ErrInvalid, the first rule that is out of
// range: a negative tolerance or window, basis points above 10000 (an
// order would then match lines worth more than twice its amount), or a zero
// AsOf.
func (r Rules) Validate() error {
	switch {
	case r.AmountTolerance < 0:
		return fmt.Errorf("%w: negative amount tolerance %d", ErrInvalid, r.AmountTolerance)
	case r.AmountToleranceBP < 0 || r.AmountToleranceBP > 10000:
		return fmt.Errorf("%w: amount tolerance %d basis points, want 0 to 10000", ErrInvalid, r.AmountToleranceBP)
	case r.DateTolerance < 0:
		return fmt.Errorf("%w: negative date tolerance %s", ErrInvalid, r.DateTolerance)
	case r.LateWindow < 0:
		return fmt.Errorf("%w: negative late window %s", ErrInvalid, r.LateWindow)
	case r.AsOf.IsZero():
		return fmt.Errorf("%w: no AsOf time", ErrInvalid)
	}
	return nil
}

// tolerance is how far a line's amount may be from amount (an order's,
// never negative) to match it without a reference. The basis points are
// applied without overflow: (a/10000)·bp ≤ a because bp ≤ 10000, and the
// remainder term is below 10000².
func (r Rules) tolerance(amount int64) int64 {
	bp := amount/10000*r.AmountToleranceBP + amount%10000*r.AmountToleranceBP/10000
	return max(r.AmountTolerance, bp)
}

// late reports whether something one-sided dated at is too recent to be a
// discrepancy.
func (r Rules) late(at time.Time) bool {
	return at.After(r.AsOf.Add(-r.LateWindow))
}
