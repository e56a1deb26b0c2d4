package http

import (
	"reflect"
	"testing"
)

func TestParseEntityTags(t *testing.T) {
	for _, tt := range []struct {
		lines []string
		tags  []entityTag
		star  bool
		ok    bool
	}{
		{[]string{`"3"`}, []entityTag{{false, "3"}}, false, true},
		{[]string{`W/"3"`}, []entityTag{{true, "3"}}, false, true},
		{[]string{`"1", W/"2" ,"3"`}, []entityTag{{false, "1"}, {true, "2"}, {false, "3"}}, false, true},
		{[]string{`"1"`, `"2"`}, []entityTag{{false, "1"}, {false, "2"}}, false, true},
		{[]string{` , "1",, `}, []entityTag{{false, "1"}}, false, true},
		{[]string{`"a,b"`}, []entityTag{{false, "a,b"}}, false, true}, // a comma is an etagc
		{[]string{`""`}, []entityTag{{false, ""}}, false, true},
		{[]string{` * `}, nil, true, true},
		{[]string{``}, nil, false, true},
		{nil, nil, false, true},
		{[]string{`*`, `"1"`}, nil, false, false},
		{[]string{`*, "1"`}, nil, false, false},
		{[]string{`4"`}, nil, false, false},
		{[]string{`""4""`}, nil, false, false},
		{[]string{`"4`}, nil, false, false},
		{[]string{`4`}, nil, false, false},
		{[]string{`w/"4"`}, nil, false, false},
		{[]string{`W/ "4"`}, nil, false, false},
		{[]string{`"4" "5"`}, nil, false, false},
		{[]string{`"a b"`}, nil, false, false},
		{[]string{"\"a\tb\""}, nil, false, false},
		{[]string{"\"a\x7fb\""}, nil, false, false},
	} {
		tags, star, ok := parseEntityTags(tt.lines)
		if !reflect.DeepEqual(tags, tt.tags) || star != tt.star || ok != tt.ok {
			t.Errorf("parseEntityTags(%q) = %v, %v, %v; want %v, %v, %v", tt.lines, tags, star, ok, tt.tags, tt.star, tt.ok)
		}
	}
}

func TestArticleVersion(t *testing.T) {
	for _, tt := range []struct {
		opaque string
		want   int
	}{
		{"1", 1}, {"42", 42}, {"0", 0}, {"-1", 0}, {"01", 0}, {"+1", 0}, {"1.0", 0}, {"", 0},
		{"99999999999999999999", 0}, {"3-abc", 0},
	} {
		v, ok := articleVersion(tt.opaque)
		if v != tt.want || ok != (tt.want != 0) {
			t.Errorf("articleVersion(%q) = %d, %v; want %d", tt.opaque, v, ok, tt.want)
		}
	}
}

// TestETagListMatches: If-None-Match compares weakly.
func TestETagListMatches(t *testing.T) {
	const tag = `"4-abc"`
	for _, tt := range []struct {
		lines []string
		want  bool
	}{
		{[]string{`"4-abc"`}, true},
		{[]string{`W/"4-abc"`}, true},
		{[]string{`"3", W/"4-abc"`}, true},
		{[]string{`"3"`, `"4-abc"`}, true},
		{[]string{`*`}, true},
		{[]string{`"4-abd"`}, false},
		{[]string{`4-abc`}, false},
		{[]string{``}, false},
		{nil, false},
	} {
		if got := etagListMatches(tt.lines, tag); got != tt.want {
			t.Errorf("etagListMatches(%q, %s) = %v; want %v", tt.lines, tag, got, tt.want)
		}
	}
}
