package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/sqldb"
)

// Visibility of an article in the public model.
const (
	VisibilityUnpublished = "unpublished"
	VisibilityPublished   = "published"
	VisibilityRetracted   = "retracted" // a notice at the article's URL: headline and reason
	VisibilityKilled      = "killed"    // gone for legal reasons: no text, only the slug's digest
)

var (
	// ErrNotPublic: no published article has that slug.
	ErrNotPublic = errors.New("no published article with that slug")
	// ErrKilled: the article that had that slug was killed; it is gone for good.
	ErrKilled = errors.New("the article with that slug was withdrawn for legal reasons")
)

// Published is the public model: what readers may see of published articles. Every article has
// a row from its draft on (so that versions can be checked), but no text reaches it before the
// article is published: drafts and reviews never enter the public model.
type Published struct {
	db *sqldb.DB

	// OnCommit, if set, is told after every commit of this process to the live tables that may
	// have changed what readers see: the ids of the articles whose public events (publication,
	// correction, retraction, kill) it applied and of their translation sets (the other language
	// versions list them), and the checkpoint it reached; nil ids after a
	// rebuild swapped new tables in (anything may have changed). It is called after the commit,
	// never before (a cache refilled between the two would keep the old rows), before a kill's
	// text is scrubbed from the files, and on the view's own goroutine: it must not block. Set
	// it before the view runs.
	OnCommit func(ids []string, checkpoint uint64)
}

func (p *Published) committed(batch []events.Envelope) {
	if p.OnCommit == nil {
		return
	}
	if batch == nil {
		p.OnCommit(nil, 0)
		return
	}
	var ids []string
	seen := map[string]bool{}
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, env := range batch {
		if !domain.IsPublic(env.Type) {
			continue
		}
		r, err := env.Recorded()
		// Not even the id of an article under embargo leaves the view before the lift.
		if err == nil && domain.AudienceOf(r.Event) != domain.Public {
			continue
		}
		add(env.ArticleID)
		// The other language versions list this one: their answers change too. The envelopes
		// were decoded to be applied: this reads them again from memory.
		if err == nil {
			add(domain.TranslationSetOf(env.ArticleID, r.Event))
		}
	}
	if len(ids) > 0 {
		p.OnCommit(ids, batch[len(batch)-1].Sequence)
	}
}

// NewPublished returns the published view on db.
func NewPublished(db *sqldb.DB) *Published { return &Published{db: db} }

// Name implements View.
func (*Published) Name() string { return "published" }

// Version implements View. 2: public_tags got an index on article_id (a rebuild rewrote every
// article's tags with a full scan of the table per article). 3: killed articles keep only
// slug_sha256, so that their old URL answers "gone" without the slug. 4: listings read pages
// from indexes in their own order (public_articles.listed, public_tags.published_at) and their
// totals from public_counts; the text columns come last. 5: an article published under embargo
// enters the public model at the lift of its embargo, and one retracted or killed under embargo
// never does.
// 6: each article's translation set (set_id), in the listings' indexes too, so that a feed's
// ETag covers its entries' translations.
// 7: each article's images (media, and public_media while it is published).
func (*Published) Version() int { return 7 }

// Tables implements View.
func (*Published) Tables() []string {
	return []string{"public_articles", "public_corrections", "public_tags", publicCounts.table, "public_media"}
}

// Schema implements View.
func (*Published) Schema(d sqldb.Dialect, t Tables) []string {
	articles, corrections, tags := t.Name("public_articles"), t.Name("public_corrections"), t.Name("public_tags")
	return append([]string{
		`CREATE TABLE ` + articles + ` (
			id               TEXT    PRIMARY KEY,
			version          ` + bigint(d) + ` NOT NULL,
			status           TEXT    NOT NULL,
			slug             TEXT    NOT NULL DEFAULT '',
			headline         TEXT    NOT NULL DEFAULT '',
			summary          TEXT    NOT NULL DEFAULT '',
			language         TEXT    NOT NULL DEFAULT '',
			byline           TEXT    NOT NULL DEFAULT '',
			dateline         TEXT    NOT NULL DEFAULT '',
			tags             TEXT    NOT NULL DEFAULT '[]',
			created_at       TEXT    NOT NULL,
			updated_at       TEXT    NOT NULL,
			published_at     TEXT    NOT NULL DEFAULT '',
			retracted_reason TEXT    NOT NULL DEFAULT '',
			retracted_at     TEXT    NOT NULL DEFAULT '',
			slug_sha256      TEXT    NOT NULL DEFAULT '',
			set_id           TEXT    NOT NULL DEFAULT '',
			-- The article's images as JSON ([{id, role, caption}]): empty unless published.
			media            TEXT    NOT NULL DEFAULT '[]',
			-- In the public list and the feeds (see listed): one equality, so that a listing
			-- walks one index range in its own order. Computed, so that no write path can
			-- forget it.
			listed           INTEGER GENERATED ALWAYS AS (CASE WHEN status IN ('` + VisibilityPublished + `', '` +
			VisibilityRetracted + `') THEN 1 ELSE 0 END) STORED,
			-- The text comes last: SQLite stores a row's columns in this order and spills what
			-- does not fit its page into a chain of overflow pages; a listing, which reads
			-- every column but these, reads at most the chain's first page, not all of it.
			body             TEXT    NOT NULL DEFAULT '',
			body_html        TEXT    NOT NULL DEFAULT ''
		)` + strict(d),
		// The listings' order (published_at DESC, id ASC), and version and set_id, so that the
		// feeds' ETags are read from the index alone.
		`CREATE INDEX ` + t.Index("public_articles_list") + ` ON ` + articles + ` (listed, published_at DESC, id, version, set_id)`,
		`CREATE INDEX ` + t.Index("public_articles_language_list") + ` ON ` + articles + ` (language, listed, published_at DESC, id, version, set_id)`,
		`CREATE INDEX ` + t.Index("public_articles_set") + ` ON ` + articles + ` (set_id)`,
		`CREATE INDEX ` + t.Index("public_articles_slug") + ` ON ` + articles + ` (slug)`,
		`CREATE INDEX ` + t.Index("public_articles_slug_sha256") + ` ON ` + articles + ` (slug_sha256)`,
		`CREATE TABLE ` + corrections + ` (
			article_id   TEXT    NOT NULL,
			version      ` + bigint(d) + ` NOT NULL,
			note         TEXT    NOT NULL,
			corrected_at TEXT    NOT NULL,
			PRIMARY KEY (article_id, version)
		)` + strict(d),
		// Only listed articles have tags here (a kill deletes them); published_at is their
		// article's, so that a tag's listing is one index range in the listing's order.
		`CREATE TABLE ` + tags + ` (
			tag          TEXT NOT NULL,
			article_id   TEXT NOT NULL,
			published_at TEXT NOT NULL,
			PRIMARY KEY (tag, article_id)
		)` + strict(d),
		`CREATE INDEX ` + t.Index("public_tags_article") + ` ON ` + tags + ` (article_id)`,
		`CREATE INDEX ` + t.Index("public_tags_list") + ` ON ` + tags + ` (tag, published_at DESC, article_id)`,
		publicCounts.schema(d, t),
		// The images of the articles readers may read now (published: not retracted, killed or
		// under embargo), by image: whether an image is public (IsPublicMedia).
	}, mediaRefsSchema(d, t, "public_media")...)
}

// publicState is one article of a batch as the published view folds it in memory.
type publicState struct {
	row         publicRow
	exists      bool     // a row is in the table already
	oldTags     []string // its rows in public_tags before the batch
	tags        []string // the public tags, when textChanged
	textChanged bool     // body_html and the tags need writing
	corrections []correctionRow
	killed      bool              // earlier corrections are to be deleted
	oldMedia    []domain.MediaRef // its rows in public_media before the batch
}

type correctionRow struct {
	version int
	note    string
	at      string
}

// Apply implements View: each article of the batch is loaded once, folded in memory, and
// written once, its Markdown rendered once.
func (p *Published) Apply(ctx context.Context, tx *sqlx.Tx, t Tables, batch []events.Envelope) error {
	ids := articleIDs(batch)
	var rows []publicRow
	if err := selectIn(ctx, tx, t, `SELECT `+publicColumns+` FROM {public_articles} WHERE id IN (?)`, ids, &rows); err != nil {
		return err
	}
	media, err := loadMedia(ctx, tx, t, "public_media", ids)
	if err != nil {
		return err
	}
	state := make(map[string]*publicState, len(ids))
	counts := countDeltas{}
	for _, r := range rows {
		s := &publicState{row: r, exists: true, oldMedia: media[r.ID]}
		// public_tags holds exactly the deduplicated tags of the row's tags column: both are
		// written together, from the same event.
		if err := json.Unmarshal([]byte(r.Tags), &s.oldTags); err != nil {
			return fmt.Errorf("article %s: tags: %w", r.ID, err)
		}
		s.oldTags = dedupe(s.oldTags)
		state[r.ID] = s
		if err := countPublic(counts, r, -1); err != nil {
			return err
		}
	}
	for _, env := range batch {
		r, err := env.Recorded()
		if err != nil {
			return err
		}
		s := state[env.ArticleID]
		if s == nil {
			s = &publicState{row: publicRow{ID: env.ArticleID, Tags: "[]", Media: "[]"}}
			state[env.ArticleID] = s
		}
		if err := nextVersion(s.row.Version, env); err != nil {
			return err
		}
		s.apply(env, r)
	}
	for _, id := range ids {
		if err := countPublic(counts, state[id].row, +1); err != nil {
			return err
		}
	}
	if err := publicCounts.write(ctx, tx, t, counts); err != nil {
		return err
	}
	return p.write(ctx, tx, t, ids, state)
}

// apply folds one event into the article's public state.
func (s *publicState) apply(env events.Envelope, r domain.Recorded) {
	at := sqldb.FormatTime(r.At)
	row := &s.row
	row.Version = env.ArticleVersion
	show := func(slug string, publishedAt time.Time, headline, summary, body, language, byline, dateline string, tags []string, media []domain.MediaRef) {
		row.Status, row.Slug, row.PublishedAt = VisibilityPublished, slug, sqldb.FormatTime(publishedAt)
		row.Media = encodeMedia(media)
		row.Headline, row.Summary, row.Body, row.Language = headline, summary, body, language
		row.Byline, row.Dateline, row.UpdatedAt = byline, dateline, at
		encoded, _ := json.Marshal(nonNil(tags))
		row.Tags, s.tags, s.textChanged = string(encoded), tags, true
	}
	if set := domain.TranslationSetOf(env.ArticleID, r.Event); set != "" {
		row.SetID = set
	}
	if domain.AudienceOf(r.Event) == domain.Embargoed {
		// Trusted subscribers alone learn of it: the public model stays as if the article did
		// not exist, and a retraction or kill under embargo leaves it so for good (not found,
		// never gone).
		if k, killed := r.Event.(domain.Killed); killed && row.CreatedAt == "" {
			// Its earlier events were erased before this view saw them.
			row.Status, row.CreatedAt, row.UpdatedAt = VisibilityUnpublished, sqldb.FormatTime(k.CreatedAt), at
		}
		return
	}
	switch e := r.Event.(type) {
	case domain.Drafted:
		row.Status, row.CreatedAt, row.UpdatedAt = VisibilityUnpublished, at, at
	case domain.EmbargoLifted:
		// The public's first news of it: published_at is the lift. Corrections made under
		// embargo are not the public's to see; the text is the corrected one.
		show(e.Slug, e.PublishedAt, e.Headline, e.Summary, e.Body, e.Language, e.Byline, e.Dateline, e.Tags, e.Media)
	case domain.Published:
		show(e.Slug, e.PublishedAt, e.Headline, e.Summary, e.Body, e.Language, e.Byline, e.Dateline, e.Tags, e.Media)
	case domain.Corrected:
		show(e.Slug, e.PublishedAt, e.Headline, e.Summary, e.Body, e.Language, e.Byline, e.Dateline, e.Tags, e.Media)
		s.corrections = append(s.corrections, correctionRow{version: env.ArticleVersion, note: e.Note, at: at})
	case domain.Retracted:
		// The notice keeps the headline and says why; the text leaves the public model.
		row.Status, row.Summary, row.Body, row.BodyHTML, row.Media = VisibilityRetracted, "", "", "", "[]"
		row.Retracted, row.RetractedAt, row.UpdatedAt = e.Reason, at, at
		// A pending textChanged stays: its tags are still to be written (the body renders empty).
	case domain.Killed:
		// Nothing of the text stays: not the headline, not the slug, not the notes.
		*row = publicRow{ID: row.ID, Version: row.Version, Status: VisibilityKilled, Tags: "[]", Media: "[]",
			CreatedAt: row.CreatedAt, UpdatedAt: at, SlugDigest: e.SlugDigest, SetID: row.SetID}
		if row.CreatedAt == "" { // the earlier events were erased before this view saw them
			row.CreatedAt = sqldb.FormatTime(e.CreatedAt)
		}
		s.tags, s.textChanged, s.corrections, s.killed = nil, true, nil, true
	}
	// Desk work (revisions, reviews, spikes) changes nothing public but the version.
}

// write writes the batch's final state of each article: the rows in bulk, each body rendered
// once, and the tags and corrections that changed.
func (p *Published) write(ctx context.Context, tx *sqlx.Tx, t Tables, ids []string, state map[string]*publicState) error {
	articles := make([]any, 0, len(ids)*len(publicUpsert.Columns))
	var corrections, addTags []any
	var err error
	changedMedia := map[string][]domain.MediaRef{}
	for _, id := range ids {
		s := state[id]
		r := &s.row
		if r.Media == "" {
			r.Media = "[]" // a row written before the view had images
		}
		var shown []domain.MediaRef
		if r.Status == VisibilityPublished {
			if shown, err = decodeMedia(r.ID, r.Media); err != nil {
				return err
			}
		}
		if !domain.SameMedia(s.oldMedia, shown) {
			changedMedia[id] = shown
		}
		if s.textChanged {
			if r.BodyHTML, err = RenderMarkdown(r.Body); err != nil {
				return err
			}
		}
		articles = append(articles, r.ID, r.Status, r.Version, r.Slug, r.Headline, r.Summary, r.Body,
			r.BodyHTML, r.Language, r.Byline, r.Dateline, r.Tags, r.CreatedAt, r.UpdatedAt, r.PublishedAt,
			r.Retracted, r.RetractedAt, r.SlugDigest, r.SetID, r.Media)
		if s.killed && s.exists {
			if _, err := tx.ExecContext(ctx, t.SQL(tx, `DELETE FROM {public_corrections} WHERE article_id = ?`), id); err != nil {
				return err
			}
		}
		for _, c := range s.corrections {
			corrections = append(corrections, id, c.version, c.note, c.at)
		}
		if s.textChanged {
			// Only the difference is written, by primary key: a rebuild creates the index on
			// article_id after its long pass, and most corrections keep the tags.
			added, removed := diffTags(s.oldTags, dedupe(s.tags))
			for _, tag := range removed {
				if _, err := tx.ExecContext(ctx, t.SQL(tx, `DELETE FROM {public_tags} WHERE tag = ? AND article_id = ?`), tag, id); err != nil {
					return err
				}
			}
			for _, tag := range added {
				addTags = append(addTags, tag, id, r.PublishedAt)
			}
		}
	}
	if err := t.bulk(publicUpsert).Exec(ctx, tx, articles); err != nil {
		return err
	}
	if err := t.bulk(correctionInsert).Exec(ctx, tx, corrections); err != nil {
		return err
	}
	if err := writeMedia(ctx, tx, t, "public_media", changedMedia); err != nil {
		return err
	}
	return t.bulk(tagInsert).Exec(ctx, tx, addTags)
}

var (
	publicUpsert = sqldb.Bulk{Table: "{public_articles}", Columns: columnList(publicColumns),
		Tail: `ON CONFLICT (id) DO UPDATE SET status = excluded.status, version = excluded.version,
		slug = excluded.slug, headline = excluded.headline, summary = excluded.summary, body = excluded.body,
		body_html = excluded.body_html, language = excluded.language, byline = excluded.byline,
		dateline = excluded.dateline, tags = excluded.tags, updated_at = excluded.updated_at,
		published_at = excluded.published_at, retracted_reason = excluded.retracted_reason,
		retracted_at = excluded.retracted_at, slug_sha256 = excluded.slug_sha256, set_id = excluded.set_id,
		media = excluded.media`}
	correctionInsert = sqldb.Bulk{Table: "{public_corrections}", Columns: []string{"article_id", "version", "note", "corrected_at"}}
	tagInsert        = sqldb.Bulk{Table: "{public_tags}", Columns: []string{"tag", "article_id", "published_at"}}
)

// diffTags says which tags of now were not in before, and which of before are not in now.
func diffTags(before, now []string) (added, removed []string) {
	for _, tag := range now {
		if !slices.Contains(before, tag) {
			added = append(added, tag)
		}
	}
	for _, tag := range before {
		if !slices.Contains(now, tag) {
			removed = append(removed, tag)
		}
	}
	return added, removed
}

func dedupe(tags []string) []string {
	seen := make(map[string]bool, len(tags))
	out := tags[:0:0]
	for _, t := range tags {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// PublicArticle is a published article as readers see it.
type PublicArticle struct {
	ID          string
	Status      string // VisibilityPublished or VisibilityRetracted
	Version     int
	Slug        string
	Headline    string
	Summary     string
	Body        string
	BodyHTML    string
	Language    string
	Byline      string
	Dateline    string
	Tags        []string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	PublishedAt time.Time

	Corrections     []domain.Correction // oldest first
	RetractedReason string
	RetractedAt     time.Time

	// SetID is the article's translation set: its original's id, or its own.
	SetID string
	// Translations are the other published language versions of the article: BySlug reads
	// them; listings leave them out (see Translations).
	Translations []Translation
	// Media are the images of a published article (none once retracted or killed).
	Media []domain.MediaRef
}

type publicRow struct {
	ID          string `db:"id"`
	Status      string `db:"status"`
	Retracted   string `db:"retracted_reason"`
	RetractedAt string `db:"retracted_at"`
	Version     int    `db:"version"`
	Slug        string `db:"slug"`
	Headline    string `db:"headline"`
	Summary     string `db:"summary"`
	Body        string `db:"body"`
	BodyHTML    string `db:"body_html"`
	Language    string `db:"language"`
	Byline      string `db:"byline"`
	Dateline    string `db:"dateline"`
	Tags        string `db:"tags"`
	CreatedAt   string `db:"created_at"`
	UpdatedAt   string `db:"updated_at"`
	PublishedAt string `db:"published_at"`
	SlugDigest  string `db:"slug_sha256"`
	SetID       string `db:"set_id"`
	Media       string `db:"media"`
}

// Columns are named, never *: a cached prepared statement must not depend on column order.
const publicColumns = `id, status, version, slug, headline, summary, body, body_html, language, byline,
	dateline, tags, created_at, updated_at, published_at, retracted_reason, retracted_at, slug_sha256, set_id, media`

func (r publicRow) article() (PublicArticle, error) {
	a := PublicArticle{ID: r.ID, Status: r.Status, RetractedReason: r.Retracted, Version: r.Version, Slug: r.Slug, Headline: r.Headline,
		Summary: r.Summary, Body: r.Body, BodyHTML: r.BodyHTML, Language: r.Language,
		Byline: r.Byline, Dateline: r.Dateline, SetID: r.SetID}
	if err := json.Unmarshal([]byte(r.Tags), &a.Tags); err != nil {
		return PublicArticle{}, fmt.Errorf("article %s: tags: %w", r.ID, err)
	}
	var err error
	if a.Media, err = decodeMedia(r.ID, r.Media); err != nil {
		return PublicArticle{}, err
	}
	return a, parseTimes(r.ID, []*time.Time{&a.CreatedAt, &a.UpdatedAt, &a.PublishedAt, &a.RetractedAt},
		[]string{r.CreatedAt, r.UpdatedAt, r.PublishedAt, r.RetractedAt})
}

// BySlug returns the public article with that slug (a retracted one as a notice), with its
// corrections; ErrKilled if the article that had it was killed; else ErrNotPublic.
func (p *Published) BySlug(ctx context.Context, slug string) (PublicArticle, error) {
	db := p.db.Read
	var r publicRow
	err := db.GetContext(ctx, &r, db.Rebind(`SELECT `+publicColumns+` FROM public_articles
		WHERE slug = ? AND status IN (?, ?)`), slug, VisibilityPublished, VisibilityRetracted)
	if errors.Is(err, sql.ErrNoRows) {
		var killed int
		err = db.GetContext(ctx, &killed, db.Rebind(`SELECT COUNT(*) FROM public_articles
			WHERE slug_sha256 = ? AND status = ?`), domain.SlugDigest(slug), VisibilityKilled)
		if err != nil {
			return PublicArticle{}, fmt.Errorf("article by slug: %w", err)
		}
		if killed > 0 {
			return PublicArticle{}, ErrKilled
		}
		return PublicArticle{}, ErrNotPublic
	}
	if err != nil {
		return PublicArticle{}, fmt.Errorf("article by slug: %w", err)
	}
	a, err := r.article()
	if err != nil {
		return PublicArticle{}, err
	}
	var corrections []struct {
		Note string `db:"note"`
		At   string `db:"corrected_at"`
	}
	if err := db.SelectContext(ctx, &corrections, db.Rebind(`SELECT note, corrected_at FROM public_corrections
		WHERE article_id = ? ORDER BY version`), a.ID); err != nil {
		return PublicArticle{}, fmt.Errorf("corrections of %s: %w", a.ID, err)
	}
	for _, c := range corrections {
		at, err := sqldb.ParseTime(c.At)
		if err != nil {
			return PublicArticle{}, err
		}
		a.Corrections = append(a.Corrections, domain.Correction{Note: c.Note, At: at})
	}
	sets, err := p.Translations(ctx, []string{a.SetID})
	if err != nil {
		return PublicArticle{}, err
	}
	a.Translations = a.OtherVersions(sets)
	return a, nil
}

func encodeMedia(refs []domain.MediaRef) string {
	if len(refs) == 0 {
		return "[]"
	}
	encoded, _ := json.Marshal(refs)
	return string(encoded)
}

func decodeMedia(id, encoded string) ([]domain.MediaRef, error) {
	if encoded == "" || encoded == "[]" {
		return nil, nil
	}
	var refs []domain.MediaRef
	if err := json.Unmarshal([]byte(encoded), &refs); err != nil {
		return nil, fmt.Errorf("article %s: media: %w", id, err)
	}
	return refs, nil
}

func nonNil(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}
