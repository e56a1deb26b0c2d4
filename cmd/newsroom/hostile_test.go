package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	nethttp "net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// The callers every endpoint is tried with, in the order of hostileEndpoint.want.
const (
	asAnonymous = iota
	asBadToken
	asOtherReporter // a reporter who did not write the article
	asAuthor        // the reporter who drafted the article
	asEditor
	asAdmin
	hostileCallers
)

var hostileCallerNames = [hostileCallers]string{"anonymous", "bad-token", "other-reporter", "author", "editor", "admin"}

// hostileArticle is an article prepared in some status for a test to act on.
type hostileArticle struct {
	id, slug string
	version  int
}

// hostilePath is the workflow order hostilePrepare walks an article along.
var hostilePath = []struct {
	status domain.Status
	step   string
	editor bool // whether the step takes an editor
}{
	{domain.StatusInReview, "/submit", false},
	{domain.StatusApproved, "/approve", true},
	{domain.StatusPublished, "/publish", true},
}

// hostilePrepare drafts an article as author and walks it to status, approving and publishing
// as editor. The headline must be unique if the article is to be published (it gives the slug).
func hostilePrepare(tb testing.TB, base, author, editor string, status domain.Status, headline string) hostileArticle {
	tb.Helper()
	api := base + "/api/v1/articles"
	r := call(tb, "POST", api, author, map[string]any{
		"headline": headline, "summary": "Ministers met.", "body": "Ministers met on 7 December.", "tags": []string{"nato"},
	})
	expectStatus(tb, r, 201, "prepare: draft "+headline)
	a := hostileArticle{id: r.json(tb)["id"].(string), version: 1}
	if status == statusCorrectionPending {
		a = hostilePrepare(tb, base, author, editor, domain.StatusPublished, headline)
		r = call(tb, "POST", api+"/"+a.id+"/correct", editor, map[string]any{"summary": "Proposed.", "note": "A proposal."})
		expectStatus(tb, r, 202, "prepare: propose a correction to "+headline)
		a.version++
		return a
	}
	for _, s := range hostilePath {
		if status == domain.StatusDraft {
			break
		}
		token := author
		if s.editor {
			token = editor
		}
		r = call(tb, "POST", api+"/"+a.id+s.step, token, nil)
		expectStatus(tb, r, 200, "prepare: "+s.step+" "+headline)
		a.version++
		a.slug, _ = r.json(tb)["slug"].(string)
		if s.status == status {
			break
		}
	}
	return a
}

// statusCorrectionPending stands for a published article with a correction proposed (by the
// editor who prepares articles) and not yet confirmed; it is no status of its own.
const statusCorrectionPending domain.Status = "published, a correction pending"

func hostileETag(version int) string { return `"` + strconv.Itoa(version) + `"` }

// unsized hides the length of a reader, so that the request is sent chunked.
type unsized struct{ r io.Reader }

func (u unsized) Read(p []byte) (int, error) { return u.r.Read(p) }

// hostileProblem checks that r is a problem document (RFC 9457) with this status, and returns it.
func hostileProblem(tb testing.TB, r response, status int, what string) map[string]any {
	tb.Helper()
	if r.status != status {
		tb.Fatalf("%s: status %d; want %d\n%.500s", what, r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		tb.Errorf("%s: Content-Type = %q; want application/problem+json", what, ct)
	}
	var p map[string]any
	if err := json.Unmarshal(r.body, &p); err != nil {
		tb.Fatalf("%s: the problem is not a JSON object: %v\n%.500s", what, err, r.body)
	}
	for _, field := range []string{"type", "title", "detail"} {
		if s, _ := p[field].(string); s == "" {
			tb.Errorf("%s: problem %s has no %q", what, r.body, field)
		}
	}
	if p["status"] != float64(status) {
		tb.Errorf("%s: problem status = %v; want %d", what, p["status"], status)
	}
	return p
}

// problemFields lists the fields a 422 problem's errors name.
func problemFields(p map[string]any) []string {
	var fields []string
	errs, _ := p["errors"].([]any)
	for _, e := range errs {
		if m, ok := e.(map[string]any); ok {
			f, _ := m["field"].(string)
			fields = append(fields, f)
		}
	}
	return fields
}

// forgeToken returns a token of the right shape that no one was given.
func forgeToken(real string) string {
	rest := strings.TrimPrefix(real, "nr_")
	swap := byte('A')
	if rest[0] == 'A' {
		swap = 'B'
	}
	return "nr_" + string(swap) + rest[1:]
}

// hostileEndpoint is one endpoint of the matrix: what it is tried on, and the status each
// caller gets.
type hostileEndpoint struct {
	name, method string
	on           domain.Status // the status of the article it is tried on; "" for none
	path         func(a hostileArticle) string
	body         string
	want         [hostileCallers]int
	// leaves is the status an allowed command leaves the article in; "" for a read, which
	// appends nothing.
	leaves domain.Status
}

// TestHostileRoleMatrix tries every endpoint as every kind of caller. Each allowed cell runs
// its command on a fresh article in the right status; each refused cell is a problem, and the
// refused cells, run together, append nothing.
func TestHostileRoleMatrix(t *testing.T) {
	dir := t.TempDir()
	var tokens [hostileCallers]string
	tokens[asOtherReporter] = createToken(t, dir, "rob", "reporter")
	tokens[asAuthor] = createToken(t, dir, "rita", "reporter")
	tokens[asEditor] = createToken(t, dir, "ed", "editor")
	tokens[asAdmin] = createToken(t, dir, "ada", "admin")
	tokens[asBadToken] = forgeToken(tokens[asAuthor])
	setup := createToken(t, dir, "sam", "editor") // prepares articles; never a caller under test
	// The forged token tries every endpoint: past the limit of failures, its answers would be
	// the throttle's 429 rather than each endpoint's own refusal (TestFailedSignInsAreThrottled).
	ta := startTestAppWith(t, config{HTTP: "127.0.0.1:0", DataDir: dir, NATSListen: "127.0.0.1:0", NoSync: true, FailureLimit: 1000})

	article := func(a hostileArticle) string { return "/api/v1/articles/" + a.id }
	step := func(s string) func(hostileArticle) string {
		return func(a hostileArticle) string { return article(a) + "/" + s }
	}
	fixed := func(p string) func(hostileArticle) string { return func(hostileArticle) string { return p } }
	const (
		ok       = 200
		created  = 201
		accepted = 202
		unauth   = 401
		forbid   = 403
	)
	endpoints := []hostileEndpoint{
		{"draft", "POST", "", fixed("/api/v1/articles"), `{"headline":"Matrix draft","body":"Text."}`,
			[hostileCallers]int{unauth, unauth, created, created, created, created}, domain.StatusDraft},
		{"desk", "GET", "", fixed("/api/v1/articles"), "",
			[hostileCallers]int{unauth, unauth, ok, ok, ok, ok}, ""},
		{"get", "GET", domain.StatusDraft, article, "",
			[hostileCallers]int{unauth, unauth, ok, ok, ok, ok}, ""},
		{"history", "GET", domain.StatusDraft, step("history"), "",
			[hostileCallers]int{unauth, unauth, ok, ok, ok, ok}, ""},
		// Reporters revise and submit their own articles only; editors any.
		{"revise", "PATCH", domain.StatusDraft, article, `{"summary":"Revised."}`,
			[hostileCallers]int{unauth, unauth, forbid, ok, ok, ok}, domain.StatusDraft},
		{"submit", "POST", domain.StatusDraft, step("submit"), "",
			[hostileCallers]int{unauth, unauth, forbid, ok, ok, ok}, domain.StatusInReview},
		{"request-changes", "POST", domain.StatusInReview, step("request-changes"), `{"comment":"Check the date."}`,
			[hostileCallers]int{unauth, unauth, forbid, forbid, ok, ok}, domain.StatusChangesRequested},
		{"approve", "POST", domain.StatusInReview, step("approve"), "",
			[hostileCallers]int{unauth, unauth, forbid, forbid, ok, ok}, domain.StatusApproved},
		{"publish", "POST", domain.StatusApproved, step("publish"), "",
			[hostileCallers]int{unauth, unauth, forbid, forbid, ok, ok}, domain.StatusPublished},
		// A correction that changes the text is accepted as a proposal; another editor confirms it.
		{"correct", "POST", domain.StatusPublished, step("correct"), `{"note":"The date is corrected.","summary":"Corrected."}`,
			[hostileCallers]int{unauth, unauth, forbid, forbid, accepted, accepted}, domain.StatusPublished},
		{"correct with a note alone", "POST", domain.StatusPublished, step("correct"), `{"note":"The date is corrected."}`,
			[hostileCallers]int{unauth, unauth, forbid, forbid, ok, ok}, domain.StatusPublished},
		{"confirm a correction", "POST", statusCorrectionPending, step("correct/confirm"), "",
			[hostileCallers]int{unauth, unauth, forbid, forbid, ok, ok}, domain.StatusPublished},
		{"withdraw a correction", "POST", statusCorrectionPending, step("correct/withdraw"), "",
			[hostileCallers]int{unauth, unauth, forbid, forbid, ok, ok}, domain.StatusPublished},
		{"retract", "POST", domain.StatusPublished, step("retract"), `{"reason":"The source withdrew."}`,
			[hostileCallers]int{unauth, unauth, forbid, forbid, ok, ok}, domain.StatusRetracted},
		{"kill", "POST", domain.StatusPublished, step("kill"), `{"reason":"Court order 12/2026."}`,
			[hostileCallers]int{unauth, unauth, forbid, forbid, ok, ok}, domain.StatusKilled},
		{"spike", "POST", domain.StatusDraft, step("spike"), "",
			[hostileCallers]int{unauth, unauth, forbid, ok, ok, ok}, domain.StatusSpiked},
		{"public list", "GET", "", fixed("/public/v1/articles"), "",
			[hostileCallers]int{ok, ok, ok, ok, ok, ok}, ""},
		{"public article", "GET", domain.StatusPublished, func(a hostileArticle) string { return "/public/v1/articles/" + a.slug }, "",
			[hostileCallers]int{ok, ok, ok, ok, ok, ok}, ""},
	}

	// Phase 1: one shared article per status, for the refused cells and the reads, and a fresh
	// article for every allowed command.
	seq := 0
	headline := func(what string) string { seq++; return fmt.Sprintf("Matrix %s %d", what, seq) }
	shared := map[domain.Status]hostileArticle{}
	for _, s := range []domain.Status{domain.StatusDraft, domain.StatusInReview, domain.StatusApproved, domain.StatusPublished, statusCorrectionPending} {
		shared[s] = hostilePrepare(t, ta.base, tokens[asAuthor], setup, s, headline("shared"))
	}
	type cell struct{ endpoint, caller int }
	fresh := map[cell]hostileArticle{}
	for i, e := range endpoints {
		for c := range hostileCallers {
			if e.want[c] < 400 && e.leaves != "" && e.on != "" {
				fresh[cell{i, c}] = hostilePrepare(t, ta.base, tokens[asAuthor], setup, e.on, headline(e.name))
			}
		}
	}
	eventually(t, "the shared published article on the public API", func() bool {
		return call(t, "GET", ta.base+"/public/v1/articles/"+shared[domain.StatusPublished].slug, "", nil).status == 200
	})

	send := func(t *testing.T, e hostileEndpoint, caller int, a hostileArticle) response {
		t.Helper()
		var body any
		if e.body != "" {
			body = e.body
		}
		var headers []string
		if e.method == "PATCH" {
			headers = []string{"If-Match", hostileETag(a.version)}
		}
		return call(t, e.method, ta.base+e.path(a), tokens[caller], body, headers...)
	}

	// Phase 2: every refused cell, with nothing else running.
	before := streamMessages(t, ta.natsURL)
	refused := 0
	for _, e := range endpoints {
		for c := range hostileCallers {
			if e.want[c] < 400 {
				continue
			}
			refused++
			t.Run(e.name+"/"+hostileCallerNames[c], func(t *testing.T) {
				r := send(t, e, c, shared[e.on])
				p := hostileProblem(t, r, e.want[c], e.method+" "+e.name+" as "+hostileCallerNames[c])
				wantType := map[int]string{unauth: "/problems/unauthenticated", forbid: "/problems/forbidden"}[e.want[c]]
				if p["type"] != wantType {
					t.Errorf("problem type = %v; want %s", p["type"], wantType)
				}
				if e.want[c] == unauth && r.header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			})
		}
	}
	if after := streamMessages(t, ta.natsURL); after != before {
		t.Errorf("the log went from %d to %d events over %d refused requests; want nothing appended", before, after, refused)
	}

	// Phase 3: every allowed cell, each command on its own article.
	before = logPosition(t, ta.natsURL)
	appended := 0
	for i, e := range endpoints {
		for c := range hostileCallers {
			if e.want[c] >= 400 {
				continue
			}
			a, own := fresh[cell{i, c}]
			if !own {
				a = shared[e.on]
			}
			if e.leaves != "" {
				appended++
			}
			t.Run(e.name+"/"+hostileCallerNames[c], func(t *testing.T) {
				r := send(t, e, c, a)
				expectStatus(t, r, e.want[c], e.method+" "+e.name+" as "+hostileCallerNames[c])
				got := r.json(t)
				if e.leaves == "" {
					return
				}
				if got["status"] != string(e.leaves) {
					t.Errorf("%s as %s: article status %v; want %s", e.name, hostileCallerNames[c], got["status"], e.leaves)
				}
				if want := hostileETag(a.version + 1); r.header.Get("ETag") != want {
					t.Errorf("%s as %s: ETag %s; want %s", e.name, hostileCallerNames[c], r.header.Get("ETag"), want)
				}
			})
		}
	}
	if after := logPosition(t, ta.natsURL); after != before+uint64(appended) {
		t.Errorf("the log went from position %d to %d over %d allowed commands; want one event each", before, after, appended)
	}
}

// hostileCase is one hostile request and the problem it must get. A case with bug set shows
// the right answer to a request the server answers wrongly today; it is skipped unless
// HOSTILE_BUGS is set (as are the other tests below that show a bug), so that whoever fixes
// the bug can watch it pass.
type hostileCase struct {
	name, method, path, token string
	body                      any // nil, a string, or an io.Reader
	headers                   []string
	status                    int
	field                     string // for 422: a field the problem's errors must name
	detail                    string // a part of the problem's detail
	bug                       string // set: the server answers otherwise today; the case is skipped
}

// TestHostileInputIsRefusedAndAppendsNothing sends malformed, oversized and malicious requests;
// each gets the documented problem, and none of them appends to the log.
func TestHostileInputIsRefusedAndAppendsNothing(t *testing.T) {
	dir := t.TempDir()
	reporter := createToken(t, dir, "rita", "reporter")
	editor := createToken(t, dir, "ed", "editor")
	setup := createToken(t, dir, "sam", "editor")
	revoked := createToken(t, dir, "gone", "reporter")
	var out, errOut strings.Builder
	if err := run(t.Context(), []string{"token", "revoke", "gone", "--data-dir", dir}, &out, &errOut); err != nil {
		t.Fatalf("token revoke: %v (%s)", err, errOut.String())
	}
	ta := startTestApp(t, dir)

	draft := hostilePrepare(t, ta.base, reporter, setup, domain.StatusDraft, "Hostile draft")
	review := hostilePrepare(t, ta.base, reporter, setup, domain.StatusInReview, "Hostile review")
	published := hostilePrepare(t, ta.base, reporter, setup, domain.StatusPublished, "Hostile published")
	const api = "/api/v1/articles"
	draftPath, reviewPath, publishedPath := api+"/"+draft.id, api+"/"+review.id, api+"/"+published.id
	ifMatch1 := []string{"If-Match", `"1"`}

	long := strings.Repeat("a", 10_000)
	overLimit := func() string {
		return `{"headline":"x","body":"` + strings.Repeat("a", 1<<20) + `"}`
	}
	tags := make([]string, 31)
	for i := range tags {
		tags[i] = fmt.Sprintf("tag-%d", i)
	}
	thirtyOneTags, _ := json.Marshal(map[string]any{"headline": "x", "tags": tags})
	nested := strings.Repeat("[", 20_000) + strings.Repeat("]", 20_000)
	tests := []hostileCase{
		// Bodies that are not what a draft is.
		{name: "malformed JSON", method: "POST", path: api, token: reporter, body: `{"headline":`, status: 400, detail: "JSON"},
		{name: "unquoted key", method: "POST", path: api, token: reporter, body: `{headline:"x"}`, status: 400, detail: "JSON"},
		{name: "trailing comma", method: "POST", path: api, token: reporter, body: `{"headline":"x",}`, status: 400},
		{name: "trailing garbage", method: "POST", path: api, token: reporter, body: `{"headline":"x"} x`, status: 400},
		{name: "unknown field status", method: "POST", path: api, token: reporter, body: `{"headline":"x","status":"published"}`, status: 400, detail: "status"},
		{name: "unknown field id", method: "POST", path: api, token: reporter, body: `{"headline":"x","id":"` + draft.id + `"}`, status: 400, detail: "id"},
		{name: "unknown field version", method: "POST", path: api, token: reporter, body: `{"headline":"x","version":7}`, status: 400, detail: "version"},
		{name: "headline as number", method: "POST", path: api, token: reporter, body: `{"headline":42}`, status: 400, detail: "headline"},
		{name: "headline as object", method: "POST", path: api, token: reporter, body: `{"headline":{"text":"x"}}`, status: 400, detail: "headline"},
		{name: "headline as array", method: "POST", path: api, token: reporter, body: `{"headline":["x"]}`, status: 400, detail: "headline"},
		{name: "headline as bool", method: "POST", path: api, token: reporter, body: `{"headline":true}`, status: 400, detail: "headline"},
		{name: "tags as string", method: "POST", path: api, token: reporter, body: `{"headline":"x","tags":"nato"}`, status: 400, detail: "tags"},
		{name: "tags of numbers", method: "POST", path: api, token: reporter, body: `{"headline":"x","tags":[1,2]}`, status: 400, detail: "tags"},
		{name: "tags with a number", method: "POST", path: api, token: reporter, body: `{"headline":"x","tags":["nato",2]}`, status: 400, detail: "tags"},
		{name: "tags of objects", method: "POST", path: api, token: reporter, body: `{"headline":"x","tags":[{"a":1}]}`, status: 400, detail: "tags"},
		{name: "JSON null", method: "POST", path: api, token: reporter, body: `null`, status: 400, detail: "object"},
		{name: "top-level array", method: "POST", path: api, token: reporter, body: `[{"headline":"x"}]`, status: 400, detail: "object"},
		{name: "top-level string", method: "POST", path: api, token: reporter, body: `"x"`, status: 400, detail: "object"},
		{name: "top-level number", method: "POST", path: api, token: reporter, body: `42`, status: 400, detail: "object"},
		{name: "deeply nested", method: "POST", path: api, token: reporter, body: `{"headline":` + nested + `}`, status: 400},
		{name: "whitespace only", method: "POST", path: api, token: reporter, body: " \n\t ", status: 400, detail: "empty"},
		{name: "not JSON", method: "POST", path: api, token: reporter, body: `<headline>x</headline>`, headers: []string{"Content-Type", "application/xml"}, status: 415},
		{name: "bad media type", method: "POST", path: api, token: reporter, body: `{"headline":"x"}`, headers: []string{"Content-Type", "application/json; charset"}, status: 415},

		// Values the domain refuses.
		{name: "empty headline", method: "POST", path: api, token: reporter, body: `{"headline":""}`, status: 422, field: "headline"},
		{name: "blank headline", method: "POST", path: api, token: reporter, body: `{"headline":" \t\n "}`, status: 422, field: "headline"},
		{name: "no headline", method: "POST", path: api, token: reporter, body: `{"body":"Text."}`, status: 422, field: "headline"},
		{name: "10,000-character headline", method: "POST", path: api, token: reporter, body: `{"headline":"` + long + `"}`, status: 422, field: "headline"},
		{name: "10,000-character multibyte headline", method: "POST", path: api, token: reporter, body: `{"headline":"` + strings.Repeat("é", 10_000) + `"}`, status: 422, field: "headline"},
		{name: "2,001-character summary", method: "POST", path: api, token: reporter, body: `{"headline":"x","summary":"` + strings.Repeat("s", 2001) + `"}`, status: 422, field: "summary"},
		{name: "31 tags", method: "POST", path: api, token: reporter, body: string(thirtyOneTags), status: 422, field: "tags"},
		{name: "duplicate tags", method: "POST", path: api, token: reporter, body: `{"headline":"x","tags":["a","a"]}`, status: 422, field: "tags"},
		{name: "empty tag", method: "POST", path: api, token: reporter, body: `{"headline":"x","tags":[" "]}`, status: 422, field: "tags"},
		{name: "bad slug", method: "POST", path: api, token: reporter, body: `{"headline":"x","slug":"Not A Slug"}`, status: 422, field: "slug"},
		{name: "slug with a path", method: "POST", path: api, token: reporter, body: `{"headline":"x","slug":"../admin"}`, status: 422, field: "slug"},

		// Text rules: exact field names, each field once, text that is what it looks like.
		{name: "draft wrongly cased field", method: "POST", path: api, token: reporter, body: `{"HEADLINE":"x"}`, status: 400, detail: `"HEADLINE"`},
		{name: "draft field twice", method: "POST", path: api, token: reporter, body: `{"headline":"x","headline":"y"}`, status: 400, detail: `"headline"`},
		{name: "draft lone surrogate", method: "POST", path: api, token: reporter, body: `{"headline":"x\ud800"}`, status: 422, field: "headline"},
		{name: "draft tag not UTF-8", method: "POST", path: api, token: reporter, body: "{\"headline\":\"x\",\"tags\":[\"\xff\"]}", status: 422, field: "tags"},
		{name: "draft headline with RLO", method: "POST", path: api, token: reporter, body: `{"headline":"x\u202ey"}`, status: 422, field: "headline"},
		{name: "draft headline with an open isolate", method: "POST", path: api, token: reporter, body: `{"headline":"x\u2067y"}`, status: 422, field: "headline"},
		{name: "draft tag with a zero width space", method: "POST", path: api, token: reporter, body: `{"headline":"x","tags":["nato","nato\u200b"]}`, status: 422, field: "tags"},
		{name: "draft one tag in NFC and NFD", method: "POST", path: api, token: reporter, body: `{"headline":"x","tags":["caf\u00e9","cafe\u0301"]}`, status: 422, field: "tags"},
		{name: "draft body with a BOM", method: "POST", path: api, token: reporter, body: `{"headline":"x","body":"\ufeffText."}`, status: 422, field: "body"},

		// Desk filters and paging.
		{name: "desk status bogus", method: "GET", path: api + "?status=bogus", token: reporter, status: 400, detail: "status"},
		{name: "desk status upper case", method: "GET", path: api + "?status=DRAFT", token: reporter, status: 400, detail: "status"},
		{name: "desk status injection", method: "GET", path: api + "?status=draft'%20OR%201=1--", token: reporter, status: 400, detail: "status"},
		{name: "desk status none", method: "GET", path: api + "?status=none", token: reporter, status: 400, detail: "status"},
		{name: "desk revoked token", method: "GET", path: api, token: revoked, status: 401},
		{name: "desk basic auth", method: "GET", path: api, headers: []string{"Authorization", "Basic cml0YTpwYXNz"}, status: 401},
		{name: "desk bearer without token", method: "GET", path: api, headers: []string{"Authorization", "Bearer "}, status: 401},
		{name: "desk bearer with two spaces", method: "GET", path: api, headers: []string{"Authorization", "Bearer  " + reporter}, status: 401},
		{name: "desk token in the query", method: "GET", path: api + "?access_token=" + reporter, status: 401},
		{name: "public lang bogus", method: "GET", path: "/public/v1/articles?lang=english!", status: 400, detail: "lang"},
		{name: "public tag too long", method: "GET", path: "/public/v1/articles?tag=" + strings.Repeat("t", 201), status: 400, detail: "tag"},
		{name: "public slug path", method: "GET", path: "/public/v1/articles/..%2F..%2Fapi", status: 404},
		{name: "public slug long", method: "GET", path: "/public/v1/articles/" + long, status: 404},
		{name: "public slug of a draft", method: "GET", path: "/public/v1/articles/hostile-draft", status: 404},

		// Workflow steps without what they need.
		{name: "request changes without comment", method: "POST", path: reviewPath + "/request-changes", token: editor, body: `{}`, status: 422, field: "comment"},
		{name: "request changes blank comment", method: "POST", path: reviewPath + "/request-changes", token: editor, body: `{"comment":"  "}`, status: 422, field: "comment"},
		{name: "request changes null comment", method: "POST", path: reviewPath + "/request-changes", token: editor, body: `{"comment":null}`, status: 422, field: "comment"},
		{name: "request changes long comment", method: "POST", path: reviewPath + "/request-changes", token: editor, body: `{"comment":"` + strings.Repeat("c", 5001) + `"}`, status: 422, field: "comment"},
		{name: "request changes no body", method: "POST", path: reviewPath + "/request-changes", token: editor, status: 400, detail: "empty"},
		{name: "request changes comment number", method: "POST", path: reviewPath + "/request-changes", token: editor, body: `{"comment":5}`, status: 400, detail: "comment"},
		{name: "request changes extra field", method: "POST", path: reviewPath + "/request-changes", token: editor, body: `{"comment":"x","status":"draft"}`, status: 400, detail: "status"},
		{name: "request changes null body", method: "POST", path: reviewPath + "/request-changes", token: editor, body: `null`, status: 400, detail: "object"},
		{name: "request changes array", method: "POST", path: reviewPath + "/request-changes", token: editor, body: `["comment"]`, status: 400, detail: "object"},
		{name: "retract without reason", method: "POST", path: publishedPath + "/retract", token: editor, body: `{}`, status: 422, field: "reason"},
		{name: "retract blank reason", method: "POST", path: publishedPath + "/retract", token: editor, body: `{"reason":""}`, status: 422, field: "reason"},
		{name: "retract no body", method: "POST", path: publishedPath + "/retract", token: editor, status: 400, detail: "empty"},
		{name: "kill without reason", method: "POST", path: publishedPath + "/kill", token: editor, body: `{}`, status: 422, field: "reason"},
		{name: "kill blank reason", method: "POST", path: publishedPath + "/kill", token: editor, body: `{"reason":"  "}`, status: 422, field: "reason"},
		{name: "kill no body", method: "POST", path: publishedPath + "/kill", token: editor, status: 400, detail: "empty"},
		{name: "kill unknown field", method: "POST", path: publishedPath + "/kill", token: editor, body: `{"reason":"x","headline":"y"}`, status: 400, detail: "unknown field"},
		{name: "correct without note", method: "POST", path: publishedPath + "/correct", token: editor, body: `{"summary":"Corrected."}`, status: 422, field: "note"},
		{name: "correct blank note", method: "POST", path: publishedPath + "/correct", token: editor, body: `{"note":" ","summary":"Corrected."}`, status: 422, field: "note"},
		{name: "correct changes the slug", method: "POST", path: publishedPath + "/correct", token: editor, body: `{"note":"Fix.","slug":"another-slug"}`, status: 422, field: "slug"},
		{name: "correct clears the slug", method: "POST", path: publishedPath + "/correct", token: editor, body: `{"note":"Fix.","slug":null}`, status: 422, field: "slug"},
		{name: "correct with neither a change nor a note", method: "POST", path: publishedPath + "/correct", token: editor, body: `{}`, status: 422, field: "note"},
		{name: "correct clears the body", method: "POST", path: publishedPath + "/correct", token: editor, body: `{"note":"Fix.","body":null}`, status: 422, field: "body"},
		{name: "correct unknown field", method: "POST", path: publishedPath + "/correct", token: editor, body: `{"note":"Fix.","status":"draft"}`, status: 400, detail: "status"},
		{name: "correct null body", method: "POST", path: publishedPath + "/correct", token: editor, body: `null`, status: 400, detail: "object"},
		{name: "correct array", method: "POST", path: publishedPath + "/correct", token: editor, body: `[{"note":"Fix."}]`, status: 400, detail: "object"},
		{name: "spike reason number", method: "POST", path: draftPath + "/spike", token: reporter, body: `{"reason":5}`, status: 400, detail: "reason"},
		{name: "spike unknown field", method: "POST", path: draftPath + "/spike", token: reporter, body: `{"why":"x"}`, status: 400, detail: "why"},
		{name: "request changes comment twice", method: "POST", path: reviewPath + "/request-changes", token: editor, body: `{"comment":"x","comment":"y"}`, status: 400, detail: `"comment"`},
		{name: "request changes comment with RLO", method: "POST", path: reviewPath + "/request-changes", token: editor, body: `{"comment":"x\u202ey"}`, status: 422, field: "comment"},
		{name: "correct note twice", method: "POST", path: publishedPath + "/correct", token: editor, body: `{"note":"x","summary":"s","note":"y"}`, status: 400, detail: `"note"`},
		{name: "correct note lone surrogate", method: "POST", path: publishedPath + "/correct", token: editor, body: `{"note":"\udc00","summary":"s"}`, status: 422, field: "note"},
		{name: "retract reason not UTF-8", method: "POST", path: publishedPath + "/retract", token: editor, body: "{\"reason\":\"\xc3\"}", status: 422, field: "reason"},
		{name: "kill Reason", method: "POST", path: publishedPath + "/kill", token: editor, body: `{"Reason":"x"}`, status: 400, detail: `"Reason"`},
		{name: "spike reason with a zero width space", method: "POST", path: draftPath + "/spike", token: reporter, body: `{"reason":"x\u200b"}`, status: 422, field: "reason"},

		// Revisions.
		{name: "revise malformed", method: "PATCH", path: draftPath, token: reporter, body: `{"summary":`, headers: ifMatch1, status: 400},
		{name: "revise unknown field", method: "PATCH", path: draftPath, token: reporter, body: `{"version":9}`, headers: ifMatch1, status: 400, detail: "version"},
		{name: "revise headline as number", method: "PATCH", path: draftPath, token: reporter, body: `{"headline":42}`, headers: ifMatch1, status: 400, detail: "headline"},
		{name: "revise tags as string", method: "PATCH", path: draftPath, token: reporter, body: `{"tags":"nato"}`, headers: ifMatch1, status: 400, detail: "tags"},
		{name: "revise tags with a number", method: "PATCH", path: draftPath, token: reporter, body: `{"tags":["nato",1]}`, headers: ifMatch1, status: 400, detail: "tags"},
		{name: "revise empty headline", method: "PATCH", path: draftPath, token: reporter, body: `{"headline":""}`, headers: ifMatch1, status: 422, field: "headline"},
		{name: "revise 10,000-character headline", method: "PATCH", path: draftPath, token: reporter, body: `{"headline":"` + long + `"}`, headers: ifMatch1, status: 422, field: "headline"},
		{name: "revise bad language", method: "PATCH", path: draftPath, token: reporter, body: `{"language":"en_US"}`, headers: ifMatch1, status: 422, field: "language"},
		{name: "revise field twice", method: "PATCH", path: draftPath, token: reporter, body: `{"summary":"x","summary":"y"}`, headers: ifMatch1, status: 400, detail: `"summary"`},
		{name: "revise lone surrogate", method: "PATCH", path: draftPath, token: reporter, body: `{"byline":"\ud800"}`, headers: ifMatch1, status: 422, field: "byline"},
		{name: "revise nothing", method: "PATCH", path: draftPath, token: reporter, body: `{}`, headers: ifMatch1, status: 422},
		{name: "revise JSON null", method: "PATCH", path: draftPath, token: reporter, body: `null`, headers: ifMatch1, status: 400, detail: "object"},
		{name: "revise top-level array", method: "PATCH", path: draftPath, token: reporter, body: `[{"summary":"x"}]`, headers: ifMatch1, status: 400, detail: "object"},
		// Entity tags that are valid but name no version never match.
		{name: "revise If-Match zero", method: "PATCH", path: draftPath, token: reporter, body: `{"summary":"x"}`, headers: []string{"If-Match", `"0"`}, status: 412},
		{name: "revise If-Match negative", method: "PATCH", path: draftPath, token: reporter, body: `{"summary":"x"}`, headers: []string{"If-Match", `"-1"`}, status: 412},
		{name: "revise If-Match huge", method: "PATCH", path: draftPath, token: reporter, body: `{"summary":"x"}`, headers: []string{"If-Match", `"99999999999999999999"`}, status: 412},
		{name: "revise If-Match unquoted", method: "PATCH", path: draftPath, token: reporter, body: `{"summary":"x"}`, headers: []string{"If-Match", `1`}, status: 400, detail: "If-Match"},
		{name: "revise If-Match stale", method: "PATCH", path: draftPath, token: reporter, body: `{"summary":"x"}`, headers: []string{"If-Match", `"2"`}, status: 412},

		// Bodies over the limit, with and without a length.
		{name: "draft under 1 MiB but over 10^6 bytes", method: "POST", path: api, token: reporter, body: `{"headline":"x","body":"` + strings.Repeat("a", 1_040_000) + `"}`, status: 422, field: "body"},
		{name: "draft over the limit", method: "POST", path: api, token: reporter, body: overLimit(), status: 413, detail: "1 MiB"},
		{name: "draft over the limit chunked", method: "POST", path: api, token: reporter, body: unsized{strings.NewReader(overLimit())}, status: 413, detail: "1 MiB"},
		{name: "revise over the limit", method: "PATCH", path: draftPath, token: reporter, body: overLimit(), headers: ifMatch1, status: 413, detail: "1 MiB"},
		{name: "revise over the limit chunked", method: "PATCH", path: draftPath, token: reporter, body: unsized{strings.NewReader(overLimit())}, headers: ifMatch1, status: 413, detail: "1 MiB"},
		{name: "correct over the limit chunked", method: "POST", path: publishedPath + "/correct", token: editor, body: unsized{strings.NewReader(overLimit())}, status: 413, detail: "1 MiB"},
		{name: "spike over the limit chunked", method: "POST", path: draftPath + "/spike", token: reporter, body: unsized{strings.NewReader(overLimit())}, status: 413, detail: "1 MiB"},
	}
	// Invalid language tags.
	for _, tag := range []string{"english!", "en_US", "e", "toolongtag", "12", "en-", "-en", "en--gb", "en gb", "<script>", "en-GB-", "x"} {
		body, _ := json.Marshal(map[string]string{"headline": "x", "language": tag})
		tests = append(tests, hostileCase{name: "language " + tag, method: "POST", path: api, token: reporter, body: string(body), status: 422, field: "language"})
	}
	// Paging out of range, on both listings.
	for _, list := range []struct{ path, token string }{{api, reporter}, {"/public/v1/articles", ""}} {
		for _, q := range []string{"page=-1", "page=0", "page=99999999999999999999", "page=1000001", "page=1.5", "page=", "per_page=-5", "per_page=0",
			"per_page=101", "per_page=99999999999999999999", "per_page=ten", "page=1&per_page=0x10"} {
			if strings.HasSuffix(q, "=") {
				continue // an empty parameter means the default
			}
			tests = append(tests, hostileCase{name: "paging " + list.path + "?" + q, method: "GET", path: list.path + "?" + q, token: list.token,
				status: 400, detail: strings.SplitN(strings.TrimPrefix(q, "page=1&"), "=", 2)[0]})
		}
	}
	// Ids that are not ids, on every endpoint that takes one.
	for _, id := range []string{"not-a-uuid", strings.ToUpper(draft.id), "..", "*", ">", "%2A", "a.b", "newsroom.article.%3E", draft.id + "0",
		"{" + draft.id + "}", "urn:uuid:" + draft.id, strings.ReplaceAll(draft.id, "-", ""), "%20" + draft.id} {
		p := api + "/" + id
		for _, c := range []struct{ method, path, token, body string }{
			{"GET", p, reporter, ""},
			{"GET", p + "/history", reporter, ""},
			{"PATCH", p, reporter, `{"summary":"x"}`},
			{"POST", p + "/submit", reporter, ""},
			{"POST", p + "/request-changes", editor, `{"comment":"x"}`},
			{"POST", p + "/approve", editor, ""},
			{"POST", p + "/publish", editor, ""},
			{"POST", p + "/correct", editor, `{"note":"x","summary":"y"}`},
			{"POST", p + "/correct/confirm", editor, ""},
			{"POST", p + "/correct/withdraw", editor, ""},
			{"POST", p + "/retract", editor, `{"reason":"x"}`},
			{"POST", p + "/kill", editor, `{"reason":"x"}`},
			{"POST", p + "/spike", editor, ""},
		} {
			hc := hostileCase{name: "id " + id + " " + c.method + " " + strings.TrimPrefix(c.path, p), method: c.method, path: c.path, token: c.token, status: 404, detail: "no article"}
			if c.body != "" {
				hc.body = c.body
			}
			if c.method == "PATCH" {
				hc.headers = ifMatch1
			}
			tests = append(tests, hc)
		}
	}
	// Idempotency keys the API does not take.
	// (Surrounding spaces cannot be tried: HTTP strips them from every header value.)
	for _, key := range []string{strings.Repeat("k", 256), strings.Repeat("é", 200)} {
		tests = append(tests, hostileCase{name: fmt.Sprintf("Idempotency-Key %.10q", key), method: "POST", path: api, token: reporter,
			body: `{"headline":"x"}`, headers: []string{"Idempotency-Key", key}, status: 400, detail: "Idempotency-Key"})
	}

	before := streamMessages(t, ta.natsURL)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.bug != "" && os.Getenv("HOSTILE_BUGS") == "" {
				t.Skip("BUG: " + tt.bug)
			}
			var body io.Reader
			switch b := tt.body.(type) {
			case string:
				body = strings.NewReader(b)
			case io.Reader:
				body = b
			}
			r := sendBody(t, tt.method, ta.base+tt.path, tt.token, body, tt.headers...)
			p := hostileProblem(t, r, tt.status, tt.method+" "+tt.path)
			if detail, _ := p["detail"].(string); !strings.Contains(detail, tt.detail) {
				t.Errorf("detail = %q; want it to mention %q", detail, tt.detail)
			}
			if tt.status == 422 {
				fields := problemFields(p)
				if len(fields) == 0 {
					t.Errorf("422 problem has no errors: %s", r.body)
				}
				if tt.field != "" && !slices.Contains(fields, tt.field) {
					t.Errorf("422 problem names fields %q; want %q among them", fields, tt.field)
				}
			}
		})
	}
	if after := streamMessages(t, ta.natsURL); after != before {
		t.Errorf("the log went from %d to %d events over %d hostile requests; want nothing appended", before, after, len(tests))
	}
	// The articles the hostile requests aimed at are as they were.
	for _, a := range []hostileArticle{draft, review, published} {
		r := call(t, "GET", ta.base+api+"/"+a.id, reporter, nil)
		expectStatus(t, r, 200, "get "+a.id)
		if got := r.header.Get("ETag"); got != hostileETag(a.version) {
			t.Errorf("article %s is at ETag %s after the hostile requests; want %s", a.id, got, hostileETag(a.version))
		}
	}

	t.Run("markup in Markdown is sanitised", func(t *testing.T) {
		payload := strings.Join([]string{
			"Ministers met.",
			"<script>alert(1)</script>",
			"<img src=x onerror=alert(1)>",
			"[x](javascript:alert(1))",
			"<iframe src=\"https://evil.example/\"></iframe>",
			"[upper](JaVaScRiPt:alert(1))",
			"[spaced](  javascript:alert(1) )",
			"[entity](&#106;avascript:alert(1))",
			"![image](javascript:alert(1))",
			"[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
			"<a href=\"javascript:alert(1)\">raw link</a>",
			"<svg onload=alert(1)>",
			"<div onmouseover=\"alert(1)\">hover</div>",
			"<object data=\"x\"></object><embed src=\"x\"><style>body{}</style><form action=\"x\"><input></form>",
			"<scr<script>ipt>alert(1)</script>",
			"```html\n<script>alert(1)</script>\n```",
		}, "\n\n")
		r := call(t, "POST", ta.base+api, reporter, map[string]any{"headline": "Script kiddies meet", "body": payload})
		expectStatus(t, r, 201, "draft with markup")
		id := r.json(t)["id"].(string)
		expectStatus(t, call(t, "POST", ta.base+api+"/"+id+"/submit", reporter, nil), 200, "submit")
		expectStatus(t, call(t, "POST", ta.base+api+"/"+id+"/approve", editor, nil), 200, "approve")
		r = call(t, "POST", ta.base+api+"/"+id+"/publish", editor, nil)
		expectStatus(t, r, 200, "publish")
		slug := r.json(t)["slug"].(string)
		// publicHTML waits until the public article's body_html holds marker, and returns it.
		publicHTML := func(marker string) string {
			t.Helper()
			var bodyHTML string
			eventually(t, "the article with markup on the public API", func() bool {
				r := call(t, "GET", ta.base+"/public/v1/articles/"+slug, "", nil)
				if r.status == 200 {
					bodyHTML, _ = r.json(t)["body_html"].(string)
				}
				return strings.Contains(bodyHTML, marker)
			})
			return bodyHTML
		}
		checkSafe := func(bodyHTML string) {
			t.Helper()
			lower := strings.ToLower(bodyHTML)
			for _, bad := range []string{"<script", "onerror", "javascript:", "<iframe", "onload", "onmouseover", "<svg", "<object", "<embed", "<style", "<form", "data:text/html"} {
				if strings.Contains(lower, bad) {
					t.Errorf("public body_html contains %q:\n%s", bad, bodyHTML)
				}
			}
			// What an attribute holds, with entities decoded, must not be a script URL either.
			for _, m := range regexp.MustCompile(`(?i)\b(href|src)\s*=\s*"([^"]*)"`).FindAllStringSubmatch(bodyHTML, -1) {
				v := strings.ToLower(strings.TrimSpace(html.UnescapeString(m[2])))
				if strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "data:") || strings.HasPrefix(v, "vbscript:") {
					t.Errorf("public body_html has %s=%q", m[1], m[2])
				}
			}
		}
		checkSafe(publicHTML("Ministers met."))

		// A correction is rendered again, and sanitised again.
		corrected := "Corrected text.\n\n" + strings.ReplaceAll(payload, "alert(1)", "alert(2)")
		r = call(t, "POST", ta.base+api+"/"+id+"/correct", editor, map[string]any{"note": "<script>alert(3)</script>", "body": corrected})
		expectStatus(t, r, 202, "correct with markup")
		expectStatus(t, call(t, "POST", ta.base+api+"/"+id+"/correct/confirm", setup, nil), 200, "confirm the correction with markup")
		checkSafe(publicHTML("Corrected text."))
	})
}

// TestHostileIdempotencyKey retries drafts with the same key: one article per user and key.
func TestHostileIdempotencyKey(t *testing.T) {
	dir := t.TempDir()
	reporter := createToken(t, dir, "rita", "reporter")
	other := createToken(t, dir, "rob", "reporter")
	ta := startTestApp(t, dir)
	api := ta.base + "/api/v1/articles"
	draft := func(token, key, headline string) response {
		t.Helper()
		return call(t, "POST", api, token, map[string]any{"headline": headline, "body": "Text."}, "Idempotency-Key", key)
	}

	before := streamMessages(t, ta.natsURL)
	first := draft(reporter, "retry-1", "Ministers meet")
	expectStatus(t, first, 201, "first draft with a key")
	id := first.json(t)["id"].(string)
	again := draft(reporter, "retry-1", "Ministers meet")
	expectStatus(t, again, 201, "the same draft again")
	if got := again.json(t)["id"]; got != id {
		t.Errorf("a retry with the same key made article %v; want %s", got, id)
	}
	if loc := again.header.Get("Location"); loc != "/api/v1/articles/"+id {
		t.Errorf("retry Location = %q; want /api/v1/articles/%s", loc, id)
	}
	if n := streamMessages(t, ta.natsURL); n != before+1 {
		t.Errorf("the log grew by %d events over a draft and its retry; want 1", n-before)
	}

	// A retry with another body still names the first article, as it is.
	changed := draft(reporter, "retry-1", "Something else")
	expectStatus(t, changed, 201, "the same key with another body")
	if got := changed.json(t); got["id"] != id || got["headline"] != "Ministers meet" {
		t.Errorf("the same key with another body answered %v; want article %s as first drafted", got, id)
	}

	// Another user's key is their own.
	theirs := draft(other, "retry-1", "Ministers meet")
	expectStatus(t, theirs, 201, "another user, the same key")
	if got := theirs.json(t)["id"]; got == id {
		t.Errorf("another user with the same key got article %v, the first user's", got)
	}
	if n := streamMessages(t, ta.natsURL); n != before+2 {
		t.Errorf("the log grew by %d events; want 2 (one per user)", n-before)
	}

	// A refused draft does not use up its key.
	expectStatus(t, draft(reporter, "retry-2", " "), 422, "a refused draft with a key")
	retried := draft(reporter, "retry-2", "Fixed headline")
	expectStatus(t, retried, 201, "the corrected draft with the same key")
	if got := retried.json(t)["headline"]; got != "Fixed headline" {
		t.Errorf("after a refused draft, the same key made %v; want the corrected draft", got)
	}

	// Retries racing each other make one article.
	mark := streamMessages(t, ta.natsURL)
	const racers = 8
	type result struct {
		status int
		id     string
		err    error
	}
	results := make([]result, racers)
	client := checkedClient(t)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := nethttp.NewRequest("POST", api, strings.NewReader(`{"headline":"Race","body":"Text."}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+reporter)
			req.Header.Set("Idempotency-Key", "race")
			resp, err := client.Do(req)
			if err != nil {
				results[i].err = err
				return
			}
			defer resp.Body.Close()
			var a struct{ ID string }
			results[i].status, results[i].err = resp.StatusCode, json.NewDecoder(resp.Body).Decode(&a)
			results[i].id = a.ID
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.err != nil || r.status != 201 || r.id != results[0].id {
			t.Errorf("racer %d: status %d, id %q, error %v; want 201 and the id %q every racer gets", i, r.status, r.id, r.err, results[0].id)
		}
	}
	if n := streamMessages(t, ta.natsURL); n != mark+1 {
		t.Errorf("%d racing drafts with one key appended %d events; want 1", racers, n-mark)
	}
}

// hostileApp starts newsroom on SQLite in dir, or on a fresh PostgreSQL schema when dialect is
// "postgres" (skipped unless NEWSROOM_TEST_POSTGRES_URL is set), and returns it with the --db
// argument that reaches the same database.
func hostileApp(t *testing.T, dialect, dir string) (*testApp, []string) {
	t.Helper()
	if dialect == "sqlite" {
		return startTestApp(t, dir), nil
	}
	base := sqldbtest.PostgresServer(t, "the PostgreSQL half")
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("nr_hostile_%d", time.Now().UnixNano())
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ExecContext(t.Context(), fmt.Sprintf(`CREATE SCHEMA %q`, schema)); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), fmt.Sprintf(`DROP SCHEMA %q CASCADE`, schema)); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	dsn := u.String()

	cfg := config{HTTP: "127.0.0.1:0", DataDir: dir, DB: dsn, NATSListen: "127.0.0.1:0", NoSync: true}
	a, err := startApp(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("start newsroom on PostgreSQL: %v", err)
	}
	ta := &testApp{app: a, dataDir: dir, base: "http://" + a.httpAddr}
	t.Cleanup(func() { ta.Close() })
	return ta, []string{"--db", dsn}
}

// TestHostileControlCharacters drafts and publishes an article whose text holds a NUL byte and
// other control characters. The API may refuse it (422, nothing appended); if it accepts it,
// every view must take it, and keep taking what comes after.
func TestHostileControlCharacters(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			dir := t.TempDir()
			ta, db := hostileApp(t, dialect, dir)
			token := func(name, role string) string {
				t.Helper()
				var out, errOut strings.Builder
				args := append([]string{"token", "create", "--data-dir", dir, "--name", name, "--role", role}, db...)
				if err := run(t.Context(), args, &out, &errOut); err != nil {
					t.Fatalf("token create: %v (%s)", err, errOut.String())
				}
				return strings.TrimSpace(out.String())
			}
			reporter, editor := token("rita", "reporter"), token("ed", "editor")
			api := ta.base + "/api/v1/articles"

			before := streamMessages(t, ta.natsURL)
			r := call(t, "POST", api, reporter, map[string]any{
				"headline": "Control\x00 characters\x1b[31m meet", "summary": "Bell\x07 and NUL\x00.",
				"body": "Text with a NUL\x00 byte,\r\na form feed\x0c and U+2028\u2028.", "byline": "Rita\x00",
				"tags": []string{"nul\x00", "esc\x1b"},
			})
			if r.status == 422 {
				hostileProblem(t, r, 422, "draft with control characters")
				if after := streamMessages(t, ta.natsURL); after != before {
					t.Errorf("a refused draft appended %d events", after-before)
				}
				return
			}
			expectStatus(t, r, 201, "draft with control characters")
			id := r.json(t)["id"].(string)
			expectStatus(t, call(t, "POST", api+"/"+id+"/submit", reporter, nil), 200, "submit")
			expectStatus(t, call(t, "POST", api+"/"+id+"/approve", editor, nil), 200, "approve")
			r = call(t, "POST", api+"/"+id+"/publish", editor, nil)
			expectStatus(t, r, 200, "publish")
			slug := r.json(t)["slug"].(string)
			// An ordinary article after it: the views must not be stuck on the one before.
			r = call(t, "POST", api, reporter, map[string]any{"headline": "An ordinary headline", "body": "Text."})
			expectStatus(t, r, 201, "ordinary draft")
			next := r.json(t)["id"].(string)

			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("readyz: %s", call(t, "GET", ta.base+"/readyz", "", nil).body)
				}
			})
			eventually(t, "the article with control characters on the public API", func() bool {
				return call(t, "GET", ta.base+"/public/v1/articles/"+slug, "", nil).status == 200
			})
			eventually(t, "the ordinary draft on the desk", func() bool {
				r := call(t, "GET", api+"?status=draft", editor, nil)
				return r.status == 200 && strings.Contains(string(r.body), next)
			})
			r = call(t, "GET", ta.base+"/readyz", "", nil)
			if strings.Contains(string(r.body), `"down"`) {
				t.Errorf("readyz = %s; want no view down", r.body)
			}
		})
	}
}

// TestHostileRequestIDIsBounded sends a huge X-Request-ID with a tiny draft. The request id
// becomes the event's correlation_id, so unbounded it would let a 20-byte body write a
// megabyte into the log, past every limit the body and the fields have.
func TestHostileRequestIDIsBounded(t *testing.T) {
	const maxCorrelationID = 255
	dir := t.TempDir()
	reporter := createToken(t, dir, "rita", "reporter")
	ta := startTestApp(t, dir)
	before := streamMessages(t, ta.natsURL)
	r := call(t, "POST", ta.base+"/api/v1/articles", reporter, `{"headline":"x"}`, "X-Request-ID", strings.Repeat("r", 900_000))
	if r.status != 201 {
		hostileProblem(t, r, 400, "draft with a huge X-Request-ID")
		if after := streamMessages(t, ta.natsURL); after != before {
			t.Errorf("a refused draft appended %d events", after-before)
		}
		return
	}
	id := r.json(t)["id"].(string)
	nc, err := nats.Connect(ta.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(t.Context(), events.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	m, err := stream.GetLastMsgForSubject(t.Context(), events.Subject(id))
	if err != nil {
		t.Fatal(err)
	}
	env, err := events.Unmarshal(m.Data, m.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(env.CorrelationID); n > maxCorrelationID {
		t.Errorf("the event records a %d-byte correlation id (the event is %d bytes); want at most %d", n, len(m.Data), maxCorrelationID)
	}
	if bytes.Contains(m.Data, []byte(strings.Repeat("r", 1000))) {
		t.Error("the client's X-Request-ID is in the log whole")
	}
}
