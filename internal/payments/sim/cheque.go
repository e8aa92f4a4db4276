package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/suanpan/suanpan/internal/payments/channel"
)

// chequeCodec speaks cheque, a clearing house's JSON in minor units with an
// Authorization header over a timestamp and the body's SHA-256.
type chequeCodec struct{ wire }

func chequeDialect(w wire) *dialect {
	return &dialect{
		codec: chequeCodec{w}, mode: answerLater, callbacks: true, listFailed: true, ext: "csv",
		failures: map[channel.Direction][]failure{
			channel.PayIn: {{"insufficient_funds_at_drawer", "cheque returned unpaid"}, {"signature_mismatch", "cheque returned unpaid"},
				{"account_closed", "cheque returned unpaid"}, {"stale_dated", "cheque returned unpaid"}},
			channel.PayOut: {{"stopped_payment", "cheque returned unpaid"}, {"stale_dated", "cheque returned unpaid"}},
		},
		fees: fees{channel.PayOut: {flat: 500}},
		ref:  func(h uint64) string { return fmt.Sprintf("CLR%010d", h%10_000_000_000) },
	}
}

// chequeMessage is every cheque body.
type chequeMessage struct {
	Reference    string `json:"reference"`
	Kind         string `json:"kind,omitempty"`
	State        string `json:"state,omitempty"`
	ClearingID   string `json:"clearing_id,omitempty"`
	ChequeNo     string `json:"cheque_no,omitempty"`
	PartyName    string `json:"party_name,omitempty"`
	AmountMinor  int64  `json:"amount_minor,omitempty"`
	Currency     string `json:"currency,omitempty"`
	FeeMinor     int64  `json:"fee_minor"`
	NotifyURL    string `json:"notify_url,omitempty"`
	Memo         string `json:"memo,omitempty"`
	ReturnReason string `json:"return_reason,omitempty"`
	ValueDate    string `json:"value_date,omitempty"`
	UpdatedAt    string `json:"updated_at,omitempty"`
}

// chequeKind is a direction's kind of cheque.
func chequeKind(d channel.Direction) string {
	if d == channel.PayOut {
		return "issue"
	}
	return "deposit"
}

// authorization is the Authorization header for body signed with secret at
// unix time ts.
func (c chequeCodec) authorization(body []byte, secret, ts string) string {
	sum := sha256.Sum256(body)
	sig := base64.StdEncoding.EncodeToString(mac(secret, ts, "\n", hex.EncodeToString(sum[:])))
	return fmt.Sprintf(`HMAC-SHA256 merchant="%s", ts="%s", sig="%s"`, c.merchant, ts, sig)
}

func (c chequeCodec) decode(path string, r *http.Request, body []byte) (op, inbound, *rejection) {
	var o op
	switch path {
	case "/cheques/deposit":
		o.dir = channel.PayIn
	case "/cheques/issue":
		o.dir = channel.PayOut
	case "/cheques/status":
		o.query = true
	default:
		return o, inbound{}, reject(http.StatusNotFound, "not_found", "no such API %s", path)
	}
	auth := r.Header.Get("Authorization")
	var ts string
	for p := range strings.SplitSeq(strings.TrimPrefix(auth, "HMAC-SHA256 "), ", ") {
		if v, ok := strings.CutPrefix(p, `ts="`); ok {
			ts = strings.TrimSuffix(v, `"`)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || !fresh(sec, c.clock.Now()) || !hmac.Equal([]byte(auth), []byte(c.authorization(body, c.secret, ts))) {
		return o, inbound{}, reject(http.StatusUnauthorized, "unauthorized", "Authorization does not verify")
	}
	var m chequeMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return o, inbound{}, reject(http.StatusBadRequest, "bad_request", "body is not the expected JSON")
	}
	if o.query {
		switch m.Kind {
		case "deposit":
			o.dir = channel.PayIn
		case "issue":
			o.dir = channel.PayOut
		default:
			return o, inbound{}, reject(http.StatusBadRequest, "bad_request", "kind %q", m.Kind)
		}
		return o, inbound{id: m.Reference, dir: o.dir}, nil
	}
	in := inbound{id: m.Reference, dir: o.dir, amount: m.AmountMinor, asset: m.Currency, party: m.ChequeNo,
		partyName: m.PartyName, callbackURL: m.NotifyURL, memo: m.Memo}
	if in.party == "" {
		return o, inbound{}, reject(http.StatusBadRequest, "bad_request", "cheque_no is required")
	}
	return o, in, checkOrder(in)
}

// chequeState is a status in the clearing house's words.
func chequeState(s channel.Status) string {
	switch s {
	case channel.Succeeded:
		return "CLEARED"
	case channel.Failed:
		return "RETURNED"
	case channel.NotFound:
		return "UNKNOWN"
	}
	return "PRESENTED"
}

// message is the clearing house's account of v.
func (c chequeCodec) message(v Order) chequeMessage {
	m := chequeMessage{Reference: v.ID, Kind: chequeKind(v.Direction), State: chequeState(v.Status)}
	if v.Status == channel.NotFound {
		return m
	}
	m.ClearingID, m.ChequeNo, m.AmountMinor, m.Currency, m.FeeMinor = v.Ref, v.Party, v.Amount, v.Asset, v.Fee
	m.ReturnReason = v.Code
	at := decided(v, c.clock.Now())
	if v.Status.Final() {
		m.ValueDate = at.Format(time.DateOnly)
	}
	m.UpdatedAt = at.Format(time.RFC3339)
	return m
}

// sign encodes v and signs it with secret.
func (c chequeCodec) sign(v any, secret string) (http.Header, []byte) {
	body, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sim: encode cheque message: %v", err)) // plain structs always encode
	}
	return http.Header{"Content-Type": {"application/json"}, "Authorization": {c.authorization(body, secret, strconv.FormatInt(c.clock.Now().Unix(), 10))}}, body
}

// write sends v, signed, with status.
func (c chequeCodec) write(w http.ResponseWriter, status int, v any) {
	h, body := c.sign(v, c.secret)
	for k := range h {
		w.Header().Set(k, h.Get(k))
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (c chequeCodec) reply(w http.ResponseWriter, o op, v Order) {
	if v.Status == channel.NotFound {
		v.Direction = o.dir
	}
	c.write(w, http.StatusOK, c.message(v))
}

func (c chequeCodec) reject(w http.ResponseWriter, rej *rejection) {
	c.write(w, rej.status, map[string]string{"error": rej.code + ": " + rej.message})
}

func (c chequeCodec) notification(v Order, secret string) (http.Header, []byte) {
	return c.sign(c.message(v), secret)
}

func (c chequeCodec) statement(w io.Writer, _ time.Time, orders []Order) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"value_date", "clearing_id", "reference", "cheque_no", "kind", "state", "amount", "currency", "fee", "return_reason", "decided_at"})
	for _, o := range orders {
		at := o.DecidedAt.UTC()
		_ = cw.Write([]string{at.Format(time.DateOnly), o.Ref, o.ID, o.Party, chequeKind(o.Direction), chequeState(o.Status),
			strconv.FormatInt(o.Amount, 10), o.Asset, strconv.FormatInt(o.Fee, 10), o.Code, at.Format(time.RFC3339)})
	}
	cw.Flush()
	return cw.Error()
}
