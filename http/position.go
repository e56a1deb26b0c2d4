package http

import (
	"context"
	"errors"
	"net/textproto"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// Positions lets a read wait for the views it reads; *projections.Runner implements it.
type Positions interface {
	// WaitFor returns nil once the named views have applied the log up to seq, or ctx's error.
	WaitFor(ctx context.Context, seq uint64, views ...string) error
}

// minPositionHeader (or the query parameter min_position) asks a read to reflect at least the
// event at that stream sequence, typically the X-Newsroom-Position of the caller's last command.
const minPositionHeader = "X-Newsroom-Min-Position"

// maxPositionWait bounds how long a read waits for its views before answering 503.
const maxPositionWait = 5 * time.Second

var errNotYetVisible = errors.New("not yet visible")

var keyMinPosition = textproto.CanonicalMIMEHeaderKey(minPositionHeader)

// askedPosition is the position a request asks its read to reflect, "" for none: its
// min_position parameter, else its X-Newsroom-Min-Position header. (A request without a query
// parses none: most public reads have none.)
func askedPosition(c echo.Context) string {
	req := c.Request()
	if req.URL.RawQuery != "" {
		if p := c.QueryParam("min_position"); p != "" {
			return p
		}
	}
	if v := req.Header[keyMinPosition]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// readYourWrites makes a read wait until views have reached the position the caller asks for.
func readYourWrites(positions Positions, views ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			raw := askedPosition(c)
			if raw == "" {
				return next(c)
			}
			seq, err := strconv.ParseUint(raw, 10, 64)
			if err != nil {
				return malformed("min_position %q must be a stream position (a whole number from 0), as in X-Newsroom-Position", raw)
			}
			ctx, cancel := context.WithTimeout(c.Request().Context(), maxPositionWait)
			defer cancel()
			if err := positions.WaitFor(ctx, seq, views...); err != nil {
				if c.Request().Context().Err() != nil {
					return c.Request().Context().Err()
				}
				return errNotYetVisible
			}
			return next(c)
		}
	}
}
