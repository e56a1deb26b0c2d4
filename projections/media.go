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

// Media is the view of images: what was uploaded, by whom, its description and its renditions,
// and whether it was erased. It is given the images' events only (mediaView); the bytes are in
// the object store, which a replay never touches.
type Media struct {
	db *sqldb.DB
	// OnErase, if set, is told of the images a committed batch erased (the rendition cache
	// forgets them).
	OnErase func(id string)
	// OnDescribe, if set, is told of the images whose words (caption, credit, alt, copyright) a
	// committed batch changed or erased: what readers see of the articles showing them changed
	// without an event of theirs. Called on the view's goroutine after the commit: it must not
	// block.
	OnDescribe func(ids []string)
}

var (
	// ErrMediaNotFound: no image has that id (or the view has not seen its upload yet).
	ErrMediaNotFound = errors.New("image not found")
	// ErrMediaErased: the image was erased (every article using it was killed); its bytes and
	// its description are gone.
	ErrMediaErased = errors.New("image erased")
)

// MediaItem is one image as the view holds it.
type MediaItem struct {
	ID          string
	Version     int // of the image's events: its ETag on the desk
	UploadedBy  string
	UploadedAt  time.Time
	ContentType string
	Width       int
	Height      int
	domain.MediaDescription
	Renditions []domain.Rendition
	ErasedAt   time.Time // zero unless erased
}

// Erased reports whether the image was erased.
func (m MediaItem) Erased() bool { return !m.ErasedAt.IsZero() }

// Rendition returns the rendition called name.
func (m MediaItem) Rendition(name string) (domain.Rendition, bool) {
	for _, r := range m.Renditions {
		if r.Name == name {
			return r, true
		}
	}
	return domain.Rendition{}, false
}

// NewMedia returns the media view on db.
func NewMedia(db *sqldb.DB) *Media { return &Media{db: db} }

func (*Media) ofMedia() {}

// committed implements committer.
func (m *Media) committed(batch []events.Envelope) {
	var described []string
	for _, env := range batch {
		switch env.Type {
		case domain.TypeMediaErased:
			if m.OnErase != nil {
				m.OnErase(env.ArticleID)
			}
			described = append(described, env.ArticleID)
		case domain.TypeMediaDescribed:
			described = append(described, env.ArticleID)
		}
	}
	if m.OnDescribe != nil && len(described) > 0 {
		m.OnDescribe(dedupe(described))
	}
}

// Name implements View.
func (*Media) Name() string { return "media" }

// Version implements View.
func (*Media) Version() int { return 1 }

// Tables implements View.
func (*Media) Tables() []string { return []string{"media"} }

// Schema implements View.
func (*Media) Schema(d sqldb.Dialect, t Tables) []string {
	return []string{
		`CREATE TABLE ` + t.Name("media") + ` (
			id           TEXT    PRIMARY KEY,
			version      ` + bigint(d) + ` NOT NULL,
			uploaded_by  TEXT    NOT NULL,
			uploaded_at  TEXT    NOT NULL,
			content_type TEXT    NOT NULL,
			width        ` + bigint(d) + ` NOT NULL,
			height       ` + bigint(d) + ` NOT NULL,
			caption      TEXT    NOT NULL DEFAULT '',
			credit       TEXT    NOT NULL DEFAULT '',
			alt          TEXT    NOT NULL DEFAULT '',
			copyright    TEXT    NOT NULL DEFAULT '',
			renditions   TEXT    NOT NULL DEFAULT '[]',
			erased_at    TEXT    NOT NULL DEFAULT ''
		)` + strict(d),
	}
}

type mediaRow struct {
	ID          string `db:"id"`
	Version     int    `db:"version"`
	UploadedBy  string `db:"uploaded_by"`
	UploadedAt  string `db:"uploaded_at"`
	ContentType string `db:"content_type"`
	Width       int    `db:"width"`
	Height      int    `db:"height"`
	Caption     string `db:"caption"`
	Credit      string `db:"credit"`
	Alt         string `db:"alt"`
	Copyright   string `db:"copyright"`
	Renditions  string `db:"renditions"`
	ErasedAt    string `db:"erased_at"`
}

const mediaColumns = `id, version, uploaded_by, uploaded_at, content_type, width, height, caption, credit, alt,
	copyright, renditions, erased_at`

// Apply implements View. An image's rows are read once per batch, folded in memory and written
// once.
func (m *Media) Apply(ctx context.Context, tx *sqlx.Tx, t Tables, batch []events.Envelope) error {
	ids := articleIDs(batch) // image ids, in order of first appearance
	var rows []mediaRow
	if err := selectIn(ctx, tx, t, `SELECT `+mediaColumns+` FROM {media} WHERE id IN (?)`, ids, &rows); err != nil {
		return err
	}
	state := make(map[string]*mediaRow, len(rows))
	for i := range rows {
		state[rows[i].ID] = &rows[i]
	}
	for _, env := range batch {
		r, err := env.Recorded()
		if err != nil {
			return err
		}
		row := state[env.ArticleID]
		current := 0
		if row != nil {
			current = row.Version
		}
		if err := nextVersion(current, env); err != nil {
			return err
		}
		if row == nil {
			row = &mediaRow{ID: env.ArticleID, Renditions: "[]"}
			state[env.ArticleID] = row
		}
		row.Version = env.ArticleVersion
		switch e := r.Event.(type) {
		case domain.MediaUploaded:
			renditions, err := json.Marshal(e.Renditions)
			if err != nil {
				return err
			}
			row.UploadedBy, row.UploadedAt = e.UploadedBy, sqldb.FormatTime(env.Time)
			row.ContentType, row.Width, row.Height = e.ContentType, e.Width, e.Height
			row.Renditions = string(renditions)
			row.describe(e.MediaDescription)
		case domain.MediaDescribed:
			row.describe(e.MediaDescription)
		case domain.MediaErased:
			if row.UploadedAt == "" {
				// The upload was erased from the log before this view saw it.
				row.UploadedAt = sqldb.FormatTime(env.Time)
			}
			row.describe(domain.MediaDescription{})
			row.Renditions, row.ErasedAt = "[]", sqldb.FormatTime(env.Time)
		default:
			return fmt.Errorf("media view: event %s (seq %d) of type %s", env.ID, env.Sequence, env.Type)
		}
	}
	for _, id := range ids {
		r := state[id]
		_, err := tx.ExecContext(ctx, t.SQL(tx, `INSERT INTO {media} (`+mediaColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET version = excluded.version, uploaded_by = excluded.uploaded_by,
			uploaded_at = excluded.uploaded_at, content_type = excluded.content_type, width = excluded.width,
			height = excluded.height, caption = excluded.caption, credit = excluded.credit, alt = excluded.alt,
			copyright = excluded.copyright, renditions = excluded.renditions, erased_at = excluded.erased_at`),
			r.ID, r.Version, r.UploadedBy, r.UploadedAt, r.ContentType, r.Width, r.Height, r.Caption, r.Credit,
			r.Alt, r.Copyright, r.Renditions, r.ErasedAt)
		if err != nil {
			return fmt.Errorf("media view: write image %s: %w", id, err)
		}
	}
	return nil
}

func (r *mediaRow) describe(d domain.MediaDescription) {
	r.Caption, r.Credit, r.Alt, r.Copyright = d.Caption, d.Credit, d.Alt, d.Copyright
}

func (r mediaRow) item() (MediaItem, error) {
	it := MediaItem{ID: r.ID, Version: r.Version, UploadedBy: r.UploadedBy, ContentType: r.ContentType,
		Width: r.Width, Height: r.Height, MediaDescription: domain.MediaDescription{
			Caption: r.Caption, Credit: r.Credit, Alt: r.Alt, Copyright: r.Copyright}}
	if err := json.Unmarshal([]byte(r.Renditions), &it.Renditions); err != nil {
		return MediaItem{}, fmt.Errorf("image %s: renditions: %w", r.ID, err)
	}
	return it, parseTimes(r.ID, []*time.Time{&it.UploadedAt, &it.ErasedAt}, []string{r.UploadedAt, r.ErasedAt})
}

// Get returns the image with id id, erased or not (MediaItem.Erased); ErrMediaNotFound if the
// view has none.
func (m *Media) Get(ctx context.Context, id string) (MediaItem, error) {
	db := m.db.Read
	var r mediaRow
	err := db.GetContext(ctx, &r, db.Rebind(`SELECT `+mediaColumns+` FROM media WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return MediaItem{}, fmt.Errorf("image %s: %w", id, ErrMediaNotFound)
	}
	if err != nil {
		return MediaItem{}, fmt.Errorf("image %s: %w", id, err)
	}
	return r.item()
}

// Lookup returns the images among ids the view holds, erased ones included, by id; ids it does
// not hold are absent from the map.
func (m *Media) Lookup(ctx context.Context, ids []string) (map[string]MediaItem, error) {
	out := make(map[string]MediaItem, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	db := m.db.Read
	ids = dedupe(ids)
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		query, args, err := sqlx.In(`SELECT `+mediaColumns+` FROM media WHERE id IN (?)`, ids[start:min(start+chunk, len(ids))])
		if err != nil {
			return nil, err
		}
		var rows []mediaRow
		if err := db.SelectContext(ctx, &rows, db.Rebind(query), args...); err != nil {
			return nil, fmt.Errorf("images: %w", err)
		}
		for _, r := range rows {
			it, err := r.item()
			if err != nil {
				return nil, err
			}
			out[it.ID] = it
		}
	}
	return out, nil
}

// IDs returns the ids of every image the view holds that is not erased: the object store's
// sweep keeps their objects.
func (m *Media) IDs(ctx context.Context) (map[string]bool, error) {
	db := m.db.Read
	var ids []string
	if err := db.SelectContext(ctx, &ids, `SELECT id FROM media WHERE erased_at = ''`); err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// Images returns what the article side needs of the images among ids (editorial.MediaCatalog,
// MediaImages): their words, size and renditions, erased ones included (marked); an id the view
// does not hold is absent from the map.
func (m *Media) Images(ctx context.Context, ids []string) (map[string]domain.Image, error) {
	items, err := m.Lookup(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]domain.Image, len(items))
	for id, it := range items {
		out[id] = it.Image()
	}
	return out, nil
}

// Image is the item as an article's ref resolves to it.
func (m MediaItem) Image() domain.Image {
	return domain.Image{ID: m.ID, Caption: m.Caption, Credit: m.Credit, Alt: m.Alt, Copyright: m.Copyright,
		Width: m.Width, Height: m.Height, Renditions: m.Renditions, Erased: m.Erased()}
}
