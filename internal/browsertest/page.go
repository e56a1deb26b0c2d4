package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// Page is one tab in a browser context of its own: its cookies and storage are its own, so two
// pages are two people signed in at once. Its methods fail the test that opened it (they call
// tb.Fatal), so call them from that test's goroutine.
type Page struct {
	tb     testing.TB
	ctx    context.Context
	cancel context.CancelFunc
	phone  bool // the viewport is a phone's (see SetPhone)

	mu            sync.Mutex
	console       []string // what the page logged as errors, shown when the test fails
	dialogs       []Dialog // the dialogs it opened, once AnswerDialogs was called
	dialogsOn     bool     // AnswerDialogs listens
	acceptDialogs bool     // how it answers them
}

// NewPage opens a page at about:blank, in a desktop-sized viewport, closed when tb ends. If tb
// fails, the page's console errors and uncaught exceptions are logged with it.
func (b *Browser) NewPage(tb testing.TB) *Page {
	tb.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	p := &Page{tb: tb, ctx: ctx, cancel: cancel}
	tb.Cleanup(func() {
		if tb.Failed() {
			p.logConsole()
		}
		cancel()
	})
	// The first action opens the tab and binds its life to the context it runs under: p.ctx,
	// not one with a deadline (which would close the tab when the action returns).
	stuck := time.AfterFunc(ActionTimeout, cancel)
	err := chromedp.Do(ctx, chromedp.Navigate("about:blank"))
	stuck.Stop()
	if err != nil {
		tb.Fatalf("browser: open a page: %v", err)
	}
	go p.collectConsole()
	p.SetDesktop()
	return p
}

func (p *Page) collectConsole() {
	for m, err := range chromedp.Console(p.ctx) {
		if err != nil {
			return
		}
		if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException {
			continue
		}
		line := fmt.Sprintf("%s: %s", m.Type, m.Text)
		if m.URL != "" {
			line += fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
		}
		p.mu.Lock()
		p.console = append(p.console, line)
		p.mu.Unlock()
	}
}

func (p *Page) logConsole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.console) == 0 {
		return
	}
	p.tb.Logf("the page's console errors:\n  %s", strings.Join(p.console, "\n  "))
}

// ConsoleErrors returns the errors and uncaught exceptions the page logged so far.
func (p *Page) ConsoleErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.console...)
}

// do runs actions, failing the test with what it was doing if they fail or take longer than
// ActionTimeout.
func (p *Page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, ActionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.tb.Fatalf("browser: %s: %v (page %s)", what, err, p.location())
	}
}

// location is the page's URL, for messages; it never fails.
func (p *Page) location() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	url, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "?"
	}
	return url
}

// Navigate loads url and waits for its load event.
func (p *Page) Navigate(url string) {
	p.tb.Helper()
	p.do("navigate to "+url, chromedp.Navigate(url))
}

// NavigateStatus loads url, waits for its load event and returns the HTTP status it was
// served with (an error page loads too: a 404 is a status, not a failure).
func (p *Page) NavigateStatus(url string) int {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, ActionTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		p.tb.Fatalf("browser: navigate to %s: %v", url, err)
	}
	return int(resp.Status)
}

// ClickNavigate clicks sel, which must lead to a navigation (a link, a form's submit button),
// waits for the new page and returns the HTTP status it was served with.
func (p *Page) ClickNavigate(sel string) int {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, ActionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		p.tb.Fatalf("browser: click %s and wait for the page it leads to: %v", sel, err)
	}
	return int(resp.Status)
}

// URL is the page's current address.
func (p *Page) URL() string {
	p.tb.Helper()
	return p.location()
}

// Click waits until the element sel (a CSS selector) is visible, then clicks it with the mouse.
func (p *Page) Click(sel string) {
	p.tb.Helper()
	p.do("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// Fill replaces the value of the input or textarea sel with text, as a person would: it focuses
// the field, selects what is there and types over it (one insertion, which fires the input
// events a page listens to).
func (p *Page) Fill(sel, text string) {
	p.tb.Helper()
	p.do("fill "+sel,
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Focus(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).select()`, jsString(sel))),
	)
	if text == "" {
		p.do("clear "+sel, chromedp.KeyEvent("\b"))
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, ActionTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: text}); err != nil {
		p.tb.Fatalf("browser: type into %s: %v", sel, err)
	}
}

// Type types text into sel with key events, after what is there.
func (p *Page) Type(sel, text string) {
	p.tb.Helper()
	p.do("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text, chromedp.NodeVisible))
}

// Select chooses the option with value in the select element sel, firing input and change.
func (p *Page) Select(sel, value string) {
	p.tb.Helper()
	p.WaitVisible(sel)
	var ok bool
	p.Eval(fmt.Sprintf(`(() => {
		const el = document.querySelector(%s);
		if (![...el.options].some(o => o.value === %s)) return false;
		el.value = %s;
		el.dispatchEvent(new Event('input', {bubbles: true}));
		el.dispatchEvent(new Event('change', {bubbles: true}));
		return true;
	})()`, jsString(sel), jsString(value), jsString(value)), &ok)
	if !ok {
		p.tb.Fatalf("browser: %s has no option %q", sel, value)
	}
}

// WaitVisible waits until an element sel is visible.
func (p *Page) WaitVisible(sel string) {
	p.tb.Helper()
	p.do("wait for "+sel+" to be visible", chromedp.WaitVisible(chromedp.CSS(sel)))
}

// WaitHidden waits until the element sel is absent or not visible.
func (p *Page) WaitHidden(sel string) {
	p.tb.Helper()
	p.WaitUntil(sel+" hidden", fmt.Sprintf(`(() => { const el = document.querySelector(%s); return !el || !el.checkVisibility(); })()`, jsString(sel)))
}

// Exists says whether an element sel is in the page now (visible or not); it does not wait.
func (p *Page) Exists(sel string) bool {
	p.tb.Helper()
	var ok bool
	p.Eval(fmt.Sprintf(`document.querySelector(%s) !== null`, jsString(sel)), &ok)
	return ok
}

// Visible says whether an element sel is in the page and visible now; it does not wait.
func (p *Page) Visible(sel string) bool {
	p.tb.Helper()
	var ok bool
	p.Eval(fmt.Sprintf(`(() => { const el = document.querySelector(%s); return !!el && el.checkVisibility(); })()`, jsString(sel)), &ok)
	return ok
}

// Count is how many elements match sel now.
func (p *Page) Count(sel string) int {
	p.tb.Helper()
	var n int
	p.Eval(fmt.Sprintf(`document.querySelectorAll(%s).length`, jsString(sel)), &n)
	return n
}

// Text waits for sel and returns its text as rendered (innerText: what a reader sees).
func (p *Page) Text(sel string) string {
	p.tb.Helper()
	p.do("wait for "+sel, chromedp.WaitReady(chromedp.CSS(sel)))
	var text string
	p.Eval(fmt.Sprintf(`document.querySelector(%s).innerText`, jsString(sel)), &text)
	return text
}

// Value waits for the form control sel and returns its value.
func (p *Page) Value(sel string) string {
	p.tb.Helper()
	p.do("wait for "+sel, chromedp.WaitReady(chromedp.CSS(sel)))
	var v string
	p.Eval(fmt.Sprintf(`document.querySelector(%s).value`, jsString(sel)), &v)
	return v
}

// Attr returns the attribute name of the element sel ("" when it has none).
func (p *Page) Attr(sel, name string) string {
	p.tb.Helper()
	p.do("wait for "+sel, chromedp.WaitReady(chromedp.CSS(sel)))
	var v string
	p.Eval(fmt.Sprintf(`document.querySelector(%s).getAttribute(%s) ?? ""`, jsString(sel), jsString(name)), &v)
	return v
}

// WaitText waits until the text of an element sel contains want, and returns that text.
func (p *Page) WaitText(sel, want string) string {
	p.tb.Helper()
	p.WaitUntil(fmt.Sprintf("%s to contain %q", sel, want), fmt.Sprintf(
		`(() => { const el = document.querySelector(%s); return !!el && el.innerText.includes(%s); })()`, jsString(sel), jsString(want)))
	return p.Text(sel)
}

// WaitUntil polls the JavaScript expression cond until it is true, failing the test after
// ActionTimeout with what (what it waited for). A navigation in between is no error.
func (p *Page) WaitUntil(what, cond string) {
	p.tb.Helper()
	deadline := time.Now().Add(ActionTimeout)
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(p.ctx, ActionTimeout)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		cancel()
		if err == nil && ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			p.tb.Fatalf("browser: timed out after %s waiting for %s (page %s; last error: %v)", ActionTimeout, what, p.location(), lastErr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Poll calls ok until it is true, failing tb after ActionTimeout with what (what it waited
// for): a wait for something outside the page's script (its console, a server) with a deadline,
// not a fixed number of tries that a slow machine outlasts.
func Poll(tb testing.TB, what string, ok func() bool) {
	tb.Helper()
	deadline := time.Now().Add(ActionTimeout)
	for !ok() {
		if time.Now().After(deadline) {
			tb.Fatalf("browser: timed out after %s waiting for %s", ActionTimeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Eval runs the JavaScript expression js in the page, waits for it if it is a promise, and
// decodes its result (as JSON) into out, which may be nil.
func (p *Page) Eval(js string, out any) {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, ActionTimeout)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.tb.Fatalf("browser: evaluate %s: %v (page %s)", abbreviate(js), err, p.location())
	}
	if out == nil {
		return
	}
	if err := json.Unmarshal(raw, out); err != nil {
		p.tb.Fatalf("browser: evaluate %s: result %s: %v", abbreviate(js), abbreviate(string(raw)), err)
	}
}

// SetDesktop sets the viewport to a desktop's, DesktopWidth × DesktopHeight.
func (p *Page) SetDesktop() {
	p.tb.Helper()
	p.phone = false
	p.do("set a desktop viewport", chromedp.EmulateViewport(DesktopWidth, DesktopHeight))
}

// SetPhone sets the viewport to a phone's, PhoneWidth × PhoneHeight, with a phone's behaviour:
// a page without `<meta name="viewport" content="width=device-width">` is laid out 980 px wide
// and shrunk, as a phone does (NoHorizontalScroll then fails).
func (p *Page) SetPhone() {
	p.tb.Helper()
	p.phone = true
	p.do("set a phone viewport", chromedp.EmulateViewport(PhoneWidth, PhoneHeight, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait))
}

// Overflow returns the page's width (document.documentElement.scrollWidth) and the width of
// the layout viewport (document.documentElement.clientWidth, which is innerWidth without a
// scroll bar), in CSS px. Not innerWidth itself: on a phone, a page that overflows is zoomed out
// to fit, which widens innerWidth to the page's width and would hide the overflow.
func (p *Page) Overflow() (scrollWidth, viewportWidth int) {
	p.tb.Helper()
	var w struct{ Scroll, Viewport int }
	p.Eval(`({scroll: document.documentElement.scrollWidth, viewport: document.documentElement.clientWidth})`, &w)
	return w.Scroll, w.Viewport
}

// NoHorizontalScroll fails the test if the page is wider than the viewport, naming the widest
// elements that stick out. On a phone viewport it also fails if the page is not laid out at the
// phone's width (no viewport meta tag).
func (p *Page) NoHorizontalScroll() {
	p.tb.Helper()
	scroll, viewport := p.Overflow()
	if p.phone && viewport != PhoneWidth {
		p.tb.Errorf("on a %d px phone, %s is laid out %d px wide: it needs <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">", PhoneWidth, p.location(), viewport)
	}
	if scroll <= viewport {
		return
	}
	var culprits []string
	p.Eval(`(() => {
		const w = document.documentElement.clientWidth, out = [];
		for (const el of document.querySelectorAll('body *')) {
			const r = el.getBoundingClientRect();
			if (r.right > w + 0.5) out.push([r.right, el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '') + ' (right edge ' + Math.round(r.right) + ' px)']);
		}
		return out.sort((a, b) => b[0] - a[0]).slice(0, 5).map(x => x[1]);
	})()`, &culprits)
	p.tb.Errorf("%s scrolls horizontally at %d px: it is %d px wide; sticking out: %s", p.location(), viewport, scroll, strings.Join(culprits, ", "))
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func abbreviate(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}
