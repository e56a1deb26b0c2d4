package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// runNewsroom runs this test binary as the newsroom command, in dir, and returns its stdout,
// stderr and exit status.
func runNewsroom(tb testing.TB, dir string, args ...string) (stdout, stderr string, code int) {
	tb.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), testMainEnv+"=1")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		tb.Fatalf("newsroom %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), code
}

// commandPaths lists every command and subcommand the table holds ("serve", "token create"),
// hidden ones aside.
func commandPaths(table []command, parent string) []string {
	var paths []string
	for _, c := range table {
		if c.hidden {
			continue
		}
		path := strings.TrimSpace(parent + " " + c.name)
		paths = append(paths, path)
		paths = append(paths, commandPaths(c.sub, path)...)
	}
	return paths
}

// TestHelpOnEveryCommand walks the command table: each command and subcommand answers --help,
// -h and `newsroom help …` with its usage on stdout, exit status 0, and does nothing else (no
// data directory appears, no server starts).
func TestHelpOnEveryCommand(t *testing.T) {
	paths := commandPaths(commandTable(), "")
	if len(paths) < 12 {
		t.Fatalf("the command table lists %d commands: %q; want serve, token and its 3, replay, tail, import, health, bench, version, help", len(paths), paths)
	}
	for _, path := range paths {
		words := strings.Fields(path)
		for _, args := range [][]string{
			append(append([]string{}, words...), "--help"),
			append(append([]string{}, words...), "-h"),
			append([]string{"help"}, words...),
		} {
			t.Run(strings.Join(args, "_"), func(t *testing.T) {
				dir := t.TempDir()
				stdout, stderr, code := runNewsroom(t, dir, args...)
				if code != 0 {
					t.Errorf("newsroom %s: exit %d; want 0\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout, stderr)
				}
				if !strings.Contains(stdout, "newsroom "+path) || !strings.Contains(strings.ToLower(stdout), "usage") {
					t.Errorf("newsroom %s printed on stdout:\n%s\nwant a usage naming 'newsroom %s'", strings.Join(args, " "), stdout, path)
				}
				if stderr != "" {
					t.Errorf("newsroom %s printed on stderr:\n%s\nwant nothing", strings.Join(args, " "), stderr)
				}
				if entries, _ := os.ReadDir(dir); len(entries) != 0 {
					t.Errorf("newsroom %s left %d files in its working directory; want none", strings.Join(args, " "), len(entries))
				}
			})
		}
	}

	// The list of commands, asked for in each way people ask.
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		stdout, stderr, code := runNewsroom(t, t.TempDir(), args...)
		if code != 0 || stderr != "" {
			t.Errorf("newsroom %s: exit %d, stderr %q; want 0 and nothing", args[0], code, stderr)
		}
		for _, path := range paths {
			if path != "token" && !strings.Contains(stdout, "newsroom "+path) {
				t.Errorf("newsroom %s does not list 'newsroom %s':\n%s", args[0], path, stdout)
			}
		}
	}
}

// TestHelpErrorsExitNonZero: what is not a command, or not a flag, fails with status 2 and says
// what was wrong on stderr, not on stdout.
func TestHelpErrorsExitNonZero(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "no command given"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"token"}, "token: no subcommand given"},
		{[]string{"token", "delete"}, `unknown command "token delete"`},
		{[]string{"serve", "--no-such-flag"}, "see 'newsroom serve --help'"},
		{[]string{"token", "create", "--no-such-flag"}, "see 'newsroom token create --help'"},
		{[]string{"help", "frobnicate"}, `no command "frobnicate"`},
	} {
		stdout, stderr, code := runNewsroom(t, t.TempDir(), tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.want) || stdout != "" {
			t.Errorf("newsroom %s: exit %d, stdout %q, stderr:\n%s\nwant exit 2, nothing on stdout, %q on stderr", strings.Join(tt.args, " "), code, stdout, stderr, tt.want)
		}
	}
}

// TestVersion: `newsroom version` prints what the binary's build information says, and so do
// /readyz and serve's first log line.
func TestVersion(t *testing.T) {
	v := readBuildVersion()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		stdout, stderr, code := runNewsroom(t, t.TempDir(), args...)
		if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "newsroom "+v.Module+"\n") || !strings.Contains(stdout, "go        "+v.Go+"\n") {
			t.Errorf("newsroom %s: exit %d, stderr %q, stdout:\n%s\nwant exit 0 and 'newsroom %s', 'go %s'", args[0], code, stderr, stdout, v.Module, v.Go)
		}
	}

	dir := t.TempDir()
	serve := startServeProcess(t, dir, 0, nil, "--data-dir", dir, "--nats-no-sync")
	var ready struct {
		Version string `json:"version"`
	}
	r := call(t, "GET", serve.base+"/readyz", "", nil)
	if err := json.Unmarshal(r.body, &ready); err != nil || ready.Version != v.String() || ready.Version == "" {
		t.Errorf("/readyz version = %q (%v); want %q\n%s", ready.Version, err, v.String(), r.body)
	}
	first, _, _ := strings.Cut(serve.stderr.String(), "\n")
	if !strings.Contains(first, "newsroom starting") || !strings.Contains(first, `version="`+v.String()+`"`) && !strings.Contains(first, "version="+v.String()) {
		t.Errorf("serve's first log line = %q; want 'newsroom starting' with version %q", first, v.String())
	}
}

// TestVersionString: the one-line version says the revision and whether the tree was modified
// when the build recorded them.
func TestVersionString(t *testing.T) {
	for _, tt := range []struct {
		v    buildVersion
		want string
	}{
		{buildVersion{Module: "(devel)"}, "(devel)"},
		{buildVersion{Module: "v1.2.0", Revision: "d706135abcdef0123456789"}, "v1.2.0 (d706135abcde)"},
		{buildVersion{Module: "v0.0.0-20261206071004-d706135abcde+dirty", Revision: "d706135abcdef0123456789", Modified: true},
			"v0.0.0-20261206071004-d706135abcde+dirty (d706135abcde, modified)"},
	} {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("%+v.String() = %q; want %q", tt.v, got, tt.want)
		}
	}
}
