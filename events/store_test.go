package events_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/embeddednats/natstest"
	"github.com/newsroom/newsroom/events"
)

var reporter = domain.Actor{ID: "u-reporter", Role: domain.RoleReporter}

func openStore(tb testing.TB) (*events.Store, *natstest.Server, jetstream.JetStream) {
	tb.Helper()
	srv := natstest.Start(tb)
	_, js := srv.Connect(tb)
	store, err := events.Open(context.Background(), js, 1)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	return store, srv, js
}

func envelope(tb testing.TB, articleID string, version int, e domain.Event) events.Envelope {
	tb.Helper()
	env, err := events.NewEnvelope(articleID, version, e, reporter, time.Now(), events.Trace{CorrelationID: "req-1"})
	if err != nil {
		tb.Fatalf("new envelope: %v", err)
	}
	return env
}

func revision(headline string) domain.Revised {
	return domain.Revised{Changes: domain.Changes{Headline: &headline}}
}

func TestAppendAndLoad(t *testing.T) {
	ctx := context.Background()
	store, _, _ := openStore(t)
	id := uuid.NewString()

	seq1, err := store.Append(ctx, envelope(t, id, 1, domain.Drafted{Headline: "First", Language: "en"}), 0)
	if err != nil {
		t.Fatalf("append draft: %v", err)
	}
	// Another article's event between the two: per-subject sequences, not stream ones, matter.
	if _, err := store.Append(ctx, envelope(t, uuid.NewString(), 1, domain.Drafted{Headline: "Other"}), 0); err != nil {
		t.Fatalf("append other: %v", err)
	}
	seq2, err := store.Append(ctx, envelope(t, id, 2, revision("Second")), seq1)
	if err != nil {
		t.Fatalf("append revision: %v", err)
	}

	h, err := store.Load(ctx, id)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if len(h.Events) != 2 || h.LastSequence != seq2 {
		t.Fatalf("Load() = %d events, last seq %d; want 2 events, last seq %d", len(h.Events), h.LastSequence, seq2)
	}
	var history []domain.Recorded
	for _, env := range h.Events {
		r, err := env.Recorded()
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		history = append(history, r)
	}
	a := domain.Fold(id, history)
	if a.Headline != "Second" || a.Version != 2 || a.Status != domain.StatusDraft {
		t.Errorf("folded article = %q v%d %s; want \"Second\" v2 draft", a.Headline, a.Version, a.Status)
	}
	if h.Events[0].CorrelationID != "req-1" || h.Events[0].Actor.ID != reporter.ID {
		t.Errorf("envelope metadata lost: %+v", h.Events[0])
	}

	empty, err := store.Load(ctx, uuid.NewString())
	if err != nil || len(empty.Events) != 0 || empty.LastSequence != 0 {
		t.Errorf("Load(unknown) = %+v, %v; want empty history, nil", empty, err)
	}
}

func TestAppendConflict(t *testing.T) {
	ctx := context.Background()
	store, _, _ := openStore(t)
	id := uuid.NewString()

	seq1, err := store.Append(ctx, envelope(t, id, 1, domain.Drafted{Headline: "A"}), 0)
	if err != nil {
		t.Fatal(err)
	}
	// A second creation of the same article.
	if _, err := store.Append(ctx, envelope(t, id, 1, domain.Drafted{Headline: "B"}), 0); !errors.Is(err, events.ErrConflict) {
		t.Errorf("second draft: err = %v; want ErrConflict", err)
	}
	if _, err := store.Append(ctx, envelope(t, id, 2, revision("C")), seq1); err != nil {
		t.Fatal(err)
	}
	// A revision decided on the state at seq1, after another revision landed.
	if _, err := store.Append(ctx, envelope(t, id, 2, revision("D")), seq1); !errors.Is(err, events.ErrConflict) {
		t.Errorf("stale revision: err = %v; want ErrConflict", err)
	}
	h, _ := store.Load(ctx, id)
	if len(h.Events) != 2 {
		t.Errorf("after conflicts the article has %d events; want 2 (nothing written on conflict)", len(h.Events))
	}
}

func TestConcurrentRevisionsExactlyOneWins(t *testing.T) {
	ctx := context.Background()
	store, _, _ := openStore(t)
	id := uuid.NewString()
	seq1, err := store.Append(ctx, envelope(t, id, 1, domain.Drafted{Headline: "A"}), 0)
	if err != nil {
		t.Fatal(err)
	}

	const writers = 16
	var wg sync.WaitGroup
	results := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i] = store.Append(ctx, envelope(t, id, 2, revision("rev")), seq1)
		}()
	}
	wg.Wait()

	won, conflicts := 0, 0
	for _, err := range results {
		switch {
		case err == nil:
			won++
		case errors.Is(err, events.ErrConflict):
			conflicts++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if won != 1 || conflicts != writers-1 {
		t.Errorf("%d writers of version 2: %d won, %d conflicted; want 1 and %d", writers, won, conflicts, writers-1)
	}
	h, _ := store.Load(ctx, id)
	if len(h.Events) != 2 {
		t.Errorf("article has %d events; want 2", len(h.Events))
	}
}

// A retry of an append whose ack was lost: on a single-replica stream the server answers 10071,
// not "duplicate"; the store must find its own event and report success with its sequence.
func TestRetriedAppendIsNotAConflict(t *testing.T) {
	ctx := context.Background()
	store, _, _ := openStore(t)
	id := uuid.NewString()
	seq1, err := store.Append(ctx, envelope(t, id, 1, domain.Drafted{Headline: "A"}), 0)
	if err != nil {
		t.Fatal(err)
	}
	rev := envelope(t, id, 2, revision("B"))
	seq2, err := store.Append(ctx, rev, seq1)
	if err != nil {
		t.Fatal(err)
	}

	again, err := store.Append(ctx, rev, seq1)
	if err != nil || again != seq2 {
		t.Errorf("retry of the same envelope = %d, %v; want %d, nil", again, err, seq2)
	}

	// Even when another event followed ours.
	seq3, err := store.Append(ctx, envelope(t, id, 3, revision("C")), seq2)
	if err != nil {
		t.Fatal(err)
	}
	again, err = store.Append(ctx, rev, seq1)
	if err != nil || again != seq2 {
		t.Errorf("late retry = %d, %v; want %d, nil", again, err, seq2)
	}
	// A retried creation as well.
	draft := envelope(t, uuid.NewString(), 1, domain.Drafted{Headline: "D"})
	first, err := store.Append(ctx, draft, 0)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := store.Append(ctx, draft, 0); err != nil || again != first {
		t.Errorf("retried draft = %d, %v; want %d, nil", again, err, first)
	}

	h, _ := store.Load(ctx, id)
	if len(h.Events) != 3 || h.LastSequence != seq3 {
		t.Errorf("article has %d events (last %d); want 3 (last %d): retries wrote nothing", len(h.Events), h.LastSequence, seq3)
	}
}

func TestRestartKeepsEverythingOnce(t *testing.T) {
	ctx := context.Background()
	store, srv, _ := openStore(t)
	id := uuid.NewString()
	seq1, err := store.Append(ctx, envelope(t, id, 1, domain.Drafted{Headline: "A"}), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(ctx, envelope(t, id, 2, revision("B")), seq1); err != nil {
		t.Fatal(err)
	}

	srv.Restart()
	_, js := srv.Connect(t)
	reopened, err := events.Open(ctx, js, 1)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	h, err := reopened.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Events) != 2 {
		t.Fatalf("after restart: %d events; want 2", len(h.Events))
	}
	last, err := reopened.LastSequence(ctx)
	if err != nil || last != h.LastSequence {
		t.Errorf("LastSequence() = %d, %v; want %d", last, err, h.LastSequence)
	}
}

func TestAppendUnavailable(t *testing.T) {
	store, srv, _ := openStore(t)
	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := store.Append(ctx, envelope(t, uuid.NewString(), 1, domain.Drafted{Headline: "A"}), 0)
	if !errors.Is(err, events.ErrUnavailable) {
		t.Errorf("append with the server down: err = %v; want ErrUnavailable", err)
	}
}

func TestReserveSlug(t *testing.T) {
	ctx := context.Background()
	store, _, _ := openStore(t)
	a, b := uuid.NewString(), uuid.NewString()
	if err := store.ReserveSlug(ctx, "nato-meets", a); err != nil {
		t.Fatalf("first reservation: %v", err)
	}
	if err := store.ReserveSlug(ctx, "nato-meets", a); err != nil {
		t.Errorf("same article again: %v; want nil", err)
	}
	if err := store.ReserveSlug(ctx, "nato-meets", b); !errors.Is(err, domain.ErrSlugTaken) {
		t.Errorf("another article: %v; want ErrSlugTaken", err)
	}
	if err := store.ReserveSlug(ctx, "nato-meets-2", b); err != nil {
		t.Errorf("another slug: %v", err)
	}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	env := envelope(t, uuid.NewString(), 1, domain.Drafted{Headline: "H", Tags: []string{"nato"}})
	body, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := events.Unmarshal(body, 42)
	if err != nil {
		t.Fatal(err)
	}
	if back.Sequence != 42 || back.ID != env.ID || back.Type != domain.TypeDrafted || back.SchemaVersion != 2 {
		t.Errorf("round trip = %+v; want id %s, type %s, schema 2, seq 42", back, env.ID, domain.TypeDrafted)
	}
	r, err := back.Recorded()
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := r.Event.(domain.Drafted); !ok || d.Headline != "H" || len(d.Tags) != 1 {
		t.Errorf("decoded event = %#v; want Drafted{Headline: H, Tags: [nato]}", r.Event)
	}
}

func TestUnmarshalRejects(t *testing.T) {
	for _, body := range []string{
		``, `{`, `[]`, `{"id":"x"}`,
		`{"id":"x","type":"article.drafted","article_id":"a","article_version":0,"data":{}}`,
		`{"id":"x","type":"","article_id":"a","article_version":1,"data":{}}`,
	} {
		if _, err := events.Unmarshal([]byte(body), 1); err == nil {
			t.Errorf("Unmarshal(%q) = nil error; want an error", body)
		}
	}
	unknown := events.Envelope{ID: "x", Type: "article.teleported", SchemaVersion: 1, ArticleID: "a", ArticleVersion: 1}
	if _, err := unknown.Recorded(); err == nil {
		t.Error("Recorded() of an unknown type = nil error; want an error")
	}
}

func TestReadLog(t *testing.T) {
	ctx := context.Background()
	store, _, _ := openStore(t)
	var want []string
	var last uint64
	for i := range 25 {
		env := envelope(t, uuid.NewString(), 1, domain.Drafted{Headline: "A"})
		seq, err := store.Append(ctx, env, 0)
		if err != nil {
			t.Fatal(err)
		}
		if i >= 4 {
			want = append(want, env.ID)
		}
		last = seq
	}
	tests := []struct {
		from, until uint64
		batch       int
		wantIDs     []string
	}{
		{5, last, 7, want},
		{5, 9, 2, want[:5]},
		{0, 0, 3, nil},
		{30, 40, 3, nil},
	}
	for _, tt := range tests {
		var got []string
		var prev uint64
		err := store.ReadLog(ctx, tt.from, tt.until, tt.batch, func(batch []events.Envelope) error {
			if len(batch) == 0 || len(batch) > tt.batch {
				t.Errorf("batch of %d; want 1 to %d", len(batch), tt.batch)
			}
			for _, env := range batch {
				if env.Sequence <= prev {
					t.Errorf("sequence %d after %d; want increasing", env.Sequence, prev)
				}
				prev = env.Sequence
				got = append(got, env.ID)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("ReadLog(%d, %d): %v", tt.from, tt.until, err)
		}
		if len(got) != len(tt.wantIDs) {
			t.Errorf("ReadLog(%d, %d) read %d events; want %d", tt.from, tt.until, len(got), len(tt.wantIDs))
			continue
		}
		for i := range got {
			if got[i] != tt.wantIDs[i] {
				t.Errorf("ReadLog(%d, %d)[%d] = %s; want %s", tt.from, tt.until, i, got[i], tt.wantIDs[i])
			}
		}
	}
}

// TestReadRange: a short read returns the events of the range as the log holds them, at most
// limit, and leaves no consumer on the server.
func TestReadRange(t *testing.T) {
	ctx := context.Background()
	store, _, js := openStore(t)
	var ids []string
	var last uint64
	for range 25 {
		env := envelope(t, uuid.NewString(), 1, domain.Drafted{Headline: "A"})
		seq, err := store.Append(ctx, env, 0)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, env.ID)
		last = seq
	}
	stream, err := js.Stream(ctx, events.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.DeleteMsg(ctx, 7); err != nil { // as a kill's erasure does
		t.Fatal(err)
	}
	without7 := append(slices.Clone(ids[4:6]), ids[7:]...)
	tests := []struct {
		from, until uint64
		limit       int
		want        []string
	}{
		{5, last, 100, without7},
		{5, 9, 100, without7[:4]},
		{5, last, 3, without7[:3]},
		{0, 0, 3, nil},
		{30, 40, 3, nil},
	}
	for _, tt := range tests {
		got, err := store.ReadRange(ctx, tt.from, tt.until, tt.limit)
		if err != nil {
			t.Fatalf("ReadRange(%d, %d, %d): %v", tt.from, tt.until, tt.limit, err)
		}
		var gotIDs []string
		for _, env := range got {
			gotIDs = append(gotIDs, env.ID)
		}
		if !slices.Equal(gotIDs, tt.want) {
			t.Errorf("ReadRange(%d, %d, %d) = %v; want %v", tt.from, tt.until, tt.limit, gotIDs, tt.want)
		}
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Consumers != 0 {
		t.Errorf("%d consumers left on the stream after the reads; want 0", info.State.Consumers)
	}
}
