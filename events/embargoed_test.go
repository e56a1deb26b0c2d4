package events_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
)

// TestActionsByAudience: which stream an event reaches follows who may learn of it
// (domain.AudienceOf), not its type: a type that may be public reaches the embargoed stream
// alone while its article is under embargo, and the lift reaches both.
func TestActionsByAudience(t *testing.T) {
	until := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		event             domain.Event
		public, embargoed string // "" for none
	}{
		{domain.Published{Slug: "s"}, events.ActionPublished, ""},
		{domain.Published{Slug: "s", EmbargoUntil: until}, "", events.ActionPublished},
		{domain.Corrected{}, events.ActionCorrected, ""},
		{domain.Corrected{Embargoed: true}, "", events.ActionCorrected},
		{domain.Retracted{}, events.ActionRetracted, ""},
		{domain.Retracted{Embargoed: true}, "", events.ActionRetracted},
		{domain.Killed{}, events.ActionKilled, ""},
		{domain.Killed{Embargoed: true}, "", events.ActionKilled},
		{domain.EmbargoMoved{EmbargoUntil: until}, "", events.ActionEmbargoMoved},
		{domain.EmbargoLifted{Slug: "s"}, events.ActionPublished, events.ActionEmbargoLifted},
		{domain.Drafted{}, "", ""},
		{domain.Scheduled{PublishAt: until, EmbargoUntil: until.Add(time.Hour)}, "", ""},
		{domain.CorrectionProposed{}, "", ""},
	}
	for _, tt := range tests {
		public, _ := events.PublicActionOf(tt.event)
		embargoed, _ := events.EmbargoedActionOf(tt.event)
		if public != tt.public || embargoed != tt.embargoed {
			t.Errorf("%T %+v: public %q, embargoed %q; want %q, %q", tt.event, tt.event, public, embargoed, tt.public, tt.embargoed)
		}
	}
}

// TestTrustedMessage: a message for trusted subscribers goes to the embargoed stream's subject,
// with a CloudEvent id of its own and ninjs embargoed set.
func TestTrustedMessage(t *testing.T) {
	until := time.Date(2026, 12, 7, 9, 0, 0, 0, time.FixedZone("CET", 3600))
	env := events.Envelope{ID: "e-1", ArticleID: "a-1", ArticleVersion: 5, Time: until.Add(-time.Hour), Sequence: 9}
	text := events.PublicText{Slug: "s", Headline: "h", BodyHTML: "<p>b</p>", EmbargoUntil: until}
	msg, err := events.PublicEvent{Action: events.ActionPublished, Source: env, PublicURL: "https://news.example", Text: text, Trusted: true}.Msg()
	if err != nil {
		t.Fatal(err)
	}
	var doc events.Ninjs
	if err := json.Unmarshal(msg.Data, &doc); err != nil {
		t.Fatal(err)
	}
	if msg.Subject != "newsroom.embargoed.article.published.a-1" || msg.Header.Get("ce-id") != "e-1"+events.EmbargoedIDSuffix ||
		doc.Embargoed != "2026-12-07T08:00:00Z" || doc.URI != "https://news.example/public/v1/articles/s" {
		t.Errorf("trusted message: %s %v %s; want the embargoed subject, a suffixed id, embargoed in UTC", msg.Subject, msg.Header, msg.Data)
	}
	public, err := events.PublicEvent{Action: events.ActionPublished, Source: env, PublicURL: "https://news.example",
		Text: events.PublicText{Slug: "s", Headline: "h"}}.Msg()
	if err != nil {
		t.Fatal(err)
	}
	if public.Subject != "newsroom.public.article.published.a-1" || public.Header.Get("ce-id") != "e-1" || containsKey(public.Data, "embargoed") {
		t.Errorf("public message: %s %v %s; want the public subject, the event id, no embargoed", public.Subject, public.Header, public.Data)
	}
}

func containsKey(data []byte, key string) bool {
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	_, ok := m[key]
	return ok
}

// TestEraseKilledEmbargoed: a kill erases the article's messages on the embargoed stream too,
// its kill's own kept there; KilledArticles finds kills on either stream.
func TestEraseKilledEmbargoed(t *testing.T) {
	ctx := context.Background()
	store, _, js := openStore(t)
	if _, err := events.EnsureStream(ctx, js, events.EmbargoedStreamConfig(1)); err != nil {
		t.Fatal(err)
	}
	killed, other := uuid.NewString(), uuid.NewString()
	until := time.Now().Add(time.Hour)
	last := map[string]uint64{}
	add := func(id string, version int, e domain.Event) events.Envelope {
		t.Helper()
		env := envelope(t, id, version, e)
		seq, err := store.Append(ctx, env, last[id])
		if err != nil {
			t.Fatal(err)
		}
		env.Sequence, last[id] = seq, seq
		if action, ok := events.EmbargoedActionOf(e); ok {
			msg, err := events.PublicEvent{Action: action, Source: env, PublicURL: "http://example.org", Trusted: true,
				Text: events.PublicText{Slug: "s-" + id, Headline: "h", EmbargoUntil: until}}.Msg()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := js.PublishMsg(ctx, msg); err != nil {
				t.Fatal(err)
			}
		}
		return env
	}
	published := domain.Published{Slug: "s", Headline: "h", Body: "b", Language: "en", EmbargoUntil: until}
	add(killed, 1, domain.Drafted{Headline: "h", Language: "en"})
	add(other, 1, domain.Drafted{Headline: "o", Language: "en"})
	add(killed, 2, published)
	add(other, 2, published)
	add(killed, 3, domain.EmbargoMoved{EmbargoUntil: until.Add(time.Hour)})
	k := add(killed, 4, domain.Killed{Reason: "court", Embargoed: true})

	got, err := events.EraseKilled(ctx, js, killed, k.Sequence)
	if err != nil || got != (events.Erasure{LogEvents: 3, EmbargoedMessages: 2}) {
		t.Fatalf("EraseKilled = %+v, %v; want 3 log events and 2 embargoed messages (no public stream yet)", got, err)
	}
	s, err := js.Stream(ctx, events.EmbargoedStreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(events.EmbargoedSubjectAll))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{
		events.EmbargoedSubject(events.ActionKilled, killed):   1,
		events.EmbargoedSubject(events.ActionPublished, other): 1,
	}
	if len(info.State.Subjects) != len(want) || info.State.Subjects[events.EmbargoedSubject(events.ActionKilled, killed)] != 1 ||
		info.State.Subjects[events.EmbargoedSubject(events.ActionPublished, other)] != 1 {
		t.Errorf("embargoed subjects after the erasure = %v; want %v", info.State.Subjects, want)
	}
	list, err := events.KilledArticles(ctx, js)
	if err != nil || len(list) != 1 || list[0] != (events.KilledArticle{ID: killed, KillSeq: k.Sequence}) {
		t.Errorf("KilledArticles = %+v, %v; want %s killed at %d, found on the embargoed stream", list, err, killed, k.Sequence)
	}
}
