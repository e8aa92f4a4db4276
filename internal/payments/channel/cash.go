package channel

import (
	"context"
	"crypto/hmac"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/suanpan/suanpan/money"
)

// cashCounter speaks the cash_counter dialect of a branch teller system:
// form fields with a MAC over a fixed field order joined by '|'. A teller
// answers at once and never calls back.
type cashCounter struct{ base }

var _ Adapter = (*cashCounter)(nil)

// cashOp is a direction's operation code: a deposit or a withdrawal.
func cashOp(d Direction) string {
	if d == PayOut {
		return "WDL"
	}
	return "DEP"
}

// cashFields are the fields the teller's answer signs, in order.
var cashFields = [...]string{"serial", "op", "status", "journal", "amount", "ccy", "fee", "reason", "time"}

// Start asks the teller to take in (pay-in) or pay out cash; the teller
// answers done or rejected at once.
func (a *cashCounter) Start(ctx context.Context, r Request) (*Result, error) {
	if err := a.check(r); err != nil {
		return nil, err
	}
	if strings.Contains(r.Party+r.PartyName+r.Memo, "|") {
		return nil, fmt.Errorf("%w: cash_counter fields cannot hold '|'", ErrInvalid)
	}
	v := url.Values{}
	parts := []string{a.cfg.MerchantID, r.OrderID, cashOp(r.Direction), strconv.FormatInt(r.Amount, 10), r.Asset, r.Party, r.PartyName, r.Memo}
	for i, k := range []string{"merchant", "serial", "op", "amount", "ccy", "party", "name", "memo"} {
		v.Set(k, parts[i])
	}
	v.Set("mac", hex.EncodeToString(mac(a.cfg.Secret, strings.Join(parts, "|"))))
	return a.call(ctx, "/teller/txn", v, r.OrderID, r.Direction)
}

// Query asks the teller system for a transaction by serial.
func (a *cashCounter) Query(ctx context.Context, orderID string, d Direction) (*Result, error) {
	if err := a.checkQuery(orderID, d); err != nil {
		return nil, err
	}
	v := url.Values{"merchant": {a.cfg.MerchantID}, "serial": {orderID}, "op": {cashOp(d)}}
	v.Set("mac", hex.EncodeToString(mac(a.cfg.Secret, a.cfg.MerchantID+"|"+orderID+"|"+cashOp(d))))
	return a.call(ctx, "/teller/enquiry", v, orderID, d)
}

// call posts v and reads the teller's answer.
func (a *cashCounter) call(ctx context.Context, path string, v url.Values, orderID string, d Direction) (*Result, error) {
	rep, err := a.post(ctx, path, "application/x-www-form-urlencoded", nil, []byte(v.Encode()))
	if err != nil {
		return nil, err
	}
	res, err := a.answer(rep, orderID, d)
	if err != nil {
		return nil, fmt.Errorf("cash_counter %s %s: %w", path, orderID, err)
	}
	return res, nil
}

// answer verifies and reads the teller's answer.
func (a *cashCounter) answer(rep *reply, orderID string, d Direction) (*Result, error) {
	if rep.status != http.StatusOK {
		return nil, garbled("HTTP %d", rep.status)
	}
	vs, err := url.ParseQuery(string(rep.body))
	if err != nil {
		return nil, garbled("form: %v", err)
	}
	parts := make([]string, len(cashFields))
	for i, k := range cashFields {
		if len(vs[k]) > 1 || strings.Contains(vs.Get(k), "|") {
			return nil, garbled("field %s", k)
		}
		parts[i] = vs.Get(k)
	}
	got, err := hex.DecodeString(vs.Get("mac"))
	if err != nil || !hmac.Equal(got, mac(a.cfg.Secret, strings.Join(parts, "|"))) {
		return nil, fmt.Errorf("%w: MAC does not match", ErrBadSignature)
	}
	f := func(k string) string { return vs.Get(k) }
	if f("status") == "ERROR" { // about the request, so about no order
		return nil, fmt.Errorf("%w: %s", ErrRejected, clip(f("reason")))
	}
	if f("serial") != orderID || f("op") != cashOp(d) {
		return nil, garbled("answer about %s %s", clip(f("op")), clip(f("serial")))
	}
	res := &Result{OrderID: orderID, ChannelRef: f("journal"), Asset: f("ccy")}
	switch f("status") {
	case "DONE":
		res.Status = Succeeded
	case "REJECTED":
		res.Status, res.Code = Failed, f("reason")
	case "NONE":
		return &Result{OrderID: orderID, Status: NotFound}, nil
	default:
		return nil, garbled("status %q", clip(f("status")))
	}
	if res.Amount, err = parseMinor(f("amount")); err != nil {
		return nil, err
	}
	if res.Fee, err = parseMinor(f("fee")); err != nil {
		return nil, err
	}
	if res.At, err = parseRFC3339(f("time")); err != nil {
		return nil, err
	}
	return res, nil
}

// VerifyCallback fails with ErrNoCallbacks: tellers do not call back.
func (a *cashCounter) VerifyCallback(http.Header, []byte) (*Result, error) {
	return nil, fmt.Errorf("cash_counter: %w", ErrNoCallbacks)
}

// CallbackAck is empty: tellers do not call back.
func (a *cashCounter) CallbackAck() (string, []byte) { return "", nil }

// The cash_counter journal: tab-separated, a '#' header, then one line per
// completed transaction, then "#end", the count and the hash total (the sum
// of the amounts whatever their currency, a control number only).
const (
	cashJournalHeader = "#journal\tserial\top\tamount\tccy\tfee\ttime"
	cashJournalEnd    = "#end"
)

// ParseStatement reads a cash_counter journal and checks its trailer.
func (a *cashCounter) ParseStatement(r io.Reader) ([]StatementLine, error) {
	var (
		lines               []StatementLine
		hash                int64
		ended               bool
		wantCount, wantHash int64
	)
	err := readLines(CashCounter, r, func(n int, s string) error {
		f := strings.Split(s, "\t")
		switch {
		case n == 1:
			if s != cashJournalHeader {
				return garbled("header %q", clip(s))
			}
			return nil
		case ended:
			return garbled("text after %s", cashJournalEnd)
		case f[0] == cashJournalEnd:
			if len(f) != 3 {
				return garbled("trailer of %d fields", len(f))
			}
			ended = true
			var err error
			if wantCount, err = parseMinor(f[1]); err != nil {
				return err
			}
			wantHash, err = parseMinor(f[2])
			return err
		case len(f) != 7:
			return garbled("%d fields, want 7", len(f))
		}
		l := StatementLine{ChannelRef: f[0], OrderID: f[1], Asset: f[4], Status: Succeeded}
		switch f[2] {
		case "DEP":
			l.Direction = PayIn
		case "WDL":
			l.Direction = PayOut
		default:
			return garbled("op %q", clip(f[2]))
		}
		if !validOrderID(l.OrderID) {
			return garbled("serial %q", clip(l.OrderID))
		}
		var err error
		if l.Amount, err = parseMinor(f[3]); err != nil {
			return err
		}
		if l.Fee, err = parseMinor(f[5]); err != nil {
			return err
		}
		if l.At, err = parseRFC3339(f[6]); err != nil {
			return err
		}
		if hash, err = money.Add(hash, l.Amount); err != nil {
			return garbled("hash total: %v", err)
		}
		lines = append(lines, l)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !ended {
		return nil, fmt.Errorf("cash_counter statement: %w", garbled("no %s trailer", cashJournalEnd))
	}
	if wantCount != int64(len(lines)) || wantHash != hash {
		return nil, fmt.Errorf("cash_counter statement: %w", garbled("trailer %d/%d, lines %d/%d", wantCount, wantHash, len(lines), hash))
	}
	return lines, nil
}
