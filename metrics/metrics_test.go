package metrics

import (
	"context"
	"errors"
	"fmt"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	dto "github.com/prometheus/client_model/go"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/editorial"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/media"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/webhooks"
)

func TestOutcome(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, OutcomeOK},
		{&domain.RuleError{Kind: domain.ErrInvalidTransition, Reason: "cannot publish: not approved"}, OutcomeRefused},
		{&domain.RuleError{Kind: domain.ErrForbidden, Reason: "reporters do not publish"}, OutcomeRefused},
		{&domain.ValidationError{Fields: []domain.FieldError{{Field: "headline", Detail: "is required"}}}, OutcomeRefused},
		{domain.ErrNotFound, OutcomeRefused},
		{fmt.Errorf("append article x at seq 3: %w", events.ErrConflict), OutcomeConflict},
		{fmt.Errorf("%w: the article is at version 2, not 1", editorial.ErrVersionMismatch), OutcomeConflict},
		{fmt.Errorf("append article x: %w: %w", events.ErrUnavailable, errors.New("timeout")), OutcomeError},
		{context.Canceled, OutcomeError},
	}
	for _, tt := range tests {
		if got := Outcome(tt.err); got != tt.want {
			t.Errorf("Outcome(%v) = %q; want %q", tt.err, got, tt.want)
		}
	}
}

func TestCommandLabel(t *testing.T) {
	tests := []struct {
		cmd  domain.Command
		want string
	}{
		{domain.Draft{Content: domain.Content{Headline: "Anything at all"}}, "draft"},
		{domain.RequestChanges{Comment: "see line 3"}, "request_changes"},
		{domain.Publish{Slug: "a-slug-never-a-label"}, "publish"},
		{domain.Kill{Reason: "legal"}, "kill"},
		{nil, "unknown"},
	}
	for _, tt := range tests {
		if got := CommandLabel(tt.cmd); got != tt.want {
			t.Errorf("CommandLabel(%#v) = %q; want %q", tt.cmd, got, tt.want)
		}
	}
}

// family returns the named family of one gathering of m's registry.
func family(tb testing.TB, m *Metrics, name string) *dto.MetricFamily {
	tb.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f
		}
	}
	return nil
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// TestMiddlewareLabelsRoutesNotPaths serves a small Echo app, as http.New builds one (a group
// with middleware, an error handler that leaves an abandoned request unanswered), on a real
// listener.
func TestMiddlewareLabelsRoutesNotPaths(t *testing.T) {
	m := New()
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if c.Request().Context().Err() != nil {
			return // the client left: nothing is written
		}
		code := nethttp.StatusInternalServerError
		var he *echo.HTTPError
		if errors.As(err, &he) {
			code = he.Code
		}
		_ = c.NoContent(code)
	}
	e.Use(m.Middleware())
	e.GET("/articles/:id", func(c echo.Context) error { return c.String(200, c.Param("id")) })
	api := e.Group("/api", func(next echo.HandlerFunc) echo.HandlerFunc { return next })
	api.GET("/things/:id", func(c echo.Context) error { return echo.NewHTTPError(nethttp.StatusNotFound) })
	leaving := make(chan struct{})
	e.GET("/slow", func(c echo.Context) error {
		close(leaving)
		<-c.Request().Context().Done()
		return c.Request().Context().Err()
	})
	srv := httptest.NewServer(e)
	defer srv.Close()

	get := func(method, path string) {
		t.Helper()
		req, _ := nethttp.NewRequest(method, srv.URL+path, nil)
		resp, err := nethttp.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	for i := range 5 {
		get("GET", fmt.Sprintf("/articles/id-%d", i))
		get("GET", fmt.Sprintf("/api/things/id-%d", i))
		get("GET", fmt.Sprintf("/api/nothing/%d", i))
		get("GET", fmt.Sprintf("/nothing-%d", i))
		get("BREW", fmt.Sprintf("/articles/id-%d", i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := nethttp.NewRequestWithContext(ctx, "GET", srv.URL+"/slow", nil)
	go func() {
		<-leaving
		cancel()
	}()
	if _, err := nethttp.DefaultClient.Do(req); err == nil {
		t.Fatal("the slow request was answered; want it abandoned")
	}

	want := map[string]uint64{
		"GET /articles/:id 200":   5,
		"GET /api/things/:id 404": 5,
		"GET unmatched 404":       10, // /api/nothing/… (the group's catch-all) and /nothing-…
		"other /articles/:id 405": 5,
		"GET /slow " + clientGone: 1,
	}
	got := map[string]uint64{}
	deadline := time.Now().Add(10 * time.Second)
	for {
		clear(got)
		if f := family(t, m, "newsroom_http_request_duration_seconds"); f != nil {
			for _, s := range f.GetMetric() {
				l := labelsOf(s)
				got[l["method"]+" "+l["route"]+" "+l["code"]] = s.GetHistogram().GetSampleCount()
			}
		}
		// The abandoned request is observed when its handler returns, after the client left.
		if got["GET /slow "+clientGone] == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("requests %q counted %d; want %d", k, got[k], n)
		}
	}
	for k := range got {
		if strings.Contains(k, "id-") || strings.Contains(k, "nothing") || strings.Contains(k, "BREW") {
			t.Errorf("series %q carries what the client sent", k)
		}
	}
}

// TestScrapeAnswersWhenASourceHangs: a database that never answers costs a scrape
// ScrapeTimeout, and the scrape says it is down; the sources that answered are there.
func TestScrapeAnswersWhenASourceHangs(t *testing.T) {
	m := New()
	m.Watch(Sources{
		LogPosition: func(context.Context) (uint64, error) { return 42, nil },
		Database: func(ctx context.Context) error {
			<-ctx.Done() // a database behind a network that drops packets
			return ctx.Err()
		},
		Views: func() []projections.Status {
			return []projections.Status{{Name: "desk", State: "live", Checkpoint: 40},
				{Name: "published", State: "rebuilding", Checkpoint: 42, LastError: "disk full",
					Rebuild: &projections.Progress{Checkpoint: 30, Target: 41}}}
		},
		Outbox: func(context.Context) (uint64, error) { return 0, events.ErrUnavailable },
		Webhooks: func(context.Context) (webhooks.Backlog, error) {
			return webhooks.Backlog{Webhooks: 2, Cursor: 7, Last: 9}, nil
		},
		Streams: func() events.HubStats { return events.HubStats{Subscribers: 3, Refused: 1} },
		Images:  func() media.HousekeeperStats { return media.HousekeeperStats{Erased: 4, FailedPasses: 2} },
	})
	values := map[string]float64{}
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			key := f.GetName()
			l := labelsOf(s)
			if v := l["view"]; v != "" {
				key += "{" + v + "}"
			} else if v := l["stream"]; v != "" {
				key += "{" + v + "}"
			}
			v := s.GetGauge().GetValue()
			if s.Counter != nil {
				v = s.GetCounter().GetValue()
			}
			values[key] = v
		}
	}
	want := map[string]float64{
		"newsroom_nats_up":                               1,
		"newsroom_database_up":                           0,
		"newsroom_stream_last_sequence{NEWSROOM}":        42,
		"newsroom_stream_last_sequence{NEWSROOM_PUBLIC}": 9,
		"newsroom_view_position{desk}":                   40,
		"newsroom_view_lag_events{desk}":                 2,
		"newsroom_view_lag_events{published}":            0,
		"newsroom_view_failing{published}":               1,
		"newsroom_view_failing{desk}":                    0,
		"newsroom_view_rebuilding{published}":            1,
		"newsroom_view_rebuild_position{published}":      30,
		"newsroom_view_rebuild_target{published}":        41,
		"newsroom_view_position{webhooks}":               7,
		"newsroom_view_lag_events{webhooks}":             2,
		"newsroom_webhooks_registered":                   2,
		"newsroom_sse_clients":                           3,
		"newsroom_sse_refused_total":                     1,
		"newsroom_images_erased_total":                   4,
		"newsroom_image_erasure_failures_total":          2,
	}
	for k, v := range want {
		got, ok := values[k]
		if !ok {
			t.Errorf("%s missing from the scrape", k)
		} else if got != v {
			t.Errorf("%s = %v; want %v", k, got, v)
		}
	}
	if _, ok := values["newsroom_view_position{outbox}"]; ok {
		t.Errorf("the outbox's position is reported though its source failed")
	}
	if _, ok := values["newsroom_view_rebuild_target{desk}"]; ok {
		t.Errorf("a rebuild target is reported for a view that never rebuilt")
	}
}
