package editorial_test

import (
	"os"
	"strings"
	"testing"

	"github.com/newsroom/newsroom/editorial"
)

func TestParsePlainTextCorpus(t *testing.T) {
	raw, err := os.ReadFile("../testdata/nato-russia-council-ministers-meet.txt")
	if err != nil {
		t.Fatal(err)
	}
	c := editorial.ParsePlainText(string(raw))
	if want := "NATO-Russia foreign ministers meet"; c.Headline != want {
		t.Errorf("headline = %q; want %q", c.Headline, want)
	}
	if !strings.HasPrefix(c.Body, "Russian Foreign Minister Sergey Lavrov attended") {
		t.Errorf("body starts %.60q; want the first paragraph", c.Body)
	}
	if strings.Contains(c.Body, "NATO-Russia foreign ministers meet") {
		t.Error("the headline is repeated in the body")
	}
	paragraphs := strings.Split(c.Body, "\n\n")
	if len(paragraphs) < 5 {
		t.Errorf("body has %d paragraphs; want every line of the file after the headline", len(paragraphs))
	}
}

func TestParsePlainText(t *testing.T) {
	tests := []struct {
		name, text, headline, body string
	}{
		{"headline only", "Title\n", "Title", ""},
		{"heading and paragraph", "Title\n\nKey points\nMinisters met.\n", "Title", "## Key points\n\nMinisters met."},
		{"blank lines and CRLF", "\r\n  Title \r\n\r\nOne.\r\nTwo.\r\n", "Title", "One.\n\nTwo."},
		{"markdown stays text", "T\n# not a heading.\n*stars* and <b>tags</b>.\n1. not a list.\n", "T",
			`\# not a heading.` + "\n\n" + `\*stars\* and \<b\>tags\</b\>.` + "\n\n" + `1\. not a list.`},
		{"empty", "", "", ""},
	}
	for _, tt := range tests {
		c := editorial.ParsePlainText(tt.text)
		if c.Headline != tt.headline || c.Body != tt.body {
			t.Errorf("%s: ParsePlainText(%q) = %q, %q; want %q, %q", tt.name, tt.text, c.Headline, c.Body, tt.headline, tt.body)
		}
	}
}

// TestParsePlainTextDropsTheByteOrderMark: editors on Windows save UTF-8 with a byte order mark;
// it says how the file is encoded, and is no part of the headline (where the text rules refuse
// U+FEFF).
func TestParsePlainTextDropsTheByteOrderMark(t *testing.T) {
	c := editorial.ParsePlainText("\ufeffNATO-Russia foreign ministers meet\r\nMinisters met.\r\n")
	if want := "NATO-Russia foreign ministers meet"; c.Headline != want {
		t.Errorf("headline = %+q; want %+q", c.Headline, want)
	}
}
