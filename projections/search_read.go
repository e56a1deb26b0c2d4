package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/search"
	"github.com/newsroom/newsroom/sqldb"
)

// A search reads in two steps: the page's documents, ranked, and how many match in all (one
// pass over the matches, which only touches the index and the rows' first pages); then the
// text of that page's documents alone, for their snippets.

// DeskSearch selects articles on the desk by words and filters.
type DeskSearch struct {
	Query         *search.Query // nil: filters alone, newest change first
	Status        domain.Status // empty for every status
	Author        string        // the user id that drafted the article
	Tag           string        // exact (NFC) tag
	Language      string        // exact BCP 47 tag; its language's rules only
	UpdatedAfter  time.Time     // zero: no bound
	UpdatedBefore time.Time     // zero: no bound
	ByDate        bool          // newest change first, not most relevant first
	Page          Page
}

// Highlights are the marked-up parts of a search result: escaped HTML whose only tags are
// search.MarkOpen and search.MarkClose around the words the query found.
type Highlights struct {
	Headline string
	Snippet  string // an excerpt of the body (or the summary) where the words are
}

// DeskHit is one article a desk search found.
type DeskHit struct {
	Article    domain.Article // without its body
	Highlights Highlights
}

// DeskHits is one page of a desk search.
type DeskHits struct {
	Items []DeskHit
	Total int
}

// PublicSearch selects public articles by words.
type PublicSearch struct {
	Query    search.Query
	Language string // exact BCP 47 tag; its language's rules only
	Tag      string
	ByDate   bool // newest publication first, not most relevant first
	Page     Page
}

// PublicHit is one public article a search found: published, or a retraction notice.
type PublicHit struct {
	Article    PublicArticle // without its body or corrections
	Highlights Highlights
}

// PublicHits is one page of a public search.
type PublicHits struct {
	Items []PublicHit
	Total int
}

// languagesOf are the languages a query searches: the filter's, or all of them.
func languagesOf(tag string) []*search.Language {
	if tag != "" {
		return []*search.Language{search.LanguageOf(tag)}
	}
	return search.Languages
}

// searchPart is the SQL of one index: its documents' table, its FTS5 table (SQLite), its tags.
type searchPart struct {
	docs, fts, tags string
	dateColumn      string // what sort=date orders by
}

var (
	deskPart   = searchPart{docs: searchDesk, fts: searchDeskFTS, tags: searchDeskTags, dateColumn: "updated_at"}
	publicPart = searchPart{docs: searchPublic, fts: searchPublicFTS, tags: searchPublicTags, dateColumn: "published_at"}
)

// A page's row: the document's, and how many match in all.
type (
	deskPageRow struct {
		searchDeskRow
		Total int `db:"total"`
	}
	publicPageRow struct {
		searchPublicRow
		Total int `db:"total"`
	}
)

// rankedPage reads into dst the rows (columns, of part's documents' table) of one page of the
// documents of part that match branches (none: every document) and the filters in where, in
// order, each with how many match in all; and that count when the page is past the last one.
func (s *Search) rankedPage(ctx context.Context, dst any, got func() int, columns string, part searchPart, branches []search.Branch, where string, args []any, byDate bool, page Page) (int, error) {
	db := s.db.Read
	var from, score string
	var matchArgs, rankArgs []any
	switch {
	case len(branches) == 0:
		from, score = ` FROM `+part.docs+` d WHERE 1 = 1`, `0`
	case s.db.Dialect == sqldb.SQLite:
		// Each language's words carry its code, so one expression matches every article by its
		// own language's rules. bm25 is lower for better matches.
		exprs := make([]string, len(branches))
		for i, b := range branches {
			exprs[i] = b.FTS5()
		}
		from = ` FROM ` + part.fts + ` JOIN ` + part.docs + ` d ON d.doc = ` + part.fts + `.rowid WHERE ` + part.fts + ` MATCH ?`
		matchArgs = []any{strings.Join(exprs, " OR ")}
		score = `bm25(` + part.fts + `, ` + ftsWeights + `)`
	default:
		// One term per language: the articles of that configuration, by the GIN index.
		terms, cases := make([]string, len(branches)), make([]string, len(branches))
		for i, b := range branches {
			cfg := b.Language.Config // one of search.Languages' own names, never user input
			terms[i] = `(d.cfg = '` + cfg + `' AND d.tsv @@ to_tsquery('` + cfg + `'::regconfig, ?))`
			cases[i] = `WHEN '` + cfg + `' THEN to_tsquery('` + cfg + `'::regconfig, ?)`
			matchArgs = append(matchArgs, b.TSQuery())
		}
		rankArgs = matchArgs
		from = ` FROM ` + part.docs + ` d WHERE (` + strings.Join(terms, " OR ") + `)`
		// Negated, so that lower is better on both databases.
		score = `-ts_rank(d.tsv, CASE d.cfg ` + strings.Join(cases, " ") + ` END)`
	}
	order := `score, updated_at DESC, id`
	if byDate {
		order, score, rankArgs = part.dateColumn+` DESC, id`, `0`, nil
	}
	// The matches are ranked in a subquery (FTS5's bm25 cannot be called beside a window
	// function); only the page's rows are joined to their text, in one statement.
	ranked := `SELECT d.id AS id, d.updated_at AS updated_at, d.` + part.dateColumn + ` AS ` + part.dateColumn +
		`, ` + score + ` AS score` + from + where
	if part.dateColumn == "updated_at" {
		ranked = strings.Replace(ranked, `, d.updated_at AS updated_at`, ``, 1)
	}
	cols := columnList(columns)
	for i, c := range cols {
		cols[i] = `t.` + c
	}
	query := `SELECT m.total AS total, ` + strings.Join(cols, ", ") + ` FROM (SELECT id, COUNT(*) OVER () AS total,
		ROW_NUMBER() OVER (ORDER BY ` + order + `) AS rn FROM (` + ranked + `) m0 ORDER BY ` + order + ` LIMIT ? OFFSET ?) m
		JOIN ` + part.docs + ` t ON t.id = m.id ORDER BY m.rn`
	all := append(append(append(append([]any{}, rankArgs...), matchArgs...), args...), page.PerPage, page.offset())
	if err := db.SelectContext(ctx, dst, db.Rebind(query), all...); err != nil {
		return 0, fmt.Errorf("search %s: %w", part.docs, err)
	}
	if got() > 0 || page.Number <= 1 {
		return 0, nil
	}
	// Past the last page, the total still says how many there are.
	var total int
	count := `SELECT COUNT(*)` + from + where
	if err := db.GetContext(ctx, &total, db.Rebind(count), append(append([]any{}, matchArgs...), args...)...); err != nil {
		return 0, fmt.Errorf("search %s: %w", part.docs, err)
	}
	return total, nil
}

// filter adds "AND <term>" with its argument to a WHERE clause.
type filter struct {
	where strings.Builder
	args  []any
}

func (f *filter) add(term string, arg any) {
	f.where.WriteString(" AND " + term)
	f.args = append(f.args, arg)
}

// Desk searches the desk: every article but killed ones, in any state.
func (s *Search) Desk(ctx context.Context, q DeskSearch) (DeskHits, error) {
	var branches []search.Branch
	if q.Query != nil {
		var err error
		if branches, err = q.Query.Branches(languagesOf(q.Language)); err != nil {
			return DeskHits{}, err
		}
	}
	var f filter
	if q.Status != "" {
		f.add(`d.status = ?`, string(q.Status))
	}
	if q.Author != "" {
		f.add(`d.created_by = ?`, q.Author)
	}
	if q.Language != "" {
		f.add(`d.language = ?`, q.Language)
	}
	if !q.UpdatedAfter.IsZero() {
		f.add(`d.updated_at > ?`, sqldb.FormatTime(q.UpdatedAfter))
	}
	if !q.UpdatedBefore.IsZero() {
		f.add(`d.updated_at < ?`, sqldb.FormatTime(q.UpdatedBefore))
	}
	if q.Tag != "" {
		f.add(`d.id IN (SELECT article_id FROM `+deskPart.tags+` WHERE tag = ?)`, q.Tag)
	}
	var rows []deskPageRow
	total, err := s.rankedPage(ctx, &rows, func() int { return len(rows) }, searchDeskColumns, deskPart, branches, f.where.String(), f.args, q.ByDate || q.Query == nil, q.Page)
	if err != nil {
		return DeskHits{}, err
	}
	if len(rows) > 0 {
		total = rows[0].Total
	}
	out := DeskHits{Total: total, Items: make([]DeskHit, 0, len(rows))}
	for _, r := range rows {
		a, err := r.article()
		if err != nil {
			return DeskHits{}, err
		}
		h := highlight(branches, a.Language, a.Headline, a.Summary, r.BodyText)
		a.Body = ""
		out.Items = append(out.Items, DeskHit{Article: a, Highlights: h})
	}
	return out, nil
}

// Public searches what readers may see: published articles, and retraction notices.
func (s *Search) Public(ctx context.Context, q PublicSearch) (PublicHits, error) {
	branches, err := q.Query.Branches(languagesOf(q.Language))
	if err != nil {
		return PublicHits{}, err
	}
	var f filter
	if q.Language != "" {
		f.add(`d.language = ?`, q.Language)
	}
	if q.Tag != "" {
		f.add(`d.id IN (SELECT article_id FROM `+publicPart.tags+` WHERE tag = ?)`, q.Tag)
	}
	var rows []publicPageRow
	total, err := s.rankedPage(ctx, &rows, func() int { return len(rows) }, searchPublicColumns, publicPart, branches, f.where.String(), f.args, q.ByDate, q.Page)
	if err != nil {
		return PublicHits{}, err
	}
	if len(rows) > 0 {
		total = rows[0].Total
	}
	out := PublicHits{Total: total, Items: make([]PublicHit, 0, len(rows))}
	for _, r := range rows {
		a := PublicArticle{ID: r.ID, Status: r.Status, Version: r.Version, Slug: r.Slug, Headline: r.Headline,
			Summary: r.Summary, Language: r.Language, Byline: r.Byline, Dateline: r.Dateline, RetractedReason: r.Retracted}
		if err := json.Unmarshal([]byte(r.Tags), &a.Tags); err != nil {
			return PublicHits{}, fmt.Errorf("article %s: tags: %w", r.ID, err)
		}
		if err := parseTimes(r.ID, []*time.Time{&a.CreatedAt, &a.UpdatedAt, &a.PublishedAt, &a.RetractedAt},
			[]string{r.CreatedAt, r.UpdatedAt, r.PublishedAt, r.RetractedAt}); err != nil {
			return PublicHits{}, err
		}
		summary := r.Summary
		if r.Status == VisibilityRetracted {
			summary = r.Retracted
		}
		out.Items = append(out.Items, PublicHit{Article: a, Highlights: highlight(branches, r.Language, r.Headline, summary, r.Body)})
	}
	return out, nil
}

// highlight marks the words of the branch of the article's language in its headline, and cuts
// a snippet where they are in its body, else its summary, else the beginning of either.
func highlight(branches []search.Branch, language, headline, summary, body string) Highlights {
	lang := search.LanguageOf(language)
	var m search.Matcher
	for _, b := range branches {
		if b.Language == lang {
			m = b.Matcher()
		}
	}
	h := Highlights{Headline: search.Highlight(headline, m)}
	bodySnippet, inBody := search.Snippet(body, m)
	if inBody {
		h.Snippet = bodySnippet
		return h
	}
	if summarySnippet, inSummary := search.Snippet(summary, m); inSummary || body == "" {
		h.Snippet = summarySnippet
	} else {
		h.Snippet = bodySnippet
	}
	return h
}
