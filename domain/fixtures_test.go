package domain_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
)

// The cast of the tests. Ids are opaque, as in the log; the names only say which role each has.
var (
	reporter  = domain.Actor{ID: "u-rep-1", Role: domain.RoleReporter}
	reporter2 = domain.Actor{ID: "u-rep-2", Role: domain.RoleReporter}
	editorA   = domain.Actor{ID: "u-ed-a", Role: domain.RoleEditor}
	editorB   = domain.Actor{ID: "u-ed-b", Role: domain.RoleEditor}
	admin     = domain.Actor{ID: "u-adm-1", Role: domain.RoleAdmin}
	anonymous = domain.Actor{ID: "u-anon", Role: ""}
)

const articleID = "a-1"

// t0 is when the first event of every given history was recorded; event i (from 0) was recorded
// i hours later, and commands are decided at now.
var (
	t0  = time.Date(2007, 12, 7, 9, 0, 0, 0, time.UTC)
	now = time.Date(2007, 12, 8, 12, 30, 0, 0, time.UTC)
)

func at(i int) time.Time { return t0.Add(time.Duration(i) * time.Hour) }

func ptr[T any](v T) *T { return &v }

// The NATO press release of ../shared/corpus, hard-coded so that the repository stands alone.
const (
	natoHeadline = "NATO-Russia foreign ministers meet"
	natoSlug     = "nato-russia-foreign-ministers-meet"
	natoBody     = "Russian Foreign Minister Sergey Lavrov attended a meeting of the NATO-Russia Council (NRC) " +
		"with his Allied counterparts at NATO Headquarters on 7 December."
)

func natoDrafted() domain.Drafted {
	return domain.Drafted{
		Headline: natoHeadline,
		Summary:  "Ministers reiterated the continued importance of the NRC.",
		Body:     natoBody,
		Language: "en",
		Byline:   "NATO Press Office",
		Dateline: "Brussels",
		Tags:     []string{"nato", "russia"},
	}
}

func natoContent() domain.Content {
	d := natoDrafted()
	return domain.Content{
		Headline: d.Headline, Summary: d.Summary, Body: d.Body, Language: d.Language,
		Byline: d.Byline, Dateline: d.Dateline, Tags: d.Tags, Slug: d.Slug,
	}
}

// by records e as done by actor a; history numbers the records and dates them.
func by(a domain.Actor, e domain.Event) domain.Recorded {
	return domain.Recorded{Event: e, By: a}
}

// history numbers records 1, 2, … and dates record i at(i), as the log would.
func history(rs ...domain.Recorded) []domain.Recorded {
	out := make([]domain.Recorded, len(rs))
	for i, r := range rs {
		r.Version = i + 1
		r.At = at(i)
		out[i] = r
	}
	return out
}

// Histories that leave the NATO article, drafted by reporter, in each status.
func givenNone() []domain.Recorded { return nil }

func givenDraft() []domain.Recorded {
	return history(by(reporter, natoDrafted()))
}

func givenInReview() []domain.Recorded {
	return history(by(reporter, natoDrafted()), by(reporter, domain.Submitted{}))
}

func givenApproved() []domain.Recorded {
	return history(by(reporter, natoDrafted()), by(reporter, domain.Submitted{}), by(editorA, domain.Approved{}))
}

// givenScheduled is givenApproved, then scheduled by editor B for at(3)+48h under natoSlug.
func givenScheduled() []domain.Recorded {
	return history(append(givenApproved(), by(editorB, domain.Scheduled{PublishAt: at(3).Add(48 * time.Hour), Slug: natoSlug}))...)
}

func givenPublished() []domain.Recorded {
	return history(
		by(reporter, natoDrafted()), by(reporter, domain.Submitted{}), by(editorA, domain.Approved{}),
		by(editorA, domain.Published{Slug: natoSlug, PublishedAt: at(3)}),
	)
}

// The comment, reason and note the given histories below carry.
const (
	natoComment = "Attribute the quote to the NRC statement."
	natoNote    = "An earlier version gave the wrong date of the meeting."
	natoReason  = "The meeting was postponed."
)

func givenChangesRequested() []domain.Recorded {
	return history(by(reporter, natoDrafted()), by(reporter, domain.Submitted{}),
		by(editorA, domain.ChangesRequested{Comment: natoComment}))
}

// givenRetracted is givenPublished, then retracted by editor A.
func givenRetracted() []domain.Recorded {
	return history(append(givenPublished(), by(editorA, domain.Retracted{Reason: natoReason}))...)
}

// givenSpiked is a draft its author spiked.
func givenSpiked() []domain.Recorded {
	return history(by(reporter, natoDrafted()), by(reporter, domain.Spiked{Reason: natoReason}))
}

// natoKillReason is the reason the killed histories below carry. It shares no words with the
// article, so that tests can look for the article's text in what a kill keeps.
const natoKillReason = "Injunction 07-118: protected witness."

// givenKilled is givenPublished, then killed by editor A.
func givenKilled() []domain.Recorded { return thenKilled(givenPublished(), editorA) }

// thenKilled is history h (numbered and dated as history does), then the Killed event Decide
// makes when actor a kills the article h leaves, recorded at(len(h)). The event comes from Decide
// rather than by hand, so that the histories are ones the shell could have written.
func thenKilled(h []domain.Recorded, a domain.Actor) []domain.Recorded {
	e, err := domain.Decide(domain.Fold(articleID, h), domain.Kill{Reason: natoKillReason}, domain.Decision{By: a, Now: at(len(h))})
	if err != nil {
		panic(fmt.Sprintf("fixture: %s = %v; want a Killed event", decideCall(domain.Kill{}, a), err))
	}
	return history(append(h[:len(h):len(h)], by(a, e))...)
}

// timelineOf is the timeline history rs makes, derived from the records alone: one step for
// each, with its event type, version, actor and time.
func timelineOf(rs []domain.Recorded) []domain.Step {
	var steps []domain.Step
	for _, r := range rs {
		steps = append(steps, domain.Step{
			Type: r.Event.EventType(), Version: r.Version, ActorID: r.By.ID, ActorRole: r.By.Role, At: r.At,
		})
	}
	return steps
}

// givenCorrected is givenPublished, then corrected by editor B: natoCorrected(body).
func givenCorrected(body string) []domain.Recorded {
	return history(append(givenPublished(), by(editorB, natoCorrected(natoNote, func(c *domain.Corrected) {
		c.Body = body
	})))...)
}

// natoCorrected is the Corrected event a correction of givenPublished records: the NATO text as
// published, under natoSlug and first published at(3), with note and then change applied.
func natoCorrected(note string, change func(*domain.Corrected)) domain.Corrected {
	d := natoDrafted()
	c := domain.Corrected{
		Note: note, Slug: natoSlug, PublishedAt: at(3),
		Headline: d.Headline, Summary: d.Summary, Body: d.Body, Language: d.Language,
		Byline: d.Byline, Dateline: d.Dateline, Tags: d.Tags,
	}
	if change != nil {
		change(&c)
	}
	return c
}

// fieldsOf returns the field names of a *domain.ValidationError in err, in order, and whether
// err holds one.
func fieldsOf(err error) ([]string, bool) {
	var v *domain.ValidationError
	if !errors.As(err, &v) {
		return nil, false
	}
	fields := make([]string, len(v.Fields))
	for i, f := range v.Fields {
		fields[i] = f.Field
	}
	return fields, true
}

// ruleSentinels are the refusals Decide wraps in a *domain.RuleError.
var ruleSentinels = []error{
	domain.ErrAlreadyExists, domain.ErrForbidden, domain.ErrInvalidTransition, domain.ErrSelfApproval,
}

// allSentinels are every error kind Decide may return.
var allSentinels = append([]error{domain.ErrNotFound}, ruleSentinels...)

// outcome is what a test expects of Decide: an event, a sentinel error, or a validation error
// naming fields (in order). Exactly one of the three is set.
type outcome struct {
	event  domain.Event
	err    error
	fields []string
}

// checkOutcome reports where (got, err) differs from want. call names the call in messages.
func checkOutcome(tb testing.TB, call string, got domain.Event, err error, want outcome) {
	tb.Helper()
	switch {
	case want.err != nil:
		if !errors.Is(err, want.err) {
			tb.Fatalf("%s = %#v, %v; want error %v", call, got, err, want.err)
		}
		for _, other := range allSentinels {
			if other != want.err && errors.Is(err, other) {
				tb.Errorf("%s = %v; is also %v, want only %v", call, err, other, want.err)
			}
		}
		if slices.Contains(ruleSentinels, want.err) {
			var re *domain.RuleError
			if !errors.As(err, &re) || re.Reason == "" {
				tb.Errorf("%s = %#v; want a *domain.RuleError with a reason", call, err)
			}
		}
	case want.fields != nil:
		fields, ok := fieldsOf(err)
		if !ok {
			tb.Fatalf("%s = %#v, %v; want a *domain.ValidationError on %q", call, got, err, want.fields)
		}
		if !slices.Equal(fields, want.fields) {
			tb.Errorf("%s = %v; fields %q, want %q", call, err, fields, want.fields)
		}
		for _, s := range allSentinels {
			if errors.Is(err, s) {
				tb.Errorf("%s = %v; is %v, want only a validation error", call, err, s)
			}
		}
	default:
		if err != nil {
			tb.Fatalf("%s = %v; want event %#v", call, err, want.event)
		}
		if !reflect.DeepEqual(got, want.event) {
			tb.Errorf("%s = %#v; want %#v", call, got, want.event)
		}
		return
	}
	if got != nil {
		tb.Errorf("%s = %#v with error %v; want no event beside an error", call, got, err)
	}
}

func decideCall(c domain.Command, a domain.Actor) string {
	return "Decide(" + domain.CommandName(c) + " by " + a.ID + "/" + string(a.Role) + ")"
}
