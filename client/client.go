package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Bounds on one request of a client made by New.
const (
	// Timeout bounds a whole request, answer included.
	Timeout = 30 * time.Second
	// MaxAnswerBytes bounds the body of an answer.
	MaxAnswerBytes = 16 << 20
)

// ErrAnswerTooLarge is returned, wrapped, for an answer whose body is
// larger than MaxAnswerBytes.
var ErrAnswerTooLarge = fmt.Errorf("answer larger than %d bytes", MaxAnswerBytes)

// New returns a client of the server at server (its base URL, e.g.
// http://127.0.0.1:8080) that authenticates with apiKey (sp_<id>_<secret>).
// Its requests time out after Timeout and read at most MaxAnswerBytes of
// an answer; opts may replace the HTTP client (WithHTTPClient) or add
// request editors, and the bound on answers still holds.
func New(server, apiKey string, opts ...ClientOption) (*ClientWithResponses, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server %q is not an http:// or https:// URL", server)
	}
	if apiKey == "" {
		return nil, errors.New("no API key")
	}
	bearer := func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+apiKey)
		return nil
	}
	all := append([]ClientOption{
		WithHTTPClient(&http.Client{Timeout: Timeout}),
		WithRequestEditorFn(bearer),
	}, opts...)
	c, err := NewClient(strings.TrimRight(server, "/"), all...)
	if err != nil {
		return nil, err
	}
	c.Client = boundedDoer{c.Client}
	return &ClientWithResponses{ClientInterface: c}, nil
}

// boundedDoer fails the reading of an answer larger than MaxAnswerBytes,
// so that a wrong or hostile server cannot fill the memory.
type boundedDoer struct{ next HttpRequestDoer }

func (d boundedDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.next.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &boundedBody{ReadCloser: resp.Body, left: MaxAnswerBytes}
	return resp, nil
}

type boundedBody struct {
	io.ReadCloser
	left int64
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, ErrAnswerTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, ErrAnswerTooLarge
	}
	return n, err
}

// Response is what every XxxResponse of ClientWithResponses has.
type Response interface {
	StatusCode() int
	Bytes() []byte
}

// Check returns err when it is not nil, nil when r is a 2xx answer, and
// otherwise a *ProblemError with the problem the server answered with (or,
// from something other than a Suanpan server, an error quoting the start of
// the answer). Use it right after a call:
//
//	r, err := c.GetAccountWithResponse(ctx, id)
//	if err := client.Check(r, err); err != nil {
//		return err
//	}
func Check(r Response, err error) error {
	if err != nil {
		return err
	}
	status := r.StatusCode()
	if status >= 200 && status <= 299 {
		return nil
	}
	var p Problem
	if err := json.Unmarshal(r.Bytes(), &p); err != nil || p.Code == "" {
		return fmt.Errorf("HTTP %d: %.200s", status, r.Bytes())
	}
	return &ProblemError{StatusCode: status, Problem: p}
}

// ProblemError is an answer other than 2xx: a problem (RFC 9457) whose
// Code is stable, for programs, and whose Detail is for people.
type ProblemError struct {
	// StatusCode is the answer's HTTP status.
	StatusCode int
	// Problem is the answer's body.
	Problem Problem
}

// Error says the code, the detail, the status and, when the server named
// them, the field at fault and the request's ID.
func (e *ProblemError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s (HTTP %d", e.Problem.Code, deref(e.Problem.Detail), e.StatusCode)
	if f := deref(e.Problem.Field); f != "" {
		fmt.Fprintf(&b, ", field %s", f)
	}
	if id := deref(e.Problem.RequestId); id != "" {
		fmt.Fprintf(&b, ", request %s", id)
	}
	b.WriteString(")")
	return b.String()
}

// Code is the problem's stable code, e.g. insufficient_funds; "" when err
// is not, and wraps no, *ProblemError.
func Code(err error) string {
	if p, ok := errors.AsType[*ProblemError](err); ok {
		return p.Problem.Code
	}
	return ""
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
