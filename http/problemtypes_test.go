package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/auth"
	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/editorial"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/media"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/webhooks"
)

// problemSamples are errors the server meets, at least one for every problem type it answers.
var problemSamples = []error{
	malformed("field %q must be a string", "headline"),
	errUnauthenticated, auth.ErrUnauthenticated,
	&domain.RuleError{Kind: domain.ErrForbidden, Reason: "cannot approve: the reporter role may not"},
	domain.ErrNotFound, projections.ErrNotPublic, webhooks.ErrNotFound, echo.ErrNotFound,
	echo.NewHTTPError(nethttp.StatusNotFound, "no view named x"),
	echo.ErrMethodNotAllowed,
	&bodyReadError{err: os.ErrDeadlineExceeded},
	&bodyReadError{err: io.ErrUnexpectedEOF},
	&domain.RuleError{Kind: domain.ErrInvalidTransition, Reason: "cannot publish: article is draft, not approved"},
	events.ErrConflict,
	projections.ErrKilled,
	media.ErrTooManyPixels, media.ErrUnsupported, media.ErrErased, media.ErrNotFound,
	fmt.Errorf("%w: the article is at version 2, not 1", editorial.ErrVersionMismatch),
	echo.ErrStatusRequestEntityTooLarge,
	echo.NewHTTPError(nethttp.StatusUnsupportedMediaType, "send the body as application/json"),
	&domain.ValidationError{Fields: []domain.FieldError{{Field: "headline", Detail: "required"}}},
	&imageRequestError{err: &domain.ValidationError{Fields: []domain.FieldError{{Field: "alt", Detail: "too long"}}}},
	&webhooks.InvalidError{Fields: []domain.FieldError{{Field: "url", Detail: "not absolute"}}},
	&editorial.MissingAltError{IDs: []string{"0b7f3c2e-5d1a-4c8e-9f00-1a2b3c4d5e6f"}},
	errPreconditionRequired,
	errors.New("an unexpected failure"),
	events.ErrUnavailable,
	auth.ErrUnavailable,
	errNotYetVisible,
	fmt.Errorf("list articles: %w", context.DeadlineExceeded),
	webhooks.ErrUnavailable,
	&csrfError{"send X-CSRF-Token"}, errSignInRefused,
	&tooManyFailuresError{limit: 10, window: FailureWindow, retryAfter: time.Second},
}

// reasonPhraseForm reports whether a title is written as HTTP's reason phrases are ("Not Found",
// "Method Not Allowed"): every word capitalised but the short function words.
func reasonPhraseForm(title string) bool {
	for _, w := range strings.Fields(title) {
		switch w {
		case "a", "an", "by", "of", "the", "to":
			continue
		}
		if w[0] < 'A' || w[0] > 'Z' {
			return false
		}
	}
	return title != ""
}

// documentedProblems reads the Errors table of the README: each problem type's status.
func documentedProblems(tb testing.TB) map[string]int {
	tb.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		tb.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| (\\d{3}) \\| `(/problems/[a-z-]+|about:blank)` \\|")
	out := map[string]int{}
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		var status int
		fmt.Sscan(m[1], &status)
		out[m[2]] = status
	}
	return out
}

// TestProblemTypesHaveOneTitle walks every problem type: each has one status and one title,
// written as HTTP's reason phrases are, whichever error it comes from; and the README's Errors
// table lists exactly these types with these statuses.
func TestProblemTypesHaveOneTitle(t *testing.T) {
	type seen struct {
		title  string
		status int
		from   string
	}
	types := map[string]seen{}
	for _, err := range problemSamples {
		p, _ := problemFor(err)
		if !reasonPhraseForm(p.Title) {
			t.Errorf("problemFor(%v).Title = %q; want the form of a reason phrase (\"Not Found\")", err, p.Title)
		}
		if s, ok := types[p.Type]; ok && (s.title != p.Title || s.status != p.Status) {
			t.Errorf("problem %s is %d %q from %s but %d %q from %v; want one status and title", p.Type, s.status, s.title, s.from, p.Status, p.Title, err)
		}
		types[p.Type] = seen{p.Title, p.Status, fmt.Sprint(err)}
	}
	for slug, k := range problemKinds {
		if s, ok := types[problemType(slug)]; !ok {
			t.Errorf("problem type %s has no sample error in problemSamples", slug)
		} else if s.title != k.title || s.status != k.status {
			t.Errorf("problem type %s answers %d %q; the table says %d %q", slug, s.status, s.title, k.status, k.title)
		}
	}
	documented := documentedProblems(t)
	for typ, s := range types {
		if documented[typ] != s.status {
			t.Errorf("README lists %s as %d; the server answers %d", typ, documented[typ], s.status)
		}
	}
	var extra []string
	for typ := range documented {
		if _, ok := types[typ]; !ok && typ != aboutBlank {
			extra = append(extra, typ)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("README lists %v, which the server never answers", extra)
	}
}

// TestEchoErrorsAreProblemsOfTheTable: what Echo answers itself (the router's 404 and 405,
// BodyLimit's 413) comes out of the same table, on a real server.
func TestEchoErrorsAreProblemsOfTheTable(t *testing.T) {
	srv := httptest.NewServer(New(Config{}))
	defer srv.Close()
	for _, tt := range []struct {
		method, path string
		body         string
		slug         string
	}{
		{"GET", "/no/such/endpoint", "", "not-found"},
		{"PUT", "/healthz", "", "method-not-allowed"},
		{"POST", "/api/v1/articles", strings.Repeat("a", 1<<20+1), "body-too-large"},
	} {
		req, _ := nethttp.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var p Problem
		err = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s %s: not a problem: %v", tt.method, tt.path, err)
		}
		k := problemKinds[tt.slug]
		if p.Type != problemType(tt.slug) || p.Title != k.title || p.Status != k.status || resp.StatusCode != k.status {
			t.Errorf("%s %s = %d %+v; want %d %s %q", tt.method, tt.path, resp.StatusCode, p, k.status, problemType(tt.slug), k.title)
		}
	}
}

// TestBodyReadErrorIsLoggedNotAnswered: the error of a body read that timed out names the
// connection; it goes to the log, and the client gets a 408 that says what to do.
func TestBodyReadErrorIsLoggedNotAnswered(t *testing.T) {
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	readErr := &net.OpError{Op: "read", Net: "tcp", Source: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 18200},
		Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, Err: os.ErrDeadlineExceeded}
	req := httptest.NewRequest(nethttp.MethodPost, "/api/v1/articles", nil)
	rec := httptest.NewRecorder()
	errorHandler(log)(&bodyReadError{err: readErr}, echo.New().NewContext(req, rec))
	if rec.Code != nethttp.StatusRequestTimeout || strings.Contains(rec.Body.String(), "127.0.0.1") {
		t.Errorf("answered %d %s; want 408 without the addresses", rec.Code, rec.Body)
	}
	if rec.Header().Get("Connection") != "close" {
		t.Errorf("Connection = %q; want close: the rest of the body must not be read as a request", rec.Header().Get("Connection"))
	}
	if got := logged.String(); !strings.Contains(got, "127.0.0.1:18200") || !strings.Contains(got, "level=INFO") {
		t.Errorf("logged %q; want the read error with its addresses, at INFO", got)
	}
}
