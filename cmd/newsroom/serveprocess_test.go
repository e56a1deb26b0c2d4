package main

import (
	"errors"
	"fmt"
	"io"
	nethttp "net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// serveProcess is `newsroom serve` running as a process of its own, as a user starts it: the
// test binary, re-executed as the newsroom command (see TestMain).
type serveProcess struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer // its log
	base   string        // the API's base URL
	done   chan struct{} // closed when the process has ended
	err    error         // how it ended, once done is closed
}

// startServeProcess starts `newsroom serve --http 127.0.0.1:<port> ARGS…` in workDir (the
// default data directory is workDir/data) with env added to this process's environment (less
// any NEWSROOM_* setting of the developer's, which would change what serve does), and
// waits until it is ready (/readyz answers 200). port 0 picks a free one. It is interrupted, if
// it still runs, when the test ends.
func startServeProcess(tb testing.TB, workDir string, port int, env []string, args ...string) *serveProcess {
	tb.Helper()
	p := launchServeProcess(tb, workDir, port, env, args...)
	waitUntil(tb, "serve to be ready at "+p.base, 2*time.Minute, func() bool {
		select {
		case <-p.done:
			tb.Fatalf("serve ended before it was ready: %v\n%s", p.err, p.stderr)
		default:
		}
		resp, err := nethttp.Get(p.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == nethttp.StatusOK
	})
	return p
}

// launchServeProcess starts serve as startServeProcess does, without waiting for anything.
func launchServeProcess(tb testing.TB, workDir string, port int, env []string, args ...string) *serveProcess {
	tb.Helper()
	if port == 0 {
		port = freePort(tb)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--http", addr}, args...)...)
	cmd.Dir = workDir
	cmd.Env = append(append(withoutNewsroomSettings(os.Environ()), env...), testMainEnv+"=1")
	p := &serveProcess{cmd: cmd, stderr: &lockedBuffer{}, base: "http://" + addr, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if testing.Verbose() {
		cmd.Stderr = io.MultiWriter(p.stderr, os.Stderr)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() { p.stop(tb) })
	return p
}

// stop interrupts serve, as ^C does, and waits until it has ended; serve must exit cleanly.
// It may be called more than once.
func (p *serveProcess) stop(tb testing.TB) {
	tb.Helper()
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		_ = p.cmd.Process.Kill()
		<-p.done
		tb.Errorf("serve did not stop within a minute of SIGINT\n%s", p.stderr)
		return
	}
	if p.err != nil {
		tb.Errorf("serve ended with %v after SIGINT\n%s", p.err, p.stderr)
	}
}

// exitCode waits for the process to end by itself and returns its exit status.
func (p *serveProcess) exitCode(tb testing.TB) int {
	tb.Helper()
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		tb.Fatalf("serve still runs after a minute; want it to have refused to start\n%s", p.stderr)
	}
	var exit *exec.ExitError
	if errors.As(p.err, &exit) {
		return exit.ExitCode()
	}
	if p.err != nil {
		tb.Fatal(p.err)
	}
	return 0
}

// withoutNewsroomSettings is env without its NEWSROOM_* variables.
func withoutNewsroomSettings(env []string) []string {
	var kept []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "NEWSROOM_") {
			kept = append(kept, kv)
		}
	}
	return kept
}
