package search

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The query language, the same on both databases:
//
//	maritime security     both words (in any form: "meets" finds "meeting")
//	"maritime security"   the words next to each other, in that order
//	-lavrov               not this word (or -"a phrase")
//	secur*                a word that starts with this (a prefix of at least MinPrefix letters)
//
// Words are matched folded (case and diacritics ignored) and stemmed by each article's language.

// Limits of a query, so that no query costs more than a page of results should.
const (
	MaxQueryBytes = 500
	MaxTerms      = 16
	MinPrefix     = 3 // letters before a *: shorter prefixes match a large part of any index
)

// QueryError is a query that cannot be searched: its Error says why, for the person who typed
// it.
type QueryError struct{ Reason string }

func (e *QueryError) Error() string { return e.Reason }

func queryError(format string, args ...any) error {
	return &QueryError{Reason: fmt.Sprintf(format, args...)}
}

// Term is one element of a query: a word, or a phrase of words next to each other.
type Term struct {
	Words   []string // folded, in order; more than one: a phrase
	Prefix  bool     // the last word is a prefix
	Exclude bool     // articles that match it are left out
}

// Query is a parsed query: every included term must match, no excluded term may.
type Query struct {
	Terms []Term
}

// Parse reads a query; a *QueryError says what is wrong with one that cannot be searched: an
// unbalanced quote, a lone - or *, a * inside a word, a prefix too short, nothing but
// exclusions, no words at all, too long.
func Parse(q string) (Query, error) {
	if len(q) > MaxQueryBytes {
		return Query{}, queryError("the query is longer than %d bytes", MaxQueryBytes)
	}
	if !utf8.ValidString(q) {
		return Query{}, queryError("the query is not valid UTF-8")
	}
	var out Query
	rest := q
	for {
		rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
		if rest == "" {
			break
		}
		var t Term
		if rest[0] == '-' {
			t.Exclude = true
			rest = rest[1:]
			if rest == "" || startsWithSpace(rest) {
				return Query{}, queryError(`a "-" must be followed by the word or "phrase" to exclude, as in -lavrov`)
			}
		}
		if rest[0] == '"' {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return Query{}, queryError(`the query has an unbalanced quote: close the "phrase" with a second "`)
			}
			phrase := rest[1 : 1+end]
			rest = rest[2+end:]
			Words(phrase, func(_, _ int, w string) { t.Words = append(t.Words, w) })
			if len(t.Words) == 0 {
				if strings.TrimSpace(phrase) == "" {
					return Query{}, queryError(`the query has an empty "phrase"`)
				}
				continue // punctuation alone: nothing to find
			}
		} else {
			n := strings.IndexFunc(rest, func(r rune) bool { return unicode.IsSpace(r) || r == '"' })
			if n < 0 {
				n = len(rest)
			}
			word := rest[:n]
			rest = rest[n:]
			if strings.Trim(word, "*") == "" {
				return Query{}, queryError(`a "*" must end a word of at least %d letters, as in secur*`, MinPrefix)
			}
			if strings.HasSuffix(word, "*") {
				t.Prefix = true
				word = word[:len(word)-1]
			}
			if strings.Contains(word, "*") {
				return Query{}, queryError(`a "*" may only end a word, as in secur*: %q`, word+map[bool]string{true: "*"}[t.Prefix])
			}
			Words(word, func(_, _ int, w string) { t.Words = append(t.Words, w) })
			if len(t.Words) == 0 {
				if t.Prefix {
					return Query{}, queryError(`a "*" must end a word of at least %d letters, as in secur*`, MinPrefix)
				}
				continue // punctuation alone: nothing to find
			}
			if last := t.Words[len(t.Words)-1]; t.Prefix && utf8.RuneCountInString(last) < MinPrefix {
				return Query{}, queryError(`a prefix needs at least %d letters before its "*": %q is too short`, MinPrefix, last+"*")
			}
		}
		out.Terms = append(out.Terms, t)
		if len(out.Terms) > MaxTerms {
			return Query{}, queryError("the query has more than %d words and phrases", MaxTerms)
		}
	}
	included := 0
	for _, t := range out.Terms {
		if !t.Exclude {
			included++
		}
	}
	switch {
	case len(out.Terms) == 0:
		return Query{}, queryError("the query has no words to search for")
	case included == 0:
		return Query{}, queryError("the query only excludes: give at least one word to find")
	}
	return out, nil
}

func startsWithSpace(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsSpace(r)
}

// ErrOnlyStopWords is the reason a query made only of stop words is refused.
const ErrOnlyStopWords = "the query has only words too common to search for (such as the, of, le, de): add a more specific word"

// For returns the query as language l's rules see it: each word stemmed (a prefix too, as
// PostgreSQL does), and terms made only of l's stop words dropped (neither database indexes them
// alone). ok is false when no included term is left: in l, the query finds nothing.
func (q Query) For(l *Language) (out Query, ok bool) {
	for _, t := range q.Terms {
		stopOnly := true
		for _, w := range t.Words {
			if !l.Stop(w) {
				stopOnly = false
				break
			}
		}
		if stopOnly {
			continue
		}
		st := Term{Prefix: t.Prefix, Exclude: t.Exclude, Words: make([]string, len(t.Words))}
		for i, w := range t.Words {
			st.Words[i] = l.Stem(w)
		}
		out.Terms = append(out.Terms, st)
		ok = ok || !t.Exclude
	}
	return out, ok
}

// Branch is a query as one language's rules see it.
type Branch struct {
	Language *Language
	Query    Query // stemmed
	raw      Query // folded, unstemmed: PostgreSQL stems it itself
}

// Branches returns the query for each language in langs that it can find something in. A
// query each of whose included terms is only stop words in some language searched (English's
// "the", French's "le") is refused (a *QueryError), whatever another language would make of it,
// so that the answer does not depend on which languages the archive holds. A query that is not
// refused keeps its words in every language where they are not stop words ("son" is one in
// French, not in English).
func (q Query) Branches(langs []*Language) ([]Branch, error) {
	refused := true
	for _, t := range q.Terms {
		if t.Exclude {
			continue
		}
		stopSomewhere := false
		for _, l := range langs {
			if len(l.stop) > 0 && allStop(l, t.Words) {
				stopSomewhere = true
				break
			}
		}
		if !stopSomewhere {
			refused = false
			break
		}
	}
	if refused {
		return nil, &QueryError{Reason: ErrOnlyStopWords}
	}
	var out []Branch
	for _, l := range langs {
		if stemmed, ok := q.For(l); ok {
			out = append(out, Branch{Language: l, Query: stemmed, raw: q})
		}
	}
	return out, nil
}

// FTS5 is the branch as an SQLite FTS5 MATCH expression over terms (Language.Term). Every
// token is a quoted string of letters and digits: nothing a user typed reaches FTS5's syntax.
func (b Branch) FTS5() string {
	var include, exclude []string
	for _, t := range b.Query.Terms {
		terms := make([]string, len(t.Words))
		for i, w := range t.Words {
			terms[i] = b.Language.Code + w
		}
		s := `"` + strings.Join(terms, " ") + `"`
		if t.Prefix {
			s += " *"
		}
		if t.Exclude {
			exclude = append(exclude, s)
		} else {
			include = append(include, s)
		}
	}
	expr := strings.Join(include, " AND ")
	if len(exclude) > 0 {
		expr = "(" + expr + ") NOT (" + strings.Join(exclude, " OR ") + ")"
	}
	return "(" + expr + ")"
}

// TSQuery is the branch as the text of PostgreSQL's to_tsquery in the branch's configuration,
// which stems the words and drops the stop words itself. Every operand is folded letters and
// digits: nothing a user typed reaches tsquery's syntax.
func (b Branch) TSQuery() string {
	var parts []string
	for _, t := range b.raw.Terms {
		words := make([]string, len(t.Words))
		copy(words, t.Words)
		if t.Prefix {
			words[len(words)-1] += ":*"
		}
		s := strings.Join(words, " <-> ")
		if len(words) > 1 {
			s = "(" + s + ")"
		}
		if t.Exclude {
			// Stop words alone would leave "!" with nothing: to_tsquery drops them whole, as
			// For does.
			if allStop(b.Language, t.Words) {
				continue
			}
			s = "!" + s
		} else if allStop(b.Language, t.Words) {
			continue
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " & ")
}

func allStop(l *Language, words []string) bool {
	for _, w := range words {
		if !l.Stop(w) {
			return false
		}
	}
	return true
}

// Matcher says which words of a text a query's branch matches, for highlighting.
type Matcher struct {
	lang     *Language
	stems    map[string]bool
	prefixes []string
	// firsts are the first bytes of stems and prefixes: a Snowball stemmer keeps a word's
	// first letter, so a word that starts otherwise is not stemmed to be compared.
	firsts [256]bool
}

// Matcher returns what highlights the included terms of the branch in a text of its language.
func (b Branch) Matcher() Matcher {
	m := Matcher{lang: b.Language, stems: map[string]bool{}}
	for _, t := range b.raw.Terms {
		if t.Exclude || allStop(b.Language, t.Words) {
			continue
		}
		for i, w := range t.Words {
			switch {
			case t.Prefix && i == len(t.Words)-1:
				m.prefixes = append(m.prefixes, b.Language.Stem(w))
			case b.Language.Stop(w):
				// A stop word inside a phrase: not worth a mark of its own.
			default:
				m.stems[b.Language.Stem(w)] = true
			}
		}
	}
	for stem := range m.stems {
		m.firsts[stem[0]] = true
	}
	for _, p := range m.prefixes {
		m.firsts[p[0]] = true
	}
	return m
}

// Matches reports whether a folded word is one the query looks for. The zero Matcher matches
// nothing.
func (m Matcher) Matches(folded string) bool {
	if m.lang == nil || folded == "" || !m.firsts[folded[0]] {
		return false
	}
	stem := m.lang.Stem(folded)
	if m.stems[stem] {
		return true
	}
	for _, p := range m.prefixes {
		if strings.HasPrefix(stem, p) {
			return true
		}
	}
	return false
}
