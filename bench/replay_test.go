package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/embeddednats"
	"github.com/newsroom/newsroom/embeddednats/natstest"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
)

var logDir = flag.String("logdir", "", "keep generated logs under this directory (one per size) and reuse them across runs")

// Environment variables that shape BenchmarkReplay.
const (
	// eventsEnv lists log sizes to replay beside the default 100,000, e.g. 1000000.
	eventsEnv = "NEWSROOM_BENCH_EVENTS"
	// batchesEnv lists Rebuild batch sizes to try, e.g. 500,2000,5000; default projections.DefaultBatchSize.
	batchesEnv = "NEWSROOM_BENCH_BATCHES"
	// heapProfileEnv, if set, names files to which each run writes heap profiles when it is
	// 25, 50 and 75 % done (size, mode, batch size and percentage are appended to the name).
	heapProfileEnv = "NEWSROOM_BENCH_HEAPPROFILE"
	// modesEnv lists how the three views are rebuilt: "parallel" (three Rebuild.Run in
	// goroutines) or "sequential", as the code stands; default parallel,sequential. Variants
	// measure fixes without changing the code under test: "+shared" (parallel only) reads and
	// decodes the log once for the three views (see sharedLog); "+cache" gives the SQLite writer
	// connection a 64 MiB page cache instead of the default 2 MB.
	modesEnv = "NEWSROOM_BENCH_MODES"
)

const textPath = "../testdata/nato-russia-council-ministers-meet.txt"

// logMeta is kept beside a generated log so that a later run can tell whether it may reuse it.
type logMeta struct {
	Generator int // bump when the generator's output changes
	Spec      LogSpec
	Stats     LogStats
}

const generatorVersion = 2

// BenchmarkReplay rebuilds the three views (desk, history, published) from a generated log into
// a fresh SQLite database, and reports events applied per second and the memory used.
//
//	go test -run=XXX -bench=Replay -benchtime=1x ./bench
//	NEWSROOM_BENCH_EVENTS=1000000 go test -run=XXX -bench=Replay -benchtime=1x -timeout=6h ./bench -logdir=/tmp/newsroom-bench
func BenchmarkReplay(b *testing.B) {
	text, err := LoadText(textPath)
	if err != nil {
		b.Fatal(err)
	}
	sizes := envInts(b, eventsEnv, nil)
	sizes = append([]int{100_000}, sizes...)
	batches := envInts(b, batchesEnv, []int{projections.DefaultBatchSize})
	modes := []string{"parallel", "sequential"}
	if v := os.Getenv(modesEnv); v != "" {
		modes = strings.Split(v, ",")
	}
	seen := map[int]bool{}
	for _, n := range sizes {
		if seen[n] {
			continue
		}
		seen[n] = true
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			log := openLog(b, LogSpec{Events: n, Seed: 1}, text)
			var results []replayResult
			for _, mode := range modes {
				b.Run(mode, func(b *testing.B) {
					for _, batch := range batches {
						b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
							r := benchReplay(b, log, mode, batch)
							results = append(results, r)
						})
					}
				})
			}
			summarise(log, results)
		})
	}
}

// genLog is a generated log, open on an embedded nats-server, and what the generator wrote.
type genLog struct {
	store *events.Store
	meta  logMeta
}

// openLog starts an embedded nats-server on the log for spec, generating it unless -logdir
// holds one made from the same spec.
func openLog(b *testing.B, spec LogSpec, text Text) genLog {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	if *logDir != "" {
		dir = filepath.Join(*logDir, fmt.Sprintf("events-%d-seed-%d", spec.Events, spec.Seed))
	}
	metaPath := filepath.Join(dir, "log.json")
	var meta logMeta
	reuse := false
	if raw, err := os.ReadFile(metaPath); err == nil && json.Unmarshal(raw, &meta) == nil {
		reuse = meta.Generator == generatorVersion && meta.Spec == spec
	}
	srv, nc, js, store := startLog(b, dir)
	last, err := store.LastSequence(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if reuse && last == uint64(spec.Events) {
		note("events=%d: reusing the log in %s: %s", spec.Events, dir, meta.Stats)
	} else {
		if last > 0 {
			// A log left by an interrupted or different run: start over.
			if err := js.DeleteStream(ctx, events.StreamName); err != nil {
				b.Fatal(err)
			}
			if store, err = events.Open(ctx, js, 1); err != nil {
				b.Fatal(err)
			}
		}
		os.Remove(metaPath)
		stats, err := GenerateLog(ctx, nc, spec, text)
		if err != nil {
			b.Fatal(err)
		}
		if last, err = store.LastSequence(ctx); err != nil {
			b.Fatal(err)
		} else if last != uint64(spec.Events) {
			b.Fatalf("generated log ends at sequence %d, want %d", last, spec.Events)
		}
		note("events=%d: generated in %s: %s", spec.Events, dir, stats)
		meta = logMeta{Generator: generatorVersion, Spec: spec, Stats: stats}
		if raw, err := json.Marshal(meta); err != nil {
			b.Fatal(err)
		} else if err := os.WriteFile(metaPath, raw, 0o644); err != nil {
			b.Fatal(err)
		}
		// Replay from a server that loaded the log from its files, as after a restart, and not
		// from one whose heap still holds what writing the log left behind.
		nc.Close()
		srv.Stop()
		_, _, js, store = startLog(b, dir)
	}
	forgetMsgIDs(b, js)
	return genLog{store: store, meta: meta}
}

// startLog starts an embedded nats-server on dir and opens the log on it; both stop when the
// benchmark ends.
func startLog(b *testing.B, dir string) (*embeddednats.Server, *nats.Conn, jetstream.JetStream, *events.Store) {
	b.Helper()
	srv := natstest.StartWith(b, embeddednats.Config{StoreDir: filepath.Join(dir, "nats"), NoSync: true})
	nc, js := srv.Connect(b)
	store, err := events.Open(context.Background(), js, 1)
	if err != nil {
		b.Fatal(err)
	}
	return srv.Server, nc, js, store
}

// forgetMsgIDs drops the server's deduplication entries for the generated events (one per
// event for two minutes), which would otherwise sit in the heap the replay is measured by.
func forgetMsgIDs(b *testing.B, js jetstream.JetStream) {
	b.Helper()
	ctx := context.Background()
	cfg := events.StreamConfig(1)
	cfg.Duplicates = 100 * time.Millisecond
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		b.Fatal(err)
	}
	// The server purges on a timer that the update fires at once; give it time to run.
	time.Sleep(500 * time.Millisecond)
	if _, err := js.UpdateStream(ctx, events.StreamConfig(1)); err != nil {
		b.Fatal(err)
	}
}

// replayResult is one measured rebuild of the three views.
type replayResult struct {
	Mode     string
	Batch    int
	Elapsed  time.Duration
	Applied  uint64 // events applied, summed over the views
	LogSize  uint64
	BaseHeap uint64 // HeapInuse after a GC, before the rebuild
	Memory   MemoryProfile
	CPU      CPUUsage
	DBBytes  int64
}

func (r replayResult) rate() float64    { return float64(r.Applied) / r.Elapsed.Seconds() }
func (r replayResult) logRate() float64 { return float64(r.LogSize) / r.Elapsed.Seconds() }

// cpuRate is events applied per second of this process's CPU time: less sensitive than rate
// to what else runs on the machine.
func (r replayResult) cpuRate() float64 { return float64(r.Applied) / r.CPU.Process.Seconds() }

func benchReplay(b *testing.B, log genLog, mode string, batch int) replayResult {
	ctx := context.Background()
	var best replayResult
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), strconv.Itoa(i))
		b.StartTimer()
		r, err := replay(ctx, log, dir, mode, batch)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(dir)
		if i == 0 || r.Elapsed < best.Elapsed {
			best = r
		}
	}
	mb := func(n uint64) float64 { return float64(n) / (1 << 20) }
	b.ReportMetric(best.rate(), "events/s")
	b.ReportMetric(best.logRate(), "log-events/s")
	b.ReportMetric(best.cpuRate(), "events/cpu-s")
	b.ReportMetric(best.CPU.Others(best.Elapsed), "other-cores")
	b.ReportMetric(mb(best.Memory.PeakHeapInuse), "peak-heap-MB")
	b.ReportMetric(mb(best.Memory.PeakRSS), "VmHWM-MB")
	for q, h := range best.Memory.QuarterHeap {
		b.ReportMetric(mb(h), fmt.Sprintf("heap%d%%-MB", 25*(q+1)))
	}
	b.Logf("%s batch=%d: %d events applied in %s: %.0f events/s (%.0f log events/s); %.1f s of CPU (%.0f events/cpu-s), "+
		"other processes kept %.1f of 2 cores busy; heap before %.0f MB, peak %.0f MB; "+
		"peak heap per quarter %.0f/%.0f/%.0f/%.0f MB, RSS per quarter %.0f/%.0f/%.0f/%.0f MB, VmHWM %.0f MB (reset: %v); SQLite %.0f MB; %d samples",
		best.Mode, batch, best.Applied, best.Elapsed.Round(time.Millisecond), best.rate(), best.logRate(),
		best.CPU.Process.Seconds(), best.cpuRate(), best.CPU.Others(best.Elapsed),
		mb(best.BaseHeap), mb(best.Memory.PeakHeapInuse),
		mb(best.Memory.QuarterHeap[0]), mb(best.Memory.QuarterHeap[1]), mb(best.Memory.QuarterHeap[2]), mb(best.Memory.QuarterHeap[3]),
		mb(best.Memory.QuarterRSS[0]), mb(best.Memory.QuarterRSS[1]), mb(best.Memory.QuarterRSS[2]), mb(best.Memory.QuarterRSS[3]),
		mb(best.Memory.PeakRSS), best.Memory.HWMReset, float64(best.DBBytes)/1e6, best.Memory.Samples)
	return best
}

// replay rebuilds the three views into a fresh SQLite database in dir, and checks the result.
func replay(ctx context.Context, log genLog, dir string, mode string, batch int) (replayResult, error) {
	parts := strings.Split(mode, "+")
	parallel := parts[0] == "parallel"
	variants := map[string]bool{}
	for _, v := range parts[1:] {
		if v != "shared" && v != "cache" {
			return replayResult{}, fmt.Errorf("mode %q: unknown variant %q", mode, v)
		}
		variants[v] = true
	}
	if !parallel && parts[0] != "sequential" || variants["shared"] && !parallel {
		return replayResult{}, fmt.Errorf("mode %q: want parallel or sequential, then +cache, and +shared if parallel", mode)
	}
	db, err := sqldb.Open(ctx, "", dir)
	if err != nil {
		return replayResult{}, err
	}
	defer db.Close()
	if variants["cache"] {
		// The writer pool holds exactly one connection that never expires: the pragma stays.
		if _, err := db.Write.ExecContext(ctx, `PRAGMA cache_size = -65536`); err != nil {
			return replayResult{}, err
		}
	}
	var source projections.Log = log.store
	if variants["shared"] {
		source = newSharedLog(log.store, 3)
	}
	views := []projections.View{projections.NewDesk(db), projections.NewHistory(db), projections.NewPublished(db)}
	total := uint64(log.meta.Spec.Events)
	applied := make([]atomic.Uint64, len(views))
	progress := func() float64 {
		var sum uint64
		for i := range applied {
			sum += applied[i].Load()
		}
		return float64(sum) / float64(total*uint64(len(views)))
	}
	r := replayResult{Mode: mode, Batch: batch, LogSize: total}
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.BaseHeap = ms.HeapInuse

	sampler := StartMemorySampler(20*time.Millisecond, progress)
	stopWatch := watch(views, applied, total, mode, batch)
	defer stopWatch()
	clock := ReadCPUClock()
	start := time.Now()
	run := func(i int) error {
		p, err := projections.Rebuild{DB: db, Log: source, View: views[i], BatchSize: batch,
			Progress: func(p projections.Progress) { applied[i].Store(p.Applied) }}.Run(ctx)
		if err != nil {
			return err
		}
		if !p.Done || p.Checkpoint != total || p.Applied != total {
			return fmt.Errorf("view %s: rebuild done=%v at %d with %d applied, want %d", views[i].Name(), p.Done, p.Checkpoint, p.Applied, total)
		}
		return nil
	}
	errs := make([]error, len(views))
	if parallel {
		var wg sync.WaitGroup
		for i := range views {
			wg.Go(func() { errs[i] = run(i) })
		}
		wg.Wait()
	} else {
		for i := range views {
			if errs[i] = run(i); errs[i] != nil {
				break
			}
		}
	}
	r.Elapsed = time.Since(start)
	r.CPU = clock.Since()
	r.Memory = sampler.Stop()
	if err := errors.Join(errs...); err != nil {
		return r, err
	}
	for i := range applied {
		r.Applied += applied[i].Load()
	}
	if err := checkViews(ctx, db, log.meta.Stats); err != nil {
		return r, err
	}
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(filepath.Join(dir, "newsroom.db"+suffix)); err == nil {
			r.DBBytes += fi.Size()
		}
	}
	return r, nil
}

// checkViews checks that the rebuilt views hold what the generator wrote.
func checkViews(ctx context.Context, db *sqldb.DB, want LogStats) error {
	for _, c := range []struct {
		query string
		want  int
	}{
		{`SELECT COUNT(*) FROM article_history`, want.Events},
		{`SELECT COUNT(*) FROM desk_articles`, want.Articles},
		{`SELECT COUNT(*) FROM public_articles`, want.Articles},
		{`SELECT COUNT(*) FROM public_articles WHERE status <> 'unpublished'`, want.Published},
		{`SELECT COUNT(*) FROM public_corrections`, want.Corrected},
		{`SELECT COUNT(*) FROM public_articles WHERE status = 'retracted'`, want.Retracted},
		{`SELECT COUNT(DISTINCT slug) FROM public_articles WHERE status <> 'unpublished'`, want.Published},
	} {
		var got int
		if err := db.Read.GetContext(ctx, &got, c.query); err != nil {
			return fmt.Errorf("%s: %w", c.query, err)
		}
		if got != c.want {
			return fmt.Errorf("%s = %d; want %d", c.query, got, c.want)
		}
	}
	return nil
}

// note prints a line of the closing note. Logs of a benchmark that has sub-benchmarks are
// shown only with -v, so these go to standard output.
func note(format string, args ...any) {
	fmt.Printf("# "+format+"\n", args...)
}

// watch prints progress every minute, for long runs, and writes heap profiles at 25, 50 and
// 75 % if heapProfileEnv asks for them. The returned func stops it.
func watch(views []projections.View, applied []atomic.Uint64, total uint64, mode string, batch int) func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	start := time.Now()
	profile, next := os.Getenv(heapProfileEnv), 1 // next quarter to profile
	go func() {
		defer close(done)
		minute := time.NewTicker(time.Minute)
		defer minute.Stop()
		check := time.NewTicker(100 * time.Millisecond)
		defer check.Stop()
		for {
			select {
			case <-stop:
				return
			case <-minute.C:
				var parts []string
				for i, v := range views {
					parts = append(parts, fmt.Sprintf("%s %.0f%%", v.Name(), 100*float64(applied[i].Load())/float64(total)))
				}
				note("%s batch=%d: %s after %s", mode, batch, strings.Join(parts, ", "), time.Since(start).Round(time.Second))
			case <-check.C:
				if profile == "" || next > 3 {
					continue
				}
				var sum uint64
				for i := range applied {
					sum += applied[i].Load()
				}
				if sum*4 < uint64(next)*total*uint64(len(views)) {
					continue
				}
				name := fmt.Sprintf("%s.%d.%s.%d.p%d", profile, total, strings.ReplaceAll(mode, "+", "-"), batch, 25*next)
				if f, err := os.Create(name); err == nil {
					pprof.Lookup("heap").WriteTo(f, 0)
					f.Close()
					note("heap profile at %d%%: %s", 25*next, name)
				}
				next++
			}
		}
	}()
	return func() {
		close(stop)
		<-done
	}
}

// summarise logs the closing note of one log size: every run, fastest first.
func summarise(log genLog, results []replayResult) {
	if len(results) == 0 {
		return
	}
	sort.Slice(results, func(i, j int) bool { return results[i].rate() > results[j].rate() })
	mb := func(n uint64) float64 { return float64(n) / (1 << 20) }
	var sb strings.Builder
	fmt.Fprintf(&sb, "replay of %s\n", log.meta.Stats)
	fmt.Fprintf(&sb, "%-24s %6s %8s %9s %9s %8s %11s %7s %11s %9s  %s\n", "mode", "batch", "seconds", "events/s", "log ev/s",
		"cpu s", "ev/cpu-s", "others", "peak heap", "VmHWM", "heap peak per quarter (MB)")
	for _, r := range results {
		q := r.Memory.QuarterHeap
		fmt.Fprintf(&sb, "%-24s %6d %8.1f %9.0f %9.0f %8.1f %11.0f %7.1f %8.0f MB %6.0f MB  %.0f / %.0f / %.0f / %.0f\n", r.Mode, r.Batch,
			r.Elapsed.Seconds(), r.rate(), r.logRate(), r.CPU.Process.Seconds(), r.cpuRate(), r.CPU.Others(r.Elapsed),
			mb(r.Memory.PeakHeapInuse), mb(r.Memory.PeakRSS), mb(q[0]), mb(q[1]), mb(q[2]), mb(q[3]))
	}
	fmt.Fprintf(&sb, "fastest: %s, batch %d", results[0].Mode, results[0].Batch)
	note("%s", sb.String())
}

// envInts reads a comma-separated list of positive integers from environment variable name.
func envInts(b *testing.B, name string, def []int) []int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(strings.ReplaceAll(f, "_", "")))
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q: want positive integers separated by commas", name, v)
		}
		out = append(out, n)
	}
	return out
}
