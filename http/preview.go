package http

import (
	nethttp "net/http"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/projections"
)

// previewJSON is a Markdown body rendered as the published view would render it.
type previewJSON struct {
	BodyHTML string `json:"body_html"`
}

// preview renders a Markdown body with the published view's renderer and sanitiser, so that
// what an editor sees is what readers will: POST /api/v1/preview. It records nothing. The body
// is held to a draft body's rules (at most domain.MaxBody bytes, text only).
func preview(c echo.Context) error {
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
	return c.JSON(nethttp.StatusOK, previewJSON{BodyHTML: html})
}
