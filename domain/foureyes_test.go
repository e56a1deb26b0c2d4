package domain_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
)

// givenProposed is givenPublished, then editor A's proposal to fix the body.
func givenProposed() []domain.Recorded {
	return history(append(givenPublished(),
		by(editorA, domain.CorrectionProposed{Changes: domain.Changes{Body: ptr("fixed")}, Note: natoNote}))...)
}

// TestDecideCorrectionFlow is the default route of a correction that changes public fields:
// one editor proposes, another confirms (or anyone withdraws); a note alone needs no second
// editor.
func TestDecideCorrectionFlow(t *testing.T) {
	fixBody := domain.Correct{Changes: domain.Changes{Body: ptr("fixed")}, Note: natoNote}
	runDecideCases(t, []decideCase{
		{
			// Only the changed fields and the note: readers see nothing yet.
			name: "a change is proposed", given: givenPublished(), when: fixBody, by: editorA,
			then: outcome{event: domain.CorrectionProposed{Changes: domain.Changes{Body: ptr("fixed")}, Note: natoNote}},
		},
		{
			name: "fields that do not change are left out of the proposal", given: givenPublished(),
			when: domain.Correct{Changes: domain.Changes{Headline: ptr(natoHeadline), Summary: ptr("new")}, Note: natoNote}, by: editorA,
			then: outcome{event: domain.CorrectionProposed{Changes: domain.Changes{Summary: ptr("new")}, Note: natoNote}},
		},
		{
			name: "another editor confirms: the public snapshot, with who proposed it", given: givenProposed(),
			when: domain.ConfirmCorrection{}, by: editorB,
			then: outcome{event: natoCorrected(natoNote, func(c *domain.Corrected) { c.Body, c.ProposedBy = "fixed", editorA.ID })},
		},
		{
			name: "an admin confirms", given: givenProposed(), when: domain.ConfirmCorrection{}, by: admin,
			then: outcome{event: natoCorrected(natoNote, func(c *domain.Corrected) { c.Body, c.ProposedBy = "fixed", editorA.ID })},
		},
		{name: "the proposer confirms", given: givenProposed(), when: domain.ConfirmCorrection{}, by: editorA, then: outcome{err: domain.ErrSelfApproval}},
		{
			// The rule follows the person, not the role they act in.
			name: "the proposer confirms as admin", given: givenProposed(), when: domain.ConfirmCorrection{},
			by: domain.Actor{ID: editorA.ID, Role: domain.RoleAdmin}, then: outcome{err: domain.ErrSelfApproval},
		},
		{name: "a reporter confirms", given: givenProposed(), when: domain.ConfirmCorrection{}, by: reporter, then: outcome{err: domain.ErrForbidden}},
		{name: "a reporter withdraws", given: givenProposed(), when: domain.WithdrawCorrection{}, by: reporter, then: outcome{err: domain.ErrForbidden}},
		{name: "nothing to confirm", given: givenPublished(), when: domain.ConfirmCorrection{}, by: editorB, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "the proposer withdraws", given: givenProposed(), when: domain.WithdrawCorrection{}, by: editorA, then: outcome{event: domain.CorrectionWithdrawn{}}},
		{name: "another editor withdraws", given: givenProposed(), when: domain.WithdrawCorrection{}, by: editorB, then: outcome{event: domain.CorrectionWithdrawn{}}},
		{name: "nothing to withdraw", given: givenPublished(), when: domain.WithdrawCorrection{}, by: editorB, then: outcome{err: domain.ErrInvalidTransition}},
		{
			name:  "withdrawn: nothing to confirm",
			given: history(append(givenProposed(), by(editorB, domain.CorrectionWithdrawn{}))...),
			when:  domain.ConfirmCorrection{}, by: editorB, then: outcome{err: domain.ErrInvalidTransition},
		},
		{
			name:  "confirmed: nothing to confirm again",
			given: history(append(givenProposed(), by(editorB, natoCorrected(natoNote, func(c *domain.Corrected) { c.Body, c.ProposedBy = "fixed", editorA.ID })))...),
			when:  domain.ConfirmCorrection{}, by: editorB, then: outcome{err: domain.ErrInvalidTransition},
		},
		{name: "one proposal at a time", given: givenProposed(), when: domain.Correct{Changes: domain.Changes{Summary: ptr("s")}, Note: "n"}, by: editorB, then: outcome{err: domain.ErrInvalidTransition}},
		{
			// A note alone is published at once, pending proposal or not; the proposal stays.
			name: "a note alone while a proposal is pending", given: givenProposed(), when: domain.Correct{Note: "Clarified."}, by: editorB,
			then: outcome{event: natoCorrected("Clarified.", nil)},
		},
		{
			name:  "retracted: the proposal is dropped",
			given: history(append(givenProposed(), by(editorB, domain.Retracted{Reason: natoReason}))...),
			when:  domain.ConfirmCorrection{}, by: editorB, then: outcome{err: domain.ErrInvalidTransition},
		},
		{
			name: "one editor alone, when the newsroom allows it", given: givenPublished(), when: fixBody, by: editorA,
			policy: domain.Policy{SingleEditorCorrections: true},
			then:   outcome{event: natoCorrected(natoNote, func(c *domain.Corrected) { c.Body, c.SingleEditor = "fixed", true })},
		},
		{
			name: "one editor alone, a proposal pending", given: givenProposed(), when: domain.Correct{Changes: domain.Changes{Summary: ptr("s")}, Note: "n"}, by: editorB,
			policy: domain.Policy{SingleEditorCorrections: true}, then: outcome{err: domain.ErrInvalidTransition},
		},
		{name: "a proposal with an invalid change", given: givenPublished(), when: domain.Correct{Changes: domain.Changes{Body: ptr("")}, Note: natoNote}, by: editorA, then: outcome{fields: []string{"body"}}},
	})
}

func TestFoldPendingCorrection(t *testing.T) {
	a := domain.Fold(articleID, givenProposed())
	want := &domain.PendingCorrection{Changes: domain.Changes{Body: ptr("fixed")}, Note: natoNote, ProposedBy: editorA.ID, ProposedAt: at(4)}
	if !reflect.DeepEqual(a.PendingCorrection, want) {
		t.Errorf("Fold(proposed).PendingCorrection = %+v; want %+v", a.PendingCorrection, want)
	}
	if a.Body != natoBody || len(a.Corrections) != 0 {
		t.Errorf("Fold(proposed) body %q, corrections %v; want the published text, no correction", a.Body, a.Corrections)
	}
	for name, then := range map[string]domain.Recorded{
		"withdrawn": by(editorB, domain.CorrectionWithdrawn{}),
		"confirmed": by(editorB, natoCorrected(natoNote, func(c *domain.Corrected) { c.Body, c.ProposedBy = "fixed", editorA.ID })),
		"retracted": by(editorB, domain.Retracted{Reason: natoReason}),
	} {
		if got := domain.Fold(articleID, history(append(givenProposed(), then)...)); got.PendingCorrection != nil {
			t.Errorf("Fold(proposed, %s).PendingCorrection = %+v; want nil", name, got.PendingCorrection)
		}
	}
}

// TestNoPublicTextWithoutASecondReader walks thousands of random command sequences (every
// route to the public: publication now, on schedule, under embargo and at its lift; corrections
// proposed, confirmed, withdrawn, one editor's alone; retractions) by a small cast through
// Decide and Evolve, as the shell does, and checks every event that makes text public against
// the rule stated over the log alone (not over Article's bookkeeping): text
// reaches readers only if a second person with the editor role read it after its last change.
//   - Published: the latest approval follows the latest change of the content, and its actor
//     wrote none of the changes since the approval before it (the draft included).
//   - Corrected that changes the text: it confirms a proposal of exactly that text by another
//     person, or it says it was one editor's alone and the newsroom's policy allows that.
func TestNoPublicTextWithoutASecondReader(t *testing.T) {
	cast := []domain.Actor{reporter, reporter2, editorA, editorB, admin}
	fields := []func(string) domain.Changes{
		func(v string) domain.Changes { return domain.Changes{Headline: ptr("Headline " + v)} },
		func(v string) domain.Changes { return domain.Changes{Summary: ptr("Summary " + v)} },
		func(v string) domain.Changes { return domain.Changes{Body: ptr("Body " + v)} },
		func(v string) domain.Changes { return domain.Changes{Byline: ptr("Byline " + v)} },
		func(v string) domain.Changes { return domain.Changes{Tags: ptr([]string{"tag-" + v})} },
	}
	// commands picks a command; once the article is public, mostly the ones a published
	// article takes, so that corrections are walked as often as the way to publication.
	commands := func(rng *rand.Rand, n int, a domain.Article, when time.Time) domain.Command {
		v := fmt.Sprint(n)
		switch {
		case a.Status == domain.StatusScheduled && rng.IntN(3) == 0:
			return domain.PublishOnSchedule{PublishAt: a.PublishAt}
		case a.Embargoed() && rng.IntN(4) == 0:
			return domain.LiftEmbargoOnSchedule{Until: a.EmbargoUntil}
		case a.Embargoed() && rng.IntN(6) == 0:
			return domain.LiftEmbargo{}
		}
		if a.Status == domain.StatusPublished {
			switch rng.IntN(20) {
			case 0:
				return domain.Retract{Reason: "reason " + v}
			case 1, 2, 3, 4, 5, 6:
				return domain.Correct{Changes: fields[rng.IntN(len(fields))](v), Note: "note " + v}
			case 7, 8:
				return domain.Correct{Note: "note " + v}
			case 9, 10, 11, 12, 13:
				return domain.ConfirmCorrection{}
			case 14, 15:
				return domain.WithdrawCorrection{}
			}
		}
		switch rng.IntN(9) {
		case 7:
			var embargo time.Time
			if rng.IntN(2) == 0 {
				embargo = when.Add(5 * time.Hour)
			}
			return domain.Schedule{PublishAt: when.Add(90 * time.Minute), EmbargoUntil: embargo, Slug: natoSlug}
		case 8:
			if rng.IntN(2) == 0 {
				return domain.Publish{Slug: natoSlug, EmbargoUntil: when.Add(3 * time.Hour)}
			}
			return domain.Unschedule{}
		case 0, 1:
			return domain.Revise{Changes: fields[rng.IntN(len(fields))](v)}
		case 2:
			return domain.Submit{}
		case 3, 4:
			return domain.Approve{}
		case 5:
			return domain.RequestChanges{Comment: "comment " + v}
		}
		return domain.Publish{Slug: natoSlug}
	}
	counts := map[string]int{}
	for walk := 0; walk < 3000; walk++ {
		rng := rand.New(rand.NewPCG(uint64(walk), 42))
		policy := domain.Policy{SingleEditorCorrections: walk%4 == 3}
		log := []domain.Recorded{}
		record := func(e domain.Event, a domain.Actor) {
			log = append(log, domain.Recorded{Event: e, Version: len(log) + 1, By: a, At: at(len(log))})
		}
		record(natoDrafted(), cast[rng.IntN(4)]) // anyone but the admin drafts
		for step := 0; step < 40; step++ {
			a := domain.Fold(articleID, log)
			cmd, actor := commands(rng, step, a, at(len(log))), cast[rng.IntN(len(cast))]
			switch cmd.(type) {
			case domain.PublishOnSchedule, domain.LiftEmbargoOnSchedule:
				actor = domain.Scheduler
			}
			e, err := domain.Decide(a, cmd, domain.Decision{By: actor, Now: at(len(log)), Policy: policy})
			if err != nil {
				continue
			}
			record(e, actor)
			counts[e.EventType()]++
			if err := secondReader(log, policy); err != nil {
				t.Fatalf("walk %d: %v\nlog:\n%s", walk, err, describe(log))
			}
		}
	}
	// The walks prove nothing unless they reach every public route many times.
	for _, typ := range []string{domain.TypePublished, domain.TypeCorrectionProposed, domain.TypeCorrected, domain.TypeCorrectionWithdrawn,
		domain.TypeRetracted, domain.TypeScheduled, domain.TypeEmbargoLifted} {
		if counts[typ] < 50 {
			t.Errorf("the walks recorded %d %s events; want at least 50 (counts: %v)", counts[typ], typ, counts)
		}
	}
}

// secondReader checks the last event of log against the rule, over the log alone.
func secondReader(log []domain.Recorded, policy domain.Policy) error {
	last := len(log) - 1
	r := log[last]
	// text[i] is the article's text after event i; changed says whether event i changed it.
	text := make([]domain.Content, len(log))
	a := domain.Article{ID: articleID}
	for i, r := range log {
		a = domain.Evolve(a, r)
		text[i] = a.Content
	}
	changesText := func(i int) bool { return i == 0 || !sameText(text[i-1], text[i]) }
	if !r.By.Role.AtLeast(domain.RoleEditor) && r.By.Role != domain.RoleSystem && domain.IsPublic(r.Event.EventType()) {
		return fmt.Errorf("event %d (%s) by %s, who is not an editor", last, r.Event.EventType(), r.By.Role)
	}
	switch e := r.Event.(type) {
	case domain.Published:
		approval := lastIndex(log[:last], func(r domain.Recorded) bool { _, ok := r.Event.(domain.Approved); return ok })
		change := lastIndex(log[:last], func(r domain.Recorded) bool { return changesText(r.Version - 1) })
		if approval < 0 || approval < change {
			return fmt.Errorf("event %d publishes text changed at %d after its approval at %d", last, change, approval)
		}
		previous := lastIndex(log[:approval], func(r domain.Recorded) bool { _, ok := r.Event.(domain.Approved); return ok })
		for i := previous + 1; i < approval; i++ {
			if changesText(i) && log[i].By.ID == log[approval].By.ID {
				return fmt.Errorf("event %d publishes text approved at %d by %s, who wrote it at %d", last, approval, log[approval].By.ID, i)
			}
		}
	case domain.EmbargoLifted:
		// What the public first sees is what trusted subscribers had, changed since only by
		// corrections (checked one by one as they were made).
		publication := lastIndex(log[:last], func(r domain.Recorded) bool { _, ok := r.Event.(domain.Published); return ok })
		for i := publication + 1; i < last; i++ {
			if _, ok := log[i].Event.(domain.Corrected); changesText(i) && !ok {
				return fmt.Errorf("event %d lifts an embargo on text changed at %d by %s", last, i, log[i].Event.EventType())
			}
		}
	case domain.Corrected:
		if !changesText(last) {
			return nil
		}
		if e.SingleEditor {
			if !policy.SingleEditorCorrections {
				return fmt.Errorf("event %d is a one-editor correction; the policy does not allow them", last)
			}
			return nil
		}
		proposal := lastIndex(log[:last], func(r domain.Recorded) bool { _, ok := r.Event.(domain.CorrectionProposed); return ok })
		if proposal < 0 || e.ProposedBy != log[proposal].By.ID || e.ProposedBy == r.By.ID {
			return fmt.Errorf("event %d publishes a correction proposed by %q, confirmed by %s", last, e.ProposedBy, r.By.ID)
		}
		proposed := log[proposal].Event.(domain.CorrectionProposed)
		for i := proposal + 1; i < last; i++ {
			if changesText(i) {
				return fmt.Errorf("event %d publishes a proposal made at %d on text changed since, at %d", last, proposal, i)
			}
		}
		want := domain.Fold(articleID, append(log[:proposal:proposal], domain.Recorded{
			Event: domain.Revised{Changes: proposed.Changes}, Version: proposal + 1, By: log[proposal].By})).Content
		if got := text[last]; !sameText(got, want) {
			return fmt.Errorf("event %d publishes %+v; the proposal at %d read %+v", last, got, proposal, want)
		}
	}
	return nil
}

// sameText compares the public fields of two versions of the text (a Corrected event does not
// carry the slug a draft asked for, nor does it need to).
func sameText(x, y domain.Content) bool {
	return x.Headline == y.Headline && x.Summary == y.Summary && x.Body == y.Body && x.Language == y.Language &&
		x.Byline == y.Byline && x.Dateline == y.Dateline && slices.Equal(x.Tags, y.Tags)
}

func lastIndex(log []domain.Recorded, match func(domain.Recorded) bool) int {
	for i := len(log) - 1; i >= 0; i-- {
		if match(log[i]) {
			return i
		}
	}
	return -1
}

func describe(log []domain.Recorded) string {
	var out string
	for i, r := range log {
		out += fmt.Sprintf("  %d %s by %s/%s: %+v\n", i, r.Event.EventType(), r.By.ID, r.By.Role, r.Event)
	}
	return out
}
