package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// atomFeed is an Atom document (RFC 4287) as a reader parses it.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Lang    string      `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Authors []string    `xml:"author>name"`
	Entries []atomEntry `xml:"entry"`
}

type atomEntry struct {
	Lang       string     `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	ID         string     `xml:"id"`
	Title      string     `xml:"title"`
	Updated    string     `xml:"updated"`
	Published  string     `xml:"published"`
	Links      []atomLink `xml:"link"`
	Authors    []string   `xml:"author>name"`
	Categories []struct {
		Term string `xml:"term,attr"`
	} `xml:"category"`
	Summary *string `xml:"summary"`
	Content struct {
		Type string `xml:"type,attr"`
		Text string `xml:",chardata"`
	} `xml:"content"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
	Href string `xml:"href,attr"`
}

// jsonFeed is a JSON Feed 1.1 document as a reader parses it.
type jsonFeed struct {
	Version     string         `json:"version"`
	Title       string         `json:"title"`
	HomePageURL string         `json:"home_page_url"`
	FeedURL     string         `json:"feed_url"`
	Language    string         `json:"language"`
	Items       []jsonFeedItem `json:"items"`
}

type jsonFeedItem struct {
	ID            string   `json:"id"`
	URL           string   `json:"url"`
	Title         string   `json:"title"`
	ContentHTML   *string  `json:"content_html"`
	ContentText   *string  `json:"content_text"`
	Summary       string   `json:"summary"`
	DatePublished string   `json:"date_published"`
	DateModified  string   `json:"date_modified"`
	Tags          []string `json:"tags"`
	Language      string   `json:"language"`
	Authors       []struct {
		Name string `json:"name"`
	} `json:"authors"`
}

// wellFormed reads every token of an XML document, strictly.
func wellFormed(tb testing.TB, doc []byte) {
	tb.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			tb.Fatalf("the Atom feed is not well-formed XML: %v\n%s", err, doc)
		}
	}
}

func rfc3339(tb testing.TB, what, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		tb.Fatalf("%s = %q; want an RFC 3339 time: %v", what, s, err)
	}
	return t
}

// getAtom fetches and parses an Atom feed, checking what RFC 4287 requires of every feed.
func getAtom(tb testing.TB, url string) (atomFeed, response) {
	tb.Helper()
	r := call(tb, "GET", url, "", nil)
	expectStatus(tb, r, 200, "GET "+url)
	if ct := r.header.Get("Content-Type"); ct != "application/atom+xml; charset=utf-8" {
		tb.Errorf("GET %s: Content-Type %q; want application/atom+xml; charset=utf-8", url, ct)
	}
	wellFormed(tb, r.body)
	var f atomFeed
	if err := xml.Unmarshal(r.body, &f); err != nil {
		tb.Fatalf("GET %s: %v\n%s", url, err, r.body)
	}
	if f.ID == "" || f.Title == "" || f.Updated == "" {
		tb.Errorf("GET %s: feed id %q, title %q, updated %q; RFC 4287 requires all three", url, f.ID, f.Title, f.Updated)
	}
	rfc3339(tb, "feed updated", f.Updated)
	var self bool
	for _, l := range f.Links {
		self = self || l.Rel == "self" && l.Href == f.ID
	}
	if !self {
		tb.Errorf("GET %s: links %v; want a self link", url, f.Links)
	}
	for i, e := range f.Entries {
		if e.ID == "" || e.Title == "" || e.Updated == "" || e.Content.Type == "" {
			tb.Errorf("GET %s: entry %d has id %q, title %q, updated %q, content type %q; all are required", url, i, e.ID, e.Title, e.Updated, e.Content.Type)
		}
		if len(f.Authors) == 0 && len(e.Authors) == 0 {
			tb.Errorf("GET %s: entry %d has no author and neither has the feed", url, i)
		}
		rfc3339(tb, "entry updated", e.Updated)
		rfc3339(tb, "entry published", e.Published)
	}
	return f, r
}

func getJSONFeed(tb testing.TB, url string) (jsonFeed, response) {
	tb.Helper()
	r := call(tb, "GET", url, "", nil)
	expectStatus(tb, r, 200, "GET "+url)
	if ct := r.header.Get("Content-Type"); ct != "application/feed+json; charset=utf-8" {
		tb.Errorf("GET %s: Content-Type %q; want application/feed+json; charset=utf-8", url, ct)
	}
	var f jsonFeed
	if err := json.Unmarshal(r.body, &f); err != nil {
		tb.Fatalf("GET %s: %v\n%s", url, err, r.body)
	}
	if f.Version != "https://jsonfeed.org/version/1.1" || f.Title == "" || f.Items == nil {
		tb.Errorf("GET %s: version %q, title %q, items %v; want JSON Feed 1.1 with a title and items", url, f.Version, f.Title, f.Items)
	}
	for i, it := range f.Items {
		if it.ID == "" || it.ContentHTML == nil && it.ContentText == nil {
			tb.Errorf("GET %s: item %d = %+v; want an id and content", url, i, it)
		}
	}
	return f, r
}

func atomTitles(f atomFeed) []string {
	var out []string
	for _, e := range f.Entries {
		out = append(out, e.Title)
	}
	return out
}

func jsonTitles(f jsonFeed) []string {
	var out []string
	for _, it := range f.Items {
		out = append(out, it.Title)
	}
	return out
}

func TestFeedsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	eva := createToken(t, dir, "eva", "editor") // confirms corrections: four eyes
	ta := startTestApp(t, dir)
	api := ta.base + "/api/v1/articles"
	atomURL, jsonURL := ta.base+"/public/v1/feeds/atom.xml", ta.base+"/public/v1/feeds/feed.json"

	enID, enSlug := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "Summit opens", "summary": "The summit opened.",
		"body": "Leaders **met** today.", "byline": "NATO Press Office", "tags": []string{"summit", "nato"}})
	frID, _ := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "Le sommet s'ouvre", "body": "Texte.", "language": "fr", "tags": []string{"summit"}})
	corrID, _ := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "Budget agreed", "body": "The budget is 1 million."})
	retrID, _ := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "Withdrawn statement", "summary": "Quokka summary.", "body": "Quokka body text."})
	r := call(t, "POST", api, rita, map[string]any{"headline": "Zanzibar secret draft", "body": "Zanzibar draft text."})
	expectStatus(t, r, 201, "draft")
	fresh := "?min_position=" + r.header.Get("X-Newsroom-Position")

	before, beforeResp := getAtom(t, atomURL+fresh)
	want := []string{"Withdrawn statement", "Budget agreed", "Le sommet s'ouvre", "Summit opens"}
	if got := atomTitles(before); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Atom entries = %q; want %q, newest first", got, want)
	}
	budgetBefore := before.Entries[1]

	r = correctText(t, ta.base, corrID, ed, eva, map[string]any{"body": "The budget is 2 million.", "note": "The amount was wrong."})
	r = call(t, "POST", api+"/"+retrID+"/retract", ed, map[string]any{"reason": "Issued in error."})
	expectStatus(t, r, 200, "retract")
	fresh = "?min_position=" + r.header.Get("X-Newsroom-Position")

	feed, resp := getAtom(t, atomURL+fresh)
	if got := atomTitles(feed); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Atom entries after a correction and a retraction = %q; want %q", got, want)
	}
	for _, doc := range [][]byte{beforeResp.body, resp.body} {
		if bytes.Contains(doc, []byte("Zanzibar")) {
			t.Errorf("the draft is in the Atom feed:\n%s", doc)
		}
	}
	if feed.Lang != "" || feed.ID != atomURL || len(feed.Authors) == 0 {
		t.Errorf("feed lang %q, id %q, authors %q; want no language, the feed's URL, an author", feed.Lang, feed.ID, feed.Authors)
	}

	ids := map[string]bool{}
	for i, e := range feed.Entries {
		if ids[e.ID] {
			t.Errorf("entry %d repeats id %s", i, e.ID)
		}
		ids[e.ID] = true
	}
	for i, id := range []string{retrID, corrID, frID, enID} {
		if feed.Entries[i].ID != "urn:uuid:"+id || before.Entries[i].ID != feed.Entries[i].ID {
			t.Errorf("entry %d id %q (before the changes %q); want urn:uuid:%s, unchanged", i, feed.Entries[i].ID, before.Entries[i].ID, id)
		}
	}

	// A correction moves updated, not published; the feed's updated is its newest entry's.
	budget := feed.Entries[1]
	if budget.Published != budgetBefore.Published || !rfc3339(t, "corrected updated", budget.Updated).After(rfc3339(t, "updated", budgetBefore.Updated)) {
		t.Errorf("corrected entry published %s→%s, updated %s→%s; want published kept, updated later", budgetBefore.Published, budget.Published, budgetBefore.Updated, budget.Updated)
	}
	if !strings.Contains(budget.Content.Text, "2 million") || budget.Content.Type != "html" {
		t.Errorf("corrected entry content = %s %q; want the corrected HTML", budget.Content.Type, budget.Content.Text)
	}
	newest := feed.Entries[0].Updated
	for _, e := range feed.Entries {
		if rfc3339(t, "updated", e.Updated).After(rfc3339(t, "updated", newest)) {
			newest = e.Updated
		}
	}
	if feed.Updated != newest || feed.Updated != feed.Entries[0].Updated {
		t.Errorf("feed updated = %s; want the newest entry's, the retraction's %s", feed.Updated, feed.Entries[0].Updated)
	}

	// The retraction is a notice: its headline and why, no text.
	notice := feed.Entries[0]
	if notice.Content.Type != "text" || !strings.Contains(notice.Content.Text, "retracted") || !strings.Contains(notice.Content.Text, "Issued in error.") || notice.Summary != nil {
		t.Errorf("retraction entry = %+v; want a text notice with the reason and no summary", notice)
	}
	if bytes.Contains(resp.body, []byte("Quokka")) {
		t.Errorf("the retracted article's text is still in the feed")
	}

	summit := feed.Entries[3]
	var terms []string
	for _, c := range summit.Categories {
		terms = append(terms, c.Term)
	}
	if summit.Content.Type != "html" || !strings.Contains(summit.Content.Text, "<strong>met</strong>") || summit.Summary == nil ||
		*summit.Summary != "The summit opened." || fmt.Sprint(summit.Authors) != "[NATO Press Office]" || fmt.Sprint(terms) != "[summit nato]" || summit.Lang != "en" {
		t.Errorf("entry = %+v; want the rendered body, summary, byline, tags, language en", summit)
	}
	if len(summit.Links) < 2 || summit.Links[0] != (atomLink{"alternate", "text/html", ta.base + "/news/" + enSlug}) ||
		summit.Links[1] != (atomLink{"alternate", "application/json", ta.base + "/public/v1/articles/" + enSlug}) {
		t.Errorf("entry links = %v; want the article's page, then its public JSON", summit.Links)
	}
	for _, l := range summit.Links[:2] {
		if r := call(t, "GET", l.Href, "", nil); r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), l.Type) {
			t.Errorf("GET the entry's %s link %s = %d %s", l.Type, l.Href, r.status, r.header.Get("Content-Type"))
		}
	}
	if feed.Entries[2].Lang != "fr" {
		t.Errorf("French entry xml:lang = %q; want fr", feed.Entries[2].Lang)
	}

	// JSON Feed: the same entries.
	jf, jresp := getJSONFeed(t, jsonURL+fresh)
	if got := jsonTitles(jf); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("JSON Feed items = %q; want %q", got, want)
	}
	if jf.FeedURL != jsonURL || jf.HomePageURL != ta.base+"/news" {
		t.Errorf("feed_url %q, home_page_url %q", jf.FeedURL, jf.HomePageURL)
	}
	if bytes.Contains(jresp.body, []byte("Zanzibar")) || bytes.Contains(jresp.body, []byte("Quokka")) {
		t.Errorf("the JSON Feed holds the draft or the retracted text:\n%s", jresp.body)
	}
	for i, it := range jf.Items {
		if it.ID != feed.Entries[i].ID || it.DateModified != feed.Entries[i].Updated || it.DatePublished != feed.Entries[i].Published {
			t.Errorf("item %d: id %s, modified %s, published %s; want those of the Atom entry %+v", i, it.ID, it.DateModified, it.DatePublished, feed.Entries[i])
		}
	}
	if it := jf.Items[0]; it.ContentHTML != nil || it.ContentText == nil || !strings.Contains(*it.ContentText, "Issued in error.") || it.Summary != "" {
		t.Errorf("retracted item = %+v; want content_text with the reason, no content_html, no summary", it)
	}
	if it := jf.Items[1]; it.DateModified == it.DatePublished || it.ContentHTML == nil || !strings.Contains(*it.ContentHTML, "2 million") {
		t.Errorf("corrected item = %+v; want date_modified after date_published, the corrected HTML", it)
	}
	if it := jf.Items[3]; it.URL != ta.base+"/news/"+enSlug || it.Language != "en" || fmt.Sprint(it.Tags) != "[summit nato]" ||
		len(it.Authors) != 1 || it.Authors[0].Name != "NATO Press Office" || it.Summary != "The summit opened." {
		t.Errorf("item = %+v; want url, language, tags, author, summary", it)
	}

	// One language.
	fr, _ := getAtom(t, atomURL+"?lang=fr")
	if got := atomTitles(fr); fmt.Sprint(got) != "[Le sommet s'ouvre]" || fr.Lang != "fr" || fr.ID != atomURL+"?lang=fr" {
		t.Errorf("?lang=fr: entries %q, xml:lang %q, id %q; want the French article only", got, fr.Lang, fr.ID)
	}
	jfr, _ := getJSONFeed(t, jsonURL+"?lang=fr")
	if got := jsonTitles(jfr); fmt.Sprint(got) != "[Le sommet s'ouvre]" || jfr.Language != "fr" {
		t.Errorf("JSON Feed ?lang=fr: items %q, language %q; want the French article only", got, jfr.Language)
	}
	for _, u := range []string{atomURL, jsonURL} {
		r := call(t, "GET", u+"?lang=not%20a%20tag", "", nil)
		expectStatus(t, r, 400, "bad lang")
		if p := r.json(t); r.header.Get("Content-Type") != "application/problem+json" || p["type"] != "/problems/malformed-request" {
			t.Errorf("GET %s?lang=not a tag = %s %s; want a malformed-request problem", u, r.header.Get("Content-Type"), r.body)
		}
	}

	// Conditional requests.
	for _, u := range []string{atomURL, jsonURL} {
		first := call(t, "GET", u, "", nil)
		tag := first.header.Get("ETag")
		if tag == "" || first.header.Get("Cache-Control") != "public, max-age=30" {
			t.Errorf("GET %s: ETag %q, Cache-Control %q; want an ETag, public, max-age=30", u, tag, first.header.Get("Cache-Control"))
		}
		r := call(t, "GET", u, "", nil, "If-None-Match", tag)
		expectStatus(t, r, 304, "If-None-Match the current ETag")
		if len(r.body) != 0 || r.header.Get("ETag") != tag {
			t.Errorf("304 with body %q, ETag %q", r.body, r.header.Get("ETag"))
		}
		expectStatus(t, call(t, "GET", u, "", nil, "If-None-Match", `"stale"`), 200, "If-None-Match another ETag")
	}
	if beforeResp.header.Get("ETag") == resp.header.Get("ETag") {
		t.Errorf("the Atom ETag did not change with a correction and a retraction")
	}
	expectStatus(t, call(t, "GET", atomURL, "", nil, "If-None-Match", beforeResp.header.Get("ETag")), 200, "If-None-Match the ETag from before the changes")
}
