package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	nethttp "net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/newsroom/newsroom/auth"
	"github.com/newsroom/newsroom/bench"
	apiclient "github.com/newsroom/newsroom/client"
	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/projections"
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
	Uploads      int           // uploads of a 4000×3000 JPEG timed one after another
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
var benchPhases = []string{"raw-publish", "raw-upsert", "raw-echo", "public-reads", "raw-echo-pages", "pages",
	"upload", "raw-echo-images", "images", "commands", "publish-latency", "replay"}

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
	f.fs.IntVar(&cfg.Uploads, "uploads", 5, "uploads of a 12-megapixel JPEG (about 4.6 MB) timed one after another, end to end")
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
		cfg.ReplayEvents, cfg.Uploads = 2000, 1
	}
	if cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "newsroom-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.DataDir = dir
	}
	// The bench's own lines and the logs of the newsroom it runs share stderr, from many
	// goroutines: one lock keeps their lines whole (and a bytes.Buffer in a test safe).
	b := &benchRun{cfg: cfg, stdout: stdout, stderr: &lockedWriter{w: stderr}}
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
	rawPages     bench.LoadResult // raw Echo serving the pages' bytes
	pages        bench.LoadResult // the public pages by slug (pages_bench.go)
	images       imageFigures     // an upload, and the renditions' reads (bench_images.go)
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
	if slices.ContainsFunc([]string{"raw-echo", "public-reads", "raw-echo-pages", "pages", "upload", "raw-echo-images", "images", "commands", "publish-latency"}, cfg.wants) {
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
	tokens := auth.NewTokens(app.db)
	reporterToken, _, err := tokens.Create(ctx, "bench-reporter", domain.RoleReporter)
	if err != nil {
		return err
	}
	editorToken, _, err := tokens.Create(ctx, "bench-editor", domain.RoleEditor)
	if err != nil {
		return err
	}
	reporter, err := apiclient.New("http://"+app.httpAddr, apiclient.WithToken(reporterToken), apiclient.WithHTTPClient(&nethttp.Client{
		Transport: &nethttp.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}))
	if err != nil {
		return err
	}
	c := &benchUsers{addr: app.httpAddr, reporterToken: reporterToken, reporter: reporter, editor: reporter.As(editorToken)}

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
	if err := b.runPages(ctx, app, published); err != nil {
		return err
	}
	if err := b.runImages(ctx, c); err != nil {
		return err
	}
	if err := b.phase("commands", cfg.Duration, func() (err error) {
		b.commands, err = runLoadProcess(ctx, bench.LoadSpec{Addr: app.httpAddr, Connections: min(cfg.Connections, len(drafts)),
			Duration: cfg.Duration, Revise: &bench.ReviseLoad{Token: c.reporterToken, Articles: drafts, Body: b.body}})
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

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
