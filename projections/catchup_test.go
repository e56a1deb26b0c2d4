package projections_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/nats-io/nats.go"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// countingView is a view that records the size of every batch it applies: one batch is one
// SQL transaction of the live handler.
type countingView struct {
	projections.View
	mu      sync.Mutex
	batches []int
}

func (c *countingView) Apply(ctx context.Context, tx *sqlx.Tx, t projections.Tables, batch []events.Envelope) error {
	err := c.View.Apply(ctx, tx, t, batch)
	if err == nil {
		c.mu.Lock()
		c.batches = append(c.batches, len(batch))
		c.mu.Unlock()
	}
	return err
}

// take returns the batches applied since the last call, and forgets them.
func (c *countingView) take() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.batches
	c.batches = nil
	return b
}

func (l *logOnline) startRunnerOf(tb testing.TB, views ...projections.View) *projections.Runner {
	tb.Helper()
	r := projections.NewRunner(projections.RunnerConfig{
		DB:      l.db,
		Log:     l.store,
		Connect: func() (*nats.Conn, error) { return nats.Connect(l.srv.ClientURL()) },
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}, views...)
	if err := r.Start(context.Background()); err != nil {
		tb.Fatalf("Runner.Start: %v", err)
	}
	return r
}

// TestLiveViewsCatchUpInBatches: views whose runner was stopped while 2,000 events were
// appended (among them a kill whose article's earlier events were erased from the log) catch
// up in far fewer transactions than events, hold exactly what a rebuild from the log gives,
// and then apply new events one at a time as they come.
func TestLiveViewsCatchUpInBatches(t *testing.T) {
	t.Parallel()
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		l := newLogOnline(t, db)
		views := []*countingView{{View: projections.NewPublished(db)}, {View: projections.NewDesk(db)}, {View: projections.NewHistory(db)}}
		asViews := func() []projections.View {
			var out []projections.View
			for _, v := range views {
				out = append(out, v)
			}
			return out
		}

		first := l.append(t, story{id: "a-first", slug: "a-first", publishedAt: t0}.envelopes(t, 0)...)
		r := l.startRunnerOf(t, asViews()...)
		l.waitFor(t, r, first)
		if err := r.Close(); err != nil {
			t.Fatalf("Runner.Close: %v", err)
		}
		l.waitGone(t)

		// 400 stories of 5 events, side by side, while no runner runs; the first story is then
		// killed and its text erased from the log, as the outbox does.
		var stories []story
		for i := range 400 {
			id := fmt.Sprintf("a-%03d", i)
			stories = append(stories, story{id: id, slug: id, publishedAt: t0})
		}
		behind := interleave(t, stories...)
		l.append(t, behind...)
		var past []domain.Recorded
		for _, env := range stories[0].envelopes(t, 0) {
			r, err := env.Recorded()
			if err != nil {
				t.Fatal(err)
			}
			past = append(past, r)
		}
		killed, err := domain.Decide(domain.Fold(stories[0].id, past), domain.Kill{Reason: "Court order."},
			domain.Decision{By: editor, Now: t0.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		last := l.append(t, envelope(t, stories[0].id, len(past)+1, 0, killed, t0.Add(time.Hour)))
		if _, err := events.EraseKilled(ctx, l.js, stories[0].id, last); err != nil {
			t.Fatalf("EraseKilled: %v", err)
		}
		for _, v := range views {
			v.take()
		}

		r = l.startRunnerOf(t, asViews()...)
		l.waitFor(t, r, last)
		for _, v := range views {
			batches := v.take()
			applied := 0
			for _, n := range batches {
				applied += n
			}
			// The log holds 2,001 events past the checkpoint, the 5 of the killed story erased.
			if want := len(behind) + 1 - 5; applied != want {
				t.Errorf("%s applied %d events in %d transactions; want %d events", v.Name(), applied, len(batches), want)
			}
			if len(batches) > applied/10 {
				t.Errorf("%s caught up %d events in %d transactions %v; want batches (at most %d transactions)",
					v.Name(), applied, len(batches), batches, applied/10)
			}
			t.Logf("%s caught up %d events in %d transactions", v.Name(), applied, len(batches))
		}

		// Caught up: each new event is applied on its own, as it comes.
		for i := range 3 {
			env := envelope(t, fmt.Sprintf("a-new-%d", i), 1, 0, domain.Drafted{Headline: "new"}, t0)
			seq := l.append(t, env)
			l.waitFor(t, r, seq)
			for _, v := range views {
				if batches := v.take(); len(batches) != 1 || batches[0] != 1 {
					t.Errorf("%s applied the new event at %d as batches %v; want one batch of 1", v.Name(), seq, batches)
				}
			}
			last = seq
		}
		if err := r.Close(); err != nil {
			t.Fatalf("Runner.Close: %v", err)
		}

		// What the live views hold is what a rebuild from the log gives.
		for _, v := range views {
			live := dumpView(t, db, v)
			if p, err := (projections.Rebuild{DB: db, Log: l.store, View: v.View}).Run(ctx); err != nil || p.Checkpoint != last {
				t.Fatalf("Rebuild(%s) = %+v, %v; want done at %d", v.Name(), p, err, last)
			}
			if rebuilt := dumpView(t, db, v); rebuilt != live {
				t.Errorf("%s after catching up live:\n%s\nwant what a rebuild gives:\n%s", v.Name(), live, rebuilt)
			}
		}
	})
}

// TestCatchUpStopsAtAGap: a gap inside what a view catches up in a batch stops the view at the
// event before the gap, with everything before it applied, exactly as one event at a time.
func TestCatchUpStopsAtAGap(t *testing.T) {
	t.Parallel()
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		l := newLogOnline(t, db)
		first := l.append(t, envelope(t, "a-0", 1, 0, domain.Drafted{Headline: "h"}, t0))
		r := l.startRunner(t)
		l.waitFor(t, r, first)
		l.waitAcked(t, first)
		if err := r.Close(); err != nil {
			t.Fatalf("Runner.Close: %v", err)
		}
		l.waitGone(t)

		var ok uint64
		for i := range 30 {
			ok = l.append(t, envelope(t, fmt.Sprintf("a-%02d", i+1), 1, 0, domain.Drafted{Headline: "before the gap"}, t0))
		}
		// Version 3 of an article at version 1: the store does not check versions.
		gap := l.append(t, envelope(t, "a-01", 3, 0, domain.Submitted{}, t0))
		for i := range 10 {
			l.append(t, envelope(t, fmt.Sprintf("b-%02d", i), 1, 0, domain.Drafted{Headline: "after the gap"}, t0))
		}

		r = l.startRunner(t)
		l.waitFor(t, r, ok)
		eventually(t, waitBound, "Statuses reports the gap", func() (bool, string) {
			st := r.Statuses()
			return len(st) == 1 && strings.Contains(st[0].LastError, projections.ErrGap.Error()), fmt.Sprintf("%+v", st)
		})
		if got := checkpoint(t, db); got != ok {
			t.Errorf("Checkpoint = %d; want %d (the event before the gap at %d)", got, ok, gap)
		}
		if got := rows(t, db); len(got) != 31 {
			t.Errorf("public_articles has %d rows; want 31 (a-0 to a-30, none after the gap)", len(got))
		}
	})
}

// failingView fails every batch while failing is set, as a view whose statements the database
// refuses would.
type failingView struct {
	projections.View
	mu      sync.Mutex
	failing bool
}

func (f *failingView) Apply(ctx context.Context, tx *sqlx.Tx, t projections.Tables, batch []events.Envelope) error {
	f.mu.Lock()
	failing := f.failing
	f.mu.Unlock()
	if failing && t == projections.Live {
		return fmt.Errorf("the view's statements are refused")
	}
	return f.View.Apply(ctx, tx, t, batch)
}

func (f *failingView) set(failing bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = failing
}

// A view that fails is detached: the others follow the log as before, and the failing one says
// why in its status; once it can apply again it catches up from its own checkpoint and rejoins
// the reader, holding exactly what a rebuild from the log gives.
func TestAFailingViewDoesNotStallTheOthers(t *testing.T) {
	t.Parallel()
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		l := newLogOnline(t, db)
		desk := &failingView{View: projections.NewDesk(db)}
		r := l.startRunnerOf(t, l.view, desk)
		first := l.append(t, story{id: "a-1", slug: "a-1", publishedAt: t0}.envelopes(t, 0)...)
		l.waitFor(t, r, first)

		desk.set(true)
		var last uint64
		for i := range 20 {
			id := fmt.Sprintf("b-%02d", i)
			last = l.append(t, story{id: id, slug: id, publishedAt: t0.Add(time.Duration(i) * time.Minute)}.envelopes(t, 0)...)
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitBound)
		defer cancel()
		if err := r.WaitFor(ctx, last, "published"); err != nil {
			t.Fatalf("the published view while the desk fails: %v; statuses %+v", err, r.Statuses())
		}
		eventually(t, waitBound, "the desk reports its failure", func() (bool, string) {
			for _, s := range r.Statuses() {
				if s.Name == "desk" {
					return s.LastError != "" && s.Checkpoint == first, fmt.Sprintf("%+v", s)
				}
			}
			return false, "no desk"
		})

		desk.set(false)
		l.waitFor(t, r, last)
		eventually(t, waitBound, "the desk rejoins the reader", func() (bool, string) {
			for _, s := range r.Statuses() {
				if s.Name == "desk" {
					return s.State == "live" && s.LastError == "", fmt.Sprintf("%+v", s)
				}
			}
			return false, "no desk"
		})
		more := l.append(t, story{id: "c-1", slug: "c-1", publishedAt: t0.Add(time.Hour)}.envelopes(t, 0)...)
		l.waitFor(t, r, more)
		if err := r.Close(); err != nil {
			t.Fatalf("Runner.Close: %v", err)
		}
		live := dumpView(t, db, desk.View)
		ctx, cancel = context.WithTimeout(context.Background(), waitBound)
		defer cancel()
		if p, err := (projections.Rebuild{DB: db, Log: l.store, View: desk.View}).Run(ctx); err != nil || p.Checkpoint != more {
			t.Fatalf("Rebuild(desk) = %+v, %v; want done at %d", p, err, more)
		}
		if rebuilt := dumpView(t, db, desk.View); live != rebuilt {
			t.Errorf("the desk after catching up differs from a rebuild:\nlive:\n%s\nrebuilt:\n%s", live, rebuilt)
		}
	})
}
