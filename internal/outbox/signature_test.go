package outbox_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/suanpan/suanpan/internal/outbox"
)

func TestSignAndVerify(t *testing.T) {
	secret, other := outbox.NewSecret(), outbox.NewSecret()
	body := []byte(`{"id":"evt_1","type":"account.frozen","data":{}}`)
	now := time.Unix(1_780_000_000, 0)
	signed := func(secret string, at time.Time, body []byte) http.Header {
		sig, err := outbox.Sign(secret, "evt_1", at, body)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h.Set(outbox.HeaderID, "evt_1")
		h.Set(outbox.HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
		h.Set(outbox.HeaderSignature, sig)
		return h
	}
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		secret string
		want   error
	}{
		{"good", signed(secret, now, body), body, secret, nil},
		{"timestamp within tolerance", signed(secret, now.Add(-4*time.Minute), body), body, secret, nil},
		{"tampered body", signed(secret, now, body), []byte(strings.Replace(string(body), "frozen", "thawed", 1)), secret, outbox.ErrInvalidSignature},
		{"wrong secret", signed(other, now, body), body, secret, outbox.ErrInvalidSignature},
		{"old timestamp", signed(secret, now.Add(-6*time.Minute), body), body, secret, outbox.ErrTimestamp},
		{"future timestamp", signed(secret, now.Add(6*time.Minute), body), body, secret, outbox.ErrTimestamp},
		{"another ID", func() http.Header { h := signed(secret, now, body); h.Set(outbox.HeaderID, "evt_2"); return h }(), body, secret, outbox.ErrInvalidSignature},
		{"one of several signatures matches", func() http.Header {
			h := signed(secret, now, body)
			h.Set(outbox.HeaderSignature, "v1,bm90IGl0 "+h.Get(outbox.HeaderSignature))
			return h
		}(), body, secret, nil},
		{"missing signature", func() http.Header { h := signed(secret, now, body); h.Del(outbox.HeaderSignature); return h }(), body, secret, outbox.ErrMissingHeaders},
		{"malformed secret", signed(secret, now, body), body, "not-a-secret", outbox.ErrMalformedSecret},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := outbox.Verify(tc.secret, tc.header, tc.body, now, 0); !errors.Is(got, tc.want) {
				t.Errorf("Verify = %v, want %v", got, tc.want)
			}
		})
	}
}

// The signature of a fixed message, as any Standard Webhooks library
// computes it: HMAC-SHA256 keyed by the base64-decoded secret.
func TestSignMatchesStandardWebhooks(t *testing.T) {
	// From the Standard Webhooks reference implementations' tests.
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	got, err := outbox.Sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}
