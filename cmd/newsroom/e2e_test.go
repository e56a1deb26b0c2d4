package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	nethttp "net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/editorial"
	"github.com/newsroom/newsroom/events"
)

// testApp is newsroom wired exactly as `serve` wires it, on a temporary data directory.
type testApp struct {
	*app
	dataDir string
	base    string
}

func startTestApp(tb testing.TB, dataDir string) *testApp {
	tb.Helper()
	return startTestAppWith(tb, config{HTTP: "127.0.0.1:0", DataDir: dataDir, NATSListen: "127.0.0.1:0", NoSync: true})
}

// startTestAppWith starts newsroom on cfg; it logs warnings under -v only.
func startTestAppWith(tb testing.TB, cfg config) *testApp {
	tb.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a, err := startApp(context.Background(), cfg, log)
	if err != nil {
		tb.Fatalf("start newsroom: %v", err)
	}
	ta := &testApp{app: a, dataDir: cfg.DataDir, base: "http://" + a.httpAddr}
	tb.Cleanup(ta.Close)
	return ta
}

// Close may be called more than once.
func (ta *testApp) Close() {
	if ta.app != nil {
		ta.app.Close()
		ta.app = nil
	}
}

// createToken runs `newsroom token create` on the app's data directory.
func createToken(tb testing.TB, dataDir, name, role string) string {
	tb.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"token", "create", "--data-dir", dataDir, "--name", name, "--role", role}, &out, &errOut)
	if err != nil {
		tb.Fatalf("token create: %v (%s)", err, errOut.String())
	}
	token := strings.TrimSpace(out.String())
	if !strings.HasPrefix(token, "nr_") || strings.Contains(token, "\n") {
		tb.Fatalf("token create printed %q; want only the token", out.String())
	}
	return token
}

type response struct {
	status int
	header nethttp.Header
	body   []byte
}

func (r response) json(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		tb.Fatalf("response is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// call sends one request; headers come in pairs ("If-Match", `"1"`).
func call(tb testing.TB, method, url, token string, body any, headers ...string) response {
	tb.Helper()
	return sendBody(tb, method, url, token, bodyReader(tb, body), headers...)
}

// callOnce is call without asking again after a 503 not-yet-visible: for the tests of
// min_position itself.
func callOnce(tb testing.TB, method, url, token string, body any, headers ...string) response {
	tb.Helper()
	return sendOnce(tb, method, url, token, bodyReader(tb, body), headers...)
}

func bodyReader(tb testing.TB, body any) io.Reader {
	tb.Helper()
	switch b := body.(type) {
	case nil:
		return nil
	case string:
		return strings.NewReader(b)
	case []byte:
		return bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		return bytes.NewReader(data)
	}
}

func expectStatus(tb testing.TB, r response, want int, what string) {
	tb.Helper()
	if r.status != want {
		tb.Fatalf("%s: status %d; want %d\n%s", what, r.status, want, r.body)
	}
}

// eventually polls check until it returns true, or fails the test after a deadline.
func eventually(tb testing.TB, what string, check func() bool) {
	tb.Helper()
	waitUntil(tb, what, 20*time.Second, check)
}

// waitUntil polls check until it holds, failing the test after timeout.
func waitUntil(tb testing.TB, what string, timeout time.Duration, check func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !check() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// streamInfo reads a stream's state through a client of its own, as an operator's tool would.
func streamInfo(tb testing.TB, natsURL, stream string, opts ...jetstream.StreamInfoOpt) *jetstream.StreamInfo {
	tb.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		tb.Fatal(err)
	}
	info, err := s.Info(ctx, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return info
}

// streamMessages counts the messages in the log.
func streamMessages(tb testing.TB, natsURL string) uint64 {
	return streamInfo(tb, natsURL, events.StreamName).State.Msgs
}

// logPosition is the sequence of the last event ever appended to the log: unlike the count of
// messages, a kill's erasure does not move it back.
func logPosition(tb testing.TB, natsURL string) uint64 {
	return streamInfo(tb, natsURL, events.StreamName).State.LastSeq
}

func corpus(tb testing.TB) map[string]any {
	tb.Helper()
	raw, err := os.ReadFile("../../testdata/nato-russia-council-ministers-meet.txt")
	if err != nil {
		tb.Fatal(err)
	}
	c := editorial.ParsePlainText(string(raw))
	return map[string]any{"headline": c.Headline, "body": c.Body, "dateline": "BRUSSELS", "byline": "NATO Press Office", "tags": []string{"nato", "russia"}}
}

func TestLoopEndToEnd(t *testing.T) {
	dir := t.TempDir()
	reporter := createToken(t, dir, "rita", "reporter")
	editor := createToken(t, dir, "ed", "editor")
	ta := startTestApp(t, dir)
	api := ta.base + "/api/v1/articles"

	r := call(t, "GET", ta.base+"/healthz", "", nil)
	expectStatus(t, r, 200, "healthz")

	r = call(t, "POST", api, reporter, corpus(t))
	expectStatus(t, r, 201, "draft")
	a := r.json(t)
	id := a["id"].(string)
	if loc := r.header.Get("Location"); loc != "/api/v1/articles/"+id {
		t.Errorf("Location = %q; want /api/v1/articles/%s", loc, id)
	}
	if etag := r.header.Get("ETag"); etag != `"1"` {
		t.Errorf("ETag = %s; want \"1\"", etag)
	}
	if a["status"] != "draft" || a["language"] != "en" || a["headline"] != "NATO-Russia foreign ministers meet" {
		t.Errorf("drafted article = %v", a)
	}
	for _, field := range []string{"id", "slug", "status", "version", "headline", "summary", "body", "language",
		"byline", "dateline", "tags", "created_at", "updated_at", "published_at"} {
		if _, ok := a[field]; !ok {
			t.Errorf("article JSON has no %q", field)
		}
	}

	r = call(t, "GET", api+"/"+id, reporter, nil)
	expectStatus(t, r, 200, "get")
	if r.header.Get("ETag") != `"1"` {
		t.Errorf("GET ETag = %s; want \"1\"", r.header.Get("ETag"))
	}

	r = call(t, "PATCH", api+"/"+id, reporter, `{"summary":"Ministers met at NATO Headquarters."}`, "If-Match", `"1"`, "Content-Type", "application/merge-patch+json")
	expectStatus(t, r, 200, "revise")
	if got := r.json(t); got["summary"] != "Ministers met at NATO Headquarters." || got["version"] != 2.0 || got["body"] == "" {
		t.Errorf("revised article = %v; want the summary set, version 2, the body kept", got)
	}

	expectStatus(t, call(t, "POST", api+"/"+id+"/submit", reporter, nil), 200, "submit")
	expectStatus(t, call(t, "POST", api+"/"+id+"/approve", editor, nil, "If-Match", `"3"`), 200, "approve")
	r = call(t, "POST", api+"/"+id+"/publish", editor, nil)
	expectStatus(t, r, 200, "publish")
	published := r.json(t)
	const slug = "nato-russia-foreign-ministers-meet"
	if published["status"] != "published" || published["slug"] != slug || published["published_at"] == nil {
		t.Fatalf("published article = %v; want status published, slug %s, published_at set", published, slug)
	}
	if r.header.Get("X-Newsroom-Position") != "5" {
		t.Errorf("X-Newsroom-Position = %q; want 5 (the fifth event in the log)", r.header.Get("X-Newsroom-Position"))
	}

	var public map[string]any
	eventually(t, "the published article on the public API", func() bool {
		r = call(t, "GET", ta.base+"/public/v1/articles/"+slug, "", nil)
		if r.status == 200 {
			public = r.json(t)
		}
		return r.status == 200
	})
	html, _ := public["body_html"].(string)
	if !strings.Contains(html, "<p>Russian Foreign Minister Sergey Lavrov attended") {
		t.Errorf("body_html = %.200s…; want the rendered first paragraph", html)
	}
	if public["published_at"] != published["published_at"] || public["id"] != id || public["summary"] != "Ministers met at NATO Headquarters." {
		t.Errorf("public article = %v; want the published one", public)
	}

	checkList := func(what string) {
		t.Helper()
		r := call(t, "GET", ta.base+"/public/v1/articles", "", nil)
		expectStatus(t, r, 200, what)
		list := r.json(t)
		items, _ := list["items"].([]any)
		if list["total"] != 1.0 || len(items) != 1 || list["page"] != 1.0 || list["per_page"] != 20.0 {
			t.Errorf("%s: list = %s; want one item, page 1, per_page 20, total 1", what, r.body)
		}
	}
	checkList("public list")

	// Stop and start on the same data directory: everything is there, nothing duplicated.
	ta.Close()
	ta = startTestApp(t, dir)
	api = ta.base + "/api/v1/articles"
	r = call(t, "GET", api+"/"+id, editor, nil)
	expectStatus(t, r, 200, "get after restart")
	if got := r.json(t); got["version"] != 5.0 || got["status"] != "published" || got["summary"] != "Ministers met at NATO Headquarters." {
		t.Errorf("after restart the article is %v; want version 5, published", got)
	}
	expectStatus(t, call(t, "GET", ta.base+"/public/v1/articles/"+slug, "", nil), 200, "public get after restart")
	checkList("public list after restart")
	if n := streamMessages(t, ta.natsURL); n != 5 {
		t.Errorf("the log holds %d events after a restart; want 5", n)
	}
	// The views carry on after the restart.
	r = call(t, "POST", api, reporter, map[string]any{"headline": "NATO-Russia foreign ministers meet", "body": "Again."})
	expectStatus(t, r, 201, "second draft")
	second := r.json(t)["id"].(string)
	other := createToken(t, dir, "eva", "editor")
	expectStatus(t, call(t, "POST", api+"/"+second+"/submit", reporter, nil), 200, "submit second")
	expectStatus(t, call(t, "POST", api+"/"+second+"/approve", other, nil), 200, "approve second")
	r = call(t, "POST", api+"/"+second+"/publish", editor, nil)
	expectStatus(t, r, 200, "publish second")
	if got := r.json(t)["slug"]; got != slug+"-2" {
		t.Errorf("second article with the same headline got slug %v; want %s-2", got, slug)
	}
	eventually(t, "the second article on the public API", func() bool {
		return call(t, "GET", ta.base+"/public/v1/articles/"+slug+"-2", "", nil).status == 200
	})
}

func TestErrorsAreProblemsAndAppendNothing(t *testing.T) {
	dir := t.TempDir()
	reporter := createToken(t, dir, "rita", "reporter")
	editor := createToken(t, dir, "ed", "editor")
	ta := startTestApp(t, dir)
	api := ta.base + "/api/v1/articles"

	r := call(t, "POST", api, editor, map[string]any{"headline": "Ministers meet", "body": "Text."})
	expectStatus(t, r, 201, "draft")
	draftID := r.json(t)["id"].(string)
	r = call(t, "POST", api, editor, map[string]any{"headline": "Under review", "body": "Text."})
	reviewID := r.json(t)["id"].(string)
	expectStatus(t, call(t, "POST", api+"/"+reviewID+"/submit", editor, nil), 200, "submit")
	before := streamMessages(t, ta.natsURL)

	huge := `{"headline":"x","body":"` + strings.Repeat("a", 1<<20) + `"}`
	tests := []struct {
		name, method, path, token string
		body                      any
		headers                   []string
		status                    int
		detail                    string // a part of the problem's detail
	}{
		{"malformed JSON", "POST", "/api/v1/articles", reporter, `{"headline":`, nil, 400, "JSON"},
		{"not an object", "POST", "/api/v1/articles", reporter, `["headline"]`, nil, 400, "object"},
		{"unknown field", "POST", "/api/v1/articles", reporter, `{"headline":"x","colour":"red"}`, nil, 400, "colour"},
		{"wrong type", "POST", "/api/v1/articles", reporter, `{"headline":5}`, nil, 400, "headline"},
		{"empty body", "POST", "/api/v1/articles", reporter, ``, nil, 400, "empty"},
		{"two values", "POST", "/api/v1/articles", reporter, `{"headline":"a"}{"headline":"b"}`, nil, 400, "more than one"},
		{"no token", "POST", "/api/v1/articles", "", `{"headline":"x"}`, nil, 401, "Bearer"},
		{"bad token", "POST", "/api/v1/articles", "nr_not-a-real-token", `{"headline":"x"}`, nil, 401, "token"},
		{"empty headline", "POST", "/api/v1/articles", reporter, `{"headline":"  "}`, nil, 422, "invalid"},
		{"bad language", "POST", "/api/v1/articles", reporter, `{"headline":"x","language":"english!"}`, nil, 422, "invalid"},
		{"body over the limit", "POST", "/api/v1/articles", reporter, huge, nil, 413, "1 MiB"},
		{"not JSON", "POST", "/api/v1/articles", reporter, `headline`, []string{"Content-Type", "text/plain"}, 415, "application/json"},
		{"unknown article", "GET", "/api/v1/articles/" + editorial.NewArticleID(), reporter, nil, nil, 404, "no article"},
		{"not an id", "GET", "/api/v1/articles/not-an-id", reporter, nil, nil, 404, "no article"},
		{"subject wildcard as id", "POST", "/api/v1/articles/>/submit", reporter, nil, nil, 404, "no article"},
		{"revise without If-Match", "PATCH", "/api/v1/articles/" + draftID, reporter, `{"summary":"s"}`, nil, 428, "If-Match"},
		{"revise with a stale If-Match", "PATCH", "/api/v1/articles/" + draftID, reporter, `{"summary":"s"}`, []string{"If-Match", `"7"`}, 412, "version 1"},
		{"If-Match that is no ETag", "PATCH", "/api/v1/articles/" + draftID, reporter, `{"summary":"s"}`, []string{"If-Match", `abc`}, 400, "If-Match"},
		{"revise unknown field", "PATCH", "/api/v1/articles/" + draftID, reporter, `{"status":"published"}`, []string{"If-Match", `"1"`}, 400, "status"},
		{"revise clears the headline", "PATCH", "/api/v1/articles/" + draftID, editor, `{"headline":null}`, []string{"If-Match", `"1"`}, 422, "invalid"},
		{"reporter approves", "POST", "/api/v1/articles/" + reviewID + "/approve", reporter, nil, nil, 403, "needs editor"},
		{"reporter publishes", "POST", "/api/v1/articles/" + draftID + "/publish", reporter, nil, nil, 403, "needs editor"},
		{"publish a draft", "POST", "/api/v1/articles/" + draftID + "/publish", editor, nil, nil, 409, "cannot publish: article is draft, not approved"},
		{"self-approval", "POST", "/api/v1/articles/" + reviewID + "/approve", editor, nil, nil, 409, "another editor"},
		{"submit twice", "POST", "/api/v1/articles/" + reviewID + "/submit", editor, nil, nil, 409, "in_review"},
		{"stale If-Match on a step", "POST", "/api/v1/articles/" + draftID + "/submit", editor, nil, []string{"If-Match", `"9"`}, 412, "version"},
		{"unpublished slug", "GET", "/public/v1/articles/ministers-meet", "", nil, nil, 404, "no article"},
		{"per_page zero", "GET", "/public/v1/articles?per_page=0", "", nil, nil, 400, "per_page"},
		{"per_page huge", "GET", "/public/v1/articles?per_page=100000", "", nil, nil, 400, "per_page"},
		{"negative page", "GET", "/public/v1/articles?page=-1", "", nil, nil, 400, "page"},
		{"page not a number", "GET", "/public/v1/articles?page=two", "", nil, nil, 400, "page"},
		{"unknown endpoint", "GET", "/api/v1/nothing", reporter, nil, nil, 404, ""},
		{"wrong method", "DELETE", "/public/v1/articles", "", nil, nil, 405, "method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, tt.method, ta.base+tt.path, tt.token, tt.body, tt.headers...)
			if r.status != tt.status {
				t.Fatalf("%s %s: status %d; want %d\n%s", tt.method, tt.path, r.status, tt.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q; want application/problem+json", ct)
			}
			p := r.json(t)
			if p["type"] == "" || p["title"] == "" || p["status"] != float64(tt.status) {
				t.Errorf("problem = %s; want type, title and status %d", r.body, tt.status)
			}
			if detail, _ := p["detail"].(string); !strings.Contains(detail, tt.detail) {
				t.Errorf("detail = %q; want it to mention %q", detail, tt.detail)
			}
			if tt.status == 422 {
				if errs, _ := p["errors"].([]any); len(errs) == 0 {
					t.Errorf("422 problem has no errors: %s", r.body)
				}
			}
			if tt.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	if after := streamMessages(t, ta.natsURL); after != before {
		t.Errorf("the log went from %d to %d events over refused requests; want nothing appended", before, after)
	}
}

func TestConcurrentRevisionsOneWins(t *testing.T) {
	dir := t.TempDir()
	reporter := createToken(t, dir, "rita", "reporter")
	ta := startTestApp(t, dir)
	api := ta.base + "/api/v1/articles"
	r := call(t, "POST", api, reporter, map[string]any{"headline": "Race"})
	expectStatus(t, r, 201, "draft")
	id := r.json(t)["id"].(string)

	const writers = 12
	statuses := make([]int, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"summary":"writer %d"}`, i)
			statuses[i] = call(t, "PATCH", api+"/"+id, reporter, body, "If-Match", `"1"`).status
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[200] != 1 || count[412] != writers-1 {
		t.Errorf("%d revisions of version 1: statuses %v; want one 200 and %d × 412", writers, count, writers-1)
	}
	r = call(t, "GET", api+"/"+id, reporter, nil)
	if v := r.json(t)["version"]; v != 2.0 {
		t.Errorf("version after the race = %v; want 2", v)
	}
}

func TestLogUnavailableIs503(t *testing.T) {
	dir := t.TempDir()
	reporter := createToken(t, dir, "rita", "reporter")
	ta := startTestApp(t, dir)
	ta.embedded.Stop()
	r := call(t, "POST", ta.base+"/api/v1/articles", reporter, map[string]any{"headline": "Into the void"})
	expectStatus(t, r, 503, "draft with NATS down")
	if r.header.Get("Retry-After") == "" || r.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("503 headers = %v; want Retry-After and a problem", r.header)
	}
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"2.9.10", "2.12.0", -1}, {"2.12.0", "2.12.0", 0}, {"2.15.3", "2.12.0", 1},
		{"v2.12.1", "2.12", 1}, {"2.12.0-beta", "2.12.0", 0}, {"3", "2.99.99", 1},
	}
	for _, tt := range tests {
		if got := compareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("compareVersions(%q, %q) = %d; want %d", tt.a, tt.b, got, tt.want)
		}
	}
	if err := checkServerVersion("2.9.10"); err == nil || !strings.Contains(err.Error(), "2.12") {
		t.Errorf("checkServerVersion(2.9.10) = %v; want a refusal naming 2.12", err)
	}
}

// sendBody is call with any io.Reader as the body: one that is not a *strings.Reader,
// *bytes.Reader or *bytes.Buffer has no known length and goes out chunked.
//
// A read the views have not caught up with (503 not-yet-visible, under min_position) is asked
// again after its Retry-After, as a client would, for up to half a minute: on a loaded machine
// the views may take longer than the server's wait (5 s) to reach a position.
func sendBody(tb testing.TB, method, url, token string, body io.Reader, headers ...string) response {
	tb.Helper()
	retries := body == nil && (method == nethttp.MethodGet || method == nethttp.MethodHead)
	for deadline := time.Now().Add(30 * time.Second); ; {
		r := sendOnce(tb, method, url, token, body, headers...)
		if !retries || r.status != nethttp.StatusServiceUnavailable || !bytes.Contains(r.body, []byte("/problems/not-yet-visible")) ||
			time.Now().After(deadline) {
			return r
		}
		time.Sleep(time.Second) // its Retry-After
	}
}

func sendOnce(tb testing.TB, method, url, token string, body io.Reader, headers ...string) response {
	tb.Helper()
	req, err := nethttp.NewRequest(method, url, body)
	if err != nil {
		tb.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := checkedClient(tb).Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}
