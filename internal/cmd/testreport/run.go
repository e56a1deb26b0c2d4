package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// event is one line of `go test -json` (see `go doc test2json`).
type event struct {
	Action     string // start, run, pause, cont, output, pass, fail, skip, bench; build-output, build-fail
	Package    string
	Test       string
	Output     string
	ImportPath string  // of build-output and build-fail
	Elapsed    float64 // seconds, on pass, fail and skip
}

// timing is how long a top-level test took.
type timing struct {
	pkg, test string
	seconds   float64
}

// slowestShown is how many of the slowest tests the summary lists: where the suite's time goes,
// on every CI run, for whoever keeps it short.
const slowestShown = 10

// skip is a skipped test and why.
type skip struct {
	pkg, test, reason string
}

// run follows the events of one `go test -json`.
type run struct {
	out io.Writer
	// pending holds each running test's output, by package and test, until the test ends:
	// printed if it fails, dropped if it passes, its reason kept if it skips.
	pending             map[string][]string
	passed, failedTests int
	skips               []skip
	timings             []timing // top-level tests that passed or failed
	failed              bool     // a test, a package or a build failed
	requireBrowser      bool     // a skipped browser test fails the run
}

func newRun(out io.Writer) *run {
	return &run{out: out, pending: map[string][]string{}}
}

func key(pkg, test string) string { return pkg + "\x00" + test }

func (r *run) read(in io.Reader) error {
	lines := bufio.NewScanner(in)
	lines.Buffer(make([]byte, 1<<20), 16<<20)
	for lines.Scan() {
		line := lines.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// Not an event (a message of the go command): as it came.
			fmt.Fprintf(r.out, "%s\n", line)
			continue
		}
		r.handle(e)
	}
	if err := lines.Err(); err != nil {
		return fmt.Errorf("read go test -json: %w", err)
	}
	// Tests that never ended (their binary crashed or was killed): their output is the story.
	for k := range r.pending {
		pkg, _, _ := strings.Cut(k, "\x00")
		r.flushUnfinished(pkg)
	}
	return nil
}

func (r *run) handle(e event) {
	switch {
	case e.Action == "build-output":
		fmt.Fprint(r.out, e.Output)
	case e.Action == "build-fail":
		r.failed = true
	case e.Test == "":
		r.packageEvent(e)
	default:
		r.testEvent(e)
	}
}

func (r *run) packageEvent(e event) {
	switch e.Action {
	case "output":
		if e.Output == "PASS\n" {
			return // plain go test prints only the "ok" line of a package that passed
		}
		if strings.HasPrefix(e.Output, "FAIL") {
			r.flushUnfinished(e.Package)
		}
		fmt.Fprint(r.out, e.Output)
	case "fail":
		r.failed = true
		r.flushUnfinished(e.Package)
	}
}

func (r *run) testEvent(e event) {
	k := key(e.Package, e.Test)
	if (e.Action == "pass" || e.Action == "fail") && !strings.Contains(e.Test, "/") {
		r.timings = append(r.timings, timing{pkg: e.Package, test: e.Test, seconds: e.Elapsed})
	}
	switch e.Action {
	case "output":
		r.pending[k] = append(r.pending[k], e.Output)
	case "pass":
		r.passed++
		delete(r.pending, k)
	case "fail":
		r.failedTests++
		r.failed = true
		r.print(r.pending[k])
		delete(r.pending, k)
	case "skip":
		r.skips = append(r.skips, skip{pkg: e.Package, test: e.Test, reason: reason(r.pending[k])})
		delete(r.pending, k)
	}
}

// flushUnfinished prints the output of pkg's tests that have not ended.
func (r *run) flushUnfinished(pkg string) {
	var keys []string
	for k := range r.pending {
		if strings.HasPrefix(k, pkg+"\x00") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		r.print(r.pending[k])
		delete(r.pending, k)
	}
}

// print writes a test's output without the framing lines of -v (=== RUN and the like), which
// plain go test does not print.
func (r *run) print(output []string) {
	for _, line := range output {
		if !framing(line) {
			fmt.Fprint(r.out, line)
		}
	}
}

func framing(line string) bool {
	for _, prefix := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME"} {
		if strings.HasPrefix(line, prefix) {
			return true
		}
	}
	return false
}

// reason is what a skipped test said, without the framing and its own --- SKIP line.
func reason(output []string) string {
	var said []string
	for _, line := range output {
		line = strings.TrimSpace(line)
		if line == "" || framing(line) || strings.HasPrefix(line, "--- SKIP") {
			continue
		}
		said = append(said, line)
	}
	if len(said) == 0 {
		return "(no reason given)"
	}
	return strings.Join(said, " / ")
}

// summary counts the tests and lists the skipped ones.
func (r *run) summary() {
	fmt.Fprintf(r.out, "\ntests: %d passed, %d failed, %d skipped\n", r.passed, r.failedTests, len(r.skips))
	r.slowest()
	if len(r.skips) == 0 {
		return
	}
	fmt.Fprintln(r.out, "skipped:")
	var browser []skip
	for _, s := range r.skips {
		fmt.Fprintf(r.out, "  %s %s: %s\n", s.pkg, s.test, s.reason)
		if browserSkip(s) {
			browser = append(browser, s)
		}
	}
	if r.requireBrowser && len(browser) > 0 {
		r.failed = true
		fmt.Fprintf(r.out, "FAIL: browser tests skipped (%d), and %s=1: they must run (install chromium, or set NEWSROOM_CHROMIUM)\n", len(browser), requireBrowserEnv)
		for _, s := range browser {
			fmt.Fprintf(r.out, "  %s %s\n", s.pkg, s.test)
		}
	}
}

// browserSkipMessage starts the reason of a test internal/browsertest skipped for want of a
// browser (its SkipMessage; change both together).
const browserSkipMessage = "no browser"

// browserSkip says whether s is a browser test that did not run: one skipped for want of a
// browser wherever it lives, or any skipped test of the browser tests' packages.
func browserSkip(s skip) bool {
	if strings.Contains(s.reason, browserSkipMessage+":") {
		return true
	}
	last := s.pkg[strings.LastIndex(s.pkg, "/")+1:]
	return last == "browser" || last == "browsertest"
}

// slowest lists the slowest top-level tests, slowest first.
func (r *run) slowest() {
	if len(r.timings) == 0 {
		return
	}
	sort.SliceStable(r.timings, func(i, j int) bool { return r.timings[i].seconds > r.timings[j].seconds })
	fmt.Fprintln(r.out, "slowest tests:")
	for _, t := range r.timings[:min(slowestShown, len(r.timings))] {
		fmt.Fprintf(r.out, "  %7.1fs %s %s\n", t.seconds, t.pkg, t.test)
	}
}
