package domain_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/newsroom/newsroom/domain"
)

// Image ids of the tests: well formed, as the upload answers them.
const (
	imgMinisters = "0b7f3c2e-5d1a-4c8e-9f00-1a2b3c4d5e6f"
	imgLogo      = "7e6d5c4b-3a29-4817-b6f5-e4d3c2b1a090"
	imgMap       = "c0ffee00-1234-4abc-8def-0123456789ab"
)

func mainRef(id string) domain.MediaRef   { return domain.MediaRef{ID: id, Role: domain.MediaMain} }
func inlineRef(id string) domain.MediaRef { return domain.MediaRef{ID: id, Role: domain.MediaInline} }

// TestMediaRules gives a draft each list of images (and body) in turn; fields is nil when the
// content is valid, else the fields the validation error names.
func TestMediaRules(t *testing.T) {
	many := make([]domain.MediaRef, domain.MaxMedia+1)
	for i := range many {
		many[i] = inlineRef(strings.Replace(imgMap, "0123456789ab", "0123456789"+string(rune('a'+i/16))+string("0123456789abcdef"[i%16]), 1))
	}
	tests := []struct {
		name   string
		media  []domain.MediaRef
		body   string
		fields []string
	}{
		{name: "none", media: nil},
		{name: "an empty list", media: []domain.MediaRef{}},
		{name: "one main", media: []domain.MediaRef{mainRef(imgMinisters)}},
		{name: "main and inline", media: []domain.MediaRef{mainRef(imgMinisters), inlineRef(imgLogo), inlineRef(imgMap)}},
		{name: "inline only", media: []domain.MediaRef{inlineRef(imgLogo)}},
		{name: "two mains", media: []domain.MediaRef{mainRef(imgMinisters), mainRef(imgLogo)}, fields: []string{"media"}},
		{name: "the same image twice", media: []domain.MediaRef{mainRef(imgMinisters), inlineRef(imgMinisters)}, fields: []string{"media"}},
		{name: "an uppercase id", media: []domain.MediaRef{mainRef(strings.ToUpper(imgMinisters))}, fields: []string{"media"}},
		{name: "an id that is a path", media: []domain.MediaRef{mainRef("../../etc/passwd")}, fields: []string{"media"}},
		{name: "an empty id", media: []domain.MediaRef{mainRef("")}, fields: []string{"media"}},
		{name: "an unknown role", media: []domain.MediaRef{{ID: imgMinisters, Role: "hero"}}, fields: []string{"media"}},
		{name: "no role", media: []domain.MediaRef{{ID: imgMinisters}}, fields: []string{"media"}},
		{name: "a caption", media: []domain.MediaRef{{ID: imgMinisters, Role: domain.MediaMain, Caption: "Ministers at the NRC, 7 December."}}},
		{name: "a caption at the limit", media: []domain.MediaRef{{ID: imgMinisters, Role: domain.MediaMain, Caption: strings.Repeat("é", domain.MaxCaption)}}},
		{name: "a caption too long", media: []domain.MediaRef{{ID: imgMinisters, Role: domain.MediaMain, Caption: strings.Repeat("a", domain.MaxCaption+1)}}, fields: []string{"media"}},
		{name: "a caption with a control character", media: []domain.MediaRef{{ID: imgMinisters, Role: domain.MediaMain, Caption: "a\x00b"}}, fields: []string{"media"}},
		{name: "a caption with a bidi override", media: []domain.MediaRef{{ID: imgMinisters, Role: domain.MediaMain, Caption: "a\u202eb"}}, fields: []string{"media"}},
		{name: "too many images", media: many, fields: []string{"media"}},
		{name: "at most as many as allowed", media: many[:domain.MaxMedia]},
		// Inline images in the body must be among the article's images, whatever their role.
		{name: "the body places an inline image", media: []domain.MediaRef{inlineRef(imgLogo)}, body: "Text.\n\n![The NATO logo](media:" + imgLogo + ")"},
		{name: "the body places the main image", media: []domain.MediaRef{mainRef(imgMinisters)}, body: "![Ministers](media:" + imgMinisters + ` "At the table")`},
		{name: "the body places an image not listed", media: []domain.MediaRef{mainRef(imgMinisters)}, body: "![A map](media:" + imgMap + ")", fields: []string{"body"}},
		{name: "the body places an image with none listed", body: "![A map](media:" + imgMap + ")", fields: []string{"body"}},
		{name: "the body places a malformed id", body: "![x](media:nope)", fields: []string{"body"}},
		{name: "a link to an image is not a placement", body: "[see the map](media:" + imgMap + ")"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := natoContent()
			c.Media = tc.media
			if tc.body != "" {
				c.Body = tc.body
			}
			_, err := draft(c)
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("draft(media %v, body %s) = %v; want no error", tc.media, short(tc.body), err)
				}
				return
			}
			got, ok := fieldsOf(err)
			if !ok || !slices.Equal(dedupeFields(got), tc.fields) {
				t.Fatalf("draft(media %v, body %s) = %v; want a validation error on %v", tc.media, short(tc.body), err, tc.fields)
			}
		})
	}
}

func dedupeFields(fields []string) []string {
	var out []string
	for _, f := range fields {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func TestInlineMediaIDs(t *testing.T) {
	body := "Intro ![a](media:" + imgLogo + ") and ![b]( media:" + imgMap + ` "t") and again ![c](media:` + imgLogo + ")" +
		"\n\n![ext](https://example.org/x.jpg) [link](media:" + imgMinisters + ")"
	got := domain.InlineMediaIDs(body)
	if want := []string{imgLogo, imgMap}; !slices.Equal(got, want) {
		t.Fatalf("InlineMediaIDs(%q) = %v; want %v", body, got, want)
	}
	if got := domain.InlineMediaIDs("no images"); got != nil {
		t.Fatalf("InlineMediaIDs(no images) = %v; want nil", got)
	}
}

// TestDecideMedia: images travel through draft, revision, publication and correction as text
// does, and a change to them is a change to the text for the four-eyes rule.
func TestDecideMedia(t *testing.T) {
	withMain := []domain.MediaRef{mainRef(imgMinisters)}
	drafted := natoDrafted()
	drafted.Media = withMain
	givenDraftWithImage := func() []domain.Recorded { return history(by(reporter, drafted)) }
	givenPublishedWithImage := func() []domain.Recorded {
		return history(by(reporter, drafted), by(reporter, domain.Submitted{}), by(editorA, domain.Approved{}),
			by(editorA, domain.Published{Slug: natoSlug, PublishedAt: at(3), Media: withMain}))
	}
	both := []domain.MediaRef{mainRef(imgMinisters), {ID: imgLogo, Role: domain.MediaInline, Caption: "The logo"}}
	// The caption is written decomposed (e + U+0301) and recorded in NFC.
	decomposed := []domain.MediaRef{{ID: imgMinisters, Role: domain.MediaMain, Caption: "Re\u0301union"}}

	runDecideCases(t, []decideCase{
		{
			name: "a draft records its images", given: givenNone(), by: reporter,
			when: domain.Draft{Content: func() domain.Content { c := natoContent(); c.Media = withMain; return c }()},
			then: outcome{event: drafted},
		},
		{
			name: "a draft's captions are recorded in NFC", given: givenNone(), by: reporter,
			when: domain.Draft{Content: func() domain.Content { c := natoContent(); c.Media = decomposed; return c }()},
			then: outcome{event: func() domain.Drafted {
				d := natoDrafted()
				d.Media = []domain.MediaRef{{ID: imgMinisters, Role: domain.MediaMain, Caption: "R\u00e9union"}}
				return d
			}()},
		},
		{
			name: "a revision sets the images", given: givenDraft(), by: reporter,
			when: domain.Revise{Changes: domain.Changes{Media: &both}},
			then: outcome{event: domain.Revised{Changes: domain.Changes{Media: &both}}},
		},
		{
			name: "a revision removes every image", given: givenDraftWithImage(), by: reporter,
			when: domain.Revise{Changes: domain.Changes{Media: &[]domain.MediaRef{}}},
			then: outcome{event: domain.Revised{Changes: domain.Changes{Media: &[]domain.MediaRef{}}}},
		},
		{
			name: "a revision with two main images", given: givenDraft(), by: reporter,
			when: domain.Revise{Changes: domain.Changes{Media: &[]domain.MediaRef{mainRef(imgLogo), mainRef(imgMap)}}},
			then: outcome{fields: []string{"media"}},
		},
		{
			// The body still places the image the revision drops.
			name: "a revision drops an image the body places", by: reporter,
			given: history(by(reporter, func() domain.Drafted {
				d := natoDrafted()
				d.Body, d.Media = "![Logo](media:"+imgLogo+")", []domain.MediaRef{inlineRef(imgLogo)}
				return d
			}())),
			when: domain.Revise{Changes: domain.Changes{Media: &[]domain.MediaRef{}}},
			then: outcome{fields: []string{"body"}},
		},
		{
			name: "publication carries the images", given: history(by(reporter, drafted), by(reporter, domain.Submitted{}), by(editorA, domain.Approved{})),
			by: editorB, when: domain.Publish{Slug: natoSlug},
			then: outcome{event: domain.Published{Slug: natoSlug, PublishedAt: now, Headline: natoHeadline, Summary: drafted.Summary,
				Body: natoBody, Language: "en", Byline: drafted.Byline, Dateline: drafted.Dateline, Tags: drafted.Tags, Media: withMain}},
		},
		{
			// Changing the pictures of a published article is a public change: proposed, for
			// another editor to confirm.
			name: "a correction that changes the images is proposed", given: givenPublishedWithImage(), by: editorA,
			when: domain.Correct{Changes: domain.Changes{Media: &both}, Note: natoNote},
			then: outcome{event: domain.CorrectionProposed{Changes: domain.Changes{Media: &both}, Note: natoNote}},
		},
		{
			name: "a correction that sets the same images is a note alone", given: givenPublishedWithImage(), by: editorA,
			when: domain.Correct{Changes: domain.Changes{Media: &withMain}, Note: natoNote},
			then: outcome{event: func() domain.Corrected {
				c := natoCorrected(natoNote, nil)
				c.Media = withMain
				return c
			}()},
		},
		{
			name: "another editor confirms it: the public snapshot carries the new images", by: editorB,
			given: history(append(givenPublishedWithImage(), by(editorA, domain.CorrectionProposed{Changes: domain.Changes{Media: &both}, Note: natoNote}))...),
			when:  domain.ConfirmCorrection{},
			then: outcome{event: func() domain.Corrected {
				c := natoCorrected(natoNote, func(c *domain.Corrected) { c.ProposedBy = editorA.ID })
				c.Media = both
				return c
			}()},
		},
		{
			name: "the proposer may not confirm it", by: editorA,
			given: history(append(givenPublishedWithImage(), by(editorA, domain.CorrectionProposed{Changes: domain.Changes{Media: &both}, Note: natoNote}))...),
			when:  domain.ConfirmCorrection{}, then: outcome{err: domain.ErrSelfApproval},
		},
		{
			// A kill keeps which images the article showed (their ids say which images no live
			// article uses any more), not their captions.
			name: "a kill keeps the images' ids, not their captions", by: editorA,
			given: history(by(reporter, func() domain.Drafted { d := natoDrafted(); d.Media = both; return d }()),
				by(reporter, domain.Submitted{}), by(editorA, domain.Approved{}),
				by(editorA, domain.Published{Slug: natoSlug, PublishedAt: at(3), Media: both})),
			when: domain.Kill{Reason: natoKillReason},
			then: outcome{event: domain.Killed{Reason: natoKillReason, SlugDigest: domain.SlugDigest(natoSlug), Language: "en",
				CreatedBy: reporter.ID, CreatedAt: at(0), LastRevisedBy: reporter.ID, PublishedAt: at(3),
				Timeline: timelineOf(history(by(reporter, natoDrafted()), by(reporter, domain.Submitted{}), by(editorA, domain.Approved{}),
					by(editorA, domain.Published{}))),
				Media: []domain.MediaRef{mainRef(imgMinisters), inlineRef(imgLogo)}}},
		},
	})
}

// TestMediaFourEyes: whoever changes the images since the last approval wrote part of the
// article and may not approve it.
func TestMediaFourEyes(t *testing.T) {
	media := []domain.MediaRef{mainRef(imgMinisters)}
	h := history(by(reporter, natoDrafted()),
		by(editorA, domain.Revised{Changes: domain.Changes{Media: &media}}),
		by(reporter, domain.Submitted{}))
	a := domain.Fold(articleID, h)
	if !reflect.DeepEqual(a.Media, media) {
		t.Fatalf("Fold(…revised media).Media = %v; want %v", a.Media, media)
	}
	if _, err := domain.Decide(a, domain.Approve{}, domain.Decision{By: editorA, Now: now}); err == nil {
		t.Fatalf("editor A, who changed the images, approved the article; want ErrSelfApproval")
	}
	if _, err := domain.Decide(a, domain.Approve{}, domain.Decision{By: editorB, Now: now}); err != nil {
		t.Fatalf("editor B approves = %v; want no error", err)
	}
}

// TestEvolveMedia: the images an article shows follow its events, down to a kill.
func TestEvolveMedia(t *testing.T) {
	withMain := []domain.MediaRef{{ID: imgMinisters, Role: domain.MediaMain, Caption: "At the table"}}
	two := append(slices.Clone(withMain), inlineRef(imgLogo))
	d := natoDrafted()
	d.Media = withMain
	h := history(by(reporter, d), by(reporter, domain.Submitted{}), by(editorA, domain.Approved{}),
		by(editorA, domain.Published{Slug: natoSlug, PublishedAt: at(3), Media: withMain}))
	steps := []struct {
		name string
		then domain.Event
		want []domain.MediaRef
	}{
		{"published", nil, withMain},
		{"corrected with two", func() domain.Corrected { c := natoCorrected(natoNote, nil); c.Media = two; return c }(), two},
		{"corrected with none", natoCorrected(natoNote, nil), nil},
		{"killed", domain.Killed{Reason: natoKillReason, Media: []domain.MediaRef{inlineRef(imgLogo)}}, []domain.MediaRef{inlineRef(imgLogo)}},
	}
	for _, s := range steps {
		if s.then != nil {
			h = history(append(h, by(editorB, s.then))...)
		}
		if got := domain.Fold(articleID, h).Media; !reflect.DeepEqual(got, s.want) {
			t.Fatalf("after %s: Media = %v; want %v", s.name, got, s.want)
		}
	}
}
