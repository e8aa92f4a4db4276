package accounts_test

import (
	"math"
	"testing"

	"github.com/suanpan/suanpan/internal/accounts"
)

func TestCheckLimits(t *testing.T) {
	p := valid(t, wallet(nil, []accounts.Limit{
		{Operation: accounts.OpWithdraw, PerTxn: 500000, DailyAmount: 1000000, DailyCount: 3, MonthlyAmount: 5000000, MonthlyCount: 10},
		{Operation: accounts.OpWithdraw, Channel: "wechat", PerTxn: 20000},
		{Operation: accounts.OpPayment, MonthlyAmount: math.MaxInt64},
	}))
	tests := []struct {
		name        string
		op, channel string
		amount      int64
		used        accounts.Usage
		code        accounts.Code
		field       string
	}{
		{"within every bound", accounts.OpWithdraw, "bank", 100, accounts.Usage{}, "", ""},
		{"at per transaction", accounts.OpWithdraw, "bank", 500000, accounts.Usage{}, "", ""},
		{"over per transaction", accounts.OpWithdraw, "bank", 500001, accounts.Usage{}, accounts.CodeLimitExceeded, "per_transaction"},
		{"at daily amount", accounts.OpWithdraw, "bank", 400000, accounts.Usage{DayAmount: 600000, DayCount: 1}, "", ""},
		{"over daily amount", accounts.OpWithdraw, "bank", 400001, accounts.Usage{DayAmount: 600000, DayCount: 1}, accounts.CodeLimitExceeded, "daily_amount"},
		{"at daily count", accounts.OpWithdraw, "bank", 1, accounts.Usage{DayCount: 2}, "", ""},
		{"over daily count", accounts.OpWithdraw, "bank", 1, accounts.Usage{DayCount: 3}, accounts.CodeLimitExceeded, "daily_count"},
		{"at monthly amount", accounts.OpWithdraw, "bank", 100, accounts.Usage{MonthAmount: 4999900}, "", ""},
		{"over monthly amount", accounts.OpWithdraw, "bank", 101, accounts.Usage{MonthAmount: 4999900}, accounts.CodeLimitExceeded, "monthly_amount"},
		{"at monthly count", accounts.OpWithdraw, "bank", 1, accounts.Usage{MonthCount: 9}, "", ""},
		{"over monthly count", accounts.OpWithdraw, "bank", 1, accounts.Usage{MonthCount: 10}, accounts.CodeLimitExceeded, "monthly_count"},
		{"already over", accounts.OpWithdraw, "bank", 0, accounts.Usage{DayAmount: 1000001}, accounts.CodeLimitExceeded, "daily_amount"},
		{"the channel's limit governs", accounts.OpWithdraw, "wechat", 20000, accounts.Usage{DayCount: 100}, "", ""},
		{"over the channel's limit", accounts.OpWithdraw, "wechat", 20001, accounts.Usage{}, accounts.CodeLimitExceeded, "per_transaction"},
		{"no limit for the operation", accounts.OpTopup, "bank", math.MaxInt64, accounts.Usage{DayAmount: math.MaxInt64}, "", ""},
		{"sum at the int64 bound", accounts.OpPayment, "", 1, accounts.Usage{MonthAmount: math.MaxInt64 - 1}, "", ""},
		{"sum past the int64 bound", accounts.OpPayment, "", math.MaxInt64, accounts.Usage{MonthAmount: math.MaxInt64}, accounts.CodeLimitExceeded, "monthly_amount"},
		{"huge amount", accounts.OpWithdraw, "bank", math.MaxInt64, accounts.Usage{MonthAmount: math.MaxInt64}, accounts.CodeLimitExceeded, "per_transaction"},
		{"negative amount", accounts.OpWithdraw, "bank", -1, accounts.Usage{}, accounts.CodeInvalidRequest, "amount"},
		{"negative usage", accounts.OpWithdraw, "bank", 1, accounts.Usage{DayCount: -1}, accounts.CodeInvalidRequest, "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f := code(p.CheckLimits(tt.op, tt.channel, tt.amount, tt.used))
			if c != tt.code || f != tt.field {
				t.Errorf("CheckLimits = %q (%q), want %q (%q)", c, f, tt.code, tt.field)
			}
		})
	}
}

func TestAllows(t *testing.T) {
	open := valid(t, wallet(nil, nil))
	closed := wallet(nil, nil)
	closed.Operations = []string{accounts.OpTopup, accounts.OpPayment}
	closed.Channels = []string{"wechat", "alipay"}
	restricted := valid(t, closed)
	tests := []struct {
		name        string
		p           *accounts.Product
		op, channel string
		code        accounts.Code
		field       string
	}{
		{"open product", open, accounts.OpWithdraw, "cash", "", ""},
		{"open product, no channel", open, accounts.OpWithdraw, "", "", ""},
		{"allowed", restricted, accounts.OpPayment, "alipay", "", ""},
		{"operation refused", restricted, accounts.OpWithdraw, "alipay", accounts.CodeOperationNotAllowed, "operation"},
		{"channel refused", restricted, accounts.OpTopup, "bank", accounts.CodeChannelNotAllowed, "channel"},
		{"no channel where channels are named", restricted, accounts.OpTopup, "", accounts.CodeChannelNotAllowed, "channel"},
		{"unknown operation", open, "teleport", "bank", accounts.CodeInvalidRequest, "operation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f := code(tt.p.Allows(tt.op, tt.channel))
			if c != tt.code || f != tt.field {
				t.Errorf("Allows(%s, %q) = %q (%q), want %q (%q)", tt.op, tt.channel, c, f, tt.code, tt.field)
			}
		})
	}
}
