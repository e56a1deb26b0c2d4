package http

import (
	nethttp "net/http"
	"slices"

	"github.com/labstack/echo/v4"
)

// routes adds routes under a prefix, each with the same middleware, as an Echo group with
// middleware does, but without the catch-all route such a group registers so that its
// middleware runs on every path under the prefix. That route answers a known path with a wrong
// method 404 where 405 with Allow is due (DELETE /api/v1/articles), and an unknown path 401
// before 404. Here the router finds no route for those, and answers them as it does elsewhere.
type routes struct {
	group      *echo.Group
	middleware []echo.MiddlewareFunc
}

// newRoutes returns routes under prefix that all run middleware first.
func newRoutes(e *echo.Echo, prefix string, middleware ...echo.MiddlewareFunc) routes {
	return routes{group: e.Group(prefix), middleware: middleware}
}

// Group returns routes under prefix (below these) that run these routes' middleware, then
// middleware.
func (r routes) Group(prefix string, middleware ...echo.MiddlewareFunc) routes {
	return routes{group: r.group.Group(prefix), middleware: append(slices.Clone(r.middleware), middleware...)}
}

func (r routes) add(method, path string, h echo.HandlerFunc, middleware ...echo.MiddlewareFunc) *echo.Route {
	return r.group.Add(method, path, h, append(slices.Clone(r.middleware), middleware...)...)
}

func (r routes) GET(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(nethttp.MethodGet, path, h, m...)
}

func (r routes) POST(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(nethttp.MethodPost, path, h, m...)
}

func (r routes) PATCH(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(nethttp.MethodPatch, path, h, m...)
}

func (r routes) DELETE(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(nethttp.MethodDelete, path, h, m...)
}
