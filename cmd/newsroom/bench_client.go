package main

// The bench's two users of the API, for setup and for the latency probe.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/newsroom/newsroom/bench"
	apiclient "github.com/newsroom/newsroom/client"
)

type benchPublished struct {
	id, slug string
	version  int
}

// benchUsers are the bench's reporter and editor, as clients of the API under test.
type benchUsers struct {
	addr             string // host:port of the API
	reporterToken    string // for the load process's revisions
	reporter, editor *apiclient.Client
}

// draft drafts a complete article from the corpus (headline numbered n, so that slugs differ).
func (c *benchUsers) draft(ctx context.Context, text bench.Text, body string, n int) (string, error) {
	a, err := c.reporter.Draft(ctx, apiclient.NewArticle{
		Headline: fmt.Sprintf("%s (%d)", text.Headline, n), Summary: text.Lede, Body: body,
		Byline: "Bench Reporter", Dateline: "BRUSSELS", Tags: []string{"nato", "bench"},
	})
	return a.ID, err
}

func (c *benchUsers) approve(ctx context.Context, id string) error {
	if _, err := c.reporter.Submit(ctx, id); err != nil {
		return err
	}
	_, err := c.editor.Approve(ctx, id)
	return err
}

func (c *benchUsers) publish(ctx context.Context, id string) (benchPublished, error) {
	a, err := c.editor.Publish(ctx, id)
	return benchPublished{id: id, slug: a.Slug, version: a.Version}, err
}

// readable polls the public article by slug until it shows version at least version, and
// returns the answer's bytes: every millisecond for the first 100 ms (the resolution the
// latency target needs), every 20 ms after, so that the probe of a late article does not take
// the CPU the views need to catch up.
func (c *benchUsers) readable(ctx context.Context, slug string, version int, within time.Duration) ([]byte, error) {
	started := time.Now()
	deadline := started.Add(within)
	for {
		body, err := c.reporter.PublicArticleJSON(ctx, slug)
		switch {
		case err == nil:
			var a apiclient.PublicArticle
			if err := json.Unmarshal(body, &a); err != nil {
				return nil, fmt.Errorf("public article %s: %w", slug, err)
			}
			if a.Version >= version {
				return body, nil
			}
		case !errors.Is(err, apiclient.ErrNotFound):
			return nil, fmt.Errorf("public article %s: %w", slug, err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s not readable at version %d after %s", slug, version, within)
		}
		pause := time.Millisecond
		if time.Since(started) > 100*time.Millisecond {
			pause = 20 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
		}
	}
}

// parallelMap calls fn for 0..n-1 on `workers` goroutines and returns the results in order.
func parallelMap[T any](ctx context.Context, n, workers int, fn func(int) (T, error)) ([]T, error) {
	out := make([]T, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = fn(i)
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, errors.Join(errs...)
}
