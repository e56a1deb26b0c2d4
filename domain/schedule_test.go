package domain_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
)

// due is when givenScheduled publishes.
var due = at(3).Add(48 * time.Hour)

func givenScheduledUnderEmbargo(until time.Time) []domain.Recorded {
	return history(append(givenApproved(), by(editorB, domain.Scheduled{PublishAt: due, EmbargoUntil: until, Slug: natoSlug}))...)
}

// givenEmbargoed is givenApproved, then published by editor A under embargo until lift.
func givenEmbargoed(lift time.Time) []domain.Recorded {
	p := natoPublished()
	p.EmbargoUntil = lift
	return history(append(givenApproved(), by(editorA, p))...)
}

func natoPublished() domain.Published {
	d := natoDrafted()
	return domain.Published{Slug: natoSlug, PublishedAt: at(3), Headline: d.Headline, Summary: d.Summary,
		Body: d.Body, Language: d.Language, Byline: d.Byline, Dateline: d.Dateline, Tags: d.Tags}
}

// decideAt is Decide at a given time, for the triggers.
func decideAt(t *testing.T, given []domain.Recorded, c domain.Command, a domain.Actor, when time.Time) (domain.Event, error) {
	t.Helper()
	return domain.Decide(domain.Fold(articleID, given), c, domain.Decision{By: a, Now: when})
}

func TestDecideSchedule(t *testing.T) {
	later := now.Add(24 * time.Hour)
	runDecideCases(t, []decideCase{
		{
			name: "approved, by an editor", given: givenApproved(), by: editorB,
			when: domain.Schedule{PublishAt: later, Slug: natoSlug},
			then: outcome{event: domain.Scheduled{PublishAt: later, Slug: natoSlug}},
		},
		{
			name: "rescheduled, with an embargo", given: givenScheduled(), by: editorA,
			when: domain.Schedule{PublishAt: later, EmbargoUntil: later.Add(time.Hour), Slug: natoSlug},
			then: outcome{event: domain.Scheduled{PublishAt: later, EmbargoUntil: later.Add(time.Hour), Slug: natoSlug}},
		},
		{name: "in the past", given: givenApproved(), by: editorB, when: domain.Schedule{PublishAt: now.Add(-time.Second), Slug: natoSlug}, then: outcome{fields: []string{"publish_at"}}},
		{name: "now", given: givenApproved(), by: editorB, when: domain.Schedule{PublishAt: now, Slug: natoSlug}, then: outcome{fields: []string{"publish_at"}}},
		{name: "no time", given: givenApproved(), by: editorB, when: domain.Schedule{Slug: natoSlug}, then: outcome{fields: []string{"publish_at"}}},
		{name: "over a year ahead", given: givenApproved(), by: editorB, when: domain.Schedule{PublishAt: now.Add(400 * 24 * time.Hour), Slug: natoSlug}, then: outcome{fields: []string{"publish_at"}}},
		{
			name: "an embargo ending before the publication", given: givenApproved(), by: editorB,
			when: domain.Schedule{PublishAt: later, EmbargoUntil: later, Slug: natoSlug}, then: outcome{fields: []string{"embargo_until"}},
		},
		{name: "no slug", given: givenApproved(), by: editorB, when: domain.Schedule{PublishAt: later}, then: outcome{fields: []string{"slug"}}},
		{name: "by a reporter", given: givenApproved(), by: reporter, when: domain.Schedule{PublishAt: later, Slug: natoSlug}, then: outcome{err: domain.ErrForbidden}},
		{name: "in review", given: givenInReview(), by: editorB, when: domain.Schedule{PublishAt: later, Slug: natoSlug}, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "published", given: givenPublished(), by: editorB, when: domain.Schedule{PublishAt: later, Slug: natoSlug}, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "unscheduled", given: givenScheduled(), by: editorA, when: domain.Unschedule{}, then: outcome{event: domain.Unscheduled{}}},
		{name: "unscheduled when not scheduled", given: givenApproved(), by: editorA, when: domain.Unschedule{}, then: outcome{err: domain.ErrInvalidTransition}},
		{
			name: "a revision cancels the schedule", given: givenScheduled(), by: reporter,
			when: domain.Revise{Changes: domain.Changes{Summary: ptr("late")}}, then: outcome{event: domain.Revised{Changes: domain.Changes{Summary: ptr("late")}}},
		},
		{name: "a scheduled article is spiked", given: givenScheduled(), by: editorA, when: domain.Spike{}, then: outcome{event: domain.Spiked{}}},
		{name: "a scheduled article is not published by hand", given: givenScheduled(), by: editorA, when: domain.Publish{Slug: natoSlug}, then: outcome{err: domain.ErrInvalidTransition}},
	})
}

func TestFoldSchedule(t *testing.T) {
	a := domain.Fold(articleID, givenScheduledUnderEmbargo(due.Add(time.Hour)))
	if a.Status != domain.StatusScheduled || !a.PublishAt.Equal(due) || a.ScheduledSlug != natoSlug || a.ScheduledBy != editorB.ID || !a.ScheduleEmbargo.Equal(due.Add(time.Hour)) {
		t.Errorf("Fold(scheduled) = %+v; want scheduled at %v by %s under %s with its embargo", a, due, editorB.ID, natoSlug)
	}
	for name, then := range map[string]domain.Recorded{
		"revised":     by(reporter, domain.Revised{Changes: domain.Changes{Summary: ptr("late")}}),
		"unscheduled": by(editorA, domain.Unscheduled{}),
		"spiked":      by(editorA, domain.Spiked{}),
	} {
		got := domain.Fold(articleID, history(append(givenScheduled(), then)...))
		if !got.PublishAt.IsZero() || got.ScheduledSlug != "" || got.ScheduledBy != "" || got.Status == domain.StatusScheduled {
			t.Errorf("Fold(scheduled, %s) = %+v; want the schedule dropped", name, got)
		}
	}
}

// TestPublishOnSchedule: the scheduler's trigger publishes exactly the schedule it was set for,
// at or after its time, and nothing else.
func TestPublishOnSchedule(t *testing.T) {
	trigger := domain.PublishOnSchedule{PublishAt: due}
	e, err := decideAt(t, givenScheduled(), trigger, domain.Scheduler, due.Add(3*time.Second))
	want := natoPublished()
	want.PublishedAt, want.ScheduledBy = due.Add(3*time.Second), editorB.ID
	if err != nil || !reflect.DeepEqual(e, want) {
		t.Errorf("trigger at its time = %#v, %v; want %#v", e, err, want)
	}
	// Early by this instance's clock: refused as too early, to be retried, never dropped.
	if _, err := decideAt(t, givenScheduled(), trigger, domain.Scheduler, due.Add(-time.Millisecond)); !errors.Is(err, domain.ErrTooEarly) {
		t.Errorf("trigger 1 ms early = %v; want ErrTooEarly", err)
	}
	// A schedule that no longer applies: the trigger does nothing.
	stale := map[string][]domain.Recorded{
		"rescheduled": history(append(givenScheduled(), by(editorA, domain.Scheduled{PublishAt: due.Add(time.Hour), Slug: natoSlug}))...),
		"unscheduled": history(append(givenScheduled(), by(editorA, domain.Unscheduled{}))...),
		"revised":     history(append(givenScheduled(), by(reporter, domain.Revised{Changes: domain.Changes{Summary: ptr("late")}}))...),
		"spiked":      history(append(givenScheduled(), by(editorA, domain.Spiked{}))...),
		"published":   history(append(givenScheduled(), by(domain.Scheduler, want))...),
	}
	for name, given := range stale {
		if e, err := decideAt(t, given, trigger, domain.Scheduler, due.Add(time.Minute)); !errors.Is(err, domain.ErrInvalidTransition) {
			t.Errorf("trigger after the article was %s = %#v, %v; want ErrInvalidTransition", name, e, err)
		}
	}
	// Only the scheduler gives it.
	for _, a := range []domain.Actor{editorA, admin, reporter} {
		if _, err := decideAt(t, givenScheduled(), trigger, a, due.Add(time.Minute)); !errors.Is(err, domain.ErrForbidden) {
			t.Errorf("trigger given by %s = %v; want ErrForbidden", a.ID, err)
		}
	}
	// The scheduler gives nothing else.
	if _, err := decideAt(t, givenApproved(), domain.Publish{Slug: natoSlug}, domain.Scheduler, due); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("publish by the scheduler = %v; want ErrForbidden", err)
	}
	// Published under the embargo the schedule carried.
	e, err = decideAt(t, givenScheduledUnderEmbargo(due.Add(time.Hour)), trigger, domain.Scheduler, due)
	if p, ok := e.(domain.Published); err != nil || !ok || !p.EmbargoUntil.Equal(due.Add(time.Hour)) || domain.AudienceOf(e) != domain.Embargoed {
		t.Errorf("trigger of an embargoed schedule = %#v, %v; want a Published event under embargo until %v", e, err, due.Add(time.Hour))
	}
}

func TestEmbargo(t *testing.T) {
	lift := now.Add(2 * time.Hour)
	given := givenEmbargoed(lift)
	a := domain.Fold(articleID, given)
	if !a.Embargoed() || !a.EmbargoUntil.Equal(lift) {
		t.Fatalf("Fold(embargoed) = %+v; want embargoed until %v", a, lift)
	}
	if got := domain.AudienceOf(given[len(given)-1].Event); got != domain.Embargoed {
		t.Errorf("AudienceOf(embargoed publication) = %v; want Embargoed", got)
	}

	// At its end, the scheduler lifts it: a public publication first published at the lift.
	e, err := decideAt(t, given, domain.LiftEmbargoOnSchedule{Until: lift}, domain.Scheduler, lift.Add(2*time.Second))
	want := domain.EmbargoLifted{Slug: natoSlug, PublishedAt: lift, Headline: natoHeadline, Summary: natoDrafted().Summary,
		Body: natoBody, Language: "en", Byline: "NATO Press Office", Dateline: "Brussels", Tags: []string{"nato", "russia"}}
	if err != nil || !reflect.DeepEqual(e, want) || domain.AudienceOf(e) != domain.Public {
		t.Errorf("lift at its end = %#v, %v; want %#v, public", e, err, want)
	}
	lifted := domain.Fold(articleID, history(append(given, by(domain.Scheduler, e))...))
	if lifted.Embargoed() || !lifted.PublishedAt.Equal(lift) {
		t.Errorf("Fold(lifted) = %+v; want no embargo, first published at %v", lifted, lift)
	}
	if _, err := decideAt(t, given, domain.LiftEmbargoOnSchedule{Until: lift}, domain.Scheduler, lift.Add(-time.Second)); !errors.Is(err, domain.ErrTooEarly) {
		t.Errorf("lift 1 s early = %v; want ErrTooEarly", err)
	}

	// An editor breaks it early: recorded as early, first published then.
	e, err = decideAt(t, given, domain.LiftEmbargo{}, editorB, now)
	if l, ok := e.(domain.EmbargoLifted); err != nil || !ok || !l.Early || !l.PublishedAt.Equal(now) {
		t.Errorf("lift by an editor before the end = %#v, %v; want an early lift at %v", e, err, now)
	}
	if _, err := decideAt(t, given, domain.LiftEmbargo{}, reporter, now); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("lift by a reporter = %v; want ErrForbidden", err)
	}

	// Moved: the old end's trigger no longer applies, the new one does.
	moved := history(append(given, by(editorA, domain.EmbargoMoved{EmbargoUntil: lift.Add(time.Hour)}))...)
	if _, err := decideAt(t, moved, domain.LiftEmbargoOnSchedule{Until: lift}, domain.Scheduler, lift.Add(time.Minute)); !errors.Is(err, domain.ErrInvalidTransition) {
		t.Errorf("lift at the old end after a move = %v; want ErrInvalidTransition", err)
	}
	if e, err := decideAt(t, moved, domain.LiftEmbargoOnSchedule{Until: lift.Add(time.Hour)}, domain.Scheduler, lift.Add(time.Hour)); err != nil || e.EventType() != domain.TypeEmbargoLifted {
		t.Errorf("lift at the new end = %v, %v; want a lift", e, err)
	}
	if _, err := decideAt(t, given, domain.MoveEmbargo{Until: now.Add(-time.Minute)}, editorA, now); err == nil {
		t.Error("moving an embargo into the past was accepted")
	}

	// While embargoed, corrections, retractions and kills reach trusted subscribers alone.
	proposed := history(append(given, by(editorA, domain.CorrectionProposed{Changes: domain.Changes{Body: ptr("fixed")}, Note: natoNote}))...)
	for name, tc := range map[string]struct {
		given []domain.Recorded
		cmd   domain.Command
	}{
		"correction": {proposed, domain.ConfirmCorrection{}},
		"retraction": {given, domain.Retract{Reason: natoReason}},
		"kill":       {given, domain.Kill{Reason: natoKillReason}},
	} {
		e, err := decideAt(t, tc.given, tc.cmd, editorB, now)
		if err != nil || domain.AudienceOf(e) != domain.Embargoed {
			t.Errorf("%s under embargo = %#v, %v; want an event for trusted subscribers only", name, e, err)
		}
	}
	// A retracted embargoed article is never lifted: the public never learns of it.
	retracted := history(append(given, by(editorB, domain.Retracted{Reason: natoReason, Embargoed: true}))...)
	if _, err := decideAt(t, retracted, domain.LiftEmbargoOnSchedule{Until: lift}, domain.Scheduler, lift); !errors.Is(err, domain.ErrInvalidTransition) {
		t.Errorf("lift of a retracted embargoed article = %v; want ErrInvalidTransition", err)
	}
	// Publish now under embargo; the embargo must end in the future.
	if e, err := decideAt(t, givenApproved(), domain.Publish{Slug: natoSlug, EmbargoUntil: lift}, editorA, now); err != nil || domain.AudienceOf(e) != domain.Embargoed {
		t.Errorf("publish under embargo = %#v, %v; want an embargoed publication", e, err)
	}
	if _, err := decideAt(t, givenApproved(), domain.Publish{Slug: natoSlug, EmbargoUntil: now.Add(-time.Hour)}, editorA, now); err == nil {
		t.Error("publishing under an embargo that has ended was accepted")
	}
	// Not embargoed: nothing to lift or move.
	for _, c := range []domain.Command{domain.LiftEmbargo{}, domain.MoveEmbargo{Until: lift}} {
		if _, err := decideAt(t, givenPublished(), c, editorA, now); !errors.Is(err, domain.ErrInvalidTransition) {
			t.Errorf("%s of an article under no embargo = %v; want ErrInvalidTransition", domain.CommandName(c), err)
		}
	}
}

func TestDecideTranslation(t *testing.T) {
	runDecideCases(t, []decideCase{
		{
			name: "a translation names its original", by: reporter,
			when: domain.Draft{Content: domain.Content{Headline: "Réunion des ministres", Language: "fr"}, TranslationOf: "a-0"},
			then: outcome{event: domain.Drafted{TranslationOf: "a-0", Headline: "Réunion des ministres", Language: "fr"}},
		},
		{
			name: "not of itself", by: reporter,
			when: domain.Draft{Content: domain.Content{Headline: "Réunion", Language: "fr"}, TranslationOf: articleID},
			then: outcome{fields: []string{"translation_of"}},
		},
	})
	a := domain.Fold(articleID, history(by(reporter, domain.Drafted{TranslationOf: "a-0", Headline: "Réunion", Language: "fr"})))
	if a.TranslationOf != "a-0" {
		t.Errorf("Fold(translation).TranslationOf = %q; want a-0", a.TranslationOf)
	}
}
