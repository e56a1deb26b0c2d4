package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	nethttp "net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// throughProxy is dsn with its host and port replaced by the proxy's.
func throughProxy(tb testing.TB, dsn, proxyAddr string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	u.Host = proxyAddr
	return u.String()
}

func hostPort(tb testing.TB, dsn string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "5432")
	}
	return u.Host
}

// readyReport is the body of GET /readyz.
type readyReport struct {
	Status   string                    `json:"status"`
	Log      readyComponent            `json:"log"`
	Database readyComponent            `json:"database"`
	Views    map[string]readyComponent `json:"views"`
}

type readyComponent struct {
	Status   string `json:"status"`
	Position uint64 `json:"position"`
	Lag      uint64 `json:"lag"`
	Error    string `json:"error"`
}

// boundedCall is call with a client that gives up: during a blackhole a request that needs the
// database may wait, and the test must see that rather than wait with it.
func boundedCall(tb testing.TB, method, target, token string, body any, headers ...string) (response, error) {
	tb.Helper()
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		reader = strings.NewReader(string(data))
	}
	if s, ok := body.(string); ok {
		reader = strings.NewReader(s)
	}
	req, err := nethttp.NewRequest(method, target, reader)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := nethttp.Client{Timeout: 15 * time.Second, Transport: checkedClient(tb).Transport}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: data}, err
}

// The view database is cut away while editors keep working: every command is accepted (the
// log is NATS), /readyz names the views that are down and why, and when the database returns
// the views catch up with nothing lost: their rows equal a clean replay of the log.
func TestViewDatabaseCutAway(t *testing.T) {
	sqldbtest.PostgresServer(t, "the view database cut (PostgreSQL behind a proxy)")
	for _, mode := range []sqldbtest.CutMode{sqldbtest.Refusing, sqldbtest.Blackholing} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel() // each has its own schema, proxy, NATS and app
			testViewDatabaseCut(t, mode)
		})
	}
}

func testViewDatabaseCut(t *testing.T, mode sqldbtest.CutMode) {
	dsn := sqldbtest.PostgresURL(t)
	proxy := sqldbtest.StartProxy(t, hostPort(t, dsn))
	reporter := createTokenIn(t, dsn, "rita", "reporter")
	editor := createTokenIn(t, dsn, "ed", "editor")
	admin := createTokenIn(t, dsn, "ada", "admin")

	logLevel := slog.LevelError + 1 // quiet
	if testing.Verbose() {
		logLevel = slog.LevelWarn
	}
	cfg := config{HTTP: "127.0.0.1:0", DataDir: t.TempDir(), DB: throughProxy(t, dsn, proxy.Addr()), NATSListen: "127.0.0.1:0", NoSync: true}
	a, err := startApp(context.Background(), cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel})))
	if err != nil {
		t.Fatalf("start newsroom on PostgreSQL through a proxy: %v", err)
	}
	ta := &testApp{app: a, dataDir: cfg.DataDir, base: "http://" + a.httpAddr}
	t.Cleanup(ta.Close)
	api := ta.base + "/api/v1/articles"

	// story runs an article through the desk and returns its id; every command must be accepted.
	published := 0
	story := func(i int, publish bool) string {
		t.Helper()
		body := corpus(t)
		body["headline"] = fmt.Sprintf("Ministers meet, part %d", i)
		expectAccepted := func(r response, err error, want int, what string) response {
			t.Helper()
			if err != nil {
				t.Fatalf("%s of story %d: %v", what, i, err)
			}
			expectStatus(t, r, want, fmt.Sprintf("%s of story %d", what, i))
			return r
		}
		r, err := boundedCall(t, "POST", api, reporter, body)
		id := expectAccepted(r, err, 201, "draft").json(t)["id"].(string)
		r, err = boundedCall(t, "PATCH", api+"/"+id, reporter, `{"summary":"Ministers met."}`, "If-Match", `"1"`, "Content-Type", "application/merge-patch+json")
		expectAccepted(r, err, 200, "revise")
		r, err = boundedCall(t, "POST", api+"/"+id+"/submit", reporter, nil)
		expectAccepted(r, err, 200, "submit")
		if !publish {
			return id
		}
		r, err = boundedCall(t, "POST", api+"/"+id+"/approve", editor, nil)
		expectAccepted(r, err, 200, "approve")
		r, err = boundedCall(t, "POST", api+"/"+id+"/publish", editor, nil)
		expectAccepted(r, err, 200, "publish")
		published++
		return id
	}
	ready := func() (int, readyReport) {
		t.Helper()
		r, err := boundedCall(t, "GET", ta.base+"/readyz", "", nil)
		if err != nil {
			t.Fatalf("GET /readyz: %v", err)
		}
		var rep readyReport
		if err := json.Unmarshal(r.body, &rep); err != nil {
			t.Fatalf("GET /readyz: %v\n%s", err, r.body)
		}
		return r.status, rep
	}

	// Before the cut: the tokens are used (and so remembered), the views are at the log's end.
	story(0, true)
	story(1, false)
	waitCaughtUp(t, ta.base, admin)

	proxy.Cut(mode)
	cutAt := time.Now()

	// During the cut every command is accepted: the log is NATS.
	var during []string
	for i := 2; i < 8; i++ {
		during = append(during, story(i, i%2 == 0))
	}
	// A command on an article written before the cut, read from the log.
	r, err := boundedCall(t, "GET", api+"/"+during[0], reporter, nil)
	if err != nil || r.status != 200 {
		t.Fatalf("GET an article during the cut: %v %d %s", err, r.status, r.body)
	}
	commandsTook := time.Since(cutAt)

	// /readyz: 200 (this instance takes commands), the database down, every view down for it.
	var last uint64
	waitUntil(t, "/readyz to report the database and every view down", time.Minute, func() bool {
		status, rep := ready()
		if status != 200 || rep.Log.Status != "ok" {
			t.Fatalf("/readyz during the cut = %d %+v; want 200 with the log ok", status, rep)
		}
		last = rep.Log.Position
		if rep.Status != "degraded" || rep.Database.Status != "down" || len(rep.Views) != len(viewNames()) {
			return false
		}
		for _, v := range rep.Views {
			if v.Status != "down" || !strings.Contains(v.Error, "database") || v.Position+v.Lag != last {
				return false
			}
		}
		return true
	})
	// The cut lasts until every view has failed: refused, until its failed event has been
	// redelivered by the server (the retries in place are spent, the redelivery after a backoff
	// has begun); blackholed, until its first attempt has timed out, on a connection that will
	// stay half-open.
	nc, js := connectNATS(t, a.natsURL)
	defer nc.Close()
	waitUntil(t, "every view to fail", time.Minute, func() bool {
		// Each view fails on its own: the reader detaches it and goes on, and the view
		// retries from its checkpoint, saying why in its status.
		for _, v := range viewReports(t, ta.base, admin) {
			if v.LastError == "" {
				return false
			}
		}
		return true
	})
	failedAfter := time.Since(cutAt)
	_, rep := ready()
	t.Logf("%s: commands during the cut took %s; every view failed after %s; /readyz: %+v", mode, commandsTook.Round(time.Millisecond), failedAfter.Round(time.Millisecond), rep)

	// Public reads need the database: they fail, as problems that say retry, rather than hang.
	// The reads by slug bound their reads in the public cache, the others in boundedRead; a
	// slug nobody asked for is in no cache.
	for _, path := range []string{"/public/v1/articles", "/public/v1/articles/no-such-slug", "/news/no-such-slug"} {
		readAt := time.Now()
		r, err = boundedCall(t, "GET", ta.base+path, "", nil)
		t.Logf("%s: a public read (%s) during the cut answered %d after %s", mode, path, r.status, time.Since(readAt).Round(time.Millisecond))
		if err != nil {
			t.Errorf("GET %s during the cut: %v; want an answer", path, err)
		} else if r.status != 503 || r.header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(r.body), "database-unavailable") || r.header.Get("Retry-After") == "" {
			t.Errorf("GET %s during the cut = %d %s %s; want a 503 database-unavailable problem with Retry-After", path, r.status, r.header.Get("Content-Type"), r.body)
		}
	}

	// More commands, well into the cut.
	for i := 8; i < 10; i++ {
		during = append(during, story(i, true))
	}
	_, rep = ready()
	last = rep.Log.Position

	proxy.Restore()
	restoredAt := time.Now()
	waitUntil(t, "every view to reach the log's last position after the database returned", time.Minute, func() bool {
		for _, v := range viewReports(t, ta.base, admin) {
			if v.Checkpoint != last || v.LastError != "" {
				return false
			}
		}
		return true
	})
	caughtUp := time.Since(restoredAt)
	status, rep := ready()
	if status != 200 || rep.Status != "ok" || rep.Database.Status != "ok" {
		t.Errorf("/readyz after the views caught up = %d %+v; want 200, everything ok", status, rep)
	}
	for name, v := range rep.Views {
		if v.Status != "ok" || v.Position != last {
			t.Errorf("/readyz view %s = %+v; want ok at %d", name, v, last)
		}
	}
	t.Logf("%s: views caught up %s after the database returned (%d events; the cut lasted %s; %d connections still held by the proxy)",
		mode, caughtUp.Round(time.Millisecond), last, restoredAt.Sub(cutAt).Round(time.Millisecond), proxy.HeldConns())

	// Nothing lost: the rows equal a clean replay of the log into a fresh schema.
	clean := sqldbtest.PostgresURL(t)
	var out, errOut strings.Builder
	if err := run(context.Background(), []string{"replay", "--data-dir", t.TempDir(), "--db", clean, "--nats-url", a.natsURL}, &out, &errOut); err != nil {
		t.Fatalf("replay into a fresh schema: %v\n%s", err, errOut.String())
	}
	live, err := sqldb.Open(context.Background(), dsn, "")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	replayed, err := sqldb.Open(context.Background(), clean, "")
	if err != nil {
		t.Fatal(err)
	}
	defer replayed.Close()
	compareDumps(t, "views after the cut, against a clean replay", dumpViewsIn(t, replayed), dumpViewsIn(t, live))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s, err := js.Stream(ctx, events.PublicStreamName); err != nil {
		t.Error(err)
	} else if got := s.CachedInfo().State.Msgs; got != uint64(published) {
		t.Errorf("the public stream holds %d events; want %d, one per publish", got, published)
	}
}

func connectNATS(tb testing.TB, natsURL string) (*nats.Conn, jetstream.JetStream) {
	tb.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		tb.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	return nc, js
}

func consumerInfo(js jetstream.JetStream, durable string) (*jetstream.ConsumerInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := js.Consumer(ctx, events.StreamName, durable)
	if err != nil {
		return nil, err
	}
	return c.Info(ctx)
}
