package http

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	nethttp "net/http"
	"path"
	"sort"

	"github.com/labstack/echo/v4"
)

// The desk is the editors' browser client: one HTML page and its ES modules and stylesheet,
// embedded, with no build step. It uses /api/v1 as any other client does (a session cookie
// instead of a bearer token), so the workflow's rules hold for it unchanged.
//
//go:embed desk
var deskFiles embed.FS

// deskCSP allows the page nothing but its own scripts, styles and API: no inline script or
// style, no framing, no form posted elsewhere. Preview HTML (sanitised by the server) may show
// images from this origin only.
const deskCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// deskAsset is one embedded file, ready to serve.
type deskAsset struct {
	body        []byte
	etag        string
	contentType string
}

// deskSite is the page and its assets. Assets are addressed as /desk/assets/<version>/<name>,
// version a digest of every asset: a deploy changes the addresses, so a browser may keep an
// asset for a year, and the page (never cached without revalidation) names the current ones.
// Modules import each other by relative path, so they inherit the version from the page.
type deskSite struct {
	version string
	page    deskAsset
	assets  map[string]deskAsset
}

var desk = loadDesk(deskFiles)

func loadDesk(files fs.FS) *deskSite {
	site := &deskSite{assets: map[string]deskAsset{}}
	names, err := fs.Glob(files, "desk/*")
	if err != nil {
		panic(err) // only a malformed pattern errs
	}
	sort.Strings(names)
	all := sha256.New()
	var page []byte
	for _, name := range names {
		body, err := fs.ReadFile(files, name)
		if err != nil {
			panic("desk: " + err.Error()) // embedded: cannot fail but for a directory
		}
		base := path.Base(name)
		all.Write([]byte(base + "\x00"))
		all.Write(body)
		if base == "index.html" {
			page = body
			continue
		}
		site.assets[base] = newDeskAsset(body, deskContentType(base))
	}
	site.version = hex.EncodeToString(all.Sum(nil))[:12]
	page = bytes.ReplaceAll(page, []byte("{{assets}}"), []byte("/desk/assets/"+site.version))
	site.page = newDeskAsset(page, "text/html; charset=utf-8")
	return site
}

func newDeskAsset(body []byte, contentType string) deskAsset {
	return deskAsset{body: body, etag: digestETag(body), contentType: contentType}
}

func deskContentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	default:
		return "text/plain; charset=utf-8"
	}
}

// deskPage serves the page. It is revalidated on every load (no-cache with an ETag), so that
// after a deploy it names the new assets at once.
func deskPage(c echo.Context) error {
	h := c.Response().Header()
	setDeskSecurityHeaders(h)
	h.Set("Cache-Control", "no-cache")
	return serveDeskAsset(c, desk.page)
}

// deskAssetHandler serves /desk/assets/<version>/<name>. A name under another version (a page
// loaded before a deploy) gets the current file, but not for keeps.
func deskAssetHandler(c echo.Context) error {
	a, ok := desk.assets[c.Param("name")]
	if !ok {
		return echo.ErrNotFound
	}
	h := c.Response().Header()
	setDeskSecurityHeaders(h)
	if c.Param("version") == desk.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	return serveDeskAsset(c, a)
}

func serveDeskAsset(c echo.Context, a deskAsset) error {
	h := c.Response().Header()
	h.Set(headerETag, a.etag)
	if etagListMatches(c.Request().Header.Values("If-None-Match"), a.etag) {
		return c.NoContent(nethttp.StatusNotModified)
	}
	return c.Blob(nethttp.StatusOK, a.contentType, a.body)
}

func setDeskSecurityHeaders(h nethttp.Header) {
	h.Set("Content-Security-Policy", deskCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY") // frame-ancestors, for browsers that predate it
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// routeDesk adds the desk's routes; read is GET and HEAD.
func routeDesk(e *echo.Echo, read []string) {
	e.Match(read, "/desk", deskPage)
	e.Match(read, "/desk/", deskPage)
	e.Match(read, "/desk/assets/:version/:name", deskAssetHandler)
}

// deskAssetsPrefix is where the page finds its assets now; tests use it.
func deskAssetsPrefix() string { return "/desk/assets/" + desk.version + "/" }
