package main

// The publish-latency phase: publish → readable, → a NATS subscriber, → SSE readers.

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/newsroom/newsroom/bench"
	"github.com/newsroom/newsroom/events"
)

// runLatency publishes articles at PublishRate while a second process revises others at
// SteadyRate, and measures each publish from its answer to the first GET by slug that shows
// the published version ("readable"). Articles are drafted, submitted and approved before.
func (b *benchRun) runLatency(ctx context.Context, app *app, c *benchUsers) error {
	cfg := b.cfg
	n := int(cfg.PublishRate*cfg.LatencyTime.Seconds()) + 1
	approved, err := parallelMap(ctx, n, 8, func(i int) (string, error) {
		id, err := c.draft(ctx, b.text, b.body, 1_000_000+i)
		if err != nil {
			return "", err
		}
		return id, c.approve(ctx, id)
	})
	if err != nil {
		return err
	}
	// The steady load revises fresh drafts (the command phase moved the others' versions).
	steadyDrafts, err := parallelMap(ctx, max(cfg.Connections, 32), 16, func(i int) (bench.ArticleVersion, error) {
		id, err := c.draft(ctx, b.text, b.body, 2_000_000+i)
		return bench.ArticleVersion{ID: id, Version: 1}, err
	})
	if err != nil {
		return err
	}
	// Steady means no backlog: the views first catch up with the setup.
	if _, err := waitForViews(ctx, app); err != nil {
		return err
	}
	type loadDone struct {
		res bench.LoadResult
		err error
	}
	type sseDone struct {
		res bench.SSEResult
		err error
	}
	sse := make(chan sseDone, 1)
	if cfg.SSEClients > 0 {
		go func() {
			var res bench.SSEResult
			err := runLoadProcessInto(ctx, bench.LoadSpec{Addr: c.addr,
				Duration: cfg.LatencyTime + 5*time.Second,
				SSE:      &bench.SSELoad{Path: "/public/v1/stream", Clients: cfg.SSEClients, EventType: events.CloudEventType(events.ActionPublished)}}, &res)
			sse <- sseDone{res, err}
		}()
		time.Sleep(2 * time.Second) // the readers connect before the first publish
	}
	steady := make(chan loadDone, 1)
	steadyFor := cfg.LatencyTime + time.Second
	go func() {
		res, err := runLoadProcess(ctx, bench.LoadSpec{Addr: c.addr, Connections: min(32, len(steadyDrafts)),
			Duration: steadyFor, Rate: cfg.SteadyRate, Revise: &bench.ReviseLoad{Token: c.reporterToken, Articles: steadyDrafts, Body: b.body}})
		steady <- loadDone{res, err}
	}()
	// A plain NATS subscriber of the public stream's subjects, as a partner's would be: when
	// each publication reaches it.
	arrived := map[string]time.Time{}
	answered := map[string]time.Time{}
	var mu sync.Mutex
	nc, err := nats.Connect(app.natsURL, newsroomNATSOptions("bench-subscriber")...)
	if err != nil {
		return err
	}
	defer nc.Close()
	sub, err := nc.Subscribe(events.PublicSubject(events.ActionPublished, "*"), func(m *nats.Msg) {
		at := time.Now()
		mu.Lock()
		defer mu.Unlock()
		if id := m.Header.Get("ce-subject"); id != "" {
			if _, seen := arrived[id]; !seen {
				arrived[id] = at
			}
		}
	})
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for id, at := range answered {
			if got, ok := arrived[id]; ok {
				b.subscriberLat = append(b.subscriberLat, max(got.Sub(at), 0))
			} else {
				b.subscriberMissed++
			}
		}
	}()
	time.Sleep(500 * time.Millisecond) // let the steady load reach its rate before the first publish
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.PublishRate))
	defer tick.Stop()
	for _, id := range approved {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := c.publish(ctx, id)
			if err == nil {
				answeredAt := time.Now()
				mu.Lock()
				answered[id] = answeredAt
				mu.Unlock()
				if _, err = c.readable(ctx, p.slug, p.version, 30*time.Second); err == nil {
					mu.Lock()
					b.publishLat = append(b.publishLat, time.Since(answeredAt))
					mu.Unlock()
					return
				}
			}
			mu.Lock()
			b.publishFails++
			mu.Unlock()
			b.logf("publish %s: %v", id, err)
		}()
	}
	wg.Wait()
	done := <-steady
	b.steady = done.res
	if cfg.SSEClients > 0 {
		got := <-sse
		if got.err != nil {
			return got.err
		}
		b.sseConnected, b.sseFailed = got.res.Connected, got.res.Failed
		mu.Lock()
		for id, at := range answered {
			seen := got.res.Arrivals[id]
			b.sseMissed += b.sseConnected - len(seen)
			for _, ns := range seen {
				b.sseLat = append(b.sseLat, max(time.Unix(0, ns).Sub(at), 0))
			}
		}
		mu.Unlock()
	}
	return done.err
}
