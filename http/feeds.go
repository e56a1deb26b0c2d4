package http

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	nethttp "net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/projections"
)

// feedSize is how many of the newest public articles a feed holds.
const feedSize = 50

// Media types of the feeds.
const (
	atomMediaType     = "application/atom+xml; charset=utf-8"
	jsonFeedMediaType = "application/feed+json; charset=utf-8"
)

// emptyFeedUpdated is a feed's updated time while it holds no entry: fixed, so that an empty
// feed keeps its ETag.
var emptyFeedUpdated = time.Unix(0, 0).UTC()

type feedsAPI struct {
	articles  PublicArticles
	cache     *PublicCache // nil: every read renders from the view
	publicURL string       // absolute, no trailing slash; empty: from each request
	siteName  string       // the feeds' title and author
	media     MediaImages  // nil: entries show no images
}

// feedRenderVersion names how the feeds are rendered; it is part of their ETags. Bump it with
// any change to what a feed shows of the same articles.
// 2: Atom links each entry to its other published language versions.
// 3: entries link their public page (text/html) first, the JSON API second; the site's name.
// 4: entries carry their main image (Atom enclosure, JSON Feed image) and their inline images.
const feedRenderVersion = "4"

// feed is what both formats render: the newest public articles and the URLs they need.
type feed struct {
	language string // the ?lang= filter, or ""
	tag      string // the ?tag= filter, or ""
	siteName string
	base     string // the public base URL, no trailing slash
	items    []projections.PublicArticle
	sets     map[string][]projections.Translation // the published members of the items' translation sets
	images   map[string]domain.Image              // the items' images, by id
	updated  time.Time                            // the newest entry's updated_at, or emptyFeedUpdated
}

// feedFormat is one of the feeds' formats.
type feedFormat struct {
	name      string
	mediaType string
	render    func(feed) ([]byte, error)
}

// serveFeed answers with a feed, or 304 when the client holds it already. Its cost does not
// depend on the archive's size: the ETag names the versions of the entries the feed shows (the
// feedSize newest), which a conditional request reads from an index alone; the feed itself is
// the newest entries, rendered once and kept in the public cache.
func (api *feedsAPI) serveFeed(c echo.Context, format feedFormat) error {
	lang, err := parseLanguage(c, "lang")
	if err != nil {
		return err
	}
	tag, err := parseTag(c)
	if err != nil {
		return err
	}
	base := publicBase(api.publicURL, c)
	ctx := c.Request().Context()
	key := strings.Join([]string{"feed", format.name, base, lang, tag}, "\x00")
	conditional := c.Request().Header.Values("If-None-Match")
	// A tag's feed has no index-only ETag (Newest walks the listing's index, not a tag's): a
	// conditional request for it is answered from the rendered feed, kept in the cache.
	if len(conditional) > 0 && tag == "" {
		if _, cached := api.cache.fresh(ctx, key); !cached {
			stamps, err := api.articles.Newest(ctx, lang, feedSize)
			if err != nil {
				return err
			}
			sets, err := api.articles.Translations(ctx, setIDs(stamps))
			if err != nil {
				return err
			}
			shown, images, err := api.imagesShown(ctx, stamps)
			if err != nil {
				return err
			}
			if etag := api.feedETag(format.name, base, lang, tag, stamps, sets, shown, images); etagListMatches(conditional, etag) {
				return sendFeed(c, format.mediaType, etag, nil)
			}
		}
	}
	a, err := api.cache.list(ctx, key, func(ctx context.Context) (renderedAnswer, error) {
		list, err := api.articles.List(ctx, projections.PublicQuery{
			Page: projections.Page{Number: 1, PerPage: feedSize}, Language: lang, Tag: tag, Content: true,
		})
		if err != nil {
			return renderedAnswer{}, err
		}
		f := feed{language: lang, tag: tag, siteName: api.siteName, base: base, items: list.Items, updated: emptyFeedUpdated}
		stamps := make([]projections.Stamp, len(list.Items))
		for i, a := range list.Items {
			stamps[i] = projections.Stamp{ID: a.ID, Version: a.Version, SetID: a.SetID}
			if a.UpdatedAt.After(f.updated) {
				f.updated = a.UpdatedAt
			}
		}
		if f.sets, err = api.articles.Translations(ctx, setIDs(stamps)); err != nil {
			return renderedAnswer{}, err
		}
		var refs []domain.MediaRef
		var shown map[string][]string
		if api.media != nil {
			shown = map[string][]string{}
			for _, a := range list.Items {
				refs = append(refs, a.Media...)
				shown[a.ID] = domain.MediaIDs(a.Media)
			}
		}
		if f.images, err = lookupImages(ctx, api.media, refs); err != nil {
			return renderedAnswer{}, err
		}
		body, err := format.render(f)
		return renderedAnswer{body: body, etag: api.feedETag(format.name, base, lang, tag, stamps, f.sets, shown, f.images)}, err
	})
	if err != nil {
		return err
	}
	if etagListMatches(conditional, a.etag) {
		return sendFeed(c, format.mediaType, a.etag, nil)
	}
	return sendFeed(c, format.mediaType, a.etag, a.body)
}

// feedETag names a feed: its format, base URL, language and tag, the site's name, how feeds
// and the published view render, the id and version of each entry, the other published language
// versions each links to, and the words of the images each shows (shown: image ids by article).
// Whatever an entry shows of itself changes its version; its translations change without it
// (another article is published, retracted or killed), and so do its images' caption, credit,
// alt text and copyright (PATCH /api/v1/media/{id}), so they are named apart.
func (api *feedsAPI) feedETag(format, base, lang, tag string, stamps []projections.Stamp, sets map[string][]projections.Translation,
	shown map[string][]string, images map[string]domain.Image) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%d", format, base, lang, tag, api.siteName, feedRenderVersion, publishedVersion)
	for _, s := range stamps {
		fmt.Fprintf(h, "\x00%s:%d", s.ID, s.Version)
		for _, t := range sets[s.SetID] {
			if t.ID != s.ID {
				fmt.Fprintf(h, "\x01%s:%s:%s", t.ID, t.Language, t.Slug)
			}
		}
		for _, id := range shown[s.ID] {
			img, ok := images[id]
			fmt.Fprintf(h, "\x02%s:%t:%q:%q:%q:%q:%t:%d", id, ok, img.Caption, img.Credit, img.Alt, img.Copyright, img.Erased, len(img.Renditions))
		}
	}
	return `"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`
}

// imagesShown reads what the feed's ETag names of the images the entries of stamps show,
// without reading the entries: their image ids from the published view's index of images, their
// words from the media view. Nothing without a media view (the feed shows no image then).
func (api *feedsAPI) imagesShown(ctx context.Context, stamps []projections.Stamp) (map[string][]string, map[string]domain.Image, error) {
	if api.media == nil || len(stamps) == 0 {
		return nil, nil, nil
	}
	ids := make([]string, len(stamps))
	for i, s := range stamps {
		ids[i] = s.ID
	}
	shown, err := api.articles.ImagesShown(ctx, ids)
	if err != nil || len(shown) == 0 {
		return shown, nil, err
	}
	var all []string
	for _, imgs := range shown {
		all = append(all, imgs...)
	}
	images, err := api.media.Images(ctx, all)
	return shown, images, err
}

// setIDs lists the translation sets of stamps.
func setIDs(stamps []projections.Stamp) []string {
	ids := make([]string, 0, len(stamps))
	for _, s := range stamps {
		ids = append(ids, s.SetID)
	}
	return ids
}

// publishedVersion is the published view's version: the HTML of the entries follows its rules.
var publishedVersion = projections.NewPublished(nil).Version()

// publicBase is the public base URL answers link under: --public-url, else the request's.
func publicBase(publicURL string, c echo.Context) string {
	if publicURL != "" {
		return publicURL
	}
	return requestBase(c)
}

// requestBase is the public base URL as the request reached this server. Echo takes the scheme
// from X-Forwarded-Proto only when a proxy on a loopback or private address sends it; net/http
// has already refused a malformed Host.
func requestBase(c echo.Context) string {
	scheme := c.Scheme()
	if scheme != "https" {
		scheme = "http"
	}
	return scheme + "://" + c.Request().Host
}

// url is the address of a feed (or the listing) on the public base, with its filters.
func (f feed) url(path string) string {
	q := url.Values{}
	if f.language != "" {
		q.Set("lang", f.language)
	}
	if f.tag != "" {
		q.Set("tag", f.tag)
	}
	if len(q) == 0 {
		return f.base + path
	}
	return f.base + path + "?" + q.Encode()
}

// homePage is the public page that lists what the feed holds: its tag's, else its language's,
// else the index.
func (f feed) homePage() string {
	switch {
	case f.tag != "":
		return tagURL(f.base, f.tag)
	case f.language != "":
		return f.base + "/news/language/" + url.PathEscape(f.language)
	}
	return f.base + "/news"
}

func (f feed) articleURL(a projections.PublicArticle) string {
	return articleURL(f.base, a.Slug)
}

// pageURL is the article's public page: where a reader following an entry lands.
func (f feed) pageURL(a projections.PublicArticle) string { return pageURL(f.base, a.Slug) }

// entryID is an article's permanent id in every feed: its id (a UUID) as a URN, which no
// change of slug, host or --public-url can move.
func entryID(a projections.PublicArticle) string { return "urn:uuid:" + a.ID }

// retractionNoticeLanguage is the language of retractionNotice, whatever the article's.
const retractionNoticeLanguage = "en"

// retractionNotice is what a retracted article's entry says in place of its text.
func retractionNotice(a projections.PublicArticle) string {
	notice := "This article was retracted on " + a.RetractedAt.UTC().Format("2 January 2006") + "."
	if a.RetractedReason != "" {
		notice += " Reason: " + a.RetractedReason
	}
	return notice
}

func feedTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Atom (RFC 4287). encoding/xml escapes every text and attribute, and replaces characters XML
// cannot hold.
type (
	atomFeed struct {
		XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
		Lang    string      `xml:"http://www.w3.org/XML/1998/namespace lang,attr,omitempty"`
		ID      string      `xml:"id"`
		Title   atomText    `xml:"title"`
		Updated string      `xml:"updated"`
		Links   []atomLink  `xml:"link"`
		Author  atomPerson  `xml:"author"` // required unless every entry has one
		Entries []atomEntry `xml:"entry"`
	}
	atomEntry struct {
		Lang       string         `xml:"http://www.w3.org/XML/1998/namespace lang,attr,omitempty"`
		ID         string         `xml:"id"`
		Title      atomText       `xml:"title"`
		Updated    string         `xml:"updated"`
		Published  string         `xml:"published"`
		Links      []atomLink     `xml:"link"`
		Authors    []atomPerson   `xml:"author"`
		Categories []atomCategory `xml:"category"`
		Summary    *atomText      `xml:"summary"`
		Content    atomText       `xml:"content"`
	}
	atomText struct {
		Type string `xml:"type,attr,omitempty"` // "text" when empty
		Lang string `xml:"http://www.w3.org/XML/1998/namespace lang,attr,omitempty"`
		Text string `xml:",chardata"`
	}
	atomLink struct {
		Rel      string `xml:"rel,attr,omitempty"`
		Type     string `xml:"type,attr,omitempty"`
		Hreflang string `xml:"hreflang,attr,omitempty"`
		Href     string `xml:"href,attr"`
		Length   int64  `xml:"length,attr,omitempty"`
	}
	atomPerson struct {
		Name string `xml:"name"`
	}
	atomCategory struct {
		Term string `xml:"term,attr"`
	}
)

func (f feed) atom() atomFeed {
	self := f.url("/public/v1/feeds/atom.xml")
	out := atomFeed{
		Lang:    f.language,
		ID:      self,
		Title:   atomText{Text: f.title()},
		Updated: feedTime(f.updated),
		Links: []atomLink{
			{Rel: "self", Type: "application/atom+xml", Href: self},
			{Rel: "alternate", Type: "text/html", Href: f.homePage()},
			{Rel: "alternate", Type: "application/json", Href: f.url("/public/v1/articles")},
		},
		Author:  atomPerson{Name: f.siteName},
		Entries: make([]atomEntry, 0, len(f.items)),
	}
	for _, a := range f.items {
		e := atomEntry{
			Lang:      a.Language,
			ID:        entryID(a),
			Title:     atomText{Text: a.Headline},
			Updated:   feedTime(a.UpdatedAt),
			Published: feedTime(a.PublishedAt),
			Links: append([]atomLink{
				{Rel: "alternate", Type: "text/html", Href: f.pageURL(a)},
				{Rel: "alternate", Type: "application/json", Href: f.articleURL(a)},
			}, f.alternates(a)...),
		}
		if img, r, ok := f.mainImage(a); ok {
			// What feed readers show as the entry's picture (RFC 4287 §4.2.7.2).
			e.Links = append(e.Links, atomLink{Rel: "enclosure", Type: r.ContentType, Href: f.mediaHref(img.ID, r.Name), Length: r.Size})
		}
		if a.Byline != "" {
			e.Authors = []atomPerson{{Name: a.Byline}}
		}
		for _, tag := range a.Tags {
			e.Categories = append(e.Categories, atomCategory{Term: tag})
		}
		if a.Status == projections.VisibilityRetracted {
			e.Content = atomText{Type: "text", Lang: retractionNoticeLanguage, Text: retractionNotice(a)}
		} else {
			if a.Summary != "" {
				e.Summary = &atomText{Type: "text", Text: a.Summary}
			}
			e.Content = atomText{Type: "html", Text: f.bodyHTML(a)}
		}
		out.Entries = append(out.Entries, e)
	}
	return out
}

// alternates links an entry to its other published language versions, their pages and their
// JSON. RFC 4287 §4.2.7.2 allows one alternate link per type and hreflang: a language met twice (the entry's own, or two
// versions drafted in one language at once) is linked once, to the first in the set's order.
func (f feed) alternates(a projections.PublicArticle) []atomLink {
	var links []atomLink
	seen := map[string]bool{strings.ToLower(a.Language): true}
	for _, t := range a.OtherVersions(f.sets) {
		if lang := strings.ToLower(t.Language); !seen[lang] {
			seen[lang] = true
			links = append(links, atomLink{Rel: "alternate", Type: "text/html", Hreflang: t.Language, Href: pageURL(f.base, t.Slug)},
				atomLink{Rel: "alternate", Type: "application/json", Hreflang: t.Language, Href: articleURL(f.base, t.Slug)})
		}
	}
	return links
}

// mainImage is an entry's main image, and the rendition a feed shows of it (the one an <img>'s
// src names); none for an article without one, or whose image is erased.
func (f feed) mainImage(a projections.PublicArticle) (domain.Image, domain.Rendition, bool) {
	img, _, ok := mainImage(a, f.images) // the page's rules
	if !ok {
		return domain.Image{}, domain.Rendition{}, false
	}
	return img, projections.SrcRendition(img), true
}

func (f feed) mediaHref(id, name string) string { return publicMediaHref(f.base)(id, name) }

// bodyHTML is an entry's body with its inline images at their public renditions.
func (f feed) bodyHTML(a projections.PublicArticle) string {
	return projections.ResolveImages(a.BodyHTML, a.Media, f.images, publicMediaHref(f.base))
}

func (f feed) title() string {
	var filters []string
	for _, s := range []string{f.language, f.tag} {
		if s != "" {
			filters = append(filters, s)
		}
	}
	if len(filters) > 0 {
		return f.siteName + " (" + strings.Join(filters, ", ") + ")"
	}
	return f.siteName
}

// JSON Feed 1.1 (https://jsonfeed.org/version/1.1).
type (
	jsonFeed struct {
		Version     string         `json:"version"`
		Title       string         `json:"title"`
		HomePageURL string         `json:"home_page_url"`
		FeedURL     string         `json:"feed_url"`
		Language    string         `json:"language,omitempty"`
		Authors     []jsonFeedName `json:"authors"`
		Items       []jsonFeedItem `json:"items"`
	}
	jsonFeedItem struct {
		ID            string         `json:"id"`
		URL           string         `json:"url"`
		Title         string         `json:"title"`
		ContentHTML   *string        `json:"content_html,omitempty"` // one of the two is required,
		ContentText   *string        `json:"content_text,omitempty"` // even when empty
		Summary       string         `json:"summary,omitempty"`
		DatePublished string         `json:"date_published"`
		DateModified  string         `json:"date_modified"`
		Authors       []jsonFeedName `json:"authors,omitempty"`
		Tags          []string       `json:"tags,omitempty"`
		Language      string         `json:"language,omitempty"`
		Image         string         `json:"image,omitempty"` // the main image
	}
	jsonFeedName struct {
		Name string `json:"name"`
	}
)

func (f feed) jsonFeed() jsonFeed {
	out := jsonFeed{
		Version:     "https://jsonfeed.org/version/1.1",
		Title:       f.title(),
		HomePageURL: f.homePage(),
		FeedURL:     f.url("/public/v1/feeds/feed.json"),
		Language:    f.language,
		Authors:     []jsonFeedName{{Name: f.siteName}},
		Items:       make([]jsonFeedItem, 0, len(f.items)),
	}
	for _, a := range f.items {
		it := jsonFeedItem{
			ID:            entryID(a),
			URL:           f.pageURL(a),
			Title:         a.Headline,
			DatePublished: feedTime(a.PublishedAt),
			DateModified:  feedTime(a.UpdatedAt),
			Tags:          a.Tags,
			Language:      a.Language,
		}
		if a.Byline != "" {
			it.Authors = []jsonFeedName{{Name: a.Byline}}
		}
		if a.Status == projections.VisibilityRetracted {
			notice := retractionNotice(a)
			it.ContentText = &notice
		} else {
			html := f.bodyHTML(a)
			it.ContentHTML, it.Summary = &html, a.Summary
			if img, r, ok := f.mainImage(a); ok {
				it.Image = f.mediaHref(img.ID, r.Name)
			}
		}
		out.Items = append(out.Items, it)
	}
	return out
}

var (
	atomFormat = feedFormat{name: "atom", mediaType: atomMediaType, render: func(f feed) ([]byte, error) {
		var buf bytes.Buffer
		buf.WriteString(xml.Header)
		enc := xml.NewEncoder(&buf)
		enc.Indent("", "  ")
		if err := enc.Encode(f.atom()); err != nil {
			return nil, err
		}
		buf.WriteByte('\n')
		return buf.Bytes(), nil
	}}
	jsonFeedFormat = feedFormat{name: "json", mediaType: jsonFeedMediaType, render: func(f feed) ([]byte, error) {
		return json.Marshal(f.jsonFeed())
	}}
)

func (api *feedsAPI) atom(c echo.Context) error { return api.serveFeed(c, atomFormat) }

func (api *feedsAPI) json(c echo.Context) error { return api.serveFeed(c, jsonFeedFormat) }

// sendFeed answers with the feed named tag, or with 304 when body is nil.
func sendFeed(c echo.Context, mediaType, tag string, body []byte) error {
	h := c.Response().Header()
	h.Set(headerETag, tag)
	h.Set("Cache-Control", "public, max-age=30")
	if body == nil {
		return c.NoContent(nethttp.StatusNotModified)
	}
	return c.Blob(nethttp.StatusOK, mediaType, body)
}
