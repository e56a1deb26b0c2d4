package http

import (
	"context"
	"encoding/json"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/newsroom/newsroom/auth"
	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/editorial"
	"github.com/newsroom/newsroom/embeddednats/natstest"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// editorsServer is the editors' API on a real log (an in-process nats-server) and real tokens
// (SQLite), with a reporter's and an editor's token.
type editorsServer struct {
	url              string
	log              *events.Store
	desk             *editorial.Desk
	reporter, editor auth.Principal
	tokens           map[domain.Role]string
}

func startEditorsServer(t *testing.T) *editorsServer {
	t.Helper()
	ctx := context.Background()
	_, js := natstest.Start(t).Connect(t)
	log, err := events.Open(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	tokens := auth.NewTokens(sqldbtest.Open(t, sqldb.SQLite))
	s := &editorsServer{log: log, desk: editorial.NewDesk(log), tokens: map[domain.Role]string{}}
	for _, role := range []domain.Role{domain.RoleReporter, domain.RoleEditor} {
		secret, p, err := tokens.Create(ctx, string(role), role)
		if err != nil {
			t.Fatal(err)
		}
		s.tokens[role] = secret
		if role == domain.RoleReporter {
			s.reporter = p
		} else {
			s.editor = p
		}
	}
	srv := httptest.NewServer(New(Config{Desk: s.desk, Tokens: tokens}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// prepare drafts an article as the reporter and walks it with the commands given, each by the
// reporter (Submit) or by a second editor, and returns its id.
func (s *editorsServer) prepare(t *testing.T, headline string, steps ...domain.Command) string {
	t.Helper()
	ctx := context.Background()
	id := editorial.NewArticleID()
	content := domain.Content{Headline: headline, Body: "Ministers met.", Tags: []string{"nato"}}
	if _, err := s.desk.Execute(ctx, id, domain.Draft{Content: content}, editorial.Request{By: s.reporter.Actor()}); err != nil {
		t.Fatal(err)
	}
	second := domain.Actor{ID: "second-editor", Role: domain.RoleEditor}
	for _, cmd := range steps {
		by := second
		if _, ok := cmd.(domain.Submit); ok {
			by = s.reporter.Actor()
		}
		if _, err := s.desk.Execute(ctx, id, cmd, editorial.Request{By: by}); err != nil {
			t.Fatalf("prepare %s: %s: %v", headline, domain.CommandName(cmd), err)
		}
	}
	return id
}

func (s *editorsServer) send(t *testing.T, method, path string, role domain.Role, body string, header ...string) (int, []byte) {
	t.Helper()
	req, err := nethttp.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.tokens[role])
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := nethttp.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// TestRequestBodiesAreReadExactly sends every body the editors' API takes with field names in
// the wrong case, with a field twice, and with text that is not text (bytes that are not UTF-8,
// JSON escapes of half a surrogate pair, which encoding/json would quietly turn into U+FFFD).
// Each is refused, naming the field, and nothing is appended.
func TestRequestBodiesAreReadExactly(t *testing.T) {
	s := startEditorsServer(t)
	draft := s.prepare(t, "A draft")
	review := s.prepare(t, "In review", domain.Submit{})
	published := s.prepare(t, "Published", domain.Submit{}, domain.Approve{}, domain.Publish{})
	approved := s.prepare(t, "Approved", domain.Submit{}, domain.Approve{})
	embargoed := s.prepare(t, "Under embargo", domain.Submit{}, domain.Approve{}, domain.Publish{EmbargoUntil: time.Now().Add(time.Hour)})
	const api = "/api/v1/articles"
	ifMatch1 := []string{"If-Match", `"1"`}

	tests := []struct {
		name, method, path string
		role               domain.Role
		body               string
		header             []string
		status             int
		mention            string // in the detail (400) or as the field named in errors (422)
	}{
		// Field names are matched exactly.
		{"draft HEADLINE", "POST", api, domain.RoleReporter, `{"HEADLINE":"x"}`, nil, 400, "HEADLINE"},
		{"draft Headline", "POST", api, domain.RoleReporter, `{"headline":"x","Tags":["a"]}`, nil, 400, "Tags"},
		{"revise HEADLINE", "PATCH", api + "/" + draft, domain.RoleReporter, `{"HEADLINE":"x"}`, ifMatch1, 400, "HEADLINE"},
		{"correct Note", "POST", api + "/" + published + "/correct", domain.RoleEditor, `{"Note":"x","summary":"y"}`, nil, 400, "Note"},
		{"request changes Comment", "POST", api + "/" + review + "/request-changes", domain.RoleEditor, `{"Comment":"x"}`, nil, 400, "Comment"},
		{"retract REASON", "POST", api + "/" + published + "/retract", domain.RoleEditor, `{"REASON":"x"}`, nil, 400, "REASON"},
		{"publish Embargo_until", "POST", api + "/" + approved + "/publish", domain.RoleEditor, `{"Embargo_until":"2030-01-01T00:00:00Z"}`, nil, 400, "Embargo_until"},
		{"move the embargo EMBARGO_UNTIL", "POST", api + "/" + embargoed + "/embargo", domain.RoleEditor, `{"EMBARGO_UNTIL":"2030-01-01T00:00:00Z"}`, nil, 400, "EMBARGO_UNTIL"},

		// A field given twice is refused, wherever it is.
		{"draft headline twice", "POST", api, domain.RoleReporter, `{"headline":"a","headline":"b"}`, nil, 400, "headline"},
		{"draft headline twice, one escaped", "POST", api, domain.RoleReporter, `{"headline":"a","head\u006cine":"b"}`, nil, 400, "headline"},
		{"revise summary twice", "PATCH", api + "/" + draft, domain.RoleReporter, `{"summary":"a","summary":null}`, ifMatch1, 400, "summary"},
		{"correct note twice", "POST", api + "/" + published + "/correct", domain.RoleEditor, `{"note":"a","summary":"s","note":"b"}`, nil, 400, "note"},
		{"request changes comment twice", "POST", api + "/" + review + "/request-changes", domain.RoleEditor, `{"comment":"a","comment":"b"}`, nil, 400, "comment"},
		{"retract reason twice", "POST", api + "/" + published + "/retract", domain.RoleEditor, `{"reason":"a","reason":"b"}`, nil, 400, "reason"},
		{"kill reason twice", "POST", api + "/" + published + "/kill", domain.RoleEditor, `{"reason":"a","reason":"b"}`, nil, 400, "reason"},
		{"spike reason twice", "POST", api + "/" + draft + "/spike", domain.RoleReporter, `{"reason":"a","reason":"b"}`, nil, 400, "reason"},
		{"publish embargo_until twice", "POST", api + "/" + approved + "/publish", domain.RoleEditor, `{"embargo_until":"2030-01-01T00:00:00Z","embargo_until":null}`, nil, 400, "embargo_until"},
		{"publish embargo_until a number", "POST", api + "/" + approved + "/publish", domain.RoleEditor, `{"embargo_until":1893456000}`, nil, 400, "embargo_until"},

		// Times are RFC 3339, in the future, and required where they are the command.
		{"publish embargo_until not a time", "POST", api + "/" + approved + "/publish", domain.RoleEditor, `{"embargo_until":"Thursday 10:00"}`, nil, 422, "embargo_until"},
		{"publish embargo_until without a zone", "POST", api + "/" + approved + "/publish", domain.RoleEditor, `{"embargo_until":"2030-01-01T10:00:00"}`, nil, 422, "embargo_until"},
		{"publish embargo_until in the past", "POST", api + "/" + approved + "/publish", domain.RoleEditor, `{"embargo_until":"2020-01-01T10:00:00Z"}`, nil, 422, "embargo_until"},
		{"move the embargo without a time", "POST", api + "/" + embargoed + "/embargo", domain.RoleEditor, `{}`, nil, 422, "embargo_until"},
		{"move the embargo not a time", "POST", api + "/" + embargoed + "/embargo", domain.RoleEditor, `{"embargo_until":"later"}`, nil, 422, "embargo_until"},

		// Half a surrogate pair, escaped.
		{"draft headline lone high surrogate", "POST", api, domain.RoleReporter, `{"headline":"NATO \ud800 meets"}`, nil, 422, "headline"},
		{"draft headline lone low surrogate", "POST", api, domain.RoleReporter, `{"headline":"NATO \udc00 meets"}`, nil, 422, "headline"},
		{"draft headline reversed pair", "POST", api, domain.RoleReporter, `{"headline":"\udc00\ud800"}`, nil, 422, "headline"},
		{"draft headline high surrogate at the end", "POST", api, domain.RoleReporter, `{"headline":"x\uD83D"}`, nil, 422, "headline"},
		{"draft body lone surrogate", "POST", api, domain.RoleReporter, `{"headline":"x","body":"text \ud83d"}`, nil, 422, "body"},
		{"draft tag lone surrogate", "POST", api, domain.RoleReporter, `{"headline":"x","tags":["nato","\udfff"]}`, nil, 422, "tags"},
		{"revise summary lone surrogate", "PATCH", api + "/" + draft, domain.RoleReporter, `{"summary":"\ud800\\u0041"}`, ifMatch1, 422, "summary"},
		{"correct note lone surrogate", "POST", api + "/" + published + "/correct", domain.RoleEditor, `{"note":"\ud800","summary":"s"}`, nil, 422, "note"},
		{"request changes comment lone surrogate", "POST", api + "/" + review + "/request-changes", domain.RoleEditor, `{"comment":"\udbff"}`, nil, 422, "comment"},
		{"retract reason lone surrogate", "POST", api + "/" + published + "/retract", domain.RoleEditor, `{"reason":"\ud800"}`, nil, 422, "reason"},
		{"kill reason lone surrogate", "POST", api + "/" + published + "/kill", domain.RoleEditor, `{"reason":"\ud800"}`, nil, 422, "reason"},
		{"spike reason lone surrogate", "POST", api + "/" + draft + "/spike", domain.RoleReporter, `{"reason":"\ud800"}`, nil, 422, "reason"},
		{"publish embargo_until lone surrogate", "POST", api + "/" + approved + "/publish", domain.RoleEditor, `{"embargo_until":"\ud800"}`, nil, 422, "embargo_until"},

		// Bytes that are not UTF-8.
		{"draft headline not UTF-8", "POST", api, domain.RoleReporter, "{\"headline\":\"NATO \xff meets\"}", nil, 422, "headline"},
		{"draft byline encoded surrogate", "POST", api, domain.RoleReporter, "{\"headline\":\"x\",\"byline\":\"\xed\xa0\x80\"}", nil, 422, "byline"},
		{"draft tag cut sequence", "POST", api, domain.RoleReporter, "{\"headline\":\"x\",\"tags\":[\"caf\xc3\"]}", nil, 422, "tags"},
		{"revise body not UTF-8", "PATCH", api + "/" + draft, domain.RoleReporter, "{\"body\":\"\xc3\x28\"}", ifMatch1, 422, "body"},
		{"correct headline not UTF-8", "POST", api + "/" + published + "/correct", domain.RoleEditor, "{\"note\":\"n\",\"headline\":\"\x80\"}", nil, 422, "headline"},
		{"request changes comment not UTF-8", "POST", api + "/" + review + "/request-changes", domain.RoleEditor, "{\"comment\":\"\xfe\"}", nil, 422, "comment"},
		{"retract reason not UTF-8", "POST", api + "/" + published + "/retract", domain.RoleEditor, "{\"reason\":\"\xff\"}", nil, 422, "reason"},
		{"kill reason not UTF-8", "POST", api + "/" + published + "/kill", domain.RoleEditor, "{\"reason\":\"\xff\"}", nil, 422, "reason"},
		{"spike reason not UTF-8", "POST", api + "/" + draft + "/spike", domain.RoleReporter, "{\"reason\":\"\xff\"}", nil, 422, "reason"},
	}
	before, err := s.log.LastSequence(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := s.send(t, tt.method, tt.path, tt.role, tt.body, tt.header...)
			if status != tt.status {
				t.Fatalf("%s %s %+q = %d %s; want %d", tt.method, tt.path, tt.body, status, body, tt.status)
			}
			var p Problem
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("answer %s: %v", body, err)
			}
			if tt.status == 400 && !strings.Contains(p.Detail, `"`+tt.mention+`"`) {
				t.Errorf("detail = %q; want it to name %q", p.Detail, tt.mention)
			}
			if tt.status == 422 {
				var fields []string
				for _, f := range p.Errors {
					fields = append(fields, f.Field)
				}
				if !slices.Equal(fields, []string{tt.mention}) {
					t.Errorf("422 names fields %q (%s); want [%q]", fields, body, tt.mention)
				}
			}
		})
	}
	after, err := s.log.LastSequence(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("the log went from %d to %d over %d refused requests; want nothing appended", before, after, len(tests))
	}

	// A surrogate pair is a character, escaped or not, and a field is read whole.
	status, body := s.send(t, "POST", api, domain.RoleReporter, `{"headline":"Newspaper \ud83d\udcf0 \"quoted\" \\ud800","tags":["📰"]}`)
	if status != 201 {
		t.Fatalf("draft with an escaped surrogate pair = %d %s; want 201", status, body)
	}
	var a articleJSON
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatal(err)
	}
	if want := `Newspaper 📰 "quoted" \ud800`; a.Headline != want || !slices.Equal(a.Tags, []string{"📰"}) {
		t.Errorf("draft = headline %q, tags %q; want %q, [📰]", a.Headline, a.Tags, want)
	}
}

// BenchmarkDecodeDraft measures what reading a draft exactly costs beside encoding/json alone
// (decodeStrict, which is lenient), on a communiqué-sized body and on one near the body limit.
func BenchmarkDecodeDraft(b *testing.B) {
	paragraph := "Russian Foreign Minister Sergey Lavrov attended a meeting of the NATO-Russia Council with his Allied counterparts. "
	for _, size := range []struct {
		name string
		body int
	}{{"3.5KB", 3_500}, {"1MB", 1_000_000}} {
		body, err := json.Marshal(map[string]any{
			"headline": "NATO-Russia foreign ministers meet", "summary": "Ministers met.", "language": "en",
			"body": strings.Repeat(paragraph, size.body/len(paragraph)), "tags": []string{"nato", "russia", "café"},
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(size.name+"/exact", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := decodeDraft(body); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(size.name+"/encoding-json", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				var req draftRequest
				if err := decodeStrict(body, &req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPublishBody: publish takes no body, as it always did, or {} or a null embargo (no
// embargo), or an embargo; the editors' article shows it, null when there is none.
func TestPublishBody(t *testing.T) {
	s := startEditorsServer(t)
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	for _, tt := range []struct {
		name, body string
		want       *time.Time
	}{
		{"no body", "", nil},
		{"an empty object", `{}`, nil},
		{"a null embargo", `{"embargo_until":null}`, nil},
		{"an embargo", `{"embargo_until":"` + until.In(time.FixedZone("CET", 3600)).Format(time.RFC3339) + `"}`, &until},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := s.prepare(t, "Ministers meet "+tt.name, domain.Submit{}, domain.Approve{})
			status, body := s.send(t, "POST", "/api/v1/articles/"+id+"/publish", domain.RoleEditor, tt.body)
			if status != 200 {
				t.Fatalf("publish with %s = %d %s; want 200", tt.name, status, body)
			}
			var a articleJSON
			if err := json.Unmarshal(body, &a); err != nil {
				t.Fatal(err)
			}
			switch {
			case !strings.Contains(string(body), `"embargo_until":`):
				t.Errorf("article %s has no embargo_until", body)
			case tt.want == nil && a.EmbargoUntil != nil, tt.want != nil && (a.EmbargoUntil == nil || !a.EmbargoUntil.Equal(*tt.want)):
				t.Errorf("embargo_until = %v; want %v", a.EmbargoUntil, tt.want)
			}
		})
	}
}
