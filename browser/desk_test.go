package browser

import (
	"fmt"
	nethttp "net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/newsroom/newsroom/internal/browsertest"
)

// signIn opens the desk at fragment (such as "#/articles/ID"; "" for the list) and signs in
// with user's token, as a person pastes it; it returns once the desk shows who is signed in.
func signIn(t *testing.T, p *browsertest.Page, srv *newsroom, user, fragment string) {
	t.Helper()
	p.Navigate(srv.base + "/desk" + fragment)
	p.WaitVisible("#signin")
	p.Fill("#token", srv.tokens[user])
	p.Click("#signin-submit")
	p.WaitText("#whoami", user)
	if p.Visible("#signin") {
		t.Fatalf("the sign-in form is still shown after %s signed in", user)
	}
}

// waitStatus waits until the editor shows the article's status.
func waitStatus(t *testing.T, p *browsertest.Page, status string) {
	t.Helper()
	p.WaitUntil("the editor to show status "+status, fmt.Sprintf(
		`document.querySelector('#status')?.textContent === %q && !document.querySelector('#workflow').hidden`, status))
}

// TestDeskWorkflow is the newsroom's day in a browser: a reporter signs in, drafts and submits
// in the desk, and sees no approve button; an editor signs in, approves and publishes; a reader
// reads the public page, on a phone too. On the way, axe-core checks the desk list, the editor
// and the public page, and screenshots are taken of each.
func TestDeskWorkflow(t *testing.T) {
	b := browsertest.Start(t)
	srv := server(t)
	headline := "Harbour reopens after the storm " + time.Now().Format("150405.000")
	body := "The harbour **reopened** on Tuesday.\n\nShips queued overnight to enter the port."

	// The reporter drafts and submits.
	rita := b.NewPage(t)
	signIn(t, rita, srv, "rita", "")
	rita.WaitVisible("#article-list")
	rita.Click("#new-article")
	rita.WaitVisible("#headline")
	rita.Fill("#headline", headline)
	rita.Fill("#summary", "Ships are moving again.")
	rita.Fill("#body", body)
	rita.Fill("#tags", "harbour, weather")
	rita.Fill("#language", "en")
	rita.Fill("#byline", "Rita Reporter")
	rita.Fill("#dateline", "PORTSMOUTH")
	// The live preview is the server's rendering (POST /api/v1/preview): Markdown made HTML.
	rita.WaitUntil("the preview to render the body's Markdown", `document.querySelector('#preview strong')?.textContent === 'reopened'`)
	rita.Click("#save")
	rita.WaitUntil("the saved draft to open in the editor", `/^#\/articles\/(?!new)[^/?]+$/.test(location.hash)`)
	id := articleIDFromURL(t, rita.URL())
	waitStatus(t, rita, "draft")
	a := srv.article(t, id)
	if a["headline"] != headline || a["body"] != body || a["byline"] != "Rita Reporter" || a["dateline"] != "PORTSMOUTH" || a["language"] != "en" {
		t.Errorf("the draft saved in the desk is %v; want the fields as typed", a)
	}
	if tags := fmt.Sprint(a["tags"]); tags != "[harbour weather]" {
		t.Errorf("tags saved = %s; want [harbour weather]", tags)
	}

	rita.Click(`[data-action="submit"]`)
	waitStatus(t, rita, "in_review")
	if got := srv.article(t, id)["status"]; got != "in_review" {
		t.Errorf("after the desk's submit the API says status %v; want in_review", got)
	}
	// A reporter sees no approve (nor publish) button on an article in review.
	for _, action := range []string{"approve", "publish", "request-changes"} {
		if rita.Exists(fmt.Sprintf(`[data-action=%q]`, action)) {
			t.Errorf("the reporter sees a %s button on an article in review", action)
		}
	}

	// An editor approves and publishes.
	ed := b.NewPage(t)
	signIn(t, ed, srv, "ed", "#/articles/"+id)
	waitStatus(t, ed, "in_review")
	if got := ed.Value("#headline"); got != headline {
		t.Errorf("the editor opened %q; want the reporter's headline %q", got, headline)
	}
	ed.WaitVisible(`[data-action="approve"]`)
	ed.Accessible("the editor")
	ed.Screenshot("workflow-editor")
	ed.Click(`[data-action="approve"]`)
	waitStatus(t, ed, "approved")
	ed.Click(`[data-action="publish"]`)
	waitStatus(t, ed, "published")
	published := srv.article(t, id)
	slug, _ := published["slug"].(string)
	if published["status"] != "published" || slug == "" {
		t.Fatalf("after the desk's publish the API says %v; want published with a slug", published)
	}

	// The desk list shows it.
	ed.Eval(`location.hash = '#/'`, nil)
	ed.WaitVisible(fmt.Sprintf(`#article-list [data-article-id=%q]`, id))
	ed.Accessible("the desk list")
	ed.Screenshot("workflow-list")

	// A reader (no session) reads the public page.
	reader := b.NewPage(t)
	page := srv.base + "/news/" + slug
	waitPublicPage(t, reader, page)
	if got := reader.Text("main article h1"); got != headline {
		t.Errorf("the public page's h1 = %q; want %q", got, headline)
	}
	if got := reader.Text("main article .body"); !strings.Contains(got, "The harbour reopened on Tuesday.") || !strings.Contains(got, "Ships queued overnight") {
		t.Errorf("the public page's body reads %q; want the text as published", got)
	}
	if got := reader.Text("main article .body strong"); got != "reopened" {
		t.Errorf("the public page's <strong> = %q; want the Markdown rendered", got)
	}
	reader.Accessible("the public page")
	reader.Screenshot("workflow-article")
	reader.SetPhone()
	reader.Navigate(page)
	reader.NoHorizontalScroll()
	reader.FullScreenshot("workflow-article-phone")
}

// waitPublicPage loads url until it is served with 200 (the public view follows the log: a page
// published a moment ago may be a 404 for as long).
func waitPublicPage(t *testing.T, p *browsertest.Page, url string) {
	t.Helper()
	deadline := time.Now().Add(browsertest.ActionTimeout)
	for {
		status := p.NavigateStatus(url)
		if status == nethttp.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is served with %d; want 200 once published", url, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func articleIDFromURL(t *testing.T, u string) string {
	t.Helper()
	_, frag, ok := strings.Cut(u, "#/articles/")
	if !ok || frag == "" || frag == "new" {
		t.Fatalf("the desk is at %s; want an article's address", u)
	}
	id, err := url.PathUnescape(frag)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestStaleSaveShowsTheConflict: a reporter edits an article someone else has revised since
// it was opened; the save (412) shows the conflict, and re-applying keeps both changes.
func TestStaleSaveShowsTheConflict(t *testing.T) {
	b := browsertest.Start(t)
	srv := server(t)
	a := srv.draft(t, "rita", map[string]any{"headline": "Council meets on the budget", "body": "The council met."})
	id := a["id"].(string)

	rita := b.NewPage(t)
	signIn(t, rita, srv, "rita", "#/articles/"+id)
	waitStatus(t, rita, "draft")
	if got := rita.Value("#headline"); got != "Council meets on the budget" {
		t.Fatalf("the editor shows headline %q; want the draft's", got)
	}

	// Meanwhile, another client revises the headline.
	serverHeadline := "Council agrees on the budget"
	srv.must(t, nethttp.StatusOK, "PATCH", "/api/v1/articles/"+id, "rita", map[string]any{"headline": serverHeadline},
		"If-Match", fmt.Sprintf(`"%v"`, a["version"]))

	myBody := "The council met on Monday and agreed the budget."
	rita.Fill("#body", myBody)
	rita.Click("#save")
	rita.WaitVisible("#conflict")
	rows := rita.Text("#conflict-rows")
	if !strings.Contains(rows, "Headline") || !strings.Contains(rows, "agrees") || !strings.Contains(rows, "Body") || !strings.Contains(rows, "Monday") {
		t.Errorf("the conflict shows %q; want the server's headline change and my body edit", rows)
	}
	if !rita.Visible("#problem") {
		t.Error("a stale save shows no problem (#problem hidden)")
	}
	if got := srv.article(t, id)["body"]; got != "The council met." {
		t.Errorf("after the stale save the body is %q; want it unchanged (412)", got)
	}
	rita.Screenshot("conflict")

	rita.Click("#reapply")
	rita.WaitHidden("#conflict")
	now := srv.article(t, id)
	if now["headline"] != serverHeadline || now["body"] != myBody {
		t.Errorf("after re-applying: headline %q, body %q; want the server's headline and my body", now["headline"], now["body"])
	}
	if got := rita.Value("#headline"); got != serverHeadline {
		t.Errorf("after re-applying the editor shows headline %q; want the current %q", got, serverHeadline)
	}
	if got := rita.Value("#body"); got != myBody {
		t.Errorf("after re-applying the editor shows body %q; want mine", got)
	}
}

// TestForgedRequestsAreRefused: requests that carry the reporter's session cookie but were not
// made by the desk change nothing. From the signed-in page, a fetch without the CSRF token (or
// with a wrong one) is 403; a form on another origin of the same site posting to the API is
// 403; one on another site is refused. The article's log is the same afterwards, and the desk's
// own submit then works (the session was alive all along).
func TestForgedRequestsAreRefused(t *testing.T) {
	b := browsertest.Start(t)
	srv := server(t)
	drafted := srv.must(t, nethttp.StatusCreated, "POST", "/api/v1/articles", "rita",
		map[string]any{"headline": "Mayor opens the bridge", "body": "The bridge opened."})
	id := drafted.json(t)["id"].(string)
	before := srv.article(t, id)
	historyBefore := len(srv.history(t, id, drafted.header.Get("X-Newsroom-Position")))
	if historyBefore != 1 {
		t.Fatalf("the history of a new draft has %d entries; want 1", historyBefore)
	}

	rita := b.NewPage(t)
	signIn(t, rita, srv, "rita", "#/articles/"+id)
	waitStatus(t, rita, "draft")

	type answer struct {
		Status int
		Type   string
	}
	forge := func(what, init string) {
		t.Helper()
		var got answer
		rita.Eval(fmt.Sprintf(`fetch('/api/v1/articles/%s/submit', %s).then(async r => ({status: r.status, type: (await r.json().catch(() => ({}))).type || ''}))`, id, init), &got)
		if got.Status != nethttp.StatusForbidden || !strings.HasSuffix(got.Type, "/csrf") {
			t.Errorf("%s: %d %q; want 403 with problem type …/csrf", what, got.Status, got.Type)
		}
	}
	forge("a submit from the signed-in page without X-CSRF-Token", `{method: 'POST', credentials: 'same-origin'}`)
	forge("a submit with a wrong X-CSRF-Token", `{method: 'POST', credentials: 'same-origin', headers: {'X-CSRF-Token': 'forged'}}`)
	var patch answer
	rita.Eval(fmt.Sprintf(`fetch('/api/v1/articles/%s', {method: 'PATCH', credentials: 'same-origin', headers: {'Content-Type': 'application/json', 'If-Match': '"%v"'}, body: JSON.stringify({headline: 'Forged'})}).then(async r => ({status: r.status, type: (await r.json().catch(() => ({}))).type || ''}))`, id, before["version"]), &patch)
	if patch.Status != nethttp.StatusForbidden {
		t.Errorf("a PATCH without X-CSRF-Token: %d; want 403", patch.Status)
	}

	// Pages of an attacker: a form that posts to the API, on another port of the same host
	// (same site, other origin: the cookie goes along) and on another host name (another site).
	evil := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Win a prize</title></head><body>
<form method="post" action="%s/api/v1/articles/%s/submit"><input type="hidden" name="x" value="1"><button id="win">Win</button></form></body></html>`, srv.base, id)
	}))
	defer evil.Close()
	if status := rita.NavigateStatus(evil.URL); status != nethttp.StatusOK {
		t.Fatalf("the attacker's page: %d", status)
	}
	if status := rita.ClickNavigate("#win"); status != nethttp.StatusForbidden {
		t.Errorf("a form on %s (same site, other origin) posting to the API with the session cookie: %d; want 403", evil.URL, status)
	}
	crossSite := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
	if status := rita.NavigateStatus(crossSite); status != nethttp.StatusOK {
		t.Fatalf("the attacker's page at %s: %d", crossSite, status)
	}
	if status := rita.ClickNavigate("#win"); status != nethttp.StatusForbidden && status != nethttp.StatusUnauthorized {
		t.Errorf("a form on %s (another site) posting to the API: %d; want 401 or 403", crossSite, status)
	}

	after := srv.article(t, id)
	if after["status"] != "draft" || after["version"] != before["version"] || after["headline"] != before["headline"] {
		t.Errorf("after the forged requests the article is %v (version %v); want it unchanged: %v (version %v)", after["status"], after["version"], before["status"], before["version"])
	}

	// The desk itself, with its CSRF token, may submit: the refusals were not a dead session.
	rita.Navigate(srv.base + "/desk#/articles/" + id)
	waitStatus(t, rita, "draft")
	rita.Click(`[data-action="submit"]`)
	waitStatus(t, rita, "in_review")
	// Once the history shows that submit, it shows everything before it: the draft and the submit,
	// and nothing of the forgeries.
	var history []any
	deadline := time.Now().Add(browsertest.ActionTimeout)
	for {
		history = srv.history(t, id, "")
		if len(history) > 0 && history[len(history)-1].(map[string]any)["status"] == "in_review" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the history never showed the desk's submit: %v", history)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(history) != historyBefore+1 {
		t.Errorf("the article's history is %v; want the draft and the desk's submit only", history)
	}
}
