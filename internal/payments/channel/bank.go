package channel

import (
	"context"
	"crypto/hmac"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// bankTransfer speaks the bank_transfer dialect: JSON in minor units,
// signed in headers over "timestamp.body".
type bankTransfer struct{ base }

var _ Adapter = (*bankTransfer)(nil)

// The bank_transfer signature headers.
const (
	bankHeaderMerchant  = "X-Sim-Merchant"
	bankHeaderTimestamp = "X-Sim-Timestamp"
	bankHeaderSignature = "X-Sim-Signature"
)

// bankOrder is a collection (pay-in) or transfer (pay-out) request.
type bankOrder struct {
	OrderID     string `json:"order_id"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Account     string `json:"account,omitempty"`
	AccountName string `json:"account_name,omitempty"`
	CallbackURL string `json:"callback_url,omitempty"`
	Memo        string `json:"memo,omitempty"`
}

// bankQuery asks for an order's state.
type bankQuery struct {
	OrderID string `json:"order_id"`
	Type    string `json:"type"`
}

// bankState is the bank's answer and callback about an order.
type bankState struct {
	OrderID    string `json:"order_id"`
	Type       string `json:"type"`
	Status     string `json:"status"`
	BankRef    string `json:"bank_ref"`
	Amount     int64  `json:"amount"`
	Currency   string `json:"currency"`
	Fee        int64  `json:"fee"`
	ReasonCode string `json:"reason_code,omitempty"`
	Reason     string `json:"reason,omitempty"`
	UpdatedAt  string `json:"updated_at"`
}

// bankError is the bank's answer to a request it refuses.
type bankError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// bankNotFound is the error code of a query for an unknown order.
const bankNotFound = "ORDER_NOT_FOUND"

// bankType names a direction in the bank's terms.
func bankType(d Direction) string {
	if d == PayOut {
		return "transfer"
	}
	return "collection"
}

// Start registers an expected collection (pay-in) or sends a transfer
// (pay-out).
func (a *bankTransfer) Start(ctx context.Context, r Request) (*Result, error) {
	if err := a.check(r); err != nil {
		return nil, err
	}
	path := "/collections"
	if r.Direction == PayOut {
		path = "/transfers"
	}
	body, err := json.Marshal(bankOrder{OrderID: r.OrderID, Amount: r.Amount, Currency: r.Asset, Account: r.Party,
		AccountName: r.PartyName, CallbackURL: r.CallbackURL, Memo: r.Memo})
	if err != nil {
		return nil, fmt.Errorf("bank_transfer start %s: %w", r.OrderID, err)
	}
	return a.call(ctx, path, body, r.OrderID, r.Direction)
}

// Query asks for a collection or transfer; an unknown one is a 404 with
// ORDER_NOT_FOUND.
func (a *bankTransfer) Query(ctx context.Context, orderID string, d Direction) (*Result, error) {
	if err := a.checkQuery(orderID, d); err != nil {
		return nil, err
	}
	body, err := json.Marshal(bankQuery{OrderID: orderID, Type: bankType(d)})
	if err != nil {
		return nil, fmt.Errorf("bank_transfer query %s: %w", orderID, err)
	}
	return a.call(ctx, "/orders/query", body, orderID, d)
}

// call posts a signed body and decodes the bank's signed answer.
func (a *bankTransfer) call(ctx context.Context, path string, body []byte, orderID string, d Direction) (*Result, error) {
	ts := strconv.FormatInt(a.clock.Now().Unix(), 10)
	h := http.Header{}
	h.Set(bankHeaderMerchant, a.cfg.MerchantID)
	h.Set(bankHeaderTimestamp, ts)
	h.Set(bankHeaderSignature, hex.EncodeToString(mac(a.cfg.Secret, ts, ".", string(body))))
	rep, err := a.post(ctx, path, "application/json", h, body)
	if err != nil {
		return nil, err
	}
	if _, err := a.verify(rep.header, rep.body); err != nil {
		return nil, fmt.Errorf("bank_transfer %s %s: %w", path, orderID, err)
	}
	if rep.status != http.StatusOK {
		var e bankError
		if err := json.Unmarshal(rep.body, &e); err != nil || e.Error.Code == "" {
			return nil, fmt.Errorf("bank_transfer %s %s: HTTP %d: %w", path, orderID, rep.status, garbled("error body"))
		}
		if rep.status == http.StatusNotFound && e.Error.Code == bankNotFound && path == "/orders/query" {
			return &Result{OrderID: orderID, Status: NotFound, Code: e.Error.Code, Message: e.Error.Message}, nil
		}
		return nil, fmt.Errorf("bank_transfer %s %s: %w: %s %s", path, orderID, ErrRejected, clip(e.Error.Code), clip(e.Error.Message))
	}
	res, dir, err := decodeBankState(rep.body)
	if err != nil {
		return nil, fmt.Errorf("bank_transfer %s %s: %w", path, orderID, err)
	}
	if dir != d {
		return nil, fmt.Errorf("bank_transfer %s %s: answer about a %s: %w", path, orderID, dir, errGarbled)
	}
	return expect(res, orderID)
}

// verify checks the merchant and signature headers over body and returns
// the signing time.
func (a *bankTransfer) verify(h http.Header, body []byte) (time.Time, error) {
	if m := h.Get(bankHeaderMerchant); m != a.cfg.MerchantID {
		return time.Time{}, fmt.Errorf("%w: merchant %q", ErrBadSignature, clip(m))
	}
	ts := h.Get(bankHeaderTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: timestamp %q", ErrBadSignature, clip(ts))
	}
	got, err := hex.DecodeString(h.Get(bankHeaderSignature))
	if err != nil || !hmac.Equal(got, mac(a.cfg.Secret, ts, ".", string(body))) {
		return time.Time{}, fmt.Errorf("%w: signature does not match", ErrBadSignature)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// decodeBankState decodes a bank answer or callback body.
func decodeBankState(body []byte) (*Result, Direction, error) {
	var s bankState
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, "", garbled("%v", err)
	}
	var d Direction
	switch s.Type {
	case "collection":
		d = PayIn
	case "transfer":
		d = PayOut
	default:
		return nil, "", garbled("type %q", clip(s.Type))
	}
	res := &Result{OrderID: s.OrderID, ChannelRef: s.BankRef, Amount: s.Amount, Asset: s.Currency, Fee: s.Fee}
	switch s.Status {
	case "PENDING":
		res.Status = Processing
	case "COMPLETED":
		res.Status = Succeeded
	case "REJECTED":
		res.Status, res.Code, res.Message = Failed, s.ReasonCode, s.Reason
	default:
		return nil, "", garbled("status %q", clip(s.Status))
	}
	if !validOrderID(s.OrderID) || s.Amount <= 0 || s.Fee < 0 {
		return nil, "", garbled("order %q amount %d fee %d", clip(s.OrderID), s.Amount, s.Fee)
	}
	at, err := parseRFC3339(s.UpdatedAt)
	if err != nil {
		return nil, "", err
	}
	res.At = at
	return res, d, nil
}

// VerifyCallback checks a notification's signature headers, refuses one
// signed more than five minutes from now, and decodes it.
func (a *bankTransfer) VerifyCallback(h http.Header, body []byte) (*Result, error) {
	at, err := a.verify(h, body)
	if err != nil {
		return nil, fmt.Errorf("bank_transfer callback: %w", err)
	}
	if err := checkFresh(at, a.clock.Now()); err != nil {
		return nil, fmt.Errorf("bank_transfer callback: %w", err)
	}
	res, _, err := decodeBankState(body)
	if err != nil {
		return nil, fmt.Errorf("bank_transfer callback: %w", err)
	}
	return res, nil
}

// CallbackAck is the bank's expected {"code":"SUCCESS"}.
func (a *bankTransfer) CallbackAck() (string, []byte) {
	return "application/json", []byte(`{"code":"SUCCESS"}`)
}

// bankStatementHeader is the first line of a bank_transfer statement.
var bankStatementHeader = []string{"order_id", "bank_ref", "type", "amount", "fee", "currency", "status", "value_time"}

// ParseStatement reads a bank_transfer statement: CSV with
// bankStatementHeader, amounts in minor units, times in RFC 3339.
func (a *bankTransfer) ParseStatement(r io.Reader) ([]StatementLine, error) {
	var lines []StatementLine
	err := readCSV(BankTransfer, r, bankStatementHeader, func(_ int, rec []string) error {
		l := StatementLine{OrderID: rec[0], ChannelRef: rec[1], Asset: rec[5]}
		switch rec[2] {
		case "collection":
			l.Direction = PayIn
		case "transfer":
			l.Direction = PayOut
		default:
			return garbled("type %q", clip(rec[2]))
		}
		switch rec[6] {
		case "COMPLETED":
			l.Status = Succeeded
		case "REJECTED":
			l.Status = Failed
		default:
			return garbled("status %q", clip(rec[6]))
		}
		var err error
		if l.Amount, err = parseMinor(rec[3]); err != nil {
			return err
		}
		if l.Fee, err = parseMinor(rec[4]); err != nil {
			return err
		}
		if l.At, err = parseRFC3339(rec[7]); err != nil {
			return err
		}
		if !validOrderID(l.OrderID) {
			return garbled("order ID %q", clip(l.OrderID))
		}
		lines = append(lines, l)
		return nil
	})
	return lines, err
}
