package main

import (
	"os"
	"strings"
	"testing"
)

// testMainEnv makes the test binary run as the newsroom command itself, so that a test can run
// (and kill) a real newsroom process: os.Args[1:] are its arguments, as for the real binary.
const testMainEnv = "NEWSROOM_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(testMainEnv) == "1" {
		main() // exits with status 2 on error
		return
	}
	// Under -race, a process waits a second at exit for other goroutines' reports
	// (atexit_sleep_ms): the tests run this binary as newsroom a hundred times, mostly for an
	// answer that takes milliseconds. A race in a child is still reported as it happens.
	if !strings.Contains(os.Getenv("GORACE"), "atexit_sleep_ms") {
		os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	}
	os.Exit(m.Run())
}
