package projections_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// killedStory is fullStory with article a-1 killed after its retraction, and what the log
// holds of it once the kill's erasure has run: a-2's events and a-1's kill alone.
func killedStory(tb testing.TB) (full, erased []events.Envelope) {
	tb.Helper()
	full = fullStory(tb)
	var past []domain.Recorded
	for _, env := range full {
		if env.ArticleID != "a-1" {
			erased = append(erased, env)
			continue
		}
		r, err := env.Recorded()
		if err != nil {
			tb.Fatal(err)
		}
		past = append(past, r)
	}
	at := t0.Add(time.Hour)
	killed, err := domain.Decide(domain.Fold("a-1", past), domain.Kill{Reason: "Court order."},
		domain.Decision{By: editor, Now: at})
	if err != nil {
		tb.Fatal(err)
	}
	kill := envelope(tb, "a-1", len(past)+1, uint64(len(full)+1), killed, at)
	return append(full, kill), append(erased, kill)
}

// TestKilledViewsHoldNoText: every view that applied a killed article's whole story holds none
// of its words after the kill, and exactly what a replay of the erased log gives, on both
// dialects. The public model answers ErrKilled for the old slug.
func TestKilledViewsHoldNoText(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, live *sqldb.DB) {
		ctx := context.Background()
		replayed := sqldbtest.Open(t, live.Dialect)
		full, erased := killedStory(t)
		words := []string{"H2", "Corrected body", "A date was wrong", "More detail", "Published in error", "Typo"}
		for _, view := range []func(*sqldb.DB) projections.View{
			func(db *sqldb.DB) projections.View { return projections.NewPublished(db) },
			func(db *sqldb.DB) projections.View { return projections.NewDesk(db) },
			func(db *sqldb.DB) projections.View { return projections.NewHistory(db) },
		} {
			v, r := view(live), view(replayed)
			t.Run(v.Name(), func(t *testing.T) {
				for db, envs := range map[*sqldb.DB][]events.Envelope{live: full, replayed: erased} {
					w := view(db)
					if _, err := projections.EnsureTables(ctx, db, w); err != nil {
						t.Fatal(err)
					}
					applyAll(t, db, w, envs)
				}
				got, want := dumpView(t, live, v), dumpView(t, replayed, r)
				if got != want {
					t.Errorf("the view that saw the whole story, then the kill:\n%s\nwant what a replay of the erased log gives:\n%s", got, want)
				}
				// A rebuild whose batches hold the story and its kill together, and one of the
				// erased log: the same rows.
				for _, source := range [][]events.Envelope{full, erased} {
					last := source[len(source)-1].Sequence
					if p, err := (projections.Rebuild{DB: live, Log: memoryLog(source), View: v, BatchSize: 1000}).Run(ctx); err != nil || p.Checkpoint != last {
						t.Fatalf("Rebuild = %+v, %v; want done at %d", p, err, last)
					}
					if again := dumpView(t, live, v); again != want {
						t.Errorf("rebuilt from %d events:\n%s\nwant\n%s", len(source), again, want)
					}
				}
				for _, w := range words {
					if strings.Contains(got, w) {
						t.Errorf("after the kill the view still holds %q:\n%s", w, got)
					}
				}
				if !strings.Contains(got, "a-1") || !strings.Contains(got, "a-2") {
					t.Errorf("the view lost the articles themselves:\n%s", got)
				}
			})
		}
		published := projections.NewPublished(live)
		if _, err := published.BySlug(ctx, "h2"); !errors.Is(err, projections.ErrKilled) {
			t.Errorf("BySlug(killed slug) = %v; want ErrKilled", err)
		}
		if _, err := published.BySlug(ctx, "never-published"); !errors.Is(err, projections.ErrNotPublic) {
			t.Errorf("BySlug(unknown slug) = %v; want ErrNotPublic", err)
		}
		if items, total := listAll(t, published); total != 0 || len(items) != 0 {
			t.Errorf("public list after the kill = %d items (total %d); want none", len(items), total)
		}
	})
}
