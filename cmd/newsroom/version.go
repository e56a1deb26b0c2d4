package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// buildVersion is what the Go toolchain recorded in the binary about what it was built from:
// what `newsroom version` prints, /readyz reports and serve logs first.
type buildVersion struct {
	Module   string // the module's version: a tag, a pseudo-version (v0.0.0-<time>-<revision>), or (devel)
	Revision string // the VCS revision; empty when the build did not record one (go run, go test)
	Time     string // the revision's commit time
	Modified bool   // built from a tree with uncommitted changes
	Go       string // the toolchain
}

// readBuildVersion reads the build information of this binary.
func readBuildVersion() buildVersion {
	v := buildVersion{Module: "(unknown)", Go: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if info.Main.Version != "" {
		v.Module = info.Main.Version
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String is the version on one line: the module version, then the revision (12 digits) and
// "modified" when there are, e.g. "v0.0.0-20261206071004-d706135abcde+dirty (d706135abcde, modified)".
func (v buildVersion) String() string {
	s := v.Module
	switch rev := v.Revision; {
	case rev == "":
	case v.Modified:
		s += fmt.Sprintf(" (%.12s, modified)", rev)
	default:
		s += fmt.Sprintf(" (%.12s)", rev)
	}
	return s
}

func versionCommand(_ context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("version", stderr)
	if err := f.parse(args); err != nil {
		return err
	}
	v := readBuildVersion()
	revision, at, modified := v.Revision, v.Time, fmt.Sprint(v.Modified)
	if revision == "" {
		// go run and go test record no VCS information; go build and go install do.
		revision, at, modified = "unknown (not recorded: built with go run or go test?)", "unknown", "unknown"
	}
	_, err := fmt.Fprintf(stdout, "newsroom %s\nrevision  %s\ntime      %s\nmodified  %s\ngo        %s\n", v.Module, revision, at, modified, v.Go)
	return err
}
