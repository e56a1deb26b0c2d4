package http

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	nethttp "net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/projections"
)

// Paging limits of every listing.
const (
	defaultPerPage = 20
	maxPerPage     = 100
)

type publicAPI struct {
	publicStream PublicStream
	frames       *sseFrames
	closing      <-chan struct{}
	articles     PublicArticles
	rendered     *renderedArticles // nil: every read renders from the view
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

	Corrections []correctionJSON `json:"corrections,omitempty"`
	Retraction  *retractionJSON  `json:"retraction,omitempty"`
}

type correctionJSON struct {
	Note        string    `json:"note"`
	CorrectedAt time.Time `json:"corrected_at"`
}

type retractionJSON struct {
	Reason      string    `json:"reason"`
	RetractedAt time.Time `json:"retracted_at"`
}

func publicArticleFrom(a projections.PublicArticle, withBody bool) publicArticleJSON {
	out := publicArticleJSON{
		ID: a.ID, Slug: a.Slug, Status: a.Status, Version: a.Version,
		Headline: a.Headline, Summary: a.Summary, Language: a.Language, Byline: a.Byline,
		Dateline: a.Dateline, Tags: a.Tags, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
		PublishedAt: a.PublishedAt,
	}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	if withBody {
		out.Body, out.BodyHTML = a.Body, a.BodyHTML
	}
	for _, c := range a.Corrections {
		out.Corrections = append(out.Corrections, correctionJSON{Note: c.Note, CorrectedAt: c.At})
	}
	if a.Status == projections.VisibilityRetracted {
		out.Retraction = &retractionJSON{Reason: a.RetractedReason, RetractedAt: a.RetractedAt}
	}
	return out
}

type pageJSON[T any] struct {
	Items   []T `json:"items"`
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
	Total   int `json:"total"`
}

func (api *publicAPI) list(c echo.Context) error {
	page, err := parsePage(c)
	if err != nil {
		return err
	}
	q := projections.PublicQuery{Page: page, Language: c.QueryParam("lang"), Tag: c.QueryParam("tag")}
	if q.Language != "" && !domain.ValidLanguage(q.Language) {
		return malformed("query parameter lang=%q is not a BCP 47 language tag (for example en, fr, pt-BR)", q.Language)
	}
	if len(q.Tag) > 4*domain.MaxTag {
		return malformed("query parameter tag is longer than any tag can be")
	}
	items, total, err := api.articles.List(c.Request().Context(), q)
	if err != nil {
		return err
	}
	out := pageJSON[publicArticleJSON]{Items: make([]publicArticleJSON, len(items)), Page: page.Number, PerPage: page.PerPage, Total: total}
	for i, a := range items {
		out.Items[i] = publicArticleFrom(a, false)
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=10")
	return c.JSON(nethttp.StatusOK, out)
}

func (api *publicAPI) get(c echo.Context) error {
	a, err := api.rendered.get(c.Request().Context(), c.Param("slug"), api.render)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(headerETag, a.etag)
	h.Set("Cache-Control", "public, max-age=10")
	if etagListMatches(c.Request().Header.Values("If-None-Match"), a.etag) {
		return c.NoContent(nethttp.StatusNotModified)
	}
	return c.JSONBlob(nethttp.StatusOK, a.body)
}

// render reads the published article with that slug and renders it.
func (api *publicAPI) render(ctx context.Context, slug string) (renderedArticle, error) {
	a, err := api.articles.BySlug(ctx, slug)
	if err != nil {
		return renderedArticle{}, err
	}
	body, err := renderJSON(publicArticleFrom(a, true))
	return renderedArticle{body: body, etag: publicETag(a.Version, body)}, err
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
