package search

import (
	_ "embed"
	"strings"
	"sync"

	snowball "github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/english"
	"github.com/blevesearch/snowballstem/french"
)

// Language is the rules an article's text is indexed by: its stemmer and stop words. An
// article whose language has no rules here is indexed by Simple: folded words, unstemmed.
type Language struct {
	// Code is the language's ISO 639-1 code ("en"); "xx" for Simple. SQLite's index prefixes
	// every word with it, so that each article's words are matched by its own language's rules.
	// Permanent: changing it means rebuilding the search view (a new Version).
	Code string
	// Config is PostgreSQL's text search configuration for the language (english, french,
	// simple): its stemmer is the same Snowball algorithm as stem.
	Config string
	stem   func(*snowball.Env) bool
	stop   map[string]bool
	stems  stemCache
	envs   sync.Pool
}

//go:embed stopwords/english.stop
var englishStop string

//go:embed stopwords/french.stop
var frenchStop string

var (
	// English is indexed with the English (Porter2) Snowball stemmer.
	English = newLanguage("en", "english", english.Stem, englishStop)
	// French is indexed with the French Snowball stemmer.
	French = newLanguage("fr", "french", french.Stem, frenchStop)
	// Simple indexes every other language: folded words, unstemmed, no stop words.
	Simple = newLanguage("xx", "simple", nil, "")
)

// Languages are every language's rules, Simple last.
var Languages = []*Language{English, French, Simple}

// newLanguage makes a language. The stop words are PostgreSQL's own lists (the Snowball
// project's), so that both databases drop the same words; PostgreSQL checks them against the
// folded word, as Stop does.
func newLanguage(code, config string, stem func(*snowball.Env) bool, stopWords string) *Language {
	l := &Language{Code: code, Config: config, stem: stem, stop: map[string]bool{}, stems: stemCache{m: map[string]string{}}}
	for _, w := range strings.Fields(stopWords) {
		l.stop[w] = true
	}
	l.envs.New = func() any { return snowball.NewEnv("") }
	return l
}

// LanguageOf returns the rules for an article in the language a BCP 47 tag names (by its
// primary subtag: "en-GB" is English), Simple for any other.
func LanguageOf(tag string) *Language {
	primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
	for _, l := range Languages {
		if l.Code == primary && l.stem != nil {
			return l
		}
	}
	return Simple
}

// Stop reports whether a folded word is one of the language's stop words: words so common
// that neither database indexes them on their own.
func (l *Language) Stop(folded string) bool { return l.stop[folded] }

// Stem returns the stem of a folded word ("meeting" is "meet", "ministres" is "ministr").
func (l *Language) Stem(folded string) string {
	if l.stem == nil {
		return folded
	}
	if s, ok := l.stems.get(folded); ok {
		return s
	}
	env := l.envs.Get().(*snowball.Env)
	env.SetCurrent(folded)
	l.stem(env)
	s := env.Current()
	l.envs.Put(env)
	l.stems.put(folded, s)
	return s
}

// Term is a word as SQLite's index holds it: the language's code, then the stem (for
// Simple, the folded word).
func (l *Language) Term(folded string) string { return l.Code + l.Stem(folded) }

// IndexText is text as SQLite's index is given it: each word as Term, space-separated. Stop
// words stay (as terms): phrases that span them must still match.
func (l *Language) IndexText(text string) string {
	var b strings.Builder
	b.Grow(len(text) + len(text)/4)
	Words(text, func(_, _ int, w string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(l.Code)
		b.WriteString(l.Stem(w))
	})
	return b.String()
}
