package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// ServeCmd serves the API. On a new store it creates the root institution
// and an admin API key, which it prints once.
type ServeCmd struct {
	Addr       string `default:"127.0.0.1:8080" env:"SUANPAN_ADDR" help:"Address to listen on, host:port. The default accepts connections from this machine only; use :8080 for every interface."`
	StoreFlags `embed:""`
	TLSCert    string `name:"tls-cert" placeholder:"FILE" env:"SUANPAN_TLS_CERT" help:"PEM certificate (chain) to serve HTTPS with; needs --tls-key."`
	TLSKey     string `name:"tls-key" placeholder:"FILE" env:"SUANPAN_TLS_KEY" help:"PEM private key of --tls-cert."`
	// AdminKey is a secret: it is never logged or printed.
	AdminKey          string        `name:"admin-key" placeholder:"KEY" env:"SUANPAN_ADMIN_KEY" help:"On a new store, make this the first admin API key instead of generating one and printing it once: sp_<id>_<secret>, with an id of 8 or more and a secret of 32 or more letters and digits. Ignored once the store has keys. Never logged; prefer the environment variable to the flag, which other users can see."`
	RootInstitution   string        `name:"root-institution" default:"root" env:"SUANPAN_ROOT_INSTITUTION" help:"ID of the root institution, created on a new store."`
	RootName          string        `name:"root-name" default:"Root" env:"SUANPAN_ROOT_NAME" help:"Name of the root institution, created on a new store."`
	RequestTimeout    time.Duration `name:"request-timeout" default:"30s" env:"SUANPAN_REQUEST_TIMEOUT" help:"Longest a request may take to be handled."`
	MaxBodyBytes      int64         `name:"max-body-bytes" default:"1048576" env:"SUANPAN_MAX_BODY_BYTES" help:"Largest request body accepted, in bytes."`
	HoldSweepInterval time.Duration `name:"hold-sweep-interval" default:"1s" env:"SUANPAN_HOLD_SWEEP_INTERVAL" help:"How often holds past their timeout are voided."`
	ShutdownTimeout   time.Duration `name:"shutdown-timeout" default:"30s" env:"SUANPAN_SHUTDOWN_TIMEOUT" help:"On SIGINT or SIGTERM, how long in-flight requests may take to finish before their connections are closed."`
	// EncryptionKeys is a secret: it is never logged or printed.
	EncryptionKeys string        `name:"encryption-keys" placeholder:"ID:BASE64,…" env:"SUANPAN_ENCRYPTION_KEYS" help:"Keys that encrypt customers' identity fields and the payment channels' and webhooks' signing secrets at rest: comma-separated ID:BASE64 pairs of 32-byte keys, the current key first, older keys after it to read rows written before a rotation. Required with PostgreSQL; on SQLite, when empty, a key is generated once into <store>.keys (mode 0600). Never logged; prefer the environment variable to the flag."`
	TrustProxy     bool          `name:"trust-proxy" env:"SUANPAN_TRUST_PROXY" help:"Take the client's address (for the audit log) from X-Forwarded-For. Only behind a proxy that sets it."`
	PublicURL      string        `name:"public-url" placeholder:"URL" env:"SUANPAN_PUBLIC_URL" help:"Base URL payment channels reach this server at, for their callbacks (…/v1/payments/callbacks/{channel}). Default: the address it listens on."`
	NatsURL        string        `name:"nats-url" placeholder:"URL" env:"SUANPAN_NATS_URL" help:"Also publish every outbox event to NATS JetStream at this server (e.g. nats://127.0.0.1:4222), de-duplicated by event ID."`
	NatsStream     string        `name:"nats-stream" default:"SUANPAN" env:"SUANPAN_NATS_STREAM" help:"JetStream stream of the events, created when missing."`
	NatsPrefix     string        `name:"nats-prefix" default:"suanpan" env:"SUANPAN_NATS_PREFIX" help:"Subject prefix: an event of type payment_order.succeeded goes to <prefix>.payment_order.succeeded."`
	EODSchedule    bool          `name:"eod-schedule" default:"true" negatable:"" env:"SUANPAN_EOD_SCHEDULE" help:"With --eod-schedule (the default), close each business day by itself (the end of day of 'suanpan eod run'), --eod-delay after it ends; --no-eod-schedule leaves it to operators."`
	EODDelay       time.Duration `name:"eod-delay" default:"1h" env:"SUANPAN_EOD_DELAY" help:"How long after a business day ends its scheduled close starts: time for the channels' statement files to arrive."`
	// WebhookAllowCIDR opens ranges of the operator's network to webhook
	// deliveries, which otherwise reach public addresses only.
	WebhookAllowCIDR []string `name:"webhook-allow-cidr" sep:"," placeholder:"CIDR,…" env:"SUANPAN_WEBHOOK_ALLOW_CIDR" help:"Address ranges webhook deliveries may connect to although they are loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16 with cloud metadata, fe80::/10), CGNAT or otherwise not public, e.g. 10.20.0.0/16,192.168.1.0/24: receivers on your own network. Without it webhooks reach public addresses only. Every address is checked as it is connected to, after DNS."`

	// Failed authentications are throttled per source address and key ID.
	AuthFailureBurst  int           `name:"auth-failure-burst" default:"20" env:"SUANPAN_AUTH_FAILURE_BURST" help:"Failed authentications a source address, and separately a key ID, may make before its requests are answered 429 (too_many_requests) with Retry-After; 0 turns the throttle off."`
	AuthFailureWindow time.Duration `name:"auth-failure-window" default:"1m" env:"SUANPAN_AUTH_FAILURE_WINDOW" help:"The time in which the throttle forgets a full --auth-failure-burst of failures (they come back evenly)."`
}

// Validate checks the flags before anything is opened.
func (c *ServeCmd) Validate() error {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together: give both to serve HTTPS, or neither")
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("--public-url must be an absolute http(s) URL, e.g. https://suanpan.example.com")
		}
	}
	if _, err := parseAllowCIDRs(c.WebhookAllowCIDR); err != nil {
		return err
	}
	if c.AuthFailureBurst < 0 || c.AuthFailureBurst > 1_000_000 {
		return errors.New("--auth-failure-burst must be from 0 (no throttle) to 1000000")
	}
	if c.AuthFailureWindow < time.Second || c.AuthFailureWindow > 24*time.Hour {
		return errors.New("--auth-failure-window must be from 1s to 24h")
	}
	return checkServerFlags(c.RequestTimeout, c.ShutdownTimeout, c.HoldSweepInterval, c.MaxBodyBytes)
}

// parseAllowCIDRs reads --webhook-allow-cidr: ranges, or single addresses.
func parseAllowCIDRs(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil || a.Zone() != "" {
				return nil, fmt.Errorf("--webhook-allow-cidr: %q is neither a range (10.0.0.0/8, fd00::/8) nor an address", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p)
	}
	return out, nil
}

// Run opens and migrates the store, starts the ledger, bootstraps a new
// store, and serves until ctx ends; then it finishes in-flight requests,
// commits the queued ledger batches and closes the store.
func (c *ServeCmd) Run(ctx context.Context, a *app) (err error) {
	db, _, err := c.open(ctx, a.log)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	allow, err := parseAllowCIDRs(c.WebhookAllowCIDR)
	if err != nil {
		return err
	}
	srv, err := newAPIServer(ctx, db, serverConfig{RootInstitution: c.RootInstitution, RootName: c.RootName,
		RequestTimeout: c.RequestTimeout, MaxBodyBytes: c.MaxBodyBytes, HoldSweepInterval: c.HoldSweepInterval,
		ShutdownTimeout: c.ShutdownTimeout, TrustProxy: c.TrustProxy, TLSCert: c.TLSCert, TLSKey: c.TLSKey,
		EncryptionKeys: c.EncryptionKeys, PublicURL: c.PublicURL, NatsURL: c.NatsURL, NatsStream: c.NatsStream,
		NatsPrefix: c.NatsPrefix, EODSchedule: c.EODSchedule, EODDelay: c.EODDelay, WebhookAllowPrefixes: allow,
		AuthFailureBurst: c.authFailureBurst(), AuthFailureWindow: c.AuthFailureWindow}, a.log)
	if err != nil {
		return err
	}
	token, err := srv.bootstrap(ctx, c.AdminKey)
	if err != nil {
		return errors.Join(err, srv.close())
	}
	if token != "" {
		printBootstrapKey(a.stdout, c.RootInstitution, token)
	}
	ln, err := listen(c.Addr)
	if err != nil {
		return errors.Join(err, srv.close())
	}
	return srv.serve(ctx, ln, a.listening)
}

// authFailureBurst is the API's setting: the flag's 0 (off) is negative
// there, where 0 is the default.
func (c *ServeCmd) authFailureBurst() int {
	if c.AuthFailureBurst == 0 {
		return -1
	}
	return c.AuthFailureBurst
}

// printBootstrapKey shows the new admin key, the one time it can be shown.
func printBootstrapKey(w io.Writer, inst, token string) {
	fmt.Fprintf(w, "Created the admin API key of institution %s. Store this key now, it will not be shown again:\n\n    %s\n\n", inst, token)
}
