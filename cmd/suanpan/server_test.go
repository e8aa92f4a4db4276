package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/httpapi"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// syncBuffer is a bytes.Buffer that a running command writes to while the
// test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// running is a server command (serve, demo) running in-process.
type running struct {
	t      *testing.T
	url    string
	stdout *syncBuffer
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan int
	code   int
	exited bool
}

// startCommand runs `suanpan args...` in-process until it listens, and
// stops it when the test ends. args should make it listen on 127.0.0.1:0.
func startCommand(t *testing.T, scheme string, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	addrs := make(chan net.Addr, 1)
	a := &app{stdout: r.stdout, stderr: r.stderr, listening: func(addr net.Addr) { addrs <- addr }}
	go func() { r.done <- runContext(ctx, args, a) }()
	t.Cleanup(func() { r.stop() })
	select {
	case addr := <-addrs:
		r.url = scheme + "://" + addr.String()
	case code := <-r.done:
		r.code, r.exited = code, true
		t.Fatalf("suanpan %s exited with %d before listening\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, r.stdout, r.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("suanpan %s did not listen within 30s\nstderr:\n%s", strings.Join(args, " "), r.stderr)
	}
	return r
}

// stop cancels the command's context, as SIGINT would, and returns its exit
// status.
func (r *running) stop() int {
	r.t.Helper()
	if r.exited {
		return r.code
	}
	r.cancel()
	select {
	case r.code = <-r.done:
		r.exited = true
	case <-time.After(30 * time.Second):
		r.t.Fatalf("the command did not stop within 30s\nstderr:\n%s", r.stderr)
	}
	return r.code
}

// mustStop stops the command and fails the test unless it exits 0.
func (r *running) mustStop() {
	r.t.Helper()
	if code := r.stop(); code != exitOK {
		r.t.Fatalf("exit %d on shutdown, want 0\nstderr:\n%s", code, r.stderr)
	}
}

var tokenPattern = regexp.MustCompile(`sp_[A-Za-z0-9]+_[A-Za-z0-9]+`)

// fetch sends a request and returns the status and body.
func fetch(t *testing.T, client *http.Client, method, url, key, body string, headers ...string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(raw)
}

// mustFetch fetches and fails the test unless the status is want.
func mustFetch(t *testing.T, want int, method, url, key, body string) string {
	t.Helper()
	status, got := fetch(t, nil, method, url, key, body)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, url, status, want, got)
	}
	return got
}

func TestServe(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			cleanEnv(t)
			loc := storetest.Location(t, engine)
			if engine == store.Postgres {
				code, _, stderr := cli(t, "serve", "--addr", "127.0.0.1:0", "--store", loc)
				if code == 0 || !strings.Contains(stderr, "--encryption-keys (SUANPAN_ENCRYPTION_KEYS) is required with a PostgreSQL store") {
					t.Fatalf("serve on PostgreSQL without keys: exit %d, %s", code, stderr)
				}
			}
			setEncryptionKeys(t, engine)

			first := startCommand(t, "http", "serve", "--addr", "127.0.0.1:0", "--store", loc)
			out := first.stdout.String()
			key := tokenPattern.FindString(out)
			if key == "" || !strings.Contains(out, "Store this key now, it will not be shown again") {
				t.Fatalf("first start printed %q, want an admin key and the warning that it is shown once", out)
			}
			if got := mustFetch(t, 200, "GET", first.url+"/healthz", "", ""); got != "ok\n" {
				t.Errorf("/healthz = %q, want ok", got)
			}
			mustFetch(t, 200, "GET", first.url+"/readyz", "", "")
			mustFetch(t, 401, "GET", first.url+"/v1/accounts", "", "")
			mustFetch(t, 200, "GET", first.url+"/v1/accounts", key, "")
			metrics := mustFetch(t, 200, "GET", first.url+"/metrics", "", "")
			for _, m := range []string{"go_goroutines", "process_cpu_seconds_total", "suanpan_ledger_batch_requests", "suanpan_http_requests_total"} {
				if !strings.Contains(metrics, m) {
					t.Errorf("/metrics lacks %s", m)
				}
			}
			created := mustFetch(t, 201, "POST", first.url+"/v1/customers", key, `{"type":"personal","name":"张三","id_doc_type":"passport","id_doc_number":"E12345678","phone":"13800138000"}`)
			var cust httpapi.CustomerView
			if err := json.Unmarshal([]byte(created), &cust); err != nil || cust.Phone != "138****8000" {
				t.Fatalf("created customer %s (%v)", created, err)
			}
			first.mustStop()
			if logs := first.stderr.String(); strings.Contains(logs, key) || !strings.Contains(logs, "listening") {
				t.Errorf("logs show the key or lack the listening line:\n%s", logs)
			}
			if engine == store.SQLite {
				fi, err := os.Stat(loc + ".keys")
				if err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("key file: %v, %v; want mode 0600", fi, err)
				}
				if logs := first.stderr.String(); !strings.Contains(logs, loc+".keys") {
					t.Errorf("logs do not say where the generated key is:\n%s", logs)
				}
			}

			second := startCommand(t, "http", "serve", "--addr", "127.0.0.1:0", "--store", loc)
			if out := second.stdout.String(); out != "" {
				t.Errorf("second start printed %q, want nothing: the key is shown only once", out)
			}
			mustFetch(t, 200, "GET", second.url+"/v1/accounts", key, "")
			// The second start reads what the first encrypted.
			if got := mustFetch(t, 200, "GET", second.url+"/v1/customers/"+cust.ID+"?reveal=true", key, ""); !strings.Contains(got, `"phone":"13800138000"`) {
				t.Errorf("revealed customer after a restart: %s", got)
			}
			second.mustStop()
		})
	}
}

func TestServeAdminKeyFromEnvironment(t *testing.T) {
	cleanEnv(t)
	key := auth.NewToken()
	t.Setenv("SUANPAN_ADMIN_KEY", key)
	r := startCommand(t, "http", "--log-level", "debug", "serve", "--addr", "127.0.0.1:0",
		"--store", filepath.Join(t.TempDir(), "suanpan.db"))
	mustFetch(t, 200, "GET", r.url+"/v1/accounts", key, "")
	r.mustStop()
	if out := r.stdout.String() + r.stderr.String(); strings.Contains(out, key) || tokenPattern.MatchString(r.stdout.String()) {
		t.Errorf("the admin key from the environment was shown:\n%s", out)
	}
}

// TestServeShutdownFinishesInFlight cancels the server while a request is
// being handled, and checks that the request still gets its answer and its
// effect is committed, and that the server then exits cleanly.
func TestServeShutdownFinishesInFlight(t *testing.T) {
	cleanEnv(t)
	path := filepath.Join(t.TempDir(), "suanpan.db")
	r := startCommand(t, "http", "serve", "--addr", "127.0.0.1:0", "--store", path)
	key := tokenPattern.FindString(r.stdout.String())
	host := strings.TrimPrefix(r.url, "http://")

	// A request whose handler is reading its body: with Expect:
	// 100-continue the server says "100 Continue" when the handler starts
	// reading, so the test knows the request is in flight.
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"code":"CNY","scale":2}`
	fmt.Fprintf(conn, "POST /v1/assets HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", host, key, len(body))
	br := bufio.NewReader(conn)
	if line, err := br.ReadString('\n'); err != nil || !strings.Contains(line, "100 Continue") {
		t.Fatalf("read %q, %v; want 100 Continue", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil { // the blank line after the interim response
		t.Fatal(err)
	}

	r.cancel() // SIGINT
	waitRefused(t, host)
	if _, err := io.WriteString(conn, body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("in-flight request: status %d, want 201: %s", resp.StatusCode, raw)
	}
	r.mustStop()

	db, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l := ledger.New(db, ledger.Options{})
	defer l.Close()
	if _, err := l.GetAsset(context.Background(), "CNY"); err != nil {
		t.Errorf("the asset created during shutdown is not in the store: %v", err)
	}
}

// waitRefused waits until the server stops accepting connections on host.
func waitRefused(t *testing.T, host string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", host, time.Second)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the server still accepts connections on %s after shutdown began", host)
}

func TestServeTLS(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	certFile, keyFile, pool := selfSignedCert(t, dir)
	r := startCommand(t, "https", "serve", "--addr", "127.0.0.1:0", "--store", filepath.Join(dir, "suanpan.db"),
		"--tls-cert", certFile, "--tls-key", keyFile)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	if status, body := fetch(t, client, "GET", r.url+"/healthz", "", ""); status != 200 || body != "ok\n" {
		t.Errorf("GET /healthz over TLS: %d %q, want 200 ok", status, body)
	}
	plain := strings.Replace(r.url, "https://", "http://", 1)
	if status, _ := fetch(t, nil, "GET", plain+"/healthz", "", ""); status == 200 {
		t.Errorf("plain HTTP to the TLS server answered 200")
	}
	r.mustStop()
}

func TestServeFlagErrors(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := selfSignedCert(t, dir)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"cert without key", []string{"--tls-cert", certFile}, "--tls-key"},
		{"key without cert", []string{"--tls-key", keyFile}, "--tls-cert"},
		{"unreadable cert", []string{"--tls-cert", filepath.Join(dir, "absent.pem"), "--tls-key", keyFile}, "absent.pem"},
		{"malformed admin key", []string{"--admin-key", "not-a-key"}, "admin key must look like"},
		{"zero request timeout", []string{"--request-timeout", "0s"}, "--request-timeout"},
		{"malformed webhook range", []string{"--webhook-allow-cidr", "10.0.0.0/8,10.0.0.0/33"}, "--webhook-allow-cidr"},
		{"webhook range by name", []string{"--webhook-allow-cidr", "intranet"}, "--webhook-allow-cidr"},
		{"negative auth failure burst", []string{"--auth-failure-burst", "-1"}, "--auth-failure-burst"},
		{"auth failure window under a second", []string{"--auth-failure-window", "10ms"}, "--auth-failure-window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--store", filepath.Join(t.TempDir(), "s.db")}, tt.args...)
			code, stdout, stderr := cli(t, args...)
			if code != exitError || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr, exitError, tt.want)
			}
			if strings.Contains(stdout+stderr, "not-a-key") {
				t.Errorf("output shows the admin key:\n%s%s", stdout, stderr)
			}
		})
	}
}

// selfSignedCert writes a certificate for 127.0.0.1 and its key to dir and
// returns their paths and a pool that trusts the certificate.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "suanpan test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", keyDER)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// The flags serve documents in the issue, each with an environment variable.
func TestServeSettings(t *testing.T) {
	var c CLI
	parser, err := newParser(&c, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var serve []string
	for _, n := range parser.Model.Children {
		if n.Name != "serve" {
			continue
		}
		for _, f := range n.Flags {
			if len(f.Tag.Envs) == 0 || f.Help == "" {
				t.Errorf("serve --%s lacks an environment variable or help", f.Name)
			}
			serve = append(serve, f.Name)
		}
	}
	for _, want := range []string{"addr", "store", "sqlite-synchronous", "tls-cert", "tls-key", "admin-key", "root-institution",
		"root-name", "request-timeout", "max-body-bytes", "hold-sweep-interval", "shutdown-timeout"} {
		if !slices.Contains(serve, want) {
			t.Errorf("serve lacks --%s (has %v)", want, serve)
		}
	}
}

func TestRotateKeys(t *testing.T) {
	cleanEnv(t)
	path := filepath.Join(t.TempDir(), "s.db")
	r := startCommand(t, "http", "serve", "--addr", "127.0.0.1:0", "--store", path)
	key := tokenPattern.FindString(r.stdout.String())
	created := mustFetch(t, 201, "POST", r.url+"/v1/customers", key, `{"type":"personal","name":"Li","id_doc_type":"passport","id_doc_number":"E12345678"}`)
	// Signing secrets are sealed under the same keys.
	mustFetch(t, 201, "POST", r.url+"/v1/webhooks", key, `{"url":"https://hooks.example.com/suanpan","secret":"whsec_`+
		base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))+`"}`)
	mustFetch(t, 201, "POST", r.url+"/v1/payments/channels", key, `{"code":"bank","kind":"bank_transfer","asset":"CNY",`+
		`"endpoint":"https://bank.example.com","merchant_id":"m1","secret":"channel-secret"}`)
	r.mustStop()
	sealedWith := func(table, keyID string) {
		t.Helper()
		db, err := store.Open(context.Background(), path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var secret string
		if err := db.Read.QueryRow(`SELECT secret FROM ` + table).Scan(&secret); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, keyID+":") || strings.Contains(secret, "channel-secret") {
			t.Errorf("%s secret stored as %q, want sealed with key %s", table, secret, keyID)
		}
	}
	var cust httpapi.CustomerView
	if err := json.Unmarshal([]byte(created), &cust); err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(path + ".keys")
	if err != nil {
		t.Fatal(err)
	}
	keys := "k2:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)) + "," + strings.TrimSpace(string(old))
	oldID, _, _ := strings.Cut(strings.TrimSpace(string(old)), ":")
	sealedWith("payment_channels", oldID)
	sealedWith("webhooks", oldID)
	if out := mustRun(t, 0, "rotate-keys", "--store", path, "--encryption-keys", keys); !strings.Contains(out,
		"re-encrypted 1 customers, 1 channel secrets and 1 webhook secrets under key k2") {
		t.Errorf("rotate-keys printed %q", out)
	}
	sealedWith("payment_channels", "k2")
	sealedWith("webhooks", "k2")
	if out := mustRun(t, 0, "rotate-keys", "--store", path, "--encryption-keys", keys); !strings.Contains(out, "re-encrypted 0 customers") {
		t.Errorf("second rotate-keys printed %q", out)
	}
	// Only the new key is needed now.
	second := startCommand(t, "http", "serve", "--addr", "127.0.0.1:0", "--store", path, "--encryption-keys", strings.Split(keys, ",")[0])
	if got := mustFetch(t, 200, "GET", second.url+"/v1/customers?id_number=E12345678", key, ""); !strings.Contains(got, cust.ID) {
		t.Errorf("find by ID number after rotation: %s", got)
	}
	second.mustStop()
}
