package http

import (
	nethttp "net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/editorial"
	"github.com/newsroom/newsroom/events"
)

// positionHeader carries the stream sequence of the event a command recorded.
const positionHeader = "X-Newsroom-Position"

type editorsAPI struct {
	desk Desk
}

// articleJSON is an article as the editors' API shows it.
type articleJSON struct {
	ID          string     `json:"id"`
	Slug        string     `json:"slug"`
	Status      string     `json:"status"`
	Version     int        `json:"version"`
	Headline    string     `json:"headline"`
	Summary     string     `json:"summary"`
	Body        string     `json:"body"`
	Language    string     `json:"language"`
	Byline      string     `json:"byline"`
	Dateline    string     `json:"dateline"`
	Tags        []string   `json:"tags"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	PublishedAt *time.Time `json:"published_at"`
}

func articleFrom(a domain.Article) articleJSON {
	out := articleJSON{
		ID: a.ID, Slug: a.Slug, Status: string(a.Status), Version: a.Version,
		Headline: a.Headline, Summary: a.Summary, Body: a.Body, Language: a.Language,
		Byline: a.Byline, Dateline: a.Dateline, Tags: a.Tags,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
	}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	if !a.PublishedAt.IsZero() {
		t := a.PublishedAt
		out.PublishedAt = &t
	}
	return out
}

func (api *editorsAPI) draft(c echo.Context) error {
	body, err := readJSONBody(c, echo.MIMEApplicationJSON)
	if err != nil {
		return err
	}
	var req draftRequest
	if err := decodeStrict(body, &req); err != nil {
		return err
	}
	id := editorial.NewArticleID()
	res, err := api.desk.Execute(c.Request().Context(), id, req.command(), request(c, nil))
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/articles/"+id)
	return renderArticle(c, nethttp.StatusCreated, res)
}

func (api *editorsAPI) get(c echo.Context) error {
	res, err := api.desk.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return renderArticle(c, nethttp.StatusOK, res)
}

func (api *editorsAPI) revise(c echo.Context) error {
	ifMatch, err := parseIfMatch(c)
	if err != nil {
		return err
	}
	if ifMatch == nil {
		return errPreconditionRequired
	}
	body, err := readJSONBody(c, echo.MIMEApplicationJSON, "application/merge-patch+json")
	if err != nil {
		return err
	}
	changes, err := decodeChanges(body)
	if err != nil {
		return err
	}
	res, err := api.desk.Execute(c.Request().Context(), c.Param("id"), domain.Revise{Changes: changes}, request(c, ifMatch))
	if err != nil {
		return err
	}
	return renderArticle(c, nethttp.StatusOK, res)
}

// command serves a workflow step whose command build makes from the request.
func (api *editorsAPI) command(build func(echo.Context) (domain.Command, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		ifMatch, err := parseIfMatch(c)
		if err != nil {
			return err
		}
		cmd, err := build(c)
		if err != nil {
			return err
		}
		res, err := api.desk.Execute(c.Request().Context(), c.Param("id"), cmd, request(c, ifMatch))
		if err != nil {
			return err
		}
		return renderArticle(c, nethttp.StatusOK, res)
	}
}

func request(c echo.Context, ifMatch *int) editorial.Request {
	p := principal(c)
	return editorial.Request{
		By:      domain.Actor{ID: p.UserID, Role: p.Role},
		Trace:   events.Trace{CorrelationID: c.Response().Header().Get(echo.HeaderXRequestID)},
		IfMatch: ifMatch,
	}
}

func renderArticle(c echo.Context, status int, res editorial.Result) error {
	h := c.Response().Header()
	h.Set(headerETag, etag(res.Article.Version))
	h.Set(positionHeader, strconv.FormatUint(res.Position, 10))
	h.Set("Cache-Control", "no-store") // drafts are private, and change
	return c.JSON(status, articleFrom(res.Article))
}

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
