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

	sdk "github.com/suanpan/suanpan/client"
	"github.com/suanpan/suanpan/money"
)

// The client commands talk to a running server over its API, as any
// program would: they hold no business rules and never open the store.

// client locates the server and carries the API key. Every client command
// embeds it. Its requests go through the generated Go client (package
// client at the module root), the same one integrators use.
type client struct {
	Server string `default:"http://127.0.0.1:8080" env:"SUANPAN_SERVER" help:"Base URL of the Suanpan server."`
	APIKey string `name:"api-key" required:"" placeholder:"KEY" env:"SUANPAN_API_KEY" help:"API key to authenticate with. Prefer the environment variable to the flag, which other users of this machine can see."`
	JSON   bool   `name:"json" help:"Print the server's JSON answer as it is, instead of a summary."`

	sdk *sdk.ClientWithResponses
}

// problemError is a problem (RFC 9457) the server answered with. run prints
// it as it is, since its code and detail are meant for people and scripts.
type problemError = sdk.ProblemError

// api returns the generated client for --server and --api-key.
func (c *client) api() (*sdk.ClientWithResponses, error) {
	if c.sdk != nil {
		return c.sdk, nil
	}
	u, err := url.Parse(c.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server %q is not an http:// or https:// URL", c.Server)
	}
	if c.sdk, err = sdk.New(c.Server, c.APIKey); err != nil {
		return nil, err
	}
	return c.sdk, nil
}

// idem is the Idempotency-Key parameter key ("" : none).
func idem(key string) *string {
	if key == "" {
		return nil
	}
	return &key
}

// opt is a pointer to s, or nil when s is empty: an optional field.
func opt[T ~string](s T) *T {
	if s == "" {
		return nil
	}
	return &s
}

// replayed says whether an answer replays an earlier request with the
// same Idempotency-Key.
func replayed(r *http.Response) bool {
	return r != nil && r.Header.Get("Idempotent-Replayed") == "true"
}

// items is the items of a page; a page without items has none.
func items[T any](p *[]T) []T {
	if p == nil {
		return nil
	}
	return *p
}

// deref is *p, or the zero value for nil: an optional field.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// jsonOf checks a response and returns its decoded body (of a 2xx
// status), with the response for --json. body returns the body the
// generated client decoded for the command's usual status; it is nil for
// another 2xx status of the same shape (a payment order's or bulk file's
// reference seen before answers 200, not 201 or 202) or an answer without
// a JSON Content-Type, and that body is decoded here as a T.
func jsonOf[T any, R sdk.Response](r R, err error, body func() *T) (*T, sdk.Response, error) {
	if err := sdk.Check(r, err); err != nil {
		return nil, nil, err
	}
	v := body()
	if v == nil {
		v = new(T)
		if err := json.Unmarshal(r.Bytes(), v); err != nil {
			return nil, nil, fmt.Errorf("HTTP %d: not the JSON answer the API documents: %.200s", r.StatusCode(), r.Bytes())
		}
	}
	return v, r, nil
}

// show answers a command from its response: it checks the response as
// jsonOf does, then writes the server's JSON as it is for --json (asJSON)
// or hands the decoded body to present for the summary.
func show[T any, R sdk.Response](a *app, asJSON bool, r R, err error, body func() *T, present func(*T) error) error {
	v, _, err := jsonOf(r, err, body)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(a.stdout, r.Bytes())
	}
	return present(v)
}

// printJSON writes a raw answer for --json.
func printJSON(w io.Writer, raw []byte) error {
	_, err := fmt.Fprintf(w, "%s\n", bytes.TrimSpace(raw))
	return err
}

// scale returns an asset's scale, for parsing decimal amounts.
func (c *client) scale(ctx context.Context, asset string) (int, error) {
	api, err := c.api()
	if err != nil {
		return 0, err
	}
	r, err := api.GetAssetWithResponse(ctx, asset)
	if err := sdk.Check(r, err); err != nil {
		return 0, err
	}
	return int(r.JSON200.Scale), nil
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
