package sim

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/money"
)

// walletCodec speaks qr_wallet, after WeChat Pay API v2: flat XML, amounts
// in fen, sign over the sorted fields and "&key=SECRET".
type walletCodec struct{ wire }

func walletDialect(w wire) *dialect {
	return &dialect{
		codec: walletCodec{w}, mode: answerLater, callbacks: true, loc: beijing, ext: "csv",
		failures: map[channel.Direction][]failure{
			channel.PayIn:  {{"NOTENOUGH", "用户余额不足"}, {"ORDERCLOSED", "订单已关闭"}},
			channel.PayOut: {{"V2_ACCOUNT_SIMPLE_BAN", "无法给未实名用户付款"}, {"NAME_MISMATCH", "真实姓名不一致"}},
			channel.Refund: {{"NOTENOUGH", "商户可用退款余额不足"}},
		},
		refused: failure{"INVALID_REQUEST", "原订单不存在或不可退款"},
		fees:    fees{channel.PayIn: {bp: 60}, channel.PayOut: {bp: 10}},
		ref:     func(h uint64) string { return fmt.Sprintf("4200000%021d", h) },
	}
}

// walletAPI is one direction's paths and field names.
type walletAPI struct{ start, query, id, amount, ref string }

// walletAPIs are the wallet's APIs by direction.
func walletAPIs() map[channel.Direction]walletAPI {
	return map[channel.Direction]walletAPI{
		channel.PayIn:  {"/pay/unifiedorder", "/pay/orderquery", "out_trade_no", "total_fee", "transaction_id"},
		channel.PayOut: {"/mmpaymkttransfers/promotion/transfers", "/mmpaymkttransfers/gettransferinfo", "partner_trade_no", "amount", "payment_no"},
		channel.Refund: {"/secapi/pay/refund", "/pay/refundquery", "out_refund_no", "refund_fee", "refund_id"},
	}
}

// xmlMessage is WeChat's flat XML.
type xmlMessage struct {
	XMLName xml.Name   `xml:"xml"`
	Fields  []xmlField `xml:",any"`
}

// xmlField is one field of an xmlMessage.
type xmlField struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

// readXML decodes a flat XML message.
func readXML(body []byte) (map[string]string, error) {
	var m xmlMessage
	if err := xml.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	f := make(map[string]string, len(m.Fields))
	for _, x := range m.Fields {
		f[x.XMLName.Local] = x.Value
	}
	return f, nil
}

// writeXML encodes fields as a flat XML message.
func writeXML(f map[string]string) []byte {
	var m xmlMessage
	for k, v := range f {
		m.Fields = append(m.Fields, xmlField{XMLName: xml.Name{Local: k}, Value: v})
	}
	b, err := xml.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("sim: encode wallet XML: %v", err)) // names are ours and valid
	}
	return b
}

// walletSign is the upper-case hex HMAC-SHA256 of the sorted non-empty
// fields but sign, then "&key=" and the key.
func walletSign(f map[string]string, secret string) string {
	return strings.ToUpper(hex.EncodeToString(mac(secret, signString(f, "sign"), "&key=", secret)))
}

func (c walletCodec) decode(path string, _ *http.Request, body []byte) (op, inbound, *rejection) {
	var o op
	for d, api := range walletAPIs() {
		switch path {
		case api.start:
			o.dir = d
		case api.query:
			o.dir, o.query = d, true
		}
	}
	if o.dir == "" {
		return o, inbound{}, reject(http.StatusNotFound, "NOT_FOUND", "no such API %s", path)
	}
	f, err := readXML(body)
	if err != nil {
		return o, inbound{}, reject(http.StatusOK, "FAIL", "XML格式错误")
	}
	if f["mch_id"] != c.merchant {
		return o, inbound{}, reject(http.StatusOK, "FAIL", "mch_id参数错误")
	}
	if !hmac.Equal([]byte(f["sign"]), []byte(walletSign(f, c.secret))) {
		return o, inbound{}, reject(http.StatusOK, "FAIL", "签名错误")
	}
	api := walletAPIs()[o.dir]
	in := inbound{id: f[api.id], dir: o.dir}
	if o.query {
		return o, in, nil
	}
	amount, err := strconv.ParseInt(f[api.amount], 10, 64)
	if err != nil {
		return o, inbound{}, reject(http.StatusOK, "FAIL", "%s参数错误", api.amount)
	}
	in.amount, in.asset, in.party, in.partyName = amount, f["fee_type"], f["openid"], f["re_user_name"]
	in.callbackURL, in.memo = f["notify_url"], f["body"]
	if in.asset == "" {
		in.asset = "CNY"
	}
	if in.asset != "CNY" {
		return o, inbound{}, reject(http.StatusOK, "FAIL", "fee_type只支持CNY")
	}
	if o.dir == channel.Refund {
		in.original = f["out_trade_no"]
	}
	if rej := checkOrder(in); rej != nil {
		return o, inbound{}, reject(http.StatusOK, "FAIL", "%s", rej.message)
	}
	return o, in, nil
}

// tradeState is a status in the wallet's words.
func tradeState(s channel.Status) string {
	switch s {
	case channel.Succeeded:
		return "SUCCESS"
	case channel.Failed:
		return "PAYERROR"
	}
	return "USERPAYING"
}

// fields are the wallet's account of v, unsigned.
func (c walletCodec) fields(v Order) map[string]string {
	api := walletAPIs()[v.Direction]
	var nonce [8]byte
	_, _ = rand.Read(nonce[:]) // crypto/rand.Read never fails
	f := map[string]string{"return_code": "SUCCESS", "return_msg": "OK", "result_code": "SUCCESS", "mch_id": c.merchant,
		"nonce_str": hex.EncodeToString(nonce[:]), api.id: v.ID}
	switch {
	case v.Status == channel.NotFound:
		f["result_code"], f["err_code"], f["err_code_des"] = "FAIL", "ORDERNOTEXIST", "订单不存在"
		return f
	case v.Status == channel.Failed:
		f["err_code"], f["err_code_des"] = v.Code, v.Message
	}
	f[api.ref], f[api.amount], f["fee_type"], f["trade_state"] = v.Ref, strconv.FormatInt(v.Amount, 10), v.Asset, tradeState(v.Status)
	f["openid"] = v.Party
	if v.Direction == channel.Refund {
		f["out_trade_no"] = v.Original
	}
	if v.Status.Final() {
		f["time_end"] = v.DecidedAt.In(beijing).Format("20060102150405")
	}
	return f
}

func (c walletCodec) reply(w http.ResponseWriter, o op, v Order) {
	if v.Status == channel.NotFound {
		v.Direction = o.dir
	}
	f := c.fields(v)
	if !o.query && v.Status == channel.Failed { // a start refused: the business result fails
		f["result_code"] = "FAIL"
	}
	f["sign"] = walletSign(f, c.secret)
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write(writeXML(f))
}

func (c walletCodec) reject(w http.ResponseWriter, rej *rejection) {
	if rej.status == http.StatusNotFound {
		http.Error(w, rej.message, rej.status)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write(writeXML(map[string]string{"return_code": "FAIL", "return_msg": rej.message}))
}

func (c walletCodec) notification(v Order, secret string) (http.Header, []byte) {
	f := c.fields(v)
	if v.Status == channel.Failed {
		f["result_code"] = "FAIL"
	}
	f["sign"] = walletSign(f, secret)
	return http.Header{"Content-Type": {"text/xml"}}, writeXML(f)
}

// The bill's lines; see channel's qr_wallet ParseStatement.
const (
	walletBillHeader = "交易时间,商户号,微信订单号,商户订单号,交易类型,交易状态,货币种类,订单金额,退款金额,手续费"
	walletBillTotals = "总交易单数,总交易额,总退款金额,总手续费"
)

func (c walletCodec) statement(w io.Writer, _ time.Time, orders []Order) error {
	var b strings.Builder
	b.WriteString(walletBillHeader + "\n")
	var paid, refunded, fee int64
	for _, o := range orders {
		scale := scaleOf(o.Asset)
		typ, state, order, refund := "NATIVE", "SUCCESS", o.Amount, int64(0)
		switch o.Direction {
		case channel.PayOut:
			typ = "TRANSFER"
		case channel.Refund:
			typ, state, order, refund = "REFUND", "REFUND", 0, o.Amount
		}
		var err error
		if paid, err = money.Add(paid, order); err == nil {
			if refunded, err = money.Add(refunded, refund); err == nil {
				fee, err = money.Add(fee, o.Fee)
			}
		}
		if err != nil {
			return fmt.Errorf("qr_wallet bill totals: %w", err)
		}
		fields := []string{o.DecidedAt.In(beijing).Format(time.DateTime), c.merchant, o.Ref, o.ID, typ, state, o.Asset,
			money.Format(order, scale), money.Format(refund, scale), money.Format(o.Fee, scale)}
		b.WriteString("`" + strings.Join(fields, ",`") + "\n")
	}
	b.WriteString(walletBillTotals + "\n")
	scale := scaleOf("CNY")
	fmt.Fprintf(&b, "`%d,`%s,`%s,`%s\n", len(orders), money.Format(paid, scale), money.Format(refunded, scale), money.Format(fee, scale))
	_, err := io.WriteString(w, b.String())
	return err
}
