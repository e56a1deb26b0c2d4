package main

import (
	"os"
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
	os.Exit(m.Run())
}
