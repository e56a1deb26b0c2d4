package domain

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on editable fields. The HTTP layer also caps the whole request body; these say what a
// single field may hold so that one field cannot fill the log.
const (
	MaxHeadline = 300
	MaxSummary  = 2_000
	MaxBody     = 200_000 // bytes of Markdown
	MaxByline   = 200
	MaxDateline = 200
	MaxTags     = 30
	MaxTag      = 50
	MaxSlug     = 100
)

// DefaultLanguage is the language of an article drafted without one.
const DefaultLanguage = "en"

// languageTag matches a well-formed BCP 47 language tag (RFC 5646, section 2.1), without the
// grandfathered forms.
var languageTag = regexp.MustCompile(`^(?i)x(-[a-z0-9]{1,8})+$|^(?i)[a-z]{2,3}(-[a-z]{3}){0,3}(-[a-z]{4})?(-([a-z]{2}|[0-9]{3}))?` +
	`(-([a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*(-[0-9a-wyz](-[a-z0-9]{2,8})+)*(-x(-[a-z0-9]{1,8})+)?$`)

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// ValidLanguage reports whether tag is a well-formed BCP 47 language tag.
func ValidLanguage(tag string) bool { return languageTag.MatchString(tag) }

// ValidSlug reports whether s may be used as a slug: lowercase ASCII words joined by hyphens.
func ValidSlug(s string) bool { return len(s) <= MaxSlug && slugPattern.MatchString(s) }

// validate checks the content an article would have after a draft or a revision.
func (c Content) validate() error {
	var v ValidationError
	switch n := utf8.RuneCountInString(c.Headline); {
	case strings.TrimSpace(c.Headline) == "":
		v.add("headline", "is required")
	case n > MaxHeadline:
		v.add("headline", "is %d characters long; at most %d are allowed", n, MaxHeadline)
	}
	checkLength(&v, "summary", c.Summary, MaxSummary)
	if len(c.Body) > MaxBody {
		v.add("body", "is %d bytes long; at most %d are allowed", len(c.Body), MaxBody)
	}
	checkLength(&v, "byline", c.Byline, MaxByline)
	checkLength(&v, "dateline", c.Dateline, MaxDateline)
	if c.Language != "" && !ValidLanguage(c.Language) {
		v.add("language", "%q is not a BCP 47 language tag (for example en, fr, pt-BR)", c.Language)
	}
	if c.Slug != "" && !ValidSlug(c.Slug) {
		v.add("slug", "%q is not a slug: use lowercase letters, digits and single hyphens, at most %d characters", c.Slug, MaxSlug)
	}
	if len(c.Tags) > MaxTags {
		v.add("tags", "has %d tags; at most %d are allowed", len(c.Tags), MaxTags)
	}
	// Tags are compared in NFC: a tag already recorded in another form (before tags were
	// normalised) is still the same tag.
	seen := make(map[string]bool, len(c.Tags))
	for _, t := range c.Tags {
		key := NormalizeTag(t)
		switch {
		case strings.TrimSpace(t) == "":
			v.add("tags", "a tag is empty")
		case utf8.RuneCountInString(t) > MaxTag:
			v.add("tags", "tag %.20q… is longer than %d characters", t, MaxTag)
		case seen[key]:
			v.add("tags", "tag %q appears twice", t)
		}
		seen[key] = true
	}
	for _, f := range []struct {
		name, value string
		multiline   bool
		kind        textKind
	}{
		{"headline", c.Headline, false, plainText}, {"summary", c.Summary, true, plainText},
		{"body", c.Body, true, markdownText},
		{"byline", c.Byline, false, plainText}, {"dateline", c.Dateline, false, plainText},
		{"slug", c.Slug, false, plainText},
	} {
		if problem := checkText(f.value, f.multiline, f.kind); problem != "" && !v.has(f.name) {
			v.add(f.name, "%s", problem)
		}
	}
	for _, t := range c.Tags {
		if problem := textProblem(t, false); problem != "" && !v.has("tags") {
			v.add("tags", "a tag %s", problem)
		}
	}
	if !v.has("body") {
		validateMedia(&v, c.Media, c.Body)
	} else {
		validateMedia(&v, c.Media, "")
	}
	return v.orNil()
}

// ValidateBody checks a Markdown body on its own, by the rules a draft's body is checked by
// (at most MaxBody bytes, text only): a preview's. The error is a *ValidationError or nil.
func ValidateBody(body string) error {
	var v ValidationError
	if len(body) > MaxBody {
		v.add("body", "is %d bytes long; at most %d are allowed", len(body), MaxBody)
	} else if problem := checkText(body, true, markdownText); problem != "" {
		v.add("body", "%s", problem)
	}
	return v.orNil()
}

func checkLength(v *ValidationError, field, value string, max int) {
	if n := utf8.RuneCountInString(value); n > max {
		v.add(field, "is %d characters long; at most %d are allowed", n, max)
	}
}

// complete checks what a reviewable or published article needs beyond valid content; when
// names the moment in the message ("is required before submitting").
func (c Content) complete(when string) error {
	var v ValidationError
	for _, f := range []struct{ name, value string }{{"headline", c.Headline}, {"body", c.Body}, {"language", c.Language}} {
		if strings.TrimSpace(f.value) == "" {
			if when == "submitting" {
				v.add(f.name, "is required before submitting")
			} else {
				v.add(f.name, "is required in %s", when)
			}
		}
	}
	return v.orNil()
}

// textProblem says what is wrong with text as the value of a plain-text field (not the body),
// or "": see checkText.
func textProblem(text string, multiline bool) string { return checkText(text, multiline, plainText) }

// checkText says what is wrong with text as a field's value, or "". Control characters are
// refused (line breaks and tabs only where a field has lines): they have no place in a
// communiqué, some databases cannot store them (PostgreSQL refuses NUL), and they can
// disguise what a reader sees. So are the characters invisibleProblem names for kind.
func checkText(text string, multiline bool, kind textKind) string {
	if !utf8.ValidString(text) {
		return "is not valid UTF-8"
	}
	for _, r := range text {
		if multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) {
			return fmt.Sprintf("contains the control character %U; remove it", r)
		}
	}
	return invisibleProblem(text, kind)
}
