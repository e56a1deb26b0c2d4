package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// TestReportOfARealRun runs `go test -json` on a package with tests that pass, fail and skip,
// and reads its report.
func TestReportOfARealRun(t *testing.T) {
	cmd := exec.Command("go", "test", "-count=1", "-json", "./...")
	cmd.Dir = "testdata/sample"
	cmd.Env = append(cmd.Environ(), "GOFLAGS=", "GOWORK=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err == nil {
		t.Fatalf("go test passed on a package with a failing test\n%s", stderr.String())
	}
	var out bytes.Buffer
	failed, err := report(&stdout, &out, options{})
	if err != nil {
		t.Fatal(err)
	}
	if !failed {
		t.Error("report(a run with a failed test) = not failed; want failed")
	}
	got := out.String()
	for _, want := range []string{
		"--- FAIL: TestFails",
		"the widget broke",
		"FAIL\tsample",
		"tests: 3 passed, 1 failed, 2 skipped",
		"slowest tests:\n",
		"s sample TestFails\n",
		"sample TestSkips: sample_test.go:13: no widget here",
		"sample TestHalf/other: sample_test.go:22: WIDGET_URL not set: the other half is skipped",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the report has no %q:\n%s", want, got)
		}
	}
	for _, noise := range []string{"=== RUN", "--- PASS", "chatter of a test that passes", "--- SKIP"} {
		if strings.Contains(got, noise) {
			t.Errorf("the report has %q, which plain go test does not print:\n%s", noise, got)
		}
	}
}

// TestReportOfARunThatPasses: nothing failed, nothing skipped; lines that are not events (the
// go command's own) are passed through.
func TestReportOfARunThatPasses(t *testing.T) {
	in := strings.Join([]string{
		`go: downloading example.com/x v1.0.0`,
		`{"Action":"start","Package":"p"}`,
		`{"Action":"run","Package":"p","Test":"TestA"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"--- PASS: TestA (0.00s)\n"}`,
		`{"Action":"pass","Package":"p","Test":"TestA","Elapsed":1.25}`,
		`{"Action":"output","Package":"p","Output":"PASS\n"}`,
		`{"Action":"output","Package":"p","Output":"ok  \tp\t0.01s\n"}`,
		`{"Action":"pass","Package":"p"}`,
	}, "\n")
	var out bytes.Buffer
	failed, err := report(strings.NewReader(in), &out, options{})
	if err != nil || failed {
		t.Fatalf("report = %v, %v; want not failed", failed, err)
	}
	if want := "go: downloading example.com/x v1.0.0\nok  \tp\t0.01s\n\ntests: 1 passed, 0 failed, 0 skipped\nslowest tests:\n      1.2s p TestA\n"; out.String() != want {
		t.Errorf("report:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestSkippedBrowserTestsFailWhenRequired: under NEWSROOM_REQUIRE_BROWSER=1 a browser test that
// skipped (for want of a browser, or any test of the browser package) fails the run; other
// skips are listed as before. Without it, the same run passes.
func TestSkippedBrowserTestsFailWhenRequired(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"run","Package":"m/browser","Test":"TestDeskWorkflow"}`,
		`{"Action":"output","Package":"m/browser","Test":"TestDeskWorkflow","Output":"    desk_test.go:40: no browser: none of chromium is on the PATH: the browser tests are skipped\n"}`,
		`{"Action":"skip","Package":"m/browser","Test":"TestDeskWorkflow"}`,
		`{"Action":"run","Package":"m/browser","Test":"TestOther"}`,
		`{"Action":"output","Package":"m/browser","Test":"TestOther","Output":"    other_test.go:9: later\n"}`,
		`{"Action":"skip","Package":"m/browser","Test":"TestOther"}`,
		`{"Action":"run","Package":"m/pages","Test":"TestInChromium"}`,
		`{"Action":"output","Package":"m/pages","Test":"TestInChromium","Output":"    pages_test.go:7: no browser: NEWSROOM_CHROMIUM=/x: not found\n"}`,
		`{"Action":"skip","Package":"m/pages","Test":"TestInChromium"}`,
		`{"Action":"run","Package":"m/sqldb","Test":"TestPostgres"}`,
		`{"Action":"output","Package":"m/sqldb","Test":"TestPostgres","Output":"    sqldb_test.go:3: NEWSROOM_TEST_POSTGRES_URL not set\n"}`,
		`{"Action":"skip","Package":"m/sqldb","Test":"TestPostgres"}`,
		`{"Action":"pass","Package":"m/browser"}`,
		`{"Action":"pass","Package":"m/pages"}`,
		`{"Action":"pass","Package":"m/sqldb"}`,
	}, "\n")
	var out bytes.Buffer
	failed, err := report(strings.NewReader(in), &out, options{})
	if err != nil || failed {
		t.Errorf("report(browser tests skipped, not required) = %v, %v; want not failed\n%s", failed, err, out.String())
	}
	out.Reset()
	failed, err = report(strings.NewReader(in), &out, options{requireBrowser: true})
	if err != nil || !failed {
		t.Errorf("report(browser tests skipped, required) = %v, %v; want failed\n%s", failed, err, out.String())
	}
	got := out.String()
	_, listed, ok := strings.Cut(got, "FAIL: browser tests skipped (3), and NEWSROOM_REQUIRE_BROWSER=1")
	if !ok {
		t.Fatalf("the report does not say that 3 browser tests skipped:\n%s", got)
	}
	for _, want := range []string{"m/browser TestDeskWorkflow", "m/browser TestOther", "m/pages TestInChromium"} {
		if !strings.Contains(listed, want) {
			t.Errorf("the failure does not list %s:\n%s", want, got)
		}
	}
	if strings.Contains(listed, "TestPostgres") {
		t.Errorf("the failure lists a skip that is no browser test:\n%s", got)
	}
}
