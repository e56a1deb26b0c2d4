package domain

import (
	"fmt"

	"golang.org/x/text/unicode/norm"
)

// Text is what it looks like: the rules below refuse characters that make a text display as
// another (a headline whose words a right-to-left override reverses, a tag "nato" followed by an
// invisible space that is not the tag "nato"), and record the text that identifies an article
// in one Unicode form, so that the same words typed on two keyboards are the same words.
//
// Headlines, tags and slugs are normalised to NFC when a command is decided, so their events
// carry NFC. Other fields are kept as written: NFC would also replace CJK compatibility
// ideographs, which some writers of Japanese choose on purpose, and those fields are shown, not
// matched. Events already in the log are not rewritten: Evolve trusts the log, so an article
// drafted with a decomposed headline keeps it until it is revised.

// NormalizeTag returns tag in the form tags are recorded in (NFC), for comparing a tag a reader
// asks for with recorded ones.
func NormalizeTag(tag string) string { return norm.NFC.String(tag) }

// normalized returns c with the headline, tags and slug it would record in NFC.
func normalized(c Command) Command {
	switch c := c.(type) {
	case Draft:
		c.Content = c.Content.normalized()
		return c
	case Revise:
		c.Changes = c.Changes.normalized()
		return c
	case Correct:
		c.Changes = c.Changes.normalized()
		return c
	}
	return c
}

func (c Content) normalized() Content {
	c.Headline = norm.NFC.String(c.Headline)
	c.Slug = norm.NFC.String(c.Slug)
	c.Tags = nfcAll(c.Tags)
	c.Media = normalizedMedia(c.Media)
	return c
}

// normalized returns the changes with the values it sets normalised; the caller's values are
// left as they are.
func (c Changes) normalized() Changes {
	nfc := func(s *string) *string {
		if s == nil {
			return nil
		}
		v := norm.NFC.String(*s)
		return &v
	}
	c.Headline, c.Slug = nfc(c.Headline), nfc(c.Slug)
	if c.Tags != nil {
		tags := nfcAll(*c.Tags)
		c.Tags = &tags
	}
	if c.Media != nil {
		media := normalizedMedia(*c.Media)
		c.Media = &media
	}
	return c
}

// nfcAll returns a new slice of the strings in NFC; nil stays nil and empty stays empty, as
// "no tags given" and "no tags" mean different things to a revision.
func nfcAll(list []string) []string {
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = norm.NFC.String(s)
	}
	return out
}

// textKind says which characters a field may hold beyond letters, marks and punctuation.
type textKind int

const (
	// plainText: headlines, tags, slugs, summaries, bylines, datelines, notes, comments and
	// reasons. Short texts that are read (and tags, matched) at a glance.
	plainText textKind = iota
	// markdownText: the body. Running text in every script: a zero width space marks where
	// Thai or Khmer may break a line, a word joiner where a line must not break, so both are
	// kept.
	markdownText
)

// invisibleProblem says what in text would make it look like another text, or "":
//   - the bidirectional embeddings and overrides U+202A–U+202E, everywhere: they reorder the
//     characters that follow them up to the end of the paragraph (the "Trojan Source" trick),
//     and isolates do everything legitimate they did;
//   - an isolate (U+2066 LRI, U+2067 RLI, U+2068 FSI) not closed by U+2069 PDI on the same
//     line, or a PDI with nothing to close: a line break ends a bidirectional paragraph, so an
//     isolate left open spills into whatever a client shows after the field;
//   - U+FEFF, everywhere: a byte order mark inside text is an invisible character;
//   - in plain text, U+200B ZERO WIDTH SPACE and U+2060–U+2064 (the word joiner and the
//     invisible mathematical operators): invisible, they make "nato" and "nato"+U+200B two tags
//     and two headlines that look the same.
//
// U+200C ZERO WIDTH NON-JOINER and U+200D ZERO WIDTH JOINER are kept: Persian, the Indic
// scripts and emoji sequences need them. The marks U+200E, U+200F and U+061C are kept too: they
// change no order, only which way neutral characters lean.
func invisibleProblem(text string, kind textKind) string {
	var open []rune // the isolates open on this line
	for _, r := range text {
		switch {
		case r >= 0x202a && r <= 0x202e:
			return fmt.Sprintf("contains %U (%s), which reorders how the text after it is shown; remove it, or use an isolate (U+2066–U+2069) closed on the same line", r, formatName(r))
		case r == 0xfeff:
			return fmt.Sprintf("contains %U (%s), an invisible character; remove it", r, formatName(r))
		case kind == plainText && (r == 0x200b || (r >= 0x2060 && r <= 0x2064)):
			return fmt.Sprintf("contains %U (%s), an invisible character; remove it", r, formatName(r))
		case r >= 0x2066 && r <= 0x2068:
			open = append(open, r)
		case r == 0x2069:
			if len(open) == 0 {
				return "contains U+2069 (POP DIRECTIONAL ISOLATE) with no isolate open to close; remove it"
			}
			open = open[:len(open)-1]
		case endsBidiParagraph(r):
			if len(open) > 0 {
				return unclosedIsolate(open[0])
			}
		}
	}
	if len(open) > 0 {
		return unclosedIsolate(open[0])
	}
	return ""
}

func unclosedIsolate(r rune) string {
	return fmt.Sprintf("opens an isolate with %U (%s) that U+2069 (POP DIRECTIONAL ISOLATE) does not close on the same line; close it or remove it", r, formatName(r))
}

// endsBidiParagraph reports whether r separates paragraphs in the Unicode bidirectional
// algorithm (its class B), which closes every isolate still open.
func endsBidiParagraph(r rune) bool {
	switch r {
	case '\n', '\r', 0x1c, 0x1d, 0x1e, 0x85, 0x2029:
		return true
	}
	return false
}

func formatName(r rune) string {
	switch r {
	case 0x200b:
		return "ZERO WIDTH SPACE"
	case 0x202a:
		return "LEFT-TO-RIGHT EMBEDDING"
	case 0x202b:
		return "RIGHT-TO-LEFT EMBEDDING"
	case 0x202c:
		return "POP DIRECTIONAL FORMATTING"
	case 0x202d:
		return "LEFT-TO-RIGHT OVERRIDE"
	case 0x202e:
		return "RIGHT-TO-LEFT OVERRIDE"
	case 0x2060:
		return "WORD JOINER"
	case 0x2061:
		return "FUNCTION APPLICATION"
	case 0x2062:
		return "INVISIBLE TIMES"
	case 0x2063:
		return "INVISIBLE SEPARATOR"
	case 0x2064:
		return "INVISIBLE PLUS"
	case 0x2066:
		return "LEFT-TO-RIGHT ISOLATE"
	case 0x2067:
		return "RIGHT-TO-LEFT ISOLATE"
	case 0x2068:
		return "FIRST STRONG ISOLATE"
	case 0xfeff:
		return "ZERO WIDTH NO-BREAK SPACE"
	}
	return "a format character"
}
