package schedules_test

import (
	"context"
	"errors"
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
	"github.com/newsroom/newsroom/editorial"
	"github.com/newsroom/newsroom/embeddednats/natstest"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/schedules"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

var (
	reporter = domain.Actor{ID: "u-rep", Role: domain.RoleReporter}
	editorA  = domain.Actor{ID: "u-ed-a", Role: domain.RoleEditor}
	editorB  = domain.Actor{ID: "u-ed-b", Role: domain.RoleEditor}
)

// newsroom is what the scheduler runs beside: one NATS server and one database, shared by
// every instance a test starts.
type newsroom struct {
	t   *testing.T
	srv *natstest.Server
	db  *sqldb.DB
	log *events.Store
}

func newNewsroom(t *testing.T, db *sqldb.DB) *newsroom {
	t.Helper()
	srv := natstest.Start(t)
	_, js := srv.Connect(t)
	store, err := events.Open(context.Background(), js, 1)
	if err != nil {
		t.Fatal(err)
	}
	return &newsroom{t: t, srv: srv, db: db, log: store}
}

// instance is one newsroom instance's desk, views and scheduler.
type instance struct {
	desk   *editorial.Desk
	runner *projections.Runner
	sched  *schedules.Scheduler
	nc     *nats.Conn // the scheduler's connection: closing it is the scheduler's crash
	logs   *logBuffer
}

type options struct {
	pinnedTTL, ackWait time.Duration
	media              editorial.MediaCatalog
	missingAltRetry    time.Duration
}

func (n *newsroom) start(opts options) *instance {
	t := n.t
	t.Helper()
	_, js := n.srv.Connect(t)
	store, err := events.Open(context.Background(), js, 1)
	if err != nil {
		t.Fatal(err)
	}
	connect := func() (*nats.Conn, error) { return nats.Connect(n.srv.ClientURL(), nats.MaxReconnects(-1)) }
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, verbose()), &slog.HandlerOptions{Level: slog.LevelInfo}))
	desk := projections.NewDesk(n.db)
	runner := projections.NewRunner(projections.RunnerConfig{DB: n.db, Log: store, Connect: connect, Logger: log},
		projections.NewPublished(n.db), desk, projections.NewHistory(n.db))
	if err := runner.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	in := &instance{desk: editorial.NewDesk(store), runner: runner, logs: logs}
	in.desk.Media = opts.media
	in.sched = schedules.New(schedules.Config{
		Connect: func() (*nats.Conn, error) {
			nc, err := connect()
			in.nc = nc
			return nc, err
		},
		Log: store, Commands: in.desk, Desk: desk, Views: runner, Logger: log,
		PinnedTTL: opts.pinnedTTL, TriggerAckWait: opts.ackWait, MissingAltRetry: opts.missingAltRetry,
	})
	if err := in.sched.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.stop)
	return in
}

// stop stops the instance cleanly; it may be called more than once.
func (in *instance) stop() {
	in.sched.Close()
	in.runner.Close()
}

func verbose() io.Writer {
	if testing.Verbose() {
		return os.Stderr
	}
	return io.Discard
}

type logBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// approved drafts an article and takes it to approved.
func approved(t *testing.T, d *editorial.Desk, headline string) string {
	t.Helper()
	id := editorial.NewArticleID()
	for _, step := range []struct {
		cmd domain.Command
		by  domain.Actor
	}{
		{domain.Draft{Content: domain.Content{Headline: headline, Body: "Text.", Byline: "Rita"}}, reporter},
		{domain.Submit{}, reporter}, {domain.Approve{}, editorA},
	} {
		if _, err := d.Execute(context.Background(), id, step.cmd, editorial.Request{By: step.by}); err != nil {
			t.Fatalf("%s: %v", domain.CommandName(step.cmd), err)
		}
	}
	return id
}

func execute(t *testing.T, d *editorial.Desk, id string, cmd domain.Command, by domain.Actor) editorial.Result {
	t.Helper()
	res, err := d.Execute(context.Background(), id, cmd, editorial.Request{By: by})
	if err != nil {
		t.Fatalf("%s: %v", domain.CommandName(cmd), err)
	}
	return res
}

// publications lists an article's article.published events in the log.
func (n *newsroom) publications(t *testing.T, id string) []events.Envelope {
	t.Helper()
	h, err := n.log.Load(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []events.Envelope
	for _, env := range h.Events {
		if env.Type == domain.TypePublished {
			out = append(out, env)
		}
	}
	return out
}

// publishedOnce waits until the article has been published, then checks that it was published
// once, by the scheduler, naming the editor who scheduled it, not before due; it returns how
// late it was.
func (n *newsroom) publishedOnce(t *testing.T, id string, due time.Time, scheduledBy string) time.Duration {
	t.Helper()
	waitFor(t, "article "+id+" published", func() bool { return len(n.publications(t, id)) > 0 })
	pubs := n.publications(t, id)
	if len(pubs) != 1 {
		t.Fatalf("article %s: %d article.published events; want exactly 1", id, len(pubs))
	}
	r, err := pubs[0].Recorded()
	if err != nil {
		t.Fatal(err)
	}
	p := r.Event.(domain.Published)
	if r.By != domain.Scheduler || p.ScheduledBy != scheduledBy {
		t.Errorf("article %s published by %+v, scheduled_by %q; want the scheduler, scheduled by %s", id, r.By, p.ScheduledBy, scheduledBy)
	}
	if r.At.Before(due) {
		t.Errorf("article %s published at %v; due at %v: before its time", id, r.At, due)
	}
	return r.At.Sub(due)
}

func waitFor(tb testing.TB, what string, ok func() bool) {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ahead is a publication time d from now, as an editor would give it (whole milliseconds).
func ahead(d time.Duration) time.Time { return time.Now().Add(d).UTC().Truncate(time.Millisecond) }

// TestScheduledPublicationExactlyOnce, on SQLite and PostgreSQL: an article scheduled 2 s ahead
// and moved 50 times (earlier, later, back) is published once by the scheduler, at the last
// time set, naming the editor who set it; articles unscheduled, revised or spiked after being
// scheduled are never published; and every trigger the server fired is gone once handled.
func TestScheduledPublicationExactlyOnce(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		n := newNewsroom(t, db)
		in := n.start(options{})

		moved := approved(t, in.desk, "Moved many times")
		for i := range 50 {
			// Earlier and later around the final time, by two editors.
			at := ahead(time.Duration(1500+(i%7)*300) * time.Millisecond)
			by := editorA
			if i%2 == 1 {
				by = editorB
			}
			execute(t, in.desk, moved, domain.Schedule{PublishAt: at}, by)
		}
		due := ahead(2 * time.Second)
		execute(t, in.desk, moved, domain.Schedule{PublishAt: due}, editorB)

		cancelled := map[string]domain.Command{
			"unscheduled": domain.Unschedule{},
			"revised":     domain.Revise{Changes: domain.Changes{Summary: ptr("changed")}},
			"spiked":      domain.Spike{Reason: "dropped"},
		}
		cancelledIDs := map[string]string{}
		for name, cmd := range cancelled {
			id := approved(t, in.desk, "Cancelled: "+name)
			execute(t, in.desk, id, domain.Schedule{PublishAt: ahead(time.Second)}, editorA)
			by := editorA
			if name == "revised" {
				by = reporter
			}
			execute(t, in.desk, id, cmd, by)
			cancelledIDs[name] = id
		}

		late := n.publishedOnce(t, moved, due, editorB.ID)
		t.Logf("published %v after its time", late)
		// Past every cancelled article's time, and past the published one's: nothing more.
		time.Sleep(time.Second)
		for name, id := range cancelledIDs {
			if pubs := n.publications(t, id); len(pubs) != 0 {
				t.Errorf("article %s after its schedule: published %d times; want never", name, len(pubs))
			}
		}
		if pubs := n.publications(t, moved); len(pubs) != 1 {
			t.Errorf("the moved article: %d publications a second later; want 1", len(pubs))
		}
		waitFor(t, "every fired trigger handled and deleted", func() bool {
			return n.messagesOn(t, schedules.SubjectPrefix+"due.>") == 0
		})
	})
}

func ptr(s string) *string { return &s }

// messagesOn counts the messages of the schedules stream on subject (a wildcard may be used).
func (n *newsroom) messagesOn(t *testing.T, subject string) uint64 {
	t.Helper()
	_, js := n.srv.Connect(t)
	s, err := js.Stream(context.Background(), schedules.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	var total uint64
	for _, c := range info.State.Subjects {
		total += c
	}
	return total
}

// TestTriggersTwiceRecordOnce: exactly once comes from the log, not from the trigger. The same
// trigger executed at once on two instances' desks records one publication; the other is told
// the schedule no longer applies. And a trigger the server fires twice (here, published twice
// on its due subject) publishes once through the scheduler.
func TestTriggersTwiceRecordOnce(t *testing.T) {
	n := newNewsroom(t, sqldbtest.Open(t, sqldb.SQLite))
	_, js := n.srv.Connect(t)
	one := editorial.NewDesk(n.log)
	twoStore, err := events.Open(context.Background(), js, 1)
	if err != nil {
		t.Fatal(err)
	}
	two := editorial.NewDesk(twoStore)

	// Scheduled with no scheduler running: the triggers are given by hand once it is due.
	id := approved(t, one, "Raced")
	due := ahead(500 * time.Millisecond)
	execute(t, one, id, domain.Schedule{PublishAt: due}, editorA)
	time.Sleep(time.Until(due))
	trigger := domain.PublishOnSchedule{PublishAt: due}
	var wg sync.WaitGroup
	results := make(chan error, 20)
	for i := range 20 {
		d := one
		if i%2 == 1 {
			d = two
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := d.Execute(context.Background(), id, trigger, editorial.Request{By: domain.Scheduler})
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	published, refused := 0, 0
	for err := range results {
		switch {
		case err == nil:
			published++
		case errors.Is(err, domain.ErrInvalidTransition):
			refused++
		default:
			t.Errorf("a concurrent trigger: %v; want published or no longer applies", err)
		}
	}
	if published != 1 || refused != 19 || len(n.publications(t, id)) != 1 {
		t.Errorf("20 concurrent triggers: %d published, %d refused, %d in the log; want 1, 19, 1", published, refused, len(n.publications(t, id)))
	}

	// Through the scheduler: the server's trigger, and a copy of it.
	in := n.start(options{})
	id = approved(t, in.desk, "Fired twice")
	due = ahead(time.Second)
	execute(t, in.desk, id, domain.Schedule{PublishAt: due}, editorA)
	copyOfTrigger := nats.NewMsg(schedules.DueSubject(schedules.Publish, id))
	copyOfTrigger.Data = []byte(`{"at":"` + due.Format(time.RFC3339Nano) + `"}`)
	time.Sleep(time.Until(due))
	if _, err := js.PublishMsg(context.Background(), copyOfTrigger); err != nil {
		t.Fatal(err)
	}
	n.publishedOnce(t, id, due, editorA.ID)
	waitFor(t, "both triggers handled", func() bool { return n.messagesOn(t, schedules.SubjectPrefix+"due.>") == 0 })
	if pubs := n.publications(t, id); len(pubs) != 1 {
		t.Errorf("a trigger fired twice: %d publications; want 1", len(pubs))
	}
}

// TestEarlyTriggerIsHandedBackUntilItsTime: a trigger that arrives before its time by the
// instance's clock (here, published on its due subject 1.5 s early) is not dropped: it comes
// back at its time and publishes then, not before.
func TestEarlyTriggerIsHandedBackUntilItsTime(t *testing.T) {
	n := newNewsroom(t, sqldbtest.Open(t, sqldb.SQLite))
	in := n.start(options{})
	_, js := n.srv.Connect(t)
	id := approved(t, in.desk, "Early")
	due := ahead(2 * time.Second)
	execute(t, in.desk, id, domain.Schedule{PublishAt: due}, editorB)
	early := nats.NewMsg(schedules.DueSubject(schedules.Publish, id))
	early.Data = []byte(`{"at":"` + due.Format(time.RFC3339Nano) + `"}`)
	if _, err := js.PublishMsg(context.Background(), early); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the early trigger handed back", func() bool {
		return strings.Contains(in.logs.String(), "came before its time")
	})
	late := n.publishedOnce(t, id, due, editorB.ID)
	t.Logf("published %v after its time", late)
}

// TestReconciliationRestoresMissingSchedules: what the log says is scheduled is published even
// when its schedule message is missing — the article was scheduled before any scheduler ran
// (the writer's durable starts at the log's end), or the schedules stream was deleted while an
// instance was down. The reconciliation at start writes them from the log.
func TestReconciliationRestoresMissingSchedules(t *testing.T) {
	n := newNewsroom(t, sqldbtest.Open(t, sqldb.SQLite))
	before := editorial.NewDesk(n.log)
	first := approved(t, before, "Scheduled before the scheduler")
	due1 := ahead(3 * time.Second)
	execute(t, before, first, domain.Schedule{PublishAt: due1}, editorA)

	in := n.start(options{})
	second := approved(t, in.desk, "Scheduled, then its stream lost")
	due2 := ahead(6 * time.Second)
	execute(t, in.desk, second, domain.Schedule{PublishAt: due2}, editorB)
	waitFor(t, "the second schedule written", func() bool {
		return n.messagesOn(t, schedules.ScheduleSubject(schedules.Publish, second)) == 1
	})
	in.stop()

	_, js := n.srv.Connect(t)
	if err := js.DeleteStream(context.Background(), schedules.StreamName); err != nil {
		t.Fatal(err)
	}
	again := n.start(options{})
	waitFor(t, "the reconciliation", func() bool { return strings.Contains(again.logs.String(), "schedules reconciled") })
	if !strings.Contains(again.logs.String(), "restored=2") {
		t.Errorf("reconciliation log:\n%s\nwant restored=2", again.logs.String())
	}
	t.Logf("late by %v and %v",
		n.publishedOnce(t, first, due1, editorA.ID), n.publishedOnce(t, second, due2, editorB.ID))
}

// TestTriggerTakenOverWhenItsInstanceDies: two instances; the one that holds the trigger dies
// (its NATS connection drops, nothing is handed back) a moment before an article is due. The
// other publishes it, once, late by at most the pin's TTL plus the trigger's AckWait.
func TestTriggerTakenOverWhenItsInstanceDies(t *testing.T) {
	n := newNewsroom(t, sqldbtest.Open(t, sqldb.SQLite))
	opts := options{pinnedTTL: 2 * time.Second, ackWait: 2 * time.Second}
	a := n.start(opts)
	// a holds the pin: it handles a first publication while it runs alone.
	warm := approved(t, a.desk, "Warm-up")
	warmDue := ahead(time.Second)
	execute(t, a.desk, warm, domain.Schedule{PublishAt: warmDue}, editorA)
	n.publishedOnce(t, warm, warmDue, editorA.ID)
	if !strings.Contains(a.logs.String(), "on schedule") {
		t.Fatal("the first instance did not publish the warm-up article")
	}
	b := n.start(opts)

	id := approved(t, b.desk, "Due as its instance dies")
	due := ahead(1500 * time.Millisecond)
	execute(t, b.desk, id, domain.Schedule{PublishAt: due}, editorB)
	time.Sleep(time.Until(due) - 300*time.Millisecond)
	a.nc.Close() // a crash, as NATS sees it: no unpin, no hand-back
	late := n.publishedOnce(t, id, due, editorB.ID)
	t.Logf("published %v after its time, its instance dead (pin TTL %v, AckWait %v)", late, opts.pinnedTTL, opts.ackWait)
	if !strings.Contains(b.logs.String(), "on schedule") {
		t.Errorf("the surviving instance did not publish it:\n%s", b.logs.String())
	}
}

// TestEmbargoLiftedOnSchedule: an article published under embargo has its lift scheduled too:
// moved, the embargo is lifted by the scheduler at its new end, once; lifted early by an
// editor, its schedule is cancelled and the scheduler does nothing.
func TestEmbargoLiftedOnSchedule(t *testing.T) {
	n := newNewsroom(t, sqldbtest.Open(t, sqldb.SQLite))
	in := n.start(options{})
	lifts := func(id string) []events.Envelope {
		h, err := n.log.Load(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		var out []events.Envelope
		for _, env := range h.Events {
			if env.Type == domain.TypeEmbargoLifted {
				out = append(out, env)
			}
		}
		return out
	}

	moved := approved(t, in.desk, "Under embargo, moved")
	execute(t, in.desk, moved, domain.Publish{EmbargoUntil: ahead(time.Hour)}, editorA)
	until := ahead(1500 * time.Millisecond)
	execute(t, in.desk, moved, domain.MoveEmbargo{Until: until}, editorB)

	broken := approved(t, in.desk, "Under embargo, broken early")
	brokenUntil := ahead(1500 * time.Millisecond)
	execute(t, in.desk, broken, domain.Publish{EmbargoUntil: brokenUntil}, editorA)
	execute(t, in.desk, broken, domain.LiftEmbargo{}, editorB)

	waitFor(t, "the moved embargo lifted", func() bool { return len(lifts(moved)) > 0 })
	time.Sleep(time.Until(brokenUntil) + time.Second)
	got := lifts(moved)
	if len(got) != 1 {
		t.Fatalf("moved embargo: %d lifts; want 1", len(got))
	}
	r, err := got[0].Recorded()
	if err != nil {
		t.Fatal(err)
	}
	if e := r.Event.(domain.EmbargoLifted); r.By != domain.Scheduler || e.Early || !e.PublishedAt.Equal(until) || r.At.Before(until) {
		t.Errorf("lift = %+v by %+v at %v; want the scheduler's, not early, first published at the embargo's end %v", e, r.By, r.At, until)
	}
	if got := lifts(broken); len(got) != 1 {
		t.Errorf("embargo broken early: %d lifts; want the editor's alone", len(got))
	}
	if strings.Contains(in.logs.String(), "article="+broken+" kind=lift") {
		t.Errorf("a trigger fired for the embargo broken early:\n%s", in.logs.String())
	}
}

// images is a media catalog whose one image's alt text a test changes.
type images struct {
	mu  sync.Mutex
	alt string
}

const imageID = "11111111-1111-4111-8111-111111111111"

func (c *images) Images(context.Context, []string) (map[string]domain.Image, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return map[string]domain.Image{imageID: {ID: imageID, Alt: c.alt}}, nil
}

func (c *images) describe(alt string) {
	c.mu.Lock()
	c.alt = alt
	c.mu.Unlock()
}

// TestScheduledPublicationWaitsForAltText: an image's alt text removed after its article was
// scheduled holds the publication back at its time (nothing public without it), and the
// publication goes out once the image is described again.
func TestScheduledPublicationWaitsForAltText(t *testing.T) {
	n := newNewsroom(t, sqldbtest.Open(t, sqldb.SQLite))
	catalog := &images{alt: "Ministers around a table"}
	in := n.start(options{media: catalog, missingAltRetry: 200 * time.Millisecond})
	id := editorial.NewArticleID()
	for _, step := range []struct {
		cmd domain.Command
		by  domain.Actor
	}{
		{domain.Draft{Content: domain.Content{Headline: "Pictured", Body: "Text.", Media: []domain.MediaRef{{ID: imageID, Role: domain.MediaMain}}}}, reporter},
		{domain.Submit{}, reporter}, {domain.Approve{}, editorA},
	} {
		execute(t, in.desk, id, step.cmd, step.by)
	}
	due := ahead(time.Second)
	execute(t, in.desk, id, domain.Schedule{PublishAt: due}, editorB)
	catalog.describe("")
	waitFor(t, "the publication held back", func() bool {
		return strings.Count(in.logs.String(), "an image has no alt text") >= 2 // tried again, still held
	})
	if pubs := n.publications(t, id); len(pubs) != 0 {
		t.Fatalf("article published %d times with an image without alt text", len(pubs))
	}
	catalog.describe("Ministers around a table")
	late := n.publishedOnce(t, id, due, editorB.ID)
	t.Logf("published %v after its time, once the image was described", late)
}
