package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// LoadSpec is what a load generator sends. It travels as JSON to a second process (`newsroom
// bench-load`), so that the load does not share the measured server's Go runtime.
type LoadSpec struct {
	Addr        string        // host:port of the server
	Connections int           // keep-alive connections, each with one request in flight
	Duration    time.Duration // how long to send
	// Rate, if > 0, paces the requests: Rate per second in all, spread over the connections.
	// Otherwise each connection sends its next request as soon as the last is answered.
	Rate float64
	// Paths (GET mode) are requested in turn; connection i starts at path i.
	Paths []string
	// Revise, if set, turns the load into revisions: PATCH /api/v1/articles/{id} with If-Match,
	// each connection revising its own share of the articles in turn (so that no two
	// connections race for one article) and reading the new version from the ETag.
	Revise *ReviseLoad
	// SSE, if set, makes the load event-stream readers instead (RunSSE).
	SSE *SSELoad
}

// ReviseLoad is a revision workload.
type ReviseLoad struct {
	Token    string
	Articles []ArticleVersion
	Body     string // the article body; each revision appends a counter so that it changes
}

// ArticleVersion is an article and the version a revision must name in If-Match.
type ArticleVersion struct {
	ID      string
	Version int
}

// LoadResult is what a load generator measured.
type LoadResult struct {
	Requests int64         // answered with 2xx
	Errors   int64         // answered otherwise, or failed
	Elapsed  time.Duration // from the first request sent to the last answer
	P50, P99 time.Duration // latency of the 2xx answers
	Status   map[int]int64 // every status seen, for diagnosis
	FirstErr string
}

// PerSecond is the 2xx answers per second.
func (r LoadResult) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// RunLoad sends spec's load and reports it. It keeps each connection alive and reads answers
// with net/http's parser (chunked bodies included) but without its client's per-connection
// goroutines, so that the generator costs as little CPU as it can.
func RunLoad(ctx context.Context, spec LoadSpec) (LoadResult, error) {
	if spec.Connections <= 0 {
		return LoadResult{}, fmt.Errorf("load: %d connections", spec.Connections)
	}
	if spec.Revise == nil && len(spec.Paths) == 0 {
		return LoadResult{}, fmt.Errorf("load: no paths and no revisions")
	}
	if spec.Revise != nil && len(spec.Revise.Articles) < spec.Connections {
		return LoadResult{}, fmt.Errorf("load: %d articles for %d connections; give at least one each", len(spec.Revise.Articles), spec.Connections)
	}
	ctx, cancel := context.WithTimeout(ctx, spec.Duration)
	defer cancel()
	workers := make([]*loadWorker, spec.Connections)
	for i := range workers {
		w := &loadWorker{spec: &spec, index: i, status: map[int]int64{}}
		if spec.Revise != nil {
			for j := i; j < len(spec.Revise.Articles); j += spec.Connections {
				w.articles = append(w.articles, spec.Revise.Articles[j])
			}
		}
		if spec.Rate > 0 {
			w.interval = time.Duration(float64(time.Second) * float64(spec.Connections) / spec.Rate)
		}
		workers[i] = w
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx, start)
		}()
	}
	wg.Wait()
	res := LoadResult{Elapsed: time.Since(start), Status: map[int]int64{}}
	var latencies []time.Duration
	for _, w := range workers {
		res.Requests += w.ok
		res.Errors += w.failed
		for s, n := range w.status {
			res.Status[s] += n
		}
		if res.FirstErr == "" && w.firstErr != nil {
			res.FirstErr = w.firstErr.Error()
		}
		latencies = append(latencies, w.latencies...)
	}
	res.P50, res.P99 = Percentile(latencies, 0.50), Percentile(latencies, 0.99)
	return res, nil
}

// Percentile returns the p-th quantile (0..1) of ds, sorting ds.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(int(float64(len(ds))*p), len(ds)-1)]
}

type loadWorker struct {
	spec     *LoadSpec
	index    int
	interval time.Duration
	articles []ArticleVersion
	revision int

	conn net.Conn
	br   *bufio.Reader
	req  bytes.Buffer

	ok, failed int64
	latencies  []time.Duration
	status     map[int]int64
	firstErr   error
}

func (w *loadWorker) run(ctx context.Context, start time.Time) {
	defer func() {
		if w.conn != nil {
			w.conn.Close()
		}
	}()
	// Paced connections start spread over one interval, not all at once.
	next := start.Add(time.Duration(w.index) * w.interval / time.Duration(max(w.spec.Connections, 1)))
	for n := 0; ctx.Err() == nil; n++ {
		if w.interval > 0 {
			if d := time.Until(next); d > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(d):
				}
			}
			next = next.Add(w.interval)
		}
		if err := w.one(ctx, n); err != nil {
			if ctx.Err() != nil {
				return // the last request did not finish within the grace: not counted
			}
			w.failed++
			if w.firstErr == nil {
				w.firstErr = err
			}
			if w.conn != nil {
				w.conn.Close()
				w.conn = nil
			}
		}
	}
}

// one sends one request and reads its answer.
func (w *loadWorker) one(ctx context.Context, n int) error {
	if w.conn == nil {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", w.spec.Addr)
		if err != nil {
			return err
		}
		// No request is sent after the load's end; the one in flight then gets a few seconds
		// to be answered: cutting it would cancel it on the server, which is not the load's
		// business.
		if end, ok := ctx.Deadline(); ok {
			conn.SetDeadline(end.Add(5 * time.Second))
		}
		w.conn, w.br = conn, bufio.NewReaderSize(conn, 16<<10)
	}
	w.req.Reset()
	var article *ArticleVersion
	if rv := w.spec.Revise; rv != nil {
		article = &w.articles[n%len(w.articles)]
		w.revision++
		body := `{"body":` + strconv.Quote(rv.Body+"\n\nRevision "+strconv.Itoa(w.revision)+" by connection "+strconv.Itoa(w.index)+".") + `}`
		fmt.Fprintf(&w.req, "PATCH /api/v1/articles/%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
			"If-Match: \"%d\"\r\nContent-Type: application/merge-patch+json\r\nContent-Length: %d\r\n\r\n%s",
			article.ID, w.spec.Addr, rv.Token, article.Version, len(body), body)
	} else {
		path := w.spec.Paths[(w.index+n)%len(w.spec.Paths)]
		fmt.Fprintf(&w.req, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n\r\n", path, w.spec.Addr)
	}
	sent := time.Now()
	if _, err := w.conn.Write(w.req.Bytes()); err != nil {
		return err
	}
	resp, err := nethttp.ReadResponse(w.br, nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	w.status[resp.StatusCode]++
	if resp.StatusCode/100 != 2 {
		w.failed++
		if w.firstErr == nil {
			w.firstErr = fmt.Errorf("%s: status %d", w.req.String()[:min(w.req.Len(), 80)], resp.StatusCode)
		}
		return nil
	}
	w.ok++
	w.latencies = append(w.latencies, time.Since(sent))
	if article != nil {
		v, err := strconv.Atoi(string(bytes.Trim([]byte(resp.Header.Get("ETag")), `W/"`)))
		if err != nil {
			return fmt.Errorf("revision answered without a version ETag: %q", resp.Header.Get("ETag"))
		}
		article.Version = v
	}
	if resp.Close {
		w.conn.Close()
		w.conn = nil
	}
	return nil
}
