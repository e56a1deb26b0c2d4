package projections

import (
	"bytes"
	"fmt"
	"regexp"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/util"
)

var (
	markdown = goldmark.New(goldmark.WithExtensions(extension.GFM, extension.Typographer),
		goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(mediaImages{}, 100))))
	// sanitiser removes scripts, event handlers, styles and unsafe URLs; what an editor's
	// Markdown renders to is untrusted HTML like any other.
	sanitiser = func() *bluemonday.Policy {
		p := bluemonday.UGCPolicy()
		p.RequireNoFollowOnLinks(true)
		p.AddTargetBlankToFullyQualifiedLinks(true)
		// The article's own images, resolved (ResolveImages) into renditions for each width.
		p.AllowAttrs("srcset", "sizes").OnElements("img")
		// Alt text is any text (UGCPolicy keeps only letters and a little punctuation, and
		// dropped "NATO: the ministers" whole); the sanitiser escapes it.
		p.AllowAttrs("alt").OnElements("img")
		p.AllowAttrs("loading").Matching(regexp.MustCompile(`^lazy$`)).OnElements("img")
		p.AllowAttrs("decoding").Matching(regexp.MustCompile(`^async$`)).OnElements("img")
		return p
	}()
)

// RenderMarkdown renders Markdown to sanitised HTML.
func RenderMarkdown(source string) (string, error) {
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(source), &buf); err != nil {
		return "", fmt.Errorf("render markdown: %w", err)
	}
	return sanitiser.Sanitize(buf.String()), nil
}
