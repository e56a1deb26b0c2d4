package main

import (
	nethttp "net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/newsroom/newsroom/embeddednats/natstest"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// deskSession is a signed-in desk: the session cookie and the CSRF token a sign-in gave.
type deskSession struct {
	cookie *nethttp.Cookie
	csrf   string
	signIn map[string]any // the sign-in's answer
}

// sessionSignIn signs in at base with token, as the desk does, and checks the answer.
func sessionSignIn(tb testing.TB, base, token string, headers ...string) deskSession {
	tb.Helper()
	r := call(tb, "POST", base+"/api/v1/session", "", map[string]any{"token": token}, headers...)
	expectStatus(tb, r, 201, "sign in")
	resp := nethttp.Response{Header: r.header}
	var ck *nethttp.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "newsroom_session" {
			ck = c
		}
	}
	if ck == nil || ck.Value == "" {
		tb.Fatalf("sign in set no newsroom_session cookie: %v", r.header.Values("Set-Cookie"))
	}
	body := r.json(tb)
	csrf, _ := body["csrf_token"].(string)
	if csrf == "" {
		tb.Fatalf("sign in answered no csrf_token: %s", r.body)
	}
	return deskSession{cookie: ck, csrf: csrf, signIn: body}
}

// do sends a request with the session cookie and, when withCSRF, the CSRF token; more headers
// come in pairs.
func (b deskSession) do(tb testing.TB, method, url string, body any, withCSRF bool, headers ...string) response {
	tb.Helper()
	headers = append([]string{"Cookie", "newsroom_session=" + b.cookie.Value}, headers...)
	if withCSRF {
		headers = append(headers, "X-CSRF-Token", b.csrf)
	}
	return call(tb, method, url, "", body, headers...)
}

func expectCSRFRefused(tb testing.TB, r response, what string) {
	tb.Helper()
	if r.status != 403 || r.json(tb)["type"] != "/problems/csrf" {
		tb.Errorf("%s: %d %s; want 403 /problems/csrf", what, r.status, r.body)
	}
}

// TestDeskSession: a deskSession signs in with a token, and the session cookie then works on
// /api/v1 as the token would, but changes nothing without the session's CSRF token or from
// another site; signing out ends it.
func TestDeskSession(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	ta := startTestApp(t, dir)
	api := ta.base + "/api/v1"

	// A bad token, or none: 401; the answer sets no cookie.
	for _, bad := range []string{"nr_" + strings.Repeat("A", 43), "", rita + "x"} {
		r := call(t, "POST", api+"/session", "", map[string]any{"token": bad})
		if r.status != 401 || r.json(t)["type"] != "/problems/unauthenticated" || len(r.header.Values("Set-Cookie")) != 0 {
			t.Errorf("sign in with %q: %d %v %s; want 401 without a cookie", bad, r.status, r.header.Values("Set-Cookie"), r.body)
		}
	}
	// Login CSRF: another site may not sign a deskSession in.
	for _, h := range [][]string{{"Origin", "https://evil.example"}, {"Sec-Fetch-Site", "cross-site"}} {
		r := call(t, "POST", api+"/session", "", map[string]any{"token": rita}, h...)
		expectCSRFRefused(t, r, "sign in with "+h[0]+": "+h[1])
		if len(r.header.Values("Set-Cookie")) != 0 {
			t.Errorf("a refused sign-in set a cookie: %v", r.header.Values("Set-Cookie"))
		}
	}

	b := sessionSignIn(t, ta.base, rita, "Origin", ta.base, "Sec-Fetch-Site", "same-origin")
	ck := b.cookie
	if !ck.HttpOnly || ck.SameSite != nethttp.SameSiteStrictMode || ck.Path != "/" || ck.Secure || ck.MaxAge != 12*3600 {
		t.Errorf("cookie = %+v; want HttpOnly, SameSite=Strict, Path=/, not Secure (http), Max-Age 43200", ck)
	}
	if b.signIn["name"] != "rita" || b.signIn["role"] != "reporter" || b.signIn["user_id"] == "" {
		t.Errorf("sign in answered %v; want rita, reporter, her user id", b.signIn)
	}
	if exp := rfc3339(t, "expires_at", b.signIn["expires_at"].(string)); time.Until(exp) < 11*time.Hour || time.Until(exp) > 12*time.Hour {
		t.Errorf("expires_at = %v; want about 12 h from now", b.signIn["expires_at"])
	}

	// Who am I: via the cookie (with the CSRF token for a reload) and via the bearer token.
	me := b.do(t, "GET", api+"/me", nil, false)
	expectStatus(t, me, 200, "me via session")
	if m := me.json(t); m["via"] != "session" || m["name"] != "rita" || m["csrf_token"] != b.csrf || m["user_id"] != b.signIn["user_id"] {
		t.Errorf("me via session = %v", m)
	}
	me = call(t, "GET", api+"/me", ed, nil)
	expectStatus(t, me, 200, "me via token")
	if m := me.json(t); m["via"] != "token" || m["name"] != "ed" || m["role"] != "editor" || m["csrf_token"] != nil {
		t.Errorf("me via token = %v; want ed, via token, no csrf_token", m)
	}
	// A bearer token wins over the cookie.
	me = b.do(t, "GET", api+"/me", nil, false, "Authorization", "Bearer "+ed)
	if m := me.json(t); m["via"] != "token" || m["name"] != "ed" {
		t.Errorf("me with both = %v; want ed via token", m)
	}

	// A draft through the session, with the CSRF token.
	r := b.do(t, "POST", api+"/articles", map[string]any{"headline": "Ministers meet", "body": "Text."}, true)
	expectStatus(t, r, 201, "draft via session")
	id := r.json(t)["id"].(string)
	position := logPosition(t, ta.natsURL)

	// Without the CSRF token, with another, or from another site: refused, nothing recorded.
	patch := map[string]any{"headline": "Forged"}
	expectCSRFRefused(t, b.do(t, "PATCH", api+"/articles/"+id, patch, false, "If-Match", `"1"`), "PATCH without X-CSRF-Token")
	expectCSRFRefused(t, b.do(t, "PATCH", api+"/articles/"+id, patch, false, "If-Match", `"1"`, "X-CSRF-Token", "x"+b.csrf[1:]), "PATCH with a wrong X-CSRF-Token")
	expectCSRFRefused(t, b.do(t, "PATCH", api+"/articles/"+id, patch, false, "If-Match", `"1"`, "X-CSRF-Token", ""), "PATCH with an empty X-CSRF-Token")
	expectCSRFRefused(t, b.do(t, "POST", api+"/articles/"+id+"/submit", nil, false), "body-less submit without X-CSRF-Token")
	expectCSRFRefused(t, b.do(t, "POST", api+"/articles/"+id+"/submit", nil, true, "Origin", "https://evil.example"), "submit from another Origin")
	expectCSRFRefused(t, b.do(t, "POST", api+"/articles/"+id+"/submit", nil, true, "Origin", "null"), "submit from Origin null")
	expectCSRFRefused(t, b.do(t, "POST", api+"/articles/"+id+"/submit", nil, true, "Sec-Fetch-Site", "cross-site"), "submit with Sec-Fetch-Site cross-site")
	expectCSRFRefused(t, b.do(t, "POST", api+"/articles", map[string]any{"headline": "Forged"}, false), "draft without X-CSRF-Token")
	expectCSRFRefused(t, b.do(t, "POST", api+"/preview", map[string]any{"body": "x"}, false), "preview without X-CSRF-Token")
	if got := logPosition(t, ta.natsURL); got != position {
		t.Errorf("log position %d after refused requests; want %d: nothing recorded", got, position)
	}
	got := call(t, "GET", api+"/articles/"+id, rita, nil)
	if a := got.json(t); a["version"] != 1.0 || a["headline"] != "Ministers meet" || a["status"] != "draft" {
		t.Errorf("after refused requests the article is %v; want version 1, unchanged, draft", a)
	}

	// With the token, from this site (its Origin), the same requests pass.
	r = b.do(t, "PATCH", api+"/articles/"+id, map[string]any{"summary": "Allies meet"}, true, "If-Match", `"1"`, "Origin", ta.base, "Sec-Fetch-Site", "same-origin")
	expectStatus(t, r, 200, "PATCH with X-CSRF-Token")
	r = b.do(t, "POST", api+"/articles/"+id+"/submit", nil, true)
	expectStatus(t, r, 200, "body-less submit with X-CSRF-Token")
	if a := r.json(t); a["status"] != "in_review" || a["version"] != 3.0 {
		t.Errorf("submit answered %v; want in_review, version 3", a)
	}
	// The session acts as its user: the four-eyes rule sees rita, who may not approve.
	r = b.do(t, "POST", api+"/articles/"+id+"/approve", nil, true)
	if r.status != 403 || r.json(t)["type"] != "/problems/forbidden" {
		t.Errorf("approve by rita's session: %d %s; want 403 forbidden", r.status, r.body)
	}
	// Reads need no CSRF token.
	expectStatus(t, b.do(t, "GET", api+"/articles/"+id+"/history", nil, false), 200, "history via session")

	// Sign out: the cookie is cleared, and the session no longer works on any request.
	expectCSRFRefused(t, b.do(t, "DELETE", api+"/session", nil, false), "sign out without X-CSRF-Token")
	r = b.do(t, "DELETE", api+"/session", nil, true)
	expectStatus(t, r, 204, "sign out")
	cleared := (&nethttp.Response{Header: r.header}).Cookies()
	if len(cleared) != 1 || cleared[0].Name != "newsroom_session" || cleared[0].MaxAge >= 0 || cleared[0].Value != "" {
		t.Errorf("sign out set cookies %v; want newsroom_session cleared", r.header.Values("Set-Cookie"))
	}
	r = b.do(t, "GET", api+"/me", nil, false)
	if r.status != 401 || r.json(t)["type"] != "/problems/unauthenticated" {
		t.Errorf("me after sign out: %d %s; want 401", r.status, r.body)
	}
	expectStatus(t, b.do(t, "DELETE", api+"/session", nil, false), 204, "sign out again (the session is gone)")
	// The token itself still works.
	expectStatus(t, call(t, "GET", api+"/me", rita, nil), 200, "me by the token after sign out")
}

// TestDeskSessionSecureCookie: under an https public URL the cookie is Secure, and that URL's
// origin is this server's.
func TestDeskSessionSecureCookie(t *testing.T) {
	dir := t.TempDir()
	ed := createToken(t, dir, "ed", "editor")
	ta := startTestAppWith(t, config{HTTP: "127.0.0.1:0", DataDir: dir, NATSListen: "127.0.0.1:0", NoSync: true,
		PublicURL: "https://news.example.org"})
	b := sessionSignIn(t, ta.base, ed, "Origin", "https://news.example.org")
	if !b.cookie.Secure || !b.cookie.HttpOnly || b.cookie.SameSite != nethttp.SameSiteStrictMode {
		t.Errorf("cookie = %+v; want Secure, HttpOnly, SameSite=Strict", b.cookie)
	}
	r := b.do(t, "POST", ta.base+"/api/v1/preview", map[string]any{"body": "*x*"}, true, "Origin", "https://news.example.org")
	expectStatus(t, r, 200, "preview from the public URL's origin")
	expectCSRFRefused(t, b.do(t, "POST", ta.base+"/api/v1/preview", map[string]any{"body": "*x*"}, true, "Origin", "http://news.example.org"),
		"preview from the public URL's host over http")
}

// TestDeskSessionEndsWithItsToken: revoking the token (by `newsroom token revoke`, another
// process) ends the sessions made from it at once, and revoking the user ends them too.
func TestDeskSessionEndsWithItsToken(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	ta := startTestApp(t, dir)
	b := sessionSignIn(t, ta.base, rita, "Sec-Fetch-Site", "same-origin")
	e := sessionSignIn(t, ta.base, ed)
	expectStatus(t, b.do(t, "GET", ta.base+"/api/v1/me", nil, false), 200, "me before revoking")

	revoke := func(what string) {
		t.Helper()
		if _, errOut, err := runToken(t, dir, "revoke", what); err != nil {
			t.Fatalf("token revoke %s: %v (%s)", what, err, errOut)
		}
	}
	var tokenID string
	for _, row := range tokenTable(t, mustList(t, dir))[1:] {
		if row[0] == "rita" {
			tokenID = row[2]
		}
	}
	revoke(tokenID)
	r := b.do(t, "GET", ta.base+"/api/v1/me", nil, false)
	if r.status != 401 {
		t.Errorf("me after the token was revoked: %d %s; want 401 at once", r.status, r.body)
	}
	if ck := (&nethttp.Response{Header: r.header}).Cookies(); len(ck) != 1 || ck[0].MaxAge >= 0 {
		t.Errorf("the refusal set cookies %v; want the session cookie cleared", r.header.Values("Set-Cookie"))
	}

	revoke("ed") // every token of the user
	if r := e.do(t, "POST", ta.base+"/api/v1/preview", map[string]any{"body": "x"}, true); r.status != 401 {
		t.Errorf("preview after the user was revoked: %d %s; want 401", r.status, r.body)
	}
}

// TestDeskSessionExpires: a session is refused once --session-ttl has passed, and its cookie
// says as much.
func TestDeskSessionExpires(t *testing.T) {
	dir := t.TempDir()
	ed := createToken(t, dir, "ed", "editor")
	ta := startTestAppWith(t, config{HTTP: "127.0.0.1:0", DataDir: dir, NATSListen: "127.0.0.1:0", NoSync: true, SessionTTL: 2 * time.Second})
	b := sessionSignIn(t, ta.base, ed)
	if b.cookie.MaxAge != 2 {
		t.Errorf("cookie Max-Age = %d; want 2 (the TTL)", b.cookie.MaxAge)
	}
	expectStatus(t, b.do(t, "GET", ta.base+"/api/v1/me", nil, false), 200, "me while the session lasts")
	exp := rfc3339(t, "expires_at", b.signIn["expires_at"].(string))
	eventually(t, "the session to expire", func() bool {
		return b.do(t, "GET", ta.base+"/api/v1/me", nil, false).status == 401
	})
	if now := time.Now(); now.Before(exp) {
		t.Errorf("refused at %v, before it expires at %v", now, exp)
	}
	expectStatus(t, call(t, "GET", ta.base+"/api/v1/me", ed, nil), 200, "the token after its session expired")
}

// TestDeskSessionAcrossInstancesOnPostgreSQL: a session made on one instance is accepted by
// another sharing the database, and signing out on one ends it on both.
func TestDeskSessionAcrossInstancesOnPostgreSQL(t *testing.T) {
	dsn := sqldbtest.PostgresURL(t)
	ns := natstest.Start(t)
	rita := createTokenIn(t, dsn, "rita", "reporter")
	start := func() *testApp {
		return startTestAppWith(t, config{HTTP: "127.0.0.1:0", DataDir: t.TempDir(), DB: dsn, NATSURL: ns.ClientURL()})
	}
	a, b := start(), start()
	br := sessionSignIn(t, a.base, rita)
	me := br.do(t, "GET", b.base+"/api/v1/me", nil, false)
	expectStatus(t, me, 200, "me on instance B")
	if m := me.json(t); m["via"] != "session" || m["name"] != "rita" || m["csrf_token"] != br.csrf {
		t.Errorf("me on B = %v; want rita's session with its CSRF token", m)
	}
	expectCSRFRefused(t, br.do(t, "POST", b.base+"/api/v1/articles", map[string]any{"headline": "On B"}, false), "draft on B without X-CSRF-Token")
	r := br.do(t, "POST", b.base+"/api/v1/articles", map[string]any{"headline": "On B"}, true)
	expectStatus(t, r, 201, "draft on B with X-CSRF-Token")

	expectStatus(t, br.do(t, "DELETE", b.base+"/api/v1/session", nil, true), 204, "sign out on B")
	if r := br.do(t, "GET", a.base+"/api/v1/me", nil, false); r.status != 401 {
		t.Errorf("me on A after signing out on B: %d %s; want 401", r.status, r.body)
	}
}

// TestPreview: the preview renders Markdown through the published view's sanitiser, for any
// role, by token or session, and holds the body to a draft body's limit.
func TestPreview(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ta := startTestApp(t, dir)
	api := ta.base + "/api/v1"
	body := "# Summit\n\nAllies **meet** <script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>\n"
	r := call(t, "POST", api+"/preview", rita, map[string]any{"body": body})
	expectStatus(t, r, 200, "preview by token")
	html, _ := r.json(t)["body_html"].(string)
	if !strings.Contains(html, "<h1") || !strings.Contains(html, "<strong>meet</strong>") {
		t.Errorf("body_html = %q; want the heading and the strong text", html)
	}
	// Tags go; their text may stay, as text.
	for _, bad := range []string{"<script", "javascript:", "onerror", "<img"} {
		if strings.Contains(html, bad) {
			t.Errorf("body_html = %q; holds %q", html, bad)
		}
	}
	b := sessionSignIn(t, ta.base, rita)
	r = b.do(t, "POST", api+"/preview", map[string]any{"body": body}, true)
	expectStatus(t, r, 200, "preview by session")
	if got, _ := r.json(t)["body_html"].(string); got != html {
		t.Errorf("preview by session = %q; want what the token got, %q", got, html)
	}

	// The published article's body_html is what the preview showed.
	ed := createToken(t, dir, "ed", "editor")
	_, slug := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "Summit", "body": body})
	var pub response
	eventually(t, "the article to be public", func() bool {
		pub = call(t, "GET", ta.base+"/public/v1/articles/"+slug, "", nil)
		return pub.status == 200
	})
	if got, _ := pub.json(t)["body_html"].(string); got != html {
		t.Errorf("published body_html = %q; want the preview's %q", got, html)
	}

	r = call(t, "POST", api+"/preview", rita, map[string]any{"body": strings.Repeat("a", 200_001)})
	if r.status != 422 || r.json(t)["type"] != "/problems/invalid-article" {
		t.Errorf("preview of 200,001 bytes: %d %s; want 422 invalid-article", r.status, r.body)
	}
	expectStatus(t, call(t, "POST", api+"/preview", rita, map[string]any{"body": strings.Repeat("a", 200_000)}), 200, "preview of 200,000 bytes")
	if r := call(t, "POST", api+"/preview", "", map[string]any{"body": "x"}); r.status != 401 {
		t.Errorf("preview without credentials: %d; want 401", r.status)
	}
	if r := call(t, "POST", api+"/preview", rita, map[string]any{"body": "x", "headline": "y"}); r.status != 400 {
		t.Errorf("preview with an unknown field: %d; want 400", r.status)
	}
}

// TestFailedSignInsAreThrottled: past the limit of failed sign-ins and wrong bearer tokens, the
// client's address is answered 429 with Retry-After, whatever it sends as X-Forwarded-For (no
// proxy is trusted by default), and a right token with it too (answering it would tell a
// guesser it found one); successes before do not count, and a desk already signed in keeps
// working.
func TestFailedSignInsAreThrottled(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ta := startTestAppWith(t, config{HTTP: "127.0.0.1:0", DataDir: dir, NATSListen: "127.0.0.1:0", NoSync: true, FailureLimit: 3})
	desk := sessionSignIn(t, ta.base, rita)
	for range 5 { // successes: not counted
		expectStatus(t, call(t, "GET", ta.base+"/api/v1/me", rita, nil), 200, "GET /api/v1/me with the right token")
	}
	expectStatus(t, call(t, "POST", ta.base+"/api/v1/session", "", map[string]any{"token": "wrong"}), 401, "sign in with a wrong token")
	for i := range 2 {
		// Each from "another" address, as a client may claim.
		r := call(t, "GET", ta.base+"/api/v1/me", "wrong-"+strconv.Itoa(i), nil, "X-Forwarded-For", "198.51.100."+strconv.Itoa(i))
		expectStatus(t, r, 401, "a wrong bearer token")
	}
	// A right token never confirmed before is refused as a guess would be: a guesser learns
	// nothing from the answer.
	eva := createToken(t, dir, "eva", "editor")
	for _, r := range []response{
		call(t, "GET", ta.base+"/api/v1/me", "wrong-again", nil),
		call(t, "GET", ta.base+"/api/v1/me", eva, nil, "X-Forwarded-For", "198.51.100.99"),
		call(t, "POST", ta.base+"/api/v1/session", "", map[string]any{"token": eva}),
	} {
		retry, err := strconv.Atoi(r.header.Get("Retry-After"))
		if r.status != 429 || r.json(t)["type"] != "/problems/too-many-failures" || err != nil || retry < 1 || retry > 60 {
			t.Errorf("after 3 failures: %d, Retry-After %q, %s; want 429 too-many-failures, Retry-After within the minute", r.status, r.header.Get("Retry-After"), r.body)
		}
	}
	// Clients whose tokens were confirmed before keep working from the throttled address (an
	// office behind one NAT): the bearer token, a new sign-in with it, the desk's cookie.
	expectStatus(t, call(t, "GET", ta.base+"/api/v1/me", rita, nil), 200, "a token confirmed before, from the throttled address")
	expectStatus(t, call(t, "POST", ta.base+"/api/v1/session", "", map[string]any{"token": rita}), 201, "signing in with a token confirmed before")
	expectStatus(t, desk.do(t, "GET", ta.base+"/api/v1/me", nil, false), 200, "the desk's session cookie while the address is throttled")
}
