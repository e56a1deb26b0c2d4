package domain_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/newsroom/newsroom/domain"
)

// Killing: an article withdrawn for legal reasons. Its text is erased from the log after the
// kill, so the Killed event must hold no text and be enough, alone, to rebuild the article.

// sha256Hex is the digest of s computed here, apart from domain.SlugDigest.
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// step is one command of a decided log.
type step struct {
	when domain.Command
	by   domain.Actor
}

// decided is the log the shell writes when each step's actor gives its command in turn: command
// i is decided against the state folded so far and recorded at(i), as version i+1.
func decided(tb testing.TB, steps ...step) []domain.Recorded {
	tb.Helper()
	var log []domain.Recorded
	for i, s := range steps {
		e, err := domain.Decide(domain.Fold(articleID, log), s.when, domain.Decision{By: s.by, Now: at(i)})
		if err != nil {
			tb.Fatalf("step %d: %s = %v; want an event", i+1, decideCall(s.when, s.by), err)
		}
		log = append(log, domain.Recorded{Event: e, Version: i + 1, By: s.by, At: at(i)})
	}
	return log
}

func TestDecideKill(t *testing.T) {
	kill := func(reason string) domain.Command { return domain.Kill{Reason: reason} }
	// fromPublished is the event a kill of givenPublished records: no text, the digest of the
	// slug, and the steps before it.
	fromPublished := domain.Killed{
		Reason: natoKillReason, SlugDigest: sha256Hex(natoSlug), Language: "en",
		CreatedBy: reporter.ID, CreatedAt: at(0), LastRevisedBy: reporter.ID, PublishedAt: at(3),
		Timeline: timelineOf(givenPublished()),
	}
	killed := func(change func(*domain.Killed)) outcome {
		e := fromPublished
		if change != nil {
			change(&e)
		}
		return outcome{event: e}
	}
	reason := func(r string) func(*domain.Killed) { return func(e *domain.Killed) { e.Reason = r } }
	retractedAfterCorrection := history(append(givenCorrected("b2"), by(admin, domain.Retracted{Reason: natoReason}))...)
	withSlug := natoDrafted()
	withSlug.Slug = "nrc-ministers"
	underOtherSlug := history(by(reporter, withSlug), by(reporter, domain.Submitted{}), by(editorA, domain.Approved{}),
		by(editorA, domain.Published{Slug: "nrc-ministers-2", PublishedAt: at(3)}))
	revisedInFrench := history(by(reporter, natoDrafted()),
		by(editorA, domain.Revised{Changes: domain.Changes{Language: ptr("fr-BE")}}),
		by(reporter, domain.Submitted{}), by(editorB, domain.Approved{}),
		by(editorB, domain.Published{Slug: natoSlug, PublishedAt: at(4)}))
	invalid := outcome{err: domain.ErrInvalidTransition}
	forbidden := outcome{err: domain.ErrForbidden}
	badReason := outcome{fields: []string{"reason"}}
	runDecideCases(t, []decideCase{
		{name: "published, by an editor", given: givenPublished(), when: kill(natoKillReason), by: editorB, then: killed(nil)},
		{name: "by the editor who published", given: givenPublished(), when: kill(natoKillReason), by: editorA, then: killed(nil)},
		{name: "by an admin", given: givenPublished(), when: kill(natoKillReason), by: admin, then: killed(nil)},
		{
			name:  "its author acting as an editor",
			given: givenPublished(), when: kill(natoKillReason), by: domain.Actor{ID: reporter.ID, Role: domain.RoleEditor},
			then: killed(nil),
		},
		{
			name:  "retracted",
			given: givenRetracted(), when: kill(natoKillReason), by: editorB,
			then: killed(func(e *domain.Killed) { e.Timeline = timelineOf(givenRetracted()) }),
		},
		{
			// The last writer is the correction's editor; the first publication stays at(3).
			name:  "after a correction",
			given: givenCorrected("b2"), when: kill(natoKillReason), by: admin,
			then: killed(func(e *domain.Killed) { e.LastRevisedBy, e.Timeline = editorB.ID, timelineOf(givenCorrected("b2")) }),
		},
		{
			name:  "retracted after a correction",
			given: retractedAfterCorrection, when: kill(natoKillReason), by: editorA,
			then: killed(func(e *domain.Killed) { e.LastRevisedBy, e.Timeline = editorB.ID, timelineOf(retractedAfterCorrection) }),
		},
		{
			// The digest is of the slug the article was published under, the one its URL has.
			name:  "published under another slug than requested",
			given: underOtherSlug, when: kill(natoKillReason), by: editorB,
			then: killed(func(e *domain.Killed) {
				e.SlugDigest, e.Timeline = sha256Hex("nrc-ministers-2"), timelineOf(underOtherSlug)
			}),
		},
		{
			name:  "language and last writer from a revision",
			given: revisedInFrench, when: kill(natoKillReason), by: editorB,
			then: killed(func(e *domain.Killed) {
				e.Language, e.LastRevisedBy, e.PublishedAt, e.Timeline = "fr-BE", editorA.ID, at(4), timelineOf(revisedInFrench)
			}),
		},
		{
			name:  "reason at MaxReason two-byte characters",
			given: givenPublished(), when: kill(strings.Repeat("ö", domain.MaxReason)), by: editorB,
			then: killed(reason(strings.Repeat("ö", domain.MaxReason))),
		},
		{
			name:  "reason over lines",
			given: givenPublished(), when: kill("Injunction 07-118.\n\tServed at the desk."), by: editorB,
			then: killed(reason("Injunction 07-118.\n\tServed at the desk.")),
		},
		{name: "no reason", given: givenPublished(), when: kill(""), by: editorB, then: badReason},
		{name: "blank reason", given: givenRetracted(), when: kill(" \n\t\u00a0"), by: editorB, then: badReason},
		{name: "reason over MaxReason", given: givenPublished(), when: kill(strings.Repeat("k", domain.MaxReason+1)), by: editorB, then: badReason},
		{name: "reason over MaxReason four-byte characters", given: givenRetracted(), when: kill(strings.Repeat("🗞", domain.MaxReason+1)), by: admin, then: badReason},
		{name: "reason not UTF-8", given: givenPublished(), when: kill("Injunction \xff"), by: editorB, then: badReason},
		{name: "reason with a control character", given: givenPublished(), when: kill("Injunction\x1b[2J"), by: editorB, then: badReason},
		{name: "the author, a reporter", given: givenPublished(), when: kill(natoKillReason), by: reporter, then: forbidden},
		{name: "another reporter", given: givenRetracted(), when: kill(natoKillReason), by: reporter2, then: forbidden},
		{name: "actor without a role", given: givenPublished(), when: kill(natoKillReason), by: anonymous, then: forbidden},
		{name: "its author's id without a role", given: givenPublished(), when: kill(natoKillReason), by: domain.Actor{ID: reporter.ID}, then: forbidden},
		{
			// The role is checked before the reason.
			name:  "reporter without a reason",
			given: givenPublished(), when: kill(""), by: reporter, then: forbidden,
		},
		// An article that was never public is spiked, not killed.
		{name: "draft", given: givenDraft(), when: kill(natoKillReason), by: editorB, then: invalid},
		{
			// The status is checked before the reason.
			name:  "draft, without a reason",
			given: givenDraft(), when: kill(""), by: editorB, then: invalid,
		},
		{name: "changes requested", given: givenChangesRequested(), when: kill(natoKillReason), by: editorB, then: invalid},
		{name: "in review", given: givenInReview(), when: kill(natoKillReason), by: editorB, then: invalid},
		{name: "approved", given: givenApproved(), when: kill(natoKillReason), by: admin, then: invalid},
		{name: "spiked", given: givenSpiked(), when: kill(natoKillReason), by: admin, then: invalid},
		{name: "already killed", given: givenKilled(), when: kill(natoKillReason), by: admin, then: invalid},
		{name: "killed once retracted", given: thenKilled(givenRetracted(), editorB), when: kill(natoKillReason), by: editorA, then: invalid},
		{name: "no article", when: kill(natoKillReason), by: editorB, then: outcome{err: domain.ErrNotFound}},
		{name: "no article, actor without a role", when: kill(natoKillReason), by: anonymous, then: outcome{err: domain.ErrNotFound}},
	})
}

// The words of textful: every one distinct, so that finding one in a kill's record can only
// mean the kill kept it.
const (
	secretHeadline        = "Quokka summit headline"
	secretRevisedHeadline = "Quokka revised headline"
	secretSummary         = "Wombat summary sentence"
	secretBody            = "Platypus body paragraph"
	secretCorrectedBody   = "Bandicoot corrected paragraph"
	secretByline          = "Kookaburra Byline"
	secretDateline        = "Echidna Dateline"
	secretTag             = "numbat-tag"
	secretRevisedTag      = "dingo-tag"
	secretRequestedSlug   = "quokka-requested-slug"
	secretSlug            = "quokka-published-slug"
	secretComment         = "Cassowary review comment"
	secretNote            = "Bilby correction note"
	secretRetraction      = "Wallaby retraction reason"
)

// textful is a decided log whose article has every kind of text there is: each field of the
// content, a requested slug and another one published, a review comment, a correction and a
// retraction. Revisions and a correction leave older text in the log too.
func textful(tb testing.TB) []domain.Recorded {
	tb.Helper()
	return decided(tb,
		step{domain.Draft{Content: domain.Content{
			Headline: secretHeadline, Summary: secretSummary, Body: secretBody, Language: "en-AU",
			Byline: secretByline, Dateline: secretDateline, Tags: []string{secretTag}, Slug: secretRequestedSlug,
		}}, reporter},
		step{domain.Submit{}, reporter},
		step{domain.RequestChanges{Comment: secretComment}, editorA},
		step{domain.Revise{Changes: domain.Changes{Headline: ptr(secretRevisedHeadline), Tags: ptr([]string{secretTag, secretRevisedTag})}}, editorB},
		step{domain.Submit{}, reporter},
		step{domain.Approve{}, editorA},
		step{domain.Publish{Slug: secretSlug}, editorB},
		step{domain.Correct{Changes: domain.Changes{Body: ptr(secretCorrectedBody)}, Note: secretNote}, editorA},
		step{domain.ConfirmCorrection{}, editorB},
		step{domain.Retract{Reason: secretRetraction}, admin},
	)
}

// TestKilledCarriesNoText checks that nothing an editor wrote (but the language tag, and the
// kill's own reason) reaches the Killed event or the killed article: once the earlier events
// are erased, no copy of the text may remain.
func TestKilledCarriesNoText(t *testing.T) {
	secrets := []string{
		secretHeadline, secretRevisedHeadline, secretSummary, secretBody, secretCorrectedBody, secretByline,
		secretDateline, secretTag, secretRevisedTag, secretRequestedSlug, secretSlug, secretComment, secretNote,
		secretRetraction,
	}
	before := textful(t)
	// The test proves nothing unless the history holds every secret.
	var logJSON strings.Builder
	for _, r := range before {
		b, err := json.Marshal(r.Event)
		if err != nil {
			t.Fatalf("json.Marshal(%#v) = %v; want no error", r.Event, err)
		}
		logJSON.Write(b)
	}
	for _, s := range secrets {
		if !strings.Contains(logJSON.String(), s) {
			t.Fatalf("the history before the kill does not hold %q; the test needs it to", s)
		}
	}

	full := thenKilled(before, editorB)
	kill := full[len(full)-1]
	e, ok := kill.Event.(domain.Killed)
	if !ok {
		t.Fatalf("Decide(kill) = %#v; want a domain.Killed", kill.Event)
	}
	payload, err := json.Marshal(e)
	if err != nil {
		t.Fatalf("json.Marshal(%#v) = %v; want no error", e, err)
	}
	killedArticle := domain.Fold(articleID, full)
	for _, s := range secrets {
		if strings.Contains(string(payload), s) {
			t.Errorf("json.Marshal(Killed) = %s; holds %q", payload, s)
		}
		if got := fmt.Sprintf("%#v", killedArticle); strings.Contains(got, s) {
			t.Errorf("Fold(killed) = %s; holds %q", got, s)
		}
	}

	// The payload has these fields and no others: a new one needs a look at what it carries.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(payload, &fields); err != nil {
		t.Fatalf("json.Unmarshal(%s) = %v; want an object", payload, err)
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	wantKeys := []string{"created_at", "created_by", "language", "last_revised_by", "published_at", "reason", "slug_sha256", "timeline"}
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("json.Marshal(Killed) = %s; fields %q, want %q", payload, keys, wantKeys)
	}

	if want := sha256Hex(secretSlug); e.SlugDigest != want {
		t.Errorf("Killed.SlugDigest = %q; want %q, the SHA-256 of the published slug %q", e.SlugDigest, want, secretSlug)
	}
	want := domain.Killed{
		Reason: natoKillReason, SlugDigest: sha256Hex(secretSlug), Language: "en-AU",
		CreatedBy: reporter.ID, CreatedAt: at(0), LastRevisedBy: editorA.ID, PublishedAt: at(6),
		Timeline: timelineOf(before),
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("Decide(kill) =\n %#v;\nwant\n %#v", e, want)
	}
}

// TestKilledIsSelfSufficient checks that the kill's record alone, as the log holds it once the
// article's earlier events are erased, rebuilds the same article as the whole history does.
func TestKilledIsSelfSufficient(t *testing.T) {
	tests := []struct {
		name   string
		before []domain.Recorded
		by     domain.Actor
	}{
		{"published", givenPublished(), editorA},
		{"published, by an admin", givenPublished(), admin},
		{"retracted", givenRetracted(), editorB},
		{"corrected", givenCorrected("b2"), editorB},
		{"corrected and retracted", history(append(givenCorrected("b2"), by(admin, domain.Retracted{Reason: natoReason}))...), admin},
		{"every kind of text", textful(t), editorB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			full := thenKilled(tt.before, tt.by)
			kill := full[len(full)-1]
			e := kill.Event.(domain.Killed)
			if want := timelineOf(tt.before); !reflect.DeepEqual(e.Timeline, want) {
				t.Errorf("Killed.Timeline =\n %+v;\nwant the steps before the kill\n %+v", e.Timeline, want)
			}

			want := domain.Fold(articleID, full)
			if want.Status != domain.StatusKilled || want.Version != len(full) || !want.Exists() ||
				!reflect.DeepEqual(want.Timeline, timelineOf(full)) {
				t.Fatalf("Fold(%s, then killed) = %+v; want killed, version %d, timeline %+v", tt.name, want, len(full), timelineOf(full))
			}
			if got := domain.Evolve(domain.Article{ID: articleID}, kill); !reflect.DeepEqual(got, want) {
				t.Errorf("Evolve(Article{ID}, kill) =\n %+v;\nwant Fold(history, kill)\n %+v", got, want)
			}
			if got := domain.Fold(articleID, []domain.Recorded{kill}); !reflect.DeepEqual(got, want) {
				t.Errorf("Fold(kill alone) =\n %+v;\nwant\n %+v", got, want)
			}
			// What the state before holds does not matter: the event replaces it.
			if got := domain.Evolve(domain.Fold(articleID, givenDraft()), kill); !reflect.DeepEqual(got, want) {
				t.Errorf("Evolve(a draft, kill) =\n %+v;\nwant\n %+v", got, want)
			}

			// The log holds the payload as JSON: the kill read back from it is enough too.
			payload, err := json.Marshal(kill.Event)
			if err != nil {
				t.Fatalf("json.Marshal(%#v) = %v; want no error", kill.Event, err)
			}
			var back domain.Killed
			if err := json.Unmarshal(payload, &back); err != nil {
				t.Fatalf("json.Unmarshal(%s) = %v; want no error", payload, err)
			}
			read := kill
			read.Event = back
			if got := domain.Evolve(domain.Article{ID: articleID}, read); !reflect.DeepEqual(got, want) {
				t.Errorf("Evolve(Article{ID}, kill read back from %s) =\n %+v;\nwant\n %+v", payload, got, want)
			}
		})
	}
}

// TestDecideNothingAfterKilled gives every command, valid in itself, to articles killed along
// different paths, both folded from the whole history and from the kill alone: a draft is
// refused because the article exists, and everything else is an invalid transition.
func TestDecideNothingAfterKilled(t *testing.T) {
	ends := []struct {
		name  string
		given []domain.Recorded
	}{
		{"killed", givenKilled()},
		{"killed by an admin", thenKilled(givenPublished(), admin)},
		{"killed once retracted", thenKilled(givenRetracted(), editorB)},
		{"killed after a correction", thenKilled(givenCorrected("b2"), editorA)},
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
		domain.Kill{Reason: natoKillReason},
	}
	for _, end := range ends {
		kill := end.given[len(end.given)-1]
		for _, from := range []struct {
			name string
			a    domain.Article
		}{
			{end.name, domain.Fold(articleID, end.given)},
			{end.name + ", earlier events erased", domain.Fold(articleID, []domain.Recorded{kill})},
		} {
			if from.a.Status != domain.StatusKilled {
				t.Fatalf("Fold(%s).Status = %q; want %q", from.name, from.a.Status, domain.StatusKilled)
			}
			for _, actor := range []domain.Actor{admin, editorB} {
				got, err := domain.Decide(from.a, domain.Draft{Content: natoContent()}, domain.Decision{By: actor, Now: now})
				checkOutcome(t, fmt.Sprintf("%s: %s", from.name, decideCall(domain.Draft{}, actor)), got, err, outcome{err: domain.ErrAlreadyExists})
				for _, c := range commands {
					got, err := domain.Decide(from.a, c, domain.Decision{By: actor, Now: now})
					checkOutcome(t, fmt.Sprintf("%s: %s", from.name, decideCall(c, actor)), got, err, outcome{err: domain.ErrInvalidTransition})
				}
			}
			// The author, a reporter, may give these three to an article in progress.
			for _, c := range []domain.Command{commands[0], commands[1], commands[7]} {
				got, err := domain.Decide(from.a, c, domain.Decision{By: reporter, Now: now})
				checkOutcome(t, fmt.Sprintf("%s: %s", from.name, decideCall(c, reporter)), got, err, outcome{err: domain.ErrInvalidTransition})
			}
		}
	}
}

// TestDecideThenEvolveKill drives one article from its draft to a kill, deciding each command
// against the state folded so far, as the shell does; step i is decided and recorded at(i).
func TestDecideThenEvolveKill(t *testing.T) {
	steps := []struct {
		step
		status domain.Status
		event  string
	}{
		{step{domain.Draft{Content: natoContent()}, reporter}, domain.StatusDraft, domain.TypeDrafted},
		{step{domain.Submit{}, reporter}, domain.StatusInReview, domain.TypeSubmitted},
		{step{domain.Approve{}, editorA}, domain.StatusApproved, domain.TypeApproved},
		{step{domain.Publish{Slug: natoSlug}, editorA}, domain.StatusPublished, domain.TypePublished},
		{step{domain.Correct{Changes: domain.Changes{Body: ptr("fixed")}, Note: natoNote}, editorB}, domain.StatusPublished, domain.TypeCorrectionProposed},
		{step{domain.ConfirmCorrection{}, editorA}, domain.StatusPublished, domain.TypeCorrected},
		{step{domain.Retract{Reason: natoReason}, admin}, domain.StatusRetracted, domain.TypeRetracted},
		{step{domain.Kill{Reason: natoKillReason}, editorA}, domain.StatusKilled, domain.TypeKilled},
	}
	commands := make([]step, len(steps))
	for i, s := range steps {
		commands[i] = s.step
	}
	log := decided(t, commands...)
	for i, s := range steps {
		if got, e := domain.Fold(articleID, log[:i+1]).Status, log[i].Event.EventType(); got != s.status || e != s.event {
			t.Fatalf("step %d: %s = %s event, status %q; want %s, %q", i+1, decideCall(s.when, s.by), e, got, s.event, s.status)
		}
	}
	wantTimeline := make([]domain.Step, len(steps))
	for i, s := range steps {
		wantTimeline[i] = domain.Step{Type: s.event, Version: i + 1, ActorID: s.by.ID, ActorRole: s.by.Role, At: at(i)}
	}
	want := domain.Article{
		ID: articleID, Status: domain.StatusKilled, Version: len(steps), Content: domain.Content{Language: "en"},
		CreatedBy: reporter.ID, LastRevisedBy: editorB.ID, CreatedAt: at(0), UpdatedAt: at(7), PublishedAt: at(3),
		Timeline: wantTimeline,
	}
	if got := domain.Fold(articleID, log); !reflect.DeepEqual(got, want) {
		t.Errorf("Fold(killed) =\n %+v;\nwant\n %+v", got, want)
	}
	if got := domain.Evolve(domain.Article{ID: articleID}, log[len(log)-1]); !reflect.DeepEqual(got, want) {
		t.Errorf("Evolve(Article{ID}, kill) =\n %+v;\nwant\n %+v", got, want)
	}
}
