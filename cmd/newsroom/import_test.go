package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const corpusFile = "../../testdata/nato-russia-council-ministers-meet.txt"

func TestImportDraftsThroughTheAPI(t *testing.T) {
	dir := t.TempDir()
	reporter := createToken(t, dir, "rita", "reporter")
	ta := startTestApp(t, dir)

	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"import", "--api", ta.base, "--token", reporter, corpusFile}, &out, &errOut); err != nil {
		t.Fatalf("import: %v (stderr %q)", err, errOut.String())
	}
	id, ok := strings.CutSuffix(out.String(), "\n")
	if !ok || id == "" || strings.ContainsAny(id, " \n") {
		t.Fatalf("import printed %q; want only the article id and a newline", out.String())
	}
	if errOut.Len() != 0 {
		t.Errorf("import wrote %q to stderr; want nothing", errOut.String())
	}
	r := call(t, "GET", ta.base+"/api/v1/articles/"+id, reporter, nil)
	expectStatus(t, r, 200, "get the imported article")
	a := r.json(t)
	body, _ := a["body"].(string)
	if a["headline"] != "NATO-Russia foreign ministers meet" || !strings.HasPrefix(body, "Russian Foreign Minister Sergey Lavrov") ||
		a["status"] != "draft" || a["language"] != "en" {
		t.Errorf("imported article = %v; want a draft in en with the corpus headline and a body starting with its first paragraph", a)
	}

	// Stdin, a language, tags, and flags after the file.
	out.Reset()
	text := "Communiqué de presse\nLes ministres se sont réunis le 7 décembre.\n"
	err := importCommand(context.Background(), []string{"--api", ta.base + "/", "-", "--token", reporter, "--language", "fr", "--tag", "nato", "--tag", "russia"},
		strings.NewReader(text), &out, &errOut)
	if err != nil {
		t.Fatalf("import from stdin: %v", err)
	}
	r = call(t, "GET", ta.base+"/api/v1/articles/"+strings.TrimSpace(out.String()), reporter, nil)
	expectStatus(t, r, 200, "get the article imported from stdin")
	a = r.json(t)
	if tags, _ := json.Marshal(a["tags"]); a["headline"] != "Communiqué de presse" || a["language"] != "fr" || string(tags) != `["nato","russia"]` ||
		a["body"] != "Les ministres se sont réunis le 7 décembre." {
		t.Errorf("article imported from stdin = %v; want the French headline and body, language fr, tags nato and russia", a)
	}
}

func TestImportErrors(t *testing.T) {
	dir := t.TempDir()
	reporter := createToken(t, dir, "rita", "reporter")
	ta := startTestApp(t, dir)
	t.Setenv("NEWSROOM_TOKEN", "") // the tests say which token they use
	t.Setenv("NEWSROOM_API", ta.base)

	files := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(files, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	blank := write("blank.txt", "\n  \n\n")
	longHeadline := write("long.txt", strings.Repeat("h", 301)+"\nA paragraph.\n")
	notUTF8 := write("latin1.txt", "Communiqu\xe9\n")
	huge := write("huge.txt", "Headline\n"+strings.Repeat("a", 1<<20))

	tests := []struct {
		name string
		args []string
		want []string // parts of the error message
	}{
		{"missing file", []string{"--token", reporter, filepath.Join(files, "absent.txt")}, []string{"absent.txt", "no such file"}},
		{"no file", []string{"--token", reporter}, []string{"FILE"}},
		{"two files", []string{"--token", reporter, blank, blank}, []string{"FILE", "got 2"}},
		{"missing token", []string{corpusFile}, []string{"--token", "NEWSROOM_TOKEN", "required"}},
		{"first line empty", []string{"--token", reporter, blank}, []string{"422", "Invalid Article", "some fields are invalid", "headline"}},
		{"headline too long", []string{"--token", reporter, longHeadline}, []string{"422", "headline"}},
		{"bad language", []string{"--token", reporter, "--language", "english!", corpusFile}, []string{"422", "language"}},
		{"wrong token", []string{"--token", "nr_" + strings.Repeat("A", 43), corpusFile}, []string{"401", "Unauthenticated", "valid token"}},
		{"not UTF-8", []string{"--token", reporter, notUTF8}, []string{"latin1.txt", "UTF-8"}},
		{"over 1 MiB", []string{"--token", reporter, huge}, []string{"huge.txt", "1 MiB"}},
		{"bad API URL", []string{"--api", "127.0.0.1:8080", "--token", reporter, corpusFile}, []string{"--api", "http://"}},
		{"no server", []string{"--api", "http://127.0.0.1:1", "--token", reporter, corpusFile}, []string{"no answer", "127.0.0.1:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), append([]string{"import"}, tt.args...), &out, &errOut)
			if err == nil {
				t.Fatalf("import %v succeeded, printing %q; want an error", tt.args, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("import error = %q; want it to mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), `"type"`) || strings.Contains(err.Error(), "{") {
				t.Errorf("import error = %q; want a plain message, not JSON", err)
			}
			if out.Len() != 0 {
				t.Errorf("import printed %q on stdout; want nothing", out.String())
			}
		})
	}
	if n := streamMessages(t, ta.natsURL); n != 0 {
		t.Errorf("the log holds %d events after failed imports; want 0", n)
	}
}

// The request import sends: what a server needs to honour a retry, and nothing else.
func TestImportRequest(t *testing.T) {
	type seen struct {
		key, auth, contentType string
		body                   map[string]any
	}
	requests := make(chan seen, 10)
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		data, _ := io.ReadAll(r.Body)
		s := seen{key: r.Header.Get("Idempotency-Key"), auth: r.Header.Get("Authorization"), contentType: r.Header.Get("Content-Type")}
		if err := json.Unmarshal(data, &s.body); err != nil {
			t.Errorf("request body is not JSON: %v\n%s", err, data)
		}
		if r.Method != "POST" || r.URL.Path != "/api/v1/articles" {
			t.Errorf("request %s %s; want POST /api/v1/articles", r.Method, r.URL.Path)
		}
		requests <- s
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		io.WriteString(w, `{"id":"01JDRAFT"}`)
	}))
	defer srv.Close()

	send := func(input string, args ...string) seen {
		t.Helper()
		var out, errOut bytes.Buffer
		args = append([]string{"--api", srv.URL, "--token", " nr_secret\n"}, append(args, "-")...)
		if err := importCommand(context.Background(), args, strings.NewReader(input), &out, &errOut); err != nil {
			t.Fatalf("import %v: %v", args, err)
		}
		if out.String() != "01JDRAFT\n" {
			t.Errorf("import printed %q; want the id", out.String())
		}
		return <-requests
	}
	const text = "Ministers meet\nThey met.\n"
	first := send(text, "--tag", "a")
	if first.auth != "Bearer nr_secret" || first.contentType != "application/json" {
		t.Errorf("Authorization %q, Content-Type %q; want Bearer nr_secret, application/json", first.auth, first.contentType)
	}
	if got, _ := json.Marshal(first.body); string(got) != `{"body":"They met.","headline":"Ministers meet","tags":["a"]}` {
		t.Errorf("request body = %s; want the headline, the body and the tags, no language", got)
	}
	if !strings.HasPrefix(first.key, "import-") || len(first.key) != len("import-")+64 {
		t.Errorf("Idempotency-Key = %q; want import- and a hex SHA-256", first.key)
	}
	if again := send(text, "--tag", "a"); again.key != first.key {
		t.Errorf("the same import again has Idempotency-Key %q; want %q", again.key, first.key)
	}
	keys := map[string]string{first.key: "first"}
	for _, tt := range []struct {
		name  string
		input string
		args  []string
	}{
		{"other text", text + "More.\n", []string{"--tag", "a"}},
		{"other tag", text, []string{"--tag", "b"}},
		{"no tag", text, nil},
		{"tags split differently", text, []string{"--tag", "a", "--tag", ""}},
		{"a language", text, []string{"--tag", "a", "--language", "en"}},
	} {
		key := send(tt.input, tt.args...).key
		if prev, dup := keys[key]; dup {
			t.Errorf("%s: Idempotency-Key %q is the same as for %s; want another", tt.name, key, prev)
		}
		keys[key] = tt.name
	}
}
