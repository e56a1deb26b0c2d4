package projections_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// translationLog writes the events of a translation set through domain.Decide: the English
// original "en", its French ("fr") and German ("de") versions, each with its own workflow.
type translationLog struct {
	tb   testing.TB
	past map[string][]domain.Recorded
	envs []events.Envelope
	at   time.Time
}

func (l *translationLog) do(id string, c domain.Command, by domain.Actor) []events.Envelope {
	l.tb.Helper()
	l.at = l.at.Add(time.Minute)
	e, err := domain.Decide(domain.Fold(id, l.past[id]), c, domain.Decision{By: by, Now: l.at, Policy: domain.Policy{SingleEditorCorrections: true}})
	if err != nil {
		l.tb.Fatalf("%s: %s: %v", id, domain.CommandName(c), err)
	}
	env := envelope(l.tb, id, len(l.past[id])+1, uint64(len(l.envs)+1), e, l.at)
	r, err := env.Recorded()
	if err != nil {
		l.tb.Fatal(err)
	}
	l.past[id] = append(l.past[id], r)
	l.envs = append(l.envs, env)
	return []events.Envelope{env}
}

// publish takes a drafted article through review to publication under slug.
func (l *translationLog) publish(id, slug string) []events.Envelope {
	var out []events.Envelope
	out = append(out, l.do(id, domain.Submit{}, reporter)...)
	out = append(out, l.do(id, domain.Approve{}, editor)...)
	return append(out, l.do(id, domain.Publish{Slug: slug}, editor)...)
}

func draftIn(language, headline, of string) domain.Draft {
	return domain.Draft{Content: domain.Content{Headline: headline, Body: headline + ".", Language: language}, TranslationOf: of}
}

// The views hold each set: the desk every member in every state, the published view the
// published members only; retracted and killed members leave the public set, a killed one stays
// on the desk; and a commit of one member tells the public cache about the whole set.
func TestTranslationSetsInTheViews(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		published, desk := projections.NewPublished(db), projections.NewDesk(db)
		var told [][]string
		published.OnCommit = func(ids []string, _ uint64) { told = append(told, slices.Clone(ids)) }
		views := []projections.View{published, desk}
		for _, v := range views {
			if _, err := projections.EnsureTables(ctx, db, v); err != nil {
				t.Fatal(err)
			}
		}
		log := &translationLog{tb: t, past: map[string][]domain.Recorded{}, at: t0}
		apply := func(envs []events.Envelope) {
			t.Helper()
			for _, v := range views {
				applyAll(t, db, v, envs)
			}
		}
		members := func() string {
			t.Helper()
			set, err := desk.SetMembers(ctx, "en")
			if err != nil {
				t.Fatal(err)
			}
			var out string
			for _, m := range set {
				out += m.ID + ":" + m.Language + ":" + string(m.Status) + ":" + m.Slug + " "
			}
			return out
		}
		versions := func(slug string) []projections.Translation {
			t.Helper()
			a, err := published.BySlug(ctx, slug)
			if err != nil {
				t.Fatalf("BySlug(%s): %v", slug, err)
			}
			return a.Translations
		}
		fr := projections.Translation{ID: "fr", SetID: "en", Language: "fr", Slug: "reunion"}
		en := projections.Translation{ID: "en", SetID: "en", Language: "en", Slug: "meeting"}

		apply(log.do("en", draftIn("en", "Ministers meet", ""), reporter))
		apply(log.publish("en", "meeting"))
		apply(log.do("fr", draftIn("fr", "Réunion des ministres", "en"), reporter))
		apply(log.do("de", draftIn("de", "Ministertreffen", "en"), reporter))
		if got, want := members(), "de:de:draft: en:en:published:meeting fr:fr:draft: "; got != want {
			t.Errorf("desk set with two drafts = %q; want %q", got, want)
		}
		if got := versions("meeting"); len(got) != 0 {
			t.Errorf("translations of the original while they are drafts = %+v; want none", got)
		}

		told = nil
		apply(log.publish("fr", "reunion"))
		if got := versions("meeting"); !reflect.DeepEqual(got, []projections.Translation{fr}) {
			t.Errorf("translations of the original = %+v; want the French version", got)
		}
		if got := versions("reunion"); !reflect.DeepEqual(got, []projections.Translation{en}) {
			t.Errorf("translations of the French version = %+v; want the original", got)
		}
		if !slices.ContainsFunc(told, func(ids []string) bool { return slices.Equal(ids, []string{"fr", "en"}) }) {
			t.Errorf("OnCommit was told %v; want the French version and its set, whose answers list it", told)
		}
		sets, err := published.Translations(ctx, []string{"en", "en", "nothing"})
		if err != nil || !reflect.DeepEqual(sets, map[string][]projections.Translation{"en": {en, fr}}) {
			t.Errorf("Translations(en, en, nothing) = %+v, %v; want en's two published members", sets, err)
		}

		// A retracted member leaves the public set; its notice still lists the others.
		apply(log.do("fr", domain.Retract{Reason: "Erreur."}, editor))
		if got := versions("meeting"); len(got) != 0 {
			t.Errorf("translations of the original once the French one is retracted = %+v; want none", got)
		}
		if got := versions("reunion"); !reflect.DeepEqual(got, []projections.Translation{en}) {
			t.Errorf("translations on the French notice = %+v; want the original", got)
		}
		// A killed one is gone from the public side, and stays in its set on the desk.
		apply(log.do("fr", domain.Kill{Reason: "Court order."}, editor))
		apply(log.publish("de", "treffen"))
		if got, want := members(), "de:de:published:treffen en:en:published:meeting fr:fr:killed: "; got != want {
			t.Errorf("desk set after the kill = %q; want %q", got, want)
		}
		de := projections.Translation{ID: "de", SetID: "en", Language: "de", Slug: "treffen"}
		if got := versions("meeting"); !reflect.DeepEqual(got, []projections.Translation{de}) {
			t.Errorf("translations of the original = %+v; want the German version alone", got)
		}
		// A translation drafted again in the killed one's language is a member like any.
		apply(log.do("fr2", draftIn("fr", "Réunion", "en"), reporter))
		if got, want := members(), "de:de:published:treffen en:en:published:meeting fr:fr:killed: fr2:fr:draft: "; got != want {
			t.Errorf("desk set = %q; want %q", got, want)
		}
	})
}
