package bench

import (
	"context"
	"testing"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/embeddednats/natstest"
	"github.com/newsroom/newsroom/events"
)

// TestGenerateLog checks that a small generated log is what the benchmark claims: valid
// versions, interleaved articles, about ten events per article, about one in ten with the full
// body, distinct slugs.
func TestGenerateLog(t *testing.T) {
	ctx := context.Background()
	text, err := LoadText(textPath)
	if err != nil {
		t.Fatal(err)
	}
	srv := natstest.Start(t)
	nc, js := srv.Connect(t)
	store, err := events.Open(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20_000
	stats, err := GenerateLog(ctx, nc, LogSpec{Events: n, InFlight: 200, Seed: 7}, text)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(stats)

	history := map[string][]domain.Recorded{}
	slugs := map[string]string{}
	var prev string
	var full, run, longestRun, seen int
	err = store.ReadLog(ctx, 1, n, 1000, func(batch []events.Envelope) error {
		for _, env := range batch {
			seen++
			h := history[env.ArticleID]
			if env.ArticleVersion != len(h)+1 {
				t.Fatalf("seq %d: article %s version %d after %d events", env.Sequence, env.ArticleID, env.ArticleVersion, len(h))
			}
			r, err := env.Recorded()
			if err != nil {
				t.Fatal(err)
			}
			history[env.ArticleID] = append(h, r)
			if len(env.Data) > len(text.Body) {
				full++
			}
			if p, ok := r.Event.(domain.Published); ok {
				if other, dup := slugs[p.Slug]; dup {
					t.Fatalf("slug %s published by %s and %s", p.Slug, other, env.ArticleID)
				}
				slugs[p.Slug] = env.ArticleID
			}
			if env.ArticleID == prev {
				run++
			} else {
				prev, run = env.ArticleID, 1
			}
			longestRun = max(longestRun, run)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != n {
		t.Fatalf("read %d events; want %d", seen, n)
	}
	if len(history) != stats.Articles {
		t.Errorf("log holds %d articles; generator says %d", len(history), stats.Articles)
	}
	if perArticle := float64(n) / float64(len(history)); perArticle < 8 || perArticle > 12 {
		t.Errorf("%.1f events per article; want about 10", perArticle)
	}
	if share := float64(full) / n; share < 0.07 || share > 0.14 {
		t.Errorf("%.3f of events carry the full body; want about 0.1", share)
	}
	if full != stats.FullBody {
		t.Errorf("%d events carry the full body; generator says %d", full, stats.FullBody)
	}
	if longestRun > 3 {
		t.Errorf("an article has %d events in a row; want them interleaved", longestRun)
	}
	if len(slugs) != stats.Published {
		t.Errorf("%d distinct slugs; want %d", len(slugs), stats.Published)
	}
}
