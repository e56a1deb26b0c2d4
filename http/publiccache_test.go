package http

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// countingLoad renders article id's answer and counts how often it was asked to.
type countingLoad struct {
	id    string
	calls int
	also  func() // run during the read, as a concurrent commit would
}

func (l *countingLoad) load(context.Context) (renderedAnswer, error) {
	l.calls++
	if l.also != nil {
		l.also()
	}
	return renderedAnswer{body: []byte(fmt.Sprintf("%s read %d", l.id, l.calls)), articleID: l.id}, nil
}

func TestPublicCacheInvalidation(t *testing.T) {
	ctx := context.Background()
	c := NewPublicCache(PublicCacheMaxAge)
	a, b := &countingLoad{id: "a"}, &countingLoad{id: "b"}
	list := &countingLoad{}
	read := func() {
		t.Helper()
		for _, step := range []func() error{
			func() error { _, err := c.article(ctx, "slug-a", a.load); return err },
			func() error { _, err := c.article(ctx, "slug-b", b.load); return err },
			func() error { _, err := c.list(ctx, "list", list.load); return err },
		} {
			if err := step(); err != nil {
				t.Fatal(err)
			}
		}
	}
	read()
	read()
	if a.calls != 1 || b.calls != 1 || list.calls != 1 {
		t.Fatalf("two rounds of reads loaded a %d, b %d, the list %d times; want each once", a.calls, b.calls, list.calls)
	}
	c.Invalidate([]string{"a"})
	read()
	if a.calls != 2 || b.calls != 1 || list.calls != 2 {
		t.Errorf("after Invalidate(a): loads a %d, b %d, list %d; want 2, 1 (untouched), 2 (every listing goes)", a.calls, b.calls, list.calls)
	}
	c.Invalidate(nil)
	read()
	if a.calls != 3 || b.calls != 2 || list.calls != 3 {
		t.Errorf("after Invalidate(nil): loads a %d, b %d, list %d; want every answer read again", a.calls, b.calls, list.calls)
	}
}

// TestPublicCacheMaxAge: whatever invalidations are lost, no answer is served once it is
// PublicCacheMaxAge old.
func TestPublicCacheMaxAge(t *testing.T) {
	ctx := context.Background()
	c := NewPublicCache(PublicCacheMaxAge)
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	a := &countingLoad{id: "a"}
	for _, step := range []struct {
		after     time.Duration
		wantCalls int
	}{{0, 1}, {PublicCacheMaxAge - time.Millisecond, 1}, {time.Millisecond, 2}, {PublicCacheMaxAge / 2, 2}} {
		now = now.Add(step.after)
		if _, err := c.article(ctx, "slug-a", a.load); err != nil || a.calls != step.wantCalls {
			t.Errorf("read %v later: %d loads, %v; want %d", step.after, a.calls, err, step.wantCalls)
		}
	}
}

// TestPublicCacheKeepsNoRacedRead: an answer read while an invalidation happened is served,
// and not kept: the next read goes to the view.
func TestPublicCacheKeepsNoRacedRead(t *testing.T) {
	ctx := context.Background()
	c := NewPublicCache(PublicCacheMaxAge)
	a := &countingLoad{id: "a"}
	a.also = func() { c.Invalidate([]string{"other"}); a.also = nil }
	for range 2 {
		if _, err := c.article(ctx, "slug-a", a.load); err != nil {
			t.Fatal(err)
		}
	}
	if a.calls != 2 {
		t.Errorf("a raced read then another = %d loads; want 2 (the raced one is not kept)", a.calls)
	}
	if _, err := c.article(ctx, "slug-a", a.load); err != nil || a.calls != 2 {
		t.Errorf("a third read = %d loads; want 2 (the second one is kept)", a.calls)
	}
	fresh := context.WithValue(ctx, freshReadKey{}, true)
	if _, err := c.article(fresh, "slug-a", a.load); err != nil || a.calls != 3 {
		t.Errorf("a read at a position = %d loads; want 3 (it reads the view)", a.calls)
	}
}

// TestPublicCacheReadsOnceForABurst: readers that ask for an answer while it is being read
// wait for that read instead of reading the view again.
func TestPublicCacheReadsOnceForABurst(t *testing.T) {
	ctx := context.Background()
	c := NewPublicCache(PublicCacheMaxAge)
	release := make(chan struct{})
	var calls atomic.Int32
	load := func(context.Context) (renderedAnswer, error) {
		calls.Add(1)
		<-release
		return renderedAnswer{body: []byte("feed")}, nil
	}
	const readers = 5
	got := make(chan string, readers)
	for range readers {
		go func() {
			a, err := c.list(ctx, "feed", load)
			if err != nil {
				got <- err.Error()
				return
			}
			got <- string(a.body)
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for waiting := 0; waiting < readers-1; {
		if time.Now().After(deadline) {
			t.Fatalf("%d readers joined the read; want %d", waiting, readers-1)
		}
		c.mu.Lock()
		waiting = 0
		for _, f := range c.flights {
			waiting += f.waiting
		}
		c.mu.Unlock()
		runtime.Gosched()
	}
	close(release)
	for range readers {
		if s := <-got; s != "feed" {
			t.Errorf("a reader got %q; want feed", s)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d reads of the view for %d readers; want 1", n, readers)
	}
}
