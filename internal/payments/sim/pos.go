package sim

import (
	"crypto/hmac"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/money"
)

// posCodec speaks pos_card, a card acquirer's JSON with decimal amounts and
// an X-Pos-Mac header.
type posCodec struct{ wire }

// posTerminal is the terminal the simulated sales are made on.
const posTerminal = "T0000001"

func posDialect(w wire) *dialect {
	return &dialect{
		codec: posCodec{w}, mode: answerMostlyAtOnce, callbacks: true, ext: "csv",
		failures: map[channel.Direction][]failure{
			channel.PayIn:  {{"05", "do not honour"}, {"51", "insufficient funds"}, {"54", "expired card"}, {"14", "invalid card number"}},
			channel.Refund: {{"05", "do not honour"}},
		},
		refused: failure{"12", "invalid transaction: original not refundable"},
		fees:    fees{channel.PayIn: {bp: 38}},
		ref:     func(h uint64) string { return fmt.Sprintf("%012d", h%1_000_000_000_000) },
	}
}

// posMessage is every pos_card body.
type posMessage struct {
	MerchantNo     string `json:"merchant_no"`
	OutOrderNo     string `json:"out_order_no"`
	TransType      string `json:"trans_type"`
	Amount         string `json:"amount,omitempty"`
	Currency       string `json:"currency,omitempty"`
	CardToken      string `json:"card_token,omitempty"`
	CardHolder     string `json:"card_holder,omitempty"`
	OrigOutOrderNo string `json:"orig_out_order_no,omitempty"`
	NotifyURL      string `json:"notify_url,omitempty"`
	Remark         string `json:"remark,omitempty"`
	Result         string `json:"result,omitempty"`
	Code           string `json:"code,omitempty"`
	Message        string `json:"message,omitempty"`
	RRN            string `json:"rrn,omitempty"`
	Fee            string `json:"fee,omitempty"`
	TransTime      string `json:"trans_time,omitempty"`
}

// posTransType is a direction's trans_type.
func posTransType(d channel.Direction) string {
	if d == channel.Refund {
		return "REFUND"
	}
	return "SALE"
}

func (c posCodec) decode(path string, r *http.Request, body []byte) (op, inbound, *rejection) {
	var o op
	switch path {
	case "/v1/sale":
		o.dir = channel.PayIn
	case "/v1/refund":
		o.dir = channel.Refund
	case "/v1/inquiry":
		o.query = true
	default:
		return o, inbound{}, reject(http.StatusNotFound, "NOT_FOUND", "no such API %s", path)
	}
	got, err := hex.DecodeString(r.Header.Get("X-Pos-Mac"))
	if err != nil || !hmac.Equal(got, mac(c.secret, string(body))) {
		return o, inbound{}, reject(http.StatusUnauthorized, "A0", "MAC error")
	}
	var m posMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return o, inbound{}, reject(http.StatusBadRequest, "30", "format error")
	}
	if m.MerchantNo != c.merchant {
		return o, inbound{}, reject(http.StatusUnauthorized, "03", "invalid merchant")
	}
	if o.query {
		switch m.TransType {
		case "SALE":
			o.dir = channel.PayIn
		case "REFUND":
			o.dir = channel.Refund
		default:
			return o, inbound{}, reject(http.StatusBadRequest, "30", "format error: trans_type")
		}
		return o, inbound{id: m.OutOrderNo, dir: o.dir}, nil
	}
	if m.TransType != posTransType(o.dir) {
		return o, inbound{}, reject(http.StatusBadRequest, "30", "format error: trans_type")
	}
	scale, ok := money.ISOScale(m.Currency)
	if !ok {
		return o, inbound{}, reject(http.StatusBadRequest, "30", "format error: currency")
	}
	amount, err := money.Parse(m.Amount, scale)
	if err != nil {
		return o, inbound{}, reject(http.StatusBadRequest, "30", "format error: amount")
	}
	in := inbound{id: m.OutOrderNo, dir: o.dir, amount: amount, asset: m.Currency, party: m.CardToken, partyName: m.CardHolder,
		original: m.OrigOutOrderNo, callbackURL: m.NotifyURL, memo: m.Remark}
	if rej := checkOrder(in); rej != nil {
		return o, inbound{}, reject(http.StatusBadRequest, "30", "format error: %s", rej.message)
	}
	return o, in, nil
}

// message is the acquirer's account of v.
func (c posCodec) message(v Order) posMessage {
	m := posMessage{MerchantNo: c.merchant, OutOrderNo: v.ID, TransType: posTransType(v.Direction)}
	switch v.Status {
	case channel.NotFound:
		m.Result, m.Code, m.Message = "NOT_FOUND", "25", "unable to locate record"
		return m
	case channel.Succeeded:
		m.Result, m.Code, m.Message = "APPROVED", "00", "approved"
	case channel.Failed:
		m.Result, m.Code, m.Message = "DECLINED", v.Code, v.Message
	default:
		m.Result, m.Code, m.Message = "PENDING", "91", "issuer unavailable, pending"
	}
	scale := scaleOf(v.Asset)
	m.RRN, m.Amount, m.Fee, m.Currency = v.Ref, money.Format(v.Amount, scale), money.Format(v.Fee, scale), v.Asset
	m.TransTime = decided(v, c.clock.Now()).Format(time.RFC3339)
	return m
}

// sign encodes m and signs it with secret.
func (c posCodec) sign(m posMessage, secret string) (http.Header, []byte) {
	body, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("sim: encode pos message: %v", err)) // plain structs always encode
	}
	return http.Header{"Content-Type": {"application/json"}, "X-Pos-Mac": {hex.EncodeToString(mac(secret, string(body)))}}, body
}

// write sends m, signed, with status.
func (c posCodec) write(w http.ResponseWriter, status int, m posMessage) {
	h, body := c.sign(m, c.secret)
	for k := range h {
		w.Header().Set(k, h.Get(k))
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (c posCodec) reply(w http.ResponseWriter, o op, v Order) {
	if v.Status == channel.NotFound {
		v.Direction = o.dir
	}
	c.write(w, http.StatusOK, c.message(v))
}

func (c posCodec) reject(w http.ResponseWriter, rej *rejection) {
	c.write(w, rej.status, posMessage{MerchantNo: c.merchant, Result: "ERROR", Code: rej.code, Message: rej.message})
}

func (c posCodec) notification(v Order, secret string) (http.Header, []byte) {
	return c.sign(c.message(v), secret)
}

func (c posCodec) statement(w io.Writer, _ time.Time, orders []Order) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"settle_date", "terminal_no", "trans_type", "out_order_no", "rrn", "amount", "fee", "currency", "result", "trans_time"})
	for _, o := range orders {
		at, scale := o.DecidedAt.UTC(), scaleOf(o.Asset)
		_ = cw.Write([]string{at.Format("20060102"), posTerminal, posTransType(o.Direction), o.ID, o.Ref,
			money.Format(o.Amount, scale), money.Format(o.Fee, scale), o.Asset, "APPROVED", at.Format(time.RFC3339)})
	}
	cw.Flush()
	return cw.Error()
}
