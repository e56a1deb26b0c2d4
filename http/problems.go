package http

import (
	"errors"
	"log/slog"
	nethttp "net/http"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/auth"
	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/editorial"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
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
}

// problemType names a kind of problem; the README lists them.
func problemType(slug string) string { return "/problems/" + slug }

var (
	errPreconditionRequired = errors.New("precondition required")
	errUnauthenticated      = errors.New("unauthenticated")
)

// problemFor maps an error to what the client is told. It is the one place that does.
func problemFor(err error) (Problem, bool) {
	var (
		httpErr    *echo.HTTPError
		decodeErr  *decodeError
		ruleErr    *domain.RuleError
		invalidErr *domain.ValidationError
		webhookErr *webhooks.InvalidError
	)
	switch {
	case errors.As(err, &decodeErr):
		return Problem{Type: problemType("malformed-request"), Title: "Malformed request", Status: nethttp.StatusBadRequest, Detail: decodeErr.Error()}, true
	case errors.As(err, &invalidErr):
		return Problem{Type: problemType("invalid-article"), Title: "Invalid article", Status: nethttp.StatusUnprocessableEntity,
			Detail: "some fields are invalid; see errors", Errors: invalidErr.Fields}, true
	case errors.As(err, &webhookErr):
		return Problem{Type: problemType("invalid-webhook"), Title: "Invalid webhook", Status: nethttp.StatusUnprocessableEntity,
			Detail: "some fields are invalid; see errors", Errors: webhookErr.Fields}, true
	case errors.Is(err, webhooks.ErrNotFound):
		return Problem{Type: problemType("not-found"), Title: "Not found", Status: nethttp.StatusNotFound,
			Detail: "no webhook with this id"}, true
	case errors.Is(err, webhooks.ErrUnavailable):
		return Problem{Type: problemType("nats-unavailable"), Title: "NATS unavailable", Status: nethttp.StatusServiceUnavailable,
			Detail: "NATS did not answer, so the webhook was not registered; retry shortly"}, true
	case errors.Is(err, errUnauthenticated), errors.Is(err, auth.ErrUnauthenticated):
		return Problem{Type: problemType("unauthenticated"), Title: "Unauthenticated", Status: nethttp.StatusUnauthorized,
			Detail: "send a valid token as 'Authorization: Bearer <token>'; an admin creates one with 'newsroom token create'"}, true
	case errors.As(err, &ruleErr) && errors.Is(err, domain.ErrForbidden):
		return Problem{Type: problemType("forbidden"), Title: "Forbidden", Status: nethttp.StatusForbidden, Detail: ruleErr.Reason}, true
	case errors.Is(err, domain.ErrForbidden):
		return Problem{Type: problemType("forbidden"), Title: "Forbidden", Status: nethttp.StatusForbidden, Detail: err.Error()}, true
	case errors.Is(err, projections.ErrKilled):
		return Problem{Type: problemType("gone"), Title: "Gone", Status: nethttp.StatusGone,
			Detail: "the article at this address was withdrawn and will not come back"}, true
	case errors.Is(err, domain.ErrNotFound), errors.Is(err, projections.ErrNotPublic):
		return Problem{Type: problemType("not-found"), Title: "Not found", Status: nethttp.StatusNotFound,
			Detail: "no article at this address"}, true
	case errors.As(err, &ruleErr):
		return Problem{Type: problemType("refused"), Title: "Refused by the editorial workflow", Status: nethttp.StatusConflict, Detail: ruleErr.Reason}, true
	case errors.Is(err, editorial.ErrVersionMismatch):
		return Problem{Type: problemType("stale-version"), Title: "Stale version", Status: nethttp.StatusPreconditionFailed,
			Detail: err.Error() + "; fetch the article again and reapply your change"}, true
	case errors.Is(err, errPreconditionRequired):
		return Problem{Type: problemType("precondition-required"), Title: "If-Match required", Status: nethttp.StatusPreconditionRequired,
			Detail: `send If-Match with the ETag of the version you edited, e.g. If-Match: "3"`}, true
	case errors.Is(err, events.ErrConflict):
		return Problem{Type: problemType("conflict"), Title: "Concurrent change", Status: nethttp.StatusConflict,
			Detail: "the article kept changing while this command was decided; fetch it and try again"}, true
	case errors.Is(err, events.ErrUnavailable):
		return Problem{Type: problemType("log-unavailable"), Title: "Event log unavailable", Status: nethttp.StatusServiceUnavailable,
			Detail: "the event log did not answer, so the change may or may not have been recorded; retry shortly (a draft retried with the same Idempotency-Key is never made twice; a change sent with If-Match answers 412 if it was recorded)"}, true
	case errors.Is(err, auth.ErrUnavailable):
		return Problem{Type: problemType("auth-unavailable"), Title: "Token check unavailable", Status: nethttp.StatusServiceUnavailable,
			Detail: "the token database did not answer and this token is not known here yet; retry shortly"}, true
	case errors.Is(err, errNotYetVisible):
		return Problem{Type: problemType("not-yet-visible"), Title: "Not yet visible", Status: nethttp.StatusServiceUnavailable,
			Detail: "the views have not reached the requested position yet; retry shortly"}, true
	case sqldb.IsUnavailable(err):
		return Problem{Type: problemType("database-unavailable"), Title: "Database unavailable", Status: nethttp.StatusServiceUnavailable,
			Detail: "the database this read needs did not answer; retry shortly (commands are still accepted)"}, true
	case errors.As(err, &httpErr):
		return Problem{Type: problemType(slugForStatus(httpErr.Code)), Title: nethttp.StatusText(httpErr.Code), Status: httpErr.Code,
			Detail: httpDetail(httpErr)}, true
	}
	return Problem{Type: problemType("internal"), Title: "Internal error", Status: nethttp.StatusInternalServerError,
		Detail: "the server failed; the error is logged with this request's id"}, false
}

func httpDetail(e *echo.HTTPError) string {
	switch e.Code {
	case nethttp.StatusRequestEntityTooLarge:
		return "the request body is larger than " + bodyLimitText
	case nethttp.StatusNotFound:
		return "no such endpoint or article"
	case nethttp.StatusMethodNotAllowed:
		return "this endpoint does not take that method"
	}
	if m, ok := e.Message.(string); ok {
		return m
	}
	return nethttp.StatusText(e.Code)
}

func slugForStatus(code int) string {
	switch code {
	case nethttp.StatusRequestEntityTooLarge:
		return "body-too-large"
	case nethttp.StatusUnsupportedMediaType:
		return "unsupported-media-type"
	case nethttp.StatusNotFound:
		return "not-found"
	case nethttp.StatusMethodNotAllowed:
		return "method-not-allowed"
	}
	return "http-" + nethttp.StatusText(code)
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
		}
		p.Instance = c.Request().URL.Path
		h := c.Response().Header()
		switch p.Status {
		case nethttp.StatusServiceUnavailable:
			h.Set("Retry-After", "1")
		case nethttp.StatusUnauthorized:
			h.Set(echo.HeaderWWWAuthenticate, `Bearer realm="newsroom"`)
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
