package browsertest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pages the harness is tried on.
var pages = map[string]string{
	"/form": `<!doctype html><html lang="en"><head><title>form</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body><main>
<label for="name">Name</label> <input id="name" value="old">
<label for="colour">Colour</label> <select id="colour"><option value="red">red</option><option value="green">green</option></select>
<button id="go" type="button">Go</button>
<p id="out"></p>
<p id="typed"></p>
<p id="later" hidden>appeared</p>
<script src="/form.js"></script>
</main></body></html>`,
	"/form.js": `
document.getElementById('go').addEventListener('click', () => {
  const name = document.getElementById('name').value, colour = document.getElementById('colour').value;
  setTimeout(() => { document.getElementById('out').textContent = 'hello ' + name + ' in ' + colour; }, 100);
});
document.getElementById('name').addEventListener('input', e => { document.getElementById('typed').textContent = 'typed ' + e.target.value; });
setTimeout(() => { document.getElementById('later').hidden = false; }, 200);
`,
	"/narrow": `<!doctype html><html lang="en"><head><title>narrow</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><p>Short.</p></main></body></html>`,
	"/wide": `<!doctype html><html lang="en"><head><title>wide</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><div id="banner" style="width:600px">Too wide for a phone.</div></main></body></html>`,
	"/noviewport": `<!doctype html><html lang="en"><head><title>no viewport</title></head>
<body><main><p>Short.</p></main></body></html>`,
	"/inaccessible": `<!doctype html><html lang="en"><head><title>bad</title></head>
<body><main><img src="/x.png"><button id="b"></button></main></body></html>`,
	"/throws": `<!doctype html><html lang="en"><head><title>throws</title></head>
<body><script src="/throws.js"></script></body></html>`,
	"/throws.js": `throw new Error('the widget broke');`,
	"/cookie":    `<!doctype html><html lang="en"><head><title>cookie</title></head><body></body></html>`,
}

func serve(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if strings.HasSuffix(r.URL.Path, ".js") {
			w.Header().Set("Content-Type", "text/javascript")
		} else {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestFindBrowserHonoursTheEnvironment(t *testing.T) {
	t.Setenv(ChromiumEnv, filepath.Join(t.TempDir(), "no-such-browser"))
	if path, err := FindBrowser(); err == nil {
		t.Errorf("FindBrowser() with %s naming no file = %q; want an error", ChromiumEnv, path)
	}
	t.Setenv(ChromiumEnv, "")
	t.Setenv("PATH", t.TempDir())
	if path, err := FindBrowser(); err == nil {
		t.Errorf("FindBrowser() with an empty PATH = %q; want an error", path)
	}
}

func TestPage(t *testing.T) {
	b := Start(t)
	base := serve(t)

	t.Run("fill, select, click, wait", func(t *testing.T) {
		p := b.NewPage(t)
		p.Navigate(base + "/form")
		p.Fill("#name", "Ada")
		if got := p.Value("#name"); got != "Ada" {
			t.Errorf("value of #name after Fill = %q; want Ada (what was there replaced)", got)
		}
		if got := p.Text("#typed"); got != "typed Ada" {
			t.Errorf("#typed = %q; want the input event to have fired with the new value", got)
		}
		p.Select("#colour", "green")
		p.Click("#go")
		if got := p.WaitText("#out", "hello"); got != "hello Ada in green" {
			t.Errorf("#out = %q; want hello Ada in green", got)
		}
		p.WaitVisible("#later")
		if !p.Visible("#later") || p.Visible("#nothing") || !p.Exists("#go") || p.Exists("#nothing") {
			t.Error("Visible/Exists disagree with the page")
		}
		if n := p.Count("label"); n != 2 {
			t.Errorf("Count(label) = %d; want 2", n)
		}
		p.Fill("#name", "")
		if got := p.Value("#name"); got != "" {
			t.Errorf("value of #name after Fill with nothing = %q; want empty", got)
		}
	})

	t.Run("pages have cookies of their own", func(t *testing.T) {
		a, other := b.NewPage(t), b.NewPage(t)
		a.Navigate(base + "/cookie")
		other.Navigate(base + "/cookie")
		a.Eval(`document.cookie = "who=a; path=/"`, nil)
		var seen string
		other.Eval(`document.cookie`, &seen)
		if seen != "" {
			t.Errorf("a second page sees the cookies %q of the first; want none", seen)
		}
	})

	t.Run("horizontal scroll", func(t *testing.T) {
		p := b.NewPage(t)
		p.SetPhone()
		p.Navigate(base + "/narrow")
		if scroll, inner := p.Overflow(); scroll > inner || inner != PhoneWidth {
			t.Errorf("narrow page on a phone: scrollWidth %d, viewport width %d; want no overflow at %d", scroll, inner, PhoneWidth)
		}
		p.Navigate(base + "/wide")
		if scroll, inner := p.Overflow(); scroll <= inner {
			t.Errorf("a 600 px banner on a phone: scrollWidth %d, viewport width %d; want an overflow", scroll, inner)
		}
		p.Navigate(base + "/noviewport")
		if _, inner := p.Overflow(); inner == PhoneWidth {
			t.Errorf("a page without a viewport meta tag on a phone has viewport width %d; want a phone's 980 px layout", inner)
		}
		p.SetDesktop()
		p.Navigate(base + "/wide")
		if scroll, inner := p.Overflow(); scroll > inner || inner != DesktopWidth {
			t.Errorf("wide page on a desktop: scrollWidth %d, viewport width %d; want no overflow at %d", scroll, inner, DesktopWidth)
		}
	})

	t.Run("axe", func(t *testing.T) {
		p := b.NewPage(t)
		p.Navigate(base + "/inaccessible")
		var ids []string
		for _, v := range p.Axe() {
			if v.Serious() {
				ids = append(ids, v.ID)
			}
		}
		for _, want := range []string{"image-alt", "button-name"} {
			if !slices.Contains(ids, want) {
				t.Errorf("axe on an image without alt and a button without a name: serious violations %v; want %s", ids, want)
			}
		}
		p.Navigate(base + "/form")
		for _, v := range p.Axe() {
			if v.Serious() {
				t.Errorf("axe on a labelled form: %s", v)
			}
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		dir := t.TempDir()
		t.Setenv(ScreenshotsEnv, dir)
		p := b.NewPage(t)
		p.Navigate(base + "/form")
		path := p.Screenshot("form")
		if path != filepath.Join(dir, "form.png") {
			t.Errorf("Screenshot wrote %s; want it in %s", path, dir)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) || len(data) < 1000 {
			t.Errorf("screenshot is %d bytes starting %q; want a PNG", len(data), data[:min(8, len(data))])
		}
	})

	t.Run("console errors", func(t *testing.T) {
		p := b.NewPage(t)
		p.Navigate(base + "/throws")
		p.WaitUntil("the page to have run its script", `document.readyState === 'complete'`)
		var errs []string
		Poll(t, "a console error", func() bool { errs = p.ConsoleErrors(); return len(errs) > 0 })
		if len(errs) == 0 || !strings.Contains(errs[0], "the widget broke") {
			t.Errorf("console errors %q; want the uncaught exception", errs)
		}
	})
}
