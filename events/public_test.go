package events_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
)

// TestPublicEventsNameTheTranslationSet: the ninjs of every public message but a kill's carries
// the article's translation set as an alternative id, which every language version shares.
func TestPublicEventsNameTheTranslationSet(t *testing.T) {
	const original, french = "0b6f5d0e-0000-4000-8000-000000000001", "0b6f5d0e-0000-4000-8000-000000000002"
	env, err := events.NewEnvelope(french, 5, domain.Published{Slug: "reunion", TranslationOf: original},
		domain.Actor{ID: "u-ed", Role: domain.RoleEditor}, time.Now(), events.Trace{})
	if err != nil {
		t.Fatal(err)
	}
	for action, want := range map[string]string{
		events.ActionPublished: `[{"role":"translation-set","value":"urn:uuid:` + original + `"}]`,
		events.ActionCorrected: `[{"role":"translation-set","value":"urn:uuid:` + original + `"}]`,
		events.ActionRetracted: `[{"role":"translation-set","value":"urn:uuid:` + original + `"}]`,
		events.ActionKilled:    `null`,
	} {
		msg, err := events.PublicEvent{Action: action, Source: env, PublicURL: "https://news.example.org",
			Text: events.PublicText{Slug: "reunion", Headline: "Réunion", Language: "fr", TranslationSet: original}}.Msg()
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			AltIDs json.RawMessage `json:"altids"`
		}
		if err := json.Unmarshal(msg.Data, &doc); err != nil {
			t.Fatal(err)
		}
		if got := string(doc.AltIDs); got != want && !(want == "null" && got == "") {
			t.Errorf("%s: altids = %s; want %s", action, got, want)
		}
	}
}
