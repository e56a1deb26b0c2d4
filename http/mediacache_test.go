package http

import (
	"context"
	nethttp "net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/newsroom/newsroom/auth"
	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// switchable is an image whose publicity the test changes, counting how often it is asked.
type switchable struct {
	oneImage
	mu     sync.Mutex
	public bool
	asks   int
	during func() // run while the view is asked, as a concurrent commit would
}

func (s *switchable) IsPublicMedia(context.Context, string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asks++
	if s.during != nil {
		s.during()
	}
	return s.public, nil
}

func (s *switchable) set(public bool) {
	s.mu.Lock()
	s.public = public
	s.mu.Unlock()
}

func (s *switchable) asked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asks
}

func publicRenditionServer(t *testing.T) (*switchable, *PublicCache, func(method, target string, header ...string) *httptest.ResponseRecorder) {
	t.Helper()
	img := &switchable{oneImage: oneImage{body: []byte("rendition bytes")}, public: true}
	cache := NewPublicCache(PublicCacheMaxAge)
	h := newEcho(Config{Media: &MediaConfig{Library: img, Views: img, Public: img}, PublicCache: cache})
	return img, cache, func(method, target string, header ...string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(method, target, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
}

func TestPublicRenditionPublicityFollowsInvalidation(t *testing.T) {
	img, cache, get := publicRenditionServer(t)
	const url = "/public/v1/media/m-1/800"
	for i := range 3 {
		if r := get("GET", url); r.Code != nethttp.StatusOK {
			t.Fatalf("GET %s (read %d) = %d; want 200", url, i+1, r.Code)
		}
	}
	if got := img.asked(); got != 1 {
		t.Fatalf("the view was asked %d times for three reads; want 1 (the answer is kept)", got)
	}

	img.set(false) // a kill: the published view commits, then invalidates
	cache.Invalidate([]string{"some-article"})
	if r := get("GET", url); r.Code != nethttp.StatusNotFound {
		t.Fatalf("GET %s after the image left the published view = %d; want 404", url, r.Code)
	}
	if r := get("HEAD", url); r.Code != nethttp.StatusNotFound {
		t.Fatalf("HEAD %s after the image left the published view = %d; want 404", url, r.Code)
	}
	if got := img.asked(); got != 2 {
		t.Fatalf("the view was asked %d times; want 2 (once after the invalidation, the refusal kept)", got)
	}

	img.set(true)
	cache.Invalidate(nil)
	if r := get("GET", url); r.Code != nethttp.StatusOK {
		t.Fatalf("GET %s once published again = %d; want 200", url, r.Code)
	}
}

func TestPublicRenditionPublicityMaxAge(t *testing.T) {
	img, cache, get := publicRenditionServer(t)
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	cache.now = func() time.Time { return now }
	const url = "/public/v1/media/m-1/800"
	get("GET", url)
	img.set(false) // an invalidation this instance missed
	if r := get("GET", url); r.Code != nethttp.StatusOK {
		t.Fatalf("GET %s within the max age = %d; want 200 (kept)", url, r.Code)
	}
	now = now.Add(PublicCacheMaxAge)
	if r := get("GET", url); r.Code != nethttp.StatusNotFound {
		t.Fatalf("GET %s past the max age = %d; want 404 (asked again)", url, r.Code)
	}
}

func TestPublicRenditionKeepsNoRacedPublicity(t *testing.T) {
	img, cache, get := publicRenditionServer(t)
	img.during = func() { cache.Invalidate([]string{"some-article"}) }
	const url = "/public/v1/media/m-1/800"
	get("GET", url)
	img.during = nil
	get("GET", url)
	if got := img.asked(); got != 2 {
		t.Fatalf("the view was asked %d times; want 2 (an answer read during an invalidation is not kept)", got)
	}
}

func TestPublicRenditionHeaders(t *testing.T) {
	_, _, get := publicRenditionServer(t)
	const url = "/public/v1/media/m-1/800"
	body := "rendition bytes"
	for _, method := range []string{"GET", "HEAD", "GET"} { // the last one from the cache
		r := get(method, url)
		h := r.Header()
		for key, want := range map[string]string{
			"ETag":                   `"SHA-256=abcdefgh"`,
			"Cache-Control":          "public, max-age=10", // a public article's: a kill reaches caches as soon
			"Content-Type":           "image/jpeg",
			"Content-Length":         strconv.Itoa(len(body)),
			"X-Content-Type-Options": "nosniff",
		} {
			if got := h.Get(key); got != want {
				t.Errorf("%s %s: %s = %q; want %q", method, url, key, got, want)
			}
		}
		if h.Get("X-Request-Id") == "" {
			t.Errorf("%s %s: no X-Request-Id", method, url)
		}
		if method == "GET" && r.Body.String() != body {
			t.Errorf("GET %s = %q; want %q", url, r.Body.String(), body)
		}
	}
	if r := get("GET", url, "If-None-Match", `W/"x", "SHA-256=abcdefgh"`); r.Code != nethttp.StatusNotModified || r.Body.Len() != 0 {
		t.Errorf("GET with a matching If-None-Match = %d, %d bytes; want 304, none", r.Code, r.Body.Len())
	} else if r.Header().Get("ETag") != `"SHA-256=abcdefgh"` {
		t.Errorf("304: ETag = %q", r.Header().Get("ETag"))
	}
	if r := get("GET", url, "If-None-Match", `"SHA-256=other"`); r.Code != nethttp.StatusOK {
		t.Errorf("GET with another If-None-Match = %d; want 200", r.Code)
	}
	// No address is kept longer than an article: ?v= naming the content earns nothing (it
	// earned a year, which outlived a legal kill in every cache).
	for _, v := range []string{"abcdefgh", "abcdefgX", "abc"} {
		if got := get("GET", url+"?v="+v).Header().Get("Cache-Control"); got != publicCacheControl {
			t.Errorf("GET %s?v=%s: Cache-Control = %q; want %q, as a public article", url, v, got, publicCacheControl)
		}
	}
	if got := get("GET", "/api/v1/media/m-1/renditions/800").Code; got != nethttp.StatusUnauthorized {
		t.Errorf("GET the desk rendition without a token = %d; want 401", got)
	}
}

func TestRequestIDs(t *testing.T) {
	next := newRequestIDs()
	seen := map[string]bool{}
	for range 1000 {
		id := next()
		if len(id) != 32 || !plainID(id) || seen[id] {
			t.Fatalf("request id %q: want 32 letters and digits, never twice", id)
		}
		seen[id] = true
	}
	if a, b := newRequestIDs()(), newRequestIDs()(); a == b {
		t.Fatalf("two instances both gave %q first", a)
	}
	_, _, get := publicRenditionServer(t)
	if got := get("GET", "/healthz", "X-Request-Id", "client-7").Header().Get("X-Request-Id"); got != "client-7" {
		t.Errorf("a plain client X-Request-Id came back as %q", got)
	}
	if got := get("GET", "/healthz", "X-Request-Id", "bad id\x7f").Header().Get("X-Request-Id"); len(got) != 32 {
		t.Errorf("a client X-Request-Id with spaces came back as %q; want a fresh one", got)
	}
}

// erasable is an image the test erases under the cache's feet, as another instance's view
// would: this instance's rendition cache is never told.
type erasable struct {
	oneImage
	mu     sync.Mutex
	erased bool
}

func (e *erasable) Get(ctx context.Context, id string) (projections.MediaItem, error) {
	it, err := e.oneImage.Get(ctx, id)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.erased {
		it.ErasedAt = time.Now()
	}
	return it, err
}

// A desk rendition in the cache is not served once the media view says the image was erased:
// the instance that committed the erasure evicts its own cache only.
func TestDeskRenditionOfAnErasedImageIsGone(t *testing.T) {
	img := &erasable{oneImage: oneImage{body: []byte("rendition bytes")}}
	tokens := auth.NewTokens(sqldbtest.Open(t, sqldb.SQLite))
	secret, _, err := tokens.Create(context.Background(), "eva", domain.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	h := New(Config{Media: &MediaConfig{Library: img, Views: img, Public: img}, PublicCache: NewPublicCache(PublicCacheMaxAge), Tokens: tokens})
	get := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/api/v1/media/m-1/renditions/800", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if r := get(); r.Code != nethttp.StatusOK || r.Body.String() != "rendition bytes" {
		t.Fatalf("GET the desk rendition = %d %q; want 200 and its bytes", r.Code, r.Body)
	}
	img.mu.Lock()
	img.erased = true
	img.mu.Unlock()
	if r := get(); r.Code != nethttp.StatusGone || strings.Contains(r.Body.String(), "rendition bytes") {
		t.Errorf("GET the desk rendition of an erased image = %d %q; want 410", r.Code, r.Body)
	}
}
