package projections_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// Times of the embargo stories: published under embargo at t0+4m until embargoEnd, moved to
// movedEnd, lifted at liftedAt.
var (
	embargoEnd = t0.Add(24 * time.Hour)
	movedEnd   = t0.Add(48 * time.Hour)
	liftedAt   = t0.Add(47 * time.Hour)
)

// embargoed is story s published under embargo until embargoEnd: its five events, the last
// one Published with EmbargoUntil.
func (s story) embargoed(tb testing.TB) []events.Envelope {
	tb.Helper()
	envs := s.envelopes(tb, 0)
	r, err := envs[4].Recorded()
	if err != nil {
		tb.Fatal(err)
	}
	p := r.Event.(domain.Published)
	p.EmbargoUntil = embargoEnd
	envs[4] = envelope(tb, s.id, 5, 0, p, t0.Add(4*time.Minute))
	return envs
}

// underEmbargo returns the events after story s's embargoed publication: a correction under
// embargo (as the domain decides it), a move, and the lift, which carries the corrected text.
func (s story) underEmbargo(tb testing.TB) []events.Envelope {
	tb.Helper()
	headline := "Corrected headline of " + s.id
	corrected := domain.Corrected{Embargoed: true, ProposedBy: editor.ID, Note: "The venue was wrong.", Slug: s.slug,
		PublishedAt: s.publishedAt, Headline: headline, Body: "Corrected body of " + s.id, Language: "en", Tags: []string{"city"}}
	lifted := domain.EmbargoLifted{Early: true, Slug: s.slug, PublishedAt: liftedAt, Headline: headline,
		Body: corrected.Body, Language: "en", Tags: corrected.Tags}
	return []events.Envelope{
		envelope(tb, s.id, 6, 0, corrected, t0.Add(time.Hour)),
		envelope(tb, s.id, 7, 0, domain.EmbargoMoved{EmbargoUntil: movedEnd}, t0.Add(2*time.Hour)),
		envelope(tb, s.id, 8, 0, lifted, liftedAt),
	}
}

// TestPublishedViewEmbargo: an article under embargo has no text in the public model, is not
// found by its slug and not listed, and its commits announce nothing; the lift publishes it
// with the lift as its first publication and the text as corrected under embargo, without the
// corrections readers never saw. One retracted or killed under embargo stays not found, never
// gone.
func TestPublishedViewEmbargo(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		p := projections.NewPublished(db)
		var mu sync.Mutex
		var announced []string
		p.OnCommit = func(ids []string, _ uint64) {
			mu.Lock()
			announced = append(announced, ids...)
			mu.Unlock()
		}
		ensureCheckpoint(t, db)
		s := story{id: "e-1", slug: "summit-communique", publishedAt: t0.Add(4 * time.Minute)}
		envs := append(s.embargoed(t), s.underEmbargo(t)...)
		for i := range envs {
			envs[i].Sequence = uint64(i + 1)
		}
		for _, env := range envs[:len(envs)-1] {
			applyAll(t, db, p, []events.Envelope{env})
			table := rows(t, db)
			if len(table) != 1 || table[0].Status != projections.VisibilityUnpublished || table[0].Headline != "" ||
				table[0].Body != "" || table[0].Slug != "" || table[0].PublishedAt != "" || table[0].Tags != "[]" {
				t.Fatalf("after %s: public_articles = %+v; want the article unpublished, without text", env.Type, table)
			}
			notPublic(t, p, s.slug)
			if items, total := listAll(t, p); total != 0 || len(items) != 0 {
				t.Errorf("after %s: List = %d items, total %d; want none", env.Type, len(items), total)
			}
			if got := tags(t, db); len(got) != 0 {
				t.Errorf("after %s: public_tags = %v; want none", env.Type, got)
			}
		}
		mu.Lock()
		if len(announced) != 0 {
			t.Errorf("commits under embargo announced %v; want nothing (not even the id)", announced)
		}
		mu.Unlock()

		applyAll(t, db, p, envs[len(envs)-1:])
		a, err := p.BySlug(ctx, s.slug)
		if err != nil {
			t.Fatalf("BySlug after the lift: %v", err)
		}
		if !a.PublishedAt.Equal(liftedAt) || a.Headline != "Corrected headline of e-1" || a.Status != projections.VisibilityPublished ||
			len(a.Corrections) != 0 || !slices.Equal(a.Tags, []string{"city"}) {
			t.Errorf("after the lift: %+v; want published at the lift %v with the corrected text and no corrections", a, liftedAt)
		}
		if items, total := listAll(t, p); total != 1 || items[0].ID != s.id {
			t.Errorf("after the lift: List = %+v (total %d); want the article", items, total)
		}
		mu.Lock()
		if !slices.Equal(announced, []string{s.id}) {
			t.Errorf("the lift announced %v; want [%s]", announced, s.id)
		}
		mu.Unlock()

		// Retracted, then killed, under embargo: not found, for good.
		r := story{id: "e-2", slug: "withdrawn-before-its-time", publishedAt: t0.Add(4 * time.Minute)}
		renvs := r.embargoed(t)
		renvs = append(renvs,
			envelope(t, r.id, 6, 0, domain.Retracted{Embargoed: true, Reason: "Issued in error.", Slug: r.slug,
				PublishedAt: r.publishedAt, Headline: "Headline of e-2"}, t0.Add(time.Hour)),
			envelope(t, r.id, 7, 0, domain.Killed{Embargoed: true, Reason: "Court order.", SlugDigest: domain.SlugDigest(r.slug),
				Language: "en", CreatedBy: reporter.ID, CreatedAt: t0}, t0.Add(2*time.Hour)))
		for i := range renvs {
			renvs[i].Sequence = uint64(len(envs) + i + 1)
			applyAll(t, db, p, renvs[i:i+1])
			if got, err := p.BySlug(ctx, r.slug); !errors.Is(err, projections.ErrNotPublic) {
				t.Errorf("after %s under embargo: BySlug = %+v, %v; want ErrNotPublic (not found, never gone)", renvs[i].Type, got, err)
			}
		}
		if _, total := listAll(t, p); total != 1 {
			t.Errorf("List total = %d; want 1, the lifted article alone", total)
		}
		for _, row := range rows(t, db) {
			if row.ID == r.id && fmt.Sprintf("%+v", row) != fmt.Sprintf("%+v", rowOf(r.id, 7, row.CreatedAt, row.UpdatedAt)) {
				t.Errorf("the article killed under embargo: %+v; want an unpublished row without text", row)
			}
		}
	})
}

func rowOf(id string, version int, created, updated string) row {
	return row{ID: id, Version: version, Status: projections.VisibilityUnpublished, Tags: "[]", CreatedAt: created, UpdatedAt: updated}
}

// streamMessage is a message of the public or embargoed stream as a test reads it.
type streamMessage struct {
	source  uint64
	subject string
	id      string // ce-id
	doc     events.Ninjs
}

// messagesOf reads every message of a stream that exists, in order.
func (l *logOnline) messagesOf(tb testing.TB, name, subjects string) []streamMessage {
	tb.Helper()
	ctx := context.Background()
	stream, err := l.js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		tb.Fatal(err)
	}
	var out []streamMessage
	for seq := uint64(1); ; {
		msg, err := stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subjects))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		seq = msg.Sequence + 1
		m := streamMessage{subject: msg.Subject, id: msg.Header.Get("ce-id")}
		if m.source, err = strconv.ParseUint(msg.Header.Get(events.SourceSeqHeader), 10, 64); err != nil {
			tb.Fatalf("%s message %d: %v", name, msg.Sequence, err)
		}
		if err := json.Unmarshal(msg.Data, &m.doc); err != nil {
			tb.Fatal(err)
		}
		out = append(out, m)
	}
}

func subjectsOf(msgs []streamMessage) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.subject
	}
	return out
}

// countingReads counts the ranges of the log an outbox reads besides its durable.
type countingReads struct {
	*events.Store
	reads atomic.Int64
}

func (c *countingReads) ReadLog(ctx context.Context, from, until uint64, batchSize int, fn func([]events.Envelope) error) error {
	c.reads.Add(1)
	return c.Store.ReadLog(ctx, from, until, batchSize, fn)
}

// newEmbargoedOutbox returns an embargoed outbox on the log's server, closed when the test ends.
func (l *logOnline) newEmbargoedOutbox(tb testing.TB, articles projections.OutboxLog, eraser *projections.Eraser) *projections.Outbox {
	tb.Helper()
	o := projections.NewEmbargoedOutbox(projections.OutboxConfig{
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

// TestEmbargoedOutbox: an article under embargo reaches the embargoed stream alone, each message
// with ninjs embargoed set to the embargo in force (moved, then lifted); its lift is an
// ordinary publication on the public stream, first published at the lift. A kill under
// embargo reaches the embargoed stream alone and erases the copies there; a kill after the lift
// erases them too. A restart republishes nothing and, however many events that make no
// embargoed message follow the last one, reads none of the log to find its place; a stream lost
// and recreated is written again from the log.
func TestEmbargoedOutbox(t *testing.T) {
	l := newLogOnline(t, nil)
	ctx := context.Background()
	s := story{id: "e-1", slug: "summit-communique", publishedAt: t0.Add(4 * time.Minute)}
	for _, env := range append(s.embargoed(t), s.underEmbargo(t)...) {
		l.append(t, env)
	}
	control := l.publish(t, story{id: "c-1", slug: "council-meets", publishedAt: t0})
	k := story{id: "e-2", slug: "withdrawn-before-its-time", publishedAt: t0.Add(4 * time.Minute)}
	for _, env := range k.embargoed(t) {
		l.append(t, env)
	}

	eraser := startEraser(t, l)
	public, embargoed := l.newOutbox(t, nil, eraser), l.newEmbargoedOutbox(t, l.store, eraser)
	for _, o := range []*projections.Outbox{public, embargoed} {
		if err := o.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, waitBound, "both outboxes at the log's end", func() (bool, string) {
		return public.LastSource() == control && embargoed.LastSource() == control+5,
			fmt.Sprintf("public at %d, embargoed at %d", public.LastSource(), embargoed.LastSource())
	})

	pub := l.messagesOf(t, events.PublicStreamName, events.PublicSubjectAll)
	wantPublic := []string{events.PublicSubject(events.ActionPublished, s.id), events.PublicSubject(events.ActionPublished, "c-1")}
	if got := subjectsOf(pub); !slices.Equal(got, wantPublic) {
		t.Fatalf("public stream = %v; want %v: nothing before the lift, the lift as a publication", got, wantPublic)
	}
	if d := pub[0].doc; d.FirstCreated != liftedAt.Format(time.RFC3339Nano) || d.Embargoed != "" ||
		d.Headlines[0].Value != "Corrected headline of e-1" || d.EdNote != "" {
		t.Errorf("the lift on the public stream = %+v; want firstcreated %v, no embargo, the corrected text, no note", d, liftedAt)
	}
	emb := l.messagesOf(t, events.EmbargoedStreamName, events.EmbargoedSubjectAll)
	wantEmbargoed := []string{
		events.EmbargoedSubject(events.ActionPublished, s.id), events.EmbargoedSubject(events.ActionCorrected, s.id),
		events.EmbargoedSubject(events.ActionEmbargoMoved, s.id), events.EmbargoedSubject(events.ActionEmbargoLifted, s.id),
		events.EmbargoedSubject(events.ActionPublished, k.id),
	}
	if got := subjectsOf(emb); !slices.Equal(got, wantEmbargoed) {
		t.Fatalf("embargoed stream = %v; want %v", got, wantEmbargoed)
	}
	rfc := func(at time.Time) string { return at.Format(time.RFC3339Nano) }
	for i, want := range []struct{ embargoed, headline, note string }{
		{rfc(embargoEnd), "Headline of e-1", ""},
		{rfc(embargoEnd), "Corrected headline of e-1", "The venue was wrong."},
		{rfc(movedEnd), "Corrected headline of e-1", ""},
		{"", "Corrected headline of e-1", ""},
	} {
		d := emb[i].doc
		if d.Embargoed != want.embargoed || len(d.Headlines) != 1 || d.Headlines[0].Value != want.headline || d.EdNote != want.note ||
			len(d.Bodies) != 1 || d.Slugline != s.slug || d.PubStatus != "usable" {
			t.Errorf("embargoed message %d (%s) = %+v; want embargoed %q, headline %q, note %q and a body",
				i, emb[i].subject, d, want.embargoed, want.headline, want.note)
		}
		if !strings.HasSuffix(emb[i].id, events.EmbargoedIDSuffix) {
			t.Errorf("embargoed message %d: ce-id %q; want one ending in %q", i, emb[i].id, events.EmbargoedIDSuffix)
		}
	}
	if strings.TrimSuffix(emb[3].id, events.EmbargoedIDSuffix) != pub[0].id || emb[3].id == pub[0].id {
		t.Errorf("the lift's ce-ids: %q on the embargoed stream, %q on the public one; want the event id, suffixed on the embargoed one", emb[3].id, pub[0].id)
	}

	// A kill under embargo: on the embargoed stream alone, and the copy there is erased.
	killK := l.kill(t, k.id)
	// A kill after the lift: public, and the embargoed copies go too.
	l.kill(t, s.id)
	eventually(t, waitBound, "the kills published and erased", func() (bool, string) {
		emb := subjectsOf(l.messagesOf(t, events.EmbargoedStreamName, events.EmbargoedSubjectAll))
		pub := subjectsOf(l.messagesOf(t, events.PublicStreamName, events.PublicSubjectAll))
		want := []string{events.EmbargoedSubject(events.ActionKilled, k.id)}
		wantPub := []string{events.PublicSubject(events.ActionPublished, "c-1"), events.PublicSubject(events.ActionKilled, s.id)}
		return slices.Equal(emb, want) && slices.Equal(pub, wantPub), fmt.Sprintf("embargoed %v, public %v", emb, pub)
	})
	if killed := l.messagesOf(t, events.EmbargoedStreamName, events.EmbargoedSubjectAll)[0]; killed.source != killK || killed.doc.PubStatus != "canceled" {
		t.Errorf("the kill under embargo = %+v; want pubstatus canceled from log sequence %d", killed, killK)
	}
	l.checkNoTextOf(t, s.id, k.id)

	// A restart with many events that make no embargoed message after the last one: nothing
	// republished, none of the log read to find the place.
	for i := range 5 {
		l.publish(t, story{id: fmt.Sprintf("p-%d", i), slug: fmt.Sprintf("plain-%d", i), publishedAt: t0})
	}
	end := l.publish(t, story{id: "p-last", slug: "plain-last", publishedAt: t0})
	eventually(t, waitBound, "the embargoed outbox passes the plain stories", func() (bool, string) {
		ci, err := l.js.Consumer(ctx, events.StreamName, projections.EmbargoedOutboxDurable)
		if err != nil {
			return false, err.Error()
		}
		return ci.CachedInfo().AckFloor.Stream == end, fmt.Sprintf("ack floor %d of %d", ci.CachedInfo().AckFloor.Stream, end)
	})
	_ = embargoed.Close()
	reads := &countingReads{Store: l.store}
	again := l.newEmbargoedOutbox(t, reads, eraser)
	if err := again.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if n := reads.reads.Load(); n != 0 {
		t.Errorf("the restarted embargoed outbox read the log %d times to find its place; want none (the stream is older than its durable)", n)
	}
	moved := story{id: "e-3", slug: "later-embargo", publishedAt: t0.Add(4 * time.Minute)}
	var e3 uint64
	for _, env := range moved.embargoed(t) {
		e3 = l.append(t, env)
	}
	eventually(t, waitBound, "the restarted outbox publishes the next embargo", func() (bool, string) {
		return again.LastSource() == e3, fmt.Sprintf("at %d", again.LastSource())
	})
	wantAfter := []string{events.EmbargoedSubject(events.ActionKilled, k.id), events.EmbargoedSubject(events.ActionPublished, moved.id)}
	if got := subjectsOf(l.messagesOf(t, events.EmbargoedStreamName, events.EmbargoedSubjectAll)); !slices.Equal(got, wantAfter) {
		t.Errorf("after a restart the embargoed stream = %v; want %v: nothing twice", got, wantAfter)
	}

	// The stream lost and recreated (younger than the durable): written again from the log.
	_ = again.Close()
	if err := l.js.DeleteStream(ctx, events.EmbargoedStreamName); err != nil {
		t.Fatal(err)
	}
	reborn := l.newEmbargoedOutbox(t, l.store, eraser)
	if err := reborn.Start(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitBound, "the recreated stream written again", func() (bool, string) {
		got := subjectsOf(l.messagesOf(t, events.EmbargoedStreamName, events.EmbargoedSubjectAll))
		return slices.Equal(got, wantAfter), fmt.Sprintf("%v", got)
	})
}

// BenchmarkEmbargoedOutboxPassesTheLog: 10,000 public publications in the log and no embargo,
// the public and embargoed outboxes started together: how fast each gets through the log (the
// embargoed one writes nothing, but reads and decodes every event as the public one does).
//
//	go test -run=XXX -bench=EmbargoedOutboxPassesTheLog -benchtime=1x ./projections
func BenchmarkEmbargoedOutboxPassesTheLog(b *testing.B) {
	const n = 10_000
	ctx := context.Background()
	for range b.N {
		srv, js, store := fsyncedLog(b)
		last := appendPublished(b, js, n)
		connect := func() (*nats.Conn, error) { return nats.Connect(srv.ClientURL()) }
		cfg := projections.OutboxConfig{Connect: connect, Log: store, PublicURL: "https://news.example", Logger: quietLog}
		public, embargoed := projections.NewOutbox(cfg), projections.NewEmbargoedOutbox(cfg)
		start := time.Now()
		for _, o := range []*projections.Outbox{public, embargoed} {
			if err := o.Start(ctx); err != nil {
				b.Fatal(err)
			}
		}
		var publicDone, embargoedDone time.Duration
		for publicDone == 0 || embargoedDone == 0 {
			if publicDone == 0 && public.LastSource() >= last {
				publicDone = time.Since(start)
			}
			if embargoedDone == 0 {
				if c, err := js.Consumer(ctx, events.StreamName, projections.EmbargoedOutboxDurable); err == nil && c.CachedInfo().AckFloor.Stream >= last {
					embargoedDone = time.Since(start)
				}
			}
			time.Sleep(time.Millisecond)
		}
		_ = public.Close()
		_ = embargoed.Close()
		b.ReportMetric(n/publicDone.Seconds(), "public-events/s")
		b.ReportMetric(n/embargoedDone.Seconds(), "embargoed-events/s")
		b.Logf("%d publications, no embargo: the public outbox through them in %v (%.0f/s, publishing each), the embargoed one in %v (%.0f/s, publishing none)",
			n, publicDone.Round(time.Millisecond), n/publicDone.Seconds(), embargoedDone.Round(time.Millisecond), n/embargoedDone.Seconds())
	}
}
