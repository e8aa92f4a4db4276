package channel_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/suanpan/suanpan/internal/payments/channel"
)

func TestParseKind(t *testing.T) {
	for _, k := range channel.Kinds() {
		got, err := channel.ParseKind(string(k))
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %q, %v", k, got, err)
		}
		if len(k.Directions()) == 0 {
			t.Errorf("%s supports no direction", k)
		}
	}
	for _, s := range []string{"", "BANK_TRANSFER", "paypal"} {
		if _, err := channel.ParseKind(s); !errors.Is(err, channel.ErrInvalid) {
			t.Errorf("ParseKind(%q): %v, want ErrInvalid", s, err)
		}
	}
}

func TestNewValidates(t *testing.T) {
	good := channel.Config{Kind: channel.QRWallet, Endpoint: "http://127.0.0.1:8700/qr_wallet", MerchantID: "m", Secret: "s"}
	tests := []struct {
		name   string
		change func(*channel.Config)
	}{
		{"unknown kind", func(c *channel.Config) { c.Kind = "paypal" }},
		{"no endpoint", func(c *channel.Config) { c.Endpoint = "" }},
		{"not http", func(c *channel.Config) { c.Endpoint = "ftp://host/x" }},
		{"no host", func(c *channel.Config) { c.Endpoint = "http:///x" }},
		{"no merchant", func(c *channel.Config) { c.MerchantID = "" }},
		{"no secret", func(c *channel.Config) { c.Secret = "" }},
		{"negative timeout", func(c *channel.Config) { c.Timeout = -time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.change(&cfg)
			if _, err := channel.New(cfg); !errors.Is(err, channel.ErrInvalid) {
				t.Errorf("New: %v, want ErrInvalid", err)
			}
		})
	}
	for _, k := range channel.Kinds() {
		cfg := good
		cfg.Kind = k
		a, err := channel.New(cfg)
		if err != nil || a.Kind() != k {
			t.Errorf("New(%s) = %v, %v", k, a, err)
		}
	}
}

// TestConfigHidesSecret checks that neither fmt nor slog shows the secret.
func TestConfigHidesSecret(t *testing.T) {
	cfg := channel.Config{Kind: channel.BankTransfer, Endpoint: "http://x", MerchantID: "m", Secret: "hunter2"}
	var b bytes.Buffer
	slog.New(slog.NewJSONHandler(&b, nil)).Info("channel", "cfg", cfg)
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%v", &cfg), b.String()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("secret shown: %s", s)
		}
	}
}

// countingServer counts requests and answers each with handler.
func countingServer(t *testing.T, handler http.HandlerFunc) (string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

// TestRequestValidation checks that invalid requests are refused before
// anything is sent.
func TestRequestValidation(t *testing.T) {
	url, calls := countingServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	good := channel.Request{OrderID: "ORD-1", Direction: channel.PayOut, Amount: 100, Asset: "CNY", Party: "acct"}
	tests := []struct {
		name   string
		kind   channel.Kind
		change func(*channel.Request)
	}{
		{"empty order ID", channel.BankTransfer, func(r *channel.Request) { r.OrderID = "" }},
		{"order ID with a space", channel.BankTransfer, func(r *channel.Request) { r.OrderID = "ORD 1" }},
		{"order ID too long", channel.BankTransfer, func(r *channel.Request) { r.OrderID = strings.Repeat("x", 41) }},
		{"zero amount", channel.BankTransfer, func(r *channel.Request) { r.Amount = 0 }},
		{"negative amount", channel.BankTransfer, func(r *channel.Request) { r.Amount = -1 }},
		{"unknown asset", channel.BankTransfer, func(r *channel.Request) { r.Asset = "POINTS" }},
		{"pay-out without party", channel.BankTransfer, func(r *channel.Request) { r.Party = "" }},
		{"refund without original", channel.QRWallet, func(r *channel.Request) { r.Direction = channel.Refund }},
		{"cheque without number", channel.Cheque, func(r *channel.Request) { r.Direction, r.Party = channel.PayIn, "" }},
		{"unionpay currency", channel.UnionPay, func(r *channel.Request) { r.Asset = "KWD" }},
		{"unionpay amount over twelve digits", channel.UnionPay, func(r *channel.Request) { r.Amount = 1_000_000_000_000 }},
		{"cash field with a bar", channel.CashCounter, func(r *channel.Request) { r.Memo = "a|b" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := channel.New(channel.Config{Kind: tt.kind, Endpoint: url, MerchantID: "m", Secret: "s"})
			if err != nil {
				t.Fatal(err)
			}
			r := good
			tt.change(&r)
			if _, err := a.Start(t.Context(), r); !errors.Is(err, channel.ErrInvalid) {
				t.Errorf("start: %v, want ErrInvalid", err)
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}

// TestNoDefiniteAnswer checks that answers an adapter cannot trust are
// errors, never Results: 5xx, garbage, and a redirect.
func TestNoDefiniteAnswer(t *testing.T) {
	answers := map[string]http.HandlerFunc{
		"503":      func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) },
		"500 json": func(w http.ResponseWriter, _ *http.Request) { http.Error(w, `{"status":"COMPLETED"}`, 500) },
		"garbage":  func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>hello</html>")) },
		"redirect": func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) },
		"empty":    func(http.ResponseWriter, *http.Request) {},
	}
	for name, h := range answers {
		url, _ := countingServer(t, h)
		for _, k := range channel.Kinds() {
			t.Run(name+"/"+string(k), func(t *testing.T) {
				a, err := channel.New(channel.Config{Kind: k, Endpoint: url, MerchantID: "m", Secret: "s"})
				if err != nil {
					t.Fatal(err)
				}
				d := k.Directions()[0]
				r := channel.Request{OrderID: "ORD-1", Direction: d, Amount: 100, Asset: "CNY", Party: "p"}
				if res, err := a.Start(t.Context(), r); err == nil || errors.Is(err, channel.ErrInvalid) {
					t.Errorf("start = %+v, %v; want an error meaning no answer", res, err)
				}
				if res, err := a.Query(t.Context(), "ORD-1", d); err == nil {
					t.Errorf("query = %+v, want an error", res)
				}
			})
		}
	}
}

// TestCashHasNoCallbacks checks the teller adapter's callback side.
func TestCashHasNoCallbacks(t *testing.T) {
	a, err := channel.New(channel.Config{Kind: channel.CashCounter, Endpoint: "http://x", MerchantID: "m", Secret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.VerifyCallback(http.Header{}, []byte("status=DONE")); !errors.Is(err, channel.ErrNoCallbacks) {
		t.Errorf("VerifyCallback: %v, want ErrNoCallbacks", err)
	}
}
