package main

// The bench's own client of the API, for setup and for the latency probe.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	nethttp "net/http"
	"strconv"
	"sync"
	"time"

	"github.com/newsroom/newsroom/bench"
)

type benchPublished struct {
	id, slug string
	version  int
}

// benchClient is the bench's own client of the API, for setup and for the latency probe.
type benchClient struct {
	base             string
	http             *nethttp.Client
	reporter, editor string
}

func (c *benchClient) do(ctx context.Context, method, path, token string, body any, ifMatch int) (*nethttp.Response, []byte, error) {
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, nil, err
		}
		r = bytes.NewReader(data)
	}
	req, err := nethttp.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ifMatch > 0 {
		req.Header.Set("If-Match", `"`+strconv.Itoa(ifMatch)+`"`)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp, data, err
}

func (c *benchClient) expect(ctx context.Context, want int, method, path, token string, body any) ([]byte, error) {
	resp, data, err := c.do(ctx, method, path, token, body, 0)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	return data, nil
}

// draft drafts a complete article from the corpus (headline numbered n, so that slugs differ).
func (c *benchClient) draft(ctx context.Context, text bench.Text, body string, n int) (string, error) {
	data, err := c.expect(ctx, nethttp.StatusCreated, "POST", "/api/v1/articles", c.reporter, map[string]any{
		"headline": fmt.Sprintf("%s (%d)", text.Headline, n), "summary": text.Lede, "body": body,
		"byline": "Bench Reporter", "dateline": "BRUSSELS", "tags": []string{"nato", "bench"},
	})
	if err != nil {
		return "", err
	}
	var a struct{ ID string }
	return a.ID, json.Unmarshal(data, &a)
}

func (c *benchClient) approve(ctx context.Context, id string) error {
	if _, err := c.expect(ctx, nethttp.StatusOK, "POST", "/api/v1/articles/"+id+"/submit", c.reporter, nil); err != nil {
		return err
	}
	_, err := c.expect(ctx, nethttp.StatusOK, "POST", "/api/v1/articles/"+id+"/approve", c.editor, nil)
	return err
}

func (c *benchClient) publish(ctx context.Context, id string) (benchPublished, error) {
	data, err := c.expect(ctx, nethttp.StatusOK, "POST", "/api/v1/articles/"+id+"/publish", c.editor, nil)
	if err != nil {
		return benchPublished{}, err
	}
	var a struct {
		Slug    string
		Version int
	}
	return benchPublished{id: id, slug: a.Slug, version: a.Version}, json.Unmarshal(data, &a)
}

// readable polls GET /public/v1/articles/{slug} until it answers 200 with version at least
// version, and returns that body: every millisecond for the first 100 ms (the resolution the
// latency target needs), every 20 ms after, so that the probe of a late article does not take
// the CPU the views need to catch up.
func (c *benchClient) readable(ctx context.Context, slug string, version int, within time.Duration) ([]byte, error) {
	started := time.Now()
	deadline := started.Add(within)
	for {
		resp, data, err := c.do(ctx, "GET", "/public/v1/articles/"+slug, "", nil, 0)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == nethttp.StatusOK {
			var a struct{ Version int }
			if err := json.Unmarshal(data, &a); err != nil {
				return nil, err
			}
			if a.Version >= version {
				return data, nil
			}
		} else if resp.StatusCode != nethttp.StatusNotFound {
			return nil, fmt.Errorf("GET %s: status %d: %s", slug, resp.StatusCode, data)
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
