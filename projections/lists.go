package projections

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/sqldb"
)

// Listings cost the same whatever the archive's size: a page is one walk of an index in the
// listing's own order (never a sort of every row), reading only the columns the page shows;
// the total is read from the view's counts table (counts.go), never counted; and a deep page
// is reached by a cursor (keyset: the sort key and id of the previous page's last item), not
// by skipping rows. The page number keeps working for the first MaxOffset rows.

// MaxOffset is how many rows a page number may skip. Skipping costs a walk over every skipped
// row; past it, a client follows the cursors.
const MaxOffset = 10_000

// Page is one page of a listing.
type Page struct {
	Number  int // from 1
	PerPage int
}

func (p Page) offset() int { return (p.Number - 1) * p.PerPage }

// Cursor marks where a page of a listing ended: the sort key (a stored time) and the id of its
// last item. The next page starts after it. Its text form is opaque to clients.
type Cursor struct {
	At string // as the view stores times (sqldb.FormatTime)
	ID string
}

// IsZero reports whether c marks nothing: the listing starts at its beginning.
func (c Cursor) IsZero() bool { return c == Cursor{} }

// String is the cursor as clients see it ("" for the zero cursor).
func (c Cursor) String() string {
	if c.IsZero() {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(c.At + "|" + c.ID))
}

// ErrBadCursor: a cursor that no listing gave out.
var ErrBadCursor = errors.New("not a cursor of this listing")

// ParseCursor reads a cursor String gave out; ErrBadCursor otherwise.
func ParseCursor(s string) (Cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) > 200 {
		return Cursor{}, ErrBadCursor
	}
	at, id, ok := strings.Cut(string(raw), "|")
	if !ok || id == "" || strings.ContainsAny(id, "|") {
		return Cursor{}, ErrBadCursor
	}
	if _, err := sqldb.ParseTime(at); err != nil || at == "" {
		return Cursor{}, ErrBadCursor
	}
	return Cursor{At: at, ID: id}, nil
}

// keyset is the WHERE term and arguments that start a listing ordered by (at DESC, id ASC)
// after c. The redundant "at <= ?" is the index range: without it a planner may walk the index
// from its start and filter.
func keyset(c Cursor, at, id string) (string, []any) {
	return ` AND ` + at + ` <= ? AND (` + at + ` < ? OR ` + id + ` > ?)`, []any{c.At, c.At, c.ID}
}

// PublicQuery selects public articles.
type PublicQuery struct {
	Page     Page   // Number is 1 when Before is set
	Before   Cursor // start after this item; zero: at Page
	Language string // exact BCP 47 tag; empty for all
	Tag      string // empty for all
	Content  bool   // read BodyHTML too (the feeds show it; the list does not)
}

// PublicList is one page of public articles.
type PublicList struct {
	Items []PublicArticle
	Total int    // how many match in all
	Next  Cursor // after the last item; zero when no item follows
}

// The columns a listing shows: no Markdown, no corrections, no HTML unless asked for.
const publicListColumns = `a.id, a.status, a.version, a.slug, a.headline, a.summary, a.language, a.byline,
	a.dateline, a.tags, a.created_at, a.updated_at, a.published_at, a.retracted_reason, a.retracted_at, a.set_id, a.media`

// List returns one page of public articles — published ones, and retracted ones as notices —
// newest first (id breaks ties), and how many match in all. Corrections are not loaded, nor
// the body; BodyHTML only with q.Content.
func (p *Published) List(ctx context.Context, q PublicQuery) (PublicList, error) {
	db := p.db.Read
	query, args := publicListQuery(q)
	var rows []publicRow
	if err := db.SelectContext(ctx, &rows, db.Rebind(query), args...); err != nil {
		return PublicList{}, fmt.Errorf("list public articles: %w", err)
	}
	total, err := publicCounts.read(ctx, db, q.Language, q.Tag)
	if err != nil {
		return PublicList{}, err
	}
	items, next, err := pageOf(rows, q.Page.PerPage, publicRow.article, func(r publicRow) Cursor {
		return Cursor{At: r.PublishedAt, ID: r.ID}
	})
	return PublicList{Items: items, Total: total, Next: next}, err
}

// pageOf turns the rows of a page, read one beyond it, into its items and the cursor after
// its last one (zero when the extra row is not there: no page follows).
func pageOf[R, T any](rows []R, perPage int, item func(R) (T, error), cursor func(R) Cursor) ([]T, Cursor, error) {
	var next Cursor
	if len(rows) > perPage {
		rows = rows[:perPage]
		next = cursor(rows[len(rows)-1])
	}
	items := make([]T, 0, len(rows))
	for _, r := range rows {
		it, err := item(r)
		if err != nil {
			return nil, Cursor{}, err
		}
		items = append(items, it)
	}
	return items, next, nil
}

// publicListQuery is the query of one page of q, one row more than the page (whether it is
// there says whether another page follows). Filtered by tag, the walk is over public_tags,
// which holds its article's published_at for that reason.
func publicListQuery(q PublicQuery) (string, []any) {
	cols := publicListColumns
	if q.Content {
		cols += `, a.body_html`
	}
	at, id := `a.published_at`, `a.id`
	from, args := ` FROM public_articles a WHERE a.listed = 1`, []any{}
	if q.Tag != "" {
		at, id = `g.published_at`, `g.article_id`
		// Only listed articles have tags (see the schema): no listed term, which would tempt a
		// planner to walk the listed articles instead of looking each tagged one up.
		from = ` FROM public_tags g JOIN public_articles a ON a.id = g.article_id WHERE g.tag = ?`
		args = append(args, q.Tag)
	}
	if q.Language != "" {
		from += ` AND a.language = ?`
		args = append(args, q.Language)
	}
	offset := q.Page.offset()
	if !q.Before.IsZero() {
		term, more := keyset(q.Before, at, id)
		from += term
		args = append(args, more...)
		offset = 0
	}
	return `SELECT ` + cols + from + ` ORDER BY ` + at + ` DESC, ` + id + ` LIMIT ? OFFSET ?`,
		append(args, q.Page.PerPage+1, offset)
}

// Stamp names one version of an article, and its translation set.
type Stamp struct {
	ID      string `db:"id"`
	Version int    `db:"version"`
	SetID   string `db:"set_id"`
}

// Newest returns the id, version and translation set of the n newest listed articles (in
// language, if not empty), in the listing's order, from the index alone: what a feed of n
// entries shows changes exactly when these do, or the published members of their sets
// (Translations), so together they make its ETag.
func (p *Published) Newest(ctx context.Context, language string, n int) ([]Stamp, error) {
	db := p.db.Read
	query, args := newestQuery(language, n)
	var out []Stamp
	if err := db.SelectContext(ctx, &out, db.Rebind(query), args...); err != nil {
		return nil, fmt.Errorf("newest public articles: %w", err)
	}
	return out, nil
}

func newestQuery(language string, n int) (string, []any) {
	query, args := `SELECT a.id, a.version, a.set_id FROM public_articles a WHERE a.listed = 1`, []any{}
	if language != "" {
		query += ` AND a.language = ?`
		args = append(args, language)
	}
	return query + ` ORDER BY a.published_at DESC, a.id LIMIT ?`, append(args, n)
}

// DeskQuery selects articles on the desk.
type DeskQuery struct {
	Status domain.Status // empty for every status
	Page   Page          // Number is 1 when Before is set
	Before Cursor        // start after this item; zero: at Page
}

// DeskList is one page of the desk.
type DeskList struct {
	Items []domain.Article
	Total int    // how many match in all
	Next  Cursor // after the last item; zero when no item follows
}

// The columns the desk's listing shows: not who created and last revised an article, and not
// its body (the longest column by far; an editor opens the article for it). A pending
// correction is shown: the desk is where a second editor finds it; so is a schedule, and an
// embargo.
const deskListColumns = `id, version, status, slug, headline, summary, language, byline, dateline,
	tags, created_at, updated_at, published_at, pending_correction, publish_at, scheduled_slug, schedule_embargo, embargo_until, translation_of`

// List returns one page of the desk, most recently updated first (id breaks ties), and how
// many articles match in all.
func (d *Desk) List(ctx context.Context, q DeskQuery) (DeskList, error) {
	db := d.db.Read
	query, args := deskListQuery(q)
	var rows []deskRow
	if err := db.SelectContext(ctx, &rows, db.Rebind(query), args...); err != nil {
		return DeskList{}, fmt.Errorf("list desk: %w", err)
	}
	total, err := deskCounts.read(ctx, db, string(q.Status))
	if err != nil {
		return DeskList{}, err
	}
	items, next, err := pageOf(rows, q.Page.PerPage, deskRow.article, func(r deskRow) Cursor {
		return Cursor{At: r.UpdatedAt, ID: r.ID}
	})
	return DeskList{Items: items, Total: total, Next: next}, err
}

// deskListQuery is the query of one page of q, one row more than the page.
func deskListQuery(q DeskQuery) (string, []any) {
	where, args := ``, []any{}
	if q.Status != "" {
		where, args = ` AND status = ?`, append(args, string(q.Status))
	}
	offset := q.Page.offset()
	if !q.Before.IsZero() {
		term, more := keyset(q.Before, `updated_at`, `id`)
		where += term
		args = append(args, more...)
		offset = 0
	}
	return `SELECT ` + deskListColumns + ` FROM desk_articles WHERE 1 = 1` + where +
		` ORDER BY updated_at DESC, id LIMIT ? OFFSET ?`, append(args, q.Page.PerPage+1, offset)
}
