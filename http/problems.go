package http

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	nethttp "net/http"
	"os"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/auth"
	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/editorial"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/media"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/search"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/webhooks"
)

// Problem is an RFC 9457 problem details document.
type Problem struct {
	Type     string              `json:"type"`
	Title    string              `json:"title"`
	Status   int                 `json:"status"`
	Detail   string              `json:"detail,omitempty"`
	Instance string              `json:"instance,omitempty"`
	Errors   []domain.FieldError `json:"errors,omitempty"`
	// MediaIDs names the images a missing-alt problem is about.
	MediaIDs []string `json:"media_ids,omitempty"`
}

// problemType names a kind of problem; the README lists them.
func problemType(slug string) string { return "/problems/" + slug }

// aboutBlank is the type of a problem that is no more than its status (RFC 9457 §4.2.1): what
// Echo might answer that newsroom has no type of its own for.
const aboutBlank = "about:blank"

// problemKind is what every problem of one type shares: its status and title.
type problemKind struct {
	status int
	title  string
}

// problemKinds is the one table of problem types, by slug (the README's Errors table lists
// them). A type's title is the same on every answer, written as HTTP's reason phrases are.
var problemKinds = map[string]problemKind{
	"malformed-request":      {nethttp.StatusBadRequest, "Malformed Request"},
	"unauthenticated":        {nethttp.StatusUnauthorized, "Unauthenticated"},
	"forbidden":              {nethttp.StatusForbidden, "Forbidden"},
	"csrf":                   {nethttp.StatusForbidden, "CSRF Check Failed"},
	"not-found":              {nethttp.StatusNotFound, "Not Found"},
	"method-not-allowed":     {nethttp.StatusMethodNotAllowed, "Method Not Allowed"},
	"request-timeout":        {nethttp.StatusRequestTimeout, "Request Timeout"},
	"refused":                {nethttp.StatusConflict, "Refused by the Editorial Workflow"},
	"conflict":               {nethttp.StatusConflict, "Concurrent Change"},
	"gone":                   {nethttp.StatusGone, "Gone"},
	"stale-version":          {nethttp.StatusPreconditionFailed, "Stale Version"},
	"body-too-large":         {nethttp.StatusRequestEntityTooLarge, "Content Too Large"},
	"unsupported-media-type": {nethttp.StatusUnsupportedMediaType, "Unsupported Media Type"},
	"invalid-article":        {nethttp.StatusUnprocessableEntity, "Invalid Article"},
	"invalid-image":          {nethttp.StatusUnprocessableEntity, "Invalid Image"},
	"invalid-webhook":        {nethttp.StatusUnprocessableEntity, "Invalid Webhook"},
	"missing-alt":            {nethttp.StatusUnprocessableEntity, "Image Without Alt Text"},
	"image-too-large":        {nethttp.StatusUnprocessableEntity, "Image Too Large"},
	"precondition-required":  {nethttp.StatusPreconditionRequired, "Precondition Required"},
	"too-many-failures":      {nethttp.StatusTooManyRequests, "Too Many Failures"},
	"internal":               {nethttp.StatusInternalServerError, "Internal Server Error"},
	"log-unavailable":        {nethttp.StatusServiceUnavailable, "Event Log Unavailable"},
	"auth-unavailable":       {nethttp.StatusServiceUnavailable, "Token Check Unavailable"},
	"not-yet-visible":        {nethttp.StatusServiceUnavailable, "Not Yet Visible"},
	"database-unavailable":   {nethttp.StatusServiceUnavailable, "Database Unavailable"},
	"nats-unavailable":       {nethttp.StatusServiceUnavailable, "NATS Unavailable"},
}

// problem is a problem of the type slug names, which must be in problemKinds.
func problem(slug, detail string) Problem {
	k := problemKinds[slug]
	return Problem{Type: problemType(slug), Title: k.title, Status: k.status, Detail: detail}
}

// echoProblems names the type of each status Echo (or a handler, through echo.HTTPError)
// answers with.
var echoProblems = map[int]string{
	nethttp.StatusNotFound:              "not-found",
	nethttp.StatusMethodNotAllowed:      "method-not-allowed",
	nethttp.StatusRequestEntityTooLarge: "body-too-large",
	nethttp.StatusUnsupportedMediaType:  "unsupported-media-type",
}

var (
	errPreconditionRequired = errors.New("precondition required")
	errUnauthenticated      = errors.New("unauthenticated")
)

// bodyReadError is a request body that could not be read whole: the client was too slow for
// the server's read timeout, hung up, or broke the chunked framing. Its error, which names the
// connection's addresses, is for the log.
type bodyReadError struct{ err error }

func (e *bodyReadError) Error() string { return "read the request body: " + e.err.Error() }
func (e *bodyReadError) Unwrap() error { return e.err }

// timedOut reports whether the body stopped because the server's read deadline passed.
func (e *bodyReadError) timedOut() bool {
	var netErr net.Error
	return errors.Is(e.err, os.ErrDeadlineExceeded) || errors.As(e.err, &netErr) && netErr.Timeout()
}

// imageRequestError is what an image route (/api/v1/media…) failed with: the same errors as an
// article's route, told of an image (an invalid description is invalid-image, not
// invalid-article).
type imageRequestError struct{ err error }

func (e *imageRequestError) Error() string { return e.err.Error() }
func (e *imageRequestError) Unwrap() error { return e.err }

// aboutImage marks the errors of an image route's handler as imageRequestErrors.
func aboutImage(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := next(c); err != nil {
			return &imageRequestError{err: err}
		}
		return nil
	}
}

// problemFor maps an error to what the client is told. It is the one place that does. A detail
// is never an error's own text unless newsroom wrote that text for the client (a rule's reason,
// a malformed request's explanation): errors from the network, the database or a library name
// hosts, files and internals, and go to the log.
func problemFor(err error) (Problem, bool) {
	var (
		httpErr    *echo.HTTPError
		decodeErr  *decodeError
		bodyErr    *bodyReadError
		ruleErr    *domain.RuleError
		invalidErr *domain.ValidationError
		webhookErr *webhooks.InvalidError
		queryErr   *search.QueryError
		csrfErr    *csrfError
		altErr     *editorial.MissingAltError
		tooMany    *tooManyFailuresError
	)
	switch {
	case errors.As(err, &bodyErr) && bodyErr.timedOut():
		return problem("request-timeout", "the request body did not arrive in time; send it again, all at once"), true
	case errors.As(err, &bodyErr):
		return problem("malformed-request", "the request body could not be read whole (the connection broke, or its chunked encoding is malformed); send it again"), true
	case errors.As(err, &decodeErr):
		return problem("malformed-request", decodeErr.Error()), true
	case errors.As(err, &queryErr):
		// search writes this text for the person who typed the query.
		return problem("malformed-request", "query parameter q: "+queryErr.Error()), true
	case errors.As(err, &invalidErr) && errors.As(err, new(*imageRequestError)):
		p := problem("invalid-image", "some fields of the image's description are invalid; see errors")
		p.Errors = invalidErr.Fields
		return p, true
	case errors.As(err, &invalidErr):
		p := problem("invalid-article", "some fields are invalid; see errors")
		p.Errors = invalidErr.Fields
		return p, true
	case errors.As(err, &altErr):
		p := problem("missing-alt", altErr.Error())
		p.MediaIDs = altErr.IDs
		return p, true
	case errors.As(err, &webhookErr):
		p := problem("invalid-webhook", "some fields are invalid; see errors")
		p.Errors = webhookErr.Fields
		return p, true
	case errors.Is(err, webhooks.ErrNotFound):
		return problem("not-found", "no webhook with this id"), true
	case errors.Is(err, webhooks.ErrUnavailable):
		return problem("nats-unavailable", "NATS did not answer, so the webhook was not registered; retry shortly"), true
	case errors.As(err, &tooMany):
		// failures.go writes this text for the client.
		return problem("too-many-failures", tooMany.Error()), true
	case errors.Is(err, errSignInRefused):
		return problem("unauthenticated", "the token is malformed, unknown or revoked; an admin creates one with 'newsroom token create'"), true
	case errors.Is(err, errUnauthenticated), errors.Is(err, auth.ErrUnauthenticated):
		return problem("unauthenticated", "send a valid token as 'Authorization: Bearer <token>', or the session cookie of a sign-in (POST /api/v1/session), which may have ended; an admin creates tokens with 'newsroom token create'"), true
	case errors.As(err, &csrfErr):
		// session.go writes this text for the client.
		return problem("csrf", csrfErr.Error()), true
	case errors.As(err, &ruleErr) && errors.Is(err, domain.ErrForbidden):
		return problem("forbidden", ruleErr.Reason), true
	case errors.Is(err, domain.ErrForbidden):
		return problem("forbidden", "your role may not do this"), true
	case errors.Is(err, media.ErrUnsupported):
		return problem("unsupported-media-type", "the file is not a JPEG, PNG, GIF or WebP image (its bytes were decoded; its name and Content-Type do not count)"), true
	case errors.Is(err, media.ErrTooManyPixels):
		return problem("image-too-large", fmt.Sprintf("the image's dimensions are beyond %d pixels in all (width × height), or zero", media.MaxPixels)), true
	case errors.Is(err, media.ErrErased), errors.Is(err, projections.ErrMediaErased):
		return problem("gone", "the image at this address was erased and will not come back"), true
	case errors.Is(err, media.ErrNotFound), errors.Is(err, projections.ErrMediaNotFound):
		return problem("not-found", "no image at this address"), true
	case errors.Is(err, media.ErrVersionMismatch):
		return problem("stale-version", err.Error()+"; fetch the image again and reapply your change"), true
	case errors.Is(err, projections.ErrKilled):
		return problem("gone", "the article at this address was withdrawn and will not come back"), true
	case errors.Is(err, domain.ErrNotFound), errors.Is(err, projections.ErrNotPublic):
		return problem("not-found", "no article at this address"), true
	case errors.As(err, &ruleErr):
		return problem("refused", ruleErr.Reason), true
	case errors.Is(err, editorial.ErrVersionMismatch):
		// editorial writes this text for the caller: the versions compared, no internals.
		return problem("stale-version", err.Error()+"; fetch the article again and reapply your change"), true
	case errors.Is(err, errPreconditionRequired):
		return problem("precondition-required", `send If-Match with the ETag of the version you edited, e.g. If-Match: "3"`), true
	case errors.Is(err, events.ErrConflict):
		return problem("conflict", "the article kept changing while this command was decided; fetch it and try again"), true
	case errors.Is(err, events.ErrUnavailable) && errors.As(err, new(*imageRequestError)):
		return problem("log-unavailable", "the event log did not answer, so the image or its change may or may not have been recorded; retry shortly (a change sent with If-Match answers 412 if it was recorded)"), true
	case errors.Is(err, events.ErrUnavailable):
		return problem("log-unavailable", "the event log did not answer, so the change may or may not have been recorded; retry shortly (a draft retried with the same Idempotency-Key is never made twice; a change sent with If-Match answers 412 if it was recorded)"), true
	case errors.Is(err, auth.ErrUnavailable):
		return problem("auth-unavailable", "the token database did not answer and this token is not known here yet; retry shortly"), true
	case errors.Is(err, errNotYetVisible):
		return problem("not-yet-visible", "the views have not reached the requested position yet; retry shortly"), true
	case sqldb.IsUnavailable(err):
		return problem("database-unavailable", "the database this read needs did not answer; retry shortly (commands are still accepted)"), true
	case errors.As(err, &httpErr):
		slug, ok := echoProblems[httpErr.Code]
		if !ok {
			return Problem{Type: aboutBlank, Title: nethttp.StatusText(httpErr.Code), Status: httpErr.Code, Detail: httpDetail(httpErr)}, true
		}
		return problem(slug, httpDetail(httpErr)), true
	}
	return problem("internal", "the server failed; the error is logged with this request's id"), false
}

// httpDetail says what to do about an error Echo or a handler raised as an echo.HTTPError.
// Echo's own messages are only the status's text; a handler's are written for the client.
func httpDetail(e *echo.HTTPError) string {
	switch e.Code {
	case nethttp.StatusRequestEntityTooLarge:
		if m, ok := e.Message.(string); ok && m != nethttp.StatusText(e.Code) {
			return m // an upload's own limit
		}
		return "the request body is larger than " + bodyLimitText
	case nethttp.StatusNotFound:
		if m, ok := e.Message.(string); ok && m != nethttp.StatusText(e.Code) {
			return m
		}
		return "no such endpoint or article"
	case nethttp.StatusMethodNotAllowed:
		return "this endpoint does not take that method"
	}
	if m, ok := e.Message.(string); ok {
		return m
	}
	return nethttp.StatusText(e.Code)
}

// errorHandler renders every error as application/problem+json. Unexpected errors are logged
// with their detail; the client sees a generic message and the request id.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		p, known := problemFor(err)
		requestID := c.Response().Header().Get(echo.HeaderXRequestID)
		switch {
		case !known && c.Request().Context().Err() != nil:
			// The client hung up: nothing failed here, and nobody reads the answer.
			log.Debug("request abandoned by the client", "error", err, "method", c.Request().Method,
				"path", c.Path(), "request_id", requestID)
			return
		case !known:
			log.Error("request failed", "error", err, "method", c.Request().Method,
				"path", c.Path(), "request_id", requestID)
		case errors.As(err, new(*bodyReadError)):
			// The client's doing, not a failure here; its detail (addresses, the cause) is
			// logged, not answered.
			log.Info("request body unreadable", "error", err, "method", c.Request().Method,
				"path", c.Path(), "request_id", requestID)
		}
		p.Instance = c.Request().URL.Path
		h := c.Response().Header()
		switch p.Status {
		case nethttp.StatusServiceUnavailable:
			h.Set("Retry-After", "1")
		case nethttp.StatusUnauthorized:
			h.Set(echo.HeaderWWWAuthenticate, `Bearer realm="newsroom"`)
		case nethttp.StatusRequestTimeout:
			// The rest of a body that came too slowly may still arrive: it must not be read
			// as the next request (RFC 9110 §15.5.9).
			h.Set(echo.HeaderConnection, "close")
		case nethttp.StatusTooManyRequests:
			var tooMany *tooManyFailuresError
			if errors.As(err, &tooMany) {
				h.Set("Retry-After", strconv.Itoa(tooMany.retryAfterSeconds()))
			}
		case nethttp.StatusGone:
			// A killed article: no cache or proxy may keep even this answer.
			h.Set("Cache-Control", "no-store")
		}
		h.Set(echo.HeaderContentType, "application/problem+json")
		if c.Request().Method == nethttp.MethodHead {
			_ = c.NoContent(p.Status)
			return
		}
		if err := c.JSON(p.Status, p); err != nil {
			log.Error("write problem", "error", err)
		}
	}
}
