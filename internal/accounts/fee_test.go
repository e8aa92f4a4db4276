package accounts_test

import (
	"math"
	"testing"

	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/money"
)

func TestFee(t *testing.T) {
	pct := func(r string, mode money.Rounding) accounts.FeeRule {
		return accounts.FeeRule{Operation: accounts.OpWithdraw, Kind: accounts.FeePercentage, Rate: rate(t, r),
			Payer: accounts.PartyPayer, Rounding: mode, FeeAccountCode: "6001"}
	}
	with := func(f accounts.FeeRule, edit func(*accounts.FeeRule)) accounts.FeeRule { edit(&f); return f }
	fixed := accounts.FeeRule{Operation: accounts.OpWithdraw, Kind: accounts.FeeFixed, Fixed: 200,
		Payer: accounts.PartyPayer, Rounding: money.HalfEven, FeeAccountCode: "6001"}
	// Tiers: up to 1000.00 at 0.5%; up to 5000.00 at 0.4%; above at 0.3% + 1.00.
	tiered := accounts.FeeRule{Operation: accounts.OpWithdraw, Kind: accounts.FeeTiered, Tiers: []accounts.Tier{
		{UpTo: 100000, Rate: rate(t, "0.005")}, {UpTo: 500000, Rate: rate(t, "0.004")}, {Fixed: 100, Rate: rate(t, "0.003")}},
		Payer: accounts.PartyPayee, Rounding: money.HalfEven, FeeAccountCode: "6001"}

	tests := []struct {
		name   string
		rule   accounts.FeeRule
		amount int64
		want   int64
		code   accounts.Code
	}{
		{"fixed", fixed, 12345, 200, ""},
		{"fixed on zero", fixed, 0, 200, ""},
		{"fixed on a huge amount", fixed, math.MaxInt64, 200, ""},
		{"fixed zero", with(fixed, func(f *accounts.FeeRule) { f.Fixed = 0 }), 12345, 0, ""},
		{"percentage exact", pct("0.006", money.HalfEven), 100000, 600, ""},
		{"percentage 6.006 half_even", pct("0.006", money.HalfEven), 1001, 6, ""},
		{"percentage 6.006 up", pct("0.006", money.Up), 1001, 7, ""},
		{"percentage 6.006 ceiling", pct("0.006", money.Ceiling), 1001, 7, ""},
		{"percentage 6.006 down", pct("0.006", money.Down), 1001, 6, ""},
		{"half 0.5 half_even", pct("0.005", money.HalfEven), 100, 0, ""},
		{"half 1.5 half_even", pct("0.005", money.HalfEven), 300, 2, ""},
		{"half 2.5 half_even", pct("0.005", money.HalfEven), 500, 2, ""},
		{"half 0.5 half_up", pct("0.005", money.HalfUp), 100, 1, ""},
		{"half 2.5 half_up", pct("0.005", money.HalfUp), 500, 3, ""},
		{"half 2.5 down", pct("0.005", money.Down), 500, 2, ""},
		{"half 2.5 up", pct("0.005", money.Up), 500, 3, ""},
		{"half 2.5 floor", pct("0.005", money.Floor), 500, 2, ""},
		{"half 2.5 ceiling", pct("0.005", money.Ceiling), 500, 3, ""},
		{"percentage plus fixed", with(pct("0.029", money.HalfUp), func(f *accounts.FeeRule) { f.Fixed = 30 }), 1000, 59, ""},
		{"percentage on zero", pct("0.006", money.Up), 0, 0, ""},
		{"below min", with(pct("0.001", money.HalfEven), func(f *accounts.FeeRule) { f.Min = 100 }), 1000, 100, ""},
		{"at min", with(pct("0.001", money.HalfEven), func(f *accounts.FeeRule) { f.Min = 100 }), 100000, 100, ""},
		{"above min", with(pct("0.001", money.HalfEven), func(f *accounts.FeeRule) { f.Min = 100 }), 100100, 100, ""},
		{"above min by one", with(pct("0.001", money.HalfEven), func(f *accounts.FeeRule) { f.Min = 100 }), 101000, 101, ""},
		{"below max", with(pct("0.01", money.HalfEven), func(f *accounts.FeeRule) { f.Max = 2500 }), 249900, 2499, ""},
		{"at max", with(pct("0.01", money.HalfEven), func(f *accounts.FeeRule) { f.Max = 2500 }), 250000, 2500, ""},
		{"above max", with(pct("0.01", money.HalfEven), func(f *accounts.FeeRule) { f.Max = 2500 }), 10_000_000, 2500, ""},
		{"min and max equal", with(pct("0.01", money.HalfEven), func(f *accounts.FeeRule) { f.Min, f.Max = 500, 500 }), 1, 500, ""},
		{"tier 1 at zero", tiered, 0, 0, ""},
		{"tier 1", tiered, 1000, 5, ""},
		{"tier 1 upper bound inclusive", tiered, 100000, 500, ""},
		{"tier 2 lower bound", tiered, 100001, 400, ""},
		{"tier 2 upper bound inclusive", tiered, 500000, 2000, ""},
		{"tier 3 lower bound", tiered, 500001, 1600, ""},
		{"tier 3 large", tiered, 100_000_000, 300100, ""},
		{"tiered with max", with(tiered, func(f *accounts.FeeRule) { f.Max = 1000 }), 500001, 1000, ""},
		{"rate 1 on the largest amount", pct("1", money.HalfEven), math.MaxInt64, math.MaxInt64, ""},
		{"half of the largest amount", pct("0.5", money.HalfEven), math.MaxInt64, 4611686018427387904, ""},
		{"overflow", with(pct("1", money.HalfEven), func(f *accounts.FeeRule) { f.Fixed = 1 }), math.MaxInt64, 0, accounts.CodeOverflow},
		{"tier overflow", with(tiered, func(f *accounts.FeeRule) {
			f.Tiers = []accounts.Tier{{UpTo: 100, Rate: rate(t, "0.01")}, {Fixed: 100, Rate: rate(t, "1")}}
		}), math.MaxInt64 - 10, 0, accounts.CodeOverflow},
		{"negative amount", pct("0.006", money.HalfEven), -1, 0, accounts.CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := valid(t, wallet([]accounts.FeeRule{tt.rule}, nil))
			got, err := p.Fee(accounts.OpWithdraw, "bank", tt.amount)
			if c, _ := code(err); c != tt.code {
				t.Fatalf("Fee(%d) error %v, want code %q", tt.amount, err, tt.code)
			}
			if err != nil {
				return
			}
			if got.Amount != tt.want || got.Payer != tt.rule.Payer || got.AccountCode != "6001" {
				t.Errorf("Fee(%d) = %+v, want %d paid by %s to 6001", tt.amount, got, tt.want, tt.rule.Payer)
			}
		})
	}
}

func TestFeeRuleChoice(t *testing.T) {
	rule := func(op, channel string, fee int64) accounts.FeeRule {
		return accounts.FeeRule{Operation: op, Channel: channel, Kind: accounts.FeeFixed, Fixed: fee,
			Payer: accounts.PartyPayer, Rounding: money.HalfEven, FeeAccountCode: "6001"}
	}
	p := valid(t, wallet([]accounts.FeeRule{
		rule(accounts.OpWithdraw, "", 100),
		rule(accounts.OpWithdraw, "wechat", 50),
		rule(accounts.OpTopup, "card", 30),
	}, nil))
	tests := []struct {
		op, channel string
		want        int64
		payer       accounts.Party
	}{
		{accounts.OpWithdraw, "wechat", 50, accounts.PartyPayer},
		{accounts.OpWithdraw, "bank", 100, accounts.PartyPayer},
		{accounts.OpWithdraw, "", 100, accounts.PartyPayer},
		{accounts.OpTopup, "card", 30, accounts.PartyPayer},
		{accounts.OpTopup, "bank", 0, ""},
		{accounts.OpPayment, "wechat", 0, ""},
	}
	for _, tt := range tests {
		got, err := p.Fee(tt.op, tt.channel, 10000)
		if err != nil || got.Amount != tt.want || got.Payer != tt.payer {
			t.Errorf("Fee(%s, %q) = %+v, %v; want %d by %q", tt.op, tt.channel, got, err, tt.want, tt.payer)
		}
	}
}

// FuzzFee checks a fee's invariants on any rule that validates: it never
// panics, is never negative, stays within min and max, never exceeds the
// amount without a fixed part or a minimum, and fails only by overflow.
func FuzzFee(f *testing.F) {
	f.Add(int64(1001), uint8(1), int64(0), int64(6), uint8(3), int64(0), int64(0), uint8(1), int64(0))
	f.Add(int64(math.MaxInt64), uint8(1), int64(1), int64(1), uint8(0), int64(0), int64(0), uint8(2), int64(0))
	f.Add(int64(100001), uint8(2), int64(0), int64(5), uint8(3), int64(10), int64(300), uint8(3), int64(100000))
	f.Add(int64(0), uint8(0), int64(200), int64(0), uint8(0), int64(0), int64(0), uint8(4), int64(0))
	f.Fuzz(func(t *testing.T, amount int64, kind uint8, fixed, coef int64, scale uint8, lo, hi int64, mode uint8, upTo int64) {
		r, err := money.NewRate(coef, int(scale%(money.MaxRateScale+1)))
		if err != nil {
			return
		}
		rule := accounts.FeeRule{Operation: accounts.OpPayment, Fixed: fixed, Min: lo, Max: hi,
			Payer: accounts.PartyPayee, Rounding: money.Rounding(mode % 8), FeeAccountCode: "6001"}
		switch kind % 3 {
		case 0:
			rule.Kind = accounts.FeeFixed
		case 1:
			rule.Kind, rule.Rate = accounts.FeePercentage, r
		case 2:
			rule.Kind = accounts.FeeTiered
			rule.Tiers = []accounts.Tier{{UpTo: upTo, Fixed: fixed, Rate: r}, {Rate: r}}
			rule.Fixed = 0
		}
		p := wallet([]accounts.FeeRule{rule}, nil)
		if p.Validate() != nil {
			return
		}
		fee, err := p.Fee(accounts.OpPayment, "", amount)
		if err != nil {
			c, _ := code(err)
			if amount < 0 && c == accounts.CodeInvalidRequest || c == accounts.CodeOverflow {
				return
			}
			t.Fatalf("Fee(%d) with %+v: %v", amount, rule, err)
		}
		if amount < 0 {
			t.Fatalf("Fee(%d) accepted a negative amount", amount)
		}
		if fee.Amount < 0 {
			t.Fatalf("Fee(%d) = %d with %+v", amount, fee.Amount, rule)
		}
		if lo > 0 && fee.Amount < lo || hi > 0 && fee.Amount > hi {
			t.Fatalf("Fee(%d) = %d outside [%d, %d]", amount, fee.Amount, lo, hi)
		}
		if rule.Kind != accounts.FeeFixed && fixed == 0 && lo == 0 && fee.Amount > amount {
			t.Fatalf("Fee(%d) = %d exceeds the amount with %+v", amount, fee.Amount, rule)
		}
	})
}
