package main

import (
	"fmt"
	"testing"
)

// TestArticleAtVersion reads an article as it was at each version, as the desk's history
// compares revisions: folded from its events up to that one, without an ETag to change it by;
// a version it never reached is 404, and so is every version of a killed article before the
// kill.
func TestArticleAtVersion(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	ta := startTestApp(t, dir)
	api := ta.base + "/api/v1/articles"

	r := call(t, "POST", api, rita, map[string]any{"headline": "Ministers meet", "body": "Draft text.", "tags": []string{"nato"}})
	expectStatus(t, r, 201, "draft")
	id := r.json(t)["id"].(string)
	expectStatus(t, call(t, "PATCH", api+"/"+id, rita, map[string]any{"headline": "Foreign ministers meet", "tags": []string{"nato", "diplomacy"}}, "If-Match", `"1"`), 200, "revise")
	expectStatus(t, call(t, "POST", api+"/"+id+"/submit", rita, nil), 200, "submit")

	for _, c := range []struct {
		version  int
		headline string
		status   string
	}{
		{1, "Ministers meet", "draft"},
		{2, "Foreign ministers meet", "draft"},
		{3, "Foreign ministers meet", "in_review"},
	} {
		r := call(t, "GET", fmt.Sprintf("%s/%s?version=%d", api, id, c.version), ed, nil)
		expectStatus(t, r, 200, fmt.Sprintf("GET ?version=%d", c.version))
		a := r.json(t)
		if a["headline"] != c.headline || a["status"] != c.status || a["version"] != float64(c.version) {
			t.Errorf("?version=%d = headline %q, status %v, version %v; want %q, %s, %d", c.version, a["headline"], a["status"], a["version"], c.headline, c.status, c.version)
		}
		if tag := r.header.Get("ETag"); tag != "" {
			t.Errorf("?version=%d has ETag %s; want none (a past version is nothing to change)", c.version, tag)
		}
		if _, ok := a["translations"]; ok {
			t.Errorf("?version=%d carries translations; want them left out", c.version)
		}
	}
	for _, c := range []struct {
		query string
		code  int
	}{
		{"version=4", 404}, {"version=0", 400}, {"version=01", 400}, {"version=x", 400}, {"version=-1", 400},
	} {
		expectStatus(t, call(t, "GET", api+"/"+id+"?"+c.query, ed, nil), c.code, "GET ?"+c.query)
	}

	// A kill erases the text: no earlier version is served, whatever the log still holds.
	killed, _ := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "To be killed", "body": "Libellous text."})
	expectStatus(t, call(t, "POST", api+"/"+killed+"/kill", ed, map[string]any{"reason": "Court order."}), 200, "kill")
	for v := 1; v <= 4; v++ {
		expectStatus(t, call(t, "GET", fmt.Sprintf("%s/%s?version=%d", api, killed, v), ed, nil), 404, fmt.Sprintf("killed ?version=%d", v))
	}
}
