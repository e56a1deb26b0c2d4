package metrics

import (
	nethttp "net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
)

// BenchmarkMiddleware compares a request through Echo with and without the instrumentation:
// routing, a small answer, and (instrumented) one histogram observation.
func BenchmarkMiddleware(b *testing.B) {
	for _, instrumented := range []bool{false, true} {
		name := "bare"
		if instrumented {
			name = "instrumented"
		}
		b.Run(name, func(b *testing.B) {
			e := echo.New()
			if instrumented {
				e.Use(New().Middleware())
			}
			e.GET("/public/v1/articles/:slug", func(c echo.Context) error { return c.String(nethttp.StatusOK, "ok") })
			req := httptest.NewRequest("GET", "/public/v1/articles/some-slug", nil)
			b.ReportAllocs()
			for b.Loop() {
				e.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
