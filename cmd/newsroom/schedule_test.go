package main

// Scheduled publication, end to end: the endpoints, the desk, the history, and exactly one
// publication per schedule across a restart over the due time and across two instances, one of
// which stops at that moment.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/embeddednats/natstest"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/schedules"
)

// approvedArticle drafts, submits and approves one article; it returns its id.
func approvedArticle(tb testing.TB, base, author, editor string, body map[string]any) string {
	tb.Helper()
	api := base + "/api/v1/articles"
	r := call(tb, "POST", api, author, body)
	expectStatus(tb, r, 201, "draft")
	id := r.json(tb)["id"].(string)
	expectStatus(tb, call(tb, "POST", api+"/"+id+"/submit", author, nil), 200, "submit")
	expectStatus(tb, call(tb, "POST", api+"/"+id+"/approve", editor, nil), 200, "approve")
	return id
}

// scheduleAt schedules article id at at; it returns the answer.
func scheduleAt(tb testing.TB, base, editor, id string, at time.Time) response {
	tb.Helper()
	return call(tb, "POST", base+"/api/v1/articles/"+id+"/schedule", editor,
		map[string]any{"publish_at": at.Format(time.RFC3339Nano)})
}

// publications reads article id's article.published events from the log.
func publications(tb testing.TB, store *events.Store, id string) []domain.Recorded {
	tb.Helper()
	h, err := store.Load(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	var out []domain.Recorded
	for _, env := range h.Events {
		if env.Type == domain.TypePublished {
			r, err := env.Recorded()
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, r)
		}
	}
	return out
}

// publishedOnSchedule waits until article id is published, and checks that it was published
// exactly once, by the scheduler, not before due, naming the editor who scheduled it; it
// returns the publication.
func publishedOnSchedule(tb testing.TB, store *events.Store, id string, due time.Time, scheduledBy string) domain.Recorded {
	tb.Helper()
	eventually(tb, "article "+id+" published on schedule", func() bool { return len(publications(tb, store, id)) > 0 })
	pubs := publications(tb, store, id)
	if len(pubs) != 1 {
		tb.Fatalf("article %s: %d article.published events in the log; want exactly 1", id, len(pubs))
	}
	p := pubs[0]
	if e := p.Event.(domain.Published); p.By != domain.Scheduler || e.ScheduledBy != scheduledBy || p.At.Before(due) {
		tb.Errorf("article %s published by %+v at %v, scheduled_by %q; want by the scheduler at or after %v, scheduled by %s",
			id, p.By, p.At, e.ScheduledBy, due, scheduledBy)
	}
	return p
}

// userID is the user id behind a token, as the API shows it.
func userID(tb testing.TB, base, token string) string {
	tb.Helper()
	r := call(tb, "POST", base+"/api/v1/articles", token, map[string]any{"headline": "Who am I", "body": "x"})
	expectStatus(tb, r, 201, "draft")
	id := r.json(tb)["id"].(string)
	r = call(tb, "GET", base+"/api/v1/articles/"+id+"/history?min_position="+r.header.Get("X-Newsroom-Position"), token, nil)
	expectStatus(tb, r, 200, "history")
	return r.json(tb)["items"].([]any)[0].(map[string]any)["actor"].(map[string]any)["id"].(string)
}

// TestScheduleOverHTTP: an editor schedules an approved article, moves it 50 times, and it is
// published once by the scheduler at the last time set; the desk shows it scheduled with its
// time, the history shows every step; unscheduling and revising cancel a schedule; bad
// requests are refused as problems and record nothing.
func TestScheduleOverHTTP(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	eva := createToken(t, dir, "eva", "editor")
	ta := startTestApp(t, dir)
	api := ta.base + "/api/v1/articles"
	evaID := userID(t, ta.base, eva)

	id := approvedArticle(t, ta.base, rita, ed, corpus(t))
	refusals := []struct {
		what, token string
		body        any
		status      int
		field       string
	}{
		{"no publish_at", ed, map[string]any{}, 422, "publish_at"},
		{"not a time", ed, map[string]any{"publish_at": "tomorrow at ten"}, 422, "publish_at"},
		{"in the past", ed, map[string]any{"publish_at": time.Now().Add(-time.Minute).Format(time.RFC3339)}, 422, "publish_at"},
		{"an embargo before the publication", ed, map[string]any{"publish_at": time.Now().Add(time.Hour).Format(time.RFC3339),
			"embargo_until": time.Now().Add(time.Minute).Format(time.RFC3339)}, 422, "embargo_until"},
		{"a number", ed, map[string]any{"publish_at": 1765000000}, 400, ""},
		{"an unknown field", ed, map[string]any{"publish_at": time.Now().Add(time.Hour).Format(time.RFC3339), "when": "soon"}, 400, ""},
		{"by a reporter", rita, map[string]any{"publish_at": time.Now().Add(time.Hour).Format(time.RFC3339)}, 403, ""},
	}
	before := logPosition(t, ta.natsURL)
	for _, r := range refusals {
		got := call(t, "POST", api+"/"+id+"/schedule", r.token, r.body)
		p := hostileProblem(t, got, r.status, r.what)
		if r.field != "" && !strings.Contains(fmt.Sprint(problemFields(p)), r.field) {
			t.Errorf("%s: problem fields %v; want %s", r.what, problemFields(p), r.field)
		}
	}
	if after := logPosition(t, ta.natsURL); after != before {
		t.Errorf("refused schedules appended %d events; want none", after-before)
	}
	draft := call(t, "POST", api, rita, map[string]any{"headline": "Not approved", "body": "x"}).json(t)["id"].(string)
	hostileProblem(t, scheduleAt(t, ta.base, ed, draft, time.Now().Add(time.Hour)), 409, "schedule a draft")

	// With an embargo, then moved 50 times by two editors, the last 3 s ahead.
	withEmbargo := map[string]any{"publish_at": time.Now().Add(time.Hour).Format(time.RFC3339), "embargo_until": time.Now().Add(2 * time.Hour).Format(time.RFC3339)}
	r := call(t, "POST", api+"/"+id+"/schedule", ed, withEmbargo)
	expectStatus(t, r, 200, "schedule with an embargo")
	if a := r.json(t); a["status"] != "scheduled" || a["publish_at"] == nil || a["embargo_until"] == nil || a["slug"] != "nato-russia-foreign-ministers-meet" {
		t.Errorf("scheduled with an embargo = %v; want status scheduled, publish_at, embargo_until and the reserved slug", a)
	}
	var due time.Time
	for i := range 50 {
		token := ed
		if i%2 == 1 {
			token = eva
		}
		due = time.Now().Add(time.Duration(2000+(i%5)*400) * time.Millisecond).UTC().Truncate(time.Millisecond)
		if i == 49 {
			due = time.Now().Add(3 * time.Second).UTC().Truncate(time.Millisecond)
		}
		r = scheduleAt(t, ta.base, token, id, due)
		expectStatus(t, r, 200, fmt.Sprintf("schedule %d", i+1))
	}
	a := r.json(t)
	if a["status"] != "scheduled" || a["publish_at"] != due.Format(time.RFC3339Nano) || a["embargo_until"] != nil || a["published_at"] != nil {
		t.Errorf("after the last move = %v; want scheduled at %s without an embargo", a, due.Format(time.RFC3339Nano))
	}
	position := r.header.Get("X-Newsroom-Position")
	desk := call(t, "GET", api+"?status=scheduled&min_position="+position, ed, nil)
	expectStatus(t, desk, 200, "desk of scheduled articles")
	items := desk.json(t)["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["id"] != id || items[0].(map[string]any)["publish_at"] != due.Format(time.RFC3339Nano) ||
		items[0].(map[string]any)["slug"] != "nato-russia-foreign-ministers-meet" {
		t.Errorf("desk with status=scheduled = %s; want the article, with publish_at %s and its reserved slug", desk.body, due.Format(time.RFC3339Nano))
	}

	// Cancelled two ways before their time.
	unscheduled := approvedArticle(t, ta.base, rita, ed, map[string]any{"headline": "Unscheduled", "body": "x"})
	expectStatus(t, scheduleAt(t, ta.base, ed, unscheduled, due), 200, "schedule")
	r = call(t, "POST", api+"/"+unscheduled+"/unschedule", ed, nil)
	expectStatus(t, r, 200, "unschedule")
	if a := r.json(t); a["status"] != "approved" || a["publish_at"] != nil {
		t.Errorf("unscheduled = %v; want approved, publish_at null", a)
	}
	revised := approvedArticle(t, ta.base, rita, ed, map[string]any{"headline": "Revised", "body": "x"})
	r = scheduleAt(t, ta.base, ed, revised, due)
	expectStatus(t, r, 200, "schedule")
	r = call(t, "PATCH", api+"/"+revised, rita, map[string]any{"body": "y"}, "If-Match", r.header.Get("ETag"))
	expectStatus(t, r, 200, "revise a scheduled article")
	if a := r.json(t); a["status"] != "draft" || a["publish_at"] != nil {
		t.Errorf("revised while scheduled = %v; want a draft without publish_at", a)
	}

	pub := publishedOnSchedule(t, ta.store, id, due, evaID)
	t.Logf("published %v after its time", pub.At.Sub(due))
	r = call(t, "GET", api+"/"+id, ed, nil)
	if a := r.json(t); a["status"] != "published" || a["publish_at"] != nil {
		t.Errorf("after its time = %v; want published, publish_at null", a)
	}
	slug := r.json(t)["slug"].(string)
	eventually(t, "the public article", func() bool {
		return call(t, "GET", ta.base+"/public/v1/articles/"+slug, "", nil).status == 200
	})
	var h response
	var scheduledSteps int
	var last map[string]any
	eventually(t, "the publication in the history", func() bool {
		h = call(t, "GET", api+"/"+id+"/history", ed, nil)
		entries := h.json(t)["items"].([]any)
		last = entries[len(entries)-1].(map[string]any)
		return last["event"] == domain.TypePublished
	})
	for _, e := range h.json(t)["items"].([]any) {
		if e.(map[string]any)["event"] == domain.TypeScheduled {
			scheduledSteps++
		}
	}
	actor := last["actor"].(map[string]any)
	if scheduledSteps != 51 || actor["id"] != domain.Scheduler.ID || actor["role"] != string(domain.RoleSystem) {
		t.Errorf("history: %d article.scheduled, last step by %v; want 51, then the publication by the scheduler", scheduledSteps, actor)
	}
	time.Sleep(time.Second) // past every cancelled schedule's time
	for name, other := range map[string]string{"unscheduled": unscheduled, "revised": revised} {
		if n := len(publications(t, ta.store, other)); n != 0 {
			t.Errorf("the %s article was published %d times; want never", name, n)
		}
	}
}

// TestScheduledAcrossARestart: newsroom (with its embedded NATS) stops before an article is
// due and starts again after: the article is published once, after the start.
func TestScheduledAcrossARestart(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	ta := startTestApp(t, dir)
	edID := userID(t, ta.base, ed)
	id := approvedArticle(t, ta.base, rita, ed, corpus(t))
	due := time.Now().Add(2 * time.Second).UTC().Truncate(time.Millisecond)
	expectStatus(t, scheduleAt(t, ta.base, ed, id, due), 200, "schedule")
	ta.Close()
	time.Sleep(time.Until(due) + time.Second)

	started := time.Now()
	ta = startTestApp(t, dir)
	pub := publishedOnSchedule(t, ta.store, id, due, edID)
	if pub.At.Before(started.Add(-time.Millisecond)) {
		t.Errorf("published at %v; newsroom was down until %v", pub.At, started)
	}
	t.Logf("published %v after its time, %v after newsroom started again", pub.At.Sub(due), pub.At.Sub(started))
}

// loggedApp starts newsroom on cfg with its log kept, to tell which instance did what.
func loggedApp(tb testing.TB, cfg config) (*testApp, *lockedBuffer) {
	tb.Helper()
	buf := &lockedBuffer{}
	var out io.Writer = buf
	if testing.Verbose() {
		out = io.MultiWriter(buf, os.Stderr)
	}
	a, err := startApp(context.Background(), cfg, slog.New(slog.NewTextHandler(out, nil)))
	if err != nil {
		tb.Fatalf("start newsroom: %v", err)
	}
	ta := &testApp{app: a, dataDir: cfg.DataDir, base: "http://" + a.httpAddr}
	tb.Cleanup(ta.Close)
	return ta, buf
}

// TestScheduledOnTwoInstances: two instances on one NATS and one database (PostgreSQL when
// NEWSROOM_TEST_POSTGRES_URL is set). Articles scheduled through either are published once
// each; then the instance that holds the trigger stops a moment before an article is due, and
// the other publishes it, once.
func TestScheduledOnTwoInstances(t *testing.T) {
	_, dsn := sharedDatabase(t)
	ns := natstest.Start(t)
	rita := createTokenIn(t, dsn, "rita", "reporter")
	ed := createTokenIn(t, dsn, "ed", "editor")
	cfg := func() config {
		return config{HTTP: "127.0.0.1:0", DataDir: t.TempDir(), DB: dsn, NATSURL: ns.ClientURL()}
	}
	a, aLog := loggedApp(t, cfg())
	b, bLog := loggedApp(t, cfg())
	edID := userID(t, a.base, ed)
	instances := []*testApp{a, b}

	due := time.Now().Add(3 * time.Second).UTC().Truncate(time.Millisecond)
	var ids []string
	for i := range 6 {
		in := instances[i%2]
		id := approvedArticle(t, in.base, rita, ed, map[string]any{"headline": fmt.Sprintf("Both %d", i), "body": "x"})
		// Moved through the other instance too.
		expectStatus(t, scheduleAt(t, instances[(i+1)%2].base, ed, id, due.Add(time.Hour)), 200, "schedule")
		expectStatus(t, scheduleAt(t, in.base, ed, id, due), 200, "reschedule")
		ids = append(ids, id)
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Logf("published %v after its time", publishedOnSchedule(t, a.store, id, due, edID).At.Sub(due))
		}()
	}
	wg.Wait()

	// One instance, pinned, ran every trigger: the holder.
	onA, onB := strings.Count(aLog.String(), "on schedule"), strings.Count(bLog.String(), "on schedule")
	if onA*onB != 0 || onA+onB != len(ids) {
		t.Errorf("publications logged by instance a: %d, b: %d; want all %d by one", onA, onB, len(ids))
	}
	holder, other, otherLog := a, b, bLog
	if onB > onA {
		holder, other, otherLog = b, a, aLog
	}
	before := strings.Count(otherLog.String(), "on schedule")
	id := approvedArticle(t, other.base, rita, ed, map[string]any{"headline": "Due as its instance stops", "body": "x"})
	due = time.Now().Add(2 * time.Second).UTC().Truncate(time.Millisecond)
	expectStatus(t, scheduleAt(t, holder.base, ed, id, due), 200, "schedule")
	time.Sleep(time.Until(due) - 200*time.Millisecond)
	holder.Close()
	pub := publishedOnSchedule(t, other.store, id, due, edID)
	t.Logf("published %v after its time, the instance holding the trigger stopped 200 ms before", pub.At.Sub(due))
	if strings.Count(otherLog.String(), "on schedule") != before+1 {
		t.Errorf("the remaining instance did not log the publication:\n%s", otherLog.String())
	}
	for _, id := range ids {
		if n := len(publications(t, other.store, id)); n != 1 {
			t.Errorf("article %s: %d publications; want 1", id, n)
		}
	}
}

// TestScheduledAcrossTheSchedulesLeadersLoss: on a three-node NATS cluster (streams replicated
// three times), the node that leads NEWSROOM_SCHEDULES stops a moment before an article is due.
// Another node takes the stream over, fires the schedule, and the article is published once.
func TestScheduledAcrossTheSchedulesLeadersLoss(t *testing.T) {
	nodes := startNATSCluster(t)
	_, dsn := sharedDatabase(t)
	rita := createTokenIn(t, dsn, "rita", "reporter")
	ed := createTokenIn(t, dsn, "ed", "editor")
	urls := clusterURLs(nodes)
	ta := startClusterApp(t, urls, dsn)
	edID := userID(t, ta.base, ed)

	nc, err := nats.Connect(urls, nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	stream, err := js.Stream(ctx, schedules.StreamName)
	if err != nil || stream.CachedInfo().Config.Replicas != 3 {
		t.Fatalf("stream %s: %v; want it replicated 3 times", schedules.StreamName, err)
	}

	id := approvedArticle(t, ta.base, rita, ed, corpus(t))
	due := time.Now().Add(4 * time.Second).UTC().Truncate(time.Millisecond)
	expectStatus(t, scheduleAt(t, ta.base, ed, id, due), 200, "schedule")
	eventually(t, "the schedule message written", func() bool {
		_, err := stream.GetLastMsgForSubject(ctx, schedules.ScheduleSubject(schedules.Publish, id))
		return err == nil
	})
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var leader *natsNode
	for _, n := range nodes {
		if n.opts.ServerName == info.Cluster.Leader {
			leader = n
		}
	}
	if leader == nil {
		t.Fatalf("no node named %q leads %s", info.Cluster.Leader, schedules.StreamName)
	}
	time.Sleep(time.Until(due) - 500*time.Millisecond)
	t.Logf("stopping %s, the leader of %s, 500 ms before the article is due", leader.opts.ServerName, schedules.StreamName)
	leader.stop()
	pub := publishedOnSchedule(t, ta.store, id, due, edID)
	t.Logf("published %v after its time", pub.At.Sub(due))
	leader.start(t)
	time.Sleep(2 * time.Second) // the old leader back: it must not fire the schedule again
	if n := len(publications(t, ta.store, id)); n != 1 {
		t.Errorf("after the old leader came back: %d publications; want 1", n)
	}
}

// TestScheduleReconciledAfterTheDeskIsRebuilt: the first start of this release finds a desk view of
// the version before (without the schedule's columns) and rebuilds it; its schedules stream was
// lost too. The reconciliation reads the rebuilt desk, restores the schedule from the log, and
// the article is published once. (The rebuild here is over before the scheduler starts: that
// the reconciliation waits for a rebuild still running is Scheduler.deskServes, not shown.)
func TestScheduleReconciledAfterTheDeskIsRebuilt(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	cfg := config{HTTP: "127.0.0.1:0", DataDir: dir, NATSListen: "127.0.0.1:0", NoSync: true}
	ta, _ := loggedApp(t, cfg)
	edID := userID(t, ta.base, ed)
	id := approvedArticle(t, ta.base, rita, ed, corpus(t))
	due := time.Now().Add(5 * time.Second).UTC().Truncate(time.Millisecond)
	expectStatus(t, scheduleAt(t, ta.base, ed, id, due), 200, "schedule")
	nc, js := connectNATS(t, ta.natsURL)
	eventually(t, "the schedule message written", func() bool {
		return subjectMessages(t, ta.natsURL, schedules.StreamName, schedules.ScheduleSubject(schedules.Publish, id)) == 1
	})
	if err := js.DeleteStream(context.Background(), schedules.StreamName); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	ta.Close()

	// The desk as the release before left it: no embargo column, an older version.
	db := openDB(t, dir)
	var index string
	if err := db.Read.Get(&index, `SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'desk_articles_embargo%'`); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`DROP INDEX ` + index,
		`ALTER TABLE desk_articles DROP COLUMN embargo_until`,
		`UPDATE checkpoints SET version = 3 WHERE name = 'desk'`,
	} {
		if _, err := db.Write.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	db.Close()

	ta, logs := loggedApp(t, cfg)
	pub := publishedOnSchedule(t, ta.store, id, due, edID)
	t.Logf("published %v after its time", pub.At.Sub(due))
	if !strings.Contains(logs.String(), "restored=1") || strings.Contains(logs.String(), "reconciliation failed") {
		t.Errorf("the reconciliation did not restore the schedule once, without failing:\n%s", logs.String())
	}
}
