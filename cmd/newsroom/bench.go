package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	nethttp "net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/auth"
	"github.com/newsroom/newsroom/bench"
	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/embeddednats"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
)

// benchConfig is what `newsroom bench` measures and for how long.
type benchConfig struct {
	Duration     time.Duration // each throughput phase
	Connections  int           // HTTP connections (and raw publishers) of the throughput phases
	Articles     int           // articles the command load revises
	ReadSlugs    int           // published articles the read load asks for
	SteadyRate   float64       // commands/s of the steady load under which publish latency is measured
	PublishRate  float64       // publishes/s whose latency to the public API is measured
	LatencyTime  time.Duration // how long the latency phase lasts
	SSEClients   int           // event-stream readers held open (in a second process) during the latency phase
	ReplayEvents int           // size of the generated log replayed
	ReplayBatch  int
	DataDir      string // where everything is written; a temporary directory if empty
	CorpusPath   string
	CPUProfile   string // prefix of one CPU profile per phase
	HeapProfile  string // prefix of heap profiles taken at 10 % and 60 % of the replay
	NoSync       bool   // measure without fsync before ack (raw and newsroom alike)
	Phases       stringList
}

// benchPhases are the phases of a run, in order.
var benchPhases = []string{"raw-publish", "raw-upsert", "raw-echo", "public-reads", "commands", "publish-latency", "replay"}

// wants reports whether the run includes phase.
func (c benchConfig) wants(phase string) bool {
	return len(c.Phases) == 0 || slices.Contains(c.Phases, phase)
}

func benchCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg benchConfig
	quick := false
	f := newFlags("bench", stderr)
	f.fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "length of each throughput phase")
	f.fs.IntVar(&cfg.Connections, "connections", 64, "HTTP connections of the load, and concurrent publishers of the raw publish")
	f.fs.IntVar(&cfg.Articles, "articles", 1000, "articles the command load revises (each connection its own share)")
	f.fs.IntVar(&cfg.ReadSlugs, "read-slugs", 100, "published articles the read load asks for, in turn")
	f.fs.Float64Var(&cfg.SteadyRate, "steady-rate", 200, "commands/s of the steady load under which publish → public latency is measured")
	f.fs.Float64Var(&cfg.PublishRate, "publish-rate", 50, "publishes/s whose latency to the public API and to a NATS subscriber is measured (50 for 20 s: the 1,000 publishes the issue asks)")
	f.fs.DurationVar(&cfg.LatencyTime, "latency-duration", 20*time.Second, "length of the publish → public latency phase")
	f.fs.IntVar(&cfg.SSEClients, "sse-clients", 0, "event-stream readers connected (from a second process) during the latency phase, each timing every publication (the issue's row: --sse-clients 1000 --publish-rate 10)")
	f.fs.IntVar(&cfg.ReplayEvents, "replay-events", 100_000, "events in the generated log that is replayed (1000000 for the issue's figure)")
	f.fs.IntVar(&cfg.ReplayBatch, "replay-batch", projections.DefaultBatchSize, "events per transaction of the replay")
	f.fs.StringVar(&cfg.DataDir, "data-dir", "", "directory for the benchmark's NATS files and databases (default: a temporary directory, removed after)")
	f.fs.StringVar(&cfg.CorpusPath, "corpus", "testdata/nato-russia-council-ministers-meet.txt", "the communiqué every payload is made of")
	f.fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of each phase to PREFIX-<phase>.pprof")
	f.fs.StringVar(&cfg.HeapProfile, "heapprofile", "", "write heap profiles at 10 % and 60 % of the replay to PREFIX-replay-<percent>.pprof")
	f.fs.BoolVar(&cfg.NoSync, "nats-no-sync", false, "measure with the embedded NATS acknowledging before fsync (raw publish and newsroom alike)")
	f.fs.Var(&cfg.Phases, "phase", "run only this phase (repeatable; default all): "+strings.Join(benchPhases, ", "))
	f.fs.BoolVar(&quick, "quick", false, "a smoke run of a few seconds in all: every row, no meaningful figure")
	if err := f.parse(args); err != nil {
		return err
	}
	for _, p := range cfg.Phases {
		if !slices.Contains(benchPhases, p) {
			return fmt.Errorf("bench: no phase %q; the phases are %s", p, strings.Join(benchPhases, ", "))
		}
	}
	if quick {
		cfg.Duration, cfg.LatencyTime = 700*time.Millisecond, 1500*time.Millisecond
		cfg.Connections, cfg.Articles, cfg.ReadSlugs = 4, 16, 4
		cfg.SteadyRate, cfg.PublishRate, cfg.SSEClients = 40, 4, 8
		cfg.ReplayEvents = 2000
	}
	if cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "newsroom-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.DataDir = dir
	}
	b := &benchRun{cfg: cfg, stdout: stdout, stderr: stderr}
	if err := b.run(ctx); err != nil {
		return err
	}
	b.report()
	return nil
}

// benchRun is one run of `newsroom bench`: every phase and what it measured.
type benchRun struct {
	cfg            benchConfig
	stdout, stderr io.Writer
	text           bench.Text
	body           string // the corpus body as an article carries it

	rawPublish   bench.Rate
	rawUpsert    bench.Rate
	rawEcho      bench.LoadResult
	commands     bench.LoadResult
	reads        bench.LoadResult
	steady       bench.LoadResult
	publishLat   []time.Duration
	publishFails int
	// publication answered → its message seen by a plain NATS subscriber of the public subjects
	subscriberLat    []time.Duration
	subscriberMissed int
	// publication answered → its event at each SSE reader
	sseLat                             []time.Duration
	sseConnected, sseFailed, sseMissed int
	catchUp                            time.Duration // views reaching the log's end after the command load
	replay                             replayFigures
	phases                             []phaseFigures
	heapProfiled                       map[int]bool // only the memory sampler's goroutine touches it
}

type replayFigures struct {
	events    int
	elapsed   time.Duration
	cpu       time.Duration // this process's CPU time during the replay (the embedded NATS too)
	perView   map[string]time.Duration
	mem       bench.MemoryProfile
	rawRead   bench.Rate // the same log read in order, nothing else
	rawInsert bench.Rate // the rows the replay wrote, written again with the same statements
}

// rawBound is the replay's bound in log events/s: the slower of reading the log and writing
// the rows it folds into, each measured alone in the same run.
func (r replayFigures) rawBound() float64 {
	insert := float64(r.events) / max(r.rawInsert.Elapsed.Seconds(), 1e-9)
	return min(r.rawRead.PerSecond(), insert)
}

type phaseFigures struct {
	name    string
	elapsed time.Duration
	mem     bench.MemoryProfile
}

func (b *benchRun) logf(format string, args ...any) {
	fmt.Fprintf(b.stderr, "bench: "+format+"\n", args...)
}

// phase runs fn with a memory sampler and, if asked, a CPU profile.
func (b *benchRun) phase(name string, expected time.Duration, fn func() error) error {
	if !b.cfg.wants(name) {
		return nil
	}
	b.logf("%s…", name)
	runtime.GC()
	start := time.Now()
	sampler := bench.StartMemorySampler(20*time.Millisecond, func() float64 {
		return float64(time.Since(start)) / float64(max(expected, time.Millisecond))
	})
	var stopProfile func()
	if b.cfg.CPUProfile != "" {
		out, err := os.Create(b.cfg.CPUProfile + "-" + name + ".pprof")
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(out); err != nil {
			out.Close()
			return err
		}
		stopProfile = func() { pprof.StopCPUProfile(); out.Close() }
	}
	err := fn()
	if stopProfile != nil {
		stopProfile()
	}
	b.phases = append(b.phases, phaseFigures{name: name, elapsed: time.Since(start), mem: sampler.Stop()})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (b *benchRun) run(ctx context.Context) error {
	var err error
	if b.text, err = bench.LoadText(b.cfg.CorpusPath); err != nil {
		return fmt.Errorf("corpus (--corpus): %w", err)
	}
	b.body = b.text.Body
	cfg := b.cfg
	if err := b.phase("raw-publish", cfg.Duration, func() (err error) {
		b.rawPublish, err = bench.RawPublish(ctx, filepath.Join(cfg.DataDir, "raw-publish"), cfg.NoSync, b.body, cfg.Connections, cfg.Duration)
		return err
	}); err != nil {
		return err
	}
	if err := b.phase("raw-upsert", cfg.Duration, func() (err error) {
		html := "<p>" + strings.ReplaceAll(b.text.Body, "\n\n", "</p>\n<p>") + "</p>"
		b.rawUpsert, err = bench.RawUpsert(ctx, "", filepath.Join(cfg.DataDir, "raw-upsert"), b.body, html, 500, cfg.Duration)
		return err
	}); err != nil {
		return err
	}
	if slices.ContainsFunc([]string{"raw-echo", "public-reads", "commands", "publish-latency"}, cfg.wants) {
		if err := b.runApp(ctx); err != nil {
			return err
		}
	}
	return b.phase("replay", 0, func() error { return b.runReplay(ctx) })
}

// runApp starts newsroom as serve does and measures it against the raw Echo limit.
func (b *benchRun) runApp(ctx context.Context) error {
	cfg := b.cfg
	// Warnings and errors only: a view retrying an event is worth seeing next to its figures.
	log := slog.New(slog.NewTextHandler(b.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	app, err := startApp(ctx, config{HTTP: "127.0.0.1:0", DataDir: filepath.Join(cfg.DataDir, "serve"),
		NATSListen: "127.0.0.1:0", NoSync: cfg.NoSync}, log)
	if err != nil {
		return err
	}
	defer app.Close()
	c := &benchClient{base: "http://" + app.httpAddr, http: &nethttp.Client{
		Transport: &nethttp.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}}
	tokens := auth.NewTokens(app.db)
	if c.reporter, _, err = tokens.Create(ctx, "bench-reporter", domain.RoleReporter); err != nil {
		return err
	}
	if c.editor, _, err = tokens.Create(ctx, "bench-editor", domain.RoleEditor); err != nil {
		return err
	}

	b.logf("setup: %d drafts, %d published articles", cfg.Articles, cfg.ReadSlugs)
	drafts, err := parallelMap(ctx, cfg.Articles, 16, func(i int) (bench.ArticleVersion, error) {
		id, err := c.draft(ctx, b.text, b.body, i)
		return bench.ArticleVersion{ID: id, Version: 1}, err
	})
	if err != nil {
		return err
	}
	published, err := parallelMap(ctx, cfg.ReadSlugs, 8, func(i int) (benchPublished, error) {
		id, err := c.draft(ctx, b.text, b.body, cfg.Articles+i)
		if err != nil {
			return benchPublished{}, err
		}
		if err := c.approve(ctx, id); err != nil {
			return benchPublished{}, err
		}
		return c.publish(ctx, id)
	})
	if err != nil {
		return err
	}
	// The read loads ask for the slugs once the published view shows them all.
	bodies := map[string][]byte{}
	var paths []string
	for _, p := range published {
		body, err := c.readable(ctx, p.slug, p.version, 30*time.Second)
		if err != nil {
			return err
		}
		path := "/public/v1/articles/" + p.slug
		bodies[path] = body
		paths = append(paths, path)
	}

	if err := b.phase("raw-echo", cfg.Duration, func() error {
		addr, stop, err := bench.RawEcho(bodies)
		if err != nil {
			return err
		}
		defer stop()
		b.rawEcho, err = runLoadProcess(ctx, bench.LoadSpec{Addr: addr, Connections: cfg.Connections, Duration: cfg.Duration, Paths: paths})
		return err
	}); err != nil {
		return err
	}
	if err := b.phase("public-reads", cfg.Duration, func() (err error) {
		b.reads, err = runLoadProcess(ctx, bench.LoadSpec{Addr: app.httpAddr, Connections: cfg.Connections, Duration: cfg.Duration, Paths: paths})
		return err
	}); err != nil {
		return err
	}
	if err := b.phase("commands", cfg.Duration, func() (err error) {
		b.commands, err = runLoadProcess(ctx, bench.LoadSpec{Addr: app.httpAddr, Connections: min(cfg.Connections, len(drafts)),
			Duration: cfg.Duration, Revise: &bench.ReviseLoad{Token: c.reporter, Articles: drafts, Body: b.body}})
		if err != nil {
			return err
		}
		// The views follow one event at a time: how long until they show the whole load.
		b.catchUp, err = waitForViews(ctx, app)
		return err
	}); err != nil {
		return err
	}
	return b.phase("publish-latency", cfg.LatencyTime, func() error { return b.runLatency(ctx, app, c) })
}

// runLatency publishes articles at PublishRate while a second process revises others at
// SteadyRate, and measures each publish from its answer to the first GET by slug that shows
// the published version ("readable"). Articles are drafted, submitted and approved before.
func (b *benchRun) runLatency(ctx context.Context, app *app, c *benchClient) error {
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
			err := runLoadProcessInto(ctx, bench.LoadSpec{Addr: strings.TrimPrefix(c.base, "http://"),
				Duration: cfg.LatencyTime + 5*time.Second,
				SSE:      &bench.SSELoad{Path: "/public/v1/stream", Clients: cfg.SSEClients, EventType: events.CloudEventType(events.ActionPublished)}}, &res)
			sse <- sseDone{res, err}
		}()
		time.Sleep(2 * time.Second) // the readers connect before the first publish
	}
	steady := make(chan loadDone, 1)
	steadyFor := cfg.LatencyTime + time.Second
	go func() {
		res, err := runLoadProcess(ctx, bench.LoadSpec{Addr: strings.TrimPrefix(c.base, "http://"), Connections: min(32, len(steadyDrafts)),
			Duration: steadyFor, Rate: cfg.SteadyRate, Revise: &bench.ReviseLoad{Token: c.reporter, Articles: steadyDrafts, Body: b.body}})
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

// runReplay generates a log shaped like real traffic and rebuilds every view from it into a
// fresh SQLite database, every view at once from one read of the log, as `newsroom replay
// --parallel` does; then it measures, on the same log and database, the raw limits the replay
// is compared with: reading the log, and writing the rows the replay wrote.
func (b *benchRun) runReplay(ctx context.Context) error {
	cfg := b.cfg
	dir := filepath.Join(b.cfg.DataDir, "replay")
	srv, err := embeddednats.Start(embeddednats.Config{StoreDir: filepath.Join(dir, "nats"), Listen: "127.0.0.1:0", NoSync: true})
	if err != nil {
		return err
	}
	defer srv.Stop()
	nc, err := nats.Connect(srv.ClientURL(), nats.Name("bench replay"))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	// The log is replayed right after it is written, so a restarted server would rebuild its
	// Nats-Msg-Id dedupe map for every message still inside the window (2 minutes in the log's
	// configuration): ~150 MB for a million events, released as the window passes, which is the
	// server's memory, not the replay's. A log being replayed is normally older than that; a
	// one-second window here gives the same picture.
	logConfig := events.StreamConfig(1)
	logConfig.Duplicates = time.Second
	if _, err := events.EnsureStream(ctx, js, logConfig); err != nil {
		return err
	}
	store, err := events.Open(ctx, js, 1)
	if err != nil {
		return err
	}
	b.logf("replay: generating a log of %d events", cfg.ReplayEvents)
	stats, err := bench.GenerateLog(ctx, nc, bench.LogSpec{Events: cfg.ReplayEvents, Seed: 1}, b.text)
	if err != nil {
		return err
	}
	b.logf("replay: %s", stats)
	// A fresh server on the log just written, as `newsroom replay` meets it: the generating
	// one still holds hundreds of MB of write caches, which would count as the replay's memory.
	nc.Close()
	srv.Stop()
	if srv, err = embeddednats.Start(embeddednats.Config{StoreDir: filepath.Join(dir, "nats"), Listen: "127.0.0.1:0"}); err != nil {
		return err
	}
	defer srv.Stop()
	if nc, err = nats.Connect(srv.ClientURL(), nats.Name("bench replay")); err != nil {
		return err
	}
	defer nc.Close()
	if js, err = jetstream.New(nc); err != nil {
		return err
	}
	if store, err = events.Open(ctx, js, 1); err != nil {
		return err
	}
	db, err := sqldb.Open(ctx, "", dir)
	if err != nil {
		return err
	}
	defer db.Close()
	_, _, _, all := views(db)
	runtime.GC()
	var progress sync.Map
	done := func() float64 {
		sum := 0.0
		progress.Range(func(_, v any) bool { sum += v.(float64); return true })
		return sum / float64(len(all))
	}
	sampler := bench.StartMemorySampler(20*time.Millisecond, func() float64 {
		p := done()
		b.heapProfileAt(p)
		return p
	})
	b.replay = replayFigures{events: stats.Events, perView: map[string]time.Duration{}}
	cpuBefore := processCPU()
	start := time.Now()
	rebuilds := make([]projections.Rebuild, len(all))
	var finished sync.Map
	for i, v := range all {
		rebuilds[i] = projections.Rebuild{DB: db, Log: store, View: v, BatchSize: cfg.ReplayBatch, Progress: func(p projections.Progress) {
			progress.Store(p.View, float64(p.Checkpoint)/float64(max(p.Target, 1)))
			if p.Done {
				finished.Store(p.View, time.Since(start))
			}
		}}
	}
	// As `newsroom replay` does: every view at once, from one read of the log.
	results, errs := projections.RebuildAll(ctx, rebuilds)
	b.replay.elapsed = time.Since(start)
	b.replay.cpu = processCPU() - cpuBefore
	for i, v := range all {
		if errs[i] != nil || !results[i].Done {
			return fmt.Errorf("rebuild %s: %w (done: %v)", v.Name(), errs[i], results[i].Done)
		}
		if d, ok := finished.Load(v.Name()); ok {
			b.replay.perView[v.Name()] = d.(time.Duration)
		}
	}
	b.replay.mem = sampler.Stop()

	// The raw limits of the same run, measured after the replay on the same log and database.
	b.logf("replay: raw ordered read of the log, raw bulk insert of the views' rows")
	if b.replay.rawRead, err = bench.RawOrderedRead(ctx, js, cfg.ReplayBatch); err != nil {
		return fmt.Errorf("raw ordered read: %w", err)
	}
	if b.replay.rawInsert, err = bench.RawBulkInsert(ctx, db, all, cfg.ReplayBatch); err != nil {
		return fmt.Errorf("raw bulk insert: %w", err)
	}
	return nil
}

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// waitForViews waits until every view has applied the whole log, and says how long it took.
func waitForViews(ctx context.Context, app *app) (time.Duration, error) {
	start := time.Now()
	last, err := app.store.LastSequence(ctx)
	if err != nil {
		return 0, err
	}
	wait, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if err := app.runner.WaitFor(wait, last, "desk", "published", "history"); err != nil {
		return 0, fmt.Errorf("views catching up to %d: %w", last, err)
	}
	return time.Since(start), nil
}

// heapProfileAt writes a heap profile the first time the replay's progress passes 10 % and 60 %,
// if --heapprofile asks for them.
func (b *benchRun) heapProfileAt(progress float64) {
	if b.cfg.HeapProfile == "" {
		return
	}
	for _, at := range []int{10, 60} {
		if progress*100 < float64(at) || b.heapProfiled[at] {
			continue
		}
		if b.heapProfiled == nil {
			b.heapProfiled = map[int]bool{}
		}
		b.heapProfiled[at] = true
		f, err := os.Create(fmt.Sprintf("%s-replay-%d.pprof", b.cfg.HeapProfile, at))
		if err != nil {
			b.logf("heap profile: %v", err)
			continue
		}
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			b.logf("heap profile: %v", err)
		}
		f.Close()
	}
}

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

func ratio(a, b float64) string {
	if b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func mb(n uint64) string { return fmt.Sprintf("%d MB", n>>20) }

func met(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

// report prints the run's table: each newsroom figure beside the raw limit it is bounded by.
func (b *benchRun) report() {
	cfg := b.cfg
	w := tabwriter.NewWriter(b.stdout, 0, 0, 2, ' ', tabwriter.Debug)
	durability := "fsync before ack"
	if cfg.NoSync {
		durability = "no fsync before ack"
	}
	fmt.Fprintf(b.stdout, "newsroom bench, %s, %s, %d cores, GOMAXPROCS %d; %s; %d connections; phases of %s\n\n",
		time.Now().UTC().Format(time.RFC3339), runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0),
		durability, cfg.Connections, cfg.Duration)
	fmt.Fprintln(w, "measure\traw limit\tnewsroom\tratio\ttarget\tmet\t")
	cmdRatio := b.commands.PerSecond() / max(b.rawPublish.PerSecond(), 1)
	fmt.Fprintf(w, "commands/s (PATCH revise, If-Match, %d articles)\t%s publish/s (sync, expected seq)\t%s\t%.2f\t≥ 0.50\t%s\t\n",
		cfg.Articles, bench.Humanize(b.rawPublish.PerSecond()), bench.Humanize(b.commands.PerSecond()), cmdRatio, met(cmdRatio >= 0.5))
	readRatio := b.reads.PerSecond() / max(b.rawEcho.PerSecond(), 1)
	fmt.Fprintf(w, "public reads/s by slug (%d slugs)\t%s req/s (Echo, JSON from memory)\t%s\t%.2f\t≥ 0.80\t%s\t\n",
		cfg.ReadSlugs, bench.Humanize(b.rawEcho.PerSecond()), bench.Humanize(b.reads.PerSecond()), readRatio, met(readRatio >= 0.8))
	lat := slices.Clone(b.publishLat)
	p50, p99 := bench.Percentile(lat, 0.50), bench.Percentile(lat, 0.99)
	fmt.Fprintf(w, "publish → public p50 (%d publishes, %s commands/s steady)\t–\t%s\t–\t–\t\t\n",
		len(lat), bench.Humanize(b.steady.PerSecond()), ms(p50))
	fmt.Fprintf(w, "publish → public p99\t–\t%s\t–\t≤ 50 ms\t%s\t\n", ms(p99), met(p99 > 0 && p99 <= 50*time.Millisecond && b.publishFails == 0))
	subLat := slices.Clone(b.subscriberLat)
	subP99 := bench.Percentile(subLat, 0.99)
	fmt.Fprintf(w, "publish → NATS subscriber p99 (%d seen, %d missed)\t–\t%s\t–\t≤ 50 ms\t%s\t\n", len(subLat), b.subscriberMissed,
		ms(subP99), met(subP99 > 0 && subP99 <= 50*time.Millisecond && b.subscriberMissed == 0))
	sseLat := slices.Clone(b.sseLat)
	sseP99 := bench.Percentile(sseLat, 0.99)
	if cfg.SSEClients == 0 {
		fmt.Fprintf(w, "publish → SSE reader p99\t–\tnot run (--sse-clients)\t–\t≤ 100 ms\t\t\n")
	} else {
		fmt.Fprintf(w, "publish → SSE reader p99 (%d readers, %d failed; %d deliveries, %d missed)\t–\t%s\t–\t≤ 100 ms\t%s\t\n",
			b.sseConnected, b.sseFailed, len(sseLat), b.sseMissed, ms(sseP99),
			met(sseP99 > 0 && sseP99 <= 100*time.Millisecond && b.sseMissed == 0 && b.sseFailed == 0))
	}
	rp := b.replay
	replayRate := float64(rp.events) / max(rp.elapsed.Seconds(), 1e-9)
	replayRatio := replayRate / max(rp.rawBound(), 1)
	fmt.Fprintf(w, "replay log events/s (%d events, 3 views, SQLite)\tmin(%s events/s read, %s events/s written)\t%s\t%.2f\t≥ 0.50\t%s\t\n",
		rp.events, bench.Humanize(rp.rawRead.PerSecond()),
		bench.Humanize(float64(rp.events)/max(rp.rawInsert.Elapsed.Seconds(), 1e-9)), bench.Humanize(replayRate),
		replayRatio, met(replayRatio >= 0.5))
	fmt.Fprintf(w, "replay log events/s, absolute\t–\t%s\t–\t≥ 50,000/s\t%s\t\n", bench.Humanize(replayRate), met(replayRate >= 50_000))
	fmt.Fprintf(w, "replay peak RSS (VmHWM)\t–\t%s\t–\t≤ 512 MB\t%s\t\n", mb(rp.mem.PeakRSS), met(rp.mem.PeakRSS > 0 && rp.mem.PeakRSS <= 512<<20))
	w.Flush()

	fmt.Fprintln(b.stdout)
	w = tabwriter.NewWriter(b.stdout, 0, 0, 2, ' ', tabwriter.Debug)
	fmt.Fprintln(w, "latency and errors\tp50\tp99\tanswered\terrors\t")
	for _, r := range []struct {
		name string
		res  bench.LoadResult
	}{{"raw Echo", b.rawEcho}, {"public reads", b.reads}, {"commands", b.commands}, {"steady commands", b.steady}} {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t\n", r.name, ms(r.res.P50), ms(r.res.P99), r.res.Requests, r.res.Errors)
	}
	fmt.Fprintf(w, "publishes (answer → readable)\t%s\t%s\t%d\t%d\t\n", ms(p50), ms(p99), len(lat), b.publishFails)
	over := len(lat) - slices.IndexFunc(append(lat, time.Hour), func(d time.Duration) bool { return d > 50*time.Millisecond })
	fmt.Fprintf(w, "publishes readable after more than 50 ms\t\t\t%d\t\t\n", over)
	w.Flush()
	fmt.Fprintf(b.stdout, "\nviews caught up %s after the command load ended\n", b.catchUp.Round(time.Millisecond))
	var views []string
	for _, name := range []string{"published", "desk", "history"} {
		views = append(views, fmt.Sprintf("%s %s", name, b.replay.perView[name].Round(time.Millisecond)))
	}
	q, r := rp.mem.QuarterHeap, rp.mem.QuarterRSS
	fmt.Fprintf(b.stdout, "replay: %s in all (views done after %s); heap per quarter %s / %s / %s / %s, RSS %s / %s / %s / %s\n",
		rp.elapsed.Round(time.Millisecond), strings.Join(views, ", "), mb(q[0]), mb(q[1]), mb(q[2]), mb(q[3]),
		mb(r[0]), mb(r[1]), mb(r[2]), mb(r[3]))
	// Per event, to compare runs of different sizes (the 1M ≤ 1.3 × 100k).
	fmt.Fprintf(b.stdout, "replay: %.1f µs wall and %.1f µs CPU per log event; raw: ordered read of %d events in %s, bulk insert of %d rows in %s (%s rows/s)\n\n",
		float64(rp.elapsed.Microseconds())/float64(max(rp.events, 1)), float64(rp.cpu.Microseconds())/float64(max(rp.events, 1)),
		rp.rawRead.N, rp.rawRead.Elapsed.Round(time.Millisecond), rp.rawInsert.N, rp.rawInsert.Elapsed.Round(time.Millisecond),
		bench.Humanize(rp.rawInsert.PerSecond()))

	w = tabwriter.NewWriter(b.stdout, 0, 0, 2, ' ', tabwriter.Debug)
	fmt.Fprintln(w, "phase (server in this process)\tseconds\tpeak heap\tpeak RSS (VmHWM)\t")
	for _, p := range b.phases {
		fmt.Fprintf(w, "%s\t%.1f\t%s\t%s\t\n", p.name, p.elapsed.Seconds(), mb(p.mem.PeakHeapInuse), mb(p.mem.PeakRSS))
	}
	w.Flush()
}
