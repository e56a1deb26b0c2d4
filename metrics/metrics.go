// Package metrics is newsroom's Prometheus instrumentation: what it counts as it happens (HTTP
// requests, commands, webhook attempts) and what it reads when scraped (how far each view, the
// outbox and the webhooks are behind the log, event-stream readers, whether NATS and the
// database answer). Each Metrics has its own registry, so that several servers can run in one
// process (tests do); nothing is registered globally.
//
// The names and labels are part of what operators build dashboards and alerts on: rename one
// only with a note in the README. Labels never carry ids, slugs, tokens or raw URLs: a route is
// its template, a command its type, and the set of series stays bounded whatever clients send.
package metrics

import (
	nethttp "net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/newsroom/newsroom/webhooks"
)

// namespace prefixes every newsroom metric.
const namespace = "newsroom"

// Metrics holds newsroom's metrics and the registry they are exposed from.
type Metrics struct {
	registry *prometheus.Registry

	requestDuration   *prometheus.HistogramVec
	commands          *prometheus.CounterVec
	webhookDeliveries *prometheus.CounterVec
}

// New returns the metrics on a registry of their own, with the Go runtime's and the process's
// collectors. Watch adds what is read at scrape time.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help: "Time from a request's routing to its last byte written, by route template (\"unmatched\" when no route matched), method and status code. " +
				"Event streams count from their start to their end.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method", "code"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "commands_total",
			Help: "Editorial commands decided, by command type and outcome: ok (the event was recorded), refused (by the workflow's rules, or invalid), " +
				"conflict (another change came first, or If-Match was stale) or error (the log did not answer, or something failed).",
		}, []string{"command", "outcome"}),
		webhookDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "webhook_deliveries_total",
			Help: "Webhook delivery attempts, by outcome: delivered (2xx), failed (retried later) or skipped (the message was erased by a kill first).",
		}, []string{"outcome"}),
	}
	// Every outcome from the start, so that rate() sees the first failure.
	for _, o := range []webhooks.Outcome{webhooks.Delivered, webhooks.Failed, webhooks.Skipped} {
		m.webhookDeliveries.WithLabelValues(string(o))
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requestDuration, m.commands, m.webhookDeliveries,
	)
	return m
}

// Handler serves the exposition of m's registry. Errors in reading a source do not fail the
// scrape: the metrics that depend on it are left out, and the *_up gauges say what is down.
func (m *Metrics) Handler() nethttp.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry, ErrorHandling: promhttp.ContinueOnError})
}

// Registry is m's registry, for collectors of the caller's own.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// WebhookAttempt counts one delivery attempt; it is a webhooks.Config.Observe.
func (m *Metrics) WebhookAttempt(d webhooks.Delivery) {
	m.webhookDeliveries.WithLabelValues(string(d.Outcome)).Inc()
}
