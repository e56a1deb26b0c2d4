package search_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/newsroom/newsroom/search"
)

func TestFold(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Zürich", "zurich"}, {"ZURICH", "zurich"}, {"Zu\u0308rich", "zurich"}, {"ministères", "ministeres"},
		{"Straße", "strasse"}, {"Œuvre", "oeuvre"}, {"ﬁnance", "finance"}, {"x²", "x2"}, {"Ærø", "aero"},
	} {
		if got := search.Fold(tt.in); got != tt.want {
			t.Errorf("Fold(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestStems(t *testing.T) {
	for _, tt := range []struct {
		lang       *search.Language
		a, b       string
		sameStem   bool
		stopA      bool
		wantSimple bool
	}{
		{lang: search.English, a: "meets", b: "meeting", sameStem: true},
		{lang: search.English, a: "security", b: "secured", sameStem: true},
		{lang: search.French, a: "ministres", b: "ministre", sameStem: true},
		{lang: search.French, a: "ministères", b: "ministère", sameStem: true},
		{lang: search.English, a: "the", b: "the", sameStem: true, stopA: true},
		{lang: search.French, a: "le", b: "le", sameStem: true, stopA: true},
	} {
		a, b := tt.lang.Stem(search.Fold(tt.a)), tt.lang.Stem(search.Fold(tt.b))
		if (a == b) != tt.sameStem {
			t.Errorf("%s: Stem(%q) = %q, Stem(%q) = %q; want the same: %v", tt.lang.Config, tt.a, a, tt.b, b, tt.sameStem)
		}
		if got := tt.lang.Stop(search.Fold(tt.a)); got != tt.stopA {
			t.Errorf("%s: Stop(%q) = %v; want %v", tt.lang.Config, tt.a, got, tt.stopA)
		}
	}
	for tag, want := range map[string]*search.Language{"en": search.English, "en-GB": search.English, "fr-CA": search.French,
		"FR": search.French, "de": search.Simple, "": search.Simple, "xx": search.Simple} {
		if got := search.LanguageOf(tag); got != want {
			t.Errorf("LanguageOf(%q) = %s; want %s", tag, got.Config, want.Config)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		q    string
		want string // the terms, as: word, "phrase", -excluded, prefix*
		err  string // part of the error, if refused
	}{
		{q: "maritime security", want: "maritime security"},
		{q: `"maritime security" -lavrov secur*`, want: `"maritime security" -lavrov secur*`},
		{q: `-"black sea" Zürich`, want: `-"black sea" zurich`},
		{q: "e-mail U.S.", want: `"e mail" "u s"`},
		{q: "  NATO  &  ", want: "nato"},
		{q: `"unbalanced`, err: "unbalanced quote"},
		{q: `a "b" "c`, err: "unbalanced quote"},
		{q: "-", err: `"-"`},
		{q: "nato - russia", err: `"-"`},
		{q: "*", err: `"*"`},
		{q: "nato *", err: `"*"`},
		{q: "se*cur", err: `only end a word`},
		{q: "se*", err: "at least 3 letters"},
		{q: "-nato", err: "only excludes"},
		{q: "", err: "no words"},
		{q: "&& ,,", err: "no words"},
		{q: `""`, err: "empty"},
		{q: strings.Repeat("a ", 300), err: "longer than"},
		{q: strings.Repeat("a ", 17), err: "more than 16"},
		{q: "\xff", err: "UTF-8"},
	} {
		q, err := search.Parse(tt.q)
		if tt.err != "" {
			var qe *search.QueryError
			if !errors.As(err, &qe) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Parse(%q) = %v; want a QueryError saying %q", tt.q, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q) = %v; want %s", tt.q, err, tt.want)
			continue
		}
		if got := show(q); got != tt.want {
			t.Errorf("Parse(%q) = %s; want %s", tt.q, got, tt.want)
		}
	}
}

func show(q search.Query) string {
	var parts []string
	for _, t := range q.Terms {
		s := strings.Join(t.Words, " ")
		if len(t.Words) > 1 {
			s = `"` + s + `"`
		}
		if t.Prefix {
			s += "*"
		}
		if t.Exclude {
			s = "-" + s
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestBranches(t *testing.T) {
	all := search.Languages
	for _, tt := range []struct {
		q      string
		langs  []*search.Language
		fts5   []string // per branch, in order
		tsq    []string
		refuse bool
	}{
		{q: "Meets Ministres", langs: []*search.Language{search.English},
			fts5: []string{`("enmeet" AND "enministr")`}, tsq: []string{"meets & ministres"}},
		{q: `"minister of defence" -lavrov secur*`, langs: []*search.Language{search.English},
			fts5: []string{`(("enminist enof endefenc" AND "ensecur" *) NOT ("enlavrov"))`},
			tsq:  []string{`(minister <-> of <-> defence) & !lavrov & secur:*`}},
		{q: "the meeting", langs: []*search.Language{search.English}, fts5: []string{`("enmeet")`}, tsq: []string{"meeting"}},
		{q: "the of and", langs: all, refuse: true},
		{q: "le la", langs: all, refuse: true},
		{q: "the le", langs: all, refuse: true},
		{q: "der die das", langs: []*search.Language{search.Simple}, fts5: []string{`("xxder" AND "xxdie" AND "xxdas")`}, tsq: []string{"der & die & das"}},
		{q: "son lavrov", langs: []*search.Language{search.English, search.French},
			fts5: []string{`("enson" AND "enlavrov")`, `("frlavrov")`}, tsq: []string{"son & lavrov", "lavrov"}},
	} {
		q, err := search.Parse(tt.q)
		if err != nil {
			t.Fatalf("Parse(%q) = %v", tt.q, err)
		}
		bs, err := q.Branches(tt.langs)
		if tt.refuse {
			var qe *search.QueryError
			if !errors.As(err, &qe) {
				t.Errorf("Branches(%q) = %v; want refused as only stop words", tt.q, err)
			}
			continue
		}
		if err != nil || len(bs) != len(tt.fts5) {
			t.Errorf("Branches(%q) = %d branches, %v; want %d", tt.q, len(bs), err, len(tt.fts5))
			continue
		}
		for i, b := range bs {
			if got := b.FTS5(); got != tt.fts5[i] {
				t.Errorf("Branches(%q)[%s].FTS5() = %s; want %s", tt.q, b.Language.Config, got, tt.fts5[i])
			}
			if got := b.TSQuery(); got != tt.tsq[i] {
				t.Errorf("Branches(%q)[%s].TSQuery() = %s; want %s", tt.q, b.Language.Config, got, tt.tsq[i])
			}
		}
	}
}

func matcher(t *testing.T, q string, l *search.Language) search.Matcher {
	t.Helper()
	p, err := search.Parse(q)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := p.Branches([]*search.Language{l})
	if err != nil || len(bs) != 1 {
		t.Fatalf("Branches(%q) = %v, %v", q, bs, err)
	}
	return bs[0].Matcher()
}

func TestSnippet(t *testing.T) {
	m := matcher(t, `meets secur* -russia`, search.English)
	if got, want := search.Highlight(`Ministers <b>meet</b> & "Security" matters; Russia`, m),
		`Ministers &lt;b&gt;<mark>meet</mark>&lt;/b&gt; &amp; &#34;<mark>Security</mark>&#34; matters; Russia`; got != want {
		t.Errorf("Highlight = %s\nwant %s", got, want)
	}
	long := strings.Repeat("filler words here. ", 40) + "The ministers were meeting <script>alert('x')</script> about security. " + strings.Repeat("more text. ", 40)
	got, found := search.Snippet(long, m)
	if !found || !strings.HasPrefix(got, "…") || !strings.HasSuffix(got, "…") {
		t.Errorf("Snippet = %q, %v; want a found excerpt cut at both ends", got, found)
	}
	for _, want := range []string{"<mark>meeting</mark>", "<mark>security</mark>", "&lt;script&gt;"} {
		if !strings.Contains(got, want) {
			t.Errorf("Snippet = %s; want it to hold %s", got, want)
		}
	}
	if strings.Contains(strings.ReplaceAll(strings.ReplaceAll(got, search.MarkOpen, ""), search.MarkClose, ""), "<") {
		t.Errorf("Snippet = %s: a < that is not a mark", got)
	}
	if got, found := search.Snippet("Nothing to see.", m); found || got != "Nothing to see." {
		t.Errorf("Snippet(no hit) = %q, %v; want the text, false", got, found)
	}
	fr := matcher(t, "zurich ministres", search.French)
	if got, want := search.Highlight("Le ministre à Zürich.", fr), "Le <mark>ministre</mark> à <mark>Zürich</mark>."; got != want {
		t.Errorf("Highlight(fr) = %s; want %s", got, want)
	}
}

func TestPlainText(t *testing.T) {
	got := search.PlainText("# Title\n\nSome **bold** and a [link](https://example.org/x).\n\n<script>alert(1)</script>\n\n- item one\n- item `two`")
	for _, want := range []string{"Title", "Some bold and a link.", "<script>alert(1)</script>", "item one", "item two"} {
		if !strings.Contains(got, want) {
			t.Errorf("PlainText = %q; want it to hold %q", got, want)
		}
	}
	if strings.Contains(got, "example.org") || strings.Contains(got, "**") {
		t.Errorf("PlainText = %q; want no link targets or emphasis marks", got)
	}
}

func BenchmarkSnippet(b *testing.B) {
	p, _ := search.Parse("maritime security")
	bs, _ := p.Branches([]*search.Language{search.English})
	m := bs[0].Matcher()
	text := strings.Repeat("Allied ministers met in Brussels to discuss maritime security and the defence of the Baltic Sea region. ", 30)
	b.ReportAllocs()
	for b.Loop() {
		search.Snippet(text, m)
	}
}
