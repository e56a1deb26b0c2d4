package http

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	nethttp "net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/projections"
)

// Paging limits of every listing.
const (
	defaultPerPage = 20
	maxPerPage     = 100
)

// publicCacheControl is how long shared caches and browsers may keep a public article, its
// page, the lists, and the images they show: a kill or retraction reaches every cache within
// it. Public renditions share it (media.go), so that a killed article's images do not outlive
// its text in caches.
const publicCacheControl = "public, max-age=10"

type publicAPI struct {
	log          *slog.Logger
	publicStream PublicStream
	frames       *sseFrames
	closing      <-chan struct{}
	articles     PublicArticles
	cache        *PublicCache // nil: every read renders from the view
	publicURL    string       // absolute, no trailing slash; empty: from each request
	media        MediaImages  // nil: images without renditions are left out
}

// publicArticleJSON is a published article as readers see it.
type publicArticleJSON struct {
	ID          string    `json:"id"`
	Slug        string    `json:"slug"`
	Status      string    `json:"status"`
	Version     int       `json:"version"`
	Headline    string    `json:"headline"`
	Summary     string    `json:"summary"`
	Body        string    `json:"body,omitempty"`
	BodyHTML    string    `json:"body_html,omitempty"`
	Language    string    `json:"language"`
	Byline      string    `json:"byline"`
	Dateline    string    `json:"dateline"`
	Tags        []string  `json:"tags"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	PublishedAt time.Time `json:"published_at"`

	// Corrections, oldest first, are on every article read by its slug: an empty list when it
	// has none. A list page leaves them out: it does not read them (GET the article).
	Corrections *[]correctionJSON `json:"corrections,omitempty"`
	Retraction  *retractionJSON   `json:"retraction,omitempty"`

	// Translations are the other published language versions of the article, on every article
	// read by its slug (an empty list when it has none); a list page leaves them out.
	Translations *[]publicTranslationJSON `json:"translations,omitempty"`
	// Media are the article's images with their renditions, on every article read by its slug
	// (an empty list when it has none, and once it is retracted); a list page leaves them out.
	Media *[]publicImageJSON `json:"media,omitempty"`
}

// publicTranslationJSON is another published language version of an article.
type publicTranslationJSON struct {
	Language string `json:"language"`
	Slug     string `json:"slug"`
	URL      string `json:"url"`
}

// articleURL is the public address of the article with slug, on the public base URL.
func articleURL(base, slug string) string {
	return base + "/public/v1/articles/" + url.PathEscape(slug)
}

type correctionJSON struct {
	Note        string    `json:"note"`
	CorrectedAt time.Time `json:"corrected_at"`
}

type retractionJSON struct {
	Reason      string    `json:"reason"`
	RetractedAt time.Time `json:"retracted_at"`
}

// publicArticleFrom renders a; whole adds what only an article read by its slug carries: its
// text and its corrections.
func publicArticleFrom(a projections.PublicArticle, whole bool) publicArticleJSON {
	out := publicArticleJSON{
		ID: a.ID, Slug: a.Slug, Status: a.Status, Version: a.Version,
		Headline: a.Headline, Summary: a.Summary, Language: a.Language, Byline: a.Byline,
		Dateline: a.Dateline, Tags: a.Tags, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
		PublishedAt: a.PublishedAt,
	}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	if whole {
		out.Body, out.BodyHTML = a.Body, a.BodyHTML
		corrections := make([]correctionJSON, len(a.Corrections))
		for i, c := range a.Corrections {
			corrections[i] = correctionJSON{Note: c.Note, CorrectedAt: c.At}
		}
		out.Corrections = &corrections
	}
	if a.Status == projections.VisibilityRetracted {
		out.Retraction = &retractionJSON{Reason: a.RetractedReason, RetractedAt: a.RetractedAt}
	}
	return out
}

type pageJSON[T any] struct {
	Items   []T `json:"items"`
	Page    int `json:"page"` // counted from the cursor, when the page was asked for by before=
	PerPage int `json:"per_page"`
	Total   int `json:"total"`
	// Next is the address of the page after this one (NextCursor in before=); both are absent
	// on the last page. Following them costs the same however deep the page.
	Next       string `json:"next,omitempty"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func (api *publicAPI) list(c echo.Context) error {
	page, before, err := parseListing(c)
	if err != nil {
		return err
	}
	q := projections.PublicQuery{Page: page, Before: before}
	if q.Language, err = parseLanguage(c, "lang"); err != nil {
		return err
	}
	if q.Tag, err = parseTag(c); err != nil {
		return err
	}
	key := strings.Join([]string{"list", strconv.Itoa(page.Number), strconv.Itoa(page.PerPage), before.String(), q.Language, q.Tag}, "\x00")
	a, err := api.cache.list(c.Request().Context(), key, func(ctx context.Context) (renderedAnswer, error) {
		list, err := api.articles.List(ctx, q)
		if err != nil {
			return renderedAnswer{}, err
		}
		out := pageJSON[publicArticleJSON]{Items: make([]publicArticleJSON, len(list.Items)), Page: page.Number, PerPage: page.PerPage, Total: list.Total}
		for i, a := range list.Items {
			out.Items[i] = publicArticleFrom(a, false)
		}
		out.Next, out.NextCursor = nextPage("/public/v1/articles", list.Next, page.PerPage, "lang", q.Language, "tag", q.Tag)
		body, err := renderJSON(out)
		return renderedAnswer{body: body}, err
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", publicCacheControl)
	return c.JSONBlob(nethttp.StatusOK, a.body)
}

// nextPage is the address and cursor of the page after one that ended at next, on path, with
// the listing's filters (name, value pairs; empty values are left out).
func nextPage(path string, next projections.Cursor, perPage int, filters ...string) (string, string) {
	if next.IsZero() {
		return "", ""
	}
	q := url.Values{}
	for i := 0; i+1 < len(filters); i += 2 {
		if filters[i+1] != "" {
			q.Set(filters[i], filters[i+1])
		}
	}
	q.Set("per_page", strconv.Itoa(perPage))
	q.Set("before", next.String())
	return path + "?" + q.Encode(), next.String()
}

func (api *publicAPI) get(c echo.Context) error {
	slug := c.Param("slug")
	base := publicBase(api.publicURL, c)
	// The answer holds absolute URLs (its translations'): kept per base URL, as the feeds are.
	key := base + "\x00" + slug
	a, err := api.cache.article(c.Request().Context(), key, func(ctx context.Context) (renderedAnswer, error) {
		return api.render(ctx, base, slug)
	})
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(headerETag, a.etag)
	h.Set("Cache-Control", publicCacheControl)
	if etagListMatches(c.Request().Header.Values("If-None-Match"), a.etag) {
		return c.NoContent(nethttp.StatusNotModified)
	}
	return c.JSONBlob(nethttp.StatusOK, a.body)
}

// render reads the published article with that slug and renders it, its translations' URLs on
// base.
func (api *publicAPI) render(ctx context.Context, base, slug string) (renderedAnswer, error) {
	a, err := api.articles.BySlug(ctx, slug)
	if err != nil {
		return renderedAnswer{}, err
	}
	out := publicArticleFrom(a, true)
	translations := make([]publicTranslationJSON, len(a.Translations))
	for i, t := range a.Translations {
		translations[i] = publicTranslationJSON{Language: t.Language, Slug: t.Slug, URL: articleURL(base, t.Slug)}
	}
	out.Translations = &translations
	images, err := lookupImages(ctx, api.media, a.Media)
	if err != nil {
		return renderedAnswer{}, err
	}
	withImages(&out, a, images, base)
	body, err := renderJSON(out)
	return renderedAnswer{body: body, etag: publicETag(a.Version, body), articleID: a.ID, setID: a.SetID}, err
}

// publicETag names one public answer: the article version it shows, and a digest of the
// answer itself, so that a change in how articles are rendered (a new view version, a new
// sanitiser) is a new ETag even when the article did not change.
func publicETag(version int, body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + strconv.Itoa(version) + "-" + hex.EncodeToString(sum[:6]) + `"`
}

// parsePage reads page (from 1) and per_page (1 to 100, default 20).
func parsePage(c echo.Context) (projections.Page, error) {
	p := projections.Page{Number: 1, PerPage: defaultPerPage}
	if s := c.QueryParam("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1_000_000 {
			return p, malformed("query parameter page=%q must be a whole number from 1", s)
		}
		p.Number = n
	}
	if s := c.QueryParam("per_page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPerPage {
			return p, malformed("query parameter per_page=%q must be a whole number from 1 to %d", s, maxPerPage)
		}
		p.PerPage = n
	}
	return p, nil
}

// parseListing reads where a listing's page starts: page and per_page (parsePage), or
// before= (a cursor from a page's next_cursor) with per_page. A page number may not skip more
// than projections.MaxOffset rows: deeper, the cursors cost the same and the page numbers do
// not.
func parseListing(c echo.Context) (projections.Page, projections.Cursor, error) {
	page, err := parsePage(c)
	if err != nil {
		return page, projections.Cursor{}, err
	}
	s := c.QueryParam("before")
	if s == "" {
		if (page.Number-1)*page.PerPage > projections.MaxOffset {
			return page, projections.Cursor{}, malformed("query parameter page=%d skips more than %d items; follow the next links (before=) to go deeper", page.Number, projections.MaxOffset)
		}
		return page, projections.Cursor{}, nil
	}
	before, err := projections.ParseCursor(s)
	if err != nil {
		return page, before, malformed("query parameter before is not a cursor this listing gave (take it from next_cursor)")
	}
	if page.Number != 1 {
		return page, before, malformed("query parameter page may not be given with before: the cursor says where the page starts")
	}
	return page, before, nil
}
