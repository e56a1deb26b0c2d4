package editorial

import (
	"errors"
	"strings"
	"testing"
)

func TestIfMatch(t *testing.T) {
	for _, tt := range []struct {
		name    string
		m       IfMatch
		version int
		matches bool
		says    string // part of the mismatch's message
	}{
		{"the current version", IfMatch{Versions: []int{3}}, 3, true, ""},
		{"a list holding it", IfMatch{Versions: []int{1, 3}}, 3, true, ""},
		{"any", IfMatch{Any: true}, 7, true, ""},
		{"another version", IfMatch{Versions: []int{2}}, 3, false, "version 3, not 2"},
		{"a list without it", IfMatch{Versions: []int{1, 2}}, 3, false, "not 1 or 2"},
		{"no version (weak tags only)", IfMatch{}, 3, false, "weak"},
	} {
		if got := tt.m.Matches(tt.version); got != tt.matches {
			t.Errorf("%s: %+v.Matches(%d) = %v; want %v", tt.name, tt.m, tt.version, got, tt.matches)
		}
		if tt.matches {
			continue
		}
		err := tt.m.mismatch(tt.version)
		if !errors.Is(err, ErrVersionMismatch) || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: mismatch(%d) = %v; want ErrVersionMismatch saying %q", tt.name, tt.version, err, tt.says)
		}
	}
}
