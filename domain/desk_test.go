package domain_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/newsroom/newsroom/domain"
)

// The rules of the editorial desk beyond the first five steps: sending back, lapsing, correcting,
// retracting and spiking.

func TestDecideRequestChanges(t *testing.T) {
	ask := func(comment string) domain.Command { return domain.RequestChanges{Comment: comment} }
	requested := func(comment string) outcome { return outcome{event: domain.ChangesRequested{Comment: comment}} }
	runDecideCases(t, []decideCase{
		{name: "in review, by an editor", given: givenInReview(), when: ask(natoComment), by: editorB, then: requested(natoComment)},
		{name: "in review, by an admin", given: givenInReview(), when: ask(natoComment), by: admin, then: requested(natoComment)},
		{
			// Four eyes guard approval only: the editor who wrote the revision may send it back.
			name:  "by the editor who wrote the latest revision",
			given: history(by(reporter, natoDrafted()), by(editorA, domain.Revised{Changes: domain.Changes{Summary: ptr("s")}}), by(reporter, domain.Submitted{})),
			when:  ask(natoComment), by: editorA, then: requested(natoComment),
		},
		{
			name:  "resubmitted after changes were requested",
			given: history(append(givenChangesRequested(), by(reporter, domain.Submitted{}))...),
			when:  ask("Still unsourced."), by: editorA, then: requested("Still unsourced."),
		},
		{name: "comment of one character", given: givenInReview(), when: ask("?"), by: editorB, then: requested("?")},
		{
			name:  "comment at MaxComment characters",
			given: givenInReview(), when: ask(strings.Repeat("c", domain.MaxComment)), by: editorB,
			then: requested(strings.Repeat("c", domain.MaxComment)),
		},
		{
			// The limit is in characters, not bytes: 5000 two-byte runes are 10000 bytes.
			name:  "comment at MaxComment two-byte characters",
			given: givenInReview(), when: ask(strings.Repeat("é", domain.MaxComment)), by: editorB,
			then: requested(strings.Repeat("é", domain.MaxComment)),
		},
		{name: "no comment", given: givenInReview(), when: ask(""), by: editorB, then: outcome{fields: []string{"comment"}}},
		{name: "blank comment", given: givenInReview(), when: ask(" \t\n\u00a0"), by: editorB, then: outcome{fields: []string{"comment"}}},
		{
			name:  "comment over MaxComment",
			given: givenInReview(), when: ask(strings.Repeat("c", domain.MaxComment+1)), by: editorB,
			then: outcome{fields: []string{"comment"}},
		},
		{
			name:  "comment over MaxComment four-byte characters",
			given: givenInReview(), when: ask(strings.Repeat("🗞", domain.MaxComment+1)), by: editorB,
			then: outcome{fields: []string{"comment"}},
		},
		{name: "comment not UTF-8", given: givenInReview(), when: ask("see \xff"), by: editorB, then: outcome{fields: []string{"comment"}}},
		{name: "the author, a reporter", given: givenInReview(), when: ask(natoComment), by: reporter, then: outcome{err: domain.ErrForbidden}},
		{name: "another reporter", given: givenInReview(), when: ask(natoComment), by: reporter2, then: outcome{err: domain.ErrForbidden}},
		{name: "actor without a role", given: givenInReview(), when: ask(natoComment), by: anonymous, then: outcome{err: domain.ErrForbidden}},
		{
			// The role is checked before the comment.
			name:  "reporter without a comment",
			given: givenInReview(), when: ask(""), by: reporter,
			then: outcome{err: domain.ErrForbidden},
		},
		{
			// The status is checked before the comment.
			name:  "draft, without a comment",
			given: givenDraft(), when: ask(""), by: editorB,
			then: outcome{err: domain.ErrInvalidTransition},
		},
		{name: "draft", given: givenDraft(), when: ask(natoComment), by: editorB, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "changes already requested", given: givenChangesRequested(), when: ask(natoComment), by: editorB, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "approved", given: givenApproved(), when: ask(natoComment), by: editorB, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "published", given: givenPublished(), when: ask(natoComment), by: editorB, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "retracted", given: givenRetracted(), when: ask(natoComment), by: editorB, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "spiked", given: givenSpiked(), when: ask(natoComment), by: editorB, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "no article", when: ask(natoComment), by: editorB, then: outcome{err: domain.ErrNotFound}},
	})
}

// TestDecideAfterChangesRequested checks what the writers may do with an article sent back.
func TestDecideAfterChangesRequested(t *testing.T) {
	noBody := natoDrafted()
	noBody.Body = ""
	runDecideCases(t, []decideCase{
		{
			name:  "revise",
			given: givenChangesRequested(),
			when:  domain.Revise{Changes: domain.Changes{Body: ptr(natoBody + " The NRC statement is attached.")}}, by: reporter,
			then: outcome{event: domain.Revised{Changes: domain.Changes{Body: ptr(natoBody + " The NRC statement is attached.")}}},
		},
		{
			// The writers may disagree with the comment and submit the article as it stands.
			name:  "submit again unchanged",
			given: givenChangesRequested(),
			when:  domain.Submit{}, by: reporter,
			then: outcome{event: domain.Submitted{}},
		},
		{
			name:  "submit again, by an editor",
			given: givenChangesRequested(),
			when:  domain.Submit{}, by: editorA,
			then: outcome{event: domain.Submitted{}},
		},
		{
			// Only Decide could have let this article into review; the log is trusted, and submit
			// still checks what review needs.
			name:  "submit again without a body",
			given: history(by(reporter, noBody), by(reporter, domain.Submitted{}), by(editorA, domain.ChangesRequested{Comment: "Body?"})),
			when:  domain.Submit{}, by: reporter,
			then: outcome{fields: []string{"body"}},
		},
		{name: "approve", given: givenChangesRequested(), when: domain.Approve{}, by: editorB, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "publish", given: givenChangesRequested(), when: domain.Publish{Slug: natoSlug}, by: editorB, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "spike, by the author", given: givenChangesRequested(), when: domain.Spike{}, by: reporter, then: outcome{event: domain.Spiked{}}},
	})
}

// TestDecideReviseLapses checks that revising an article under review or approved sends it back
// to draft: it needs a new submission and a new approval, under four eyes, before publication.
func TestDecideReviseLapses(t *testing.T) {
	revised := by(editorB, domain.Revised{Changes: domain.Changes{Summary: ptr("late change")}})
	inReviewRevised := history(append(givenInReview(), revised)...)
	approvedRevised := history(append(givenApproved(), revised)...) // editor A approved, B revised
	resubmitted := func(h []domain.Recorded) []domain.Recorded {
		return history(append(h, by(reporter, domain.Submitted{}))...)
	}
	for _, h := range [][]domain.Recorded{inReviewRevised, approvedRevised} {
		if got := domain.Fold(articleID, h).Status; got != domain.StatusDraft {
			t.Fatalf("Fold(revised after %s).Status = %q; want %q", h[len(h)-2].Event.EventType(), got, domain.StatusDraft)
		}
	}
	runDecideCases(t, []decideCase{
		{name: "in review, revised: approve", given: inReviewRevised, when: domain.Approve{}, by: editorA, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "in review, revised: request changes", given: inReviewRevised, when: domain.RequestChanges{Comment: natoComment}, by: editorA, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "in review, revised: submit", given: inReviewRevised, when: domain.Submit{}, by: reporter, then: outcome{event: domain.Submitted{}}},
		{name: "in review, revised: revise again", given: inReviewRevised, when: domain.Revise{Changes: domain.Changes{Summary: ptr("x")}}, by: reporter, then: outcome{event: domain.Revised{Changes: domain.Changes{Summary: ptr("x")}}}},
		{name: "approved, revised: publish", given: approvedRevised, when: domain.Publish{Slug: natoSlug}, by: editorA, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "approved, revised: approve", given: approvedRevised, when: domain.Approve{}, by: editorA, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "approved, revised: submit", given: approvedRevised, when: domain.Submit{}, by: reporter, then: outcome{event: domain.Submitted{}}},
		{name: "approved, revised, resubmitted: publish", given: resubmitted(approvedRevised), when: domain.Publish{Slug: natoSlug}, by: editorA, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "approved, revised, resubmitted: the reviser approves", given: resubmitted(approvedRevised), when: domain.Approve{}, by: editorB, then: outcome{err: domain.ErrSelfApproval}},
		{name: "approved, revised, resubmitted: the first approver approves", given: resubmitted(approvedRevised), when: domain.Approve{}, by: editorA, then: outcome{event: domain.Approved{}}},
		{name: "approved, revised, resubmitted: an admin approves", given: resubmitted(approvedRevised), when: domain.Approve{}, by: admin, then: outcome{event: domain.Approved{}}},
		{name: "in review, revised, resubmitted: the reviser approves", given: resubmitted(inReviewRevised), when: domain.Approve{}, by: editorB, then: outcome{err: domain.ErrSelfApproval}},
		{
			name:  "approved, revised, resubmitted, approved again: publish",
			given: history(append(resubmitted(approvedRevised), by(editorA, domain.Approved{}))...),
			when:  domain.Publish{Slug: natoSlug}, by: editorA,
			then: outcome{event: domain.Published{
				Slug: natoSlug, PublishedAt: now,
				Headline: natoHeadline, Summary: "late change", Body: natoBody, Language: "en",
				Byline: natoDrafted().Byline, Dateline: natoDrafted().Dateline, Tags: []string{"nato", "russia"},
			}},
		},
	})
}

// TestDecideCorrect pins what a correction records, with one-editor corrections allowed, so
// that each case's event is the public snapshot itself. The default, two-step route (propose,
// confirm) is TestDecideCorrectionFlow's.
func TestDecideCorrect(t *testing.T) {
	fix := func(c domain.Changes) domain.Command { return domain.Correct{Changes: c, Note: natoNote} }
	oneEditor := func(change func(*domain.Corrected)) func(*domain.Corrected) {
		return func(c *domain.Corrected) {
			c.SingleEditor = true
			if change != nil {
				change(c)
			}
		}
	}
	corrected := func(change func(*domain.Corrected)) outcome {
		return outcome{event: natoCorrected(natoNote, oneEditor(change))}
	}
	body := func(b string) func(*domain.Corrected) { return func(c *domain.Corrected) { c.Body = b } }
	// Published under another slug than the draft asked for.
	withSlug := natoDrafted()
	withSlug.Slug = "nrc-ministers"
	underOtherSlug := history(by(reporter, withSlug), by(reporter, domain.Submitted{}), by(editorA, domain.Approved{}),
		by(editorA, domain.Published{Slug: "nrc-ministers-2", PublishedAt: at(3)}))
	cases := []decideCase{
		{
			// The snapshot carries the whole text after the change, the slug and the first
			// PublishedAt (at(3), not now).
			name:  "body fixed",
			given: givenPublished(), when: fix(domain.Changes{Body: ptr("fixed")}), by: editorB,
			then: corrected(body("fixed")),
		},
		{
			name:  "by the editor who approved and published",
			given: givenPublished(), when: fix(domain.Changes{Body: ptr("fixed")}), by: editorA,
			then: corrected(body("fixed")),
		},
		{name: "by an admin", given: givenPublished(), when: fix(domain.Changes{Body: ptr("fixed")}), by: admin, then: corrected(body("fixed"))},
		{
			name:  "several fields, one cleared",
			given: givenPublished(),
			when:  fix(domain.Changes{Headline: ptr("NATO-Russia ministers meet"), Summary: ptr(""), Tags: ptr([]string{"nrc"}), Language: ptr("en-GB")}),
			by:    editorB,
			then: corrected(func(c *domain.Corrected) {
				c.Headline, c.Summary, c.Tags, c.Language = "NATO-Russia ministers meet", "", []string{"nrc"}, "en-GB"
			}),
		},
		{
			name:  "slug given, unchanged",
			given: givenPublished(), when: fix(domain.Changes{Slug: ptr(natoSlug), Body: ptr("fixed")}), by: editorB,
			then: corrected(body("fixed")),
		},
		{
			name:  "a second correction starts from the first",
			given: givenCorrected("b2"), when: fix(domain.Changes{Summary: ptr("s3")}), by: editorA,
			then: corrected(func(c *domain.Corrected) { c.Body, c.Summary = "b2", "s3" }),
		},
		{
			name: "snapshot of content revised before publication",
			given: history(by(reporter, natoDrafted()),
				by(editorA, domain.Revised{Changes: domain.Changes{Headline: ptr("NATO and Russia meet"), Byline: ptr("")}}),
				by(reporter, domain.Submitted{}), by(editorB, domain.Approved{}),
				by(editorB, domain.Published{Slug: natoSlug, PublishedAt: at(4)})),
			when: fix(domain.Changes{Body: ptr("fixed")}), by: editorA,
			then: corrected(func(c *domain.Corrected) {
				c.Headline, c.Byline, c.Body, c.PublishedAt = "NATO and Russia meet", "", "fixed", at(4)
			}),
		},
		{
			// The slug is the one published under, not the one the draft asked for.
			name:  "published under another slug than requested",
			given: underOtherSlug, when: fix(domain.Changes{Body: ptr("fixed")}), by: editorB,
			then: corrected(func(c *domain.Corrected) { c.Body, c.Slug = "fixed", "nrc-ministers-2" }),
		},
		{
			name:  "back to the slug the draft asked for",
			given: underOtherSlug, when: fix(domain.Changes{Slug: ptr("nrc-ministers"), Body: ptr("fixed")}), by: editorB,
			then: outcome{fields: []string{"slug"}},
		},
		{name: "slug changed", given: givenPublished(), when: fix(domain.Changes{Slug: ptr("nrc-meeting")}), by: editorB, then: outcome{fields: []string{"slug"}}},
		{name: "slug changed beside a fix", given: givenPublished(), when: fix(domain.Changes{Slug: ptr("nrc-meeting"), Body: ptr("fixed")}), by: editorB, then: outcome{fields: []string{"slug"}}},
		{name: "slug cleared", given: givenPublished(), when: fix(domain.Changes{Slug: ptr("")}), by: editorB, then: outcome{fields: []string{"slug"}}},
		{name: "slug not a slug", given: givenPublished(), when: fix(domain.Changes{Slug: ptr("NATO Russia")}), by: editorB, then: outcome{fields: []string{"slug"}}},
		{name: "no note", given: givenPublished(), when: domain.Correct{Changes: domain.Changes{Body: ptr("fixed")}}, by: editorB, then: outcome{fields: []string{"note"}}},
		{name: "blank note", given: givenPublished(), when: domain.Correct{Changes: domain.Changes{Body: ptr("fixed")}, Note: "\n\t "}, by: editorB, then: outcome{fields: []string{"note"}}},
		{
			name:  "note at MaxNote two-byte characters",
			given: givenPublished(), when: domain.Correct{Changes: domain.Changes{Body: ptr("fixed")}, Note: strings.Repeat("ü", domain.MaxNote)}, by: editorB,
			then: outcome{event: natoCorrected(strings.Repeat("ü", domain.MaxNote), oneEditor(body("fixed")))},
		},
		{
			name:  "note over MaxNote",
			given: givenPublished(), when: domain.Correct{Changes: domain.Changes{Body: ptr("fixed")}, Note: strings.Repeat("n", domain.MaxNote+1)}, by: editorB,
			then: outcome{fields: []string{"note"}},
		},
		{name: "note not UTF-8", given: givenPublished(), when: domain.Correct{Changes: domain.Changes{Body: ptr("fixed")}, Note: "\xc3\x28"}, by: editorB, then: outcome{fields: []string{"note"}}},
		// A note alone changes no public field: it is published at once, whatever the policy.
		{name: "a note alone", given: givenPublished(), when: fix(domain.Changes{}), by: editorB, then: outcome{event: natoCorrected(natoNote, nil)}},
		{
			name:  "fields set to what they are: a note alone",
			given: givenPublished(), when: fix(domain.Changes{Headline: ptr(natoHeadline), Tags: ptr([]string{"nato", "russia"})}), by: editorB,
			then: outcome{event: natoCorrected(natoNote, nil)},
		},
		{name: "no note and no change", given: givenPublished(), when: domain.Correct{}, by: editorB, then: outcome{fields: []string{"note"}}},
		{name: "clearing the headline", given: givenPublished(), when: fix(domain.Changes{Headline: ptr("")}), by: editorB, then: outcome{fields: []string{"headline"}}},
		{
			// A published article keeps what review needed: a body and a language.
			name:  "clearing the body",
			given: givenPublished(), when: fix(domain.Changes{Body: ptr("")}), by: editorB,
			then: outcome{fields: []string{"body"}},
		},
		{name: "blanking the body", given: givenPublished(), when: fix(domain.Changes{Body: ptr(" \n")}), by: editorB, then: outcome{fields: []string{"body"}}},
		{name: "clearing the language", given: givenPublished(), when: fix(domain.Changes{Language: ptr("")}), by: editorB, then: outcome{fields: []string{"language"}}},
		{name: "invalid language", given: givenPublished(), when: fix(domain.Changes{Language: ptr("en_GB")}), by: editorB, then: outcome{fields: []string{"language"}}},
		{name: "body over MaxBody", given: givenPublished(), when: fix(domain.Changes{Body: ptr(strings.Repeat("b", domain.MaxBody+1))}), by: editorB, then: outcome{fields: []string{"body"}}},
		{name: "duplicate tag", given: givenPublished(), when: fix(domain.Changes{Tags: ptr([]string{"nato", "nato"})}), by: editorB, then: outcome{fields: []string{"tags"}}},
		{name: "the author, a reporter", given: givenPublished(), when: fix(domain.Changes{Body: ptr("fixed")}), by: reporter, then: outcome{err: domain.ErrForbidden}},
		{name: "actor without a role", given: givenPublished(), when: fix(domain.Changes{Body: ptr("fixed")}), by: anonymous, then: outcome{err: domain.ErrForbidden}},
		{name: "reporter, approved", given: givenApproved(), when: fix(domain.Changes{Body: ptr("fixed")}), by: reporter, then: outcome{err: domain.ErrForbidden}},
		{
			// Before publication a change is a revision; the status is checked before the changes.
			name:  "approved, without a note",
			given: givenApproved(), when: domain.Correct{}, by: editorB,
			then: outcome{err: domain.ErrInvalidTransition},
		},
		{name: "draft", given: givenDraft(), when: fix(domain.Changes{Body: ptr("fixed")}), by: editorB, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "changes requested", given: givenChangesRequested(), when: fix(domain.Changes{Body: ptr("fixed")}), by: editorB, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "in review", given: givenInReview(), when: fix(domain.Changes{Body: ptr("fixed")}), by: editorB, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "approved", given: givenApproved(), when: fix(domain.Changes{Body: ptr("fixed")}), by: editorB, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "retracted", given: givenRetracted(), when: fix(domain.Changes{Body: ptr("fixed")}), by: admin, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "spiked", given: givenSpiked(), when: fix(domain.Changes{Body: ptr("fixed")}), by: admin, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "no article", when: fix(domain.Changes{Body: ptr("fixed")}), by: editorB, then: outcome{err: domain.ErrNotFound}},
	}
	for i := range cases {
		cases[i].policy = domain.Policy{SingleEditorCorrections: true}
	}
	runDecideCases(t, cases)
}

// TestDecideCorrectListsEveryInvalidField: a *ValidationError "lists every invalid field of a
// command at once" (errors.go), as Draft and Revise do; Correct stops at the first.
func TestDecideCorrectListsEveryInvalidField(t *testing.T) {
	a := domain.Fold(articleID, givenPublished())
	_, err := domain.Decide(a, domain.Correct{Changes: domain.Changes{Slug: ptr("nrc-meeting"), Body: ptr("")}},
		domain.Decision{By: editorB, Now: now})
	fields, ok := fieldsOf(err)
	slices.Sort(fields)
	if want := []string{"body", "note", "slug"}; !ok || !slices.Equal(fields, want) {
		t.Errorf("Decide(correct changing slug, clearing body, no note) = %v; want fields %q", err, want)
	}
}

func TestDecideRetract(t *testing.T) {
	retract := func(reason string) domain.Command { return domain.Retract{Reason: reason} }
	// The retraction carries its public notice: the headline withdrawn, its slug and first
	// publication, as the article stood (after a correction, the corrected headline).
	retracted := func(reason string) outcome {
		return outcome{event: domain.Retracted{Reason: reason, Slug: natoSlug, PublishedAt: at(3), Headline: natoHeadline}}
	}
	runDecideCases(t, []decideCase{
		{name: "published, by an editor", given: givenPublished(), when: retract(natoReason), by: editorB, then: retracted(natoReason)},
		{name: "by the editor who published", given: givenPublished(), when: retract(natoReason), by: editorA, then: retracted(natoReason)},
		{name: "by an admin", given: givenPublished(), when: retract(natoReason), by: admin, then: retracted(natoReason)},
		{name: "after a correction", given: givenCorrected("b2"), when: retract(natoReason), by: editorB, then: retracted(natoReason)},
		{
			name: "after a correction of the headline: the corrected headline is withdrawn",
			given: history(append(givenPublished(), by(editorB, natoCorrected(natoNote, func(c *domain.Corrected) {
				c.Headline = "NATO-Russia Council ministers meet"
			})))...),
			when: retract(natoReason), by: editorB,
			then: outcome{event: domain.Retracted{Reason: natoReason, Slug: natoSlug, PublishedAt: at(3),
				Headline: "NATO-Russia Council ministers meet"}},
		},
		{
			name:  "reason at MaxReason two-byte characters",
			given: givenPublished(), when: retract(strings.Repeat("ø", domain.MaxReason)), by: editorB,
			then: retracted(strings.Repeat("ø", domain.MaxReason)),
		},
		{name: "no reason", given: givenPublished(), when: retract(""), by: editorB, then: outcome{fields: []string{"reason"}}},
		{name: "blank reason", given: givenPublished(), when: retract("\u2003 \t"), by: editorB, then: outcome{fields: []string{"reason"}}},
		{name: "reason over MaxReason", given: givenPublished(), when: retract(strings.Repeat("r", domain.MaxReason+1)), by: editorB, then: outcome{fields: []string{"reason"}}},
		{name: "reason not UTF-8", given: givenPublished(), when: retract("\xed\xa0\x80"), by: editorB, then: outcome{fields: []string{"reason"}}},
		{name: "the author, a reporter", given: givenPublished(), when: retract(natoReason), by: reporter, then: outcome{err: domain.ErrForbidden}},
		{name: "actor without a role", given: givenPublished(), when: retract(natoReason), by: anonymous, then: outcome{err: domain.ErrForbidden}},
		{name: "draft, without a reason", given: givenDraft(), when: retract(""), by: editorB, then: outcome{err: domain.ErrInvalidTransition}},
		// An article that was never public is spiked, not retracted.
		{name: "draft", given: givenDraft(), when: retract(natoReason), by: editorB, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "changes requested", given: givenChangesRequested(), when: retract(natoReason), by: editorB, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "in review", given: givenInReview(), when: retract(natoReason), by: editorB, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "approved", given: givenApproved(), when: retract(natoReason), by: editorB, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "already retracted", given: givenRetracted(), when: retract(natoReason), by: admin, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "spiked", given: givenSpiked(), when: retract(natoReason), by: admin, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "no article", when: retract(natoReason), by: editorB, then: outcome{err: domain.ErrNotFound}},
	})
}

func TestDecideSpike(t *testing.T) {
	spiked := outcome{event: domain.Spiked{}}
	forbidden := outcome{err: domain.ErrForbidden}
	draftedByEditorA := history(by(editorA, natoDrafted()))
	revisedByReporter2 := history(by(reporter, natoDrafted()), by(reporter2, domain.Revised{Changes: domain.Changes{Summary: ptr("s")}}))
	runDecideCases(t, []decideCase{
		{
			name:  "draft, by its author, with a reason",
			given: givenDraft(), when: domain.Spike{Reason: natoReason}, by: reporter,
			then: outcome{event: domain.Spiked{Reason: natoReason}},
		},
		{name: "draft, by its author, without a reason", given: givenDraft(), when: domain.Spike{}, by: reporter, then: spiked},
		{name: "changes requested, by its author", given: givenChangesRequested(), when: domain.Spike{}, by: reporter, then: spiked},
		{name: "in review, by its author", given: givenInReview(), when: domain.Spike{}, by: reporter, then: spiked},
		{name: "approved, by its author", given: givenApproved(), when: domain.Spike{}, by: reporter, then: spiked},
		{name: "draft, by an editor", given: givenDraft(), when: domain.Spike{}, by: editorB, then: spiked},
		{name: "approved, by the editor who approved", given: givenApproved(), when: domain.Spike{Reason: natoReason}, by: editorA, then: outcome{event: domain.Spiked{Reason: natoReason}}},
		{name: "in review, by an admin", given: givenInReview(), when: domain.Spike{}, by: admin, then: spiked},
		{name: "an editor's draft, by that editor", given: draftedByEditorA, when: domain.Spike{}, by: editorA, then: spiked},
		{name: "its author acting as an editor", given: givenDraft(), when: domain.Spike{}, by: domain.Actor{ID: reporter.ID, Role: domain.RoleEditor}, then: spiked},
		{
			name:  "reason at MaxReason four-byte characters",
			given: givenDraft(), when: domain.Spike{Reason: strings.Repeat("🗞", domain.MaxReason)}, by: reporter,
			then: outcome{event: domain.Spiked{Reason: strings.Repeat("🗞", domain.MaxReason)}},
		},
		{name: "reason over MaxReason", given: givenDraft(), when: domain.Spike{Reason: strings.Repeat("r", domain.MaxReason+1)}, by: reporter, then: outcome{fields: []string{"reason"}}},
		{name: "reason not UTF-8", given: givenDraft(), when: domain.Spike{Reason: "\x80"}, by: editorB, then: outcome{fields: []string{"reason"}}},
		{name: "draft, by another reporter", given: givenDraft(), when: domain.Spike{}, by: reporter2, then: forbidden},
		{name: "in review, by another reporter", given: givenInReview(), when: domain.Spike{}, by: reporter2, then: forbidden},
		{
			// Writing a revision does not make a reporter the author.
			name:  "by the reporter who revised it",
			given: revisedByReporter2, when: domain.Spike{}, by: reporter2, then: forbidden,
		},
		{name: "an editor's draft, by a reporter", given: draftedByEditorA, when: domain.Spike{}, by: reporter, then: forbidden},
		{name: "actor without a role", given: givenDraft(), when: domain.Spike{}, by: anonymous, then: forbidden},
		{
			// Authorship counts only with a role: the id alone is not enough.
			name:  "its author's id without a role",
			given: givenDraft(), when: domain.Spike{}, by: domain.Actor{ID: reporter.ID}, then: forbidden,
		},
		{
			name:  "its author's id with an unknown role",
			given: givenDraft(), when: domain.Spike{}, by: domain.Actor{ID: reporter.ID, Role: "root"}, then: forbidden,
		},
		{
			// The role is checked before the status, as for every command.
			name:  "published, by another reporter",
			given: givenPublished(), when: domain.Spike{}, by: reporter2, then: forbidden,
		},
		{name: "published, by its author", given: givenPublished(), when: domain.Spike{}, by: reporter, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "published, by an editor", given: givenPublished(), when: domain.Spike{}, by: editorB, then: outcome{err: domain.ErrInvalidTransition}},
		{
			name:  "published, by its author, reason over MaxReason",
			given: givenPublished(), when: domain.Spike{Reason: strings.Repeat("r", domain.MaxReason+1)}, by: reporter,
			then: outcome{err: domain.ErrInvalidTransition},
		},
		{name: "retracted, by an admin", given: givenRetracted(), when: domain.Spike{}, by: admin, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "already spiked, by its author", given: givenSpiked(), when: domain.Spike{}, by: reporter, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "already spiked, by an admin", given: givenSpiked(), when: domain.Spike{}, by: admin, then: outcome{err: domain.ErrInvalidTransition}},
		{name: "no article", when: domain.Spike{}, by: reporter, then: outcome{err: domain.ErrNotFound}},
	})
}

// TestDecideNothingAfterRetractedOrSpiked gives every command, valid in itself, to articles
// retracted or spiked along different paths: only a draft gets another answer (the article
// exists), and everything else is an invalid transition. Kill, the one command a retracted
// article still takes, is in TestDecideKill; TestDecideNothingAfterKilled does the same for kills.
func TestDecideNothingAfterRetractedOrSpiked(t *testing.T) {
	ends := []struct {
		name  string
		given []domain.Recorded
	}{
		{"retracted", givenRetracted()},
		{"retracted after a correction", history(append(givenCorrected("b2"), by(admin, domain.Retracted{Reason: natoReason}))...)},
		{"spiked draft", givenSpiked()},
		{"spiked after changes were requested", history(append(givenChangesRequested(), by(editorB, domain.Spiked{}))...)},
		{"spiked in review", history(append(givenInReview(), by(admin, domain.Spiked{}))...)},
		{"spiked once approved", history(append(givenApproved(), by(reporter, domain.Spiked{Reason: natoReason}))...)},
	}
	commands := []domain.Command{
		domain.Revise{Changes: domain.Changes{Summary: ptr("s")}},
		domain.Submit{},
		domain.RequestChanges{Comment: natoComment},
		domain.Approve{},
		domain.Publish{Slug: natoSlug},
		domain.Correct{Changes: domain.Changes{Body: ptr("fixed")}, Note: natoNote},
		domain.Retract{Reason: natoReason},
		domain.Spike{Reason: natoReason},
	}
	for _, end := range ends {
		a := domain.Fold(articleID, end.given)
		if a.Status != domain.StatusRetracted && a.Status != domain.StatusSpiked {
			t.Fatalf("Fold(%s).Status = %q; want retracted or spiked", end.name, a.Status)
		}
		for _, actor := range []domain.Actor{admin, editorB} {
			got, err := domain.Decide(a, domain.Draft{Content: natoContent()}, domain.Decision{By: actor, Now: now})
			checkOutcome(t, fmt.Sprintf("%s: %s", end.name, decideCall(domain.Draft{}, actor)), got, err, outcome{err: domain.ErrAlreadyExists})
			for _, c := range commands {
				got, err := domain.Decide(a, c, domain.Decision{By: actor, Now: now})
				checkOutcome(t, fmt.Sprintf("%s: %s", end.name, decideCall(c, actor)), got, err, outcome{err: domain.ErrInvalidTransition})
			}
		}
		// The author, a reporter, may give these three to an article in progress.
		for _, c := range []domain.Command{commands[0], commands[1], commands[7]} {
			got, err := domain.Decide(a, c, domain.Decision{By: reporter, Now: now})
			checkOutcome(t, fmt.Sprintf("%s: %s", end.name, decideCall(c, reporter)), got, err, outcome{err: domain.ErrInvalidTransition})
		}
	}
}

// TestDecideThenEvolveDesk drives one article through every step of the desk, deciding each
// command against the state folded so far, as the shell does; step i is decided and recorded
// at(i).
func TestDecideThenEvolveDesk(t *testing.T) {
	const (
		fixedBody = natoBody + " The Council met at ministerial level."
		summary   = "Ministers reiterated the continued importance of the NRC."
	)
	steps := []struct {
		when          domain.Command
		by            domain.Actor
		status        domain.Status
		lastRevisedBy string
	}{
		{domain.Draft{Content: domain.Content{Headline: natoHeadline}}, reporter, domain.StatusDraft, reporter.ID},
		{domain.Revise{Changes: domain.Changes{Body: ptr(natoBody), Tags: ptr([]string{"nato"})}}, reporter, domain.StatusDraft, reporter.ID},
		{domain.Submit{}, reporter, domain.StatusInReview, reporter.ID},
		{domain.RequestChanges{Comment: "Add the dateline."}, editorA, domain.StatusChangesRequested, reporter.ID},
		{domain.Revise{Changes: domain.Changes{Dateline: ptr("Brussels")}}, reporter, domain.StatusDraft, reporter.ID},
		{domain.Submit{}, reporter, domain.StatusInReview, reporter.ID},
		{domain.Approve{}, editorA, domain.StatusApproved, reporter.ID},
		{domain.Revise{Changes: domain.Changes{Summary: ptr(summary)}}, editorB, domain.StatusDraft, editorB.ID}, // the approval lapses
		{domain.Submit{}, reporter, domain.StatusInReview, editorB.ID},
		{domain.Approve{}, editorA, domain.StatusApproved, editorB.ID},
		{domain.Publish{Slug: natoSlug}, editorB, domain.StatusPublished, editorB.ID},
		// A correction is proposed by one editor and confirmed by another; the proposer wrote it.
		{domain.Correct{Changes: domain.Changes{Body: ptr(fixedBody)}, Note: "Added the level of the meeting."}, editorA, domain.StatusPublished, editorB.ID},
		{domain.ConfirmCorrection{}, editorB, domain.StatusPublished, editorA.ID},
		{domain.Correct{Changes: domain.Changes{Tags: ptr([]string{"nato", "nrc"})}, Note: "Tagged the NRC."}, editorB, domain.StatusPublished, editorA.ID},
		{domain.ConfirmCorrection{}, editorA, domain.StatusPublished, editorB.ID},
		{domain.Retract{Reason: natoReason}, admin, domain.StatusRetracted, editorB.ID},
	}
	var log []domain.Recorded
	for i, s := range steps {
		a := domain.Fold(articleID, log)
		e, err := domain.Decide(a, s.when, domain.Decision{By: s.by, Now: at(i)})
		if err != nil {
			t.Fatalf("step %d: %s = %v; want an event", i+1, decideCall(s.when, s.by), err)
		}
		log = append(log, domain.Recorded{Event: e, Version: i + 1, By: s.by, At: at(i)})
		got := domain.Fold(articleID, log)
		if got.Status != s.status || got.LastRevisedBy != s.lastRevisedBy {
			t.Fatalf("step %d: after %s, status %q, last revised by %q; want %q, %q",
				i+1, e.EventType(), got.Status, got.LastRevisedBy, s.status, s.lastRevisedBy)
		}
	}
	wantTypes := []string{
		domain.TypeDrafted, domain.TypeRevised, domain.TypeSubmitted, domain.TypeChangesRequested,
		domain.TypeRevised, domain.TypeSubmitted, domain.TypeApproved, domain.TypeRevised, domain.TypeSubmitted,
		domain.TypeApproved, domain.TypePublished, domain.TypeCorrectionProposed, domain.TypeCorrected,
		domain.TypeCorrectionProposed, domain.TypeCorrected, domain.TypeRetracted,
	}
	// One step for each command of the table, by its actor, at the time it was decided.
	wantTimeline := make([]domain.Step, len(steps))
	for i, s := range steps {
		wantTimeline[i] = domain.Step{Type: wantTypes[i], Version: i + 1, ActorID: s.by.ID, ActorRole: s.by.Role, At: at(i)}
	}
	got := domain.Fold(articleID, log)
	want := domain.Article{
		ID: articleID, Status: domain.StatusRetracted, Version: len(steps),
		Content: domain.Content{
			Headline: natoHeadline, Summary: summary, Body: fixedBody, Language: "en", Dateline: "Brussels",
			Tags: []string{"nato", "nrc"}, Slug: natoSlug,
		},
		CreatedBy: reporter.ID, LastRevisedBy: editorB.ID,
		CreatedAt: at(0), UpdatedAt: at(15), PublishedAt: at(10),
		Corrections: []domain.Correction{
			{Note: "Added the level of the meeting.", At: at(12)},
			{Note: "Tagged the NRC.", At: at(14)},
		},
		RetractedReason: natoReason, RetractedAt: at(15),
		Timeline: wantTimeline,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Fold(desk) =\n %+v;\nwant\n %+v", got, want)
	}
	// Both corrections were decided after publication and keep its time.
	for i, proposer := range map[int]string{12: editorA.ID, 14: editorB.ID} {
		c, ok := log[i].Event.(domain.Corrected)
		if !ok || !c.PublishedAt.Equal(at(10)) || c.Slug != natoSlug || c.ProposedBy != proposer {
			t.Errorf("step %d = %#v; want a Corrected event under %q, published at %v, proposed by %s", i+1, log[i].Event, natoSlug, at(10), proposer)
		}
	}
	types := make([]string, len(log))
	for i, r := range log {
		types[i] = r.Event.EventType()
	}
	if !slices.Equal(types, wantTypes) {
		t.Errorf("event types = %q; want %q", types, wantTypes)
	}
}

// TestDecideThenEvolveSpike abandons an approved article: its author may, and nothing follows.
func TestDecideThenEvolveSpike(t *testing.T) {
	steps := []struct {
		when domain.Command
		by   domain.Actor
	}{
		{domain.Draft{Content: natoContent()}, reporter},
		{domain.Submit{}, reporter},
		{domain.Approve{}, editorA},
		{domain.Spike{Reason: natoReason}, reporter},
	}
	var log []domain.Recorded
	for i, s := range steps {
		e, err := domain.Decide(domain.Fold(articleID, log), s.when, domain.Decision{By: s.by, Now: at(i)})
		if err != nil {
			t.Fatalf("step %d: %s = %v; want an event", i+1, decideCall(s.when, s.by), err)
		}
		log = append(log, domain.Recorded{Event: e, Version: i + 1, By: s.by, At: at(i)})
	}
	got := domain.Fold(articleID, log)
	want := domain.Article{
		ID: articleID, Status: domain.StatusSpiked, Version: 4, Content: natoContent(),
		CreatedBy: reporter.ID, LastRevisedBy: reporter.ID, CreatedAt: at(0), UpdatedAt: at(3),
		Timeline: []domain.Step{
			{Type: domain.TypeDrafted, Version: 1, ActorID: reporter.ID, ActorRole: domain.RoleReporter, At: at(0)},
			{Type: domain.TypeSubmitted, Version: 2, ActorID: reporter.ID, ActorRole: domain.RoleReporter, At: at(1)},
			{Type: domain.TypeApproved, Version: 3, ActorID: editorA.ID, ActorRole: domain.RoleEditor, At: at(2)},
			{Type: domain.TypeSpiked, Version: 4, ActorID: reporter.ID, ActorRole: domain.RoleReporter, At: at(3)},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Fold(spiked) =\n %+v;\nwant\n %+v", got, want)
	}
	if e, err := domain.Decide(got, domain.Publish{Slug: natoSlug}, domain.Decision{By: editorA, Now: now}); err == nil {
		t.Errorf("Decide(publish a spiked article) = %#v; want an error", e)
	}
}
