package main

import (
	"encoding/json"
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/newsroom/newsroom/editorial"
)

// The NATO communiqué's French version (NATO publishes in both official languages).
func natoFrench(original string) map[string]any {
	return map[string]any{
		"translation_of": original,
		"language":       "fr",
		"headline":       "Réunion des ministres des Affaires étrangères OTAN-Russie",
		"body": "Le ministre russe des Affaires étrangères, Sergueï Lavrov, a participé le 7 décembre à une réunion " +
			"du Conseil OTAN-Russie (COR) avec ses homologues des pays de l'Alliance, au siège de l'OTAN.\n\n" +
			"Si de profonds désaccords persistent sur certaines questions, les ministres ont réaffirmé " +
			"l'importance que conserve le COR en tant que forum unique d'échanges politiques francs et dynamiques.",
		"dateline": "BRUXELLES", "byline": "Service de presse de l'OTAN", "tags": []string{"otan", "russie"},
	}
}

// TestTranslationsEndToEnd: the NATO communiqué in English and French, each drafted, reviewed by
// four eyes and published under its own slug. The desk shows the set, whatever each member's
// state; readers see the published versions only, both ways, in the article, the Atom feed
// (hreflang) and the ninjs of the public stream; a draft version is never listed; a retracted
// one drops out, and its language is free for a new version. The public cache serves answers for
// an hour here: only the set's invalidation can make the other version's page current.
func TestTranslationsEndToEnd(t *testing.T) {
	defer func(was time.Duration) { publicCacheMaxAge = was }(publicCacheMaxAge)
	publicCacheMaxAge = time.Hour

	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter") // writes the English original
	remi := createToken(t, dir, "remi", "reporter") // translates it into French
	ed := createToken(t, dir, "ed", "editor")
	eva := createToken(t, dir, "eva", "editor")
	ta := startTestApp(t, dir)
	api := ta.base + "/api/v1/articles"

	r := call(t, "POST", api, rita, corpus(t))
	expectStatus(t, r, 201, "draft the original")
	en := r.json(t)["id"].(string)
	if got := r.json(t)["translation_of"]; got != nil {
		t.Errorf("the original's translation_of = %v; want null", got)
	}
	r = call(t, "POST", api, remi, natoFrench(en))
	expectStatus(t, r, 201, "draft the French version")
	fr := r.json(t)["id"].(string)
	if got := r.json(t)["translation_of"]; got != en {
		t.Errorf("the French draft's translation_of = %v; want %s", got, en)
	}

	type member struct {
		ID       string `json:"id"`
		Language string `json:"language"`
		Status   string `json:"status"`
		Slug     string `json:"slug"`
	}
	desk := func(id string) []member {
		t.Helper()
		r := call(t, "GET", api+"/"+id, ed, nil)
		expectStatus(t, r, 200, "GET "+id)
		var a struct {
			Translations *[]member `json:"translations"`
		}
		if err := json.Unmarshal(r.body, &a); err != nil || a.Translations == nil {
			t.Fatalf("GET %s: translations missing (%v)\n%s", id, err, r.body)
		}
		return *a.Translations
	}
	// The language check reads the desk view: once it holds the French draft (a draft sent
	// before it does may pass, the race the README accepts), a second French version is refused.
	eventually(t, "the French draft on the desk", func() bool {
		return reflect.DeepEqual(desk(en), []member{{fr, "fr", "draft", ""}})
	})

	// What the desk refuses, naming the field; nothing of it reaches the log.
	before := streamMessages(t, ta.natsURL)
	refusals := []struct {
		name  string
		body  map[string]any
		field string
		says  string
	}{
		{"a second French version", natoFrench(en), "language", "already has article " + fr + " in fr"},
		{"a translation of the translation", func() map[string]any { b := natoFrench(fr); b["language"] = "de"; return b }(),
			"translation_of", "name the original, " + en},
		{"a translation of no article", natoFrench(editorial.NewArticleID()), "translation_of", "no article"},
		{"a translation of a malformed id", natoFrench("../" + en), "translation_of", "not an article id"},
		{"a translation in the original's language", func() map[string]any { b := natoFrench(en); b["language"] = "en"; return b }(),
			"language", "in en already"},
	}
	for _, tt := range refusals {
		r := call(t, "POST", api, remi, tt.body)
		expectStatus(t, r, 422, tt.name)
		errs, _ := r.json(t)["errors"].([]any)
		if len(errs) != 1 || errs[0].(map[string]any)["field"] != tt.field || !strings.Contains(errs[0].(map[string]any)["detail"].(string), tt.says) {
			t.Errorf("%s: errors = %v; want one on %s saying %q", tt.name, r.json(t)["errors"], tt.field, tt.says)
		}
	}
	if after := streamMessages(t, ta.natsURL); after != before {
		t.Errorf("the log went from %d to %d events over refused drafts", before, after)
	}

	// The original is published first; the French version waits in draft.
	expectStatus(t, call(t, "POST", api+"/"+en+"/submit", rita, nil), 200, "submit the original")
	expectStatus(t, call(t, "POST", api+"/"+en+"/approve", ed, nil), 200, "approve the original")
	r = call(t, "POST", api+"/"+en+"/publish", ed, nil)
	expectStatus(t, r, 200, "publish the original")
	enSlug := r.json(t)["slug"].(string)

	eventually(t, "the set on the desk", func() bool {
		return reflect.DeepEqual(desk(en), []member{{fr, "fr", "draft", ""}}) &&
			reflect.DeepEqual(desk(fr), []member{{en, "en", "published", enSlug}})
	})

	type version struct {
		Language string `json:"language"`
		Slug     string `json:"slug"`
		URL      string `json:"url"`
	}
	public := func(slug string) (int, []version) {
		t.Helper()
		r := call(t, "GET", ta.base+"/public/v1/articles/"+slug, "", nil)
		if r.status != 200 {
			return r.status, nil
		}
		var a struct {
			Translations *[]version `json:"translations"`
		}
		if err := json.Unmarshal(r.body, &a); err != nil || a.Translations == nil {
			t.Fatalf("public %s: translations missing (%v)\n%s", slug, err, r.body)
		}
		return 200, *a.Translations
	}
	eventually(t, "the original on the public API", func() bool { s, _ := public(enSlug); return s == 200 })
	if _, v := public(enSlug); len(v) != 0 {
		t.Errorf("the original's public translations while the French one is a draft = %+v; want []", v)
	}
	hreflangs := func(lang, etag string) (int, string, map[string][]string) {
		t.Helper()
		var headers []string
		if etag != "" {
			headers = []string{"If-None-Match", etag}
		}
		r := call(t, "GET", ta.base+"/public/v1/feeds/atom.xml?lang="+lang, "", nil, headers...)
		if r.status != 200 {
			return r.status, r.header.Get("ETag"), nil
		}
		var f struct {
			Entries []struct {
				ID    string `xml:"id"`
				Links []struct {
					Type     string `xml:"type,attr"`
					Hreflang string `xml:"hreflang,attr"`
					Href     string `xml:"href,attr"`
				} `xml:"link"`
			} `xml:"entry"`
		}
		if err := xml.Unmarshal(r.body, &f); err != nil {
			t.Fatalf("the Atom feed does not parse: %v", err)
		}
		out := map[string][]string{}
		for _, e := range f.Entries {
			out[e.ID] = []string{}
			for _, l := range e.Links {
				if l.Hreflang != "" && l.Type == "application/json" { // the pages' links: pages_test.go
					out[e.ID] = append(out[e.ID], l.Hreflang+" "+l.Href)
				}
			}
		}
		return 200, r.header.Get("ETag"), out
	}
	_, enFeedTag, links := hreflangs("en", "")
	if got := links["urn:uuid:"+en]; len(got) != 0 {
		t.Errorf("the English feed links the original to %v while the French version is a draft; want nothing", got)
	}

	// The French version's own four eyes: an editor who revised it may not approve it.
	r = call(t, "PATCH", api+"/"+fr, ed, map[string]any{"summary": "Les ministres ont réaffirmé l'importance du COR."}, "If-Match", `"1"`)
	expectStatus(t, r, 200, "an editor revises the French draft")
	expectStatus(t, call(t, "POST", api+"/"+fr+"/submit", remi, nil), 200, "submit the French version")
	expectStatus(t, call(t, "POST", api+"/"+fr+"/approve", ed, nil), 409, "the reviser approves the French version")
	expectStatus(t, call(t, "POST", api+"/"+fr+"/approve", eva, nil), 200, "another editor approves the French version")
	r = call(t, "POST", api+"/"+fr+"/publish", eva, nil)
	expectStatus(t, r, 200, "publish the French version")
	frSlug := r.json(t)["slug"].(string)
	if frSlug == enSlug || !strings.HasPrefix(frSlug, "reunion-des-ministres") {
		t.Errorf("the French slug = %q; want its own, from its headline", frSlug)
	}
	// A German version is drafted, and stays a draft: never listed to readers.
	r = call(t, "POST", api, remi, map[string]any{"translation_of": en, "language": "de", "headline": "Treffen der Außenminister NATO-Russland", "body": "Entwurf."})
	expectStatus(t, r, 201, "draft a German version")
	de := r.json(t)["id"].(string)

	enURL, frURL := ta.base+"/public/v1/articles/"+enSlug, ta.base+"/public/v1/articles/"+frSlug
	eventually(t, "both versions listing each other", func() bool {
		_, fromEN := public(enSlug)
		s, fromFR := public(frSlug)
		return s == 200 && reflect.DeepEqual(fromEN, []version{{"fr", frSlug, frURL}}) &&
			reflect.DeepEqual(fromFR, []version{{"en", enSlug, enURL}})
	})
	eventually(t, "the whole set on the desk", func() bool {
		return reflect.DeepEqual(desk(en), []member{{de, "de", "draft", ""}, {fr, "fr", "published", frSlug}})
	})
	status, _, links := hreflangs("en", enFeedTag)
	if status != 200 || !reflect.DeepEqual(links["urn:uuid:"+en], []string{"fr " + frURL}) {
		t.Errorf("the English feed, asked with its ETag from before the French version = %d, links %v; want 200 and hreflang fr", status, links)
	}
	if _, _, links := hreflangs("fr", ""); !reflect.DeepEqual(links["urn:uuid:"+fr], []string{"en " + enURL}) {
		t.Errorf("the French feed links the French version to %v; want hreflang en", links["urn:uuid:"+fr])
	}

	// The ninjs of both publications name the same set, and validate against ninjs 2.2.
	msgs := publicMessages(t, ta.natsURL, 2)
	schema := ninjsSchema(t)
	for _, m := range msgs {
		var doc any
		if err := json.Unmarshal(m.Data(), &doc); err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(doc); err != nil {
			t.Errorf("%s does not validate against ninjs 2.2: %v\n%s", m.Subject(), err, m.Data())
		}
		var ninjs struct {
			Language string `json:"language"`
			AltIDs   []struct{ Role, Value string }
		}
		json.Unmarshal(m.Data(), &ninjs)
		want := []struct{ Role, Value string }{{"translation-set", "urn:uuid:" + en}}
		if !reflect.DeepEqual(ninjs.AltIDs, want) {
			t.Errorf("%s (%s) altids = %+v; want %+v", m.Subject(), ninjs.Language, ninjs.AltIDs, want)
		}
	}
	if len(msgs) != 2 || !strings.HasSuffix(msgs[0].Subject(), en) || !strings.HasSuffix(msgs[1].Subject(), fr) {
		t.Errorf("public messages %d; want the two publications, the German draft never", len(msgs))
	}

	// The French version is retracted: it leaves the public set (its notice still lists the
	// original), and French is free for a new version.
	expectStatus(t, call(t, "POST", api+"/"+fr+"/retract", eva, map[string]any{"reason": "Traduction à revoir."}), 200, "retract the French version")
	eventually(t, "the retracted version gone from the original's translations", func() bool {
		_, fromEN := public(enSlug)
		s, fromFR := public(frSlug)
		return len(fromEN) == 0 && s == 200 && reflect.DeepEqual(fromFR, []version{{"en", enSlug, enURL}})
	})
	if _, _, links := hreflangs("en", ""); len(links["urn:uuid:"+en]) != 0 {
		t.Errorf("the English feed still links %v after the retraction", links["urn:uuid:"+en])
	}
	eventually(t, "the retraction on the desk", func() bool {
		return reflect.DeepEqual(desk(en), []member{{de, "de", "draft", ""}, {fr, "fr", "retracted", frSlug}})
	})
	r = call(t, "POST", api, remi, natoFrench(en))
	expectStatus(t, r, 201, "a new French version once the first is retracted")
}

// TestTranslationSetShowsWhatIsDue: a set published together is each member scheduled for the
// same instant; the desk shows, on each member, which others are still due and when.
func TestTranslationSetShowsWhatIsDue(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	ta := startTestApp(t, dir)
	api := ta.base + "/api/v1/articles"
	en := reviewed(t, ta.base, rita, ed, map[string]any{"headline": "Ministers meet", "body": "Text."})
	fr := reviewed(t, ta.base, rita, ed, map[string]any{"headline": "Les ministres se réunissent", "body": "Texte.", "language": "fr", "translation_of": en})
	at := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	r := call(t, "POST", api+"/"+fr+"/schedule", ed, map[string]any{"publish_at": at.Format(time.RFC3339)})
	expectStatus(t, r, 200, "schedule the French version")
	var members []any
	eventually(t, "the desk to show the French version scheduled", func() bool {
		a := call(t, "GET", api+"/"+en+"?min_position="+r.header.Get("X-Newsroom-Position"), ed, nil).json(t)
		members, _ = a["translations"].([]any)
		return len(members) == 1 && members[0].(map[string]any)["status"] == "scheduled"
	})
	m := members[0].(map[string]any)
	if m["id"] != fr || m["language"] != "fr" || m["publish_at"] == nil || !rfc3339(t, "publish_at", m["publish_at"].(string)).Equal(at) {
		t.Errorf("the set seen from the original = %v; want the French version due at %v", members, at)
	}
}
