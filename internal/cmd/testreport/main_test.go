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
	failed, err := report(&stdout, &out)
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
		`{"Action":"pass","Package":"p","Test":"TestA"}`,
		`{"Action":"output","Package":"p","Output":"PASS\n"}`,
		`{"Action":"output","Package":"p","Output":"ok  \tp\t0.01s\n"}`,
		`{"Action":"pass","Package":"p"}`,
	}, "\n")
	var out bytes.Buffer
	failed, err := report(strings.NewReader(in), &out)
	if err != nil || failed {
		t.Fatalf("report = %v, %v; want not failed", failed, err)
	}
	if want := "go: downloading example.com/x v1.0.0\nok  \tp\t0.01s\n\ntests: 1 passed, 0 failed, 0 skipped\n"; out.String() != want {
		t.Errorf("report:\n%s\nwant:\n%s", out.String(), want)
	}
}
