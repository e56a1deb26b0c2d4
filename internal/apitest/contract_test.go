package apitest

import (
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	newsroomhttp "github.com/newsroom/newsroom/http"
)

var loadNewsroom = sync.OnceValues(func() (*Contract, error) { return Load(newsroomhttp.OpenAPI()) })

func newsroomContract(tb testing.TB) *Contract {
	tb.Helper()
	c, err := loadNewsroom()
	if err != nil {
		tb.Fatalf("load http/openapi.json: %v", err)
	}
	return c
}

// answer is what the test double answers to one request.
type answer struct {
	status  int
	headers []string // pairs
	body    string
}

// double is a stand-in for the API that answers every request with a.
func double(t *testing.T, a answer) string {
	t.Helper()
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		for i := 0; i+1 < len(a.headers); i += 2 {
			w.Header().Set(a.headers[i], a.headers[i+1])
		}
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

const (
	articleID = "0b7c6a52-55a3-4c3e-9d0f-3f0a1e9b2c11"
	// publicArticle is a published article as GET /public/v1/articles/{slug} answers it.
	publicArticle = `{"id":"` + articleID + `","slug":"ministers-meet","status":"published","version":4,
		"headline":"Ministers meet","summary":"They met.","body":"They met.","body_html":"<p>They met.</p>\n",
		"language":"en","byline":"Rita","dateline":"Brussels","tags":["nato"],"media":[],
		"created_at":"2026-12-01T10:00:00Z","updated_at":"2026-12-01T11:00:00.5Z","published_at":"2026-12-01T11:00:00.5Z",
		"corrections":[],"translations":[]}`
	// editorsArticle is an article as the editors' API answers it.
	editorsArticle = `{"id":"` + articleID + `","slug":"","status":"draft","version":1,"headline":"Ministers meet",
		"summary":"","body":"They met.","language":"en","byline":"","dateline":"","tags":[],"media":[],
		"created_at":"2026-12-01T10:00:00Z","updated_at":"2026-12-01T10:00:00Z","published_at":null,"pending_correction":null,
		"publish_at":null,"embargo_until":null,"translation_of":null}`
	notFound = `{"type":"/problems/not-found","title":"Not Found","status":404,"detail":"no article at this address","instance":"/x"}`
)

var (
	publicHeaders  = []string{"Content-Type", "application/json", "ETag", `"4-0123456789ab"`, "Cache-Control", "public, max-age=10"}
	problemHeaders = []string{"Content-Type", "application/problem+json", "X-Request-Id", "r1"}
)

// TestContractCatchesWrongAnswers has a test double answer what the API must not, and checks
// that the contract names what is wrong; and answer what it must, and checks that it does not.
func TestContractCatchesWrongAnswers(t *testing.T) {
	tests := []struct {
		name         string
		method, path string
		headers      []string
		body         string
		answer       answer
		want         []string // parts of the one mismatch; none: the exchange matches
	}{
		{name: "a right public article", method: "GET", path: "/public/v1/articles/ministers-meet",
			answer: answer{200, publicHeaders, publicArticle}},
		{name: "a public article that leaks a draft's field", method: "GET", path: "/public/v1/articles/ministers-meet",
			answer: answer{200, publicHeaders, strings.Replace(publicArticle, `"corrections":[]`, `"corrections":[],"pending_correction":null`, 1)},
			want:   []string{"GET /public/v1/articles/ministers-meet → 200", "pending_correction"}},
		{name: "a public article without corrections", method: "GET", path: "/public/v1/articles/ministers-meet",
			answer: answer{200, publicHeaders, strings.Replace(publicArticle, `,
		"corrections":[]`, ``, 1)},
			want: []string{"corrections"}},
		{name: "a public article with a version as a string", method: "GET", path: "/public/v1/articles/ministers-meet",
			answer: answer{200, publicHeaders, strings.Replace(publicArticle, `"version":4`, `"version":"4"`, 1)},
			want:   []string{"version"}},
		{name: "a public article without its ETag", method: "GET", path: "/public/v1/articles/ministers-meet",
			answer: answer{200, []string{"Content-Type", "application/json", "Cache-Control", "public, max-age=10"}, publicArticle},
			want:   []string{"ETag"}},
		{name: "a public article as text", method: "GET", path: "/public/v1/articles/ministers-meet",
			answer: answer{200, []string{"Content-Type", "text/plain", "ETag", `"4-0123456789ab"`, "Cache-Control", "public, max-age=10"}, publicArticle},
			want:   []string{"text/plain"}},
		{name: "a status the document does not list", method: "GET", path: "/public/v1/articles/ministers-meet",
			answer: answer{418, []string{"Content-Type", "application/json"}, `{}`},
			want:   []string{"418"}},
		{name: "a right problem", method: "GET", path: "/public/v1/articles/nothing-here",
			answer: answer{404, problemHeaders, notFound}},
		{name: "an error that is not a problem", method: "GET", path: "/public/v1/articles/nothing-here",
			answer: answer{404, []string{"Content-Type", "application/json", "X-Request-Id", "r1"}, `{"error":"not found"}`},
			want:   []string{"application/json"}},
		{name: "a problem of the wrong type", method: "GET", path: "/public/v1/articles/nothing-here",
			answer: answer{404, problemHeaders, strings.Replace(notFound, "/problems/not-found", "/problems/gone", 1)},
			want:   []string{"type"}},
		{name: "a problem with another type's title", method: "GET", path: "/public/v1/articles/nothing-here",
			answer: answer{404, problemHeaders, strings.Replace(notFound, `"title":"Not Found"`, `"title":"Gone"`, 1)},
			want:   []string{"title"}},
		{name: "a problem without detail", method: "GET", path: "/public/v1/articles/nothing-here",
			answer: answer{404, problemHeaders, strings.Replace(notFound, `"detail":"no article at this address",`, "", 1)},
			want:   []string{"detail"}},
		{name: "a 401 without WWW-Authenticate", method: "GET", path: "/api/v1/articles/" + articleID,
			answer: answer{401, problemHeaders, `{"type":"/problems/unauthenticated","title":"Unauthenticated","status":401,"detail":"send a token","instance":"/x"}`},
			want:   []string{"WWW-Authenticate"}},
		{name: "a right draft", method: "POST", path: "/api/v1/articles", headers: []string{"Authorization", "Bearer nr_x", "Content-Type", "application/json"},
			body: `{"headline":"Ministers meet","body":"They met."}`,
			answer: answer{201, []string{"Content-Type", "application/json", "Location", "/api/v1/articles/" + articleID, "ETag", `"1"`,
				"X-Newsroom-Position", "7", "Cache-Control", "no-store"}, editorsArticle}},
		{name: "a draft the document refuses, accepted", method: "POST", path: "/api/v1/articles", headers: []string{"Authorization", "Bearer nr_x", "Content-Type", "application/json"},
			body: `{"headline":"Ministers meet","status":"published"}`,
			answer: answer{201, []string{"Content-Type", "application/json", "Location", "/api/v1/articles/" + articleID, "ETag", `"1"`,
				"X-Newsroom-Position", "7", "Cache-Control", "no-store"}, editorsArticle},
			want: []string{"the request is not one the document allows, yet the server accepted it", "status"}},
		{name: "a draft the document refuses, refused", method: "POST", path: "/api/v1/articles", headers: []string{"Authorization", "Bearer nr_x", "Content-Type", "application/json"},
			body:   `{"headline":"Ministers meet","status":"published"}`,
			answer: answer{400, problemHeaders, `{"type":"/problems/malformed-request","title":"Malformed Request","status":400,"detail":"unknown field \"status\"","instance":"/api/v1/articles"}`}},
		{name: "an address the document does not describe, answered", method: "GET", path: "/api/v1/secrets",
			answer: answer{200, []string{"Content-Type", "application/json"}, `{}`},
			want:   []string{"GET /api/v1/secrets is not in the document", "200"}},
		{name: "an address the document does not describe, 404", method: "GET", path: "/nowhere",
			answer: answer{404, problemHeaders, notFound}},
		{name: "a method the document does not describe, 405 without Allow", method: "DELETE", path: "/public/v1/articles",
			answer: answer{405, problemHeaders, `{"type":"/problems/method-not-allowed","title":"Method Not Allowed","status":405,"detail":"no","instance":"/public/v1/articles"}`},
			want:   []string{"Allow"}},
		{name: "a method the document does not describe, 405", method: "DELETE", path: "/public/v1/articles",
			answer: answer{405, append([]string{"Allow", "GET, HEAD"}, problemHeaders...), `{"type":"/problems/method-not-allowed","title":"Method Not Allowed","status":405,"detail":"no","instance":"/public/v1/articles"}`}},
	}
	contract := newsroomContract(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := double(t, tt.answer)
			rec := &Recorder{Contract: contract}
			client := &nethttp.Client{Transport: rec}
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := nethttp.NewRequest(tt.method, base+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(tt.headers); i += 2 {
				req.Header.Set(tt.headers[i], tt.headers[i+1])
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(got) != tt.answer.body {
				t.Errorf("the client read %q through the recorder; want the answer as sent, %q", got, tt.answer.body)
			}
			mismatches := rec.Mismatches()
			if len(tt.want) == 0 {
				if len(mismatches) > 0 {
					t.Errorf("mismatches = %q; want none", mismatches)
				}
				return
			}
			if len(mismatches) != 1 {
				t.Fatalf("mismatches = %q; want one naming %q", mismatches, tt.want)
			}
			for _, part := range tt.want {
				if !strings.Contains(mismatches[0], part) {
					t.Errorf("mismatch %q does not mention %q", mismatches[0], part)
				}
			}
		})
	}
}

// TestRecorderLeavesEventStreamsToTheCaller checks an event stream's status and headers without
// waiting for its body, which does not end.
func TestRecorderLeavesEventStreamsToTheCaller(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, "id: 1\nevent: org.newsroom.article.published.v1\ndata: {}\n\n")
		w.(nethttp.Flusher).Flush()
		<-release
	}))
	defer srv.Close()
	defer close(release)
	rec := &Recorder{Contract: newsroomContract(t)}
	resp, err := (&nethttp.Client{Transport: rec}).Get(srv.URL + "/public/v1/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 6)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "id: 1\n" {
		t.Errorf("read %q, %v from the stream; want its first line", buf, err)
	}
	if m := rec.Mismatches(); len(m) > 0 {
		t.Errorf("mismatches = %q; want none", m)
	}
}

// TestReport lists each different mismatch once, with its count.
func TestReport(t *testing.T) {
	if got := Report(nil); got != "" {
		t.Errorf("Report(nil) = %q; want empty", got)
	}
	got := Report([]string{"a", "b", "a"})
	want := "3 exchanges did not match the OpenAPI document (http/openapi.json):\n- a (×2)\n- b"
	if got != want {
		t.Errorf("Report = %q; want %q", got, want)
	}
}
