package projections_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// The contract of Apply with the published view, run on every dialect.

func TestPublishedLifecycle(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		p := projections.NewPublished(db)
		ensureCheckpoint(t, db)
		// Not UTC and finer than the microseconds the table keeps: the view stores UTC µs.
		publishedAt := time.Date(2026, 3, 2, 11, 30, 15, 123456789, time.FixedZone("CET", 3600))
		s := story{id: "a-1", slug: "council-votes-on-budget", publishedAt: publishedAt}
		envs := s.envelopes(t, 1)

		for _, env := range envs {
			if !apply(t, db, p, env) {
				t.Fatalf("Apply(%s v%d seq %d) = false; want true", env.Type, env.ArticleVersion, env.Sequence)
			}
			if got := checkpoint(t, db); got != env.Sequence {
				t.Errorf("after %s: Checkpoint = %d; want %d", env.Type, got, env.Sequence)
			}
			table := rows(t, db)
			if len(table) != 1 || table[0].ID != s.id || table[0].Version != env.ArticleVersion {
				t.Fatalf("after %s: public_articles = %+v; want one row for %s at version %d", env.Type, table, s.id, env.ArticleVersion)
			}
			// No column, before or after publication, holds the draft's text.
			if text := fmt.Sprintf("%+v", table[0]); strings.Contains(text, draftSecret) {
				t.Errorf("after %s: public_articles row holds draft text: %s", env.Type, text)
			}
			if env.Type == domain.TypePublished {
				continue
			}
			r := table[0]
			if r.Status != projections.VisibilityUnpublished || r.Slug != "" || r.Headline != "" || r.Summary != "" ||
				r.Body != "" || r.BodyHTML != "" || r.Byline != "" || r.Tags != "[]" || r.PublishedAt != "" {
				t.Errorf("after %s: public_articles row = %+v; want status %q and no text", env.Type, r, projections.VisibilityUnpublished)
			}
			if items, total := listAll(t, p); total != 0 || len(items) != 0 {
				t.Errorf("after %s: List = %d items, total %d; want none", env.Type, len(items), total)
			}
			notPublic(t, p, s.slug)
		}

		published := s.events()[4].(domain.Published)
		html, err := projections.RenderMarkdown(published.Body)
		if err != nil {
			t.Fatalf("RenderMarkdown: %v", err)
		}
		if !strings.Contains(html, "<strong>bold</strong>") {
			t.Errorf("RenderMarkdown(%q) = %q; want <strong>bold</strong> in it", published.Body, html)
		}
		want := projections.PublicArticle{
			ID: s.id, Status: projections.VisibilityPublished, Version: 5, Slug: s.slug, Headline: published.Headline, Summary: published.Summary,
			Body: published.Body, BodyHTML: html, Language: "en", Byline: "A. Reporter", Dateline: "LISBON",
			Tags:        []string{"city", "council"},
			CreatedAt:   t0,                                                     // the draft
			UpdatedAt:   t0.Add(4 * time.Minute),                                // the publication event
			PublishedAt: time.Date(2026, 3, 2, 10, 30, 15, 123456000, time.UTC), // UTC, µs
			SetID:       s.id,                                                   // an original: a set of one
		}
		// A listing shows no text: neither the Markdown nor its HTML is read for it.
		listed := want
		listed.Body, listed.BodyHTML = "", ""
		items, total := listAll(t, p)
		if total != 1 || len(items) != 1 || !reflect.DeepEqual(items[0], listed) {
			t.Errorf("List = %+v, total %d;\nwant [%+v], total 1", items, total, listed)
		}
		got, err := p.BySlug(ctx, s.slug)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("BySlug(%q) = %+v, %v;\nwant %+v, nil", s.slug, got, err, want)
		}
	})
}

func TestPublishedWithoutTags(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		p := projections.NewPublished(db)
		ensureCheckpoint(t, db)
		envs := story{id: "a-1", slug: "no-tags", publishedAt: t0}.envelopes(t, 1)
		published := envs[4]
		e := domain.Published{Slug: "no-tags", PublishedAt: t0, Headline: "H", Body: "B", Language: "en"}
		envs[4] = envelope(t, published.ArticleID, published.ArticleVersion, published.Sequence, e, t0)
		applyAll(t, db, p, envs)

		got, err := p.BySlug(context.Background(), "no-tags")
		if err != nil {
			t.Fatalf("BySlug(no-tags): %v", err)
		}
		if got.Tags == nil || len(got.Tags) != 0 {
			t.Errorf("BySlug(no-tags).Tags = %#v; want []string{}", got.Tags)
		}
		if table := rows(t, db); table[0].Tags != "[]" {
			t.Errorf("public_articles.tags = %q; want %q", table[0].Tags, "[]")
		}
	})
}

func TestApplyRepeatHasNoEffect(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		p := projections.NewPublished(db)
		ensureCheckpoint(t, db)
		envs := story{id: "a-1", slug: "a-1", publishedAt: t0}.envelopes(t, 1)
		applyAll(t, db, p, envs[:3]) // drafted, revised, submitted: checkpoint 3, version 3
		before := snap(t, db)

		withSeq := func(env events.Envelope, seq uint64) events.Envelope {
			env.Sequence = seq
			return env
		}
		bogus := envs[3]
		bogus.Type, bogus.Data, bogus.Sequence = "article.bogus", []byte(`{"not":"decodable"`), 2
		tests := []struct {
			name string
			env  events.Envelope
		}{
			{"the last event again", envs[2]},
			{"the first event again", envs[0]},
			{"the next event, at the checkpoint's sequence", withSeq(envs[3], 3)},
			{"the next event, below the checkpoint", withSeq(envs[3], 1)},
			{"a version gap, below the checkpoint", envelope(t, "a-1", 9, 2, domain.Approved{}, t0)},
			{"another article's draft, below the checkpoint", envelope(t, "a-2", 1, 2, domain.Drafted{Headline: "x"}, t0)},
			{"an undecodable event, below the checkpoint", bogus},
			{"an event with no sequence", withSeq(envs[3], 0)},
		}
		for _, tt := range tests {
			applied, err := projections.Apply(ctx, db, p, tt.env)
			if applied || err != nil {
				t.Errorf("%s: Apply(%s v%d seq %d) = %v, %v; want false, nil", tt.name, tt.env.Type, tt.env.ArticleVersion, tt.env.Sequence, applied, err)
			}
			unchanged(t, db, before, 3)
		}

		// The same envelope twice: the first takes effect, the second does not.
		if applied := apply(t, db, p, envs[3]); !applied {
			t.Errorf("Apply(approved seq 4) = false; want true")
		}
		before = snap(t, db)
		if applied := apply(t, db, p, envs[3]); applied {
			t.Errorf("Apply(approved seq 4) again = true; want false")
		}
		unchanged(t, db, before, 4)
	})
}

func TestApplyGapStopsTheView(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		p := projections.NewPublished(db)
		ensureCheckpoint(t, db)
		s := story{id: "a-1", slug: "a-1", publishedAt: t0}
		envs := s.envelopes(t, 1)
		applyAll(t, db, p, envs[:3]) // version 3 at seq 3
		before := snap(t, db)

		published := s.events()[4]
		tests := []struct {
			name string
			env  events.Envelope
		}{
			{"a version skipped", envelope(t, "a-1", 5, 4, published, t0)},
			{"the current version again, with a higher sequence", envelope(t, "a-1", 3, 4, domain.Submitted{}, t0)},
			{"an older version", envelope(t, "a-1", 2, 4, domain.Revised{}, t0)},
			{"a second draft of the article", envelope(t, "a-1", 1, 4, domain.Drafted{Headline: "again"}, t0)},
			{"an article the view never saw, past its first version", envelope(t, "a-2", 2, 4, domain.Submitted{}, t0)},
			{"a publication of an article the view never saw", envelope(t, "a-3", 5, 4, published, t0)},
		}
		for _, tt := range tests {
			applied, err := projections.Apply(ctx, db, p, tt.env)
			if applied || !errors.Is(err, projections.ErrGap) {
				t.Errorf("%s: Apply(%s %s v%d seq 4) = %v, %v; want false, ErrGap", tt.name, tt.env.ArticleID, tt.env.Type, tt.env.ArticleVersion, applied, err)
			}
			unchanged(t, db, before, 3)
		}
		notPublic(t, p, s.slug)

		// Nothing was skipped: the event that belongs at sequence 4 still applies.
		if applied := apply(t, db, p, envs[3]); !applied {
			t.Errorf("Apply(approved v4 seq 4) after the gaps = false; want true")
		}
		if got := checkpoint(t, db); got != 4 {
			t.Errorf("Checkpoint = %d; want 4", got)
		}
	})
}

func TestApplyAfterCheckpointMovedElsewhere(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		p := projections.NewPublished(db)
		ensureCheckpoint(t, db)
		envs := story{id: "a-1", slug: "a-1", publishedAt: t0}.envelopes(t, 1)
		applyAll(t, db, p, envs[:2]) // version 2 at seq 2
		setCheckpoint(t, db, 10)     // another process applied up to 10
		before := snap(t, db)

		for _, seq := range []uint64{3, 9, 10} {
			env := envs[2]
			env.Sequence = seq
			if applied, err := projections.Apply(ctx, db, p, env); applied || err != nil {
				t.Errorf("Apply(submitted v3 seq %d) with the checkpoint moved to 10 = %v, %v; want false, nil", seq, applied, err)
			}
			unchanged(t, db, before, 10)
		}

		env := envs[2]
		env.Sequence = 11
		if applied := apply(t, db, p, env); !applied {
			t.Errorf("Apply(submitted v3 seq 11) = false; want true")
		}
		if got := checkpoint(t, db); got != 11 {
			t.Errorf("Checkpoint = %d; want 11", got)
		}
	})
}

// hookedView applies like the view it wraps, then runs during inside the same transaction,
// before Apply moves the checkpoint: where another process's interference would land.
type hookedView struct {
	projections.View
	during func(ctx context.Context, tx *sqlx.Tx, env events.Envelope) error
}

func (v hookedView) Apply(ctx context.Context, tx *sqlx.Tx, t projections.Tables, batch []events.Envelope) error {
	env := batch[len(batch)-1]
	if err := v.View.Apply(ctx, tx, t, batch); err != nil {
		return err
	}
	return v.during(ctx, tx, env)
}

// sqliteHasOneWriter is why the compare-and-set cannot fail on SQLite: the writer pool has one
// connection and every transaction begins IMMEDIATE, so nothing else can move the checkpoint
// between Apply's read and its update.
const sqliteHasOneWriter = "SQLite: one writer connection, BEGIN IMMEDIATE; the checkpoint cannot move during an Apply"

func TestApplyCheckpointMovedDuringApply(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		if db.Dialect != sqldb.Postgres {
			t.Skip(sqliteHasOneWriter)
		}
		ctx := context.Background()
		p := projections.NewPublished(db)
		ensureCheckpoint(t, db)
		envs := story{id: "a-1", slug: "a-1", publishedAt: t0}.envelopes(t, 1)
		applyAll(t, db, p, envs[:1])

		// Another process (here another connection of the pool) tries to move the checkpoint
		// while this Apply holds it: on PostgreSQL Apply locks the checkpoint row first, so the
		// other process waits (here: gives up after its lock timeout) and this Apply commits.
		var otherErr error
		other := hookedView{View: p, during: func(ctx context.Context, _ *sqlx.Tx, _ events.Envelope) error {
			tx, err := db.Write.BeginTxx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '200ms'`); err != nil {
				return err
			}
			_, otherErr = tx.ExecContext(ctx, tx.Rebind(`UPDATE checkpoints SET seq = ? WHERE name = ?`), 7, "published")
			return nil
		}}
		applied, err := projections.Apply(ctx, db, other, envs[1])
		if !applied || err != nil {
			t.Fatalf("Apply(revised seq 2) while another process tries to move the checkpoint = %v, %v; want true, nil", applied, err)
		}
		if otherErr == nil {
			t.Error("another process moved the checkpoint while an Apply held it; want it to wait")
		}
		if cp := checkpoint(t, db); cp != 2 {
			t.Errorf("checkpoint = %d; want 2", cp)
		}
	})
}

// Racing Applies cannot both read the same checkpoint on PostgreSQL any more: Apply locks the
// checkpoint row first (as a swap does, so that the two never deadlock), so appliers serialise;
// TestApplyConcurrentIsAllOrNothing shows that each commits its rows with its sequence or leaves nothing.

// Many Applies at once, on every dialect: whatever the interleaving, an Apply either commits
// its row and its sequence together, or leaves nothing behind; the checkpoint is the highest
// committed sequence.
func TestApplyConcurrentIsAllOrNothing(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p := projections.NewPublished(db)
		ensureCheckpoint(t, db)

		const n = 8
		var envs []events.Envelope
		for i := range n {
			envs = append(envs, envelope(t, fmt.Sprintf("c-%d", i+1), 1, uint64(i+1), domain.Drafted{Headline: "h"}, t0))
		}
		applied := make([]bool, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, env := range envs {
			wg.Go(func() {
				<-start
				applied[i], errs[i] = projections.Apply(ctx, db, p, env)
			})
		}
		close(start)
		wg.Wait()

		present := map[string]bool{}
		for _, r := range rows(t, db) {
			present[r.ID] = true
		}
		var highest uint64
		for i, env := range envs {
			switch {
			case errs[i] == nil:
			case errors.Is(errs[i], projections.ErrCheckpointMoved) && db.Dialect == sqldb.Postgres:
			default:
				t.Errorf("Apply(%s seq %d) error = %v; want nil or (PostgreSQL only) ErrCheckpointMoved", env.ArticleID, env.Sequence, errs[i])
			}
			if applied[i] != present[env.ArticleID] {
				t.Errorf("Apply(%s seq %d) = %v, but the row is present: %v", env.ArticleID, env.Sequence, applied[i], present[env.ArticleID])
			}
			if applied[i] {
				highest = max(highest, env.Sequence)
			}
		}
		if !slices.Contains(applied, true) {
			t.Errorf("no Apply committed; want at least one")
		}
		if got := checkpoint(t, db); got != highest {
			t.Errorf("Checkpoint = %d; want %d, the highest committed sequence", got, highest)
		}
	})
}

func TestListPagesNewestFirst(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		p := projections.NewPublished(db)
		ensureCheckpoint(t, db)
		noon := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
		// Applied in an order that is neither the listing's nor the ids'.
		stories := []story{
			{id: "p-old", publishedAt: noon.Add(-2 * time.Hour)},
			{id: "p-tie-z", publishedAt: noon},
			{id: "p-mid", publishedAt: noon.Add(-time.Hour)},
			{id: "p-tie-m", publishedAt: noon},
		}
		var seq uint64 = 1
		for _, s := range stories {
			s.slug = "slug-" + s.id
			applyAll(t, db, p, s.envelopes(t, seq))
			seq += 5
		}
		// One that is not published does not count.
		applyAll(t, db, p, story{id: "p-draft", slug: "slug-p-draft"}.envelopes(t, seq)[:4])

		order := []string{"p-tie-m", "p-tie-z", "p-mid", "p-old"}
		tests := []struct {
			page projections.Page
			want []string
		}{
			{projections.Page{Number: 1, PerPage: 20}, order},
			{projections.Page{Number: 1, PerPage: 2}, order[0:2]},
			{projections.Page{Number: 2, PerPage: 2}, order[2:4]},
			{projections.Page{Number: 3, PerPage: 2}, nil},
			{projections.Page{Number: 1, PerPage: 3}, order[0:3]},
			{projections.Page{Number: 2, PerPage: 3}, order[3:4]},
			{projections.Page{Number: 3, PerPage: 1}, order[2:3]},
			{projections.Page{Number: 1, PerPage: 4}, order},
		}
		for _, tt := range tests {
			list, err := p.List(ctx, projections.PublicQuery{Page: tt.page})
			if err != nil {
				t.Fatalf("List(%+v): %v", tt.page, err)
			}
			items, total := list.Items, list.Total
			var ids []string
			for _, a := range items {
				ids = append(ids, a.ID)
			}
			if !slices.Equal(ids, tt.want) || total != 4 {
				t.Errorf("List(%+v) = %v, total %d; want %v, total 4", tt.page, ids, total, tt.want)
			}
		}
	})
}

func TestBySlugOnlyFindsPublished(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		p := projections.NewPublished(db)
		ensureCheckpoint(t, db)
		applyAll(t, db, p, story{id: "a-pub", slug: "published-slug", publishedAt: t0}.envelopes(t, 1))
		// Drafted with a slug of its own, approved, never published.
		applyAll(t, db, p, story{id: "a-draft", slug: "draft-slug", publishedAt: t0}.envelopes(t, 6)[:4])

		for _, slug := range []string{
			"unknown-slug",
			"draft-slug", // the draft's slug
			"",           // what every unpublished row holds
			"published-slug ",
		} {
			notPublic(t, p, slug)
		}
		if a, err := p.BySlug(context.Background(), "published-slug"); err != nil || a.ID != "a-pub" {
			t.Errorf("BySlug(published-slug) = %s, %v; want a-pub, nil", a.ID, err)
		}
	})
}
