package http

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/projections"
)

// pageArticles is a published view in memory, newest first, for the pages' handler tests.
type pageArticles struct {
	items  []projections.PublicArticle // listed, newest first
	killed []string                    // slugs
	lists  int
}

func (p *pageArticles) matching(q projections.PublicQuery) []projections.PublicArticle {
	var out []projections.PublicArticle
	for _, a := range p.items {
		if (q.Language == "" || a.Language == q.Language) && (q.Tag == "" || slices.Contains(a.Tags, q.Tag)) {
			out = append(out, a)
		}
	}
	return out
}

// List pages by offset, or after a cursor whose ID is the index of the last item shown.
func (p *pageArticles) List(_ context.Context, q projections.PublicQuery) (projections.PublicList, error) {
	p.lists++
	all := p.matching(q)
	from := (q.Page.Number - 1) * q.Page.PerPage
	if !q.Before.IsZero() {
		n, _ := strconv.Atoi(q.Before.ID)
		from = n + 1
	}
	from = min(from, len(all))
	to := min(from+q.Page.PerPage, len(all))
	out := projections.PublicList{Items: all[from:to], Total: len(all)}
	if to < len(all) {
		out.Next = projections.Cursor{At: "at", ID: strconv.Itoa(to - 1)}
	}
	return out, nil
}

func (p *pageArticles) BySlug(_ context.Context, slug string) (projections.PublicArticle, error) {
	if slices.Contains(p.killed, slug) {
		return projections.PublicArticle{}, projections.ErrKilled
	}
	for _, a := range p.items {
		if a.Slug == slug {
			sets, _ := p.Translations(context.Background(), []string{a.SetID})
			a.Translations = a.OtherVersions(sets)
			return a, nil
		}
	}
	return projections.PublicArticle{}, projections.ErrNotPublic
}

func (p *pageArticles) Translations(_ context.Context, setIDs []string) (map[string][]projections.Translation, error) {
	out := map[string][]projections.Translation{}
	for _, a := range p.items {
		if a.Status == projections.VisibilityPublished && a.SetID != "" && slices.Contains(setIDs, a.SetID) {
			out[a.SetID] = append(out[a.SetID], projections.Translation{ID: a.ID, SetID: a.SetID, Language: a.Language, Slug: a.Slug})
		}
	}
	return out, nil
}

func (p *pageArticles) Newest(context.Context, string, int) ([]projections.Stamp, error) {
	return nil, nil
}

func (p *pageArticles) ImagesShown(context.Context, []string) (map[string][]string, error) {
	return nil, nil
}

const hostileHeadline = `Ministers </script><script>alert("x")</script> & <!-- meet`

func pageFixture() *pageArticles {
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	const set = "0b8f0f8e-8a6e-4b0e-9a43-5b2f6c1d2e3f"
	return &pageArticles{killed: []string{"killed-one"}, items: []projections.PublicArticle{
		{ID: "r1", Slug: "withdrawn", Status: projections.VisibilityRetracted, Version: 4, Headline: "Withdrawn statement",
			Language: "en", PublishedAt: at.Add(-time.Hour), UpdatedAt: at, RetractedAt: at, RetractedReason: "Issued in error."},
		{ID: set, SetID: set, Slug: "ministers-meet", Status: projections.VisibilityPublished, Version: 3, Headline: hostileHeadline,
			Summary: `Summary <b>bold</b>`, BodyHTML: `<p>Leaders <strong>met</strong>.</p>`, Language: "en", Byline: "NATO Press Office",
			Dateline: "BRUSSELS", Tags: []string{"nato", "a b/c"}, PublishedAt: at.Add(-2 * time.Hour), UpdatedAt: at.Add(-time.Minute),
			Corrections: []domain.Correction{{Note: "The date was wrong.", At: at.Add(-time.Minute)}}},
		{ID: "ar1", SetID: set, Slug: "ministers-meet-ar", Status: projections.VisibilityPublished, Version: 1, Headline: "اجتماع الوزراء",
			BodyHTML: "<p>نص</p>", Language: "ar", PublishedAt: at.Add(-3 * time.Hour), UpdatedAt: at.Add(-3 * time.Hour)},
	}}
}

func getPage(t *testing.T, cfg Config, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	return getFeed(t, New(cfg), target, header...)
}

// jsonLDOf returns the text of the page's JSON-LD block, from its opening tag to the first
// </script> that follows, as a browser's parser cuts it.
func jsonLDOf(t *testing.T, page string) string {
	t.Helper()
	const open = `<script type="application/ld+json">`
	i := strings.Index(page, open)
	if i < 0 {
		t.Fatalf("no JSON-LD block in\n%s", page)
	}
	rest := page[i+len(open):]
	end := strings.Index(strings.ToLower(rest), "</script")
	if end < 0 {
		t.Fatalf("the JSON-LD block does not end")
	}
	return rest[:end]
}

func TestArticlePage(t *testing.T) {
	articles := pageFixture()
	cfg := Config{Public: articles, PublicURL: "https://news.example.org/", SiteName: "Example News"}
	rec := getPage(t, cfg, "/news/ministers-meet")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /news/ministers-meet = %d %s; want 200 text/html\n%s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	page := rec.Body.String()
	for _, want := range []string{
		`<html lang="en" dir="ltr">`,
		`<meta name="viewport" content="width=device-width, initial-scale=1">`,
		`<link rel="canonical" href="https://news.example.org/news/ministers-meet">`,
		`<link rel="alternate" hreflang="en" href="https://news.example.org/news/ministers-meet">`,
		`<link rel="alternate" hreflang="ar" href="https://news.example.org/news/ministers-meet-ar">`,
		`<link rel="alternate" type="application/atom&#43;xml" title="Example News (en) (Atom)" href="https://news.example.org/public/v1/feeds/atom.xml?lang=en">`,
		`<meta property="og:type" content="article">`,
		`<meta property="og:url" content="https://news.example.org/news/ministers-meet">`,
		`<meta property="og:site_name" content="Example News">`,
		`<meta property="og:description" content="Summary &lt;b&gt;bold&lt;/b&gt;">`,
		`<meta property="article:published_time" content="2026-12-06T07:00:00Z">`,
		`<meta name="twitter:card" content="summary">`,
		`<main>`, `<article>`,
		`<h1>Ministers &lt;/script&gt;&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;!-- meet</h1>`,
		`<div class="body"><p>Leaders <strong>met</strong>.</p></div>`,
		`<span class="byline">NATO Press Office</span>`, `<span class="dateline">BRUSSELS</span>`,
		`<span class="published">Published <time datetime="2026-12-06T07:00:00Z">6 December 2026, 07:00 UTC</time>`,
		`Updated <time datetime="2026-12-06T08:59:00Z">`,
		`<li class="correction"><time datetime="2026-12-06T08:59:00Z">6 December 2026, 08:59 UTC</time>: The date was wrong.</li>`,
		`<a href="https://news.example.org/news/tag/a%20b%2Fc" rel="tag">a b/c</a>`,
		`<title>Ministers &lt;/script&gt;&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;!-- meet – Example News</title>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s\n%s", want, page)
		}
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, `class="notice retraction"`) || strings.Contains(page, `class="main-image"`) {
		t.Errorf("the page holds a script tag, a retraction notice or an empty image slot:\n%s", page)
	}
	if n := strings.Count(page, "<script"); n != 1 {
		t.Errorf("the page has %d script elements; want only the JSON-LD", n)
	}

	var ld map[string]any
	if err := json.Unmarshal([]byte(jsonLDOf(t, page)), &ld); err != nil {
		t.Fatalf("the JSON-LD does not parse: %v\n%s", err, jsonLDOf(t, page))
	}
	author, _ := ld["author"].(map[string]any)
	publisher, _ := ld["publisher"].(map[string]any)
	if ld["@context"] != "https://schema.org" || ld["@type"] != "NewsArticle" || ld["headline"] != hostileHeadline ||
		ld["datePublished"] != "2026-12-06T07:00:00Z" || ld["dateModified"] != "2026-12-06T08:59:00Z" ||
		author["name"] != "NATO Press Office" || publisher["name"] != "Example News" || ld["mainEntityOfPage"] != "https://news.example.org/news/ministers-meet" {
		t.Errorf("JSON-LD = %v; want the NewsArticle with the headline, dates, byline as author, site as publisher", ld)
	}

	// Arabic: right to left; no byline: the site is the author.
	rec = getPage(t, cfg, "/news/ministers-meet-ar")
	page = rec.Body.String()
	if !strings.Contains(page, `<html lang="ar" dir="rtl">`) || !strings.Contains(page, `<a href="https://news.example.org/news/ministers-meet" hreflang="en" lang="en">`) {
		t.Errorf("the Arabic page lacks lang/dir or its link to the English version:\n%s", page)
	}
	// The pages' own words are English, marked so on a page in another language.
	if !strings.Contains(page, `<span class="published" lang="en">Published <time`) || !strings.Contains(page, `<footer class="site" lang="en">`) {
		t.Errorf("the Arabic page does not mark its English words lang=\"en\":\n%s", page)
	}
	if err := json.Unmarshal([]byte(jsonLDOf(t, page)), &ld); err != nil {
		t.Fatal(err)
	}
	if author, _ := ld["author"].(map[string]any); author["name"] != "Example News" || author["@type"] != "Organization" {
		t.Errorf("the author of an article without a byline = %v; want the site", ld["author"])
	}
}

func TestArticlePageRetractedKilledUnknown(t *testing.T) {
	cfg := Config{Public: pageFixture()}
	rec := getPage(t, cfg, "/news/withdrawn")
	page := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(page, `<aside class="notice retraction" role="note">`) ||
		!strings.Contains(page, "Reason: Issued in error.") || strings.Contains(page, `class="body"`) {
		t.Errorf("retracted = %d; want 200, the notice with its reason, no body\n%s", rec.Code, page)
	}
	if !strings.Contains(page, `<link rel="canonical" href="http://example.com/news/withdrawn">`) {
		t.Errorf("without --public-url the canonical link is not on the request's host:\n%s", page)
	}

	for _, tt := range []struct {
		path, method string
		status       int
		cacheControl string
		text         string
	}{
		{"/news/killed-one", "GET", 410, "no-store", "withdrawn"},
		{"/news/killed-one", "HEAD", 410, "no-store", ""},
		{"/news/never-was", "GET", 404, "", "no article at this address"},
		{"/news/tag/nothing-here?page=2", "GET", 404, "", "no article"},
		{"/news/language/not%20a%20tag", "GET", 404, "", "no article"},
		{"/news?page=zero", "GET", 400, "", "page"},
	} {
		req := httptest.NewRequest(tt.method, tt.path, nil)
		rec := httptest.NewRecorder()
		New(cfg).ServeHTTP(rec, req)
		if rec.Code != tt.status || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" || rec.Header().Get("Cache-Control") != tt.cacheControl {
			t.Errorf("%s %s = %d %s, Cache-Control %q; want %d text/html, %q", tt.method, tt.path, rec.Code,
				rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"), tt.status, tt.cacheControl)
		}
		if body := rec.Body.String(); !strings.Contains(strings.ToLower(body), tt.text) || tt.text != "" && !strings.Contains(body, `<meta name="robots" content="noindex">`) {
			t.Errorf("%s %s: body lacks %q or noindex:\n%s", tt.method, tt.path, tt.text, body)
		}
	}
}

func TestIndexPaging(t *testing.T) {
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	articles := &pageArticles{}
	for i := range 45 {
		articles.items = append(articles.items, projections.PublicArticle{ID: fmt.Sprint(i), Slug: fmt.Sprintf("a-%d", i),
			Status: projections.VisibilityPublished, Headline: fmt.Sprintf("Headline %d", i), Language: "en",
			PublishedAt: at.Add(-time.Duration(i) * time.Minute), UpdatedAt: at})
	}
	cfg := Config{Public: articles, PublicURL: "https://n.example"}
	headlines := regexp.MustCompile(`<h2><a href="https://n.example/news/a-\d+">Headline (\d+)</a></h2>`)
	for _, tt := range []struct {
		target          string
		first, n        string
		prev, next, can string
	}{
		{"/news", "0", "20", "", "https://n.example/news?page=2", "https://n.example/news"},
		{"/news?page=2", "20", "20", "https://n.example/news", "https://n.example/news?page=3", "https://n.example/news?page=2"},
		{"/news?page=3", "40", "5", "https://n.example/news?page=2", "", "https://n.example/news?page=3"},
	} {
		rec := getPage(t, cfg, tt.target)
		page := rec.Body.String()
		found := headlines.FindAllStringSubmatch(page, -1)
		if rec.Code != 200 || fmt.Sprint(len(found)) != tt.n || found[0][1] != tt.first {
			t.Errorf("GET %s = %d with %d articles from %v; want %s from %s", tt.target, rec.Code, len(found), found, tt.n, tt.first)
		}
		for rel, href := range map[string]string{"prev": tt.prev, "next": tt.next} {
			link := fmt.Sprintf(`<link rel="%s" href="%s">`, rel, href)
			if href != "" && !strings.Contains(page, link) || href == "" && strings.Contains(page, `<link rel="`+rel+`"`) {
				t.Errorf("GET %s: %s link; want %q\n%s", tt.target, rel, href, page)
			}
		}
		if !strings.Contains(page, `<link rel="canonical" href="`+tt.can+`">`) {
			t.Errorf("GET %s: canonical; want %s", tt.target, tt.can)
		}
	}
	if rec := getPage(t, cfg, "/news?page=4"); rec.Code != 404 {
		t.Errorf("GET /news?page=4 (past the end) = %d; want 404", rec.Code)
	}
}

func TestTagAndLanguagePages(t *testing.T) {
	cfg := Config{Public: pageFixture(), PublicURL: "https://n.example"}
	rec := getPage(t, cfg, "/news/tag/a%20b%2Fc")
	page := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(page, `href="https://n.example/news/ministers-meet"`) || strings.Contains(page, "withdrawn") ||
		!strings.Contains(page, `<link rel="alternate" type="application/atom&#43;xml" title="newsroom (a b/c) (Atom)" href="https://n.example/public/v1/feeds/atom.xml?tag=a&#43;b%2Fc">`) ||
		!strings.Contains(page, `<link rel="alternate" type="application/feed&#43;json" title="newsroom (a b/c) (JSON Feed)" href="https://n.example/public/v1/feeds/feed.json?tag=a&#43;b%2Fc">`) {
		t.Errorf("GET /news/tag/a%%20b%%2Fc = %d; want the tagged article alone and the tag's feeds\n%s", rec.Code, page)
	}
	rec = getPage(t, cfg, "/news/language/ar")
	page = rec.Body.String()
	if rec.Code != 200 || !strings.Contains(page, `<html lang="ar" dir="rtl">`) || !strings.Contains(page, "ministers-meet-ar") ||
		strings.Contains(page, `href="https://n.example/news/ministers-meet"`) ||
		!strings.Contains(page, `href="https://n.example/public/v1/feeds/atom.xml?lang=ar"`) {
		t.Errorf("GET /news/language/ar = %d; want the Arabic article alone, rtl, and the language's feeds\n%s", rec.Code, page)
	}
	rec = getPage(t, cfg, "/news")
	page = rec.Body.String()
	if !strings.Contains(page, `<link rel="alternate" type="application/atom&#43;xml" title="newsroom (Atom)" href="https://n.example/public/v1/feeds/atom.xml">`) ||
		!strings.Contains(page, `<li lang="ar" dir="rtl">`) || !strings.Contains(page, `<p class="notice">Retracted</p>`) {
		t.Errorf("GET /news: want the feeds, an Arabic item marked rtl, the retraction marked\n%s", page)
	}
}

func TestPagesConditionalAndCache(t *testing.T) {
	articles := pageFixture()
	cache := NewPublicCache(time.Hour)
	cfg := Config{Public: articles, PublicCache: cache}
	for _, target := range []string{"/news/ministers-meet", "/news", "/sitemap.xml"} {
		rec := getPage(t, cfg, target)
		tag := rec.Header().Get("ETag")
		if rec.Code != 200 || tag == "" || !strings.HasPrefix(rec.Header().Get("Cache-Control"), "public, max-age=") {
			t.Errorf("GET %s = %d, ETag %q, Cache-Control %q; want 200, an ETag, public max-age", target, rec.Code, tag, rec.Header().Get("Cache-Control"))
		}
		if rec := getPage(t, cfg, target, "If-None-Match", tag); rec.Code != 304 || rec.Body.Len() != 0 {
			t.Errorf("GET %s If-None-Match its ETag = %d with %d bytes; want 304, empty", target, rec.Code, rec.Body.Len())
		}
	}
	// HEAD: the headers of GET, its length among them, no body.
	get := getPage(t, cfg, "/news/ministers-meet")
	head := httptest.NewRecorder()
	New(cfg).ServeHTTP(head, httptest.NewRequest("HEAD", "/news/ministers-meet", nil))
	if head.Code != 200 || head.Header().Get("ETag") != get.Header().Get("ETag") || get.Header().Get("Content-Length") != strconv.Itoa(get.Body.Len()) ||
		head.Header().Get("Content-Length") != get.Header().Get("Content-Length") {
		t.Errorf("HEAD = %d, ETag %q, Content-Length %q; want GET's (%q, %q)", head.Code, head.Header().Get("ETag"),
			head.Header().Get("Content-Length"), get.Header().Get("ETag"), get.Header().Get("Content-Length"))
	}

	lists := articles.lists
	getPage(t, cfg, "/news")
	if articles.lists != lists {
		t.Errorf("the index was read again from the view; want it from the cache")
	}
	articles.items = articles.items[1:]
	cache.Invalidate([]string{"r1"})
	if rec := getPage(t, cfg, "/news"); strings.Contains(rec.Body.String(), "Withdrawn statement") {
		t.Errorf("the index after an invalidation still lists what the view no longer has")
	}
}

func TestSitemapAndRobots(t *testing.T) {
	articles := pageFixture()
	cfg := Config{Public: articles, PublicURL: "https://n.example"}
	type urlset struct {
		XMLName xml.Name `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 urlset"`
		URLs    []struct {
			Loc     string `xml:"loc"`
			LastMod string `xml:"lastmod"`
		} `xml:"url"`
	}
	rec := getPage(t, cfg, "/sitemap.xml")
	var set urlset
	if err := xml.Unmarshal(rec.Body.Bytes(), &set); err != nil || rec.Header().Get("Content-Type") != "application/xml; charset=utf-8" {
		t.Fatalf("sitemap: %v, %s\n%s", err, rec.Header().Get("Content-Type"), rec.Body)
	}
	var locs []string
	for _, u := range set.URLs {
		locs = append(locs, u.Loc+" "+u.LastMod)
	}
	want := []string{"https://n.example/news/withdrawn 2026-12-06T09:00:00Z", "https://n.example/news/ministers-meet 2026-12-06T08:59:00Z",
		"https://n.example/news/ministers-meet-ar 2026-12-06T06:00:00Z"}
	if !slices.Equal(locs, want) {
		t.Errorf("sitemap URLs = %q; want %q", locs, want)
	}

	// Past the bound, an index of pages that together hold every article once.
	defer func(n int) { sitemapMaxURLs = n }(sitemapMaxURLs)
	sitemapMaxURLs = 2
	rec = getPage(t, cfg, "/sitemap.xml")
	var index struct {
		XMLName xml.Name `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 sitemapindex"`
		Locs    []string `xml:"sitemap>loc"`
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), &index); err != nil || !slices.Equal(index.Locs, []string{"https://n.example/sitemap.xml?page=1", "https://n.example/sitemap.xml?page=2"}) {
		t.Fatalf("sitemap index past the bound: %v %v\n%s", err, index.Locs, rec.Body)
	}
	var all []string
	for _, loc := range index.Locs {
		rec := getPage(t, cfg, strings.TrimPrefix(loc, "https://n.example"))
		var set urlset
		if err := xml.Unmarshal(rec.Body.Bytes(), &set); err != nil {
			t.Fatalf("GET %s: %v", loc, err)
		}
		for _, u := range set.URLs {
			all = append(all, u.Loc+" "+u.LastMod)
		}
	}
	if !slices.Equal(all, want) {
		t.Errorf("the sitemap's pages hold %q; want %q", all, want)
	}
	if rec := getPage(t, cfg, "/sitemap.xml?page=3"); rec.Code != 404 {
		t.Errorf("a sitemap page past the end = %d; want 404", rec.Code)
	}

	rec = getPage(t, cfg, "/robots.txt")
	for _, line := range []string{"User-agent: *", "Allow: /news", "Disallow: /desk", "Disallow: /api/", "Sitemap: https://n.example/sitemap.xml"} {
		if !slices.Contains(strings.Split(rec.Body.String(), "\n"), line) {
			t.Errorf("robots.txt lacks %q:\n%s", line, rec.Body)
		}
	}
}

func TestTextDirection(t *testing.T) {
	for _, tt := range []struct{ lang, want string }{
		{"en", "ltr"}, {"ar", "rtl"}, {"AR-eg", "rtl"}, {"he", "rtl"}, {"fa", "rtl"}, {"ur", "rtl"}, {"yi", "rtl"},
		{"az-Arab", "rtl"}, {"sd-Deva", "ltr"}, {"ar-Latn", "ltr"}, {"pt-BR", "ltr"}, {"zh-Hant-TW", "ltr"},
	} {
		if got := textDirection(tt.lang); got != tt.want {
			t.Errorf("textDirection(%q) = %s; want %s", tt.lang, got, tt.want)
		}
	}
}

// The site's root and the index with a slash send a reader to the index, not to a JSON 404.
func TestRootAndSlashLeadToTheIndex(t *testing.T) {
	cfg := Config{Public: pageFixture()}
	for _, target := range []string{"/", "/news/"} {
		r := getPage(t, cfg, target)
		if r.Code != 301 || r.Header().Get("Location") != "/news" {
			t.Errorf("GET %s = %d, Location %q; want 301 to /news", target, r.Code, r.Header().Get("Location"))
		}
	}
	if r := getPage(t, cfg, "/news"); r.Code != 200 {
		t.Errorf("GET /news = %d; want 200", r.Code)
	}
}
