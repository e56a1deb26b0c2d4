package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
)

// latinFold maps letters that Unicode does not decompose into a base letter plus a mark.
var latinFold = map[rune]string{
	'ß': "ss", 'æ': "ae", 'ø': "o", 'œ': "oe", 'ł': "l", 'đ': "d", 'ð': "d", 'þ': "th", 'ı': "i",
}

// Slugify derives a slug from a headline: lowercase ASCII words joined by hyphens, at most
// MaxSlug characters, cut at a word boundary. It returns "" when the headline has no letter or
// digit it can keep; the caller then needs another slug.
func Slugify(headline string) string {
	var words []string
	var word strings.Builder
	endWord := func() {
		if word.Len() > 0 {
			words = append(words, word.String())
			word.Reset()
		}
	}
	for _, r := range strings.ToLower(headline) {
		r = stripAccent(r)
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			word.WriteRune(r)
		case latinFold[r] != "":
			word.WriteString(latinFold[r])
		case r == '\'' || r == '’' || unicode.Is(unicode.Mn, r):
			// "NATO's" becomes "natos", not "nato-s"; a combining accent belongs to its letter.
		default:
			endWord()
		}
	}
	endWord()
	var b strings.Builder
	for _, w := range words {
		switch {
		case b.Len() == 0 && len(w) > MaxSlug:
			return w[:MaxSlug] // one word longer than a slug: cut it
		case b.Len() == 0:
			b.WriteString(w)
		case b.Len()+1+len(w) > MaxSlug:
			return b.String()
		default:
			b.WriteByte('-')
			b.WriteString(w)
		}
	}
	return b.String()
}

// stripAccent maps the common precomposed Latin letters to their base letter. The domain
// imports the standard library only, so this is a small table rather than full NFD.
func stripAccent(r rune) rune {
	const from = "àáâãäåāăąçćčďèéêëēėęěìíîïīįñńňòóôõöōőŕřśšşťţùúûüūůűųýÿźżž"
	const to = "aaaaaaaaacccdeeeeeeeeiiiiiinnnooooooorrsssttuuuuuuuuyyzzz"
	if r < 0xC0 {
		return r
	}
	i := 0
	for _, f := range from {
		if f == r {
			return rune(to[i])
		}
		i++
	}
	return r
}

// SlugDigest is the hex SHA-256 of a slug: what is kept of a killed article's slug, so that its
// old URL can answer "gone" without the slug, which is text of the article, being kept.
// Empty for an empty slug.
func SlugDigest(slug string) string {
	if slug == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(slug))
	return hex.EncodeToString(sum[:])
}
