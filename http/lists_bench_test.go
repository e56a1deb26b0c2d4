package http

import (
	"context"
	"fmt"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/newsroom/newsroom/auth"
	"github.com/newsroom/newsroom/bench"
	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
)

// Environment variables that shape BenchmarkListings.
const (
	benchArticlesEnv = "NEWSROOM_BENCH_ARTICLES" // published articles in the archive; default 100,000
	benchSecondsEnv  = "NEWSROOM_BENCH_SECONDS"  // seconds of load per row; default 3
	benchDirEnv      = "NEWSROOM_BENCH_DIR"      // keep the generated archive here and reuse it
)

// BenchmarkListings serves the public list page (15), the Atom feed and the desk list from an
// archive of published articles, beside reads by slug in the same run, with the public cache
// (as serve runs) and without it (every answer from the view). Each row is one load of
// keep-alive connections over loopback (bench.RunLoad), for a fixed time; it reports requests
// per second, p99, and its ratio to the by-slug row of the same variant.
//
//	go test -run=XXX -bench=Listings -benchtime=1x -timeout=1h ./http
//	NEWSROOM_BENCH_DIR=/tmp/newsroom-lists go test -run=XXX -bench=Listings -benchtime=1x ./http
func BenchmarkListings(b *testing.B) {
	n := benchEnvInt(b, benchArticlesEnv, 100_000)
	seconds := benchEnvInt(b, benchSecondsEnv, 3)
	db := benchArchive(b, n)
	secret, err := benchToken(db)
	if err != nil {
		b.Fatal(err)
	}
	published, desk := projections.NewPublished(db), projections.NewDesk(db)
	var slugs []string
	// Slugs spread over the whole archive, not only the newest.
	for i := 0; i < n; i += max(1, n/100) {
		slugs = append(slugs, "/public/v1/articles/"+benchSlug(i))
	}
	rows := []struct {
		name  string
		paths []string
	}{
		{"by-slug", slugs},
		{"public-list-15", []string{"/public/v1/articles?per_page=15"}},
		{"public-list-15-lang", []string{"/public/v1/articles?per_page=15&lang=fr"}},
		{"public-list-15-tag", []string{"/public/v1/articles?per_page=15&tag=nato"}},
		{"atom-feed", []string{"/public/v1/feeds/atom.xml"}},
		{"desk-list", []string{"/api/v1/articles?per_page=15"}},
		{"desk-list-status", []string{"/api/v1/articles?per_page=15&status=published"}},
	}
	for _, variant := range []string{"cached", "cold"} {
		b.Run(variant, func(b *testing.B) {
			var cache *PublicCache
			if variant == "cached" {
				cache = NewPublicCache(PublicCacheMaxAge)
			}
			h := New(Config{Public: published, PublicCache: cache, Tokens: auth.NewTokens(db), PublicURL: "https://news.example.org",
				DeskViews: struct {
					*projections.Desk
					*projections.History
				}{desk, projections.NewHistory(db)}})
			// bench.RunLoad sends no headers: the editors' token is added here.
			srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
				if strings.HasPrefix(r.URL.Path, "/api/") {
					r.Header.Set("Authorization", "Bearer "+secret)
				}
				h.ServeHTTP(w, r)
			}))
			defer srv.Close()
			var bySlug float64
			for _, row := range rows {
				b.Run(row.name, func(b *testing.B) {
					r, err := bench.RunLoad(context.Background(), bench.LoadSpec{Addr: strings.TrimPrefix(srv.URL, "http://"),
						Connections: 8, Duration: time.Duration(seconds) * time.Second, Paths: row.paths})
					if err != nil {
						b.Fatal(err)
					}
					if r.Errors > 0 || r.Requests == 0 {
						b.Fatalf("%s: %d answered, %d errors (%v, first: %s)", row.name, r.Requests, r.Errors, r.Status, r.FirstErr)
					}
					if row.name == "by-slug" {
						bySlug = r.PerSecond()
					}
					b.ReportMetric(r.PerSecond(), "req/s")
					b.ReportMetric(float64(r.P99)/float64(time.Millisecond), "p99-ms")
					b.ReportMetric(r.PerSecond()/bySlug, "x-by-slug")
				})
			}
		})
	}
}

func benchEnvInt(b *testing.B, name string, def int) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a whole number from 1", name, v)
	}
	return n
}

func benchSlug(i int) string { return fmt.Sprintf("communique-%06d", i) }

// benchArchive returns a SQLite database holding n published articles in the published and
// desk views, written through the views' own Apply in batches (a Rebuild from a generated
// log), or the one NEWSROOM_BENCH_DIR keeps from an earlier run with the same n and view
// versions.
func benchArchive(b *testing.B, n int) *sqldb.DB {
	b.Helper()
	ctx := context.Background()
	dir := os.Getenv(benchDirEnv)
	if dir == "" {
		dir = b.TempDir()
	}
	published, desk := projections.NewPublished(nil), projections.NewDesk(nil)
	path := filepath.Join(dir, fmt.Sprintf("archive-%d-p%d-d%d.db", n, published.Version(), desk.Version()))
	_, statErr := os.Stat(path)
	db, err := sqldb.Open(ctx, "sqlite:"+path, "")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	log, err := newArchiveLog(n)
	if err != nil {
		b.Fatal(err)
	}
	if cp, _ := projections.Checkpoint(ctx, db, "desk"); statErr == nil && cp == log.last() {
		return db
	}
	start := time.Now()
	for _, v := range []projections.View{projections.NewPublished(db), projections.NewDesk(db)} {
		if _, err := (projections.Rebuild{DB: db, Log: log, View: v, BatchSize: 2000}).Run(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("archive of %d published articles written through Apply in %s", n, time.Since(start).Round(time.Second))
	return db
}

// archiveLog generates the log of n articles, each drafted, submitted, approved and published
// (four events), one minute apart in publication, in three languages, with tags; it holds
// nothing in memory but the text.
type archiveLog struct {
	n    int
	text bench.Text
}

const archiveSteps = 4

func newArchiveLog(n int) (*archiveLog, error) {
	text, err := bench.LoadText("../testdata/nato-russia-council-ministers-meet.txt")
	return &archiveLog{n: n, text: text}, err
}

func (l *archiveLog) last() uint64 { return uint64(l.n * archiveSteps) }

func (l *archiveLog) LastSequence(context.Context) (uint64, error) { return l.last(), nil }

func (l *archiveLog) ReadLog(_ context.Context, from, until uint64, batchSize int, fn func([]events.Envelope) error) error {
	until = min(until, l.last())
	batch := make([]events.Envelope, 0, batchSize)
	for seq := max(from, 1); seq <= until; seq++ {
		env, err := l.event(seq)
		if err != nil {
			return err
		}
		if batch = append(batch, env); len(batch) == batchSize {
			if err := fn(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		return fn(batch)
	}
	return nil
}

var (
	benchReporter = domain.Actor{ID: "u-rep", Role: domain.RoleReporter}
	benchEditor   = domain.Actor{ID: "u-ed", Role: domain.RoleEditor}
	benchT0       = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
)

func (l *archiveLog) event(seq uint64) (events.Envelope, error) {
	i, step := int((seq-1)/archiveSteps), int((seq-1)%archiveSteps)
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	at := benchT0.Add(time.Duration(i) * time.Minute)
	lang := []string{"en", "fr", "de"}[i%3]
	tags := []string{"nato", "council", "ministers"}[: 1+i%3 : 1+i%3]
	headline := fmt.Sprintf("%s (%d)", l.text.Headline, i)
	var e domain.Event
	by := benchReporter
	switch step {
	case 0:
		e = domain.Drafted{Headline: headline, Summary: l.text.Lede, Body: l.text.Body, Language: lang, Byline: "NATO", Tags: tags, Slug: benchSlug(i)}
	case 1:
		e = domain.Submitted{}
	case 2:
		e, by = domain.Approved{}, benchEditor
	case 3:
		e, by = domain.Published{Slug: benchSlug(i), PublishedAt: at, Headline: headline, Summary: l.text.Lede, Body: l.text.Body,
			Language: lang, Byline: "NATO", Dateline: "BRUSSELS", Tags: tags}, benchEditor
	}
	env, err := events.NewEnvelope(id, step+1, e, by, at, events.Trace{CorrelationID: "bench"})
	env.Sequence = seq
	return env, err
}

// benchToken creates an editor's token and returns its secret.
func benchToken(db *sqldb.DB) (string, error) {
	secret, _, err := auth.NewTokens(db).Create(context.Background(), fmt.Sprintf("bench-%d", time.Now().UnixNano()), domain.RoleEditor)
	return secret, err
}
