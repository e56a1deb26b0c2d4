package browser

import (
	"fmt"
	"image/png"
	nethttp "net/http"
	"os"
	"testing"

	"github.com/newsroom/newsroom/editorial"
	"github.com/newsroom/newsroom/internal/browsertest"
)

// TestScreenshots takes the README's pictures, at the desktop size (1280 × 800): desk.png, the
// editor as an editor sees a press release in review (its Markdown beside the preview),
// desk-pictures.png, the same editor at its pictures, and article.png, its
// public page once published. The article is the corpus press release
// (testdata/nato-russia-council-ministers-meet.txt), read as `newsroom import` reads it, with a
// drawn picture of a harbour as its main image.
// Regenerate the committed pictures with
//
//	NEWSROOM_SCREENSHOTS=docs/screenshots go test ./browser -run TestScreenshots
func TestScreenshots(t *testing.T) {
	b := browsertest.Start(t)
	srv := server(t)
	raw, err := os.ReadFile("../testdata/nato-russia-council-ministers-meet.txt")
	if err != nil {
		t.Fatal(err)
	}
	c := editorial.ParsePlainText(string(raw))
	picture := srv.uploadImage(t, "rita", harbourPNG(t), map[string]string{
		"alt": "A harbour at dusk: a low sun over the sea", "caption": "The harbour at dusk", "credit": "Drawing: Newsroom", "copyright": "Newsroom",
	})
	a := srv.must(t, nethttp.StatusCreated, "POST", "/api/v1/articles", "rita", map[string]any{
		"headline": c.Headline, "body": c.Body, "language": "en", "dateline": "BRUSSELS", "tags": []string{"nato", "russia"},
		"media": []map[string]any{{"id": picture, "role": "main"}},
	}).json(t)
	id := a["id"].(string)
	srv.must(t, nethttp.StatusOK, "POST", "/api/v1/articles/"+id+"/submit", "rita", nil)

	ed := b.NewPage(t)
	signIn(t, ed, srv, "ed", "#/articles/"+id)
	waitStatus(t, ed, "in_review")
	ed.WaitUntil("the preview to show the body", fmt.Sprintf(`document.querySelector('#preview h2')?.textContent === %q`, "Progress in practical cooperation"))
	ed.Eval(`document.activeElement?.blur(); window.scrollTo(0, 0)`, nil)
	checkPNG(t, ed.Screenshot("desk"))
	ed.WaitUntil("the picture's thumbnail to load", `[...document.querySelectorAll('#pictures-list img.thumb')].some(i => i.complete && i.naturalWidth > 0)`)
	ed.Eval(`document.querySelector('#pictures').scrollIntoView({block: 'center'})`, nil)
	checkPNG(t, ed.Screenshot("desk-pictures"))

	srv.must(t, nethttp.StatusOK, "POST", "/api/v1/articles/"+id+"/approve", "ed", nil)
	r := srv.must(t, nethttp.StatusOK, "POST", "/api/v1/articles/"+id+"/publish", "eva", nil)
	slug := r.json(t)["slug"].(string)
	reader := b.NewPage(t)
	if status := reader.NavigateStatus(srv.base + "/news/" + slug + "?min_position=" + r.header.Get("X-Newsroom-Position")); status != nethttp.StatusOK {
		t.Fatalf("the press release's public page: %d; want 200", status)
	}
	if got := reader.Text("main article h1"); got != c.Headline {
		t.Errorf("the public page's h1 = %q; want %q", got, c.Headline)
	}
	checkPNG(t, reader.Screenshot("article"))
}

// checkPNG fails the test unless path is a PNG of the desktop viewport's size.
func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if cfg.Width != browsertest.DesktopWidth || cfg.Height != browsertest.DesktopHeight {
		t.Errorf("%s is %d × %d; want %d × %d", path, cfg.Width, cfg.Height, browsertest.DesktopWidth, browsertest.DesktopHeight)
	}
}
