package domain

import (
	"strings"
	"time"
)

// A translation set is an original article and every article drafted as its translation
// (Draft.TranslationOf names the original). Each member has its own workflow, four-eyes review
// and slug; what binds them is the original's id, the set's id. Every public event of a member
// carries it (TranslationOf on Published, Corrected, Retracted, Killed and EmbargoLifted), so
// that readers' views and subscribers group the language versions without an earlier event.
//
// Which articles are in a set is a fact about many articles, which no one article's events can
// tell: the shell reads it from the desk view and hands it to CheckTranslation and
// CheckSetLanguage, which judge it.

// SetMember is one article of a translation set as the desk knows it.
type SetMember struct {
	ID       string
	Language string
	Status   Status
	Slug     string // the published slug, or the one asked for; "" when it is to be derived
	// PublishAt is when a scheduled member is due; zero when it is not scheduled.
	PublishAt time.Time
}

// TranslationSet is the id of the article's translation set: its original's id, or its own id
// for an original.
func (a Article) TranslationSet() string {
	if a.TranslationOf != "" {
		return a.TranslationOf
	}
	return a.ID
}

// TranslationSetOf is the id of the translation set that event e of article articleID names:
// every public event names it, and so does the draft; "" for the other events.
func TranslationSetOf(articleID string, e Event) string {
	var of string
	switch e := e.(type) {
	case Drafted:
		of = e.TranslationOf
	case Published:
		of = e.TranslationOf
	case Corrected:
		of = e.TranslationOf
	case Retracted:
		of = e.TranslationOf
	case Killed:
		of = e.TranslationOf
	case EmbargoLifted:
		of = e.TranslationOf
	default:
		return ""
	}
	if of == "" {
		return articleID
	}
	return of
}

// holdsLanguage reports whether a member in status s keeps its language in its set. A spiked,
// retracted or killed member leaves it to another version: a translation done again.
func (s Status) holdsLanguage() bool {
	return s != StatusSpiked && s != StatusRetracted && s != StatusKilled
}

// CheckTranslation checks a draft of article id in language (empty: DefaultLanguage) as a
// translation of original, whose set holds members (as the desk knows them). The original must
// exist, be an original itself (a translation of a translation names the original instead),
// not be withdrawn, and no other member of the set may hold the language. It returns a
// *ValidationError naming translation_of or language, or nil.
func CheckTranslation(id string, original Article, language string, members []SetMember) error {
	if language == "" {
		language = DefaultLanguage
	}
	var v ValidationError
	switch {
	case !original.Exists():
		v.add("translation_of", "no article %s: a translation names an existing article", original.ID)
	case original.TranslationOf != "":
		v.add("translation_of", "article %s is itself a translation of %s: name the original, %s", original.ID, original.TranslationOf, original.TranslationOf)
	case !original.Status.holdsLanguage():
		v.add("translation_of", "article %s is %s: a withdrawn article is not translated", original.ID, original.Status)
	case strings.EqualFold(original.Language, language):
		// Read from the original's own events: never behind, unlike members.
		v.add("language", "the original %s is in %s already: a translation is in another language", original.ID, original.Language)
	}
	if err := v.orNil(); err != nil {
		return err
	}
	return CheckSetLanguage(id, language, members)
}

// CheckSetLanguage checks that article id may be in language within a set whose members are
// members: no other member holds it. It returns a *ValidationError naming language, or nil.
func CheckSetLanguage(id, language string, members []SetMember) error {
	for _, m := range members {
		if m.ID != id && strings.EqualFold(m.Language, language) && m.Status.holdsLanguage() {
			return invalid("language", "the translation set already has article %s in %s (%s): revise that one, or spike it first",
				m.ID, m.Language, m.Status)
		}
	}
	return nil
}
