package statement_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/recon/statement"
	"github.com/suanpan/suanpan/money"
)

// fileOpts compares Files by their exported fields.
var fileOpts = cmp.Options{cmpopts.IgnoreUnexported(statement.File{}), cmpopts.EquateEmpty()}

// wechatMap reads testdata/wechat-bill.csv, a WeChat Pay style bill: every
// field prefixed with a back quote, amounts in yuan, the status column
// giving both direction and status, and a two-record totals footer.
func wechatMap() *statement.ColumnMap {
	return &statement.ColumnMap{
		Header: true, Trim: "`",
		OrderID: "商户订单号", ChannelRef: "微信订单号", Direction: "交易状态", Status: "交易状态",
		Amount: "总金额", Fee: "手续费", Time: "交易时间",
		AmountFormat: statement.AmountDecimal, Scale: ptr(2),
		DirectionValues: map[string]channel.Direction{"SUCCESS": channel.PayIn, "REVOKED": channel.PayIn, "REFUND": channel.Refund},
		StatusValues:    map[string]channel.Status{"SUCCESS": channel.Succeeded, "REFUND": channel.Succeeded, "REVOKED": channel.Failed},
		DefaultAsset:    "CNY",
		TimeLayout:      "2006-01-02 15:04:05", TimeZone: "Asia/Shanghai",
		Footer: 2, FooterCount: "总交易单数", FooterAmount: "订单总金额", FooterFee: "手续费总金额",
	}
}

// gbkBankMap reads testdata/bank-gbk.csv, a Chinese bank's GBK export
// with two title lines, a debit/credit flag and grouped amounts.
func gbkBankMap() *statement.ColumnMap {
	return &statement.ColumnMap{
		Encoding: statement.EncodingGBK, Skip: 2, Header: true,
		OrderID: "附言", ChannelRef: "流水号", Direction: "借贷标志", Amount: "交易金额", Time: "交易时间", Party: "对方账号",
		AmountFormat: statement.AmountDecimal, Thousands: ",",
		DirectionValues: map[string]channel.Direction{"贷": channel.PayIn, "借": channel.PayOut},
		DefaultStatus:   channel.Succeeded, DefaultAsset: "CNY",
		TimeLayout: "2006-01-02 15:04:05", TimeZone: "Asia/Shanghai",
	}
}

// signedMap reads testdata/signed.csv, a semicolon-separated export whose
// signed amounts give the direction, in several currencies.
func signedMap() *statement.ColumnMap {
	return &statement.ColumnMap{
		Delimiter: ";", Header: true,
		OrderID: "Order", ChannelRef: "Reference", Party: "Counterparty", Amount: "Amount", Asset: "Currency", Time: "Value Date",
		AmountFormat: statement.AmountDecimal, Thousands: ",", SignGivesDirection: true,
		DefaultStatus: channel.Succeeded,
		TimeLayout:    "02/01/2006", TimeZone: "Asia/Hong_Kong",
	}
}

// plainMap reads small inline files: order,amount,fee,status,time in
// yuan, with a header.
func plainMap() *statement.ColumnMap {
	return &statement.ColumnMap{
		Header:  true,
		OrderID: "order", Amount: "amount", Fee: "fee", Status: "status", Time: "time",
		AmountFormat: statement.AmountDecimal, Scale: ptr(2),
		StatusValues:     map[string]channel.Status{"OK": channel.Succeeded, "FAIL": channel.Failed},
		DefaultDirection: channel.PayIn, DefaultAsset: "CNY",
		TimeLayout: "2006-01-02 15:04:05", TimeZone: "Asia/Shanghai",
	}
}

// headerlessMap reads inline files without a header, in minor units:
// #1 order, #2 amount, #3 time (RFC 3339), #4 direction.
func headerlessMap() *statement.ColumnMap {
	return &statement.ColumnMap{
		OrderID: "#1", Amount: "#2", Time: "#3", Direction: "#4",
		AmountFormat:    statement.AmountMinor,
		DirectionValues: map[string]channel.Direction{"in": channel.PayIn, "out": channel.PayOut, "refund": channel.Refund},
		DefaultStatus:   channel.Succeeded, DefaultAsset: "JPY",
		TimeLayout: time.RFC3339, TimeZone: "UTC",
		Footer: 1, FooterCount: "#1", FooterAmount: "#2",
	}
}

func ptr[T any](v T) *T { return &v }

// readTestdata returns the contents of testdata/name.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// at returns a time in the zone named.
func at(t testing.TB, zone, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v.UTC()
}

func TestParseCSVSamples(t *testing.T) {
	const sh = "Asia/Shanghai"
	tests := []struct {
		name string
		file string
		m    *statement.ColumnMap
		want *statement.File
	}{
		{
			name: "wechat bill", file: "wechat-bill.csv", m: wechatMap(),
			want: &statement.File{Entries: 4, Credits: 268800, Debits: 3000, Lines: []statement.Line{
				{No: 2, OrderID: "PI-20250314-0001", ChannelRef: "4200002501202503140000000001", Direction: channel.PayIn,
					Amount: 10000, Fee: 60, Asset: "CNY", Status: channel.Succeeded, At: at(t, sh, "2025-03-14 09:15:02")},
				{No: 3, OrderID: "PI-20250314-0002", ChannelRef: "4200002501202503140000000002", Direction: channel.PayIn,
					Amount: 258800, Fee: 1553, Asset: "CNY", Status: channel.Succeeded, At: at(t, sh, "2025-03-14 11:02:45")},
				{No: 4, OrderID: "PI-20250314-0003", ChannelRef: "4200002501202503140000000003", Direction: channel.PayIn,
					Amount: 4500, Asset: "CNY", Status: channel.Failed, At: at(t, sh, "2025-03-14 13:30:00")},
				{No: 5, OrderID: "RF-20250314-0001", ChannelRef: "4200002501202503140000000001", Direction: channel.Refund,
					Amount: 3000, Fee: -18, Asset: "CNY", Status: channel.Succeeded, At: at(t, sh, "2025-03-14 18:47:19")},
			}},
		},
		{
			name: "gbk bank export", file: "bank-gbk.csv", m: gbkBankMap(),
			want: &statement.File{Entries: 3, Credits: 1310000, Debits: 105025, Lines: []statement.Line{
				{No: 4, OrderID: "PI-20250314-0201", ChannelRef: "ICBC0314000001", Direction: channel.PayIn, Amount: 1280000,
					Asset: "CNY", Status: channel.Succeeded, At: at(t, sh, "2025-03-14 09:02:11"), Party: "6222021001122334455"},
				{No: 5, OrderID: "PO-20250314-0077", ChannelRef: "ICBC0314000002", Direction: channel.PayOut, Amount: 105025,
					Asset: "CNY", Status: channel.Succeeded, At: at(t, sh, "2025-03-14 10:15:40"), Party: "6217001234567890123"},
				{No: 6, OrderID: "PI-20250314-0202", ChannelRef: "ICBC0314000003", Direction: channel.PayIn, Amount: 30000,
					Asset: "CNY", Status: channel.Succeeded, At: at(t, sh, "2025-03-14 16:20:05"), Party: "6228480012345678901"},
			}},
		},
		{
			name: "signed amounts", file: "signed.csv", m: signedMap(),
			want: &statement.File{Entries: 4, Credits: 157525, Debits: 132050, Lines: []statement.Line{
				{No: 2, OrderID: "PI-20250314-0301", ChannelRef: "HK250314-001", Direction: channel.PayIn, Amount: 150000,
					Asset: "HKD", Status: channel.Succeeded, At: at(t, "Asia/Hong_Kong", "2025-03-14 00:00:00"), Party: "Chan Tai Man"},
				{No: 3, OrderID: "PO-20250314-0302", ChannelRef: "HK250314-002", Direction: channel.PayOut, Amount: 82050,
					Asset: "HKD", Status: channel.Succeeded, At: at(t, "Asia/Hong_Kong", "2025-03-14 00:00:00"), Party: "Wong Siu Ming"},
				{No: 4, OrderID: "PO-20250314-0303", ChannelRef: "HK250314-003", Direction: channel.PayOut, Amount: 50000,
					Asset: "JPY", Status: channel.Succeeded, At: at(t, "Asia/Hong_Kong", "2025-03-14 00:00:00"), Party: "Tokyo Trading KK"},
				{No: 5, OrderID: "PI-20250314-0304", ChannelRef: "HK250314-004", Direction: channel.PayIn, Amount: 7525,
					Asset: "HKD", Status: channel.Succeeded, At: at(t, "Asia/Hong_Kong", "2025-03-14 00:00:00"), Party: "Lee Ka Yan"},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := statement.ParseCSV(bytes.NewReader(readTestdata(t, tt.file)), tt.m)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, fileOpts); diff != "" {
				t.Errorf("ParseCSV mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseCSVForms(t *testing.T) {
	tests := []struct {
		name  string
		m     func(*statement.ColumnMap)
		input string
		want  []statement.Line
	}{
		{
			name:  "utf-8 byte order mark, CRLF, blank lines, quotes",
			input: "\uFEFForder,amount,fee,status,time\r\n\r\n\"A,1\",\"1.50\",,OK,2025-03-14 08:00:00\r\n  \r\n\"B \"\"2\"\"\",2,0.01,FAIL,2025-03-14 09:00:00\r\n",
			want: []statement.Line{
				{No: 3, OrderID: "A,1", Direction: channel.PayIn, Amount: 150, Asset: "CNY", Status: channel.Succeeded, At: time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)},
				{No: 5, OrderID: `B "2"`, Direction: channel.PayIn, Amount: 200, Fee: 1, Asset: "CNY", Status: channel.Failed, At: time.Date(2025, 3, 14, 1, 0, 0, 0, time.UTC)},
			},
		},
		{
			name:  "tab-separated, trimmed, by index",
			m:     func(m *statement.ColumnMap) { *m = *headerlessMap(); m.Delimiter = "\t"; m.Trim = " " },
			input: " X1 \t 500 \t2025-03-14T08:00:00+08:00\tout\n1\t500\n",
			want: []statement.Line{
				{No: 1, OrderID: "X1", Direction: channel.PayOut, Amount: 500, Asset: "JPY", Status: channel.Succeeded, At: time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)},
			},
		},
		{
			name: "zero as a signed amount is a pay-in",
			m: func(m *statement.ColumnMap) {
				m.DefaultDirection, m.SignGivesDirection = "", true
			},
			input: "order,amount,fee,status,time\nA,-0.00,,OK,2025-03-14 08:00:00\n",
			want: []statement.Line{
				{No: 2, OrderID: "A", Direction: channel.PayIn, Amount: 0, Asset: "CNY", Status: channel.Succeeded, At: time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)},
			},
		},
		{
			name: "asset values and scale from the asset",
			m: func(m *statement.ColumnMap) {
				m.DefaultAsset, m.Asset, m.Scale = "", "ccy", nil
				m.AssetValues = map[string]string{"人民币": "CNY", "日元": "JPY"}
			},
			input: "order,amount,fee,status,time,ccy\nA,1.5,,OK,2025-03-14 08:00:00,人民币\nB,1500,,OK,2025-03-14 08:00:00,日元\n",
			want: []statement.Line{
				{No: 2, OrderID: "A", Direction: channel.PayIn, Amount: 150, Asset: "CNY", Status: channel.Succeeded, At: time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)},
				{No: 3, OrderID: "B", Direction: channel.PayIn, Amount: 1500, Asset: "JPY", Status: channel.Succeeded, At: time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)},
			},
		},
		{
			name:  "a line of exactly 4096 bytes",
			m:     func(m *statement.ColumnMap) { m.Skip = 1 },
			input: strings.Repeat("x", 4096) + "\r\norder,amount,fee,status,time\n",
		},
		{
			name:  "skipped titles are not decoded",
			m:     func(m *statement.ColumnMap) { m.Skip = 2 },
			input: "\xb9\xa4\xd0\xd0 GBK title\n\xff\n" + "order,amount,fee,status,time\n",
		},
		{
			name:  "an empty statement",
			input: "order,amount,fee,status,time\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := plainMap()
			if tt.m != nil {
				tt.m(m)
			}
			got, err := statement.ParseCSV(strings.NewReader(tt.input), m)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Lines, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("lines mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// errCase is a file that must be refused with an *Error at Line and Field,
// wrapping Is when set, whose text contains Text.
type errCase struct {
	name  string
	m     func(*statement.ColumnMap)
	input string
	line  int
	field string
	is    error
	text  string
}

// checkErr checks err against c.
func checkErr(t *testing.T, err error, line int, field string, is error, text string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, statement.ErrInvalid) {
		t.Fatalf("error %v does not wrap ErrInvalid", err)
	}
	var e *statement.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *Error", err)
	}
	if e.Line != line || e.Field != field {
		t.Errorf("error at line %d field %q, want line %d field %q: %v", e.Line, e.Field, line, field, err)
	}
	if is != nil && !errors.Is(err, is) {
		t.Errorf("error %v does not wrap %v", err, is)
	}
	if !strings.Contains(err.Error(), text) {
		t.Errorf("error %q does not say %q", err, text)
	}
	if len(err.Error()) > 400 {
		t.Errorf("error of %d bytes: %.80q…", len(err.Error()), err)
	}
}

func TestParseCSVErrors(t *testing.T) {
	const head = "order,amount,fee,status,time\n"
	wechat := string(readTestdata(t, "wechat-bill.csv"))
	useWechat := func(m *statement.ColumnMap) { *m = *wechatMap() }
	tests := []errCase{
		{name: "bad amount", input: head + "A,12.3x,,OK,2025-03-14 08:00:00\n", line: 2, field: "amount", is: money.ErrSyntax, text: `"12.3x"`},
		{name: "amount with a leading zero", input: head + "A,012.30,,OK,2025-03-14 08:00:00\n", line: 2, field: "amount", is: money.ErrSyntax},
		{name: "too many fraction digits", input: head + "A,12.345,,OK,2025-03-14 08:00:00\n", line: 2, field: "amount", is: money.ErrTooManyDecimals},
		{name: "too many fraction digits in a fee", input: head + "A,12.34,0.001,OK,2025-03-14 08:00:00\n", line: 2, field: "fee", is: money.ErrTooManyDecimals},
		{name: "minor units with a point", m: func(m *statement.ColumnMap) { m.AmountFormat, m.Scale = statement.AmountMinor, nil },
			input: head + "A,12.00,,OK,2025-03-14 08:00:00\n", line: 2, field: "amount", is: money.ErrTooManyDecimals},
		{name: "empty amount", input: head + "A,,,OK,2025-03-14 08:00:00\n", line: 2, field: "amount", text: "empty"},
		{name: "negative amount without sign_gives_direction", input: head + "A,-1.00,,OK,2025-03-14 08:00:00\n", line: 2, field: "amount", text: "sign_gives_direction"},
		{name: "plus sign without sign_gives_direction", input: head + "A,+1.00,,OK,2025-03-14 08:00:00\n", line: 2, field: "amount", is: money.ErrSyntax},
		{name: "two signs", m: func(m *statement.ColumnMap) { m.DefaultDirection, m.SignGivesDirection = "", true },
			input: head + "A,+-1.00,,OK,2025-03-14 08:00:00\n", line: 2, field: "amount", is: money.ErrSyntax},
		{name: "misplaced thousands separator", m: func(m *statement.ColumnMap) { m.Thousands = "'" },
			input: head + "A,1'23.00,,OK,2025-03-14 08:00:00\n", line: 2, field: "amount", text: "misplaced"},
		{name: "amount overflows", input: head + "A,92233720368547758.08,,OK,2025-03-14 08:00:00\n", line: 2, field: "amount", is: money.ErrOverflow},
		{name: "negative amount overflows", m: func(m *statement.ColumnMap) {
			m.DefaultDirection, m.SignGivesDirection, m.AmountFormat, m.Scale = "", true, statement.AmountMinor, nil
		},
			input: head + "A,-9223372036854775808,,OK,2025-03-14 08:00:00\n", line: 2, field: "amount", is: money.ErrOverflow},
		{name: "total overflows", input: head + "A,92233720368547758.07,,OK,2025-03-14 08:00:00\nB,0.01,,OK,2025-03-14 08:00:00\n",
			line: 3, field: "amount", is: money.ErrOverflow},
		{name: "unknown status word", input: head + "A,1.00,,PENDING,2025-03-14 08:00:00\n", line: 2, field: "status", text: `"PENDING" is not in status_values`},
		{name: "long unknown status word is clipped", input: head + "A,1.00,," + strings.Repeat("状", 50) + ",2025-03-14 08:00:00\n",
			line: 2, field: "status", text: `"` + strings.Repeat("状", 13) + `"… is not in status_values`},
		{name: "unknown direction word", m: useWechat, input: strings.Replace(wechat, "`REVOKED", "`CLOSED", 1), line: 4, field: "direction", text: `"CLOSED"`},
		{name: "unknown asset word", m: func(m *statement.ColumnMap) {
			m.DefaultAsset, m.Asset, m.AssetValues = "", "ccy", map[string]string{"人民币": "CNY"}
		}, input: "order,amount,fee,status,time,ccy\nA,1.00,,OK,2025-03-14 08:00:00,美元\n", line: 2, field: "asset", text: "asset_values"},
		{name: "asset without an ISO scale", m: func(m *statement.ColumnMap) { m.DefaultAsset, m.Asset, m.Scale = "", "ccy", nil },
			input: "order,amount,fee,status,time,ccy\nA,1.00,,OK,2025-03-14 08:00:00,POINTS\n", line: 2, field: "asset", text: "ISO 4217"},
		{name: "bad asset code", m: func(m *statement.ColumnMap) { m.DefaultAsset, m.Asset = "", "ccy" },
			input: "order,amount,fee,status,time,ccy\nA,1.00,,OK,2025-03-14 08:00:00,rmb\n", line: 2, field: "asset", is: money.ErrInvalidAsset},
		{name: "bad time", input: head + "A,1.00,,OK,2025/03/14 08:00\n", line: 2, field: "time", text: "time_layout"},
		{name: "too few fields", input: head + "A,1.00,,OK\n", line: 2, text: "4 fields, want 5"},
		{name: "quote not closed", input: head + "\"A,1.00,,OK,2025-03-14 08:00:00\n", line: 2, text: "quote not closed"},
		{name: "text after a closing quote", input: head + "\"A\"x,1.00,,OK,2025-03-14 08:00:00\n", line: 2, text: "after the closing quote"},
		{name: "no such column", input: "order,amt,fee,status,time\n", line: 1, field: "amount", text: `no column named "amount" in the header`},
		{name: "two columns of a name", input: "order,amount,fee,status,time,amount\n", line: 1, field: "amount", text: "two columns"},
		{name: "no header", input: "", field: "header", text: "no header"},
		{name: "index beyond the line", m: func(m *statement.ColumnMap) { *m = *headerlessMap(); m.Party = "#9" },
			input: "A,1,2025-03-14T08:00:00Z,in\n1,1\n", line: 1, field: "party", text: "#9"},
		{name: "not utf-8", input: head + "A\xff,1.00,,OK,2025-03-14 08:00:00\n", line: 2, field: "encoding", text: "UTF-8"},
		{name: "not gbk", m: func(m *statement.ColumnMap) { m.Encoding = statement.EncodingGBK },
			input: head + "A\xff\x20,1.00,,OK,2025-03-14 08:00:00\n", line: 2, field: "encoding", text: "GBK"},
		{name: "overlong line", input: head + strings.Repeat("x", 4097) + "\n", line: 2, text: "longer than 4096 bytes"},
		{name: "overlong last line", input: head + strings.Repeat("x", 5000), line: 2, text: "longer than 4096 bytes"},
		{name: "overlong line before the header", m: func(m *statement.ColumnMap) { m.Skip = 1 },
			input: strings.Repeat("x", 4097) + "\n" + head, line: 1, text: "longer than 4096 bytes"},
		{name: "footer count", m: useWechat, input: strings.Replace(wechat, "`4,`2688.00", "`5,`2688.00", 1),
			line: 7, field: "footer_count", text: "5 lines, but the file has 4"},
		{name: "footer amount", m: useWechat, input: strings.Replace(wechat, "`2763.00", "`2763.01", 1),
			line: 7, field: "footer_amount", text: "total 2763.01, but the lines' amounts add up to 2763.00"},
		{name: "footer fee", m: useWechat, input: strings.Replace(wechat, "`15.95", "`16.13", 1),
			line: 7, field: "footer_fee", text: "16.13"},
		{name: "footer amount not a number", m: useWechat, input: strings.Replace(wechat, "`2763.00", "`two", 1),
			line: 7, field: "footer_amount", is: money.ErrSyntax},
		{name: "footer column missing", m: useWechat, input: strings.Replace(wechat, ",订单总金额,", ",订单金额,", 1),
			line: 6, field: "footer_amount", text: "footer header"},
		{name: "footer too short", m: useWechat, input: strings.SplitAfter(wechat, "\n")[0] + strings.SplitAfter(wechat, "\n")[1],
			field: "footer", text: "fewer than the 2 footer records"},
		{name: "footer over several assets", m: func(m *statement.ColumnMap) { *m = *headerlessMap(); m.DefaultAsset, m.Asset = "", "#5" },
			input: "A,1,2025-03-14T08:00:00Z,in,JPY\nB,1,2025-03-14T08:00:00Z,in,KRW\n2,2\n", line: 3, field: "footer", text: "several assets"},
		{name: "headerless footer count", m: func(m *statement.ColumnMap) { *m = *headerlessMap() },
			input: "A,1,2025-03-14T08:00:00Z,in\n2,1\n", line: 2, field: "footer_count", text: "2 lines, but the file has 1"},
		{name: "headerless footer amount", m: func(m *statement.ColumnMap) { *m = *headerlessMap() },
			input: "A,1,2025-03-14T08:00:00Z,in\n1,2\n", line: 2, field: "footer_amount", text: "total 2, but the lines' amounts add up to 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := plainMap()
			if tt.m != nil {
				tt.m(m)
			}
			f, err := statement.ParseCSV(strings.NewReader(tt.input), m)
			if err == nil {
				t.Fatalf("accepted: %+v", f)
			}
			checkErr(t, err, tt.line, tt.field, tt.is, tt.text)
		})
	}
}

// lines yields n copies of line without holding them in memory.
type lines struct {
	line []byte
	n    int
	off  int
}

func (l *lines) Read(p []byte) (int, error) {
	total := 0
	for len(p) > 0 {
		if l.n == 0 {
			if total == 0 {
				return 0, io.EOF
			}
			return total, nil
		}
		c := copy(p, l.line[l.off:])
		p, total, l.off = p[c:], total+c, l.off+c
		if l.off == len(l.line) {
			l.off, l.n = 0, l.n-1
		}
	}
	return total, nil
}

func TestParseCSVTooManyLines(t *testing.T) {
	// Blank lines count as lines, and keep the test's memory small.
	head := "order,amount,fee,status,time\n"
	body := &lines{line: []byte("\n"), n: 2_000_000}
	_, err := statement.ParseCSV(io.MultiReader(strings.NewReader(head), body), plainMap())
	checkErr(t, err, 2_000_001, "", nil, "more than 2000000 lines")
}

func TestParseCSVReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	_, err := statement.ParseCSV(io.MultiReader(strings.NewReader("order,amount,fee,status,time\n"), iotest.ErrReader(boom)), plainMap())
	if !errors.Is(err, boom) || errors.Is(err, statement.ErrInvalid) {
		t.Errorf("ParseCSV of a failing reader: %v, want the reader's error and not ErrInvalid", err)
	}
}
