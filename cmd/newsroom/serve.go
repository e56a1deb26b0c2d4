package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	nethttp "net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/auth"
	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/editorial"
	"github.com/newsroom/newsroom/embeddednats"
	"github.com/newsroom/newsroom/events"
	newsroomhttp "github.com/newsroom/newsroom/http"
	"github.com/newsroom/newsroom/media"
	"github.com/newsroom/newsroom/metrics"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/schedules"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/webhooks"
)

// minNATSVersion is the oldest external nats-server newsroom accepts: the expected-sequence
// and dedupe behaviour it relies on were checked against 2.12 and later.
const minNATSVersion = "2.12.0"

// shutdownGrace is how long in-flight requests get to finish after SIGINT or SIGTERM.
const shutdownGrace = 20 * time.Second

func serveCommand(ctx context.Context, args []string, stderr io.Writer) error {
	var cfg config
	f := newFlags("serve", stderr)
	f.string(&cfg.HTTP, "http", "127.0.0.1:8080", "listen address of the HTTP API")
	f.storage(&cfg)
	f.string(&cfg.NATSURL, "nats-url", "", "external NATS with JetStream (2.12 or later); empty runs an embedded server")
	f.string(&cfg.NATSListen, "nats-listen", "", "client address (host:port) of the embedded NATS server, kept for the next starts; written to <data-dir>/nats.url "+
		"(default: the address kept in <data-dir>/nats.listen, or at the first start 127.0.0.1 and a free port; port 0: a free port at this start)")
	f.bool(&cfg.NoSync, "nats-no-sync", "embedded NATS: acknowledge writes before they reach the disk (faster; a power cut can lose up to 2 minutes of accepted commands)")
	f.fs.IntVar(&cfg.Replicas, "replicas", 0, "replicas of the streams and bucket newsroom creates on an external NATS (default: 3 when the server is clustered, 1 otherwise); existing ones are left as they are (env NEWSROOM_REPLICAS)")
	if v := os.Getenv("NEWSROOM_REPLICAS"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			cfg.Replicas = n
		}
	}
	f.duration(&cfg.WebhookTimeout, "webhook-timeout", 10*time.Second, "webhooks: how long one delivery attempt may take")
	f.duration(&cfg.WebhookRetryMax, "webhook-retry-max", 5*time.Minute, "webhooks: the longest wait between two attempts at one message (waits double from 1 s up to it)")
	f.sseFlags(&cfg)
	f.bool(&cfg.SingleEditorCorrections, "single-editor-corrections", "let one editor publish a correction that changes an article's text, without a second editor's confirmation "+
		"(off: such a correction is proposed and another editor confirms it; each one made alone says so in its event)")
	f.string(&cfg.MetricsListen, "metrics-listen", "", "serve the Prometheus metrics (GET /metrics) on this address instead of on --http; keep either private")
	f.string(&cfg.PublicURL, "public-url", "", "public base URL of this newsroom, for article URIs in public events and feeds (default: http://<--http>)")
	f.siteFlags(&cfg)
	f.duration(&cfg.SessionTTL, "session-ttl", auth.DefaultSessionTTL, "how long a desk sign-in (the session cookie) lasts; at least 1s")
	f.string(&cfg.TrustedProxies, "trusted-proxies", "", "addresses or CIDR ranges (comma-separated) of the reverse proxies in front of newsroom: "+
		"a request from one of them comes from the address it names in X-Forwarded-For (default: none; every request comes from its connection's address, X-Forwarded-For is ignored)")
	f.int(&cfg.FailureLimit, "failure-limit", newsroomhttp.DefaultFailureLimit, "failed sign-ins and wrong bearer tokens a client address may send within a minute; "+
		"past it, the address is answered 429 until the minute ends (counted per instance)")
	f.int(&cfg.MediaMaxBytes, "media-max-bytes", media.DefaultMaxBytes, "images: the largest upload accepted, in bytes (POST /api/v1/media answers 413 beyond it)")
	var logs logSettings
	f.logFlags(&logs)
	if err := f.parse(args); err != nil {
		return err
	}
	if _, err := trustedProxies(cfg.TrustedProxies); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if cfg.SessionTTL < time.Second {
		return fmt.Errorf("serve: --session-ttl %s: want at least 1s (a cookie's Max-Age counts seconds)", cfg.SessionTTL)
	}
	log, err := logs.logger(stderr)
	if err != nil {
		return err
	}
	version := readBuildVersion()
	log.Info("newsroom starting", "version", version.String(), "go", version.Go, "data_dir", cfg.DataDir)
	app, err := startApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	log.Info("newsroom serving", "http", "http://"+app.httpAddr, "nats", redactNATSURL(app.natsURL), "data_dir", cfg.DataDir)
	if app.metricsAddr != "" {
		log.Info("metrics served apart", "metrics", "http://"+app.metricsAddr+"/metrics")
	}
	<-ctx.Done()
	log.Info("shutting down: finishing in-flight requests")
	return app.Close()
}

// app is a running newsroom: what `serve` starts, and what the end-to-end tests start too.
type app struct {
	log      *slog.Logger
	lock     *dataDirLock
	embedded *embeddednats.Server
	nc       *nats.Conn
	db       *sqldb.DB
	store    *events.Store
	runner   *projections.Runner
	outbox   *projections.Outbox
	eraser   *projections.Eraser // erases kills beside the outbox; the views' reader feeds it too
	webhooks *webhooks.Dispatcher
	hub      *events.PublicHub
	closing  chan struct{} // closed when shutdown starts: ends event streams
	server   *nethttp.Server
	served   chan error
	metrics  *metrics.Metrics
	// metricsServer serves /metrics alone when --metrics-listen is set; nil otherwise.
	metricsServer *nethttp.Server
	metricsAddr   string

	schedules *schedules.Scheduler // publishes scheduled articles and lifts embargoes at their time
	// embargoed writes NEWSROOM_EMBARGOED, what trusted subscribers see of articles under
	// embargo, beside the public outbox.
	embargoed *projections.Outbox

	natsURL  string
	httpAddr string
}

// startApp wires and starts every part. On error, what was started is stopped again.
func startApp(ctx context.Context, cfg config, log *slog.Logger) (_ *app, err error) {
	// Not the named result: "return nil, err" sets that to nil before the deferred stop runs.
	a := &app{log: log, served: make(chan error, 1), closing: make(chan struct{}), metrics: metrics.New()}
	defer func() {
		if err != nil {
			a.stop()
		}
	}()
	if a.lock, err = lockDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	if a.natsURL, err = a.startNATS(cfg); err != nil {
		return nil, err
	}
	connect := func() (*nats.Conn, error) {
		return nats.Connect(a.natsURL, newsroomNATSOptions("newsroom", append(natsLogOptions(log), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(false))...)...)
	}
	if a.nc, err = connect(); err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", redactNATSURL(a.natsURL), err)
	}
	if cfg.NATSURL != "" {
		if err := checkServerVersion(a.nc.ConnectedServerVersion()); err != nil {
			return nil, err
		}
	}
	js, err := jetstream.New(a.nc)
	if err != nil {
		return nil, err
	}
	replicas := streamReplicas(cfg, a.nc)
	if a.embedded != nil {
		log.Info("NATS: embedded server", "url", a.natsURL, "store", a.embedded.StoreDir(), "fsync_before_ack", !cfg.NoSync)
	} else {
		log.Info("NATS: external server", "url", redactNATSURL(a.natsURL), "version", a.nc.ConnectedServerVersion(),
			"cluster", a.nc.ConnectedClusterName(), "replicas", replicas)
	}
	store, err := events.Open(ctx, js, replicas)
	if err != nil {
		return nil, fmt.Errorf("event log: %w", err)
	}
	a.store = store
	if a.db, err = sqldb.Open(ctx, cfg.DB, cfg.DataDir); err != nil {
		return nil, err
	}
	log.Info("SQL database open", describeDatabase(cfg.DB, cfg.DataDir)...)

	published, desk, history, all := views(a.db)
	publicCache := newsroomhttp.NewPublicCache(publicCacheMaxAge)
	publicChanged, err := sharePublicChanges(a.nc, published, publicCache, log)
	if err != nil {
		return nil, err
	}
	// Public searches are cached as public lists are: the search view's commits invalidate
	// them, here and on the other instances, as the published view's do.
	searchView := viewOf[*projections.Search](all)
	searchView.OnCommit = published.OnCommit
	// The eraser runs beside the outbox, not in its way: the views' reader hands it every
	// kill as soon as the views have seen it, however far behind the outbox is.
	a.eraser = projections.NewEraser(js, log)
	a.eraser.Start()
	// Images: renditions in the object store beside the log, facts in the log (media.Library).
	objects, err := media.OpenBucket(ctx, js, replicas)
	if err != nil {
		return nil, err
	}
	library := &media.Library{Objects: objects, Log: store, JS: js, Logger: log}
	mediaView, mediaCache := viewOf[*projections.Media](all), newsroomhttp.NewMediaCache(0)
	mediaView.OnErase = mediaCache.Evict
	imagesDescribed(mediaView, published, publicChanged, log)
	images := newImageEraser(library, desk, mediaView)
	a.runner = projections.NewRunner(projections.RunnerConfig{DB: a.db, Log: store, Connect: connect, Logger: log,
		AfterBatch: func(batch []events.Envelope) {
			for _, env := range batch {
				if env.Type == domain.TypeKilled {
					a.eraser.Enqueue(env.ArticleID, env.Sequence)
				}
			}
		}}, all...)
	// The views run until Close, not until the start context ends.
	if err := a.runner.Start(context.WithoutCancel(ctx)); err != nil {
		return nil, fmt.Errorf("views: %w", err)
	}

	listener, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (set --http or NEWSROOM_HTTP to another address): %w", cfg.HTTP, err)
	}
	defer func() {
		if a.server == nil {
			listener.Close() // not served: startApp failed
		}
	}()
	publicURL := cfg.PublicURL
	if publicURL == "" {
		publicURL = "http://" + listener.Addr().String()
	}
	outboxes := projections.OutboxConfig{Connect: connect, Log: store, Eraser: a.eraser,
		PublicURL: publicURL, Replicas: replicas, Logger: log, Media: mediaView}
	a.outbox = projections.NewOutbox(outboxes)
	if err := a.outbox.Start(context.WithoutCancel(ctx)); err != nil {
		return nil, fmt.Errorf("public outbox: %w", err)
	}
	a.embargoed = projections.NewEmbargoedOutbox(outboxes)
	if err := a.embargoed.Start(context.WithoutCancel(ctx)); err != nil {
		return nil, fmt.Errorf("embargoed outbox: %w", err)
	}
	// A kill whose erasure a crash interrupted is finished before anything is served.
	if err := a.eraser.Sweep(ctx, desk); err != nil {
		return nil, err
	}
	if err := a.db.Scrub(ctx); err != nil {
		log.Warn("scrub the database at start", "error", err)
	}
	a.hub = events.NewPublicHub(js, events.HubConfig{MaxClients: cfg.SSEMaxClients, RingMessages: cfg.SSERingMessages,
		RingBytes: cfg.SSERingBytes, ClientQueue: cfg.SSEClientQueue, Logger: log})
	if err := a.hub.Start(ctx); err != nil {
		return nil, fmt.Errorf("event streams: %w", err)
	}
	a.webhooks = webhooks.NewDispatcher(webhooks.Config{DB: a.db, Connect: connect, Logger: log,
		Timeout: cfg.WebhookTimeout, RetryMin: cfg.WebhookRetryMin, RetryMax: cfg.WebhookRetryMax,
		Observe: a.metrics.WebhookAttempt})
	if err := a.webhooks.Start(context.WithoutCancel(ctx)); err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}

	watchState(a.metrics, store, a.db, a.runner, a.outbox, a.webhooks, a.hub, images)
	var metricsOnMain nethttp.Handler
	if cfg.MetricsListen == "" {
		metricsOnMain = a.metrics.Handler()
	} else if err := a.serveMetrics(cfg.MetricsListen); err != nil {
		return nil, err
	}
	commands := editorial.NewDesk(store).Observed(a.metrics.CommandDone)
	commands.Policy = domain.Policy{SingleEditorCorrections: cfg.SingleEditorCorrections}
	commands.Sets = desk // which languages a translation set holds
	// The images an article names exist and have their alt text.
	commands.Media = freshImages{view: mediaView, log: store, views: a.runner}
	a.schedules = schedules.New(schedules.Config{Connect: connect, Replicas: replicas, Log: store, Commands: commands,
		Desk: desk, Views: a.runner, Logger: log})
	if err := a.schedules.Start(context.WithoutCancel(ctx)); err != nil {
		return nil, err
	}
	tokens := auth.NewTokens(a.db).UseLogger(log)
	proxies, err := trustedProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	handler := newsroomhttp.New(newsroomhttp.Config{
		Desk: commands,
		DeskViews: struct {
			*projections.Desk
			*projections.History
		}{desk, history},
		Public:         published,
		Search:         searchView,
		PublicCache:    publicCache,
		Readiness:      readiness{store, a.runner},
		Positions:      a.runner,
		Projections:    a.runner,
		Stream:         a.hub,
		Webhooks:       a.webhooks,
		Closing:        a.closing,
		Tokens:         tokens,
		Sessions:       auth.NewSessions(tokens, cfg.SessionTTL),
		FailureLimit:   cfg.FailureLimit,
		TrustedProxies: proxies,
		Logger:         log,
		PublicURL:      cfg.PublicURL,
		SiteName:       cfg.SiteName,
		Instrument:     a.metrics.Middleware(),
		Metrics:        metricsOnMain,
		Version:        readBuildVersion().String(),
		Media: &newsroomhttp.MediaConfig{Library: library, Views: mediaView, Public: published,
			MaxBytes: int64(cfg.MediaMaxBytes), Cache: mediaCache},
		Images: mediaView,
	})
	images.start(context.WithoutCancel(ctx), a.closing)
	a.httpAddr = listener.Addr().String()
	// `newsroom replay` finds a running serve here.
	if err := os.WriteFile(filepath.Join(cfg.DataDir, httpURLFile), []byte("http://"+a.httpAddr+"\n"), 0o640); err != nil {
		return nil, fmt.Errorf("write %s: %w", httpURLFile, err)
	}
	a.server = &nethttp.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() { a.served <- a.server.Serve(listener) }()
	return a, nil
}

// readiness reports the log's position and the views' progress to /readyz.
type readiness struct {
	store  *events.Store
	runner *projections.Runner
}

func (r readiness) LogPosition(ctx context.Context) (uint64, error) { return r.store.LastSequence(ctx) }
func (r readiness) Database(ctx context.Context) (uint64, error) {
	return r.runner.DatabasePosition(ctx)
}
func (r readiness) Views() []projections.Status { return r.runner.Statuses() }

// startNATS starts the embedded server unless an external one is configured, and returns the
// client URL to use.
func (a *app) startNATS(cfg config) (string, error) {
	if cfg.NATSURL != "" {
		return cfg.NATSURL, nil
	}
	listen, recorded, err := natsListenAddress(cfg.DataDir, cfg.NATSListen)
	if err != nil {
		return "", err
	}
	srv, err := embeddednats.Start(embeddednats.Config{
		StoreDir: filepath.Join(cfg.DataDir, "nats"),
		Listen:   listen,
		NoSync:   cfg.NoSync,
		Logger:   embeddednats.SlogLogger(a.log),
	})
	switch {
	case errors.Is(err, syscall.EADDRINUSE) && recorded:
		return "", fmt.Errorf("the embedded NATS server's address %s, kept in %s since the first start so that subscribers find it after a restart, "+
			"is taken by another process: stop that process, or give another address with --nats-listen (or NEWSROOM_NATS_LISTEN; "+
			"it is kept from then on) and point subscribers at the new %s", listen, filepath.Join(cfg.DataDir, natsListenFile), natsURLFile)
	case errors.Is(err, syscall.EADDRINUSE):
		return "", fmt.Errorf("the embedded NATS server cannot listen on %s, which another process holds: give another address with --nats-listen (or NEWSROOM_NATS_LISTEN)", listen)
	case err != nil:
		return "", err
	}
	a.embedded = srv
	// The address is kept for the next start (with the port a port 0 got), and other processes
	// on this data directory (newsroom tail, a subscriber) find the server in nats.url.
	host, _, _ := net.SplitHostPort(listen)
	if host == "" {
		host = "127.0.0.1" // embeddednats's default
	}
	kept := net.JoinHostPort(host, strconv.Itoa(srv.Addr().(*net.TCPAddr).Port))
	if err := os.WriteFile(filepath.Join(cfg.DataDir, natsListenFile), []byte(kept+"\n"), 0o640); err != nil {
		return "", fmt.Errorf("write %s: %w", natsListenFile, err)
	}
	url := srv.ClientURL()
	if err := os.WriteFile(filepath.Join(cfg.DataDir, natsURLFile), []byte(url+"\n"), 0o640); err != nil {
		return "", fmt.Errorf("write %s: %w", natsURLFile, err)
	}
	return url, nil
}

// Close stops taking requests, lets in-flight ones finish, then stops the views, NATS and the
// database, in that order.
func (a *app) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var errs []error
	if a.server != nil {
		close(a.closing)
		if err := a.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
		if err := <-a.served; err != nil && !errors.Is(err, nethttp.ErrServerClosed) {
			errs = append(errs, err)
		}
		a.server = nil
	}
	a.stop()
	return errors.Join(errs...)
}

// stop stops the background parts: schedules, webhooks, outboxes, views, NATS connection, embedded server, database.
func (a *app) stop() {
	if a.schedules != nil {
		if err := a.schedules.Close(); err != nil {
			a.log.Warn("stop schedules", "error", err)
		}
	}
	if a.metricsServer != nil {
		_ = a.metricsServer.Close() // a scrape is short and says nothing worth finishing
	}
	if a.webhooks != nil {
		if err := a.webhooks.Close(); err != nil {
			a.log.Warn("stop webhooks", "error", err)
		}
	}
	if a.outbox != nil {
		if err := a.outbox.Close(); err != nil {
			a.log.Warn("stop public outbox", "error", err)
		}
	}
	if a.embargoed != nil {
		if err := a.embargoed.Close(); err != nil {
			a.log.Warn("stop embargoed outbox", "error", err)
		}
	}
	if a.runner != nil {
		if err := a.runner.Close(); err != nil {
			a.log.Warn("stop views", "error", err)
		}
	}
	if a.eraser != nil {
		a.eraser.Close() // what is queued is found again by the sweep at the next start
	}
	if a.hub != nil {
		_ = a.hub.Close() // deletes its consumer: before the connection goes
	}
	if a.nc != nil {
		a.nc.Close()
	}
	if a.embedded != nil {
		a.embedded.Stop()
	}
	if a.db != nil {
		if err := a.db.Close(); err != nil {
			a.log.Warn("close database", "error", err)
		}
	}
	a.lock.release()
}

// streamReplicas is how many replicas the streams newsroom creates get: the embedded server
// has one; a clustered external server three, unless --replicas says otherwise.
func streamReplicas(cfg config, nc *nats.Conn) int {
	switch {
	case cfg.NATSURL == "":
		return 1
	case cfg.Replicas > 0:
		return cfg.Replicas
	case nc.ConnectedClusterName() != "":
		return 3
	}
	return 1
}

// checkServerVersion refuses an external nats-server older than minNATSVersion.
func checkServerVersion(version string) error {
	if compareVersions(version, minNATSVersion) < 0 {
		return fmt.Errorf("the NATS server at --nats-url runs nats-server %s; newsroom needs %s or later (upgrade it, or leave --nats-url empty to use the embedded server)", version, minNATSVersion)
	}
	return nil
}

// compareVersions compares dotted versions numerically ("2.9.10" < "2.12.0").
func compareVersions(a, b string) int {
	pa, pb := strings.Split(strings.TrimPrefix(a, "v"), "."), strings.Split(strings.TrimPrefix(b, "v"), ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		x, y := versionPart(pa, i), versionPart(pb, i)
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func versionPart(parts []string, i int) int {
	if i >= len(parts) {
		return 0
	}
	digits := parts[i]
	if j := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }); j >= 0 {
		digits = digits[:j] // "0-beta" counts as 0
	}
	n, _ := strconv.Atoi(digits)
	return n
}
