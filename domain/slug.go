package domain

import (
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
	var b strings.Builder
	pendingHyphen := false
	for _, r := range strings.ToLower(headline) {
		r = stripAccent(r)
		var piece string
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			piece = string(r)
		case latinFold[r] != "":
			piece = latinFold[r]
		case r == '\'' || r == '’':
			continue // "NATO's" becomes "natos", not "nato-s"
		default:
			pendingHyphen = b.Len() > 0
			continue
		}
		if pendingHyphen {
			if b.Len()+1+len(piece) > MaxSlug {
				break
			}
			b.WriteByte('-')
			pendingHyphen = false
		}
		if b.Len()+len(piece) > MaxSlug {
			break
		}
		b.WriteString(piece)
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
