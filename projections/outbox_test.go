package projections_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
)

var quietLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

// newOutbox returns an outbox on the log's server, closed when the test ends; eraser nil: the
// outbox runs its own.
func (l *logOnline) newOutbox(tb testing.TB, articles projections.OutboxLog, eraser *projections.Eraser) *projections.Outbox {
	tb.Helper()
	if articles == nil {
		articles = l.store
	}
	o := projections.NewOutbox(projections.OutboxConfig{
		Connect:   func() (*nats.Conn, error) { return nats.Connect(l.srv.ClientURL()) },
		Log:       articles,
		PublicURL: "https://news.example",
		Logger:    quietLog,
		PinnedTTL: time.Second,
		Eraser:    eraser,
	})
	tb.Cleanup(func() { _ = o.Close() })
	return o
}

// publishedStories appends n articles, each drafted, revised, submitted, approved and
// published; every second one corrected, every fifth retracted. It returns the log sequences
// of the public events, in log order.
func (l *logOnline) publishedStories(tb testing.TB, prefix string, n int) []uint64 {
	tb.Helper()
	var public []uint64
	for i := range n {
		s := story{id: fmt.Sprintf("%s-%d", prefix, i), slug: fmt.Sprintf("%s-story-%d", prefix, i), publishedAt: t0}
		envs := s.envelopes(tb, 0)
		for _, env := range envs {
			seq := l.append(tb, env)
			if env.Type == domain.TypePublished {
				public = append(public, seq)
			}
		}
		version := len(envs)
		headline := "Headline of " + s.id
		if i%2 == 0 {
			version++
			public = append(public, l.append(tb, envelope(tb, s.id, version, 0, domain.Corrected{Note: "A date was wrong.",
				Slug: s.slug, PublishedAt: t0, Headline: headline, Body: "Corrected body of " + s.id, Language: "en"}, t0.Add(time.Hour))))
		}
		if i%5 == 0 {
			version++
			public = append(public, l.append(tb, envelope(tb, s.id, version, 0, domain.Retracted{Reason: "Published in error.",
				Slug: s.slug, PublishedAt: t0, Headline: headline}, t0.Add(2*time.Hour))))
		}
	}
	return public
}

// publicMessage is a message of the public stream, as a test reads it.
type publicMessage struct {
	seq, source uint64
	subject     string
	data        string
}

// publicMessages reads every message of the public stream that exists, in order.
func (l *logOnline) publicMessages(tb testing.TB) []publicMessage {
	tb.Helper()
	ctx := context.Background()
	public, err := l.js.Stream(ctx, events.PublicStreamName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		tb.Fatal(err)
	}
	var out []publicMessage
	for seq := uint64(1); ; {
		msg, err := public.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(events.PublicSubjectAll))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		source, err := strconv.ParseUint(msg.Header.Get(events.SourceSeqHeader), 10, 64)
		if err != nil {
			tb.Fatalf("public message %d: %v", msg.Sequence, err)
		}
		out = append(out, publicMessage{seq: msg.Sequence, source: source, subject: msg.Subject, data: string(msg.Data)})
		seq = msg.Sequence + 1
	}
}

func sources(msgs []publicMessage) []uint64 {
	out := make([]uint64, len(msgs))
	for i, m := range msgs {
		out[i] = m.source
	}
	return out
}

// publicCount is how many messages the public stream holds (0 before it exists).
func (l *logOnline) publicCount(tb testing.TB) uint64 {
	tb.Helper()
	public, err := l.js.Stream(context.Background(), events.PublicStreamName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0
	}
	if err != nil {
		tb.Fatal(err)
	}
	info, err := public.Info(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return info.State.Msgs
}

// checkExactlyOnce fails the test unless the public stream holds one message per public event
// of the log, in the log's order.
func (l *logOnline) checkExactlyOnce(tb testing.TB, want []uint64) {
	tb.Helper()
	got := sources(l.publicMessages(tb))
	if !slices.Equal(got, want) {
		var dup, missing []uint64
		seen := map[uint64]bool{}
		for _, s := range got {
			if seen[s] {
				dup = append(dup, s)
			}
			seen[s] = true
		}
		for _, s := range want {
			if !seen[s] {
				missing = append(missing, s)
			}
		}
		tb.Fatalf("the public stream holds %d messages made from the log's %d public events; duplicated %v, missing %v, in order: %v",
			len(got), len(want), dup, missing, slices.IsSorted(got))
	}
}

// TestOutboxPipelineExactlyOnceAcrossCrashes: the outbox publishes the log's public events with
// many publishes in flight; its connection is cut mid-burst several times and a new outbox
// resumes each time. The public stream ends with every public event once, in log order.
func TestOutboxPipelineExactlyOnceAcrossCrashes(t *testing.T) {
	l := newLogOnline(t, nil)
	want := l.publishedStories(t, "burst", 600)
	total := uint64(len(want))
	ctx := context.Background()
	publishAll := func(o *projections.Outbox) error {
		return l.store.ReadLog(ctx, 1, math.MaxUint64, 1000, func(batch []events.Envelope) error {
			return o.PublishBatch(ctx, batch)
		})
	}
	var midBurst int
	for round, at := range []uint64{total / 5, 2 * total / 5, 3 * total / 5, 4 * total / 5} {
		o := l.newOutbox(t, nil, nil)
		if err := o.OpenOnly(ctx); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- publishAll(o) }()
		// Polled without a pause: the crash must land while publishes are in flight.
		for l.publicCount(t) < at {
			select {
			case err := <-done:
				t.Fatalf("round %d: the outbox finished (%v) before the crash at %d messages", round, err, at)
			default:
			}
		}
		o.Crash()
		err := <-done
		n := l.publicCount(t)
		if err != nil && n < total {
			midBurst++
		}
		t.Logf("round %d: crashed at %d of %d public messages (%v)", round, n, total, err)
		_ = o.Close()
	}
	if midBurst == 0 {
		t.Fatal("no crash cut the outbox mid-burst: the test proved nothing")
	}
	o := l.newOutbox(t, nil, nil)
	if err := o.OpenOnly(ctx); err != nil {
		t.Fatal(err)
	}
	if err := publishAll(o); err != nil {
		t.Fatalf("the last outbox: %v", err)
	}
	if o.LastSource() != want[len(want)-1] {
		t.Errorf("LastSource() = %d; want %d", o.LastSource(), want[len(want)-1])
	}
	l.checkExactlyOnce(t, want)
	// A batch given again (a redelivery) publishes nothing.
	if err := publishAll(o); err != nil {
		t.Fatal(err)
	}
	l.checkExactlyOnce(t, want)
}

// TestOutboxConsumesTheLogAcrossACrash: outboxes started as serve starts them (on the durable)
// publish every public event once, in order, although the first one's connection is cut
// while it publishes and a second takes over.
func TestOutboxConsumesTheLogAcrossACrash(t *testing.T) {
	l := newLogOnline(t, nil)
	want := l.publishedStories(t, "live", 300)
	ctx := context.Background()
	first := l.newOutbox(t, nil, nil)
	if err := first.Start(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitBound, "the first outbox publishes", func() (bool, string) {
		n := l.publicCount(t)
		return n >= uint64(len(want)/3), fmt.Sprintf("%d public messages", n)
	})
	first.Crash()
	second := l.newOutbox(t, nil, nil)
	if err := second.Start(ctx); err != nil {
		t.Fatal(err)
	}
	_ = first.Close()
	// More events while the second one works.
	want = append(want, l.publishedStories(t, "after", 20)...)
	eventually(t, waitBound, "the second outbox catches up", func() (bool, string) {
		return second.LastSource() == want[len(want)-1], fmt.Sprintf("at %d of %d", second.LastSource(), want[len(want)-1])
	})
	l.checkExactlyOnce(t, want)
}

// countingArticles counts the articles the outbox loads from the write side.
type countingArticles struct {
	*events.Store
	loads atomic.Int64
}

func (c *countingArticles) Load(ctx context.Context, id string) (events.History, error) {
	c.loads.Add(1)
	return c.Store.Load(ctx, id)
}

// TestOutboxRetractionNotice: a retraction's public message shows the headline withdrawn, its
// slug and first publication. A retraction that carries them (recorded since Retracted has a
// headline) needs no earlier event; one recorded before reads the article, as it used to.
func TestOutboxRetractionNotice(t *testing.T) {
	tests := []struct {
		name      string
		retracted domain.Retracted
		loads     int64
	}{
		{"carries its notice", domain.Retracted{Reason: "Published in error.", Slug: "old-news", PublishedAt: t0,
			Headline: "Headline of a-1"}, 0},
		{"recorded before the notice was carried", domain.Retracted{Reason: "Published in error."}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLogOnline(t, nil)
			s := story{id: "a-1", slug: "old-news", publishedAt: t0}
			for _, env := range s.envelopes(t, 0) {
				l.append(t, env)
			}
			seq := l.append(t, envelope(t, s.id, 6, 0, tt.retracted, t0.Add(time.Hour)))
			articles := &countingArticles{Store: l.store}
			o := l.newOutbox(t, articles, nil)
			if err := o.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			eventually(t, waitBound, "the outbox publishes the retraction", func() (bool, string) {
				return o.LastSource() == seq, fmt.Sprintf("at %d", o.LastSource())
			})
			msgs := l.publicMessages(t)
			last := msgs[len(msgs)-1]
			var doc events.Ninjs
			if err := json.Unmarshal([]byte(last.data), &doc); err != nil {
				t.Fatal(err)
			}
			if last.subject != events.PublicSubject(events.ActionRetracted, s.id) || doc.PubStatus != "canceled" ||
				len(doc.Headlines) != 1 || doc.Headlines[0].Value != "Headline of a-1" || doc.Slugline != "old-news" ||
				doc.FirstCreated != t0.Format(time.RFC3339Nano) || doc.EdNote != "Published in error." {
				t.Errorf("retraction message on %s = %s; want the headline, slug, first publication and reason", last.subject, last.data)
			}
			if n := articles.loads.Load(); n != tt.loads {
				t.Errorf("the outbox loaded the article %d times; want %d", n, tt.loads)
			}
		})
	}
}

// TestOutboxRefusesABatchThatSkipsAPublicEvent: a batch handed over after a public event that
// is not on the public stream yet (the durable gave an instance the events after another's
// failed batch) is refused, and publishes nothing; a batch after events that are not public is
// taken.
func TestOutboxRefusesABatchThatSkipsAPublicEvent(t *testing.T) {
	l := newLogOnline(t, nil)
	public := l.publishedStories(t, "gap", 3) // each story: 4 events that are not public, then public ones
	ctx := context.Background()
	var log []events.Envelope
	if err := l.store.ReadLog(ctx, 1, math.MaxUint64, 1000, func(batch []events.Envelope) error {
		log = append(log, batch...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	o := l.newOutbox(t, nil, nil)
	if err := o.OpenOnly(ctx); err != nil {
		t.Fatal(err)
	}
	// The log: story 0's events at 1..7 (public: 5, 6, 7), story 1's at 8..12 (public: 12), ...
	if want := []uint64{5, 6, 7, 12, 17, 18}; !slices.Equal(public, want) {
		t.Fatalf("public events at %v; the test expects %v", public, want)
	}
	if err := o.PublishBatch(ctx, log[:7]); err != nil { // up to 7
		t.Fatal(err)
	}
	err := o.PublishBatch(ctx, log[12:]) // from 13: 12 is skipped
	if !errors.Is(err, projections.ErrOutboxGap) {
		t.Errorf("PublishBatch(a batch after an unpublished public event) = %v; want ErrOutboxGap", err)
	}
	if got := sources(l.publicMessages(t)); !slices.Equal(got, public[:3]) {
		t.Errorf("the public stream holds messages of %v; want %v alone", got, public[:3])
	}
	// From 10: 8 and 9 are not public, nothing is skipped.
	if err := o.PublishBatch(ctx, log[9:]); err != nil {
		t.Errorf("PublishBatch(a batch after events that are not public) = %v; want nil", err)
	}
	l.checkExactlyOnce(t, public)
}
