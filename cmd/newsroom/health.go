package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	nethttp "net/http"
	"net/url"
	"strings"
	"time"

	apiclient "github.com/newsroom/newsroom/client"
)

// healthCommand asks a running serve whether it is ready and exits 0 only if it is. It is the
// container health check: the image has no shell, curl or wget, only this binary.
func healthCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		target  string
		timeout time.Duration
	)
	f := newFlags("health", stderr)
	f.string(&target, "url", "http://127.0.0.1:8080/readyz", "the endpoint to ask, /readyz or /healthz: 2xx is healthy")
	f.fs.DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the answer")
	if err := f.parse(args); err != nil {
		return err
	}
	base, probe, err := splitProbeURL(target)
	if err != nil {
		return err
	}
	// A health check wants the answer of now: the probes are never retried.
	c, err := apiclient.New(base)
	if err != nil {
		return fmt.Errorf("health: --url %q: %w", target, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if probe == "/healthz" {
		if err := c.Healthy(ctx); err != nil {
			return fmt.Errorf("health: %s: %w", target, err)
		}
		fmt.Fprintln(stdout, "200 OK ok")
		return nil
	}
	report, err := c.Ready(ctx)
	var problem *apiclient.Problem
	if err != nil && !errors.As(err, &problem) {
		return fmt.Errorf("health: %w", err)
	}
	// The report (the log's position, each view's state) goes into `docker inspect`'s health log.
	if report.Status != "" {
		status := "200 OK"
		if problem != nil {
			status = fmt.Sprintf("%d %s", problem.Status, nethttp.StatusText(problem.Status))
		}
		body, _ := json.Marshal(report)
		fmt.Fprintf(stdout, "%s %s\n", status, body)
	}
	if err != nil {
		return fmt.Errorf("health: %s answered %w", target, err)
	}
	return nil
}

// splitProbeURL splits the URL of a probe into the API's base URL and the probe's path.
func splitProbeURL(target string) (base, probe string, err error) {
	u, err := url.Parse(target)
	if err == nil {
		for _, p := range []string{"/readyz", "/healthz"} {
			if prefix, ok := strings.CutSuffix(u.Path, p); ok {
				u.Path, u.RawPath, u.RawQuery = prefix, "", ""
				return u.String(), p, nil
			}
		}
	}
	return "", "", fmt.Errorf("health: --url %q: want the address of /readyz or /healthz, like http://127.0.0.1:8080/readyz", target)
}
