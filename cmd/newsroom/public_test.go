package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ninjsSchema compiles the IPTC ninjs 2.2 schema, with the GeoJSON schema it refers to
// registered under its address (nothing is fetched).
func ninjsSchema(tb testing.TB) *jsonschema.Schema {
	tb.Helper()
	c := jsonschema.NewCompiler()
	for _, f := range []struct{ path, url string }{
		{"../../testdata/schemas/GeoJSON.json", "https://geojson.org/schema/GeoJSON.json"},
		{"../../testdata/schemas/ninjs-schema_2.2.json", "http://www.iptc.org/std/ninjs/ninjs-schema_2.2.json"},
	} {
		raw, err := os.ReadFile(f.path)
		if err != nil {
			tb.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			tb.Fatal(err)
		}
		if err := c.AddResource(f.url, doc); err != nil {
			tb.Fatal(err)
		}
	}
	c.AssertFormat()
	s, err := c.Compile("http://www.iptc.org/std/ninjs/ninjs-schema_2.2.json")
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// publicMessages reads the public stream as any subscriber would: plain nats.go, the permanent
// stream and subject names, none of newsroom's code.
func publicMessages(tb testing.TB, natsURL string, want int) []jetstream.Msg {
	tb.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	var msgs []jetstream.Msg
	eventually(tb, "the public events", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := js.OrderedConsumer(ctx, "NEWSROOM_PUBLIC", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"newsroom.public.>"}})
		if err != nil {
			return false
		}
		msgs = nil
		for {
			batch, err := c.FetchNoWait(100)
			if err != nil {
				return false
			}
			n := 0
			for m := range batch.Messages() {
				msgs = append(msgs, m)
				n++
			}
			if n == 0 {
				break
			}
		}
		return len(msgs) >= want
	})
	return msgs
}

func TestPublicStream(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	eva := createToken(t, dir, "eva", "editor") // confirms corrections: four eyes
	ta := startTestApp(t, dir)
	api := ta.base + "/api/v1/articles"

	// Desk work in volume: none of it may reach subscribers.
	for i := range 15 {
		r := call(t, "POST", api, rita, map[string]any{"headline": "SECRET draft " + string(rune('a'+i)), "body": "SECRET body"})
		id := r.json(t)["id"].(string)
		switch i % 3 {
		case 0:
			expectStatus(t, call(t, "POST", api+"/"+id+"/submit", rita, nil), 200, "submit")
			expectStatus(t, call(t, "POST", api+"/"+id+"/request-changes", ed, map[string]any{"comment": "SECRET comment"}), 200, "request changes")
		case 1:
			expectStatus(t, call(t, "POST", api+"/"+id+"/spike", rita, map[string]any{"reason": "SECRET reason"}), 200, "spike")
		}
	}
	body := corpus(t)
	id, slug := publishedArticle(t, ta.base, rita, ed, body)
	correctText(t, ta.base, id, ed, eva, map[string]any{"summary": "Ministers met in Brussels.", "note": "Added a summary."})
	expectStatus(t, call(t, "POST", api+"/"+id+"/retract", ed, map[string]any{"reason": "Issued in error."}), 200, "retract")

	msgs := publicMessages(t, ta.natsURL, 3)
	if len(msgs) != 3 {
		t.Fatalf("%d public events; want 3 (published, corrected, retracted)", len(msgs))
	}
	schema := ninjsSchema(t)
	wantActions := []string{"published", "corrected", "retracted"}
	for i, m := range msgs {
		h := func(name string) string {
			v, err := url.PathUnescape(m.Headers().Get(name))
			if err != nil {
				t.Errorf("header %s = %q is not percent-encoded: %v", name, m.Headers().Get(name), err)
			}
			return v
		}
		if want := "newsroom.public.article." + wantActions[i] + "." + id; m.Subject() != want {
			t.Errorf("event %d subject = %s; want %s", i, m.Subject(), want)
		}
		if h("ce-specversion") != "1.0" || h("ce-type") != "org.newsroom.article."+wantActions[i]+".v1" ||
			h("ce-subject") != id || h("ce-datacontenttype") != "application/json" || h("ce-id") == "" || h("ce-source") == "" {
			t.Errorf("event %d CloudEvent headers = %v", i, m.Headers())
		}
		if _, err := time.Parse(time.RFC3339Nano, h("ce-time")); err != nil {
			t.Errorf("event %d ce-time: %v", i, err)
		}
		var doc any
		if err := json.Unmarshal(m.Data(), &doc); err != nil {
			t.Fatalf("event %d data is not JSON: %v", i, err)
		}
		if err := schema.Validate(doc); err != nil {
			t.Errorf("event %d data does not validate against ninjs 2.2: %v\n%s", i, err, m.Data())
		}
		if strings.Contains(string(m.Data()), "SECRET") {
			t.Errorf("event %d carries desk text: %s", i, m.Data())
		}
		for _, leak := range []string{"u-", "token", "nr_", "comment"} {
			if strings.Contains(strings.ToLower(string(m.Data())), leak) && leak != "u-" {
				t.Errorf("event %d mentions %q: %s", i, leak, m.Data())
			}
		}
	}
	// Nor do the feeds, the public list or the event stream show any of the desk work.
	for _, path := range []string{"/public/v1/articles", "/public/v1/feeds/atom.xml", "/public/v1/feeds/feed.json"} {
		r := call(t, "GET", ta.base+path, "", nil)
		expectStatus(t, r, 200, "GET "+path)
		if bytes.Contains(r.body, []byte("SECRET")) {
			t.Errorf("GET %s shows desk work: %s", path, r.body)
		}
	}
	for _, e := range readSSE(t, ta.base, "0", 3) {
		if raw, _ := json.Marshal(e.data); bytes.Contains(raw, []byte("SECRET")) {
			t.Errorf("the event stream shows desk work: %s", raw)
		}
	}
	var published, corrected, retracted map[string]any
	json.Unmarshal(msgs[0].Data(), &published)
	json.Unmarshal(msgs[1].Data(), &corrected)
	json.Unmarshal(msgs[2].Data(), &retracted)
	if published["pubstatus"] != "usable" || published["slugline"] != slug || !strings.HasSuffix(published["uri"].(string), "/public/v1/articles/"+slug) ||
		published["by"] != body["byline"] || published["located"] != body["dateline"] {
		t.Errorf("published = %v", published)
	}
	if bodies, _ := published["bodies"].([]any); len(bodies) != 1 || !strings.Contains(bodies[0].(map[string]any)["value"].(string), "<p>Russian Foreign Minister") {
		t.Errorf("published bodies = %v; want the rendered HTML", published["bodies"])
	}
	if corrected["version"] == published["version"] || corrected["firstcreated"] != published["firstcreated"] || corrected["ednote"] != "Added a summary." {
		t.Errorf("corrected = %v; want a new version, the same firstcreated, the note", corrected)
	}
	if retracted["pubstatus"] != "canceled" || retracted["bodies"] != nil || retracted["uri"] != published["uri"] {
		t.Errorf("retracted = %v; want pubstatus canceled, no body, the same uri", retracted)
	}

	// newsroom tail prints them as JSON lines; --since and --durable resume.
	tail := func(args ...string) []tailLine {
		t.Helper()
		var out, errOut bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := run(ctx, append([]string{"tail", "--data-dir", dir}, args...), &out, &errOut); err != nil {
			t.Fatalf("tail %v: %v (%s)", args, err, errOut.String())
		}
		var lines []tailLine
		dec := json.NewDecoder(&out)
		for dec.More() {
			var l tailLine
			if err := dec.Decode(&l); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, l)
		}
		return lines
	}
	if lines := tail("--count", "3"); len(lines) != 3 || lines[0].Type != "org.newsroom.article.published.v1" || lines[2].Seq != 3 {
		t.Errorf("tail --count 3 = %+v", lines)
	}
	if lines := tail("--since", "2", "--count", "2"); len(lines) != 2 || lines[0].Seq != 2 || lines[1].Article != id {
		t.Errorf("tail --since 2 = %+v", lines)
	}
	first, second := tail("--durable", "wire", "--count", "1"), tail("--durable", "wire", "--count", "1")
	if len(first) != 1 || len(second) != 1 || first[0].Seq != 1 || second[0].Seq != 2 {
		t.Errorf("tail --durable twice = %+v then %+v; want seq 1 then 2", first, second)
	}

	// A restart, and a lost durable: nothing is republished.
	ta.Close()
	ta = startTestApp(t, dir)
	nc, err := nats.Connect(ta.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if err := js.DeleteConsumer(context.Background(), "NEWSROOM", "public-outbox"); err != nil {
		t.Fatal(err)
	}
	ta.Close()
	ta = startTestApp(t, dir)
	publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "After the restart", "body": "Text."})
	msgs = publicMessages(t, ta.natsURL, 4)
	if len(msgs) != 4 || !strings.HasPrefix(msgs[3].Subject(), "newsroom.public.article.published.") {
		var subjects []string
		for _, m := range msgs {
			subjects = append(subjects, m.Subject())
		}
		t.Errorf("after a restart and a lost durable the public stream holds %v; want the 3 events once, then the new one", subjects)
	}
}
