package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// getHTMLPage fetches a public page and checks what every page answers: HTML, an ETag, public
// caching, and no script but JSON-LD.
func getHTMLPage(tb testing.TB, url string) string {
	tb.Helper()
	r := call(tb, "GET", url, "", nil)
	expectStatus(tb, r, 200, "GET "+url)
	if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" || r.header.Get("ETag") == "" ||
		r.header.Get("Cache-Control") != "public, max-age=10" {
		tb.Errorf("GET %s: Content-Type %q, ETag %q, Cache-Control %q; want text/html, an ETag, public, max-age=10", url, ct,
			r.header.Get("ETag"), r.header.Get("Cache-Control"))
	}
	page := string(r.body)
	if n, ld := strings.Count(page, "<script"), strings.Count(page, `<script type="application/ld+json">`); n != ld {
		tb.Errorf("GET %s: %d script elements, %d of them JSON-LD; want no other script", url, n, ld)
	}
	return page
}

// scriptText returns the text of the page's JSON-LD block up to the first "</script" after
// it, where an HTML parser ends it.
func scriptText(tb testing.TB, page string) string {
	tb.Helper()
	const open = `<script type="application/ld+json">`
	_, rest, ok := strings.Cut(page, open)
	if !ok {
		tb.Fatalf("no JSON-LD in the page:\n%s", page)
	}
	end := strings.Index(strings.ToLower(rest), "</script")
	if end < 0 {
		tb.Fatalf("the JSON-LD block does not end")
	}
	return rest[:end]
}

// TestPublicPagesEndToEnd: articles published, corrected, translated, retracted and killed
// through the API, read as pages from a real server (every exchange checked against
// http/openapi.json by the test client).
func TestPublicPagesEndToEnd(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	eva := createToken(t, dir, "eva", "editor")
	ta := startTestAppWith(t, config{HTTP: "127.0.0.1:0", DataDir: dir, NATSListen: "127.0.0.1:0", NoSync: true, SiteName: "NATO Newsroom"})
	api := ta.base + "/api/v1/articles"

	const hostile = `Ministers meet </script><script>alert("x")</script> & <!--`
	enID, enSlug := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": hostile, "summary": "The council met.",
		"body":   "Leaders **met** in Brussels. https://www.nato.int/cps/en/natohq/a-very-long-address-without-any-break-in-it-at-all-whatsoever.htm",
		"byline": "NATO Press Office", "dateline": "BRUSSELS", "tags": []string{"summit", "nato"}})
	_, frSlug := publishedArticle(t, ta.base, rita, eva, map[string]any{"translation_of": enID, "language": "fr",
		"headline": "Les ministres se réunissent", "body": "Texte."})
	_, arSlug := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "اجتماع الوزراء", "slug": "ijtima-al-wuzara", "body": "نص.", "language": "ar"})
	retrID, retrSlug := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "Withdrawn statement", "body": "Quokka text."})
	killID, killSlug := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "Killed statement", "body": "Wombat text."})
	r := correctText(t, ta.base, enID, ed, eva, map[string]any{"body": "Leaders **met** in Brussels on Tuesday.", "note": "The day was missing."})
	expectStatus(t, call(t, "POST", api+"/"+retrID+"/retract", ed, map[string]any{"reason": "Issued in error."}), 200, "retract")
	r = call(t, "POST", api+"/"+killID+"/kill", ed, map[string]any{"reason": "Court order."})
	expectStatus(t, r, 200, "kill")
	fresh := "?min_position=" + r.header.Get("X-Newsroom-Position")

	// The article.
	page := getHTMLPage(t, ta.base+"/news/"+enSlug+fresh)
	for _, want := range []string{
		`<html lang="en" dir="ltr">`,
		`<link rel="canonical" href="` + ta.base + `/news/` + enSlug + `">`,
		`<link rel="alternate" hreflang="en" href="` + ta.base + `/news/` + enSlug + `">`,
		`<link rel="alternate" hreflang="fr" href="` + ta.base + `/news/` + frSlug + `">`,
		`<link rel="alternate" type="application/atom&#43;xml" title="NATO Newsroom (en) (Atom)" href="` + ta.base + `/public/v1/feeds/atom.xml?lang=en">`,
		`<meta property="og:title" content="Ministers meet &lt;/script&gt;&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;!--">`,
		`<meta property="og:site_name" content="NATO Newsroom">`,
		`<meta name="twitter:card" content="summary">`,
		`<title>Ministers meet &lt;/script&gt;&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;!-- – NATO Newsroom</title>`,
		`<main>`, `<article>`, `<h1>Ministers meet &lt;/script&gt;`,
		`<div class="body"><p>Leaders <strong>met</strong> in Brussels on Tuesday.</p>`,
		`<span class="byline">NATO Press Office</span>`, `<span class="dateline">BRUSSELS</span>`,
		`The day was missing.`, `<span class="updated">Updated <time datetime="`,
		`<a href="` + ta.base + `/news/tag/summit" rel="tag">summit</a>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the article's page lacks %s\n%s", want, page)
		}
	}
	if strings.Contains(page, `<figure class="main-image">`) || strings.Contains(page, "Quokka") {
		t.Errorf("the page holds an empty image slot or another article's text")
	}
	var ld struct {
		Context       string `json:"@context"`
		Type          string `json:"@type"`
		Headline      string `json:"headline"`
		DatePublished string `json:"datePublished"`
		DateModified  string `json:"dateModified"`
		Author        struct{ Name string }
		Publisher     struct{ Name string }
	}
	if err := json.Unmarshal([]byte(scriptText(t, page)), &ld); err != nil {
		t.Fatalf("the JSON-LD does not parse: %v\n%s", err, scriptText(t, page))
	}
	published := rfc3339(t, "datePublished", ld.DatePublished)
	if ld.Context != "https://schema.org" || ld.Type != "NewsArticle" || ld.Headline != hostile || ld.Author.Name != "NATO Press Office" ||
		ld.Publisher.Name != "NATO Newsroom" || !rfc3339(t, "dateModified", ld.DateModified).After(published) {
		t.Errorf("JSON-LD = %+v; want the NewsArticle, its headline whole, the byline, the site, modified after published", ld)
	}
	if page := getHTMLPage(t, ta.base+"/news/"+arSlug); !strings.Contains(page, `<html lang="ar" dir="rtl">`) ||
		!strings.Contains(scriptText(t, page), `"author":{"@type":"Organization","name":"NATO Newsroom"}`) {
		t.Errorf("the Arabic page: want lang ar, dir rtl, the site as author\n%s", page)
	}
	if page := getHTMLPage(t, ta.base+"/news/"+retrSlug+fresh); !strings.Contains(page, `class="notice retraction"`) ||
		!strings.Contains(page, "Issued in error.") || strings.Contains(page, "Quokka") {
		t.Errorf("the retracted page: want the notice with the reason, no text\n%s", page)
	}
	for _, tt := range []struct {
		path         string
		status       int
		cacheControl string
	}{{"/news/" + killSlug, 410, "no-store"}, {"/news/never-published", 404, ""}} {
		r := call(t, "GET", ta.base+tt.path, "", nil)
		if r.status != tt.status || r.header.Get("Content-Type") != "text/html; charset=utf-8" || r.header.Get("Cache-Control") != tt.cacheControl ||
			!strings.Contains(string(r.body), "<h1>") || strings.Contains(string(r.body), "Wombat") {
			t.Errorf("GET %s = %d %s, Cache-Control %q; want %d, an HTML page, Cache-Control %q\n%s", tt.path, r.status,
				r.header.Get("Content-Type"), r.header.Get("Cache-Control"), tt.status, tt.cacheControl, r.body)
		}
	}

	// Conditional requests; a change to the article is a new ETag at once (the cache is
	// invalidated by the view's commit; min_position reads the view itself).
	first := call(t, "GET", ta.base+"/news/"+enSlug, "", nil)
	etag := first.header.Get("ETag")
	if r := call(t, "GET", ta.base+"/news/"+enSlug, "", nil, "If-None-Match", etag); r.status != 304 || len(r.body) != 0 {
		t.Errorf("If-None-Match the page's ETag = %d with %d bytes; want 304, empty", r.status, len(r.body))
	}
	r = correctText(t, ta.base, enID, eva, ed, map[string]any{"body": "Leaders **met** in Brussels on Tuesday morning.", "note": "The time of day."})
	after := call(t, "GET", ta.base+"/news/"+enSlug+"?min_position="+r.header.Get("X-Newsroom-Position"), "", nil, "If-None-Match", etag)
	if after.status != 200 || !strings.Contains(string(after.body), "Tuesday morning") || !strings.Contains(string(after.body), "The time of day.") {
		t.Errorf("the page after a second correction = %d; want 200 with the new text and both notes", after.status)
	}
	eventually(t, "the corrected page without min_position", func() bool {
		return strings.Contains(string(call(t, "GET", ta.base+"/news/"+enSlug, "", nil).body), "Tuesday morning")
	})

	// Listings: the index, a tag, a language.
	index := getHTMLPage(t, ta.base+"/news")
	headlines := regexp.MustCompile(`<h2><a href="[^"]+/news/([^"]+)">`)
	var slugs []string
	for _, m := range headlines.FindAllStringSubmatch(index, -1) {
		slugs = append(slugs, m[1])
	}
	if want := []string{retrSlug, arSlug, frSlug, enSlug}; !slices.Equal(slugs, want) {
		t.Errorf("the index lists %q; want %q (newest first, the killed one gone)", slugs, want)
	}
	if !strings.Contains(index, `<link rel="alternate" type="application/feed&#43;json" title="NATO Newsroom (JSON Feed)" href="`+ta.base+`/public/v1/feeds/feed.json">`) {
		t.Errorf("the index does not link the JSON feed:\n%s", index)
	}
	if page := getHTMLPage(t, ta.base+"/news/tag/nato"); !strings.Contains(page, "/news/"+enSlug) || strings.Contains(page, "/news/"+frSlug) ||
		!strings.Contains(page, `href="`+ta.base+`/public/v1/feeds/atom.xml?tag=nato"`) {
		t.Errorf("the tag page: want the tagged article alone and the tag's feeds\n%s", page)
	}
	if page := getHTMLPage(t, ta.base+"/news/language/fr"); !strings.Contains(page, "/news/"+frSlug) || strings.Contains(page, "/news/"+enSlug+`"`) ||
		!strings.Contains(page, `href="`+ta.base+`/public/v1/feeds/feed.json?lang=fr"`) {
		t.Errorf("the language page: want the French article alone and the language's feeds\n%s", page)
	}
	tagged, _ := getAtom(t, ta.base+"/public/v1/feeds/atom.xml?tag=nato")
	if got := atomTitles(tagged); fmt.Sprint(got) != fmt.Sprint([]string{hostile}) {
		t.Errorf("the tag's Atom feed = %q; want the tagged article alone", got)
	}

	// Paging: 20 a page, with prev and next.
	for i := range 18 {
		publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": fmt.Sprintf("Filler %02d", i), "body": "Text."})
	}
	r = call(t, "POST", api, rita, map[string]any{"headline": "A draft", "body": "Draft."})
	fresh = "?min_position=" + r.header.Get("X-Newsroom-Position")
	one, two := getHTMLPage(t, ta.base+"/news"+fresh), getHTMLPage(t, ta.base+"/news?page=2")
	if n := len(headlines.FindAllString(one, -1)); n != 20 || !strings.Contains(one, `<link rel="next" href="`+ta.base+`/news?page=2">`) || strings.Contains(one, `rel="prev"`) {
		t.Errorf("index page 1: %d articles; want 20 and a next link alone", n)
	}
	if n := len(headlines.FindAllString(two, -1)); n != 2 || !strings.Contains(two, `<link rel="prev" href="`+ta.base+`/news">`) || strings.Contains(two, `rel="next"`) {
		t.Errorf("index page 2: %d articles; want 2 and a prev link alone\n%s", n, two)
	}
	if r := call(t, "GET", ta.base+"/news?page=3", "", nil); r.status != 404 {
		t.Errorf("index page 3 = %d; want 404", r.status)
	}

	// The sitemap and robots.txt.
	r = call(t, "GET", ta.base+"/sitemap.xml", "", nil)
	expectStatus(t, r, 200, "sitemap")
	wellFormed(t, r.body)
	var sitemap struct {
		XMLName xml.Name `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 urlset"`
		URLs    []struct {
			Loc     string `xml:"loc"`
			LastMod string `xml:"lastmod"`
		} `xml:"url"`
	}
	if err := xml.Unmarshal(r.body, &sitemap); err != nil {
		t.Fatalf("the sitemap does not parse: %v", err)
	}
	var locs []string
	for _, u := range sitemap.URLs {
		rfc3339(t, "lastmod", u.LastMod)
		locs = append(locs, u.Loc)
	}
	if len(locs) != 22 || !slices.Contains(locs, ta.base+"/news/"+enSlug) || slices.Contains(locs, ta.base+"/news/"+killSlug) {
		t.Errorf("the sitemap holds %d URLs %q; want the 22 listed articles, the killed one not", len(locs), locs)
	}
	robots := string(call(t, "GET", ta.base+"/robots.txt", "", nil).body)
	if !strings.Contains(robots, "Disallow: /api/") || !strings.Contains(robots, "Sitemap: "+ta.base+"/sitemap.xml") {
		t.Errorf("robots.txt = %q", robots)
	}
}
