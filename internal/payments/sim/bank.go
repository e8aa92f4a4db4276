package sim

import (
	"crypto/hmac"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/suanpan/suanpan/internal/payments/channel"
)

// bankCodec speaks bank_transfer: JSON in minor units, signed in the
// X-Sim-* headers over "timestamp.body".
type bankCodec struct{ wire }

func bankDialect(w wire) *dialect {
	return &dialect{
		codec: bankCodec{w}, mode: answerLater, callbacks: true, listFailed: true, ext: "csv",
		failures: map[channel.Direction][]failure{
			channel.PayIn:  {{"EXPIRED", "no matching transfer arrived in time"}, {"AMOUNT_MISMATCH", "transfer amount differs from the order"}},
			channel.PayOut: {{"ACCOUNT_CLOSED", "beneficiary account closed"}, {"ACCOUNT_NOT_FOUND", "no such beneficiary account"}, {"NAME_MISMATCH", "beneficiary name does not match the account"}},
		},
		fees: fees{channel.PayOut: {flat: 150}},
		ref:  func(h uint64) string { return fmt.Sprintf("BT%014d", h%100_000_000_000_000) },
	}
}

// bankMessage is every bank_transfer body: requests, answers and
// callbacks.
type bankMessage struct {
	OrderID     string `json:"order_id"`
	Type        string `json:"type,omitempty"`
	Status      string `json:"status,omitempty"`
	BankRef     string `json:"bank_ref,omitempty"`
	Amount      int64  `json:"amount,omitempty"`
	Currency    string `json:"currency,omitempty"`
	Fee         int64  `json:"fee"`
	Account     string `json:"account,omitempty"`
	AccountName string `json:"account_name,omitempty"`
	CallbackURL string `json:"callback_url,omitempty"`
	Memo        string `json:"memo,omitempty"`
	ReasonCode  string `json:"reason_code,omitempty"`
	Reason      string `json:"reason,omitempty"`
	UpdatedAt   string `json:"updated_at,omitempty"`
}

// bankDirection is the direction of one of the bank's order types.
func bankDirection(t string) (channel.Direction, bool) {
	switch t {
	case "collection":
		return channel.PayIn, true
	case "transfer":
		return channel.PayOut, true
	}
	return "", false
}

func (c bankCodec) decode(path string, r *http.Request, body []byte) (op, inbound, *rejection) {
	var o op
	switch path {
	case "/collections":
		o.dir = channel.PayIn
	case "/transfers":
		o.dir = channel.PayOut
	case "/orders/query":
		o.query = true
	default:
		return o, inbound{}, reject(http.StatusNotFound, "NOT_FOUND", "no such API %s", path)
	}
	if r.Header.Get("X-Sim-Merchant") != c.merchant {
		return o, inbound{}, reject(http.StatusUnauthorized, "UNKNOWN_MERCHANT", "unknown merchant")
	}
	ts := r.Header.Get("X-Sim-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || !fresh(sec, c.clock.Now()) {
		return o, inbound{}, reject(http.StatusUnauthorized, "STALE_REQUEST", "timestamp missing or not within 5 minutes")
	}
	sig, err := hex.DecodeString(r.Header.Get("X-Sim-Signature"))
	if err != nil || !hmac.Equal(sig, mac(c.secret, ts, ".", string(body))) {
		return o, inbound{}, reject(http.StatusUnauthorized, "BAD_SIGNATURE", "signature does not verify")
	}
	var m bankMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return o, inbound{}, reject(http.StatusBadRequest, "BAD_REQUEST", "body is not the expected JSON")
	}
	if o.query {
		d, ok := bankDirection(m.Type)
		if !ok {
			return o, inbound{}, reject(http.StatusBadRequest, "BAD_REQUEST", "type %q", m.Type)
		}
		o.dir = d
		return o, inbound{id: m.OrderID, dir: d}, nil
	}
	in := inbound{id: m.OrderID, dir: o.dir, amount: m.Amount, asset: m.Currency, party: m.Account,
		partyName: m.AccountName, callbackURL: m.CallbackURL, memo: m.Memo}
	return o, in, checkOrder(in)
}

// bankStatus is a status in the bank's words.
func bankStatus(s channel.Status) string {
	switch s {
	case channel.Succeeded:
		return "COMPLETED"
	case channel.Failed:
		return "REJECTED"
	}
	return "PENDING"
}

// bankType is a direction's order type.
func bankType(d channel.Direction) string {
	if d == channel.PayOut {
		return "transfer"
	}
	return "collection"
}

// message is the bank's account of v.
func (c bankCodec) message(v Order) bankMessage {
	return bankMessage{OrderID: v.ID, Type: bankType(v.Direction), Status: bankStatus(v.Status), BankRef: v.Ref,
		Amount: v.Amount, Currency: v.Asset, Fee: v.Fee, ReasonCode: v.Code, Reason: v.Message,
		UpdatedAt: decided(v, c.clock.Now()).Format(time.RFC3339)}
}

// write sends a signed JSON body.
func (c bankCodec) write(w http.ResponseWriter, status int, v any) {
	h, body := c.sign(v, c.secret)
	for k := range h {
		w.Header().Set(k, h.Get(k))
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// sign encodes v and signs it with secret.
func (c bankCodec) sign(v any, secret string) (http.Header, []byte) {
	body, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sim: encode bank message: %v", err)) // plain structs always encode
	}
	ts := strconv.FormatInt(c.clock.Now().Unix(), 10)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Sim-Merchant", c.merchant)
	h.Set("X-Sim-Timestamp", ts)
	h.Set("X-Sim-Signature", hex.EncodeToString(mac(secret, ts, ".", string(body))))
	return h, body
}

func (c bankCodec) reply(w http.ResponseWriter, _ op, v Order) {
	if v.Status == channel.NotFound {
		c.reject(w, reject(http.StatusNotFound, "ORDER_NOT_FOUND", "no order %s", v.ID))
		return
	}
	c.write(w, http.StatusOK, c.message(v))
}

func (c bankCodec) reject(w http.ResponseWriter, rej *rejection) {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	e.Error.Code, e.Error.Message = rej.code, rej.message
	c.write(w, rej.status, e)
}

func (c bankCodec) notification(v Order, secret string) (http.Header, []byte) {
	return c.sign(c.message(v), secret)
}

func (c bankCodec) statement(w io.Writer, _ time.Time, orders []Order) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"order_id", "bank_ref", "type", "amount", "fee", "currency", "status", "value_time"})
	for _, o := range orders {
		_ = cw.Write([]string{o.ID, o.Ref, bankType(o.Direction), strconv.FormatInt(o.Amount, 10),
			strconv.FormatInt(o.Fee, 10), o.Asset, bankStatus(o.Status), o.DecidedAt.UTC().Format(time.RFC3339)})
	}
	cw.Flush()
	return cw.Error()
}
