package http

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/projections"
)

// TestPublicArticleCorrections: an article read by its slug always carries its corrections, an
// empty list when none; a list page, which does not read them, leaves the field out rather
// than claim there are none.
func TestPublicArticleCorrections(t *testing.T) {
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name        string
		corrections []domain.Correction
		whole       bool
		want        string // the corrections field as rendered, "" for absent
	}{
		{"by slug, none", nil, true, `"corrections":[]`},
		{"by slug, two", []domain.Correction{{Note: "A typo.", At: at}, {Note: "A date.", At: at.Add(time.Hour)}}, true,
			`"corrections":[{"note":"A typo.","corrected_at":"2026-12-06T09:00:00Z"},{"note":"A date.","corrected_at":"2026-12-06T10:00:00Z"}]`},
		{"in a list", nil, false, ""},
	} {
		b, err := json.Marshal(publicArticleFrom(projections.PublicArticle{ID: "a", Corrections: tt.corrections}, tt.whole))
		if err != nil {
			t.Fatal(err)
		}
		if tt.want == "" && strings.Contains(string(b), `"corrections"`) || tt.want != "" && !strings.Contains(string(b), tt.want) {
			t.Errorf("%s: rendered %s; want %s", tt.name, b, tt.want)
		}
	}
}
