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
		html, renderErr := RenderMarkdown(e.Body)
		if renderErr != nil {
			return renderErr
		}
		tags, _ := json.Marshal(nonNil(e.Tags))
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE public_articles SET
			version = ?, status = ?, slug = ?, headline = ?, summary = ?, body = ?, body_html = ?,
			language = ?, byline = ?, dateline = ?, tags = ?, updated_at = ?, published_at = ?
			WHERE id = ?`),
			env.ArticleVersion, VisibilityPublished, e.Slug, e.Headline, e.Summary, e.Body, html,
			e.Language, e.Byline, e.Dateline, string(tags), at, sqldb.FormatTime(e.PublishedAt),
			env.ArticleID)
	default:
		// Desk work: nothing public changes, but the version moves on.
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE public_articles SET version = ? WHERE id = ?`),
			env.ArticleVersion, env.ArticleID)
	}
	return err
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
}

type publicRow struct {
	ID          string `db:"id"`
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
const publicColumns = `id, version, slug, headline, summary, body, body_html, language, byline,
	dateline, tags, created_at, updated_at, published_at`

func (r publicRow) article() (PublicArticle, error) {
	a := PublicArticle{ID: r.ID, Version: r.Version, Slug: r.Slug, Headline: r.Headline,
		Summary: r.Summary, Body: r.Body, BodyHTML: r.BodyHTML, Language: r.Language,
		Byline: r.Byline, Dateline: r.Dateline}
	if err := json.Unmarshal([]byte(r.Tags), &a.Tags); err != nil {
		return PublicArticle{}, fmt.Errorf("article %s: tags: %w", r.ID, err)
	}
	var err error
	for _, t := range []struct {
		dst *time.Time
		src string
	}{{&a.CreatedAt, r.CreatedAt}, {&a.UpdatedAt, r.UpdatedAt}, {&a.PublishedAt, r.PublishedAt}} {
		if *t.dst, err = sqldb.ParseTime(t.src); err != nil {
			return PublicArticle{}, fmt.Errorf("article %s: %w", r.ID, err)
		}
	}
	return a, nil
}

// Page is one page of a listing.
type Page struct {
	Number  int // from 1
	PerPage int
}

func (p Page) offset() int { return (p.Number - 1) * p.PerPage }

// List returns one page of published articles, newest first (id breaks ties), and how many
// there are in all.
func (p *Published) List(ctx context.Context, page Page) ([]PublicArticle, int, error) {
	db := p.db.Read
	var total int
	if err := db.GetContext(ctx, &total, db.Rebind(`SELECT COUNT(*) FROM public_articles WHERE status = ?`),
		VisibilityPublished); err != nil {
		return nil, 0, fmt.Errorf("count published articles: %w", err)
	}
	var rows []publicRow
	if err := db.SelectContext(ctx, &rows, db.Rebind(`SELECT `+publicColumns+` FROM public_articles
		WHERE status = ? ORDER BY published_at DESC, id ASC LIMIT ? OFFSET ?`),
		VisibilityPublished, page.PerPage, page.offset()); err != nil {
		return nil, 0, fmt.Errorf("list published articles: %w", err)
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

// BySlug returns the published article with that slug, or ErrNotPublic.
func (p *Published) BySlug(ctx context.Context, slug string) (PublicArticle, error) {
	db := p.db.Read
	var r publicRow
	err := db.GetContext(ctx, &r, db.Rebind(`SELECT `+publicColumns+` FROM public_articles
		WHERE slug = ? AND status = ?`), slug, VisibilityPublished)
	if errors.Is(err, sql.ErrNoRows) {
		return PublicArticle{}, ErrNotPublic
	}
	if err != nil {
		return PublicArticle{}, fmt.Errorf("article by slug: %w", err)
	}
	return r.article()
}

func nonNil(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}
