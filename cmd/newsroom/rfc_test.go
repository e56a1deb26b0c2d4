package main

import (
	"bufio"
	"io"
	"net"
	nethttp "net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
)

// rawSafetyNet bounds a raw exchange only so that a broken server cannot hang the test; no
// assertion depends on it.
const rawSafetyNet = 30 * time.Second

// sendWithHeaderLines is call with a header that may come on several lines.
func sendWithHeaderLines(tb testing.TB, method, url, token, body string, name string, values ...string) response {
	tb.Helper()
	req, err := nethttp.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	for _, v := range values {
		req.Header.Add(name, v)
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

// TestHostileIfMatchIsComparedStrongly: If-Match follows RFC 9110 §13.1.1. A weak tag never
// matches (412); a list matches if any member is the current strong tag; "*" matches any
// article that exists; what is not "*" or a list of entity tags is refused with 400 naming the
// header. Nothing refused appends to the log.
func TestHostileIfMatchIsComparedStrongly(t *testing.T) {
	dir := t.TempDir()
	reporter := createToken(t, dir, "rita", "reporter")
	editor := createToken(t, dir, "ed", "editor")
	ta := startTestApp(t, dir)
	a := hostilePrepare(t, ta.base, reporter, editor, domain.StatusDraft, "If-Match by the book")
	path := ta.base + "/api/v1/articles/" + a.id
	const body = `{"summary":"Revised."}`

	refused := []struct {
		name   string
		values []string
		status int
	}{
		{"weak tag of the current version", []string{`W/"1"`}, 412},
		{"weak tag in a list", []string{`W/"1", "7"`}, 412},
		{"lower-case weak prefix", []string{`w/"1"`}, 400},
		{"another version", []string{`"2"`}, 412},
		{"leading zero", []string{`"01"`}, 412},
		{"version zero", []string{`"0"`}, 412},
		{"negative", []string{`"-1"`}, 412},
		{"huge", []string{`"99999999999999999999"`}, 412},
		{"a tag this API never sends", []string{`"abc"`}, 412},
		{"empty tag", []string{`""`}, 412},
		{"closing quote only", []string{`1"`}, 400},
		{"doubled quotes", []string{`""1""`}, 400},
		{"opening quote only", []string{`"1`}, 400},
		{"unquoted", []string{`1`}, 400},
		{"space inside", []string{`"1 "`}, 400},
		{"star in a list", []string{`*, "1"`}, 400},
		{"star on a second line", []string{`"1"`, `*`}, 400},
		{"no comma between tags", []string{`"7" "1"`}, 400},
		{"garbage after a good list", []string{`"1", x`}, 400},
	}
	before := logPosition(t, ta.natsURL)
	for _, tt := range refused {
		r := sendWithHeaderLines(t, "PATCH", path, reporter, body, "If-Match", tt.values...)
		p := hostileProblem(t, r, tt.status, "If-Match "+strings.Join(tt.values, " | "))
		if detail, _ := p["detail"].(string); tt.status == 400 && !strings.Contains(detail, "If-Match") {
			t.Errorf("If-Match %s: detail %q does not name the header", strings.Join(tt.values, " | "), detail)
		}
	}
	// A workflow step compares the same way.
	r := sendWithHeaderLines(t, "POST", path+"/submit", reporter, "", "If-Match", `W/"1"`)
	hostileProblem(t, r, 412, "submit with a weak If-Match")
	if after := logPosition(t, ta.natsURL); after != before {
		t.Fatalf("refused If-Match requests appended %d events", after-before)
	}

	accepted := []struct {
		name   string
		values []string
	}{
		{"the current tag", []string{`"1"`}},
		{"a list holding the current tag", []string{`"7", W/"2", "2"`}},
		{"a list over two lines", []string{`"9"`, `"8", "3"`}},
		{"a list with empty members", []string{` , "4",, `}},
		{"any version", []string{`*`}},
	}
	for i, tt := range accepted {
		r := sendWithHeaderLines(t, "PATCH", path, reporter, `{"summary":"Revision `+strconv.Itoa(i)+`."}`, "If-Match", tt.values...)
		expectStatus(t, r, 200, "If-Match "+tt.name)
		if got, want := r.header.Get("ETag"), hostileETag(i+2); got != want {
			t.Errorf("If-Match %s: ETag %s; want %s", tt.name, got, want)
		}
	}
	missing := ta.base + "/api/v1/articles/00000000-0000-4000-8000-000000000000"
	hostileProblem(t, sendWithHeaderLines(t, "PATCH", missing, reporter, body, "If-Match", "*"), 404, "If-Match * on no article")
}

// rawResponses writes request on a fresh connection to addr and reads answers until want have
// come or the server closes the connection (closed).
func rawResponses(tb testing.TB, addr, request string, want int) (answers []*nethttp.Response, bodies []string, closed bool) {
	tb.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(rawSafetyNet))
	if _, err := io.WriteString(conn, request); err != nil {
		tb.Fatal(err)
	}
	br := bufio.NewReader(conn)
	for len(answers) < want {
		resp, err := nethttp.ReadResponse(br, nil)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return answers, bodies, true
		}
		if err != nil {
			tb.Fatalf("read answer %d: %v", len(answers)+1, err)
		}
		b, _ := io.ReadAll(resp.Body)
		answers, bodies = append(answers, resp), append(bodies, string(b))
	}
	return answers, bodies, false
}

// TestHostileTransferEncodingWithContentLength: a request with both Transfer-Encoding and
// Content-Length may be a smuggling attempt (RFC 9112 §6.3): it is answered by its chunked
// framing and the connection is closed, so that nothing pipelined after it is read as a request.
// net/http alone answers it and keeps the connection open.
func TestHostileTransferEncodingWithContentLength(t *testing.T) {
	dir := t.TempDir()
	reporter := createToken(t, dir, "rita", "reporter")
	ta := startTestApp(t, dir)
	addr := strings.TrimPrefix(ta.base, "http://")

	const draft = `{"headline":"Smuggled"}`
	for _, order := range []string{"Content-Length first", "Transfer-Encoding first"} {
		framing := "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n"
		if order == "Transfer-Encoding first" {
			framing = "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n"
		}
		request := "POST /api/v1/articles HTTP/1.1\r\nHost: newsroom\r\nAuthorization: Bearer " + reporter + "\r\n" +
			"Content-Type: application/json\r\n" + framing + "\r\n" +
			strconv.FormatInt(int64(len(draft)), 16) + "\r\n" + draft + "\r\n0\r\n\r\n" +
			// What a front end that framed by Content-Length would take for the next request.
			"GET /healthz HTTP/1.1\r\nHost: newsroom\r\n\r\n"
		answers, bodies, closed := rawResponses(t, addr, request, 2)
		if len(answers) == 0 {
			t.Fatalf("%s: no answer", order)
		}
		if s := answers[0].StatusCode; s != 400 && s != 201 {
			t.Errorf("%s: answered %d %s; want 400, or 201 by the chunked framing", order, s, bodies[0])
		}
		if len(answers) > 1 || !closed {
			t.Errorf("%s: the connection stayed open (%d answers); want it closed after the first", order, len(answers))
		}
	}
	// A request framed by Content-Length alone keeps its connection.
	request := "POST /api/v1/articles HTTP/1.1\r\nHost: newsroom\r\nAuthorization: Bearer " + reporter + "\r\n" +
		"Content-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(draft)) + "\r\n\r\n" + draft +
		"GET /healthz HTTP/1.1\r\nHost: newsroom\r\n\r\n"
	if answers, bodies, closed := rawResponses(t, addr, request, 2); len(answers) != 2 || closed || answers[0].StatusCode != 201 {
		t.Errorf("a draft with Content-Length, then a pipelined request: %d answers %v (closed %v); want 201 and 200 on one connection", len(answers), bodies, closed)
	}
	// A chunked upload without Content-Length is still served.
	request = "POST /api/v1/articles HTTP/1.1\r\nHost: newsroom\r\nAuthorization: Bearer " + reporter + "\r\n" +
		"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
		strconv.FormatInt(int64(len(draft)), 16) + "\r\n" + draft + "\r\n0\r\n\r\n"
	answers, bodies, _ := rawResponses(t, addr, request, 1)
	if len(answers) != 1 || answers[0].StatusCode != 201 {
		t.Fatalf("a chunked draft: %d answers %v; want 201", len(answers), bodies)
	}
}

// leaksInternals reports what in a problem's text is for the server's log, not the client.
func leaksInternals(text string) string {
	for _, s := range []string{"127.0.0.1", "tcp", "i/o timeout", "sql:", "database is closed", "->", ".go:", "sqlite", "pgx", "goroutine"} {
		if strings.Contains(strings.ToLower(text), s) {
			return s
		}
	}
	return ""
}

// TestHostileSlowBodyLeaksNothing: a body that does not arrive within the server's read timeout
// gets a problem that says what to do, without the socket's addresses or the read error.
func TestHostileSlowBodyLeaksNothing(t *testing.T) {
	dir := t.TempDir()
	reporter := createToken(t, dir, "rita", "reporter")
	ta := startTestApp(t, dir)
	// The handler serve wires, behind a server with a short read timeout (serve's is 30 s).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &nethttp.Server{Handler: ta.server.Handler, ReadTimeout: 300 * time.Millisecond}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(rawSafetyNet))
	head := "POST /api/v1/articles HTTP/1.1\r\nHost: newsroom\r\nAuthorization: Bearer " + reporter + "\r\n" +
		"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n" + `{"headline":`
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	// The rest of the body never comes; the server gives up on it at its read timeout.
	resp, err := nethttp.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	p := hostileProblem(t, response{status: resp.StatusCode, header: resp.Header, body: body}, 408, "a stalled body")
	if s := leaksInternals(string(body)); s != "" {
		t.Errorf("the problem shows %q to the client: %s", s, body)
	}
	if detail, _ := p["detail"].(string); !strings.Contains(detail, "time") {
		t.Errorf("detail %q does not say the body came too slowly", detail)
	}
}

// TestHostileClosedDatabaseLeaksNothing: with the database gone, a read that needs it answers a
// problem (never an empty 200) that names no driver, file or address; a read served from
// memory may still answer.
func TestHostileClosedDatabaseLeaksNothing(t *testing.T) {
	dir := t.TempDir()
	reporter := createToken(t, dir, "rita", "reporter")
	editor := createToken(t, dir, "ed", "editor")
	admin := createToken(t, dir, "ada", "admin")
	ta := startTestApp(t, dir)
	a := hostilePrepare(t, ta.base, reporter, editor, domain.StatusPublished, "Closed database")
	reads := []struct {
		path, token string
		needsDB     bool // false: the answer may come from memory
	}{
		{"/api/v1/articles", reporter, true},
		{"/api/v1/articles?status=published", reporter, true},
		{"/api/v1/articles/" + a.id + "/history", reporter, true},
		{"/api/v1/webhooks", admin, true},
		{"/api/v1/projections", admin, false},
		{"/public/v1/articles?tag=nato", "", false},
		{"/public/v1/articles/" + a.slug, "", false},
		{"/public/v1/feeds/atom.xml?lang=en", "", false},
		{"/readyz", "", false},
	}
	for _, r := range reads { // every token is known to this process before the database goes
		call(t, "GET", ta.base+r.path, r.token, nil)
	}
	if err := ta.db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, r := range reads {
		got := call(t, "GET", ta.base+r.path, r.token, nil)
		switch {
		case got.status == 200 && !r.needsDB && len(got.body) > 0:
			continue
		case got.status < 500:
			t.Errorf("GET %s with the database closed: %d %q; want a problem (5xx)", r.path, got.status, got.body)
			continue
		}
		p := hostileProblem(t, got, got.status, "GET "+r.path+" with the database closed")
		if s := leaksInternals(string(got.body)); s != "" {
			t.Errorf("GET %s with the database closed: %d shows %q to the client: %v", r.path, got.status, s, p)
		}
	}
}

// TestPublicArticleAlwaysCarriesCorrections: a public article lists its corrections, as an
// empty list when it has none, whether rendered from the view or served from memory.
func TestPublicArticleAlwaysCarriesCorrections(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	ta := startTestApp(t, dir)
	_, slug := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "No corrections yet", "body": "Text."})
	url := ta.base + "/public/v1/articles/" + slug
	eventually(t, "the article on the public API", func() bool { return call(t, "GET", url, "", nil).status == 200 })
	for _, read := range []string{"first read", "second read (from memory)"} {
		a := call(t, "GET", url, "", nil).json(t)
		corrections, present := a["corrections"]
		if list, isList := corrections.([]any); !present || !isList || len(list) != 0 {
			t.Errorf("%s: corrections = %v (present %v); want []", read, corrections, present)
		}
	}
}

// TestReadyzReportsTheDatabasePosition: /readyz reports how far the database holds the views,
// not 0.
func TestReadyzReportsTheDatabasePosition(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ta := startTestApp(t, dir)
	for i := range 3 {
		expectStatus(t, call(t, "POST", ta.base+"/api/v1/articles", rita, map[string]any{"headline": "Article " + strconv.Itoa(i)}), 201, "draft")
	}
	last := float64(logPosition(t, ta.natsURL))
	var report map[string]any
	eventually(t, "every view at the log's position", func() bool {
		report = call(t, "GET", ta.base+"/readyz", "", nil).json(t)
		views, _ := report["views"].(map[string]any)
		for _, v := range views {
			if v.(map[string]any)["position"] != last {
				return false
			}
		}
		return len(views) > 0
	})
	if db := report["database"].(map[string]any); db["status"] != "ok" || db["position"] != last {
		t.Errorf("readyz database = %v; want ok at %v (the views are: %v)", db, last, report["views"])
	}
}
