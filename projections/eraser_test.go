package projections_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// publish appends story s whole and returns the sequence of its publication.
func (l *logOnline) publish(tb testing.TB, s story) uint64 {
	tb.Helper()
	var seq uint64
	for _, env := range s.envelopes(tb, 0) {
		seq = l.append(tb, env)
	}
	return seq
}

// kill decides and appends the kill of article id, as the write side does, and returns its
// log sequence.
func (l *logOnline) kill(tb testing.TB, id string) uint64 {
	tb.Helper()
	h, err := l.store.Load(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	var past []domain.Recorded
	for _, env := range h.Events {
		r, err := env.Recorded()
		if err != nil {
			tb.Fatal(err)
		}
		past = append(past, r)
	}
	killed, err := domain.Decide(domain.Fold(id, past), domain.Kill{Reason: "Court order."},
		domain.Decision{By: editor, Now: t0.Add(3 * time.Hour)})
	if err != nil {
		tb.Fatal(err)
	}
	return l.append(tb, envelope(tb, id, len(past)+1, 0, killed, t0.Add(3*time.Hour)))
}

// onSubject is how many messages stream holds on subject.
func (l *logOnline) onSubject(tb testing.TB, stream, subject string) uint64 {
	tb.Helper()
	s, err := l.js.Stream(context.Background(), stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0
	}
	if err != nil {
		tb.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(subject))
	if err != nil {
		tb.Fatal(err)
	}
	return info.State.Subjects[subject]
}

// erased reports whether article id's text has left both streams: the log holds its kill
// alone, the public stream its kill's message at most.
func (l *logOnline) erased(tb testing.TB, id string) (bool, string) {
	tb.Helper()
	logged := l.onSubject(tb, events.StreamName, events.Subject(id))
	var public uint64
	for _, action := range []string{events.ActionPublished, events.ActionCorrected, events.ActionRetracted} {
		public += l.onSubject(tb, events.PublicStreamName, events.PublicSubject(action, id))
	}
	return logged == 1 && public == 0, fmt.Sprintf("%s: %d events in the log, %d public messages with text", id, logged, public)
}

// checkNoTextOf fails the test if any message of either stream holds words of the articles.
func (l *logOnline) checkNoTextOf(tb testing.TB, ids ...string) {
	tb.Helper()
	var all []string
	for _, m := range l.publicMessages(tb) {
		all = append(all, m.data)
	}
	if err := l.store.ReadLog(context.Background(), 1, math.MaxUint64, 1000, func(batch []events.Envelope) error {
		for _, env := range batch {
			all = append(all, string(env.Data))
		}
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	for _, id := range ids {
		for _, text := range all {
			if strings.Contains(text, "of "+id) || strings.Contains(text, id+"-slug") {
				tb.Errorf("a message still holds text of killed article %s: %s", id, text)
			}
		}
	}
}

func startEraser(tb testing.TB, l *logOnline) *projections.Eraser {
	tb.Helper()
	e := projections.NewEraser(l.js, quietLog)
	e.Start()
	tb.Cleanup(e.Close)
	return e
}

// TestErasureWhileTheOutboxIsStopped: with the outbox stopped, two articles are killed (one the
// outbox had published, one published after it stopped). Their text leaves the log and the
// public stream anyway; the outbox started again publishes their kills and never the text it
// had not published yet.
func TestErasureWhileTheOutboxIsStopped(t *testing.T) {
	l := newLogOnline(t, nil)
	eraser := startEraser(t, l)
	ctx := context.Background()
	seen, behind := story{id: "seen", slug: "seen-slug", publishedAt: t0}, story{id: "behind", slug: "behind-slug", publishedAt: t0}
	published := l.publish(t, seen)
	first := l.newOutbox(t, nil, eraser)
	if err := first.Start(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitBound, "the outbox publishes the first article", func() (bool, string) {
		return first.LastSource() == published, fmt.Sprintf("at %d", first.LastSource())
	})
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	l.publish(t, behind)
	kills := map[string]uint64{seen.id: l.kill(t, seen.id), behind.id: l.kill(t, behind.id)}
	for id, seq := range kills {
		eraser.Enqueue(id, seq) // as the views' reader does once the views committed the kill
	}
	for id := range kills {
		eventually(t, waitBound, "the erasure with the outbox stopped", func() (bool, string) { return l.erased(t, id) })
	}
	l.checkNoTextOf(t, seen.id, behind.id)

	second := l.newOutbox(t, nil, eraser)
	if err := second.Start(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitBound, "the outbox catches up", func() (bool, string) {
		return second.LastSource() == kills[behind.id], fmt.Sprintf("at %d", second.LastSource())
	})
	for id := range kills {
		if ok, why := l.erased(t, id); !ok {
			t.Errorf("after the outbox caught up: %s", why)
		}
		if n := l.onSubject(t, events.PublicStreamName, events.PublicSubject(events.ActionKilled, id)); n != 1 {
			t.Errorf("%d kill messages of %s on the public stream; want 1", n, id)
		}
	}
	l.checkNoTextOf(t, seen.id, behind.id)
}

// TestErasureSecondPass: a public message of an article that the outbox had in hand when the
// first pass ran lands after it; the outbox, having published the kill, asks the eraser again,
// and that message goes too.
func TestErasureSecondPass(t *testing.T) {
	l := newLogOnline(t, nil)
	eraser := projections.NewEraser(l.js, quietLog)
	passes := make(chan struct{}, 1)
	eraser.OnErased(func(string, uint64, events.Erasure) {
		select {
		case passes <- struct{}{}:
		default:
		}
	})
	eraser.Start()
	t.Cleanup(eraser.Close)
	ctx := context.Background()
	s := story{id: "late", slug: "late-slug", publishedAt: t0}
	l.publish(t, s)
	killSeq := l.kill(t, s.id)
	var inHand []events.Envelope // read by the outbox before the erasure
	if err := l.store.ReadLog(ctx, 1, math.MaxUint64, 1000, func(batch []events.Envelope) error {
		inHand = append(inHand, batch...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	eraser.Enqueue(s.id, killSeq)
	select {
	case <-passes:
	case <-time.After(waitBound):
		t.Fatal("no first pass")
	}
	if ok, why := l.erased(t, s.id); !ok {
		t.Fatalf("after the first pass: %s", why)
	}
	o := l.newOutbox(t, nil, eraser)
	if err := o.OpenOnly(ctx); err != nil {
		t.Fatal(err)
	}
	if err := o.PublishBatch(ctx, inHand); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitBound, "the second pass", func() (bool, string) { return l.erased(t, s.id) })
	l.checkNoTextOf(t, s.id)
}

// TestSweepFindsKillsInTheViews: a kill the views committed whose erasure a crash cut short,
// before the outbox published it (nothing on the public stream says so), is erased by the sweep
// at start, on both dialects.
func TestSweepFindsKillsInTheViews(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		l := newLogOnline(t, nil)
		s, other := story{id: "swept", slug: "swept-slug", publishedAt: t0}, story{id: "kept", slug: "kept-slug", publishedAt: t0}
		l.publish(t, s)
		l.publish(t, other)
		l.kill(t, s.id)
		desk := projections.NewDesk(db)
		if _, err := projections.EnsureTables(ctx, db, desk); err != nil {
			t.Fatal(err)
		}
		var all []events.Envelope
		if err := l.store.ReadLog(ctx, 1, math.MaxUint64, 1000, func(batch []events.Envelope) error {
			all = append(all, batch...)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		applyAll(t, db, desk, all)
		if ok, _ := l.erased(t, s.id); ok {
			t.Fatal("erased before the sweep")
		}
		eraser := projections.NewEraser(l.js, quietLog)
		if err := eraser.Sweep(ctx, desk); err != nil {
			t.Fatal(err)
		}
		if ok, why := l.erased(t, s.id); !ok {
			t.Errorf("after the sweep: %s", why)
		}
		if n := l.onSubject(t, events.StreamName, events.Subject(other.id)); n != 5 {
			t.Errorf("the sweep left %d events of an article that was not killed; want 5", n)
		}
	})
}
