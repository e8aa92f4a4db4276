package channel_test

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
)

// statementDay is the business day the statement tests settle orders on:
// 10:00 in Beijing, 02:00 UTC.
var statementDay = time.Date(2025, 3, 14, 2, 0, 0, 0, time.UTC)

// statementAssets are the currencies each kind's statement test uses:
// scales 0, 2 and 3 where the channel settles them.
func statementAssets(k channel.Kind) []string {
	switch k {
	case channel.QRWallet:
		return []string{"CNY"}
	case channel.UnionPay:
		return []string{"CNY", "JPY", "USD"}
	}
	return []string{"CNY", "JPY", "KWD"}
}

// statementAmounts are the amounts each currency is tried with, up to
// twelve digits (UnionPay's limit).
var statementAmounts = []int64{1, 99, 100, 12345, 999_999_999_999}

// settledSim runs kind k's orders of every supported direction, currency
// and amount through a simulator that fails some, and returns the
// simulator's statement for the day with the lines it should parse to.
func settledSim(t *testing.T, k channel.Kind, seed int64) (statement string, want []channel.StatementLine, a channel.Adapter) {
	t.Helper()
	clk := clock.NewFake(statementDay)
	s, err := sim.New(sim.Config{Seed: seed, FailRate: 3000, Clock: clk, MinDelay: time.Second, MaxDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = s.Close() })
	a, err = channel.New(s.ChannelConfig(srv.URL, k))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, asset := range statementAssets(k) {
		for _, amount := range statementAmounts {
			for _, d := range k.Directions() {
				n++
				r := channel.Request{OrderID: fmt.Sprintf("S%d-%s", n, asset), Direction: d, Amount: amount, Asset: asset, Party: "P1"}
				if d == channel.Refund {
					pay := r
					pay.OrderID, pay.Direction = "P"+r.OrderID, channel.PayIn
					if _, err := a.Start(t.Context(), pay); err != nil {
						t.Fatal(err)
					}
					s.Settle()
					r.Original = pay.OrderID
				}
				if _, err := a.Start(t.Context(), r); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	s.Settle()
	listsFailed := k == channel.BankTransfer || k == channel.Cheque
	for _, o := range s.Orders() {
		if o.Status == channel.Succeeded || listsFailed && o.Status == channel.Failed {
			want = append(want, channel.StatementLine{OrderID: o.ID, ChannelRef: o.Ref, Direction: o.Direction, Amount: o.Amount,
				Fee: o.Fee, Asset: o.Asset, Status: o.Status, At: o.DecidedAt})
		}
	}
	var b bytes.Buffer
	if err := s.WriteStatement(&b, k, statementDay); err != nil {
		t.Fatal(err)
	}
	return b.String(), want, a
}

// byOrderID sorts statement lines.
func byOrderID(lines []channel.StatementLine) []channel.StatementLine {
	slices.SortFunc(lines, func(a, b channel.StatementLine) int { return strings.Compare(a.OrderID, b.OrderID) })
	return lines
}

// TestParseStatement checks that every kind's parser reads the
// simulator's statement exactly: every amount and fee to the minor unit.
func TestParseStatement(t *testing.T) {
	for _, k := range channel.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			text, want, a := settledSim(t, k, 1)
			got, err := a.ParseStatement(strings.NewReader(text))
			if err != nil {
				t.Fatalf("parse: %v\n%s", err, text)
			}
			if len(want) < 5 {
				t.Fatalf("only %d lines to compare", len(want))
			}
			if diff := cmp.Diff(byOrderID(want), byOrderID(got)); diff != "" {
				t.Errorf("statement (-want +got):\n%s\n%s", diff, text)
			}
		})
	}
}

// TestParseStatementRejects checks that broken statements are errors, not
// silently wrong lines.
func TestParseStatementRejects(t *testing.T) {
	tests := []struct {
		kind   channel.Kind
		name   string
		mutate func(string) string
	}{
		{channel.BankTransfer, "header", func(s string) string { return strings.Replace(s, "order_id", "id", 1) }},
		{channel.BankTransfer, "negative amount", func(s string) string { return strings.Replace(s, ",collection,", ",collection,-", 1) }},
		{channel.BankTransfer, "missing column", func(s string) string { return strings.Replace(s, ",CNY,", ",", 1) }},
		{channel.QRWallet, "totals changed", func(s string) string {
			i := strings.LastIndex(s, ",`")
			return s[:i+2] + "9" + s[i+2:]
		}},
		{channel.QRWallet, "no totals", func(s string) string { return s[:strings.Index(s, "总交易单数")] }},
		{channel.QRWallet, "field without back quote", func(s string) string { return strings.Replace(s, ",`NATIVE", ",NATIVE", 1) }},
		{channel.QRWallet, "more decimals than yuan have", func(s string) string { return strings.Replace(s, ".00,`", ".001,`", 1) }},
		{channel.UnionPay, "short line", func(s string) string { return strings.Replace(s, " 156 ", " 156", 1) }},
		{channel.UnionPay, "unknown currency", func(s string) string { return strings.Replace(s, " 156 ", " 999 ", 1) }},
		{channel.POSCard, "too many decimals", func(s string) string { return strings.Replace(s, ",0.01,", ",0.010,", 1) }},
		{channel.POSCard, "settle date", func(s string) string { return strings.Replace(s, "\n20250314,", "\n20250315,", 1) }},
		{channel.CashCounter, "count", func(s string) string { return strings.Replace(s, "#end\t", "#end\t1", 1) }},
		{channel.CashCounter, "no trailer", func(s string) string { return s[:strings.Index(s, "#end")] }},
		{channel.Cheque, "returned without reason", func(s string) string {
			return strings.NewReplacer(",insufficient_funds_at_drawer,", ",,", ",signature_mismatch,", ",,",
				",account_closed,", ",,", ",stale_dated,", ",,", ",stopped_payment,", ",,").Replace(s)
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind)+"/"+tt.name, func(t *testing.T) {
			text, _, a := settledSim(t, tt.kind, 2)
			broken := tt.mutate(text)
			if broken == text {
				t.Fatalf("the mutation changed nothing in\n%s", text)
			}
			if lines, err := a.ParseStatement(strings.NewReader(broken)); err == nil {
				t.Errorf("parsed %d lines from\n%s", len(lines), broken)
			}
		})
	}
}
