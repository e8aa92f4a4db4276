package accounts

import "slices"

// Limit bounds one operation type, on one channel or ("" Channel) on all.
// Amounts are minor units of the product's asset; a zero bound is no bound.
// The periods are the account's business day and calendar month.
type Limit struct {
	Operation     string `json:"operation"`
	Channel       string `json:"channel,omitempty"`
	PerTxn        int64  `json:"per_transaction"`
	DailyAmount   int64  `json:"daily_amount"`
	DailyCount    int64  `json:"daily_count"`
	MonthlyAmount int64  `json:"monthly_amount"`
	MonthlyCount  int64  `json:"monthly_count"`
}

func (l *Limit) validate(field string) error {
	if !validOperation(l.Operation) {
		return errorAt(CodeInvalidRequest, field+".operation", "unknown operation type %q", l.Operation)
	}
	if l.Channel != "" && !tokenPattern.MatchString(l.Channel) {
		return errorAt(CodeInvalidRequest, field+".channel", "a channel is 1-32 lowercase letters, digits or '_'")
	}
	bounds := []struct {
		name string
		v    int64
	}{{"per_transaction", l.PerTxn}, {"daily_amount", l.DailyAmount}, {"daily_count", l.DailyCount},
		{"monthly_amount", l.MonthlyAmount}, {"monthly_count", l.MonthlyCount}}
	set := false
	for _, b := range bounds {
		if b.v < 0 {
			return errorAt(CodeInvalidRequest, field+"."+b.name, "%s must be zero (no limit) or positive", b.name)
		}
		set = set || b.v > 0
	}
	if !set {
		return errorAt(CodeInvalidRequest, field, "a limit needs at least one bound")
	}
	return nil
}

// Usage is what an account has already used of a limit in the current
// periods: the amount and number of operations today and this month, for
// the scope of the limit that applies (see LimitFor).
type Usage struct {
	DayAmount, DayCount, MonthAmount, MonthCount int64
}

// Allows reports whether the product allows operation op through channel:
// nil, CodeOperationNotAllowed (Field "operation") or CodeChannelNotAllowed
// (Field "channel"). An unknown operation type is CodeInvalidRequest.
func (p *Product) Allows(op, channel string) error {
	if !validOperation(op) {
		return errorAt(CodeInvalidRequest, "operation", "unknown operation type %q", op)
	}
	if len(p.Operations) > 0 && !slices.Contains(p.Operations, op) {
		return errorAt(CodeOperationNotAllowed, "operation", "product %s does not allow %s", p.ID, op)
	}
	if len(p.Channels) > 0 && !slices.Contains(p.Channels, channel) {
		return errorAt(CodeChannelNotAllowed, "channel", "product %s does not allow the channel %q", p.ID, channel)
	}
	return nil
}

// LimitFor returns the limit that governs op on channel: the one for that
// operation and channel, else the one for that operation on every channel.
// The operations layer counts the usage it passes to CheckLimits over the
// same scope: the operation on that channel, or on all channels.
func (p *Product) LimitFor(op, channel string) (Limit, bool) {
	match := -1
	for i, l := range p.Limits {
		if l.Operation != op {
			continue
		}
		if channel != "" && l.Channel == channel {
			return l, true
		}
		if l.Channel == "" && match < 0 {
			match = i
		}
	}
	if match < 0 {
		return Limit{}, false
	}
	return p.Limits[match], true
}

// CheckLimits reports whether one more operation op of amount (minor units)
// on channel stays within the governing limit (LimitFor), given what the
// account has already used. Reaching a bound exactly is allowed; passing it
// by one minor unit or one operation is CodeLimitExceeded with the bound in
// Field. Bounds are checked in the order per_transaction, daily_amount,
// daily_count, monthly_amount, monthly_count. Sums that would overflow
// exceed every bound. A negative amount or usage is CodeInvalidRequest.
// With no governing limit, everything passes.
func (p *Product) CheckLimits(op, channel string, amount int64, used Usage) error {
	if amount < 0 {
		return errorAt(CodeInvalidRequest, "amount", "amount must not be negative")
	}
	if used.DayAmount < 0 || used.DayCount < 0 || used.MonthAmount < 0 || used.MonthCount < 0 {
		return errorAt(CodeInvalidRequest, "usage", "usage must not be negative")
	}
	l, ok := p.LimitFor(op, channel)
	if !ok {
		return nil
	}
	checks := []struct {
		field      string
		bound      int64
		used, more int64
	}{
		{"per_transaction", l.PerTxn, 0, amount},
		{"daily_amount", l.DailyAmount, used.DayAmount, amount},
		{"daily_count", l.DailyCount, used.DayCount, 1},
		{"monthly_amount", l.MonthlyAmount, used.MonthAmount, amount},
		{"monthly_count", l.MonthlyCount, used.MonthCount, 1},
	}
	for _, c := range checks {
		// used + more > bound, without computing the sum: both are
		// non-negative, so bound - used cannot overflow.
		if c.bound > 0 && c.more > c.bound-c.used {
			return errorAt(CodeLimitExceeded, c.field, "product %s limits %s to %d (%s)", p.ID, op, c.bound, c.field)
		}
	}
	return nil
}
