package main

import (
	"bytes"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestCIFailsWithoutPostgreSQL: .ci/run, pointed at a port where no PostgreSQL answers, fails
// before it tests anything, saying why, instead of running the suite with PostgreSQL skipped.
func TestCIFailsWithoutPostgreSQL(t *testing.T) {
	// A port nothing listens on: taken, then let go.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	cmd := exec.Command("bash", "../../../.ci/run")
	cmd.Env = append(cmd.Environ(), "NEWSROOM_TEST_POSTGRES_URL=", "NEWSROOM_CI_PG_PORT="+strconv.Itoa(port))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf(".ci/run with no PostgreSQL at port %d: %v; want a non-zero exit\n%s%s", port, err, stdout.String(), stderr.String())
	}
	if strings.Contains(stdout.String(), "ci: gofmt") {
		t.Errorf(".ci/run went on past the PostgreSQL check:\n%s", stdout.String())
	}
	want := "ci: FAILED: PostgreSQL does not answer at 127.0.0.1:" + strconv.Itoa(port)
	if _, lookErr := exec.LookPath("pg_isready"); lookErr != nil {
		want = "ci: FAILED: pg_isready not found"
	}
	if !strings.Contains(stderr.String(), want) {
		t.Errorf(".ci/run said:\n%s%s\nwant %q", stdout.String(), stderr.String(), want)
	}
}
