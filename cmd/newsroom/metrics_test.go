package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape is one answer of /metrics, parsed as Prometheus parses it.
type scrape map[string]*dto.MetricFamily

// scrapeMetrics gets and parses url (a /metrics endpoint); it may run off the test's goroutine.
func scrapeMetrics(url string) (scrape, error) {
	resp, err := nethttp.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != nethttp.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("GET %s: %s\n%s", url, resp.Status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", url, err)
	}
	return families, nil
}

func mustScrape(tb testing.TB, url string) scrape {
	tb.Helper()
	s, err := scrapeMetrics(url)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// value is the value of the one series of family name whose labels include the given pairs
// ("view", "desk"): a counter's or a gauge's value, a histogram's count. ok is false if no
// series matches; several matching series are summed.
func (s scrape) value(name string, labels ...string) (v float64, ok bool) {
	f := s[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		ok = true
		switch {
		case m.Counter != nil:
			v += m.Counter.GetValue()
		case m.Gauge != nil:
			v += m.Gauge.GetValue()
		case m.Histogram != nil:
			v += float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			v += m.Untyped.GetValue()
		}
	}
	return v, ok
}

// get is value, failing the test when no series matches.
func (s scrape) get(tb testing.TB, name string, labels ...string) float64 {
	tb.Helper()
	v, ok := s.value(name, labels...)
	if !ok {
		tb.Fatalf("no series %s%v in the scrape", name, labels)
	}
	return v
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == pairs[i] && l.GetValue() == pairs[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// labelValues lists every label value of every series, as "family{name}=value".
func (s scrape) labelValues() map[string]string {
	out := map[string]string{}
	for name, f := range s {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				out[name+"{"+l.GetName()+"}="+l.GetValue()] = l.GetValue()
			}
		}
	}
	return out
}

// try sends one request off the test's goroutine; it returns the status, or an error.
func try(method, url, token string, body string, headers ...string) (int, error) {
	status, _, err := tryRead(method, url, token, body, headers...)
	return status, err
}

// tryRead is try that returns the answer's body too.
func tryRead(method, url, token string, body string, headers ...string) (int, []byte, error) {
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := nethttp.NewRequest(method, url, reader)
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := nethttp.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// TestMetricsMoveUnderLoad runs commands from many goroutines while another scrapes /metrics
// over and over: the counters only grow, a scrape between the two phases of the load sees the
// first phase counted and the second not yet, and at the end every command, request, view,
// the outbox, the webhooks and the event-stream readers are accounted for.
func TestMetricsMoveUnderLoad(t *testing.T) {
	dir := t.TempDir()
	reporter := createToken(t, dir, "rita", "reporter")
	approver := createToken(t, dir, "ed", "editor")
	publisher := createToken(t, dir, "eva", "editor")
	admin := createToken(t, dir, "ops", "admin")
	ta := startTestApp(t, dir)
	metricsURL := ta.base + "/metrics"
	api := ta.base + "/api/v1/articles"

	receiver := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(nethttp.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)
	expectStatus(t, call(t, "POST", ta.base+"/api/v1/webhooks", admin, map[string]any{"url": receiver.URL + "/hook"}), 201, "register a webhook")

	// One event-stream reader, held open through the load.
	streamCtx, closeStream := context.WithCancel(context.Background())
	defer closeStream()
	streamReq, _ := nethttp.NewRequestWithContext(streamCtx, "GET", ta.base+"/public/v1/stream", nil)
	streamResp, err := nethttp.DefaultClient.Do(streamReq)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, streamResp.Body) }()
	eventually(t, "newsroom_sse_clients at 1", func() bool {
		v, _ := mustScrape(t, metricsURL).value("newsroom_sse_clients")
		return v == 1
	})

	// The scraper: as fast as it can until told to stop.
	var (
		mu      sync.Mutex
		scrapes []scrape
		errs    []error
	)
	stopScraping := make(chan struct{})
	scraperDone := make(chan struct{})
	go func() {
		defer close(scraperDone)
		for {
			select {
			case <-stopScraping:
				return
			default:
			}
			s, err := scrapeMetrics(metricsURL)
			mu.Lock()
			if err != nil {
				errs = append(errs, err)
			} else {
				scrapes = append(scrapes, s)
			}
			mu.Unlock()
		}
	}()
	latest := func() scrape {
		mu.Lock()
		defer mu.Unlock()
		if len(scrapes) == 0 {
			return scrape{}
		}
		return scrapes[len(scrapes)-1]
	}

	const workers, perWorker = 6, 5
	const articles = workers * perWorker
	ids := make([][]string, workers)
	runWorkers := func(what string, work func(w int) error) {
		t.Helper()
		var wg sync.WaitGroup
		failures := make(chan error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := work(w); err != nil {
					failures <- fmt.Errorf("%s, worker %d: %w", what, w, err)
				}
			}()
		}
		wg.Wait()
		close(failures)
		for err := range failures {
			t.Fatal(err)
		}
	}
	expect := func(want int, method, url, token, body string, headers ...string) error {
		got, err := try(method, url, token, body, headers...)
		if err == nil && got != want {
			err = fmt.Errorf("%s %s: status %d; want %d", method, url, got, want)
		}
		return err
	}

	// Phase 1: drafts and submissions.
	runWorkers("draft and submit", func(w int) error {
		for i := range perWorker {
			body := fmt.Sprintf(`{"headline":"Metrics under load %d-%d","body":"Ministers met."}`, w, i)
			status, answer, err := tryRead("POST", api, reporter, body)
			if err == nil && status != 201 {
				err = fmt.Errorf("draft: status %d; want 201\n%s", status, answer)
			}
			if err != nil {
				return err
			}
			var drafted struct{ ID string }
			if err := json.Unmarshal(answer, &drafted); err != nil {
				return err
			}
			id := drafted.ID
			if err := expect(200, "POST", api+"/"+id+"/submit", reporter, ""); err != nil {
				return err
			}
			ids[w] = append(ids[w], id)
		}
		return nil
	})
	eventually(t, "a scrape that counts the first phase", func() bool {
		v, _ := latest().value("newsroom_commands_total", "command", "submit", "outcome", "ok")
		return v == articles
	})
	between := latest()
	if v, _ := between.value("newsroom_commands_total", "command", "publish", "outcome", "ok"); v != 0 {
		t.Errorf("between the phases, publish ok = %v; want 0", v)
	}

	// Phase 2: a stale revision (conflict), a reporter's publish (refused), approval, publication.
	runWorkers("approve and publish", func(w int) error {
		for _, id := range ids[w] {
			if err := expect(412, "PATCH", api+"/"+id, reporter, `{"summary":"Late."}`,
				"If-Match", `"1"`, "Content-Type", "application/merge-patch+json"); err != nil {
				return err
			}
			if err := expect(403, "POST", api+"/"+id+"/publish", reporter, ""); err != nil {
				return err
			}
			if err := expect(200, "POST", api+"/"+id+"/approve", approver, ""); err != nil {
				return err
			}
			if err := expect(200, "POST", api+"/"+id+"/publish", publisher, ""); err != nil {
				return err
			}
		}
		return nil
	})
	close(stopScraping)
	<-scraperDone
	mu.Lock()
	taken := scrapes
	mu.Unlock()
	for _, err := range errs {
		t.Errorf("a scrape during the load failed: %v", err)
	}
	if len(taken) < 3 {
		t.Fatalf("%d scrapes during the load; want several", len(taken))
	}

	// Counters only grow from one scrape to the next.
	counters := [][]string{
		{"newsroom_commands_total", "command", "draft", "outcome", "ok"},
		{"newsroom_commands_total", "command", "publish", "outcome", "ok"},
		{"newsroom_http_request_duration_seconds", "route", "/api/v1/articles/:id/submit"},
		{"newsroom_stream_last_sequence", "stream", "NEWSROOM"},
		{"newsroom_view_position", "view", "desk"},
	}
	for _, c := range counters {
		var seen []float64
		for _, s := range taken {
			if v, ok := s.value(c[0], c[1:]...); ok {
				seen = append(seen, v)
			}
		}
		if !slices.IsSorted(seen) {
			t.Errorf("%v went back during the load: %v", c, seen)
		}
	}

	final := mustScrape(t, metricsURL)
	for _, c := range []struct {
		command, outcome string
	}{{"draft", "ok"}, {"submit", "ok"}, {"approve", "ok"}, {"publish", "ok"}, {"publish", "refused"}, {"revise", "conflict"}} {
		if got := final.get(t, "newsroom_commands_total", "command", c.command, "outcome", c.outcome); got != articles {
			t.Errorf("newsroom_commands_total{command=%q,outcome=%q} = %v; want %d", c.command, c.outcome, got, articles)
		}
	}
	for _, c := range []struct {
		route, method, code string
	}{{"/api/v1/articles/:id/publish", "POST", "200"}, {"/api/v1/articles/:id/publish", "POST", "403"},
		{"/api/v1/articles/:id", "PATCH", "412"}, {"/api/v1/articles", "POST", "201"}} {
		if got := final.get(t, "newsroom_http_request_duration_seconds", "route", c.route, "method", c.method, "code", c.code); got != articles {
			t.Errorf("requests %s %s → %s counted %v; want %d", c.method, c.route, c.code, got, articles)
		}
	}

	// Four events per article (draft, submit, approve, publish); the refusals recorded none.
	const events = 4 * articles
	eventually(t, "every view, the outbox and the webhooks at the end of their streams", func() bool {
		s := mustScrape(t, metricsURL)
		if s.get(t, "newsroom_stream_last_sequence", "stream", "NEWSROOM") != events ||
			s.get(t, "newsroom_stream_last_sequence", "stream", "NEWSROOM_PUBLIC") != articles {
			return false
		}
		for _, view := range []string{"desk", "published", "history", "outbox"} {
			if s.get(t, "newsroom_view_position", "view", view, "stream", "NEWSROOM") != events ||
				s.get(t, "newsroom_view_lag_events", "view", view, "stream", "NEWSROOM") != 0 {
				return false
			}
		}
		return s.get(t, "newsroom_view_position", "view", "webhooks", "stream", "NEWSROOM_PUBLIC") == articles &&
			s.get(t, "newsroom_view_lag_events", "view", "webhooks") == 0 &&
			s.get(t, "newsroom_webhook_deliveries_total", "outcome", "delivered") == articles
	})
	if lagged := func() bool {
		for _, s := range taken {
			if v, _ := s.value("newsroom_view_lag_events", "view", "outbox"); v > 0 {
				return true
			}
			if v, _ := s.value("newsroom_view_lag_events", "view", "desk"); v > 0 {
				return true
			}
		}
		return false
	}(); !lagged {
		t.Log("no scrape caught a view behind the log (the views kept up)")
	}
	if got := final.get(t, "newsroom_webhooks_registered"); got != 1 {
		t.Errorf("newsroom_webhooks_registered = %v; want 1", got)
	}
	for _, up := range []string{"newsroom_nats_up", "newsroom_database_up"} {
		if got := final.get(t, up); got != 1 {
			t.Errorf("%s = %v; want 1", up, got)
		}
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := final[name]; !ok {
			t.Errorf("no %s: the Go and process collectors are missing", name)
		}
	}

	closeStream()
	eventually(t, "newsroom_sse_clients back at 0", func() bool {
		return mustScrape(t, metricsURL).get(t, "newsroom_sse_clients") == 0
	})
}

var uuidPattern = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// TestMetricsLabelsCarryNoIDsSlugsOrTokens asks for many articles by id and by slug, sends
// tokens good and bad, and many paths no route serves: no label value is an id, a slug or a
// token, every unknown path is one "unmatched" series, and a second round with other ids adds
// no series.
func TestMetricsLabelsCarryNoIDsSlugsOrTokens(t *testing.T) {
	dir := t.TempDir()
	reporter := createToken(t, dir, "rita", "reporter")
	editor := createToken(t, dir, "ed", "editor")
	other := createToken(t, dir, "eva", "editor")
	tokens := []string{reporter, editor, other}
	ta := startTestApp(t, dir)
	api := ta.base + "/api/v1/articles"

	var ids, slugs []string
	for i := range 3 {
		r := call(t, "POST", api, reporter, map[string]any{"headline": fmt.Sprintf("Label hygiene %d", i), "body": "Text."})
		expectStatus(t, r, 201, "draft")
		id := r.json(t)["id"].(string)
		expectStatus(t, call(t, "POST", api+"/"+id+"/submit", reporter, nil), 200, "submit")
		expectStatus(t, call(t, "POST", api+"/"+id+"/approve", editor, nil), 200, "approve")
		r = call(t, "POST", api+"/"+id+"/publish", other, nil)
		expectStatus(t, r, 200, "publish")
		ids, slugs = append(ids, id), append(slugs, r.json(t)["slug"].(string))
	}

	unmatched := 0
	round := func(n int) {
		t.Helper()
		for i := range n {
			id, slug := uuid.NewString(), fmt.Sprintf("no-such-story-%s", uuid.NewString()[:8])
			ids, slugs = append(ids, id), append(slugs, slug)
			bogus := "nr_" + strings.ReplaceAll(uuid.NewString(), "-", "")
			tokens = append(tokens, bogus)
			for _, req := range []struct{ method, url, token string }{
				{"GET", api + "/" + id, editor},
				{"GET", api + "/" + id + "/history", editor},
				{"POST", api + "/" + id + "/submit", reporter},
				{"GET", api + "/" + ids[i%3], bogus},
				{"GET", ta.base + "/public/v1/articles/" + slug, ""},
				{"GET", ta.base + "/public/v1/articles/" + slugs[i%3] + "?token=" + bogus, ""},
				{"PURGE", ta.base + "/public/v1/articles/" + slug, ""},
			} {
				if _, err := try(req.method, req.url, req.token, ""); err != nil {
					t.Fatal(err)
				}
			}
			for _, path := range []string{"/no/such/" + id, "/" + slug, "/" + bogus, "/public/v2/articles/" + id} {
				status, err := try("GET", ta.base+path, "", "")
				if err != nil {
					t.Fatal(err)
				}
				if status != 404 {
					t.Fatalf("GET %s: %d; want 404", path, status)
				}
				unmatched++
			}
		}
	}

	// A warm-up round first: an answer's status may differ while the views catch up (a public
	// read of an article published a moment ago), and each status is a series of its own; the
	// rounds compared then meet every route and status already.
	round(20)
	round(20)
	first := mustScrape(t, ta.base+"/metrics")
	round(20)
	second := mustScrape(t, ta.base+"/metrics")

	for key, value := range second.labelValues() {
		if uuidPattern.MatchString(value) || strings.Contains(value, "nr_") {
			t.Errorf("label %s carries an id or a token", key)
		}
		for _, s := range slugs {
			if strings.Contains(value, s) {
				t.Errorf("label %s carries the slug %q", key, s)
			}
		}
		for _, tok := range tokens {
			if strings.Contains(value, tok) {
				t.Errorf("label %s carries a token", key)
			}
		}
	}
	if got := second.get(t, "newsroom_http_request_duration_seconds", "route", "unmatched", "method", "GET", "code", "404"); got != float64(unmatched) {
		t.Errorf("unknown paths counted %v under route=\"unmatched\"; want all %d", got, unmatched)
	}
	// The families whose labels come from what clients send. The first scrape's own request is
	// the one series the second may add. Series are compared without their status code: a
	// status the first round did not meet (a 503 while a loaded machine's views catch up) is a
	// series of its own, but not growth from ids, which would show in the other labels.
	withoutCode := func(f *dto.MetricFamily) map[string]bool {
		keys := map[string]bool{}
		for _, m := range f.GetMetric() {
			var key []string
			for _, l := range m.GetLabel() {
				if l.GetName() != "code" {
					key = append(key, l.GetName()+"="+l.GetValue())
				}
			}
			keys[strings.Join(key, ",")] = true
		}
		return keys
	}
	for _, name := range []string{"newsroom_http_request_duration_seconds", "newsroom_commands_total"} {
		before, after := withoutCode(first[name]), withoutCode(second[name])
		var added []string
		for key := range after {
			if !before[key] {
				added = append(added, key)
			}
		}
		if len(added) > 1 {
			t.Errorf("%s: series %v appeared in a second round with other ids; want no growth", name, added)
		}
		if b := len(second[name].GetMetric()); b > 20 {
			t.Errorf("%s: %d series; want a handful (routes × methods × statuses used)", name, b)
		}
	}
}

// TestMetricsListenApart serves /metrics on --metrics-listen only: the main listener answers
// 404 for it, and the metrics listener counts the main listener's requests.
func TestMetricsListenApart(t *testing.T) {
	dir := t.TempDir()
	ta := startTestAppWith(t, config{HTTP: "127.0.0.1:0", DataDir: dir, NATSListen: "127.0.0.1:0", NoSync: true,
		MetricsListen: "127.0.0.1:0"})
	if ta.metricsAddr == "" || ta.metricsAddr == ta.httpAddr {
		t.Fatalf("metrics address %q; want one of its own", ta.metricsAddr)
	}
	r := call(t, "GET", ta.base+"/metrics", "", nil)
	expectStatus(t, r, 404, "/metrics on the main listener")
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("main listener's /metrics: Content-Type %q; want a problem", ct)
	}
	expectStatus(t, call(t, "GET", ta.base+"/healthz", "", nil), 200, "healthz")

	apart := "http://" + ta.metricsAddr
	s := mustScrape(t, apart+"/metrics")
	if got := s.get(t, "newsroom_nats_up"); got != 1 {
		t.Errorf("newsroom_nats_up = %v; want 1", got)
	}
	if got := s.get(t, "newsroom_http_request_duration_seconds", "route", "/healthz", "code", "200"); got != 1 {
		t.Errorf("/healthz counted %v on the metrics listener; want 1", got)
	}
	if got := s.get(t, "newsroom_http_request_duration_seconds", "route", "unmatched", "code", "404"); got != 1 {
		t.Errorf("the main listener's /metrics counted %v as unmatched; want 1", got)
	}
	// The metrics listener is not the API: what it answers is outside http/openapi.json, so
	// these go around the contract's check (call).
	for _, path := range []string{"/healthz", "/api/v1/articles"} {
		resp, err := nethttp.Get(apart + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != nethttp.StatusNotFound {
			t.Errorf("GET %s on the metrics listener = %d; want 404", path, resp.StatusCode)
		}
	}
}

// TestMetricsNATSDown: with NATS gone, a scrape still answers, and says so.
func TestMetricsNATSDown(t *testing.T) {
	ta := startTestApp(t, t.TempDir())
	s := mustScrape(t, ta.base+"/metrics")
	if got := s.get(t, "newsroom_nats_up"); got != 1 {
		t.Fatalf("newsroom_nats_up = %v with NATS running; want 1", got)
	}
	ta.embedded.Stop()
	s = mustScrape(t, ta.base+"/metrics")
	if got := s.get(t, "newsroom_nats_up"); got != 0 {
		t.Errorf("newsroom_nats_up = %v with NATS stopped; want 0", got)
	}
	if got := s.get(t, "newsroom_database_up"); got != 1 {
		t.Errorf("newsroom_database_up = %v; want 1 (only NATS is down)", got)
	}
	if _, ok := s.value("newsroom_view_lag_events", "view", "desk"); ok {
		t.Errorf("a view's lag is reported while the log's position is unknown")
	}
	if _, ok := s.value("newsroom_view_position", "view", "desk"); !ok {
		t.Errorf("the desk's position (from the database) is missing while NATS is down")
	}
}

// TestMetricsRebuildProgress: each rebuild asked for shows its target (the log's end when it
// started) and the position it reached.
func TestMetricsRebuildProgress(t *testing.T) {
	dir := t.TempDir()
	reporter := createToken(t, dir, "rita", "reporter")
	admin := createToken(t, dir, "ops", "admin")
	ta := startTestApp(t, dir)
	metricsURL := ta.base + "/metrics"
	drafted := 0
	draft := func(n int) {
		t.Helper()
		for range n {
			drafted++
			expectStatus(t, call(t, "POST", ta.base+"/api/v1/articles", reporter,
				map[string]any{"headline": fmt.Sprintf("Rebuild me %d", drafted), "body": "Text."}), 201, "draft")
		}
	}
	rebuildTo := func(want float64) {
		t.Helper()
		// The rebuild of the first start may still run: ask again until this one starts.
		eventually(t, "a rebuild of the desk started", func() bool {
			r := call(t, "POST", ta.base+"/api/v1/projections/desk/rebuild", admin, nil)
			if r.status != 202 && r.status != 409 {
				t.Fatalf("rebuild the desk: %d\n%s", r.status, r.body)
			}
			return r.status == 202
		})
		eventually(t, fmt.Sprintf("the rebuild's target and position at %v", want), func() bool {
			s := mustScrape(t, metricsURL)
			target, _ := s.value("newsroom_view_rebuild_target", "view", "desk")
			pos, _ := s.value("newsroom_view_rebuild_position", "view", "desk")
			running, _ := s.value("newsroom_view_rebuilding", "view", "desk")
			return target == want && pos == want && running == 0
		})
	}
	draft(5)
	rebuildTo(5)
	draft(7)
	rebuildTo(12)
}
