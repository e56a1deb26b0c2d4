package projections_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// archive is a small archive whose articles move between every listing: languages, tags that
// change with a correction, a retraction, a kill, an article never published, ties in
// published_at. It returns its events in log order.
func archive(tb testing.TB) []events.Envelope {
	tb.Helper()
	noon := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	versions := map[string]int{}
	var out []events.Envelope
	add := func(id string, e domain.Event) {
		versions[id]++
		out = append(out, envelope(tb, id, versions[id], uint64(len(out)+1), e, t0.Add(time.Duration(len(out))*time.Second)))
	}
	publish := func(id, lang string, at time.Time, tags ...string) {
		add(id, domain.Drafted{Headline: "H " + id, Language: lang, Slug: "s-" + id})
		add(id, domain.Submitted{})
		add(id, domain.Approved{})
		add(id, domain.Published{Slug: "s-" + id, PublishedAt: at, Headline: "H " + id, Body: "B", Language: lang, Tags: tags})
	}
	for i := range 12 {
		lang := []string{"en", "fr", "pt-BR"}[i%3]
		at := noon.Add(time.Duration(i/2) * time.Hour) // pairs share a published_at
		publish(fmt.Sprintf("a-%02d", i), lang, at, []string{"nato", "eu", "nato"}[i%3], "all", "all")
	}
	add("a-draft", domain.Drafted{Headline: "Never", Language: "en", Tags: []string{"nato"}})
	// A correction moves a-01 from fr to en and from eu to nato.
	add("a-01", domain.Corrected{Note: "n", Slug: "s-a-01", PublishedAt: noon, Headline: "H", Body: "B2", Language: "en", Tags: []string{"nato"}})
	add("a-02", domain.Retracted{Reason: "wrong"})
	add("a-03", domain.Killed{Reason: "legal", SlugDigest: domain.SlugDigest("s-a-03"), Language: "en", CreatedBy: "u", CreatedAt: t0, PublishedAt: noon})
	add("a-04", domain.Corrected{Note: "n", Slug: "s-a-04", PublishedAt: noon.Add(2 * time.Hour), Headline: "H", Body: "B", Language: "pt-BR"})
	return out
}

// publicFilters are every listing of the public list.
var publicFilters = []projections.PublicQuery{
	{}, {Language: "en"}, {Language: "fr"}, {Language: "pt-BR"}, {Language: "de"},
	{Tag: "nato"}, {Tag: "eu"}, {Tag: "all"}, {Tag: "none"},
	{Language: "en", Tag: "nato"}, {Language: "fr", Tag: "eu"}, {Language: "pt-BR", Tag: "all"},
}

// truth is what a listing must hold, found the slow way: every matching row, sorted.
func truth(tb testing.TB, db *sqldb.DB, q projections.PublicQuery) []string {
	tb.Helper()
	query := `SELECT a.id FROM public_articles a WHERE a.status IN ('published', 'retracted')`
	var args []any
	if q.Language != "" {
		query += ` AND a.language = ?`
		args = append(args, q.Language)
	}
	if q.Tag != "" {
		query += ` AND a.id IN (SELECT article_id FROM public_tags WHERE tag = ?)`
		args = append(args, q.Tag)
	}
	var ids []string
	if err := db.Read.Select(&ids, db.Read.Rebind(query+` ORDER BY a.published_at DESC, a.id`), args...); err != nil {
		tb.Fatal(err)
	}
	return ids
}

// walk reads a listing to its end, per items a page, following the cursors; it returns the
// ids in order and the total every page reported.
func walk(tb testing.TB, p *projections.Published, q projections.PublicQuery, per int) ([]string, []int) {
	tb.Helper()
	q.Page = projections.Page{Number: 1, PerPage: per}
	var ids []string
	var totals []int
	for range 100 {
		list, err := p.List(context.Background(), q)
		if err != nil {
			tb.Fatalf("List(%+v): %v", q, err)
		}
		for _, a := range list.Items {
			ids = append(ids, a.ID)
		}
		totals = append(totals, list.Total)
		if list.Next.IsZero() {
			return ids, totals
		}
		if len(list.Items) != per {
			tb.Fatalf("List(%+v) = %d items and a next cursor; want %d (a cursor only after a full page)", q, len(list.Items), per)
		}
		next, err := projections.ParseCursor(list.Next.String())
		if err != nil || next != list.Next {
			tb.Fatalf("ParseCursor(%q) = %+v, %v; want %+v", list.Next.String(), next, err, list.Next)
		}
		q.Before = next
	}
	tb.Fatalf("List(%+v): no end after 100 pages", q)
	return nil, nil
}

// TestListingsKeepTheirTotals: after every event of an archive, applied one by one, every
// listing's kept total is the number of rows that match, and its pages, followed by cursor,
// are the matching rows in order, each once.
func TestListingsKeepTheirTotals(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		p := projections.NewPublished(db)
		ensureCheckpoint(t, db)
		for _, env := range archive(t) {
			applyAll(t, db, p, []events.Envelope{env})
			for _, q := range publicFilters {
				want := truth(t, db, q)
				for _, per := range []int{1, 2, 5} {
					got, totals := walk(t, p, q, per)
					if !slices.Equal(got, want) {
						t.Fatalf("after seq %d (%s %s), %+v by %d = %v; want %v", env.Sequence, env.Type, env.ArticleID, q, per, got, want)
					}
					for _, total := range totals {
						if total != len(want) {
							t.Fatalf("after seq %d (%s %s), %+v total = %d; want %d", env.Sequence, env.Type, env.ArticleID, q, total, len(want))
						}
					}
				}
			}
		}
	})
}

// TestDeskListingKeepsItsTotals: the desk's totals per status are its rows, and its cursor
// pages are its rows, newest change first, each once.
func TestDeskListingKeepsItsTotals(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		d := projections.NewDesk(db)
		if _, err := projections.EnsureTables(ctx, db, d); err != nil {
			t.Fatal(err)
		}
		for _, env := range archive(t) {
			if _, err := projections.Apply(ctx, db, d, env); err != nil {
				t.Fatal(err)
			}
		}
		for _, status := range []domain.Status{"", domain.StatusPublished, domain.StatusRetracted, domain.StatusKilled, domain.StatusDraft, domain.StatusSpiked} {
			query, args := `SELECT id FROM desk_articles`, []any{}
			if status != "" {
				query, args = query+` WHERE status = ?`, append(args, string(status))
			}
			var want []string
			if err := db.Read.Select(&want, db.Read.Rebind(query+` ORDER BY updated_at DESC, id`), args...); err != nil {
				t.Fatal(err)
			}
			q := projections.DeskQuery{Status: status, Page: projections.Page{Number: 1, PerPage: 4}}
			var got []string
			for {
				list, err := d.List(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if list.Total != len(want) {
					t.Errorf("desk %q total = %d; want %d", status, list.Total, len(want))
				}
				for _, a := range list.Items {
					got = append(got, a.ID)
				}
				if list.Next.IsZero() {
					break
				}
				q.Before = list.Next
			}
			if !slices.Equal(got, want) {
				t.Errorf("desk %q by cursor = %v; want %v", status, got, want)
			}
		}
	})
}

func TestParseCursorRefusesWhatNoListingGave(t *testing.T) {
	for _, s := range []string{"", "x", "!!!", "YWJj", // "abc"
		projections.Cursor{At: "yesterday", ID: "a"}.String(),
		projections.Cursor{At: sqldb.FormatTime(t0), ID: ""}.String(),
	} {
		if c, err := projections.ParseCursor(s); err == nil {
			t.Errorf("ParseCursor(%q) = %+v, nil; want ErrBadCursor", s, c)
		}
	}
}
