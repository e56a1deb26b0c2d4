package http

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	nethttp "net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/projections"
)

// feedArticles serves fixed articles to the feeds and records the query it was asked.
type feedArticles struct {
	items  []projections.PublicArticle
	asked  projections.PublicQuery
	lists  int // List calls
	newest int // Newest calls
}

func (f *feedArticles) matching(lang string, tag ...string) []projections.PublicArticle {
	var out []projections.PublicArticle
	for _, a := range f.items {
		if (lang == "" || a.Language == lang) && (len(tag) == 0 || tag[0] == "" || slices.Contains(a.Tags, tag[0])) {
			out = append(out, a)
		}
	}
	return out
}

func (f *feedArticles) List(_ context.Context, q projections.PublicQuery) (projections.PublicList, error) {
	f.asked = q
	f.lists++
	out := f.matching(q.Language, q.Tag)
	return projections.PublicList{Items: out, Total: len(out)}, nil
}

func (f *feedArticles) Newest(_ context.Context, lang string, n int) ([]projections.Stamp, error) {
	f.newest++
	var out []projections.Stamp
	for _, a := range f.matching(lang)[:min(n, len(f.matching(lang)))] {
		out = append(out, projections.Stamp{ID: a.ID, Version: a.Version, SetID: a.SetID})
	}
	return out, nil
}

// Translations groups the published items by translation set, as the published view does.
func (f *feedArticles) Translations(_ context.Context, setIDs []string) (map[string][]projections.Translation, error) {
	out := map[string][]projections.Translation{}
	for _, a := range f.items {
		if a.Status == projections.VisibilityPublished && slices.Contains(setIDs, a.SetID) {
			out[a.SetID] = append(out[a.SetID], projections.Translation{ID: a.ID, SetID: a.SetID, Language: a.Language, Slug: a.Slug})
		}
	}
	return out, nil
}

// ImagesShown lists the images of the published items, as the published view's public_media.
func (f *feedArticles) ImagesShown(_ context.Context, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, a := range f.items {
		if a.Status == projections.VisibilityPublished && slices.Contains(ids, a.ID) {
			for _, r := range a.Media {
				out[a.ID] = append(out[a.ID], r.ID)
			}
		}
	}
	return out, nil
}

// feedImages is a media view of fixed images.
type feedImages map[string]domain.Image

func (m feedImages) Images(_ context.Context, ids []string) (map[string]domain.Image, error) {
	out := map[string]domain.Image{}
	for _, id := range ids {
		if img, ok := m[id]; ok {
			out[id] = img
		}
	}
	return out, nil
}

func (f *feedArticles) BySlug(context.Context, string) (projections.PublicArticle, error) {
	return projections.PublicArticle{}, projections.ErrNotPublic
}

// Atom as a reader parses it, independently of the types the server marshals.
type testAtomFeed struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	Lang    string   `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	ID      string   `xml:"id"`
	Title   string   `xml:"title"`
	Updated string   `xml:"updated"`
	Links   []struct {
		Rel  string `xml:"rel,attr"`
		Href string `xml:"href,attr"`
	} `xml:"link"`
	Author  []string `xml:"author>name"`
	Entries []struct {
		Lang       string   `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
		ID         string   `xml:"id"`
		Title      string   `xml:"title"`
		Updated    string   `xml:"updated"`
		Published  string   `xml:"published"`
		Author     []string `xml:"author>name"`
		Summary    *string  `xml:"summary"`
		Categories []struct {
			Term string `xml:"term,attr"`
		} `xml:"category"`
		Links []struct {
			Rel  string `xml:"rel,attr"`
			Type string `xml:"type,attr"`
			Href string `xml:"href,attr"`
		} `xml:"link"`
		Content struct {
			Type string `xml:"type,attr"`
			Text string `xml:",chardata"`
		} `xml:"content"`
	} `xml:"entry"`
}

var (
	published = time.Date(2025, 12, 7, 9, 0, 0, 0, time.UTC)
	hostile   = `Ministers <script>alert("x")</script> & "friends" ]]> meet`
	feedItems = []projections.PublicArticle{
		{ID: "0b8f0f8e-8a6e-4b0e-9a43-5b2f6c1d2e3f", Slug: "ministers-meet", Status: projections.VisibilityPublished,
			Headline: hostile, Summary: "A & B", BodyHTML: `<p>Text &amp; more</p>`, Language: "en", Byline: "NATO <Press>",
			Tags: []string{"nato", `a"b`}, PublishedAt: published.Add(2 * time.Hour), UpdatedAt: published.Add(3 * time.Hour)},
		{ID: "6a1f3e55-0f1c-4c4e-8a53-3a7b8b7f9d10", Slug: "le-sommet", Status: projections.VisibilityRetracted,
			Headline: "Le sommet", Language: "fr", PublishedAt: published.Add(time.Hour),
			UpdatedAt: published.Add(5 * time.Hour), RetractedAt: published.Add(5 * time.Hour), RetractedReason: "Publié par erreur <oops>."},
	}
)

func getFeed(t *testing.T, h nethttp.Handler, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestAtomFeedEscapesAndLinks(t *testing.T) {
	articles := &feedArticles{items: feedItems}
	h := New(Config{Public: articles, PublicURL: "https://news.example.org/"})
	rec := getFeed(t, h, "/public/v1/feeds/atom.xml")
	if rec.Code != 200 {
		t.Fatalf("GET atom.xml = %d; want 200\n%s", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Content-Type"); got != atomMediaType {
		t.Errorf("Content-Type = %q; want %q", got, atomMediaType)
	}
	if articles.asked.Page != (projections.Page{Number: 1, PerPage: 50}) || articles.asked.Language != "" || !articles.asked.Content {
		t.Errorf("List asked %+v; want page 1 of 50, every language, with the HTML", articles.asked)
	}
	var f testAtomFeed
	if err := xml.Unmarshal(rec.Body.Bytes(), &f); err != nil {
		t.Fatalf("the feed does not parse: %v\n%s", err, rec.Body)
	}
	if f.ID != "https://news.example.org/public/v1/feeds/atom.xml" || f.Updated != "2025-12-07T14:00:00Z" || f.Title == "" || len(f.Author) != 1 {
		t.Errorf("feed id %q, updated %q, title %q, author %q; want the self URL, the newest entry's updated, a title, an author", f.ID, f.Updated, f.Title, f.Author)
	}
	if len(f.Entries) != 2 {
		t.Fatalf("entries = %d; want 2", len(f.Entries))
	}
	e := f.Entries[0]
	if e.Title != hostile || e.Author[0] != "NATO <Press>" || *e.Summary != "A & B" || e.Content.Type != "html" || e.Content.Text != `<p>Text &amp; more</p>` {
		t.Errorf("entry 0 = %+v; want the texts back as they were", e)
	}
	if len(e.Categories) != 2 || e.Categories[1].Term != `a"b` {
		t.Errorf("entry 0 categories = %+v; want nato, a\"b", e.Categories)
	}
	if e.ID != "urn:uuid:0b8f0f8e-8a6e-4b0e-9a43-5b2f6c1d2e3f" || e.Lang != "en" {
		t.Errorf("entry 0 id %q lang %q", e.ID, e.Lang)
	}
	// A reader following the entry lands on its page; the JSON API is the second alternate.
	if links := fmt.Sprint(e.Links); links != "[{alternate text/html https://news.example.org/news/ministers-meet} "+
		"{alternate application/json https://news.example.org/public/v1/articles/ministers-meet}]" {
		t.Errorf("entry 0 links = %s; want its page (text/html), then its JSON", links)
	}
	if e.Published != "2025-12-07T11:00:00Z" || e.Updated != "2025-12-07T12:00:00Z" {
		t.Errorf("entry 0 published %q updated %q", e.Published, e.Updated)
	}
	r := f.Entries[1]
	if r.Content.Type != "text" || !strings.Contains(r.Content.Text, "retracted") || !strings.Contains(r.Content.Text, "Publié par erreur <oops>.") || r.Summary != nil || r.Lang != "fr" {
		t.Errorf("retracted entry = %+v; want a text notice with the reason, no summary", r)
	}
	if strings.Contains(rec.Body.String(), "<script>") {
		t.Errorf("the feed holds an unescaped <script>:\n%s", rec.Body)
	}
}

func TestFeedBaseFromRequest(t *testing.T) {
	h := New(Config{Public: &feedArticles{items: feedItems}})
	// X-Forwarded-Proto counts from a proxy on a private or loopback address only.
	for remote, want := range map[string]string{"127.0.0.1:4321": "https", "192.0.2.1:4321": "http"} {
		req := httptest.NewRequest("GET", "http://news.example.org/public/v1/feeds/atom.xml", nil)
		req.RemoteAddr = remote
		req.Header.Set("X-Forwarded-Proto", "https")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var f testAtomFeed
		if err := xml.Unmarshal(rec.Body.Bytes(), &f); err != nil || f.ID != want+"://news.example.org/public/v1/feeds/atom.xml" {
			t.Errorf("from %s: feed id %q (%v); want %s://news.example.org/…", remote, f.ID, err, want)
		}
	}
	rec := getFeed(t, h, "http://ignored/public/v1/feeds/feed.json?lang=fr")
	var f map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &f); err != nil {
		t.Fatalf("feed.json: %v\n%s", err, rec.Body)
	}
	if f["feed_url"] != "http://ignored/public/v1/feeds/feed.json?lang=fr" || f["home_page_url"] != "http://ignored/news/language/fr" || f["language"] != "fr" {
		t.Errorf("feed_url %v home_page_url %v language %v; want them from the request", f["feed_url"], f["home_page_url"], f["language"])
	}
	items, _ := f["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("items = %v; want the French one", items)
	}
	it := items[0].(map[string]any)
	if _, ok := it["content_html"]; ok || !strings.Contains(it["content_text"].(string), "Publié par erreur") {
		t.Errorf("retracted item = %v; want content_text with the reason, no content_html", it)
	}
}

func TestEmptyFeeds(t *testing.T) {
	h := New(Config{Public: &feedArticles{}, PublicURL: "http://x"})
	rec := getFeed(t, h, "/public/v1/feeds/atom.xml")
	var f testAtomFeed
	if err := xml.Unmarshal(rec.Body.Bytes(), &f); err != nil || f.Updated != "1970-01-01T00:00:00Z" || len(f.Entries) != 0 {
		t.Errorf("empty atom feed: err %v, updated %q, %d entries; want the epoch, none", err, f.Updated, len(f.Entries))
	}
	rec = getFeed(t, h, "/public/v1/feeds/feed.json")
	if !strings.Contains(rec.Body.String(), `"items":[]`) {
		t.Errorf("empty JSON feed = %s; want items: []", rec.Body)
	}
}

func TestFeedConditionalGet(t *testing.T) {
	h := New(Config{Public: &feedArticles{items: feedItems}, PublicURL: "http://x"})
	for _, path := range []string{"/public/v1/feeds/atom.xml", "/public/v1/feeds/feed.json"} {
		first := getFeed(t, h, path)
		tag := first.Header().Get("ETag")
		if !strings.HasPrefix(tag, `"`) || first.Header().Get("Cache-Control") != "public, max-age=30" {
			t.Fatalf("%s: ETag %q, Cache-Control %q", path, tag, first.Header().Get("Cache-Control"))
		}
		tests := []struct {
			ifNoneMatch string
			want        int
		}{
			{tag, 304},
			{"W/" + tag, 304},
			{`"other", ` + tag, 304},
			{"*", 304},
			{`"other"`, 200},
		}
		for _, tt := range tests {
			rec := getFeed(t, h, path, "If-None-Match", tt.ifNoneMatch)
			if rec.Code != tt.want {
				t.Errorf("%s with If-None-Match %s = %d; want %d", path, tt.ifNoneMatch, rec.Code, tt.want)
			}
			if rec.Code == 304 && (rec.Body.Len() != 0 || rec.Header().Get("ETag") != tag) {
				t.Errorf("%s: 304 with body %q, ETag %q", path, rec.Body, rec.Header().Get("ETag"))
			}
		}
		if other := getFeed(t, h, path+"?lang=fr").Header().Get("ETag"); other == tag {
			t.Errorf("%s: the French feed has the ETag of the whole feed", path)
		}
	}
}

func TestFeedBadLanguage(t *testing.T) {
	h := New(Config{Public: &feedArticles{}})
	for _, path := range []string{"/public/v1/feeds/atom.xml", "/public/v1/feeds/feed.json"} {
		rec := getFeed(t, h, path+"?lang=not%20a%20tag")
		var p Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); rec.Code != 400 || err != nil || p.Type != "/problems/malformed-request" ||
			rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s?lang=not a tag = %d %s %s; want a 400 malformed-request problem", path, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
	}
}

// TestFeedETagFromTheNewestVersions: a client that holds the feed is answered 304 from the
// entries' ids and versions alone, without the entries being read or rendered; a new version
// of any entry is a new ETag; and a cached feed is served from memory until invalidated.
func TestFeedETagFromTheNewestVersions(t *testing.T) {
	items := append([]projections.PublicArticle(nil), feedItems...)
	articles := &feedArticles{items: items}
	h := New(Config{Public: articles, PublicURL: "http://x"})
	tag := getFeed(t, h, "/public/v1/feeds/atom.xml").Header().Get("ETag")
	lists := articles.lists
	if rec := getFeed(t, h, "/public/v1/feeds/atom.xml", "If-None-Match", tag); rec.Code != 304 || articles.lists != lists || articles.newest != 1 {
		t.Errorf("conditional GET = %d, List called %d times, Newest %d; want 304 from Newest alone", rec.Code, articles.lists-lists, articles.newest)
	}
	items[1].Version++ // a correction of the older entry
	rec := getFeed(t, h, "/public/v1/feeds/atom.xml", "If-None-Match", tag)
	if rec.Code != 200 || rec.Header().Get("ETag") == tag {
		t.Errorf("after a new version, conditional GET = %d, ETag %s; want 200 and a new ETag", rec.Code, rec.Header().Get("ETag"))
	}

	cache := NewPublicCache(PublicCacheMaxAge)
	articles = &feedArticles{items: items}
	h = New(Config{Public: articles, PublicURL: "http://x", PublicCache: cache})
	first := getFeed(t, h, "/public/v1/feeds/feed.json").Body.String()
	getFeed(t, h, "/public/v1/feeds/feed.json")
	if articles.lists != 1 {
		t.Errorf("two reads of a cached feed called List %d times; want 1", articles.lists)
	}
	items[0].Headline = "Changed"
	cache.Invalidate([]string{items[0].ID})
	if again := getFeed(t, h, "/public/v1/feeds/feed.json").Body.String(); again == first || articles.lists != 2 {
		t.Errorf("after Invalidate, the feed was read %d times and is the same: %v; want read again, changed", articles.lists, again == first)
	}
}

// TestFeedETagCoversImages: an image's words change no article's version, yet the feeds show
// them (an inline image's alt text): a new description is a new ETag, from the rendered feed and
// from the index alone alike, so that a client holding the feed is not answered 304.
func TestFeedETagCoversImages(t *testing.T) {
	const imageID = "5d9c6a7e-1b7e-4d1a-9c39-0c8f6f1f2a10"
	items := append([]projections.PublicArticle(nil), feedItems...)
	items[0].Media = []domain.MediaRef{{ID: imageID, Role: "main"}}
	items[0].BodyHTML = `<p>Text</p><img src="https://newsroom.invalid/media/` + imageID + `" alt="">` // as the view renders ![](media:id)
	images := feedImages{imageID: {ID: imageID, Alt: "Ministers around a table", Caption: "Ministers",
		Renditions: []domain.Rendition{{Name: "800", Width: 800, Height: 533, ContentType: "image/jpeg", Size: 1000}}}}
	articles := &feedArticles{items: items}
	h := New(Config{Public: articles, PublicURL: "http://x", Images: images})
	for _, path := range []string{"/public/v1/feeds/atom.xml", "/public/v1/feeds/feed.json"} {
		first := getFeed(t, h, path)
		old := first.Header().Get("ETag")
		if rec := getFeed(t, h, path, "If-None-Match", old); rec.Code != 304 {
			t.Fatalf("%s with its own ETag = %d; want 304 (the index's ETag is the rendered feed's)", path, rec.Code)
		}
		for _, change := range []func(*domain.Image){
			func(img *domain.Image) { img.Alt = "Ministers around the table" },
			func(img *domain.Image) { img.Caption = "Ministers in Brussels" },
			func(img *domain.Image) { img.Credit = "Photo: NATO" },
		} {
			img := images[imageID]
			change(&img)
			images[imageID] = img
			rec := getFeed(t, h, path, "If-None-Match", old)
			now := rec.Header().Get("ETag")
			if rec.Code != 200 || now == old {
				t.Fatalf("%s after the image is described anew, with the old ETag = %d, ETag %s; want 200 and a new ETag", path, rec.Code, now)
			}
			if again := getFeed(t, h, path, "If-None-Match", now); again.Code != 304 {
				t.Errorf("%s with the new ETag = %d; want 304 from the index", path, again.Code)
			}
			old = now
		}
		if body := getFeed(t, h, path).Body.String(); !strings.Contains(body, "Ministers around the table") {
			t.Errorf("%s does not show the image's new alt text:\n%s", path, body)
		}
		images[imageID] = domain.Image{ID: imageID, Alt: "Ministers around a table", Caption: "Ministers",
			Renditions: images[imageID].Renditions}
	}
}

// TestAtomLinksTranslations: an entry links each other published language version of it with
// rel="alternate" and its hreflang (once per language, never its own); a version published
// later changes the feed's ETag, though no entry of the feed changed, so that a client holding
// the feed before gets it again rather than 304.
func TestAtomLinksTranslations(t *testing.T) {
	const set = "0b8f0f8e-8a6e-4b0e-9a43-5b2f6c1d2e3f"
	en := projections.PublicArticle{ID: set, SetID: set, Slug: "ministers-meet", Status: projections.VisibilityPublished,
		Headline: "Ministers meet", Language: "en", PublishedAt: published, UpdatedAt: published, Version: 5}
	fr := projections.PublicArticle{ID: "6a1f3e55-0f1c-4c4e-8a53-3a7b8b7f9d10", SetID: set, Slug: "reunion-des-ministres",
		Status: projections.VisibilityPublished, Headline: "Réunion", Language: "fr", PublishedAt: published.Add(time.Hour), UpdatedAt: published.Add(time.Hour), Version: 5}
	frAgain := fr // a second French version drafted at the same moment (the race the desk allows)
	frAgain.ID, frAgain.Slug = "7c2f3e55-0f1c-4c4e-8a53-3a7b8b7f9d10", "reunion-2"
	de := projections.PublicArticle{ID: "8d3f3e55-0f1c-4c4e-8a53-3a7b8b7f9d10", SetID: set, Slug: "treffen",
		Status: projections.VisibilityRetracted, Headline: "Treffen", Language: "de", PublishedAt: published, UpdatedAt: published, Version: 6}
	articles := &feedArticles{items: []projections.PublicArticle{en, de}}
	h := New(Config{Public: articles, PublicURL: "https://news.example.org"})

	type link struct {
		Rel      string `xml:"rel,attr"`
		Type     string `xml:"type,attr"`
		Hreflang string `xml:"hreflang,attr"`
		Href     string `xml:"href,attr"`
	}
	entries := func(rec *httptest.ResponseRecorder) map[string][]link {
		t.Helper()
		var f struct {
			Entries []struct {
				ID    string `xml:"id"`
				Links []link `xml:"link"`
			} `xml:"entry"`
		}
		if err := xml.Unmarshal(rec.Body.Bytes(), &f); err != nil {
			t.Fatalf("the feed does not parse: %v\n%s", err, rec.Body)
		}
		out := map[string][]link{}
		for _, e := range f.Entries {
			out[e.ID] = e.Links
		}
		return out
	}
	rec := getFeed(t, h, "/public/v1/feeds/atom.xml?lang=en")
	before := rec.Header().Get("ETag")
	if links := entries(rec)["urn:uuid:"+set]; len(links) != 2 {
		t.Errorf("the original's links while its German version is retracted = %+v; want its own alone", links)
	}

	articles.items = []projections.PublicArticle{en, fr, frAgain, de}
	rec = getFeed(t, h, "/public/v1/feeds/atom.xml?lang=en", "If-None-Match", before)
	if rec.Code != 200 || rec.Header().Get("ETag") == before {
		t.Fatalf("the English feed once a French version is out = %d, ETag %s; want 200 and a new ETag", rec.Code, rec.Header().Get("ETag"))
	}
	want := []link{
		{Rel: "alternate", Type: "text/html", Href: "https://news.example.org/news/ministers-meet"},
		{Rel: "alternate", Type: "application/json", Href: "https://news.example.org/public/v1/articles/ministers-meet"},
		{Rel: "alternate", Type: "text/html", Hreflang: "fr", Href: "https://news.example.org/news/reunion-des-ministres"},
		{Rel: "alternate", Type: "application/json", Hreflang: "fr", Href: "https://news.example.org/public/v1/articles/reunion-des-ministres"},
	}
	if got := entries(rec)["urn:uuid:"+set]; !slices.Equal(got, want) {
		t.Errorf("the original's links = %+v; want %+v", got, want)
	}
	after := rec.Header().Get("ETag")
	if rec := getFeed(t, h, "/public/v1/feeds/atom.xml?lang=en", "If-None-Match", after); rec.Code != 304 {
		t.Errorf("GET with the new ETag = %d; want 304", rec.Code)
	}
	rec = getFeed(t, h, "/public/v1/feeds/atom.xml")
	wantFR := []link{
		{Rel: "alternate", Type: "text/html", Href: "https://news.example.org/news/reunion-des-ministres"},
		{Rel: "alternate", Type: "application/json", Href: "https://news.example.org/public/v1/articles/reunion-des-ministres"},
		{Rel: "alternate", Type: "text/html", Hreflang: "en", Href: "https://news.example.org/news/ministers-meet"},
		{Rel: "alternate", Type: "application/json", Hreflang: "en", Href: "https://news.example.org/public/v1/articles/ministers-meet"},
	}
	if got := entries(rec)["urn:uuid:"+fr.ID]; !slices.Equal(got, wantFR) {
		t.Errorf("the French version's links = %+v; want %+v (never a second fr)", got, wantFR)
	}
}

// TestFeedByTag: ?tag= filters both feeds to one tag's articles, names it in the title and the
// self link, and links the tag's page as the feed's home.
func TestFeedByTag(t *testing.T) {
	articles := &feedArticles{items: feedItems}
	h := New(Config{Public: articles, PublicURL: "https://news.example.org", SiteName: "Example"})
	rec := getFeed(t, h, "/public/v1/feeds/atom.xml?tag=nato")
	var f testAtomFeed
	if err := xml.Unmarshal(rec.Body.Bytes(), &f); err != nil {
		t.Fatalf("the feed does not parse: %v\n%s", err, rec.Body)
	}
	if articles.asked.Tag != "nato" || len(f.Entries) != 1 || f.Entries[0].Title != hostile || f.Title != "Example (nato)" ||
		f.ID != "https://news.example.org/public/v1/feeds/atom.xml?tag=nato" {
		t.Errorf("?tag=nato: asked %+v, %d entries, title %q, id %q; want the tagged article alone", articles.asked, len(f.Entries), f.Title, f.ID)
	}
	var home string
	for _, l := range f.Links {
		if l.Rel == "alternate" && strings.Contains(l.Href, "/news/") {
			home = l.Href
		}
	}
	if home != "https://news.example.org/news/tag/nato" {
		t.Errorf("the tag feed's page = %q; want the tag's page", home)
	}
	rec = getFeed(t, h, "/public/v1/feeds/feed.json?tag=nato")
	var jf map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &jf); err != nil {
		t.Fatal(err)
	}
	items, _ := jf["items"].([]any)
	if len(items) != 1 || jf["home_page_url"] != "https://news.example.org/news/tag/nato" || items[0].(map[string]any)["url"] != "https://news.example.org/news/ministers-meet" {
		t.Errorf("feed.json?tag=nato = %s; want the tagged article, linked to its page", rec.Body)
	}
	tag := rec.Header().Get("ETag")
	if rec := getFeed(t, h, "/public/v1/feeds/feed.json?tag=nato", "If-None-Match", tag); rec.Code != 304 {
		t.Errorf("the tag's feed If-None-Match its ETag = %d; want 304", rec.Code)
	}
	if rec := getFeed(t, h, "/public/v1/feeds/feed.json", "If-None-Match", tag); rec.Code != 200 {
		t.Errorf("the whole feed If-None-Match the tag's ETag = %d; want 200", rec.Code)
	}
}
