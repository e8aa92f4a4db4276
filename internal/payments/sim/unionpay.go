package sim

import (
	"crypto/hmac"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/suanpan/suanpan/internal/payments/channel"
)

// unionCodec speaks unionpay, after the UnionPay gateway 5.1: form fields,
// twelve-digit txnAmt, numeric currency codes, base64 HMAC-SHA256 over the
// sorted fields.
type unionCodec struct{ wire }

func unionDialect(w wire) *dialect {
	return &dialect{
		codec: unionCodec{w}, mode: answerLater, callbacks: true, loc: beijing, ext: "txt",
		failures: map[channel.Direction][]failure{
			channel.PayIn:  {{"61", "输入的卡号无效"}, {"66", "账户余额不足"}, {"60", "交易失败，详情请咨询您的发卡行"}},
			channel.PayOut: {{"61", "输入的卡号无效"}, {"60", "交易失败，详情请咨询您的发卡行"}},
			channel.Refund: {{"60", "交易失败，详情请咨询您的发卡行"}},
		},
		refused: failure{"35", "原交易不存在或状态不正确"},
		fees:    fees{channel.PayIn: {bp: 55}, channel.PayOut: {flat: 200}},
		ref:     func(h uint64) string { return fmt.Sprintf("%021d", h) },
	}
}

// unionTxnTypes maps txnType to direction.
func unionTxnTypes() map[string]channel.Direction {
	return map[string]channel.Direction{"01": channel.PayIn, "12": channel.PayOut, "04": channel.Refund}
}

// unionTxnType is a direction's txnType.
func unionTxnType(d channel.Direction) string {
	for t, dir := range unionTxnTypes() {
		if dir == d {
			return t
		}
	}
	return "00"
}

// unionNumeric maps the currencies the gateway settles to their numeric
// codes.
func unionNumeric() map[string]string {
	return map[string]string{"CNY": "156", "EUR": "978", "GBP": "826", "HKD": "344", "JPY": "392", "MOP": "446", "SGD": "702", "USD": "840"}
}

// unionSign is the base64 HMAC-SHA256 of the sorted non-empty fields but
// signature.
func unionSign(f map[string]string, secret string) string {
	return base64.StdEncoding.EncodeToString(mac(secret, signString(f, "signature")))
}

func (c unionCodec) decode(path string, _ *http.Request, body []byte) (op, inbound, *rejection) {
	var o op
	switch path {
	case "/gateway/api/backTransReq.do":
	case "/gateway/api/queryTrans.do":
		o.query = true
	default:
		return o, inbound{}, reject(http.StatusNotFound, "NOT_FOUND", "no such API %s", path)
	}
	vs, err := url.ParseQuery(string(body))
	if err != nil {
		return o, inbound{}, reject(http.StatusOK, "30", "报文格式错误")
	}
	f := map[string]string{}
	for k := range vs {
		f[k] = vs.Get(k)
	}
	if f["merId"] != c.merchant {
		return o, inbound{}, reject(http.StatusOK, "31", "商户状态不正确")
	}
	if !hmac.Equal([]byte(f["signature"]), []byte(unionSign(f, c.secret))) {
		return o, inbound{}, reject(http.StatusOK, "11", "验证签名失败")
	}
	in := inbound{id: f["orderId"]}
	if o.query {
		if f["txnType"] != "00" {
			return o, inbound{}, reject(http.StatusOK, "30", "txnType应为00")
		}
		return o, in, nil
	}
	d, ok := unionTxnTypes()[f["txnType"]]
	if !ok {
		return o, inbound{}, reject(http.StatusOK, "30", "txnType不支持")
	}
	o.dir, in.dir = d, d
	amt := f["txnAmt"]
	amount, err := strconv.ParseInt(amt, 10, 64)
	if len(amt) != 12 || err != nil {
		return o, inbound{}, reject(http.StatusOK, "30", "txnAmt格式错误")
	}
	for alpha, numeric := range unionNumeric() {
		if numeric == f["currencyCode"] {
			in.asset = alpha
		}
	}
	in.amount, in.party, in.partyName, in.original = amount, f["accNo"], f["customerNm"], f["origOrderId"]
	in.callbackURL, in.memo = f["backUrl"], f["reqReserved"]
	if rej := checkOrder(in); rej != nil {
		return o, inbound{}, reject(http.StatusOK, "30", "%s", rej.message)
	}
	return o, in, nil
}

// respCode is the gateway's code for v.
func respCode(v Order) string {
	switch v.Status {
	case channel.Succeeded:
		return "00"
	case channel.Failed:
		return v.Code
	}
	return "04"
}

// respMsg is the gateway's text for v.
func respMsg(v Order) string {
	switch v.Status {
	case channel.Succeeded:
		return "成功[0000000]"
	case channel.Failed:
		return v.Message
	}
	return "交易状态未明，请查询对账结果"
}

// fields are the gateway's account of v, unsigned.
func (c unionCodec) fields(v Order) map[string]string {
	return map[string]string{"version": "5.1.0", "encoding": "UTF-8", "signMethod": "HMAC-SHA256", "merId": c.merchant,
		"orderId": v.ID, "txnType": unionTxnType(v.Direction), "queryId": v.Ref, "txnAmt": fmt.Sprintf("%012d", v.Amount),
		"currencyCode": unionNumeric()[v.Asset], "respTime": decided(v, c.clock.Now()).In(beijing).Format("20060102150405")}
}

// write sends f signed with secret.
func (c unionCodec) write(w http.ResponseWriter, f map[string]string) {
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
	_, _ = io.WriteString(w, c.encode(f, c.secret))
}

// encode signs f with secret and encodes it as a form.
func (c unionCodec) encode(f map[string]string, secret string) string {
	f["signature"] = unionSign(f, secret)
	vs := url.Values{}
	for k, v := range f {
		if v != "" {
			vs.Set(k, v)
		}
	}
	return vs.Encode()
}

func (c unionCodec) reply(w http.ResponseWriter, o op, v Order) {
	if v.Status == channel.NotFound {
		c.write(w, map[string]string{"version": "5.1.0", "merId": c.merchant, "orderId": v.ID, "respCode": "34", "respMsg": "查无此交易"})
		return
	}
	f := c.fields(v)
	if o.query {
		f["respCode"], f["respMsg"], f["origRespCode"], f["origRespMsg"] = "00", "成功[0000000]", respCode(v), respMsg(v)
	} else {
		f["respCode"], f["respMsg"] = respCode(v), respMsg(v)
	}
	c.write(w, f)
}

func (c unionCodec) reject(w http.ResponseWriter, rej *rejection) {
	if rej.status == http.StatusNotFound {
		http.Error(w, rej.message, rej.status)
		return
	}
	c.write(w, map[string]string{"version": "5.1.0", "merId": c.merchant, "respCode": rej.code, "respMsg": rej.message})
}

func (c unionCodec) notification(v Order, secret string) (http.Header, []byte) {
	f := c.fields(v)
	f["respCode"], f["respMsg"] = respCode(v), respMsg(v)
	return http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, []byte(c.encode(f, secret))
}

func (c unionCodec) statement(w io.Writer, _ time.Time, orders []Order) error {
	for _, o := range orders {
		_, err := fmt.Fprintf(w, "%-2s %-21s %-40s %012d %012d %-3s %-2s %s\n", unionTxnType(o.Direction), o.Ref, o.ID,
			o.Amount, o.Fee, unionNumeric()[o.Asset], respCode(o), o.DecidedAt.In(beijing).Format("20060102150405"))
		if err != nil {
			return err
		}
	}
	return nil
}
