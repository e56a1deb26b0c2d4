package http

import (
	"context"
	"encoding/json"
	"fmt"
	nethttp "net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/editorial"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
)

// positionHeader carries the stream sequence of the event a command recorded.
const positionHeader = "X-Newsroom-Position"

// idempotencyHeader makes a draft safe to retry: the same key from the same user returns the
// article the first request made.
const idempotencyHeader = "Idempotency-Key"

type editorsAPI struct {
	desk   Desk
	views  DeskViews
	search Searches // nil: no search
}

// articleJSON is an article as the editors' API shows it.
type articleJSON struct {
	ID          string     `json:"id"`
	Slug        string     `json:"slug"`
	Status      string     `json:"status"`
	Version     int        `json:"version"`
	Headline    string     `json:"headline"`
	Summary     string     `json:"summary"`
	Body        *string    `json:"body,omitempty"` // not in lists: GET the article for it
	Language    string     `json:"language"`
	Byline      string     `json:"byline"`
	Dateline    string     `json:"dateline"`
	Tags        []string   `json:"tags"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	PublishedAt *time.Time `json:"published_at"`
	// PendingCorrection is the correction waiting for a second editor; null when none is.
	PendingCorrection *pendingCorrectionJSON `json:"pending_correction"`
	// PublishAt is when a scheduled article is to be published; null when it is not scheduled.
	PublishAt *time.Time `json:"publish_at"`
	// EmbargoUntil is the end of the embargo a scheduled article will be published under, or
	// a published article is under; null when there is none.
	EmbargoUntil *time.Time `json:"embargo_until"`

	// TranslationOf is the id of the original this article translates; null for an original.
	TranslationOf *string `json:"translation_of"`
	// Translations are the other members of the article's translation set, in any state: on
	// GET /api/v1/articles/{id} only (the desk view holds them; a command's answer and the
	// desk's list leave them out, and so does a GET while the database does not answer).
	Translations *[]translationJSON `json:"translations,omitempty"`
	// Media are the article's images ([] when none); the desk's list leaves them out.
	Media *[]mediaRefJSON `json:"media,omitempty"`
}

// translationJSON is another language version of an article, as the desk shows it.
type translationJSON struct {
	ID       string `json:"id"`
	Language string `json:"language"`
	Status   string `json:"status"`
	Slug     string `json:"slug"`
	// PublishAt says when a scheduled member is due; absent for members not scheduled.
	PublishAt *time.Time `json:"publish_at,omitempty"`
}

// pendingCorrectionJSON is a proposed correction: the changed fields as a merge patch, the
// public note, who proposed it and when.
type pendingCorrectionJSON struct {
	ProposedBy string         `json:"proposed_by"`
	ProposedAt time.Time      `json:"proposed_at"`
	Note       string         `json:"note"`
	Changes    domain.Changes `json:"changes"`
}

func articleFrom(a domain.Article) articleJSON {
	out := articleJSON{
		ID: a.ID, Slug: a.Slug, Status: string(a.Status), Version: a.Version,
		Headline: a.Headline, Summary: a.Summary, Body: &a.Body, Language: a.Language,
		Byline: a.Byline, Dateline: a.Dateline, Tags: a.Tags,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, Media: mediaRefsJSON(a.Media),
	}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	if !a.PublishedAt.IsZero() {
		t := a.PublishedAt
		out.PublishedAt = &t
	}
	if p := a.PendingCorrection; p != nil {
		out.PendingCorrection = &pendingCorrectionJSON{ProposedBy: p.ProposedBy, ProposedAt: p.ProposedAt, Note: p.Note, Changes: p.Changes}
	}
	out.PublishAt = timeOrNull(a.PublishAt)
	out.EmbargoUntil = timeOrNull(a.EmbargoUntil)
	if a.Status == domain.StatusScheduled {
		// The slug reserved for it: the address it will be published at.
		out.Slug, out.EmbargoUntil = a.ScheduledSlug, timeOrNull(a.ScheduleEmbargo)
	}
	if a.TranslationOf != "" {
		of := a.TranslationOf
		out.TranslationOf = &of
	}
	return out
}

func timeOrNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// translationsOf renders the members of a's translation set but a itself.
func translationsOf(a domain.Article, set []domain.SetMember) *[]translationJSON {
	out := []translationJSON{}
	for _, m := range set {
		if m.ID == a.ID {
			continue
		}
		t := translationJSON{ID: m.ID, Language: m.Language, Status: string(m.Status), Slug: m.Slug}
		if !m.PublishAt.IsZero() {
			at := m.PublishAt
			t.PublishAt = &at
		}
		out = append(out, t)
	}
	return &out
}

func (api *editorsAPI) draft(c echo.Context) error {
	body, err := readJSONBody(c, echo.MIMEApplicationJSON)
	if err != nil {
		return err
	}
	req, err := decodeDraft(body)
	if err != nil {
		return err
	}
	id, req2 := editorial.NewArticleID(), request(c, nil)
	if key := c.Request().Header.Get(idempotencyHeader); key != "" {
		if len(key) > 255 || strings.TrimSpace(key) != key {
			return malformed("%s must be 1 to 255 characters without surrounding spaces", idempotencyHeader)
		}
		id, req2.Idempotent = editorial.IdempotentArticleID(req2.By.ID, key), true
	}
	res, err := api.desk.Execute(c.Request().Context(), id, req.command(), req2)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/articles/"+id)
	return renderArticle(c, nethttp.StatusCreated, res)
}

// setReadTimeout bounds GET's read of an article's translation set from the desk view.
const setReadTimeout = 2 * time.Second

// get serves an article as its own events say, with its translation set as the desk view holds
// it. The article comes from the log: it is served while the database is down (or silent for
// setReadTimeout), without the set.
func (api *editorsAPI) get(c echo.Context) error {
	if c.QueryParam("version") != "" {
		return api.getVersion(c)
	}
	res, err := api.desk.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	out := articleFrom(res.Article)
	ctx, cancel := context.WithTimeout(c.Request().Context(), setReadTimeout)
	defer cancel()
	if set, err := api.views.SetMembers(ctx, res.Article.TranslationSet()); err == nil {
		out.Translations = translationsOf(res.Article, set)
	}
	setArticleHeaders(c, res)
	return c.JSON(nethttp.StatusOK, out)
}

// getVersion serves an article as it was at ?version=N, for comparing revisions. It carries no
// ETag (a past version is nothing to make a change against) and no translations.
func (api *editorsAPI) getVersion(c echo.Context) error {
	raw := c.QueryParam("version")
	v, err := strconv.Atoi(raw)
	if err != nil || v < 1 || strconv.Itoa(v) != raw {
		return malformed("query parameter version=%q must be an article version, a whole number from 1", raw)
	}
	res, err := api.desk.GetVersion(c.Request().Context(), c.Param("id"), v)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store") // a kill erases it
	return c.JSON(nethttp.StatusOK, articleFrom(res.Article))
}

func (api *editorsAPI) revise(c echo.Context) error {
	ifMatch, body, err := mergePatch(c)
	if err != nil {
		return err
	}
	changes, err := decodeRevision(body)
	if err != nil {
		return err
	}
	res, err := api.desk.Execute(c.Request().Context(), c.Param("id"), domain.Revise{Changes: changes}, request(c, ifMatch))
	if err != nil {
		return err
	}
	return renderArticle(c, nethttp.StatusOK, res)
}

// list serves the desk: every article, newest change first; with words or the search's
// filters, the desk's search (deskSearch).
func (api *editorsAPI) list(c echo.Context) error {
	if isDeskSearch(c) {
		return api.deskSearch(c)
	}
	page, before, err := parseListing(c)
	if err != nil {
		return err
	}
	q := projections.DeskQuery{Page: page, Before: before}
	if s := c.QueryParam("status"); s != "" {
		q.Status = domain.Status(s)
		if !q.Status.Valid() {
			return malformed("query parameter status=%q is not a status; use one of %s", s, statusNames())
		}
	}
	list, err := api.views.List(c.Request().Context(), q)
	if err != nil {
		return err
	}
	out := pageJSON[articleJSON]{Items: make([]articleJSON, len(list.Items)), Page: page.Number, PerPage: page.PerPage, Total: list.Total}
	for i, a := range list.Items {
		out.Items[i] = articleFrom(a)
		out.Items[i].Body, out.Items[i].Media = nil, nil
	}
	out.Next, out.NextCursor = nextPage("/api/v1/articles", list.Next, page.PerPage, "status", string(q.Status))
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(nethttp.StatusOK, out)
}

// entryJSON is one step of an article's timeline.
type entryJSON struct {
	Version  int       `json:"version"`
	Position uint64    `json:"position"`
	Event    string    `json:"event"`
	Status   string    `json:"status"`
	Actor    actorJSON `json:"actor"`
	At       time.Time `json:"at"`
	Comment  string    `json:"comment,omitempty"`
}

type actorJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// history serves an article's timeline, oldest first.
func (api *editorsAPI) history(c echo.Context) error {
	id := c.Param("id")
	if _, err := api.desk.Get(c.Request().Context(), id); err != nil {
		return err
	}
	entries, err := api.views.Timeline(c.Request().Context(), id)
	if err != nil {
		return err
	}
	out := make([]entryJSON, len(entries))
	for i, e := range entries {
		out[i] = entryJSON{Version: e.Version, Position: e.Sequence, Event: e.EventType, Status: string(e.Status),
			Actor: actorJSON{ID: e.ActorID, Name: e.ActorName, Role: e.ActorRole}, At: e.At, Comment: e.Comment}
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(nethttp.StatusOK, map[string]any{"items": out})
}

// correct decodes a correction: editable fields as a merge patch, and a public note.
func correct(c echo.Context) (domain.Command, error) {
	body, err := readJSONBody(c, echo.MIMEApplicationJSON, "application/merge-patch+json")
	if err != nil {
		return nil, err
	}
	changes, note, err := decodeCorrection(body)
	if err != nil {
		return nil, err
	}
	return domain.Correct{Changes: changes, Note: note}, nil
}

// schedule decodes a schedule: when to publish, and the end of an embargo if there is one.
func schedule(c echo.Context) (domain.Command, error) {
	body, err := readJSONBody(c, echo.MIMEApplicationJSON)
	if err != nil {
		return nil, err
	}
	o, err := decodeObject(body, "publish_at", "embargo_until")
	if err != nil {
		return nil, err
	}
	if err := o.textError(); err != nil {
		return nil, err
	}
	var invalid domain.ValidationError
	publishAt, err := takeTime(o.fields, "publish_at", &invalid)
	if err != nil {
		return nil, err
	}
	embargoUntil, err := takeTime(o.fields, "embargo_until", &invalid)
	if err != nil {
		return nil, err
	}
	if len(invalid.Fields) > 0 {
		return nil, &invalid
	}
	return domain.Schedule{PublishAt: publishAt, EmbargoUntil: embargoUntil}, nil
}

// takeTime removes field name from fields and returns its RFC 3339 time (zero if absent or
// null), to the microsecond: the precision the views store. A string that is no such time is
// added to invalid.
func takeTime(fields map[string]json.RawMessage, name string, invalid *domain.ValidationError) (time.Time, error) {
	s, err := takeString(fields, name)
	if err != nil || s == "" {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		invalid.Fields = append(invalid.Fields, domain.FieldError{Field: name,
			Detail: fmt.Sprintf("%q is not an RFC 3339 time; give one such as 2026-12-07T10:00:00+01:00", s)})
		return time.Time{}, nil
	}
	return t.Truncate(time.Microsecond), nil
}

// publish decodes a publication: no body, or {"embargo_until": RFC 3339} to publish under
// embargo until then (null: none).
func publish(c echo.Context) (domain.Command, error) {
	until, err := decodeTime(c, "embargo_until", true)
	return domain.Publish{EmbargoUntil: until}, err
}

// moveEmbargo decodes {"embargo_until": RFC 3339}, the new end of an embargo.
func moveEmbargo(c echo.Context) (domain.Command, error) {
	until, err := decodeTime(c, "embargo_until", false)
	return domain.MoveEmbargo{Until: until}, err
}

func requestChanges(c echo.Context) (domain.Command, error) {
	comment, err := decodeText(c, "comment", false)
	return domain.RequestChanges{Comment: comment}, err
}

func retract(c echo.Context) (domain.Command, error) {
	reason, err := decodeText(c, "reason", false)
	return domain.Retract{Reason: reason}, err
}

func kill(c echo.Context) (domain.Command, error) {
	reason, err := decodeText(c, "reason", false)
	return domain.Kill{Reason: reason}, err
}

func spike(c echo.Context) (domain.Command, error) {
	reason, err := decodeText(c, "reason", true)
	return domain.Spike{Reason: reason}, err
}

func statusNames() string {
	names := make([]string, len(domain.Statuses))
	for i, s := range domain.Statuses {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
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
		status := nethttp.StatusOK
		if res.Recorded == domain.TypeCorrectionProposed {
			// Accepted, not done: the public article changes once another editor confirms.
			status = nethttp.StatusAccepted
		}
		return renderArticle(c, status, res)
	}
}

func request(c echo.Context, ifMatch *editorial.IfMatch) editorial.Request {
	p := principal(c)
	return editorial.Request{
		By:      domain.Actor{ID: p.UserID, Role: p.Role},
		Trace:   events.Trace{CorrelationID: c.Response().Header().Get(echo.HeaderXRequestID)},
		IfMatch: ifMatch,
	}
}

func renderArticle(c echo.Context, status int, res editorial.Result) error {
	setArticleHeaders(c, res)
	return c.JSON(status, articleFrom(res.Article))
}

func setArticleHeaders(c echo.Context, res editorial.Result) {
	h := c.Response().Header()
	h.Set(headerETag, etag(res.Article.Version))
	h.Set(positionHeader, strconv.FormatUint(res.Position, 10))
	h.Set("Cache-Control", "no-store") // drafts are private, and change
}
