package projections_test

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/newsroom/newsroom/projections"
)

func TestRenderMarkdownRemovesHostileHTML(t *testing.T) {
	tests := []struct {
		name, markdown string
		keep           string // harmless text that must survive, if any
	}{
		{"script block", "<script>alert(1)</script>", ""},
		{"inline script", "hello <script>alert(1)</script> world", "hello"},
		{"script in a list", "- <script>alert(1)</script>", ""},
		{"img onerror", `<img src=x onerror=alert(1)>`, ""},
		{"svg onload", `<svg onload=alert(1)>`, ""},
		{"anchor onclick", `<a href="#" onclick="steal()">x</a>`, "x"},
		{"details ontoggle", `<details open ontoggle=alert(1)>`, ""},
		{"javascript link", "[x](javascript:alert(1))", "x"},
		{"mixed-case javascript link", "[x](JaVaScRiPt:alert(1))", "x"},
		{"entity-encoded javascript link", "[x](&#106;avascript:alert(1))", "x"},
		{"javascript reference link", "[x][r]\n\n[r]: javascript:alert(1)", "x"},
		{"javascript autolink", "<javascript:alert(1)>", ""},
		{"javascript image", "![i](javascript:alert(1))", ""},
		{"vbscript link", "[x](vbscript:msgbox)", "x"},
		{"data link", "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", "x"},
		{"image title breaking out", `![i](x.png "\" onerror=\"alert(1)")`, ""},
		{"link destination breaking out", `[x](https://example.com/"onmouseover="alert(1))`, "x"},
		{"iframe", `<iframe src="https://evil.example"></iframe>`, ""},
		{"iframe srcdoc", `<iframe srcdoc="<script>alert(1)</script>"></iframe>`, ""},
		{"style element", "<style>body{display:none}</style>", ""},
		{"style attribute", `<div style="position:fixed;top:0">x</div>`, ""},
		{"object and embed", `<object data=x></object><embed src=x>`, ""},
		{"form", `<form action="https://evil.example"><input name=p></form>`, ""},
		{"meta refresh", `<meta http-equiv="refresh" content="0;url=https://evil.example">`, ""},
		{"base href", `<base href="https://evil.example/">`, ""},
		{"html comment smuggling", "<!-- --><script>alert(1)</script><!-- -->", ""},
	}
	for _, tt := range tests {
		out, err := projections.RenderMarkdown(tt.markdown)
		if err != nil {
			t.Errorf("%s: RenderMarkdown(%q): %v", tt.name, tt.markdown, err)
			continue
		}
		for _, problem := range unsafeHTML(t, out) {
			t.Errorf("%s: RenderMarkdown(%q) = %q; has %s", tt.name, tt.markdown, out, problem)
		}
		if !strings.Contains(out, tt.keep) {
			t.Errorf("%s: RenderMarkdown(%q) = %q; want %q kept", tt.name, tt.markdown, out, tt.keep)
		}
	}
}

func TestRenderMarkdownKeepsOrdinaryMarkdown(t *testing.T) {
	tests := []struct {
		name, markdown string
		want           []string
	}{
		{"emphasis", "*em* and **strong** and ~~gone~~", []string{"<em>em</em>", "<strong>strong</strong>", "<del>gone</del>"}},
		{"absolute link", "[site](https://example.com/a?b=c)",
			[]string{`<a href="https://example.com/a?b=c" rel="nofollow noopener" target="_blank">site</a>`}},
		{"relative link", "[about](/about)", []string{`href="/about"`, `rel="nofollow"`, ">about</a>"}},
		{"autolink", "see https://example.com/x", []string{`<a href="https://example.com/x"`}},
		{"bullet list", "- one\n- two", []string{"<ul>", "<li>one</li>", "<li>two</li>"}},
		{"numbered list", "1. first\n2. second", []string{"<ol>", "<li>first</li>", "<li>second</li>"}},
		{"headings", "# Title\n\n## Section", []string{"<h1>Title</h1>", "<h2>Section</h2>"}},
		{"inline code is escaped", "`a <b> c`", []string{"<code>a &lt;b&gt; c</code>"}},
		{"code block", "```\nif a < b {}\n```", []string{"<pre><code>if a &lt; b {}\n</code></pre>"}},
		{"quote", "> said", []string{"<blockquote>", "<p>said</p>"}},
		{"table", "| a | b |\n|---|---|\n| 1 | 2 |", []string{"<table>", "<th>a</th>", "<td>2</td>"}},
		{"image", "![a map](https://example.com/map.png)", []string{`<img src="https://example.com/map.png" alt="a map">`}},
		{"typography", `"quoted" -- dash`, []string{"“quoted”", "–"}},
		{"text is escaped", "a < b & c", []string{"a &lt; b &amp; c"}},
	}
	for _, tt := range tests {
		out, err := projections.RenderMarkdown(tt.markdown)
		if err != nil {
			t.Errorf("%s: RenderMarkdown(%q): %v", tt.name, tt.markdown, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: RenderMarkdown(%q) = %q; want %q in it", tt.name, tt.markdown, out, w)
			}
		}
		for _, problem := range unsafeHTML(t, out) {
			t.Errorf("%s: RenderMarkdown(%q) = %q; has %s", tt.name, tt.markdown, out, problem)
		}
	}
}

// The checker the two tests above rely on finds what it is meant to find.
func TestUnsafeHTMLFindsHostileMarkup(t *testing.T) {
	for _, s := range []string{
		"<script>alert(1)</script>",
		`<p><img src="x" onerror="alert(1)"></p>`,
		`<a href=" JaVa&#x09;ScRiPt:alert(1)">x</a>`,
		`<a href="data:text/html,x">x</a>`,
		`<p style="color:red">x</p>`,
		`<iframe srcdoc="x"></iframe>`,
		"<style>p{}</style>",
		"<svg><a xlink:href=\"javascript:alert(1)\">x</a></svg>",
	} {
		if problems := unsafeHTML(t, s); len(problems) == 0 {
			t.Errorf("unsafeHTML(%q) = none; want a problem", s)
		}
	}
	if problems := unsafeHTML(t, `<p><a href="https://example.com" rel="nofollow">ok</a> <em>fine</em></p>`); len(problems) != 0 {
		t.Errorf("unsafeHTML(safe HTML) = %v; want none", problems)
	}
}

// unsafeHTML parses s as a browser would and lists what could run script or restyle the page:
// dangerous elements, event-handler and style attributes, and script-bearing URLs.
func unsafeHTML(tb testing.TB, s string) []string {
	tb.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		tb.Fatalf("parse rendered HTML %q: %v", s, err)
	}
	dangerousElements := map[string]bool{"script": true, "iframe": true, "frame": true, "style": true,
		"object": true, "embed": true, "svg": true, "math": true, "form": true, "input": true,
		"meta": true, "link": true, "base": true, "details": true}
	urlAttributes := map[string]bool{"href": true, "src": true, "action": true, "formaction": true,
		"poster": true, "background": true, "cite": true, "xlink:href": true, "data": true}
	var problems []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			// html.Parse adds html, head and body itself.
			if dangerousElements[n.Data] {
				problems = append(problems, fmt.Sprintf("a <%s> element", n.Data))
			}
			for _, a := range n.Attr {
				key := strings.ToLower(a.Key)
				switch {
				case strings.HasPrefix(key, "on"), key == "style", key == "srcdoc":
					problems = append(problems, fmt.Sprintf("a %s attribute on <%s>", key, n.Data))
				case urlAttributes[key] && scriptURL(a.Val):
					problems = append(problems, fmt.Sprintf("%s=%q on <%s>", key, a.Val, n.Data))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return problems
}

// scriptURL reports whether a URL would run script or carry a document: browsers ignore case,
// whitespace and control characters in the scheme.
func scriptURL(u string) bool {
	u = strings.Map(func(r rune) rune {
		if r <= ' ' {
			return -1
		}
		return r
	}, strings.ToLower(u))
	for _, scheme := range []string{"javascript:", "vbscript:", "data:"} {
		if strings.HasPrefix(u, scheme) {
			return true
		}
	}
	return false
}
