package http

import (
	nethttp "net/http"
	"strconv"
	"testing"

	"github.com/labstack/echo/v4"
)

// BenchmarkPublicPage is the handlers' own cost of a public page by slug served from the
// PublicCache, through the whole router and its middleware, beside raw Echo answering the same
// bytes from memory; answers are written to a writer that drops them (BenchmarkPublicRendition
// has the same comparison for images, and over TCP). newsroom bench measures both over TCP.
//
//	go test -run=XXX -bench=PublicPage -benchmem ./http
func BenchmarkPublicPage(b *testing.B) {
	served := New(Config{Public: pageFixture(), PublicCache: NewPublicCache(PublicCacheMaxAge)})
	const path = "/news/ministers-meet"
	w := &discardWriter{}
	w.reset()
	req, _ := nethttp.NewRequest("GET", path, nil)
	req.Host = "news.example"
	served.ServeHTTP(w, req)
	if w.code != nethttp.StatusOK {
		b.Fatalf("GET %s = %d", path, w.code)
	}
	page := make([]byte, w.n)
	raw := echo.New()
	raw.GET(path, func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(len(page)))
		return c.Blob(nethttp.StatusOK, htmlMediaType, page)
	})
	for _, sv := range []struct {
		name string
		h    nethttp.Handler
	}{{"newsroom", served}, {"raw-echo", raw}} {
		b.Run(sv.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := &discardWriter{}
				for pb.Next() {
					w.reset()
					req, _ := nethttp.NewRequest("GET", path, nil) // httptest's parses a whole request: 5 KB
					req.Host = "news.example"
					sv.h.ServeHTTP(w, req)
					if w.code != nethttp.StatusOK || w.n != len(page) {
						b.Fatalf("GET %s = %d, %d bytes", path, w.code, w.n)
					}
				}
			})
		})
	}
}
