package metrics

import (
	nethttp "net/http"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// Unmatched is the route label of a request no route matched: whatever the path, one series.
const Unmatched = "unmatched"

// clientGone is the status label of a request whose client went away before it was answered
// (nginx's convention): nothing was written, so there is no status of ours to count.
const clientGone = "499"

// Middleware observes every request into newsroom_http_request_duration_seconds. It must be
// the outermost middleware after routing (see http.Config.Instrument): it has the error
// handler answer a failed request at once, so that the status it counts is the one sent.
func (m *Metrics) Middleware() echo.MiddlewareFunc {
	var (
		once   sync.Once
		routes map[string]bool
	)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			// Every route is registered before the first request is served.
			once.Do(func() { routes = registeredRoutes(c.Echo()) })
			code := strconv.Itoa(c.Response().Status)
			if err != nil && !c.Response().Committed {
				code = clientGone
			}
			m.requestDuration.WithLabelValues(routeLabel(c, routes), methodLabel(c.Request().Method), code).
				Observe(time.Since(start).Seconds())
			return nil
		}
	}
}

// registeredRoutes is the set of the route templates that serve something. The catch-all
// routes Echo adds for a group's middleware ("/api/v1/*") answer 404: they are not among them.
func registeredRoutes(e *echo.Echo) map[string]bool {
	out := map[string]bool{}
	for _, r := range e.Routes() {
		if r.Method != echo.RouteNotFound {
			out[r.Path] = true
		}
	}
	return out
}

var notFoundHandler = reflect.ValueOf(echo.NotFoundHandler).Pointer()

// routeLabel is the template of the route that matched, never the path asked for.
func routeLabel(c echo.Context, routes map[string]bool) string {
	path := c.Path()
	if !routes[path] {
		return Unmatched
	}
	if h := c.Handler(); h != nil && reflect.ValueOf(h).Pointer() == notFoundHandler {
		// Echo names the nearest node of its tree even when nothing matched.
		return Unmatched
	}
	return path
}

// methodLabel keeps the label's values to the methods HTTP defines: a client may send any word.
func methodLabel(method string) string {
	switch method {
	case nethttp.MethodGet, nethttp.MethodHead, nethttp.MethodPost, nethttp.MethodPut, nethttp.MethodPatch,
		nethttp.MethodDelete, nethttp.MethodOptions, nethttp.MethodConnect, nethttp.MethodTrace:
		return method
	}
	return "other"
}
