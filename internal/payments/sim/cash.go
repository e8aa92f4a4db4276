package sim

import (
	"crypto/hmac"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/money"
)

// cashCodec speaks cash_counter, a teller system's form fields with a MAC
// over a fixed field order joined by '|'.
type cashCodec struct{ wire }

func cashDialect(w wire) *dialect {
	return &dialect{
		codec: cashCodec{w}, mode: answerAtOnce, ext: "tsv",
		failures: map[channel.Direction][]failure{
			channel.PayIn:  {{"COUNTERFEIT_NOTES", "suspect notes retained"}, {"AMOUNT_MISMATCH", "counted cash differs from the order"}},
			channel.PayOut: {{"ID_CHECK_FAILED", "payee identity not verified"}, {"CASH_LIMIT_EXCEEDED", "branch cash limit exceeded"}},
		},
		ref: func(h uint64) string { return fmt.Sprintf("J%08d", h%100_000_000) },
	}
}

// cashDirection is the direction of a teller operation code.
func cashDirection(op string) channel.Direction {
	switch op {
	case "DEP":
		return channel.PayIn
	case "WDL":
		return channel.PayOut
	}
	return ""
}

// cashOp is a direction's operation code.
func cashOp(d channel.Direction) string {
	if d == channel.PayOut {
		return "WDL"
	}
	return "DEP"
}

func (c cashCodec) decode(path string, _ *http.Request, body []byte) (op, inbound, *rejection) {
	var o op
	switch path {
	case "/teller/txn":
	case "/teller/enquiry":
		o.query = true
	default:
		return o, inbound{}, reject(http.StatusNotFound, "NOT_FOUND", "no such API %s", path)
	}
	vs, err := url.ParseQuery(string(body))
	if err != nil {
		return o, inbound{}, reject(http.StatusOK, "FORMAT", "malformed form")
	}
	signed := []string{"merchant", "serial", "op", "amount", "ccy", "party", "name", "memo"}
	if o.query {
		signed = signed[:3]
	}
	parts := make([]string, len(signed))
	for i, k := range signed {
		parts[i] = vs.Get(k)
	}
	got, err := hex.DecodeString(vs.Get("mac"))
	if err != nil || !hmac.Equal(got, mac(c.secret, strings.Join(parts, "|"))) {
		return o, inbound{}, reject(http.StatusOK, "MAC_ERROR", "MAC does not verify")
	}
	if vs.Get("merchant") != c.merchant {
		return o, inbound{}, reject(http.StatusOK, "UNKNOWN_TERMINAL", "unknown merchant terminal")
	}
	o.dir = cashDirection(vs.Get("op"))
	if o.dir == "" {
		return o, inbound{}, reject(http.StatusOK, "FORMAT", "op must be DEP or WDL")
	}
	in := inbound{id: vs.Get("serial"), dir: o.dir}
	if o.query {
		return o, in, nil
	}
	amount, err := strconv.ParseInt(vs.Get("amount"), 10, 64)
	if err != nil {
		return o, inbound{}, reject(http.StatusOK, "FORMAT", "amount")
	}
	in.amount, in.asset, in.party, in.partyName, in.memo = amount, vs.Get("ccy"), vs.Get("party"), vs.Get("name"), vs.Get("memo")
	if rej := checkOrder(in); rej != nil {
		return o, inbound{}, reject(http.StatusOK, "FORMAT", "%s", rej.message)
	}
	return o, in, nil
}

// write sends the teller's answer with its MAC.
func (c cashCodec) write(w http.ResponseWriter, f map[string]string) {
	keys := []string{"serial", "op", "status", "journal", "amount", "ccy", "fee", "reason", "time"}
	vs := url.Values{}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = f[k]
		vs.Set(k, f[k])
	}
	vs.Set("mac", hex.EncodeToString(mac(c.secret, strings.Join(parts, "|"))))
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
	_, _ = io.WriteString(w, vs.Encode())
}

func (c cashCodec) reply(w http.ResponseWriter, o op, v Order) {
	f := map[string]string{"serial": v.ID, "op": cashOp(o.dir)}
	switch v.Status {
	case channel.NotFound:
		f["status"] = "NONE"
		c.write(w, f)
		return
	case channel.Succeeded:
		f["status"] = "DONE"
	default: // a teller decides at once: nothing else is processing
		f["status"], f["reason"] = "REJECTED", v.Code
	}
	f["journal"], f["amount"], f["ccy"], f["fee"] = v.Ref, strconv.FormatInt(v.Amount, 10), v.Asset, strconv.FormatInt(v.Fee, 10)
	f["time"] = decided(v, c.clock.Now()).Format(time.RFC3339)
	c.write(w, f)
}

func (c cashCodec) reject(w http.ResponseWriter, rej *rejection) {
	if rej.status == http.StatusNotFound {
		http.Error(w, rej.message, rej.status)
		return
	}
	c.write(w, map[string]string{"status": "ERROR", "reason": rej.code})
}

// notification is never used: tellers do not call back.
func (c cashCodec) notification(Order, string) (http.Header, []byte) { return nil, nil }

func (c cashCodec) statement(w io.Writer, _ time.Time, orders []Order) error {
	var b strings.Builder
	b.WriteString("#journal\tserial\top\tamount\tccy\tfee\ttime\n")
	var hash int64
	for _, o := range orders {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%d\t%s\t%d\t%s\n", o.Ref, o.ID, cashOp(o.Direction), o.Amount, o.Asset, o.Fee,
			o.DecidedAt.UTC().Format(time.RFC3339))
		var err error
		if hash, err = money.Add(hash, o.Amount); err != nil {
			return fmt.Errorf("cash_counter hash total: %w", err)
		}
	}
	fmt.Fprintf(&b, "#end\t%d\t%d\n", len(orders), hash)
	_, err := io.WriteString(w, b.String())
	return err
}
