package events_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
)

// TestEraseKilled: the kill and its public message stay; every other event and public message
// of the article goes; other articles are untouched; a second erasure finds nothing to do.
func TestEraseKilled(t *testing.T) {
	ctx := context.Background()
	store, _, js := openStore(t)
	if _, err := events.EnsureStream(ctx, js, events.PublicStreamConfig(1)); err != nil {
		t.Fatal(err)
	}
	killed, other := uuid.NewString(), uuid.NewString()
	appendAndPublish := func(id string, version int, e domain.Event, expected uint64) events.Envelope {
		t.Helper()
		env := envelope(t, id, version, e)
		seq, err := store.Append(ctx, env, expected)
		if err != nil {
			t.Fatal(err)
		}
		env.Sequence = seq
		if action, public := events.PublicActionOf(e); public {
			msg, err := events.PublicEvent{Action: action, Source: env, PublicURL: "http://example.org",
				Text: events.PublicText{Slug: "s-" + id, Headline: "h"}}.Msg()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := js.PublishMsg(ctx, msg); err != nil {
				t.Fatal(err)
			}
		}
		return env
	}
	published := domain.Published{Slug: "s", Headline: "h", Body: "b", Language: "en"}
	d := appendAndPublish(killed, 1, domain.Drafted{Headline: "h", Language: "en"}, 0)
	o := appendAndPublish(other, 1, domain.Drafted{Headline: "o", Language: "en"}, 0)
	p := appendAndPublish(killed, 2, published, d.Sequence)
	appendAndPublish(other, 2, published, o.Sequence)
	k := appendAndPublish(killed, 3, domain.Killed{Reason: "court"}, p.Sequence)

	got, err := events.EraseKilled(ctx, js, killed, k.Sequence)
	if err != nil || got != (events.Erasure{LogEvents: 2, PublicMessages: 1}) {
		t.Fatalf("EraseKilled = %+v, %v; want 2 log events and 1 public message", got, err)
	}
	h, err := store.Load(ctx, killed)
	if err != nil || len(h.Events) != 1 || h.Events[0].Type != domain.TypeKilled || h.LastSequence != k.Sequence {
		t.Errorf("Load(killed) = %+v, %v; want the kill alone", h, err)
	}
	if h, _ := store.Load(ctx, other); len(h.Events) != 2 {
		t.Errorf("Load(other) holds %d events; want 2, untouched", len(h.Events))
	}
	public, _ := js.Stream(ctx, events.PublicStreamName)
	info, err := public.Info(ctx, jetstream.WithSubjectFilter(events.PublicSubjectAll))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{
		events.PublicSubject(events.ActionKilled, killed):   1,
		events.PublicSubject(events.ActionPublished, other): 1,
	}
	if len(info.State.Subjects) != len(want) {
		t.Errorf("public subjects after the erasure = %v; want %v", info.State.Subjects, want)
	}
	for subject, n := range want {
		if info.State.Subjects[subject] != n {
			t.Errorf("public subjects after the erasure = %v; want %v", info.State.Subjects, want)
		}
	}
	if again, err := events.EraseKilled(ctx, js, killed, k.Sequence); err != nil || again != (events.Erasure{}) {
		t.Errorf("second EraseKilled = %+v, %v; want nothing erased", again, err)
	}
	list, err := events.KilledArticles(ctx, js)
	if err != nil || len(list) != 1 || list[0] != (events.KilledArticle{ID: killed, KillSeq: k.Sequence}) {
		t.Errorf("KilledArticles = %+v, %v; want %s killed at %d", list, err, killed, k.Sequence)
	}
}
