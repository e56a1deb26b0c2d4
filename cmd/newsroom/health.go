package main

import (
	"context"
	"fmt"
	"io"
	nethttp "net/http"
	"time"
)

// healthCommand asks a running serve whether it is ready and exits 0 only if it is. It is the
// container health check: the image has no shell, curl or wget, only this binary.
func healthCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		target  string
		timeout time.Duration
	)
	f := newFlags("health", stderr)
	f.string(&target, "url", "http://127.0.0.1:8080/readyz", "the endpoint to ask: 2xx is healthy")
	f.fs.DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the answer")
	if err := f.parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := nethttp.NewRequestWithContext(ctx, nethttp.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	resp, err := nethttp.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	// The report (the log's position, each view's state) goes into `docker inspect`'s health log.
	fmt.Fprintf(stdout, "%s %s\n", resp.Status, body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("health: %s answered %s", target, resp.Status)
	}
	return nil
}
