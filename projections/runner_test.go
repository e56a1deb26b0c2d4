package projections_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/embeddednats/natstest"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// waitBound bounds every wait for the runner. These tests are about what is applied, not how
// fast: the bound outlasts the 30 s (twice the pull heartbeat) after which a view's iterator
// that missed its next pull request recovers, and a wait that succeeds returns at once.
const waitBound = 45 * time.Second

// logOnline is a real log: an in-process nats-server with the NEWSROOM stream, a SQL database and
// the published view on it.
type logOnline struct {
	srv   *natstest.Server
	nc    *nats.Conn
	js    jetstream.JetStream
	store *events.Store
	db    *sqldb.DB
	view  *projections.Published
	last  map[string]uint64 // each article's last stream sequence, as Append expects it
	// conns is how many client connections the server counts before any runner connects.
	conns int
}

func newLogOnline(tb testing.TB, db *sqldb.DB) *logOnline {
	tb.Helper()
	srv := natstest.Start(tb)
	nc, js := srv.Connect(tb)
	store, err := events.Open(context.Background(), js, 1)
	if err != nil {
		tb.Fatalf("events.Open: %v", err)
	}
	return &logOnline{srv: srv, nc: nc, js: js, store: store, db: db, view: projections.NewPublished(db),
		last: map[string]uint64{}, conns: srv.GlobalAccount().NumLocalConnections()}
}

// waitGone waits until the server has dropped the connections of closed runners. The server
// unregisters a connection from its account only after removing its subscriptions, so after
// this no pull request of a closed runner can be handed an event appended next.
func (l *logOnline) waitGone(tb testing.TB) {
	tb.Helper()
	eventually(tb, waitBound, "the server drops the closed runner's connections", func() (bool, string) {
		n := l.srv.GlobalAccount().NumLocalConnections()
		return n == l.conns, fmt.Sprintf("%d connections; want %d", n, l.conns)
	})
}

// append appends each envelope as the next event of its article and returns the stream sequence
// of the last. A log that does not answer yet (just restarted) is retried until waitBound:
// a retried envelope is never written twice.
func (l *logOnline) append(tb testing.TB, envs ...events.Envelope) uint64 {
	tb.Helper()
	var seq uint64
	for _, env := range envs {
		eventually(tb, waitBound, fmt.Sprintf("append %s v%d", env.ArticleID, env.ArticleVersion), func() (bool, string) {
			var err error
			seq, err = l.store.Append(context.Background(), env, l.last[env.ArticleID])
			if errors.Is(err, events.ErrUnavailable) {
				return false, err.Error()
			}
			if err != nil {
				tb.Fatalf("Append(%s v%d): %v", env.ArticleID, env.ArticleVersion, err)
			}
			return true, ""
		})
		l.last[env.ArticleID] = seq
	}
	return seq
}

// startRunner starts a runner of the published view, closed when the test ends.
func (l *logOnline) startRunner(tb testing.TB) *projections.Runner {
	tb.Helper()
	r := projections.NewRunner(projections.RunnerConfig{
		DB:      l.db,
		Log:     l.store,
		Connect: func() (*nats.Conn, error) { return nats.Connect(l.srv.ClientURL()) },
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}, l.view)
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	// Start's context would also stop the runner when it ends: the deadline only bounds the
	// wait for Start to return.
	started := make(chan error, 1)
	go func() { started <- r.Start(context.WithoutCancel(ctx)) }()
	select {
	case err := <-started:
		if err != nil {
			tb.Fatalf("Runner.Start: %v", err)
		}
	case <-ctx.Done():
		tb.Fatalf("Runner.Start: not started within %v", waitBound)
	}
	tb.Cleanup(func() {
		if err := r.Close(); err != nil {
			tb.Errorf("Runner.Close: %v", err)
		}
	})
	return r
}

// waitFor waits until the runner has applied the log up to seq.
func (l *logOnline) waitFor(tb testing.TB, r *projections.Runner, seq uint64) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	if err := r.WaitFor(ctx, seq); err != nil {
		tb.Fatalf("WaitFor(%d) = %v; statuses %+v; consumer %s", seq, err, r.Statuses(), l.consumerState(tb))
	}
}

// consumerState describes the view's durable consumer, for failure messages.
func (l *logOnline) consumerState(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := l.js.Consumer(ctx, events.StreamName, projections.ReaderDurable)
	if err != nil {
		return err.Error()
	}
	i := c.CachedInfo()
	return fmt.Sprintf("delivered %d, ack floor %d, %d ack pending, %d redelivered, %d waiting, %d unprocessed",
		i.Delivered.Stream, i.AckFloor.Stream, i.NumAckPending, i.NumRedelivered, i.NumWaiting, i.NumPending)
}

// waitAcked waits until the view's durable consumer has every event up to seq acknowledged, so
// that stopping the runner or the server next cannot catch an ack in flight (which would hold
// the next event back for the consumer's AckWait).
func (l *logOnline) waitAcked(tb testing.TB, seq uint64) {
	tb.Helper()
	eventually(tb, waitBound, fmt.Sprintf("consumer acknowledges up to %d", seq), func() (bool, string) {
		c, err := l.js.Consumer(context.Background(), events.StreamName, projections.ReaderDurable)
		if err != nil {
			return false, err.Error()
		}
		info := c.CachedInfo()
		return info.AckFloor.Stream >= seq && info.NumAckPending == 0,
			fmt.Sprintf("ack floor %d, %d pending", info.AckFloor.Stream, info.NumAckPending)
	})
}

// interleave returns the stories' envelopes as the log would hold them when their articles are
// worked on side by side: first events first.
func interleave(tb testing.TB, stories ...story) []events.Envelope {
	tb.Helper()
	var lists [][]events.Envelope
	for _, s := range stories {
		lists = append(lists, s.envelopes(tb, 0))
	}
	var out []events.Envelope
	for i := 0; ; i++ {
		added := false
		for _, l := range lists {
			if i < len(l) {
				out = append(out, l[i])
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

func TestRunnerFollowsTheLogAndRefillsADroppedView(t *testing.T) {
	t.Parallel()
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		l := newLogOnline(t, db)
		pub := story{id: "a-pub", slug: "a-pub", publishedAt: t0}
		desk := story{id: "a-desk", slug: "a-desk", publishedAt: t0}
		envs := interleave(t, pub, desk)
		// pub's publication is the one but last; desk's, the last, is left out: it stays approved.
		last := l.append(t, envs[:len(envs)-1]...)

		r := l.startRunner(t)
		l.waitFor(t, r, last)
		st := r.Statuses()
		if len(st) != 1 || st[0].Name != "published" || st[0].Checkpoint != last || st[0].LastError != "" {
			t.Errorf("Statuses() = %+v; want published at %d, no error", st, last)
		}
		if got := checkpoint(t, db); got != last {
			t.Errorf("Checkpoint = %d; want %d", got, last)
		}
		items, total := listAll(t, l.view)
		if total != 1 || len(items) != 1 || items[0].ID != pub.id || items[0].Version != 5 {
			t.Fatalf("List = %+v, total %d; want %s at version 5 only", items, total, pub.id)
		}
		notPublic(t, l.view, desk.slug)
		before := snap(t, db)
		if len(before.Articles) != 2 {
			t.Fatalf("public_articles has %d rows; want 2 (%s and %s)", len(before.Articles), pub.id, desk.id)
		}

		// Stop, drop the view by hand, start again on the same durable: the view refills.
		l.waitAcked(t, last)
		if err := r.Close(); err != nil {
			t.Fatalf("Runner.Close: %v", err)
		}
		for _, table := range []string{"public_articles", "public_tags"} {
			if _, err := db.Write.Exec(`DELETE FROM ` + table); err != nil {
				t.Fatalf("drop the view: delete from %s: %v", table, err)
			}
		}
		setCheckpoint(t, db, 0)

		r2 := l.startRunner(t)
		l.waitFor(t, r2, last)
		if got := snap(t, db); !reflect.DeepEqual(got, before) {
			t.Errorf("refilled view:\n got %+v\nwant %+v", got, before)
		}
		if got := checkpoint(t, db); got != last {
			t.Errorf("Checkpoint after refill = %d; want %d", got, last)
		}
	})
}

func TestRunnerCatchesUpAfterAStop(t *testing.T) {
	t.Parallel()
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		l := newLogOnline(t, db)
		s := story{id: "a-1", slug: "a-1", publishedAt: t0}
		envs := s.envelopes(t, 0)
		first := l.append(t, envs[:2]...)

		r := l.startRunner(t)
		l.waitFor(t, r, first)
		l.waitAcked(t, first)
		if err := r.Close(); err != nil {
			t.Fatalf("Runner.Close: %v", err)
		}
		// Stopped means the server has forgotten the runner: until then, an event appended now
		// could be handed to the closed runner's pull request and wait for AckWait.
		l.waitGone(t)

		// Appended while no runner runs.
		last := l.append(t, envs[2:]...)
		last = l.append(t, envelope(t, "a-2", 1, 0, domain.Drafted{Headline: "next"}, t0))
		if got := checkpoint(t, db); got != first {
			t.Fatalf("Checkpoint while stopped = %d; want %d", got, first)
		}

		r2 := l.startRunner(t)
		l.waitFor(t, r2, last)
		if a, err := l.view.BySlug(context.Background(), s.slug); err != nil || a.Version != 5 {
			t.Errorf("BySlug(%s) = v%d, %v; want v5, nil", s.slug, a.Version, err)
		}
		if got := rows(t, db); len(got) != 2 {
			t.Errorf("public_articles has %d rows; want 2", len(got))
		}
	})
}

func TestRunnerSurvivesAServerRestart(t *testing.T) {
	t.Parallel()
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		l := newLogOnline(t, db)
		s := story{id: "a-1", slug: "a-1", publishedAt: t0}
		envs := s.envelopes(t, 0)
		r := l.startRunner(t)
		first := l.append(t, envs[:2]...)
		l.waitFor(t, r, first)
		l.waitAcked(t, first)

		l.srv.Restart()
		eventually(t, waitBound, "test client reconnects", func() (bool, string) {
			return l.nc.IsConnected(), l.nc.Status().String()
		})
		last := l.append(t, envs[2:]...)
		l.waitFor(t, r, last)
		if a, err := l.view.BySlug(context.Background(), s.slug); err != nil || a.Version != 5 {
			t.Errorf("BySlug(%s) = v%d, %v; want v5, nil", s.slug, a.Version, err)
		}
		if got := checkpoint(t, db); got != last {
			t.Errorf("Checkpoint = %d; want %d", got, last)
		}
		// Before the restarted server's cleanup stops it under the runner.
		if err := r.Close(); err != nil {
			t.Errorf("Runner.Close: %v", err)
		}
	})
}

func TestRunnerStopsAtAGap(t *testing.T) {
	t.Parallel()
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		l := newLogOnline(t, db)
		ok := l.append(t, envelope(t, "a-1", 1, 0, domain.Drafted{Headline: "h"}, t0))
		// Version 3 of an article at version 1: the store does not check versions.
		gap := l.append(t, envelope(t, "a-1", 3, 0, domain.Submitted{}, t0))
		after := l.append(t, envelope(t, "a-2", 1, 0, domain.Drafted{Headline: "after the gap"}, t0))

		r := l.startRunner(t)
		l.waitFor(t, r, ok)

		short, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := r.WaitFor(short, gap); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("WaitFor(%d), the gap = %v; want context.DeadlineExceeded", gap, err)
		}
		eventually(t, waitBound, "Statuses reports the gap", func() (bool, string) {
			st := r.Statuses()
			return len(st) == 1 && strings.Contains(st[0].LastError, projections.ErrGap.Error()), fmt.Sprintf("%+v", st)
		})
		if st := r.Statuses(); st[0].Name != "published" || st[0].Checkpoint != ok {
			t.Errorf("Statuses() = %+v; want published at checkpoint %d", st, ok)
		}

		// Not skipped, not overtaken: the view is still at the event before the gap.
		if got := checkpoint(t, db); got != ok {
			t.Errorf("Checkpoint = %d; want %d (before the gap at %d)", got, ok, gap)
		}
		if got := rows(t, db); len(got) != 1 || got[0].ID != "a-1" || got[0].Version != 1 {
			t.Errorf("public_articles = %+v; want only a-1 at version 1 (a-2 at seq %d is after the gap)", got, after)
		}
	})
}
