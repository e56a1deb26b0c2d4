package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestListsPageByCursor: the public list and the desk answer a next link on every page but
// the last; following them reads every article once, in order, with the total on each page;
// page numbers keep working for the first pages; a cursor no listing gave, a page number too
// deep, or both ways at once are refused as problems.
func TestListsPageByCursor(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	ta := startTestApp(t, dir)
	var ids []string
	for i := range 5 {
		id, _ := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": fmt.Sprintf("Story %d", i), "body": "Text.", "tags": []string{"nato"}})
		ids = append(ids, id)
	}
	slices.Reverse(ids) // newest first
	r := call(t, "POST", ta.base+"/api/v1/articles", rita, map[string]any{"headline": "A draft"})
	expectStatus(t, r, 201, "draft")
	position := r.header.Get("X-Newsroom-Position")

	// walk follows next from first and returns the ids it read.
	walk := func(first, token string, wantTotal float64) []string {
		t.Helper()
		var got []string
		for next := first; next != ""; {
			r := call(t, "GET", ta.base+next, token, nil)
			expectStatus(t, r, 200, next)
			page := r.json(t)
			if page["total"] != wantTotal {
				t.Errorf("GET %s: total %v; want %v", next, page["total"], wantTotal)
			}
			items, _ := page["items"].([]any)
			for _, it := range items {
				got = append(got, it.(map[string]any)["id"].(string))
			}
			next, _ = page["next"].(string)
			if cursor, _ := page["next_cursor"].(string); next != "" && !strings.Contains(next, "before="+cursor) {
				t.Errorf("next %q does not carry next_cursor %q", next, cursor)
			}
			if next != "" && len(items) != 2 {
				t.Errorf("a page of %d items with a next link; want 2 (per_page)", len(items))
			}
		}
		return got
	}
	for _, first := range []string{
		"/public/v1/articles?per_page=2&min_position=" + position,
		"/public/v1/articles?per_page=2&tag=nato",
		"/public/v1/articles?per_page=2&lang=en",
	} {
		if got := walk(first, "", 5); !slices.Equal(got, ids) {
			t.Errorf("following next from %s = %v; want %v", first, got, ids)
		}
	}
	if got := walk("/api/v1/articles?per_page=2&status=published&min_position="+position, ed, 5); !slices.Equal(got, ids) {
		t.Errorf("the desk's published articles by next = %v; want %v", got, ids)
	}
	if got := walk("/api/v1/articles?per_page=2", ed, 6); len(got) != 6 {
		t.Errorf("the whole desk by next = %d articles; want 6", len(got))
	}
	// Page numbers still work.
	r = call(t, "GET", ta.base+"/public/v1/articles?per_page=2&page=2", "", nil)
	expectStatus(t, r, 200, "page 2")
	if items := r.json(t)["items"].([]any); len(items) != 2 || items[0].(map[string]any)["id"] != ids[2] {
		t.Errorf("page 2 = %v; want %v first", items, ids[2])
	}
	for _, q := range []string{"before=x", "before=" + strings.Repeat("A", 500), "page=2&before=MjAyNi0wMS0wMVQwMDowMDowMC4wMDAwMDBafGE", "page=5002&per_page=2"} {
		for _, path := range []string{"/public/v1/articles?", "/api/v1/articles?"} {
			r := call(t, "GET", ta.base+path+q, ed, nil)
			if r.status != 400 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
				t.Errorf("GET %s%s = %d %s; want a 400 problem", path, q, r.status, r.body)
			}
		}
	}
}
