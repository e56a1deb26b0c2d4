package events_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
)

// fuzzEvents is one event of every type, with realistic payloads.
func fuzzEvents() []domain.Event {
	s := func(v string) *string { return &v }
	tags := []string{"nato", "russia"}
	at := time.Date(2025, 12, 7, 9, 30, 0, 123456000, time.UTC)
	return []domain.Event{
		domain.Drafted{Headline: "NATO-Russia foreign ministers meet", Summary: "Ministers met.", Body: "Ministers met on 7 December.",
			Language: "en", Byline: "NATO Press Office", Dateline: "BRUSSELS", Tags: tags, Slug: "nato-russia"},
		domain.Revised{Changes: domain.Changes{Headline: s("New headline"), Summary: s(""), Tags: &[]string{}}},
		domain.Submitted{},
		domain.ChangesRequested{Comment: "Check the date."},
		domain.Approved{},
		domain.Published{Slug: "nato-russia-foreign-ministers-meet", PublishedAt: at, Headline: "NATO-Russia foreign ministers meet",
			Summary: "Ministers met.", Body: "Ministers met on 7 December.", Language: "en", Tags: tags},
		domain.Corrected{Note: "The date is corrected.", Slug: "nato-russia-foreign-ministers-meet", PublishedAt: at,
			Headline: "NATO-Russia foreign ministers meet", Body: "Ministers met on 8 December.", Language: "en"},
		domain.Retracted{Reason: "The source withdrew the statement."},
		domain.Spiked{Reason: "Duplicate."},
		domain.Spiked{},
	}
}

// FuzzUnmarshalEnvelope reads arbitrary bytes as a stored envelope. Unmarshal never panics;
// what it accepts has the fields every reader relies on; Recorded on it never panics, and what
// Recorded returns is the envelope's event at the envelope's version.
func FuzzUnmarshalEnvelope(f *testing.F) {
	by := domain.Actor{ID: "0b5d6c1e-3f4a-4c59-9a0e-6e2b8f6a1d37", Role: domain.RoleEditor}
	at := time.Date(2025, 12, 7, 9, 30, 0, 0, time.UTC)
	for i, e := range fuzzEvents() {
		env, err := events.NewEnvelope("7f1c1e36-2f0b-4a43-9c55-1f1a4c0e9b10", i+1, e, by, at,
			events.Trace{CorrelationID: "req-1", CausationID: "cause-1"})
		if err != nil {
			f.Fatalf("NewEnvelope(%T): %v", e, err)
		}
		data, err := env.Marshal()
		if err != nil {
			f.Fatalf("Marshal(%T): %v", e, err)
		}
		f.Add(data, uint64(i+1))
		// The same envelope, broken in the ways a stored body could be.
		var fields map[string]any
		if err := json.Unmarshal(data, &fields); err != nil {
			f.Fatal(err)
		}
		for _, change := range []func(map[string]any){
			func(m map[string]any) { m["schema_version"] = 2 },
			func(m map[string]any) { m["schema_version"] = 0 },
			func(m map[string]any) { m["schema_version"] = -1 },
			func(m map[string]any) { m["schema_version"] = 1 << 62 },
			func(m map[string]any) { m["article_version"] = 0 },
			func(m map[string]any) { m["article_version"] = 1 << 62 },
			func(m map[string]any) { m["type"] = "article.exploded" },
			func(m map[string]any) { m["data"] = "a string" },
			func(m map[string]any) { m["data"] = nil },
			func(m map[string]any) { m["data"] = []any{1, 2} },
			func(m map[string]any) {
				m["data"] = map[string]any{"headline": 5, "tags": "x", "published_at": "yesterday"}
			},
			func(m map[string]any) { delete(m, "data") },
			func(m map[string]any) { delete(m, "id") },
			func(m map[string]any) { m["time"] = "not a time" },
			func(m map[string]any) { m["actor"] = "someone" },
		} {
			broken := make(map[string]any, len(fields))
			for k, v := range fields {
				broken[k] = v
			}
			change(broken)
			b, err := json.Marshal(broken)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, uint64(0))
		}
	}
	for _, s := range []string{
		``, `null`, `{}`, `[]`, `"envelope"`, `{"id":"x"}`,
		`{"id":"e","type":"article.drafted","schema_version":1,"article_id":"a","article_version":1,"data":{}}`,
		`{"id":"e","type":"article.published","schema_version":1,"article_id":"a","article_version":1,"data":{"published_at":"9999-12-31T23:59:59Z"}}`,
		`{"id":"e","type":"article.revised","schema_version":1,"article_id":"a","article_version":1,"data":{"tags":null,"headline":null}}`,
		`{"id":"e","type":"article.drafted","schema_version":1,"article_id":"a","article_version":1,"data":{"headline":"x"} }`,
		`{"id":"e","type":"article.drafted","schema_version":1,"article_id":"a","article_version":1,"data":{"headline":"x"}{}}`,
		`{"id":"e","type":"article.submitted","schema_version":1,"article_id":"a","article_version":9223372036854775807,"data":null}`,
		`{"id":"e","type":"article.submitted","schema_version":1,"article_id":"a","article_version":1e3,"data":{}}`,
		`{"id":"e","type":"article.submitted","schema_version":1,"article_id":"a","article_version":1,"data":` + strings.Repeat("[", 3000) + strings.Repeat("]", 3000) + `}`,
	} {
		f.Add([]byte(s), uint64(7))
	}

	f.Fuzz(func(t *testing.T, body []byte, seq uint64) {
		env, err := events.Unmarshal(body, seq)
		if err != nil {
			return
		}
		switch {
		case env.ID == "", env.ArticleID == "", env.Type == "", env.ArticleVersion < 1:
			t.Fatalf("Unmarshal(%q) accepted %+v; want an id, an article id, a type and a version from 1", body, env)
		case env.Sequence != seq:
			t.Fatalf("Unmarshal(%q, %d).Sequence = %d", body, seq, env.Sequence)
		}
		r, err := env.Recorded()
		if err != nil {
			return
		}
		if r.Version != env.ArticleVersion {
			t.Errorf("Recorded().Version = %d; want the envelope's article version %d", r.Version, env.ArticleVersion)
		}
		if r.Event == nil {
			t.Fatalf("Recorded() of %q has no event and no error", body)
		}
		if got := r.Event.EventType(); got != env.Type {
			t.Errorf("Recorded() of a %q envelope is a %q event", env.Type, got)
		}
		if r.By.ID != env.Actor.ID || string(r.By.Role) != env.Actor.Role || !r.At.Equal(env.Time) {
			t.Errorf("Recorded() = by %+v at %v; want the envelope's actor %+v and time %v", r.By, r.At, env.Actor, env.Time)
		}
	})
}
