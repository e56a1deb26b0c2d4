package editorial_test

import (
	"context"
	"errors"
	"testing"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/editorial"
	"github.com/newsroom/newsroom/embeddednats/natstest"
	"github.com/newsroom/newsroom/events"
)

var (
	reporter = domain.Actor{ID: "reporter-1", Role: domain.RoleReporter}
	editor   = domain.Actor{ID: "editor-1", Role: domain.RoleEditor}
)

func openDesks(t *testing.T) (*editorial.Desk, *editorial.Desk) {
	t.Helper()
	srv := natstest.Start(t)
	open := func() *editorial.Desk {
		_, js := srv.Connect(t)
		store, err := events.Open(context.Background(), js, 1)
		if err != nil {
			t.Fatal(err)
		}
		return editorial.NewDesk(store)
	}
	return open(), open()
}

func text(s string) *string { return &s }

func ifMatch(v int) *editorial.IfMatch { return &editorial.IfMatch{Versions: []int{v}} }

// TestRecentArticlesAcrossInstances: two desks on one log, as two instances are. Each keeps the
// articles it changed in memory; a change made by the other must neither be overwritten nor
// make a valid command fail.
func TestRecentArticlesAcrossInstances(t *testing.T) {
	ctx := context.Background()
	one, two := openDesks(t)
	id := editorial.NewArticleID()
	draft := domain.Draft{Content: domain.Content{Headline: "Ministers meet", Summary: "They met.",
		Body: "Text.", Byline: "A. Reporter", Dateline: "BRUSSELS"}}
	if _, err := one.Execute(ctx, id, draft, editorial.Request{By: reporter}); err != nil {
		t.Fatal(err)
	}
	// one remembers version 1; two moves the article to version 2.
	if _, err := two.Execute(ctx, id, domain.Revise{Changes: domain.Changes{Summary: text("by two")}},
		editorial.Request{By: reporter, IfMatch: ifMatch(1)}); err != nil {
		t.Fatal(err)
	}

	// A caller who saw version 2 is right, though one remembers version 1.
	res, err := one.Execute(ctx, id, domain.Revise{Changes: domain.Changes{Body: text("by one")}},
		editorial.Request{By: reporter, IfMatch: ifMatch(2)})
	if err != nil {
		t.Fatalf("revise at version 2 on the desk that remembers version 1: %v; want it applied", err)
	}
	if res.Article.Version != 3 || res.Article.Summary != "by two" || res.Article.Body != "by one" {
		t.Errorf("after revising = version %d, summary %q, body %q; want 3, %q, %q",
			res.Article.Version, res.Article.Summary, res.Article.Body, "by two", "by one")
	}

	// A caller who saw version 2 is wrong now, on either desk.
	for name, d := range map[string]*editorial.Desk{"one": one, "two": two} {
		_, err := d.Execute(ctx, id, domain.Revise{Changes: domain.Changes{Body: text("late")}},
			editorial.Request{By: reporter, IfMatch: ifMatch(2)})
		if !errors.Is(err, editorial.ErrVersionMismatch) {
			t.Errorf("desk %s: revise at version 2 when the article is at 3: %v; want ErrVersionMismatch", name, err)
		}
	}

	// Two takes the article through review; one, remembering a draft, is asked to publish it.
	if _, err := two.Execute(ctx, id, domain.Submit{}, editorial.Request{By: reporter}); err != nil {
		t.Fatal(err)
	}
	if _, err := two.Execute(ctx, id, domain.Approve{}, editorial.Request{By: editor}); err != nil {
		t.Fatal(err)
	}
	res, err = one.Execute(ctx, id, domain.Publish{}, editorial.Request{By: editor})
	if err != nil {
		t.Fatalf("publish an approved article on the desk that remembers a draft: %v; want it published", err)
	}
	if res.Article.Status != domain.StatusPublished || res.Article.Version != 6 {
		t.Errorf("after publishing = %s at version %d; want published at 6", res.Article.Status, res.Article.Version)
	}
	got, err := two.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Article.Version != 6 || got.Position != res.Position {
		t.Errorf("the log has version %d at position %d; want 6 at %d", got.Article.Version, got.Position, res.Position)
	}
}
