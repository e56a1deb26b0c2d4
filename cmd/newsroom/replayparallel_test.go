package main

import (
	"os"
	"testing"
)

// TestParallelReplayEqualsSequential: `replay --parallel` rebuilds every view from one read of
// the log into the same rows as a replay one view after the other, also when it resumes views
// that an interrupted run left at different positions.
func TestParallelReplayEqualsSequential(t *testing.T) {
	t.Parallel()
	dir, reference, fresh := t.TempDir(), t.TempDir(), t.TempDir()
	const articles = 300
	last := writeLog(t, dir, articles)
	openDB(t, dir).Close()
	copyDir(t, dir, reference)
	copyDir(t, dir, fresh)
	runReplay(t, reference)
	want := dumpViews(t, reference)

	// Interrupt a sequential replay midway through the first view, so that the parallel one
	// resumes it from there and starts the others from the beginning.
	db := openDB(t, dir)
	p := startReplayProcess(t, dir, "--batch-size", "5")
	p.signalMidway(t, db, "published", last/4, 3*last/4, os.Interrupt)
	db.Close()

	got := replayed(t, runReplay(t, dir, "--parallel", "--batch-size", "50"))
	for _, view := range []string{"published", "desk", "history"} {
		if r, ok := got[view]; !ok || r[1] != last {
			t.Errorf("parallel replay of %s = %v; want it at position %d", view, r, last)
		}
	}
	if r := got["published"]; r[0] >= last {
		t.Errorf("parallel replay applied %d events to published; want it resumed (fewer than %d)", r[0], last)
	}
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("after the parallel replay the database still holds %v", l)
	}
	compareDumps(t, "parallel replay resuming an interrupted one", want, dumpViews(t, dir))

	// And from scratch.
	runReplay(t, fresh, "--parallel")
	compareDumps(t, "parallel replay from scratch", want, dumpViews(t, fresh))
}
