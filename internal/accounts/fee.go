package accounts

import (
	"fmt"

	"github.com/govalues/decimal"
	"github.com/suanpan/suanpan/money"
)

// FeeKind is how a fee rule computes its fee.
type FeeKind string

// The fee kinds.
const (
	// FeeFixed charges Fixed whatever the amount.
	FeeFixed FeeKind = "fixed"
	// FeePercentage charges amount × Rate, plus Fixed if set ("0.6% + 0.30").
	FeePercentage FeeKind = "percentage"
	// FeeTiered charges by the tier whose range holds the amount: that
	// tier's Fixed plus amount × its Rate, on the whole amount.
	FeeTiered FeeKind = "tiered"
)

// Party is who pays a fee.
type Party string

// The parties.
const (
	PartyPayer Party = "payer" // added to what the payer pays
	PartyPayee Party = "payee" // taken from what the payee receives
)

// Tier is one band of a tiered fee. The tiers of a rule are in increasing
// UpTo; a tier covers the amounts above the previous tier's UpTo up to and
// including its own, and the last tier has UpTo 0: no upper bound.
type Tier struct {
	UpTo  int64      `json:"up_to"`
	Fixed int64      `json:"fixed"`
	Rate  money.Rate `json:"rate"`
}

// FeeRule prices one operation type, on one channel or ("" Channel) on
// every channel. Amounts are minor units of the product's asset.
//
// Tiers are not progressive (marginal) bands: as is usual for payment and
// withdrawal fees, the tier whose range holds the amount prices the whole
// amount. With tiers up to 100000 at 0.5% and above at 0.3%, 100000 costs
// 500 and 100001 costs 300.
type FeeRule struct {
	Operation string     `json:"operation"`
	Channel   string     `json:"channel,omitempty"`
	Kind      FeeKind    `json:"kind"`
	Fixed     int64      `json:"fixed"`
	Rate      money.Rate `json:"rate"`
	Tiers     []Tier     `json:"tiers"`
	// Min and Max clamp a percentage or tiered fee; 0 is no bound.
	Min   int64 `json:"min"`
	Max   int64 `json:"max"`
	Payer Party `json:"payer"`
	// Rounding rounds amount × rate once to whole minor units. It is
	// required on every rule, fixed ones too, so that a rule changed from
	// fixed to a percentage never picks a mode by default.
	Rounding money.Rounding `json:"rounding"`
	// FeeAccountCode is the chart-of-accounts code of the fee-income
	// account the fee is posted to.
	FeeAccountCode string `json:"fee_account_code"`
}

// Fee is the price of one operation.
type Fee struct {
	Amount int64 // minor units; 0 when no rule matches
	Payer  Party // "" when no rule matches
	// AccountCode is the chart code of the fee-income account.
	AccountCode string
}

// validRate reports whether r is a fee rate: 0 to 1 (100%).
func validRate(r money.Rate) bool {
	return r.Sign() >= 0 && r.Decimal().Cmp(decimal.One) <= 0
}

func (f *FeeRule) validate(field string) error {
	if !validOperation(f.Operation) {
		return errorAt(CodeInvalidRequest, field+".operation", "unknown operation type %q", f.Operation)
	}
	if f.Channel != "" && !tokenPattern.MatchString(f.Channel) {
		return errorAt(CodeInvalidRequest, field+".channel", "a channel is 1-32 lowercase letters, digits or '_'")
	}
	if f.Fixed < 0 {
		return errorAt(CodeInvalidRequest, field+".fixed", "fixed must not be negative")
	}
	switch f.Kind {
	case FeeFixed:
		if f.Rate.Sign() != 0 || len(f.Tiers) > 0 || f.Min != 0 || f.Max != 0 {
			return errorAt(CodeInvalidRequest, field+".kind", "a fixed fee has only fixed: no rate, tiers, min or max")
		}
	case FeePercentage:
		if f.Rate.Sign() <= 0 || !validRate(f.Rate) {
			return errorAt(CodeInvalidRequest, field+".rate", "a percentage fee needs a rate above 0 and at most 1 (0.006 is 0.6%%)")
		}
		if len(f.Tiers) > 0 {
			return errorAt(CodeInvalidRequest, field+".tiers", "a percentage fee has no tiers")
		}
	case FeeTiered:
		if f.Fixed != 0 || f.Rate.Sign() != 0 {
			return errorAt(CodeInvalidRequest, field+".kind", "a tiered fee takes its fixed part and rate from its tiers")
		}
		if err := validateTiers(f.Tiers, field+".tiers"); err != nil {
			return err
		}
	default:
		return errorAt(CodeInvalidRequest, field+".kind", "kind must be fixed, percentage or tiered")
	}
	switch {
	case f.Min < 0:
		return errorAt(CodeInvalidRequest, field+".min", "min must be zero (none) or positive")
	case f.Max < 0:
		return errorAt(CodeInvalidRequest, field+".max", "max must be zero (none) or positive")
	case f.Max != 0 && f.Min > f.Max:
		return errorAt(CodeInvalidRequest, field+".min", "min must not be above max")
	case f.Payer != PartyPayer && f.Payer != PartyPayee:
		return errorAt(CodeInvalidRequest, field+".payer", "payer must be payer or payee")
	case !f.Rounding.Valid():
		return errorAt(CodeInvalidRequest, field+".rounding", "rounding is required: half_even, half_up, down, up, floor or ceiling")
	case !chartPattern.MatchString(f.FeeAccountCode):
		return errorAt(CodeInvalidRequest, field+".fee_account_code", "fee_account_code is required: the fee-income account's chart code")
	}
	return nil
}

func validateTiers(ts []Tier, field string) error {
	if len(ts) == 0 || len(ts) > MaxFeeTiers {
		return errorAt(CodeInvalidRequest, field, "a tiered fee needs 1 to %d tiers", MaxFeeTiers)
	}
	for i, t := range ts {
		f := fmt.Sprintf("%s[%d]", field, i)
		last := i == len(ts)-1
		switch {
		case last && t.UpTo != 0:
			return errorAt(CodeInvalidRequest, f+".up_to", "the last tier has up_to 0 (no upper bound), so that every amount has a tier")
		case !last && t.UpTo <= 0:
			return errorAt(CodeInvalidRequest, f+".up_to", "only the last tier is unbounded: up_to must be positive")
		case !last && i > 0 && t.UpTo <= ts[i-1].UpTo:
			return errorAt(CodeInvalidRequest, f+".up_to", "tiers must be in increasing up_to")
		case t.Fixed < 0:
			return errorAt(CodeInvalidRequest, f+".fixed", "fixed must not be negative")
		case !validRate(t.Rate):
			return errorAt(CodeInvalidRequest, f+".rate", "rate must be 0 to 1 (0.006 is 0.6%%)")
		}
	}
	return nil
}

// FeeRuleFor returns the rule that prices op on channel: the one for that
// operation and channel, else the one for that operation on every channel.
func (p *Product) FeeRuleFor(op, channel string) (*FeeRule, bool) {
	var match *FeeRule
	for i := range p.Fees {
		f := &p.Fees[i]
		if f.Operation != op {
			continue
		}
		if channel != "" && f.Channel == channel {
			return f, true
		}
		if f.Channel == "" && match == nil {
			match = f
		}
	}
	return match, match != nil
}

// Fee prices operation op of amount (minor units) on channel by the rule
// FeeRuleFor picks; with none, the fee is zero. The fee is computed once on
// the whole amount: the rate part is exact and rounded once in the rule's
// mode, the fixed part added, and the result clamped to [Min, Max]. A
// negative amount is CodeInvalidRequest; a fee outside int64 is
// CodeOverflow.
func (p *Product) Fee(op, channel string, amount int64) (Fee, error) {
	if amount < 0 {
		return Fee{}, errorAt(CodeInvalidRequest, "amount", "amount must not be negative")
	}
	r, ok := p.FeeRuleFor(op, channel)
	if !ok {
		return Fee{}, nil
	}
	v, err := r.fee(amount)
	if err != nil {
		return Fee{}, err
	}
	return Fee{Amount: v, Payer: r.Payer, AccountCode: r.FeeAccountCode}, nil
}

// fee computes the rule's fee on amount (≥ 0).
func (f *FeeRule) fee(amount int64) (int64, error) {
	fixed, rate := f.Fixed, f.Rate
	switch f.Kind {
	case FeeFixed:
		return f.Fixed, nil
	case FeeTiered:
		t := f.tier(amount)
		fixed, rate = t.Fixed, t.Rate
	}
	v, err := money.ApplyRate(amount, rate, f.Rounding)
	if err == nil {
		v, err = money.Add(v, fixed)
	}
	if err != nil {
		return 0, errorAt(CodeOverflow, "amount", "the fee on %d is out of range", amount)
	}
	if f.Min > 0 && v < f.Min {
		v = f.Min
	}
	if f.Max > 0 && v > f.Max {
		v = f.Max
	}
	return v, nil
}

// tier returns the tier whose range holds amount; validation guarantees
// that the last tier is unbounded.
func (f *FeeRule) tier(amount int64) Tier {
	for _, t := range f.Tiers {
		if t.UpTo == 0 || amount <= t.UpTo {
			return t
		}
	}
	return f.Tiers[len(f.Tiers)-1]
}
