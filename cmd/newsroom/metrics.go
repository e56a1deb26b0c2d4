package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	nethttp "net/http"
	"time"

	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/metrics"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/webhooks"
)

// watchState has every scrape read the log's position, the database, the views, the outbox,
// the webhooks and the event streams: the sources /readyz and GET /api/v1/projections read.
func watchState(m *metrics.Metrics, store *events.Store, db *sqldb.DB, runner *projections.Runner,
	outbox *projections.Outbox, hooks *webhooks.Dispatcher, hub *events.PublicHub, images *imageEraser) {
	m.Watch(metrics.Sources{
		LogPosition: store.LastSequence,
		Database:    db.Read.PingContext,
		Views:       runner.Statuses,
		Outbox:      outbox.Position,
		Webhooks:    hooks.Backlog,
		Streams:     hub.Stats,
		Images:      images.h.Stats,
	})
}

// serveMetrics serves GET /metrics alone on addr (--metrics-listen), so that operators can keep
// it off the public listener; every other path answers 404.
func (a *app) serveMetrics(addr string) error {
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s for metrics (set --metrics-listen or NEWSROOM_METRICS_LISTEN to another address): %w", addr, err)
	}
	mux := nethttp.NewServeMux()
	mux.Handle("GET /metrics", a.metrics.Handler())
	a.metricsServer = &nethttp.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	a.metricsAddr = listener.Addr().String()
	server := a.metricsServer
	go func() {
		if err := server.Serve(listener); err != nil && !errors.Is(err, nethttp.ErrServerClosed) {
			a.log.Warn("metrics listener stopped", "error", err)
		}
	}()
	return nil
}
