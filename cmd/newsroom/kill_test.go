package main

// The legal kill, end to end: subscribers learn of it in order, the article leaves every public
// view and feed, and its text is nowhere on disk — not in the views, not in the public stream,
// not in the log — even after every view is replayed from the log.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/embeddednats"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/search"
)

// killedText is what the killed articles said, in every place an editor can put words: each
// string must be found nowhere after the kill.
var killedText = []string{
	"Quokka ministers sign the Vaduz accord", // headline
	"quokka-ministers-sign-the-vaduz-accord", // slug
	"Summary of the quokka accord",           // summary
	"quokka clause binds all signatories",    // body
	"Seventeen quokkas attended",             // corrected body
	"Corrected the quokka count",             // correction note
	"Please name the quokka delegates",       // request-changes comment
	"quokkatag",                              // tag
	"Wombat treaty withdrawn",                // second article: headline
	"wombat paragraph stays secret",          // second article: body
	"Wombat retraction reason",               // second article: retraction reason
	"Numbat headline never confirmed",        // a correction still pending at the kill
	"Quokka delegation at the signing",       // A's image: its caption
	"Photo: quokka press pool",               // A's image: its credit
	"Quokkas in a row of chairs",             // A's image: its alt text
	"quokka minister in close-up",            // A's caption of the image
}

// killedWords are words of killedText that appear nowhere else: the search index holds them as
// stems (search.Language.Term prefixes each with its language's code, and FTS5 may store a term
// as the end of the one before it), so each is looked for as its stem too.
var killedWords = []string{"quokkas", "Vaduz", "signatories", "seventeen", "wombat", "numbat", "quokkatag"}

// killedNeedles are the killed text, its words and their stems, as textIn looks for them.
var killedNeedles = func() []string {
	needles := append([]string{}, killedText...)
	for _, w := range killedWords {
		needles = append(needles, w, search.English.Stem(search.Fold(w)))
	}
	return needles
}()

// survivingText belongs to an article nobody kills: finding it on disk proves the search can
// find text at all.
const survivingText = "control paragraph mentions walruses"

func TestKillErasesTheText(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	eva := createToken(t, dir, "eva", "editor")
	admin := createToken(t, dir, "ada", "admin")
	ta := startTestApp(t, dir)
	api := ta.base + "/api/v1/articles"

	// A subscriber on plain nats.go follows the public stream live from the start, and
	// another one takes webhooks.
	sub := followPublic(t, ta.natsURL)
	hooks := newHookReceiver(t)
	hooks.up.Store(true)
	r := call(t, "POST", ta.base+"/api/v1/webhooks", admin, map[string]any{"url": hooks.srv.URL})
	expectStatus(t, r, 201, "register a webhook")
	secret := r.json(t)["secret"].(string)

	control, controlSlug := publishedArticle(t, ta.base, rita, ed, map[string]any{
		"headline": "Control article stays public", "body": "The " + survivingText + " often."})

	// Article A's image: its words and its bytes must go with it. A distinctive window of a
	// rendition's bytes is what is looked for on disk.
	r = upload(t, ta.base, rita, "quokkas.png", noisePNG(t, 700, 400, 29), map[string]string{
		"caption": killedText[12], "credit": killedText[13], "alt": killedText[14]})
	expectStatus(t, r, 201, "upload A's image")
	image := r.json(t)["id"].(string)
	rendition := call(t, "GET", ta.base+"/api/v1/media/"+image+"/renditions/320?min_position="+r.header.Get("X-Newsroom-Position"), rita, nil)
	expectStatus(t, rendition, 200, "A's image's rendition")
	imageBytes := renditionNeedle(t, rendition.body)

	// Article A: reviewed with a comment, published, corrected, then killed.
	body := corpus(t)["body"].(string) + "\n\nThe quokka clause binds all signatories.\n\n![The delegation](media:" + image + ")"
	r = call(t, "POST", api, rita, map[string]any{"headline": killedText[0], "summary": killedText[2],
		"body": body, "tags": []string{"quokkatag"}, "byline": "NATO Press Office", "dateline": "Brussels",
		"media": []map[string]any{{"id": image, "role": "main", "caption": killedText[15]}}})
	expectStatus(t, r, 201, "draft A")
	a := r.json(t)["id"].(string)
	expectStatus(t, call(t, "POST", api+"/"+a+"/submit", rita, nil), 200, "submit A")
	expectStatus(t, call(t, "POST", api+"/"+a+"/request-changes", ed, map[string]any{"comment": killedText[6]}), 200, "request changes A")
	expectStatus(t, call(t, "PATCH", api+"/"+a, rita, map[string]any{"byline": "NATO"}, "If-Match", `"3"`), 200, "revise A")
	expectStatus(t, call(t, "POST", api+"/"+a+"/submit", rita, nil), 200, "resubmit A")
	expectStatus(t, call(t, "POST", api+"/"+a+"/approve", eva, nil), 200, "approve A")
	r = call(t, "POST", api+"/"+a+"/publish", ed, nil)
	expectStatus(t, r, 200, "publish A")
	slugA := r.json(t)["slug"].(string)
	if slugA != killedText[1] {
		t.Fatalf("slug of A = %q; want %q", slugA, killedText[1])
	}
	correctText(t, ta.base, a, ed, eva, map[string]any{"body": body + "\n\nSeventeen quokkas attended.", "note": killedText[5]})
	expectStatus(t, call(t, "POST", api+"/"+a+"/correct", eva, map[string]any{"headline": killedText[11], "note": "Pending."}), 202, "propose another correction of A")
	eventually(t, "A readable by readers", func() bool {
		return call(t, "GET", ta.base+"/public/v1/articles/"+slugA, "", nil).status == 200
	})

	// Both searches find A by its words in any form, until the kill.
	searches := []string{api + "?q=quokka+signatory", ta.base + "/public/v1/search?q=quokka+signatory"}
	for _, u := range searches {
		eventually(t, "A found by "+u, func() bool {
			items, _ := call(t, "GET", u, ed, nil).json(t)["items"].([]any)
			return len(items) == 1
		})
	}

	// Article B: published, retracted, then killed.
	b, slugB := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": killedText[8], "body": "The " + killedText[9] + "."})
	expectStatus(t, call(t, "POST", api+"/"+b+"/retract", ed, map[string]any{"reason": killedText[10]}), 200, "retract B")

	// Who may kill, and from where.
	expectStatus(t, call(t, "POST", api+"/"+a+"/kill", rita, map[string]any{"reason": "Court order 12/2026"}), 403, "kill by a reporter")
	expectStatus(t, call(t, "POST", api+"/"+a+"/kill", ed, map[string]any{"reason": ""}), 422, "kill without a reason")
	draft := call(t, "POST", api, rita, map[string]any{"headline": "Only a draft", "body": "x"}).json(t)["id"].(string)
	expectStatus(t, call(t, "POST", api+"/"+draft+"/kill", ed, map[string]any{"reason": "r"}), 409, "kill a draft")

	before := filesUnder(t, dir)
	var killedAt string // the position of the last kill
	for _, id := range []string{a, b} {
		r := call(t, "POST", api+"/"+id+"/kill", ed, map[string]any{"reason": "Court order 12/2026"})
		expectStatus(t, r, 200, "kill")
		killedAt = r.header.Get("X-Newsroom-Position")
		if got := r.json(t); got["status"] != "killed" || got["headline"] != "" || got["slug"] != "" {
			t.Errorf("kill answered %v; want a killed article without text", got)
		}
	}
	expectStatus(t, call(t, "POST", api+"/"+a+"/correct", ed, map[string]any{"note": "n", "summary": "s"}), 409, "correct a killed article")

	// Subscribers got every public event, in order, each a CloudEvent with ninjs data.
	msgs := sub.wait(t, 7)
	wantOrder := map[string][]string{
		control: {"published"},
		a:       {"published", "corrected", "killed"},
		b:       {"published", "retracted", "killed"},
	}
	gotOrder := map[string][]string{}
	schema := ninjsSchema(t)
	for _, m := range msgs {
		id := header(t, m, "ce-subject")
		action := strings.TrimSuffix(strings.TrimPrefix(header(t, m, "ce-type"), "org.newsroom.article."), ".v1")
		gotOrder[id] = append(gotOrder[id], action)
		var doc any
		if err := json.Unmarshal(m.Data, &doc); err != nil {
			t.Fatalf("public event data is not JSON: %v", err)
		}
		if err := schema.Validate(doc); err != nil {
			t.Errorf("%s event does not validate against ninjs 2.2: %v\n%s", action, err, m.Data)
		}
		if action == "killed" {
			var k map[string]any
			json.Unmarshal(m.Data, &k)
			if k["pubstatus"] != "canceled" || k["bodies"] != nil || k["headlines"] != nil || k["uri"] != "urn:uuid:"+id {
				t.Errorf("killed event = %s; want pubstatus canceled, no text, uri urn:uuid:%s", m.Data, id)
			}
			if leaks := textIn(m.Data); len(leaks) > 0 {
				t.Errorf("killed event carries %q", leaks)
			}
		}
	}
	for id, want := range wantOrder {
		if strings.Join(gotOrder[id], ",") != strings.Join(want, ",") {
			t.Errorf("public events of %s = %v; want %v", id, gotOrder[id], want)
		}
	}

	// The webhook subscriber is told of both kills, signed, and with no text.
	var kills []hookRequest
	eventually(t, "both kills delivered by webhook", func() bool {
		kills = nil
		for _, h := range hooks.all() {
			if bytes.Contains(h.body, []byte("org.newsroom.article.killed.v1")) {
				kills = append(kills, h)
			}
		}
		return len(kills) == 2
	})
	for _, h := range kills {
		if err := verifyStandardWebhook(secret, h); err != nil {
			t.Errorf("killed webhook: %v", err)
		}
		checkNoText(t, "the killed webhook", h.body)
	}

	// The articles leave the public views: their URLs answer 410 Gone, never to be cached.
	for _, slug := range []string{slugA, slugB} {
		var r response
		eventually(t, "the killed article gone", func() bool {
			r = call(t, "GET", ta.base+"/public/v1/articles/"+slug, "", nil)
			return r.status == 410
		})
		if cc := r.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("GET killed article: Cache-Control %q; want no-store", cc)
		}
	}
	// HEAD answers as GET does, without the body.
	for slug, want := range map[string]int{slugA: 410, controlSlug: 200} {
		head, get := call(t, "HEAD", ta.base+"/public/v1/articles/"+slug, "", nil), call(t, "GET", ta.base+"/public/v1/articles/"+slug, "", nil)
		if head.status != want || len(head.body) != 0 || head.header.Get("Cache-Control") != get.header.Get("Cache-Control") ||
			head.header.Get("ETag") != get.header.Get("ETag") {
			t.Errorf("HEAD %s = %d %v %q; want %d, GET's headers (%v), no body", slug, head.status, head.header, head.body, want, get.header)
		}
	}
	// Editors still see that the articles existed and were killed, without their text.
	desk := call(t, "GET", api+"/"+a, ed, nil).json(t)
	if desk["status"] != "killed" || desk["headline"] != "" || desk["body"] != "" {
		t.Errorf("desk article after the kill = %v", desk)
	}
	var history response
	eventually(t, "the history shows the kill", func() bool {
		history = call(t, "GET", api+"/"+a+"/history", ed, nil)
		items, _ := history.json(t)["items"].([]any)
		return len(items) == 11 && strings.Contains(string(history.body), "article.killed")
	})
	checkNoText(t, "the history", history.body)
	// The log keeps only the kills: every earlier event of both articles was erased.
	eventually(t, "the log erased", func() bool {
		return subjectMessages(t, ta.natsURL, "NEWSROOM", "newsroom.article."+a) == 1 &&
			subjectMessages(t, ta.natsURL, "NEWSROOM", "newsroom.article."+b) == 1 &&
			subjectMessages(t, ta.natsURL, "NEWSROOM_PUBLIC", "newsroom.public.article.*."+a) == 1 &&
			subjectMessages(t, ta.natsURL, "NEWSROOM_PUBLIC", "newsroom.public.article.*."+b) == 1
	})
	checkNoText(t, "the public pages, feeds and stream", publicPages(t, ta.base, controlSlug))
	// Every view has applied the kills (a slow one may apply them after the erasure: each view
	// goes at its own pace), so that every file is scrubbed of them.
	eventually(t, "every view past the kills", func() bool {
		for _, v := range viewReports(t, ta.base, admin) {
			if v.Checkpoint < mustUint(t, killedAt) {
				return false
			}
		}
		return true
	})
	for _, u := range append(searches, api+"?q=wombat", ta.base+"/public/v1/search?q=wombat", ta.base+"/public/v1/search?q=walrus") {
		r := call(t, "GET", u+"&min_position="+killedAt, ed, nil)
		expectStatus(t, r, 200, "search after the kill")
		checkNoText(t, "the search "+u, r.body)
		want := 0
		if strings.HasSuffix(u, "walrus") {
			want = 1 // the control article: the search still finds what is public
		}
		if items, _ := r.json(t)["items"].([]any); len(items) != want {
			t.Errorf("search %s after the kill = %s; want %d items", u, r.body, want)
		}
	}
	eventually(t, "A's image erased", func() bool {
		return call(t, "GET", ta.base+"/api/v1/media/"+image, ed, nil).status == 410
	})
	// Operators see it in the metrics: one image erased (counted once the pass is over, which
	// may be after the view shows the erasure), no failed pass.
	var m scrape
	eventually(t, "the erasure counted in the metrics", func() bool {
		m = mustScrape(t, ta.base+"/metrics")
		n, _ := m.value("newsroom_images_erased_total")
		return n == 1
	})
	if n, ok := m.value("newsroom_image_erasure_failures_total"); !ok || n != 0 {
		t.Errorf("newsroom_image_erasure_failures_total = %v (%t); want 0", n, ok)
	}
	if !bytes.Contains(before, imageBytes) {
		t.Fatalf("the data directory did not hold A's image's bytes before the kill: the search for them cannot work")
	}
	checkNoText(t, "the data directory while serving", filesUnder(t, dir))
	checkNoBytes(t, "the data directory while serving", filesUnder(t, dir), imageBytes)

	// Replay every view from what the log holds now: the text does not come back.
	ta.Close()
	dropViews(t, dir)
	runReplay(t, dir)
	files := filesUnder(t, dir)
	checkNoText(t, "the data directory after a replay", files)
	checkNoBytes(t, "the data directory after a replay", files, imageBytes)
	if !bytes.Contains(files, []byte(survivingText)) {
		t.Fatalf("the data directory does not hold the surviving article's text either: the search finds nothing")
	}

	ta = startTestApp(t, dir)
	for _, slug := range []string{slugA, slugB} {
		if r := call(t, "GET", ta.base+"/public/v1/articles/"+slug, "", nil); r.status != 410 {
			t.Errorf("GET killed article after replay: %d; want 410", r.status)
		}
	}
	if r := call(t, "GET", ta.base+"/api/v1/articles/"+a+"/history", ed, nil); !strings.Contains(string(r.body), "article.killed") {
		t.Errorf("history after replay = %s; want the kill", r.body)
	}
	checkNoText(t, "the public pages after a replay", publicPages(t, ta.base, controlSlug))
}

// publicSubscriber collects public messages as a live subscriber receives them.
type publicSubscriber struct {
	mu   sync.Mutex
	msgs []*nats.Msg
}

func followPublic(t *testing.T, natsURL string) *publicSubscriber {
	t.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	s := &publicSubscriber{}
	if _, err := nc.Subscribe("newsroom.public.>", func(m *nats.Msg) {
		s.mu.Lock()
		s.msgs = append(s.msgs, m)
		s.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *publicSubscriber) wait(t *testing.T, n int) []*nats.Msg {
	t.Helper()
	var got []*nats.Msg
	eventually(t, "the public events", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		got = append([]*nats.Msg(nil), s.msgs...)
		return len(got) >= n
	})
	if len(got) != n {
		t.Errorf("%d public events; want %d", len(got), n)
	}
	return got
}

func header(t *testing.T, m *nats.Msg, name string) string {
	t.Helper()
	v, err := url.PathUnescape(m.Header.Get(name))
	if err != nil {
		t.Errorf("header %s = %q is not percent-encoded: %v", name, m.Header.Get(name), err)
	}
	return v
}

// subjectMessages counts the messages a stream holds on subject.
func subjectMessages(t *testing.T, natsURL, stream, subject string) uint64 {
	t.Helper()
	var n uint64
	for _, count := range streamInfo(t, natsURL, stream, jetstream.WithSubjectFilter(subject)).State.Subjects {
		n += count
	}
	return n
}

// publicPages is everything readers can fetch: the list, both feeds, the event stream.
func publicPages(t *testing.T, base, controlSlug string) []byte {
	t.Helper()
	var all bytes.Buffer
	for _, path := range []string{"/public/v1/articles", "/public/v1/feeds/atom.xml", "/public/v1/feeds/feed.json",
		"/public/v1/articles/" + controlSlug} {
		r := call(t, "GET", base+path, "", nil)
		expectStatus(t, r, 200, "GET "+path)
		all.Write(r.body)
	}
	for _, e := range readSSE(t, base, "0", 3) {
		raw, _ := json.Marshal(e.data)
		all.Write(raw)
	}
	if !bytes.Contains(all.Bytes(), []byte("Control article stays public")) {
		t.Fatalf("the public pages do not show the surviving article")
	}
	return all.Bytes()
}

// filesUnder concatenates every file under dir.
func filesUnder(t *testing.T, dir string) []byte {
	t.Helper()
	var all bytes.Buffer
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // a temporary file the running server renamed meanwhile
		}
		if err != nil {
			return err
		}
		all.Write(raw)
		all.WriteByte(0)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return all.Bytes()
}

func mustUint(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}

func textIn(b []byte) []string {
	var found []string
	lower := bytes.ToLower(b)
	for _, s := range killedNeedles {
		if bytes.Contains(lower, bytes.ToLower([]byte(s))) {
			found = append(found, s)
		}
	}
	return found
}

func checkNoText(t *testing.T, where string, b []byte) {
	t.Helper()
	if found := textIn(b); len(found) > 0 {
		t.Errorf("%s still hold the killed text %q", where, found)
	}
}

// TestKillErasureFinishesAtStart: a crash after the kill reached subscribers but before its
// erasure (the outbox will not come back to it: it resumes after its last public message) is
// finished by the sweep at the next start, before anything is served.
func TestKillErasureFinishesAtStart(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	ta := startTestApp(t, dir)
	id, _ := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": killedText[0], "body": killedText[3]})
	publicMessages(t, ta.natsURL, 1)
	ta.Close()

	// What a crash leaves: the kill in the log and on the public stream, nothing erased.
	srv, err := embeddednats.Start(embeddednats.Config{StoreDir: filepath.Join(dir, "nats"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	store, err := events.Open(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	h, err := store.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var past []domain.Recorded
	for _, env := range h.Events {
		r, err := env.Recorded()
		if err != nil {
			t.Fatal(err)
		}
		past = append(past, r)
	}
	editor := domain.Actor{ID: "u-ed", Role: domain.RoleEditor}
	killed, err := domain.Decide(domain.Fold(id, past), domain.Kill{Reason: "Court order."}, domain.Decision{By: editor, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	env, err := events.NewEnvelope(id, len(past)+1, killed, editor, time.Now(), events.Trace{})
	if err != nil {
		t.Fatal(err)
	}
	if env.Sequence, err = store.Append(ctx, env, h.LastSequence); err != nil {
		t.Fatal(err)
	}
	msg, err := events.PublicEvent{Action: events.ActionKilled, Source: env, PublicURL: "http://example.org"}.Msg()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.PublishMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if n := subjectMessages(t, srv.ClientURL(), "NEWSROOM", "newsroom.article."+id); n != uint64(len(past)+1) {
		t.Fatalf("before the restart the log holds %d events of the article; want %d", n, len(past)+1)
	}
	nc.Close()
	srv.Stop()

	ta = startTestApp(t, dir)
	if n := subjectMessages(t, ta.natsURL, "NEWSROOM", "newsroom.article."+id); n != 1 {
		t.Errorf("after the restart the log holds %d events of the article; want only the kill", n)
	}
	if n := subjectMessages(t, ta.natsURL, "NEWSROOM_PUBLIC", "newsroom.public.article.*."+id); n != 1 {
		t.Errorf("after the restart the public stream holds %d messages of the article; want only the kill", n)
	}
	ta.Close()
	checkNoText(t, "the data directory after the restart", filesUnder(t, dir))
}

func checkNoBytes(t *testing.T, where string, b, image []byte) {
	t.Helper()
	if bytes.Contains(b, image) {
		t.Errorf("%s still hold the bytes of the killed article's image", where)
	}
}
