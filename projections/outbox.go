package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
)

// OutboxDurable is the durable consumer of the public outbox. The name is permanent.
const OutboxDurable = "public-outbox"

// Articles loads one article's events from the log; *events.Store implements it.
type Articles interface {
	Load(ctx context.Context, articleID string) (events.History, error)
}

// OutboxConfig wires an Outbox.
type OutboxConfig struct {
	// Connect opens the NATS connection the outbox consumes and publishes on.
	Connect   func() (*nats.Conn, error)
	Articles  Articles
	PublicURL string
	Replicas  int
	Logger    *slog.Logger
	// PinnedTTL is how long a silent active instance keeps the outbox before another takes
	// over; DefaultPinnedTTL if 0.
	PinnedTTL time.Duration
}

// Outbox turns internal events into public ones on NEWSROOM_PUBLIC: published, corrected and
// retracted articles, as CloudEvents with ninjs bodies. It is a Watermill handler on its own
// durable consumer, like a view, but its "checkpoint" is the public stream itself: every public
// message carries the sequence of the event it came from, and after a restart or a lost durable
// the outbox resumes after the last one it wrote, so nothing is republished even outside the
// dedupe window. Drafts and reviews never reach it.
type Outbox struct {
	cfg    OutboxConfig
	nc     *nats.Conn
	js     jetstream.JetStream
	router *message.Router
	sub    *durableSubscriber

	mu         sync.Mutex
	lastSource uint64 // the source sequence of the last public message written
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
		cfg.PinnedTTL = DefaultPinnedTTL
	}
	return &Outbox{cfg: cfg}
}

// Start creates the public stream if needed, finds where the outbox stopped, and starts
// publishing in the background until Close.
func (o *Outbox) Start(ctx context.Context) error {
	nc, err := o.cfg.Connect()
	if err != nil {
		return fmt.Errorf("outbox: connect: %w", err)
	}
	o.nc = nc
	if o.js, err = jetstream.New(nc); err != nil {
		return err
	}
	if err := whileTransient(ctx, func() error {
		public, err := events.EnsureStream(ctx, o.js, events.PublicStreamConfig(o.cfg.Replicas))
		if err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		if o.lastSource, err = lastSourceSeq(ctx, public); err != nil {
			return err
		}
		return o.position(ctx)
	}); err != nil {
		return err
	}
	o.sub = newDurableSubscriber(o.js, OutboxDurable, o.cfg.Logger)
	if o.router, err = runHandler(ctx, o.cfg.Logger.With("handler", OutboxDurable), OutboxDurable, o.sub, o.handle); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

// Close stops the outbox after the event in hand.
func (o *Outbox) Close() error {
	var err error
	if o.router != nil {
		err = o.router.Close()
	}
	if o.nc != nil {
		o.nc.Close()
	}
	return err
}

// LastSource is the source sequence of the last public message written.
func (o *Outbox) LastSource() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lastSource
}

// lastSourceSeq reads the source sequence of the newest public message (0 if there is none).
func lastSourceSeq(ctx context.Context, public jetstream.Stream) (uint64, error) {
	// The newest message that exists: one deleted at the end (by an operator; a kill never
	// erases its own message) does not send the outbox back to the start.
	msg, err := public.GetLastMsgForSubject(ctx, events.PublicSubjectAll)
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

// position creates the outbox's durable just after the last source it published, unless it
// exists (events at or below lastSource are skipped by the handler); an existing one is put in
// the pinned priority group, so that one instance publishes at a time (see activeGroup).
func (o *Outbox) position(ctx context.Context) error {
	stream, err := o.js.Stream(ctx, events.StreamName)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if c, err := stream.Consumer(ctx, OutboxDurable); err == nil {
		if err := upgradeDurable(ctx, stream, c.CachedInfo().Config, o.cfg.PinnedTTL, o.cfg.Logger); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		return nil
	} else if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("outbox: %w", err)
	}
	if err := createDurable(ctx, stream, consumerConfig(OutboxDurable, "newsroom public outbox", o.LastSource(), o.cfg.PinnedTTL)); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

func (o *Outbox) handle(msg *message.Message) error {
	seq, err := strconv.ParseUint(msg.Metadata.Get(seqMetadata), 10, 64)
	if err != nil {
		return fmt.Errorf("outbox: message %s has no stream sequence", msg.UUID)
	}
	if delivered, _ := strconv.ParseUint(msg.Metadata.Get(deliveredMetadata), 10, 64); delivered > 1 {
		// A redelivery: another instance may have had this event and published it before it
		// stopped, past what this one last read. (An event delivered for the first time was
		// handed to no one else.) The public stream says how far the outbox really got.
		public, err := o.js.Stream(msg.Context(), events.PublicStreamName)
		if err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		last, err := lastSourceSeq(msg.Context(), public)
		if err != nil {
			return err
		}
		o.mu.Lock()
		o.lastSource = max(o.lastSource, last)
		o.mu.Unlock()
	}
	env, err := events.Unmarshal(msg.Payload, seq)
	if err != nil {
		return err
	}
	if seq <= o.LastSource() {
		if env.Type == domain.TypeKilled {
			// Published already, but its erasure may have failed: it is idempotent, redo it.
			return o.erase(msg.Context(), env.ArticleID, env.Sequence)
		}
		return nil // published already
	}
	r, err := env.Recorded()
	if err != nil {
		return err
	}
	action, public := events.PublicActionOf(r.Event)
	if !public {
		return nil
	}
	text, err := o.publicText(msg.Context(), env, r.Event)
	if err != nil {
		return err
	}
	out, err := events.PublicEvent{Action: action, Source: env, PublicURL: o.cfg.PublicURL, Text: text}.Msg()
	if err != nil {
		return err
	}
	// Published with nats.go directly, reading the ack: the event id dedupes a retry.
	if _, err := o.js.PublishMsg(msg.Context(), out, jetstream.WithMsgID(env.ID)); err != nil {
		return fmt.Errorf("outbox: publish %s: %w", env.ID, err)
	}
	if action == events.ActionKilled {
		// Subscribers know of the kill: now its text goes. Every earlier public message of
		// the article was written before this one (the outbox goes in order), so none can
		// follow the erasure. A crash before it is done: the sweep at start finishes it.
		if err := o.erase(msg.Context(), env.ArticleID, env.Sequence); err != nil {
			return err
		}
	}
	o.mu.Lock()
	o.lastSource = seq
	o.mu.Unlock()
	return nil
}

// publicText is what the public event shows. Published and Corrected carry their text; a
// retraction shows the headline it withdraws, read from the article's own events.
func (o *Outbox) publicText(ctx context.Context, env events.Envelope, e domain.Event) (events.PublicText, error) {
	var t events.PublicText
	switch e := e.(type) {
	case domain.Killed:
		return t, nil // no text at all
	case domain.Published:
		t = events.PublicText{Slug: e.Slug, PublishedAt: e.PublishedAt, Headline: e.Headline, Summary: e.Summary,
			Language: e.Language, Byline: e.Byline, Dateline: e.Dateline, Tags: e.Tags}
		t.BodyHTML = e.Body
	case domain.Corrected:
		t = events.PublicText{Slug: e.Slug, PublishedAt: e.PublishedAt, Headline: e.Headline, Summary: e.Summary,
			Language: e.Language, Byline: e.Byline, Dateline: e.Dateline, Tags: e.Tags, Note: e.Note}
		t.BodyHTML = e.Body
	case domain.Retracted:
		h, err := o.cfg.Articles.Load(ctx, env.ArticleID)
		if err != nil {
			return t, err
		}
		var history []domain.Recorded
		for _, past := range h.Events {
			if past.Sequence > env.Sequence {
				break
			}
			r, err := past.Recorded()
			if err != nil {
				return t, err
			}
			history = append(history, r)
		}
		a := domain.Fold(env.ArticleID, history)
		return events.PublicText{Slug: a.Slug, PublishedAt: a.PublishedAt, Headline: a.Headline, Note: e.Reason}, nil
	}
	html, err := RenderMarkdown(t.BodyHTML)
	t.BodyHTML = html
	return t, err
}
