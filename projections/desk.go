package projections

import (
	"context"
	"encoding/json"
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

	// OnKill, if set, is told of the kills this process committed to the live tables, after
	// the commit (so that who uses an image, MediaUsers, already says the article was killed),
	// and with nil after a rebuild swapped new tables in (they may hold kills it was never
	// told of). It runs on the view's own goroutine: it must not block. Set it before the
	// view runs.
	OnKill func(killed []events.Envelope)
}

func (d *Desk) committed(batch []events.Envelope) {
	if d.OnKill == nil {
		return
	}
	if batch == nil {
		d.OnKill(nil)
		return
	}
	var killed []events.Envelope
	for _, env := range batch {
		if env.Type == domain.TypeKilled {
			killed = append(killed, env)
		}
	}
	if len(killed) > 0 {
		d.OnKill(killed)
	}
}

// NewDesk returns the desk view on db.
func NewDesk(db *sqldb.DB) *Desk { return &Desk{db: db} }

// Name implements View.
func (*Desk) Name() string { return "desk" }

// Version implements View. 2: the listing reads pages from indexes in its own order
// (updated_at DESC, id) and its totals from desk_counts. 3: the pending correction. 4: the
// schedule (when, under which slug, by whom, with which embargo) and the embargo of a
// published article.
// 5: its translation set (translation_of, indexed). 6: its images (desk_media).
func (*Desk) Version() int { return 6 }

// Tables implements View.
func (*Desk) Tables() []string { return []string{"desk_articles", deskCounts.table, "desk_media"} }

// Schema implements View.
func (*Desk) Schema(d sqldb.Dialect, t Tables) []string {
	return append([]string{
		`CREATE TABLE ` + t.Name("desk_articles") + ` (
			id              TEXT    PRIMARY KEY,
			version         ` + bigint(d) + ` NOT NULL,
			status          TEXT    NOT NULL,
			slug            TEXT    NOT NULL DEFAULT '',
			headline        TEXT    NOT NULL DEFAULT '',
			summary         TEXT    NOT NULL DEFAULT '',
			body            TEXT    NOT NULL DEFAULT '',
			language        TEXT    NOT NULL DEFAULT '',
			byline          TEXT    NOT NULL DEFAULT '',
			dateline        TEXT    NOT NULL DEFAULT '',
			tags            TEXT    NOT NULL DEFAULT '[]',
			created_by      TEXT    NOT NULL,
			last_revised_by TEXT    NOT NULL,
			created_at      TEXT    NOT NULL,
			updated_at      TEXT    NOT NULL,
			published_at    TEXT    NOT NULL DEFAULT '',
			pending_correction TEXT NOT NULL DEFAULT '',
			publish_at      TEXT    NOT NULL DEFAULT '',
			scheduled_slug  TEXT    NOT NULL DEFAULT '',
			scheduled_by    TEXT    NOT NULL DEFAULT '',
			schedule_embargo TEXT   NOT NULL DEFAULT '',
			embargo_until   TEXT    NOT NULL DEFAULT '',
			translation_of  TEXT    NOT NULL DEFAULT ''
		)` + strict(d),
		// The listing's order, newest change first (id ascending breaks ties).
		`CREATE INDEX ` + t.Index("desk_articles_list") + ` ON ` + t.Name("desk_articles") + ` (updated_at DESC, id)`,
		`CREATE INDEX ` + t.Index("desk_articles_status_list") + ` ON ` + t.Name("desk_articles") + ` (status, updated_at DESC, id)`,
		// Articles under embargo, by its end (the scheduler's reconciliation reads them).
		`CREATE INDEX ` + t.Index("desk_articles_embargo") + ` ON ` + t.Name("desk_articles") + ` (embargo_until)`,
		// A translation set's members: the original by its id, the others by this.
		`CREATE INDEX ` + t.Index("desk_articles_translation") + ` ON ` + t.Name("desk_articles") + ` (translation_of)`,
		deskCounts.schema(d, t),
		// The images of each article, in its order; by image too, for MediaUsers. A table of
		// its own rather than a column of desk_articles: the search view reuses that row.
	}, mediaRefsSchema(d, t, "desk_media")...)
}

// mediaRefsSchema is a table of articles' images (domain.MediaRef), in each article's order, and
// its index by image: the desk view's (every article) and the published view's (what readers
// may see now) have the same shape.
func mediaRefsSchema(d sqldb.Dialect, t Tables, name string) []string {
	return []string{
		`CREATE TABLE ` + t.Name(name) + ` (
			article_id TEXT    NOT NULL,
			position   INTEGER NOT NULL,
			media_id   TEXT    NOT NULL,
			role       TEXT    NOT NULL,
			caption    TEXT    NOT NULL DEFAULT '',
			PRIMARY KEY (article_id, position)
		)` + strict(d),
		`CREATE INDEX ` + t.Index(name+"_media") + ` ON ` + t.Name(name) + ` (media_id)`,
	}
}

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
	// PendingCorrection is the proposed correction as JSON (pendingJSON); empty when none is.
	PendingCorrection string `db:"pending_correction"`
	// The schedule (domain.Article's PublishAt, ScheduledSlug, ScheduledBy, ScheduleEmbargo),
	// and the embargo of a published article: what Evolve needs to go on from the row.
	PublishAt       string `db:"publish_at"`
	ScheduledSlug   string `db:"scheduled_slug"`
	ScheduledBy     string `db:"scheduled_by"`
	ScheduleEmbargo string `db:"schedule_embargo"`
	EmbargoUntil    string `db:"embargo_until"`
	TranslationOf   string `db:"translation_of"`
}

// pendingJSON is how a desk row stores a pending correction.
type pendingJSON struct {
	Changes    domain.Changes `json:"changes"`
	Note       string         `json:"note"`
	ProposedBy string         `json:"proposed_by"`
	ProposedAt time.Time      `json:"proposed_at"`
}

// Columns are named, never *: a cached prepared statement must not depend on column order.
const deskColumns = `id, version, status, slug, headline, summary, body, language, byline, dateline,
	tags, created_by, last_revised_by, created_at, updated_at, published_at, pending_correction,
	publish_at, scheduled_slug, scheduled_by, schedule_embargo, embargo_until, translation_of`

// Apply implements View: the articles of the batch are loaded once, folded in memory, and
// written once each, however many of their events the batch holds.
func (d *Desk) Apply(ctx context.Context, tx *sqlx.Tx, t Tables, batch []events.Envelope) error {
	ids := articleIDs(batch)
	var rows []deskRow
	if err := selectIn(ctx, tx, t, `SELECT `+deskColumns+` FROM {desk_articles} WHERE id IN (?)`, ids, &rows); err != nil {
		return err
	}
	media, err := loadMedia(ctx, tx, t, "desk_media", ids)
	if err != nil {
		return err
	}
	state := make(map[string]domain.Article, len(ids))
	counts := countDeltas{}
	for _, r := range rows {
		a, err := r.article()
		if err != nil {
			return err
		}
		a.Media = media[a.ID]
		state[a.ID] = a
		counts.move(deskCountKeys(r.Status), -1)
	}
	for _, env := range batch {
		r, err := env.Recorded()
		if err != nil {
			return err
		}
		a, ok := state[env.ArticleID]
		if !ok {
			a = domain.Article{ID: env.ArticleID}
		}
		if err := nextVersion(a.Version, env); err != nil {
			return err
		}
		state[env.ArticleID] = domain.Evolve(a, r)
	}
	for _, id := range ids {
		counts.move(deskCountKeys(string(state[id].Status)), +1)
	}
	if err := deskCounts.write(ctx, tx, t, counts); err != nil {
		return err
	}
	rows = rows[:0]
	changed := map[string][]domain.MediaRef{}
	for _, id := range ids {
		rows = append(rows, deskRowFrom(state[id]))
		if !domain.SameMedia(media[id], state[id].Media) {
			changed[id] = state[id].Media
		}
	}
	if err := writeMedia(ctx, tx, t, "desk_media", changed); err != nil {
		return err
	}
	return d.write(ctx, tx, t, rows)
}

// write upserts the batch's final rows, one per article, in bulk.
func (d *Desk) write(ctx context.Context, tx *sqlx.Tx, t Tables, rows []deskRow) error {
	args := make([]any, 0, len(rows)*len(deskUpsert.Columns))
	for _, r := range rows {
		args = append(args, r.ID, r.Version, r.Status, r.Slug, r.Headline, r.Summary, r.Body,
			r.Language, r.Byline, r.Dateline, r.Tags, r.CreatedBy, r.LastRevisedBy, r.CreatedAt, r.UpdatedAt,
			r.PublishedAt, r.PendingCorrection, r.PublishAt, r.ScheduledSlug, r.ScheduledBy, r.ScheduleEmbargo, r.EmbargoUntil, r.TranslationOf)
	}
	return t.bulk(deskUpsert).Exec(ctx, tx, args)
}

// deskUpsert writes desk rows; created_by and created_at never change after the draft.
var deskUpsert = sqldb.Bulk{Table: "{desk_articles}", Columns: columnList(deskColumns),
	Tail: `ON CONFLICT (id) DO UPDATE SET version = excluded.version, status = excluded.status,
		slug = excluded.slug, headline = excluded.headline, summary = excluded.summary, body = excluded.body,
		language = excluded.language, byline = excluded.byline, dateline = excluded.dateline,
		tags = excluded.tags, last_revised_by = excluded.last_revised_by, updated_at = excluded.updated_at,
		published_at = excluded.published_at, pending_correction = excluded.pending_correction,
		publish_at = excluded.publish_at, scheduled_slug = excluded.scheduled_slug, scheduled_by = excluded.scheduled_by,
		schedule_embargo = excluded.schedule_embargo, embargo_until = excluded.embargo_until,
		translation_of = excluded.translation_of`}

func deskRowFrom(a domain.Article) deskRow {
	tags, _ := json.Marshal(nonNil(a.Tags))
	var pending []byte
	if p := a.PendingCorrection; p != nil {
		pending, _ = json.Marshal(pendingJSON{Changes: p.Changes, Note: p.Note, ProposedBy: p.ProposedBy, ProposedAt: p.ProposedAt})
	}
	return deskRow{
		PendingCorrection: string(pending),
		ID:                a.ID, Version: a.Version, Status: string(a.Status), Slug: a.Slug, Headline: a.Headline,
		Summary: a.Summary, Body: a.Body, Language: a.Language, Byline: a.Byline, Dateline: a.Dateline,
		Tags: string(tags), CreatedBy: a.CreatedBy, LastRevisedBy: a.LastRevisedBy,
		CreatedAt: sqldb.FormatTime(a.CreatedAt), UpdatedAt: sqldb.FormatTime(a.UpdatedAt),
		PublishedAt: sqldb.FormatTime(a.PublishedAt),
		PublishAt:   sqldb.FormatTime(a.PublishAt), ScheduledSlug: a.ScheduledSlug, ScheduledBy: a.ScheduledBy,
		ScheduleEmbargo: sqldb.FormatTime(a.ScheduleEmbargo), EmbargoUntil: sqldb.FormatTime(a.EmbargoUntil), TranslationOf: a.TranslationOf,
	}
}

func (r deskRow) article() (domain.Article, error) {
	a := domain.Article{ID: r.ID, Status: domain.Status(r.Status), Version: r.Version,
		Content: domain.Content{Headline: r.Headline, Summary: r.Summary, Body: r.Body, Language: r.Language,
			Byline: r.Byline, Dateline: r.Dateline, Slug: r.Slug},
		CreatedBy: r.CreatedBy, LastRevisedBy: r.LastRevisedBy, ScheduledSlug: r.ScheduledSlug, ScheduledBy: r.ScheduledBy,
		TranslationOf: r.TranslationOf}
	if err := json.Unmarshal([]byte(r.Tags), &a.Tags); err != nil {
		return domain.Article{}, fmt.Errorf("desk article %s: tags: %w", r.ID, err)
	}
	if len(a.Tags) == 0 {
		a.Tags = nil
	}
	if r.PendingCorrection != "" {
		var p pendingJSON
		if err := json.Unmarshal([]byte(r.PendingCorrection), &p); err != nil {
			return domain.Article{}, fmt.Errorf("desk article %s: pending correction: %w", r.ID, err)
		}
		a.PendingCorrection = &domain.PendingCorrection{Changes: p.Changes, Note: p.Note, ProposedBy: p.ProposedBy, ProposedAt: p.ProposedAt.UTC()}
	}
	return a, parseTimes(r.ID, []*time.Time{&a.CreatedAt, &a.UpdatedAt, &a.PublishedAt, &a.PublishAt, &a.ScheduleEmbargo, &a.EmbargoUntil},
		[]string{r.CreatedAt, r.UpdatedAt, r.PublishedAt, r.PublishAt, r.ScheduleEmbargo, r.EmbargoUntil})
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

// bigint is the 64-bit integer type of dialect d.
func bigint(d sqldb.Dialect) string {
	if d == sqldb.Postgres {
		return "BIGINT"
	}
	return "INTEGER"
}

// strict makes SQLite enforce column types as PostgreSQL does.
func strict(d sqldb.Dialect) string {
	if d == sqldb.SQLite {
		return " STRICT"
	}
	return ""
}
