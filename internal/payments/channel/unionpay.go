package channel

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// unionPay speaks the unionpay dialect, modelled on the UnionPay gateway
// (5.1): form fields, twelve-digit amounts, numeric currency codes and a
// base64 HMAC-SHA256 signature over the sorted fields.
type unionPay struct{ base }

var _ Adapter = (*unionPay)(nil)

// The unionpay paths.
const (
	unionStartPath = "/gateway/api/backTransReq.do"
	unionQueryPath = "/gateway/api/queryTrans.do"
)

// unionTimeLayout is how UnionPay writes times, in Beijing time.
const unionTimeLayout = "20060102150405"

// unionMaxFields bounds the fields of a unionpay message.
const unionMaxFields = 64

// unionTxnType is the txnType of a direction.
func unionTxnType(d Direction) string {
	switch d {
	case PayOut:
		return "12"
	case Refund:
		return "04"
	default:
		return "01"
	}
}

// unionDirection is the direction of a txnType, or "" for another.
func unionDirection(txnType string) Direction {
	switch txnType {
	case "01":
		return PayIn
	case "12":
		return PayOut
	case "04":
		return Refund
	}
	return ""
}

// unionCurrencies are the currencies the gateway settles in, with their
// ISO 4217 numeric codes, which it uses instead of the alphabetic ones.
var unionCurrencies = [...]struct{ alpha, numeric string }{
	{"CNY", "156"}, {"EUR", "978"}, {"GBP", "826"}, {"HKD", "344"}, {"JPY", "392"}, {"MOP", "446"}, {"SGD", "702"}, {"USD", "840"},
}

// unionNumeric returns the numeric code of an alphabetic currency code.
func unionNumeric(alpha string) (string, bool) {
	for _, c := range unionCurrencies {
		if c.alpha == alpha {
			return c.numeric, true
		}
	}
	return "", false
}

// unionAsset returns the alphabetic code of a numeric currency code.
func unionAsset(numeric string) (string, bool) {
	for _, c := range unionCurrencies {
		if c.numeric == numeric {
			return c.alpha, true
		}
	}
	return "", false
}

// unionStatus maps a response code to a status. Codes about the request
// itself (format, signature, merchant) are not about any order: ok is false.
func unionStatus(code string) (s Status, ok bool) {
	switch code {
	case "00":
		return Succeeded, true
	case "03", "04", "05":
		return Processing, true
	case "10", "11", "30", "31":
		return "", false
	}
	return Failed, true
}

// formatTxnAmt writes an amount as txnAmt: twelve digits, zero-padded.
func formatTxnAmt(v int64) string { return fmt.Sprintf("%012d", v) }

// parseTxnAmt reads a twelve-digit txnAmt.
func parseTxnAmt(s string) (int64, error) {
	if len(s) != 12 || strings.Trim(s, "0123456789") != "" {
		return 0, garbled("txnAmt %q", clip(s))
	}
	return strconv.ParseInt(s, 10, 64) // twelve digits fit
}

// Start submits a consumption (pay-in), a payment (pay-out, 代付) or a
// refund.
func (a *unionPay) Start(ctx context.Context, r Request) (*Result, error) {
	if err := a.check(r); err != nil {
		return nil, err
	}
	ccy, ok := unionNumeric(r.Asset)
	if !ok {
		return nil, fmt.Errorf("%w: unionpay does not settle %s", ErrInvalid, r.Asset)
	}
	if r.Amount > 999_999_999_999 {
		return nil, fmt.Errorf("%w: unionpay amount %d exceeds twelve digits", ErrInvalid, r.Amount)
	}
	biz := "000201"
	if r.Direction == PayOut {
		biz = "000401"
	}
	f := map[string]string{"txnType": unionTxnType(r.Direction), "txnSubType": "01", "bizType": biz,
		"orderId": r.OrderID, "txnAmt": formatTxnAmt(r.Amount), "currencyCode": ccy, "accNo": r.Party,
		"customerNm": r.PartyName, "backUrl": r.CallbackURL, "origOrderId": r.Original, "reqReserved": r.Memo}
	f, err := a.call(ctx, unionStartPath, f)
	if err != nil {
		return nil, fmt.Errorf("unionpay start %s: %w", r.OrderID, err)
	}
	status, ok := unionStatus(f["respCode"])
	if !ok {
		return nil, fmt.Errorf("unionpay start %s: %w: %s %s", r.OrderID, ErrRejected, clip(f["respCode"]), clip(f["respMsg"]))
	}
	res, err := a.decode(f, status, f["respCode"])
	if err != nil {
		return nil, fmt.Errorf("unionpay start %s: %w", r.OrderID, err)
	}
	return expect(res, r.OrderID)
}

// Query asks for a transaction by orderId; respCode 34 means none, and
// origRespCode is the transaction's own code.
func (a *unionPay) Query(ctx context.Context, orderID string, d Direction) (*Result, error) {
	if err := a.checkQuery(orderID, d); err != nil {
		return nil, err
	}
	f, err := a.call(ctx, unionQueryPath, map[string]string{"txnType": "00", "txnSubType": "00", "bizType": "000000", "orderId": orderID})
	if err != nil {
		return nil, fmt.Errorf("unionpay query %s: %w", orderID, err)
	}
	switch code := f["respCode"]; code {
	case "00":
	case "34":
		return &Result{OrderID: orderID, Status: NotFound, Code: code, Message: f["respMsg"]}, nil
	case "03", "04", "05":
		return nil, fmt.Errorf("unionpay query %s: gateway busy (%s)", orderID, code)
	default:
		return nil, fmt.Errorf("unionpay query %s: %w: %s %s", orderID, ErrRejected, clip(code), clip(f["respMsg"]))
	}
	if unionDirection(f["txnType"]) != d { // the orderId names a transaction of another type
		return &Result{OrderID: orderID, Status: NotFound, Code: "34"}, nil
	}
	status, ok := unionStatus(f["origRespCode"])
	if !ok {
		status = Failed
	}
	res, err := a.decode(f, status, f["origRespCode"])
	if err != nil {
		return nil, fmt.Errorf("unionpay query %s: %w", orderID, err)
	}
	return expect(res, orderID)
}

// call adds the common fields, signs and posts f and returns the verified
// answer's fields.
func (a *unionPay) call(ctx context.Context, path string, f map[string]string) (map[string]string, error) {
	f["version"], f["encoding"], f["signMethod"], f["accessType"] = "5.1.0", "UTF-8", "HMAC-SHA256", "0"
	f["merId"], f["txnTime"] = a.cfg.MerchantID, a.clock.Now().In(beijing).Format(unionTimeLayout)
	f["signature"] = unionSign(f, a.cfg.Secret)
	form := url.Values{}
	for k, v := range f {
		if v != "" {
			form.Set(k, v)
		}
	}
	rep, err := a.post(ctx, path, "application/x-www-form-urlencoded", nil, []byte(form.Encode()))
	if err != nil {
		return nil, err
	}
	if rep.status != http.StatusOK {
		return nil, garbled("HTTP %d", rep.status)
	}
	return a.verify(rep.body)
}

// unionSign is the base64 HMAC-SHA256 of f's sorted non-empty fields but
// signature.
func unionSign(f map[string]string, secret string) string {
	return base64.StdEncoding.EncodeToString(mac(secret, sortedFields(f, "signature")))
}

// verify decodes a form body and checks its merchant and signature.
func (a *unionPay) verify(body []byte) (map[string]string, error) {
	vs, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, garbled("form: %v", err)
	}
	if len(vs) > unionMaxFields {
		return nil, garbled("more than %d fields", unionMaxFields)
	}
	f := make(map[string]string, len(vs))
	for k, v := range vs {
		if len(v) != 1 {
			return nil, garbled("field %q %d times", clip(k), len(v))
		}
		f[k] = v[0]
	}
	if f["merId"] != a.cfg.MerchantID {
		return nil, fmt.Errorf("%w: merchant %q", ErrBadSignature, clip(f["merId"]))
	}
	if !hmac.Equal([]byte(f["signature"]), []byte(unionSign(f, a.cfg.Secret))) {
		return nil, fmt.Errorf("%w: signature does not match", ErrBadSignature)
	}
	return f, nil
}

// decode reads a verified message about an order with status and its code.
func (a *unionPay) decode(f map[string]string, status Status, code string) (*Result, error) {
	res := &Result{OrderID: f["orderId"], Status: status, ChannelRef: f["queryId"]}
	if status == Failed {
		res.Code, res.Message = code, f["respMsg"]
		if m := f["origRespMsg"]; m != "" {
			res.Message = m
		}
	}
	var ok bool
	if res.Asset, ok = unionAsset(f["currencyCode"]); !ok {
		return nil, garbled("currencyCode %q", clip(f["currencyCode"]))
	}
	var err error
	if res.Amount, err = parseTxnAmt(f["txnAmt"]); err != nil {
		return nil, err
	}
	if res.At, err = parseLocal(unionTimeLayout, f["respTime"], beijing); err != nil {
		return nil, err
	}
	return res, nil
}

// VerifyCallback checks a back notification's signature (the dialect's
// txnTime is the merchant's, so there is no freshness check) and decodes
// it.
func (a *unionPay) VerifyCallback(_ http.Header, body []byte) (*Result, error) {
	f, err := a.verify(body)
	if err != nil {
		return nil, fmt.Errorf("unionpay callback: %w", err)
	}
	status, ok := unionStatus(f["respCode"])
	if !ok || unionDirection(f["txnType"]) == "" {
		return nil, fmt.Errorf("unionpay callback: %w", garbled("respCode %q txnType %q", clip(f["respCode"]), clip(f["txnType"])))
	}
	res, err := a.decode(f, status, f["respCode"])
	if err != nil {
		return nil, fmt.Errorf("unionpay callback: %w", err)
	}
	return res, nil
}

// CallbackAck is HTTP 200 with "ok": the gateway looks only at the status.
func (a *unionPay) CallbackAck() (string, []byte) {
	return "text/plain; charset=utf-8", []byte("ok")
}

// unionColumns are the widths of the fixed-width statement's fields, which
// single spaces separate: txnType, queryId, orderId, txnAmt, fee,
// currencyCode, respCode, txnTime.
var unionColumns = [...]int{2, 21, 40, 12, 12, 3, 2, 14}

// ParseStatement reads a unionpay settlement file: fixed-width lines with no
// header, text fields padded with spaces on the right.
func (a *unionPay) ParseStatement(r io.Reader) ([]StatementLine, error) {
	var lines []StatementLine
	err := readLines(UnionPay, r, func(_ int, s string) error {
		f, err := splitFixed(s, unionColumns[:])
		if err != nil {
			return err
		}
		l := StatementLine{Direction: unionDirection(f[0]), ChannelRef: f[1], OrderID: f[2], Status: Succeeded}
		if l.Direction == "" {
			return garbled("txnType %q", clip(f[0]))
		}
		if !validOrderID(l.OrderID) {
			return garbled("orderId %q", clip(l.OrderID))
		}
		if l.Amount, err = parseTxnAmt(f[3]); err != nil {
			return err
		}
		if l.Fee, err = parseTxnAmt(f[4]); err != nil {
			return err
		}
		asset, ok := unionAsset(f[5])
		if !ok {
			return garbled("currencyCode %q", clip(f[5]))
		}
		l.Asset = asset
		status, ok := unionStatus(f[6])
		if !ok || status == Processing {
			return garbled("respCode %q", clip(f[6]))
		}
		l.Status = status
		if l.At, err = parseLocal(unionTimeLayout, f[7], beijing); err != nil {
			return err
		}
		lines = append(lines, l)
		return nil
	})
	return lines, err
}

// splitFixed cuts s into fields of the given widths separated by single
// spaces, trimming the spaces that pad each field on the right.
func splitFixed(s string, widths []int) ([]string, error) {
	want := len(widths) - 1
	for _, w := range widths {
		want += w
	}
	if len(s) != want {
		return nil, garbled("line of %d bytes, want %d", len(s), want)
	}
	f := make([]string, len(widths))
	at := 0
	for i, w := range widths {
		if i > 0 {
			if s[at] != ' ' {
				return nil, garbled("no space before field %d", i+1)
			}
			at++
		}
		f[i] = strings.TrimRight(s[at:at+w], " ")
		at += w
	}
	return f, nil
}
