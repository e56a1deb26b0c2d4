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
// public check, the cache, ETag) with raw Echo answering the same bytes from memory, both in
// process (no network), clients in parallel.
func BenchmarkPublicRendition(b *testing.B) {
	body := bytes.Repeat([]byte{0xAB}, 60<<10)
	img := oneImage{body: body}
	served := newEcho(Config{Media: &MediaConfig{Library: img, Views: img, Public: img}})
	raw := echo.New()
	raw.GET("/raw", func(c echo.Context) error { return c.Blob(nethttp.StatusOK, "image/jpeg", body) })
	for _, bc := range []struct {
		name string
		h    nethttp.Handler
		path string
	}{{"newsroom", served, "/public/v1/media/m-1/800"}, {"raw-echo", raw, "/raw"}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					rec := httptest.NewRecorder()
					bc.h.ServeHTTP(rec, httptest.NewRequest("GET", bc.path, nil))
					if rec.Code != nethttp.StatusOK || rec.Body.Len() != len(body) {
						b.Fatalf("GET %s = %d, %d bytes", bc.path, rec.Code, rec.Body.Len())
					}
				}
			})
		})
	}
}
