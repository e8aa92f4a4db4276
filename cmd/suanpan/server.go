package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/audit"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/eod"
	"github.com/suanpan/suanpan/internal/httpapi"
	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/internal/outbox"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/recon"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
)

// serverConfig is how an API server runs. serve takes it from its flags;
// demo and bench http use defaultServerConfig.
type serverConfig struct {
	RootInstitution   string
	RootName          string
	RequestTimeout    time.Duration
	MaxBodyBytes      int64
	HoldSweepInterval time.Duration
	ShutdownTimeout   time.Duration
	TrustProxy        bool
	// TLSCert and TLSKey are PEM files; with both set the server speaks
	// HTTPS only.
	TLSCert, TLSKey string
	// EncryptionKeys encrypt customers' identity fields ("ID:BASE64,…",
	// the current key first); empty: see keyring. A secret: never logged.
	EncryptionKeys string
	// PublicURL is the base URL the server is reached at, for payment
	// channels' callbacks; empty: the address it listens on.
	PublicURL string
	// NatsURL, when set, publishes outbox events to NATS JetStream, to
	// subjects "<NatsPrefix>.<event type>" of stream NatsStream.
	NatsURL, NatsStream, NatsPrefix string
	// EODSchedule closes each business day by itself, EODDelay after it
	// ends (eod.DefaultDelay when zero).
	EODSchedule bool
	EODDelay    time.Duration
	// WebhookAllowPrefixes are the non-public ranges webhook deliveries
	// may connect to (--webhook-allow-cidr); none: public addresses only.
	WebhookAllowPrefixes []netip.Prefix
	// AuthFailureBurst and AuthFailureWindow throttle failed
	// authentications (httpapi.Config's; zero: its defaults).
	AuthFailureBurst  int
	AuthFailureWindow time.Duration
}

func defaultServerConfig() serverConfig {
	return serverConfig{RootInstitution: "root", RootName: "Root", RequestTimeout: 30 * time.Second,
		MaxBodyBytes: 1 << 20, HoldSweepInterval: time.Second, ShutdownTimeout: 30 * time.Second}
}

// Bounds on the HTTP server beyond the API's own request timeout.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	// writeSlack is how much longer than the request timeout a response may
	// take to write, so that a handler that runs out of time still gets its
	// timeout problem to the client.
	writeSlack = 10 * time.Second
)

// apiServer is the API with everything it runs on: the ledger engine and its
// hold sweeper, auth and the metrics registry. serve, demo and bench http
// build one with newAPIServer, may work with its ledger and auth directly
// (bootstrap, seeding), and then run it with serve, which also stops it.
// The caller keeps the store and closes it after serve returns.
type apiServer struct {
	cfg    serverConfig
	log    *slog.Logger
	db     *store.DB
	ledger *ledger.Ledger
	auth   *auth.Service
	api    *httpapi.Server
	worker *accounts.BatchWorker // processes uploaded batches until close
	// envelopes returns expired red envelopes' remainders until close.
	envelopes *accounts.EnvelopeSweeper
	tls       *tls.Config // nil: plain HTTP
	// jobs runs the durable jobs (order starts and status queries, bulk
	// order files, webhook deliveries) and relay moves outbox events to
	// webhooks and NATS, both until close.
	jobs     *jobs.Scheduler
	relay    *outbox.Relay
	payments *payments.Service
	recon    *recon.Service
	eod      *eod.Runner
	webhooks *outbox.Webhooks
	products *accounts.ProductService
	ops      *accounts.Operations
	nats     *nats.Conn // nil without --nats-url
	stopBg   context.CancelFunc
	bg       sync.WaitGroup
}

// newAPIServer loads the TLS certificate (if any) and the encryption keys,
// starts the ledger engine
// with its batch metrics and the hold sweeper on db, and builds the API.
// The sweeper runs until ctx ends or the ledger is closed. Call serve, or
// close when the server is not going to serve after all.
func newAPIServer(ctx context.Context, db *store.DB, cfg serverConfig, log *slog.Logger) (*apiServer, error) {
	s := &apiServer{cfg: cfg, log: log, db: db}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together: give both to serve HTTPS, or neither")
	}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load TLS certificate: %w", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	keys, err := keyring(cfg.EncryptionKeys, db, log)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.ledger = ledger.New(db, ledger.Options{OnBatch: httpapi.LedgerMetrics(reg)})
	s.ledger.StartSweeper(ctx, cfg.HoldSweepInterval, func(err error) { log.Error("expire holds", "err", err) })
	s.auth = auth.NewService(db, clock.Real{})
	if err := s.startPayments(ctx, cfg, keys, log, reg); err != nil {
		return nil, errors.Join(err, s.ledger.Close())
	}
	s.api = httpapi.New(httpapi.Deps{DB: db, Ledger: s.ledger, Auth: s.auth, Customers: accounts.NewCustomers(db, clock.Real{}, keys),
		Products: s.products, Operations: s.ops, Payments: s.payments, Jobs: s.jobs, Webhooks: s.webhooks,
		Recon: s.recon, EOD: s.eod, Clock: clock.Real{}, Log: log, Registry: reg},
		httpapi.Config{MaxBodyBytes: cfg.MaxBodyBytes, RequestTimeout: cfg.RequestTimeout, Version: strings.Trim(version(), "()"),
			TrustProxy: cfg.TrustProxy, AuthFailureBurst: cfg.AuthFailureBurst, AuthFailureWindow: cfg.AuthFailureWindow})
	s.worker = s.api.Batches.StartWorker(ctx, batchPollInterval, func(err error) { log.Error("process batch", "err", err) })
	s.envelopes = s.api.Operations.StartEnvelopeSweeper(ctx, cfg.HoldSweepInterval,
		func(err error) { log.Error("expire envelopes", "err", err) })
	return s, nil
}

// bootstrap creates the root institution and the first admin key on a new
// store (adminKey, when not empty, becomes that key). It returns the new
// key's token when it generated one, for the operator to see once.
func (s *apiServer) bootstrap(ctx context.Context, adminKey string) (token string, err error) {
	return s.auth.Bootstrap(ctx, s.cfg.RootInstitution, s.cfg.RootName, adminKey)
}

// batchPollInterval is how often the batch worker looks for queued batches.
const batchPollInterval = time.Second

// startPayments builds the payments service, the job scheduler and the
// outbox relay (with NATS when configured) and starts the latter two. The
// channels' and webhooks' signing secrets are encrypted at rest with keys,
// the customers' keyring.
func (s *apiServer) startPayments(ctx context.Context, cfg serverConfig, keys *accounts.Keyring, log *slog.Logger, reg *prometheus.Registry) error {
	clk := clock.Real{}
	s.products = accounts.NewProductService(s.db, clk)
	s.ops = accounts.NewOperations(s.ledger, s.products, accounts.OperationsConfig{})
	s.jobs = jobs.New(s.db, clk, jobs.Options{Log: log})
	s.webhooks = outbox.NewWebhooks(s.db, clk, outbox.WebhookOptions{Secrets: keys, AllowPrefixes: cfg.WebhookAllowPrefixes})
	if len(cfg.WebhookAllowPrefixes) > 0 {
		log.Info("webhook deliveries may reach non-public addresses in", "cidrs", cfg.WebhookAllowPrefixes)
	}
	s.webhooks.Register(s.jobs)
	var streamer *outbox.Streamer
	if cfg.NatsURL != "" {
		nc, err := nats.Connect(cfg.NatsURL, nats.Name("suanpan"), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true))
		if err != nil {
			return fmt.Errorf("connect to NATS: %w", err)
		}
		s.nats = nc
		if streamer, err = outbox.NewStreamer(s.db, clk, nc, outbox.StreamOptions{Stream: cfg.NatsStream, Prefix: cfg.NatsPrefix}); err != nil {
			nc.Close()
			return err
		}
	}
	s.relay = outbox.NewRelay(s.db, clk, outbox.RelayOptions{Streamer: streamer, Delivered: s.jobs.Notify, Log: log})
	callbacks := ""
	if cfg.PublicURL != "" {
		callbacks = strings.TrimRight(cfg.PublicURL, "/") + callbackPath
	}
	s.payments = payments.New(payments.Config{DB: s.db, Ledger: s.ledger, Operations: s.ops, Jobs: s.jobs, Clock: clk,
		CallbackURL: callbacks, Secrets: keys, Log: log})
	s.recon = recon.New(recon.Config{Ledger: s.ledger, Payments: s.payments, Operations: s.ops, Clock: clk, Log: log})
	s.eod = eod.New(eod.Config{Ledger: s.ledger, Reconciler: s.recon, Delay: cfg.EODDelay})
	s.eod.Register(s.jobs)
	if cfg.EODSchedule {
		date, err := s.eod.EnqueueNext(ctx)
		if err != nil {
			return err
		}
		log.Info("end of day scheduled", "date", date)
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "suanpan_outbox_lag_seconds",
		Help: "Age of the oldest event not yet handed to the webhook fan-out."}, func() float64 {
		lag, err := s.relay.Lag(context.Background())
		if err != nil {
			return -1
		}
		return lag.Seconds()
	}))
	bg, stop := context.WithCancel(ctx)
	s.stopBg = stop
	s.bg.Go(func() { _ = s.jobs.Run(bg) })
	s.bg.Go(func() { _ = s.relay.Run(bg) })
	return nil
}

// callbackPath is where payment channels post their callbacks, below the
// public URL; the channel's ID follows.
const callbackPath = "/v1/payments/callbacks"

// close stops the batch worker (a batch in progress is resumed by the next
// start), the job scheduler (after the jobs it runs) and the outbox relay,
// then the ledger engine after committing what it has queued.
func (s *apiServer) close() error {
	s.worker.Close()
	s.envelopes.Close()
	s.stopBg()
	s.bg.Wait()
	if s.nats != nil {
		s.nats.Close()
	}
	return s.ledger.Close()
}

// scheme is the URL scheme the server speaks.
func (s *apiServer) scheme() string {
	if s.tls != nil {
		return "https"
	}
	return "http"
}

// serve serves the API on ln until ctx ends, then shuts down in order: stop
// accepting and let in-flight requests finish (for at most the shutdown
// timeout), then commit the ledger's queued batches and stop it. listening,
// when not nil, learns the address once connections are being accepted.
func (s *apiServer) serve(ctx context.Context, ln net.Listener, listening func(net.Addr)) (err error) {
	defer func() {
		err = errors.Join(err, s.close())
		s.log.Info("stopped")
	}()
	hs := &http.Server{
		Handler:           s.api.Handler(),
		TLSConfig:         s.tls,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       s.cfg.RequestTimeout,
		WriteTimeout:      s.cfg.RequestTimeout + writeSlack,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() {
		if s.tls != nil {
			served <- hs.ServeTLS(ln, "", "")
		} else {
			served <- hs.Serve(ln)
		}
	}()
	s.log.Info("listening", "url", baseURL(s.scheme(), ln.Addr()), "store", s.db.Name, "dialect", s.db.Dialect)
	if s.cfg.PublicURL == "" {
		s.payments.SetCallbackURL(baseURL(s.scheme(), ln.Addr()) + callbackPath)
	}
	logged := make(chan struct{})
	go func() { defer close(logged); s.logAuditHead(ctx) }()
	defer func() { <-logged }()
	if listening != nil {
		listening(ln.Addr())
	}

	select {
	case err := <-served: // the listener failed
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: finishing in-flight requests", "timeout", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		s.log.Warn("in-flight requests did not finish in time; closing their connections", "err", err)
		_ = hs.Close() // their outcome is unknown to their clients, who retry by reference
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	if head, err := audit.Head(context.Background(), s.db); err == nil && head.Seq > 0 {
		s.log.Info("audit head", "anchor", head.String())
	}
	s.log.Info("requests finished; committing queued ledger batches")
	return nil
}

// auditHeadInterval is how often serve logs the audit chain's head when it
// has moved.
const auditHeadInterval = time.Minute

// logAuditHead logs the audit chain's newest record ("audit head", as
// SEQ:HASH) at start, when it moves (checked every auditHeadInterval) and
// at the end, until ctx ends. Kept with the logs, outside the database,
// these are anchors for `suanpan audit verify --expect`.
func (s *apiServer) logAuditHead(ctx context.Context) {
	var last audit.Anchor
	logHead := func(ctx context.Context) {
		head, err := audit.Head(ctx, s.db)
		if err != nil {
			s.log.Warn("read audit head", "err", err)
			return
		}
		if head != last && head.Seq > 0 {
			s.log.Info("audit head", "anchor", head.String())
			last = head
		}
	}
	logHead(ctx)
	t := time.NewTicker(auditHeadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// Requests still finish after this; serve logs the final head
			// once they have.
			return
		case <-t.C:
			logHead(ctx)
		}
	}
}

// listen opens a TCP listener on addr.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	return ln, nil
}

// baseURL is the URL clients reach a listener at: an unspecified address
// (0.0.0.0, ::) is shown as the loopback address, which works from here.
func baseURL(scheme string, addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + "://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if ip.To4() != nil {
			host = "127.0.0.1"
		} else {
			host = "::1"
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// checkServerFlags checks the settings every server command shares.
func checkServerFlags(requestTimeout, shutdownTimeout, sweep time.Duration, maxBody int64) error {
	switch {
	case requestTimeout <= 0 || requestTimeout > time.Hour:
		return errors.New("--request-timeout must be positive and at most 1h")
	case shutdownTimeout <= 0 || shutdownTimeout > time.Hour:
		return errors.New("--shutdown-timeout must be positive and at most 1h")
	case sweep <= 0 || sweep > 24*time.Hour:
		return errors.New("--hold-sweep-interval must be positive and at most 24h")
	case maxBody < 1<<10 || maxBody > 1<<30:
		return errors.New("--max-body-bytes must be from 1024 to " + strconv.Itoa(1<<30))
	}
	return nil
}
