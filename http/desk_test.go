package http

import (
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/newsroom/newsroom/internal/apitest"
)

// deskClient is a client whose exchanges are checked against http/openapi.json.
func deskClient(t *testing.T) (*nethttp.Client, string) {
	t.Helper()
	contract, err := apitest.Load(OpenAPI())
	if err != nil {
		t.Fatalf("http/openapi.json: %v", err)
	}
	srv := httptest.NewServer(New(Config{}))
	t.Cleanup(srv.Close)
	return &nethttp.Client{Transport: apitest.Record(t, contract, nil)}, srv.URL
}

func get(t *testing.T, client *nethttp.Client, method, url string, header ...string) (*nethttp.Response, string) {
	t.Helper()
	req, err := nethttp.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// TestDeskPage checks the page: served at /desk and /desk/, revalidated on every load, under a
// CSP that allows no inline script or style, and holding none.
func TestDeskPage(t *testing.T) {
	client, base := deskClient(t)
	for _, path := range []string{"/desk", "/desk/"} {
		resp, body := get(t, client, "GET", base+path)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s = %d %s; want 200 text/html", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		h := resp.Header
		for name, want := range map[string]string{
			"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
		} {
			if got := h.Get(name); got != want {
				t.Errorf("GET %s: %s = %q; want %q", path, name, got, want)
			}
		}
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: CSP %q allows something unsafe", path, csp)
		}
		// What the CSP would block, the page must not need.
		for what, re := range map[string]*regexp.Regexp{
			"an inline script":       regexp.MustCompile(`<script(?:\s+type="module")?>`),
			"a style attribute":      regexp.MustCompile(`\sstyle=`),
			"a <style> element":      regexp.MustCompile(`<style`),
			"an event handler":       regexp.MustCompile(`\son[a-z]+=`),
			"a javascript: URL":      regexp.MustCompile(`javascript:`),
			"an unreplaced template": regexp.MustCompile(`\{\{`),
		} {
			if loc := re.FindStringIndex(body); loc != nil {
				t.Errorf("GET %s: the page holds %s: %q", path, what, body[loc[0]:min(loc[1]+40, len(body))])
			}
		}
		// The contract's selectors (the browser tests use them).
		for _, id := range []string{"signin", "token", "signin-submit", "signout", "whoami", "article-list", "filter-status",
			"filter-author", "filter-language", "filter-q", "new-article", "headline", "summary", "body", "tags", "language",
			"byline", "dateline", "preview", "save", "status", "problem", "conflict", "reapply", "history"} {
			if !strings.Contains(body, `id="`+id+`"`) {
				t.Errorf("GET %s: no element #%s", path, id)
			}
		}
		if !strings.Contains(body, `id="problem" class="problem" role="alert"`) || !strings.Contains(body, "data-diff") {
			t.Errorf("GET %s: #problem with role=alert, or [data-diff], missing", path)
		}

		tag := h.Get("ETag")
		resp, _ = get(t, client, "GET", base+path, "If-None-Match", tag)
		if resp.StatusCode != nethttp.StatusNotModified {
			t.Errorf("GET %s with If-None-Match: %s = %d; want 304", path, tag, resp.StatusCode)
		}
	}
}

// TestDeskAssets fetches every asset the page names, and every module those import: each is
// served with its type, an ETag (304 when the browser holds it) and, under the current
// version, a year's caching; an unknown one is 404.
func TestDeskAssets(t *testing.T) {
	client, base := deskClient(t)
	_, page := get(t, client, "GET", base+"/desk")
	prefix := deskAssetsPrefix()
	refs := regexp.MustCompile(`(?:src|href)="(/desk/assets/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 2 {
		t.Fatalf("the page names %d assets; want its script and stylesheet at least", len(refs))
	}
	todo := []string{}
	for _, m := range refs {
		if !strings.HasPrefix(m[1], prefix) {
			t.Errorf("the page names %s; want it under the current version %s", m[1], prefix)
		}
		todo = append(todo, m[1])
	}
	imports := regexp.MustCompile(`(?m)^import [^;]*?from '\./([a-z]+\.js)';`)
	seen := map[string]bool{}
	for len(todo) > 0 {
		path := todo[0]
		todo = todo[1:]
		if seen[path] {
			continue
		}
		seen[path] = true
		resp, body := get(t, client, "GET", base+path)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s = %d; want 200", path, resp.StatusCode)
			continue
		}
		wantType := map[string]string{".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}[path[strings.LastIndex(path, "."):]]
		if ct := resp.Header.Get("Content-Type"); wantType == "" || !strings.HasPrefix(ct, wantType) {
			t.Errorf("GET %s: Content-Type %q; want %q", path, ct, wantType)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s: Cache-Control %q; want a year, immutable", path, cc)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no X-Content-Type-Options: nosniff", path)
		}
		tag := resp.Header.Get("ETag")
		if r, _ := get(t, client, "GET", base+path, "If-None-Match", tag); r.StatusCode != nethttp.StatusNotModified {
			t.Errorf("GET %s with If-None-Match: %s = %d; want 304", path, tag, r.StatusCode)
		}
		if r, _ := get(t, client, "HEAD", base+path); r.StatusCode != 200 || r.Header.Get("ETag") != tag {
			t.Errorf("HEAD %s = %d, ETag %q; want 200, %q", path, r.StatusCode, r.Header.Get("ETag"), tag)
		}
		for _, m := range imports.FindAllStringSubmatch(body, -1) {
			todo = append(todo, prefix+m[1])
		}
	}
	for _, module := range []string{"app.js", "api.js", "editor.js", "actions.js", "list.js", "history.js", "diff.js", "fields.js", "pictures.js"} {
		if !seen[prefix+module] {
			t.Errorf("%s is not reached from the page", module)
		}
	}

	// A page loaded before a deploy asks under its old version: it gets the file, not for keeps.
	resp, _ := get(t, client, "GET", base+"/desk/assets/0123456789ab/app.js")
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("GET app.js under another version = %d, Cache-Control %q; want 200, no-cache", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	for _, path := range []string{prefix + "nope.js", prefix + "index.html", prefix + "..%2Fdesk.go", "/desk/assets/app.js", "/desk/other"} {
		resp, _ := get(t, client, "GET", base+path)
		if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("GET %s = %d %s; want 404 problem", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if cc := resp.Header.Get("Cache-Control"); strings.Contains(cc, "immutable") {
			t.Errorf("GET %s: a 404 cached for good (%q)", path, cc)
		}
	}
}
