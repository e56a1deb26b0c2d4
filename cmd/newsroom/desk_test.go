package main

import (
	"cmp"
	"fmt"
	"strings"
	"testing"

	"github.com/newsroom/newsroom/events"
)

// publishedArticle drafts, submits, approves and publishes one article; it returns its id and
// the version it reached.
func publishedArticle(t testing.TB, base, author, editor string, body map[string]any) (string, string) {
	t.Helper()
	api := base + "/api/v1/articles"
	r := call(t, "POST", api, author, body)
	expectStatus(t, r, 201, "draft")
	id := r.json(t)["id"].(string)
	expectStatus(t, call(t, "POST", api+"/"+id+"/submit", author, nil), 200, "submit")
	expectStatus(t, call(t, "POST", api+"/"+id+"/approve", editor, nil), 200, "approve")
	r = call(t, "POST", api+"/"+id+"/publish", editor, nil)
	expectStatus(t, r, 200, "publish")
	return id, r.json(t)["slug"].(string)
}

// correctText proposes a correction that changes the text as proposer (202: the public article
// is unchanged) and confirms it as confirmer (200), as the four-eyes rule asks; it returns the
// confirmation.
func correctText(tb testing.TB, base, id, proposer, confirmer string, body map[string]any) response {
	tb.Helper()
	api := base + "/api/v1/articles/" + id
	r := call(tb, "POST", api+"/correct", proposer, body)
	expectStatus(tb, r, 202, "propose a correction")
	if r.json(tb)["pending_correction"] == nil {
		tb.Fatalf("propose a correction: no pending_correction in %s", r.body)
	}
	r = call(tb, "POST", api+"/correct/confirm", confirmer, nil)
	expectStatus(tb, r, 200, "confirm the correction")
	return r
}

func TestFullDeskWorkflow(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	eva := createToken(t, dir, "eva", "editor")
	ta := startTestApp(t, dir)
	api := ta.base + "/api/v1/articles"

	// Review round trip: changes requested, revised, resubmitted, approved; a revision after
	// approval lets the approval lapse.
	r := call(t, "POST", api, rita, map[string]any{"headline": "Ministers meet", "body": "Draft text.", "language": "fr", "tags": []string{"nato"}})
	expectStatus(t, r, 201, "draft")
	id := r.json(t)["id"].(string)
	steps := []struct {
		method, path, token string
		body                any
		headers             []string
		status              string
		code                int // 0: 200
	}{
		{"POST", "/submit", rita, nil, nil, "in_review", 0},
		{"POST", "/request-changes", ed, map[string]any{"comment": "Name the ministers."}, nil, "changes_requested", 0},
		{"PATCH", "", rita, map[string]any{"body": "Foreign ministers met."}, []string{"If-Match", `"3"`}, "draft", 0},
		{"POST", "/submit", rita, nil, nil, "in_review", 0},
		{"POST", "/approve", ed, nil, nil, "approved", 0},
		{"PATCH", "", ed, map[string]any{"summary": "A late change by the approver."}, []string{"If-Match", `"6"`}, "draft", 0},
		{"POST", "/submit", ed, nil, nil, "in_review", 0},
		{"POST", "/approve", eva, nil, nil, "approved", 0}, // ed wrote the latest revision: eva approves
		{"POST", "/publish", ed, nil, nil, "published", 0},
		{"POST", "/correct", ed, map[string]any{"body": "Foreign ministers met on 7 December.", "note": "The date was missing."}, nil, "published", 202},
		{"POST", "/correct/confirm", eva, nil, nil, "published", 0},                                          // ed proposed: eva confirms
		{"POST", "/correct", eva, map[string]any{"note": "The date is the meeting's."}, nil, "published", 0}, // a note alone: one step
		{"POST", "/retract", ed, map[string]any{"reason": "Published in error."}, nil, "retracted", 0},
	}
	var slug string
	for i, s := range steps {
		r := call(t, s.method, api+"/"+id+s.path, s.token, s.body, s.headers...)
		expectStatus(t, r, cmp.Or(s.code, 200), fmt.Sprintf("step %d %s%s", i+1, s.method, s.path))
		a := r.json(t)
		if a["status"] != s.status || a["version"] != float64(i+2) {
			t.Fatalf("step %d %s%s: status %v version %v; want %s version %d", i+1, s.method, s.path, a["status"], a["version"], s.status, i+2)
		}
		if s.path == "/publish" {
			slug = a["slug"].(string)
		}
	}
	last := len(steps) + 1
	if r := call(t, "POST", api+"/"+id+"/correct", ed, map[string]any{"note": "n", "summary": "s"}); r.status != 409 {
		t.Errorf("correct a retracted article: status %d; want 409", r.status)
	}

	// The retracted article stays at its URL as a notice: headline and reason, no text.
	var notice map[string]any
	eventually(t, "the retraction notice", func() bool {
		r := call(t, "GET", ta.base+"/public/v1/articles/"+slug, "", nil)
		if r.status == 200 {
			notice = r.json(t)
		}
		return notice != nil && notice["status"] == "retracted"
	})
	retraction, _ := notice["retraction"].(map[string]any)
	if notice["headline"] != "Ministers meet" || notice["body"] != nil || notice["body_html"] != nil || retraction["reason"] != "Published in error." {
		t.Errorf("retraction notice = %v; want the headline, the reason, no body", notice)
	}
	if corrections, _ := notice["corrections"].([]any); len(corrections) != 2 {
		t.Errorf("notice corrections = %v; want the two corrections (the confirmed one, the note alone)", notice["corrections"])
	}

	// The timeline: every step, oldest first, with names joined from the tokens.
	r = call(t, "GET", api+"/"+id+"/history", rita, nil)
	expectStatus(t, r, 200, "history")
	var items []any
	eventually(t, "the whole history", func() bool {
		r = call(t, "GET", api+"/"+id+"/history", rita, nil)
		items, _ = r.json(t)["items"].([]any)
		return len(items) == last
	})
	wantEvents := []string{"article.drafted", "article.submitted", "article.changes_requested", "article.revised",
		"article.submitted", "article.approved", "article.revised", "article.submitted", "article.approved",
		"article.published", "article.correction_proposed", "article.corrected", "article.corrected", "article.retracted"}
	for i, it := range items {
		e := it.(map[string]any)
		actor := e["actor"].(map[string]any)
		if e["event"] != wantEvents[i] || e["version"] != float64(i+1) || actor["name"] == "" || actor["id"] == "" {
			t.Errorf("history[%d] = %v; want %s, version %d, a named actor", i, e, wantEvents[i], i+1)
		}
	}
	if e := items[2].(map[string]any); e["comment"] != "Name the ministers." || e["actor"].(map[string]any)["name"] != "ed" {
		t.Errorf("history[2] = %v; want ed's comment", e)
	}

	// Spiking: the author may; another reporter may not.
	r = call(t, "POST", api, rita, map[string]any{"headline": "Never mind"})
	spikeID := r.json(t)["id"].(string)
	other := createToken(t, dir, "otto", "reporter")
	expectStatus(t, call(t, "POST", api+"/"+spikeID+"/spike", other, map[string]any{"reason": "mine now"}), 403, "spike by another reporter")
	expectStatus(t, call(t, "POST", api+"/"+spikeID+"/spike", rita, nil), 200, "spike by the author, no reason")

	// The desk lists every article, newest change first, and filters by status.
	eventually(t, "the desk", func() bool {
		r := call(t, "GET", api+"?status=spiked", ed, nil)
		return r.status == 200 && r.json(t)["total"] == 1.0
	})
	r = call(t, "GET", api, ed, nil)
	desk := r.json(t)
	deskItems, _ := desk["items"].([]any)
	if desk["total"] != 2.0 || len(deskItems) != 2 || deskItems[0].(map[string]any)["id"] != spikeID {
		t.Errorf("desk = %s; want 2 articles, the spiked one first", r.body)
	}
	r = call(t, "GET", api+"?status=retracted&per_page=1", ed, nil)
	if got := r.json(t); got["total"] != 1.0 || got["per_page"] != 1.0 {
		t.Errorf("desk filtered by retracted = %s", r.body)
	}
}

func TestPublicFiltersAndCorrections(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	eva := createToken(t, dir, "eva", "editor") // confirms corrections: four eyes
	ta := startTestApp(t, dir)

	_, enSlug := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "Summit opens", "body": "Text.", "tags": []string{"summit", "nato"}})
	frID, frSlug := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "Le sommet s'ouvre", "body": "Texte.", "language": "fr", "tags": []string{"summit"}})
	_, _ = publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "Budget agreed", "body": "Text.", "tags": []string{"budget", "cafe\u0301"}})
	// A draft never shows.
	expectStatus(t, call(t, "POST", ta.base+"/api/v1/articles", rita, map[string]any{"headline": "Secret draft", "tags": []string{"summit"}}), 201, "draft")

	// The proposal is the desk's alone: readers see the text as it was until eva confirms it.
	r := call(t, "POST", ta.base+"/api/v1/articles/"+frID+"/correct", ed, map[string]any{"body": "Texte corrigé.", "note": "Faute de frappe."})
	expectStatus(t, r, 202, "propose a correction")
	pending, _ := r.json(t)["pending_correction"].(map[string]any)
	if changes, _ := pending["changes"].(map[string]any); pending["note"] != "Faute de frappe." || changes["body"] != "Texte corrigé." || len(changes) != 1 {
		t.Fatalf("pending_correction = %v; want the note and the body alone", pending)
	}
	desk := call(t, "GET", ta.base+"/api/v1/articles?min_position="+r.header.Get("X-Newsroom-Position"), eva, nil).json(t)
	if !deskShowsPending(desk, frID) {
		t.Fatalf("the desk list does not show the pending correction of %s: %v", frID, desk)
	}
	if a := call(t, "GET", ta.base+"/public/v1/articles/"+frSlug+"?min_position="+r.header.Get("X-Newsroom-Position"), "", nil).json(t); a["body_html"] != "<p>Texte.</p>\n" || a["corrections"] != nil && len(a["corrections"].([]any)) != 0 {
		t.Fatalf("public article after a proposal = %v; want it unchanged", a)
	}
	expectStatus(t, call(t, "POST", ta.base+"/api/v1/articles/"+frID+"/correct/confirm", ed, nil), 409, "the proposer confirms")
	expectStatus(t, call(t, "POST", ta.base+"/api/v1/articles/"+frID+"/correct/confirm", eva, nil), 200, "another editor confirms")
	eventually(t, "the correction on the public API", func() bool {
		r := call(t, "GET", ta.base+"/public/v1/articles/"+frSlug, "", nil)
		return r.status == 200 && strings.Contains(r.json(t)["body_html"].(string), "Texte corrigé.")
	})
	a := call(t, "GET", ta.base+"/public/v1/articles/"+frSlug, "", nil).json(t)
	corrections, _ := a["corrections"].([]any)
	if len(corrections) != 1 || corrections[0].(map[string]any)["note"] != "Faute de frappe." || a["slug"] != frSlug {
		t.Errorf("corrected article = %v; want one correction with its note, the same slug", a)
	}

	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"Budget agreed", "Le sommet s'ouvre", "Summit opens"}},
		{"?lang=fr", []string{"Le sommet s'ouvre"}},
		{"?tag=summit", []string{"Le sommet s'ouvre", "Summit opens"}},
		{"?tag=summit&lang=en", []string{"Summit opens"}},
		{"?tag=nothing", nil},
		// The tag was given in NFD and is recorded in NFC: either form finds it.
		{"?tag=caf%C3%A9", []string{"Budget agreed"}},
		{"?tag=cafe%CC%81", []string{"Budget agreed"}},
		{"?per_page=1&page=2", []string{"Le sommet s'ouvre"}},
	}
	for _, tt := range tests {
		r := call(t, "GET", ta.base+"/public/v1/articles"+tt.query, "", nil)
		expectStatus(t, r, 200, tt.query)
		var got []string
		for _, it := range r.json(t)["items"].([]any) {
			got = append(got, it.(map[string]any)["headline"].(string))
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("GET /public/v1/articles%s = %q; want %q", tt.query, got, tt.want)
		}
	}
	expectStatus(t, call(t, "GET", ta.base+"/public/v1/articles?lang=not%20a%20tag", "", nil), 400, "bad lang")
	expectStatus(t, call(t, "GET", ta.base+"/public/v1/articles/"+enSlug, "", nil), 200, "en article")
}

func TestReadyz(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ta := startTestApp(t, dir)
	expectStatus(t, call(t, "POST", ta.base+"/api/v1/articles", rita, map[string]any{"headline": "One"}), 201, "draft")
	var report map[string]any
	eventually(t, "every view ok at position 1", func() bool {
		r := call(t, "GET", ta.base+"/readyz", "", nil)
		report = r.json(t)
		views, _ := report["views"].(map[string]any)
		for _, name := range []string{"published", "desk", "history"} {
			v, _ := views[name].(map[string]any)
			if v["status"] != "ok" || v["position"] != 1.0 {
				return false
			}
		}
		return r.status == 200
	})
	if l := report["log"].(map[string]any); l["status"] != "ok" || l["position"] != 1.0 {
		t.Errorf("readyz log = %v; want ok at 1", l)
	}
	if db, _ := report["database"].(map[string]any); report["status"] != "ok" || db["status"] != "ok" {
		t.Errorf("readyz = %v; want status ok, database ok", report)
	}
	ta.embedded.Stop()
	r := call(t, "GET", ta.base+"/readyz", "", nil)
	if r.status != 503 || r.json(t)["log"].(map[string]any)["status"] != "down" || r.json(t)["status"] != "down" {
		t.Errorf("readyz with the log down = %d %s; want 503 and log down", r.status, r.body)
	}
}

// deskShowsPending reports whether the desk list page holds article id with a pending correction.
func deskShowsPending(page map[string]any, id string) bool {
	items, _ := page["items"].([]any)
	for _, it := range items {
		a, _ := it.(map[string]any)
		if a["id"] == id {
			return a["pending_correction"] != nil
		}
	}
	return false
}

// TestSingleEditorCorrectionsIsAnExplicitSetting: by default one editor's correction of the
// text waits for a second editor; with --single-editor-corrections it is published at once, and
// the event in the log says it was one editor's alone.
func TestSingleEditorCorrectionsIsAnExplicitSetting(t *testing.T) {
	for _, allowed := range []bool{false, true} {
		t.Run(fmt.Sprintf("allowed=%v", allowed), func(t *testing.T) {
			dir := t.TempDir()
			rita := createToken(t, dir, "rita", "reporter")
			ed := createToken(t, dir, "ed", "editor")
			ta := startTestAppWith(t, config{HTTP: "127.0.0.1:0", DataDir: dir, NATSListen: "127.0.0.1:0", NoSync: true,
				SingleEditorCorrections: allowed})
			id, slug := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "Ministers meet", "body": "Text."})
			r := call(t, "POST", ta.base+"/api/v1/articles/"+id+"/correct", ed, map[string]any{"body": "Corrected text.", "note": "A typo."})
			want, wantEvent := 202, "article.correction_proposed"
			if allowed {
				want, wantEvent = 200, "article.corrected"
			}
			expectStatus(t, r, want, "correct by one editor")

			nc, js := connectNATS(t, ta.natsURL)
			defer nc.Close()
			log, err := js.Stream(t.Context(), events.StreamName)
			if err != nil {
				t.Fatal(err)
			}
			msg, err := log.GetLastMsgForSubject(t.Context(), events.Subject(id))
			if err != nil {
				t.Fatal(err)
			}
			env, err := events.Unmarshal(msg.Data, msg.Sequence)
			if err != nil {
				t.Fatal(err)
			}
			if env.Type != wantEvent || strings.Contains(string(env.Data), `"single_editor":true`) != allowed {
				t.Errorf("the log's last event of the article = %s %s; want %s, single_editor %v", env.Type, env.Data, wantEvent, allowed)
			}
			read := call(t, "GET", ta.base+"/public/v1/articles/"+slug+"?min_position="+r.header.Get("X-Newsroom-Position"), "", nil)
			expectStatus(t, read, 200, "public read of the article")
			public := read.json(t)
			body, _ := public["body_html"].(string)
			if got := strings.Contains(body, "Corrected text."); got != allowed {
				t.Errorf("public body %q; corrected = %v, want %v", public["body_html"], got, allowed)
			}
		})
	}
}
