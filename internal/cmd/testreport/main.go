// Command testreport reads `go test -json` on stdin and prints what plain `go test` would: each
// package's result line and the output of the tests that failed, without the chatter of those
// that passed. At the end it counts the tests and lists every skipped one with its reason, so
// that a run cannot pass quietly by skipping. It exits 1 if a test, a package or a build failed.
//
//	go test -json ./... | go run ./internal/cmd/testreport
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	if failed, err := report(os.Stdin, os.Stdout); err != nil || failed {
		if err != nil {
			fmt.Fprintln(os.Stderr, "testreport:", err)
		}
		os.Exit(1)
	}
}

// report reads `go test -json` from in and writes the report to out. It reports whether
// anything failed.
func report(in io.Reader, out io.Writer) (failed bool, err error) {
	r := newRun(out)
	if err := r.read(in); err != nil {
		return true, err
	}
	r.summary()
	return r.failed, nil
}
