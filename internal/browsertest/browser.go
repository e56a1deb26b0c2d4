// Package browsertest drives a real, headless Chromium from tests (through chromedp): find the
// browser, start it, open pages that each have cookies of their own, and act on them as a person
// would (navigate, fill, click, wait, read), then check what a person cannot see at a glance:
// horizontal scrolling on a phone, accessibility (axe-core, vendored in axe/), and screenshots
// for a person to look at later.
//
// Without a browser a test skips, saying so, or fails when NEWSROOM_REQUIRE_BROWSER=1 (CI sets
// it, so that a machine without Chromium cannot pass as a row of skipped tests).
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Environment variables the harness reads.
const (
	// ChromiumEnv names the browser binary to use, overriding the search of the PATH.
	ChromiumEnv = "NEWSROOM_CHROMIUM"
	// RequireEnv, set to 1, turns "no browser" from a skip into a failure.
	RequireEnv = "NEWSROOM_REQUIRE_BROWSER"
	// ScreenshotsEnv names the directory screenshots are written to (relative: to the module's
	// root); by default testdata/screenshots in the test's package directory, which git ignores.
	ScreenshotsEnv = "NEWSROOM_SCREENSHOTS"
)

// SkipMessage starts the message of a test skipped for want of a browser. internal/cmd/testreport
// looks for it (it fails such a skip under NEWSROOM_REQUIRE_BROWSER=1): change both together.
const SkipMessage = "no browser"

// candidates are the names the browser goes by, tried in order on the PATH when
// NEWSROOM_CHROMIUM is not set: Debian's chromium first (what .ci/run installs).
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// ActionTimeout bounds how long one action (a navigation, a wait for an element, a script) may
// take before the test fails saying what it was waiting for, instead of hanging until go test's
// own timeout. It is a deadline for a wait, not a measure of speed: generous, for a loaded
// machine.
const ActionTimeout = 60 * time.Second

// FindBrowser returns the path of the browser to drive: NEWSROOM_CHROMIUM if set (it must
// exist), else the first of chromium, chromium-browser, google-chrome and google-chrome-stable
// found on the PATH.
func FindBrowser() (string, error) {
	if path := os.Getenv(ChromiumEnv); path != "" {
		found, err := exec.LookPath(path)
		if err != nil {
			return "", fmt.Errorf("%s=%s: %w", ChromiumEnv, path, err)
		}
		return found, nil
	}
	for _, name := range candidates {
		if found, err := exec.LookPath(name); err == nil {
			return found, nil
		}
	}
	return "", fmt.Errorf("none of %s is on the PATH, and %s is not set", strings.Join(candidates, ", "), ChromiumEnv)
}

// RequireBrowser returns the browser's path, or skips tb (fails it under
// NEWSROOM_REQUIRE_BROWSER=1) when there is none.
func RequireBrowser(tb testing.TB) string {
	tb.Helper()
	path, err := FindBrowser()
	if err == nil {
		return path
	}
	if os.Getenv(RequireEnv) == "1" {
		tb.Fatalf("%s: %v; %s=1, so the browser tests must run (install Debian's chromium)", SkipMessage, err, RequireEnv)
	}
	tb.Skipf("%s: %v: the browser tests are skipped (install chromium, or set %s)", SkipMessage, err, ChromiumEnv)
	return ""
}

// Browser is one headless browser process.
type Browser struct {
	ctx    context.Context // the browser's chromedp context: its first tab
	cancel context.CancelFunc
}

// Start starts a headless browser with a fresh profile, closed when tb ends. It skips tb, or
// fails it, as RequireBrowser does when there is no browser.
func Start(tb testing.TB) *Browser {
	tb.Helper()
	b, err := Launch(RequireBrowser(tb), tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(b.Close)
	return b
}

// Launch starts the browser at path, headless, with its profile in userDataDir (which should be
// empty: a profile of its own, so nothing of a person's browser leaks into a test). Close ends it.
// Start is the form for a test; Launch is for a TestMain that shares one browser between tests.
func Launch(path, userDataDir string) (*Browser, error) {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(userDataDir),
		chromedp.Headless,
		chromedp.NoSandbox, // containers and CI run as root, where the sandbox refuses to start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), // a container's /dev/shm is often 64 MB
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true), // screenshots the same on every machine
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("mute-audio", true),
		chromedp.WindowSize(DesktopWidth, DesktopHeight),
	}
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	b := &Browser{ctx: ctx, cancel: func() { cancel(); allocCancel() }}
	// The first action starts the process and binds its life to ctx (so it cannot run under a
	// context with a deadline); a browser that cannot start is ended after a while instead of
	// hanging the test.
	stuck := time.AfterFunc(ActionTimeout, b.cancel)
	defer stuck.Stop()
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		b.cancel()
		return nil, fmt.Errorf("start the browser %s: %w", path, err)
	}
	return b, nil
}

// Close ends the browser and its pages. It may be called more than once.
func (b *Browser) Close() {
	b.cancel()
}

// Desktop and phone sizes of the viewport, in CSS pixels.
const (
	DesktopWidth  = 1280
	DesktopHeight = 800
	PhoneWidth    = 375 // "readable on a phone": no horizontal scroll at this width
	PhoneHeight   = 812
)
