package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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
)

// ErrNotPublic: no published article has that slug.
var ErrNotPublic = errors.New("no published article with that slug")

// Published is the public model: what readers may see of published articles. Every article has
// a row from its draft on (so that versions can be checked), but no text reaches it before the
// article is published: drafts and reviews never enter the public model.
type Published struct {
	db *sqldb.DB
}

// NewPublished returns the published view on db.
func NewPublished(db *sqldb.DB) *Published { return &Published{db: db} }

// Name implements View.
func (*Published) Name() string { return "published" }

// Apply implements View.
func (p *Published) Apply(ctx context.Context, tx *sqlx.Tx, env events.Envelope) error {
	r, err := env.Recorded()
	if err != nil {
		return err
	}
	current, err := p.version(ctx, tx, env.ArticleID)
	if err != nil {
		return err
	}
	if err := nextVersion(current, env); err != nil {
		return err
	}
	at := sqldb.FormatTime(r.At)
	switch e := r.Event.(type) {
	case domain.Drafted:
		_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO public_articles
			(id, version, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`),
			env.ArticleID, env.ArticleVersion, VisibilityUnpublished, at, at)
	case domain.Published:
		err = p.show(ctx, tx, env, at, publicText{e.Slug, e.PublishedAt, e.Headline, e.Summary, e.Body,
			e.Language, e.Byline, e.Dateline, e.Tags})
	case domain.Corrected:
		err = p.show(ctx, tx, env, at, publicText{e.Slug, e.PublishedAt, e.Headline, e.Summary, e.Body,
			e.Language, e.Byline, e.Dateline, e.Tags})
		if err == nil {
			_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO public_corrections (article_id, version, note, corrected_at)
				VALUES (?, ?, ?, ?)`), env.ArticleID, env.ArticleVersion, e.Note, at)
		}
	case domain.Retracted:
		// The notice keeps the headline and says why; the text leaves the public model.
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE public_articles SET version = ?, status = ?,
			summary = '', body = '', body_html = '', retracted_reason = ?, retracted_at = ?, updated_at = ?
			WHERE id = ?`), env.ArticleVersion, VisibilityRetracted, e.Reason, at, at, env.ArticleID)
	default:
		// Desk work: nothing public changes, but the version moves on.
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE public_articles SET version = ? WHERE id = ?`),
			env.ArticleVersion, env.ArticleID)
	}
	return err
}

// publicText is what Published and Corrected events make public.
type publicText struct {
	slug        string
	publishedAt time.Time
	headline    string
	summary     string
	body        string
	language    string
	byline      string
	dateline    string
	tags        []string
}

// show writes the public text of an article and its tags.
func (p *Published) show(ctx context.Context, tx *sqlx.Tx, env events.Envelope, at string, t publicText) error {
	html, err := RenderMarkdown(t.body)
	if err != nil {
		return err
	}
	tags, _ := json.Marshal(nonNil(t.tags))
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE public_articles SET
		version = ?, status = ?, slug = ?, headline = ?, summary = ?, body = ?, body_html = ?,
		language = ?, byline = ?, dateline = ?, tags = ?, updated_at = ?, published_at = ?
		WHERE id = ?`),
		env.ArticleVersion, VisibilityPublished, t.slug, t.headline, t.summary, t.body, html,
		t.language, t.byline, t.dateline, string(tags), at, sqldb.FormatTime(t.publishedAt),
		env.ArticleID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM public_tags WHERE article_id = ?`), env.ArticleID); err != nil {
		return err
	}
	for _, tag := range t.tags {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO public_tags (tag, article_id) VALUES (?, ?)`),
			tag, env.ArticleID); err != nil {
			return err
		}
	}
	return nil
}

func (p *Published) version(ctx context.Context, tx *sqlx.Tx, id string) (int, error) {
	var v int
	err := tx.GetContext(ctx, &v, tx.Rebind(`SELECT version FROM public_articles WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
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
}

// Columns are named, never *: a cached prepared statement must not depend on column order.
const publicColumns = `id, status, version, slug, headline, summary, body, body_html, language, byline,
	dateline, tags, created_at, updated_at, published_at, retracted_reason, retracted_at`

func (r publicRow) article() (PublicArticle, error) {
	a := PublicArticle{ID: r.ID, Status: r.Status, RetractedReason: r.Retracted, Version: r.Version, Slug: r.Slug, Headline: r.Headline,
		Summary: r.Summary, Body: r.Body, BodyHTML: r.BodyHTML, Language: r.Language,
		Byline: r.Byline, Dateline: r.Dateline}
	if err := json.Unmarshal([]byte(r.Tags), &a.Tags); err != nil {
		return PublicArticle{}, fmt.Errorf("article %s: tags: %w", r.ID, err)
	}
	return a, parseTimes(r.ID, []*time.Time{&a.CreatedAt, &a.UpdatedAt, &a.PublishedAt, &a.RetractedAt},
		[]string{r.CreatedAt, r.UpdatedAt, r.PublishedAt, r.RetractedAt})
}

// Page is one page of a listing.
type Page struct {
	Number  int // from 1
	PerPage int
}

func (p Page) offset() int { return (p.Number - 1) * p.PerPage }

// PublicQuery selects public articles.
type PublicQuery struct {
	Page     Page
	Language string // exact BCP 47 tag; empty for all
	Tag      string // empty for all
}

// List returns one page of public articles — published ones, and retracted ones as notices —
// newest first (id breaks ties), and how many match in all. Corrections are not loaded.
func (p *Published) List(ctx context.Context, q PublicQuery) ([]PublicArticle, int, error) {
	db := p.db.Read
	where := ` FROM public_articles a WHERE a.status IN (?, ?)`
	args := []any{VisibilityPublished, VisibilityRetracted}
	if q.Language != "" {
		where += ` AND a.language = ?`
		args = append(args, q.Language)
	}
	if q.Tag != "" {
		where += ` AND a.id IN (SELECT article_id FROM public_tags WHERE tag = ?)`
		args = append(args, q.Tag)
	}
	var total int
	if err := db.GetContext(ctx, &total, db.Rebind(`SELECT COUNT(*)`+where), args...); err != nil {
		return nil, 0, fmt.Errorf("count public articles: %w", err)
	}
	var rows []publicRow
	if err := db.SelectContext(ctx, &rows, db.Rebind(`SELECT `+publicColumns+where+
		` ORDER BY a.published_at DESC, a.id ASC LIMIT ? OFFSET ?`),
		append(args, q.Page.PerPage, q.Page.offset())...); err != nil {
		return nil, 0, fmt.Errorf("list public articles: %w", err)
	}
	items := make([]PublicArticle, 0, len(rows))
	for _, r := range rows {
		a, err := r.article()
		if err != nil {
			return nil, 0, err
		}
		items = append(items, a)
	}
	return items, total, nil
}

// BySlug returns the public article with that slug (a retracted one as a notice), with its
// corrections, or ErrNotPublic.
func (p *Published) BySlug(ctx context.Context, slug string) (PublicArticle, error) {
	db := p.db.Read
	var r publicRow
	err := db.GetContext(ctx, &r, db.Rebind(`SELECT `+publicColumns+` FROM public_articles
		WHERE slug = ? AND status IN (?, ?)`), slug, VisibilityPublished, VisibilityRetracted)
	if errors.Is(err, sql.ErrNoRows) {
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
	return a, nil
}

func nonNil(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}
