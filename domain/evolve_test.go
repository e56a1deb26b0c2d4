package domain_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
)

// TestFold checks the article each history folds to. A case's want leaves Timeline out when it
// is one step for each given record, as timelineOf derives it; a case sets it only when the
// log no longer holds the earlier steps (a kill).
func TestFold(t *testing.T) {
	nato := natoContent()
	tests := []struct {
		name  string
		given []domain.Recorded
		want  domain.Article
	}{
		{
			name:  "no events",
			given: nil,
			want:  domain.Article{ID: articleID},
		},
		{
			name:  "drafted",
			given: givenDraft(),
			want: domain.Article{
				ID: articleID, Status: domain.StatusDraft, Version: 1, Content: nato,
				CreatedBy: reporter.ID, LastRevisedBy: reporter.ID, Writers: []string{reporter.ID}, CreatedAt: at(0), UpdatedAt: at(0),
			},
		},
		{
			name:  "submitted",
			given: givenInReview(),
			want: domain.Article{
				ID: articleID, Status: domain.StatusInReview, Version: 2, Content: nato,
				CreatedBy: reporter.ID, LastRevisedBy: reporter.ID, Writers: []string{reporter.ID}, CreatedAt: at(0), UpdatedAt: at(1),
			},
		},
		{
			// Approving is not writing: LastRevisedBy stays the author.
			name:  "approved",
			given: givenApproved(),
			want: domain.Article{
				ID: articleID, Status: domain.StatusApproved, Version: 3, Content: nato,
				CreatedBy: reporter.ID, LastRevisedBy: reporter.ID, CreatedAt: at(0), UpdatedAt: at(2),
			},
		},
		{
			name:  "published",
			given: givenPublished(),
			want: domain.Article{
				ID: articleID, Status: domain.StatusPublished, Version: 4,
				Content:   domain.Content{Headline: nato.Headline, Summary: nato.Summary, Body: nato.Body, Language: "en", Byline: nato.Byline, Dateline: nato.Dateline, Tags: nato.Tags, Slug: natoSlug},
				CreatedBy: reporter.ID, LastRevisedBy: reporter.ID, CreatedAt: at(0), UpdatedAt: at(3), PublishedAt: at(3),
			},
		},
		{
			name: "revised by an editor",
			given: history(by(reporter, natoDrafted()),
				by(editorA, domain.Revised{Changes: domain.Changes{Headline: ptr("NATO and Russia meet")}})),
			want: domain.Article{
				ID: articleID, Status: domain.StatusDraft, Version: 2,
				Content:   domain.Content{Headline: "NATO and Russia meet", Summary: nato.Summary, Body: nato.Body, Language: "en", Byline: nato.Byline, Dateline: nato.Dateline, Tags: nato.Tags},
				CreatedBy: reporter.ID, LastRevisedBy: editorA.ID, Writers: []string{reporter.ID, editorA.ID}, CreatedAt: at(0), UpdatedAt: at(1),
			},
		},
		{
			name: "revised twice: the latest reviser counts, every writer is one",
			given: history(by(reporter, natoDrafted()),
				by(editorA, domain.Revised{Changes: domain.Changes{Summary: ptr("one")}}),
				by(editorB, domain.Revised{Changes: domain.Changes{Summary: ptr("two")}}),
				by(reporter, domain.Submitted{})),
			want: domain.Article{
				ID: articleID, Status: domain.StatusInReview, Version: 4,
				Content:   domain.Content{Headline: nato.Headline, Summary: "two", Body: nato.Body, Language: "en", Byline: nato.Byline, Dateline: nato.Dateline, Tags: nato.Tags},
				CreatedBy: reporter.ID, LastRevisedBy: editorB.ID, Writers: []string{reporter.ID, editorA.ID, editorB.ID}, CreatedAt: at(0), UpdatedAt: at(3),
			},
		},
		{
			// Published records when the article first went out; the record says when the
			// event was written. They may differ, and PublishedAt follows the event.
			name: "PublishedAt comes from the event, UpdatedAt from the record",
			given: append(givenApproved(), domain.Recorded{
				Event: domain.Published{Slug: natoSlug, PublishedAt: t0.Add(-24 * time.Hour)}, By: editorA, Version: 4, At: at(9),
			}),
			want: domain.Article{
				ID: articleID, Status: domain.StatusPublished, Version: 4,
				Content:   domain.Content{Headline: nato.Headline, Summary: nato.Summary, Body: nato.Body, Language: "en", Byline: nato.Byline, Dateline: nato.Dateline, Tags: nato.Tags, Slug: natoSlug},
				CreatedBy: reporter.ID, LastRevisedBy: reporter.ID, CreatedAt: at(0), UpdatedAt: at(9), PublishedAt: t0.Add(-24 * time.Hour),
			},
		},
		{
			name:  "changes requested: not a revision",
			given: givenChangesRequested(),
			want: domain.Article{
				ID: articleID, Status: domain.StatusChangesRequested, Version: 3, Content: nato,
				CreatedBy: reporter.ID, LastRevisedBy: reporter.ID, Writers: []string{reporter.ID}, CreatedAt: at(0), UpdatedAt: at(2),
			},
		},
		{
			name: "revised in review: back to draft",
			given: history(append(givenInReview(),
				by(editorA, domain.Revised{Changes: domain.Changes{Summary: ptr("late")}}))...),
			want: domain.Article{
				ID: articleID, Status: domain.StatusDraft, Version: 3,
				Content:   domain.Content{Headline: nato.Headline, Summary: "late", Body: nato.Body, Language: "en", Byline: nato.Byline, Dateline: nato.Dateline, Tags: nato.Tags},
				CreatedBy: reporter.ID, LastRevisedBy: editorA.ID, Writers: []string{reporter.ID, editorA.ID}, CreatedAt: at(0), UpdatedAt: at(2),
			},
		},
		{
			name: "revised once approved: the approval lapses",
			given: history(append(givenApproved(),
				by(editorB, domain.Revised{Changes: domain.Changes{Byline: ptr("")}}))...),
			want: domain.Article{
				ID: articleID, Status: domain.StatusDraft, Version: 4,
				Content:   domain.Content{Headline: nato.Headline, Summary: nato.Summary, Body: nato.Body, Language: "en", Dateline: nato.Dateline, Tags: nato.Tags},
				CreatedBy: reporter.ID, LastRevisedBy: editorB.ID, Writers: []string{editorB.ID}, CreatedAt: at(0), UpdatedAt: at(3),
			},
		},
		{
			name: "revised after changes were requested",
			given: history(append(givenChangesRequested(),
				by(reporter2, domain.Revised{Changes: domain.Changes{Body: ptr("b2")}}))...),
			want: domain.Article{
				ID: articleID, Status: domain.StatusDraft, Version: 4,
				Content:   domain.Content{Headline: nato.Headline, Summary: nato.Summary, Body: "b2", Language: "en", Byline: nato.Byline, Dateline: nato.Dateline, Tags: nato.Tags},
				CreatedBy: reporter.ID, LastRevisedBy: reporter2.ID, Writers: []string{reporter.ID, reporter2.ID}, CreatedAt: at(0), UpdatedAt: at(3),
			},
		},
		{
			// The content is the event's snapshot; the slug and the first PublishedAt stay.
			name: "corrected",
			given: history(append(givenPublished(), by(editorB, natoCorrected(natoNote, func(c *domain.Corrected) {
				c.Headline, c.Summary, c.Tags = "NATO-Russia ministers meet", "", []string{"nrc"}
			})))...),
			want: domain.Article{
				ID: articleID, Status: domain.StatusPublished, Version: 5,
				Content:   domain.Content{Headline: "NATO-Russia ministers meet", Body: nato.Body, Language: "en", Byline: nato.Byline, Dateline: nato.Dateline, Tags: []string{"nrc"}, Slug: natoSlug},
				CreatedBy: reporter.ID, LastRevisedBy: editorB.ID, Writers: []string{editorB.ID}, CreatedAt: at(0), UpdatedAt: at(4), PublishedAt: at(3),
				Corrections: []domain.Correction{{Note: natoNote, At: at(4)}},
			},
		},
		{
			name: "corrected twice: corrections oldest first",
			given: history(append(givenCorrected("b2"),
				by(admin, natoCorrected("second", func(c *domain.Corrected) { c.Body = "b3" })))...),
			want: domain.Article{
				ID: articleID, Status: domain.StatusPublished, Version: 6,
				Content:   domain.Content{Headline: nato.Headline, Summary: nato.Summary, Body: "b3", Language: "en", Byline: nato.Byline, Dateline: nato.Dateline, Tags: nato.Tags, Slug: natoSlug},
				CreatedBy: reporter.ID, LastRevisedBy: admin.ID, Writers: []string{editorB.ID, admin.ID}, CreatedAt: at(0), UpdatedAt: at(5), PublishedAt: at(3),
				Corrections: []domain.Correction{{Note: natoNote, At: at(4)}, {Note: "second", At: at(5)}},
			},
		},
		{
			// A retracted article keeps its text and slug: it stays at its URL as a notice.
			name:  "retracted",
			given: givenRetracted(),
			want: domain.Article{
				ID: articleID, Status: domain.StatusRetracted, Version: 5,
				Content:   domain.Content{Headline: nato.Headline, Summary: nato.Summary, Body: nato.Body, Language: "en", Byline: nato.Byline, Dateline: nato.Dateline, Tags: nato.Tags, Slug: natoSlug},
				CreatedBy: reporter.ID, LastRevisedBy: reporter.ID, CreatedAt: at(0), UpdatedAt: at(4), PublishedAt: at(3),
				RetractedReason: natoReason, RetractedAt: at(4),
			},
		},
		{
			name:  "retracted after a correction",
			given: history(append(givenCorrected("b2"), by(admin, domain.Retracted{Reason: natoReason}))...),
			want: domain.Article{
				ID: articleID, Status: domain.StatusRetracted, Version: 6,
				Content:   domain.Content{Headline: nato.Headline, Summary: nato.Summary, Body: "b2", Language: "en", Byline: nato.Byline, Dateline: nato.Dateline, Tags: nato.Tags, Slug: natoSlug},
				CreatedBy: reporter.ID, LastRevisedBy: editorB.ID, Writers: []string{editorB.ID}, CreatedAt: at(0), UpdatedAt: at(5), PublishedAt: at(3),
				Corrections:     []domain.Correction{{Note: natoNote, At: at(4)}},
				RetractedReason: natoReason, RetractedAt: at(5),
			},
		},
		{
			name:  "spiked draft",
			given: givenSpiked(),
			want: domain.Article{
				ID: articleID, Status: domain.StatusSpiked, Version: 2, Content: nato,
				CreatedBy: reporter.ID, LastRevisedBy: reporter.ID, Writers: []string{reporter.ID}, CreatedAt: at(0), UpdatedAt: at(1),
			},
		},
		{
			name:  "spiked once approved, by an editor",
			given: history(append(givenApproved(), by(editorB, domain.Spiked{}))...),
			want: domain.Article{
				ID: articleID, Status: domain.StatusSpiked, Version: 4, Content: nato,
				CreatedBy: reporter.ID, LastRevisedBy: reporter.ID, CreatedAt: at(0), UpdatedAt: at(3),
			},
		},
		{
			// A kill keeps no text: not the content but its language, not the slug, corrections
			// or retraction; and the timestamps and writers the desk shows.
			name:  "killed",
			given: givenKilled(),
			want: domain.Article{
				ID: articleID, Status: domain.StatusKilled, Version: 5, Content: domain.Content{Language: "en"},
				CreatedBy: reporter.ID, LastRevisedBy: reporter.ID, CreatedAt: at(0), UpdatedAt: at(4), PublishedAt: at(3),
			},
		},
		{
			name:  "killed once corrected and retracted",
			given: thenKilled(history(append(givenCorrected("b2"), by(admin, domain.Retracted{Reason: natoReason}))...), admin),
			want: domain.Article{
				ID: articleID, Status: domain.StatusKilled, Version: 7, Content: domain.Content{Language: "en"},
				CreatedBy: reporter.ID, LastRevisedBy: editorB.ID, CreatedAt: at(0), UpdatedAt: at(6), PublishedAt: at(3),
			},
		},
		{
			// Once the earlier events are erased, the kill alone makes the article: its timeline
			// is the one the event carries, then the kill.
			name: "killed, the earlier events erased",
			given: []domain.Recorded{{
				Event: domain.Killed{
					Reason: natoKillReason, SlugDigest: domain.SlugDigest(natoSlug), Language: "fr",
					CreatedBy: reporter2.ID, CreatedAt: at(1), LastRevisedBy: editorB.ID, PublishedAt: at(2),
					Timeline: []domain.Step{
						{Type: domain.TypeDrafted, Version: 1, ActorID: reporter2.ID, ActorRole: domain.RoleReporter, At: at(1)},
						{Type: domain.TypePublished, Version: 7, ActorID: editorB.ID, ActorRole: domain.RoleEditor, At: at(2)},
					},
				},
				Version: 8, By: admin, At: at(3),
			}},
			want: domain.Article{
				ID: articleID, Status: domain.StatusKilled, Version: 8, Content: domain.Content{Language: "fr"},
				CreatedBy: reporter2.ID, LastRevisedBy: editorB.ID, CreatedAt: at(1), UpdatedAt: at(3), PublishedAt: at(2),
				Timeline: []domain.Step{
					{Type: domain.TypeDrafted, Version: 1, ActorID: reporter2.ID, ActorRole: domain.RoleReporter, At: at(1)},
					{Type: domain.TypePublished, Version: 7, ActorID: editorB.ID, ActorRole: domain.RoleEditor, At: at(2)},
					{Type: domain.TypeKilled, Version: 8, ActorID: admin.ID, ActorRole: domain.RoleAdmin, At: at(3)},
				},
			},
		},
		{
			// The version is the one the log recorded, not a count Evolve keeps.
			name:  "version from the record",
			given: []domain.Recorded{{Event: natoDrafted(), Version: 7, By: reporter, At: at(0)}},
			want: domain.Article{
				ID: articleID, Status: domain.StatusDraft, Version: 7, Content: nato,
				CreatedBy: reporter.ID, LastRevisedBy: reporter.ID, Writers: []string{reporter.ID}, CreatedAt: at(0), UpdatedAt: at(0),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want.Timeline == nil {
				want.Timeline = timelineOf(tt.given)
			}
			got := domain.Fold(articleID, tt.given)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Fold(%q, %s) =\n %+v;\nwant\n %+v", articleID, tt.name, got, want)
			}
			if got.Exists() != (len(tt.given) > 0) {
				t.Errorf("Fold(%s).Exists() = %v; want %v", tt.name, got.Exists(), len(tt.given) > 0)
			}
		})
	}
}

// TestEvolveRevised checks each editable field: a nil change leaves it, a value replaces it,
// an empty string or list clears it.
func TestEvolveRevised(t *testing.T) {
	base := domain.Content{
		Headline: "h0", Summary: "s0", Body: "b0", Language: "fr", Byline: "by0", Dateline: "d0",
		Tags: []string{"t0"}, Slug: "slug-0",
	}
	with := func(change func(*domain.Content)) domain.Content {
		c := base
		c.Tags = append([]string(nil), base.Tags...)
		change(&c)
		return c
	}
	tests := []struct {
		name    string
		changes domain.Changes
		want    domain.Content
	}{
		{"nothing set", domain.Changes{}, base},
		{"headline", domain.Changes{Headline: ptr("h1")}, with(func(c *domain.Content) { c.Headline = "h1" })},
		{"summary", domain.Changes{Summary: ptr("s1")}, with(func(c *domain.Content) { c.Summary = "s1" })},
		{"summary cleared", domain.Changes{Summary: ptr("")}, with(func(c *domain.Content) { c.Summary = "" })},
		{"body", domain.Changes{Body: ptr("b1")}, with(func(c *domain.Content) { c.Body = "b1" })},
		{"body cleared", domain.Changes{Body: ptr("")}, with(func(c *domain.Content) { c.Body = "" })},
		{"language", domain.Changes{Language: ptr("pt-BR")}, with(func(c *domain.Content) { c.Language = "pt-BR" })},
		{"language cleared", domain.Changes{Language: ptr("")}, with(func(c *domain.Content) { c.Language = "" })},
		{"byline", domain.Changes{Byline: ptr("by1")}, with(func(c *domain.Content) { c.Byline = "by1" })},
		{"byline cleared", domain.Changes{Byline: ptr("")}, with(func(c *domain.Content) { c.Byline = "" })},
		{"dateline", domain.Changes{Dateline: ptr("d1")}, with(func(c *domain.Content) { c.Dateline = "d1" })},
		{"dateline cleared", domain.Changes{Dateline: ptr("")}, with(func(c *domain.Content) { c.Dateline = "" })},
		{"tags", domain.Changes{Tags: ptr([]string{"t1", "t2"})}, with(func(c *domain.Content) { c.Tags = []string{"t1", "t2"} })},
		{"tags cleared", domain.Changes{Tags: ptr([]string{})}, with(func(c *domain.Content) { c.Tags = []string{} })},
		{"slug", domain.Changes{Slug: ptr("slug-1")}, with(func(c *domain.Content) { c.Slug = "slug-1" })},
		{"slug cleared", domain.Changes{Slug: ptr("")}, with(func(c *domain.Content) { c.Slug = "" })},
		{
			"several", domain.Changes{Headline: ptr("h1"), Body: ptr(""), Tags: ptr([]string{"t1"})},
			with(func(c *domain.Content) { c.Headline, c.Body, c.Tags = "h1", "", []string{"t1"} }),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := domain.Article{
				ID: articleID, Status: domain.StatusDraft, Version: 1, Content: with(func(*domain.Content) {}),
				CreatedBy: reporter.ID, LastRevisedBy: reporter.ID, CreatedAt: at(0), UpdatedAt: at(0),
			}
			got := domain.Evolve(before, domain.Recorded{
				Event: domain.Revised{Changes: tt.changes}, Version: 2, By: editorA, At: at(1),
			})
			if !reflect.DeepEqual(got.Content, tt.want) {
				t.Errorf("Evolve(Revised %s).Content = %+v; want %+v", tt.name, got.Content, tt.want)
			}
			if got.Version != 2 || !got.UpdatedAt.Equal(at(1)) || !got.CreatedAt.Equal(at(0)) {
				t.Errorf("Evolve(Revised %s) = version %d, created %v, updated %v; want 2, %v, %v",
					tt.name, got.Version, got.CreatedAt, got.UpdatedAt, at(0), at(1))
			}
			if got.LastRevisedBy != editorA.ID || got.CreatedBy != reporter.ID || got.Status != domain.StatusDraft {
				t.Errorf("Evolve(Revised %s) = last revised by %q, created by %q, status %q; want %q, %q, %q",
					tt.name, got.LastRevisedBy, got.CreatedBy, got.Status, editorA.ID, reporter.ID, domain.StatusDraft)
			}
			if !reflect.DeepEqual(before.Content, base) {
				t.Errorf("Evolve(Revised %s) changed the article it was given: %+v; want %+v", tt.name, before.Content, base)
			}
		})
	}
}

// TestEvolveTimestamps checks, event by event, which of the three timestamps each one moves.
func TestEvolveTimestamps(t *testing.T) {
	log := history(
		by(reporter, natoDrafted()),
		by(editorA, domain.Revised{Changes: domain.Changes{Summary: ptr("s")}}),
		by(reporter, domain.Submitted{}),
		by(editorB, domain.Approved{}),
		by(editorB, domain.Published{Slug: natoSlug, PublishedAt: at(4)}),
	)
	var never time.Time
	want := []struct {
		version                     int
		created, updated, published time.Time
		status                      domain.Status
		lastRevisedBy               string
	}{
		{1, at(0), at(0), never, domain.StatusDraft, reporter.ID},
		{2, at(0), at(1), never, domain.StatusDraft, editorA.ID},
		{3, at(0), at(2), never, domain.StatusInReview, editorA.ID},
		{4, at(0), at(3), never, domain.StatusApproved, editorA.ID},
		{5, at(0), at(4), at(4), domain.StatusPublished, editorA.ID},
	}
	a := domain.Article{ID: articleID}
	for i, r := range log {
		a = domain.Evolve(a, r)
		w := want[i]
		event := r.Event.EventType()
		if !a.CreatedAt.Equal(w.created) || !a.UpdatedAt.Equal(w.updated) || !a.PublishedAt.Equal(w.published) {
			t.Errorf("after %s: created, updated, published = %v, %v, %v; want %v, %v, %v",
				event, a.CreatedAt, a.UpdatedAt, a.PublishedAt, w.created, w.updated, w.published)
		}
		if a.Version != w.version || a.Status != w.status || a.CreatedBy != reporter.ID || a.LastRevisedBy != w.lastRevisedBy {
			t.Errorf("after %s: version %d, status %q, created by %q, last revised by %q; want %d, %q, %q, %q",
				event, a.Version, a.Status, a.CreatedBy, a.LastRevisedBy, w.version, w.status, reporter.ID, w.lastRevisedBy)
		}
	}
}

// TestFoldIsEvolveInOrder checks that Fold is Evolve applied oldest first, from an article that
// holds only its id.
func TestFoldIsEvolveInOrder(t *testing.T) {
	log := givenPublished()
	for n := 0; n <= len(log); n++ {
		want := domain.Article{ID: articleID}
		for _, r := range log[:n] {
			want = domain.Evolve(want, r)
		}
		if got := domain.Fold(articleID, log[:n]); !reflect.DeepEqual(got, want) {
			t.Errorf("Fold(first %d events) = %+v; want %+v", n, got, want)
		}
	}
}

// TestEvolveCorrectedLeavesCorrectionsAlone checks that Evolve never writes into the
// Corrections of the article it is given, even when that slice has room to grow: two states
// evolved from one must not share their latest correction.
func TestEvolveCorrectedLeavesCorrectionsAlone(t *testing.T) {
	first := domain.Correction{Note: natoNote, At: at(4)}
	corrections := make([]domain.Correction, 1, 8)
	corrections[0] = first
	before := domain.Fold(articleID, givenPublished())
	before.Corrections = corrections
	record := func(note string) domain.Recorded {
		return domain.Recorded{Event: natoCorrected(note, nil), Version: 6, By: editorB, At: at(5)}
	}
	a := domain.Evolve(before, record("from a"))
	b := domain.Evolve(before, record("from b"))
	if want := []domain.Correction{first, {Note: "from a", At: at(5)}}; !reflect.DeepEqual(a.Corrections, want) {
		t.Errorf("Evolve(Corrected a).Corrections = %+v; want %+v", a.Corrections, want)
	}
	if want := []domain.Correction{first, {Note: "from b", At: at(5)}}; !reflect.DeepEqual(b.Corrections, want) {
		t.Errorf("Evolve(Corrected b).Corrections = %+v; want %+v", b.Corrections, want)
	}
	if len(before.Corrections) != 1 || before.Corrections[0] != first || corrections[:2][1] != (domain.Correction{}) {
		t.Errorf("Evolve(Corrected) wrote into the given article's corrections: %+v (spare %+v)", before.Corrections, corrections[:2])
	}
}

// TestEvolveTimeline checks that each event adds one step, with the record's version, actor,
// role and time, and that no step carries words.
func TestEvolveTimeline(t *testing.T) {
	log := history(
		by(reporter, natoDrafted()),
		by(reporter2, domain.Revised{Changes: domain.Changes{Summary: ptr("s")}}),
		by(reporter, domain.Submitted{}),
		by(editorA, domain.ChangesRequested{Comment: natoComment}),
		by(reporter, domain.Submitted{}),
		by(editorB, domain.Approved{}),
		by(editorA, domain.Published{Slug: natoSlug, PublishedAt: at(6)}),
		by(admin, natoCorrected(natoNote, nil)),
		by(editorB, domain.Retracted{Reason: natoReason}),
	)
	want := []domain.Step{
		{Type: "article.drafted", Version: 1, ActorID: "u-rep-1", ActorRole: "reporter", At: at(0)},
		{Type: "article.revised", Version: 2, ActorID: "u-rep-2", ActorRole: "reporter", At: at(1)},
		{Type: "article.submitted", Version: 3, ActorID: "u-rep-1", ActorRole: "reporter", At: at(2)},
		{Type: "article.changes_requested", Version: 4, ActorID: "u-ed-a", ActorRole: "editor", At: at(3)},
		{Type: "article.submitted", Version: 5, ActorID: "u-rep-1", ActorRole: "reporter", At: at(4)},
		{Type: "article.approved", Version: 6, ActorID: "u-ed-b", ActorRole: "editor", At: at(5)},
		{Type: "article.published", Version: 7, ActorID: "u-ed-a", ActorRole: "editor", At: at(6)},
		{Type: "article.corrected", Version: 8, ActorID: "u-adm-1", ActorRole: "admin", At: at(7)},
		{Type: "article.retracted", Version: 9, ActorID: "u-ed-b", ActorRole: "editor", At: at(8)},
	}
	a := domain.Article{ID: articleID}
	if a.Timeline != nil {
		t.Fatalf("Article{ID: %q}.Timeline = %+v; want none", articleID, a.Timeline)
	}
	for i, r := range log {
		a = domain.Evolve(a, r)
		if !reflect.DeepEqual(a.Timeline, want[:i+1]) {
			t.Errorf("after %s: Timeline =\n %+v;\nwant\n %+v", r.Event.EventType(), a.Timeline, want[:i+1])
		}
	}
}

// TestEvolveLeavesTimelineAlone checks that Evolve never writes into the Timeline of the article
// it is given, nor into the one a Killed event carries, even when that slice has room to grow:
// two states evolved from one must not share their latest step.
func TestEvolveLeavesTimelineAlone(t *testing.T) {
	first := domain.Step{Type: domain.TypeDrafted, Version: 1, ActorID: reporter.ID, ActorRole: reporter.Role, At: at(0)}
	spare := func() []domain.Step {
		s := make([]domain.Step, 1, 8)
		s[0] = first
		return s
	}
	record := func(e domain.Event, a domain.Actor) domain.Recorded {
		return domain.Recorded{Event: e, Version: 2, By: a, At: at(1)}
	}
	step := func(e domain.Event, a domain.Actor) domain.Step {
		return domain.Step{Type: e.EventType(), Version: 2, ActorID: a.ID, ActorRole: a.Role, At: at(1)}
	}
	t.Run("article", func(t *testing.T) {
		timeline := spare()
		before := domain.Fold(articleID, givenDraft())
		before.Timeline = timeline
		a := domain.Evolve(before, record(domain.Submitted{}, reporter))
		b := domain.Evolve(before, record(domain.Spiked{}, editorA))
		if want := []domain.Step{first, step(domain.Submitted{}, reporter)}; !reflect.DeepEqual(a.Timeline, want) {
			t.Errorf("Evolve(Submitted).Timeline = %+v; want %+v", a.Timeline, want)
		}
		if want := []domain.Step{first, step(domain.Spiked{}, editorA)}; !reflect.DeepEqual(b.Timeline, want) {
			t.Errorf("Evolve(Spiked).Timeline = %+v; want %+v", b.Timeline, want)
		}
		if len(before.Timeline) != 1 || before.Timeline[0] != first || timeline[:2][1] != (domain.Step{}) {
			t.Errorf("Evolve wrote into the given article's timeline: %+v (spare %+v)", before.Timeline, timeline[:2])
		}
	})
	t.Run("killed event", func(t *testing.T) {
		timeline := spare()
		e := domain.Killed{Reason: natoKillReason, Timeline: timeline}
		a := domain.Evolve(domain.Article{ID: articleID}, record(e, editorA))
		b := domain.Evolve(domain.Article{ID: articleID}, record(e, admin))
		if want := []domain.Step{first, step(e, editorA)}; !reflect.DeepEqual(a.Timeline, want) {
			t.Errorf("Evolve(Killed by editor).Timeline = %+v; want %+v", a.Timeline, want)
		}
		if want := []domain.Step{first, step(e, admin)}; !reflect.DeepEqual(b.Timeline, want) {
			t.Errorf("Evolve(Killed by admin).Timeline = %+v; want %+v", b.Timeline, want)
		}
		if len(e.Timeline) != 1 || e.Timeline[0] != first || timeline[:2][1] != (domain.Step{}) {
			t.Errorf("Evolve wrote into the Killed event's timeline: %+v (spare %+v)", e.Timeline, timeline[:2])
		}
	})
}

// TestEvolveDeskEvents checks, event by event, what each event of the desk moves, on a history
// that passes through every status.
func TestEvolveDeskEvents(t *testing.T) {
	log := history(
		by(reporter, natoDrafted()),
		by(reporter, domain.Submitted{}),
		by(editorA, domain.ChangesRequested{Comment: natoComment}),
		by(reporter, domain.Revised{Changes: domain.Changes{Summary: ptr("s")}}),
		by(reporter, domain.Submitted{}),
		by(editorA, domain.Approved{}),
		by(editorA, domain.Published{Slug: natoSlug, PublishedAt: at(6)}),
		by(editorB, natoCorrected("n1", nil)),
		by(admin, domain.Retracted{Reason: natoReason}),
		by(editorA, domain.Killed{
			Reason: natoKillReason, SlugDigest: domain.SlugDigest(natoSlug), Language: "en",
			CreatedBy: reporter.ID, CreatedAt: at(0), LastRevisedBy: editorB.ID, PublishedAt: at(6),
		}),
	)
	var never time.Time
	want := []struct {
		status        domain.Status
		lastRevisedBy string
		published     time.Time
		corrections   int
		retractedAt   time.Time
	}{
		{domain.StatusDraft, reporter.ID, never, 0, never},
		{domain.StatusInReview, reporter.ID, never, 0, never},
		{domain.StatusChangesRequested, reporter.ID, never, 0, never},
		{domain.StatusDraft, reporter.ID, never, 0, never},
		{domain.StatusInReview, reporter.ID, never, 0, never},
		{domain.StatusApproved, reporter.ID, never, 0, never},
		{domain.StatusPublished, reporter.ID, at(6), 0, never},
		{domain.StatusPublished, editorB.ID, at(6), 1, never},
		{domain.StatusRetracted, editorB.ID, at(6), 1, at(8)},
		{domain.StatusKilled, editorB.ID, at(6), 0, never}, // the corrections and retraction go with the text
	}
	a := domain.Article{ID: articleID}
	for i, r := range log {
		a = domain.Evolve(a, r)
		w := want[i]
		event := r.Event.EventType()
		if a.Status != w.status || a.LastRevisedBy != w.lastRevisedBy || a.Version != i+1 || !a.UpdatedAt.Equal(at(i)) {
			t.Errorf("after %s: status %q, last revised by %q, version %d, updated %v; want %q, %q, %d, %v",
				event, a.Status, a.LastRevisedBy, a.Version, a.UpdatedAt, w.status, w.lastRevisedBy, i+1, at(i))
		}
		if !a.PublishedAt.Equal(w.published) || len(a.Corrections) != w.corrections || !a.RetractedAt.Equal(w.retractedAt) {
			t.Errorf("after %s: published %v, %d corrections, retracted %v; want %v, %d, %v",
				event, a.PublishedAt, len(a.Corrections), a.RetractedAt, w.published, w.corrections, w.retractedAt)
		}
	}
}
