package main

// The public pages' phases: the article pages by slug, beside raw Echo serving the same bytes.

import (
	"context"
	"fmt"
	"io"
	nethttp "net/http"
	"time"

	"github.com/newsroom/newsroom/bench"
)

// runPages measures GET /news/{slug} over the published articles against raw Echo serving the
// pages newsroom answered, byte for byte, with the same media type.
func (b *benchRun) runPages(ctx context.Context, app *app, published []benchPublished) error {
	cfg := b.cfg
	if !cfg.wants("raw-echo-pages") && !cfg.wants("pages") {
		return nil
	}
	client := &nethttp.Client{Timeout: 30 * time.Second}
	bodies := map[string][]byte{}
	var paths []string
	for _, p := range published {
		path := "/news/" + p.slug
		body, err := getPageBytes(ctx, client, "http://"+app.httpAddr+path)
		if err != nil {
			return err
		}
		bodies[path] = body
		paths = append(paths, path)
	}
	if err := b.phase("raw-echo-pages", cfg.Duration, func() error {
		addr, stop, err := bench.RawEchoAs(bodies, "text/html; charset=utf-8")
		if err != nil {
			return err
		}
		defer stop()
		b.rawPages, err = runLoadProcess(ctx, bench.LoadSpec{Addr: addr, Connections: cfg.Connections, Duration: cfg.Duration, Paths: paths})
		return err
	}); err != nil {
		return err
	}
	return b.phase("pages", cfg.Duration, func() (err error) {
		b.pages, err = runLoadProcess(ctx, bench.LoadSpec{Addr: app.httpAddr, Connections: cfg.Connections, Duration: cfg.Duration, Paths: paths})
		return err
	})
}

func getPageBytes(ctx context.Context, client *nethttp.Client, url string) ([]byte, error) {
	req, err := nethttp.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != nethttp.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}
