package http

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	nethttp "net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/projections"
)

// The public pages: the published view as HTML for readers, search engines and link previews,
// under /news. They read what the public JSON reads, through the same cache, and answer with
// the same discipline (ETag, 304, max-age, min_position); only their bytes differ.

// pagesPerPage is how many articles an index page lists.
const pagesPerPage = 20

// htmlMediaType is the media type of every page.
const htmlMediaType = "text/html; charset=utf-8"

// Every page's ETag holds a digest of its bytes: a change in how pages render is a new ETag
// without a version to bump.

type pagesAPI struct {
	articles  PublicArticles
	cache     *PublicCache // nil: every read renders from the view
	publicURL string       // absolute, no trailing slash; empty: from each request
	siteName  string
	media     MediaImages // nil: pages show no images
}

// base is the public base URL pages link under.
func (api *pagesAPI) base(c echo.Context) string {
	return publicBase(api.publicURL, c)
}

// toNewsIndex sends a reader to the index of the public pages.
func toNewsIndex(c echo.Context) error { return c.Redirect(nethttp.StatusMovedPermanently, "/news") }

// newsIndexWithSlash sends /news/ to the index before Echo routes it: as a route of its own it
// would be one the OpenAPI document's validator takes /news for, and as Echo middleware before
// routing (Pre) it would cost every request a closure. The redirect is the one answer that
// does not reach Echo: it carries no X-Request-Id and is not counted in the metrics.
func newsIndexWithSlash(next nethttp.Handler) nethttp.Handler {
	return nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		if r.URL.Path == "/news/" && (r.Method == nethttp.MethodGet || r.Method == nethttp.MethodHead) {
			nethttp.Redirect(w, r, "/news", nethttp.StatusMovedPermanently)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// article serves GET /news/{slug}.
func (api *pagesAPI) article(c echo.Context) error {
	slug, base := c.Param("slug"), api.base(c)
	// Kept apart from the JSON answer for the same slug (whose key is base, slug).
	key := "page\x00" + base + "\x00" + slug
	a, err := api.cache.article(c.Request().Context(), key, func(ctx context.Context) (renderedAnswer, error) {
		art, err := api.articles.BySlug(ctx, slug)
		if err != nil {
			return renderedAnswer{}, err
		}
		images, err := lookupImages(ctx, api.media, art.Media)
		if err != nil {
			return renderedAnswer{}, err
		}
		body, err := renderPage(api.articlePage(base, art, images))
		return renderedAnswer{body: body, etag: publicETag(art.Version, body), articleID: art.ID, setID: art.SetID}, err
	})
	if err != nil {
		return api.failed(c, err)
	}
	return sendPage(c, a)
}

// listing is what an index page lists: every article, one tag's or one language's.
type listing struct {
	path     string // the page's own path, unescaped parts escaped
	heading  string
	tag      string
	language string
}

// index serves GET /news.
func (api *pagesAPI) index(c echo.Context) error {
	return api.list(c, listing{path: "/news", heading: "Latest"})
}

// tag serves GET /news/tag/{tag}.
func (api *pagesAPI) tag(c echo.Context) error {
	tag := domain.NormalizeTag(pathParam(c, "tag"))
	if tag == "" || len(tag) > 4*domain.MaxTag {
		return api.failed(c, projections.ErrNotPublic)
	}
	return api.list(c, listing{path: "/news/tag/" + url.PathEscape(tag), heading: "Tagged " + tag, tag: tag})
}

// language serves GET /news/language/{lang}.
func (api *pagesAPI) language(c echo.Context) error {
	lang := pathParam(c, "lang")
	if !domain.ValidLanguage(lang) {
		return api.failed(c, projections.ErrNotPublic)
	}
	return api.list(c, listing{path: "/news/language/" + url.PathEscape(lang), heading: "In " + lang, language: lang})
}

func (api *pagesAPI) list(c echo.Context, l listing) error {
	page := 1
	if s := c.QueryParam("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || (n-1)*pagesPerPage > projections.MaxOffset {
			return api.failed(c, malformed("query parameter page=%q must be a whole number from 1 to %d", s, projections.MaxOffset/pagesPerPage+1))
		}
		page = n
	}
	base := api.base(c)
	key := strings.Join([]string{"page-list", base, l.path, strconv.Itoa(page)}, "\x00")
	a, err := api.cache.list(c.Request().Context(), key, func(ctx context.Context) (renderedAnswer, error) {
		list, err := api.articles.List(ctx, projections.PublicQuery{
			Page: projections.Page{Number: page, PerPage: pagesPerPage}, Language: l.language, Tag: l.tag})
		if err != nil {
			return renderedAnswer{}, err
		}
		if len(list.Items) == 0 && page > 1 {
			return renderedAnswer{}, projections.ErrNotPublic
		}
		// Past MaxOffset a page number may not reach: the listing's end for these pages (the
		// sitemap lists every article).
		more := !list.Next.IsZero() && page*pagesPerPage <= projections.MaxOffset
		body, err := renderPage(api.listPage(base, l, page, list.Items, more))
		return renderedAnswer{body: body, etag: digestETag(body)}, err
	})
	if err != nil {
		return api.failed(c, err)
	}
	return sendPage(c, a)
}

// pathParam is a path parameter as the reader wrote it. Echo routes on the escaped path when
// it holds an escape that the plain path cannot say (a tag with "/" in it), and then hands
// over parameters escaped.
func pathParam(c echo.Context, name string) string {
	v := c.Param(name)
	if c.Request().URL.RawPath == "" {
		return v
	}
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}

// digestETag names an answer by its bytes alone.
func digestETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// sendPage answers with a page, or 304 when the client holds it already.
func sendPage(c echo.Context, a renderedAnswer) error {
	h := c.Response().Header()
	h[keyETag] = []string{a.etag}
	h[keyCacheControl] = publicAnswerCache
	if inm := c.Request().Header[ifNoneMatch]; len(inm) > 0 && etagListMatches(inm, a.etag) {
		return c.NoContent(nethttp.StatusNotModified)
	}
	// With its length, a page goes out in one piece rather than chunked (a write and a final
	// empty chunk).
	h[keyContentLength] = []string{strconv.Itoa(len(a.body))}
	h[keyContentType] = htmlContentType
	c.Response().WriteHeader(nethttp.StatusOK)
	_, err := c.Response().Write(a.body)
	return err
}

// Header values of every page (see http/media.go's): net/http only reads them.
var (
	publicAnswerCache = []string{publicCacheControl}
	htmlContentType   = []string{htmlMediaType}
)

// failed answers a page's refusal as a page: a reader's browser shows it. Not found, gone
// (a killed article: no-store, as its JSON) and a malformed address are pages; anything else
// (a database that does not answer, a failure) goes to the error handler, which logs it and
// answers a problem.
func (api *pagesAPI) failed(c echo.Context, err error) error {
	p, known := problemFor(err)
	if !known || p.Status != nethttp.StatusNotFound && p.Status != nethttp.StatusGone && p.Status != nethttp.StatusBadRequest {
		return err
	}
	if errors.Is(err, projections.ErrNotPublic) || errors.Is(err, domain.ErrNotFound) {
		p.Detail = "There is no article at this address."
	}
	if errors.Is(err, projections.ErrKilled) {
		p.Detail = "The article at this address was withdrawn and will not come back."
	}
	if p.Status == nethttp.StatusGone {
		c.Response().Header().Set("Cache-Control", "no-store")
	}
	body, rerr := renderPage(api.errorPage(api.base(c), p))
	if rerr != nil {
		return rerr
	}
	return c.Blob(p.Status, htmlMediaType, body)
}
