package editorial_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/editorial"
	"github.com/newsroom/newsroom/embeddednats/natstest"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// translationDesk is a desk on a real log whose translation sets come from a real desk view,
// which the test feeds each event the desk records (as the views' reader would, without its lag).
type translationDesk struct {
	t     *testing.T
	desk  *editorial.Desk
	store *events.Store
	db    *sqldb.DB
	view  *projections.Desk
}

func openTranslationDesk(t *testing.T) *translationDesk {
	t.Helper()
	_, js := natstest.Start(t).Connect(t)
	store, err := events.Open(context.Background(), js, 1)
	if err != nil {
		t.Fatal(err)
	}
	db := sqldbtest.Open(t, sqldb.SQLite)
	view := projections.NewDesk(db)
	if _, err := projections.EnsureTables(context.Background(), db, view); err != nil {
		t.Fatal(err)
	}
	desk := editorial.NewDesk(store)
	desk.Sets = view
	return &translationDesk{t: t, desk: desk, store: store, db: db, view: view}
}

// do executes cmd on article id and applies the event it records to the desk view.
func (d *translationDesk) do(id string, cmd domain.Command, by domain.Actor) (domain.Article, error) {
	d.t.Helper()
	ctx := context.Background()
	res, err := d.desk.Execute(ctx, id, cmd, editorial.Request{By: by})
	if err != nil {
		return res.Article, err
	}
	h, err := d.store.Load(ctx, id)
	if err != nil {
		d.t.Fatal(err)
	}
	if _, err := projections.Apply(ctx, d.db, d.view, h.Events[len(h.Events)-1]); err != nil {
		d.t.Fatal(err)
	}
	return res.Article, nil
}

func (d *translationDesk) draft(language, translationOf string) (string, error) {
	d.t.Helper()
	id := editorial.NewArticleID()
	_, err := d.do(id, domain.Draft{Content: domain.Content{Headline: "Ministers meet (" + language + ")", Body: "Text.",
		Language: language}, TranslationOf: translationOf}, reporter)
	return id, err
}

// refusedOn checks that err is a validation error on field whose detail says want.
func refusedOn(t *testing.T, what string, err error, field, want string) {
	t.Helper()
	var v *domain.ValidationError
	if !errors.As(err, &v) || len(v.Fields) != 1 || v.Fields[0].Field != field || !strings.Contains(v.Fields[0].Detail, want) {
		t.Errorf("%s: %v; want a validation error on %s saying %q", what, err, field, want)
	}
}

// TestTranslationDrafts: a translation names an existing original (never a translation, never
// a withdrawn article) in a language no other version of it holds; a revision into such a
// language is refused too; nothing refused reaches the log.
func TestTranslationDrafts(t *testing.T) {
	d := openTranslationDesk(t)
	original, err := d.draft("en", "")
	if err != nil {
		t.Fatal(err)
	}
	french, err := d.draft("fr", original)
	if err != nil {
		t.Fatalf("draft a French translation: %v", err)
	}
	res, err := d.desk.Get(context.Background(), french)
	if err != nil || res.Article.TranslationOf != original || res.Article.TranslationSet() != original {
		t.Errorf("the French draft = %+v, %v; want translation_of %s", res.Article, err, original)
	}
	before, err := d.store.LastSequence(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	_, err = d.draft("fr", original)
	refusedOn(t, "a second French version", err, "language", "already has article "+french+" in fr")
	_, err = d.draft("de", french)
	refusedOn(t, "a translation of the translation", err, "translation_of", "name the original, "+original)
	_, err = d.draft("de", editorial.NewArticleID())
	refusedOn(t, "a translation of no article", err, "translation_of", "no article")
	_, err = d.draft("de", "not-an-id")
	refusedOn(t, "a translation of a malformed id", err, "translation_of", "not an article id")
	_, err = d.draft("EN", original)
	refusedOn(t, "a translation in the original's language", err, "language", "in en already")
	_, err = d.do(french, domain.Revise{Changes: domain.Changes{Language: text("en")}}, reporter)
	refusedOn(t, "the French version revised into English", err, "language", "already has article "+original+" in en")
	_, err = d.do(original, domain.Revise{Changes: domain.Changes{Language: text("fr")}}, reporter)
	refusedOn(t, "the original revised into French", err, "language", "already has article "+french+" in fr")
	if after, err := d.store.LastSequence(context.Background()); err != nil || after != before {
		t.Errorf("the log went from %d to %d (%v) over refused commands; want nothing appended", before, after, err)
	}

	// Into a language the set lacks, a revision passes; a spiked version leaves its language.
	if _, err := d.do(french, domain.Revise{Changes: domain.Changes{Language: text("fr-BE")}}, reporter); err != nil {
		t.Errorf("the French version revised into fr-BE: %v", err)
	}
	if _, err := d.do(french, domain.Spike{Reason: "Done again."}, reporter); err != nil {
		t.Fatal(err)
	}
	if _, err := d.draft("fr-BE", original); err != nil {
		t.Errorf("a translation in the language of a spiked one: %v; want it drafted", err)
	}
	if _, err := d.do(original, domain.Spike{Reason: "Not news."}, reporter); err != nil {
		t.Fatal(err)
	}
	_, err = d.draft("it", original)
	refusedOn(t, "a translation of a spiked original", err, "translation_of", "is spiked")
}
