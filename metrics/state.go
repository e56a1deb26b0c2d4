package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/media"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/webhooks"
)

// Sources are what a scrape reads: the same sources /readyz and GET /api/v1/projections read.
// A nil source is left out.
type Sources struct {
	// LogPosition is the log's last sequence; an error means NATS does not answer.
	LogPosition func(context.Context) (uint64, error)
	// Database is nil when the SQL database answers.
	Database func(context.Context) error
	// Views are the views' statuses (their checkpoints are read from the database).
	Views func() []projections.Status
	// Outbox is the log sequence the public outbox has handled up to.
	Outbox func(context.Context) (uint64, error)
	// Webhooks is how far the webhooks are behind the public stream.
	Webhooks func(context.Context) (webhooks.Backlog, error)
	// Streams are the event-stream (SSE) hub's counters.
	Streams func() events.HubStats
	// Images are the counters of the housekeeper that erases the images of killed articles.
	Images func() media.HousekeeperStats
}

// ScrapeTimeout bounds each question a scrape asks, so that a NATS or a database that hangs
// rather than fails still lets the scrape answer, with newsroom_nats_up or
// newsroom_database_up at 0. The questions are asked at once, so a scrape takes at most about
// this long.
const ScrapeTimeout = 2 * time.Second

// Stream names, the values of the stream label: where a position is counted.
const (
	logStream    = events.StreamName       // the log: views and outbox
	publicStream = events.PublicStreamName // the public stream: webhooks
)

// View names of the parts that are not SQL views but follow a log like one.
const (
	OutboxView   = "outbox"
	WebhooksView = "webhooks"
)

// Watch registers a collector that reads src at every scrape.
func (m *Metrics) Watch(src Sources) {
	m.registry.MustRegister(newStateCollector(src))
}

type stateCollector struct {
	src Sources

	natsUp, databaseUp, streamLast                  *prometheus.Desc
	viewPosition, viewLag, viewFailing              *prometheus.Desc
	viewRebuilding, rebuildPosition, rebuildTarget  *prometheus.Desc
	webhooksRegistered                              *prometheus.Desc
	sseClients, sseRefused, sseCutOff, ssePastReads *prometheus.Desc
	imagesErased, imageErasureFailures              *prometheus.Desc
}

func newStateCollector(src Sources) *stateCollector {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
	}
	return &stateCollector{src: src,
		natsUp:     desc("nats_up", "1 if NATS answered a question about the log at this scrape (within 2 s), else 0: commands are refused while it is 0."),
		databaseUp: desc("database_up", "1 if the SQL database answered a ping at this scrape (within 2 s), else 0: views stop and reads from them fail while it is 0."),
		streamLast: desc("stream_last_sequence", "The last sequence of a JetStream stream: NEWSROOM (the log) or NEWSROOM_PUBLIC (the public stream).", "stream"),
		viewPosition: desc("view_position", "The last sequence a view has applied (its checkpoint), on the stream it follows: the SQL views and the outbox follow the log "+
			"(NEWSROOM), the webhooks the public stream (NEWSROOM_PUBLIC; the least advanced webhook).", "view", "stream"),
		viewLag: desc("view_lag_events", "How many sequences a view is behind its stream: the stream's last sequence minus the view's position.", "view", "stream"),
		viewFailing: desc("view_failing", "1 while a view's last batch failed (it retries, or catches up on its own), else 0; "+
			"GET /api/v1/projections says why.", "view"),
		viewRebuilding:     desc("view_rebuilding", "1 while a blue/green rebuild of the view runs, else 0.", "view"),
		rebuildPosition:    desc("view_rebuild_position", "The checkpoint the running or last rebuild of a view has reached.", "view"),
		rebuildTarget:      desc("view_rebuild_target", "The log's last sequence when the running or last rebuild of a view started: it is done at this position.", "view"),
		webhooksRegistered: desc("webhooks_registered", "Webhooks registered (on every instance)."),
		sseClients:         desc("sse_clients", "Event-stream (/public/v1/stream) readers connected to this instance."),
		sseRefused:         desc("sse_refused_total", "Event-stream readers turned away at --sse-max-clients."),
		sseCutOff:          desc("sse_cut_off_total", "Event-stream readers cut off for falling behind (--sse-client-queue); they resume when they reconnect."),
		ssePastReads:       desc("sse_past_reads_total", "Reads of the public stream for readers that resumed beyond what the instance keeps in memory."),
		imagesErased:       desc("images_erased_total", "Images this instance erased (renditions deleted, media.erased recorded) because only killed articles used them."),
		imageErasureFailures: desc("image_erasure_failures_total", "Passes of this instance's image erasure that failed (the object store, the log or the database did not answer); "+
			"each is tried again 30 s later. A legal kill's images stay in the object store while it grows."),
	}
}

func (s *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{s.natsUp, s.databaseUp, s.streamLast, s.viewPosition, s.viewLag, s.viewFailing,
		s.viewRebuilding, s.rebuildPosition, s.rebuildTarget, s.webhooksRegistered, s.sseClients, s.sseRefused, s.sseCutOff, s.ssePastReads,
		s.imagesErased, s.imageErasureFailures} {
		ch <- d
	}
}

// reading is what one scrape learnt; a field is valid only if its ok is set.
type reading struct {
	logLast    uint64
	logOK      bool
	databaseOK bool
	views      []projections.Status
	viewsOK    bool
	outbox     uint64
	outboxOK   bool
	backlog    webhooks.Backlog
	backlogOK  bool
}

// read asks every source at once, each for at most ScrapeTimeout. A source that has not
// answered by then is left out of this scrape (its goroutine finishes on its own).
func (s *stateCollector) read() reading {
	var (
		r  reading
		mu sync.Mutex
		wg sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeout)
	defer cancel()
	ask := func(f func(ctx context.Context, set func(func(*reading)))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(ctx, func(apply func(*reading)) {
				mu.Lock()
				defer mu.Unlock()
				if ctx.Err() == nil { // an answer after the deadline is not part of this scrape
					apply(&r)
				}
			})
		}()
	}
	if f := s.src.LogPosition; f != nil {
		ask(func(ctx context.Context, set func(func(*reading))) {
			if last, err := f(ctx); err == nil {
				set(func(r *reading) { r.logLast, r.logOK = last, true })
			}
		})
	}
	if f := s.src.Database; f != nil {
		ask(func(ctx context.Context, set func(func(*reading))) {
			err := f(ctx)
			set(func(r *reading) { r.databaseOK = err == nil })
		})
	}
	if f := s.src.Views; f != nil {
		ask(func(ctx context.Context, set func(func(*reading))) {
			views := f() // bounded by its own timeouts
			set(func(r *reading) { r.views, r.viewsOK = views, true })
		})
	}
	if f := s.src.Outbox; f != nil {
		ask(func(ctx context.Context, set func(func(*reading))) {
			if pos, err := f(ctx); err == nil {
				set(func(r *reading) { r.outbox, r.outboxOK = pos, true })
			}
		})
	}
	if f := s.src.Webhooks; f != nil {
		ask(func(ctx context.Context, set func(func(*reading))) {
			if b, err := f(ctx); err == nil {
				set(func(r *reading) { r.backlog, r.backlogOK = b, true })
			}
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	out := r
	cancel() // late answers are dropped from here on
	return out
}

func (s *stateCollector) Collect(ch chan<- prometheus.Metric) {
	r := s.read()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	if s.src.LogPosition != nil {
		gauge(s.natsUp, bit(r.logOK))
	}
	if s.src.Database != nil {
		gauge(s.databaseUp, bit(r.databaseOK))
	}
	if r.logOK {
		gauge(s.streamLast, float64(r.logLast), logStream)
	}
	position := func(view, stream string, pos, last uint64, lastOK bool) {
		gauge(s.viewPosition, float64(pos), view, stream)
		if lastOK {
			gauge(s.viewLag, float64(last-min(pos, last)), view, stream)
		}
	}
	if r.viewsOK {
		for _, v := range r.views {
			position(v.Name, logStream, v.Checkpoint, r.logLast, r.logOK)
			gauge(s.viewFailing, bit(v.LastError != ""), v.Name)
			gauge(s.viewRebuilding, bit(v.State == "rebuilding"), v.Name)
			if rb := v.Rebuild; rb != nil {
				gauge(s.rebuildPosition, float64(rb.Checkpoint), v.Name)
				gauge(s.rebuildTarget, float64(rb.Target), v.Name)
			}
		}
	}
	if r.outboxOK {
		position(OutboxView, logStream, r.outbox, r.logLast, r.logOK)
	}
	if r.backlogOK {
		gauge(s.streamLast, float64(r.backlog.Last), publicStream)
		position(WebhooksView, publicStream, r.backlog.Cursor, r.backlog.Last, true)
		gauge(s.webhooksRegistered, float64(r.backlog.Webhooks))
	}
	if f := s.src.Streams; f != nil {
		st := f()
		gauge(s.sseClients, float64(st.Subscribers))
		counter(s.sseRefused, st.Refused)
		counter(s.sseCutOff, st.CutOff)
		counter(s.ssePastReads, st.PastReads)
	}
	if f := s.src.Images; f != nil {
		st := f()
		counter(s.imagesErased, st.Erased)
		counter(s.imageErasureFailures, st.FailedPasses)
	}
}

func bit(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
