package http

import (
	"context"
	nethttp "net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/search"
)

// highlightsJSON is what a search result adds to an article: escaped HTML whose only tags are
// <mark> and </mark>, around the words the query found.
type highlightsJSON struct {
	Headline string `json:"headline"`
	Snippet  string `json:"snippet"`
}

type deskHitJSON struct {
	articleJSON
	Highlights highlightsJSON `json:"highlights"`
}

type publicHitJSON struct {
	publicArticleJSON
	Highlights highlightsJSON `json:"highlights"`
}

// deskSearchParams are the query parameters that make a desk listing a search.
var deskSearchParams = []string{"q", "author", "tag", "language", "updated_after", "updated_before", "sort"}

func isDeskSearch(c echo.Context) bool {
	query := c.QueryParams()
	for _, p := range deskSearchParams {
		if _, ok := query[p]; ok {
			return true
		}
	}
	return false
}

// deskOrSearch waits for the desk view, or for the search view when the listing is a search,
// before a read that asked for a position (min_position).
func deskOrSearch(desk, search echo.MiddlewareFunc) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		viaDesk, viaSearch := desk(next), search(next)
		return func(c echo.Context) error {
			if isDeskSearch(c) {
				return viaSearch(c)
			}
			return viaDesk(c)
		}
	}
}

// parseQuery reads q: required where words are, a 400 naming what is wrong otherwise.
func parseQuery(c echo.Context, required bool) (*search.Query, error) {
	raw, given := c.QueryParams()["q"]
	if !given {
		if required {
			return nil, malformed("query parameter q is required: the words to search for")
		}
		return nil, nil
	}
	if len(raw) > 1 {
		return nil, malformed("query parameter q is given %d times; give it once", len(raw))
	}
	q, err := search.Parse(raw[0])
	if err != nil {
		return nil, err
	}
	return &q, nil
}

// parseSort reads sort: relevance (the default) or date.
func parseSort(c echo.Context) (byDate bool, err error) {
	switch s := c.QueryParam("sort"); s {
	case "", "relevance":
		return false, nil
	case "date":
		return true, nil
	default:
		return false, malformed("query parameter sort=%q must be relevance or date", s)
	}
}

// parseSearchPage reads page and per_page of a search: page numbers only, up to
// projections.MaxOffset results deep (a search is narrowed by words, not walked).
func parseSearchPage(c echo.Context) (projections.Page, error) {
	if c.QueryParam("before") != "" {
		return projections.Page{}, malformed("query parameter before is for listings; a search pages with page=")
	}
	page, err := parsePage(c)
	if err != nil {
		return page, err
	}
	if (page.Number-1)*page.PerPage > projections.MaxOffset {
		return page, malformed("query parameter page=%d skips more than %d results; narrow the search", page.Number, projections.MaxOffset)
	}
	return page, nil
}

func parseLanguage(c echo.Context, name string) (string, error) {
	lang := c.QueryParam(name)
	if lang != "" && !domain.ValidLanguage(lang) {
		return "", malformed("query parameter %s=%q is not a BCP 47 language tag (for example en, fr, pt-BR)", name, lang)
	}
	return lang, nil
}

func parseTag(c echo.Context) (string, error) {
	tag := domain.NormalizeTag(c.QueryParam("tag"))
	if len(tag) > 4*domain.MaxTag {
		return "", malformed("query parameter tag is longer than any tag can be")
	}
	return tag, nil
}

func parseTimeParam(c echo.Context, name string) (time.Time, error) {
	s := c.QueryParam(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, malformed("query parameter %s=%q must be an RFC 3339 time, such as 2026-03-02T09:00:00Z", name, s)
	}
	return t, nil
}

// deskSearch serves the desk's search: words (q) over every article's headline, summary, body,
// tags and byline, in any state but killed, and the filters; most relevant first, or newest
// change first (sort=date, and always without words).
func (api *editorsAPI) deskSearch(c echo.Context) error {
	if api.search == nil {
		return malformed("search is not served by this instance")
	}
	var q projections.DeskSearch
	var err error
	if q.Query, err = parseQuery(c, false); err != nil {
		return err
	}
	if q.Page, err = parseSearchPage(c); err != nil {
		return err
	}
	if s := c.QueryParam("status"); s != "" {
		q.Status = domain.Status(s)
		if !q.Status.Valid() {
			return malformed("query parameter status=%q is not a status; use one of %s", s, statusNames())
		}
	}
	q.Author = c.QueryParam("author")
	if q.Language, err = parseLanguage(c, "language"); err != nil {
		return err
	}
	if q.Tag, err = parseTag(c); err != nil {
		return err
	}
	if q.UpdatedAfter, err = parseTimeParam(c, "updated_after"); err != nil {
		return err
	}
	if q.UpdatedBefore, err = parseTimeParam(c, "updated_before"); err != nil {
		return err
	}
	if q.ByDate, err = parseSort(c); err != nil {
		return err
	}
	hits, err := api.search.Desk(c.Request().Context(), q)
	if err != nil {
		return err
	}
	out := pageJSON[deskHitJSON]{Items: make([]deskHitJSON, len(hits.Items)), Page: q.Page.Number, PerPage: q.Page.PerPage, Total: hits.Total}
	for i, h := range hits.Items {
		item := articleFrom(h.Article)
		item.Body, item.Media = nil, nil // as the desk's list: GET the article for them
		out.Items[i] = deskHitJSON{articleJSON: item, Highlights: highlightsJSON{Headline: h.Highlights.Headline, Snippet: h.Highlights.Snippet}}
	}
	out.Next = nextSearchPage(c, "/api/v1/articles", q.Page, hits.Total)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(nethttp.StatusOK, out)
}

// nextSearchPage is the address of the page after this one, with the same parameters; empty on
// the last page.
func nextSearchPage(c echo.Context, path string, page projections.Page, total int) string {
	if page.Number*page.PerPage >= total || page.Number*page.PerPage > projections.MaxOffset {
		return ""
	}
	next := url.Values{}
	for k, v := range c.QueryParams() {
		if k != "min_position" {
			next[k] = v
		}
	}
	next.Set("page", strconv.Itoa(page.Number+1))
	next.Set("per_page", strconv.Itoa(page.PerPage))
	return path + "?" + next.Encode()
}

type publicSearchAPI struct {
	search Searches
	cache  *PublicCache // nil: every search reads the view
}

// find serves the public search: published articles and retraction notices only.
func (api *publicSearchAPI) find(c echo.Context) error {
	var q projections.PublicSearch
	parsed, err := parseQuery(c, true)
	if err != nil {
		return err
	}
	q.Query = *parsed
	if q.Page, err = parseSearchPage(c); err != nil {
		return err
	}
	if q.Language, err = parseLanguage(c, "lang"); err != nil {
		return err
	}
	if q.Tag, err = parseTag(c); err != nil {
		return err
	}
	if q.ByDate, err = parseSort(c); err != nil {
		return err
	}
	key := strings.Join([]string{"search", c.QueryParam("q"), strconv.Itoa(q.Page.Number), strconv.Itoa(q.Page.PerPage),
		q.Language, q.Tag, strconv.FormatBool(q.ByDate)}, "\x00")
	a, err := api.cache.list(c.Request().Context(), key, func(ctx context.Context) (renderedAnswer, error) {
		hits, err := api.search.Public(ctx, q)
		if err != nil {
			return renderedAnswer{}, err
		}
		out := pageJSON[publicHitJSON]{Items: make([]publicHitJSON, len(hits.Items)), Page: q.Page.Number, PerPage: q.Page.PerPage, Total: hits.Total}
		for i, h := range hits.Items {
			out.Items[i] = publicHitJSON{publicArticleJSON: publicArticleFrom(h.Article, false),
				Highlights: highlightsJSON{Headline: h.Highlights.Headline, Snippet: h.Highlights.Snippet}}
		}
		out.Next = nextSearchPage(c, "/public/v1/search", q.Page, hits.Total)
		body, err := renderJSON(out)
		return renderedAnswer{body: body}, err
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=10")
	return c.JSONBlob(nethttp.StatusOK, a.body)
}
