package outbox

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Standard Webhooks (standardwebhooks.com) request headers.
const (
	HeaderID        = "webhook-id"        // the event ID: the same on every attempt, for de-duplication
	HeaderTimestamp = "webhook-timestamp" // Unix seconds when the attempt was signed
	HeaderSignature = "webhook-signature" // "v1,<base64 HMAC-SHA256>", space-separated when there are several
)

// secretPrefix starts every webhook secret, as in Standard Webhooks: the
// rest is the base64 of the HMAC key.
const secretPrefix = "whsec_"

// Secret key sizes, in bytes: Standard Webhooks asks for 24 to 64.
const (
	secretKeyMin = 24
	secretKeyMax = 64
	secretKeyLen = 32 // of generated secrets
)

// DefaultTolerance is how far a request's timestamp may lie from the
// receiver's clock for Verify to accept it: it bounds replays.
const DefaultTolerance = 5 * time.Minute

// NewSecret returns a new random webhook secret: "whsec_" followed by the
// base64 of 32 random bytes.
func NewSecret() string {
	b := make([]byte, secretKeyLen)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// secretKey returns the HMAC key of a "whsec_…" secret.
func secretKey(secret string) ([]byte, error) {
	enc, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, errors.New(`a secret starts with "whsec_"`)
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, errors.New(`a secret is "whsec_" followed by standard base64`)
	}
	if len(key) < secretKeyMin || len(key) > secretKeyMax {
		return nil, fmt.Errorf("a secret's key is %d to %d bytes, not %d", secretKeyMin, secretKeyMax, len(key))
	}
	return key, nil
}

// Sign returns the webhook-signature header value for a message: "v1,"
// followed by the base64 of HMAC-SHA256 over id + "." + timestamp (Unix
// seconds) + "." + body, keyed by the secret's key.
func Sign(secret, id string, timestamp time.Time, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, timestamp.Unix(), body)), nil
}

func mac(key []byte, id string, unix int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id + "." + strconv.FormatInt(unix, 10) + "."))
	h.Write(body)
	return h.Sum(nil)
}

// The reasons Verify refuses a request.
var (
	ErrMissingHeaders   = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature")
	ErrTimestamp        = errors.New("webhook: timestamp malformed or outside the tolerance")
	ErrInvalidSignature = errors.New("webhook: no signature matches")
	ErrMalformedSecret  = errors.New("webhook: malformed secret")
)

// Verify checks a received webhook request: its headers and raw body
// against the secret, and its timestamp against now within tolerance (zero
// means DefaultTolerance). It accepts the request when any of the
// space-separated v1 signatures matches. A receiver should also ignore a
// webhook-id it has already processed: delivery is at least once.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := secretKey(secret)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedSecret, err)
	}
	id, ts, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || ts == "" || sigs == "" {
		return ErrMissingHeaders
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrTimestamp
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return ErrTimestamp
	}
	want := mac(key, id, unix, body)
	for _, s := range strings.Fields(sigs) {
		v, enc, ok := strings.Cut(s, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(enc)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrInvalidSignature
}
