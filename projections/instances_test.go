package projections_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// testPinnedTTL is the pin's TTL in these tests: how long a dead instance keeps its views.
const testPinnedTTL = 2 * time.Second

// recordingView is a view that records the stream sequences this instance applied to the live
// tables. Events at or below the checkpoint never reach Apply, so what it records was applied.
type recordingView struct {
	projections.View
	version int // 0: the view's own

	mu      sync.Mutex
	applied []uint64
}

func (v *recordingView) Version() int {
	if v.version != 0 {
		return v.version
	}
	return v.View.Version()
}

func (v *recordingView) Apply(ctx context.Context, tx *sqlx.Tx, t projections.Tables, batch []events.Envelope) error {
	if err := v.View.Apply(ctx, tx, t, batch); err != nil {
		return err
	}
	if t == projections.Live {
		v.mu.Lock()
		for _, env := range batch {
			v.applied = append(v.applied, env.Sequence)
		}
		v.mu.Unlock()
	}
	return nil
}

func (v *recordingView) sequences() []uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.applied)
}

// instance is one newsroom process's runner, with the connections it opened, so that a test
// can cut them as a crash would.
type instance struct {
	runner *projections.Runner
	view   *recordingView

	mu    sync.Mutex
	conns []*nats.Conn
}

func (in *instance) crash() {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, nc := range in.conns {
		nc.Close()
	}
}

func (l *logOnline) newInstance(version int) *instance {
	in := &instance{view: &recordingView{View: projections.NewPublished(l.db), version: version}}
	in.runner = projections.NewRunner(projections.RunnerConfig{
		DB:  l.db,
		Log: l.store,
		Connect: func() (*nats.Conn, error) {
			nc, err := nats.Connect(l.srv.ClientURL())
			if err == nil {
				in.mu.Lock()
				in.conns = append(in.conns, nc)
				in.mu.Unlock()
			}
			return nc, err
		},
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		PinnedTTL: testPinnedTTL,
	}, in.view)
	return in
}

func (l *logOnline) startInstance(tb testing.TB, version int) *instance {
	tb.Helper()
	in := l.newInstance(version)
	if err := in.runner.Start(context.Background()); err != nil {
		tb.Fatalf("Runner.Start: %v", err)
	}
	tb.Cleanup(func() { in.runner.Close() })
	in.waitStarted(tb)
	return in
}

// waitStarted waits until the instance is live (applying, or standing by) or superseded. A
// new view is first rebuilt (into other tables): what it records starts once it is live.
func (in *instance) waitStarted(tb testing.TB) {
	tb.Helper()
	eventually(tb, waitBound, "the instance goes live or stands aside", func() (bool, string) {
		st := in.runner.Statuses()[0]
		return (st.State == "live" || st.State == "superseded") && st.LastError == "", fmt.Sprintf("%+v", st)
	})
}

func seqs(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func state(r *projections.Runner) string { return r.Statuses()[0].State }

// Several instances run the view; one applies the events, the others stand by. When the active
// one stops, or dies, another continues where it stopped: nothing skipped, nothing applied twice.
func TestOneInstanceAppliesAndAnotherTakesOver(t *testing.T) {
	t.Parallel()
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		l := newLogOnline(t, db)
		a, b := l.startInstance(t, 0), l.startInstance(t, 0)
		last1 := l.append(t, story{id: "a-1", slug: "a-1", publishedAt: t0}.envelopes(t, 0)...)
		l.waitFor(t, a.runner, last1)

		active, standby := a, b
		if len(a.view.sequences()) == 0 {
			active, standby = b, a
		}
		if got := active.view.sequences(); !slices.Equal(got, seqs(1, last1)) {
			t.Fatalf("the active instance applied %v; want %v", got, seqs(1, last1))
		}
		if got := standby.view.sequences(); len(got) != 0 {
			t.Fatalf("the standby instance applied %v; want nothing while the other is active", got)
		}

		// A clean stop hands over at once.
		l.waitAcked(t, last1)
		if err := active.runner.Close(); err != nil {
			t.Fatalf("Runner.Close: %v", err)
		}
		last2 := l.append(t, story{id: "a-2", slug: "a-2", publishedAt: t0}.envelopes(t, 0)...)
		l.waitFor(t, standby.runner, last2)
		if got := standby.view.sequences(); !slices.Equal(got, seqs(last1+1, last2)) {
			t.Errorf("the instance that took over applied %v; want %v", got, seqs(last1+1, last2))
		}

		// A crash (no unpin, connections gone) hands over after the pin's TTL.
		c := l.startInstance(t, 0)
		l.waitAcked(t, last2)
		standby.crash()
		last3 := l.append(t, story{id: "a-3", slug: "a-3", publishedAt: t0}.envelopes(t, 0)...)
		l.waitFor(t, c.runner, last3)
		if got := c.view.sequences(); !slices.Equal(got, seqs(last2+1, last3)) {
			t.Errorf("the instance that took over from the crashed one applied %v; want %v", got, seqs(last2+1, last3))
		}
		all := slices.Concat(active.view.sequences(), standby.view.sequences(), c.view.sequences())
		slices.Sort(all)
		if !slices.Equal(all, seqs(1, last3)) {
			t.Errorf("the instances applied %v between them; want each of 1..%d once", all, last3)
		}
		if got := rows(t, db); len(got) != 3 {
			t.Errorf("public_articles has %d rows; want 3", len(got))
		}
	})
}

// A rolling deploy: instances of two versions of a view share the database. The newer one
// rebuilds the view and takes it over; the older one stops applying (it would write the newer
// tables by its older rules), and an older one started afterwards does not rebuild the view
// down.
func TestRollingDeployNewerVersionTakesOver(t *testing.T) {
	t.Parallel()
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		l := newLogOnline(t, db)
		current := projections.NewPublished(db).Version()
		old := l.startInstance(t, 0)
		last1 := l.append(t, story{id: "a-1", slug: "a-1", publishedAt: t0}.envelopes(t, 0)...)
		l.waitFor(t, old.runner, last1)
		if got := old.view.sequences(); !slices.Equal(got, seqs(1, last1)) {
			t.Fatalf("the only instance applied %v; want %v", got, seqs(1, last1))
		}

		newer := l.startInstance(t, current+1)
		eventually(t, waitBound, "the newer instance rebuilds the view and goes live", func() (bool, string) {
			v, _ := liveVersion(t, db)
			return state(newer.runner) == "live" && v == current+1, fmt.Sprintf("%+v, database version %d", newer.runner.Statuses(), v)
		})

		// The older instance still holds the pin: it is handed the next event, refuses it and
		// steps aside; the newer one applies it and what follows.
		last2 := l.append(t, story{id: "a-2", slug: "a-2", publishedAt: t0}.envelopes(t, 0)...)
		l.waitFor(t, newer.runner, last2)
		eventually(t, waitBound, "the older instance stands down", func() (bool, string) {
			return state(old.runner) == "superseded", fmt.Sprintf("%+v", old.runner.Statuses())
		})
		if got := old.view.sequences(); !slices.Equal(got, seqs(1, last1)) {
			t.Errorf("the older instance applied %v; want only %v, from before the newer version", got, seqs(1, last1))
		}
		if got := newer.view.sequences(); !slices.Equal(got, seqs(last1+1, last2)) {
			t.Errorf("the newer instance applied %v live; want %v", got, seqs(last1+1, last2))
		}

		// An older instance started now neither rebuilds the view down nor applies to it.
		late := l.startInstance(t, 0)
		if got := state(late.runner); got != "superseded" {
			t.Errorf("an older instance started after the deploy is %q; want superseded", got)
		}
		last3 := l.append(t, story{id: "a-3", slug: "a-3", publishedAt: t0}.envelopes(t, 0)...)
		l.waitFor(t, newer.runner, last3)
		if v, rebuilding := liveVersion(t, db); v != current+1 || rebuilding {
			t.Errorf("database holds version %d (a rebuild in progress: %v); want %d and none", v, rebuilding, current+1)
		}
		if got := late.view.sequences(); len(got) != 0 {
			t.Errorf("the late older instance applied %v; want nothing", got)
		}
		if got := rows(t, db); len(got) != 3 {
			t.Errorf("public_articles has %d rows; want 3", len(got))
		}
	})
}

// liveVersion returns the published view's version in the database, and whether a rebuild of
// it is in progress.
func liveVersion(tb testing.TB, db *sqldb.DB) (int, bool) {
	tb.Helper()
	var version, rebuilds int
	if err := db.Read.Get(&version, db.Read.Rebind(`SELECT version FROM checkpoints WHERE name = ?`), "published"); err != nil {
		tb.Fatalf("read the checkpoint: %v", err)
	}
	if err := db.Read.Get(&rebuilds, db.Read.Rebind(`SELECT COUNT(*) FROM checkpoints WHERE name = ?`), "published+rebuild"); err != nil {
		tb.Fatalf("read the checkpoints: %v", err)
	}
	return version, rebuilds > 0
}

// The first start of a release with one reader of the log, over a database and a log that
// releases with a durable per view left behind: those durables are deleted, the reader takes
// over from the view's SQL checkpoint, and nothing is skipped or applied twice.
func TestPerViewDurablesGiveWayToTheReader(t *testing.T) {
	t.Parallel()
	db := sqldbtest.Open(t, sqldb.SQLite)
	l := newLogOnline(t, db)
	ctx := context.Background()
	earlier := story{id: "a-1", slug: "a-1", publishedAt: t0}.envelopes(t, 1)
	first := l.append(t, earlier...)
	// The earlier release's view applied the first story and acknowledged it on its durable.
	if _, err := projections.EnsureTables(ctx, db, l.view); err != nil {
		t.Fatal(err)
	}
	applyAll(t, db, l.view, earlier)
	in := l.newInstance(0)
	_, err := l.js.CreateConsumer(ctx, events.StreamName, jetstream.ConsumerConfig{
		Durable: projections.Durable("published"), FilterSubject: events.SubjectAll, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: 30 * time.Second, MaxAckPending: 1, MaxDeliver: -1,
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: first + 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	last := l.append(t, story{id: "b-2", slug: "b-2", publishedAt: t0.Add(time.Hour)}.envelopes(t, first+1)...)
	if err := in.runner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.runner.Close() })
	l.waitFor(t, in.runner, last)
	if _, err := l.js.Consumer(ctx, events.StreamName, projections.Durable("published")); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("the per-view durable after the reader started: %v; want it deleted", err)
	}
	c, err := l.js.Consumer(ctx, events.StreamName, projections.ReaderDurable)
	if err != nil {
		t.Fatal(err)
	}
	info := c.CachedInfo()
	if info.Config.PriorityPolicy != jetstream.PriorityPolicyPinned || !slices.Equal(info.Config.PriorityGroups, []string{"active"}) ||
		info.Config.PinnedTTL != testPinnedTTL || info.Config.AckPolicy != jetstream.AckAllPolicy {
		t.Errorf("reader config = policy %v, groups %v, pinned TTL %v, ack %v; want pinned_client, [active], %v, all",
			info.Config.PriorityPolicy, info.Config.PriorityGroups, info.Config.PinnedTTL, info.Config.AckPolicy, testPinnedTTL)
	}
	// The reader started after the checkpoint: the view saw the second story only, once each.
	if got, want := in.view.sequences(), seqs(first+1, last); !slices.Equal(got, want) {
		t.Errorf("the view applied %v after the reader took over; want %v", got, want)
	}
}

// Two instances of a new version of the view start together: they rebuild it once between
// them (or each finds the other's work done) and both go live; no fight, nothing left behind.
func TestInstancesStartingTogetherShareARebuild(t *testing.T) {
	t.Parallel()
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		l := newLogOnline(t, db)
		current := projections.NewPublished(db).Version()
		first := l.startInstance(t, 0)
		var last uint64
		for i := range 20 {
			last = l.append(t, story{id: fmt.Sprintf("a-%d", i), slug: fmt.Sprintf("a-%d", i), publishedAt: t0}.envelopes(t, 0)...)
		}
		l.waitFor(t, first.runner, last)
		if err := first.runner.Close(); err != nil {
			t.Fatal(err)
		}

		a, b := l.newInstance(current+1), l.newInstance(current+1)
		var starting sync.WaitGroup
		errs := make([]error, 2)
		for i, in := range []*instance{a, b} {
			starting.Go(func() { errs[i] = in.runner.Start(context.Background()) })
			t.Cleanup(func() { in.runner.Close() })
		}
		starting.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("Runner.Start: %v", err)
			}
		}
		a.waitStarted(t)
		b.waitStarted(t)
		for _, in := range []*instance{a, b} {
			if st := in.runner.Statuses()[0]; st.State != "live" || st.Checkpoint != last {
				t.Errorf("instance status %+v; want live at %d", st, last)
			}
		}
		if v, rebuilding := liveVersion(t, db); v != current+1 || rebuilding {
			t.Errorf("database holds version %d (a rebuild in progress: %v); want %d and none", v, rebuilding, current+1)
		}
		next := l.append(t, story{id: "a-next", slug: "a-next", publishedAt: t0}.envelopes(t, 0)...)
		l.waitFor(t, a.runner, next)
		all := slices.Concat(a.view.sequences(), b.view.sequences())
		slices.Sort(all)
		if !slices.Equal(all, seqs(last+1, next)) {
			t.Errorf("the instances applied %v live between them; want each of %d..%d once", all, last+1, next)
		}
		if got := rows(t, db); len(got) != 21 {
			t.Errorf("public_articles has %d rows; want 21", len(got))
		}
	})
}
