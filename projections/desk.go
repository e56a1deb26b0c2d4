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

// Desk is every article and its state, for editors. It folds events with domain.Evolve, so its
// rows are exactly what the write side would rebuild.
type Desk struct {
	db *sqldb.DB
}

// NewDesk returns the desk view on db.
func NewDesk(db *sqldb.DB) *Desk { return &Desk{db: db} }

// Name implements View.
func (*Desk) Name() string { return "desk" }

type deskRow struct {
	ID            string `db:"id"`
	Version       int    `db:"version"`
	Status        string `db:"status"`
	Slug          string `db:"slug"`
	Headline      string `db:"headline"`
	Summary       string `db:"summary"`
	Body          string `db:"body"`
	Language      string `db:"language"`
	Byline        string `db:"byline"`
	Dateline      string `db:"dateline"`
	Tags          string `db:"tags"`
	CreatedBy     string `db:"created_by"`
	LastRevisedBy string `db:"last_revised_by"`
	CreatedAt     string `db:"created_at"`
	UpdatedAt     string `db:"updated_at"`
	PublishedAt   string `db:"published_at"`
}

const deskColumns = `id, version, status, slug, headline, summary, body, language, byline, dateline,
	tags, created_by, last_revised_by, created_at, updated_at, published_at`

// Apply implements View.
func (d *Desk) Apply(ctx context.Context, tx *sqlx.Tx, env events.Envelope) error {
	r, err := env.Recorded()
	if err != nil {
		return err
	}
	var row deskRow
	err = tx.GetContext(ctx, &row, tx.Rebind(`SELECT `+deskColumns+` FROM desk_articles WHERE id = ?`), env.ArticleID)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	before := domain.Article{ID: env.ArticleID}
	if exists {
		if before, err = row.article(); err != nil {
			return err
		}
	}
	if err := nextVersion(before.Version, env); err != nil {
		return err
	}
	after := deskRowFrom(domain.Evolve(before, r))
	if !exists {
		_, err = tx.NamedExecContext(ctx, `INSERT INTO desk_articles (`+deskColumns+`) VALUES (:id, :version,
			:status, :slug, :headline, :summary, :body, :language, :byline, :dateline, :tags, :created_by,
			:last_revised_by, :created_at, :updated_at, :published_at)`, after)
		return err
	}
	_, err = tx.NamedExecContext(ctx, `UPDATE desk_articles SET version = :version, status = :status,
		slug = :slug, headline = :headline, summary = :summary, body = :body, language = :language,
		byline = :byline, dateline = :dateline, tags = :tags, last_revised_by = :last_revised_by,
		updated_at = :updated_at, published_at = :published_at WHERE id = :id`, after)
	return err
}

func deskRowFrom(a domain.Article) deskRow {
	tags, _ := json.Marshal(nonNil(a.Tags))
	return deskRow{
		ID: a.ID, Version: a.Version, Status: string(a.Status), Slug: a.Slug, Headline: a.Headline,
		Summary: a.Summary, Body: a.Body, Language: a.Language, Byline: a.Byline, Dateline: a.Dateline,
		Tags: string(tags), CreatedBy: a.CreatedBy, LastRevisedBy: a.LastRevisedBy,
		CreatedAt: sqldb.FormatTime(a.CreatedAt), UpdatedAt: sqldb.FormatTime(a.UpdatedAt),
		PublishedAt: sqldb.FormatTime(a.PublishedAt),
	}
}

func (r deskRow) article() (domain.Article, error) {
	a := domain.Article{ID: r.ID, Status: domain.Status(r.Status), Version: r.Version,
		Content: domain.Content{Headline: r.Headline, Summary: r.Summary, Body: r.Body, Language: r.Language,
			Byline: r.Byline, Dateline: r.Dateline, Slug: r.Slug},
		CreatedBy: r.CreatedBy, LastRevisedBy: r.LastRevisedBy}
	if err := json.Unmarshal([]byte(r.Tags), &a.Tags); err != nil {
		return domain.Article{}, fmt.Errorf("desk article %s: tags: %w", r.ID, err)
	}
	if len(a.Tags) == 0 {
		a.Tags = nil
	}
	return a, parseTimes(r.ID, []*time.Time{&a.CreatedAt, &a.UpdatedAt, &a.PublishedAt},
		[]string{r.CreatedAt, r.UpdatedAt, r.PublishedAt})
}

func parseTimes(id string, dst []*time.Time, src []string) error {
	for i := range dst {
		t, err := sqldb.ParseTime(src[i])
		if err != nil {
			return fmt.Errorf("article %s: %w", id, err)
		}
		*dst[i] = t
	}
	return nil
}

// DeskQuery selects articles on the desk.
type DeskQuery struct {
	Status domain.Status // empty for every status
	Page   Page
}

// List returns one page of the desk, most recently updated first (id breaks ties), and how
// many articles match in all.
func (d *Desk) List(ctx context.Context, q DeskQuery) ([]domain.Article, int, error) {
	db := d.db.Read
	where, args := "", []any{}
	if q.Status != "" {
		where, args = " WHERE status = ?", append(args, string(q.Status))
	}
	var total int
	if err := db.GetContext(ctx, &total, db.Rebind(`SELECT COUNT(*) FROM desk_articles`+where), args...); err != nil {
		return nil, 0, fmt.Errorf("count desk: %w", err)
	}
	var rows []deskRow
	if err := db.SelectContext(ctx, &rows, db.Rebind(`SELECT `+deskColumns+` FROM desk_articles`+where+
		` ORDER BY updated_at DESC, id ASC LIMIT ? OFFSET ?`), append(args, q.Page.PerPage, q.Page.offset())...); err != nil {
		return nil, 0, fmt.Errorf("list desk: %w", err)
	}
	out := make([]domain.Article, 0, len(rows))
	for _, r := range rows {
		a, err := r.article()
		if err != nil {
			return nil, 0, err
		}
		out = append(out, a)
	}
	return out, total, nil
}
