package domain_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/newsroom/newsroom/domain"
)

// TestEventTypes pins the event type names: they are stored in the log and read back on every
// replay.
func TestEventTypes(t *testing.T) {
	tests := []struct {
		e    domain.Event
		want string
	}{
		{domain.Drafted{}, "article.drafted"},
		{domain.Revised{}, "article.revised"},
		{domain.Submitted{}, "article.submitted"},
		{domain.Approved{}, "article.approved"},
		{domain.Published{}, "article.published"},
		{domain.ChangesRequested{}, "article.changes_requested"},
		{domain.Corrected{}, "article.corrected"},
		{domain.Retracted{}, "article.retracted"},
		{domain.Spiked{}, "article.spiked"},
		{domain.Killed{}, "article.killed"},
	}
	for _, tt := range tests {
		if got := tt.e.EventType(); got != tt.want {
			t.Errorf("%T.EventType() = %q; want %q", tt.e, got, tt.want)
		}
	}
}

// TestEventJSON pins the payloads as the log stores them, and checks that each reads back as
// the same event. A Revised keeps the difference between an unchanged field (absent) and a
// cleared one (an empty string or list).
func TestEventJSON(t *testing.T) {
	tests := []struct {
		e    domain.Event
		json string
	}{
		{
			natoDrafted(),
			`{"headline":"NATO-Russia foreign ministers meet","summary":"Ministers reiterated the continued importance of the NRC.",` +
				`"body":"` + natoBody + `","language":"en","byline":"NATO Press Office","dateline":"Brussels","tags":["nato","russia"]}`,
		},
		{domain.Drafted{Headline: "h", Language: "en"}, `{"headline":"h","language":"en"}`},
		{domain.Revised{Changes: domain.Changes{Headline: ptr("h")}}, `{"headline":"h"}`},
		{
			domain.Revised{Changes: domain.Changes{Summary: ptr(""), Tags: ptr([]string{}), Slug: ptr("")}},
			`{"summary":"","tags":[],"slug":""}`,
		},
		{domain.Submitted{}, `{}`},
		{domain.Approved{}, `{}`},
		{
			domain.Published{
				Slug: natoSlug, PublishedAt: now, Headline: natoHeadline, Body: "b", Language: "en", Tags: []string{"nato"},
			},
			`{"slug":"nato-russia-foreign-ministers-meet","published_at":"2007-12-08T12:30:00Z",` +
				`"headline":"NATO-Russia foreign ministers meet","body":"b","language":"en","tags":["nato"]}`,
		},
		{domain.ChangesRequested{Comment: natoComment}, `{"comment":"Attribute the quote to the NRC statement."}`},
		{domain.ChangesRequested{Comment: "Ça va, « Bruxelles » ?\n"}, `{"comment":"Ça va, « Bruxelles » ?\n"}`},
		{
			natoCorrected(natoNote, nil),
			`{"note":"An earlier version gave the wrong date of the meeting.","slug":"nato-russia-foreign-ministers-meet",` +
				`"published_at":"2007-12-07T12:00:00Z","headline":"NATO-Russia foreign ministers meet",` +
				`"summary":"Ministers reiterated the continued importance of the NRC.","body":"` + natoBody + `",` +
				`"language":"en","byline":"NATO Press Office","dateline":"Brussels","tags":["nato","russia"]}`,
		},
		{
			// Cleared optional fields are left out, as in Published.
			domain.Corrected{Note: "n", Slug: natoSlug, PublishedAt: now, Headline: "h", Body: "b", Language: "en"},
			`{"note":"n","slug":"nato-russia-foreign-ministers-meet","published_at":"2007-12-08T12:30:00Z",` +
				`"headline":"h","body":"b","language":"en"}`,
		},
		{
			domain.Retracted{Reason: natoReason, Slug: natoSlug, PublishedAt: now, Headline: natoHeadline},
			`{"reason":"The meeting was postponed.","slug":"nato-russia-foreign-ministers-meet",` +
				`"published_at":"2007-12-08T12:30:00Z","headline":"NATO-Russia foreign ministers meet"}`,
		},
		// Recorded before a retraction carried its notice: the reason alone.
		{domain.Retracted{Reason: natoReason}, `{"reason":"The meeting was postponed."}`},
		{domain.Spiked{Reason: natoReason}, `{"reason":"The meeting was postponed."}`},
		{domain.Spiked{}, `{}`},
		{
			domain.Killed{
				Reason: natoKillReason, SlugDigest: domain.SlugDigest(natoSlug), Language: "en",
				CreatedBy: reporter.ID, CreatedAt: at(0), LastRevisedBy: editorB.ID, PublishedAt: at(3),
				Timeline: []domain.Step{
					{Type: domain.TypeDrafted, Version: 1, ActorID: reporter.ID, ActorRole: domain.RoleReporter, At: at(0)},
					{Type: domain.TypeCorrected, Version: 2, ActorID: editorB.ID, ActorRole: domain.RoleEditor, At: at(1)},
				},
			},
			`{"reason":"Injunction 07-118: protected witness.",` +
				`"slug_sha256":"` + sha256Hex(natoSlug) + `","language":"en",` +
				`"created_by":"u-rep-1","created_at":"2007-12-07T09:00:00Z","last_revised_by":"u-ed-b",` +
				`"published_at":"2007-12-07T12:00:00Z","timeline":[` +
				`{"type":"article.drafted","version":1,"actor_id":"u-rep-1","actor_role":"reporter","at":"2007-12-07T09:00:00Z"},` +
				`{"type":"article.corrected","version":2,"actor_id":"u-ed-b","actor_role":"editor","at":"2007-12-07T10:00:00Z"}]}`,
		},
		{
			// An article killed with no slug and no language; the timeline is always written.
			domain.Killed{Reason: "r", CreatedBy: reporter.ID, CreatedAt: at(0), LastRevisedBy: reporter.ID, PublishedAt: at(1), Timeline: []domain.Step{}},
			`{"reason":"r","created_by":"u-rep-1","created_at":"2007-12-07T09:00:00Z","last_revised_by":"u-rep-1",` +
				`"published_at":"2007-12-07T10:00:00Z","timeline":[]}`,
		},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.e)
		if err != nil {
			t.Errorf("json.Marshal(%#v) = %v; want no error", tt.e, err)
			continue
		}
		if got := string(b); got != tt.json {
			t.Errorf("json.Marshal(%#v) =\n %s;\nwant\n %s", tt.e, got, tt.json)
		}
		back := reflect.New(reflect.TypeOf(tt.e))
		if err := json.Unmarshal(b, back.Interface()); err != nil {
			t.Errorf("json.Unmarshal(%s) = %v; want no error", b, err)
			continue
		}
		if got := back.Elem().Interface(); !reflect.DeepEqual(got, tt.e) {
			t.Errorf("json.Unmarshal(%s) = %#v; want %#v", b, got, tt.e)
		}
	}
}

func TestChangesEmpty(t *testing.T) {
	tests := []struct {
		c    domain.Changes
		want bool
	}{
		{domain.Changes{}, true},
		{domain.Changes{Headline: ptr("")}, false},
		{domain.Changes{Summary: ptr("")}, false},
		{domain.Changes{Body: ptr("")}, false},
		{domain.Changes{Language: ptr("")}, false},
		{domain.Changes{Byline: ptr("")}, false},
		{domain.Changes{Dateline: ptr("")}, false},
		{domain.Changes{Tags: ptr([]string(nil))}, false},
		{domain.Changes{Slug: ptr("")}, false},
	}
	for _, tt := range tests {
		if got := tt.c.Empty(); got != tt.want {
			t.Errorf("Changes%s.Empty() = %v; want %v", describeChanges(tt.c), got, tt.want)
		}
	}
}

func TestRetractedComplete(t *testing.T) {
	tests := []struct {
		e    domain.Retracted
		want bool
	}{
		{domain.Retracted{Reason: natoReason, Slug: natoSlug, PublishedAt: now, Headline: natoHeadline}, true},
		{domain.Retracted{Reason: natoReason}, false}, // recorded before the notice was carried
	}
	for _, tt := range tests {
		if got := tt.e.Complete(); got != tt.want {
			t.Errorf("%#v.Complete() = %v; want %v", tt.e, got, tt.want)
		}
	}
}
