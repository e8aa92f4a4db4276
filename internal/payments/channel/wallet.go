package channel

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/suanpan/suanpan/money"
)

// qrWallet speaks the qr_wallet dialect, modelled on WeChat Pay API v2:
// flat XML, amounts in minor units (fen), sign over the sorted fields.
type qrWallet struct{ base }

var _ Adapter = (*qrWallet)(nil)

// walletAPI is one direction's API: its paths and the names of its fields.
type walletAPI struct {
	start, query    string // paths
	id, amount, ref string // fields: our order ID, the amount, the wallet's number
}

// walletAPIFor returns d's API. Like WeChat Pay, each direction names its
// order ID, amount and reference differently.
func walletAPIFor(d Direction) walletAPI {
	switch d {
	case PayOut:
		return walletAPI{"/mmpaymkttransfers/promotion/transfers", "/mmpaymkttransfers/gettransferinfo", "partner_trade_no", "amount", "payment_no"}
	case Refund:
		return walletAPI{"/secapi/pay/refund", "/pay/refundquery", "out_refund_no", "refund_fee", "refund_id"}
	default:
		return walletAPI{"/pay/unifiedorder", "/pay/orderquery", "out_trade_no", "total_fee", "transaction_id"}
	}
}

// walletTimeLayout is how the wallet writes times (time_end), in Beijing
// time.
const walletTimeLayout = "20060102150405"

// walletAck is the answer the wallet expects to a callback.
const walletAck = "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>"

// Start submits a pay-in (a NATIVE QR order), a transfer to a wallet user
// or a refund.
func (a *qrWallet) Start(ctx context.Context, r Request) (*Result, error) {
	if err := a.check(r); err != nil {
		return nil, err
	}
	api := walletAPIFor(r.Direction)
	f := map[string]string{api.id: r.OrderID, api.amount: strconv.FormatInt(r.Amount, 10), "fee_type": r.Asset,
		"notify_url": r.CallbackURL, "body": r.Memo, "openid": r.Party}
	switch r.Direction {
	case PayIn:
		f["trade_type"] = "NATIVE"
	case PayOut:
		f["re_user_name"], f["check_name"] = r.PartyName, "NO_CHECK"
		if r.PartyName != "" {
			f["check_name"] = "FORCE_CHECK"
		}
	case Refund:
		f["out_trade_no"] = r.Original
	}
	return a.call(ctx, api.start, f, r.OrderID, r.Direction, false)
}

// Query asks for an order through its direction's query API.
func (a *qrWallet) Query(ctx context.Context, orderID string, d Direction) (*Result, error) {
	if err := a.checkQuery(orderID, d); err != nil {
		return nil, err
	}
	api := walletAPIFor(d)
	return a.call(ctx, api.query, map[string]string{api.id: orderID}, orderID, d, true)
}

// call signs and posts f and reads the wallet's answer.
func (a *qrWallet) call(ctx context.Context, path string, f map[string]string, orderID string, d Direction, query bool) (*Result, error) {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:]) // crypto/rand.Read never fails
	f["mch_id"], f["nonce_str"], f["sign_type"] = a.cfg.MerchantID, hex.EncodeToString(nonce[:]), "HMAC-SHA256"
	f["sign"] = walletSign(f, a.cfg.Secret)
	rep, err := a.post(ctx, path, "text/xml", nil, encodeXML(f))
	if err != nil {
		return nil, err
	}
	res, err := a.answer(rep, d, query)
	if err != nil {
		return nil, fmt.Errorf("qr_wallet %s %s: %w", path, orderID, err)
	}
	if res.Status == NotFound {
		res.OrderID = orderID
	}
	return expect(res, orderID)
}

// walletIndefinite reports whether err_code means "try again": the wallet
// has not decided.
func walletIndefinite(code string) bool {
	return code == "SYSTEMERROR" || code == "BANKERROR" || code == "FREQUENCY_LIMITED"
}

// answer reads the wallet's answer to a start or query.
func (a *qrWallet) answer(rep *reply, d Direction, query bool) (*Result, error) {
	if rep.status != http.StatusOK {
		return nil, garbled("HTTP %d", rep.status)
	}
	f, err := decodeXML(rep.body)
	if err != nil {
		return nil, err
	}
	if f["return_code"] != "SUCCESS" { // unsigned, like WeChat's
		return nil, fmt.Errorf("%w: %s", ErrRejected, clip(f["return_msg"]))
	}
	if err := a.verify(f); err != nil {
		return nil, err
	}
	if f["result_code"] != "SUCCESS" {
		code := f["err_code"]
		switch {
		case walletIndefinite(code):
			return nil, fmt.Errorf("wallet busy: %s", clip(code))
		case query && code == "ORDERNOTEXIST":
			return &Result{Status: NotFound, Code: code, Message: f["err_code_des"]}, nil
		case query:
			return nil, fmt.Errorf("%w: %s %s", ErrRejected, clip(code), clip(f["err_code_des"]))
		}
		// A start refused outright: the order will never be paid.
		api := walletAPIFor(d)
		return &Result{OrderID: f[api.id], Status: Failed, Code: code, Message: f["err_code_des"], At: a.clock.Now()}, nil
	}
	return a.decode(f, d)
}

// verify checks f's merchant and sign.
func (a *qrWallet) verify(f map[string]string) error {
	if f["mch_id"] != a.cfg.MerchantID {
		return fmt.Errorf("%w: merchant %q", ErrBadSignature, clip(f["mch_id"]))
	}
	if !hmac.Equal([]byte(f["sign"]), []byte(walletSign(f, a.cfg.Secret))) {
		return fmt.Errorf("%w: sign does not match", ErrBadSignature)
	}
	return nil
}

// walletSign is the upper-case hex HMAC-SHA256, keyed with secret, of f's
// sorted non-empty fields but sign, followed by "&key=" and the secret.
func walletSign(f map[string]string, secret string) string {
	return strings.ToUpper(hex.EncodeToString(mac(secret, sortedFields(f, "sign"), "&key=", secret)))
}

// decode reads a verified, successful message about an order in direction
// d.
func (a *qrWallet) decode(f map[string]string, d Direction) (*Result, error) {
	api := walletAPIFor(d)
	res := &Result{OrderID: f[api.id], ChannelRef: f[api.ref], Asset: f["fee_type"], At: a.clock.Now()}
	if res.Asset == "" {
		res.Asset = "CNY" // WeChat's default fee_type
	}
	switch state := f["trade_state"]; state {
	case "SUCCESS", "REFUND": // REFUND: a pay-in since (partly) refunded
		res.Status = Succeeded
	case "NOTPAY", "USERPAYING", "PROCESSING":
		res.Status = Processing
	case "PAYERROR", "CLOSED", "REVOKED", "FAIL":
		res.Status, res.Code, res.Message = Failed, f["err_code"], f["err_code_des"]
		if res.Code == "" {
			res.Code = state
		}
	default:
		return nil, garbled("trade_state %q", clip(state))
	}
	var err error
	if res.Amount, err = parseMinor(f[api.amount]); err != nil {
		return nil, err
	}
	if t := f["time_end"]; t != "" {
		if res.At, err = parseLocal(walletTimeLayout, t, beijing); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// VerifyCallback checks a notification's sign (the dialect has no
// timestamp) and decodes it; its direction shows in which order ID field
// it carries.
func (a *qrWallet) VerifyCallback(_ http.Header, body []byte) (*Result, error) {
	f, err := decodeXML(body)
	if err != nil {
		return nil, fmt.Errorf("qr_wallet callback: %w", err)
	}
	if err := a.verify(f); err != nil {
		return nil, fmt.Errorf("qr_wallet callback: %w", err)
	}
	if f["return_code"] != "SUCCESS" {
		return nil, fmt.Errorf("qr_wallet callback: %w", garbled("return_code %q", clip(f["return_code"])))
	}
	d := PayIn
	switch {
	case f["out_refund_no"] != "":
		d = Refund
	case f["partner_trade_no"] != "":
		d = PayOut
	}
	res, err := a.decode(f, d)
	if err != nil {
		return nil, fmt.Errorf("qr_wallet callback: %w", err)
	}
	return res, nil
}

// CallbackAck is WeChat's SUCCESS answer.
func (a *qrWallet) CallbackAck() (string, []byte) {
	return "text/xml", []byte(walletAck)
}

// The qr_wallet bill: a header, one row per order with every field
// prefixed by a back quote (so spreadsheets keep long numbers as text),
// amounts in major units, then a totals header and row.
const (
	walletBillHeader  = "交易时间,商户号,微信订单号,商户订单号,交易类型,交易状态,货币种类,订单金额,退款金额,手续费"
	walletBillTotals  = "总交易单数,总交易额,总退款金额,总手续费"
	walletBillColumns = 10
)

// walletBillTimeLayout is how the bill writes times, in Beijing time.
const walletBillTimeLayout = "2006-01-02 15:04:05"

// ParseStatement reads a qr_wallet bill and checks its totals row. A bill
// is in one currency.
func (a *qrWallet) ParseStatement(r io.Reader) ([]StatementLine, error) {
	var (
		lines                            []StatementLine
		paid, refunded, fees             int64
		inTotals, haveTotals             bool
		wantCount                        int64
		wantPaid, wantRefunded, wantFees int64
	)
	err := readLines(QRWallet, r, func(n int, s string) error {
		if n == 1 {
			if strings.TrimPrefix(s, "\uFEFF") != walletBillHeader {
				return garbled("header %q", clip(s))
			}
			return nil
		}
		switch {
		case haveTotals:
			return garbled("text after the totals")
		case s == walletBillTotals:
			inTotals = true
			return nil
		case inTotals:
			f, err := billFields(s, 4)
			if err != nil {
				return err
			}
			asset := "CNY"
			if len(lines) > 0 {
				asset = lines[0].Asset
			}
			if wantCount, err = parseMinor(f[0]); err != nil {
				return err
			}
			if wantPaid, err = parseDecimal(f[1], asset); err != nil {
				return err
			}
			if wantRefunded, err = parseDecimal(f[2], asset); err != nil {
				return err
			}
			if wantFees, err = parseDecimal(f[3], asset); err != nil {
				return err
			}
			haveTotals = true
			return nil
		}
		l, paidAmount, err := a.billRow(s)
		if err != nil {
			return err
		}
		if len(lines) > 0 && l.Asset != lines[0].Asset {
			return garbled("currency %s in a %s bill", l.Asset, lines[0].Asset)
		}
		if paidAmount {
			paid, err = money.Add(paid, l.Amount)
		} else {
			refunded, err = money.Add(refunded, l.Amount)
		}
		if err != nil {
			return garbled("total: %v", err)
		}
		if fees, err = money.Add(fees, l.Fee); err != nil {
			return garbled("total: %v", err)
		}
		lines = append(lines, l)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !haveTotals {
		return nil, fmt.Errorf("qr_wallet statement: %w", garbled("no totals"))
	}
	if wantCount != int64(len(lines)) || wantPaid != paid || wantRefunded != refunded || wantFees != fees {
		return nil, fmt.Errorf("qr_wallet statement: %w", garbled("totals %d/%d/%d/%d do not match the rows' %d/%d/%d/%d",
			wantCount, wantPaid, wantRefunded, wantFees, len(lines), paid, refunded, fees))
	}
	return lines, nil
}

// billRow reads one order of a bill. paid is false for a refund, whose
// amount is in the refund column.
func (a *qrWallet) billRow(s string) (l StatementLine, paid bool, err error) {
	f, err := billFields(s, walletBillColumns)
	if err != nil {
		return l, false, err
	}
	l = StatementLine{OrderID: f[3], ChannelRef: f[2], Asset: f[6], Status: Succeeded}
	if f[1] != a.cfg.MerchantID {
		return l, false, garbled("merchant %q", clip(f[1]))
	}
	if !validOrderID(l.OrderID) {
		return l, false, garbled("order ID %q", clip(l.OrderID))
	}
	if l.At, err = parseLocal(walletBillTimeLayout, f[0], beijing); err != nil {
		return l, false, err
	}
	amountColumn, otherColumn := 7, 8 // the order amount; the refund amount
	switch {
	case f[4] == "NATIVE" && f[5] == "SUCCESS":
		l.Direction, paid = PayIn, true
	case f[4] == "TRANSFER" && f[5] == "SUCCESS":
		l.Direction, paid = PayOut, true
	case f[4] == "REFUND" && f[5] == "REFUND":
		l.Direction, amountColumn, otherColumn = Refund, 8, 7
	default:
		return l, false, garbled("type %q status %q", clip(f[4]), clip(f[5]))
	}
	other, err := parseDecimal(f[otherColumn], l.Asset)
	if err != nil {
		return l, false, err
	}
	if other != 0 {
		return l, false, garbled("both an order and a refund amount")
	}
	if l.Amount, err = parseDecimal(f[amountColumn], l.Asset); err != nil {
		return l, false, err
	}
	if l.Fee, err = parseDecimal(f[9], l.Asset); err != nil {
		return l, false, err
	}
	return l, paid, nil
}

// billFields splits a bill line into n back-quoted fields and strips the
// quotes.
func billFields(s string, n int) ([]string, error) {
	f := strings.Split(s, ",")
	if len(f) != n {
		return nil, garbled("%d fields, want %d", len(f), n)
	}
	for i, v := range f {
		v, ok := strings.CutPrefix(v, "`")
		if !ok {
			return nil, garbled("field %d lacks its back quote", i+1)
		}
		f[i] = v
	}
	return f, nil
}
