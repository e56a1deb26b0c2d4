package search

import (
	"html"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
)

// Mark opens and closes a highlighted word in a snippet; everything else in a snippet is
// escaped HTML text.
const (
	MarkOpen  = "<mark>"
	MarkClose = "</mark>"
)

// SnippetWords is how many words a snippet shows at most.
const SnippetWords = 32

type word struct {
	start, end int
	hit        bool
}

func words(s string, m Matcher) (ws []word, hits int) {
	Words(s, func(start, end int, folded string) {
		hit := m.Matches(folded)
		if hit {
			hits++
		}
		ws = append(ws, word{start, end, hit})
	})
	return ws, hits
}

// Highlight returns s as escaped HTML with the words m matches between MarkOpen and MarkClose.
func Highlight(s string, m Matcher) string {
	ws, _ := words(s, m)
	return render(s, ws, 0, len(ws), false, false)
}

// Snippet returns an excerpt of s of at most SnippetWords words, as escaped HTML: where the
// words m matches are densest, each between MarkOpen and MarkClose, with "…" where s was cut.
// found is false when no word of s matches; the excerpt is then s's beginning.
func Snippet(s string, m Matcher) (snippet string, found bool) {
	ws, hits := words(s, m)
	if len(ws) == 0 {
		return "", false
	}
	const lead = 4 // words of context before the first hit of the excerpt
	from := 0
	if hits > 0 && len(ws) > SnippetWords {
		best := -1
		for i, w := range ws {
			if !w.hit {
				continue
			}
			start := max(0, i-lead)
			n := 0
			for _, x := range ws[start:min(len(ws), start+SnippetWords)] {
				if x.hit {
					n++
				}
			}
			if n > best {
				best, from = n, start
			}
		}
		from = min(from, len(ws)-SnippetWords)
	}
	to := min(len(ws), from+SnippetWords)
	return render(s, ws, from, to, from > 0, to < len(ws)), hits > 0
}

// render writes the words from..to of s, and what lies between them, escaped and marked.
func render(s string, ws []word, from, to int, cutBefore, cutAfter bool) string {
	if from >= to {
		return html.EscapeString(s)
	}
	var b strings.Builder
	b.Grow(ws[to-1].end - ws[from].start + 64)
	if cutBefore {
		b.WriteString("…")
	}
	pos := ws[from].start
	if !cutBefore {
		pos = 0
	}
	for _, w := range ws[from:to] {
		b.WriteString(html.EscapeString(s[pos:w.start]))
		if w.hit {
			b.WriteString(MarkOpen)
			b.WriteString(html.EscapeString(s[w.start:w.end]))
			b.WriteString(MarkClose)
		} else {
			b.WriteString(html.EscapeString(s[w.start:w.end]))
		}
		pos = w.end
	}
	if cutAfter {
		b.WriteString("…")
	} else {
		b.WriteString(html.EscapeString(s[pos:]))
	}
	return strings.TrimSpace(b.String())
}

var markdown = goldmark.New(goldmark.WithExtensions(extension.GFM))

// PlainText is the text a reader reads in Markdown source: the words of its paragraphs,
// headings, lists, tables and code, without the syntax around them (emphasis marks, link
// targets). Raw HTML is kept as the text it is, so that what an editor wrote is found and shown,
// escaped. Blocks are separated by a line break.
func PlainText(source string) string {
	src := []byte(source)
	doc := markdown.Parser().Parse(text.NewReader(src))
	var b strings.Builder
	b.Grow(len(source))
	block := func() {
		if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
			b.WriteByte('\n')
		}
	}
	lines := func(n ast.Node) {
		l := n.Lines()
		for i := 0; i < l.Len(); i++ {
			seg := l.At(i)
			b.Write(seg.Value(src))
		}
	}
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		switch n := n.(type) {
		case *ast.Text:
			if entering {
				b.Write(n.Segment.Value(src))
				if n.SoftLineBreak() || n.HardLineBreak() {
					b.WriteByte(' ')
				}
			}
		case *ast.String:
			if entering {
				b.Write(n.Value)
			}
		case *ast.CodeBlock, *ast.FencedCodeBlock, *ast.HTMLBlock:
			if entering {
				block()
				lines(n)
				block()
			}
			return ast.WalkSkipChildren, nil
		case *ast.RawHTML:
			if entering {
				for i := 0; i < n.Segments.Len(); i++ {
					seg := n.Segments.At(i)
					b.Write(seg.Value(src))
				}
			}
		case *ast.AutoLink:
			if entering {
				b.Write(n.URL(src))
			}
		default:
			if n.Type() == ast.TypeBlock {
				block()
			} else if entering && n.Kind().String() == "TableCell" {
				b.WriteByte(' ')
			}
		}
		return ast.WalkContinue, nil
	})
	return strings.TrimSpace(b.String())
}
