package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// ScreenshotDir is where screenshots go: NEWSROOM_SCREENSHOTS (a relative path is taken from
// the module's root, so that `NEWSROOM_SCREENSHOTS=docs/screenshots go test ./browser` writes
// to the repository's docs/screenshots), else testdata/screenshots in the test's package
// directory (ignored by git: a run's screenshots are for a person to look at, not to commit).
func ScreenshotDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv(ScreenshotsEnv)
	switch {
	case dir == "":
		dir = filepath.Join("testdata", "screenshots")
	case !filepath.IsAbs(dir):
		dir = filepath.Join(moduleRoot(tb), dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return abs
}

// moduleRoot is the nearest directory upward of the working directory with a go.mod.
func moduleRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("no go.mod above the working directory, to resolve %s", ScreenshotsEnv)
		}
		dir = parent
	}
}

// Screenshot writes what the viewport shows, as PNG, to name (".png" added) in ScreenshotDir,
// and returns the file's path. It logs the path, so that a person finds it.
func (p *Page) Screenshot(name string) string {
	p.tb.Helper()
	return p.screenshot(name, chromedp.CaptureScreenshot())
}

// FullScreenshot is Screenshot of the whole page, beyond the viewport.
func (p *Page) FullScreenshot(name string) string {
	p.tb.Helper()
	return p.screenshot(name, chromedp.FullScreenshot(100))
}

func (p *Page) screenshot(name string, capture chromedp.Action[[]byte]) string {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, ActionTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, capture)
	if err != nil {
		p.tb.Fatalf("browser: screenshot %s: %v", name, err)
	}
	path := filepath.Join(ScreenshotDir(p.tb), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.tb.Fatal(err)
	}
	p.tb.Logf("screenshot of %s: %s", p.location(), path)
	return path
}
