package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/editorial"
	"github.com/newsroom/newsroom/events"
)

// streamMsgs reads every message of a stream, as any trusted subscriber would: plain nats.go
// and the permanent names (nil before the stream exists).
func streamMsgs(tb testing.TB, natsURL, stream string) []*jetstream.RawStreamMsg {
	tb.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		tb.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := uint64(1); ; {
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(">"))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, m)
		seq = m.Sequence + 1
	}
}

// ofArticle keeps the messages about article id (their subject ends in it).
func ofArticle(msgs []*jetstream.RawStreamMsg, id string) []*jetstream.RawStreamMsg {
	var out []*jetstream.RawStreamMsg
	for _, m := range msgs {
		if strings.HasSuffix(m.Subject, "."+id) {
			out = append(out, m)
		}
	}
	return out
}

func subjectList(msgs []*jetstream.RawStreamMsg) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Subject
	}
	return out
}

// reviewed drafts body as author and takes it to approved; it returns the article's id.
func reviewed(t *testing.T, base, author, editor string, body map[string]any) string {
	t.Helper()
	api := base + "/api/v1/articles"
	r := call(t, "POST", api, author, body)
	expectStatus(t, r, 201, "draft")
	id := r.json(t)["id"].(string)
	expectStatus(t, call(t, "POST", api+"/"+id+"/submit", author, nil), 200, "submit")
	expectStatus(t, call(t, "POST", api+"/"+id+"/approve", editor, nil), 200, "approve")
	return id
}

// hookDelivery is one delivery a receiver accepted, as a CloudEvent.
type hookDelivery struct {
	ID      string         `json:"id"`
	Type    string         `json:"type"`
	Subject string         `json:"subject"`
	Data    map[string]any `json:"data"`
}

func (h *hookReceiver) deliveries(t *testing.T) []hookDelivery {
	t.Helper()
	var out []hookDelivery
	for _, r := range h.all() {
		if r.status != 204 {
			continue
		}
		var d hookDelivery
		if err := json.Unmarshal(r.body, &d); err != nil {
			t.Fatalf("a delivery is not a CloudEvent: %v\n%s", err, r.body)
		}
		out = append(out, d)
	}
	return out
}

// TestEmbargoEndToEnd: an article published under embargo is absent from every public surface
// (the public API, the list, the feeds, the public stream and so the event stream and tail)
// and present on the embargoed stream with ninjs embargoed set (valid ninjs), delivered to the
// trusted webhook and not to the other; corrected, moved and lifted early by an editor, it
// appears everywhere as an ordinary publication first published at the lift. Another is lifted
// by the scheduler's trigger at its end, first published then. One retracted and then killed
// under embargo stays not found (never gone), and the kill erases its embargoed copies.
func TestEmbargoEndToEnd(t *testing.T) {
	dir := t.TempDir()
	admin := createToken(t, dir, "ada", "admin")
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	eva := createToken(t, dir, "eva", "editor")
	ta := startWebhookApp(t, dir)
	api := ta.base + "/api/v1/articles"
	schema := ninjsSchema(t)

	trusted, plain := newHookReceiver(t), newHookReceiver(t)
	trusted.up.Store(true)
	plain.up.Store(true)
	r := call(t, "POST", ta.base+"/api/v1/webhooks", admin, map[string]any{"url": trusted.srv.URL, "trusted": true})
	expectStatus(t, r, 201, "register a trusted webhook")
	trustedID := r.json(t)["id"].(string)
	if got := r.json(t); got["trusted"] != true || got["embargoed_seq"] != 0.0 {
		t.Errorf("trusted registration = %s; want trusted and its embargoed cursor", r.body)
	}
	r = call(t, "POST", ta.base+"/api/v1/webhooks", admin, map[string]any{"url": plain.srv.URL})
	expectStatus(t, r, 201, "register a webhook")
	plainID := r.json(t)["id"].(string)
	if got := r.json(t); got["trusted"] != false || got["embargoed_seq"] != nil {
		t.Errorf("registration = %s; want untrusted, without an embargoed cursor", r.body)
	}

	// Published under embargo: publish takes the body, refuses a bad time naming the field.
	body := corpus(t)
	id := reviewed(t, ta.base, rita, ed, body)
	for _, bad := range []string{"tomorrow at ten", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)} {
		r := call(t, "POST", api+"/"+id+"/publish", ed, map[string]any{"embargo_until": bad})
		if p := hostileProblem(t, r, 422, "publish under embargo until "+bad); !strings.Contains(strings.Join(problemFields(p), " "), "embargo_until") {
			t.Errorf("publish under embargo until %q: problem %v; want it to name embargo_until", bad, p)
		}
	}
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	r = call(t, "POST", api+"/"+id+"/publish", ed, map[string]any{"embargo_until": until.Format(time.RFC3339)})
	expectStatus(t, r, 200, "publish under embargo")
	published := r.json(t)
	slug := published["slug"].(string)
	if published["status"] != "published" || published["embargo_until"] != until.Format(time.RFC3339) {
		t.Fatalf("published under embargo = %s; want status published, embargo_until %s", r.body, until.Format(time.RFC3339))
	}
	correctText(t, ta.base, id, ed, eva, map[string]any{"summary": "Ministers met in Brussels.", "note": "Added a summary."})
	moved := until.Add(time.Hour)
	expectStatus(t, call(t, "POST", api+"/"+id+"/embargo", rita, map[string]any{"embargo_until": moved.Format(time.RFC3339)}), 403, "a reporter moves the embargo")
	r = call(t, "POST", api+"/"+id+"/embargo", ed, map[string]any{"embargo_until": moved.Format(time.RFC3339)})
	expectStatus(t, r, 200, "move the embargo")
	if got := r.json(t)["embargo_until"]; got != moved.Format(time.RFC3339) {
		t.Errorf("after the move embargo_until = %v; want %s", got, moved.Format(time.RFC3339))
	}
	position := r.header.Get("X-Newsroom-Position")

	// Trusted subscribers have it; the public has nothing of it.
	var embargoed []*jetstream.RawStreamMsg
	eventually(t, "the embargoed stream's three messages", func() bool {
		embargoed = ofArticle(streamMsgs(t, ta.natsURL, events.EmbargoedStreamName), id)
		return len(embargoed) == 3
	})
	wantSubjects := []string{events.EmbargoedSubject(events.ActionPublished, id), events.EmbargoedSubject(events.ActionCorrected, id),
		events.EmbargoedSubject(events.ActionEmbargoMoved, id)}
	if got := subjectList(embargoed); strings.Join(got, " ") != strings.Join(wantSubjects, " ") {
		t.Errorf("embargoed stream = %v; want %v", got, wantSubjects)
	}
	for i, wantUntil := range []time.Time{until, until, moved} {
		var doc map[string]any
		if err := json.Unmarshal(embargoed[i].Data, &doc); err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(doc); err != nil {
			t.Errorf("embargoed message %d does not validate against ninjs 2.2: %v\n%s", i, err, embargoed[i].Data)
		}
		if doc["embargoed"] != wantUntil.Format(time.RFC3339Nano) || doc["headlines"] == nil {
			t.Errorf("embargoed message %d = %s; want embargoed %s and the text", i, embargoed[i].Data, wantUntil.Format(time.RFC3339Nano))
		}
	}
	r = call(t, "GET", ta.base+"/public/v1/articles/"+slug+"?min_position="+position, "", nil)
	hostileProblem(t, r, 404, "the public API under embargo")
	headline := body["headline"].(string)
	for _, path := range []string{"/public/v1/articles", "/public/v1/feeds/atom.xml", "/public/v1/feeds/feed.json"} {
		r := call(t, "GET", ta.base+path+"?min_position="+position, "", nil)
		expectStatus(t, r, 200, "GET "+path)
		if bytes.Contains(r.body, []byte(headline)) || bytes.Contains(r.body, []byte(slug)) || bytes.Contains(r.body, []byte(id)) {
			t.Errorf("GET %s under embargo shows the article: %s", path, r.body)
		}
	}
	if msgs := streamMsgs(t, ta.natsURL, events.PublicStreamName); len(msgs) != 0 {
		t.Errorf("the public stream holds %v under embargo; want nothing", subjectList(msgs))
	}
	eventually(t, "the trusted webhook's embargoed deliveries", func() bool { return len(trusted.deliveries(t)) == 3 })
	for _, d := range trusted.deliveries(t) {
		if !strings.HasSuffix(d.ID, events.EmbargoedIDSuffix) || d.Data["embargoed"] == nil || d.Subject != id {
			t.Errorf("trusted delivery %+v; want an embargoed message of %s", d, id)
		}
	}

	// Lifted early by an editor: an ordinary publication, first published at the lift.
	expectStatus(t, call(t, "POST", api+"/"+id+"/lift-embargo", rita, nil), 403, "a reporter lifts the embargo")
	r = call(t, "POST", api+"/"+id+"/lift-embargo", ed, nil)
	expectStatus(t, r, 200, "lift the embargo")
	lifted := r.json(t)
	if lifted["embargo_until"] != nil || lifted["published_at"] == published["published_at"] {
		t.Errorf("lifted = %s; want no embargo and the lift as published_at (was %v)", r.body, published["published_at"])
	}
	liftedAt := rfc3339(t, "published_at", lifted["published_at"].(string))
	expectStatus(t, call(t, "POST", api+"/"+id+"/lift-embargo", ed, nil), 409, "lift an embargo lifted already")
	r = call(t, "GET", ta.base+"/public/v1/articles/"+slug+"?min_position="+r.header.Get("X-Newsroom-Position"), "", nil)
	expectStatus(t, r, 200, "the public API after the lift")
	if got := rfc3339(t, "public published_at", r.json(t)["published_at"].(string)); !got.Equal(liftedAt) || r.json(t)["summary"] != "Ministers met in Brussels." {
		t.Errorf("public article after the lift = %s; want published_at %v and the corrected text", r.body, liftedAt)
	}
	if c, _ := r.json(t)["corrections"].([]any); len(c) != 0 {
		t.Errorf("public corrections after the lift = %v; want none: readers never saw the text before", c)
	}
	for _, path := range []string{"/public/v1/feeds/atom.xml", "/public/v1/feeds/feed.json"} {
		if r := call(t, "GET", ta.base+path, "", nil); !bytes.Contains(r.body, []byte(slug)) {
			t.Errorf("GET %s after the lift does not show the article: %s", path, r.body)
		}
	}
	pub := publicMessages(t, ta.natsURL, 1)
	if len(pub) != 1 || pub[0].Subject() != events.PublicSubject(events.ActionPublished, id) {
		t.Fatalf("the public stream after the lift = %d messages; want the publication alone", len(pub))
	}
	var doc map[string]any
	json.Unmarshal(pub[0].Data(), &doc)
	if err := schema.Validate(doc); err != nil {
		t.Errorf("the lift's public message does not validate against ninjs 2.2: %v", err)
	}
	if got := rfc3339(t, "firstcreated", doc["firstcreated"].(string)); !got.Equal(liftedAt) || doc["embargoed"] != nil {
		t.Errorf("the lift's public message = %s; want firstcreated %v and no embargo", pub[0].Data(), liftedAt)
	}
	// newsroom tail reads the embargoed stream too, one article's messages if asked.
	var tailed, tailErr bytes.Buffer
	tailCtx, cancelTail := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancelTail()
	if err := run(tailCtx, []string{"tail", "--data-dir", dir, "--embargoed", "--article", id, "--count", "4"}, &tailed, &tailErr); err != nil {
		t.Fatalf("tail --embargoed: %v (%s)", err, tailErr.String())
	}
	var tailTypes []string
	for dec := json.NewDecoder(&tailed); dec.More(); {
		var l tailLine
		if err := dec.Decode(&l); err != nil {
			t.Fatal(err)
		}
		tailTypes = append(tailTypes, l.Type)
	}
	if want := []string{events.CloudEventType(events.ActionPublished), events.CloudEventType(events.ActionCorrected),
		events.CloudEventType(events.ActionEmbargoMoved), events.CloudEventType(events.ActionEmbargoLifted)}; strings.Join(tailTypes, " ") != strings.Join(want, " ") {
		t.Errorf("tail --embargoed --article = %v; want %v", tailTypes, want)
	}
	if sse := readSSE(t, ta.base, "0", 1); sse[0].data["subject"] != id || sse[0].event != "org.newsroom.article.published.v1" {
		t.Errorf("the event stream from the start = %+v; want the lift's publication first", sse)
	}

	// Lifted at its end by newsroom's scheduler: first published at the embargo's end. A trigger
	// given early is refused as too early (the scheduler hands it back until then).
	second := reviewed(t, ta.base, rita, ed, map[string]any{"headline": "Ministers adopt a statement", "body": "Text."})
	end := time.Now().Add(3 * time.Second).UTC().Truncate(time.Second)
	r = call(t, "POST", api+"/"+second+"/publish", ed, map[string]any{"embargo_until": end.Format(time.RFC3339)})
	expectStatus(t, r, 200, "publish under a short embargo")
	secondSlug := r.json(t)["slug"].(string)
	desk := editorial.NewDesk(ta.store)
	trigger := domain.LiftEmbargoOnSchedule{Until: end}
	if _, err := desk.Execute(context.Background(), second, trigger, editorial.Request{By: domain.Scheduler}); !errors.Is(err, domain.ErrTooEarly) && time.Now().Before(end) {
		t.Errorf("the trigger before the embargo's end: %v; want ErrTooEarly", err)
	}
	hostileProblem(t, call(t, "GET", ta.base+"/public/v1/articles/"+secondSlug+"?min_position="+r.header.Get("X-Newsroom-Position"), "", nil),
		404, "an article under a short embargo, before its end")
	eventually(t, "the scheduler to lift the embargo at its end", func() bool {
		return call(t, "GET", ta.base+"/public/v1/articles/"+secondSlug, "", nil).status == 200
	})
	r = call(t, "GET", ta.base+"/public/v1/articles/"+secondSlug, "", nil)
	if got := rfc3339(t, "published_at", r.json(t)["published_at"].(string)); !got.Equal(end) {
		t.Errorf("public published_at = %v; want the embargo's end %v", got, end)
	}
	// Given again once the scheduler has lifted it, the trigger no longer applies.
	if _, err := desk.Execute(context.Background(), second, trigger, editorial.Request{By: domain.Scheduler}); !errors.Is(err, domain.ErrInvalidTransition) {
		t.Errorf("the trigger after the lift: %v; want ErrInvalidTransition", err)
	}

	// Retracted, then killed, under embargo: not found for good, the embargoed copies erased.
	third := reviewed(t, ta.base, rita, ed, map[string]any{"headline": "Withdrawn before its time", "body": "Text."})
	r = call(t, "POST", api+"/"+third+"/publish", ed, map[string]any{"embargo_until": until.Format(time.RFC3339)})
	expectStatus(t, r, 200, "publish under embargo")
	thirdSlug := r.json(t)["slug"].(string)
	r = call(t, "POST", api+"/"+third+"/retract", ed, map[string]any{"reason": "Issued in error."})
	expectStatus(t, r, 200, "retract under embargo")
	hostileProblem(t, call(t, "GET", ta.base+"/public/v1/articles/"+thirdSlug+"?min_position="+r.header.Get("X-Newsroom-Position"), "", nil),
		404, "an article retracted under embargo")
	r = call(t, "POST", api+"/"+third+"/kill", ed, map[string]any{"reason": "Court order."})
	expectStatus(t, r, 200, "kill under embargo")
	hostileProblem(t, call(t, "GET", ta.base+"/public/v1/articles/"+thirdSlug+"?min_position="+r.header.Get("X-Newsroom-Position"), "", nil),
		404, "an article killed under embargo (not 410: the public never knew it)")
	eventually(t, "the embargoed copies erased, the kill kept", func() bool {
		got := subjectList(ofArticle(streamMsgs(t, ta.natsURL, events.EmbargoedStreamName), third))
		return len(got) == 1 && got[0] == events.EmbargoedSubject(events.ActionKilled, third)
	})
	if msgs := ofArticle(streamMsgs(t, ta.natsURL, events.PublicStreamName), third); len(msgs) != 0 {
		t.Errorf("the public stream holds %v of the article killed under embargo; want nothing", subjectList(msgs))
	}

	// Each webhook has what it may have, in each stream's order: the plain one the public
	// stream alone.
	eventually(t, "the plain webhook's two publications", func() bool { return len(plain.deliveries(t)) == 2 })
	for i, d := range plain.deliveries(t) {
		if strings.HasSuffix(d.ID, events.EmbargoedIDSuffix) || d.Data["embargoed"] != nil || d.Type != "org.newsroom.article.published.v1" ||
			d.Subject != []string{id, second}[i] {
			t.Errorf("plain delivery %d = %+v; want the public publication of %s", i, d, []string{id, second}[i])
		}
	}
	eventually(t, "the trusted webhook's kill under embargo", func() bool {
		ds := trusted.deliveries(t)
		return len(ds) > 0 && ds[len(ds)-1].Type == "org.newsroom.article.killed.v1"
	})
	var embargoedTypes, publicTypes []string
	for _, d := range trusted.deliveries(t) {
		if strings.HasSuffix(d.ID, events.EmbargoedIDSuffix) {
			embargoedTypes = append(embargoedTypes, d.Type+" "+d.Subject)
		} else {
			publicTypes = append(publicTypes, d.Type+" "+d.Subject)
		}
	}
	ce := func(action, article string) string { return events.CloudEventType(action) + " " + article }
	wantTrusted := []string{ce(events.ActionPublished, id), ce(events.ActionCorrected, id), ce(events.ActionEmbargoMoved, id),
		ce(events.ActionEmbargoLifted, id), ce(events.ActionPublished, second), ce(events.ActionEmbargoLifted, second)}
	if got := strings.Join(embargoedTypes, ", "); !strings.HasPrefix(got, strings.Join(wantTrusted, ", ")) ||
		!strings.HasSuffix(got, ce(events.ActionKilled, third)) {
		t.Errorf("trusted embargoed deliveries = %v; want %v, then the third article's (erased ones skipped), its kill last", embargoedTypes, wantTrusted)
	}
	eventually(t, "the trusted webhook's public deliveries", func() bool {
		publicTypes = nil
		for _, d := range trusted.deliveries(t) {
			if !strings.HasSuffix(d.ID, events.EmbargoedIDSuffix) {
				publicTypes = append(publicTypes, d.Type+" "+d.Subject)
			}
		}
		return len(publicTypes) == 2
	})
	if want := []string{ce(events.ActionPublished, id), ce(events.ActionPublished, second)}; strings.Join(publicTypes, ", ") != strings.Join(want, ", ") {
		t.Errorf("trusted public deliveries = %v; want %v", publicTypes, want)
	}
	r = call(t, "GET", ta.base+"/api/v1/webhooks/"+plainID+"/deliveries?per_page=500", admin, nil)
	if strings.Contains(string(r.body), `"stream":"embargoed"`) {
		t.Errorf("the plain webhook's deliveries include embargoed ones: %s", r.body)
	}
	r = call(t, "GET", ta.base+"/api/v1/webhooks/"+trustedID+"/deliveries?per_page=500", admin, nil)
	if !strings.Contains(string(r.body), `"stream":"embargoed"`) || !strings.Contains(string(r.body), `"stream":"public"`) {
		t.Errorf("the trusted webhook's deliveries = %s; want both streams named", r.body)
	}
}
