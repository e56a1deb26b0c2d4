// Package search holds the text rules of newsroom's full-text search, the same whichever
// database answers: how text is cut into words and folded (lowercase, no diacritics), each
// language's stemmer and stop words, the query language (words, "phrases", -exclusions,
// prefix*), and highlighted snippets. It knows nothing of SQL: projections turns a parsed
// query into SQLite FTS5's or PostgreSQL's syntax with what it exports here.
package search

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Fold is word as the index holds it: compatibility-decomposed (NFKD: "ﬁ" is "fi", "²" is
// "2"), without its marks (diacritics: "Zürich" is "zurich"), lowercase, and with the letters
// that carry no mark but stand for two (ß, æ, œ, ø…) spelled out. Anything that is neither a
// letter nor a digit after that is dropped.
func Fold(word string) string {
	ascii := true
	for i := 0; i < len(word); i++ {
		if word[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return foldASCII(word)
	}
	var b strings.Builder
	b.Grow(len(word))
	for _, r := range norm.NFKD.String(word) {
		if unicode.Is(unicode.M, r) {
			continue
		}
		if s, ok := spelledOut[r]; ok {
			b.WriteString(s)
			continue
		}
		r = unicode.ToLower(r)
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func foldASCII(word string) string {
	for i := 0; i < len(word); i++ {
		c := word[i]
		if 'A' <= c && c <= 'Z' || !isASCIIWordByte(c) {
			var b strings.Builder
			b.Grow(len(word))
			for j := 0; j < len(word); j++ {
				c := word[j]
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				if isASCIIWordByte(c) {
					b.WriteByte(c)
				}
			}
			return b.String()
		}
	}
	return word
}

func isASCIIWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// spelledOut are letters that no decomposition takes apart, folded as their usual spelling.
var spelledOut = map[rune]string{
	'ß': "ss", 'ẞ': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe", 'ø': "o", 'Ø': "o",
	'đ': "d", 'Đ': "d", 'ł': "l", 'Ł': "l", 'þ': "th", 'Þ': "th", 'ð': "d", 'Ð': "d", 'ı': "i",
}

// isWordRune says whether r belongs to a word: letters, digits, and the marks that combine
// with them. Everything else (spaces, punctuation, apostrophes, hyphens) separates words, as
// PostgreSQL's parser and SQLite's unicode61 tokenizer separate them.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return isASCIIWordByte(byte(r))
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.M, r)
}

// Words calls fn with each word of text, in order: its byte range in text and its folded
// form. Words that fold to nothing are skipped.
func Words(text string, fn func(start, end int, folded string)) {
	start := -1
	for i, r := range text {
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			if f := Fold(text[start:i]); f != "" {
				fn(start, i, f)
			}
			start = -1
		}
	}
	if start >= 0 {
		if f := Fold(text[start:]); f != "" {
			fn(start, len(text), f)
		}
	}
}

// FoldedWords is text as folded words separated by single spaces: what PostgreSQL's
// to_tsvector is given, so that both databases see the same words.
func FoldedWords(text string) string {
	var b strings.Builder
	b.Grow(len(text))
	Words(text, func(_, _ int, w string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	})
	return b.String()
}

// stemCache remembers stems: a newsroom's vocabulary is small beside how often its words
// recur, and snippets stem every word of the texts they show.
type stemCache struct {
	mu sync.RWMutex
	m  map[string]string
}

const maxCachedStems = 200_000

func (c *stemCache) get(w string) (string, bool) {
	c.mu.RLock()
	s, ok := c.m[w]
	c.mu.RUnlock()
	return s, ok
}

func (c *stemCache) put(w, s string) {
	c.mu.Lock()
	if len(c.m) >= maxCachedStems {
		c.m = make(map[string]string, 1024)
	}
	c.m[w] = s
	c.mu.Unlock()
}
