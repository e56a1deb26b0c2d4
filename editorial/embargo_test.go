package editorial_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/editorial"
)

// TestPublishUnderEmbargoKeepsTheEmbargo: a publication whose slug the desk reserves (none was
// given) keeps its embargo; one refused for its embargo reserves no slug.
func TestPublishUnderEmbargoKeepsTheEmbargo(t *testing.T) {
	ctx := context.Background()
	desk, _ := openDesks(t)
	reviewed := func(headline string) string {
		t.Helper()
		id := editorial.NewArticleID()
		for _, step := range []struct {
			cmd domain.Command
			by  domain.Actor
		}{{domain.Draft{Content: domain.Content{Headline: headline, Body: "Text.", Language: "en"}}, reporter},
			{domain.Submit{}, reporter}, {domain.Approve{}, editor}} {
			if _, err := desk.Execute(ctx, id, step.cmd, editorial.Request{By: step.by}); err != nil {
				t.Fatalf("%s: %v", domain.CommandName(step.cmd), err)
			}
		}
		return id
	}

	past := reviewed("Summit communique")
	_, err := desk.Execute(ctx, past, domain.Publish{EmbargoUntil: time.Now().Add(-time.Minute)}, editorial.Request{By: editor})
	var invalid *domain.ValidationError
	if !errors.As(err, &invalid) || len(invalid.Fields) != 1 || invalid.Fields[0].Field != "embargo_until" {
		t.Fatalf("publish under an embargo that ended a minute ago: %v; want a validation error on embargo_until", err)
	}

	until := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	id := reviewed("Summit communique")
	res, err := desk.Execute(ctx, id, domain.Publish{EmbargoUntil: until}, editorial.Request{By: editor})
	if err != nil {
		t.Fatal(err)
	}
	if a := res.Article; !a.EmbargoUntil.Equal(until) || !a.Embargoed() || a.Slug != "summit-communique" {
		t.Errorf("published under embargo until %v: embargo %v, embargoed %v, slug %q; want the embargo kept and the refused one's slug free",
			until, a.EmbargoUntil, a.Embargoed(), a.Slug)
	}
	got, err := desk.Get(ctx, id)
	if err != nil || !got.Article.EmbargoUntil.Equal(until) {
		t.Errorf("the log folds to embargo %v (%v); want %v", got.Article.EmbargoUntil, err, until)
	}
}
