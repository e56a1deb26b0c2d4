package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"net"
	nethttp "net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/media"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// natsNode is one nats-server of a test cluster; it can be stopped and brought back on the
// same ports and files.
type natsNode struct {
	opts *server.Options
	srv  *server.Server
}

func (n *natsNode) start(tb testing.TB) {
	tb.Helper()
	srv, err := server.NewServer(n.opts.Clone())
	if err != nil {
		tb.Fatalf("nats-server %s: %v", n.opts.ServerName, err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		tb.Fatalf("nats-server %s: not ready for connections", n.opts.ServerName)
	}
	n.srv = srv
}

func (n *natsNode) stop() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.srv = nil
	}
}

func (n *natsNode) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.opts.Port) }

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startNATSCluster starts three JetStream nats-servers clustered on loopback, and waits until
// they have elected a meta leader. They stop when the test ends.
func startNATSCluster(tb testing.TB) []*natsNode {
	tb.Helper()
	const size = 3
	clientPorts, clusterPorts := make([]int, size), make([]int, size)
	var routes []string
	for i := range size {
		clientPorts[i], clusterPorts[i] = freePort(tb), freePort(tb)
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", clusterPorts[i]))
	}
	nodes := make([]*natsNode, size)
	for i := range size {
		nodes[i] = &natsNode{opts: &server.Options{
			ServerName:            fmt.Sprintf("n%d", i+1),
			Host:                  "127.0.0.1",
			Port:                  clientPorts[i],
			JetStream:             true,
			StoreDir:              tb.TempDir(),
			NoSigs:                true,
			NoLog:                 true,
			DisableShortFirstPing: true,
			Cluster:               server.ClusterOpts{Name: "newsroom-test", Host: "127.0.0.1", Port: clusterPorts[i]},
			Routes:                server.RoutesFromStr(strings.Join(routes, ",")),
		}}
	}
	tb.Cleanup(func() {
		for _, n := range nodes {
			n.stop()
		}
	})
	for _, n := range nodes {
		n.start(tb)
	}
	eventually(tb, "the NATS cluster elects a JetStream meta leader", func() bool {
		leaders := 0
		for _, n := range nodes {
			if !n.srv.JetStreamIsClustered() {
				return false
			}
			if n.srv.JetStreamIsLeader() {
				leaders++
			}
		}
		return leaders == 1
	})
	return nodes
}

func clusterURLs(nodes []*natsNode) string {
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.url())
	}
	return strings.Join(urls, ",")
}

// sharedDatabase is the database several instances share: a fresh PostgreSQL schema when
// NEWSROOM_TEST_POSTGRES_URL is set, otherwise one SQLite file (instances on one machine).
func sharedDatabase(tb testing.TB) (sqldb.Dialect, string) {
	tb.Helper()
	base := os.Getenv(sqldbtest.PostgresURLEnv)
	if base == "" {
		tb.Logf("%s not set: the instances share a SQLite file", sqldbtest.PostgresURLEnv)
		return sqldb.SQLite, "sqlite:" + filepath.Join(tb.TempDir(), "shared.db")
	}
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	schema := fmt.Sprintf("nr_cluster_%d", time.Now().UnixNano())
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := admin.Exec(fmt.Sprintf(`CREATE SCHEMA %q`, schema)); err != nil {
		admin.Close()
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec(fmt.Sprintf(`DROP SCHEMA %q CASCADE`, schema)); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return sqldb.Postgres, u.String()
}

// startClusterApp starts one newsroom instance on the cluster and the shared database, with a
// data directory of its own.
func startClusterApp(tb testing.TB, natsURLs, dsn string) *testApp {
	tb.Helper()
	return startTestAppWith(tb, config{HTTP: "127.0.0.1:0", DataDir: tb.TempDir(), DB: dsn, NATSURL: natsURLs, Replicas: 3,
		PublicURL: "https://news.example.org"})
}

func createTokenIn(tb testing.TB, dsn, name, role string) string {
	tb.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"token", "create", "--data-dir", tb.TempDir(), "--db", dsn, "--name", name, "--role", role}, &out, &errOut)
	if err != nil {
		tb.Fatalf("token create: %v (%s)", err, errOut.String())
	}
	return strings.TrimSpace(out.String())
}

// clusterTraffic is editorial work sent to several instances, and every answer it got.
type clusterTraffic struct {
	tb     testing.TB
	bases  []string
	client *nethttp.Client
	next   atomic.Uint64 // spreads requests over the instances
	done   atomic.Int64  // commands answered (after their retries)

	mu       sync.Mutex
	statuses map[int]int // every answer's status, 503s included
	acks     []clusterAck
	problems []string
}

// clusterAck is a command the API accepted: its event must be in the log, once.
type clusterAck struct {
	what      string
	articleID string
	version   int
	position  uint64
}

func (w *clusterTraffic) problem(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.problems = append(w.problems, fmt.Sprintf(format, args...))
}

// command sends one command until it is answered with something other than 503, retrying
// with the same headers (Idempotency-Key, If-Match) on another instance. It returns the last
// answer and whether an earlier try was answered 503 (the command may have been recorded then).
func (w *clusterTraffic) command(what, method, path, token string, body any, headers ...string) (response, bool) {
	var data []byte // no body for a step that takes none
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			w.problem("%s: %v", what, err)
			return response{}, false
		}
	}
	unavailable := false
	defer w.done.Add(1)
	for attempt := 0; ; attempt++ {
		base := w.bases[w.next.Add(1)%uint64(len(w.bases))]
		req, err := nethttp.NewRequest(method, base+path, bytes.NewReader(data))
		if err != nil {
			w.problem("%s: %v", what, err)
			return response{}, unavailable
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := w.client.Do(req)
		if err != nil {
			w.problem("%s: %v", what, err)
			return response{}, unavailable
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			w.problem("%s: read the answer: %v", what, err)
			return response{}, unavailable
		}
		r := response{status: resp.StatusCode, header: resp.Header, body: b}
		w.mu.Lock()
		w.statuses[r.status]++
		w.mu.Unlock()
		switch {
		case r.status >= 200 && r.status < 300, r.status == 409, r.status == 412:
			return r, unavailable
		case r.status == 503:
			if r.header.Get("Retry-After") == "" {
				w.problem("%s: 503 without Retry-After: %s", what, b)
			}
			if attempt == 200 {
				w.problem("%s: still 503 after %d tries: %s", what, attempt, b)
				return r, true
			}
			unavailable = true
			time.Sleep(100 * time.Millisecond) // Retry-After says 1 s; a test need not wait that long
		default:
			w.problem("%s: status %d; want a success, a conflict or a 503: %s", what, r.status, b)
			return r, unavailable
		}
	}
}

// accepted records a 2xx answer's event, or reports a refusal that the command's history does
// not explain: a 412 or 409 is expected only after a 503 (the first try was recorded) or where
// the command races another.
func (w *clusterTraffic) accepted(what string, r response, unavailable, raced bool) bool {
	switch {
	case r.status >= 200 && r.status < 300:
		var a struct {
			ID      string `json:"id"`
			Version int    `json:"version"`
		}
		pos, err := strconv.ParseUint(r.header.Get("X-Newsroom-Position"), 10, 64)
		if jerr := json.Unmarshal(r.body, &a); jerr != nil || err != nil || a.ID == "" {
			w.problem("%s: answer %s without an article or a position (%v, %v)", what, r.body, jerr, err)
			return false
		}
		w.mu.Lock()
		w.acks = append(w.acks, clusterAck{what: what, articleID: a.ID, version: a.Version, position: pos})
		w.mu.Unlock()
		return true
	case r.status == 0:
		return false
	case !unavailable && !raced:
		w.problem("%s: status %d with no 503 before it and nothing racing it: %s", what, r.status, r.body)
	}
	return false
}

// story takes article i from draft to publication: revised, submitted, approved by one of two
// editors racing each other, published, and every other one corrected. Every command carries
// an Idempotency-Key (the draft) or If-Match, so that a retry is never recorded twice. It
// returns the article id and the event types the log must hold for it.
func (w *clusterTraffic) story(worker, i int, reporter string, editors []string) (string, []string) {
	label := fmt.Sprintf("story %d.%d", worker, i)
	r, unavailable := w.command(label+" draft", "POST", "/api/v1/articles", reporter,
		map[string]any{"headline": fmt.Sprintf("Cluster story %d %d", worker, i), "body": "Ministers met.", "tags": []string{"nato"}},
		"Idempotency-Key", fmt.Sprintf("cluster-%d-%d", worker, i))
	if r.status != 201 {
		w.problem("%s draft: status %d; want 201 (retries of a draft with its key are never refused)", label, r.status)
		return "", nil
	}
	w.accepted(label+" draft", r, unavailable, false)
	var a struct{ ID string }
	_ = json.Unmarshal(r.body, &a)
	path := "/api/v1/articles/" + a.ID
	want := []string{"article.drafted"}
	step := func(what, method, suffix, token string, ifMatch int, body any, event string) {
		r, unavailable := w.command(label+" "+what, method, path+suffix, token, body, "If-Match", strconv.Quote(strconv.Itoa(ifMatch)))
		w.accepted(label+" "+what, r, unavailable, false)
		want = append(want, event)
	}
	step("revise", "PATCH", "", reporter, 1, map[string]any{"summary": fmt.Sprintf("Summary %d.%d.", worker, i)}, "article.revised")
	step("submit", "POST", "/submit", reporter, 2, nil, "article.submitted")

	// Two editors approve at once, through different instances: one of them is recorded.
	var race sync.WaitGroup
	for e, editor := range editors {
		race.Go(func() {
			what := fmt.Sprintf("%s approve by editor %d", label, e)
			r, unavailable := w.command(what, "POST", path+"/approve", editor, nil, "If-Match", `"3"`)
			w.accepted(what, r, unavailable, true)
		})
	}
	race.Wait()
	want = append(want, "article.approved")

	step("publish", "POST", "/publish", editors[0], 4, nil, "article.published")
	if i%2 == 0 {
		step("correct", "POST", "/correct", editors[1], 5, map[string]any{"summary": "Corrected.", "note": "The summary was wrong."}, "article.correction_proposed")
		step("confirm the correction", "POST", "/correct/confirm", editors[0], 6, nil, "article.corrected")
	}
	return a.ID, want
}

// TestClusterFailover runs two newsroom instances on a three-node JetStream cluster and one
// database, sends editorial traffic through both, and stops the node that leads the log's
// stream in the middle, then brings it back. Every answer must be a success, a conflict, or a
// 503 with Retry-After (retried with the same Idempotency-Key or If-Match); afterwards every
// accepted command is in the log exactly once, the views equal a clean replay of the log, and
// the public stream has each public event once. NEWSROOM_TEST_CLUSTER_HEAVY=1 sends more.
func TestClusterFailover(t *testing.T) {
	workers, perWorker := 4, 5
	if os.Getenv("NEWSROOM_TEST_CLUSTER_HEAVY") != "" {
		workers, perWorker = 8, 25
	}
	began := time.Now()
	phase := func(what string) { t.Logf("%5.1fs %s", time.Since(began).Seconds(), what) }
	nodes := startNATSCluster(t)
	dialect, dsn := sharedDatabase(t)
	reporters := []string{createTokenIn(t, dsn, "rita", "reporter"), createTokenIn(t, dsn, "rob", "reporter")}
	editors := []string{createTokenIn(t, dsn, "ed", "editor"), createTokenIn(t, dsn, "eva", "editor")}
	admin := createTokenIn(t, dsn, "ada", "admin")

	urls := clusterURLs(nodes)
	apps := []*testApp{startClusterApp(t, urls, dsn), startClusterApp(t, urls, dsn)}

	nc, err := nats.Connect(urls, nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if s, err := js.Stream(ctx, events.StreamName); err != nil || s.CachedInfo().Config.Replicas != 3 {
		t.Fatalf("stream %s: %v; want it replicated 3 times", events.StreamName, err)
	}

	// An image uploaded on one instance is read from the other: the bytes are in the object
	// store, replicated as the log is, not on the instance that took the upload.
	for _, name := range []string{"OBJ_" + media.Bucket} {
		if s, err := js.Stream(ctx, name); err != nil || s.CachedInfo().Config.Replicas != 3 {
			t.Fatalf("stream %s: %v; want it replicated 3 times", name, err)
		}
	}
	r := upload(t, apps[0].base, reporters[0], "ministers.png", noisePNG(t, 900, 600, 41), map[string]string{"alt": "Ministers around a table"})
	expectStatus(t, r, nethttp.StatusCreated, "upload on the first instance")
	imageID, uploadedAt := r.json(t)["id"].(string), r.header.Get("X-Newsroom-Position")
	rendition := func(what string) []byte {
		r := call(t, "GET", apps[1].base+"/api/v1/media/"+imageID+"/renditions/800?min_position="+uploadedAt, reporters[1], nil)
		expectStatus(t, r, nethttp.StatusOK, "read the rendition from the second instance "+what)
		if _, format, err := image.DecodeConfig(bytes.NewReader(r.body)); err != nil {
			t.Fatalf("the rendition read from the second instance %s does not decode: %v (%s)", what, err, format)
		}
		return r.body
	}
	before := rendition("before the failover")

	w := &clusterTraffic{tb: t, bases: []string{apps[0].base, apps[1].base}, statuses: map[int]int{},
		client: &nethttp.Client{Timeout: 60 * time.Second, Transport: checkedClient(t).Transport}}
	type written struct {
		id   string
		want []string
	}
	stories := make([][]written, workers)
	var traffic sync.WaitGroup
	for worker := range workers {
		traffic.Go(func() {
			for i := range perWorker {
				id, want := w.story(worker, i, reporters[worker%2], editors)
				stories[worker] = append(stories[worker], written{id, want})
			}
		})
	}
	commands := int64(workers * perWorker * 7) // about: 6 or 7 per story, racing approvals count twice

	// A third of the way in, stop the node that leads the log; bring it back two thirds in.
	eventually(t, "a third of the traffic", func() bool { return w.done.Load() >= commands/3 })
	info, err := logInfo(js)
	if err != nil {
		t.Fatalf("stream info: %v", err)
	}
	var stopped *natsNode
	for _, n := range nodes {
		if n.opts.ServerName == info.Cluster.Leader {
			stopped = n
		}
	}
	if stopped == nil {
		t.Fatalf("no node named %q leads the stream", info.Cluster.Leader)
	}
	t.Logf("stopping %s, the leader of %s, after %d commands", stopped.opts.ServerName, events.StreamName, w.done.Load())
	stopped.stop()
	eventually(t, "two thirds of the traffic", func() bool { return w.done.Load() >= 2*commands/3 })
	t.Logf("bringing %s back after %d commands", stopped.opts.ServerName, w.done.Load())
	stopped.start(t)
	traffic.Wait()
	phase("traffic done")
	eventually(t, "the stream's replicas are all current again", func() bool {
		info, err := logInfo(js)
		if err != nil || info.Cluster.Leader == "" || len(info.Cluster.Replicas) != 2 {
			return false
		}
		for _, p := range info.Cluster.Replicas {
			if !p.Current || p.Offline {
				return false
			}
		}
		return true
	})
	phase("traffic done, the stopped node is back and current")
	if after := rendition("after the failover"); !bytes.Equal(after, before) {
		t.Errorf("the rendition read after the failover differs from the one read before (%d and %d bytes)", len(after), len(before))
	}
	t.Logf("answers by status: %v", w.statuses)
	for _, p := range w.problems {
		t.Error(p)
	}
	if t.Failed() {
		t.FailNow()
	}

	// The log: each event once, each article's events exactly what its story did, in order.
	store, err := events.Open(ctx, js, 3)
	if err != nil {
		t.Fatal(err)
	}
	bySeq := map[uint64]events.Envelope{}
	byArticle := map[string][]events.Envelope{}
	ids := map[string]uint64{}
	var publicSeqs []uint64
	if err := store.ReadLog(ctx, 1, ^uint64(0), 500, func(batch []events.Envelope) error {
		for _, env := range batch {
			if domain.IsMediaEvent(env.Type) {
				continue // the image's upload: not a story
			}
			if seq, dup := ids[env.ID]; dup {
				t.Errorf("event %s is in the log twice: at %d and %d", env.ID, seq, env.Sequence)
			}
			ids[env.ID] = env.Sequence
			bySeq[env.Sequence] = env
			byArticle[env.ArticleID] = append(byArticle[env.ArticleID], env)
			r, err := env.Recorded()
			if err != nil {
				return err
			}
			if _, public := events.PublicActionOf(r.Event); public {
				publicSeqs = append(publicSeqs, env.Sequence)
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("read the log: %v", err)
	}
	articles := 0
	for _, list := range stories {
		for _, s := range list {
			articles++
			var got []string
			for v, env := range byArticle[s.id] {
				got = append(got, env.Type)
				if env.ArticleVersion != v+1 {
					t.Errorf("article %s: event %d is version %d; want %d", s.id, v+1, env.ArticleVersion, v+1)
				}
			}
			if !slices.Equal(got, s.want) {
				t.Errorf("article %s: the log holds %v; want %v, each once", s.id, got, s.want)
			}
		}
	}
	if articles != workers*perWorker || len(byArticle) != articles {
		t.Errorf("%d stories written, %d articles in the log; want %d", articles, len(byArticle), workers*perWorker)
	}
	for _, ack := range w.acks {
		env, ok := bySeq[ack.position]
		if !ok || env.ArticleID != ack.articleID || env.ArticleVersion != ack.version {
			t.Errorf("%s was acknowledged at position %d (article %s v%d); the log has %s v%d there",
				ack.what, ack.position, ack.articleID, ack.version, env.ArticleID, env.ArticleVersion)
		}
	}

	// The views, on whichever instance applied them, equal a clean replay of the log.
	for _, a := range apps {
		waitCaughtUp(t, a.base, admin)
	}
	phase("views caught up")
	db, err := sqldb.Open(ctx, dsn, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	clean := sqldbtest.Open(t, dialect)
	_, _, _, all := views(clean)
	for _, v := range all {
		if _, err := projections.EnsureTables(ctx, clean, v); err != nil {
			t.Fatal(err)
		}
		if _, err := (projections.Rebuild{DB: clean, Log: store, View: v}).Run(ctx); err != nil {
			t.Fatalf("clean replay of %s: %v", v.Name(), err)
		}
	}
	compareDumps(t, "views after the failover, against a clean replay", dumpViewsIn(t, clean), dumpViewsIn(t, db))

	// The public stream: each public event once.
	waitFor(t, "the outbox publishes every public event", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		public, err := js.Stream(ctx, events.PublicStreamName)
		if err != nil {
			return false, err.Error()
		}
		n := public.CachedInfo().State.Msgs
		c, err := js.Consumer(ctx, events.StreamName, projections.OutboxDurable)
		if err != nil {
			return false, err.Error()
		}
		i := c.CachedInfo()
		return n >= uint64(len(publicSeqs)), fmt.Sprintf("%d public messages of %d; outbox consumer: delivered %d, ack floor %d, "+
			"%d ack pending, %d redelivered, %d waiting, %d unprocessed, groups %+v, leader %s; outboxes at %d and %d",
			n, len(publicSeqs), i.Delivered.Stream, i.AckFloor.Stream, i.NumAckPending, i.NumRedelivered, i.NumWaiting,
			i.NumPending, i.PriorityGroups, i.Cluster.Leader, apps[0].outbox.LastSource(), apps[1].outbox.LastSource())
	})
	phase("public events published")
	msgs := publicMessages(t, nodes[0].url(), len(publicSeqs))
	seen := map[uint64]int{}
	for _, m := range msgs {
		seq, err := strconv.ParseUint(m.Headers().Get(events.SourceSeqHeader), 10, 64)
		if err != nil {
			t.Errorf("public message without %s", events.SourceSeqHeader)
		}
		seen[seq]++
	}
	for _, seq := range publicSeqs {
		if seen[seq] != 1 {
			t.Errorf("public event from log position %d published %d times; want once", seq, seen[seq])
		}
		delete(seen, seq)
	}
	for seq, n := range seen {
		t.Errorf("public stream holds %d messages from log position %d, which is not a public event", n, seq)
	}
	t.Logf("%d articles, %d events, %d public; %d commands acknowledged", articles, len(bySeq), len(publicSeqs), len(w.acks))
}

// waitFor polls check until it holds, or fails the test after a deadline with what check
// said last.
func waitFor(tb testing.TB, what string, check func() (bool, string)) {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, last := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting until %s: %s", what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func logInfo(js jetstream.JetStream) (*jetstream.StreamInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, events.StreamName)
	if err != nil {
		return nil, err
	}
	return s.Info(ctx)
}
