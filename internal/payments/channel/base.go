package channel

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/money"
)

// base is what every adapter shares: its configuration, clock and HTTP
// client.
type base struct {
	cfg    Config
	clock  clock.Clock
	client *http.Client
}

func newBase(cfg Config) base {
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	cfg.Endpoint = strings.TrimRight(cfg.Endpoint, "/")
	b := base{cfg: cfg, clock: cfg.Clock, client: cfg.Client}
	if b.clock == nil {
		b.clock = clock.Real{}
	}
	if b.client == nil {
		b.client = NewClient()
	}
	return b
}

// NewClient returns an HTTP client for talking to channels: it follows no
// redirects, and keeps enough idle connections per host for many orders
// at once (the default transport keeps two, and a busy channel would pay
// a TCP handshake per call). Adapters of one service should share one.
func NewClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 1024, 256
	return &http.Client{Transport: t, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Kind returns the channel's kind.
func (b *base) Kind() Kind { return b.cfg.Kind }

// Supports reports whether the channel's kind supports d.
func (b *base) Supports(d Direction) bool { return slices.Contains(b.cfg.Kind.Directions(), d) }

// check validates r before anything is sent. Errors wrap ErrInvalid or
// ErrUnsupported.
func (b *base) check(r Request) error {
	if err := b.checkQuery(r.OrderID, r.Direction); err != nil {
		return err
	}
	if r.Amount <= 0 {
		return fmt.Errorf("%w: order %s: amount %d is not positive", ErrInvalid, r.OrderID, r.Amount)
	}
	if _, ok := money.ISOScale(r.Asset); !ok {
		return fmt.Errorf("%w: order %s: asset %q is not an ISO 4217 currency", ErrInvalid, r.OrderID, clip(r.Asset))
	}
	if r.Direction == Refund {
		if !validOrderID(r.Original) {
			return fmt.Errorf("%w: refund %s: original order %q is not a valid order ID", ErrInvalid, r.OrderID, clip(r.Original))
		}
	}
	if r.Party == "" && (r.Direction == PayOut || b.cfg.Kind == Cheque) {
		return fmt.Errorf("%w: order %s: %s %s needs a party", ErrInvalid, r.OrderID, b.cfg.Kind, r.Direction)
	}
	return nil
}

// checkQuery validates a query's order ID and direction.
func (b *base) checkQuery(orderID string, d Direction) error {
	if !validOrderID(orderID) {
		return fmt.Errorf("%w: order ID %q must be 1 to %d letters, digits, '-' and '_'", ErrInvalid, clip(orderID), maxOrderIDLen)
	}
	if !b.Supports(d) {
		return fmt.Errorf("%s %q: %w", b.cfg.Kind, d, ErrUnsupported)
	}
	return nil
}

// validOrderID reports whether id is 1 to maxOrderIDLen letters, digits,
// '-' and '_': what every dialect can carry unescaped.
func validOrderID(id string) bool {
	if id == "" || len(id) > maxOrderIDLen {
		return false
	}
	for i := range len(id) {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// reply is a channel's HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// post sends body to the endpoint's path and reads the answer. Timeouts,
// transport failures, 5xx and oversized answers are errors: no definite
// answer.
func (b *base) post(ctx context.Context, path, contentType string, header http.Header, body []byte) (*reply, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.cfg.Endpoint+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", b.cfg.Kind, path, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", b.cfg.Kind, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", b.cfg.Kind, path, err)
	}
	if len(data) > maxResponseBytes {
		return nil, fmt.Errorf("%s %s: answer longer than %d bytes", b.cfg.Kind, path, maxResponseBytes)
	}
	if resp.StatusCode >= 500 {
		return nil, fmt.Errorf("%s %s: channel answered %s", b.cfg.Kind, path, resp.Status)
	}
	return &reply{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// expect checks that an answer is about the order asked for: an answer
// about another order is garbled, not definite.
func expect(res *Result, orderID string) (*Result, error) {
	if res.OrderID != orderID {
		return nil, fmt.Errorf("answer about order %q, not %q", clip(res.OrderID), orderID)
	}
	return res, nil
}

// mac returns HMAC-SHA256(secret, parts…).
func mac(secret string, parts ...string) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	for _, p := range parts {
		h.Write([]byte(p))
	}
	return h.Sum(nil)
}

// sortedFields is "k=v&…" over f's non-empty fields but skip, sorted by key:
// the string that qr_wallet and unionpay sign.
func sortedFields(f map[string]string, skip string) string {
	keys := make([]string, 0, len(f))
	for k, v := range f {
		if k != skip && v != "" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var sb strings.Builder
	for i, k := range keys {
		if i > 0 {
			sb.WriteByte('&')
		}
		sb.WriteString(k)
		sb.WriteByte('=')
		sb.WriteString(f[k])
	}
	return sb.String()
}

// checkFresh refuses a callback timestamp more than callbackMaxAge away
// from now.
func checkFresh(at, now time.Time) error {
	if d := now.Sub(at); d > callbackMaxAge || d < -callbackMaxAge {
		return fmt.Errorf("%w: timestamp %s is %v from now", ErrBadSignature, at.Format(time.RFC3339), d)
	}
	return nil
}

// errGarbled reports an answer or file that does not follow the dialect.
var errGarbled = errors.New("garbled")

// garbled wraps errGarbled with what was wrong.
func garbled(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errGarbled, fmt.Sprintf(format, args...))
}

// parseMinor parses a non-negative count of minor units written as plain
// digits (no sign, no leading zeros unless "0").
func parseMinor(s string) (int64, error) {
	if s == "" || s[0] == '-' {
		return 0, garbled("amount %q", clip(s))
	}
	v, err := money.Parse(s, 0)
	if err != nil {
		return 0, garbled("amount %q", clip(s))
	}
	return v, nil
}

// parseDecimal parses a non-negative decimal amount of asset, such as
// "12.34" CNY, into minor units.
func parseDecimal(s, asset string) (int64, error) {
	scale, ok := money.ISOScale(asset)
	if !ok {
		return 0, garbled("asset %q", clip(asset))
	}
	if s == "" || s[0] == '-' {
		return 0, garbled("amount %q", clip(s))
	}
	v, err := money.Parse(s, scale)
	if err != nil {
		return 0, garbled("amount %q %s", clip(s), asset)
	}
	return v, nil
}

// beijing is China Standard Time, in which qr_wallet and unionpay write
// their times. It is a fixed zone: China has no daylight saving time, and
// a fixed zone needs no time zone database.
var beijing = time.FixedZone("CST", 8*60*60)

// parseLocal parses a time in layout written in loc and returns it in UTC.
func parseLocal(layout, s string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation(layout, s, loc)
	if err != nil {
		return time.Time{}, garbled("time %q", clip(s))
	}
	return t.UTC(), nil
}

// parseRFC3339 parses an RFC 3339 time and returns it in UTC.
func parseRFC3339(s string) (time.Time, error) {
	return parseLocal(time.RFC3339, s, time.UTC)
}
