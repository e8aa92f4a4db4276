package statement

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/money"
)

// maxLineBytes bounds one line of a CSV file, as written (before
// decoding), without its line break.
const maxLineBytes = 4096

// ParseCSV reads a CSV statement laid out as m says. Line.No is the line's
// number in the file, counting skipped, header and blank lines, so that
// an operator finds it in an editor.
//
// It checks m first (errors wrapping ErrBadFormat), then reads at most
// 2,000,000 lines of at most 4096 bytes each. A file breaking m's rules,
// or whose footer disagrees with its lines, gives an *Error wrapping
// ErrInvalid that names the line and the ColumnMap field; a failing
// reader gives an error wrapping neither.
func ParseCSV(r io.Reader, m *ColumnMap) (*File, error) {
	p, err := m.plan("")
	if err != nil {
		return nil, err
	}
	rd := csvReader{p: p, file: &File{}, needHeader: m.Header}
	if m.Encoding == EncodingGBK {
		rd.dec = simplifiedchinese.GBK.NewDecoder()
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLineBytes+2) // room for "\r\n"
	n := 0
	for sc.Scan() {
		n++
		if n > maxLines {
			return nil, lineError(n, "", "more than %d lines", maxLines)
		}
		raw := bytes.TrimSuffix(sc.Bytes(), []byte{'\r'})
		if len(raw) > maxLineBytes {
			return nil, lineError(n, "", "longer than %d bytes", maxLineBytes)
		}
		if n <= m.Skip {
			continue // titles are not read, not even decoded
		}
		text, err := rd.decode(raw)
		if err != nil {
			return nil, lineError(n, "encoding", "%v", err)
		}
		if n == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		if strings.Trim(text, " \t") == "" {
			continue
		}
		if err := rd.record(n, text); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, lineError(n+1, "", "longer than %d bytes", maxLineBytes)
		}
		return nil, fmt.Errorf("read statement: %w", err)
	}
	return rd.finish()
}

// csvReader is the state of ParseCSV between lines.
type csvReader struct {
	p          *csvPlan
	dec        *encoding.Decoder // nil for UTF-8
	file       *File
	needHeader bool
	width      int           // fields per record; 0 until known
	pending    []pendingLine // the last Footer records, which may be the footer
	fields     []string      // reused by split
	asset      string        // the first line's asset
	mixed      bool          // whether lines differ in asset
	total      int64         // of the amount column as written, for the footer
	fees       int64         // of the fee column
}

// pendingLine is a record held back until it is known not to be in the
// footer.
type pendingLine struct {
	n    int
	text string
}

// decode converts a line to UTF-8, refusing bytes its encoding does not
// define.
func (rd *csvReader) decode(raw []byte) (string, error) {
	if rd.dec == nil {
		if !utf8.Valid(raw) {
			return "", errors.New("not valid UTF-8 (set encoding for a GBK file)")
		}
		return string(raw), nil
	}
	b, err := rd.dec.Bytes(raw)
	if err != nil {
		return "", fmt.Errorf("not valid GBK: %v", err)
	}
	// The GBK decoder turns undefined bytes into U+FFFD, which GBK itself
	// cannot encode.
	if bytes.ContainsRune(b, utf8.RuneError) {
		return "", errors.New("bytes that are not GBK")
	}
	return string(b), nil
}

// record handles the non-blank line n after the skipped ones.
func (rd *csvReader) record(n int, text string) error {
	if rd.needHeader {
		rd.needHeader = false
		return rd.header(n, text)
	}
	if rd.p.m.Footer == 0 {
		return rd.detail(n, text)
	}
	if len(rd.pending) < rd.p.m.Footer {
		rd.pending = append(rd.pending, pendingLine{n, text})
		return nil
	}
	first := rd.pending[0]
	copy(rd.pending, rd.pending[1:])
	rd.pending[len(rd.pending)-1] = pendingLine{n, text}
	return rd.detail(first.n, first.text)
}

// header resolves the named columns against the header line n.
func (rd *csvReader) header(n int, text string) error {
	f, err := rd.split(text)
	if err != nil {
		return lineError(n, "header", "%v", err)
	}
	rd.width = len(f)
	for i := range rd.p.cols {
		if err := resolve(&rd.p.cols[i], f); err != nil {
			return lineError(n, rd.p.cols[i].json, "%v in the header", err)
		}
	}
	return nil
}

// resolve sets c's index from its name in the header fields f.
func resolve(c *column, f []string) error {
	if !c.set || c.name == "" {
		return nil
	}
	found := -1
	for i, h := range f {
		if h == c.name {
			if found >= 0 {
				return fmt.Errorf("two columns named %s", quote(c.name))
			}
			found = i
		}
	}
	if found < 0 {
		return fmt.Errorf("no column named %s", quote(c.name))
	}
	c.idx = found
	return nil
}

// detail reads the record on line n into a Line.
func (rd *csvReader) detail(n int, text string) error {
	p, m := rd.p, rd.p.m
	f, err := rd.split(text)
	if err != nil {
		return lineError(n, "", "%v", err)
	}
	if rd.width == 0 {
		rd.width = len(f)
		for _, c := range p.cols {
			if c.set && c.idx >= rd.width {
				return lineError(n, c.json, "column #%d, but the line has %d fields", c.idx+1, rd.width)
			}
		}
	}
	if len(f) != rd.width {
		return lineError(n, "", "%d fields, want %d", len(f), rd.width)
	}
	get := func(i int) string {
		if c := p.cols[i]; c.set {
			return f[c.idx]
		}
		return ""
	}
	// Clone what the Line keeps, so that it does not pin the whole line.
	l := Line{No: n, OrderID: strings.Clone(get(colOrderID)), ChannelRef: strings.Clone(get(colChannelRef)),
		Party: strings.Clone(get(colParty)), Asset: m.DefaultAsset, Direction: m.DefaultDirection, Status: m.DefaultStatus}

	if p.cols[colAsset].set {
		l.Asset = get(colAsset)
		if m.AssetValues != nil {
			code, ok := m.AssetValues[l.Asset]
			if !ok {
				return lineError(n, "asset", "%s is not in asset_values", quote(l.Asset))
			}
			l.Asset = code
		} else if err := p.checkAsset(l.Asset); err != nil {
			return &Error{Line: n, Field: "asset", Err: err}
		} else {
			l.Asset = strings.Clone(l.Asset)
		}
	}
	scale := p.scale(l.Asset)

	signed, err := p.amount(get(colAmount), scale, m.SignGivesDirection)
	if err != nil {
		return amountError(n, "amount", err)
	}
	l.Amount = signed
	if m.SignGivesDirection {
		l.Direction = channel.PayIn
		if signed < 0 {
			l.Direction = channel.PayOut
			if l.Amount, err = money.Neg(signed); err != nil {
				return &Error{Line: n, Field: "amount", Reason: "out of range", Err: err}
			}
		}
	}
	if p.cols[colDirection].set {
		w := get(colDirection)
		d, ok := m.DirectionValues[w]
		if !ok {
			return lineError(n, "direction", "%s is not in direction_values", quote(w))
		}
		l.Direction = d
	}
	if p.cols[colStatus].set {
		w := get(colStatus)
		s, ok := m.StatusValues[w]
		if !ok {
			return lineError(n, "status", "%s is not in status_values", quote(w))
		}
		l.Status = s
	}
	if s := get(colFee); s != "" {
		if l.Fee, err = p.amount(s, scale, true); err != nil {
			return amountError(n, "fee", err)
		}
	}
	ts := get(colTime)
	at, err := time.ParseInLocation(m.TimeLayout, ts, p.loc)
	if err != nil {
		return lineError(n, "time", "%s does not match time_layout %s", quote(ts), quote(m.TimeLayout))
	}
	l.At = at.UTC()

	if m.Footer > 0 {
		if rd.file.Entries == 0 {
			rd.asset = l.Asset
		} else if l.Asset != rd.asset {
			rd.mixed = true
		}
		if rd.total, err = money.Add(rd.total, signed); err != nil {
			return &Error{Line: n, Field: "amount", Reason: "the file's total, for the footer, overflows", Err: err}
		}
		if rd.fees, err = money.Add(rd.fees, l.Fee); err != nil {
			return &Error{Line: n, Field: "fee", Reason: "the file's total, for the footer, overflows", Err: err}
		}
	}
	rd.file.Entries++
	return rd.file.add(l)
}

// amountError reports an amount that did not parse.
func amountError(n int, field string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		e.Line, e.Field = n, field
		return e
	}
	return &Error{Line: n, Field: field, Err: err}
}

// amount parses an amount field at scale. Only a signed field may carry a
// sign: "-" always, "+" too. Errors are *Error without a line, or
// money's errors.
func (p *csvPlan) amount(s string, scale int, signed bool) (int64, error) {
	if s == "" {
		return 0, &Error{Reason: "empty"}
	}
	sign := ""
	switch {
	case s[0] == '-':
		if !signed {
			return 0, &Error{Reason: fmt.Sprintf("%s is negative, and sign_gives_direction is not set", quote(s))}
		}
		sign, s = "-", s[1:]
	case s[0] == '+' && signed:
		s = s[1:]
	}
	if s != "" && (s[0] == '-' || s[0] == '+') {
		return 0, &Error{Reason: fmt.Sprintf("%s has two signs", quote(sign+s)), Err: money.ErrSyntax}
	}
	if p.thousands != "" {
		var ok bool
		if s, ok = ungroup(s, p.thousands); !ok {
			return 0, &Error{Reason: fmt.Sprintf("%s has misplaced %s separators", quote(sign+s), quote(p.thousands))}
		}
	}
	return money.Parse(sign+s, scale)
}

// ungroup removes digit-group separators from the integer part of s,
// which must then be in groups of three: "1,234,567.89" is "1234567.89",
// "12,34" is refused.
func ungroup(s, sep string) (string, bool) {
	whole, frac, hasPoint := strings.Cut(s, ".")
	if strings.Contains(frac, sep) {
		return s, false
	}
	if !strings.Contains(whole, sep) {
		return s, true
	}
	groups := strings.Split(whole, sep)
	if len(groups[0]) < 1 || len(groups[0]) > 3 {
		return s, false
	}
	for _, g := range groups[1:] {
		if len(g) != 3 {
			return s, false
		}
	}
	whole = strings.Join(groups, "")
	if hasPoint {
		return whole + "." + frac, true
	}
	return whole, true
}

// split splits a record into its fields, trimmed. A field that starts
// with a double quote is quoted: it ends at the next lone quote, and a
// doubled quote inside stands for one. The fields are substrings of text,
// and the slice is reused by the next call.
func (rd *csvReader) split(text string) ([]string, error) {
	trim, delim := rd.p.m.Trim, rd.p.delim
	f := rd.fields[:0]
	for i := 0; ; {
		if len(f) == maxColumns {
			return nil, fmt.Errorf("more than %d fields", maxColumns)
		}
		if i < len(text) && text[i] == '"' {
			field, j, err := unquote(text, i)
			if err != nil {
				return nil, fmt.Errorf("field %d: %v", len(f)+1, err)
			}
			f = append(f, strings.Trim(field, trim))
			if j == len(text) {
				rd.fields = f
				return f, nil
			}
			if !strings.HasPrefix(text[j:], delim) {
				return nil, fmt.Errorf("field %d: text after the closing quote", len(f))
			}
			i = j + len(delim)
			continue
		}
		k := strings.Index(text[i:], delim)
		if k < 0 {
			f = append(f, strings.Trim(text[i:], trim))
			rd.fields = f
			return f, nil
		}
		f = append(f, strings.Trim(text[i:i+k], trim))
		i += k + len(delim)
	}
}

// unquote reads the quoted field starting at text[i], a double quote, and
// returns it with the index just past its closing quote.
func unquote(text string, i int) (string, int, error) {
	j := i + 1
	k := strings.IndexByte(text[j:], '"')
	if k < 0 {
		return "", 0, errors.New("quote not closed")
	}
	if j+k+1 == len(text) || text[j+k+1] != '"' {
		return text[j : j+k], j + k + 1, nil // no doubled quote: a substring
	}
	var b strings.Builder
	for {
		k := strings.IndexByte(text[j:], '"')
		if k < 0 {
			return "", 0, errors.New("quote not closed")
		}
		b.WriteString(text[j : j+k])
		j += k + 1
		if j < len(text) && text[j] == '"' {
			b.WriteByte('"')
			j++
			continue
		}
		return b.String(), j, nil
	}
}

// finish checks the footer and returns the file.
func (rd *csvReader) finish() (*File, error) {
	p, m := rd.p, rd.p.m
	if rd.needHeader {
		return nil, lineError(0, "header", "the file has no header line")
	}
	if m.Footer == 0 {
		return rd.file, nil
	}
	if len(rd.pending) < m.Footer {
		return nil, lineError(0, "footer", "the file has %d records after the header, fewer than the %d footer records", len(rd.pending), m.Footer)
	}
	head, last := rd.pending[0], rd.pending[len(rd.pending)-1]
	var names []string
	if m.Footer >= 2 {
		f, err := rd.split(head.text)
		if err != nil {
			return nil, lineError(head.n, "footer", "%v", err)
		}
		names = append([]string(nil), f...)
	}
	vals, err := rd.split(last.text)
	if err != nil {
		return nil, lineError(last.n, "footer", "%v", err)
	}
	for i := range p.foot {
		c := &p.foot[i]
		if !c.set {
			continue
		}
		if err := resolve(c, names); err != nil {
			return nil, lineError(head.n, c.json, "%v in the footer header", err)
		}
		if c.idx >= len(vals) {
			return nil, lineError(last.n, c.json, "column #%d, but the footer has %d fields", c.idx+1, len(vals))
		}
	}
	if c := p.foot[footCount]; c.set {
		s := vals[c.idx]
		if p.thousands != "" {
			s, _ = ungroup(s, p.thousands)
		}
		want, err := money.Parse(s, 0)
		if err != nil || want < 0 {
			return nil, lineError(last.n, c.json, "%s is not a count", quote(vals[c.idx]))
		}
		if want != int64(rd.file.Entries) {
			return nil, lineError(last.n, c.json, "%d lines, but the file has %d", want, rd.file.Entries)
		}
	}
	if !p.foot[footAmount].set && !p.foot[footFee].set {
		return rd.file, nil
	}
	asset := rd.asset
	if rd.mixed {
		return nil, lineError(last.n, "footer", "one total for lines in several assets")
	}
	if asset == "" {
		asset = m.DefaultAsset
	}
	scale := money.MaxScale // no lines and no asset: only a zero total matches
	if asset != "" {
		scale = p.scale(asset)
	}
	for _, t := range [...]struct {
		c      column
		signed bool
		got    int64
		what   string
	}{
		{p.foot[footAmount], m.SignGivesDirection, rd.total, "amounts"},
		{p.foot[footFee], true, rd.fees, "fees"},
	} {
		if !t.c.set {
			continue
		}
		want, err := p.amount(vals[t.c.idx], scale, t.signed)
		if err != nil {
			return nil, amountError(last.n, t.c.json, err)
		}
		if want != t.got {
			return nil, lineError(last.n, t.c.json, "total %s, but the lines' %s add up to %s",
				money.Format(want, scale), t.what, money.Format(t.got, scale))
		}
	}
	return rd.file, nil
}
