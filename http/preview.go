package http

import (
	nethttp "net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/projections"
)

// previewJSON is a Markdown body rendered as the published view would render it.
type previewJSON struct {
	BodyHTML string `json:"body_html"`
}

// previewAPI renders Markdown for the desk.
type previewAPI struct {
	media MediaImages // nil: inline images are left out of previews
}

// deskMediaHref addresses a rendition on the desk (authenticated, relative to the desk's own
// origin): an image need not be public for its article's preview to show it.
func deskMediaHref(id, name string) string {
	return "/api/v1/media/" + url.PathEscape(id) + "/renditions/" + url.PathEscape(name)
}

// preview renders a Markdown body with the published view's renderer and sanitiser, so that
// what an editor sees is what readers will: POST /api/v1/preview. It records nothing. The body
// is held to a draft body's rules (at most domain.MaxBody bytes, text only). Its inline images
// (![alt](media:<id>)) show at their desk renditions; an image the media view does not hold, or
// holds erased, is left out, as the public article would leave it.
func (api previewAPI) preview(c echo.Context) error {
	body, err := readJSONBody(c, echo.MIMEApplicationJSON)
	if err != nil {
		return err
	}
	var req struct {
		Body string `json:"body"`
	}
	if err := decodeInto(body, &req); err != nil {
		return err
	}
	if err := domain.ValidateBody(req.Body); err != nil {
		return err
	}
	html, err := projections.RenderMarkdown(req.Body)
	if err != nil {
		return err
	}
	var refs []domain.MediaRef
	for _, id := range domain.InlineMediaIDs(req.Body) {
		if domain.ValidMediaID(id) {
			refs = append(refs, domain.MediaRef{ID: id, Role: domain.MediaInline})
		}
	}
	images, err := lookupImages(c.Request().Context(), api.media, refs)
	if err != nil {
		return err
	}
	html = projections.ResolveImages(html, refs, images, deskMediaHref)
	return c.JSON(nethttp.StatusOK, previewJSON{BodyHTML: html})
}
