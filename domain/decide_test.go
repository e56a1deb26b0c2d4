package domain_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
)

// decideCase is one domain rule: given these recorded events, when this actor gives this
// command at now, then this event or this error.
type decideCase struct {
	name  string
	given []domain.Recorded
	when  domain.Command
	by    domain.Actor
	then  outcome
	// policy is the newsroom's choices; the zero value (every rule on) unless a case says.
	policy domain.Policy
}

func runDecideCases(t *testing.T, cases []decideCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := domain.Fold(articleID, tc.given)
			got, err := domain.Decide(a, tc.when, domain.Decision{By: tc.by, Now: now, Policy: tc.policy})
			checkOutcome(t, decideCall(tc.when, tc.by), got, err, tc.then)
		})
	}
}

func TestDecideDraft(t *testing.T) {
	full := natoContent()
	full.Slug = "nato-russia-council"
	full.Language = "fr"
	noLanguage := natoContent()
	noLanguage.Language = ""
	runDecideCases(t, []decideCase{
		{
			name: "new article records every field",
			when: domain.Draft{Content: full}, by: reporter,
			then: outcome{event: domain.Drafted{
				Headline: natoHeadline, Summary: full.Summary, Body: natoBody, Language: "fr",
				Byline: full.Byline, Dateline: full.Dateline, Tags: []string{"nato", "russia"},
				Slug: "nato-russia-council",
			}},
		},
		{
			name: "no language defaults to en",
			when: domain.Draft{Content: noLanguage}, by: reporter,
			then: outcome{event: natoDrafted()},
		},
		{
			name: "a headline alone is enough",
			when: domain.Draft{Content: domain.Content{Headline: "Ministers meet"}}, by: reporter,
			then: outcome{event: domain.Drafted{Headline: "Ministers meet", Language: "en"}},
		},
		{
			name: "editor may draft",
			when: domain.Draft{Content: domain.Content{Headline: "Ministers meet"}}, by: editorA,
			then: outcome{event: domain.Drafted{Headline: "Ministers meet", Language: "en"}},
		},
		{
			name: "admin may draft",
			when: domain.Draft{Content: domain.Content{Headline: "Ministers meet"}}, by: admin,
			then: outcome{event: domain.Drafted{Headline: "Ministers meet", Language: "en"}},
		},
		{
			name: "actor without a role is forbidden",
			when: domain.Draft{Content: natoContent()}, by: anonymous,
			then: outcome{err: domain.ErrForbidden},
		},
		{
			name:  "existing article",
			given: givenDraft(),
			when:  domain.Draft{Content: natoContent()}, by: reporter,
			then: outcome{err: domain.ErrAlreadyExists},
		},
		{
			name:  "existing article, even for an actor without a role",
			given: givenPublished(),
			when:  domain.Draft{Content: natoContent()}, by: anonymous,
			then: outcome{err: domain.ErrAlreadyExists},
		},
		{
			name: "no headline",
			when: domain.Draft{Content: domain.Content{Body: natoBody}}, by: reporter,
			then: outcome{fields: []string{"headline"}},
		},
		{
			name: "invalid language",
			when: domain.Draft{Content: domain.Content{Headline: "Ministers meet", Language: "english"}}, by: reporter,
			then: outcome{fields: []string{"language"}},
		},
		{
			name: "invalid requested slug",
			when: domain.Draft{Content: domain.Content{Headline: "Ministers meet", Slug: "Ministers Meet"}}, by: reporter,
			then: outcome{fields: []string{"slug"}},
		},
	})
}

func TestDecideRevise(t *testing.T) {
	revisedBy := func(a domain.Actor, c domain.Changes) []domain.Recorded {
		return history(by(reporter, natoDrafted()), by(a, domain.Revised{Changes: c}))
	}
	runDecideCases(t, []decideCase{
		{
			name:  "new headline",
			given: givenDraft(),
			when:  domain.Revise{Changes: domain.Changes{Headline: ptr("NATO and Russia meet")}}, by: reporter,
			then: outcome{event: domain.Revised{Changes: domain.Changes{Headline: ptr("NATO and Russia meet")}}},
		},
		{
			name:  "every field at once",
			given: givenDraft(),
			when: domain.Revise{Changes: domain.Changes{
				Headline: ptr("h"), Summary: ptr("s"), Body: ptr("b"), Language: ptr("de-CH-1996"),
				Byline: ptr("by"), Dateline: ptr("Bruxelles"), Tags: ptr([]string{"nrc"}), Slug: ptr("nrc"),
			}},
			by: editorB,
			then: outcome{event: domain.Revised{Changes: domain.Changes{
				Headline: ptr("h"), Summary: ptr("s"), Body: ptr("b"), Language: ptr("de-CH-1996"),
				Byline: ptr("by"), Dateline: ptr("Bruxelles"), Tags: ptr([]string{"nrc"}), Slug: ptr("nrc"),
			}}},
		},
		{
			name:  "clearing optional fields",
			given: givenDraft(),
			when: domain.Revise{Changes: domain.Changes{
				Summary: ptr(""), Byline: ptr(""), Dateline: ptr(""), Tags: ptr([]string{}), Slug: ptr(""),
			}},
			by: editorA,
			then: outcome{event: domain.Revised{Changes: domain.Changes{
				Summary: ptr(""), Byline: ptr(""), Dateline: ptr(""), Tags: ptr([]string{}), Slug: ptr(""),
			}}},
		},
		{
			// Language is required only to submit: a draft may be without one for a while.
			name:  "clearing the language",
			given: givenDraft(),
			when:  domain.Revise{Changes: domain.Changes{Language: ptr("")}}, by: reporter,
			then: outcome{event: domain.Revised{Changes: domain.Changes{Language: ptr("")}}},
		},
		{
			name:  "setting a field to its current value is still a revision",
			given: givenDraft(),
			when:  domain.Revise{Changes: domain.Changes{Headline: ptr(natoHeadline)}}, by: reporter,
			then: outcome{event: domain.Revised{Changes: domain.Changes{Headline: ptr(natoHeadline)}}},
		},
		{
			name:  "a second revision",
			given: revisedBy(editorA, domain.Changes{Summary: ptr("first")}),
			when:  domain.Revise{Changes: domain.Changes{Summary: ptr("second")}}, by: editorB,
			then: outcome{event: domain.Revised{Changes: domain.Changes{Summary: ptr("second")}}},
		},
		{
			name:  "no changes",
			given: givenDraft(),
			when:  domain.Revise{}, by: reporter,
			then: outcome{fields: []string{""}},
		},
		{
			name:  "clearing the headline",
			given: givenDraft(),
			when:  domain.Revise{Changes: domain.Changes{Headline: ptr("")}}, by: reporter,
			then: outcome{fields: []string{"headline"}},
		},
		{
			name:  "blank headline",
			given: givenDraft(),
			when:  domain.Revise{Changes: domain.Changes{Headline: ptr(" \t\n")}}, by: reporter,
			then: outcome{fields: []string{"headline"}},
		},
		{
			name:  "invalid language",
			given: givenDraft(),
			when:  domain.Revise{Changes: domain.Changes{Language: ptr("en_US")}}, by: reporter,
			then: outcome{fields: []string{"language"}},
		},
		{
			name:  "invalid slug",
			given: givenDraft(),
			when:  domain.Revise{Changes: domain.Changes{Slug: ptr("-nato-")}}, by: reporter,
			then: outcome{fields: []string{"slug"}},
		},
		{
			name:  "duplicate tag",
			given: givenDraft(),
			when:  domain.Revise{Changes: domain.Changes{Tags: ptr([]string{"nato", "nato"})}}, by: reporter,
			then: outcome{fields: []string{"tags"}},
		},
		{
			// The merged content is validated, not only the changes: the old headline stays valid.
			name:  "body over the limit while the headline is unchanged",
			given: givenDraft(),
			when:  domain.Revise{Changes: domain.Changes{Body: ptr(strings.Repeat("x", domain.MaxBody+1))}}, by: reporter,
			then: outcome{fields: []string{"body"}},
		},
		{
			name:  "every invalid field is listed",
			given: givenDraft(),
			when: domain.Revise{Changes: domain.Changes{
				Headline: ptr(""), Language: ptr("e"), Slug: ptr("A"),
			}},
			by:   reporter,
			then: outcome{fields: []string{"headline", "language", "slug"}},
		},
		{
			name:  "changes requested",
			given: givenChangesRequested(),
			when:  domain.Revise{Changes: domain.Changes{Summary: ptr("sourced")}}, by: reporter,
			then: outcome{event: domain.Revised{Changes: domain.Changes{Summary: ptr("sourced")}}},
		},
		{
			// Allowed, but the review lapses: see TestDecideReviseLapses.
			name:  "in review, by an editor",
			given: givenInReview(),
			when:  domain.Revise{Changes: domain.Changes{Summary: ptr("late")}}, by: editorA,
			then: outcome{event: domain.Revised{Changes: domain.Changes{Summary: ptr("late")}}},
		},
		{
			// Reporters revise their own articles only.
			name:  "in review, by a reporter who did not write it",
			given: givenInReview(),
			when:  domain.Revise{Changes: domain.Changes{Body: ptr("late")}}, by: reporter2,
			then: outcome{err: domain.ErrForbidden},
		},
		{
			name:  "approved, by the author",
			given: givenApproved(),
			when:  domain.Revise{Changes: domain.Changes{Summary: ptr("late")}}, by: reporter,
			then: outcome{event: domain.Revised{Changes: domain.Changes{Summary: ptr("late")}}},
		},
		{
			// The content rules hold in every status a revision is allowed in.
			name:  "approved, clearing the headline",
			given: givenApproved(),
			when:  domain.Revise{Changes: domain.Changes{Headline: ptr("")}}, by: editorB,
			then: outcome{fields: []string{"headline"}},
		},
		{
			name:  "approved, no changes",
			given: givenApproved(),
			when:  domain.Revise{}, by: editorB,
			then: outcome{fields: []string{""}},
		},
		{
			// After publication a change is a correction, with a public note.
			name:  "published",
			given: givenPublished(),
			when:  domain.Revise{Changes: domain.Changes{Summary: ptr("late")}}, by: admin,
			then: outcome{err: domain.ErrInvalidTransition},
		},
		{
			name:  "corrected",
			given: givenCorrected("b2"),
			when:  domain.Revise{Changes: domain.Changes{Summary: ptr("late")}}, by: admin,
			then: outcome{err: domain.ErrInvalidTransition},
		},
		{
			name:  "retracted",
			given: givenRetracted(),
			when:  domain.Revise{Changes: domain.Changes{Summary: ptr("late")}}, by: admin,
			then: outcome{err: domain.ErrInvalidTransition},
		},
		{
			name:  "spiked, by the author",
			given: givenSpiked(),
			when:  domain.Revise{Changes: domain.Changes{Summary: ptr("late")}}, by: reporter,
			then: outcome{err: domain.ErrInvalidTransition},
		},
		{
			// The role is checked before the status.
			name:  "published, actor without a role",
			given: givenPublished(),
			when:  domain.Revise{Changes: domain.Changes{Summary: ptr("s")}}, by: anonymous,
			then: outcome{err: domain.ErrForbidden},
		},
		{
			name: "no article",
			when: domain.Revise{Changes: domain.Changes{Summary: ptr("s")}}, by: reporter,
			then: outcome{err: domain.ErrNotFound},
		},
		{
			name:  "actor without a role",
			given: givenDraft(),
			when:  domain.Revise{Changes: domain.Changes{Summary: ptr("s")}}, by: anonymous,
			then: outcome{err: domain.ErrForbidden},
		},
	})
}

func TestDecideSubmit(t *testing.T) {
	draftedWith := func(d domain.Drafted) []domain.Recorded { return history(by(reporter, d)) }
	noBody := natoDrafted()
	noBody.Body = ""
	blankBody := natoDrafted()
	blankBody.Body = "  \n\t "
	runDecideCases(t, []decideCase{
		{
			name:  "complete draft",
			given: givenDraft(),
			when:  domain.Submit{}, by: reporter,
			then: outcome{event: domain.Submitted{}},
		},
		{
			name:  "by another reporter",
			given: givenDraft(),
			when:  domain.Submit{}, by: reporter2,
			then: outcome{err: domain.ErrForbidden},
		},
		{
			name:  "draft without a body",
			given: draftedWith(noBody),
			when:  domain.Submit{}, by: reporter,
			then: outcome{fields: []string{"body"}},
		},
		{
			name:  "draft with a blank body",
			given: draftedWith(blankBody),
			when:  domain.Submit{}, by: reporter,
			then: outcome{fields: []string{"body"}},
		},
		{
			name:  "body cleared by a revision",
			given: history(by(reporter, natoDrafted()), by(reporter, domain.Revised{Changes: domain.Changes{Body: ptr("")}})),
			when:  domain.Submit{}, by: reporter,
			then: outcome{fields: []string{"body"}},
		},
		{
			name:  "language cleared by a revision",
			given: history(by(reporter, natoDrafted()), by(reporter, domain.Revised{Changes: domain.Changes{Language: ptr("")}})),
			when:  domain.Submit{}, by: reporter,
			then: outcome{fields: []string{"language"}},
		},
		{
			name: "body and language cleared",
			given: history(by(reporter, natoDrafted()),
				by(reporter, domain.Revised{Changes: domain.Changes{Body: ptr(""), Language: ptr("")}})),
			when: domain.Submit{}, by: reporter,
			then: outcome{fields: []string{"body", "language"}},
		},
		{
			name:  "body restored by a later revision",
			given: history(by(reporter, noBody), by(reporter, domain.Revised{Changes: domain.Changes{Body: ptr(natoBody)}})),
			when:  domain.Submit{}, by: reporter,
			then: outcome{event: domain.Submitted{}},
		},
		{
			name:  "already in review",
			given: givenInReview(),
			when:  domain.Submit{}, by: reporter,
			then: outcome{err: domain.ErrInvalidTransition},
		},
		{
			name: "no article",
			when: domain.Submit{}, by: reporter,
			then: outcome{err: domain.ErrNotFound},
		},
		{
			// Existence is checked before the role: an unknown actor learns nothing more.
			name: "no article, actor without a role",
			when: domain.Submit{}, by: anonymous,
			then: outcome{err: domain.ErrNotFound},
		},
	})
}

func TestDecideApprove(t *testing.T) {
	runDecideCases(t, []decideCase{
		{
			name:  "editor who did not write it",
			given: givenInReview(),
			when:  domain.Approve{}, by: editorA,
			then: outcome{event: domain.Approved{}},
		},
		{
			name:  "admin who did not write it",
			given: givenInReview(),
			when:  domain.Approve{}, by: admin,
			then: outcome{event: domain.Approved{}},
		},
		{
			name:  "reporter",
			given: givenInReview(),
			when:  domain.Approve{}, by: reporter2,
			then: outcome{err: domain.ErrForbidden},
		},
		{
			name:  "actor without a role",
			given: givenInReview(),
			when:  domain.Approve{}, by: anonymous,
			then: outcome{err: domain.ErrForbidden},
		},
		{
			// The role is checked before the status: a reporter is told they may not approve at all.
			name:  "reporter, draft",
			given: givenDraft(),
			when:  domain.Approve{}, by: reporter,
			then: outcome{err: domain.ErrForbidden},
		},
		{
			name:  "draft not submitted",
			given: givenDraft(),
			when:  domain.Approve{}, by: editorA,
			then: outcome{err: domain.ErrInvalidTransition},
		},
		{
			name:  "already approved",
			given: givenApproved(),
			when:  domain.Approve{}, by: editorB,
			then: outcome{err: domain.ErrInvalidTransition},
		},
		{
			// Sent back: it needs a new submission first.
			name:  "changes requested",
			given: givenChangesRequested(),
			when:  domain.Approve{}, by: editorB,
			then: outcome{err: domain.ErrInvalidTransition},
		},
		{
			name:  "retracted",
			given: givenRetracted(),
			when:  domain.Approve{}, by: editorB,
			then: outcome{err: domain.ErrInvalidTransition},
		},
		{
			name:  "spiked",
			given: givenSpiked(),
			when:  domain.Approve{}, by: editorB,
			then: outcome{err: domain.ErrInvalidTransition},
		},
		{
			name: "no article",
			when: domain.Approve{}, by: editorA,
			then: outcome{err: domain.ErrNotFound},
		},
	})
}

// TestDecideFourEyes checks that the editor who wrote the latest revision of the content cannot
// approve it; any other editor can. Submitting, requesting changes and approving are not
// writing; drafting, revising and correcting are.
func TestDecideFourEyes(t *testing.T) {
	draftedBy := func(a domain.Actor) domain.Recorded { return by(a, natoDrafted()) }
	revisedBy := func(a domain.Actor) domain.Recorded {
		return by(a, domain.Revised{Changes: domain.Changes{Summary: ptr("revised by " + a.ID)}})
	}
	submittedBy := func(a domain.Actor) domain.Recorded { return by(a, domain.Submitted{}) }
	selfApproval := outcome{err: domain.ErrSelfApproval}
	approved := outcome{event: domain.Approved{}}
	runDecideCases(t, []decideCase{
		{
			name:  "editor A drafted; A approves",
			given: history(draftedBy(editorA), submittedBy(editorA)),
			when:  domain.Approve{}, by: editorA, then: selfApproval,
		},
		{
			name:  "editor A drafted; B approves",
			given: history(draftedBy(editorA), submittedBy(editorA)),
			when:  domain.Approve{}, by: editorB, then: approved,
		},
		{
			name:  "A drafted, B revised; B approves",
			given: history(draftedBy(editorA), revisedBy(editorB), submittedBy(editorA)),
			when:  domain.Approve{}, by: editorB, then: selfApproval,
		},
		{
			// The loophole of "the author of the latest revision": A's own body would reach
			// the public read by no one else.
			name:  "A drafted, B revised; A approves",
			given: history(draftedBy(editorA), revisedBy(editorB), submittedBy(editorA)),
			when:  domain.Approve{}, by: editorA, then: selfApproval,
		},
		{
			name:  "A drafted, a reporter changed the summary; A approves",
			given: history(draftedBy(editorA), revisedBy(editorA), submittedBy(editorA)),
			when:  domain.Approve{}, by: editorA, then: selfApproval,
		},
		{
			name:  "A drafted, B revised; a third editor approves",
			given: history(draftedBy(editorA), revisedBy(editorB), submittedBy(editorA)),
			when:  domain.Approve{}, by: domain.Actor{ID: "u-ed-c", Role: domain.RoleEditor}, then: approved,
		},
		{
			name:  "reporter drafted, A revised; A approves",
			given: history(draftedBy(reporter), revisedBy(editorA), submittedBy(reporter)),
			when:  domain.Approve{}, by: editorA, then: selfApproval,
		},
		{
			name:  "reporter drafted, A revised; B approves",
			given: history(draftedBy(reporter), revisedBy(editorA), submittedBy(reporter)),
			when:  domain.Approve{}, by: editorB, then: approved,
		},
		{
			name:  "A revised, then B, then A; B approves",
			given: history(draftedBy(reporter), revisedBy(editorA), revisedBy(editorB), revisedBy(editorA), submittedBy(reporter)),
			when:  domain.Approve{}, by: editorB, then: selfApproval,
		},
		{
			name:  "A revised, then B, then A; A approves",
			given: history(draftedBy(reporter), revisedBy(editorA), revisedBy(editorB), revisedBy(editorA), submittedBy(reporter)),
			when:  domain.Approve{}, by: editorA, then: selfApproval,
		},
		{
			name:  "B submitted A's draft; B approves",
			given: history(draftedBy(editorA), submittedBy(editorB)),
			when:  domain.Approve{}, by: editorB, then: approved,
		},
		{
			name:  "admin wrote the latest revision; admin approves",
			given: history(draftedBy(reporter), revisedBy(admin), submittedBy(reporter)),
			when:  domain.Approve{}, by: admin, then: selfApproval,
		},
		{
			// The rule is about the person (the id), not the role they act in.
			name:  "A revised as editor; A approves as admin",
			given: history(draftedBy(reporter), revisedBy(editorA), submittedBy(reporter)),
			when:  domain.Approve{}, by: domain.Actor{ID: editorA.ID, Role: domain.RoleAdmin}, then: selfApproval,
		},
		{
			name: "A revised, B requested changes, resubmitted unchanged; B approves",
			given: history(draftedBy(reporter), revisedBy(editorA), submittedBy(reporter),
				requestedBy(editorB), submittedBy(reporter)),
			when: domain.Approve{}, by: editorB, then: approved,
		},
		{
			name: "A revised, B requested changes, resubmitted unchanged; A approves",
			given: history(draftedBy(reporter), revisedBy(editorA), submittedBy(reporter),
				requestedBy(editorB), submittedBy(reporter)),
			when: domain.Approve{}, by: editorA, then: selfApproval,
		},
		{
			name: "B requested changes, B revised, resubmitted; B approves",
			given: history(draftedBy(reporter), submittedBy(reporter), requestedBy(editorB),
				revisedBy(editorB), submittedBy(reporter)),
			when: domain.Approve{}, by: editorB, then: selfApproval,
		},
		{
			// A revision after approval lapses it; the editor who approved may approve again,
			// as long as they did not write the new revision.
			name: "A approved, B revised, resubmitted; A approves again",
			given: history(draftedBy(reporter), submittedBy(reporter), by(editorA, domain.Approved{}),
				revisedBy(editorB), submittedBy(reporter)),
			when: domain.Approve{}, by: editorA, then: approved,
		},
		{
			name: "A approved, B revised, resubmitted; B approves",
			given: history(draftedBy(reporter), submittedBy(reporter), by(editorA, domain.Approved{}),
				revisedBy(editorB), submittedBy(reporter)),
			when: domain.Approve{}, by: editorB, then: selfApproval,
		},
		{
			name: "A approved, A revised, resubmitted; A approves",
			given: history(draftedBy(reporter), submittedBy(reporter), by(editorA, domain.Approved{}),
				revisedBy(editorA), submittedBy(reporter)),
			when: domain.Approve{}, by: editorA, then: selfApproval,
		},
		// No command leads from published back to review today, so the histories below cannot
		// be decided yet; the log is trusted, and they pin the rule for when one does: a
		// Corrected event one editor made alone (before corrections needed two, or by policy)
		// is a revision by its actor.
		{
			name:  "B corrected after publication, back in review; B approves",
			given: history(append(givenCorrected("b2"), submittedBy(reporter))...),
			when:  domain.Approve{}, by: editorB, then: selfApproval,
		},
		{
			name:  "B corrected after publication, back in review; A approves",
			given: history(append(givenCorrected("b2"), submittedBy(reporter))...),
			when:  domain.Approve{}, by: editorA, then: approved,
		},
		{
			name: "A corrected, then B; back in review; A approves",
			given: history(append(givenPublished(),
				by(editorA, natoCorrected("one", func(c *domain.Corrected) { c.Body = "one" })),
				by(editorB, natoCorrected("two", func(c *domain.Corrected) { c.Body = "two" })), submittedBy(reporter))...),
			when: domain.Approve{}, by: editorA, then: selfApproval,
		},
	})
}

func requestedBy(a domain.Actor) domain.Recorded {
	return by(a, domain.ChangesRequested{Comment: "requested by " + a.ID})
}

func TestDecidePublish(t *testing.T) {
	withSlug := natoDrafted()
	withSlug.Slug = "nrc-ministers"
	republishable := append(givenPublished(), domain.Recorded{Event: domain.Approved{}, By: editorB, Version: 5, At: at(4)})
	runDecideCases(t, []decideCase{
		{
			name:  "approved article, first publication",
			given: givenApproved(),
			when:  domain.Publish{Slug: natoSlug}, by: editorB,
			then: outcome{event: domain.Published{
				Slug: natoSlug, PublishedAt: now,
				Headline: natoHeadline, Summary: natoDrafted().Summary, Body: natoBody, Language: "en",
				Byline: natoDrafted().Byline, Dateline: natoDrafted().Dateline, Tags: []string{"nato", "russia"},
			}},
		},
		{
			// Four eyes guard approval, not publication: the approving editor may publish.
			name:  "by the editor who approved",
			given: givenApproved(),
			when:  domain.Publish{Slug: natoSlug}, by: editorA,
			then: outcome{event: domain.Published{
				Slug: natoSlug, PublishedAt: now,
				Headline: natoHeadline, Summary: natoDrafted().Summary, Body: natoBody, Language: "en",
				Byline: natoDrafted().Byline, Dateline: natoDrafted().Dateline, Tags: []string{"nato", "russia"},
			}},
		},
		{
			name: "snapshot of revised content",
			given: history(
				by(reporter, natoDrafted()),
				by(editorA, domain.Revised{Changes: domain.Changes{
					Headline: ptr("NATO and Russia ministers meet"), Summary: ptr(""), Tags: ptr([]string{"nrc"}),
				}}),
				by(reporter, domain.Submitted{}), by(editorB, domain.Approved{}),
			),
			when: domain.Publish{Slug: "nato-and-russia-ministers-meet"}, by: admin,
			then: outcome{event: domain.Published{
				Slug: "nato-and-russia-ministers-meet", PublishedAt: now,
				Headline: "NATO and Russia ministers meet", Body: natoBody, Language: "en",
				Byline: natoDrafted().Byline, Dateline: natoDrafted().Dateline, Tags: []string{"nrc"},
			}},
		},
		{
			// The command's slug (reserved by the shell) wins over the one the draft asked for.
			name:  "slug from the command",
			given: history(by(reporter, withSlug), by(reporter, domain.Submitted{}), by(editorA, domain.Approved{})),
			when:  domain.Publish{Slug: "nrc-ministers-2"}, by: editorB,
			then: outcome{event: domain.Published{
				Slug: "nrc-ministers-2", PublishedAt: now,
				Headline: natoHeadline, Summary: natoDrafted().Summary, Body: natoBody, Language: "en",
				Byline: natoDrafted().Byline, Dateline: natoDrafted().Dateline, Tags: []string{"nato", "russia"},
			}},
		},
		{
			// No command leads back to approved yet; when one does, PublishedAt stays the first.
			name:  "published before: keeps the first PublishedAt",
			given: republishable,
			when:  domain.Publish{Slug: natoSlug}, by: editorB,
			then: outcome{event: domain.Published{
				Slug: natoSlug, PublishedAt: at(3),
				Headline: natoHeadline, Summary: natoDrafted().Summary, Body: natoBody, Language: "en",
				Byline: natoDrafted().Byline, Dateline: natoDrafted().Dateline, Tags: []string{"nato", "russia"},
			}},
		},
		{
			name:  "empty slug",
			given: givenApproved(),
			when:  domain.Publish{}, by: editorB,
			then: outcome{fields: []string{"slug"}},
		},
		{
			name:  "invalid slug",
			given: givenApproved(),
			when:  domain.Publish{Slug: "NATO Russia"}, by: editorB,
			then: outcome{fields: []string{"slug"}},
		},
		{
			name:  "slug over MaxSlug",
			given: givenApproved(),
			when:  domain.Publish{Slug: strings.Repeat("a", domain.MaxSlug+1)}, by: editorB,
			then: outcome{fields: []string{"slug"}},
		},
		{
			name:  "in review",
			given: givenInReview(),
			when:  domain.Publish{Slug: natoSlug}, by: editorB,
			then: outcome{err: domain.ErrInvalidTransition},
		},
		{
			name:  "already published",
			given: givenPublished(),
			when:  domain.Publish{Slug: natoSlug}, by: editorB,
			then: outcome{err: domain.ErrInvalidTransition},
		},
		{
			name:  "changes requested",
			given: givenChangesRequested(),
			when:  domain.Publish{Slug: natoSlug}, by: editorB,
			then: outcome{err: domain.ErrInvalidTransition},
		},
		{
			// A retraction is final: the article cannot come back under its slug.
			name:  "retracted",
			given: givenRetracted(),
			when:  domain.Publish{Slug: natoSlug}, by: admin,
			then: outcome{err: domain.ErrInvalidTransition},
		},
		{
			name:  "spiked",
			given: givenSpiked(),
			when:  domain.Publish{Slug: natoSlug}, by: admin,
			then: outcome{err: domain.ErrInvalidTransition},
		},
		{
			name:  "reporter",
			given: givenApproved(),
			when:  domain.Publish{Slug: natoSlug}, by: reporter,
			then: outcome{err: domain.ErrForbidden},
		},
		{
			name:  "actor without a role",
			given: givenApproved(),
			when:  domain.Publish{Slug: natoSlug}, by: anonymous,
			then: outcome{err: domain.ErrForbidden},
		},
		{
			name: "no article",
			when: domain.Publish{Slug: natoSlug}, by: editorB,
			then: outcome{err: domain.ErrNotFound},
		},
	})
}

// TestDecideWorkflow gives every command, from every status, as every role. Each row of the
// table is a status; its columns are what the article's author (a reporter), another reporter,
// an editor, an admin and an actor without a role get. No editor or admin wrote the article, so
// four eyes never apply here.
func TestDecideWorkflow(t *testing.T) {
	const (
		ok        = "ok"
		notFound  = "not found"
		exists    = "exists"
		forbidden = "forbidden"
		invalid   = "invalid transition"
	)
	roles := []domain.Actor{
		reporter, // CreatedBy of every given history
		{ID: "u-rep-9", Role: domain.RoleReporter},
		{ID: "u-ed-9", Role: domain.RoleEditor},
		{ID: "u-adm-9", Role: domain.RoleAdmin},
		{ID: "u-anon-9", Role: ""},
	}
	givens := map[domain.Status]func() []domain.Recorded{
		domain.StatusNone:             givenNone,
		domain.StatusDraft:            givenDraft,
		domain.StatusChangesRequested: givenChangesRequested,
		domain.StatusInReview:         givenInReview,
		domain.StatusApproved:         givenApproved,
		domain.StatusScheduled:        givenScheduled,
		domain.StatusPublished:        givenPublished,
		domain.StatusRetracted:        givenRetracted,
		domain.StatusSpiked:           givenSpiked,
		domain.StatusKilled:           givenKilled,
	}
	statuses := append([]domain.Status{domain.StatusNone}, domain.Statuses...)
	if len(statuses) != len(givens) {
		t.Fatalf("domain.Statuses = %q; want a given history for each, and only for %d", domain.Statuses, len(givens)-1)
	}
	type grid map[domain.Status][5]string
	tests := []struct {
		when      domain.Command
		eventType string
		want      grid
	}{
		{domain.Draft{Content: natoContent()}, domain.TypeDrafted, grid{
			domain.StatusNone:             {ok, ok, ok, ok, forbidden},
			domain.StatusDraft:            {exists, exists, exists, exists, exists},
			domain.StatusChangesRequested: {exists, exists, exists, exists, exists},
			domain.StatusInReview:         {exists, exists, exists, exists, exists},
			domain.StatusApproved:         {exists, exists, exists, exists, exists},
			domain.StatusScheduled:        {exists, exists, exists, exists, exists},
			domain.StatusPublished:        {exists, exists, exists, exists, exists},
			domain.StatusRetracted:        {exists, exists, exists, exists, exists},
			domain.StatusSpiked:           {exists, exists, exists, exists, exists},
			domain.StatusKilled:           {exists, exists, exists, exists, exists},
		}},
		// A reporter works on their own articles only; editors on any.
		{domain.Revise{Changes: domain.Changes{Summary: ptr("new")}}, domain.TypeRevised, grid{
			domain.StatusNone:             {notFound, notFound, notFound, notFound, notFound},
			domain.StatusDraft:            {ok, forbidden, ok, ok, forbidden},
			domain.StatusChangesRequested: {ok, forbidden, ok, ok, forbidden},
			domain.StatusInReview:         {ok, forbidden, ok, ok, forbidden},
			domain.StatusApproved:         {ok, forbidden, ok, ok, forbidden},
			domain.StatusScheduled:        {ok, forbidden, ok, ok, forbidden},
			domain.StatusPublished:        {invalid, forbidden, invalid, invalid, forbidden},
			domain.StatusRetracted:        {invalid, forbidden, invalid, invalid, forbidden},
			domain.StatusSpiked:           {invalid, forbidden, invalid, invalid, forbidden},
			domain.StatusKilled:           {invalid, forbidden, invalid, invalid, forbidden},
		}},
		{domain.Submit{}, domain.TypeSubmitted, grid{
			domain.StatusNone:             {notFound, notFound, notFound, notFound, notFound},
			domain.StatusDraft:            {ok, forbidden, ok, ok, forbidden},
			domain.StatusChangesRequested: {ok, forbidden, ok, ok, forbidden},
			domain.StatusInReview:         {invalid, forbidden, invalid, invalid, forbidden},
			domain.StatusApproved:         {invalid, forbidden, invalid, invalid, forbidden},
			domain.StatusScheduled:        {invalid, forbidden, invalid, invalid, forbidden},
			domain.StatusPublished:        {invalid, forbidden, invalid, invalid, forbidden},
			domain.StatusRetracted:        {invalid, forbidden, invalid, invalid, forbidden},
			domain.StatusSpiked:           {invalid, forbidden, invalid, invalid, forbidden},
			domain.StatusKilled:           {invalid, forbidden, invalid, invalid, forbidden},
		}},
		{domain.RequestChanges{Comment: natoComment}, domain.TypeChangesRequested, grid{
			domain.StatusNone:             {notFound, notFound, notFound, notFound, notFound},
			domain.StatusDraft:            {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusChangesRequested: {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusInReview:         {forbidden, forbidden, ok, ok, forbidden},
			domain.StatusApproved:         {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusScheduled:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusPublished:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusRetracted:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusSpiked:           {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusKilled:           {forbidden, forbidden, invalid, invalid, forbidden},
		}},
		{domain.Approve{}, domain.TypeApproved, grid{
			domain.StatusNone:             {notFound, notFound, notFound, notFound, notFound},
			domain.StatusDraft:            {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusChangesRequested: {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusInReview:         {forbidden, forbidden, ok, ok, forbidden},
			domain.StatusApproved:         {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusScheduled:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusPublished:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusRetracted:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusSpiked:           {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusKilled:           {forbidden, forbidden, invalid, invalid, forbidden},
		}},
		{domain.Publish{Slug: natoSlug}, domain.TypePublished, grid{
			domain.StatusNone:             {notFound, notFound, notFound, notFound, notFound},
			domain.StatusDraft:            {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusChangesRequested: {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusInReview:         {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusApproved:         {forbidden, forbidden, ok, ok, forbidden},
			domain.StatusScheduled:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusPublished:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusRetracted:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusSpiked:           {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusKilled:           {forbidden, forbidden, invalid, invalid, forbidden},
		}},
		{domain.Correct{Changes: domain.Changes{Summary: ptr("new")}, Note: natoNote}, domain.TypeCorrectionProposed, grid{
			domain.StatusNone:             {notFound, notFound, notFound, notFound, notFound},
			domain.StatusDraft:            {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusChangesRequested: {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusInReview:         {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusApproved:         {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusScheduled:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusPublished:        {forbidden, forbidden, ok, ok, forbidden},
			domain.StatusRetracted:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusSpiked:           {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusKilled:           {forbidden, forbidden, invalid, invalid, forbidden},
		}},
		{domain.Correct{Note: natoNote}, domain.TypeCorrected, grid{
			domain.StatusNone:             {notFound, notFound, notFound, notFound, notFound},
			domain.StatusDraft:            {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusChangesRequested: {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusInReview:         {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusApproved:         {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusScheduled:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusPublished:        {forbidden, forbidden, ok, ok, forbidden},
			domain.StatusRetracted:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusSpiked:           {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusKilled:           {forbidden, forbidden, invalid, invalid, forbidden},
		}},
		// givenPublished has no pending correction (see TestDecideCorrectionFlow for the rest).
		{domain.ConfirmCorrection{}, "", grid{
			domain.StatusNone:             {notFound, notFound, notFound, notFound, notFound},
			domain.StatusDraft:            {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusChangesRequested: {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusInReview:         {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusApproved:         {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusScheduled:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusPublished:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusRetracted:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusSpiked:           {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusKilled:           {forbidden, forbidden, invalid, invalid, forbidden},
		}},
		{domain.WithdrawCorrection{}, "", grid{
			domain.StatusNone:             {notFound, notFound, notFound, notFound, notFound},
			domain.StatusDraft:            {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusChangesRequested: {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusInReview:         {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusApproved:         {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusScheduled:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusPublished:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusRetracted:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusSpiked:           {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusKilled:           {forbidden, forbidden, invalid, invalid, forbidden},
		}},
		{domain.Retract{Reason: natoReason}, domain.TypeRetracted, grid{
			domain.StatusNone:             {notFound, notFound, notFound, notFound, notFound},
			domain.StatusDraft:            {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusChangesRequested: {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusInReview:         {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusApproved:         {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusScheduled:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusPublished:        {forbidden, forbidden, ok, ok, forbidden},
			domain.StatusRetracted:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusSpiked:           {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusKilled:           {forbidden, forbidden, invalid, invalid, forbidden},
		}},
		{domain.Spike{}, domain.TypeSpiked, grid{
			domain.StatusNone:             {notFound, notFound, notFound, notFound, notFound},
			domain.StatusDraft:            {ok, forbidden, ok, ok, forbidden},
			domain.StatusChangesRequested: {ok, forbidden, ok, ok, forbidden},
			domain.StatusInReview:         {ok, forbidden, ok, ok, forbidden},
			domain.StatusApproved:         {ok, forbidden, ok, ok, forbidden},
			domain.StatusScheduled:        {ok, forbidden, ok, ok, forbidden},
			domain.StatusPublished:        {invalid, forbidden, invalid, invalid, forbidden},
			domain.StatusRetracted:        {invalid, forbidden, invalid, invalid, forbidden},
			domain.StatusSpiked:           {invalid, forbidden, invalid, invalid, forbidden},
			domain.StatusKilled:           {invalid, forbidden, invalid, invalid, forbidden},
		}},
		{domain.Kill{Reason: natoKillReason}, domain.TypeKilled, grid{
			domain.StatusNone:             {notFound, notFound, notFound, notFound, notFound},
			domain.StatusDraft:            {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusChangesRequested: {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusInReview:         {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusApproved:         {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusScheduled:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusPublished:        {forbidden, forbidden, ok, ok, forbidden},
			domain.StatusRetracted:        {forbidden, forbidden, ok, ok, forbidden},
			domain.StatusSpiked:           {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusKilled:           {forbidden, forbidden, invalid, invalid, forbidden},
		}},
		{domain.Schedule{PublishAt: now.Add(time.Hour), Slug: natoSlug}, domain.TypeScheduled, grid{
			domain.StatusNone:             {notFound, notFound, notFound, notFound, notFound},
			domain.StatusDraft:            {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusChangesRequested: {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusInReview:         {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusApproved:         {forbidden, forbidden, ok, ok, forbidden},
			domain.StatusScheduled:        {forbidden, forbidden, ok, ok, forbidden},
			domain.StatusPublished:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusRetracted:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusSpiked:           {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusKilled:           {forbidden, forbidden, invalid, invalid, forbidden},
		}},
		{domain.Unschedule{}, domain.TypeUnscheduled, grid{
			domain.StatusNone:             {notFound, notFound, notFound, notFound, notFound},
			domain.StatusDraft:            {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusChangesRequested: {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusInReview:         {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusApproved:         {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusScheduled:        {forbidden, forbidden, ok, ok, forbidden},
			domain.StatusPublished:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusRetracted:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusSpiked:           {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusKilled:           {forbidden, forbidden, invalid, invalid, forbidden},
		}},
		// The trigger is the scheduler's alone: no person, whatever their role, may give it.
		{domain.PublishOnSchedule{PublishAt: now.Add(-time.Minute)}, "", grid{
			domain.StatusNone:             {notFound, notFound, notFound, notFound, notFound},
			domain.StatusDraft:            {forbidden, forbidden, forbidden, forbidden, forbidden},
			domain.StatusChangesRequested: {forbidden, forbidden, forbidden, forbidden, forbidden},
			domain.StatusInReview:         {forbidden, forbidden, forbidden, forbidden, forbidden},
			domain.StatusApproved:         {forbidden, forbidden, forbidden, forbidden, forbidden},
			domain.StatusScheduled:        {forbidden, forbidden, forbidden, forbidden, forbidden},
			domain.StatusPublished:        {forbidden, forbidden, forbidden, forbidden, forbidden},
			domain.StatusRetracted:        {forbidden, forbidden, forbidden, forbidden, forbidden},
			domain.StatusSpiked:           {forbidden, forbidden, forbidden, forbidden, forbidden},
			domain.StatusKilled:           {forbidden, forbidden, forbidden, forbidden, forbidden},
		}},
		// givenPublished is under no embargo.
		{domain.LiftEmbargo{}, "", grid{
			domain.StatusNone:             {notFound, notFound, notFound, notFound, notFound},
			domain.StatusDraft:            {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusChangesRequested: {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusInReview:         {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusApproved:         {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusScheduled:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusPublished:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusRetracted:        {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusSpiked:           {forbidden, forbidden, invalid, invalid, forbidden},
			domain.StatusKilled:           {forbidden, forbidden, invalid, invalid, forbidden},
		}},
	}
	sentinel := map[string]error{
		notFound: domain.ErrNotFound, exists: domain.ErrAlreadyExists,
		forbidden: domain.ErrForbidden, invalid: domain.ErrInvalidTransition,
	}
	for _, tt := range tests {
		if len(tt.want) != len(statuses) {
			t.Errorf("grid of %s has %d rows; want one for each of %q", domain.CommandName(tt.when), len(tt.want), statuses)
		}
		for _, status := range statuses {
			for i, actor := range roles {
				want := tt.want[status][i]
				column := string(actor.Role)
				if i == 0 {
					column = "author"
				}
				name := fmt.Sprintf("%s/from %q/as %q", domain.CommandName(tt.when), status, column)
				t.Run(name, func(t *testing.T) {
					a := domain.Fold(articleID, givens[status]())
					if a.Status != status {
						t.Fatalf("Fold(given %q).Status = %q; want %q", status, a.Status, status)
					}
					if a.Exists() && a.CreatedBy != reporter.ID {
						t.Fatalf("Fold(given %q).CreatedBy = %q; want %q", status, a.CreatedBy, reporter.ID)
					}
					got, err := domain.Decide(a, tt.when, domain.Decision{By: actor, Now: now})
					call := decideCall(tt.when, actor)
					if want == ok {
						if err != nil {
							t.Fatalf("%s = %v; want a %s event", call, err, tt.eventType)
						}
						if got.EventType() != tt.eventType {
							t.Errorf("%s = %s event; want %s", call, got.EventType(), tt.eventType)
						}
						return
					}
					checkOutcome(t, call, got, err, outcome{err: sentinel[want]})
				})
			}
		}
	}
}

func TestDecideRefusalMessage(t *testing.T) {
	tests := []struct {
		given []domain.Recorded
		when  domain.Command
		by    domain.Actor
		want  string
	}{
		{givenInReview(), domain.Publish{Slug: natoSlug}, editorB, "cannot publish: article is in_review, not approved"},
		{givenPublished(), domain.Publish{Slug: natoSlug}, editorB, "cannot publish: article is published, not approved"},
		{givenDraft(), domain.Approve{}, editorB, "cannot approve: article is draft, not in_review"},
		{givenApproved(), domain.Approve{}, editorB, "cannot approve: article is approved, not in_review"},
		{
			givenPublished(), domain.Revise{Changes: domain.Changes{Body: ptr("b")}}, reporter,
			"cannot revise: article is published, not draft, changes_requested, in_review, approved or scheduled",
		},
		{givenPublished(), domain.Submit{}, reporter, "cannot submit: article is published, not draft or changes_requested"},
		{givenInReview(), domain.Submit{}, reporter, "cannot submit: article is in_review, not draft or changes_requested"},
		{givenChangesRequested(), domain.Approve{}, editorB, "cannot approve: article is changes_requested, not in_review"},
		{givenRetracted(), domain.Approve{}, editorB, "cannot approve: article is retracted, not in_review"},
		{givenDraft(), domain.RequestChanges{Comment: natoComment}, editorB, "cannot request changes: article is draft, not in_review"},
		{givenInReview(), domain.RequestChanges{Comment: natoComment}, reporter, "cannot request changes: the reporter role may not; it needs editor"},
		{givenApproved(), domain.Correct{Changes: domain.Changes{Body: ptr("b")}, Note: natoNote}, editorB, "cannot correct: article is approved, not published"},
		{givenPublished(), domain.Correct{Changes: domain.Changes{Body: ptr("b")}, Note: natoNote}, reporter, "cannot correct: the reporter role may not; it needs editor"},
		{givenApproved(), domain.Retract{Reason: natoReason}, editorB, "cannot retract: article is approved, not published"},
		{givenRetracted(), domain.Retract{Reason: natoReason}, editorB, "cannot retract: article is retracted, not published"},
		{givenPublished(), domain.Retract{Reason: natoReason}, anonymous, "cannot retract: the anonymous role may not; it needs editor"},
		{
			givenPublished(), domain.Spike{}, editorB,
			"cannot spike: article is published, not draft, changes_requested, in_review, approved or scheduled",
		},
		{
			givenSpiked(), domain.Spike{}, reporter,
			"cannot spike: article is spiked, not draft, changes_requested, in_review, approved or scheduled",
		},
		{givenDraft(), domain.Kill{Reason: natoKillReason}, editorB, "cannot kill: article is draft, not published or retracted"},
		{givenSpiked(), domain.Kill{Reason: natoKillReason}, admin, "cannot kill: article is spiked, not published or retracted"},
		{givenKilled(), domain.Kill{Reason: natoKillReason}, admin, "cannot kill: article is killed, not published or retracted"},
		{givenKilled(), domain.Retract{Reason: natoReason}, editorB, "cannot retract: article is killed, not published"},
		{givenPublished(), domain.Kill{Reason: natoKillReason}, reporter, "cannot kill: the reporter role may not; it needs editor"},
		{givenRetracted(), domain.Kill{Reason: natoKillReason}, anonymous, "cannot kill: the anonymous role may not; it needs editor"},
		{givenPublished(), domain.Kill{}, editorB, "invalid article: reason: is required"},
		{givenRetracted(), domain.Kill{Reason: "\n\t "}, editorB, "invalid article: reason: is required"},
		{
			givenRetracted(), domain.Kill{Reason: strings.Repeat("k", domain.MaxReason+1)}, editorB,
			"invalid article: reason: is 2001 characters long; at most 2000 are allowed",
		},
		{
			givenPublished(), domain.Kill{Reason: "Injunction\x0007-118"}, admin,
			"invalid article: reason: contains the control character U+0000; remove it",
		},
		{
			givenPublished(), domain.Kill{Reason: "Injunction \u0085"}, admin,
			"invalid article: reason: contains the control character U+0085; remove it",
		},
		{givenPublished(), domain.Kill{Reason: "\xc3"}, admin, "invalid article: reason: is not valid UTF-8"},
		{givenDraft(), domain.Spike{}, reporter2, "cannot spike: only the article's author or an editor may"},
		{givenDraft(), domain.Spike{}, anonymous, "cannot spike: only the article's author or an editor may"},
		{givenSpiked(), domain.Draft{Content: natoContent()}, reporter, "cannot draft: article a-1 already exists"},
		{givenInReview(), domain.RequestChanges{}, editorB, "invalid article: comment: is required"},
		{
			givenInReview(), domain.RequestChanges{Comment: strings.Repeat("c", domain.MaxComment+1)}, editorB,
			"invalid article: comment: is 5001 characters long; at most 5000 are allowed",
		},
		{givenPublished(), domain.Correct{Changes: domain.Changes{Body: ptr("b")}}, editorB, "invalid article: note: is required"},
		{
			history(append(givenPublished(), by(editorA, domain.CorrectionProposed{Changes: domain.Changes{Body: ptr("b")}, Note: natoNote}))...),
			domain.Correct{Changes: domain.Changes{Body: ptr("c")}, Note: natoNote}, editorB,
			"cannot correct: a correction proposed at 2007-12-07 13:00 UTC is pending; confirm or withdraw it first",
		},
		{
			history(append(givenPublished(), by(editorA, domain.CorrectionProposed{Changes: domain.Changes{Body: ptr("b")}, Note: natoNote}))...),
			domain.ConfirmCorrection{}, editorA,
			"cannot confirm the correction: you proposed it; another editor must confirm it",
		},
		{givenPublished(), domain.ConfirmCorrection{}, editorB, "cannot confirm the correction: no correction is pending"},
		{givenPublished(), domain.WithdrawCorrection{}, editorB, "cannot withdraw the correction: no correction is pending"},
		{givenDraft(), domain.Revise{Changes: domain.Changes{Body: ptr("b")}}, reporter2, "cannot revise: a reporter may revise only their own articles; this one is another writer's"},
		{
			givenPublished(), domain.Correct{Changes: domain.Changes{Slug: ptr("nrc")}, Note: natoNote}, editorB,
			"invalid article: slug: cannot change after publication: readers and links know the article by it",
		},
		{givenPublished(), domain.Retract{Reason: " "}, editorB, "invalid article: reason: is required"},
		{
			givenDraft(), domain.Spike{Reason: strings.Repeat("r", domain.MaxReason+1)}, reporter,
			"invalid article: reason: is 2001 characters long; at most 2000 are allowed",
		},
		{givenInReview(), domain.RequestChanges{Comment: "\xff"}, editorB, "invalid article: comment: is not valid UTF-8"},
		{givenDraft(), domain.Draft{Content: natoContent()}, reporter, "cannot draft: article a-1 already exists"},
		{givenNone(), domain.Draft{Content: natoContent()}, anonymous, "cannot draft: the anonymous role may not; it needs reporter"},
		{givenDraft(), domain.Submit{}, anonymous, "cannot submit: the anonymous role may not; it needs reporter"},
		{givenInReview(), domain.Approve{}, reporter2, "cannot approve: the reporter role may not; it needs editor"},
		{givenApproved(), domain.Publish{Slug: natoSlug}, reporter, "cannot publish: the reporter role may not; it needs editor"},
		{givenInReview(), domain.Approve{}, reporter, "cannot approve: the reporter role may not; it needs editor"},
		{
			history(by(editorA, natoDrafted()), by(editorA, domain.Submitted{})), domain.Approve{}, editorA,
			"cannot approve: you wrote part of this text since its last approval; another editor must approve it",
		},
		{givenNone(), domain.Submit{}, reporter, "article not found"},
		{
			givenApproved(), domain.Publish{}, editorB,
			"invalid article: slug: the article needs a slug: give one, or a headline with letters or digits",
		},
		{
			history(by(reporter, domain.Drafted{Headline: "h", Language: "en"})), domain.Submit{}, reporter,
			"invalid article: body: is required before submitting",
		},
	}
	for _, tt := range tests {
		a := domain.Fold(articleID, tt.given)
		_, err := domain.Decide(a, tt.when, domain.Decision{By: tt.by, Now: now})
		call := fmt.Sprintf("Decide(%s by %s, from %q)", domain.CommandName(tt.when), tt.by.Role, a.Status)
		if err == nil {
			t.Errorf("%s = nil error; want %q", call, tt.want)
			continue
		}
		if got := err.Error(); got != tt.want {
			t.Errorf("%s = %q; want %q", call, got, tt.want)
		}
	}
}

// TestDecideLeavesArticleAlone checks that Decide is pure: the article it is given, including
// the slices it shares with the caller, is the same afterwards, and the same inputs give the
// same answer.
func TestDecideLeavesArticleAlone(t *testing.T) {
	tests := []struct {
		given []domain.Recorded
		when  domain.Command
		by    domain.Actor
	}{
		{givenNone(), domain.Draft{Content: natoContent()}, reporter},
		{givenDraft(), domain.Revise{Changes: domain.Changes{Tags: ptr([]string{"x"}), Headline: ptr("h")}}, reporter},
		{givenDraft(), domain.Submit{}, reporter},
		{givenInReview(), domain.Approve{}, editorA},
		{givenApproved(), domain.Publish{Slug: natoSlug}, editorB},
		{givenApproved(), domain.Publish{}, editorB},
		{givenApproved(), domain.Revise{Changes: domain.Changes{Tags: ptr([]string{"x"})}}, editorB},
		{givenInReview(), domain.RequestChanges{Comment: natoComment}, editorB},
		{givenPublished(), domain.Correct{Changes: domain.Changes{Tags: ptr([]string{"x"}), Body: ptr("b")}, Note: natoNote}, editorB},
		{givenPublished(), domain.Correct{Changes: domain.Changes{Headline: ptr("h")}, Note: natoNote}, editorB},
		{givenCorrected("b2"), domain.Correct{Changes: domain.Changes{Body: ptr("b3")}, Note: natoNote}, admin},
		{givenCorrected("b2"), domain.Retract{Reason: natoReason}, editorA},
		{givenApproved(), domain.Spike{Reason: natoReason}, reporter},
		{givenApproved(), domain.Spike{}, reporter2},
		{givenPublished(), domain.Kill{Reason: natoKillReason}, editorA},
		{givenRetracted(), domain.Kill{Reason: natoKillReason}, admin},
		{history(append(givenCorrected("b2"), by(admin, domain.Retracted{Reason: natoReason}))...), domain.Kill{Reason: natoKillReason}, editorB},
		{givenKilled(), domain.Kill{Reason: natoKillReason}, editorB},
	}
	for _, tt := range tests {
		a := domain.Fold(articleID, tt.given)
		before := domain.Fold(articleID, tt.given)
		d := domain.Decision{By: tt.by, Now: now}
		got1, err1 := domain.Decide(a, tt.when, d)
		got2, err2 := domain.Decide(a, tt.when, d)
		call := decideCall(tt.when, tt.by)
		if !reflect.DeepEqual(a, before) {
			t.Errorf("%s changed the article: %+v; want %+v", call, a, before)
		}
		if !reflect.DeepEqual(got1, got2) || fmt.Sprint(err1) != fmt.Sprint(err2) {
			t.Errorf("%s twice = (%#v, %v) then (%#v, %v); want the same answer", call, got1, err1, got2, err2)
		}
	}
}

// TestDecideRefusesCommandsItDoesNotKnow checks that anything but the ten command values
// (pointers to them included) is refused without an event.
func TestDecideRefusesCommandsItDoesNotKnow(t *testing.T) {
	tests := []struct {
		given []domain.Recorded
		when  domain.Command
		want  error
	}{
		{givenDraft(), nil, domain.ErrInvalidTransition},
		{givenNone(), nil, domain.ErrNotFound},
		{givenDraft(), &domain.Submit{}, domain.ErrInvalidTransition},
		{givenInReview(), &domain.Approve{}, domain.ErrInvalidTransition},
		{givenApproved(), &domain.Publish{Slug: natoSlug}, domain.ErrInvalidTransition},
		{givenNone(), &domain.Draft{Content: natoContent()}, domain.ErrNotFound},
		{givenDraft(), &domain.Revise{Changes: domain.Changes{Body: ptr("b")}}, domain.ErrInvalidTransition},
		{givenInReview(), &domain.RequestChanges{Comment: natoComment}, domain.ErrInvalidTransition},
		{givenPublished(), &domain.Correct{Changes: domain.Changes{Body: ptr("b")}, Note: natoNote}, domain.ErrInvalidTransition},
		{givenPublished(), &domain.Retract{Reason: natoReason}, domain.ErrInvalidTransition},
		{givenDraft(), &domain.Spike{}, domain.ErrInvalidTransition},
		{givenPublished(), &domain.Kill{Reason: natoKillReason}, domain.ErrInvalidTransition},
		{givenRetracted(), &domain.Kill{Reason: natoKillReason}, domain.ErrInvalidTransition},
	}
	for _, tt := range tests {
		a := domain.Fold(articleID, tt.given)
		got, err := domain.Decide(a, tt.when, domain.Decision{By: admin, Now: now})
		checkOutcome(t, fmt.Sprintf("Decide(%T from %q)", tt.when, a.Status), got, err, outcome{err: tt.want})
	}
}

// TestDecideThenEvolve drives one article through the whole workflow, deciding each command
// against the state folded so far, as the shell does.
func TestDecideThenEvolve(t *testing.T) {
	steps := []struct {
		when   domain.Command
		by     domain.Actor
		status domain.Status
	}{
		{domain.Draft{Content: domain.Content{Headline: natoHeadline}}, reporter, domain.StatusDraft},
		{domain.Revise{Changes: domain.Changes{Body: ptr(natoBody), Tags: ptr([]string{"nato"})}}, editorA, domain.StatusDraft},
		{domain.Submit{}, reporter, domain.StatusInReview},
		{domain.Approve{}, editorB, domain.StatusApproved},
		{domain.Publish{Slug: natoSlug}, editorB, domain.StatusPublished},
	}
	var log []domain.Recorded
	for i, s := range steps {
		a := domain.Fold(articleID, log)
		e, err := domain.Decide(a, s.when, domain.Decision{By: s.by, Now: at(i)})
		if err != nil {
			t.Fatalf("step %d: %s = %v; want an event", i+1, decideCall(s.when, s.by), err)
		}
		log = append(log, domain.Recorded{Event: e, Version: i + 1, By: s.by, At: at(i)})
		if got := domain.Fold(articleID, log).Status; got != s.status {
			t.Fatalf("step %d: status after %s = %q; want %q", i+1, e.EventType(), got, s.status)
		}
	}
	got := domain.Fold(articleID, log)
	want := domain.Article{
		ID: articleID, Status: domain.StatusPublished, Version: 5,
		Content: domain.Content{
			Headline: natoHeadline, Body: natoBody, Language: "en", Tags: []string{"nato"}, Slug: natoSlug,
		},
		CreatedBy: reporter.ID, LastRevisedBy: editorA.ID,
		CreatedAt: at(0), UpdatedAt: at(4), PublishedAt: at(4),
		Timeline: []domain.Step{
			{Type: domain.TypeDrafted, Version: 1, ActorID: reporter.ID, ActorRole: domain.RoleReporter, At: at(0)},
			{Type: domain.TypeRevised, Version: 2, ActorID: editorA.ID, ActorRole: domain.RoleEditor, At: at(1)},
			{Type: domain.TypeSubmitted, Version: 3, ActorID: reporter.ID, ActorRole: domain.RoleReporter, At: at(2)},
			{Type: domain.TypeApproved, Version: 4, ActorID: editorB.ID, ActorRole: domain.RoleEditor, At: at(3)},
			{Type: domain.TypePublished, Version: 5, ActorID: editorB.ID, ActorRole: domain.RoleEditor, At: at(4)},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Fold(workflow) = %+v; want %+v", got, want)
	}
	types := make([]string, len(log))
	for i, r := range log {
		types[i] = r.Event.EventType()
	}
	wantTypes := []string{domain.TypeDrafted, domain.TypeRevised, domain.TypeSubmitted, domain.TypeApproved, domain.TypePublished}
	if !slices.Equal(types, wantTypes) {
		t.Errorf("event types = %q; want %q", types, wantTypes)
	}
}
