package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/suanpan/suanpan/internal/money"
)

// The client commands talk to a running server over its API, as any
// program would: they hold no business rules and never open the store.

// Bounds on one client request.
const (
	clientTimeout    = 30 * time.Second
	maxResponseBytes = 16 << 20
)

// client locates the server and carries the API key. Every client command
// embeds it.
type client struct {
	Server string `default:"http://127.0.0.1:8080" env:"SUANPAN_SERVER" help:"Base URL of the Suanpan server."`
	APIKey string `name:"api-key" required:"" placeholder:"KEY" env:"SUANPAN_API_KEY" help:"API key to authenticate with. Prefer the environment variable to the flag, which other users of this machine can see."`
	JSON   bool   `name:"json" help:"Print the server's JSON answer as it is, instead of a summary."`

	http *http.Client
}

// problemError is a problem (RFC 9457) the server answered with. run prints
// it as it is, since its code and detail are meant for people and scripts.
type problemError struct {
	Status    int    `json:"status"`
	Code      string `json:"code"`
	Detail    string `json:"detail"`
	Field     string `json:"field"`
	RequestID string `json:"request_id"`
}

func (p *problemError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s (HTTP %d", p.Code, p.Detail, p.Status)
	if p.Field != "" {
		fmt.Fprintf(&b, ", field %s", p.Field)
	}
	if p.RequestID != "" {
		fmt.Fprintf(&b, ", request %s", p.RequestID)
	}
	b.WriteString(")")
	return b.String()
}

// answer is a successful response: its raw body, its status and headers,
// and whether it replays an earlier request with the same
// Idempotency-Key.
type answer struct {
	raw      []byte
	status   int
	header   http.Header
	replayed bool
}

// call sends one request to the server: body (nil: none) as JSON, with the
// Idempotency-Key idemKey when not empty. A 2xx answer is decoded into out
// (nil: not decoded); any other becomes a *problemError.
func (c *client) call(ctx context.Context, method, path string, query url.Values, body, out any, idemKey string) (*answer, error) {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
	}
	ans, err := c.send(ctx, method, path, query, "application/json", b, idemKey)
	if err != nil {
		return nil, err
	}
	if out != nil {
		if err := json.Unmarshal(ans.raw, out); err != nil {
			return nil, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return ans, nil
}

// raw sends a request with a raw body (nil: none) of contentType and
// returns the answer's body as it is (a CSV file, say); a non-2xx answer
// becomes a *problemError.
func (c *client) raw(ctx context.Context, method, path string, query url.Values, contentType string, body []byte) ([]byte, error) {
	ans, err := c.send(ctx, method, path, query, contentType, body, "")
	if err != nil {
		return nil, err
	}
	return ans.raw, nil
}

// send sends one request with body (nil: none) of contentType and the
// Idempotency-Key idemKey when not empty, and reads the answer: a 2xx one
// as it is, any other as a *problemError.
func (c *client) send(ctx context.Context, method, path string, query url.Values, contentType string, body []byte, idemKey string) (*answer, error) {
	if c.http == nil {
		c.http = &http.Client{Timeout: clientTimeout}
	}
	u, err := url.Parse(strings.TrimRight(c.Server, "/") + path)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server %q is not an http:// or https:// URL", c.Server)
	}
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.APIKey)
	if contentType == "application/json" {
		req.Header.Set("Accept", contentType)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u.Redacted(), err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, u.Redacted(), err)
	}
	if len(raw) > maxResponseBytes {
		return nil, fmt.Errorf("%s %s: answer larger than %d bytes", method, u.Redacted(), maxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		p := &problemError{}
		if err := json.Unmarshal(raw, p); err != nil || p.Code == "" {
			return nil, fmt.Errorf("%s %s: HTTP %d: %.200s", method, u.Redacted(), resp.StatusCode, raw)
		}
		p.Status = resp.StatusCode
		return nil, p
	}
	return &answer{raw: raw, status: resp.StatusCode, header: resp.Header,
		replayed: resp.Header.Get("Idempotent-Replayed") == "true"}, nil
}

// printJSON writes a raw answer for --json.
func printJSON(w io.Writer, ans *answer) error {
	_, err := fmt.Fprintf(w, "%s\n", bytes.TrimSpace(ans.raw))
	return err
}

// scale returns an asset's scale, for parsing decimal amounts.
func (c *client) scale(ctx context.Context, asset string) (int, error) {
	var a struct {
		Scale int `json:"scale"`
	}
	if _, err := c.call(ctx, http.MethodGet, "/v1/assets/"+url.PathEscape(asset), nil, nil, &a, ""); err != nil {
		return 0, err
	}
	return a.Scale, nil
}

// amount parses a decimal amount of asset ("12.34") into minor units.
func (c *client) amount(ctx context.Context, flag, s, asset string) (int64, error) {
	scale, err := c.scale(ctx, asset)
	if err != nil {
		return 0, err
	}
	n, err := money.Parse(s, scale)
	if err != nil {
		return 0, fmt.Errorf("--%s: %w", flag, err)
	}
	if n <= 0 {
		return 0, fmt.Errorf("--%s must be positive", flag)
	}
	return n, nil
}

// table writes aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) { fmt.Fprintln(t.tw, strings.Join(cells, "\t")) }

func (t *table) flush() error { return t.tw.Flush() }

// fields writes "name  value" lines, aligned.
func fields(w io.Writer, kv ...string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(tw, "%s\t%s\n", kv[i], kv[i+1])
	}
	return tw.Flush()
}

func timeText(t time.Time) string { return t.UTC().Format(time.RFC3339) }
