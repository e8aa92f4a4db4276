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

	sdk "github.com/suanpan/suanpan/client"
)

// The payments, reconciliation and customer commands still send their
// requests with call and raw, not yet with the generated client; the
// others are built on it.

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
	resp, err := (&http.Client{Timeout: sdk.Timeout}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u.Redacted(), err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, sdk.MaxAnswerBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, u.Redacted(), err)
	}
	if len(raw) > sdk.MaxAnswerBytes {
		return nil, fmt.Errorf("%s %s: answer larger than %d bytes", method, u.Redacted(), sdk.MaxAnswerBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var p sdk.Problem
		if err := json.Unmarshal(raw, &p); err != nil || p.Code == "" {
			return nil, fmt.Errorf("%s %s: HTTP %d: %.200s", method, u.Redacted(), resp.StatusCode, raw)
		}
		return nil, &sdk.ProblemError{StatusCode: resp.StatusCode, Problem: p}
	}
	return &answer{raw: raw, status: resp.StatusCode, header: resp.Header,
		replayed: resp.Header.Get("Idempotent-Replayed") == "true"}, nil
}
