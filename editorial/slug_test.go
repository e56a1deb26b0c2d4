package editorial_test

import (
	"context"
	"strings"
	"testing"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/editorial"
)

// publishDrafted drafts content as reporter and walks it through review to publication,
// returning the published article or the publish's error.
func publishDrafted(t *testing.T, desk *editorial.Desk, content domain.Content) (domain.Article, error) {
	t.Helper()
	ctx := context.Background()
	id := editorial.NewArticleID()
	second := domain.Actor{ID: "editor-2", Role: domain.RoleEditor}
	for _, step := range []struct {
		cmd domain.Command
		by  domain.Actor
	}{{domain.Draft{Content: content}, reporter}, {domain.Submit{}, reporter}, {domain.Approve{}, second}} {
		if _, err := desk.Execute(ctx, id, step.cmd, editorial.Request{By: step.by}); err != nil {
			t.Fatalf("%s: %v", domain.CommandName(step.cmd), err)
		}
	}
	res, err := desk.Execute(ctx, id, domain.Publish{}, editorial.Request{By: editor})
	return res.Article, err
}

// TestSixtyArticlesOfOneHeadline: a headline that recurs (a weekly briefing, a standing
// statement) gives every article a slug, however often it recurs: a few numbered variants,
// then one derived from the article's id, which no other article has.
func TestSixtyArticlesOfOneHeadline(t *testing.T) {
	desk, _ := openDesks(t)
	const headline = "NATO-Russia foreign ministers meet"
	const base = "nato-russia-foreign-ministers-meet"
	content := domain.Content{Headline: headline, Body: "Ministers met.", Language: "en"}
	seen := map[string]string{}
	for i := 1; i <= 60; i++ {
		a, err := publishDrafted(t, desk, content)
		if err != nil {
			t.Fatalf("publish article %d of the same headline: %v; want a slug", i, err)
		}
		if other, taken := seen[a.Slug]; taken {
			t.Fatalf("article %d (%s) got the slug %q of %s", i, a.ID, a.Slug, other)
		}
		seen[a.Slug] = a.ID
		if !domain.ValidSlug(a.Slug) || !strings.HasPrefix(a.Slug, base) {
			t.Errorf("article %d: slug %q; want a valid slug starting with %q", i, a.Slug, base)
		}
		if i == 1 && a.Slug != base {
			t.Errorf("the first article's slug = %q; want %q", a.Slug, base)
		}
		if i == 2 && a.Slug != base+"-2" {
			t.Errorf("the second article's slug = %q; want %q", a.Slug, base+"-2")
		}
		if want := base + "-" + strings.ReplaceAll(a.ID, "-", "")[:8]; i == 60 && a.Slug != want {
			t.Errorf("the 60th article's slug = %q; want %q, from its id", a.Slug, want)
		}
	}

	// A headline as long as a slug keeps its id-derived suffix whole.
	long := strings.Repeat("word ", domain.MaxSlug/5)
	for i := 1; i <= 12; i++ {
		a, err := publishDrafted(t, desk, domain.Content{Headline: long, Body: "Text.", Language: "en"})
		if err != nil {
			t.Fatalf("publish article %d of a %d-character headline: %v; want a slug", i, len(long), err)
		}
		if !domain.ValidSlug(a.Slug) {
			t.Errorf("article %d of a long headline: slug %q (%d characters) is not a valid slug", i, a.Slug, len(a.Slug))
		}
		if _, taken := seen[a.Slug]; taken {
			t.Fatalf("article %d of a long headline got the slug %q twice", i, a.Slug)
		}
		seen[a.Slug] = a.ID
	}
}
