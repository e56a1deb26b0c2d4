package http

import (
	"bytes"
	"context"
	"encoding/xml"
	nethttp "net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/projections"
)

// sitemapMaxURLs is how many URLs one sitemap may hold (sitemaps.org). Past it, /sitemap.xml
// is a sitemap index of /sitemap.xml?page=1, 2, …; a variable so that a test can reach it.
var sitemapMaxURLs = 50_000

// sitemapChunk is how many articles a sitemap reads from the view at a time.
const sitemapChunk = 1000

const xmlMediaType = "application/xml; charset=utf-8"

type (
	sitemapURLSet struct {
		XMLName xml.Name     `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 urlset"`
		URLs    []sitemapURL `xml:"url"`
	}
	sitemapURL struct {
		Loc     string `xml:"loc"`
		LastMod string `xml:"lastmod"`
	}
	sitemapIndex struct {
		XMLName  xml.Name         `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 sitemapindex"`
		Sitemaps []sitemapPointer `xml:"sitemap"`
	}
	sitemapPointer struct {
		Loc string `xml:"loc"`
	}
)

// sitemap serves GET /sitemap.xml: every listed article's page (published, and retracted ones,
// whose page is their notice), newest first, with its last change. With more than
// sitemapMaxURLs articles it is an index of pages of sitemapMaxURLs each (?page=n); a page is
// read from its first row by offset, then by cursor, and is kept in the public cache like any
// listing, so its cost is paid once per change of the view, not per crawler.
func (api *pagesAPI) sitemap(c echo.Context) error {
	page := 0 // the whole sitemap, or the index
	if s := c.QueryParam("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1_000_000 {
			return malformed("query parameter page=%q must be a whole number from 1", s)
		}
		page = n
	}
	base := api.base(c)
	key := strings.Join([]string{"sitemap", base, strconv.Itoa(page)}, "\x00")
	a, err := api.cache.list(c.Request().Context(), key, func(ctx context.Context) (renderedAnswer, error) {
		body, err := api.renderSitemap(ctx, base, page)
		return renderedAnswer{body: body, etag: digestETag(body)}, err
	})
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(headerETag, a.etag)
	h.Set("Cache-Control", "public, max-age=60")
	if etagListMatches(c.Request().Header.Values("If-None-Match"), a.etag) {
		return c.NoContent(nethttp.StatusNotModified)
	}
	return c.Blob(nethttp.StatusOK, xmlMediaType, a.body)
}

func (api *pagesAPI) renderSitemap(ctx context.Context, base string, page int) ([]byte, error) {
	// sitemapMaxURLs is a multiple of the chunk, so that a sitemap page starts on a chunk.
	chunk := min(sitemapChunk, sitemapMaxURLs)
	q := projections.PublicQuery{Page: projections.Page{Number: (max(page, 1)-1)*(sitemapMaxURLs/chunk) + 1, PerPage: chunk}}
	list, err := api.articles.List(ctx, q)
	if err != nil {
		return nil, err
	}
	var doc any
	switch {
	case page == 0 && list.Total > sitemapMaxURLs:
		index := sitemapIndex{}
		for n := 1; (n-1)*sitemapMaxURLs < list.Total; n++ {
			index.Sitemaps = append(index.Sitemaps, sitemapPointer{Loc: base + "/sitemap.xml?page=" + strconv.Itoa(n)})
		}
		doc = index
	case page > 1 && len(list.Items) == 0:
		return nil, echo.NewHTTPError(nethttp.StatusNotFound, "no sitemap page this deep")
	default:
		set := sitemapURLSet{URLs: make([]sitemapURL, 0, min(list.Total, sitemapMaxURLs))}
		for {
			for _, a := range list.Items {
				if len(set.URLs) == sitemapMaxURLs {
					break
				}
				set.URLs = append(set.URLs, sitemapURL{Loc: pageURL(base, a.Slug), LastMod: a.UpdatedAt.UTC().Format(time.RFC3339)})
			}
			if list.Next.IsZero() || len(set.URLs) >= sitemapMaxURLs {
				break
			}
			q.Page, q.Before = projections.Page{Number: 1, PerPage: chunk}, list.Next
			if list, err = api.articles.List(ctx, q); err != nil {
				return nil, err
			}
		}
		doc = set
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", " ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// robots serves GET /robots.txt: crawlers may read the pages, not the desk or the APIs, and
// find every page in the sitemap.
func (api *pagesAPI) robots(c echo.Context) error {
	body := "User-agent: *\nAllow: /news\nDisallow: /desk\nDisallow: /api/\n\nSitemap: " + api.base(c) + "/sitemap.xml\n"
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	return c.Blob(nethttp.StatusOK, "text/plain; charset=utf-8", []byte(body))
}
