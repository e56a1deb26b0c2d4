package main

// Search over HTTP, end to end: what the desk and readers find, what a query that cannot be
// searched answers, and that a search reads its own writes.

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestSearchOverHTTP(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	eva := createToken(t, dir, "eva", "editor")
	ta := startTestApp(t, dir)
	api := ta.base + "/api/v1/articles"
	public := ta.base + "/public/v1/search"

	nato := corpus(t)
	id, _ := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": nato["headline"], "body": nato["body"],
		"tags": []string{"nato"}, "language": "en"})
	_, _ = publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "Les ministres réunis à Zürich",
		"body": "Le ministre a parlé.\n\n<script>alert('x')</script> Zürich", "language": "fr"})
	r := call(t, "POST", api, rita, map[string]any{"headline": "Draft about the council", "body": "Unpublished council words."})
	expectStatus(t, r, 201, "draft")
	pos := r.header.Get("X-Newsroom-Position")

	items := func(r response) []map[string]any {
		t.Helper()
		raw, _ := r.json(t)["items"].([]any)
		out := make([]map[string]any, len(raw))
		for i, it := range raw {
			out[i] = it.(map[string]any)
		}
		return out
	}
	get := func(u, token string) response {
		t.Helper()
		r := call(t, "GET", u, token, nil)
		expectStatus(t, r, 200, "GET "+u)
		return r
	}

	// Read-your-writes: the draft is found at once with the position its command answered.
	if got := items(get(api+"?q=unpublished+council&min_position="+pos, rita)); len(got) != 1 || got[0]["status"] != "draft" {
		t.Errorf("desk search for the draft = %v; want it", got)
	}
	// Readers never find it.
	if got := items(get(public+"?q=unpublished&min_position="+pos, "")); len(got) != 0 {
		t.Errorf("public search for the draft = %v; want nothing", got)
	}

	// Stemming, diacritics, highlighted and escaped.
	r = get(public+"?q=meets", "")
	if got := items(r); len(got) != 1 || got[0]["id"] != id || !strings.Contains(got[0]["highlights"].(map[string]any)["headline"].(string), "<mark>") {
		t.Errorf("public search meets = %s; want the NATO article, its headline marked", r.body)
	}
	if cc := r.header.Get("Cache-Control"); cc != "public, max-age=10" {
		t.Errorf("public search Cache-Control = %q", cc)
	}
	r = get(public+"?q=zurich+alert&lang=fr", "")
	if got := items(r); len(got) != 1 {
		t.Fatalf("public search zurich alert = %s; want the French article", r.body)
	}
	if snippet := items(r)[0]["highlights"].(map[string]any)["snippet"].(string); strings.Contains(snippet, "<script") ||
		!strings.Contains(snippet, "&lt;script&gt;<mark>alert</mark>") {
		t.Errorf("snippet = %s; want the script escaped and its word marked", snippet)
	}

	// Filters and sort on the desk.
	if got := items(get(api+"?q=council&sort=date", ed)); len(got) != 2 || got[0]["status"] != "draft" {
		t.Errorf("desk search council by date = %v; want the draft first", got)
	}
	if got := items(get(api+"?tag=nato&status=published", ed)); len(got) != 1 || got[0]["id"] != id {
		t.Errorf("desk filter tag=nato = %v; want the NATO article", got)
	}
	if got := items(get(api+"?q=council&author=nobody", ed)); len(got) != 0 {
		t.Errorf("desk search by another author = %v; want nothing", got)
	}
	r = get(api+"?q=council&per_page=1", ed)
	if body := r.json(t); body["total"] != float64(2) || !strings.Contains(body["next"].(string), "page=2") {
		t.Errorf("desk search page 1 of 2 = %s; want total 2 and a next page", r.body)
	}

	// A correction is found once confirmed, and the cached answer does not hide it.
	get(public+"?q=walruses", "")
	r = correctText(t, ta.base, id, ed, eva, map[string]any{"summary": "Walruses attended.", "note": "Added the walruses."})
	if got := items(get(public+"?q=walruses&min_position="+r.header.Get("X-Newsroom-Position"), "")); len(got) != 1 {
		t.Errorf("public search after the correction = %v; want the article", got)
	}
	eventually(t, "the cached search invalidated", func() bool { return len(items(get(public+"?q=walruses", ""))) == 1 })

	// What cannot be searched is a 400 problem, never a 500 or the database's words.
	for _, q := range []string{`"unbalanced`, "-", "*", "nato -", "the of", "le la", "se*", "-nato", "", strings.Repeat("x", 501)} {
		for _, u := range []string{public + "?q=" + url.QueryEscape(q), api + "?q=" + url.QueryEscape(q)} {
			r := call(t, "GET", u, ed, nil)
			if r.status != 400 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") ||
				!strings.Contains(r.json(t)["detail"].(string), "query parameter q") {
				t.Errorf("GET %s = %d %s; want a 400 problem about q", u, r.status, r.body)
			}
		}
	}
	for _, u := range []string{public, public + "?q=nato&sort=best", public + "?q=nato&lang=x_y", api + "?q=nato&updated_after=yesterday",
		public + "?q=nato&page=" + strconv.Itoa(1000), api + "?q=nato&before=abc"} {
		if r := call(t, "GET", u, ed, nil); r.status != 400 {
			t.Errorf("GET %s = %d %s; want 400", u, r.status, r.body)
		}
	}
}
