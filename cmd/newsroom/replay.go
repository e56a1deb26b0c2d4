package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	apiclient "github.com/newsroom/newsroom/client"
	"github.com/newsroom/newsroom/embeddednats"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
)

type replayConfig struct {
	config
	projections stringList
	batchSize   int
	parallel    bool
	api, token  string
}

func replayCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg replayConfig
	f := newFlags("replay", stderr)
	f.storage(&cfg.config)
	f.string(&cfg.NATSURL, "nats-url", "", "external NATS with the log; empty runs an embedded server on the data directory")
	f.fs.Var(&cfg.projections, "projection", "a view to rebuild (repeatable; default: every view)")
	f.fs.IntVar(&cfg.batchSize, "batch-size", projections.DefaultBatchSize, "events per transaction")
	f.bool(&cfg.parallel, "parallel", "offline: rebuild the views at once from one read of the log (faster; an interrupted run leaves every view part-way, each resumable) instead of one after the other")
	f.string(&cfg.api, "api", "", "API of the running serve (default: from <data-dir>/http.url)")
	f.string(&cfg.token, "token", "", "an admin token, to ask a running serve to rebuild")
	if err := f.parse(args); err != nil {
		return err
	}
	lock, err := lockDataDir(cfg.DataDir)
	if errors.Is(err, errDataDirBusy) {
		// serve runs on this data directory: it rebuilds, blue/green, and we follow.
		return replayOnline(ctx, cfg, stdout, stderr)
	}
	if err != nil {
		return err
	}
	defer lock.release()
	return replayOffline(ctx, cfg, stdout, stderr)
}

// replayOffline rebuilds the views itself, with serve stopped.
func replayOffline(ctx context.Context, cfg replayConfig, stdout, stderr io.Writer) error {
	natsURL := cfg.NATSURL
	if natsURL == "" {
		srv, err := embeddednats.Start(embeddednats.Config{StoreDir: filepath.Join(cfg.DataDir, "nats"), Listen: "127.0.0.1:0"})
		if err != nil {
			return err
		}
		defer srv.Stop()
		natsURL = srv.ClientURL()
	}
	nc, err := nats.Connect(natsURL, newsroomNATSOptions("newsroom replay")...)
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", redactNATSURL(natsURL), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	store, err := events.Open(ctx, js, 1)
	if err != nil {
		return fmt.Errorf("event log: %w", err)
	}
	db, err := sqldb.Open(ctx, cfg.DB, cfg.DataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	_, _, _, all := views(db)
	selected, err := selectViews(all, cfg.projections)
	if err != nil {
		return err
	}
	if !cfg.parallel {
		return replaySequential(ctx, cfg, db, store, selected, stdout, stderr)
	}
	// The views are rebuilt at once, from one read of the log.
	var shown sync.Mutex
	rebuilds := make([]projections.Rebuild, len(selected))
	printers := make([]*progressPrinter, len(selected))
	for i, v := range selected {
		show := newProgressPrinter(stderr, v.Name())
		printers[i] = show
		rebuilds[i] = projections.Rebuild{DB: db, Log: store, View: v, BatchSize: cfg.batchSize, Progress: func(p projections.Progress) {
			shown.Lock()
			defer shown.Unlock()
			show.update(p)
		}}
	}
	progress, errs := projections.RebuildAll(ctx, rebuilds)
	for i, v := range selected {
		printers[i].finish()
		if err := reportReplay(ctx, stdout, v.Name(), progress[i], errs[i]); err != nil {
			return err
		}
	}
	return nil
}

// replaySequential rebuilds the views one after the other: an interrupted run leaves at most one
// view part-way.
func replaySequential(ctx context.Context, cfg replayConfig, db *sqldb.DB, store *events.Store, selected []projections.View, stdout, stderr io.Writer) error {
	for _, v := range selected {
		show := newProgressPrinter(stderr, v.Name())
		rb := projections.Rebuild{DB: db, Log: store, View: v, BatchSize: cfg.batchSize, Progress: show.update}
		p, err := rb.Run(ctx)
		show.finish()
		if err := reportReplay(ctx, stdout, v.Name(), p, err); err != nil {
			return err
		}
	}
	return nil
}

// reportReplay prints how one view's replay ended, or says why it did not finish.
func reportReplay(ctx context.Context, stdout io.Writer, name string, p projections.Progress, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("replay of %s interrupted at position %d; run replay again to resume there", name, p.Checkpoint)
	}
	if err != nil && !p.Done {
		return fmt.Errorf("replay of %s: %w", name, err)
	}
	fmt.Fprintf(stdout, "%s: %d events applied in %s (%.0f events/s), at position %d\n",
		name, p.Applied, time.Since(p.Started).Round(time.Millisecond), p.Rate(), p.Checkpoint)
	if err != nil {
		return fmt.Errorf("replay of %s stopped at a gap in the log, with everything before it applied: %w", name, err)
	}
	return nil
}

func selectViews(all []projections.View, names []string) ([]projections.View, error) {
	if len(names) == 0 {
		return all, nil
	}
	var known []string
	for _, v := range all {
		known = append(known, v.Name())
	}
	var out []projections.View
	for _, name := range names {
		i := slices.Index(known, name)
		if i < 0 {
			return nil, fmt.Errorf("no view named %q; the views are %s", name, strings.Join(known, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

// replayOnline asks the running serve to rebuild each view and follows its progress.
func replayOnline(ctx context.Context, cfg replayConfig, stdout, stderr io.Writer) error {
	api := cfg.api
	if api == "" {
		var err error
		if api, err = readURLFile(cfg.DataDir, httpURLFile); err != nil {
			return fmt.Errorf("serve is running on %s but its API address is unknown (%v): give --api", cfg.DataDir, err)
		}
	}
	if cfg.token == "" {
		return errors.New("serve is running on this data directory: give an admin token (--token or NEWSROOM_TOKEN) to ask it to rebuild")
	}
	c, err := apiclient.New(strings.TrimSpace(api), apiclient.WithToken(cfg.token))
	if err != nil {
		return fmt.Errorf("--api: %w", err)
	}
	statuses, err := c.Projections(ctx)
	if err != nil {
		return fmt.Errorf("ask serve for its views: %w", err)
	}
	names := []string(cfg.projections)
	if len(names) == 0 {
		for _, s := range statuses {
			names = append(names, s.Name)
		}
	}
	fmt.Fprintf(stderr, "serve is running: asking it to rebuild %s blue/green\n", strings.Join(names, ", "))
	for _, name := range names {
		started := time.Now()
		if err := c.Rebuild(ctx, name); err != nil {
			return fmt.Errorf("ask serve to rebuild %s: %w", name, err)
		}
		show := newProgressPrinter(stderr, name)
		for {
			select {
			case <-ctx.Done():
				show.finish()
				return fmt.Errorf("stopped following; serve goes on rebuilding %s", name)
			case <-time.After(300 * time.Millisecond):
			}
			statuses, err := c.Projections(ctx)
			if err != nil {
				return fmt.Errorf("follow the rebuild of %s: %w", name, err)
			}
			i := slices.IndexFunc(statuses, func(s apiclient.Projection) bool { return s.Name == name })
			if i < 0 {
				return fmt.Errorf("serve no longer reports view %s", name)
			}
			s := statuses[i]
			if r := s.Rebuild; r != nil && !r.StartedAt.Before(started.Add(-time.Second)) {
				show.update(projections.Progress{View: name, Applied: r.Applied, Checkpoint: r.Checkpoint,
					Target: r.Target, From: r.From, Started: r.StartedAt, Done: r.Done})
				if s.State != "rebuilding" {
					show.finish()
					fmt.Fprintf(stdout, "%s: %d events applied in %s (%.0f events/s), at position %d\n",
						name, r.Applied, time.Since(r.StartedAt).Round(time.Millisecond), r.Rate, r.Checkpoint)
					if s.LastError != "" {
						return fmt.Errorf("rebuild of %s: %s", name, s.LastError)
					}
					break
				}
			}
		}
	}
	return nil
}

// progressPrinter shows a rebuild's progress: a bar on a terminal, a line every few seconds
// otherwise.
type progressPrinter struct {
	w       io.Writer
	name    string
	tty     bool
	last    time.Time
	printed bool
}

func newProgressPrinter(w io.Writer, name string) *progressPrinter {
	f, ok := w.(*os.File)
	return &progressPrinter{w: w, name: name, tty: ok && isatty.IsTerminal(f.Fd())}
}

func (p *progressPrinter) update(pr projections.Progress) {
	interval := 2 * time.Second
	if p.tty {
		interval = 100 * time.Millisecond
	}
	if time.Since(p.last) < interval && !pr.Done {
		return
	}
	p.last = time.Now()
	total := pr.Target - min(pr.From, pr.Target)
	done := min(pr.Checkpoint-min(pr.From, pr.Checkpoint), total)
	rate := pr.Rate()
	left := "?"
	if rate > 0 {
		left = (time.Duration(float64(pr.Remaining())/rate) * time.Second).Round(time.Second).String()
	}
	if !p.tty {
		slog.New(slog.NewTextHandler(p.w, nil)).Info("replay", "view", p.name, "done", done, "total", total,
			"events_per_second", int(rate), "left", left)
		return
	}
	const width = 30
	filled := width
	if total > 0 {
		filled = int(done * width / total)
	}
	fmt.Fprintf(p.w, "\r%-10s [%s%s] %d/%d  %.0f ev/s  %s left   ", p.name,
		strings.Repeat("=", filled), strings.Repeat(" ", width-filled), done, total, rate, left)
	p.printed = true
}

func (p *progressPrinter) finish() {
	if p.tty && p.printed {
		fmt.Fprintln(p.w)
	}
}
