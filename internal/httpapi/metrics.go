package httpapi

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/suanpan/suanpan/ledger"
)

type metrics struct {
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	authFailures  prometheus.Counter
	authThrottled *prometheus.CounterVec
}

// newMetrics registers the HTTP metrics and the ledger's queue depth on reg
// (nil: metrics are kept but not exposed).
func newMetrics(reg *prometheus.Registry, l *ledger.Ledger) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "suanpan_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "suanpan_http_request_duration_seconds", Help: "HTTP request latency by route, method and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "suanpan_http_auth_failures_total", Help: "Requests whose API key was refused (401).",
		}),
		authThrottled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "suanpan_http_auth_throttled_total",
			Help: "Requests answered 429 for too many failed authentications, by the limit that held them: source (address) or key (key ID).",
		}, []string{"limit"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.latency, m.authFailures, m.authThrottled)
		if l != nil {
			reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "suanpan_ledger_queue_depth", Help: "Ledger requests waiting for a writer.",
			}, func() float64 { return float64(l.QueueDepth()) }))
		}
	}
	return m
}

// LedgerMetrics registers the ledger engine's batch metrics on reg and
// returns the observer to pass as ledger.Options.OnBatch.
func LedgerMetrics(reg *prometheus.Registry) func(ledger.BatchStats) {
	size := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "suanpan_ledger_batch_requests", Help: "Requests per group-committed ledger batch.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 13),
	})
	commit := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "suanpan_ledger_commit_seconds", Help: "Time to apply and durably commit one ledger batch.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	})
	failures := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "suanpan_ledger_batch_failures_total", Help: "Ledger batches whose storage transaction failed.",
	})
	reg.MustRegister(size, commit, failures)
	return func(b ledger.BatchStats) {
		size.Observe(float64(b.Requests))
		commit.Observe(b.Duration.Seconds())
		if b.Err != nil {
			failures.Inc()
		}
	}
}

// observe records the request's metrics and logs it.
func (s *Server) observe(route string) func(huma.Context, func(huma.Context)) {
	return func(hctx huma.Context, next func(huma.Context)) {
		start := time.Now()
		next(hctx)
		status := hctx.Status()
		if status == 0 {
			status = 200
		}
		d := time.Since(start)
		labels := []string{route, hctx.Method(), strconv.Itoa(status)}
		s.metrics.requests.WithLabelValues(labels...).Inc()
		s.metrics.latency.WithLabelValues(labels...).Observe(d.Seconds())
		level := slog.LevelDebug
		if status >= 500 {
			level = slog.LevelError
		}
		ctx := hctx.Context()
		if s.Log.Enabled(ctx, level) {
			s.Log.Log(ctx, level, "request", "method", hctx.Method(), "route", route, "status", status,
				"duration_ms", float64(d.Microseconds())/1000, "request_id", requestID(ctx), "key_id", keyIDOf(ctx),
				"source", sourceOf(ctx))
		}
	}
}
