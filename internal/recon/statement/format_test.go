package statement_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/recon/statement"
)

func TestFormatValidate(t *testing.T) {
	csv := func(edit func(m *statement.ColumnMap)) *statement.Format {
		m := plainMap()
		edit(m)
		return &statement.Format{Kind: statement.KindCSV, Columns: m}
	}
	tests := []struct {
		name   string
		format *statement.Format
		want   string // the error's text after "invalid statement format: "; "" for none
	}{
		{"native", &statement.Format{Kind: statement.KindNative}, ""},
		{"camt053", &statement.Format{Kind: statement.KindCamt053}, ""},
		{"wechat", &statement.Format{Kind: statement.KindCSV, Columns: wechatMap()}, ""},
		{"gbk bank", &statement.Format{Kind: statement.KindCSV, Columns: gbkBankMap()}, ""},
		{"signed", &statement.Format{Kind: statement.KindCSV, Columns: signedMap()}, ""},
		{"headerless", &statement.Format{Kind: statement.KindCSV, Columns: headerlessMap()}, ""},
		{"nil", nil, "format: missing"},
		{"unknown kind", &statement.Format{Kind: "mt940"}, `kind: "mt940" is not "native", "csv" or "camt053"`},
		{"csv without columns", &statement.Format{Kind: statement.KindCSV}, `columns: required for kind "csv"`},
		{"camt053 with columns", &statement.Format{Kind: statement.KindCamt053, Columns: plainMap()}, `columns: only kind "csv" takes columns`},
		{"no amount", csv(func(m *statement.ColumnMap) { m.Amount = "" }), "columns.amount: required"},
		{"no time", csv(func(m *statement.ColumnMap) { m.Time = "" }), "columns.time: required"},
		{"no reference", csv(func(m *statement.ColumnMap) { m.OrderID = "" }), "columns.order_id: order_id or channel_ref is required"},
		{"channel ref only", csv(func(m *statement.ColumnMap) { m.OrderID, m.ChannelRef = "", "ref" }), ""},
		{"name without a header", csv(func(m *statement.ColumnMap) { m.Header = false }), `columns.order_id: "order" is a column name, but header is false`},
		{"column zero", csv(func(m *statement.ColumnMap) { m.Amount = "#0" }), `columns.amount: column "#0" is outside #1..#1000`},
		{"column too far", csv(func(m *statement.ColumnMap) { m.Amount = "#1001" }), `columns.amount: column "#1001" is outside`},
		{"hash name", csv(func(m *statement.ColumnMap) { m.Amount = "#amount" }), ""},
		{"two-character delimiter", csv(func(m *statement.ColumnMap) { m.Delimiter = ";;" }), `columns.delimiter: ";;" is not one character`},
		{"quote delimiter", csv(func(m *statement.ColumnMap) { m.Delimiter = `"` }), "columns.delimiter:"},
		{"chinese comma delimiter", csv(func(m *statement.ColumnMap) { m.Delimiter = "，" }), ""},
		{"negative skip", csv(func(m *statement.ColumnMap) { m.Skip = -1 }), "columns.skip: -1 is outside 0..100"},
		{"big skip", csv(func(m *statement.ColumnMap) { m.Skip = 101 }), "columns.skip: 101 is outside 0..100"},
		{"unknown encoding", csv(func(m *statement.ColumnMap) { m.Encoding = "big5" }), `columns.encoding: "big5" is not "utf-8" or "gbk"`},
		{"long trim", csv(func(m *statement.ColumnMap) { m.Trim = strings.Repeat("`", 17) }), "columns.trim: more than 16 characters"},
		{"no amount format", csv(func(m *statement.ColumnMap) { m.AmountFormat = "" }), `columns.amount_format: "" is not "minor" or "decimal"`},
		{"scale with minor", csv(func(m *statement.ColumnMap) { m.AmountFormat = statement.AmountMinor }), `columns.scale: only for amount_format "decimal"`},
		{"big scale", csv(func(m *statement.ColumnMap) { m.Scale = ptr(19) }), "columns.scale: 19 is outside 0..18"},
		{"digit thousands", csv(func(m *statement.ColumnMap) { m.Thousands = "0" }), `columns.thousands: "0" is not one character`},
		{"point thousands", csv(func(m *statement.ColumnMap) { m.Thousands = "." }), "columns.thousands:"},
		{"sign and direction column", csv(func(m *statement.ColumnMap) {
			m.DefaultDirection, m.SignGivesDirection, m.Direction = "", true, "dir"
		}), "columns.sign_gives_direction: excludes a direction column and default_direction"},
		{"sign and default direction", csv(func(m *statement.ColumnMap) { m.SignGivesDirection = true }), "columns.sign_gives_direction:"},
		{"direction column and default", csv(func(m *statement.ColumnMap) { m.Direction = "dir" }), "columns.default_direction: only without a direction column"},
		{"no direction", csv(func(m *statement.ColumnMap) { m.DefaultDirection = "" }), "columns.direction: a direction column, default_direction or sign_gives_direction is required"},
		{"direction column without values", csv(func(m *statement.ColumnMap) { m.DefaultDirection, m.Direction = "", "dir" }), "columns.direction_values: required with a direction column"},
		{"direction values without column", csv(func(m *statement.ColumnMap) {
			m.DirectionValues = map[string]channel.Direction{"in": channel.PayIn}
		}), "columns.direction_values: only with a direction column"},
		{"bad direction value", csv(func(m *statement.ColumnMap) {
			m.DefaultDirection, m.Direction, m.DirectionValues = "", "dir", map[string]channel.Direction{"in": "inbound"}
		}), `columns.direction_values: "in" maps to "inbound": want pay_in, pay_out or refund`},
		{"empty direction word", csv(func(m *statement.ColumnMap) {
			m.DefaultDirection, m.Direction, m.DirectionValues = "", "dir", map[string]channel.Direction{"": channel.PayIn}
		}), "columns.direction_values: word \"\" is empty"},
		{"bad default direction", csv(func(m *statement.ColumnMap) { m.DefaultDirection = "in" }), `columns.default_direction: "in" is not pay_in, pay_out or refund`},
		{"no status", csv(func(m *statement.ColumnMap) { m.Status, m.StatusValues = "", nil }), "columns.status: a status column or default_status is required"},
		{"status column and default", csv(func(m *statement.ColumnMap) { m.DefaultStatus = channel.Succeeded }), "columns.default_status: only without a status column"},
		{"status column without values", csv(func(m *statement.ColumnMap) { m.StatusValues = nil }), "columns.status_values: required with a status column"},
		{"status values without column", csv(func(m *statement.ColumnMap) { m.Status, m.DefaultStatus = "", channel.Succeeded }), "columns.status_values: only with a status column"},
		{"processing status value", csv(func(m *statement.ColumnMap) { m.StatusValues["WAIT"] = channel.Processing }), `columns.status_values: "WAIT" maps to "processing": want succeeded or failed`},
		{"processing default status", csv(func(m *statement.ColumnMap) { m.Status, m.StatusValues, m.DefaultStatus = "", nil, channel.Processing }), `columns.default_status: "processing" is not succeeded or failed`},
		{"no asset", csv(func(m *statement.ColumnMap) { m.DefaultAsset = "" }), "columns.asset: an asset column or default_asset is required"},
		{"asset column and default", csv(func(m *statement.ColumnMap) { m.Asset = "ccy" }), "columns.default_asset: only without an asset column"},
		{"asset values without column", csv(func(m *statement.ColumnMap) { m.AssetValues = map[string]string{"元": "CNY"} }), "columns.asset_values: only with an asset column"},
		{"bad asset value", csv(func(m *statement.ColumnMap) {
			m.DefaultAsset, m.Asset, m.AssetValues = "", "ccy", map[string]string{"元": "rmb"}
		}), `columns.asset_values: "元" maps to "rmb"`},
		{"bad default asset", csv(func(m *statement.ColumnMap) { m.DefaultAsset = "yuan" }), `columns.default_asset: invalid asset: code "yuan"`},
		{"default asset without a scale", csv(func(m *statement.ColumnMap) { m.DefaultAsset, m.Scale = "POINTS", nil }), `columns.default_asset: "POINTS" has no ISO 4217 minor unit: set scale`},
		{"custom asset with a scale", csv(func(m *statement.ColumnMap) { m.DefaultAsset = "POINTS" }), ""},
		{"no time layout", csv(func(m *statement.ColumnMap) { m.TimeLayout = "" }), "columns.time_layout: required"},
		{"not a layout", csv(func(m *statement.ColumnMap) { m.TimeLayout = "yyyy-MM-dd HH:mm:ss" }), `columns.time_layout: "yyyy-MM-dd HH:mm:ss" is not a Go layout`},
		{"layout without a date", csv(func(m *statement.ColumnMap) { m.TimeLayout = "15:04:05" }), "columns.time_layout:"},
		{"no time zone", csv(func(m *statement.ColumnMap) { m.TimeZone = "" }), "columns.time_zone: an IANA zone"},
		{"local time zone", csv(func(m *statement.ColumnMap) { m.TimeZone = "Local" }), "columns.time_zone: an IANA zone"},
		{"unknown time zone", csv(func(m *statement.ColumnMap) { m.TimeZone = "Asia/Peking" }), `columns.time_zone: "Asia/Peking" is not a known IANA zone`},
		{"big footer", csv(func(m *statement.ColumnMap) { m.Footer, m.FooterCount = 11, "#1" }), "columns.footer: 11 is outside 0..10"},
		{"footer without columns", csv(func(m *statement.ColumnMap) { m.Footer = 1 }), "columns.footer: footer_count, footer_amount or footer_fee is required"},
		{"footer column without footer", csv(func(m *statement.ColumnMap) { m.FooterAmount = "#2" }), "columns.footer_amount: needs footer"},
		{"footer name without footer header", csv(func(m *statement.ColumnMap) { m.Footer, m.FooterCount = 1, "total" }), `columns.footer_count: "total" is a name, which needs a footer header record`},
		{"footer fee without fee", csv(func(m *statement.ColumnMap) { m.Fee, m.Footer, m.FooterFee = "", 1, "#3" }), "columns.footer_fee: needs a fee column"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.format.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, statement.ErrBadFormat) || errors.Is(err, statement.ErrInvalid) {
				t.Fatalf("Validate: %v, want an error wrapping only ErrBadFormat", err)
			}
			if got := strings.TrimPrefix(err.Error(), "invalid statement format: "); !strings.HasPrefix(got, tt.want) {
				t.Errorf("Validate: %q, want it to start %q", got, tt.want)
			}
			// ParseCSV checks the map the same way, naming fields without
			// the "columns." prefix.
			if tt.format != nil && tt.format.Kind == statement.KindCSV && tt.format.Columns != nil {
				_, perr := statement.ParseCSV(strings.NewReader(""), tt.format.Columns)
				if want := strings.TrimPrefix(tt.want, "columns."); perr == nil || !strings.Contains(perr.Error(), want) {
					t.Errorf("ParseCSV: %v, want %q", perr, want)
				}
			}
		})
	}
}

// TestFormatJSON shows how a Format is stored, and that it round-trips.
func TestFormatJSON(t *testing.T) {
	const stored = `{
		"kind": "csv",
		"columns": {
			"header": true, "trim": "` + "`" + `",
			"order_id": "商户订单号", "channel_ref": "微信订单号", "direction": "交易状态", "status": "交易状态",
			"amount": "总金额", "fee": "手续费", "time": "交易时间",
			"amount_format": "decimal", "scale": 2,
			"direction_values": {"SUCCESS": "pay_in", "REVOKED": "pay_in", "REFUND": "refund"},
			"status_values": {"SUCCESS": "succeeded", "REFUND": "succeeded", "REVOKED": "failed"},
			"default_asset": "CNY",
			"time_layout": "2006-01-02 15:04:05", "time_zone": "Asia/Shanghai",
			"footer": 2, "footer_count": "总交易单数", "footer_amount": "订单总金额", "footer_fee": "手续费总金额"
		}
	}`
	var got statement.Format
	if err := json.Unmarshal([]byte(stored), &got); err != nil {
		t.Fatal(err)
	}
	want := statement.Format{Kind: statement.KindCSV, Columns: wechatMap()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored format mismatch (-want +got):\n%s", diff)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var back statement.Format
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, back); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
}
