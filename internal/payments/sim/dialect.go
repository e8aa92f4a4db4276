package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/money"
)

// op is what a request asks: to start an order in a direction, or to
// query one (in a direction, or in any when dir is empty).
type op struct {
	query bool
	dir   channel.Direction
}

// inbound is a decoded, authenticated request.
type inbound struct {
	id          string
	dir         channel.Direction
	amount      int64
	asset       string
	party       string
	partyName   string
	original    string
	callbackURL string
	memo        string
}

// rejection refuses a request itself: malformed, badly signed, unknown
// merchant or path.
type rejection struct {
	status  int // HTTP status, for dialects that use it
	code    string
	message string
}

// reject builds a rejection.
func reject(status int, code, format string, args ...any) *rejection {
	return &rejection{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// wire is what a codec signs and checks with.
type wire struct {
	merchant string
	secret   string
	clock    clock.Clock
}

// codec reads and writes one kind's messages.
type codec interface {
	// decode reads and authenticates a request to path.
	decode(path string, r *http.Request, body []byte) (op, inbound, *rejection)
	// reply answers a request about v (Status NotFound: no such order).
	reply(w http.ResponseWriter, o op, v Order)
	// reject answers a refused request.
	reject(w http.ResponseWriter, rej *rejection)
	// notification is a callback about v signed with secret.
	notification(v Order, secret string) (http.Header, []byte)
	// statement writes the day's statement of orders, which are in the
	// order they were decided.
	statement(w io.Writer, day time.Time, orders []Order) error
}

// answerMode is when a kind decides an order.
type answerMode int

const (
	answerLater        answerMode = iota // after a delay, then a callback
	answerAtOnce                         // in the answer to the start
	answerMostlyAtOnce                   // at once unless PendingRate says pending
)

// failure is a definite refusal with the channel's code.
type failure struct{ code, message string }

// dialect is one kind's codec and behaviour.
type dialect struct {
	codec
	mode answerMode
	// callbacks is set for kinds that call back.
	callbacks bool
	// listFailed is set for kinds whose statements list failed orders too.
	listFailed bool
	// loc is the time zone of the kind's business day.
	loc *time.Location
	// ext is the statement file's extension.
	ext string
	// failures are the codes a direction fails with.
	failures map[channel.Direction][]failure
	// refused is the failure of a refund whose original cannot be refunded.
	refused failure
	fees    fees
	// ref formats the channel's transaction number from a draw.
	ref func(h uint64) string
}

// newDialect returns kind k's dialect.
func newDialect(k channel.Kind, w wire) (*dialect, error) {
	var d *dialect
	switch k {
	case channel.BankTransfer:
		d = bankDialect(w)
	case channel.QRWallet:
		d = walletDialect(w)
	case channel.UnionPay:
		d = unionDialect(w)
	case channel.POSCard:
		d = posDialect(w)
	case channel.CashCounter:
		d = cashDialect(w)
	case channel.Cheque:
		d = chequeDialect(w)
	default:
		return nil, fmt.Errorf("sim: no dialect for %q", k)
	}
	if d.loc == nil {
		d.loc = time.UTC
	}
	return d, nil
}

// fee is a channel's charge for a direction: a flat amount plus a rate in
// basis points of the amount, rounded half up.
type fee struct {
	flat int64
	bp   int64
}

// fees are a channel's charges by direction; a missing one is free.
type fees map[channel.Direction]fee

// charge is the fee for amount in direction d.
func (f fees) charge(d channel.Direction, amount int64) (int64, error) {
	c, ok := f[d]
	if !ok {
		return 0, nil
	}
	rate, err := money.NewRate(c.bp, 4)
	if err != nil {
		return 0, err
	}
	v, err := money.ApplyRate(amount, rate, money.HalfUp)
	if err != nil {
		return 0, err
	}
	return money.Add(v, c.flat)
}

// mac is HMAC-SHA256(secret, parts…).
func mac(secret string, parts ...string) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	for _, p := range parts {
		h.Write([]byte(p))
	}
	return h.Sum(nil)
}

// signString is "k=v&…" over the non-empty fields but skip, by key.
func signString(f map[string]string, skip string) string {
	var parts []string
	for k, v := range f {
		if k != skip && v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, "&")
}

// validID reports whether id is an order ID every dialect can carry: 1 to
// 40 letters, digits, '-' and '_'.
func validID(id string) bool {
	if id == "" || len(id) > 40 {
		return false
	}
	return strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == ""
}

// checkOrder checks what every start must carry.
func checkOrder(in inbound) *rejection {
	if !validID(in.id) {
		return reject(http.StatusBadRequest, "BAD_ORDER_ID", "order ID %q", in.id)
	}
	if in.amount <= 0 {
		return reject(http.StatusBadRequest, "BAD_AMOUNT", "amount %d", in.amount)
	}
	if _, ok := money.ISOScale(in.asset); !ok {
		return reject(http.StatusBadRequest, "BAD_CURRENCY", "currency %q", in.asset)
	}
	if in.dir == channel.Refund && !validID(in.original) {
		return reject(http.StatusBadRequest, "BAD_ORIGINAL", "original order %q", in.original)
	}
	return nil
}

// scaleOf is an asset's ISO scale; the asset has been checked.
func scaleOf(asset string) int {
	s, _ := money.ISOScale(asset)
	return s
}

// fresh reports whether a request or callback signed at unix time sec is
// within five minutes of now.
func fresh(sec int64, now time.Time) bool {
	d := now.Sub(time.Unix(sec, 0))
	return d <= 5*time.Minute && d >= -5*time.Minute
}

// decided is when v was decided, or now if it is still processing.
func decided(v Order, now time.Time) time.Time {
	if v.DecidedAt.IsZero() {
		return now.UTC()
	}
	return v.DecidedAt.UTC()
}

// beijing is China Standard Time, UTC+8 all year.
var beijing = time.FixedZone("CST", 8*60*60)
