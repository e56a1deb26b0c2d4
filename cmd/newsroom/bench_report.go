package main

// The report: the table of measures against their raw limits and targets.

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/newsroom/newsroom/bench"
)

func ratio(a, b float64) string {
	if b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// sizes lists byte counts: "9,000 / 60,000".
func sizes(ns []int) string {
	var out []string
	for _, n := range ns {
		out = append(out, bench.Humanize(float64(n)))
	}
	if len(out) == 0 {
		return "no"
	}
	return strings.Join(out, " / ")
}

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
	pageRatio := b.pages.PerSecond() / max(b.rawPages.PerSecond(), 1)
	fmt.Fprintf(w, "public pages/s by slug (%d slugs, HTML)\t%s req/s (Echo, the same HTML from memory)\t%s\t%.2f\t≥ 0.80\t%s\t\n",
		cfg.ReadSlugs, bench.Humanize(b.rawPages.PerSecond()), bench.Humanize(b.pages.PerSecond()), pageRatio, met(pageRatio >= 0.8))
	im := b.images
	imageRatio := im.reads.PerSecond() / max(im.rawEcho.PerSecond(), 1)
	fmt.Fprintf(w, "image reads/s (public renditions of %s bytes)\t%s req/s (Echo, the same bytes from memory)\t%s\t%.2f\t≥ 0.80\t%s\t\n",
		sizes(im.sizes), bench.Humanize(im.rawEcho.PerSecond()), bench.Humanize(im.reads.PerSecond()), imageRatio, met(imageRatio >= 0.8))
	median, fastest, slowest := im.uploadSpread()
	fmt.Fprintf(w, "upload of a %.1f MB %d×%d JPEG, wall median (fastest–slowest of %d)\t–\t%s (%s–%s)\t–\t≤ 1 s\t%s\t\n",
		float64(im.photoBytes)/1e6, benchPhotoWidth, benchPhotoHeight, len(im.uploads), ms(median), ms(fastest), ms(slowest),
		met(median > 0 && median <= time.Second))
	if i := slices.IndexFunc(b.phases, func(p phaseFigures) bool { return p.name == "upload" }); i >= 0 {
		m := b.phases[i].mem
		fmt.Fprintf(w, "upload peak RSS (VmHWM of this process: server, client and the photo)\t–\t%s (%s at the start)\t–\tbounded\t\t\n",
			mb(m.PeakRSS), mb(m.StartRSS))
	}
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
	}{{"raw Echo", b.rawEcho}, {"public reads", b.reads}, {"raw Echo, pages", b.rawPages}, {"public pages", b.pages},
		{"raw Echo, images", im.rawEcho}, {"image reads", im.reads}, {"commands", b.commands}, {"steady commands", b.steady}} {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t\n", r.name, ms(r.res.P50), ms(r.res.P99), r.res.Requests, r.res.Errors)
	}
	fmt.Fprintf(w, "publishes (answer → readable)\t%s\t%s\t%d\t%d\t\n", ms(p50), ms(p99), len(lat), b.publishFails)
	over := len(lat) - slices.IndexFunc(append(lat, time.Hour), func(d time.Duration) bool { return d > 50*time.Millisecond })
	fmt.Fprintf(w, "publishes readable after more than 50 ms\t\t\t%d\t\t\n", over)
	w.Flush()
	fmt.Fprintf(b.stdout, "\nviews caught up %s after the command load ended\n", b.catchUp.Round(time.Millisecond))
	var views []string
	for _, name := range []string{"published", "desk", "history", "search"} {
		// Each view's own rate: the log's events over the time it took that view.
		d := b.replay.perView[name]
		views = append(views, fmt.Sprintf("%s %s (%s events/s)", name, d.Round(time.Millisecond),
			bench.Humanize(float64(rp.events)/max(d.Seconds(), 1e-9))))
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
