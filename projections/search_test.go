package projections_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/search"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// searchLog writes a log event by event: each article's versions in order, one minute apart.
type searchLog struct {
	tb       testing.TB
	envs     []events.Envelope
	versions map[string]int
}

func (l *searchLog) add(id string, e domain.Event) {
	l.tb.Helper()
	if l.versions == nil {
		l.versions = map[string]int{}
	}
	l.versions[id]++
	seq := uint64(len(l.envs) + 1)
	l.envs = append(l.envs, envelope(l.tb, id, l.versions[id], seq, e, t0.Add(time.Duration(seq)*time.Minute)))
}

// publish drafts, submits, approves and publishes an article whose text is d's.
func (l *searchLog) publish(id string, d domain.Drafted) {
	l.add(id, d)
	l.add(id, domain.Submitted{})
	l.add(id, domain.Approved{})
	l.add(id, published(id, d))
}

func published(id string, d domain.Drafted) domain.Published {
	return domain.Published{Slug: id, PublishedAt: t0, Headline: d.Headline, Summary: d.Summary, Body: d.Body,
		Language: d.Language, Byline: d.Byline, Tags: d.Tags}
}

// searchStory is the archive the search contract runs on: English and French articles,
// published, retracted, killed, embargoed, in draft, with a correction pending.
func searchStory(tb testing.TB) []events.Envelope {
	l := &searchLog{tb: tb}
	l.publish("en-meet", domain.Drafted{Headline: "NATO ministers meet in Brussels", Language: "en", Tags: []string{"nato"},
		Summary: "Allied defence ministers gathered.", Body: "The ministers discussed **maritime security** in the Baltic.", Byline: "Press Office"})
	l.publish("en-body", domain.Drafted{Headline: "Readiness report", Language: "en-GB", Tags: []string{"readiness"},
		Body: "A long report. After the meeting, security of the maritime routes was reviewed."})
	l.publish("fr-zurich", domain.Drafted{Headline: "Les ministres réunis à Zürich", Language: "fr", Tags: []string{"nato"},
		Body: "Le ministre de la Défense a parlé de sécurité maritime."})
	l.add("draft", domain.Drafted{Headline: "Unpublished plans", Language: "en", Body: "Secret maritime security plans, not public."})
	l.publish("retracted", domain.Drafted{Headline: "Quarterly exercise announced", Language: "en", Body: "The exercise Zephyrine starts in March."})
	l.add("retracted", domain.Retracted{Reason: "Announced in error."})
	l.publish("killed", domain.Drafted{Headline: "Libellous maritime claim", Language: "en", Body: "Quixotically defamatory words."})
	l.add("killed", domain.Killed{Reason: "Court order.", CreatedBy: reporter.ID, CreatedAt: t0, LastRevisedBy: reporter.ID})
	l.publish("script", domain.Drafted{Headline: "Cyber security <b>alert</b>", Language: "en",
		Body: "Before.\n\n<script>alert('pwned')</script>\n\nThe cyber security team answered the alert."})
	embargoed := domain.Drafted{Headline: "Embargoed summit communique", Language: "en", Body: "Embargoed words about Quokkas."}
	l.add("embargo", embargoed)
	l.add("embargo", domain.Submitted{})
	l.add("embargo", domain.Approved{})
	p := published("embargo", embargoed)
	p.EmbargoUntil = t0.Add(48 * time.Hour)
	l.add("embargo", p)
	l.publish("pending", domain.Drafted{Headline: "Pending correction story", Language: "en", Body: "Original body."})
	proposed := "Proposed Zanzibar headline"
	l.add("pending", domain.CorrectionProposed{Note: "Fix.", Changes: domain.Changes{Headline: &proposed}})
	// Twins: the same text, the second changed later; an equal relevance is broken by the change.
	twin := domain.Drafted{Headline: "Twin communique on hydrography", Language: "en", Body: "Hydrography twins."}
	l.publish("twin-old", twin)
	l.publish("twin-new", twin)
	return l.envs
}

func openSearch(tb testing.TB, db *sqldb.DB, envs []events.Envelope) *projections.Search {
	tb.Helper()
	s := projections.NewSearch(db)
	if _, err := projections.EnsureTables(context.Background(), db, s); err != nil {
		tb.Fatal(err)
	}
	applyAll(tb, db, s, envs)
	return s
}

func parse(tb testing.TB, q string) *search.Query {
	tb.Helper()
	p, err := search.Parse(q)
	if err != nil {
		tb.Fatalf("Parse(%q) = %v", q, err)
	}
	return &p
}

func publicIDs(tb testing.TB, s *projections.Search, q projections.PublicSearch) []string {
	tb.Helper()
	if q.Page.PerPage == 0 {
		q.Page = projections.Page{Number: 1, PerPage: 20}
	}
	hits, err := s.Public(context.Background(), q)
	if err != nil {
		tb.Fatalf("Public(%+v) = %v", q, err)
	}
	ids := []string{}
	for _, h := range hits.Items {
		ids = append(ids, h.Article.ID)
	}
	if hits.Total < len(ids) {
		tb.Errorf("Public(%+v): total %d < %d items", q, hits.Total, len(ids))
	}
	return ids
}

func deskIDs(tb testing.TB, s *projections.Search, q projections.DeskSearch) []string {
	tb.Helper()
	if q.Page.PerPage == 0 {
		q.Page = projections.Page{Number: 1, PerPage: 20}
	}
	hits, err := s.Desk(context.Background(), q)
	if err != nil {
		tb.Fatalf("Desk(%+v) = %v", q, err)
	}
	ids := []string{}
	for _, h := range hits.Items {
		ids = append(ids, h.Article.ID)
	}
	return ids
}

// TestSearchContract is the search view's contract, on both databases.
func TestSearchContract(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := openSearch(t, db, searchStory(t))
		sorted := func(ids []string) []string { slices.Sort(ids); return ids }

		for _, tt := range []struct {
			name, q, lang string
			want          []string // in order
			anyOrder      bool
		}{
			{name: "stemming: meets finds meet and meeting, headline first", q: "meets", want: []string{"en-meet", "en-body"}},
			{name: "French stemming", q: "ministres", lang: "fr", want: []string{"fr-zurich"}},
			{name: "French stemming in every language", q: "ministres", want: []string{"fr-zurich"}},
			{name: "diacritics", q: "zurich", want: []string{"fr-zurich"}},
			{name: "diacritics in the query", q: "ZÜRICH sécurité", want: []string{"fr-zurich"}},
			{name: "phrase", q: `"maritime security"`, want: []string{"en-meet"}},
			{name: "words apart", q: "maritime security", want: []string{"en-body", "en-meet"}, anyOrder: true},
			{name: "exclusion", q: "maritime security -baltic", want: []string{"en-body"}},
			{name: "excluded phrase", q: `security -"maritime security"`, want: []string{"en-body", "script"}, anyOrder: true},
			{name: "prefix, stemmed in each language", q: "secur*", want: []string{"en-body", "en-meet", "fr-zurich", "script"}, anyOrder: true},
			{name: "language filter", q: "nato", lang: "fr", want: []string{"fr-zurich"}},
			{name: "ties: newest change first", q: "hydrography", want: []string{"twin-new", "twin-old"}},
			{name: "retraction notice by its headline", q: "quarterly exercise", want: []string{"retracted"}},
			{name: "retraction notice by its reason", q: "error", want: []string{"retracted"}},
			{name: "not by the retracted body", q: "zephyrine", want: []string{}},
			{name: "killed: never", q: "quixotically", want: []string{}},
			{name: "draft: not in public", q: "unpublished plans", want: []string{}},
			{name: "embargoed: not in public", q: "quokkas", want: []string{}},
			{name: "proposed: not in public", q: "zanzibar", want: []string{}},
			{name: "tags", q: "nato", want: []string{"en-meet", "fr-zurich"}, anyOrder: true},
		} {
			t.Run("public/"+tt.name, func(t *testing.T) {
				got := publicIDs(t, s, projections.PublicSearch{Query: *parse(t, tt.q), Language: tt.lang})
				if tt.anyOrder {
					got = sorted(got)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("public search %q (lang %q) = %v; want %v", tt.q, tt.lang, got, tt.want)
				}
			})
		}

		for _, tt := range []struct {
			name string
			q    projections.DeskSearch
			want []string
		}{
			{name: "a draft", q: projections.DeskSearch{Query: parse(t, "unpublished")}, want: []string{"draft"}},
			{name: "embargoed", q: projections.DeskSearch{Query: parse(t, "quokkas")}, want: []string{"embargo"}},
			{name: "killed: never", q: projections.DeskSearch{Query: parse(t, "quixotically")}, want: []string{}},
			{name: "retracted, whole", q: projections.DeskSearch{Query: parse(t, "zephyrine")}, want: []string{"retracted"}},
			{name: "status", q: projections.DeskSearch{Query: parse(t, "maritime"), Status: domain.StatusDraft}, want: []string{"draft"}},
			{name: "author", q: projections.DeskSearch{Query: parse(t, "maritime"), Author: "nobody"}, want: []string{}},
			{name: "tag", q: projections.DeskSearch{Query: parse(t, "ministres"), Tag: "nato"}, want: []string{"fr-zurich"}},
			{name: "language", q: projections.DeskSearch{Query: parse(t, "security"), Language: "en-GB"}, want: []string{"en-body"}},
			{name: "updated after", q: projections.DeskSearch{Query: parse(t, "hydrography"), UpdatedAfter: t0.Add(42 * time.Minute)}, want: []string{"twin-new"}},
			{name: "updated before", q: projections.DeskSearch{Query: parse(t, "hydrography"), UpdatedBefore: t0.Add(42 * time.Minute)}, want: []string{"twin-old"}},
			{name: "filters alone, newest first", q: projections.DeskSearch{Tag: "nato"}, want: []string{"fr-zurich", "en-meet"}},
			{name: "by date", q: projections.DeskSearch{Query: parse(t, "meets"), ByDate: true}, want: []string{"en-body", "en-meet"}},
		} {
			t.Run("desk/"+tt.name, func(t *testing.T) {
				if got := deskIDs(t, s, tt.q); !slices.Equal(got, tt.want) {
					t.Errorf("desk search %s = %v; want %v", tt.name, got, tt.want)
				}
			})
		}

		t.Run("only stop words", func(t *testing.T) {
			for _, q := range []string{"the", "of the", "le la"} {
				_, err := s.Public(ctx, projections.PublicSearch{Query: *parse(t, q), Page: projections.Page{Number: 1, PerPage: 10}})
				var qe *search.QueryError
				if !errors.As(err, &qe) {
					t.Errorf("Public(%q) = %v; want a QueryError", q, err)
				}
			}
			// With a stop word beside a word, the word is searched.
			if got := publicIDs(t, s, projections.PublicSearch{Query: *parse(t, "the hydrography")}); len(got) != 2 {
				t.Errorf(`public search "the hydrography" = %v; want the twins`, got)
			}
		})

		t.Run("snippets are escaped", func(t *testing.T) {
			hits, err := s.Public(ctx, projections.PublicSearch{Query: *parse(t, "alert"), Page: projections.Page{Number: 1, PerPage: 10}})
			if err != nil || len(hits.Items) != 1 {
				t.Fatalf("Public(alert) = %+v, %v; want the script article", hits, err)
			}
			h := hits.Items[0].Highlights
			if h.Headline != "Cyber security &lt;b&gt;<mark>alert</mark>&lt;/b&gt;" {
				t.Errorf("headline = %s", h.Headline)
			}
			if !strings.Contains(h.Snippet, "&lt;script&gt;<mark>alert</mark>(&#39;pwned&#39;)&lt;/script&gt;") {
				t.Errorf("snippet = %s; want the script escaped, its word marked", h.Snippet)
			}
			for _, text := range []string{h.Headline, h.Snippet} {
				if rest := strings.NewReplacer(search.MarkOpen, "", search.MarkClose, "").Replace(text); strings.ContainsAny(rest, "<>") {
					t.Errorf("%s: holds < or > that is not a mark", text)
				}
			}
			desk, err := s.Desk(ctx, projections.DeskSearch{Query: parse(t, "pwned"), Page: projections.Page{Number: 1, PerPage: 10}})
			if err != nil || len(desk.Items) != 1 || strings.Contains(desk.Items[0].Highlights.Snippet, "<script") {
				t.Errorf("Desk(pwned) = %+v, %v; want the script article, escaped", desk, err)
			}
		})

		t.Run("stems highlighted", func(t *testing.T) {
			hits, err := s.Public(ctx, projections.PublicSearch{Query: *parse(t, "meets"), Page: projections.Page{Number: 1, PerPage: 10}})
			if err != nil || len(hits.Items) != 2 {
				t.Fatalf("Public(meets) = %+v, %v", hits, err)
			}
			if h := hits.Items[0].Highlights.Headline; h != "NATO ministers <mark>meet</mark> in Brussels" {
				t.Errorf("headline = %s", h)
			}
			if h := hits.Items[1].Highlights.Snippet; !strings.Contains(h, "<mark>meeting</mark>") {
				t.Errorf("snippet = %s; want meeting marked", h)
			}
		})

		t.Run("pages and total", func(t *testing.T) {
			q := projections.PublicSearch{Query: *parse(t, "secur*")}
			var all []string
			for page := 1; page <= 5; page++ {
				q.Page = projections.Page{Number: page, PerPage: 1}
				hits, err := s.Public(ctx, q)
				if err != nil || hits.Total != 4 {
					t.Fatalf("Public(page %d) = total %d, %v; want 4", page, hits.Total, err)
				}
				for _, h := range hits.Items {
					all = append(all, h.Article.ID)
				}
			}
			if len(all) != 4 || len(slices.Compact(sorted(all))) != 4 {
				t.Errorf("pages of one = %v; want the 4 articles once each", all)
			}
		})
	})
}

// TestSearchRebuildEqualsLive: the search view rebuilt from the log in batches of any size, and
// from the log whose killed articles were erased, holds the same rows and the same index
// (compared term by term on SQLite, tsvector by tsvector on PostgreSQL) and answers the same.
func TestSearchRebuildEqualsLive(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		full, erased := busyDesk(t, 42)
		story := searchStory(t)
		offset := uint64(len(full))
		for _, env := range story {
			env.Sequence += offset
			full = append(full, env)
			if env.ArticleID != "killed" || env.Type == domain.TypeKilled {
				erased = append(erased, env)
			}
		}
		s := openSearch(t, db, full)
		want := dumpSearch(t, db, s)
		if !strings.Contains(want, "enhydrographi") && !strings.Contains(want, "'hydrographi'") {
			t.Fatalf("the index holds no stem of hydrography:\n%s", want)
		}
		answers := func() string {
			var b strings.Builder
			for _, q := range []string{"story", "maritime security", "body -revised", "secur*", "ministres", "pending"} {
				fmt.Fprintln(&b, q, publicIDs(t, s, projections.PublicSearch{Query: *parse(t, q)}), deskIDs(t, s, projections.DeskSearch{Query: parse(t, q)}))
			}
			return b.String()
		}
		wantAnswers := answers()
		last := full[len(full)-1].Sequence
		for _, run := range []struct {
			log   []events.Envelope
			batch int
		}{{full, 1}, {full, 7}, {full, projections.DefaultBatchSize}, {erased, 5}, {erased, projections.DefaultBatchSize}} {
			p, err := projections.Rebuild{DB: db, Log: memoryLog(run.log), View: s, BatchSize: run.batch}.Run(ctx)
			if err != nil || !p.Done || p.Checkpoint != last {
				t.Fatalf("Rebuild(%d events, batch %d) = %+v, %v; want done at %d", len(run.log), run.batch, p, err, last)
			}
			if got := dumpSearch(t, db, s); got != want {
				t.Errorf("rebuilt from %d events in batches of %d:\n%s\nwant\n%s", len(run.log), run.batch, got, want)
			}
			if got := answers(); got != wantAnswers {
				t.Errorf("rebuilt from %d events in batches of %d, answers:\n%s\nwant\n%s", len(run.log), run.batch, got, wantAnswers)
			}
		}
	})
}

// dumpSearch is dumpView, and on SQLite every entry of the FTS5 indexes (term, document,
// column, offset), which SELECT * on a contentless table does not show.
func dumpSearch(tb testing.TB, db *sqldb.DB, s *projections.Search) string {
	tb.Helper()
	out := dumpView(tb, db, s)
	if db.Dialect != sqldb.SQLite {
		return out
	}
	var b strings.Builder
	b.WriteString(out)
	for _, fts := range []string{"search_desk_fts", "search_public_fts"} {
		b.WriteString(ftsEntries(tb, db, fts))
	}
	return b.String()
}

// ftsEntries lists every entry of an FTS5 index, through an fts5vocab table.
func ftsEntries(tb testing.TB, db *sqldb.DB, fts string) string {
	tb.Helper()
	conn, err := db.Write.Conn(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), `CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocab_`+fts+` USING fts5vocab(main, '`+fts+`', 'instance')`); err != nil {
		tb.Fatal(err)
	}
	rows, err := conn.QueryContext(context.Background(), `SELECT term, doc, col, offset FROM temp.vocab_`+fts+` ORDER BY 1, 2, 3, 4`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var term, col string
		var doc, offset int64
		if err := rows.Scan(&term, &doc, &col, &offset); err != nil {
			tb.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s %d %s %d\n", fts, term, doc, col, offset)
	}
	return b.String()
}
