package browsertest

import (
	"context"
	"fmt"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Keys presses keys, one after the other, on whatever has the focus, as a keyboard does
// (Input.dispatchKeyEvent: key down, the character, key up): "\t" is Tab, "\r" Enter, " " Space,
// other characters type themselves.
func (p *Page) Keys(keys string) {
	p.tb.Helper()
	p.do(fmt.Sprintf("press %q", keys), chromedp.KeyEvent(keys))
}

// ShiftTab presses Shift+Tab: the focus moves back.
func (p *Page) ShiftTab() {
	p.tb.Helper()
	p.do("press Shift+Tab", chromedp.KeyEvent("\t", chromedp.KeyModifiers(chromedp.ModifierShift)))
}

// SetUploadFiles chooses files (paths on this machine) in the file input sel, as a person does
// in the browser's file picker; the input fires its change event.
func (p *Page) SetUploadFiles(sel string, files ...string) {
	p.tb.Helper()
	p.do("choose files in "+sel, chromedp.SetUploadFiles(chromedp.CSS(sel), files, chromedp.NodeReady))
}

// Dialog is a JavaScript dialog the page opened: an alert, a confirm, a prompt, or the
// browser's own question before it leaves a page (Type "beforeunload").
type Dialog struct {
	Type    string
	Message string
}

// AnswerDialogs answers every dialog the page opens from now on, accepting it or not (a
// confirm's OK or Cancel; "leave" or "stay" before unload), and records it for Dialogs.
// Without it a dialog blocks the page until the test times out.
func (p *Page) AnswerDialogs(accept bool) {
	p.mu.Lock()
	p.acceptDialogs = accept
	started := p.dialogsOn
	p.dialogsOn = true
	p.mu.Unlock()
	if started {
		return
	}
	opening := chromedp.Events(p.ctx, page.JavascriptDialogOpening)
	go func() {
		for e, err := range opening {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.dialogs = append(p.dialogs, Dialog{Type: string(e.Type), Message: e.Message})
			accept := p.acceptDialogs
			p.mu.Unlock()
			// Answered from another goroutine than the one reading the events (chromedp's rule).
			go func() {
				ctx, cancel := context.WithTimeout(p.ctx, ActionTimeout)
				defer cancel()
				chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept})
			}()
		}
	}()
}

// Dialogs returns the dialogs the page opened since AnswerDialogs was first called.
func (p *Page) Dialogs() []Dialog {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Dialog(nil), p.dialogs...)
}

// WaitDialogs waits until the page has opened n dialogs since AnswerDialogs was first called,
// and returns them.
func (p *Page) WaitDialogs(n int) []Dialog {
	p.tb.Helper()
	deadline := time.Now().Add(ActionTimeout)
	for {
		d := p.Dialogs()
		if len(d) >= n {
			return d
		}
		if time.Now().After(deadline) {
			p.tb.Fatalf("browser: timed out after %s waiting for %d dialogs; the page opened %v", ActionTimeout, n, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
