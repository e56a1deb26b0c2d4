package http

import (
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

func etag(version int) string { return `"` + strconv.Itoa(version) + `"` }

// parseIfMatch reads If-Match as one of the ETags this API sends ("3"). nil means absent.
func parseIfMatch(c echo.Context) (*int, error) {
	h := strings.TrimSpace(c.Request().Header.Get("If-Match"))
	if h == "" {
		return nil, nil
	}
	v, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(h, "W/"), `"`))
	if err != nil || v < 1 || !strings.HasSuffix(h, `"`) {
		return nil, malformed(`If-Match %q is not an ETag of this API; send the ETag you received, e.g. If-Match: "3"`, h)
	}
	return &v, nil
}

const headerETag = "ETag"
