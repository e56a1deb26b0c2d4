package domain_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/newsroom/newsroom/domain"
)

// slugifyCases are headlines and the slugs they give; TestSlugify and FuzzSlugify's seed corpus
// share them.
var slugifyCases = []struct {
	headline, want string
}{
	// The headline of ../shared/corpus/nato-russia-council-ministers-meet.txt.
	{"NATO-Russia foreign ministers meet", "nato-russia-foreign-ministers-meet"},
	{"NATO-Russia Council (NRC) meets at NATO Headquarters on 7 December", "nato-russia-council-nrc-meets-at-nato-headquarters-on-7-december"},

	// Case, digits and separators.
	{"Hello World", "hello-world"},
	{"2007 budget: 3.5% rise", "2007-budget-3-5-rise"},
	{"tab\tand\nnewline", "tab-and-newline"},
	{"a/b\\c|d", "a-b-c-d"},
	{"e-mail", "e-mail"},
	{"under_score", "under-score"},

	// Runs of punctuation and space make one hyphen; none at either end.
	{"Hello, World!", "hello-world"},
	{"Hello   ---   world", "hello-world"},
	{"NATO -- Russia ... talks?!", "nato-russia-talks"},
	{"  --Hello--  ", "hello"},
	{"«Ministers» — “meet”", "ministers-meet"},
	{"(NRC)", "nrc"},
	{"C++ & Go", "c-go"},

	// Apostrophes join; they do not split a word.
	{"NATO's", "natos"},
	{"NATO's ministers", "natos-ministers"},
	{"NATO’s ministers", "natos-ministers"},
	{"rock 'n' roll", "rock-n-roll"},
	{"'quoted'", "quoted"},
	{"don't stop", "dont-stop"},

	// Accents and Latin letters without a decomposition.
	{"Café au lait", "cafe-au-lait"},
	{"ÉLYSÉE", "elysee"},
	{"Müller über alles", "muller-uber-alles"},
	{"Straße", "strasse"},
	{"STRAẞE", "strasse"},
	{"Ørsted sells København stake", "orsted-sells-kobenhavn-stake"},
	{"Ærø", "aero"},
	{"Œuvre", "oeuvre"},
	{"Łódź", "lodz"},
	{"Þór", "thor"},
	{"Ðakovo", "dakovo"},
	{"Đorđe", "dorde"},
	{"ESPAÑA", "espana"},
	{"İstanbul", "istanbul"},
	{"Kırıkkale", "kirikkale"},
	{"àáâãäåāăą", "aaaaaaaaa"},
	{"çćč ď", "ccc-d"},
	{"èéêëēėęě", "eeeeeeee"},
	{"ìíîïīį", "iiiiii"},
	{"ñńň", "nnn"},
	{"òóôõöōő", "ooooooo"},
	{"ŕř śšş ťţ", "rr-sss-tt"},
	{"ùúûüūůűų", "uuuuuuuu"},
	{"ýÿ źżž", "yy-zzz"},
	{"ÀÁÂÃÄÅĀĂĄ", "aaaaaaaaa"},

	// Scripts it cannot spell in ASCII are dropped.
	{"Москва 2007", "2007"},
	{"東京 summit", "summit"},
	{"🚀 launch 🚀", "launch"},

	// Nothing to keep.
	{"", ""},
	{"   ", ""},
	{"!!!", ""},
	{"—…«»", ""},
	{"''", ""},
	{"Ελληνικά", ""},
	{"🚀", ""},

	// Invalid UTF-8 is a separator, like any other character it cannot keep.
	{"bad\xffbyte", "bad-byte"},
}

func TestSlugify(t *testing.T) {
	for _, tt := range slugifyCases {
		got := domain.Slugify(tt.headline)
		if got != tt.want {
			t.Errorf("Slugify(%q) = %q; want %q", tt.headline, got, tt.want)
		}
		checkSlug(t, tt.headline, got)
	}
}

// checkSlug reports whether slug, got from headline, breaks what Slugify promises of every
// result: empty or a valid slug, at most MaxSlug long, and unchanged if slugified again.
func checkSlug(tb testing.TB, headline, slug string) {
	tb.Helper()
	if slug == "" {
		return
	}
	if !domain.ValidSlug(slug) {
		tb.Errorf("Slugify(%q) = %q; ValidSlug = false, want true", headline, slug)
	}
	if len(slug) > domain.MaxSlug {
		tb.Errorf("Slugify(%q) = %q; %d bytes, want at most %d", headline, slug, len(slug), domain.MaxSlug)
	}
	if again := domain.Slugify(slug); again != slug {
		tb.Errorf("Slugify(%q) = %q; want %q (a slug slugifies to itself)", slug, again, slug)
	}
}

// TestSlugifyLength checks the cut at MaxSlug: at a word boundary, never with a trailing hyphen.
func TestSlugifyLength(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	b := func(n int) string { return strings.Repeat("b", n) }
	words := func(word string, n int) string { return strings.TrimSpace(strings.Repeat(word+" ", n)) }
	slugOf := func(word string, n int) string { return strings.Join(strings.Fields(words(word, n)), "-") }
	tests := []struct {
		name, headline, want string
		bug                  string
	}{
		{"one word of exactly MaxSlug", a(100), a(100), ""},
		{"words filling exactly MaxSlug", a(49) + " " + b(50), a(49) + "-" + b(50), ""},
		// A single word longer than the limit has no boundary to cut at.
		{"one word over MaxSlug", a(101), a(100), ""},
		{"one word far over MaxSlug", a(10_000), a(100), ""},
		{"trailing punctuation at the limit", a(100) + "!", a(100), ""},
		{"second word would start at 100", a(99) + " b", a(99), ""},
		{"second word of one letter ends at 100", a(98) + " b", a(98) + "-b", ""},
		{"ß folds to two letters past the limit", a(98) + " ß", a(98), ""},
		{"nine-letter words", words("abcdefghi", 20), slugOf("abcdefghi", 10), ""},
		{
			"ten-letter words", words("abcdefghij", 12), slugOf("abcdefghij", 9),
			"",
		},
		{
			"a second word too long to fit", a(50) + " " + b(60), a(50),
			"",
		},
		{"ß ending a word at the limit", a(98) + "ß", a(98) + "ss", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.bug != "" {
				t.Skip("BUG: " + tt.bug)
			}
			got := domain.Slugify(tt.headline)
			if got != tt.want {
				t.Errorf("Slugify(%s) = %s; want %s", short(tt.headline), short(got), short(tt.want))
			}
			if strings.HasSuffix(got, "-") {
				t.Errorf("Slugify(%s) = %s; want no trailing hyphen", short(tt.headline), short(got))
			}
			checkSlug(t, tt.headline, got)
		})
	}
}

// TestSlugifyCutsAtWordBoundary checks, for headlines of plain ASCII words, that the slug is
// the uncut slug with only whole words dropped from its end.
func TestSlugifyCutsAtWordBoundary(t *testing.T) {
	for _, w := range []string{"x", "ab", "nato", "council", "abcdefghij", "headquarters"} {
		for n := 1; n <= 40; n++ {
			headline := strings.TrimSpace(strings.Repeat(w+" ", n))
			full := strings.Join(strings.Fields(headline), "-")
			got := domain.Slugify(headline)
			var problem string
			switch {
			case len(got) > len(full) || full[:len(got)] != got:
				problem = "want a prefix of " + full
			case len(got) < len(full) && full[len(got)] != '-':
				problem = "cut inside a word, want whole words only"
			case len(full) <= domain.MaxSlug && got != full:
				problem = "want " + full + " (it fits)"
			case len(full) > domain.MaxSlug && len(got)+1+len(w) <= domain.MaxSlug:
				problem = "another word fits"
			}
			if problem != "" {
				t.Errorf("Slugify(%d × %q) = %q; %s", n, w, got, problem)
				break // one report per word
			}
		}
	}
}

// TestSlugifyDecomposedAccents checks headlines whose accents are separate combining marks
// (NFD, as some systems send them): the mark goes, the word stays whole.
func TestSlugifyDecomposedAccents(t *testing.T) {
	tests := []struct{ headline, want string }{
		{"Re\u0301sume\u0301", "resume"},
		{"Mu\u0308ller meets", "muller-meets"},
		{"Ca\u0300 va", "ca-va"},
	}
	for _, tt := range tests {
		if got := domain.Slugify(tt.headline); got != tt.want {
			t.Errorf("Slugify(%q) = %q; want %q", tt.headline, got, tt.want)
		}
	}
}

func TestSlugFor(t *testing.T) {
	tests := []struct {
		content domain.Content
		want    string
	}{
		{domain.Content{Headline: natoHeadline}, natoSlug},
		{domain.Content{Headline: natoHeadline, Slug: "nrc-2007"}, "nrc-2007"},
		{domain.Content{Headline: "!!!"}, ""},
		{domain.Content{Headline: "!!!", Slug: "exclamations"}, "exclamations"},
	}
	for _, tt := range tests {
		a := domain.Article{ID: articleID, Content: tt.content}
		if got := domain.SlugFor(a); got != tt.want {
			t.Errorf("SlugFor(headline %q, slug %q) = %q; want %q", tt.content.Headline, tt.content.Slug, got, tt.want)
		}
	}
}

// TestPublishUnderDerivedSlug checks the shell's path: the slug SlugFor derives for a headline
// is one Publish accepts, and one it refuses when the headline gives none.
func TestPublishUnderDerivedSlug(t *testing.T) {
	tests := []struct {
		headline string
		outcome  outcome
	}{
		{natoHeadline, outcome{}},
		{"Straße über Łódź", outcome{}},
		{"!!!", outcome{fields: []string{"slug"}}},
		{"Москва", outcome{fields: []string{"slug"}}},
	}
	for _, tt := range tests {
		d := natoDrafted()
		d.Headline = tt.headline
		given := history(by(reporter, d), by(reporter, domain.Submitted{}), by(editorA, domain.Approved{}))
		a := domain.Fold(articleID, given)
		slug := domain.SlugFor(a)
		got, err := domain.Decide(a, domain.Publish{Slug: slug}, domain.Decision{By: editorB, Now: now})
		want := tt.outcome
		if want.fields == nil {
			want.event = domain.Published{
				Slug: slug, PublishedAt: now, Headline: tt.headline, Summary: d.Summary, Body: d.Body,
				Language: d.Language, Byline: d.Byline, Dateline: d.Dateline, Tags: d.Tags,
			}
		}
		checkOutcome(t, "Decide(publish under SlugFor("+tt.headline+"))", got, err, want)
	}
}

// TestSlugDigest pins the digest a kill keeps of a slug: the shell finds the slug's reservation
// and the old URL's "gone" answer by it, so changing it strands every killed article.
func TestSlugDigest(t *testing.T) {
	tests := []struct {
		slug, want string
	}{
		{"", ""}, // no slug, nothing to find: not the digest of the empty string
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{natoSlug, "750b1f52bbaa97bcee01ab52e9ea98ac1ff89e0845418de74a7bf999eba8e548"},
		{"nrc-ministers-2", sha256Hex("nrc-ministers-2")},
	}
	for _, tt := range tests {
		if got := domain.SlugDigest(tt.slug); got != tt.want {
			t.Errorf("SlugDigest(%q) = %q; want %q", tt.slug, got, tt.want)
		}
	}
	if a, b := domain.SlugDigest("nato"), domain.SlugDigest("nato-2"); a == b {
		t.Errorf("SlugDigest(%q) = SlugDigest(%q) = %q; want different digests", "nato", "nato-2", a)
	}
}

func FuzzSlugify(f *testing.F) {
	for _, tt := range slugifyCases {
		f.Add(tt.headline)
	}
	f.Add(strings.Repeat("abcdefghij ", 12))
	f.Add(strings.Repeat("ß", 60))
	f.Add(strings.Repeat("a", 99) + " ß")
	f.Add("Re\u0301sume\u0301")
	f.Fuzz(func(t *testing.T, headline string) {
		got := domain.Slugify(headline)
		if got != "" && !domain.ValidSlug(got) {
			t.Errorf("Slugify(%q) = %q; want \"\" or a valid slug", headline, got)
		}
		if len(got) > domain.MaxSlug {
			t.Errorf("Slugify(%q) = %q; %d bytes, want at most %d", headline, got, len(got), domain.MaxSlug)
		}
		if !utf8.ValidString(got) {
			t.Errorf("Slugify(%q) = %q; want valid UTF-8", headline, got)
		}
		// An ASCII letter or digit is always kept, so such a headline never needs another slug.
		if strings.ContainsFunc(headline, isASCIIAlnum) && got == "" {
			t.Errorf("Slugify(%q) = \"\"; want a slug (the headline has an ASCII letter or digit)", headline)
		}
		if got != "" && domain.Slugify(got) != got {
			t.Errorf("Slugify(Slugify(%q)) = %q; want %q", headline, domain.Slugify(got), got)
		}
	})
}

func isASCIIAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}
