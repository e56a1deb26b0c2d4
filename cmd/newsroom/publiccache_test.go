package main

import (
	"strings"
	"testing"
)

// TestPublicReadsCachedUntilTheViewChanges: a public article is served from memory with its
// ETag (304 for a reader who has it), and the moment the published view applies a change the
// change is what readers get: a read that waits for the change's position never sees the
// cached copy.
func TestPublicReadsCachedUntilTheViewChanges(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	ta := startTestApp(t, dir)
	id, slug := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "Summit opens", "body": "Text.", "byline": "Rita"})
	url := ta.base + "/public/v1/articles/" + slug

	var first response
	eventually(t, "the article on the public API", func() bool {
		first = call(t, "GET", url, "", nil)
		return first.status == 200
	})
	etag := first.header.Get("ETag")
	if !strings.HasPrefix(etag, `"4-`) {
		t.Fatalf("ETag = %q; want \"4-<digest of the answer>\"", etag)
	}
	again := call(t, "GET", url, "", nil)
	if again.status != 200 || string(again.body) != string(first.body) || again.header.Get("ETag") != etag {
		t.Errorf("second read = %d, ETag %q, %d bytes; want the first answer again", again.status, again.header.Get("ETag"), len(again.body))
	}
	r := call(t, "GET", url, "", nil, "If-None-Match", etag)
	if r.status != 304 || r.header.Get("ETag") != etag || len(r.body) != 0 {
		t.Errorf("If-None-Match %s = %d, ETag %q, %d bytes; want 304, the same ETag, no body", etag, r.status, r.header.Get("ETag"), len(r.body))
	}
	if r := call(t, "GET", url, "", nil, "If-None-Match", `"3", W/`+etag); r.status != 304 {
		t.Errorf("If-None-Match with a list holding the ETag = %d; want 304", r.status)
	}

	steps := []struct {
		path, want string
		body       map[string]any
	}{
		{"/correct", "published", map[string]any{"body": "Corrected text.", "note": "A typo."}},
		{"/retract", "retracted", map[string]any{"reason": "Wrong summit."}},
	}
	for i, step := range steps {
		r := call(t, "POST", ta.base+"/api/v1/articles/"+id+step.path, ed, step.body)
		expectStatus(t, r, 200, step.path)
		position := r.header.Get("X-Newsroom-Position")
		got := call(t, "GET", url+"?min_position="+position, "", nil, "If-None-Match", etag)
		expectStatus(t, got, 200, "read at the position of "+step.path)
		a := got.json(t)
		wantVersion := float64(5 + i)
		if a["version"] != wantVersion || a["status"] != step.want {
			t.Errorf("after %s, read at its position = version %v, %v; want %v, %s", step.path, a["version"], a["status"], wantVersion, step.want)
		}
		if got.header.Get("ETag") == etag {
			t.Errorf("after %s, ETag still %s", step.path, etag)
		}
		etag = got.header.Get("ETag")
	}
}
