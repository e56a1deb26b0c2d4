package http

import (
	"context"
	"encoding/json"
	"html"
	"math/rand/v2"
	nethttp "net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/newsroom/newsroom/internal/browsertest"
)

// diffRun is one run of the desk's diff (http/desk/diff.js).
type diffRun struct {
	Op     string   `json:"op"`
	Tokens []string `json:"tokens"`
	Text   string   `json:"text"`
}

// TestDeskDiffInBrowser runs the desk's diff (diff.js, as the desk serves it) in a real
// headless browser on random token sequences and a few texts, and checks each answer here: the
// runs give back both inputs, they are as few edits as can be (the longest common subsequence
// is computed here, by dynamic programming), and deletions come before insertions.
func TestDeskDiffInBrowser(t *testing.T) {
	// Skips without a browser, saying so, or fails when CI requires the browser tests.
	browser := browsertest.RequireBrowser(t)
	rng := rand.New(rand.NewPCG(16, 2026))
	var tokens [][2][]string
	for range 400 {
		gen := func() []string {
			s := make([]string, rng.IntN(25))
			for i := range s {
				s[i] = string(rune('a' + rng.IntN(4)))
			}
			return s
		}
		tokens = append(tokens, [2][]string{gen(), gen()})
	}
	// Past the edit budget: shown as replaced whole, still both texts.
	tokens = append(tokens, [2][]string{slices.Repeat([]string{"x"}, 3000), slices.Repeat([]string{"y"}, 3000)})
	type textCase struct {
		a, b string
		want []diffRun // Text only
	}
	words := []textCase{
		{"The minister met the press.", "The ministers met the press on Monday.", []diffRun{
			{Op: "=", Text: "The "}, {Op: "-", Text: "minister"}, {Op: "+", Text: "ministers"},
			{Op: "=", Text: " met the press"}, {Op: "+", Text: " on Monday"}, {Op: "=", Text: "."}}},
		{"", "New text.", []diffRun{{Op: "+", Text: "New text."}}},
		{"Old text.", "", []diffRun{{Op: "-", Text: "Old text."}}},
		{"Same.", "Same.", []diffRun{{Op: "=", Text: "Same."}}},
		{"Réunion à Zürich", "Réunion à Genève", []diffRun{{Op: "=", Text: "Réunion à "}, {Op: "-", Text: "Zürich"}, {Op: "+", Text: "Genève"}}},
	}
	lines := []textCase{
		{"one\ntwo\nthree\n", "one\n2\nthree\nfour\n", []diffRun{
			{Op: "=", Text: "one\n"}, {Op: "-", Text: "two\n"}, {Op: "+", Text: "2\n"}, {Op: "=", Text: "three\n"}, {Op: "+", Text: "four\n"}}},
	}
	pairs := func(cs []textCase) [][2]string {
		out := make([][2]string, len(cs))
		for i, c := range cs {
			out[i] = [2]string{c.a, c.b}
		}
		return out
	}
	cases, err := json.Marshal(map[string]any{"tokens": tokens, "words": pairs(words), "lines": pairs(lines)})
	if err != nil {
		t.Fatal(err)
	}

	desk := New(Config{})
	mux := nethttp.NewServeMux()
	mux.Handle("/desk/", desk)
	mux.HandleFunc("/diff-test/", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		switch r.URL.Path {
		case "/diff-test/page.html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(`<!doctype html><meta charset="utf-8"><title>diff</title>` +
				`<script type="application/json" id="cases">` + string(cases) + `</script>` + // json.Marshal escapes <, > and &

				`<pre id="out">not run</pre><script type="module" src="/diff-test/run.js"></script>`))
		case "/diff-test/run.js":
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write([]byte(`import { diffTokens, diffWords, diffLines } from '` + deskAssetsPrefix() + `diff.js';
const cases = JSON.parse(document.getElementById('cases').textContent);
try {
  document.getElementById('out').textContent = JSON.stringify({
    tokens: cases.tokens.map(([a, b]) => diffTokens(a, b)),
    words: cases.words.map(([a, b]) => diffWords(a, b)),
    lines: cases.lines.map(([a, b]) => diffLines(a, b)),
  });
} catch (err) { document.getElementById('out').textContent = 'error: ' + err; }`))
		default:
			nethttp.NotFound(w, r)
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(), "--virtual-time-budget=20000", "--dump-dom", srv.URL+"/diff-test/page.html")
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s --dump-dom: %v", browser, err)
	}
	m := regexp.MustCompile(`(?s)<pre id="out">(.*?)</pre>`).FindSubmatch(dom)
	if m == nil {
		t.Fatalf("the page has no result:\n%.2000s", dom)
	}
	var got struct {
		Tokens [][]diffRun `json:"tokens"`
		Words  [][]diffRun `json:"words"`
		Lines  [][]diffRun `json:"lines"`
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &got); err != nil {
		t.Fatalf("the page's result is not the diffs: %v\n%.2000s", err, m[1])
	}
	if len(got.Tokens) != len(tokens) || len(got.Words) != len(words) || len(got.Lines) != len(lines) {
		t.Fatalf("the page diffed %d, %d, %d cases; want %d, %d, %d", len(got.Tokens), len(got.Words), len(got.Lines), len(tokens), len(words), len(lines))
	}

	for i, c := range tokens {
		a, b, runs := c[0], c[1], got.Tokens[i]
		var backA, backB []string
		edits := 0
		for j, r := range runs {
			if r.Op != "=" {
				edits += len(r.Tokens)
			}
			if r.Op != "+" {
				backA = append(backA, r.Tokens...)
			}
			if r.Op != "-" {
				backB = append(backB, r.Tokens...)
			}
			if j > 0 && (runs[j-1].Op == r.Op || runs[j-1].Op == "+" && r.Op == "-") {
				t.Errorf("diffTokens(%v, %v): run %d (%s) follows a %s run; want runs merged, deletions first", a, b, j, r.Op, runs[j-1].Op)
			}
		}
		if !slices.Equal(backA, a) || !slices.Equal(backB, b) {
			t.Errorf("diffTokens(%v, %v) = %v; does not give back both inputs", a, b, runs)
			continue
		}
		if len(a) > 1000 {
			continue // past the edit budget: replaced whole, not minimal
		}
		if want := len(a) + len(b) - 2*lcs(a, b); edits != want {
			t.Errorf("diffTokens(%v, %v) = %v: %d edits; want %d (the fewest)", a, b, runs, edits, want)
		}
	}
	for _, set := range []struct {
		name  string
		cases []textCase
		got   [][]diffRun
	}{{"diffWords", words, got.Words}, {"diffLines", lines, got.Lines}} {
		for i, c := range set.cases {
			var g []diffRun
			for _, r := range set.got[i] {
				g = append(g, diffRun{Op: r.Op, Text: r.Text})
			}
			if !slices.EqualFunc(g, c.want, func(x, y diffRun) bool { return x.Op == y.Op && x.Text == y.Text }) {
				t.Errorf("%s(%q, %q) = %v; want %v", set.name, c.a, c.b, g, c.want)
			}
		}
	}
}

// lcs is the length of the longest common subsequence of a and b.
func lcs(a, b []string) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for i := range a {
		for j := range b {
			if a[i] == b[j] {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(prev[j+1], cur[j])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
