package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestBenchQuick runs `newsroom bench --quick` (its load in a second process: this test binary
// run as newsroom) and checks that it reports every row with figures; it never judges them.
func TestBenchQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("starts NATS, SQLite and a second process: not in -short")
	}
	t.Setenv(testMainEnv, "1") // the load process is this binary, run as newsroom
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"bench", "--quick", "--data-dir", t.TempDir(),
		"--corpus", "../../testdata/nato-russia-council-ministers-meet.txt"}, &out, &errOut)
	if err != nil {
		t.Fatalf("bench --quick: %v\n%s", err, errOut.String())
	}
	report := out.String()
	rows := []struct{ prefix, figure string }{
		{"commands/s", `\|([\d,]+) publish/s[^|]*\|([\d,]+)\s*\|`},
		{"public reads/s by slug", `\|([\d,]+) req/s[^|]*\|([\d,]+)\s*\|`},
		{"public pages/s by slug", `\|([\d,]+) req/s[^|]*\|([\d,]+)\s*\|`},
		{"image reads/s", `renditions of ([\d,]+) / ([\d,]+) / ([\d,]+) bytes\)\s*\|([\d,]+) req/s[^|]*\|([\d,]+)\s*\|`},
		{"upload of a ", `\|[^|]*\|([\d.]+) ms \(([\d.]+) ms–([\d.]+) ms\)`},
		{"upload peak RSS", `\|[^|]*\|(\d+) MB`},
		{"publish → public p99", `\|[^|]*\|([\d.]+) ms`},
		{"publish → NATS subscriber p99", `\|[^|]*\|([\d.]+) ms`},
		{"publish → SSE reader p99", `\((\d+) readers, \d+ failed; (\d+) deliveries, \d+ missed\)\s*\|[^|]*\|([\d.]+) ms`},
		{"replay log events/s (", `\|min\(([\d,]+) events/s read, ([\d,]+) events/s written\)\s*\|([\d,]+)\s*\|`},
		{"replay peak RSS", `\|[^|]*\|(\d+) MB`},
	}
	for _, row := range rows {
		line := lineStarting(report, row.prefix)
		if line == "" {
			t.Errorf("report has no row %q:\n%s", row.prefix, report)
			continue
		}
		m := regexp.MustCompile(row.figure).FindStringSubmatch(line)
		if m == nil {
			t.Errorf("row %q = %q; want figures matching %s", row.prefix, line, row.figure)
			continue
		}
		for _, figure := range m[1:] {
			if n, err := strconv.ParseFloat(strings.ReplaceAll(figure, ",", ""), 64); err != nil || n <= 0 {
				t.Errorf("row %q: figure %q; want a number > 0", row.prefix, figure)
			}
		}
	}
	for _, phase := range []string{"raw-publish", "raw-upsert", "raw-echo", "public-reads", "raw-echo-pages", "pages", "upload", "raw-echo-images", "images", "commands", "publish-latency", "replay"} {
		if lineStarting(report, phase+" ") == "" {
			t.Errorf("report has no memory row for phase %s:\n%s", phase, report)
		}
	}
}

func lineStarting(text, prefix string) string {
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	return ""
}
