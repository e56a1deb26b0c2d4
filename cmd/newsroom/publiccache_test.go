package main

import (
	"strings"
	"testing"
	"time"

	"github.com/newsroom/newsroom/embeddednats/natstest"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// TestPublicReadsCachedUntilTheViewChanges: a public article is served from memory with its
// ETag (304 for a reader who has it), and the moment the published view applies a change the
// change is what readers get: a read that waits for the change's position never sees the
// cached copy.
func TestPublicReadsCachedUntilTheViewChanges(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	eva := createToken(t, dir, "eva", "editor") // confirms corrections: four eyes
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
	for _, step := range steps {
		var r response
		if step.path == "/correct" {
			r = correctText(t, ta.base, id, ed, eva, step.body)
		} else {
			r = call(t, "POST", ta.base+"/api/v1/articles/"+id+step.path, ed, step.body)
			expectStatus(t, r, 200, step.path)
		}
		position := r.header.Get("X-Newsroom-Position")
		got := call(t, "GET", url+"?min_position="+position, "", nil, "If-None-Match", etag)
		expectStatus(t, got, 200, "read at the position of "+step.path)
		a := got.json(t)
		wantVersion := r.json(t)["version"] // the version the command made
		if a["version"] != wantVersion || a["status"] != step.want {
			t.Errorf("after %s, read at its position = version %v, %v; want %v, %s", step.path, a["version"], a["status"], wantVersion, step.want)
		}
		if got.header.Get("ETag") == etag {
			t.Errorf("after %s, ETag still %s", step.path, etag)
		}
		etag = got.header.Get("ETag")
	}
}

// TestPublicCacheOnTwoInstancesOnPostgreSQL: two instances share PostgreSQL and NATS, and each
// keeps its public cache. Whichever instance's views commit a correction and then a kill, the
// other serves the change — the corrected page, then 410, and lists and feeds without the
// article — though its answers would otherwise be served for an hour: the announcement alone
// invalidates them. Once it serves the change it never serves the old page again.
func TestPublicCacheOnTwoInstancesOnPostgreSQL(t *testing.T) {
	dsn := sqldbtest.PostgresURL(t)
	defer func(was time.Duration) { publicCacheMaxAge = was }(publicCacheMaxAge)
	publicCacheMaxAge = time.Hour // only invalidation can make an instance current

	ns := natstest.Start(t)
	rita := createTokenIn(t, dsn, "rita", "reporter")
	ed := createTokenIn(t, dsn, "ed", "editor")
	eva := createTokenIn(t, dsn, "eva", "editor") // confirms corrections: four eyes
	start := func() *testApp {
		return startTestAppWith(t, config{HTTP: "127.0.0.1:0", DataDir: t.TempDir(), DB: dsn, NATSURL: ns.ClientURL()})
	}
	a := start()
	id, slug := publishedArticle(t, a.base, rita, ed, map[string]any{"headline": "Summit opens", "body": "Text.", "byline": "Rita"})
	b := start()
	instances := map[string]*testApp{"A": a, "B": b}

	type seen struct {
		status  int
		version float64
	}
	read := func(ta *testApp) seen {
		t.Helper()
		r := call(t, "GET", ta.base+"/public/v1/articles/"+slug, "", nil)
		if r.status != 200 {
			return seen{status: r.status}
		}
		return seen{status: 200, version: r.json(t)["version"].(float64)}
	}
	listed := func(ta *testApp, path string) bool {
		t.Helper()
		r := call(t, "GET", ta.base+path, "", nil)
		expectStatus(t, r, 200, path)
		return strings.Contains(string(r.body), id)
	}
	// Both instances hold the published page, the list and the feed in their caches.
	for name, ta := range instances {
		eventually(t, "the article on instance "+name, func() bool { return read(ta) == seen{200, 4} })
		if !listed(ta, "/public/v1/articles") || !listed(ta, "/public/v1/feeds/feed.json") {
			t.Fatalf("instance %s: the article is not in the list or the feed", name)
		}
	}

	steps := []struct {
		what, path string
		body       map[string]any
		want       seen
	}{
		{"correction", "/correct", map[string]any{"body": "Corrected text.", "note": "A typo."}, seen{200, 6}},
		{"kill", "/kill", map[string]any{"reason": "Court order."}, seen{status: 410}},
	}
	for _, step := range steps {
		var r response
		if step.path == "/correct" {
			r = correctText(t, a.base, id, ed, eva, step.body)
		} else {
			r = call(t, "POST", a.base+"/api/v1/articles/"+id+step.path, ed, step.body)
			expectStatus(t, r, 200, step.what)
		}
		position := r.header.Get("X-Newsroom-Position")
		for name, ta := range instances {
			// Once the view holds the change, the instance serves it: from the view at the
			// command's position, and then from memory.
			got := call(t, "GET", ta.base+"/public/v1/articles/"+slug+"?min_position="+position, "", nil)
			if got.status != step.want.status {
				t.Fatalf("instance %s, after the %s, read at its position = %d; want %d", name, step.what, got.status, step.want.status)
			}
			eventually(t, "instance "+name+" serving the "+step.what, func() bool { return read(ta) == step.want })
			for range 20 {
				if got := read(ta); got != step.want {
					t.Fatalf("instance %s served %+v after it had served the %s (%+v)", name, got, step.what, step.want)
				}
			}
		}
	}
	for name, ta := range instances {
		for _, path := range []string{"/public/v1/articles", "/public/v1/feeds/feed.json", "/public/v1/feeds/atom.xml"} {
			eventually(t, "instance "+name+" leaving the killed article out of "+path, func() bool { return !listed(ta, path) })
		}
	}
}
