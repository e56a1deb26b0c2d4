package domain_test

import (
	"fmt"
	"testing"

	"github.com/newsroom/newsroom/domain"
)

// Characters the text rules name, spelled out so that a reader of this file sees them.
const (
	lre = "\u202a" // LEFT-TO-RIGHT EMBEDDING
	rlo = "\u202e" // RIGHT-TO-LEFT OVERRIDE
	pdf = "\u202c" // POP DIRECTIONAL FORMATTING
	lri = "\u2066" // LEFT-TO-RIGHT ISOLATE
	rli = "\u2067" // RIGHT-TO-LEFT ISOLATE
	fsi = "\u2068" // FIRST STRONG ISOLATE
	pdi = "\u2069" // POP DIRECTIONAL ISOLATE
	zw  = "\u200b" // ZERO WIDTH SPACE
	wj  = "\u2060" // WORD JOINER
	bom = "\ufeff" // ZERO WIDTH NO-BREAK SPACE (byte order mark)
	zwn = "\u200c" // ZERO WIDTH NON-JOINER
	zwj = "\u200d" // ZERO WIDTH JOINER
	rlm = "\u200f" // RIGHT-TO-LEFT MARK
)

// TestTextThatIsNotWhatItLooksLike: bidirectional overrides, unbalanced isolates and invisible
// characters are refused where they would let a text look like another; the joiners that
// scripts need, marks and balanced isolates are kept.
func TestTextThatIsNotWhatItLooksLike(t *testing.T) {
	tests := []struct {
		name    string
		content domain.Content // Headline defaults to "Ministers meet"
		field   string         // "" when the content is valid
	}{
		// Headline.
		{"headline with RLO", domain.Content{Headline: "Ministers " + rlo + "teem"}, "headline"},
		{"headline with LRE and PDF", domain.Content{Headline: lre + "NATO" + pdf + " meets"}, "headline"},
		{"headline with a zero width space", domain.Content{Headline: "NA" + zw + "TO meets"}, "headline"},
		{"headline with a word joiner", domain.Content{Headline: "NATO" + wj + " meets"}, "headline"},
		{"headline with a BOM", domain.Content{Headline: bom + "NATO meets"}, "headline"},
		{"headline with an unclosed isolate", domain.Content{Headline: "Lavrov says " + rli + "سلام"}, "headline"},
		{"headline with a stray PDI", domain.Content{Headline: "Lavrov says" + pdi + " hello"}, "headline"},
		{"headline closing before opening", domain.Content{Headline: pdi + "x" + lri}, "headline"},
		{"headline with balanced isolates", domain.Content{Headline: "Lavrov says " + rli + "سلام" + pdi + " to " + fsi + lri + "x" + pdi + pdi}, ""},
		{"headline with joiners", domain.Content{Headline: "می" + zwn + "خواهم " + "👩" + zwj + "💻"}, ""},
		{"headline with a right-to-left mark", domain.Content{Headline: "NATO " + rlm + "(ناتو)"}, ""},

		// Tags follow the headline's rules.
		{"tag with a zero width space", domain.Content{Tags: []string{"nato" + zw}}, "tags"},
		{"tag with RLO", domain.Content{Tags: []string{rlo + "otan"}}, "tags"},
		{"tag with an unclosed isolate", domain.Content{Tags: []string{lri + "nato"}}, "tags"},
		{"tag with a BOM", domain.Content{Tags: []string{"nato" + bom}}, "tags"},
		{"tag with a zero width joiner", domain.Content{Tags: []string{"👩" + zwj + "💻"}}, ""},

		// Summary, byline and dateline follow the headline's rules; isolates close within a line.
		{"summary with RLO", domain.Content{Summary: "They met " + rlo + "today"}, "summary"},
		{"summary with a zero width space", domain.Content{Summary: "They" + zw + " met"}, "summary"},
		{"summary with an isolate closed on the next line", domain.Content{Summary: "They " + lri + "met\nto" + pdi + "day"}, "summary"},
		{"summary with isolates balanced per line", domain.Content{Summary: lri + "a" + pdi + "\n" + rli + "b" + pdi}, ""},
		{"byline with a word joiner", domain.Content{Byline: "NATO" + wj + " Press"}, "byline"},
		{"dateline with a stray PDI", domain.Content{Dateline: "BRUSSELS" + pdi}, "dateline"},

		// Body (Markdown): no overrides, no unbalanced isolates per line, no BOM; zero width
		// spaces and word joiners have uses in running text.
		{"body with RLO", domain.Content{Body: "Text " + rlo + "txet."}, "body"},
		{"body with PDF", domain.Content{Body: "Text" + pdf}, "body"},
		{"body with a BOM", domain.Content{Body: bom + "Text."}, "body"},
		{"body with an unclosed isolate", domain.Content{Body: "One.\n\nTwo " + rli + "x."}, "body"},
		{"body with an isolate open across a line", domain.Content{Body: "One " + lri + "x\ny" + pdi + "."}, "body"},
		{"body with a stray PDI", domain.Content{Body: "One" + pdi + "."}, "body"},
		{"body with balanced isolates", domain.Content{Body: "Lavrov said " + rli + "سلام" + pdi + ".\n\n" + fsi + "x" + pdi}, ""},
		{"body with a zero width space", domain.Content{Body: "สวัสดี" + zw + "ครับ"}, ""},
		{"body with a word joiner", domain.Content{Body: "@" + wj + "nato"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.content
			if c.Headline == "" {
				c.Headline = "Ministers meet"
			}
			got, err := draft(c)
			call := fmt.Sprintf("Decide(draft %s)", tt.name)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("%s = %v; want a Drafted event", call, err)
				}
				return
			}
			checkOutcome(t, call, got, err, outcome{fields: []string{tt.field}})
		})
	}
}

// TestWorkflowWordsFollowTheHeadlinesRules: a comment, a note and a reason are refused for what
// a headline is refused for.
func TestWorkflowWordsFollowTheHeadlinesRules(t *testing.T) {
	tests := []struct {
		given []domain.Recorded
		cmd   func(text string) domain.Command
		field string
	}{
		{givenInReview(), func(s string) domain.Command { return domain.RequestChanges{Comment: s} }, "comment"},
		{givenPublished(), func(s string) domain.Command {
			return domain.Correct{Note: s, Changes: domain.Changes{Summary: ptr("Corrected.")}}
		}, "note"},
		{givenPublished(), func(s string) domain.Command { return domain.Retract{Reason: s} }, "reason"},
		{givenPublished(), func(s string) domain.Command { return domain.Kill{Reason: s} }, "reason"},
		{givenDraft(), func(s string) domain.Command { return domain.Spike{Reason: s} }, "reason"},
	}
	for _, tt := range tests {
		for _, bad := range []string{"Wrong " + rlo + "date", "Wrong" + zw + " date", "Wrong " + lri + "date", "Wrong" + bom, "Wrong" + wj + "date"} {
			cmd := tt.cmd(bad)
			got, err := domain.Decide(domain.Fold(articleID, tt.given), cmd, domain.Decision{By: editorB, Now: now})
			checkOutcome(t, fmt.Sprintf("%s with %+q", decideCall(cmd, editorB), bad), got, err, outcome{fields: []string{tt.field}})
		}
		cmd := tt.cmd("Wrong " + rli + "تاریخ" + pdi + " given" + zwn + ".")
		if _, err := domain.Decide(domain.Fold(articleID, tt.given), cmd, domain.Decision{By: editorB, Now: now}); err != nil {
			t.Errorf("%s with balanced isolates and a ZWNJ = %v; want it accepted", decideCall(cmd, editorB), err)
		}
	}
}

// The same words in the two forms Unicode allows: precomposed (NFC) and decomposed (NFD).
const (
	cafeNFC = "caf\u00e9"
	cafeNFD = "cafe\u0301"
)

// TestHeadlinesTagsAndSlugsAreNFC: what a draft or a revision records is in NFC, so that a tag
// typed on two keyboards is one tag, and twins that differ only in form cannot coexist.
func TestHeadlinesTagsAndSlugsAreNFC(t *testing.T) {
	got, err := draft(domain.Content{Headline: "Le " + cafeNFD + " de l'OTAN", Tags: []string{cafeNFD, "nato"}, Summary: cafeNFD})
	if err != nil {
		t.Fatalf("Decide(draft with NFD text) = %v; want a Drafted event", err)
	}
	d := got.(domain.Drafted)
	if want := "Le " + cafeNFC + " de l'OTAN"; d.Headline != want {
		t.Errorf("Drafted.Headline = %+q; want the NFC %+q", d.Headline, want)
	}
	if len(d.Tags) != 2 || d.Tags[0] != cafeNFC {
		t.Errorf("Drafted.Tags = %+q; want [%+q \"nato\"]", d.Tags, cafeNFC)
	}
	if d.Summary != cafeNFD {
		t.Errorf("Drafted.Summary = %+q; want it as written (%+q): only headlines, tags and slugs are normalised", d.Summary, cafeNFD)
	}

	// One tag in two forms is one tag twice.
	got, err = draft(domain.Content{Headline: "Ministers meet", Tags: []string{cafeNFC, cafeNFD}})
	checkOutcome(t, "Decide(draft with tags café in NFC and NFD)", got, err, outcome{fields: []string{"tags"}})
	got, err = draft(domain.Content{Headline: "Ministers meet", Tags: []string{"nato", "nato" + zw}})
	checkOutcome(t, "Decide(draft with tags nato and nato+U+200B)", got, err, outcome{fields: []string{"tags"}})

	// A revision records NFC too.
	got, err = domain.Decide(domain.Fold(articleID, givenDraft()), domain.Revise{Changes: domain.Changes{
		Headline: ptr(cafeNFD + " talks"), Tags: ptr([]string{cafeNFD}),
	}}, domain.Decision{By: reporter, Now: now})
	if err != nil {
		t.Fatalf("Decide(revise with NFD text) = %v; want a Revised event", err)
	}
	ch := got.(domain.Revised).Changes
	if *ch.Headline != cafeNFC+" talks" || (*ch.Tags)[0] != cafeNFC {
		t.Errorf("Revised.Changes = headline %+q, tags %+q; want NFC", *ch.Headline, *ch.Tags)
	}
	// A correction that would leave one tag twice, in two forms, is refused.
	got, err = domain.Decide(domain.Fold(articleID, givenPublished()), domain.Correct{Note: "Tagged.",
		Changes: domain.Changes{Tags: ptr([]string{cafeNFD, cafeNFC})}}, domain.Decision{By: editorB, Now: now})
	checkOutcome(t, "Decide(correct with tags café in NFC and NFD)", got, err, outcome{fields: []string{"tags"}})

	// The slug derived from an NFD headline is the one derived from its NFC twin.
	if a, b := domain.Slugify(cafeNFD+" talks"), domain.Slugify(cafeNFC+" talks"); a != b || a != "cafe-talks" {
		t.Errorf("Slugify(NFD) = %q, Slugify(NFC) = %q; want both \"cafe-talks\"", a, b)
	}
}

// TestNormalizeTag: a reader's tag query is compared in the form tags are recorded in.
func TestNormalizeTag(t *testing.T) {
	for _, tag := range []string{cafeNFD, cafeNFC} {
		if got := domain.NormalizeTag(tag); got != cafeNFC {
			t.Errorf("NormalizeTag(%+q) = %+q; want %+q", tag, got, cafeNFC)
		}
	}
}
