package channel

import (
	"context"
	"crypto/hmac"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/suanpan/suanpan/money"
)

// posCard speaks the pos_card dialect of a card acquirer: JSON with
// decimal amounts in the asset's scale, an X-Pos-Mac header over the body,
// ISO 8583 response codes. Most answers are immediate.
type posCard struct{ base }

var _ Adapter = (*posCard)(nil)

// posHeaderMAC carries the lower-case hex HMAC-SHA256 of the body.
const posHeaderMAC = "X-Pos-Mac"

// posOrder is a sale or refund request.
type posOrder struct {
	MerchantNo     string `json:"merchant_no"`
	OutOrderNo     string `json:"out_order_no"`
	TransType      string `json:"trans_type"`
	Amount         string `json:"amount"`
	Currency       string `json:"currency"`
	CardToken      string `json:"card_token,omitempty"`
	CardHolder     string `json:"card_holder,omitempty"`
	OrigOutOrderNo string `json:"orig_out_order_no,omitempty"`
	NotifyURL      string `json:"notify_url,omitempty"`
	Remark         string `json:"remark,omitempty"`
}

// posInquiry asks for a transaction.
type posInquiry struct {
	MerchantNo string `json:"merchant_no"`
	OutOrderNo string `json:"out_order_no"`
	TransType  string `json:"trans_type"`
}

// posResult is the acquirer's answer and callback.
type posResult struct {
	MerchantNo string `json:"merchant_no"`
	OutOrderNo string `json:"out_order_no"`
	TransType  string `json:"trans_type"`
	Result     string `json:"result"` // APPROVED, DECLINED, PENDING, NOT_FOUND, ERROR
	Code       string `json:"code"`   // ISO 8583 response code
	Message    string `json:"message"`
	RRN        string `json:"rrn"`
	Amount     string `json:"amount"`
	Fee        string `json:"fee"`
	Currency   string `json:"currency"`
	TransTime  string `json:"trans_time"`
}

// posTransType is a direction's trans_type.
func posTransType(d Direction) string {
	if d == Refund {
		return "REFUND"
	}
	return "SALE"
}

// Start submits a sale or a refund; the acquirer usually approves or
// declines at once.
func (a *posCard) Start(ctx context.Context, r Request) (*Result, error) {
	if err := a.check(r); err != nil {
		return nil, err
	}
	scale, _ := money.ISOScale(r.Asset) // check has made sure it is known
	path := "/v1/sale"
	if r.Direction == Refund {
		path = "/v1/refund"
	}
	return a.call(ctx, path, posOrder{MerchantNo: a.cfg.MerchantID, OutOrderNo: r.OrderID, TransType: posTransType(r.Direction),
		Amount: money.Format(r.Amount, scale), Currency: r.Asset, CardToken: r.Party, CardHolder: r.PartyName,
		OrigOutOrderNo: r.Original, NotifyURL: r.CallbackURL, Remark: r.Memo}, r.OrderID, r.Direction)
}

// Query asks for a sale or refund.
func (a *posCard) Query(ctx context.Context, orderID string, d Direction) (*Result, error) {
	if err := a.checkQuery(orderID, d); err != nil {
		return nil, err
	}
	return a.call(ctx, "/v1/inquiry", posInquiry{MerchantNo: a.cfg.MerchantID, OutOrderNo: orderID, TransType: posTransType(d)}, orderID, d)
}

// call posts msg with its MAC and reads the acquirer's answer.
func (a *posCard) call(ctx context.Context, path string, msg any, orderID string, d Direction) (*Result, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("pos_card %s %s: %w", path, orderID, err)
	}
	h := http.Header{}
	h.Set(posHeaderMAC, hex.EncodeToString(mac(a.cfg.Secret, string(body))))
	rep, err := a.post(ctx, path, "application/json", h, body)
	if err != nil {
		return nil, err
	}
	p, err := a.verify(rep.header, rep.body)
	if err != nil {
		return nil, fmt.Errorf("pos_card %s %s: %w", path, orderID, err)
	}
	if rep.status != http.StatusOK || p.Result == "ERROR" {
		return nil, fmt.Errorf("pos_card %s %s: HTTP %d: %w: %s %s", path, orderID, rep.status, ErrRejected, clip(p.Code), clip(p.Message))
	}
	if p.Result == "NOT_FOUND" {
		return &Result{OrderID: orderID, Status: NotFound, Code: p.Code, Message: p.Message}, nil
	}
	if p.TransType != posTransType(d) {
		return nil, fmt.Errorf("pos_card %s %s: %w", path, orderID, garbled("trans_type %q", clip(p.TransType)))
	}
	res, err := decodePOS(p)
	if err != nil {
		return nil, fmt.Errorf("pos_card %s %s: %w", path, orderID, err)
	}
	return expect(res, orderID)
}

// verify checks the MAC and merchant of an answer or callback and decodes
// it.
func (a *posCard) verify(h http.Header, body []byte) (*posResult, error) {
	got, err := hex.DecodeString(h.Get(posHeaderMAC))
	if err != nil || !hmac.Equal(got, mac(a.cfg.Secret, string(body))) {
		return nil, fmt.Errorf("%w: MAC does not match", ErrBadSignature)
	}
	var p posResult
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, garbled("%v", err)
	}
	if p.MerchantNo != a.cfg.MerchantID {
		return nil, fmt.Errorf("%w: merchant %q", ErrBadSignature, clip(p.MerchantNo))
	}
	return &p, nil
}

// decodePOS reads an answer about a transaction.
func decodePOS(p *posResult) (*Result, error) {
	res := &Result{OrderID: p.OutOrderNo, ChannelRef: p.RRN, Asset: p.Currency}
	switch p.Result {
	case "APPROVED":
		res.Status = Succeeded
	case "PENDING":
		res.Status = Processing
	case "DECLINED":
		res.Status, res.Code, res.Message = Failed, p.Code, p.Message
	default:
		return nil, garbled("result %q", clip(p.Result))
	}
	var err error
	if res.Amount, err = parseDecimal(p.Amount, p.Currency); err != nil {
		return nil, err
	}
	if res.Fee, err = parseDecimal(p.Fee, p.Currency); err != nil {
		return nil, err
	}
	if res.At, err = parseRFC3339(p.TransTime); err != nil {
		return nil, err
	}
	return res, nil
}

// VerifyCallback checks a notification's MAC (the dialect has no
// timestamp) and decodes it. The acquirer calls back only for transactions
// it left pending.
func (a *posCard) VerifyCallback(h http.Header, body []byte) (*Result, error) {
	p, err := a.verify(h, body)
	if err != nil {
		return nil, fmt.Errorf("pos_card callback: %w", err)
	}
	if p.TransType != "SALE" && p.TransType != "REFUND" {
		return nil, fmt.Errorf("pos_card callback: %w", garbled("trans_type %q", clip(p.TransType)))
	}
	res, err := decodePOS(p)
	if err != nil {
		return nil, fmt.Errorf("pos_card callback: %w", err)
	}
	return res, nil
}

// CallbackAck is the acquirer's expected "OK".
func (a *posCard) CallbackAck() (string, []byte) {
	return "text/plain; charset=utf-8", []byte("OK")
}

// posStatementHeader is the first line of a pos_card settlement file.
var posStatementHeader = []string{"settle_date", "terminal_no", "trans_type", "out_order_no", "rrn", "amount", "fee", "currency", "result", "trans_time"}

// ParseStatement reads a pos_card settlement file: CSV with
// posStatementHeader, decimal amounts, approved transactions only.
func (a *posCard) ParseStatement(r io.Reader) ([]StatementLine, error) {
	var lines []StatementLine
	err := readCSV(POSCard, r, posStatementHeader, func(_ int, rec []string) error {
		l := StatementLine{OrderID: rec[3], ChannelRef: rec[4], Asset: rec[7], Status: Succeeded}
		switch rec[2] {
		case "SALE":
			l.Direction = PayIn
		case "REFUND":
			l.Direction = Refund
		default:
			return garbled("trans_type %q", clip(rec[2]))
		}
		if rec[8] != "APPROVED" {
			return garbled("result %q", clip(rec[8]))
		}
		if !validOrderID(l.OrderID) || rec[1] == "" {
			return garbled("order %q terminal %q", clip(l.OrderID), clip(rec[1]))
		}
		var err error
		if l.Amount, err = parseDecimal(rec[5], l.Asset); err != nil {
			return err
		}
		if l.Fee, err = parseDecimal(rec[6], l.Asset); err != nil {
			return err
		}
		if l.At, err = parseRFC3339(rec[9]); err != nil {
			return err
		}
		if got := l.At.Format("20060102"); got != rec[0] {
			return garbled("settle_date %q for a transaction on %s", clip(rec[0]), got)
		}
		lines = append(lines, l)
		return nil
	})
	return lines, err
}
