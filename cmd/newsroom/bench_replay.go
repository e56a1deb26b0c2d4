package main

// The replay phase: a generated log rebuilt into every view, beside the raw read and write of the same data.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/bench"
	"github.com/newsroom/newsroom/embeddednats"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
)

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
