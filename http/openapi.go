package http

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	nethttp "net/http"

	"github.com/labstack/echo/v4"
)

// openAPIDocument describes this API in OpenAPI 3.1. It is the contract: the end-to-end tests
// check every request and answer against it (internal/apitest), so a change of the API that
// it does not describe fails them. Edit it with the handlers.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns the OpenAPI 3.1 document of the API, as GET /openapi.json serves it. The
// caller must not modify it.
func OpenAPI() []byte { return openAPIDocument }

var openAPIETag = func() string {
	sum := sha256.Sum256(openAPIDocument)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}()

// serveOpenAPI answers with the document, or 304 when the client holds it already.
func serveOpenAPI(c echo.Context) error {
	h := c.Response().Header()
	h.Set(headerETag, openAPIETag)
	h.Set("Cache-Control", "public, max-age=300")
	if etagListMatches(c.Request().Header.Values("If-None-Match"), openAPIETag) {
		return c.NoContent(nethttp.StatusNotModified)
	}
	return c.Blob(nethttp.StatusOK, echo.MIMEApplicationJSON, openAPIDocument)
}
