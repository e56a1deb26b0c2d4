package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/newsroom/newsroom/bench"
	"github.com/newsroom/newsroom/embeddednats/natstest"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// BenchmarkPublicReadsBySlug reads published articles by slug over HTTP from one embedded
// instance (SQLite in its data directory, embedded NATS) and from two instances sharing
// PostgreSQL and NATS, each with its public cache ("cached") and with every answer read from
// the view ("cold": a cache whose answers are never fresh). Each row is one fixed-time load of
// keep-alive connections (bench.RunLoad), 8 in all, split evenly between the two instances;
// it reports requests per second in all and per instance, p99, and its ratio to the embedded
// instance's rate of the same variant.
//
//	NEWSROOM_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run=XXX -bench=PublicReadsBySlug -benchtime=1x ./cmd/newsroom
func BenchmarkPublicReadsBySlug(b *testing.B) {
	seconds := 3
	if v, err := strconv.Atoi(os.Getenv("NEWSROOM_BENCH_SECONDS")); err == nil && v > 0 {
		seconds = v
	}
	const articles = 100
	defer func(was time.Duration) { publicCacheMaxAge = was }(publicCacheMaxAge)
	for _, variant := range []string{"cached", "cold"} {
		publicCacheMaxAge = time.Second
		if variant == "cold" {
			publicCacheMaxAge = 0
		}
		var embedded float64
		b.Run(variant+"/embedded", func(b *testing.B) {
			dir := b.TempDir()
			rita, ed := createToken(b, dir, "rita", "reporter"), createToken(b, dir, "ed", "editor")
			ta := startTestApp(b, dir)
			paths := publishForBench(b, []*testApp{ta}, rita, ed, articles)
			embedded = reportLoad(b, []*testApp{ta}, paths, seconds, 0)
		})
		b.Run(variant+"/postgres-two-instances", func(b *testing.B) {
			dsn := sqldbtest.PostgresURL(b)
			ns := natstest.Start(b)
			rita, ed := createTokenIn(b, dsn, "rita", "reporter"), createTokenIn(b, dsn, "ed", "editor")
			var instances []*testApp
			for range 2 {
				instances = append(instances, startTestAppWith(b, config{HTTP: "127.0.0.1:0", DataDir: b.TempDir(), DB: dsn, NATSURL: ns.ClientURL()}))
			}
			paths := publishForBench(b, instances, rita, ed, articles)
			reportLoad(b, instances, paths, seconds, embedded)
		})
	}
}

// publishForBench publishes n articles through the first instance and returns their public
// paths once every instance serves them all.
func publishForBench(b *testing.B, instances []*testApp, reporter, editor string, n int) []string {
	b.Helper()
	body := corpus(b)
	var paths []string
	for i := range n {
		body["headline"] = fmt.Sprintf("Ministers meet, part %d", i)
		_, slug := publishedArticle(b, instances[0].base, reporter, editor, body)
		paths = append(paths, "/public/v1/articles/"+slug)
	}
	for _, ta := range instances {
		for _, p := range paths {
			waitUntil(b, p+" on "+ta.base, 30*time.Second, func() bool { return call(b, "GET", ta.base+p, "", nil).status == 200 })
		}
	}
	return paths
}

// reportLoad loads the instances at once, 8 connections split between them, and reports the
// rate in all and per instance, the worst p99, and the ratio to base (if not 0). It returns
// the rate in all.
func reportLoad(b *testing.B, instances []*testApp, paths []string, seconds int, base float64) float64 {
	b.Helper()
	results := make([]bench.LoadResult, len(instances))
	errs := make([]error, len(instances))
	var wg sync.WaitGroup
	for i, ta := range instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = bench.RunLoad(context.Background(), bench.LoadSpec{Addr: strings.TrimPrefix(ta.base, "http://"),
				Connections: 8 / len(instances), Duration: time.Duration(seconds) * time.Second, Paths: paths})
		}()
	}
	wg.Wait()
	var total float64
	var p99 time.Duration
	for i, r := range results {
		if errs[i] != nil || r.Errors > 0 {
			b.Fatalf("instance %d: %v; %d errors (%v, first: %s)", i, errs[i], r.Errors, r.Status, r.FirstErr)
		}
		total += r.PerSecond()
		p99 = max(p99, r.P99)
		b.ReportMetric(r.PerSecond(), fmt.Sprintf("req/s-instance-%d", i))
	}
	b.ReportMetric(total, "req/s")
	b.ReportMetric(float64(p99)/float64(time.Millisecond), "p99-ms")
	if base > 0 {
		b.ReportMetric(total/base, "x-embedded")
		b.ReportMetric(results[0].PerSecond()/base, "each-x-embedded")
	}
	return total
}
