package editorial

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
)

// catalog is what a media view would answer: the images it holds, by id.
type catalog struct {
	images map[string]domain.Image
	err    error
	asked  [][]string // the ids of every lookup, in order
}

func (c *catalog) Images(_ context.Context, ids []string) (map[string]domain.Image, error) {
	c.asked = append(c.asked, slices.Clone(ids))
	if c.err != nil {
		return nil, c.err
	}
	out := map[string]domain.Image{}
	for _, id := range ids {
		if img, ok := c.images[id]; ok {
			out[id] = img
		}
	}
	return out, nil
}

const (
	described = "11111111-1111-4111-8111-111111111111" // has its alt text
	noAlt     = "22222222-2222-4222-8222-222222222222" // has none
	blankAlt  = "33333333-3333-4333-8333-333333333333" // only spaces
	erased    = "44444444-4444-4444-8444-444444444444"
	unknown   = "55555555-5555-4555-8555-555555555555" // never uploaded
)

func testCatalog() *catalog {
	return &catalog{images: map[string]domain.Image{
		described: {ID: described, Alt: "Ministers around a table"},
		noAlt:     {ID: noAlt},
		blankAlt:  {ID: blankAlt, Alt: "  \t"},
		erased:    {ID: erased, Erased: true},
	}}
}

func refs(ids ...string) []domain.MediaRef {
	out := make([]domain.MediaRef, len(ids))
	for i, id := range ids {
		out[i] = domain.MediaRef{ID: id, Role: domain.MediaInline}
	}
	return out
}

func TestCheckMedia(t *testing.T) {
	ctx := context.Background()
	shows := func(ids ...string) domain.Article {
		return domain.Article{ID: "a1", Status: domain.StatusApproved, Version: 4, Content: domain.Content{Media: refs(ids...)}}
	}
	changing := func(ids ...string) *[]domain.MediaRef { r := refs(ids...); return &r }
	for _, tt := range []struct {
		name    string
		article domain.Article
		cmd     domain.Command
		invalid []string // parts of the media field errors, in order; nil: not a validation error
		noAlt   []string // the ids a MissingAltError names
		lookup  []string // the ids looked up; nil: no lookup
	}{
		{"draft with a described image", domain.Article{}, domain.Draft{Content: domain.Content{Media: refs(described)}}, nil, nil, []string{described}},
		{"draft with an image without alt (alt is asked at publication)", domain.Article{}, domain.Draft{Content: domain.Content{Media: refs(noAlt)}}, nil, nil, []string{noAlt}},
		{"draft with an unknown image", domain.Article{}, domain.Draft{Content: domain.Content{Media: refs(described, unknown)}},
			[]string{"no image has the id " + unknown}, nil, []string{described, unknown}},
		{"draft with an erased image", domain.Article{}, domain.Draft{Content: domain.Content{Media: refs(erased)}},
			[]string{"image " + erased + " was erased"}, nil, []string{erased}},
		{"draft with both", domain.Article{}, domain.Draft{Content: domain.Content{Media: refs(unknown, erased)}},
			[]string{"no image has the id " + unknown, "image " + erased + " was erased"}, nil, []string{unknown, erased}},
		{"draft without images", domain.Article{}, domain.Draft{Content: domain.Content{Headline: "h"}}, nil, nil, nil},
		{"revision adding an unknown image", shows(described), domain.Revise{Changes: domain.Changes{Media: changing(described, unknown)}},
			[]string{"no image has the id " + unknown}, nil, []string{unknown}},
		{"revision keeping an image erased since", shows(erased), domain.Revise{Changes: domain.Changes{Media: changing(erased)}}, nil, nil, nil},
		{"revision not changing images", shows(erased), domain.Revise{Changes: domain.Changes{Headline: new(string)}}, nil, nil, nil},
		{"revision removing every image", shows(described), domain.Revise{Changes: domain.Changes{Media: changing()}}, nil, nil, nil},
		{"correction adding an erased image", shows(described), domain.Correct{Changes: domain.Changes{Media: changing(described, erased)}, Note: "n"},
			[]string{"image " + erased + " was erased"}, nil, []string{erased}},
		{"publish with described images", shows(described), domain.Publish{}, nil, nil, []string{described}},
		{"publish with an image without alt", shows(described, noAlt), domain.Publish{}, nil, []string{noAlt}, []string{described, noAlt}},
		{"publish with blank alt", shows(blankAlt), domain.Publish{}, nil, []string{blankAlt}, []string{blankAlt}},
		{"publish with an image the view does not hold", shows(unknown, noAlt), domain.Publish{}, nil, []string{unknown, noAlt}, []string{unknown, noAlt}},
		{"publish without images", shows(), domain.Publish{}, nil, nil, nil},
		{"schedule with an image without alt", shows(noAlt), domain.Schedule{PublishAt: time.Now().Add(time.Hour)}, nil, []string{noAlt}, []string{noAlt}},
		{"scheduled publication with an image whose alt was removed", shows(described, noAlt), domain.PublishOnSchedule{PublishAt: time.Now()},
			nil, []string{noAlt}, []string{described, noAlt}},
		{"submit asks nothing", shows(noAlt, erased), domain.Submit{}, nil, nil, nil},
	} {
		c := testCatalog()
		err := (&Desk{Media: c}).checkMedia(ctx, tt.article, tt.cmd)
		var v *domain.ValidationError
		var alt *MissingAltError
		switch {
		case tt.invalid != nil:
			if !errors.As(err, &v) || len(v.Fields) != len(tt.invalid) {
				t.Errorf("%s: checkMedia = %v; want a validation error with %d fields", tt.name, err, len(tt.invalid))
				continue
			}
			for i, f := range v.Fields {
				if f.Field != "media" || !strings.Contains(f.Detail, tt.invalid[i]) {
					t.Errorf("%s: field error %d = %+v; want media saying %q", tt.name, i, f, tt.invalid[i])
				}
			}
		case tt.noAlt != nil:
			if !errors.As(err, &alt) || !slices.Equal(alt.IDs, tt.noAlt) {
				t.Errorf("%s: checkMedia = %v; want MissingAltError naming %v", tt.name, err, tt.noAlt)
			}
		case err != nil:
			t.Errorf("%s: checkMedia = %v; want nil", tt.name, err)
		}
		var asked []string
		for _, ids := range c.asked {
			asked = append(asked, ids...)
		}
		if !slices.Equal(asked, tt.lookup) {
			t.Errorf("%s: looked up %v; want %v", tt.name, asked, tt.lookup)
		}
	}
}

// TestCheckMediaCatalogFails: a view that does not answer refuses the command with its error,
// never lets it through unchecked; without a catalog nothing is checked.
func TestCheckMediaCatalogFails(t *testing.T) {
	ctx := context.Background()
	down := errors.New("database is down")
	a := domain.Article{ID: "a1", Status: domain.StatusApproved, Content: domain.Content{Media: refs(described)}}
	for _, tt := range []struct {
		article domain.Article
		cmd     domain.Command
	}{
		{a, domain.Publish{}},
		{domain.Article{}, domain.Draft{Content: domain.Content{Media: refs(described)}}},
	} {
		err := (&Desk{Media: &catalog{err: down}}).checkMedia(ctx, tt.article, tt.cmd)
		if !errors.Is(err, down) {
			t.Errorf("checkMedia(%T) with a failing catalog = %v; want its error", tt.cmd, err)
		}
	}
	if err := (&Desk{}).checkMedia(ctx, a, domain.Publish{}); err != nil {
		t.Errorf("checkMedia without a catalog = %v; want nil", err)
	}
}
