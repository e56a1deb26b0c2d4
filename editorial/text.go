package editorial

import (
	"strings"
	"unicode/utf8"

	"github.com/newsroom/newsroom/domain"
)

// maxHeadingRunes is the longest line read as a section heading rather than a paragraph.
const maxHeadingRunes = 80

// ParsePlainText reads a communiqué in the newsroom's plain-text form — the headline on the
// first line, paragraphs after, one per line; a short line without a final full stop is a
// section heading — and returns it as content with a Markdown body. A leading byte order mark
// says how the file is encoded and is dropped.
func ParsePlainText(text string) domain.Content {
	text = strings.TrimPrefix(text, "\ufeff")
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	var headline string
	var blocks []string
	for _, line := range lines {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case headline == "":
			headline = line
		case isHeading(line):
			blocks = append(blocks, "## "+escapeMarkdown(line))
		default:
			blocks = append(blocks, escapeMarkdown(line))
		}
	}
	return domain.Content{Headline: headline, Body: strings.Join(blocks, "\n\n")}
}

func isHeading(line string) bool {
	if utf8.RuneCountInString(line) > maxHeadingRunes {
		return false
	}
	last, _ := utf8.DecodeLastRuneInString(line)
	return !strings.ContainsRune(".!?:;\"'”’)", last)
}

// escapeMarkdown keeps plain text plain: characters that would start Markdown syntax at the
// beginning of a line, and inline markers, are escaped.
func escapeMarkdown(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '|':
			b.WriteByte('\\')
		case '#', '-', '+':
			if i == 0 {
				b.WriteByte('\\')
			}
		}
		b.WriteRune(r)
	}
	out := b.String()
	// "1. " or "1) " at the start of a line would become a list.
	if j := strings.IndexFunc(out, func(r rune) bool { return r < '0' || r > '9' }); j > 0 && j+1 < len(out) &&
		(out[j] == '.' || out[j] == ')') && out[j+1] == ' ' {
		out = out[:j] + "\\" + out[j:]
	}
	return out
}
