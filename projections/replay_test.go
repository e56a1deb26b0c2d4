package projections_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// busyDesk is the log of a busy desk: articles whose events interleave, each taken by
// domain.Decide itself through one of seven ways (published and corrected with tags changed,
// kept, cleared; retracted; killed; spiked; sent back; left as drafts; a correction pending),
// one in three a translation of the one before it. full is the log as it was
// written; erased is what it holds once the kills' erasures have run (a killed article's kill
// alone).
func busyDesk(tb testing.TB, articles int) (full, erased []events.Envelope) {
	tb.Helper()
	tags := func(t ...string) *[]string { return &t }
	text := func(s string) *string { return &s }
	ways := [][]domain.Command{
		{domain.Revise{Changes: domain.Changes{Headline: text("Revised headline")}}, domain.Submit{}, domain.Approve{},
			domain.Publish{}, domain.Correct{Note: "Tags and body.", Changes: domain.Changes{Tags: tags("b", "c"), Body: text("New **body**.")}},
			domain.ConfirmCorrection{}, domain.Correct{Note: "A byline.", Changes: domain.Changes{Byline: text("Desk")}},
			domain.ConfirmCorrection{}, domain.Correct{Note: "A note alone."}, domain.Correct{Note: "Withdrawn.", Changes: domain.Changes{Byline: text("Nobody")}},
			domain.WithdrawCorrection{}, domain.Correct{Note: "Left pending.", Changes: domain.Changes{Summary: text("Pending summary.")}},
			domain.Retract{Reason: "In error."}},
		{domain.Spike{Reason: "Duplicate."}},
		{domain.Submit{}, domain.Approve{}, domain.Publish{}, domain.Kill{Reason: "Court order."}},
		{domain.Submit{}, domain.RequestChanges{Comment: "Shorter."}, domain.Revise{Changes: domain.Changes{Tags: tags("x")}},
			domain.Submit{}, domain.Approve{}, domain.Publish{}},
		{domain.Revise{Changes: domain.Changes{Summary: text("A summary.")}}},
		{domain.Submit{}, domain.Approve{}, domain.Publish{}, domain.Correct{Note: "No tags.", Changes: domain.Changes{Tags: tags()}},
			domain.ConfirmCorrection{}, domain.Retract{Reason: "Wrong."}, domain.Kill{Reason: "Libel."}},
		// published with a correction pending
		{domain.Submit{}, domain.Approve{}, domain.Publish{}, domain.Correct{Note: "Pending.", Changes: domain.Changes{Headline: text("Pending headline")}}},
	}
	type article struct {
		id   string
		todo []domain.Command
		past []domain.Recorded
	}
	desk := make([]*article, articles)
	for i := range desk {
		draft := domain.Draft{Content: domain.Content{
			Headline: fmt.Sprintf("Story %d", i), Body: fmt.Sprintf("Body of story %d, with *emphasis*.", i),
			Language: "en", Tags: []string{"a", "b"}}}
		if i%3 == 1 {
			// The French version of the story before it, each through a way of its own: sets
			// whose members are published, retracted, killed or left behind in every order.
			draft.TranslationOf, draft.Content.Language = desk[i-1].id, "fr"
		}
		desk[i] = &article{id: fmt.Sprintf("b-%03d", i), todo: append([]domain.Command{draft}, ways[i%len(ways)]...)}
	}
	killed := map[string]bool{}
	at := t0
	for left := true; left; {
		left = false
		for i, a := range desk {
			if len(a.todo) == 0 {
				continue
			}
			left = true
			c := a.todo[0]
			a.todo = a.todo[1:]
			if p, ok := c.(domain.Publish); ok && p.Slug == "" {
				c = domain.Publish{Slug: fmt.Sprintf("story-%d", i)}
			}
			by := reporter
			switch c.(type) {
			case domain.Approve, domain.Publish, domain.RequestChanges, domain.Correct, domain.WithdrawCorrection, domain.Retract, domain.Kill:
				by = editor
			case domain.ConfirmCorrection:
				by = editor2
			}
			at = at.Add(time.Second)
			e, err := domain.Decide(domain.Fold(a.id, a.past), c, domain.Decision{By: by, Now: at})
			if err != nil {
				tb.Fatalf("%s: %s: %v", a.id, domain.CommandName(c), err)
			}
			env := envelope(tb, a.id, len(a.past)+1, uint64(len(full)+1), e, at)
			r, err := env.Recorded()
			if err != nil {
				tb.Fatal(err)
			}
			a.past = append(a.past, r)
			full = append(full, env)
			if _, ok := c.(domain.Kill); ok {
				killed[a.id] = true
			}
		}
	}
	for _, env := range full {
		if !killed[env.ArticleID] || env.Type == domain.TypeKilled {
			erased = append(erased, env)
		}
	}
	return full, erased
}

// TestFoldedRebuildEqualsEventByEvent: a rebuild folds each batch's events per article and
// writes the final rows in bulk; whatever the batch size, and whether the log still holds the
// killed articles' events or only their kills, it gives exactly the rows the views get when
// they apply the log one event at a time, on both dialects; and its tables have every index
// the view declares.
func TestFoldedRebuildEqualsEventByEvent(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		full, erased := busyDesk(t, 60)
		for _, v := range []projections.View{projections.NewPublished(db), projections.NewDesk(db), projections.NewHistory(db)} {
			t.Run(v.Name(), func(t *testing.T) {
				if _, err := projections.EnsureTables(ctx, db, v); err != nil {
					t.Fatal(err)
				}
				applyAll(t, db, v, full)
				want := dumpView(t, db, v)
				for _, table := range []string{"public_tags", "public_corrections"} {
					if v.Name() == "published" && !strings.Contains(want, table+" ") {
						t.Fatalf("the event-by-event view has no %s rows: the log does not exercise them", table)
					}
				}
				// Translations in every state, killed ones too (their kill alone names the set).
				if query, ok := map[string]string{
					"published": `SELECT COUNT(DISTINCT status) FROM public_articles WHERE set_id <> id AND status IN ('published', 'retracted', 'killed')`,
					"desk":      `SELECT COUNT(DISTINCT status) FROM desk_articles WHERE translation_of <> '' AND status IN ('published', 'retracted', 'killed')`,
				}[v.Name()]; ok {
					var n int
					if err := db.Read.Get(&n, query); err != nil || n != 3 {
						t.Fatalf("translations in %d of the states published, retracted and killed (%v); want all three", n, err)
					}
				}
				last := full[len(full)-1].Sequence
				for _, run := range []struct {
					log   []events.Envelope
					batch int
				}{{full, 1}, {full, 7}, {full, projections.DefaultBatchSize}, {erased, 7}, {erased, projections.DefaultBatchSize}} {
					p, err := projections.Rebuild{DB: db, Log: memoryLog(run.log), View: v, BatchSize: run.batch}.Run(ctx)
					if err != nil || !p.Done || p.Checkpoint != last {
						t.Fatalf("Rebuild(%d events, batch %d) = %+v, %v; want done at %d", len(run.log), run.batch, p, err, last)
					}
					if got := dumpView(t, db, v); got != want {
						t.Errorf("rebuilt from %d events in batches of %d:\n%s\nwant\n%s", len(run.log), run.batch, got, want)
					}
					tables, indexes := projections.RebuildSchema(v, db.Dialect, projections.Live)
					if got := secondaryIndexes(t, db, v.Tables()); got != len(indexes) || len(tables) == 0 {
						t.Errorf("after a rebuild %v have %d secondary indexes; want %d", v.Tables(), got, len(indexes))
					}
				}
			})
		}
	})
}

// secondaryIndexes counts the indexes of tables that are not their primary keys'.
func secondaryIndexes(tb testing.TB, db *sqldb.DB, tables []string) int {
	tb.Helper()
	query := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (?)`
	if db.Dialect == sqldb.Postgres {
		query = `SELECT COUNT(*) FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
			WHERE NOT i.indisprimary AND t.relnamespace = current_schema()::regnamespace AND t.relname IN (?)`
	}
	q, args, err := sqlx.In(query, tables)
	if err != nil {
		tb.Fatal(err)
	}
	var n int
	if err := db.Read.Get(&n, db.Read.Rebind(q), args...); err != nil {
		tb.Fatalf("count indexes of %v: %v", tables, err)
	}
	return n
}
