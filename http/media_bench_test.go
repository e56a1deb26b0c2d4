package http

import (
	"bytes"
	"context"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/media"
	"github.com/newsroom/newsroom/projections"
)

// oneImage is a library and a view holding one image with one 60 KB rendition.
type oneImage struct{ body []byte }

func (o oneImage) Upload(context.Context, io.ReadSeeker, domain.MediaDescription, domain.Actor, events.Trace, time.Time) (media.Uploaded, error) {
	return media.Uploaded{}, nil
}
func (o oneImage) Describe(context.Context, string, media.Patch, []int, domain.Actor, events.Trace, time.Time) (media.Described, error) {
	return media.Described{}, nil
}
func (o oneImage) Read(context.Context, string, string) ([]byte, error) { return o.body, nil }
func (o oneImage) Get(_ context.Context, id string) (projections.MediaItem, error) {
	return projections.MediaItem{ID: id, Version: 1, Renditions: []domain.Rendition{
		{Name: "800", Width: 800, Height: 533, ContentType: "image/jpeg", Digest: "SHA-256=abcdefgh"}}}, nil
}
func (o oneImage) IsPublicMedia(context.Context, string) (bool, error) { return true, nil }

// BenchmarkPublicRendition compares a public rendition read through the whole router (the
// public check through the PublicCache, the rendition cache, ETag, the middleware every route
// runs) with raw Echo answering the same bytes from memory, clients in parallel, written to:
//   - recorder: httptest.ResponseRecorder, in process (its buffer's growth is most of the cost);
//   - discard: a writer that drops the bytes, in process: the handlers' own cost, nothing else;
//   - tcp: a real server on loopback, keep-alive clients (what a reader's request costs).
func BenchmarkPublicRendition(b *testing.B) {
	body := bytes.Repeat([]byte{0xAB}, 60<<10)
	img := oneImage{body: body}
	served := newEcho(Config{Media: &MediaConfig{Library: img, Views: img, Public: img}, PublicCache: NewPublicCache(PublicCacheMaxAge)})
	raw := echo.New()
	raw.GET("/raw", func(c echo.Context) error { return c.Blob(nethttp.StatusOK, "image/jpeg", body) })
	servers := []struct {
		name string
		h    nethttp.Handler
		path string
	}{{"newsroom", served, "/public/v1/media/m-1/800"}, {"raw-echo", raw, "/raw"}}

	b.Run("recorder", func(b *testing.B) {
		for _, sv := range servers {
			b.Run(sv.name, func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						rec := httptest.NewRecorder()
						sv.h.ServeHTTP(rec, httptest.NewRequest("GET", sv.path, nil))
						if rec.Code != nethttp.StatusOK || rec.Body.Len() != len(body) {
							b.Fatalf("GET %s = %d, %d bytes", sv.path, rec.Code, rec.Body.Len())
						}
					}
				})
			})
		}
	})
	b.Run("discard", func(b *testing.B) {
		for _, sv := range servers {
			b.Run(sv.name, func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				b.RunParallel(func(pb *testing.PB) {
					w := &discardWriter{}
					for pb.Next() {
						w.reset()
						req, _ := nethttp.NewRequest("GET", sv.path, nil) // httptest's parses a whole request: 5 KB
						sv.h.ServeHTTP(w, req)
						if w.code != nethttp.StatusOK || w.n != len(body) {
							b.Fatalf("GET %s = %d, %d bytes", sv.path, w.code, w.n)
						}
					}
				})
			})
		}
	})
	b.Run("tcp", func(b *testing.B) {
		for _, sv := range servers {
			b.Run(sv.name, func(b *testing.B) {
				srv := httptest.NewServer(sv.h)
				defer srv.Close()
				client := &nethttp.Client{Transport: &nethttp.Transport{MaxIdleConnsPerHost: 64}}
				defer client.CloseIdleConnections()
				url := srv.URL + sv.path
				b.SetBytes(int64(len(body)))
				b.RunParallel(func(pb *testing.PB) {
					buf := make([]byte, 32<<10)
					for pb.Next() {
						res, err := client.Get(url)
						if err != nil {
							b.Fatal(err)
						}
						n, _ := io.CopyBuffer(io.Discard, struct{ io.Reader }{res.Body}, buf)
						res.Body.Close()
						if res.StatusCode != nethttp.StatusOK || n != int64(len(body)) {
							b.Fatalf("GET %s = %d, %d bytes", url, res.StatusCode, n)
						}
					}
				})
			})
		}
	})
}

// discardWriter counts what a handler writes and keeps none of it.
type discardWriter struct {
	h    nethttp.Header
	code int
	n    int
}

func (w *discardWriter) reset() { w.h, w.code, w.n = nethttp.Header{}, 0, 0 }

func (w *discardWriter) Header() nethttp.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(nethttp.StatusOK)
	w.n += len(p)
	return len(p), nil
}
