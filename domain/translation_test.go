package domain_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
)

// frenchID is the French translation of the NATO article (articleID) in these tests.
const frenchID = "a-fr"

func frenchDrafted() domain.Drafted {
	return domain.Drafted{TranslationOf: articleID, Headline: "Réunion des ministres des Affaires étrangères OTAN-Russie",
		Body:     "Le ministre russe des Affaires étrangères, Sergueï Lavrov, a participé à une réunion du Conseil OTAN-Russie.",
		Language: "fr", Byline: "Service de presse de l'OTAN", Dateline: "Bruxelles", Tags: []string{"otan"}}
}

// Every public event of a translation names its set, as every event of an original names none:
// a subscriber or a view groups the language versions from the event alone.
func TestPublicEventsNameTheTranslationSet(t *testing.T) {
	const slug = "reunion-otan-russie"
	lift := now.Add(2 * time.Hour)
	approved := history(by(reporter, frenchDrafted()), by(reporter, domain.Submitted{}), by(editorA, domain.Approved{}))
	published := func() []domain.Recorded {
		e, err := domain.Decide(domain.Fold(frenchID, approved), domain.Publish{Slug: slug}, domain.Decision{By: editorA, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return history(append(approved, by(editorA, e))...)
	}
	embargoed := func() []domain.Recorded {
		e, err := domain.Decide(domain.Fold(frenchID, approved), domain.Publish{Slug: slug, EmbargoUntil: lift}, domain.Decision{By: editorA, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return history(append(approved, by(editorA, e))...)
	}
	headline := "Réunion des ministres"
	steps := []struct {
		given []domain.Recorded
		when  domain.Command
		by    domain.Actor
		at    time.Time
	}{
		{approved, domain.Publish{Slug: slug}, editorA, now},
		{approved, domain.PublishOnSchedule{PublishAt: now}, domain.Scheduler, now},
		{published(), domain.Correct{Note: "Titre.", Changes: domain.Changes{Headline: &headline}}, editorA, now},
		{published(), domain.Correct{Note: "Une note."}, editorA, now},
		{published(), domain.Retract{Reason: "Publié par erreur."}, editorA, now},
		{published(), domain.Kill{Reason: "Décision de justice."}, admin, now},
		{embargoed(), domain.LiftEmbargo{}, editorA, now},
	}
	for _, s := range steps {
		given := s.given
		if _, ok := s.when.(domain.PublishOnSchedule); ok {
			given = history(append(approved, by(editorB, domain.Scheduled{PublishAt: now, Slug: slug}))...)
		}
		e, err := domain.Decide(domain.Fold(frenchID, given), s.when, domain.Decision{By: s.by, Now: s.at, Policy: domain.Policy{SingleEditorCorrections: true}})
		if err != nil {
			t.Fatalf("%s: %v", domain.CommandName(s.when), err)
		}
		if got := domain.TranslationSetOf(frenchID, e); got != articleID {
			t.Errorf("%s of a translation: TranslationSetOf(%T) = %q; want the original, %q", domain.CommandName(s.when), e, got, articleID)
		}
		if !domain.IsPublic(e.EventType()) {
			t.Errorf("%s recorded %s, which is not public", domain.CommandName(s.when), e.EventType())
		}
	}
	// The original's own public events name its own id: an original is a set of one.
	original, err := domain.Decide(domain.Fold(articleID, givenPublished()), domain.Retract{Reason: "r"}, domain.Decision{By: editorA, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if got := domain.TranslationSetOf(articleID, original); got != articleID {
		t.Errorf("TranslationSetOf(the original's retraction) = %q; want its own id", got)
	}
	// A killed translation stays in its set on the desk: the kill carries the set, not the text.
	killed, err := domain.Decide(domain.Fold(frenchID, published()), domain.Kill{Reason: "Décision de justice."}, domain.Decision{By: admin, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	after := domain.Evolve(domain.Fold(frenchID, published()), domain.Recorded{Event: killed, Version: 6, By: admin, At: now})
	if after.TranslationSet() != articleID || after.Headline != "" {
		t.Errorf("after a kill: set %q, headline %q; want the set %q kept and the text gone", after.TranslationSet(), after.Headline, articleID)
	}
	if got := domain.TranslationSetOf(frenchID, domain.Submitted{}); got != "" {
		t.Errorf("TranslationSetOf(submitted) = %q; want \"\": desk work names no set", got)
	}
}

func TestCheckTranslation(t *testing.T) {
	original := domain.Fold(articleID, givenDraft())
	translation := domain.Fold(frenchID, history(by(reporter, frenchDrafted())))
	spiked, retracted := domain.Fold(articleID, givenSpiked()), domain.Fold(articleID, givenRetracted())
	members := []domain.SetMember{
		{ID: articleID, Language: "en", Status: domain.StatusDraft},
		{ID: frenchID, Language: "fr", Status: domain.StatusInReview},
		{ID: "a-de", Language: "de", Status: domain.StatusSpiked},
		{ID: "a-es", Language: "es", Status: domain.StatusRetracted},
	}
	const newID = "a-new"
	tests := []struct {
		name     string
		original domain.Article
		language string
		members  []domain.SetMember
		field    string // the field refused; "" for accepted
		detail   string // part of its detail
	}{
		{"a language the set lacks", original, "pt-BR", members, "", ""},
		{"a language a spiked version left", original, "de", members, "", ""},
		{"a language a retracted version left", original, "es", members, "", ""},
		{"the original's language", original, "en", nil, "language", "the original a-1 is in en"},
		{"the default language, the original's", original, "", nil, "language", "in en"},
		{"the original's language, whatever its case", original, "EN", nil, "language", "in en"},
		{"a language another translation holds", original, "fr", members, "language", "already has article a-fr in fr (in_review)"},
		{"that language in another case", original, "FR", members, "language", "a-fr"},
		{"no such article", domain.Fold("a-404", nil), "fr", nil, "translation_of", "no article a-404"},
		{"a translation of a translation", translation, "de", nil, "translation_of", "itself a translation of a-1: name the original, a-1"},
		{"a spiked original", spiked, "fr", nil, "translation_of", "is spiked"},
		{"a retracted original", retracted, "fr", nil, "translation_of", "is retracted"},
	}
	for _, tt := range tests {
		err := domain.CheckTranslation(newID, tt.original, tt.language, tt.members)
		if tt.field == "" {
			if err != nil {
				t.Errorf("%s: CheckTranslation = %v; want nil", tt.name, err)
			}
			continue
		}
		var v *domain.ValidationError
		if !errors.As(err, &v) || len(v.Fields) != 1 || v.Fields[0].Field != tt.field || !strings.Contains(v.Fields[0].Detail, tt.detail) {
			t.Errorf("%s: CheckTranslation = %v; want a ValidationError on %s saying %q", tt.name, err, tt.field, tt.detail)
		}
	}
	// An article's own row is no rival: a retried draft, or a revision that keeps the language.
	if err := domain.CheckSetLanguage(frenchID, "fr", members); err != nil {
		t.Errorf("CheckSetLanguage(the French version, fr) = %v; want nil", err)
	}
	if err := domain.CheckSetLanguage(articleID, "fr", members); err == nil {
		t.Error("CheckSetLanguage(the original, fr) = nil; want the French version named")
	}
}
