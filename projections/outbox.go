package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
)

// OutboxDurable is the durable consumer of the public outbox. The name is permanent.
const OutboxDurable = "public-outbox"

// OutboxLog is what the outbox reads of the log besides its durable; *events.Store implements
// it.
type OutboxLog interface {
	// Load reads an article's events: the notice of a retraction recorded before Retracted
	// carried it.
	Load(ctx context.Context, articleID string) (events.History, error)
	// ReadLog reads a range of the log: whether only events that are not public lie between
	// the public stream's last message and where the durable resumes, or a batch starts.
	ReadLog(ctx context.Context, from, until uint64, batchSize int, fn func([]events.Envelope) error) error
}

// OutboxConfig wires an Outbox.
type OutboxConfig struct {
	// Connect opens the NATS connection the outbox consumes and publishes on.
	Connect   func() (*nats.Conn, error)
	Log       OutboxLog
	PublicURL string
	Replicas  int
	Logger    *slog.Logger
	// PinnedTTL is how long a silent active instance keeps the outbox before another takes
	// over; events.DefaultPinnedTTL if 0.
	PinnedTTL time.Duration
	// Window is how many public messages may be in flight at once; DefaultOutboxWindow if 0.
	Window int
	// MaxBatch is how many log events the outbox takes from its durable at once;
	// DefaultOutboxBatch if 0.
	MaxBatch int
	// Eraser erases killed articles' text; the outbox feeds it each kill it has published (the
	// second pass). Nil: the outbox runs one of its own, on its connection.
	Eraser *Eraser
	// Media resolves the images of published articles (ninjs associations, inline images);
	// nil: messages carry no images.
	Media MediaImages
}

// DefaultOutboxWindow is how many public messages the outbox keeps in flight: enough that the
// server always has the next one in hand when it has written one (with fsync before every ack,
// it writes them one by one; the round trips are what the window hides).
const DefaultOutboxWindow = 256

// DefaultOutboxBatch is how many log events the outbox takes at once: a batch is acknowledged
// as a whole once its public messages are written.
const DefaultOutboxBatch = 1000

// Outbox turns internal events into public ones on NEWSROOM_PUBLIC: published, corrected,
// retracted and killed articles, as CloudEvents with ninjs bodies. It consumes its own durable
// (one pinned instance at a time, like a view), but its "checkpoint" is the public stream
// itself: every public message carries the sequence of the event it came from, and after a
// restart or a lost durable the outbox resumes after the last one it wrote, so nothing is
// republished even outside the dedupe window. It publishes many messages at once and checks
// their acks in order (see publicPipeline). Drafts and reviews never reach it. A kill's text is
// erased beside it, by the Eraser, never inline.
type Outbox struct {
	cfg       OutboxConfig
	feed      outboxFeed // the stream it writes: public, or embargoed (NewEmbargoedOutbox)
	nc        *nats.Conn
	js        jetstream.JetStream
	worker    *events.Worker
	stop      context.CancelFunc // ends the worker
	done      chan struct{}      // closed when the worker has returned
	ownEraser bool

	mu   sync.Mutex // guards pipe and handled: one batch at a time
	pipe *publicPipeline
	// handled is the log sequence up to which every public event is known to be on the public
	// stream (or erased): a batch that starts further on is checked first (see follows).
	handled uint64
}

// NewOutbox returns an outbox; Start runs it.
func NewOutbox(cfg OutboxConfig) *Outbox {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	if cfg.PinnedTTL <= 0 {
		cfg.PinnedTTL = events.DefaultPinnedTTL
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultOutboxWindow
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultOutboxBatch
	}
	return &Outbox{cfg: cfg, feed: publicFeed}
}

// Start creates the public stream if needed, finds where the outbox stopped, and starts
// publishing in the background until Close: it consumes its durable with an events.Worker, as
// the pinned member of its priority group, one batch at a time.
func (o *Outbox) Start(ctx context.Context) error {
	if err := o.open(ctx); err != nil {
		return err
	}
	o.worker = &events.Worker{JS: o.js, Stream: events.StreamName, MaxBatch: o.cfg.MaxBatch, Resume: o.resume,
		Logger: o.cfg.Logger, Consumer: jetstream.ConsumerConfig{
			Durable: o.feed.durable, Description: o.feed.description, FilterSubject: events.SubjectAll,
			AckPolicy: jetstream.AckAllPolicy, MaxAckPending: o.cfg.MaxBatch, PinnedTTL: o.cfg.PinnedTTL,
		}}
	if err := whileTransient(ctx, func() error { return o.worker.Ensure(ctx) }); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	o.stop, o.done = stop, make(chan struct{})
	go func() {
		defer close(o.done)
		_ = o.worker.Run(runCtx, func(ctx context.Context, batch []jetstream.Msg) error {
			envs, err := events.EnvelopesOf(batch)
			if err != nil {
				return err
			}
			return o.PublishBatch(ctx, envs)
		})
	}()
	return nil
}

// resume is the last log sequence the outbox has handled for good, where its durable resumes:
// the source of the newest public message, or the durable's acknowledged position if only
// events that are not public lie between the two (the outbox acknowledges a batch once its
// public messages are written, so the public stream alone would send it back over every
// draft and review since its last publication, and move the durable at every start).
func (o *Outbox) resume(ctx context.Context) (uint64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.pipe.resync(ctx, o.cfg.Replicas); err != nil {
		return 0, err
	}
	last := o.pipe.lastSource
	c, err := o.js.Consumer(ctx, events.StreamName, o.feed.durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return last, nil
	}
	if err != nil {
		return 0, fmt.Errorf("outbox: %w", err)
	}
	acked := c.CachedInfo().AckFloor.Stream
	o.handled = last
	if acked <= last {
		return last, nil
	}
	if o.feed.sparse && o.pipe.created.Before(c.CachedInfo().Created) {
		// See outboxFeed.sparse: the stream has held all the durable acknowledged.
		o.handled = acked
		return acked, nil
	}
	public, err := o.publicBetween(ctx, last+1, acked)
	if err != nil || public {
		return last, err // public events the durable had seen are missing: publish them again
	}
	o.handled = acked
	return acked, nil
}

// publicBetween reports whether the log holds an event that makes a message on the outbox's
// stream from sequence from to until.
func (o *Outbox) publicBetween(ctx context.Context, from, until uint64) (bool, error) {
	errPublic := errors.New("a public event")
	err := o.cfg.Log.ReadLog(ctx, from, until, 1000, func(batch []events.Envelope) error {
		for _, env := range batch {
			r, err := env.Recorded()
			if err != nil {
				return err
			}
			if _, carried := o.feed.action(r.Event); carried {
				return errPublic
			}
		}
		return nil
	})
	if errors.Is(err, errPublic) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("outbox: %w", err)
	}
	return false, nil
}

// open connects, finds where the public stream stopped and starts the eraser if the outbox
// owns it: everything PublishBatch needs.
func (o *Outbox) open(ctx context.Context) error {
	nc, err := o.cfg.Connect()
	if err != nil {
		return fmt.Errorf("outbox: connect: %w", err)
	}
	o.nc = nc
	if o.js, err = jetstream.New(nc); err != nil {
		return err
	}
	if o.pipe, err = newPublicPipeline(nc, o.cfg.Window, o.feed); err != nil {
		return err
	}
	if err := whileTransient(ctx, func() error { return o.pipe.resync(ctx, o.cfg.Replicas) }); err != nil {
		return err
	}
	if o.cfg.Eraser == nil {
		o.cfg.Eraser, o.ownEraser = NewEraser(o.js, o.cfg.Logger), true
		o.cfg.Eraser.Start()
	}
	return nil
}

// Close stops the outbox after the batch in hand.
func (o *Outbox) Close() error {
	if o.stop != nil {
		o.stop()
		<-o.done
	}
	if o.ownEraser {
		o.cfg.Eraser.Close()
	}
	if o.nc != nil {
		o.nc.Close()
	}
	return nil
}

// Position is the log sequence up to which the outbox has handled every event (its public
// messages are on the public stream), whichever instance holds it: its durable's
// acknowledgement floor. Errors: those of events.Worker.Acknowledged; events.ErrUnavailable
// before Start.
func (o *Outbox) Position(ctx context.Context) (uint64, error) {
	if o.worker == nil {
		return 0, fmt.Errorf("outbox not started: %w", events.ErrUnavailable)
	}
	return o.worker.Acknowledged(ctx)
}

// Eraser is the eraser the outbox feeds.
func (o *Outbox) Eraser() *Eraser { return o.cfg.Eraser }

// LastSource is the source sequence of the last public message written.
func (o *Outbox) LastSource() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.pipe == nil {
		return 0 // not started
	}
	return o.pipe.lastSource
}

// lastSourceSeq reads the source sequence of the newest message on subjects of stream (0 if
// there is none).
func lastSourceSeq(ctx context.Context, public jetstream.Stream, subjects string) (uint64, error) {
	// The newest message that exists. One deleted at the end (by an operator, or by a kill's
	// first erasure pass before the kill's own message is written) sends the outbox back only
	// over events that are erased too or not public: a public event between the two would
	// have a message after the one found. The kill's own message is never erased.
	msg, err := public.GetLastMsgForSubject(ctx, subjects)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil // nothing published yet
	}
	if err != nil {
		return 0, fmt.Errorf("outbox: read the last public message: %w", err)
	}
	seq, err := strconv.ParseUint(msg.Header.Get(events.SourceSeqHeader), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("outbox: public message %d has no %s header", msg.Sequence, events.SourceSeqHeader)
	}
	return seq, nil
}

// outboxRounds is how many times in a row a batch is tried again after a pipeline failure
// that wrote nothing, before the batch is handed back (and redelivered with backoff).
const outboxRounds = 3

// PublishBatch publishes the public events among batch (envelopes in log order), those past
// the last one the public stream holds, many in flight. It returns nil once every one is
// written; on an error the public stream holds a prefix of them, and the batch given again
// resumes after it. Kills written are handed to the eraser for their second pass.
func (o *Outbox) PublishBatch(ctx context.Context, batch []events.Envelope) error {
	if len(batch) == 0 {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.follows(ctx, batch[0].Sequence); err != nil {
		return err
	}
	out, err := o.outgoing(ctx, batch)
	if err != nil {
		return err
	}
	if err := o.publish(ctx, out); err != nil {
		return err
	}
	if o.feed.trusted {
		// The second pass of every kill, once the messages before it are written: an article
		// killed after its lift has copies here under embargo but its kill on the public stream.
		for _, env := range batch {
			if env.Type == domain.TypeKilled {
				o.cfg.Eraser.Enqueue(env.ArticleID, env.Sequence)
			}
		}
	}
	o.handled = max(o.handled, batch[len(batch)-1].Sequence)
	return nil
}

// ErrOutboxGap is PublishBatch's answer to a batch that starts after a public event the public
// stream does not hold: publishing it would skip that event for good.
var ErrOutboxGap = errors.New("outbox: the batch starts after a public event not yet published")

// follows checks that a batch starting at log sequence first leaves no public event unpublished
// before it. Its durable can hand an outbox such a batch: while one instance, its batch failed,
// waits to reposition, the pin may pass to another, which is handed the events after that
// batch; acknowledging them (AckAll) would acknowledge the failed batch too. Refused, the
// batch makes the worker reposition the durable where the public stream stopped.
func (o *Outbox) follows(ctx context.Context, first uint64) error {
	from := max(o.handled, o.pipe.lastSource) + 1
	if first <= from {
		return nil
	}
	public, err := o.publicBetween(ctx, from, first-1)
	if err != nil {
		return err
	}
	if public {
		return fmt.Errorf("%w: the public stream holds events up to %d, the batch starts at %d", ErrOutboxGap, from-1, first)
	}
	o.handled = first - 1
	return nil
}

// publish writes out through the pipeline, resyncing and resuming after a failure as long as
// that makes progress.
func (o *Outbox) publish(ctx context.Context, out []outgoing) error {
	for idle := 0; len(out) > 0; {
		n, err := o.pipe.publish(ctx, out)
		if err == nil {
			o.written(out)
			return nil
		}
		if n > 0 {
			idle = 0
		} else if idle++; idle >= outboxRounds {
			return err
		}
		if !isWrongLastSequence(err) {
			o.cfg.Logger.Warn("outbox: publish failed; resuming where the public stream stopped", "error", err)
		}
		if rerr := o.pipe.resync(ctx, o.cfg.Replicas); rerr != nil {
			return errors.Join(err, rerr)
		}
		// What the stream holds now (confirmed, or landed with its ack lost) is done.
		done := 0
		for done < len(out) && out[done].source <= o.pipe.lastSource {
			done++
		}
		o.written(out[:done])
		out = out[done:]
	}
	return nil
}

// written hands the kills among out, now on the public stream, to the eraser: a message of the
// article that was in flight during the first pass is gone after this one.
func (o *Outbox) written(out []outgoing) {
	for _, m := range out {
		if m.kill {
			o.cfg.Eraser.Enqueue(m.article, m.source)
		}
	}
}

// outgoing makes the public messages of the public events in batch past the last one written.
func (o *Outbox) outgoing(ctx context.Context, batch []events.Envelope) ([]outgoing, error) {
	var out []outgoing
	for _, env := range batch {
		if env.Sequence <= o.pipe.lastSource {
			if env.Type == domain.TypeKilled {
				// Published already, but the process may have stopped before its erasure's
				// second pass: idempotent, so asked again.
				o.cfg.Eraser.Enqueue(env.ArticleID, env.Sequence)
			}
			continue
		}
		r, err := env.Recorded()
		if err != nil {
			return nil, err
		}
		action, public := o.feed.action(r.Event)
		if !public {
			continue
		}
		text, err := o.publicText(ctx, env, r.Event)
		if err != nil {
			return nil, err
		}
		text.TranslationSet = domain.TranslationSetOf(env.ArticleID, r.Event)
		if o.feed.trusted {
			if text, err = o.embargoedText(ctx, env, r.Event, text); err != nil {
				return nil, err
			}
		}
		msg, err := events.PublicEvent{Action: action, Source: env, PublicURL: o.cfg.PublicURL, Text: text, Trusted: o.feed.trusted}.Msg()
		if err != nil {
			return nil, err
		}
		out = append(out, outgoing{msg: msg, id: env.ID, source: env.Sequence, kill: action == events.ActionKilled,
			article: env.ArticleID})
	}
	return out, nil
}

// publicText is what the public event shows. Published and Corrected carry their text; a
// retraction shows the headline it withdraws, which it carries (an older one: see olderRetraction).
func (o *Outbox) publicText(ctx context.Context, env events.Envelope, e domain.Event) (events.PublicText, error) {
	var t events.PublicText
	var media []domain.MediaRef
	switch e := e.(type) {
	case domain.Killed:
		return t, nil // no text at all
	case domain.Published:
		t = events.PublicText{Slug: e.Slug, PublishedAt: e.PublishedAt, Headline: e.Headline, Summary: e.Summary,
			Language: e.Language, Byline: e.Byline, Dateline: e.Dateline, Tags: e.Tags, EmbargoUntil: e.EmbargoUntil}
		t.BodyHTML, media = e.Body, e.Media
	case domain.EmbargoLifted:
		// The public's first publication: firstcreated is the lift.
		t = events.PublicText{Slug: e.Slug, PublishedAt: e.PublishedAt, Headline: e.Headline, Summary: e.Summary,
			Language: e.Language, Byline: e.Byline, Dateline: e.Dateline, Tags: e.Tags}
		t.BodyHTML, media = e.Body, e.Media
	case domain.EmbargoMoved:
		return t, nil // the embargoed outbox folds the article for it (embargoedText)
	case domain.Corrected:
		t = events.PublicText{Slug: e.Slug, PublishedAt: e.PublishedAt, Headline: e.Headline, Summary: e.Summary,
			Language: e.Language, Byline: e.Byline, Dateline: e.Dateline, Tags: e.Tags, Note: e.Note}
		t.BodyHTML, media = e.Body, e.Media
	case domain.Retracted:
		if e.Complete() {
			return events.PublicText{Slug: e.Slug, PublishedAt: e.PublishedAt, Headline: e.Headline, Note: e.Reason}, nil
		}
		return o.olderRetraction(ctx, env, e)
	}
	html, err := RenderMarkdown(t.BodyHTML)
	if err != nil {
		return t, err
	}
	t.BodyHTML = html
	if o.cfg.Media == nil || len(media) == 0 {
		return t, nil
	}
	images, err := o.cfg.Media.Images(ctx, domain.MediaIDs(media))
	if err != nil {
		return t, fmt.Errorf("images of article %s: %w", env.ArticleID, err)
	}
	href := PublicMediaHref(o.cfg.PublicURL)
	t.BodyHTML = ResolveImages(t.BodyHTML, media, images, href)
	t.Images = PublicImages(media, images, href)
	return t, nil
}

// olderRetraction is the notice of a retraction recorded before Retracted carried it: the
// headline it withdraws is read from the article's own events.
func (o *Outbox) olderRetraction(ctx context.Context, env events.Envelope, e domain.Retracted) (events.PublicText, error) {
	a, err := o.articleAt(ctx, env)
	if err != nil {
		return events.PublicText{}, err
	}
	return events.PublicText{Slug: a.Slug, PublishedAt: a.PublishedAt, Headline: a.Headline, Note: e.Reason}, nil
}
