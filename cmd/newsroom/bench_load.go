package main

// Loads run in a second process (this binary, `newsroom bench-load`).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/newsroom/newsroom/bench"
)

// loadProcessCommand is the hidden subcommand that runs a load in a second process.
const loadProcessCommand = "bench-load"

// runLoadProcess runs spec in a second process (this binary, `newsroom bench-load`), so that
// the load generator does not share the measured server's Go runtime and scheduler.
func runLoadProcess(ctx context.Context, spec bench.LoadSpec) (bench.LoadResult, error) {
	var res bench.LoadResult
	if err := runLoadProcessInto(ctx, spec, &res); err != nil {
		return res, err
	}
	if res.Requests == 0 {
		return res, fmt.Errorf("load process: no request succeeded (%d errors, first: %s)", res.Errors, res.FirstErr)
	}
	return res, nil
}

// runLoadProcessInto runs spec in a second process and decodes its JSON answer into res.
func runLoadProcessInto(ctx context.Context, spec bench.LoadSpec, res any) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	in, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, exe, loadProcessCommand)
	cmd.Stdin = bytes.NewReader(in)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("load process: %w: %s", err, errOut.String())
	}
	if err := json.Unmarshal(out.Bytes(), res); err != nil {
		return fmt.Errorf("load process answered %.200q: %w", out.String(), err)
	}
	return nil
}

// benchLoadCommand runs the load that stdin describes (a bench.LoadSpec as JSON) and writes the
// bench.LoadResult to stdout as JSON.
func benchLoadCommand(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	var spec bench.LoadSpec
	if err := json.NewDecoder(stdin).Decode(&spec); err != nil {
		return fmt.Errorf("%s: read the load spec from stdin: %w", loadProcessCommand, err)
	}
	if spec.SSE != nil {
		res, err := bench.RunSSE(ctx, spec)
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(res)
	}
	res, err := bench.RunLoad(ctx, spec)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(res)
}
