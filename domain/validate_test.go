package domain_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/newsroom/newsroom/domain"
)

// draft decides a Draft of c on a new article: the shortest way to the content rules.
func draft(c domain.Content) (domain.Event, error) {
	return domain.Decide(domain.Fold(articleID, nil), domain.Draft{Content: c}, domain.Decision{By: reporter, Now: now})
}

// short abbreviates long inputs in test names and messages.
func short(s string) string {
	if len(s) <= 24 {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q…(%d bytes)", s[:16], len(s))
}

func tagList(n int) []string {
	tags := make([]string, n)
	for i := range tags {
		tags[i] = fmt.Sprintf("tag-%d", i)
	}
	return tags
}

// TestContentRules gives a draft each content in turn; fields is nil when the content is valid,
// else the fields the validation error names, in order.
func TestContentRules(t *testing.T) {
	h := func(c domain.Content) domain.Content {
		if c.Headline == "" {
			c.Headline = "Ministers meet"
		}
		return c
	}
	tests := []struct {
		name    string
		content domain.Content
		fields  []string
		bug     string // when set, the case documents the correct behaviour of a known bug
	}{
		// Headline: required, at most MaxHeadline characters (runes, not bytes).
		{name: "headline empty", content: domain.Content{}, fields: []string{"headline"}},
		{name: "headline spaces", content: domain.Content{Headline: "   "}, fields: []string{"headline"}},
		{name: "headline tabs and newlines", content: domain.Content{Headline: "\t\n\r "}, fields: []string{"headline"}},
		{name: "headline no-break space", content: domain.Content{Headline: "\u00a0\u2003"}, fields: []string{"headline"}},
		{name: "headline one letter", content: domain.Content{Headline: "a"}},
		{name: "headline exactly 300", content: domain.Content{Headline: strings.Repeat("a", 300)}},
		{name: "headline exactly 300 two-byte runes", content: domain.Content{Headline: strings.Repeat("é", 300)}},
		{name: "headline exactly 300 four-byte runes", content: domain.Content{Headline: strings.Repeat("🗞", 300)}},
		{name: "headline 301", content: domain.Content{Headline: strings.Repeat("a", 301)}, fields: []string{"headline"}},
		{name: "headline 301 two-byte runes", content: domain.Content{Headline: strings.Repeat("ü", 301)}, fields: []string{"headline"}},
		{name: "headline 10,000", content: domain.Content{Headline: strings.Repeat("x", 10_000)}, fields: []string{"headline"}},
		{name: "headline padded to 300 with spaces", content: domain.Content{Headline: " " + strings.Repeat("a", 298) + " "}},

		// The other text fields: optional, with a length limit each.
		{name: "summary at the limit", content: h(domain.Content{Summary: strings.Repeat("s", domain.MaxSummary)})},
		{name: "summary over the limit", content: h(domain.Content{Summary: strings.Repeat("s", domain.MaxSummary+1)}), fields: []string{"summary"}},
		{name: "summary at the limit in runes", content: h(domain.Content{Summary: strings.Repeat("ß", domain.MaxSummary)})},
		{name: "byline at the limit", content: h(domain.Content{Byline: strings.Repeat("b", domain.MaxByline)})},
		{name: "byline over the limit", content: h(domain.Content{Byline: strings.Repeat("b", domain.MaxByline+1)}), fields: []string{"byline"}},
		{name: "dateline at the limit", content: h(domain.Content{Dateline: strings.Repeat("d", domain.MaxDateline)})},
		{name: "dateline over the limit", content: h(domain.Content{Dateline: strings.Repeat("d", domain.MaxDateline+1)}), fields: []string{"dateline"}},

		// Body: optional in a draft; at most MaxBody bytes.
		{name: "body empty", content: h(domain.Content{})},
		{name: "body at MaxBody bytes", content: h(domain.Content{Body: strings.Repeat("x", domain.MaxBody)})},
		{name: "body over MaxBody bytes", content: h(domain.Content{Body: strings.Repeat("x", domain.MaxBody+1)}), fields: []string{"body"}},
		{name: "body under MaxBody runes, over MaxBody bytes", content: h(domain.Content{Body: strings.Repeat("é", domain.MaxBody/2+1)}), fields: []string{"body"}},

		// Language: empty means the default; otherwise a well-formed BCP 47 tag.
		{name: "language empty", content: h(domain.Content{})},
		{name: "language pt-BR", content: h(domain.Content{Language: "pt-BR"})},
		{name: "language english", content: h(domain.Content{Language: "english"}), fields: []string{"language"}},
		{name: "language en_US", content: h(domain.Content{Language: "en_US"}), fields: []string{"language"}},
		{name: "language with a space", content: h(domain.Content{Language: "en "}), fields: []string{"language"}},

		// Slug: optional; when given, a valid slug.
		{name: "slug empty", content: h(domain.Content{})},
		{name: "slug valid", content: h(domain.Content{Slug: "nato-ministers-2007"})},
		{name: "slug at MaxSlug", content: h(domain.Content{Slug: strings.Repeat("s", domain.MaxSlug)})},
		{name: "slug over MaxSlug", content: h(domain.Content{Slug: strings.Repeat("s", domain.MaxSlug+1)}), fields: []string{"slug"}},
		{name: "slug upper case", content: h(domain.Content{Slug: "NATO"}), fields: []string{"slug"}},
		{name: "slug double hyphen", content: h(domain.Content{Slug: "nato--russia"}), fields: []string{"slug"}},
		{name: "slug with a space", content: h(domain.Content{Slug: "nato russia"}), fields: []string{"slug"}},

		// Tags: at most MaxTags, each non-blank, at most MaxTag characters, no two alike.
		{name: "tags none", content: h(domain.Content{Tags: nil})},
		{name: "tags empty list", content: h(domain.Content{Tags: []string{}})},
		{name: "tags one", content: h(domain.Content{Tags: []string{"nato"}})},
		{name: "tags exactly MaxTags", content: h(domain.Content{Tags: tagList(domain.MaxTags)})},
		{name: "tags MaxTags+1", content: h(domain.Content{Tags: tagList(domain.MaxTags + 1)}), fields: []string{"tags"}},
		{name: "tag empty", content: h(domain.Content{Tags: []string{"nato", ""}}), fields: []string{"tags"}},
		{name: "tag blank", content: h(domain.Content{Tags: []string{" \t"}}), fields: []string{"tags"}},
		{name: "tag duplicate", content: h(domain.Content{Tags: []string{"nato", "russia", "nato"}}), fields: []string{"tags"}},
		{name: "tags differing in case are not duplicates", content: h(domain.Content{Tags: []string{"NATO", "nato"}})},
		{name: "tag exactly MaxTag", content: h(domain.Content{Tags: []string{strings.Repeat("t", domain.MaxTag)}})},
		{name: "tag exactly MaxTag runes", content: h(domain.Content{Tags: []string{strings.Repeat("ø", domain.MaxTag)}})},
		{name: "tag MaxTag+1", content: h(domain.Content{Tags: []string{strings.Repeat("t", domain.MaxTag+1)}}), fields: []string{"tags"}},
		{
			name:    "every bad tag is listed",
			content: h(domain.Content{Tags: []string{"", "x", strings.Repeat("t", domain.MaxTag+1), "x"}}),
			fields:  []string{"tags", "tags", "tags"},
		},
		{
			name:    "too many tags, one of them twice",
			content: h(domain.Content{Tags: append(tagList(domain.MaxTags), "tag-0")}),
			fields:  []string{"tags", "tags"},
		},

		// UTF-8: text must be valid.
		{name: "invalid UTF-8 in headline", content: domain.Content{Headline: "NATO \xff meets"}, fields: []string{"headline"}},
		{name: "invalid UTF-8 in summary", content: h(domain.Content{Summary: "\xc3\x28"}), fields: []string{"summary"}},
		{name: "invalid UTF-8 in body", content: h(domain.Content{Body: "ok \xed\xa0\x80 surrogate"}), fields: []string{"body"}},
		{name: "invalid UTF-8 in byline", content: h(domain.Content{Byline: "\x80"}), fields: []string{"byline"}},
		{name: "invalid UTF-8 in dateline", content: h(domain.Content{Dateline: "Bruxelles\xe2\x82"}), fields: []string{"dateline"}},
		{name: "valid multi-byte UTF-8", content: domain.Content{Headline: "Σύνοδος ΝΑΤΟ–Ρωσίας 🇺🇳", Body: "日本語"}},
		{
			// Each field is checked on its own: a sequence cut at the end of one field must
			// not be completed by the start of the next.
			name:    "invalid UTF-8 split across headline and summary",
			content: domain.Content{Headline: "Price \xe2\x82", Summary: "\xac rises"},
			fields:  []string{"headline", "summary"},
		},
		{
			name:    "invalid UTF-8 in a tag",
			content: h(domain.Content{Tags: []string{"nato\xff"}}),
			fields:  []string{"tags"},
		},

		// Several problems at once are all reported, in a stable order.
		{
			name: "every invalid field is listed",
			content: domain.Content{
				Headline: "", Summary: strings.Repeat("s", domain.MaxSummary+1), Body: strings.Repeat("b", domain.MaxBody+1),
				Byline: strings.Repeat("b", domain.MaxByline+1), Dateline: strings.Repeat("d", domain.MaxDateline+1),
				Language: "e", Slug: "-", Tags: []string{""}, // and the body holds valid UTF-8
			},
			fields: []string{"headline", "summary", "body", "byline", "dateline", "language", "slug", "tags"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.bug != "" {
				t.Skip("BUG: " + tt.bug)
			}
			got, err := draft(tt.content)
			call := fmt.Sprintf("Decide(draft %s)", tt.name)
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("%s = %v; want a Drafted event", call, err)
				}
				if _, ok := got.(domain.Drafted); !ok {
					t.Errorf("%s = %#v; want a Drafted event", call, got)
				}
				return
			}
			checkOutcome(t, call, got, err, outcome{fields: tt.fields})
		})
	}
}

// TestContentRulesOnRevision checks that a revision is held to the same rules as a draft, on
// the content it would leave.
func TestContentRulesOnRevision(t *testing.T) {
	tests := []struct {
		changes domain.Changes
		fields  []string
	}{
		{domain.Changes{Headline: ptr(strings.Repeat("a", domain.MaxHeadline))}, nil},
		{domain.Changes{Headline: ptr(strings.Repeat("a", domain.MaxHeadline+1))}, []string{"headline"}},
		{domain.Changes{Headline: ptr(strings.Repeat("a", 10_000))}, []string{"headline"}},
		{domain.Changes{Summary: ptr(strings.Repeat("s", domain.MaxSummary+1))}, []string{"summary"}},
		{domain.Changes{Body: ptr(strings.Repeat("b", domain.MaxBody))}, nil},
		{domain.Changes{Body: ptr(strings.Repeat("b", domain.MaxBody+1))}, []string{"body"}},
		{domain.Changes{Byline: ptr(strings.Repeat("b", domain.MaxByline+1))}, []string{"byline"}},
		{domain.Changes{Dateline: ptr(strings.Repeat("d", domain.MaxDateline+1))}, []string{"dateline"}},
		{domain.Changes{Language: ptr("zh-Hant-TW")}, nil},
		{domain.Changes{Language: ptr("123")}, []string{"language"}},
		{domain.Changes{Slug: ptr("nato-russia")}, nil},
		{domain.Changes{Slug: ptr("nato_russia")}, []string{"slug"}},
		{domain.Changes{Tags: ptr(tagList(domain.MaxTags + 1))}, []string{"tags"}},
		{domain.Changes{Tags: ptr([]string{"a", "a"})}, []string{"tags"}},
		{domain.Changes{Tags: ptr([]string{""})}, []string{"tags"}},
		{domain.Changes{Body: ptr("\xff")}, []string{"body"}},
	}
	for _, tt := range tests {
		got, err := domain.Decide(domain.Fold(articleID, givenDraft()), domain.Revise{Changes: tt.changes},
			domain.Decision{By: reporter, Now: now})
		call := fmt.Sprintf("Decide(revise %+v)", describeChanges(tt.changes))
		if tt.fields == nil {
			checkOutcome(t, call, got, err, outcome{event: domain.Revised{Changes: tt.changes}})
			continue
		}
		checkOutcome(t, call, got, err, outcome{fields: tt.fields})
	}
}

func describeChanges(c domain.Changes) string {
	var parts []string
	add := func(name string, v *string) {
		if v != nil {
			parts = append(parts, name+"="+short(*v))
		}
	}
	add("headline", c.Headline)
	add("summary", c.Summary)
	add("body", c.Body)
	add("language", c.Language)
	add("byline", c.Byline)
	add("dateline", c.Dateline)
	add("slug", c.Slug)
	if c.Tags != nil {
		parts = append(parts, fmt.Sprintf("tags=%d", len(*c.Tags)))
	}
	return strings.Join(parts, " ")
}

func TestValidationDetail(t *testing.T) {
	tests := []struct {
		content domain.Content
		want    []domain.FieldError
	}{
		{domain.Content{Headline: " "}, []domain.FieldError{{Field: "headline", Detail: "is required"}}},
		{
			domain.Content{Headline: strings.Repeat("a", 301)},
			[]domain.FieldError{{Field: "headline", Detail: "is 301 characters long; at most 300 are allowed"}},
		},
		{
			domain.Content{Headline: strings.Repeat("a", 10_000)},
			[]domain.FieldError{{Field: "headline", Detail: "is 10000 characters long; at most 300 are allowed"}},
		},
		{
			domain.Content{Headline: "h", Body: strings.Repeat("b", domain.MaxBody+1)},
			[]domain.FieldError{{Field: "body", Detail: "is 200001 bytes long; at most 200000 are allowed"}},
		},
		{
			domain.Content{Headline: "h", Language: "english"},
			[]domain.FieldError{{Field: "language", Detail: `"english" is not a BCP 47 language tag (for example en, fr, pt-BR)`}},
		},
		{
			domain.Content{Headline: "h", Tags: []string{"nato", "nato"}},
			[]domain.FieldError{{Field: "tags", Detail: `tag "nato" appears twice`}},
		},
		{
			domain.Content{Headline: "h", Tags: tagList(31)},
			[]domain.FieldError{{Field: "tags", Detail: "has 31 tags; at most 30 are allowed"}},
		},
		{domain.Content{Headline: "\xff"}, []domain.FieldError{{Field: "headline", Detail: "is not valid UTF-8"}}},
		{
			domain.Content{Headline: "NATO \u202emeets"},
			[]domain.FieldError{{Field: "headline", Detail: "contains U+202E (RIGHT-TO-LEFT OVERRIDE), which reorders how the text after it is shown; " +
				"remove it, or use an isolate (U+2066–U+2069) closed on the same line"}},
		},
		{
			domain.Content{Headline: "h", Tags: []string{"nato", "nato\u200b"}},
			[]domain.FieldError{{Field: "tags", Detail: "a tag contains U+200B (ZERO WIDTH SPACE), an invisible character; remove it"}},
		},
		{
			domain.Content{Headline: "h", Tags: []string{"caf\u00e9", "cafe\u0301"}},
			[]domain.FieldError{{Field: "tags", Detail: `tag "café" appears twice`}},
		},
	}
	for _, tt := range tests {
		_, err := draft(tt.content)
		var v *domain.ValidationError
		if !errors.As(err, &v) {
			t.Errorf("Decide(draft %s) = %v; want a *domain.ValidationError", short(tt.content.Headline), err)
			continue
		}
		if !slices.Equal(v.Fields, tt.want) {
			t.Errorf("Decide(draft %s).Fields = %q; want %q", short(tt.content.Headline), v.Fields, tt.want)
		}
	}
}

func TestValidLanguage(t *testing.T) {
	tests := []struct {
		tag  string
		want bool
	}{
		{"en", true},
		{"fr", true},
		{"pt-BR", true},
		{"zh-Hant-TW", true},
		{"sr-Latn-RS", true},
		{"es-419", true},
		{"de-CH-1996", true},
		{"en-x-private", true},
		{"EN", true},
		{"pt-br", true},
		{"zh-yue", true},             // extended language subtag
		{"ast", true},                // three-letter language
		{"sl-rozaj-biske", true},     // two variants
		{"en-US-u-ca-gregory", true}, // extension
		{"de-DE-x-a-b", true},
		{"english", false},
		{"e", false},
		{"en_US", false},
		{"123", false},
		{"en-", false},
		{"", false},
		{"-en", false},
		{"en--US", false},
		{" en", false},
		{"en ", false},
		{"en\n", false},
		{"en-US-", false},
		{"en-x", false},
		{"en-x-toolongvalue", false},
		{"en-1", false},
		{"i-klingon", false}, // grandfathered forms are left out on purpose
		{"fr-FR-x-", false},
		{"ελ", false},
	}
	for _, tt := range tests {
		if got := domain.ValidLanguage(tt.tag); got != tt.want {
			t.Errorf("ValidLanguage(%q) = %v; want %v", tt.tag, got, tt.want)
		}
	}
}

func TestValidSlug(t *testing.T) {
	tests := []struct {
		slug string
		want bool
	}{
		{"a", true},
		{"7", true},
		{"nato", true},
		{natoSlug, true},
		{"2007-12-07-nrc", true},
		{strings.Repeat("a", domain.MaxSlug), true},
		{strings.Repeat("ab-", 33) + "a", true}, // 100 bytes
		{strings.Repeat("a", domain.MaxSlug+1), false},
		{strings.Repeat("ab-", 33) + "ab", false}, // 101 bytes
		{"", false},
		{"-", false},
		{"-nato", false},
		{"nato-", false},
		{"nato--russia", false},
		{"NATO", false},
		{"Nato-russia", false},
		{"nato_russia", false},
		{"nato russia", false},
		{"nato.russia", false},
		{"nato/russia", false},
		{"café", false},
		{"nato\n", false},
	}
	for _, tt := range tests {
		if got := domain.ValidSlug(tt.slug); got != tt.want {
			t.Errorf("ValidSlug(%s) = %v; want %v", short(tt.slug), got, tt.want)
		}
	}
}
