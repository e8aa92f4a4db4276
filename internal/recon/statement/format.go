package statement

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/money"
)

// The kinds of statement file a Format describes.
const (
	// KindNative is the channel adapter's own statement file, read by its
	// ParseStatement.
	KindNative = "native"
	// KindCSV is a CSV (or other delimited) file described by a ColumnMap.
	KindCSV = "csv"
	// KindCamt053 is an ISO 20022 camt.053 BankToCustomerStatement, any
	// version from camt.053.001.02 to camt.053.001.13.
	KindCamt053 = "camt053"
)

// Format says how a channel's (or a bank branch's) statement file is laid
// out. The caller stores it per channel as JSON and validates it when it
// is saved.
type Format struct {
	// Kind is KindNative, KindCSV or KindCamt053.
	Kind string `json:"kind"`
	// Columns describes the file for KindCSV, and must be nil otherwise.
	Columns *ColumnMap `json:"columns,omitempty"`
}

// Validate reports whether f follows the rules. Errors wrap ErrBadFormat
// and name the JSON field at fault, e.g. "columns.amount: required".
func (f *Format) Validate() error {
	if f == nil {
		return badFormat("format", "missing")
	}
	switch f.Kind {
	case KindCSV:
		if f.Columns == nil {
			return badFormat("columns", "required for kind %q", KindCSV)
		}
		_, err := f.Columns.plan("columns.")
		return err
	case KindNative, KindCamt053:
		if f.Columns != nil {
			return badFormat("columns", "only kind %q takes columns", KindCSV)
		}
		return nil
	}
	return badFormat("kind", "%s is not %q, %q or %q", quote(f.Kind), KindNative, KindCSV, KindCamt053)
}

// The amount formats of a ColumnMap.
const (
	// AmountMinor is an integer count of minor units: "1234" is 12.34 CNY.
	AmountMinor = "minor"
	// AmountDecimal is a decimal in major units: "12.34" is 1234 fen.
	AmountDecimal = "decimal"
)

// The text encodings of a ColumnMap.
const (
	// EncodingUTF8 is the default; a UTF-8 byte order mark is ignored.
	EncodingUTF8 = "utf-8"
	// EncodingGBK is the Chinese GBK encoding (a superset of GB2312) that
	// Alipay and Chinese banks write.
	EncodingGBK = "gbk"
)

// Bounds on a ColumnMap.
const (
	maxSkip      = 100
	maxFooter    = 10
	maxColumns   = 1000
	maxValues    = 100
	maxTrimRunes = 16
	// maxNameBytes bounds a column name or a value-map word.
	maxNameBytes = 256
)

// ColumnMap describes a CSV statement file: which column holds which Line
// field and how to read it. Chinese channel bills and bank exports differ
// per channel and per branch, so the caller stores one per channel.
//
// Columns are selected by header name ("商户订单号") when Header is true, or
// by 1-based index ("#3"). The same column may feed several fields: a
// WeChat Pay bill's 交易状态 (SUCCESS, REFUND, REVOKED) gives both the
// direction and the status.
//
// The file is read line by line: a record is one line (a quoted field may
// hold the delimiter and doubled quotes, but not a line break). Blank
// lines are ignored. Each field is stripped of the characters in Trim at
// both ends before it is read.
type ColumnMap struct {
	// Delimiter separates fields: one character, "," when empty ("\t" for
	// tab-separated files).
	Delimiter string `json:"delimiter,omitempty"`
	// Skip is the number of lines before the header (or the first record)
	// to ignore: banks put titles and account details there. At most 100.
	Skip int `json:"skip,omitempty"`
	// Header says the first record after Skip names the columns.
	Header bool `json:"header"`
	// Encoding is "" or "utf-8" (the default), or "gbk".
	Encoding string `json:"encoding,omitempty"`
	// Trim lists characters stripped from both ends of every field, e.g.
	// "`" for WeChat Pay bills, which prefix every field with a back
	// quote, or " \t" for padded exports.
	Trim string `json:"trim,omitempty"`

	// The columns, each a header name or "#n". Amount and Time are
	// required, and at least one of OrderID and ChannelRef. An empty fee
	// field is a fee of 0; an empty amount is an error.
	OrderID    string `json:"order_id,omitempty"`
	ChannelRef string `json:"channel_ref,omitempty"`
	Direction  string `json:"direction,omitempty"`
	Amount     string `json:"amount"`
	Fee        string `json:"fee,omitempty"`
	Asset      string `json:"asset,omitempty"`
	Status     string `json:"status,omitempty"`
	Time       string `json:"time"`
	Party      string `json:"party,omitempty"`

	// AmountFormat is AmountMinor or AmountDecimal; it applies to the
	// amount, fee and footer amount columns.
	AmountFormat string `json:"amount_format"`
	// Scale is the number of decimal places of an AmountDecimal amount:
	// with scale 2, "12.34" is 1234, and "12.345" is an error. When nil,
	// it is the ISO 4217 minor unit of the line's asset (2 for CNY, 0 for
	// JPY), and an asset without one is an error. Only for AmountDecimal.
	Scale *int `json:"scale,omitempty"`
	// Thousands is the digit-group separator amounts may contain, e.g.
	// "," for "1,234.56"; groups must be of three digits. Empty for none.
	Thousands string `json:"thousands,omitempty"`
	// SignGivesDirection says the amount column is signed and its sign is
	// the direction: a negative amount ("-12.34") is a pay-out, any other
	// ("12.34", "+12.34", "0") a pay-in, and Line.Amount is the absolute
	// value. It excludes a direction column and DefaultDirection. Without
	// it, a negative amount is an error. (Fees may always be negative: a
	// fee returned with a refund.)
	SignGivesDirection bool `json:"sign_gives_direction,omitempty"`

	// DirectionValues maps the direction column's words to directions,
	// e.g. {"SUCCESS": "pay_in", "REFUND": "refund"}. Required with a
	// direction column; a word not in it is an error.
	DirectionValues map[string]channel.Direction `json:"direction_values,omitempty"`
	// StatusValues maps the status column's words to channel.Succeeded or
	// channel.Failed. Required with a status column; a word not in it is
	// an error.
	StatusValues map[string]channel.Status `json:"status_values,omitempty"`
	// AssetValues maps the asset column's words to asset codes, e.g.
	// {"人民币": "CNY"}. Optional: without it the column holds codes.
	AssetValues map[string]string `json:"asset_values,omitempty"`
	// DefaultDirection is every line's direction when there is no
	// direction column (and SignGivesDirection is false).
	DefaultDirection channel.Direction `json:"default_direction,omitempty"`
	// DefaultStatus is every line's status when there is no status
	// column: required then.
	DefaultStatus channel.Status `json:"default_status,omitempty"`
	// DefaultAsset is every line's asset when there is no asset column:
	// required then.
	DefaultAsset string `json:"default_asset,omitempty"`

	// TimeLayout is the time column's Go layout, e.g. "2006-01-02
	// 15:04:05"; it must include the date. Required.
	TimeLayout string `json:"time_layout"`
	// TimeZone is the IANA zone times without an offset are in, e.g.
	// "Asia/Shanghai" or "UTC". Required: a server's local zone is never
	// assumed.
	TimeZone string `json:"time_zone"`

	// Footer is the number of trailing records that are a summary, not
	// lines: at most 10. FooterCount and FooterAmount (and FooterFee)
	// select its columns, by "#n" in its last record or, when Footer is
	// 2 or more, by a name in its first record (a footer header, as in a
	// WeChat Pay bill). At least one is required with a footer.
	Footer int `json:"footer,omitempty"`
	// FooterCount holds the number of lines; a mismatch is an error.
	FooterCount string `json:"footer_count,omitempty"`
	// FooterAmount holds the total of the amount column over all lines,
	// whatever their status (signed, with SignGivesDirection); a mismatch
	// is an error.
	FooterAmount string `json:"footer_amount,omitempty"`
	// FooterFee holds the total of the fee column over all lines; a
	// mismatch is an error.
	FooterFee string `json:"footer_fee,omitempty"`
}

// Validate reports whether m follows the rules. Errors wrap ErrBadFormat
// and name the JSON field at fault, e.g. "amount: required".
func (m *ColumnMap) Validate() error {
	_, err := m.plan("")
	return err
}

// column is a selected column: by name until the header resolves it to
// an index.
type column struct {
	json string // the ColumnMap field, for messages
	set  bool
	name string
	idx  int // 0-based, once resolved
}

// The Line fields a ColumnMap selects, in the order of csvPlan.cols.
const (
	colOrderID = iota
	colChannelRef
	colDirection
	colAmount
	colFee
	colAsset
	colStatus
	colTime
	colParty
	numCols
)

// The footer columns, in the order of csvPlan.foot.
const (
	footCount = iota
	footAmount
	footFee
	numFoot
)

// csvPlan is a validated ColumnMap, ready to read a file.
type csvPlan struct {
	m         *ColumnMap
	delim     string
	thousands string
	loc       *time.Location
	cols      [numCols]column
	foot      [numFoot]column
}

// plan validates m, naming fields with prefix ("columns." inside a
// Format), and returns it ready to use.
func (m *ColumnMap) plan(prefix string) (*csvPlan, error) {
	if m == nil {
		return nil, badFormat("columns", "missing")
	}
	bad := func(field, format string, args ...any) error {
		return badFormat(prefix+field, format, args...)
	}
	p := &csvPlan{m: m, delim: ","}
	if m.Delimiter != "" {
		r, size := utf8.DecodeRuneInString(m.Delimiter)
		if size != len(m.Delimiter) || r == utf8.RuneError || r == '"' || r == '\r' || r == '\n' {
			return nil, bad("delimiter", "%s is not one character other than a quote or a line break", quote(m.Delimiter))
		}
		p.delim = m.Delimiter
	}
	if m.Skip < 0 || m.Skip > maxSkip {
		return nil, bad("skip", "%d is outside 0..%d", m.Skip, maxSkip)
	}
	switch m.Encoding {
	case "", EncodingUTF8, EncodingGBK:
	default:
		return nil, bad("encoding", "%s is not %q or %q", quote(m.Encoding), EncodingUTF8, EncodingGBK)
	}
	if utf8.RuneCountInString(m.Trim) > maxTrimRunes || !utf8.ValidString(m.Trim) {
		return nil, bad("trim", "more than %d characters", maxTrimRunes)
	}

	sels := [numCols]struct{ json, sel string }{
		colOrderID: {"order_id", m.OrderID}, colChannelRef: {"channel_ref", m.ChannelRef},
		colDirection: {"direction", m.Direction}, colAmount: {"amount", m.Amount}, colFee: {"fee", m.Fee},
		colAsset: {"asset", m.Asset}, colStatus: {"status", m.Status}, colTime: {"time", m.Time}, colParty: {"party", m.Party},
	}
	for i, s := range sels {
		c, err := parseColumn(s.json, s.sel)
		if err != nil {
			return nil, bad(s.json, "%v", err)
		}
		if c.name != "" && !m.Header {
			return nil, bad(s.json, "%s is a column name, but header is false: select by index (\"#3\")", quote(c.name))
		}
		p.cols[i] = c
	}
	for _, i := range [...]int{colAmount, colTime} {
		if !p.cols[i].set {
			return nil, bad(sels[i].json, "required")
		}
	}
	if !p.cols[colOrderID].set && !p.cols[colChannelRef].set {
		return nil, bad("order_id", "order_id or channel_ref is required")
	}

	switch m.AmountFormat {
	case AmountMinor:
		if m.Scale != nil {
			return nil, bad("scale", "only for amount_format %q", AmountDecimal)
		}
	case AmountDecimal:
		if m.Scale != nil && (*m.Scale < 0 || *m.Scale > money.MaxScale) {
			return nil, bad("scale", "%d is outside 0..%d", *m.Scale, money.MaxScale)
		}
	default:
		return nil, bad("amount_format", "%s is not %q or %q", quote(m.AmountFormat), AmountMinor, AmountDecimal)
	}
	if m.Thousands != "" {
		r, size := utf8.DecodeRuneInString(m.Thousands)
		if size != len(m.Thousands) || r == utf8.RuneError || strings.ContainsRune("0123456789.+-\"", r) {
			return nil, bad("thousands", "%s is not one character other than a digit, sign, point or quote", quote(m.Thousands))
		}
		p.thousands = m.Thousands
	}

	// Direction: exactly one source.
	hasDirCol := p.cols[colDirection].set
	switch {
	case m.SignGivesDirection && (hasDirCol || m.DefaultDirection != ""):
		return nil, bad("sign_gives_direction", "excludes a direction column and default_direction")
	case hasDirCol && m.DefaultDirection != "":
		return nil, bad("default_direction", "only without a direction column")
	case !hasDirCol && !m.SignGivesDirection && m.DefaultDirection == "":
		return nil, bad("direction", "a direction column, default_direction or sign_gives_direction is required")
	case hasDirCol && len(m.DirectionValues) == 0:
		return nil, bad("direction_values", "required with a direction column")
	case !hasDirCol && len(m.DirectionValues) > 0:
		return nil, bad("direction_values", "only with a direction column")
	}
	if m.DefaultDirection != "" && !validDirection(m.DefaultDirection) {
		return nil, bad("default_direction", "%s is not pay_in, pay_out or refund", quote(string(m.DefaultDirection)))
	}
	if err := checkValues(m.DirectionValues, func(d channel.Direction) bool { return validDirection(d) }); err != nil {
		return nil, bad("direction_values", "%v: want pay_in, pay_out or refund", err)
	}

	// Status.
	hasStatusCol := p.cols[colStatus].set
	switch {
	case hasStatusCol && m.DefaultStatus != "":
		return nil, bad("default_status", "only without a status column")
	case !hasStatusCol && m.DefaultStatus == "":
		return nil, bad("status", "a status column or default_status is required")
	case hasStatusCol && len(m.StatusValues) == 0:
		return nil, bad("status_values", "required with a status column")
	case !hasStatusCol && len(m.StatusValues) > 0:
		return nil, bad("status_values", "only with a status column")
	}
	if m.DefaultStatus != "" && !m.DefaultStatus.Final() {
		return nil, bad("default_status", "%s is not succeeded or failed", quote(string(m.DefaultStatus)))
	}
	if err := checkValues(m.StatusValues, channel.Status.Final); err != nil {
		return nil, bad("status_values", "%v: want succeeded or failed", err)
	}

	// Asset.
	hasAssetCol := p.cols[colAsset].set
	switch {
	case hasAssetCol && m.DefaultAsset != "":
		return nil, bad("default_asset", "only without an asset column")
	case !hasAssetCol && m.DefaultAsset == "":
		return nil, bad("asset", "an asset column or default_asset is required")
	case !hasAssetCol && len(m.AssetValues) > 0:
		return nil, bad("asset_values", "only with an asset column")
	}
	if m.DefaultAsset != "" {
		if err := p.checkAsset(m.DefaultAsset); err != nil {
			return nil, bad("default_asset", "%v", err)
		}
	}
	if err := checkValues(m.AssetValues, func(a string) bool { return p.checkAsset(a) == nil }); err != nil {
		return nil, bad("asset_values", "%v: want an asset code (with an ISO 4217 scale unless scale is set)", err)
	}

	// Time.
	if m.TimeLayout == "" {
		return nil, bad("time_layout", "required")
	}
	ref := time.Date(2025, time.March, 14, 10, 20, 30, 0, time.UTC)
	if t, err := time.Parse(m.TimeLayout, ref.Format(m.TimeLayout)); err != nil || t.Year() != 2025 || t.Month() != time.March || t.Day() != 14 {
		return nil, bad("time_layout", "%s is not a Go layout with a date: write the reference time 2006-01-02 15:04:05 the way the file does", quote(m.TimeLayout))
	}
	if m.TimeZone == "" || m.TimeZone == "Local" {
		return nil, bad("time_zone", "an IANA zone such as \"Asia/Shanghai\" or \"UTC\" is required")
	}
	loc, err := time.LoadLocation(m.TimeZone)
	if err != nil {
		return nil, bad("time_zone", "%s is not a known IANA zone", quote(m.TimeZone))
	}
	p.loc = loc

	// Footer.
	if m.Footer < 0 || m.Footer > maxFooter {
		return nil, bad("footer", "%d is outside 0..%d", m.Footer, maxFooter)
	}
	foot := [numFoot]struct{ json, sel string }{
		footCount: {"footer_count", m.FooterCount}, footAmount: {"footer_amount", m.FooterAmount}, footFee: {"footer_fee", m.FooterFee},
	}
	anyFoot := false
	for i, s := range foot {
		c, err := parseColumn(s.json, s.sel)
		if err != nil {
			return nil, bad(s.json, "%v", err)
		}
		if c.set && m.Footer == 0 {
			return nil, bad(s.json, "needs footer, the number of summary records")
		}
		if c.name != "" && m.Footer < 2 {
			return nil, bad(s.json, "%s is a name, which needs a footer header record (footer 2 or more): select by index (\"#1\")", quote(c.name))
		}
		anyFoot = anyFoot || c.set
		p.foot[i] = c
	}
	if m.Footer > 0 && !anyFoot {
		return nil, bad("footer", "footer_count, footer_amount or footer_fee is required with a footer")
	}
	if p.foot[footFee].set && !p.cols[colFee].set {
		return nil, bad("footer_fee", "needs a fee column")
	}
	return p, nil
}

// parseColumn reads a column selector: "" for none, "#n" for the n-th
// column, anything else a header name.
func parseColumn(json, s string) (column, error) {
	c := column{json: json}
	if s == "" {
		return c, nil
	}
	c.set = true
	if digits, ok := strings.CutPrefix(s, "#"); ok && digits != "" && strings.Trim(digits, "0123456789") == "" {
		n, err := strconv.Atoi(digits)
		if err != nil || n < 1 || n > maxColumns {
			return c, fmt.Errorf("column %s is outside #1..#%d", quote(s), maxColumns)
		}
		c.idx = n - 1
		return c, nil
	}
	if len(s) > maxNameBytes || !utf8.ValidString(s) {
		return c, fmt.Errorf("column name %s is not UTF-8 of at most %d bytes", quote(s), maxNameBytes)
	}
	c.name = s
	return c, nil
}

// checkValues checks a value map: at most maxValues words, none empty or
// overlong, each mapped to a value ok accepts.
func checkValues[V any](vals map[string]V, ok func(V) bool) error {
	if len(vals) > maxValues {
		return fmt.Errorf("more than %d words", maxValues)
	}
	for k, v := range vals {
		if k == "" || len(k) > maxNameBytes {
			return fmt.Errorf("word %s is empty or longer than %d bytes", quote(k), maxNameBytes)
		}
		if !ok(v) {
			return fmt.Errorf("%s maps to %s", quote(k), quote(fmt.Sprint(v)))
		}
	}
	return nil
}

// validDirection reports whether d is one of the directions.
func validDirection(d channel.Direction) bool {
	return d == channel.PayIn || d == channel.PayOut || d == channel.Refund
}

// checkAsset checks an asset code a line may carry: a valid code, with an
// ISO 4217 scale when decimal amounts take their scale from the asset.
func (p *csvPlan) checkAsset(code string) error {
	if err := (money.Asset{Code: code}).Validate(); err != nil {
		return err
	}
	if p.m.AmountFormat == AmountDecimal && p.m.Scale == nil {
		if _, ok := money.ISOScale(code); !ok {
			return fmt.Errorf("%s has no ISO 4217 minor unit: set scale", quote(code))
		}
	}
	return nil
}

// scale returns the number of decimal places of asset's amounts.
func (p *csvPlan) scale(asset string) int {
	switch {
	case p.m.AmountFormat == AmountMinor:
		return 0
	case p.m.Scale != nil:
		return *p.m.Scale
	}
	s, _ := money.ISOScale(asset) // checkAsset admitted only assets with one
	return s
}
