package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	nethttp "net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/bench"
	"github.com/newsroom/newsroom/events"
)

// BenchmarkSSEFanOut measures publish → server-sent event: a newsroom serve in a process of
// its own (this binary run as newsroom), N readers of /public/v1/stream in this one, and
// public messages published straight to NEWSROOM_PUBLIC at a steady rate, each carrying its
// publish time. Run it once per size:
//
//	go test -run '^$' -bench BenchmarkSSEFanOut -benchtime 1x ./cmd/newsroom/
//
// It reports, over every (message, reader) pair, the p50, p99 and largest delay from the
// publish call to the reader having the event; the p99 over messages of the time until the
// last reader has it ("reaches all"); and the serve process's peak RSS. With
// NEWSROOM_SSE_BENCH_INPROCESS=1, serve runs in the benchmark's process instead (for
// -cpuprofile; its RSS then counts the readers too).
func BenchmarkSSEFanOut(b *testing.B) {
	for _, tc := range []struct {
		clients, messages int
		rate              float64 // messages per second
	}{
		{1000, 300, 50},
		{10000, 30, 1},
	} {
		b.Run(fmt.Sprintf("clients=%d", tc.clients), func(b *testing.B) {
			for range b.N {
				benchSSEFanOut(b, tc.clients, tc.messages, tc.rate)
			}
		})
	}
}

func benchSSEFanOut(b *testing.B, clients, messages int, rate float64) {
	var base, natsURL string
	var servePid int
	if os.Getenv("NEWSROOM_SSE_BENCH_INPROCESS") == "1" {
		// serve in this process, so that go test -cpuprofile sees both sides.
		ta := startTestAppWith(b, config{HTTP: "127.0.0.1:0", DataDir: b.TempDir(), NATSListen: "127.0.0.1:0", NoSync: true,
			SSEMaxClients: clients + 100})
		base, natsURL, servePid = ta.base, ta.natsURL, os.Getpid()
	} else {
		dir := b.TempDir()
		serve := exec.Command(os.Args[0], "serve", "--data-dir", dir, "--http", "127.0.0.1:0", "--nats-no-sync",
			"--sse-max-clients", strconv.Itoa(clients+100))
		serve.Env = append(os.Environ(), testMainEnv+"=1")
		if err := serve.Start(); err != nil {
			b.Fatal(err)
		}
		defer func() {
			_ = serve.Process.Signal(os.Interrupt)
			_ = serve.Wait()
		}()
		servePid = serve.Process.Pid
		waitUntil(b, "serve's http.url and nats.url", 30*time.Second, func() bool {
			h, err1 := os.ReadFile(filepath.Join(dir, httpURLFile))
			n, err2 := os.ReadFile(filepath.Join(dir, natsURLFile))
			base, natsURL = strings.TrimSpace(string(h)), strings.TrimSpace(string(n))
			return err1 == nil && err2 == nil && base != "" && natsURL != ""
		})
	}
	nc, err := nats.Connect(natsURL)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	waitUntil(b, "the public stream", 30*time.Second, func() bool {
		_, err := js.Stream(context.Background(), events.PublicStreamName)
		return err == nil
	})

	// The readers: delays[m][r] is when reader r had message m, after its publish.
	delays := make([][]time.Duration, messages)
	for i := range delays {
		delays[i] = make([]time.Duration, clients)
	}
	var connected, finished atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	transport := &nethttp.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: -1, DialContext: (&net.Dialer{}).DialContext}
	client := &nethttp.Client{Transport: transport}
	dialing := make(chan struct{}, 100) // connect at most this many at once: the listen backlog
	var readers sync.WaitGroup
	for r := range clients {
		readers.Add(1)
		go func() {
			defer readers.Done()
			dialing <- struct{}{}
			req, _ := nethttp.NewRequestWithContext(ctx, "GET", base+"/public/v1/stream", nil)
			resp, err := client.Do(req)
			<-dialing
			if err != nil || resp.StatusCode != 200 {
				b.Errorf("reader %d: %v", r, err)
				return
			}
			defer resp.Body.Close()
			connected.Add(1)
			lines := bufio.NewReaderSize(resp.Body, 4096)
			got := 0
			for got < messages {
				line, err := lines.ReadSlice('\n')
				if err != nil {
					if ctx.Err() == nil {
						b.Errorf("reader %d: %v after %d events", r, err, got)
					}
					return
				}
				now := time.Now()
				m, okM := intAfter(line, `"n":`)
				sent, okS := intAfter(line, `"sent":`)
				if !okM || !okS || int(m) >= messages {
					continue
				}
				delays[m][r] = now.Sub(time.Unix(0, sent))
				got++
			}
			finished.Add(1)
		}()
	}
	waitUntil(b, "every reader connected", 5*time.Minute, func() bool { return connected.Load() == int64(clients) })

	b.ResetTimer()
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	for m := range messages {
		<-tick.C
		body := fmt.Sprintf(`{"n":%d,"sent":%d}`, m, time.Now().UnixNano())
		if _, err := js.Publish(context.Background(), events.PublicSubject(events.ActionPublished, fmt.Sprintf("bench-%d", m)), []byte(body)); err != nil {
			b.Fatal(err)
		}
	}
	tick.Stop()
	waitUntil(b, "every reader had every message", 2*time.Minute, func() bool { return finished.Load() == int64(clients) })
	b.StopTimer()
	rss := bench.PeakRSSOf(servePid)
	cancel()
	readers.Wait()

	var all, reachAll []time.Duration
	for _, perReader := range delays {
		all = append(all, perReader...)
		reachAll = append(reachAll, slices.Max(perReader))
	}
	slices.Sort(all)
	slices.Sort(reachAll)
	q := func(d []time.Duration, p float64) float64 {
		return float64(d[min(len(d)-1, int(p*float64(len(d))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(q(all, 0.5), "p50-ms")
	b.ReportMetric(q(all, 0.99), "p99-ms")
	b.ReportMetric(q(all, 1), "max-ms")
	b.ReportMetric(q(reachAll, 0.99), "all-p99-ms")
	b.ReportMetric(float64(rss)/(1<<20), "serve-peak-RSS-MB")
}

// intAfter reads the whole number that follows key in line.
func intAfter(line []byte, key string) (int64, bool) {
	i := bytes.Index(line, []byte(key))
	if i < 0 {
		return 0, false
	}
	rest := line[i+len(key):]
	end := bytes.IndexAny(rest, ",}")
	if end < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	return n, err == nil
}
