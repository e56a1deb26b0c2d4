package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// walkthroughFence opens a README block that TestReadmeWalkthrough runs. Other shell blocks
// ("sh", or "sh walkthrough-pending" for a step whose feature is not merged yet) are not run.
const walkthroughFence = "```sh walkthrough"

// walkthrough returns the README's walkthrough blocks, in order.
func walkthrough(tb testing.TB, readme string) []string {
	tb.Helper()
	f, err := os.Open(readme)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var (
		blocks []string
		block  *strings.Builder
	)
	lines := bufio.NewScanner(f)
	for n := 1; lines.Scan(); n++ {
		line := lines.Text()
		switch {
		case block == nil && strings.TrimSpace(line) == walkthroughFence:
			block = &strings.Builder{}
			fmt.Fprintf(block, "# README.md line %d\n", n)
		case block != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, block.String())
			block = nil
		case block != nil:
			block.WriteString(line + "\n")
		}
	}
	if err := lines.Err(); err != nil {
		tb.Fatal(err)
	}
	if block != nil {
		tb.Fatalf("%s: a walkthrough block is not closed", readme)
	}
	return blocks
}

// TestReadmeWalkthrough runs the README's walkthrough blocks as written, in order, in one bash
// with `set -euo pipefail`, in a fresh directory, against a real `newsroom serve` started there
// in the background (the README's "first terminal"), with `newsroom` on the PATH. The test sets
// only the API's address (NEWSROOM_API). It runs the walkthrough twice on the same data
// directory: a reader who runs it again must succeed again.
func TestReadmeWalkthrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the README's walkthrough needs %s, which is not installed (.ci/run installs jq): walkthrough NOT checked", tool)
		}
	}
	blocks := walkthrough(t, filepath.Join("..", "..", "README.md"))
	if len(blocks) < 3 {
		t.Fatalf("README.md has %d %q blocks; want the walkthrough's (tokens, a first communiqué, subscribers)", len(blocks), walkthroughFence)
	}
	script := "set -euo pipefail\n" + strings.Join(blocks, "\n")

	// `newsroom` is this test binary run as the command (see TestMain), so that the walkthrough
	// runs the code under test without a build of its own.
	bin := t.TempDir()
	wrapper := fmt.Sprintf("#!/bin/sh\n%s=1 exec %q \"$@\"\n", testMainEnv, os.Args[0])
	if err := os.WriteFile(filepath.Join(bin, "newsroom"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	serve := startServeProcess(t, work, 0, nil, "--nats-no-sync")
	// The walkthrough sees none of the NEWSROOM_* settings this test may run with.
	env := append(withoutNewsroomSettings(os.Environ()),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "NEWSROOM_API="+serve.base)

	for run, slug := range []string{"nato-russia-foreign-ministers-meet", "nato-russia-foreign-ministers-meet-2"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a guard against a hang, not a speed test
		cmd := exec.CommandContext(ctx, "bash", "-c", script)
		cmd.Dir, cmd.Env = work, env
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		cancel()
		if err != nil {
			t.Fatalf("walkthrough run %d: %v\nstdout:\n%s\nstderr:\n%s\nserve's log:\n%s", run+1, err, &out, &errOut, serve.stderr)
		}
		if !strings.Contains(out.String(), `"slug": "`+slug+`"`) {
			t.Errorf("walkthrough run %d printed:\n%s\nwant the communiqué published at %s", run+1, &out, slug)
		}
		if testing.Verbose() {
			t.Logf("walkthrough run %d:\n%s\nstderr:\n%s", run+1, &out, &errOut)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(work, "data")); len(entries) == 0 {
		t.Errorf("nothing in %s/data: the walkthrough and serve should share ./data", work)
	}
}
