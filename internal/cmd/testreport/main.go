// Command testreport reads `go test -json` on stdin and prints what plain `go test` would: each
// package's result line and the output of the tests that failed, without the chatter of those
// that passed. At the end it counts the tests and lists every skipped one with its reason, so
// that a run cannot pass quietly by skipping. It exits 1 if a test, a package or a build failed,
// or, under NEWSROOM_REQUIRE_BROWSER=1 (as in CI), if a browser test was skipped.
//
//	go test -json ./... | go run ./internal/cmd/testreport
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	opts := options{requireBrowser: os.Getenv(requireBrowserEnv) == "1"}
	if failed, err := report(os.Stdin, os.Stdout, opts); err != nil || failed {
		if err != nil {
			fmt.Fprintln(os.Stderr, "testreport:", err)
		}
		os.Exit(1)
	}
}

// requireBrowserEnv is internal/browsertest's RequireEnv: set to 1, the browser tests must run.
const requireBrowserEnv = "NEWSROOM_REQUIRE_BROWSER"

// options are what the environment asks of the report.
type options struct {
	// requireBrowser: a skipped browser test fails the run (see browserSkip).
	requireBrowser bool
}

// report reads `go test -json` from in and writes the report to out. It reports whether
// anything failed.
func report(in io.Reader, out io.Writer, opts options) (failed bool, err error) {
	r := newRun(out)
	r.requireBrowser = opts.requireBrowser
	if err := r.read(in); err != nil {
		return true, err
	}
	r.summary()
	return r.failed, nil
}
