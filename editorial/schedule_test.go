package editorial_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/editorial"
)

var otherEditor = domain.Actor{ID: "editor-2", Role: domain.RoleEditor}

// approved drafts and takes an article to approved on desk d, and returns its id.
func approved(t *testing.T, d *editorial.Desk, content domain.Content) string {
	t.Helper()
	ctx := context.Background()
	id := editorial.NewArticleID()
	if content.Body == "" {
		content.Body = "Text."
	}
	for _, step := range []struct {
		cmd domain.Command
		by  domain.Actor
	}{{domain.Draft{Content: content}, reporter}, {domain.Submit{}, reporter}, {domain.Approve{}, editor}} {
		if _, err := d.Execute(ctx, id, step.cmd, editorial.Request{By: step.by}); err != nil {
			t.Fatalf("%s: %v", domain.CommandName(step.cmd), err)
		}
	}
	return id
}

// TestScheduleReservesTheSlug: a schedule reserves the slug its publication will use, as a
// publish does, so that the scheduler's trigger cannot fail on it: another article asking for
// it is refused, one deriving it gets a numbered variant, and a reschedule keeps it.
func TestScheduleReservesTheSlug(t *testing.T) {
	ctx := context.Background()
	desk, _ := openDesks(t)
	at := time.Now().Add(time.Hour).UTC().Truncate(time.Second)

	own := approved(t, desk, domain.Content{Headline: "Ministers meet", Slug: "ministers-meet-brussels"})
	res, err := desk.Execute(ctx, own, domain.Schedule{PublishAt: at}, editorial.Request{By: editor})
	if err != nil {
		t.Fatal(err)
	}
	if res.Article.Status != domain.StatusScheduled || res.Article.ScheduledSlug != "ministers-meet-brussels" || !res.Article.PublishAt.Equal(at) {
		t.Fatalf("scheduled = %s, slug %q, at %v; want scheduled under the slug asked for at draft, at %v",
			res.Article.Status, res.Article.ScheduledSlug, res.Article.PublishAt, at)
	}

	rival := approved(t, desk, domain.Content{Headline: "Rival", Slug: "ministers-meet-brussels"})
	if _, err := desk.Execute(ctx, rival, domain.Publish{}, editorial.Request{By: editor}); !errors.Is(err, domain.ErrSlugTaken) {
		t.Errorf("publish another article under the scheduled article's slug: %v; want ErrSlugTaken", err)
	}
	if _, err := desk.Execute(ctx, rival, domain.Schedule{PublishAt: at}, editorial.Request{By: editor}); !errors.Is(err, domain.ErrSlugTaken) {
		t.Errorf("schedule another article under the scheduled article's slug: %v; want ErrSlugTaken", err)
	}

	derived := approved(t, desk, domain.Content{Headline: "Summit opens"})
	res, err = desk.Execute(ctx, derived, domain.Schedule{PublishAt: at}, editorial.Request{By: editor})
	if err != nil || res.Article.ScheduledSlug != "summit-opens" {
		t.Fatalf("schedule with a slug from the headline = %q, %v; want summit-opens", res.Article.ScheduledSlug, err)
	}
	same := approved(t, desk, domain.Content{Headline: "Summit opens"})
	if res, err := desk.Execute(ctx, same, domain.Publish{}, editorial.Request{By: editor}); err != nil || res.Article.Slug != "summit-opens-2" {
		t.Errorf("publish a second article with the same headline = %q, %v; want summit-opens-2", res.Article.Slug, err)
	}

	// Rescheduled by another editor: the same slug, the new time.
	later := at.Add(time.Hour)
	res, err = desk.Execute(ctx, derived, domain.Schedule{PublishAt: later}, editorial.Request{By: otherEditor})
	if err != nil || res.Article.ScheduledSlug != "summit-opens" || !res.Article.PublishAt.Equal(later) || res.Article.ScheduledBy != otherEditor.ID {
		t.Errorf("reschedule = slug %q at %v by %s, %v; want summit-opens at %v by %s",
			res.Article.ScheduledSlug, res.Article.PublishAt, res.Article.ScheduledBy, err, later, otherEditor.ID)
	}

	// A refused schedule reserves nothing.
	refused := approved(t, desk, domain.Content{Headline: "Refused", Slug: "refused-slug"})
	if _, err := desk.Execute(ctx, refused, domain.Schedule{PublishAt: time.Now().Add(-time.Hour)}, editorial.Request{By: editor}); err == nil {
		t.Fatal("schedule in the past: accepted")
	}
	taker := approved(t, desk, domain.Content{Headline: "Taker", Slug: "refused-slug"})
	if _, err := desk.Execute(ctx, taker, domain.Publish{}, editorial.Request{By: editor}); err != nil {
		t.Errorf("publish under the slug a refused schedule asked for: %v; want it free", err)
	}
}
