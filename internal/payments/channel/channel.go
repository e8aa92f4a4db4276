// Package channel talks to the payment channels money enters and leaves
// Suanpan through: bank transfer, card via POS, QR wallets, UnionPay, cash at
// a counter and cheques. Each kind of channel has an Adapter that starts
// pay-ins, pay-outs and refunds, queries their status, verifies the channel's
// signed callbacks and reads its daily statement file.
//
// The adapters differ the way real channels do; docs/channels.md describes
// each dialect in full:
//
//   - bank_transfer: JSON, amounts in minor units, HMAC-SHA256 over
//     "timestamp.body" in the X-Sim-Timestamp and X-Sim-Signature headers;
//     callbacks older than five minutes are refused. Statement: CSV in minor
//     units.
//   - qr_wallet: WeChat-Pay-v2 style flat XML with total_fee in minor units
//     (fen) and sign, the upper-case hex HMAC-SHA256 of the sorted non-empty
//     "k=v&…&key=SECRET". Fees appear only in the statement, a bill with
//     back-quoted fields in yuan and a totals trailer.
//   - unionpay: form fields, txnAmt as twelve zero-padded digits, numeric
//     currency codes, signature the base64 HMAC-SHA256 of the sorted fields;
//     respCode 00 success, 03/04/05 processing. Fees appear only in the
//     fixed-width statement.
//   - pos_card: JSON with decimal amounts ("12.34") in the asset's scale and
//     an X-Pos-Mac header; usually answers at once. Statement: CSV in
//     decimals.
//   - cash_counter: form fields with a MAC over a fixed field order; a teller
//     answers at once, and there are no callbacks. Statement: a tab-separated
//     journal with a count and total trailer.
//   - cheque: JSON with an Authorization header over the body's SHA-256;
//     orders stay processing until the cheque clears or is returned.
//
// The error convention matters more than any dialect: an adapter returns a
// non-nil error only when it has no definite answer from the channel (the
// request timed out or could not be sent, the channel answered 5xx, or its
// answer was garbled or badly signed), and the order's fate is then unknown.
// A channel's definite refusal of an order is a Result with Status Failed.
//
// This package must never decide an order's outcome itself (a timeout is not
// a failure), never use floating point for an amount, and never log or
// return a secret.
package channel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/suanpan/suanpan/clock"
)

// Kind is a kind of payment channel; each has its own Adapter.
type Kind string

// The kinds of channel.
const (
	// BankTransfer: the customer pushes a transfer to a collection account
	// (pay-in), or we transfer to an account (pay-out).
	BankTransfer Kind = "bank_transfer"
	// POSCard: a card payment through a POS terminal (pay-in), and refunds.
	POSCard Kind = "pos_card"
	// QRWallet: WeChat Pay and Alipay style wallets: pay-in, pay-out to a
	// wallet, refund.
	QRWallet Kind = "qr_wallet"
	// UnionPay: pay-in, pay-out and refund through the UnionPay gateway.
	UnionPay Kind = "unionpay"
	// CashCounter: cash handed over or paid out by a teller, who answers at
	// once; there are no callbacks.
	CashCounter Kind = "cash_counter"
	// Cheque: deposits, which clear after a delay or bounce, and cheques we
	// issue.
	Cheque Kind = "cheque"
)

// Kinds returns every kind, in a fixed order.
func Kinds() []Kind {
	return []Kind{BankTransfer, POSCard, QRWallet, UnionPay, CashCounter, Cheque}
}

// ParseKind returns the kind named s, or an error wrapping ErrInvalid.
func ParseKind(s string) (Kind, error) {
	k := Kind(s)
	if !slices.Contains(Kinds(), k) {
		return "", fmt.Errorf("%w: unknown channel kind %q", ErrInvalid, clip(s))
	}
	return k, nil
}

// Directions returns the directions channels of kind k support, or nil for
// an unknown kind.
func (k Kind) Directions() []Direction {
	switch k {
	case BankTransfer, CashCounter, Cheque:
		return []Direction{PayIn, PayOut}
	case POSCard:
		return []Direction{PayIn, Refund}
	case QRWallet, UnionPay:
		return []Direction{PayIn, PayOut, Refund}
	}
	return nil
}

// Direction is which way an order moves money.
type Direction string

// The directions.
const (
	// PayIn collects money from the external party.
	PayIn Direction = "pay_in"
	// PayOut pays money to the external party.
	PayOut Direction = "pay_out"
	// Refund returns (part of) an earlier pay-in to its payer.
	Refund Direction = "refund"
)

// Status is what a channel says about an order.
type Status string

// The statuses.
const (
	// Processing: the channel accepted the order; the outcome comes later.
	Processing Status = "processing"
	// Succeeded: the money moved. Final.
	Succeeded Status = "succeeded"
	// Failed: the channel definitely refused the order. Final.
	Failed Status = "failed"
	// NotFound: the channel has never seen the order (Query only). A
	// timed-out Start may have been lost before the channel recorded it.
	NotFound Status = "not_found"
)

// Final reports whether s can no longer change.
func (s Status) Final() bool { return s == Succeeded || s == Failed }

// Errors. Test with errors.Is.
var (
	// ErrBadSignature reports a callback or answer whose signature does not
	// verify with the configured secret, or whose timestamp is too old.
	ErrBadSignature = errors.New("bad channel signature")
	// ErrInvalid reports a Config or Request that breaks the rules;
	// nothing was sent.
	ErrInvalid = errors.New("invalid channel request")
	// ErrUnsupported reports a direction the channel's kind does not
	// support; nothing was sent.
	ErrUnsupported = errors.New("direction not supported by channel")
	// ErrRejected reports that the channel refused the request itself
	// (signature, merchant number, format) rather than deciding about the
	// order: the order's fate is unknown, and the configuration likely
	// wrong.
	ErrRejected = errors.New("channel rejected the request")
	// ErrNoCallbacks is returned by the VerifyCallback of a kind that never
	// calls back (cash_counter).
	ErrNoCallbacks = errors.New("channel sends no callbacks")
)

// DefaultTimeout is the per-call timeout when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// callbackMaxAge is how old (or how far in the future) a timestamped
// callback may be: a captured callback replayed later is refused.
const callbackMaxAge = 5 * time.Minute

// maxResponseBytes bounds what an adapter reads of a channel's answer.
const maxResponseBytes = 1 << 20

// maxOrderIDLen bounds Request.OrderID; UnionPay allows no more than 40.
const maxOrderIDLen = 40

// Config is one configured channel instance, stored by the payments service
// and editable at run time: build a new Adapter with New when it changes.
type Config struct {
	Kind Kind
	// Endpoint is the base URL of the channel's API; each adapter appends
	// its dialect's paths, e.g. http://127.0.0.1:8700/qr_wallet for the
	// simulator.
	Endpoint string
	// MerchantID is our merchant number at the channel.
	MerchantID string
	// Secret is the shared HMAC signing key. It is never logged: Config's
	// String and LogValue leave it out.
	Secret string
	// Timeout bounds each HTTP call; zero means DefaultTimeout.
	Timeout time.Duration
	// Clock tells the time for request timestamps and callback freshness;
	// nil means clock.Real.
	Clock clock.Clock
	// Client sends the requests; nil means a client that follows no
	// redirects. Its own Timeout, if any, also applies.
	Client *http.Client
}

// String describes c without its secret.
func (c Config) String() string {
	return fmt.Sprintf("channel %s at %s as merchant %s", c.Kind, c.Endpoint, c.MerchantID)
}

// LogValue logs c without its secret.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kind", string(c.Kind)), slog.String("endpoint", c.Endpoint),
		slog.String("merchant", c.MerchantID), slog.Duration("timeout", c.Timeout))
}

// validate checks c, returning an error wrapping ErrInvalid.
func (c Config) validate() error {
	if _, err := ParseKind(string(c.Kind)); err != nil {
		return fmt.Errorf("channel config: %w", err)
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: %s endpoint %q is not an http(s) URL", ErrInvalid, c.Kind, clip(c.Endpoint))
	}
	if c.MerchantID == "" {
		return fmt.Errorf("%w: %s has no merchant ID", ErrInvalid, c.Kind)
	}
	if c.Secret == "" {
		return fmt.Errorf("%w: %s has no secret", ErrInvalid, c.Kind)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("%w: %s timeout %v is negative", ErrInvalid, c.Kind, c.Timeout)
	}
	return nil
}

// Request asks a channel to move money.
type Request struct {
	// OrderID is Suanpan's order ID and the channel's out-trade-no: 1 to 40
	// letters, digits, '-' and '_'. The channel treats a repeated Start with
	// the same OrderID as the same order.
	OrderID   string
	Direction Direction
	// Amount is in minor units of Asset, > 0.
	Amount int64
	// Asset is an ISO 4217 code such as "CNY".
	Asset string
	// Party is the external side: bank account number, card token, wallet
	// user ID, cheque number. Required for pay-outs and cheques.
	Party     string
	PartyName string
	// Original is, for a Refund, the OrderID of the pay-in refunded.
	Original string
	// CallbackURL is where the channel posts its notification; empty for
	// none.
	CallbackURL string
	Memo        string
}

// Result is a definite answer from a channel about one order.
type Result struct {
	OrderID string
	// Status is Processing, Succeeded or Failed; NotFound only from Query.
	Status Status
	// ChannelRef is the channel's own transaction number.
	ChannelRef string
	// Amount and Asset are as the channel recorded them; the caller checks
	// they are the order's.
	Amount int64
	Asset  string
	// Fee is the channel's fee in minor units. qr_wallet and unionpay report
	// fees only in their statements, so it is 0 in their Results.
	Fee int64
	// Code and Message are the channel's failure code and text, when Failed.
	Code    string
	Message string
	// At is when the channel decided (or last reported), in UTC.
	At time.Time
}

// Adapter talks to one configured channel. Adapters are safe for
// concurrent use.
type Adapter interface {
	// Kind is the kind of channel.
	Kind() Kind
	// Supports reports whether the channel can move money in direction d.
	Supports(d Direction) bool
	// Start submits an order. A non-nil error means no definite answer
	// (timeout, connection refused, 5xx, garbled or badly signed answer,
	// ErrRejected): treat the order as unknown and query later. Errors
	// wrapping ErrInvalid or ErrUnsupported mean nothing was sent. A definite
	// refusal is a Result with Status Failed and the channel's Code.
	Start(ctx context.Context, r Request) (*Result, error)
	// Query asks for an order's status, with Start's error convention.
	// Status NotFound means the channel has never seen the order.
	Query(ctx context.Context, orderID string, d Direction) (*Result, error)
	// VerifyCallback checks a notification's signature (and its freshness,
	// where the dialect has a timestamp) and decodes it. An invalid or stale
	// signature gives an error wrapping ErrBadSignature.
	VerifyCallback(header http.Header, body []byte) (*Result, error)
	// CallbackAck is the answer the channel expects to a verified callback.
	CallbackAck() (contentType string, body []byte)
	// ParseStatement reads the channel's daily statement file.
	ParseStatement(r io.Reader) ([]StatementLine, error)
}

// StatementLine is one order in a channel's daily statement.
type StatementLine struct {
	OrderID    string
	ChannelRef string
	Direction  Direction
	Amount     int64
	Fee        int64
	Asset      string
	Status     Status
	At         time.Time
}

// New validates cfg and returns the adapter for cfg.Kind. Errors wrap
// ErrInvalid.
func New(cfg Config) (Adapter, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	b := newBase(cfg)
	switch cfg.Kind {
	case BankTransfer:
		return &bankTransfer{b}, nil
	case POSCard:
		return &posCard{b}, nil
	case QRWallet:
		return &qrWallet{b}, nil
	case UnionPay:
		return &unionPay{b}, nil
	case CashCounter:
		return &cashCounter{b}, nil
	default: // validate admits only the kinds above
		return &cheque{b}, nil
	}
}

// clip shortens s for an error message, so a hostile input cannot bloat
// logs.
func clip(s string) string {
	const most = 40
	if len(s) > most {
		return s[:most] + "…"
	}
	return s
}
