package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Problem is an answer of the API that is not a success: its RFC 9457 problem details, or,
// when something between the client and the server answered (a proxy's 502 page), what the
// client could make of it (Type about:blank, the status's text as Title, the start of the body
// as Detail). Every error the API answers is a *Problem; find it with errors.As.
type Problem struct {
	// Type names the kind of problem, as a path like /problems/stale-version; the README lists
	// them.
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	// Detail says what to do about it.
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Errors lists the invalid fields of a 422.
	Errors []FieldError `json:"errors,omitempty"`

	// RetryAfter is how long the server asked the client to wait before trying again; -1
	// when it did not say.
	RetryAfter time.Duration `json:"-"`
	// RequestID is the answer's X-Request-Id: the server logs an internal error with it.
	RequestID string `json:"-"`
}

// FieldError is one invalid field of a request.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// Error reads "422 Invalid article: some fields are invalid; see errors", then one line per
// invalid field.
func (p *Problem) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", p.Status, p.Title)
	if p.Detail != "" {
		b.WriteString(": " + p.Detail)
	}
	for _, e := range p.Errors {
		fmt.Fprintf(&b, "\n  %s: %s", e.Field, e.Detail)
	}
	return b.String()
}

// Kinds of problem, for errors.Is. Each matches problems by status; 409 is told apart by type.
var (
	ErrUnauthenticated = errors.New("unauthenticated")            // 401: no token, or an unknown or revoked one
	ErrForbidden       = errors.New("forbidden")                  // 403: the role may not do this
	ErrNotFound        = errors.New("not found")                  // 404
	ErrRefused         = errors.New("refused by the workflow")    // 409 /problems/refused: not in this state, self-approval, a slug taken…
	ErrConflict        = errors.New("concurrent change")          // 409 /problems/conflict: the article changed while the command was decided
	ErrGone            = errors.New("gone")                       // 410: a killed article's public address
	ErrStaleVersion    = errors.New("stale version")              // 412: If-Match is not the current version
	ErrInvalid         = errors.New("invalid")                    // 422: see Problem.Errors
	ErrUnavailable     = errors.New("unavailable, retry shortly") // 503
)

// Is reports whether p is of the kind target names (ErrNotFound, ErrStaleVersion, …).
func (p *Problem) Is(target error) bool {
	switch target {
	case ErrUnauthenticated:
		return p.Status == http.StatusUnauthorized
	case ErrForbidden:
		return p.Status == http.StatusForbidden
	case ErrNotFound:
		return p.Status == http.StatusNotFound
	case ErrConflict:
		return p.Status == http.StatusConflict && strings.HasSuffix(p.Type, "/conflict")
	case ErrRefused:
		return p.Status == http.StatusConflict && !strings.HasSuffix(p.Type, "/conflict")
	case ErrGone:
		return p.Status == http.StatusGone
	case ErrStaleVersion:
		return p.Status == http.StatusPreconditionFailed
	case ErrInvalid:
		return p.Status == http.StatusUnprocessableEntity
	case ErrUnavailable:
		return p.Status == http.StatusServiceUnavailable
	}
	return false
}

// problemFrom reads a failed answer as a Problem.
func problemFrom(a answer) *Problem {
	p := &Problem{}
	if err := json.Unmarshal(a.body, p); err != nil || p.Title == "" {
		p = &Problem{Type: "about:blank", Title: http.StatusText(a.status)}
		if s := strings.TrimSpace(string(a.body)); s != "" {
			p.Detail = shorten(s, 200)
		}
	}
	if p.Type == "" {
		p.Type = "about:blank" // RFC 9457 §4.2.1
	}
	// The HTTP status is the one that counts (RFC 9457 §3.1.2): a proxy may have changed it.
	p.Status = a.status
	p.RetryAfter = retryAfter(a.header, time.Now())
	p.RequestID = a.header.Get("X-Request-Id")
	return p
}

// shorten cuts s to at most n bytes, at a character boundary.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
