package browser

import (
	"fmt"
	"strings"
	"testing"

	"github.com/newsroom/newsroom/internal/browsertest"
)

// focused is what has the keyboard's focus, and whether it shows it.
type focused struct {
	Name    string // tag#id.class, for messages
	Matches bool   // it matches the selector asked about
	Shown   bool   // a focus indicator is drawn: an outline or a box shadow
}

// focus reads the focused element; sel is what the caller waits for.
func focus(t *testing.T, p *browsertest.Page, sel string) focused {
	t.Helper()
	var f focused
	p.Eval(fmt.Sprintf(`(() => {
		const el = document.activeElement;
		if (!el || el === document.body) return {name: 'body', matches: false, shown: false};
		const cs = getComputedStyle(el);
		const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0;
		const shadow = !!cs.boxShadow && cs.boxShadow !== 'none';
		const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '');
		return {name, matches: el.matches(%q), shown: outline || shadow};
	})()`, sel), &f)
	return f
}

// tabTo presses Tab (Shift+Tab when back) until sel has the focus, at most max times; every
// element the focus passes must show that it has it.
func tabTo(t *testing.T, p *browsertest.Page, sel string, back bool, max int) {
	t.Helper()
	var path []string
	for i := 0; i < max; i++ {
		if back {
			p.ShiftTab()
		} else {
			p.Keys("\t")
		}
		f := focus(t, p, sel)
		path = append(path, f.Name)
		if !f.Shown {
			t.Errorf("%s has the keyboard's focus but shows no focus indicator (outline and box-shadow none)", f.Name)
		}
		if f.Matches {
			return
		}
	}
	t.Fatalf("%d presses of Tab never reached %s; the focus went %s", max, sel, strings.Join(path, " → "))
}

// TestDeskKeyboardOnly: issue 16's "keyboard-only use possible". A reporter signs in, edits
// an article, saves and submits it with key events alone (Tab, Shift+Tab, Enter, Space and
// typing, through the DevTools protocol as a keyboard sends them), and every control the focus
// reaches shows a visible focus indicator.
func TestDeskKeyboardOnly(t *testing.T) {
	b := browsertest.Start(t)
	srv := server(t)
	a := srv.draft(t, "rita", map[string]any{"headline": "Ferry timetable changes", "body": "The ferry leaves earlier."})
	id := a["id"].(string)

	p := b.NewPage(t)
	p.Navigate(srv.base + "/desk#/articles/" + id)
	p.WaitVisible("#signin")
	tabTo(t, p, "#token", false, 10)
	p.Keys(srv.tokens["rita"])
	p.Keys("\r")
	p.WaitText("#whoami", "rita")
	waitStatus(t, p, "draft")

	// Into the headline (Tab selects what is there: typing replaces it), back to the link
	// before it and forward again, then the summary.
	tabTo(t, p, "#headline", false, 10)
	headline := "Ferry timetable changes from Monday"
	p.Keys(headline)
	tabTo(t, p, "a.back", true, 3)
	tabTo(t, p, "#headline", false, 3)
	tabTo(t, p, "#summary", false, 2)
	p.Keys("Earlier departures all week.")
	if got := p.Text("#save-state"); got != "Unsaved changes" {
		t.Errorf("after typing the save state is %q; want Unsaved changes", got)
	}

	tabTo(t, p, "#save", false, 10)
	p.Keys("\r")
	p.WaitText("#notice", "Saved as version 2")
	saved := srv.article(t, id)
	if saved["headline"] != headline || saved["summary"] != "Earlier departures all week." {
		t.Errorf("after saving from the keyboard the article has headline %q, summary %q; want what was typed", saved["headline"], saved["summary"])
	}

	tabTo(t, p, `[data-action="submit"]`, false, 40)
	p.Keys(" ")
	waitStatus(t, p, "in_review")
	if got := srv.article(t, id)["status"]; got != "in_review" {
		t.Errorf("after Space on Submit the API says %v; want in_review", got)
	}
}

// TestDeskUnsavedChanges: edits not saved are not lost silently. Going back to the list asks
// first (Cancel stays, with the edits; OK leaves); leaving the page has the browser ask; an
// editor without edits leaves without a question.
func TestDeskUnsavedChanges(t *testing.T) {
	b := browsertest.Start(t)
	srv := server(t)
	a := srv.draft(t, "rita", map[string]any{"headline": "Library extends its hours", "body": "Open until nine."})
	id := a["id"].(string)

	p := b.NewPage(t)
	p.AnswerDialogs(false)
	signIn(t, p, srv, "rita", "#/articles/"+id)
	waitStatus(t, p, "draft")

	// No edits: back to the list without a question.
	p.Click("a.back")
	p.WaitVisible("#article-list")
	if d := p.Dialogs(); len(d) != 0 {
		t.Errorf("leaving an editor without edits asked %v; want no question", d)
	}

	p.Eval(fmt.Sprintf(`location.hash = '#/articles/%s'`, id), nil)
	waitStatus(t, p, "draft")
	p.Fill("#headline", "Library extends its opening hours")
	p.Click("a.back")
	if d := p.WaitDialogs(1)[0]; d.Type != "confirm" || !strings.Contains(d.Message, "unsaved changes") {
		t.Errorf("going back with edits asked %+v; want a confirm about unsaved changes", d)
	}
	if !p.Visible("#editor-view") || p.Value("#headline") != "Library extends its opening hours" || !strings.Contains(p.URL(), "#/articles/"+id) {
		t.Errorf("after Cancel the desk is at %s (editor shown: %v, headline %q); want the editor with the edit", p.URL(), p.Visible("#editor-view"), p.Value("#headline"))
	}

	// Leaving the page: the browser's own question (beforeunload). A key pressed in the page
	// first: browsers ask only on a page the person has interacted with.
	p.Eval(`document.querySelector('#headline').focus()`, nil)
	p.Keys("!")
	p.AnswerDialogs(true)
	p.Navigate(srv.base + "/desk")
	if d := p.WaitDialogs(2)[1]; d.Type != "beforeunload" {
		t.Errorf("leaving the page with edits opened %+v; want the browser's beforeunload question", d)
	}

	// OK leaves: back in the desk, open the article, edit, go back, accept.
	p.WaitVisible("#article-list")
	p.Eval(fmt.Sprintf(`location.hash = '#/articles/%s'`, id), nil)
	waitStatus(t, p, "draft")
	p.Fill("#summary", "Longer hours")
	p.Click("a.back")
	p.WaitDialogs(3)
	p.WaitVisible("#article-list")
	if got := srv.article(t, id)["headline"]; got != "Library extends its hours" {
		t.Errorf("edits left unsaved reached the article: headline %q", got)
	}
}
