package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/suanpan/suanpan/store"
)

// HTTPConfig is one run of the HTTP load generator.
type HTTPConfig struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:8080.
	URL string
	// APIKey authenticates the requests; it needs ledger:post.
	APIKey string
	// Accounts are funded accounts of Asset, in the API key's institution,
	// that transfers move between: at least 2.
	Accounts []string
	Asset    string // default CNY
	// Concurrency is the number of clients, each with a request in flight
	// at a time; default 64.
	Concurrency int
	// Duration bounds the run; default 10s.
	Duration time.Duration
	// MaxRequests ends the run after this many requests; 0: no limit.
	MaxRequests int64
	// Batch is the number of transfers per request: 1 posts each to
	// /v1/transactions, more post them together to /v1/transactions/batch.
	Batch int
	// AllowRemote permits a URL whose host is not a loopback address.
	AllowRemote bool
	Seed        uint64
	// Store, when set, is the store of a server running in this process:
	// the report then measures its WAL and counts the server's CPU with
	// the clients'.
	Store *store.DB
	// Profiles are written of the measured window.
	Profiles Profiles
}

// HTTPReport is what an HTTP run measured.
type HTTPReport struct {
	URL string `json:"url"`
	// Store is the in-process server's store, sqlite or postgres ("" for
	// a server elsewhere).
	Store       string  `json:"store,omitempty"`
	Accounts    int     `json:"accounts"`
	Concurrency int     `json:"concurrency"`
	Batch       int     `json:"batch"`
	DurationS   float64 `json:"duration_s"`
	Requests    int64   `json:"requests"`
	// Transfers counts the transfers the ledger accepted.
	Transfers int64 `json:"transfers"`
	// Rejected counts batch items the ledger refused (in a request that
	// succeeded).
	Rejected int64 `json:"rejected"`
	// Errors counts failed requests by HTTP status, or "transport" for
	// those that got no answer.
	Errors        map[string]int64 `json:"errors"`
	RequestsPerS  float64          `json:"requests_per_s"`
	TransfersPerS float64          `json:"transfers_per_s"`
	LatencyP50Ms  float64          `json:"latency_p50_ms"`
	LatencyP99Ms  float64          `json:"latency_p99_ms"`
	LatencyP999Ms float64          `json:"latency_p999_ms"`
	LatencyMaxMs  float64          `json:"latency_max_ms"`
	// The server's ledger batches in the window, from its /metrics
	// (0 when it has none).
	Batches     int64   `json:"batches"`
	AvgBatch    float64 `json:"avg_batch"`
	AvgCommitMs float64 `json:"avg_commit_ms"`
	BatchSizes
	// The window's WAL (with Store), disk writes and CPU, per transfer.
	Cost
}

// Failed is the number of requests that failed.
func (r *HTTPReport) Failed() int64 {
	var n int64
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// Bounds on an HTTP run's requests.
const (
	httpTimeout      = 30 * time.Second
	httpDialTimeout  = 5 * time.Second
	maxHTTPBatch     = 1000 // the API's limit per batch request
	maxHTTPBodyBytes = 64 << 20
)

// CheckTarget refuses a URL that is not http(s) or, unless allowRemote, not
// on this machine: a load generator pointed at someone else's server by a
// typo is an attack. Only loopback addresses and "localhost" count as this
// machine; no name is resolved.
func CheckTarget(rawURL string, allowRemote bool) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http:// or https:// URL", rawURL)
	}
	if allowRemote {
		return nil
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || strings.EqualFold(host, "localhost") {
		return nil
	}
	return fmt.Errorf("%s is not a loopback address: a load test against another machine needs --allow-remote", host)
}

// newHTTPClient returns a client whose transport keeps a connection per
// concurrent client, so that the run measures requests, not handshakes.
func newHTTPClient(conns int) *http.Client {
	return &http.Client{
		Timeout: httpTimeout,
		Transport: &http.Transport{
			Proxy:               nil, // a load test talks to its target directly
			DialContext:         (&net.Dialer{Timeout: httpDialTimeout, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: httpDialTimeout,
			DisableCompression:  true,
		},
	}
}

// RunHTTP drives transfers between cfg.Accounts through the API from
// Concurrency clients until Duration has passed or MaxRequests were sent,
// and reports. Every request carries an Idempotency-Key. progress, when not
// nil, receives a line per second.
func RunHTTP(ctx context.Context, cfg HTTPConfig, progress func(string)) (*HTTPReport, error) {
	cfg = cfg.withDefaults()
	if err := CheckTarget(cfg.URL, cfg.AllowRemote); err != nil {
		return nil, err
	}
	switch {
	case len(cfg.Accounts) < 2:
		return nil, errors.New("at least 2 accounts are needed")
	case cfg.Batch < 1 || cfg.Batch > maxHTTPBatch:
		return nil, fmt.Errorf("batch must be from 1 to %d", maxHTTPBatch)
	case cfg.APIKey == "":
		return nil, errors.New("an API key is needed")
	}
	client := newHTTPClient(cfg.Concurrency)
	defer client.CloseIdleConnections()
	base := strings.TrimRight(cfg.URL, "/")
	endpoint := base + "/v1/transactions"
	if cfg.Batch > 1 {
		endpoint += "/batch"
	}
	run := strconv.FormatInt(time.Now().UnixNano(), 36) // keeps references unique across runs on one server

	prof, err := cfg.Profiles.open()
	if err != nil {
		return nil, err
	}
	defer prof.close()
	metrics0, haveMetrics, err := scrapeBatchMetrics(ctx, client, base)
	if err != nil {
		return nil, fmt.Errorf("read the server's metrics: %w", err)
	}
	scope := "this process: the HTTP clients only; the server's CPU is not counted"
	if cfg.Store != nil {
		scope = "this process: the HTTP clients and the in-process server with its ledger engine and store driver"
	}
	probe, err := startCost(ctx, cfg.Store, scope)
	if err != nil {
		return nil, err
	}
	if err := prof.start(); err != nil {
		return nil, err
	}

	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var requests, transfers, rejected, started atomic.Int64
	hists := make([]histogram, cfg.Concurrency)
	errs := make([]map[string]int64, cfg.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range cfg.Concurrency {
		errs[w] = map[string]int64{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(w)))
			var body []byte
			for n := 0; runCtx.Err() == nil; n++ {
				if cfg.MaxRequests > 0 && started.Add(1) > cfg.MaxRequests {
					cancel() // the others stop too
					return
				}
				ref := "bench-" + run + "-" + strconv.Itoa(w) + "-" + strconv.Itoa(n)
				body = appendTransfers(body[:0], rng, ref, cfg)
				t := time.Now()
				// The request runs under ctx, not runCtx, so that the ones in
				// flight when the time is up finish and are counted.
				ok, rej, status := post(ctx, client, endpoint, cfg.APIKey, ref, body, cfg.Batch)
				if ctx.Err() != nil {
					return // interrupted: this request's outcome is unknown
				}
				hists[w].record(time.Since(t))
				requests.Add(1)
				transfers.Add(int64(ok))
				rejected.Add(int64(rej))
				if status != "" {
					errs[w][status]++
				}
			}
		}()
	}
	tick := time.NewTicker(time.Second)
	var last int64
	for runCtx.Err() == nil {
		select {
		case <-tick.C:
			if progress != nil {
				n := requests.Load()
				progress(fmt.Sprintf("%6.0fs  %8d requests/s", time.Since(start).Seconds(), n-last))
				last = n
			}
		case <-runCtx.Done():
		}
	}
	tick.Stop()
	wg.Wait()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	rep := &HTTPReport{URL: base, Accounts: len(cfg.Accounts), Concurrency: cfg.Concurrency, Batch: cfg.Batch,
		DurationS: elapsed.Seconds(), Requests: requests.Load(), Transfers: transfers.Load(), Rejected: rejected.Load(),
		Errors: map[string]int64{}}
	var all histogram
	for w := range hists {
		all.merge(&hists[w])
		for k, v := range errs[w] {
			rep.Errors[k] += v
		}
	}
	rep.RequestsPerS = float64(rep.Requests) / elapsed.Seconds()
	rep.TransfersPerS = float64(rep.Transfers) / elapsed.Seconds()
	rep.LatencyP50Ms = ms(all.quantile(0.5))
	rep.LatencyP99Ms = ms(all.quantile(0.99))
	rep.LatencyP999Ms = ms(all.quantile(0.999))
	rep.LatencyMaxMs = ms(all.max)
	if cfg.Store != nil {
		rep.Store = string(cfg.Store.Dialect)
	}
	if rep.Cost, err = probe.stop(ctx, rep.Transfers, "transfer"); err != nil {
		return nil, err
	}
	if err := prof.stop(); err != nil {
		return nil, err
	}
	if haveMetrics {
		metrics1, ok, err := scrapeBatchMetrics(ctx, client, base)
		if err != nil {
			return nil, fmt.Errorf("read the server's metrics: %w", err)
		}
		if ok {
			rep.Batches, rep.AvgBatch, rep.AvgCommitMs, rep.BatchSizes = metrics1.batchesSince(metrics0, elapsed)
		}
	}
	return rep, nil
}

func (c HTTPConfig) withDefaults() HTTPConfig {
	if c.Asset == "" {
		c.Asset = "CNY"
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 64
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Batch <= 0 {
		c.Batch = 1
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	return c
}

// appendTransfers appends the JSON body of a request: one transfer, or a
// batch of cfg.Batch, between random accounts. Account IDs, assets and
// references are tokens that need no escaping.
func appendTransfers(b []byte, rng *rand.Rand, ref string, cfg HTTPConfig) []byte {
	// transfer appends a transfer's fields and the closing brace.
	transfer := func(b []byte, ref string) []byte {
		d := cfg.Accounts[rng.IntN(len(cfg.Accounts))]
		c := cfg.Accounts[rng.IntN(len(cfg.Accounts))]
		for c == d {
			c = cfg.Accounts[rng.IntN(len(cfg.Accounts))]
		}
		b = append(b, `"reference":"`...)
		b = append(b, ref...)
		b = append(b, `","type":"transfer","postings":[{"debit":"`...)
		b = append(b, d...)
		b = append(b, `","credit":"`...)
		b = append(b, c...)
		b = append(b, `","asset":"`...)
		b = append(b, cfg.Asset...)
		b = append(b, `","amount":`...)
		b = strconv.AppendInt(b, 1+rng.Int64N(10000), 10)
		return append(b, `}]}`...)
	}
	if cfg.Batch == 1 {
		return transfer(append(b, '{'), ref)
	}
	b = append(b, `{"items":[`...)
	for i := range cfg.Batch {
		if i > 0 {
			b = append(b, ',')
		}
		b = transfer(append(b, `{"kind":"transfer",`...), ref+"-"+strconv.Itoa(i))
	}
	return append(b, `]}`...)
}

// post sends one request. It returns the transfers accepted and rejected,
// and for a failed request its HTTP status or "transport" (else "").
func post(ctx context.Context, client *http.Client, endpoint, key, idemKey string, body []byte, batch int) (ok, rejected int, failure string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, 0, "transport"
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", idemKey)
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, "transport"
	}
	defer resp.Body.Close()
	want := http.StatusCreated
	if batch > 1 {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxHTTPBodyBytes))
		return 0, 0, strconv.Itoa(resp.StatusCode)
	}
	if batch == 1 {
		if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxHTTPBodyBytes)); err != nil {
			return 0, 0, "transport"
		}
		return 1, 0, ""
	}
	var out struct {
		Results []struct {
			Status string `json:"status"`
		} `json:"results"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxHTTPBodyBytes)).Decode(&out); err != nil {
		return 0, 0, "transport"
	}
	for _, r := range out.Results {
		if r.Status == "ok" {
			ok++
		} else {
			rejected++
		}
	}
	return ok, rejected, ""
}

// SetupHTTPAccounts prepares a run against a server through its API: it
// registers the asset CNY, opens an unconstrained bank account and n
// customer wallets in the API key's institution, and funds the wallets from
// the bank. The key needs the admin role (assets:write, accounts:write,
// ledger:post). progress, when not nil, hears how far it got.
func SetupHTTPAccounts(ctx context.Context, rawURL, key string, n, concurrency int, allowRemote bool, progress func(string)) ([]string, error) {
	if err := CheckTarget(rawURL, allowRemote); err != nil {
		return nil, err
	}
	if n < 2 {
		return nil, errors.New("at least 2 accounts are needed")
	}
	concurrency = max(1, min(concurrency, 64))
	client := newHTTPClient(concurrency)
	defer client.CloseIdleConnections()
	base := strings.TrimRight(rawURL, "/")
	call := func(ctx context.Context, path, idemKey string, body, out any) error {
		return callJSON(ctx, client, base+path, key, idemKey, body, out)
	}
	if err := call(ctx, "/v1/assets", "", map[string]any{"code": "CNY", "scale": 2}, nil); err != nil {
		return nil, fmt.Errorf("register CNY: %w", err)
	}
	var bank struct {
		ID string `json:"id"`
	}
	if err := call(ctx, "/v1/accounts", "", map[string]any{"asset": "CNY", "code": "1002", "name": "bench bank",
		"normal_side": "debit", "overdraft": "unlimited"}, &bank); err != nil {
		return nil, fmt.Errorf("open the bank account: %w", err)
	}

	ids := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	octx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n && octx.Err() == nil; i = int(next.Add(1) - 1) {
				var a struct {
					ID string `json:"id"`
				}
				if err := call(octx, "/v1/accounts", "", map[string]any{"asset": "CNY", "code": "2001",
					"name": "bench customer " + strconv.Itoa(i+1), "normal_side": "credit"}, &a); err != nil {
					failed.CompareAndSwap(nil, err)
					cancel()
					return
				}
				ids[i] = a.ID
			}
		}()
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		return nil, fmt.Errorf("open accounts: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if progress != nil {
		progress(fmt.Sprintf("opened %d accounts; funding them", n))
	}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	for start := 0; start < n; start += maxHTTPBatch {
		items := make([]map[string]any, 0, maxHTTPBatch)
		for i, id := range ids[start:min(start+maxHTTPBatch, n)] {
			items = append(items, map[string]any{"kind": "transfer", "reference": "bench-" + run + "-fund-" + strconv.Itoa(start+i),
				"type": "topup", "postings": []map[string]any{{"debit": bank.ID, "credit": id, "asset": "CNY", "amount": int64(1_000_000_000_00)}}})
		}
		var out struct {
			Results []struct {
				Status string `json:"status"`
				Error  *struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			} `json:"results"`
		}
		if err := call(ctx, "/v1/transactions/batch", "bench-"+run+"-fund-"+strconv.Itoa(start),
			map[string]any{"atomic": true, "items": items}, &out); err != nil {
			return nil, fmt.Errorf("fund accounts: %w", err)
		}
		for _, r := range out.Results {
			if r.Status != "ok" && r.Error != nil {
				return nil, fmt.Errorf("fund accounts: %s: %s", r.Error.Code, r.Error.Message)
			}
		}
	}
	return ids, nil
}

// callJSON posts body as JSON and decodes a 2xx answer into out (may be
// nil); other answers are errors that quote the server's problem.
func callJSON(ctx context.Context, client *http.Client, endpoint, key, idemKey string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxHTTPBodyBytes))
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var p struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		}
		if json.Unmarshal(raw, &p) == nil && p.Code != "" {
			return fmt.Errorf("HTTP %d: %s: %s", resp.StatusCode, p.Code, p.Detail)
		}
		return fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, raw)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}
