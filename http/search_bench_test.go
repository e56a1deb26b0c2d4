package http

import (
	"context"
	"fmt"
	"math/rand/v2"
	nethttp "net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/newsroom/newsroom/auth"
	"github.com/newsroom/newsroom/bench"
	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/search"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// benchSearchPostgresEnv, set to 1, runs BenchmarkSearch on PostgreSQL (a fresh schema on
// NEWSROOM_TEST_POSTGRES_URL) instead of SQLite.
const benchSearchPostgresEnv = "NEWSROOM_BENCH_POSTGRES"

// BenchmarkSearch searches an archive of published articles (the corpus's communiqué, each
// with ten words of a made-up vocabulary of 1,000 added to its body, so that each word is in
// about 1% of the articles and two of them together in about 0.01%), over HTTP (benchSearchClients keep-alive
// connections over loopback, bench.RunLoad, no public cache: every answer from the view, total
// and snippets included), beside the raw FTS query of the same database in the same run (the
// same match expression, ranked, 20 rows, nothing else). It also reports the rebuild rate of
// the search and published views into the archive, and the size on disk of the public index
// beside the published view's.
//
//	go test -run=XXX -bench=Search -benchtime=1x -timeout=1h ./http
//	NEWSROOM_BENCH_POSTGRES=1 NEWSROOM_TEST_POSTGRES_URL=postgres://… go test -run=XXX -bench=Search -benchtime=1x -timeout=1h ./http
func BenchmarkSearch(b *testing.B) {
	n := benchEnvInt(b, benchArticlesEnv, 100_000)
	seconds := benchEnvInt(b, benchSecondsEnv, 3)
	db, rates := searchArchive(b, n)
	for name, rate := range rates {
		b.Logf("rebuild of the %s view: %.0f log events/s (%d articles, 4 events each)", name, rate, n)
	}
	secret, err := benchToken(db)
	if err != nil {
		b.Fatal(err)
	}
	s := projections.NewSearch(db)
	h := New(Config{Search: s, Tokens: auth.NewTokens(db), Public: projections.NewPublished(db),
		DeskViews: struct {
			*projections.Desk
			*projections.History
		}{projections.NewDesk(db), projections.NewHistory(db)}})
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			r.Header.Set("Authorization", "Bearer "+secret)
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()

	rng := rand.New(rand.NewPCG(7, 7))
	queries := make([]string, 200)
	for i := range queries {
		queries[i] = benchWord(rng.IntN(benchVocabulary)) + " " + benchWord(rng.IntN(benchVocabulary))
	}
	totals := 0
	for _, q := range queries[:20] {
		parsed, _ := search.Parse(q)
		hits, err := s.Public(context.Background(), projections.PublicSearch{Query: parsed, Page: projections.Page{Number: 1, PerPage: 20}})
		if err != nil {
			b.Fatal(err)
		}
		totals += hits.Total
	}
	one, _ := search.Parse(benchWord(1))
	hits, _ := s.Public(context.Background(), projections.PublicSearch{Query: one, Page: projections.Page{Number: 1, PerPage: 1}})
	b.Logf("one word matches %d of %d articles (%.2f%%); two words %.1f on average", hits.Total, n, 100*float64(hits.Total)/float64(n), float64(totals)/20)

	raw := rawSearchRate(b, db, queries, seconds)
	b.Run("raw-fts", func(b *testing.B) {
		b.ReportMetric(raw.rate, "queries/s")
		b.ReportMetric(float64(raw.p99)/float64(time.Millisecond), "p99-ms")
	})
	for _, row := range []struct{ name, path string }{
		{"public-search", "/public/v1/search?q="},
		{"desk-search", "/api/v1/articles?q="},
	} {
		b.Run(row.name, func(b *testing.B) {
			paths := make([]string, len(queries))
			for i, q := range queries {
				paths[i] = row.path + url.QueryEscape(q)
			}
			r, err := bench.RunLoad(context.Background(), bench.LoadSpec{Addr: strings.TrimPrefix(srv.URL, "http://"),
				Connections: benchSearchClients, Duration: time.Duration(seconds) * time.Second, Paths: paths})
			if err != nil {
				b.Fatal(err)
			}
			if r.Errors > 0 || r.Requests == 0 {
				b.Fatalf("%s: %d answered, %d errors (%v, first: %s)", row.name, r.Requests, r.Errors, r.Status, r.FirstErr)
			}
			b.ReportMetric(r.PerSecond(), "req/s")
			b.ReportMetric(float64(r.P50)/float64(time.Millisecond), "p50-ms")
			b.ReportMetric(float64(r.P99)/float64(time.Millisecond), "p99-ms")
			b.ReportMetric(r.PerSecond()/raw.rate, "x-raw-fts")
		})
	}
	index, view := searchSizes(b, db)
	b.Run("sizes", func(b *testing.B) {
		b.ReportMetric(float64(index)/(1<<20), "public-index-MiB")
		b.ReportMetric(float64(view)/(1<<20), "published-view-MiB")
		b.ReportMetric(float64(index)/float64(view), "x-published")
	})
}

const benchVocabulary = 1000

// benchSearchClients is how many searches are in flight at once, in both the raw and the HTTP
// rows: as many as the machine has cores, so that p99 measures a search, not a queue.
const benchSearchClients = 2

// benchWord is the i'th word of the made-up vocabulary: three syllables, never a real word.
func benchWord(i int) string {
	syllables := []string{"zor", "qua", "mib", "vex", "lun", "dra", "pim", "tok", "wel", "gry"}
	return "x" + syllables[i%10] + syllables[i/10%10] + syllables[i/100%10]
}

// searchArchiveLog is archiveLog with ten words of the vocabulary at the end of each body.
type searchArchiveLog struct{ *archiveLog }

func (l searchArchiveLog) ReadLog(ctx context.Context, from, until uint64, batchSize int, fn func([]events.Envelope) error) error {
	return l.archiveLog.ReadLog(ctx, from, until, batchSize, func(batch []events.Envelope) error {
		for i, env := range batch {
			step := int((env.Sequence - 1) % archiveSteps)
			if step != 0 && step != 3 {
				continue
			}
			article := int((env.Sequence - 1) / archiveSteps)
			rng := rand.New(rand.NewPCG(uint64(article), 1))
			words := make([]string, 10)
			for j := range words {
				words[j] = benchWord(rng.IntN(benchVocabulary))
				if j%2 == 1 {
					words[j] += "s" // found by the word without it: stemmed
				}
			}
			r, err := env.Recorded()
			if err != nil {
				return err
			}
			extra := "\n\nAlso: " + strings.Join(words, " ") + "."
			var e domain.Event
			switch d := r.Event.(type) {
			case domain.Drafted:
				d.Body += extra
				e = d
			case domain.Published:
				d.Body += extra
				e = d
			}
			fresh, err := events.NewEnvelope(env.ArticleID, env.ArticleVersion, e, r.By, r.At, events.Trace{CorrelationID: "bench"})
			if err != nil {
				return err
			}
			fresh.Sequence = env.Sequence
			batch[i] = fresh
		}
		return fn(batch)
	})
}

// searchArchive returns a database holding n published articles in the published and search
// views (kept in NEWSROOM_BENCH_DIR for the next run, on SQLite), and the rebuild rate of each
// view it wrote, in log events per second.
func searchArchive(b *testing.B, n int) (*sqldb.DB, map[string]float64) {
	b.Helper()
	ctx := context.Background()
	var db *sqldb.DB
	fresh := true
	if os.Getenv(benchSearchPostgresEnv) == "1" {
		db = sqldbtest.Open(b, sqldb.Postgres)
	} else {
		dir := os.Getenv(benchDirEnv)
		if dir == "" {
			dir = b.TempDir()
		}
		path := filepath.Join(dir, fmt.Sprintf("search-archive-%d-p%d-s%d.db", n, projections.NewPublished(nil).Version(), 1))
		_, statErr := os.Stat(path)
		var err error
		if db, err = sqldb.Open(ctx, "sqlite:"+path, ""); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		fresh = statErr != nil
	}
	inner, err := newArchiveLog(n)
	if err != nil {
		b.Fatal(err)
	}
	log := searchArchiveLog{inner}
	rates := map[string]float64{}
	if cp, _ := projections.Checkpoint(ctx, db, "search"); !fresh && cp == inner.last() {
		return db, rates
	}
	for _, v := range []projections.View{projections.NewSearch(db), projections.NewPublished(db), projections.NewDesk(db)} {
		p, err := (projections.Rebuild{DB: db, Log: log, View: v, BatchSize: 2000}).Run(ctx)
		if err != nil {
			b.Fatal(err)
		}
		rates[v.Name()] = float64(p.Applied) / time.Since(p.Started).Seconds()
	}
	return db, rates
}

type rawRate struct {
	rate float64
	p99  time.Duration
}

// rawSearchRate runs the database's own full-text query for each query in turn, from
// benchSearchClients goroutines for the given seconds: the match newsroom sends, ranked, its first 20 document
// ids, and nothing else (no total, no join, no text, no snippet, no HTTP).
func rawSearchRate(b *testing.B, db *sqldb.DB, queries []string, seconds int) rawRate {
	b.Helper()
	type prepared struct {
		sql  string
		args []any
	}
	var stmts []prepared
	for _, q := range queries {
		parsed, err := search.Parse(q)
		if err != nil {
			b.Fatal(err)
		}
		branches, err := parsed.Branches(search.Languages)
		if err != nil {
			b.Fatal(err)
		}
		if db.Dialect == sqldb.SQLite {
			exprs := make([]string, len(branches))
			for i, br := range branches {
				exprs[i] = br.FTS5()
			}
			stmts = append(stmts, prepared{`SELECT rowid FROM search_public_fts WHERE search_public_fts MATCH ? ORDER BY bm25(search_public_fts) LIMIT 20`,
				[]any{strings.Join(exprs, " OR ")}})
			continue
		}
		var terms []string
		var args []any
		for _, br := range branches {
			terms = append(terms, `(cfg = '`+br.Language.Config+`' AND tsv @@ to_tsquery('`+br.Language.Config+`'::regconfig, ?))`)
			args = append(args, br.TSQuery())
		}
		stmts = append(stmts, prepared{db.Read.Rebind(`SELECT doc FROM search_public WHERE ` + strings.Join(terms, " OR ") +
			` ORDER BY ts_rank(tsv, to_tsquery('english', ?)) DESC LIMIT 20`), append(args, branches[0].TSQuery())})
	}
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	var mu sync.Mutex
	var all []time.Duration
	var wg sync.WaitGroup
	for w := range benchSearchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for i := w; time.Now().Before(deadline); i++ {
				st := stmts[i%len(stmts)]
				start := time.Now()
				var docs []int64
				if err := db.Read.Select(&docs, st.sql, st.args...); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	start := time.Now()
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	return rawRate{rate: float64(len(all)) / elapsed.Seconds(), p99: bench.Percentile(all, 0.99)}
}

// searchSizes returns the bytes on disk of the public index (search_public, its tags and its
// FTS5 tables, with their indexes) and of the published view (its tables and indexes).
func searchSizes(b *testing.B, db *sqldb.DB) (index, view int64) {
	b.Helper()
	if db.Dialect == sqldb.Postgres {
		size := func(tables ...string) int64 {
			var total int64
			for _, t := range tables {
				var n int64
				if err := db.Read.Get(&n, `SELECT pg_total_relation_size($1::regclass)`, t); err != nil {
					b.Fatal(err)
				}
				total += n
			}
			return total
		}
		return size("search_public", "search_public_tags"), size("public_articles", "public_corrections", "public_tags", "public_counts")
	}
	var rows []struct {
		Table string `db:"tbl"`
		Bytes int64  `db:"bytes"`
	}
	if err := db.Read.Select(&rows, `SELECT COALESCE(m.tbl_name, s.name) AS tbl, SUM(s.pgsize) AS bytes
		FROM dbstat s LEFT JOIN sqlite_master m ON m.name = s.name GROUP BY 1`); err != nil {
		b.Fatal(err)
	}
	for _, r := range rows {
		switch {
		case strings.HasPrefix(r.Table, "search_public"):
			index += r.Bytes
		case strings.HasPrefix(r.Table, "public_"):
			view += r.Bytes
		}
	}
	return index, view
}
