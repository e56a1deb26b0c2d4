package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/search"
	"github.com/newsroom/newsroom/sqldb"
)

// Search is the full-text index of the articles: the desk's (every article in any state but
// killed, as the desk shows it) and the public one (only what readers may see: published
// articles, retraction notices; nothing in draft, under embargo or proposed). Each is a table
// of documents with the text a snippet is cut from, and an index of it: on SQLite an FTS5
// table of the words as the search package stems them (terms carry their language's code), on
// PostgreSQL a tsvector column built with the article's language's text search configuration,
// under a GIN index. A kill deletes the article's rows and index entries; FTS5's secure-delete
// and SQLite's secure_delete overwrite them in the files.
type Search struct {
	db *sqldb.DB

	// OnCommit, if set, is told after every commit of this process to the live tables that may
	// have changed what public search finds, as Published.OnCommit is (same rules): public
	// answers are cached, and this view commits apart from the published view.
	OnCommit func(ids []string, checkpoint uint64)
}

// NewSearch returns the search view on db.
func NewSearch(db *sqldb.DB) *Search { return &Search{db: db} }

// Name implements View.
func (*Search) Name() string { return "search" }

// Version implements View.
func (*Search) Version() int { return 1 }

// The view's tables. Their names are permanent (see View.Name).
const (
	searchDesk       = "search_desk"
	searchDeskTags   = "search_desk_tags"
	searchDeskFTS    = "search_desk_fts" // SQLite only
	searchPublic     = "search_public"
	searchPublicTags = "search_public_tags"
	searchPublicFTS  = "search_public_fts" // SQLite only
)

// Tables implements View.
func (s *Search) Tables() []string {
	if s.db.Dialect == sqldb.Postgres {
		return []string{searchDesk, searchDeskTags, searchPublic, searchPublicTags}
	}
	return []string{searchDesk, searchDeskTags, searchDeskFTS, searchPublic, searchPublicTags, searchPublicFTS}
}

// The weights of the fields in the relevance: a word in the headline counts most, then the
// summary and the tags, the byline, the body least. FTS5's bm25 takes them per column, in the
// order of ftsColumns; PostgreSQL's ts_rank by weight class (setweight A, B, C, D).
const (
	ftsColumns = `headline, summary, body, tags, byline`
	ftsWeights = `10.0, 4.0, 1.0, 4.0, 2.0`
)

// Schema implements View.
func (s *Search) Schema(d sqldb.Dialect, t Tables) []string {
	docKey, idKey := `doc INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE`, ``
	if d == sqldb.Postgres {
		// cfg is the text search configuration the tsvector was built with; a query in a
		// language is matched against the articles of that language only.
		docKey, idKey = `doc BIGINT NOT NULL, id TEXT PRIMARY KEY`,
			`, cfg TEXT NOT NULL DEFAULT 'simple', tsv TSVECTOR NOT NULL DEFAULT ''::tsvector`
	}
	ddl := []string{
		// doc is the stream sequence of the article's first event: the same number however the
		// view is built (SQLite's index keys the article by it).
		`CREATE TABLE ` + t.Name(searchDesk) + ` (` + docKey + `,
			version            ` + bigint(d) + ` NOT NULL,
			status             TEXT NOT NULL,
			slug               TEXT NOT NULL DEFAULT '',
			language           TEXT NOT NULL DEFAULT '',
			created_by         TEXT NOT NULL,
			last_revised_by    TEXT NOT NULL,
			created_at         TEXT NOT NULL,
			updated_at         TEXT NOT NULL,
			published_at       TEXT NOT NULL DEFAULT '',
			tags               TEXT NOT NULL DEFAULT '[]',
			pending_correction TEXT NOT NULL DEFAULT '',
			byline             TEXT NOT NULL DEFAULT '',
			dateline           TEXT NOT NULL DEFAULT '',
			-- the text last, as in the other views: a page of results reads the rows' first pages
			headline           TEXT NOT NULL DEFAULT '',
			summary            TEXT NOT NULL DEFAULT '',
			body               TEXT NOT NULL DEFAULT '',
			-- the body as a reader reads it (search.PlainText): what the index holds, and what
			-- snippets are cut from
			body_text          TEXT NOT NULL DEFAULT ''` + idKey + `
		)` + strict(d),
		`CREATE TABLE ` + t.Name(searchDeskTags) + ` (tag TEXT NOT NULL, article_id TEXT NOT NULL, PRIMARY KEY (tag, article_id))` + strict(d),
		`CREATE INDEX ` + t.Index("search_desk_tags_article") + ` ON ` + t.Name(searchDeskTags) + ` (article_id)`,
		// The listing of a search without words, newest change first.
		`CREATE INDEX ` + t.Index("search_desk_updated") + ` ON ` + t.Name(searchDesk) + ` (updated_at DESC, id)`,
		// body is the plain text a reader reads (search.PlainText), not the Markdown.
		`CREATE TABLE ` + t.Name(searchPublic) + ` (` + docKey + `,
			version          ` + bigint(d) + ` NOT NULL,
			status           TEXT NOT NULL,
			slug             TEXT NOT NULL,
			language         TEXT NOT NULL DEFAULT '',
			byline           TEXT NOT NULL DEFAULT '',
			dateline         TEXT NOT NULL DEFAULT '',
			tags             TEXT NOT NULL DEFAULT '[]',
			created_at       TEXT NOT NULL,
			updated_at       TEXT NOT NULL,
			published_at     TEXT NOT NULL,
			retracted_reason TEXT NOT NULL DEFAULT '',
			retracted_at     TEXT NOT NULL DEFAULT '',
			headline         TEXT NOT NULL DEFAULT '',
			summary          TEXT NOT NULL DEFAULT '',
			body             TEXT NOT NULL DEFAULT ''` + idKey + `
		)` + strict(d),
		`CREATE TABLE ` + t.Name(searchPublicTags) + ` (tag TEXT NOT NULL, article_id TEXT NOT NULL, PRIMARY KEY (tag, article_id))` + strict(d),
		`CREATE INDEX ` + t.Index("search_public_tags_article") + ` ON ` + t.Name(searchPublicTags) + ` (article_id)`,
	}
	if d == sqldb.Postgres {
		return append(ddl,
			`CREATE INDEX `+t.Index("search_desk_tsv")+` ON `+t.Name(searchDesk)+` USING GIN (tsv)`,
			`CREATE INDEX `+t.Index("search_public_tsv")+` ON `+t.Name(searchPublic)+` USING GIN (tsv)`)
	}
	for _, fts := range []string{searchDeskFTS, searchPublicFTS} {
		// Contentless: the text is in the documents' table already. Terms are written by the
		// search package, so the tokenizer only splits them at the spaces. A document leaves
		// by FTS5's 'delete' command, given the terms it was indexed with (made again from the
		// stored text), which with secure-delete removes its entries from the index's pages;
		// contentless_delete=1 would only mark it deleted, leaving its words in the file until
		// a merge.
		ddl = append(ddl,
			`CREATE VIRTUAL TABLE `+t.Name(fts)+` USING fts5(`+ftsColumns+`, content='',
				tokenize='unicode61 remove_diacritics 0')`,
			`INSERT INTO `+t.Name(fts)+` (`+t.Name(fts)+`, rank) VALUES ('secure-delete', 1)`)
	}
	return ddl
}

// searchDeskRow is a row of search_desk: the desk's row, keyed by doc too.
type searchDeskRow struct {
	Doc int64 `db:"doc"`
	deskRow
	BodyText string `db:"body_text"`
}

const searchDeskColumns = `doc, ` + deskColumns + `, body_text`

// searchPublicRow is a row of search_public.
type searchPublicRow struct {
	Doc         int64  `db:"doc"`
	ID          string `db:"id"`
	Version     int    `db:"version"`
	Status      string `db:"status"`
	Slug        string `db:"slug"`
	Language    string `db:"language"`
	Byline      string `db:"byline"`
	Dateline    string `db:"dateline"`
	Tags        string `db:"tags"`
	CreatedAt   string `db:"created_at"`
	UpdatedAt   string `db:"updated_at"`
	PublishedAt string `db:"published_at"`
	Retracted   string `db:"retracted_reason"`
	RetractedAt string `db:"retracted_at"`
	Headline    string `db:"headline"`
	Summary     string `db:"summary"`
	Body        string `db:"body"`
}

const searchPublicColumns = `doc, id, version, status, slug, language, byline, dateline, tags, created_at,
	updated_at, published_at, retracted_reason, retracted_at, headline, summary, body`

var (
	searchDeskUpsert = sqldb.Bulk{Table: "{search_desk}", Columns: columnList(searchDeskColumns),
		Tail: `ON CONFLICT (id) DO UPDATE SET version = excluded.version, status = excluded.status,
		slug = excluded.slug, headline = excluded.headline, summary = excluded.summary, body = excluded.body,
		language = excluded.language, byline = excluded.byline, dateline = excluded.dateline,
		tags = excluded.tags, last_revised_by = excluded.last_revised_by, updated_at = excluded.updated_at,
		published_at = excluded.published_at, pending_correction = excluded.pending_correction,
		body_text = excluded.body_text`}
	searchPublicUpsert = sqldb.Bulk{Table: "{search_public}", Columns: columnList(searchPublicColumns),
		Tail: `ON CONFLICT (id) DO UPDATE SET version = excluded.version, status = excluded.status,
		slug = excluded.slug, language = excluded.language, byline = excluded.byline, dateline = excluded.dateline,
		tags = excluded.tags, created_at = excluded.created_at, updated_at = excluded.updated_at,
		published_at = excluded.published_at, retracted_reason = excluded.retracted_reason,
		retracted_at = excluded.retracted_at, headline = excluded.headline, summary = excluded.summary,
		body = excluded.body`}
)

// indexed is the text of one document as its index holds it, and its language.
type indexed struct {
	language                              string
	headline, summary, body, tags, byline string // body: plain text
}

func (x indexed) lang() *search.Language { return search.LanguageOf(x.language) }

// searchState is one article of a batch as the search view folds it in memory.
type searchState struct {
	doc int64

	desk       domain.Article
	deskExists bool
	deskBefore indexed // as loaded; compared to decide whether to index again
	deskBody   string  // the Markdown body as loaded, whose plain text deskBefore.body is
	deskTags   []string

	public       searchPublicRow // Status "" while nothing is public
	publicExists bool
	publicBefore indexed
	publicTags   []string
}

// Apply implements View: each article of the batch is loaded once, folded in memory, and
// written once; its index entries are rewritten only when its text changed.
func (s *Search) Apply(ctx context.Context, tx *sqlx.Tx, t Tables, batch []events.Envelope) error {
	ids := articleIDs(batch)
	var deskRows []searchDeskRow
	if err := selectIn(ctx, tx, t, `SELECT `+searchDeskColumns+` FROM {search_desk} WHERE id IN (?)`, ids, &deskRows); err != nil {
		return err
	}
	var publicRows []searchPublicRow
	if err := selectIn(ctx, tx, t, `SELECT `+searchPublicColumns+` FROM {search_public} WHERE id IN (?)`, ids, &publicRows); err != nil {
		return err
	}
	state := make(map[string]*searchState, len(ids))
	for _, r := range deskRows {
		a, err := r.article()
		if err != nil {
			return err
		}
		st := &searchState{doc: r.Doc, desk: a, deskExists: true, deskTags: dedupe(a.Tags), deskBody: a.Body}
		st.deskBefore = deskIndexed(a, r.BodyText)
		state[a.ID] = st
	}
	for _, r := range publicRows {
		st := state[r.ID]
		if st == nil { // a public row outlives its desk row only if a bug left it there
			return fmt.Errorf("search: public article %s has no desk row", r.ID)
		}
		var tags []string
		if err := json.Unmarshal([]byte(r.Tags), &tags); err != nil {
			return fmt.Errorf("article %s: tags: %w", r.ID, err)
		}
		st.public, st.publicExists, st.publicTags = r, true, dedupe(tags)
		st.publicBefore = publicIndexed(r)
	}
	for _, env := range batch {
		r, err := env.Recorded()
		if err != nil {
			return err
		}
		st := state[env.ArticleID]
		if st == nil {
			st = &searchState{doc: int64(env.Sequence), desk: domain.Article{ID: env.ArticleID}}
			state[env.ArticleID] = st
		}
		if err := nextVersion(st.desk.Version, env); err != nil {
			return err
		}
		st.desk = domain.Evolve(st.desk, r)
		st.public.Version = env.ArticleVersion
		foldPublic(&st.public, r)
	}
	return s.write(ctx, tx, t, ids, state)
}

// foldPublic folds one event into what readers may see of the article: only public events
// (domain.AudienceOf) show text; a kill removes everything.
func foldPublic(p *searchPublicRow, r domain.Recorded) {
	at := sqldb.FormatTime(r.At)
	show := func(slug string, publishedAt string, headline, summary, body, language, byline, dateline string, tags []string) {
		encoded, _ := json.Marshal(nonNil(tags))
		p.Status, p.Slug, p.PublishedAt, p.UpdatedAt = VisibilityPublished, slug, publishedAt, at
		p.Headline, p.Summary, p.Body, p.Language = headline, summary, search.PlainText(body), language
		p.Byline, p.Dateline, p.Tags = byline, dateline, string(encoded)
		p.Retracted, p.RetractedAt = "", ""
	}
	if domain.AudienceOf(r.Event) != domain.Public {
		if _, ok := r.Event.(domain.Killed); ok {
			p.Status = VisibilityKilled
		}
		return
	}
	switch e := r.Event.(type) {
	case domain.Published:
		show(e.Slug, sqldb.FormatTime(e.PublishedAt), e.Headline, e.Summary, e.Body, e.Language, e.Byline, e.Dateline, e.Tags)
	case domain.EmbargoLifted:
		show(e.Slug, sqldb.FormatTime(e.PublishedAt), e.Headline, e.Summary, e.Body, e.Language, e.Byline, e.Dateline, e.Tags)
	case domain.Corrected:
		show(e.Slug, sqldb.FormatTime(e.PublishedAt), e.Headline, e.Summary, e.Body, e.Language, e.Byline, e.Dateline, e.Tags)
	case domain.Retracted:
		if p.Status == VisibilityPublished {
			// The notice keeps the headline and says why; the text leaves the index.
			p.Status, p.Summary, p.Body, p.Retracted, p.RetractedAt, p.UpdatedAt = VisibilityRetracted, "", "", e.Reason, at, at
		}
	case domain.Killed:
		p.Status = VisibilityKilled
	}
}

func deskIndexed(a domain.Article, plainBody string) indexed {
	if plainBody == "" && a.Body != "" {
		plainBody = search.PlainText(a.Body)
	}
	return indexed{language: a.Language, headline: a.Headline, summary: a.Summary, body: plainBody,
		tags: strings.Join(a.Tags, "\n"), byline: a.Byline}
}

func publicIndexed(r searchPublicRow) indexed {
	var tags []string
	_ = json.Unmarshal([]byte(r.Tags), &tags)
	// The reason of a retraction is part of the notice readers read: it is found too.
	summary := r.Summary
	if r.Retracted != "" {
		summary = r.Retracted
	}
	return indexed{language: r.Language, headline: r.Headline, summary: summary, body: r.Body,
		tags: strings.Join(tags, "\n"), byline: r.Byline}
}

// searchWrites collects what a batch writes, table by table.
type searchWrites struct {
	deskRows, publicRows     []any
	deskGone, publicGone     []searchDoc // rows to delete (kills), with what they were indexed with
	deskIndex, publicIndex   []searchDoc // documents to index (again)
	deskTags, publicTags     tagWrites
	deskUnindex, publicUnidx []searchDoc // SQLite: documents whose old index entries go
}

type searchDoc struct {
	id  string
	doc int64
	indexed
}

func (st *searchState) deskDoc() searchDoc { return searchDoc{st.desk.ID, st.doc, st.deskBefore} }
func (st *searchState) publicDoc() searchDoc {
	return searchDoc{st.public.ID, st.doc, st.publicBefore}
}

type tagWrites struct {
	add    []any // tag, article_id
	remove [][2]string
}

func (w *tagWrites) diff(id string, before, now []string) {
	added, removed := diffTags(before, now)
	for _, tag := range added {
		w.add = append(w.add, tag, id)
	}
	for _, tag := range removed {
		w.remove = append(w.remove, [2]string{tag, id})
	}
}

func (s *Search) write(ctx context.Context, tx *sqlx.Tx, t Tables, ids []string, state map[string]*searchState) error {
	var w searchWrites
	for _, id := range ids {
		st := state[id]
		a := st.desk
		if a.Status == domain.StatusKilled {
			if st.deskExists {
				w.deskGone = append(w.deskGone, st.deskDoc())
			}
			if st.publicExists {
				w.publicGone = append(w.publicGone, st.publicDoc())
			}
			continue
		}
		r := deskRowFrom(a)
		plain := ""
		if st.deskExists && a.Body == st.deskBody {
			plain = st.deskBefore.body // the body did not change: neither did its plain text
		}
		now := deskIndexed(a, plain)
		w.deskRows = append(w.deskRows, st.doc, r.ID, r.Version, r.Status, r.Slug, r.Headline, r.Summary, r.Body,
			r.Language, r.Byline, r.Dateline, r.Tags, r.CreatedBy, r.LastRevisedBy, r.CreatedAt, r.UpdatedAt,
			r.PublishedAt, r.PendingCorrection, now.body)
		if !st.deskExists || now != st.deskBefore {
			w.deskIndex = append(w.deskIndex, searchDoc{id, st.doc, now})
			if st.deskExists {
				w.deskUnindex = append(w.deskUnindex, st.deskDoc())
			}
			w.deskTags.diff(id, st.deskTags, dedupe(a.Tags))
		}

		p := &st.public
		if p.Status != VisibilityPublished && p.Status != VisibilityRetracted {
			continue
		}
		p.Doc, p.ID, p.CreatedAt = st.doc, id, sqldb.FormatTime(a.CreatedAt)
		w.publicRows = append(w.publicRows, p.Doc, p.ID, p.Version, p.Status, p.Slug, p.Language, p.Byline,
			p.Dateline, p.Tags, p.CreatedAt, p.UpdatedAt, p.PublishedAt, p.Retracted, p.RetractedAt,
			p.Headline, p.Summary, p.Body)
		now = publicIndexed(*p)
		if !st.publicExists || now != st.publicBefore {
			w.publicIndex = append(w.publicIndex, searchDoc{id, st.doc, now})
			if st.publicExists {
				w.publicUnidx = append(w.publicUnidx, st.publicDoc())
			}
			var tags []string
			if err := json.Unmarshal([]byte(p.Tags), &tags); err != nil {
				return fmt.Errorf("article %s: tags: %w", id, err)
			}
			w.publicTags.diff(id, st.publicTags, dedupe(tags))
		}
	}
	for _, part := range []struct {
		docs, tags, fts string
		upsert          sqldb.Bulk
		rows            []any
		gone            []searchDoc
		index           []searchDoc
		unindex         []searchDoc
		tagWrites       tagWrites
	}{
		{searchDesk, searchDeskTags, searchDeskFTS, searchDeskUpsert, w.deskRows, w.deskGone, w.deskIndex, w.deskUnindex, w.deskTags},
		{searchPublic, searchPublicTags, searchPublicFTS, searchPublicUpsert, w.publicRows, w.publicGone, w.publicIndex, w.publicUnidx, w.publicTags},
	} {
		for _, g := range part.gone {
			for _, q := range []string{`DELETE FROM ` + t.Name(part.docs) + ` WHERE id = ?`, `DELETE FROM ` + t.Name(part.tags) + ` WHERE article_id = ?`} {
				if _, err := tx.ExecContext(ctx, tx.Rebind(q), g.id); err != nil {
					return fmt.Errorf("search: delete %s: %w", g.id, err)
				}
			}
		}
		if err := t.bulk(part.upsert).Exec(ctx, tx, part.rows); err != nil {
			return err
		}
		for _, rm := range part.tagWrites.remove {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM `+t.Name(part.tags)+` WHERE tag = ? AND article_id = ?`), rm[0], rm[1]); err != nil {
				return err
			}
		}
		if err := t.bulk(sqldb.Bulk{Table: t.Name(part.tags), Columns: []string{"tag", "article_id"}}).Exec(ctx, tx, part.tagWrites.add); err != nil {
			return err
		}
		if s.db.Dialect == sqldb.Postgres {
			if err := reindexPostgres(ctx, tx, t.Name(part.docs), part.index); err != nil {
				return err
			}
			continue
		}
		if err := reindexFTS5(ctx, tx, t.Name(part.fts), append(part.unindex, part.gone...), part.index); err != nil {
			return err
		}
	}
	return nil
}

// reindexFTS5 deletes the index entries of the documents unindex holds (as they were
// indexed), then indexes docs.
func reindexFTS5(ctx context.Context, tx *sqlx.Tx, fts string, unindex, docs []searchDoc) error {
	terms := func(args []any, d searchDoc) []any {
		l := d.lang()
		return append(args, d.doc, l.IndexText(d.headline), l.IndexText(d.summary), l.IndexText(d.body),
			l.IndexText(d.tags), l.IndexText(d.byline))
	}
	deletes := make([]any, 0, len(unindex)*7)
	for _, d := range unindex {
		deletes = terms(append(deletes, "delete"), d)
	}
	columns := append([]string{"rowid"}, columnList(ftsColumns)...)
	if err := (sqldb.Bulk{Table: fts, Columns: append([]string{fts}, columns...)}).Exec(ctx, tx, deletes); err != nil {
		return fmt.Errorf("search: unindex: %w", err)
	}
	inserts := make([]any, 0, len(docs)*6)
	for _, d := range docs {
		inserts = terms(inserts, d)
	}
	return sqldb.Bulk{Table: fts, Columns: columns}.Exec(ctx, tx, inserts)
}

// reindexPostgres builds the tsvector of docs, whose rows are written, with each one's
// language's configuration, from its folded words (search.FoldedWords: the same words SQLite
// indexes), weighted by field.
func reindexPostgres(ctx context.Context, tx *sqlx.Tx, table string, docs []searchDoc) error {
	const cols = 7
	for start := 0; start < len(docs); start += 256 {
		part := docs[start:min(start+256, len(docs))]
		var values strings.Builder
		args := make([]any, 0, len(part)*cols)
		for i, d := range part {
			if i > 0 {
				values.WriteString(", ")
			}
			values.WriteString("(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")")
			args = append(args, d.id, d.lang().Config, search.FoldedWords(d.headline), search.FoldedWords(d.summary),
				search.FoldedWords(d.tags), search.FoldedWords(d.byline), search.FoldedWords(d.body))
		}
		q := `UPDATE ` + table + ` AS d SET cfg = v.cfg,
			tsv = setweight(to_tsvector(v.cfg::regconfig, v.h), 'A') || setweight(to_tsvector(v.cfg::regconfig, v.s), 'B') ||
				setweight(to_tsvector(v.cfg::regconfig, v.t), 'B') || setweight(to_tsvector(v.cfg::regconfig, v.y), 'C') ||
				setweight(to_tsvector(v.cfg::regconfig, v.b), 'D')
			FROM (VALUES ` + values.String() + `) AS v(id, cfg, h, s, t, y, b) WHERE d.id = v.id`
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return fmt.Errorf("search: index: %w", err)
		}
	}
	return nil
}

func (s *Search) committed(batch []events.Envelope) {
	if s.OnCommit == nil {
		return
	}
	if batch == nil {
		s.OnCommit(nil, 0)
		return
	}
	var ids []string
	seen := map[string]bool{}
	for _, env := range batch {
		if domain.IsPublic(env.Type) && !seen[env.ArticleID] {
			seen[env.ArticleID] = true
			ids = append(ids, env.ArticleID)
		}
	}
	if len(ids) > 0 {
		s.OnCommit(ids, batch[len(batch)-1].Sequence)
	}
}
