package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	nethttp "net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/sqldb"
)

// DurablePrefix starts the name of each webhook's durable consumer on NEWSROOM_PUBLIC, and of a
// trusted webhook's on NEWSROOM_EMBARGOED too: webhook-<id> on each. The names are permanent:
// renaming them loses every webhook's place.
const DurablePrefix = "webhook-"

// feed is one stream webhooks are delivered from. Each webhook has a durable, a cursor and a
// worker per feed it receives: the order holds within each stream, and neither waits for the
// other.
type feed struct {
	name     string // Delivery.Stream
	stream   string
	subjects string
}

var (
	publicFeed    = feed{name: StreamPublic, stream: events.PublicStreamName, subjects: events.PublicSubjectAll}
	embargoedFeed = feed{name: StreamEmbargoed, stream: events.EmbargoedStreamName, subjects: events.EmbargoedSubjectAll}
	feeds         = []feed{publicFeed, embargoedFeed}
)

// cursor is the last sequence of the feed's stream delivered to w.
func (f feed) cursor(w Webhook) uint64 {
	if f == embargoedFeed {
		return w.EmbargoedSeq
	}
	return w.DeliveredSeq
}

// receives reports whether w is delivered the feed's stream: every webhook the public one,
// trusted ones the embargoed one too.
func (f feed) receives(w Webhook) bool { return f == publicFeed || w.Trusted }

// ContentType is the media type of every delivery: a CloudEvent in structured mode.
const ContentType = "application/cloudevents+json; charset=utf-8"

// userAgent names newsroom to receivers.
const userAgent = "newsroom-webhooks/1"

// maxResponseRead bounds how much of an answer is read (and thrown away) so that the
// connection can be reused; the rest is not read.
const maxResponseRead = 64 << 10

var (
	// ErrUnavailable: NATS did not answer, so the webhook could not be set up; nothing was
	// registered.
	ErrUnavailable = errors.New("webhooks: NATS unavailable")
)

// Config wires a Dispatcher. Zero durations take the defaults.
type Config struct {
	DB *sqldb.DB
	// Connect opens the NATS connection the dispatcher reads the public stream on.
	Connect func() (*nats.Conn, error)
	Logger  *slog.Logger

	// Timeout bounds one attempt, from connecting to the answer's headers (default 10 s).
	Timeout time.Duration
	// RetryMin is the wait after a first failed attempt; it doubles with each failure up to
	// RetryMax (defaults 1 s and 5 min).
	RetryMin, RetryMax time.Duration
	// AckWait is how long NATS waits for word from the instance holding a message before it
	// gives the message to another instance, and how long a message held when NATS itself
	// restarted waits (default and minimum: 3 × Timeout, 30 s). The holder says it is still at
	// work every second (events.Worker).
	AckWait time.Duration
	// SyncEvery is how often the dispatcher looks for webhooks registered or deleted through
	// other instances (default 10 s).
	SyncEvery time.Duration
	// Client sends the deliveries; nil: a client with Timeout that follows no redirect.
	Client *nethttp.Client
	// Observe, if set, is told of every attempt as it is recorded (metrics count them by
	// outcome). It must not block.
	Observe func(Delivery)
}

func (c *Config) defaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.RetryMin <= 0 {
		c.RetryMin = time.Second
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 5 * time.Minute
	}
	c.RetryMax = max(c.RetryMax, c.RetryMin)
	c.AckWait = max(c.AckWait, 3*c.Timeout)
	if c.SyncEvery <= 0 {
		c.SyncEvery = 10 * time.Second
	}
	if c.Client == nil {
		c.Client = &nethttp.Client{
			Timeout: c.Timeout,
			// A redirect is an answer that is not 2xx: the delivery failed and is retried.
			// Following it would send the signed payload where the admin did not register.
			CheckRedirect: func(*nethttp.Request, []*nethttp.Request) error { return nethttp.ErrUseLastResponse },
		}
	}
}

// Dispatcher delivers the public stream to every registered webhook: one worker per webhook,
// each on its own durable consumer with one message in flight. A message is held (NATS is told
// the holder is still at work) and retried with backoff until the endpoint answers 2xx; only
// then is it acknowledged and the next one fetched, so message N+1 is never sent before N
// succeeded. Several instances may run a dispatcher on the same NATS and database: the durable
// gives each message to one of them at a time.
type Dispatcher struct {
	cfg   Config
	reg   *Registry
	retry RetryPolicy

	nc      *nats.Conn
	js      jetstream.JetStream
	streams map[feed]jetstream.Stream

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	syncs  sync.WaitGroup

	mu      sync.Mutex
	workers map[workerKey]*worker
}

// workerKey names the worker delivering one feed to one webhook.
type workerKey struct {
	id   string
	feed feed
}

// NewDispatcher returns a dispatcher; Start runs it.
func NewDispatcher(cfg Config) *Dispatcher {
	cfg.defaults()
	return &Dispatcher{cfg: cfg, reg: NewRegistry(cfg.DB), retry: RetryPolicy{Min: cfg.RetryMin, Max: cfg.RetryMax},
		workers: map[workerKey]*worker{}}
}

// Start connects, starts the workers of every registered webhook, and keeps looking for
// webhooks registered elsewhere until Close. The public and embargoed streams must exist (the
// outboxes create them).
func (d *Dispatcher) Start(ctx context.Context) error {
	nc, err := d.cfg.Connect()
	if err != nil {
		return fmt.Errorf("webhooks: connect: %w", err)
	}
	d.nc = nc
	if d.js, err = jetstream.New(nc); err != nil {
		return err
	}
	d.streams = map[feed]jetstream.Stream{}
	for _, f := range feeds {
		if d.streams[f], err = d.js.Stream(ctx, f.stream); err != nil {
			return fmt.Errorf("webhooks: the stream %s: %w", f.stream, err)
		}
	}
	d.ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := d.sync(ctx); err != nil {
		d.cancel()
		return err
	}
	d.syncs.Add(1)
	go d.syncLoop()
	return nil
}

// Close stops every worker, handing the message it holds back to NATS at once (another
// instance, or the next start, resumes it), and closes the connection.
func (d *Dispatcher) Close() error {
	if d.cancel != nil {
		d.cancel()
		d.syncs.Wait()
		d.mu.Lock()
		workers := d.workers
		d.workers = map[workerKey]*worker{}
		d.mu.Unlock()
		for _, w := range workers {
			<-w.done
		}
	}
	if d.nc != nil {
		d.nc.Close()
	}
	return nil
}

// Register stores a webhook and starts delivering to it every public message published from
// now on, and, for a trusted one, every embargoed message too. It returns the webhook and its
// signing secret, generated if reg has none.
//
// Errors: *InvalidError; ErrUnavailable; otherwise a database error.
func (d *Dispatcher) Register(ctx context.Context, reg Registration) (Webhook, string, error) {
	if err := reg.Validate(); err != nil {
		return Webhook{}, "", err
	}
	var last [2]uint64 // each feed's last sequence: the webhook receives what comes after
	for i, f := range feeds {
		info, err := d.streams[f].Info(ctx)
		if err != nil {
			return Webhook{}, "", fmt.Errorf("register webhook: %w: %w", ErrUnavailable, err)
		}
		last[i] = info.State.LastSeq
	}
	w, secret, err := d.reg.Create(ctx, reg, last[0], last[1], time.Now())
	if err != nil {
		return Webhook{}, "", err
	}
	for _, f := range feeds {
		if !f.receives(w) {
			continue
		}
		if err := d.durable(w.ID, f, d.cfg.Logger).Ensure(ctx); err != nil {
			// Not half-registered: a registration without its consumer would start from
			// wherever the cursor is when some instance creates it, which is what was asked
			// anyway; but the admin is told it failed, so it must not exist.
			if derr := d.Delete(context.WithoutCancel(ctx), w.ID); derr != nil {
				d.cfg.Logger.Warn("webhooks: undo a failed registration", "webhook", w.ID, "error", derr)
			}
			return Webhook{}, "", fmt.Errorf("register webhook: %w: %w", ErrUnavailable, err)
		}
	}
	d.startWorkers(w)
	return w, secret, nil
}

// Get returns one webhook. Errors: ErrNotFound; a database error.
func (d *Dispatcher) Get(ctx context.Context, id string) (Webhook, error) { return d.reg.Get(ctx, id) }

// List returns every webhook, oldest first.
func (d *Dispatcher) List(ctx context.Context) ([]Webhook, error) { return d.reg.List(ctx) }

// Deliveries returns a webhook's attempts, newest first (see Registry.Deliveries).
func (d *Dispatcher) Deliveries(ctx context.Context, id string, before int64, limit int) ([]Delivery, error) {
	return d.reg.Deliveries(ctx, id, before, limit)
}

// Delete stops deliveries to a webhook and removes it, its consumers and its attempts. Other
// instances stop theirs when they next look (SyncEvery) or when the consumer is gone.
//
// Errors: ErrNotFound; a database error. A consumer NATS could not delete now is deleted at
// the next look at the registrations (SyncEvery) of any instance.
func (d *Dispatcher) Delete(ctx context.Context, id string) error {
	if err := d.reg.Delete(ctx, id); err != nil {
		return err
	}
	for _, f := range feeds {
		d.stopWorker(workerKey{id, f})
		if err := d.js.DeleteConsumer(ctx, f.stream, DurablePrefix+id); err != nil &&
			!errors.Is(err, jetstream.ErrConsumerNotFound) {
			d.cfg.Logger.Warn("webhooks: delete the consumer of a deleted webhook", "webhook", id, "stream", f.stream, "error", err)
		}
	}
	return nil
}

// Backlog is how far the webhooks are behind the public stream (trusted webhooks' cursors on the
// embargoed stream are not counted).
type Backlog struct {
	Webhooks int    // registered, on every instance
	Cursor   uint64 // the least advanced webhook's cursor; the public stream's last sequence when none is registered
	Last     uint64 // the public stream's last sequence
}

// Backlog reads the public stream's last sequence and the registrations' cursors. Errors:
// ErrUnavailable when NATS does not answer; otherwise a database error.
func (d *Dispatcher) Backlog(ctx context.Context) (Backlog, error) {
	info, err := d.streams[publicFeed].Info(ctx)
	if err != nil {
		return Backlog{}, fmt.Errorf("webhooks backlog: %w: %w", ErrUnavailable, err)
	}
	n, least, err := d.reg.LeastCursor(ctx)
	if err != nil {
		return Backlog{}, err
	}
	b := Backlog{Webhooks: n, Cursor: least, Last: info.State.LastSeq}
	if n == 0 {
		b.Cursor = b.Last
	}
	return b, nil
}

// syncLoop reconciles the workers with the registrations until Close.
func (d *Dispatcher) syncLoop() {
	defer d.syncs.Done()
	t := time.NewTicker(d.cfg.SyncEvery)
	defer t.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
			if err := d.sync(d.ctx); err != nil && d.ctx.Err() == nil {
				d.cfg.Logger.Warn("webhooks: read the registrations", "error", err)
			}
		}
	}
}

// sync starts the workers of each registration that has none (or whose worker stopped),
// stops the workers of registrations that are gone, and deletes the consumers they left behind.
func (d *Dispatcher) sync(ctx context.Context) error {
	// Consumers are listed before the registrations: a consumer is made after its
	// registration, so one listed here without a registration read after is an orphan.
	type consumer struct {
		id   string
		feed feed
	}
	var consumers []consumer
	listed := true
	for _, f := range feeds {
		names := d.streams[f].ConsumerNames(ctx)
		for name := range names.Name() {
			if id, ok := strings.CutPrefix(name, DurablePrefix); ok {
				consumers = append(consumers, consumer{id, f})
			}
		}
		listed = listed && names.Err() == nil
	}
	regs, err := d.reg.all(ctx)
	if err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	registered := make(map[workerKey]bool, len(regs))
	for _, r := range regs {
		for _, f := range feeds {
			registered[workerKey{r.ID, f}] = f.receives(r.Webhook)
		}
		d.startWorkers(r.Webhook)
	}
	for _, c := range consumers {
		if listed && !registered[workerKey{c.id, c.feed}] {
			if err := d.js.DeleteConsumer(ctx, c.feed.stream, DurablePrefix+c.id); err != nil &&
				!errors.Is(err, jetstream.ErrConsumerNotFound) {
				d.cfg.Logger.Warn("webhooks: delete the consumer of a deleted webhook", "webhook", c.id, "stream", c.feed.stream, "error", err)
			}
		}
	}
	d.mu.Lock()
	var gone []workerKey
	for key := range d.workers {
		if !registered[key] {
			gone = append(gone, key)
		}
	}
	d.mu.Unlock()
	for _, key := range gone {
		d.stopWorker(key)
	}
	return nil
}

// startWorkers starts delivering each feed w receives, unless a worker already does, or the
// dispatcher is closing.
func (d *Dispatcher) startWorkers(w Webhook) {
	for _, f := range feeds {
		if f.receives(w) {
			d.startWorker(workerKey{w.ID, f})
		}
	}
}

// startWorker starts delivering one feed to one webhook unless a worker already does, or the
// dispatcher is closing.
func (d *Dispatcher) startWorker(key workerKey) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx.Err() != nil {
		return
	}
	if w, ok := d.workers[key]; ok {
		select {
		case <-w.done: // it stopped by itself (its consumer vanished): start afresh
		default:
			return
		}
	}
	ctx, cancel := context.WithCancel(d.ctx)
	w := &worker{d: d, id: key.id, feed: key.feed, stream: d.streams[key.feed], cancel: cancel, done: make(chan struct{}),
		log: d.cfg.Logger.With("webhook", key.id, "stream", key.feed.stream)}
	d.workers[key] = w
	go func() {
		defer close(w.done)
		w.run(ctx)
	}()
}

// stopWorker stops a worker and waits until it has let go of its message.
func (d *Dispatcher) stopWorker(key workerKey) {
	d.mu.Lock()
	w, ok := d.workers[key]
	delete(d.workers, key)
	d.mu.Unlock()
	if ok {
		w.cancel()
		<-w.done
	}
}

// consumerConfig is a webhook's durable consumer on a feed's stream: every message after the
// cursor, strictly in order, one in flight, redelivered forever; events.Worker positions it and
// puts it in the pinned priority group, so that one instance at a time delivers to a webhook.
func (d *Dispatcher) consumerConfig(id string, f feed) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable: DurablePrefix + id,
		// The URL is not named: its query may hold a receiver's token.
		Description:   "newsroom webhook " + id,
		FilterSubject: f.subjects,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       d.cfg.AckWait,
		MaxAckPending: 1,
	}
}
