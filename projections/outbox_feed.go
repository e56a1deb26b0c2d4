package projections

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
)

// EmbargoedOutboxDurable is the durable consumer of the embargoed outbox. The name is permanent.
const EmbargoedOutboxDurable = "embargoed-outbox"

// outboxFeed is the stream an outbox writes and which of the log's events make a message there.
// Each feed has an outbox of its own (its durable, its pipeline, its place): the public stream
// and the embargoed stream never wait for each other, and each holds its messages in log order.
type outboxFeed struct {
	durable, description string // the durable's name is permanent
	stream               func(replicas int) jetstream.StreamConfig
	subjects             string // every subject of the stream
	// trusted: the stream is for trusted subscribers alone (NEWSROOM_EMBARGOED).
	trusted bool
	// sparse: the stream gets a message only now and then (an embargo is rare), so its newest
	// message may be far behind the durable, and checking that the log holds nothing for the
	// stream in between would read much of the log at every start. The durable is trusted
	// instead when the stream is older than it: the outbox acknowledges a batch only once its
	// messages are written, so a stream that existed all along holds every one the durable
	// acknowledged. A stream recreated since (younger than the durable) is checked as the public
	// one is. What this cannot see is a stream purged by hand, or one whose newest messages an
	// embedded server lost in a power cut under --nats-no-sync: then the messages between are
	// not written again.
	sparse bool
}

var (
	publicFeed = outboxFeed{durable: OutboxDurable, description: "newsroom public outbox",
		stream: events.PublicStreamConfig, subjects: events.PublicSubjectAll}
	embargoedFeed = outboxFeed{durable: EmbargoedOutboxDurable, description: "newsroom embargoed outbox",
		stream: events.EmbargoedStreamConfig, subjects: events.EmbargoedSubjectAll, trusted: true, sparse: true}
)

// action says which message event e makes on the feed's stream, if any: routed by who may
// learn of the event (domain.AudienceOf), never by its type alone.
func (f outboxFeed) action(e domain.Event) (string, bool) {
	if f.trusted {
		return events.EmbargoedActionOf(e)
	}
	return events.PublicActionOf(e)
}

// NewEmbargoedOutbox returns the outbox of the embargoed stream, NEWSROOM_EMBARGOED: what
// trusted subscribers alone may see of articles under embargo (published, corrected, retracted,
// killed, the embargo moved), each with ninjs embargoed set, and the lift of each embargo. It
// works as the public outbox does, on its own durable; its kills' second erasure pass covers
// every kill it passes, public ones too (an article lifted and then killed has copies here).
func NewEmbargoedOutbox(cfg OutboxConfig) *Outbox {
	o := NewOutbox(cfg)
	o.feed = embargoedFeed
	return o
}

// embargoedText completes the text of a message of the embargoed stream with the end of the
// embargo, which only a publication and a move carry: the others ask the article's events up
// to env. A move shows the article as it stands, under its new embargo. Should the events be
// gone (a kill erased them meanwhile), the message goes without: the kill's second pass
// erases it.
func (o *Outbox) embargoedText(ctx context.Context, env events.Envelope, e domain.Event, t events.PublicText) (events.PublicText, error) {
	switch e := e.(type) {
	case domain.Corrected, domain.Retracted:
		a, err := o.articleAt(ctx, env)
		if err != nil {
			return t, err
		}
		t.EmbargoUntil = a.EmbargoUntil
	case domain.EmbargoMoved:
		a, err := o.articleAt(ctx, env)
		if err != nil {
			return t, err
		}
		t = events.PublicText{Slug: a.Slug, PublishedAt: a.PublishedAt, Headline: a.Headline, Summary: a.Summary,
			Language: a.Language, Byline: a.Byline, Dateline: a.Dateline, Tags: a.Tags, EmbargoUntil: e.EmbargoUntil}
		if t.BodyHTML, err = RenderMarkdown(a.Body); err != nil {
			return t, err
		}
	}
	return t, nil
}

// articleAt folds the article of env as it stood once env was recorded.
func (o *Outbox) articleAt(ctx context.Context, env events.Envelope) (domain.Article, error) {
	h, err := o.cfg.Log.Load(ctx, env.ArticleID)
	if err != nil {
		return domain.Article{}, err
	}
	var history []domain.Recorded
	for _, past := range h.Events {
		if past.Sequence > env.Sequence {
			break
		}
		r, err := past.Recorded()
		if err != nil {
			return domain.Article{}, err
		}
		history = append(history, r)
	}
	return domain.Fold(env.ArticleID, history), nil
}
