package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/newsroom/newsroom/client"
)

// recorded is one request a scripted server saw.
type recorded struct {
	method, path, query string
	header              http.Header
	body                string
}

// scripted is a real HTTP server that answers the requests it gets with the answers given,
// in order (the last one again once they run out), and records what it got.
type scripted struct {
	*httptest.Server
	mu      sync.Mutex
	got     []recorded
	answers []func(http.ResponseWriter)
}

func newScripted(tb testing.TB, answers ...func(http.ResponseWriter)) *scripted {
	tb.Helper()
	s := &scripted{answers: answers}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.got = append(s.got, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), string(body)})
		n := len(s.got)
		answer := s.answers[min(n, len(s.answers))-1]
		s.mu.Unlock()
		answer(w)
	}))
	tb.Cleanup(s.Close)
	return s
}

func (s *scripted) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.got...)
}

// unavailable answers 503 as newsroom does, with Retry-After if it is not empty.
func unavailable(retryAfter string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"type":"/problems/log-unavailable","title":"Event log unavailable","status":503,"detail":"the event log did not answer"}`)
	}
}

func article(status int, json string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", `"2"`)
		w.Header().Set("X-Newsroom-Position", "41")
		w.WriteHeader(status)
		io.WriteString(w, json)
	}
}

func newClient(tb testing.TB, base string, opts ...client.Option) *client.Client {
	tb.Helper()
	c, err := client.New(base, append([]client.Option{client.WithToken("nr_secret\n")}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

const draftJSON = `{"id":"a1","slug":"","status":"draft","version":2,"headline":"H","tags":[],"pending_correction":null}`

// A 503 with Retry-After is sent again when that cannot do anything twice: a read, or a
// command carrying an Idempotency-Key or If-Match. Other commands get their 503 back at once.
func TestRetryOf503(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		send      func(c *client.Client) error
		retried   bool
		wantBody  string // what every attempt carries
		wantMatch string
	}{
		{"a read", func(c *client.Client) error { _, err := c.Article(ctx, "a1"); return err }, true, "", ""},
		{"a draft with an Idempotency-Key", func(c *client.Client) error {
			_, err := c.Draft(ctx, client.NewArticle{Headline: "H"}, client.IdempotencyKey("k1"))
			return err
		}, true, `{"headline":"H"}`, ""},
		{"a revision (If-Match)", func(c *client.Client) error {
			_, err := c.Revise(ctx, "a1", `"1"`, client.Changes{Summary: new("S")})
			return err
		}, true, `{"summary":"S"}`, `"1"`},
		{"a command with If-Match", func(c *client.Client) error {
			_, err := c.Kill(ctx, "a1", "legal", client.IfMatch(`"1"`))
			return err
		}, true, `{"reason":"legal"}`, `"1"`},
		{"a draft without a key", func(c *client.Client) error {
			_, err := c.Draft(ctx, client.NewArticle{Headline: "H"})
			return err
		}, false, `{"headline":"H"}`, ""},
		{"a command without If-Match", func(c *client.Client) error { _, err := c.Submit(ctx, "a1"); return err }, false, "", ""},
		{"a command with If-Match: *", func(c *client.Client) error {
			_, err := c.Retract(ctx, "a1", "wrong", client.IfMatch("*"))
			return err
		}, false, `{"reason":"wrong"}`, "*"},
		{"a rebuild", func(c *client.Client) error { return c.Rebuild(ctx, "desk") }, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newScripted(t, unavailable("0"), article(200, draftJSON))
			err := tt.send(newClient(t, srv.URL))
			got := srv.requests()
			if !tt.retried {
				var p *client.Problem
				if !errors.As(err, &p) || p.Status != 503 || p.RetryAfter != 0 || !errors.Is(err, client.ErrUnavailable) {
					t.Errorf("error = %v; want the 503 as a *Problem with RetryAfter 0", err)
				}
				if len(got) != 1 {
					t.Errorf("%d requests; want 1: this request is not safe to send again", len(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v; want the retry's 200", err)
			}
			if len(got) != 2 {
				t.Fatalf("%d requests; want 2 (the 503, then the retry)", len(got))
			}
			for i, r := range got {
				if r.body != tt.wantBody || r.header.Get("If-Match") != tt.wantMatch || r.header.Get("Authorization") != "Bearer nr_secret" {
					t.Errorf("attempt %d: body %q, If-Match %q, Authorization %q; want %q, %q, the token",
						i+1, r.body, r.header.Get("If-Match"), r.header.Get("Authorization"), tt.wantBody, tt.wantMatch)
				}
				if key := got[0].header.Get("Idempotency-Key"); r.header.Get("Idempotency-Key") != key {
					t.Errorf("attempt %d: Idempotency-Key %q; want the first attempt's %q", i+1, r.header.Get("Idempotency-Key"), key)
				}
			}
		})
	}
}

// The retries are bounded: by their number, by the longest wait the client accepts, by the
// context's deadline; a 503 that does not say when to come back is not retried.
func TestRetryIsBounded(t *testing.T) {
	read := func(c *client.Client, ctx context.Context) error { _, err := c.Article(ctx, "a1"); return err }
	tests := []struct {
		name       string
		retryAfter string
		opts       []client.Option
		ctx        func() (context.Context, context.CancelFunc)
		want       int // requests
	}{
		{"always 503", "0", nil, nil, 1 + client.DefaultRetries},
		{"two retries", "0", []client.Option{client.WithRetries(2)}, nil, 3},
		{"no retries", "0", []client.Option{client.WithRetries(0)}, nil, 1},
		{"no Retry-After", "", nil, nil, 1},
		{"an unreadable Retry-After", "soon", nil, nil, 1},
		{"a wait longer than the client accepts", "11", nil, nil, 1},
		{"a wait longer than the one set", "2", []client.Option{client.WithMaxRetryWait(time.Second)}, nil, 1},
		{"a wait past the deadline", "5", nil, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 4*time.Second)
		}, 1},
		{"an HTTP date", time.Now().Add(-time.Minute).UTC().Format(http.TimeFormat), []client.Option{client.WithRetries(1)}, nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newScripted(t, unavailable(tt.retryAfter))
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			err := read(newClient(t, srv.URL, tt.opts...), ctx)
			var p *client.Problem
			if !errors.As(err, &p) || p.Status != 503 || p.Title != "Event log unavailable" {
				t.Errorf("error = %v; want the 503 as a *Problem", err)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error = %v; want the 503 returned without waiting for a retry that cannot come in time", err)
			}
			if n := len(srv.requests()); n != tt.want {
				t.Errorf("%d requests; want %d", n, tt.want)
			}
		})
	}
}

// A context cancelled while the client waits to retry ends the wait: the error is both the
// 503 and the cancellation.
func TestRetryWaitEndsWithTheContext(t *testing.T) {
	srv := newScripted(t, unavailable("5"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The context ends once the first answer is in hand, while the client waits the 5 s.
	cancelAfter := roundTripper(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		cancel()
		return resp, err
	})
	c := newClient(t, srv.URL, client.WithHTTPClient(&http.Client{Transport: cancelAfter}))
	_, err := c.PublicArticles(ctx, client.PublicQuery{})
	var p *client.Problem
	if !errors.Is(err, context.Canceled) || !errors.As(err, &p) || p.Status != 503 {
		t.Errorf("error = %v; want the 503 and context.Canceled", err)
	}
	if n := len(srv.requests()); n != 1 {
		t.Errorf("%d requests; want 1", n)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// One real wait: Retry-After: 1 is honoured, and the retry's answer is returned.
func TestRetryAfterOneSecond(t *testing.T) {
	srv := newScripted(t, unavailable("1"), article(200, draftJSON))
	start := time.Now()
	a, err := newClient(t, srv.URL).Article(context.Background(), "a1")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "a1" || a.ETag != `"2"` || a.Position != 41 {
		t.Errorf("article = %+v; want a1 with ETag \"2\" and position 41", a)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("the retry came after %s; want at least the 1 s Retry-After asked for", waited)
	}
}

// An answer that is not problem details (a proxy's page) is still a *Problem.
func TestProblemOfAnAnswerThatIsNotOne(t *testing.T) {
	page := "<html>" + strings.Repeat("Bad gateway ", 40) + "</html>"
	srv := newScripted(t, func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("X-Request-Id", "req-7")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, page)
	})
	_, err := newClient(t, srv.URL).Article(context.Background(), "a1")
	var p *client.Problem
	if !errors.As(err, &p) {
		t.Fatalf("error = %v; want a *Problem", err)
	}
	if p.Status != 502 || p.Type != "about:blank" || p.Title != "Bad Gateway" || !strings.HasPrefix(p.Detail, "<html>Bad gateway") ||
		!strings.HasSuffix(p.Detail, "…") || len(p.Detail) > 210 || p.RequestID != "req-7" || p.RetryAfter != -1 {
		t.Errorf("problem = %+v; want status 502, about:blank, Bad Gateway, the start of the page, the request id", p)
	}
}

func TestProblemError(t *testing.T) {
	tests := []struct {
		p    client.Problem
		want string
	}{
		{client.Problem{Title: "Invalid article", Status: 422, Detail: "some fields are invalid; see errors",
			Errors: []client.FieldError{{Field: "headline", Detail: "required"}}},
			"422 Invalid article: some fields are invalid; see errors\n  headline: required"},
		{client.Problem{Title: "Unauthenticated", Status: 401, Detail: "send a valid token"}, "401 Unauthenticated: send a valid token"},
		{client.Problem{Title: "Internal Server Error", Status: 500}, "500 Internal Server Error"},
	}
	for _, tt := range tests {
		if got := tt.p.Error(); got != tt.want {
			t.Errorf("Problem%+v.Error() = %q; want %q", tt.p, got, tt.want)
		}
	}
}

func TestProblemIs(t *testing.T) {
	kinds := []error{client.ErrUnauthenticated, client.ErrForbidden, client.ErrNotFound, client.ErrRefused, client.ErrConflict,
		client.ErrGone, client.ErrStaleVersion, client.ErrInvalid, client.ErrUnavailable}
	tests := []struct {
		status int
		typ    string
		want   error
	}{
		{401, "/problems/unauthenticated", client.ErrUnauthenticated},
		{403, "/problems/forbidden", client.ErrForbidden},
		{404, "/problems/not-found", client.ErrNotFound},
		{409, "/problems/refused", client.ErrRefused},
		{409, "/problems/conflict", client.ErrConflict},
		{410, "/problems/gone", client.ErrGone},
		{412, "/problems/stale-version", client.ErrStaleVersion},
		{422, "/problems/invalid-article", client.ErrInvalid},
		{503, "/problems/not-yet-visible", client.ErrUnavailable},
		{500, "/problems/internal", nil},
	}
	for _, tt := range tests {
		var err error = &client.Problem{Status: tt.status, Type: tt.typ}
		for _, kind := range kinds {
			if got := errors.Is(err, kind); got != (kind == tt.want) {
				t.Errorf("errors.Is(%d %s, %v) = %v; want %v", tt.status, tt.typ, kind, got, !got)
			}
		}
	}
}

// The token goes to the editors' API only: never to the public API or the probes.
func TestTokenOnlyWhereNeeded(t *testing.T) {
	srv := newScripted(t, func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"items":[],"status":"ok"}`)
	})
	c := newClient(t, srv.URL+"/prefix/")
	ctx := context.Background()
	c.Articles(ctx, client.ArticleQuery{Status: client.StatusDraft, PerPage: 5}, client.MinPosition(9))
	c.PublicArticles(ctx, client.PublicQuery{Language: "fr", Before: "cur"})
	c.Ready(ctx)
	c.As(" nr_other ").Projections(ctx)
	want := []struct{ path, query, auth string }{
		{"/prefix/api/v1/articles", "min_position=9&per_page=5&status=draft", "Bearer nr_secret"},
		{"/prefix/public/v1/articles", "before=cur&lang=fr", ""},
		{"/prefix/readyz", "", ""},
		{"/prefix/api/v1/projections", "", "Bearer nr_other"},
	}
	got := srv.requests()
	if len(got) != len(want) {
		t.Fatalf("%d requests; want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].path != w.path || got[i].query != w.query || got[i].header.Get("Authorization") != w.auth {
			t.Errorf("request %d: %s?%s with Authorization %q; want %s?%s with %q", i+1, got[i].path, got[i].query,
				got[i].header.Get("Authorization"), w.path, w.query, w.auth)
		}
	}
}

func TestNewRefusesWhatIsNotABaseURL(t *testing.T) {
	for _, base := range []string{"", "127.0.0.1:8080", "ftp://example.org", "http://", "http://u:p@example.org", "http://example.org/?a=1"} {
		if _, err := client.New(base); err == nil || !strings.Contains(err.Error(), "http://127.0.0.1:8080") {
			t.Errorf("New(%q) error = %v; want one that shows a base URL", base, err)
		}
	}
	for _, base := range []string{"http://127.0.0.1:8080", "https://example.org/newsroom/"} {
		if c, err := client.New(base); err != nil || strings.HasSuffix(c.BaseURL(), "/") {
			t.Errorf("New(%q) = %v, %v; want a client whose base has no trailing slash", base, c, err)
		}
	}
}
