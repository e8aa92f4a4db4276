package channel

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// cheque speaks the cheque dialect of a clearing house: JSON in minor
// units, an Authorization header signing a timestamp and the body's
// SHA-256. Deposits and issued cheques stay processing until they clear
// or are returned.
type cheque struct{ base }

var _ Adapter = (*cheque)(nil)

// chequeAuthScheme starts the Authorization header.
const chequeAuthScheme = "HMAC-SHA256 "

// chequeOrder deposits a cheque we received (pay-in) or issues one
// (pay-out).
type chequeOrder struct {
	Reference   string `json:"reference"`
	ChequeNo    string `json:"cheque_no"`
	PartyName   string `json:"party_name,omitempty"`
	AmountMinor int64  `json:"amount_minor"`
	Currency    string `json:"currency"`
	NotifyURL   string `json:"notify_url,omitempty"`
	Memo        string `json:"memo,omitempty"`
}

// chequeQuery asks for a cheque's state.
type chequeQuery struct {
	Reference string `json:"reference"`
	Kind      string `json:"kind"`
}

// chequeState is the clearing house's answer and callback.
type chequeState struct {
	Reference    string `json:"reference"`
	Kind         string `json:"kind"`  // deposit, issue
	State        string `json:"state"` // PRESENTED, CLEARED, RETURNED, UNKNOWN
	ClearingID   string `json:"clearing_id"`
	ChequeNo     string `json:"cheque_no"`
	AmountMinor  int64  `json:"amount_minor"`
	Currency     string `json:"currency"`
	FeeMinor     int64  `json:"fee_minor"`
	ReturnReason string `json:"return_reason,omitempty"`
	ValueDate    string `json:"value_date,omitempty"`
	UpdatedAt    string `json:"updated_at"`
}

// chequeError is the answer to a refused request.
type chequeError struct {
	Error string `json:"error"`
}

// chequeKind is a direction's kind of cheque.
func chequeKind(d Direction) string {
	if d == PayOut {
		return "issue"
	}
	return "deposit"
}

// Start deposits a cheque (Party is its number) or issues one to Party.
func (a *cheque) Start(ctx context.Context, r Request) (*Result, error) {
	if err := a.check(r); err != nil {
		return nil, err
	}
	body, err := json.Marshal(chequeOrder{Reference: r.OrderID, ChequeNo: r.Party, PartyName: r.PartyName,
		AmountMinor: r.Amount, Currency: r.Asset, NotifyURL: r.CallbackURL, Memo: r.Memo})
	if err != nil {
		return nil, fmt.Errorf("cheque start %s: %w", r.OrderID, err)
	}
	return a.call(ctx, "/cheques/"+chequeKind(r.Direction), body, r.OrderID, r.Direction)
}

// Query asks for a cheque's state by our reference.
func (a *cheque) Query(ctx context.Context, orderID string, d Direction) (*Result, error) {
	if err := a.checkQuery(orderID, d); err != nil {
		return nil, err
	}
	body, err := json.Marshal(chequeQuery{Reference: orderID, Kind: chequeKind(d)})
	if err != nil {
		return nil, fmt.Errorf("cheque query %s: %w", orderID, err)
	}
	return a.call(ctx, "/cheques/status", body, orderID, d)
}

// call posts a signed body and reads the signed answer.
func (a *cheque) call(ctx context.Context, path string, body []byte, orderID string, d Direction) (*Result, error) {
	h := http.Header{}
	h.Set("Authorization", chequeAuth(a.cfg.MerchantID, a.cfg.Secret, a.clock.Now(), body))
	rep, err := a.post(ctx, path, "application/json", h, body)
	if err != nil {
		return nil, err
	}
	if _, err := a.verify(rep.header, rep.body); err != nil {
		return nil, fmt.Errorf("cheque %s %s: %w", path, orderID, err)
	}
	if rep.status != http.StatusOK {
		var e chequeError
		if err := json.Unmarshal(rep.body, &e); err != nil {
			return nil, fmt.Errorf("cheque %s %s: HTTP %d: %w", path, orderID, rep.status, garbled("error body"))
		}
		return nil, fmt.Errorf("cheque %s %s: HTTP %d: %w: %s", path, orderID, rep.status, ErrRejected, clip(e.Error))
	}
	res, kind, err := decodeCheque(rep.body)
	if err != nil {
		return nil, fmt.Errorf("cheque %s %s: %w", path, orderID, err)
	}
	if res.Status == NotFound {
		res.OrderID = orderID
	} else if kind != chequeKind(d) {
		return nil, fmt.Errorf("cheque %s %s: %w", path, orderID, garbled("kind %q", clip(kind)))
	}
	return expect(res, orderID)
}

// chequeAuth is the Authorization header for body signed at t.
func chequeAuth(merchant, secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return fmt.Sprintf(`%smerchant="%s", ts="%s", sig="%s"`, chequeAuthScheme, merchant, ts, chequeSig(secret, ts, body))
}

// chequeSig is the base64 HMAC-SHA256 of the timestamp, a newline and the
// hex SHA-256 of the body.
func chequeSig(secret, ts string, body []byte) string {
	sum := sha256.Sum256(body)
	return base64.StdEncoding.EncodeToString(mac(secret, ts, "\n", hex.EncodeToString(sum[:])))
}

// verify checks the Authorization header over body and returns the signing
// time.
func (a *cheque) verify(h http.Header, body []byte) (time.Time, error) {
	params, ok := strings.CutPrefix(h.Get("Authorization"), chequeAuthScheme)
	if !ok {
		return time.Time{}, fmt.Errorf("%w: no %sAuthorization", ErrBadSignature, chequeAuthScheme)
	}
	p := map[string]string{}
	for kv := range strings.SplitSeq(params, ", ") {
		k, v, _ := strings.Cut(kv, "=")
		v, err := strconv.Unquote(v)
		if err != nil {
			return time.Time{}, fmt.Errorf("%w: Authorization parameter %q", ErrBadSignature, clip(k))
		}
		p[k] = v
	}
	if p["merchant"] != a.cfg.MerchantID {
		return time.Time{}, fmt.Errorf("%w: merchant %q", ErrBadSignature, clip(p["merchant"]))
	}
	sec, err := strconv.ParseInt(p["ts"], 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: timestamp %q", ErrBadSignature, clip(p["ts"]))
	}
	if !hmac.Equal([]byte(p["sig"]), []byte(chequeSig(a.cfg.Secret, p["ts"], body))) {
		return time.Time{}, fmt.Errorf("%w: signature does not match", ErrBadSignature)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// decodeCheque reads a state message and returns it with its kind.
func decodeCheque(body []byte) (*Result, string, error) {
	var s chequeState
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, "", garbled("%v", err)
	}
	res := &Result{OrderID: s.Reference, ChannelRef: s.ClearingID, Amount: s.AmountMinor, Asset: s.Currency, Fee: s.FeeMinor}
	switch s.State {
	case "PRESENTED":
		res.Status = Processing
	case "CLEARED":
		res.Status = Succeeded
	case "RETURNED":
		res.Status, res.Code, res.Message = Failed, s.ReturnReason, "cheque returned unpaid"
	case "UNKNOWN":
		return &Result{OrderID: s.Reference, Status: NotFound}, s.Kind, nil
	default:
		return nil, "", garbled("state %q", clip(s.State))
	}
	if s.Kind != "deposit" && s.Kind != "issue" {
		return nil, "", garbled("kind %q", clip(s.Kind))
	}
	if !validOrderID(s.Reference) || s.AmountMinor <= 0 || s.FeeMinor < 0 {
		return nil, "", garbled("reference %q amount %d fee %d", clip(s.Reference), s.AmountMinor, s.FeeMinor)
	}
	at, err := parseRFC3339(s.UpdatedAt)
	if err != nil {
		return nil, "", err
	}
	res.At = at
	return res, s.Kind, nil
}

// VerifyCallback checks a notification's Authorization and freshness and
// decodes it.
func (a *cheque) VerifyCallback(h http.Header, body []byte) (*Result, error) {
	at, err := a.verify(h, body)
	if err != nil {
		return nil, fmt.Errorf("cheque callback: %w", err)
	}
	if err := checkFresh(at, a.clock.Now()); err != nil {
		return nil, fmt.Errorf("cheque callback: %w", err)
	}
	res, _, err := decodeCheque(body)
	if err != nil {
		return nil, fmt.Errorf("cheque callback: %w", err)
	}
	if res.Status == NotFound {
		return nil, fmt.Errorf("cheque callback: %w", garbled("state UNKNOWN"))
	}
	return res, nil
}

// CallbackAck is the clearing house's expected "ACCEPTED".
func (a *cheque) CallbackAck() (string, []byte) {
	return "text/plain; charset=utf-8", []byte("ACCEPTED")
}

// chequeStatementHeader is the first line of a cheque clearing report.
var chequeStatementHeader = []string{"value_date", "clearing_id", "reference", "cheque_no", "kind", "state", "amount", "currency", "fee", "return_reason", "decided_at"}

// ParseStatement reads a cheque clearing report: CSV with
// chequeStatementHeader, amounts in minor units, cleared and returned
// cheques (a returned one with its reason).
func (a *cheque) ParseStatement(r io.Reader) ([]StatementLine, error) {
	var lines []StatementLine
	err := readCSV(Cheque, r, chequeStatementHeader, func(_ int, rec []string) error {
		l := StatementLine{ChannelRef: rec[1], OrderID: rec[2], Asset: rec[7]}
		switch rec[4] {
		case "deposit":
			l.Direction = PayIn
		case "issue":
			l.Direction = PayOut
		default:
			return garbled("kind %q", clip(rec[4]))
		}
		switch {
		case rec[5] == "CLEARED" && rec[9] == "":
			l.Status = Succeeded
		case rec[5] == "RETURNED" && rec[9] != "":
			l.Status = Failed
		default:
			return garbled("state %q reason %q", clip(rec[5]), clip(rec[9]))
		}
		if !validOrderID(l.OrderID) {
			return garbled("reference %q", clip(l.OrderID))
		}
		if _, err := time.Parse(time.DateOnly, rec[0]); err != nil {
			return garbled("value_date %q", clip(rec[0]))
		}
		var err error
		if l.Amount, err = parseMinor(rec[6]); err != nil {
			return err
		}
		if l.Fee, err = parseMinor(rec[8]); err != nil {
			return err
		}
		if l.At, err = parseRFC3339(rec[10]); err != nil {
			return err
		}
		lines = append(lines, l)
		return nil
	})
	return lines, err
}
