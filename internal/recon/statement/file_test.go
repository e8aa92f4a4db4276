package statement_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/recon/statement"
)

// bankAdapter is a bank_transfer adapter, for its statement parser.
func bankAdapter(t *testing.T) channel.Adapter {
	t.Helper()
	a, err := channel.New(channel.Config{Kind: channel.BankTransfer, Endpoint: "http://127.0.0.1:1/bank_transfer",
		MerchantID: "suanpan", Secret: "test-secret"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// bankStatement is a bank_transfer statement, the adapter's own format.
const bankStatement = "order_id,bank_ref,type,amount,fee,currency,status,value_time\n" +
	"ORD-1,B-1,collection,12345,5,CNY,COMPLETED,2025-03-14T01:00:00Z\n" +
	"ORD-2,B-2,transfer,500,0,CNY,REJECTED,2025-03-14T02:00:00Z\n" +
	"ORD-3,B-3,transfer,700,1,CNY,COMPLETED,2025-03-14T03:00:00Z\n"

func TestParse(t *testing.T) {
	native := &statement.File{Entries: 3, Credits: 12345, Debits: 700, Lines: []statement.Line{
		{No: 1, OrderID: "ORD-1", ChannelRef: "B-1", Direction: channel.PayIn, Amount: 12345, Fee: 5, Asset: "CNY",
			Status: channel.Succeeded, At: time.Date(2025, 3, 14, 1, 0, 0, 0, time.UTC)},
		{No: 2, OrderID: "ORD-2", ChannelRef: "B-2", Direction: channel.PayOut, Amount: 500, Asset: "CNY",
			Status: channel.Failed, At: time.Date(2025, 3, 14, 2, 0, 0, 0, time.UTC)},
		{No: 3, OrderID: "ORD-3", ChannelRef: "B-3", Direction: channel.PayOut, Amount: 700, Fee: 1, Asset: "CNY",
			Status: channel.Succeeded, At: time.Date(2025, 3, 14, 3, 0, 0, 0, time.UTC)},
	}}
	tests := []struct {
		name      string
		format    statement.Format
		input     string
		wantLines int
		want      *statement.File
	}{
		{name: "native", format: statement.Format{Kind: statement.KindNative}, input: bankStatement, want: native},
		{name: "csv", format: statement.Format{Kind: statement.KindCSV, Columns: wechatMap()},
			input: string(readTestdata(t, "wechat-bill.csv")), wantLines: 4},
		{name: "camt053", format: statement.Format{Kind: statement.KindCamt053},
			input: string(readTestdata(t, "camt053-v08-bank-cn.xml")), wantLines: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := statement.Parse(strings.NewReader(tt.input), tt.format, bankAdapter(t))
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != nil {
				if diff := cmp.Diff(tt.want, got, fileOpts); diff != "" {
					t.Errorf("Parse mismatch (-want +got):\n%s", diff)
				}
			} else if len(got.Lines) != tt.wantLines {
				t.Errorf("Parse gave %d lines, want %d", len(got.Lines), tt.wantLines)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	boom := errors.New("disk on fire")
	tests := []struct {
		name    string
		format  statement.Format
		native  bool
		input   io.Reader
		wantIs  error
		wantNot error
	}{
		{name: "bad format", format: statement.Format{Kind: "mt940"}, native: true, input: strings.NewReader(""),
			wantIs: statement.ErrBadFormat, wantNot: statement.ErrInvalid},
		{name: "native without an adapter", format: statement.Format{Kind: statement.KindNative}, input: strings.NewReader(bankStatement),
			wantIs: statement.ErrBadFormat, wantNot: statement.ErrInvalid},
		{name: "native refuses the file", format: statement.Format{Kind: statement.KindNative}, native: true,
			input: strings.NewReader(strings.Replace(bankStatement, "12345", "12.345", 1)), wantIs: statement.ErrInvalid},
		{name: "native reader fails", format: statement.Format{Kind: statement.KindNative}, native: true,
			input: io.MultiReader(strings.NewReader(bankStatement[:80]), iotest.ErrReader(boom)), wantIs: boom, wantNot: statement.ErrInvalid},
		{name: "csv refuses the file", format: statement.Format{Kind: statement.KindCSV, Columns: plainMap()}, native: true,
			input: strings.NewReader("nonsense"), wantIs: statement.ErrInvalid},
		{name: "camt053 refuses the file", format: statement.Format{Kind: statement.KindCamt053}, native: true,
			input: strings.NewReader(bankStatement), wantIs: statement.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a channel.Adapter
			if tt.native {
				a = bankAdapter(t)
			}
			f, err := statement.Parse(tt.input, tt.format, a)
			if err == nil {
				t.Fatalf("accepted: %+v", f)
			}
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v does not wrap %v", err, tt.wantIs)
			}
			if tt.wantNot != nil && errors.Is(err, tt.wantNot) {
				t.Errorf("error %v wraps %v", err, tt.wantNot)
			}
		})
	}
}

func TestFromChannel(t *testing.T) {
	ok := channel.StatementLine{OrderID: "ORD-1", Direction: channel.PayIn, Amount: 1, Asset: "CNY", Status: channel.Succeeded}
	with := func(edit func(*channel.StatementLine)) []channel.StatementLine {
		l := ok
		edit(&l)
		return []channel.StatementLine{ok, l}
	}
	tests := []struct {
		name  string
		lines []channel.StatementLine
		field string
		text  string
	}{
		{"negative amount", with(func(l *channel.StatementLine) { l.Amount = -1 }), "amount", "negative"},
		{"processing", with(func(l *channel.StatementLine) { l.Status = channel.Processing }), "status", `"processing"`},
		{"no direction", with(func(l *channel.StatementLine) { l.Direction = "" }), "direction", "pay_in"},
		{"credits overflow", with(func(l *channel.StatementLine) { l.Amount = 1<<63 - 1 }), "amount", "overflows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := statement.FromChannel(tt.lines)
			if err == nil {
				t.Fatalf("accepted: %+v", f)
			}
			checkErr(t, err, 2, tt.field, nil, tt.text)
		})
	}
	f, err := statement.FromChannel(nil)
	if err != nil || len(f.Lines) != 0 || f.Entries != 0 {
		t.Errorf("FromChannel(nil) = %+v, %v; want an empty file", f, err)
	}
}

func TestCheckDates(t *testing.T) {
	camt, err := statement.ParseCamt053(bytes.NewReader(readTestdata(t, "camt053-v08-bank-cn.xml")))
	if err != nil {
		t.Fatal(err)
	}
	bill, err := statement.ParseCSV(bytes.NewReader(readTestdata(t, "wechat-bill.csv")), wechatMap())
	if err != nil {
		t.Fatal(err)
	}
	// A Beijing day: the v08 file's times and the bill's are in it.
	from := at(t, "Asia/Shanghai", "2025-03-14 00:00:00")
	to := from.AddDate(0, 0, 1)
	tests := []struct {
		name     string
		file     *statement.File
		from, to time.Time
		wantLine int
		text     string
	}{
		{name: "camt in range", file: camt, from: from, to: to},
		{name: "csv in range", file: bill, from: from, to: to},
		{name: "camt starts late", file: camt, from: from.Add(11 * time.Hour), to: to, wantLine: 1,
			text: "statement entry 1: at: 2025-03-14T02:21:07Z is outside the statement period"},
		{name: "camt ends early", file: camt, from: from, to: at(t, "Asia/Shanghai", "2025-03-14 15:00:00"), wantLine: 2, text: "entry 2"},
		{name: "end is exclusive", file: bill, from: from, to: at(t, "Asia/Shanghai", "2025-03-14 18:47:19"), wantLine: 5,
			text: "statement line 5: at:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.file.CheckDates(tt.from, tt.to)
			if tt.wantLine == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			checkErr(t, err, tt.wantLine, "at", nil, tt.text)
		})
	}
	if err := camt.CheckDates(to, from); err == nil || errors.Is(err, statement.ErrInvalid) {
		t.Errorf("CheckDates of an empty period: %v, want an error that is not ErrInvalid", err)
	}
}
