package domain

import (
	"errors"
	"time"
)

// The press office's commands: publication at a set time, embargoes, and the system's triggers
// for both. A trigger is a command like any other: it is decided against the article as the log
// has it, so a trigger for a schedule that no longer applies (revised, spiked, rescheduled,
// unscheduled) or an embargo that was moved or lifted is refused, and records nothing.

// MaxScheduleAhead bounds how far ahead a publication or an embargo may be set.
const MaxScheduleAhead = 366 * 24 * time.Hour

// RoleSystem is the role of newsroom itself when it gives a trigger. No token carries it
// (ParseRole refuses it), and only triggers accept it.
const RoleSystem Role = "system"

// Scheduler is the actor of the triggers: newsroom's own scheduler.
var Scheduler = Actor{ID: "newsroom-scheduler", Role: RoleSystem}

// ErrTooEarly: a trigger arrived before its time by the deciding instance's clock. The caller
// retries it later; it is never dropped.
var ErrTooEarly = errors.New("too early")

// Schedule sets, or moves, the time an approved article is published by the system. Slug is the
// slug the shell has reserved for it, so that the publication cannot fail on it. EmbargoUntil,
// when set, publishes it under embargo until then.
type Schedule struct {
	PublishAt    time.Time
	EmbargoUntil time.Time
	Slug         string
}

// Unschedule cancels the schedule; the article stays approved.
type Unschedule struct{}

// PublishOnSchedule is the scheduler's trigger for the schedule set for PublishAt.
type PublishOnSchedule struct {
	PublishAt time.Time
}

// LiftEmbargo makes an embargoed article public now, before its embargo ends if need be.
type LiftEmbargo struct{}

// LiftEmbargoOnSchedule is the scheduler's trigger for the end of the embargo set until Until.
type LiftEmbargoOnSchedule struct {
	Until time.Time
}

// MoveEmbargo moves the end of an embargo, later or earlier (but not into the past).
type MoveEmbargo struct {
	Until time.Time
}

func (Schedule) command()              {}
func (Unschedule) command()            {}
func (PublishOnSchedule) command()     {}
func (LiftEmbargo) command()           {}
func (LiftEmbargoOnSchedule) command() {}
func (MoveEmbargo) command()           {}

// Event type names of the press office (permanent, as all are).
const (
	TypeScheduled     = "article.scheduled"
	TypeUnscheduled   = "article.unscheduled"
	TypeEmbargoLifted = "article.embargo_lifted"
	TypeEmbargoMoved  = "article.embargo_moved"
)

// Scheduled records when the article is to be published, under which reserved slug, and until
// when under embargo. It carries ids and times, no text. A later Scheduled replaces it.
type Scheduled struct {
	PublishAt    time.Time `json:"publish_at"`
	EmbargoUntil time.Time `json:"embargo_until,omitzero"`
	Slug         string    `json:"slug"`
}

// Unscheduled cancels the schedule.
type Unscheduled struct{}

// EmbargoLifted makes an embargoed article public. Like Published it carries the whole public
// text, so that readers' views need no earlier event; PublishedAt is the public first
// publication: the lift. Early marks an embargo an editor broke before its end.
type EmbargoLifted struct {
	Early       bool       `json:"early,omitempty"`
	Slug        string     `json:"slug"`
	PublishedAt time.Time  `json:"published_at"`
	Headline    string     `json:"headline"`
	Summary     string     `json:"summary,omitempty"`
	Body        string     `json:"body"`
	Language    string     `json:"language"`
	Byline      string     `json:"byline,omitempty"`
	Dateline    string     `json:"dateline,omitempty"`
	Tags        []string   `json:"tags,omitempty"`
	Media       []MediaRef `json:"media,omitempty"`

	// TranslationOf names the article's translation set (see TranslationSetOf): the original's
	// id for a translation, empty for an original.
	TranslationOf string `json:"translation_of,omitempty"`
}

// EmbargoMoved sets a new end to the embargo.
type EmbargoMoved struct {
	EmbargoUntil time.Time `json:"embargo_until"`
}

func (Scheduled) EventType() string     { return TypeScheduled }
func (Unscheduled) EventType() string   { return TypeUnscheduled }
func (EmbargoLifted) EventType() string { return TypeEmbargoLifted }
func (EmbargoMoved) EventType() string  { return TypeEmbargoMoved }

// Embargoed reports whether the article is published under an embargo that has not been
// lifted: only trusted subscribers may see it.
func (a Article) Embargoed() bool {
	return (a.Status == StatusPublished || a.Status == StatusRetracted) && !a.EmbargoUntil.IsZero()
}

// Audience is who may learn of an event.
type Audience int

const (
	Internal  Audience = iota // the desk only
	Public                    // readers, subscribers, feeds, public caches
	Embargoed                 // trusted subscribers only, until the embargo is lifted
)

// AudienceOf says who may learn of event e. An event about an article under embargo reaches
// trusted subscribers only; its lift is the public's first news of it.
func AudienceOf(e Event) Audience {
	switch e := e.(type) {
	case Published:
		return publicUnless(!e.EmbargoUntil.IsZero())
	case Corrected:
		return publicUnless(e.Embargoed)
	case Retracted:
		return publicUnless(e.Embargoed)
	case Killed:
		return publicUnless(e.Embargoed)
	case EmbargoLifted:
		return Public
	case EmbargoMoved:
		return Embargoed
	}
	return Internal
}

func publicUnless(embargoed bool) Audience {
	if embargoed {
		return Embargoed
	}
	return Public
}

// decideSchedule decides the press office's commands.
func decideSchedule(a Article, c Command, d Decision) (Event, error) {
	switch c := c.(type) {
	case Schedule:
		var v ValidationError
		checkFuture(&v, "publish_at", c.PublishAt, d.Now)
		if !c.EmbargoUntil.IsZero() {
			checkFuture(&v, "embargo_until", c.EmbargoUntil, d.Now)
			if !c.EmbargoUntil.After(c.PublishAt) {
				v.add("embargo_until", "must be after publish_at: an embargo ending at the publication is no embargo")
			}
		}
		if !ValidSlug(c.Slug) {
			v.add("slug", "the article needs a slug: give one, or a headline with letters or digits")
		}
		if err := v.orNil(); err != nil {
			return nil, err
		}
		return Scheduled{PublishAt: c.PublishAt.UTC(), EmbargoUntil: c.EmbargoUntil.UTC(), Slug: c.Slug}, nil

	case Unschedule:
		return Unscheduled{}, nil

	case PublishOnSchedule:
		if a.Status != StatusScheduled || !a.PublishAt.Equal(c.PublishAt) {
			return nil, refuse(ErrInvalidTransition, "cannot publish on schedule: the schedule for %s no longer applies", c.PublishAt.Format(time.RFC3339))
		}
		if d.Now.Before(a.PublishAt) {
			return nil, refuse(ErrTooEarly, "cannot publish on schedule yet: due at %s, now %s", a.PublishAt.Format(time.RFC3339Nano), d.Now.Format(time.RFC3339Nano))
		}
		e := published(a, a.ScheduledSlug, d.Now)
		e.ScheduledBy, e.EmbargoUntil = a.ScheduledBy, a.ScheduleEmbargo
		return e, nil

	case LiftEmbargo:
		if !a.Embargoed() || a.Status != StatusPublished {
			return nil, refuse(ErrInvalidTransition, "cannot lift the embargo: the article is not published under embargo")
		}
		e := embargoLifted(a, d.Now)
		e.Early = d.Now.Before(a.EmbargoUntil)
		return e, nil

	case LiftEmbargoOnSchedule:
		if !a.Embargoed() || a.Status != StatusPublished || !a.EmbargoUntil.Equal(c.Until) {
			return nil, refuse(ErrInvalidTransition, "cannot lift the embargo: the embargo until %s no longer applies", c.Until.Format(time.RFC3339))
		}
		if d.Now.Before(a.EmbargoUntil) {
			return nil, refuse(ErrTooEarly, "cannot lift the embargo yet: due at %s, now %s", a.EmbargoUntil.Format(time.RFC3339Nano), d.Now.Format(time.RFC3339Nano))
		}
		// Readers were told the embargo's end: that is the first publication, however late
		// the trigger ran.
		return embargoLifted(a, a.EmbargoUntil), nil

	case MoveEmbargo:
		if !a.Embargoed() || a.Status != StatusPublished {
			return nil, refuse(ErrInvalidTransition, "cannot move the embargo: the article is not published under embargo")
		}
		var v ValidationError
		checkFuture(&v, "embargo_until", c.Until, d.Now)
		if err := v.orNil(); err != nil {
			return nil, err
		}
		return EmbargoMoved{EmbargoUntil: c.Until.UTC()}, nil
	}
	return nil, refuse(ErrInvalidTransition, "unknown command %T", c)
}

func checkFuture(v *ValidationError, field string, t, now time.Time) {
	switch {
	case t.IsZero():
		v.add(field, "is required (RFC 3339, for example 2026-12-07T10:00:00+01:00)")
	case !t.After(now):
		v.add(field, "%s is not in the future (now %s)", t.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case t.Sub(now) > MaxScheduleAhead:
		v.add(field, "%s is more than a year ahead", t.UTC().Format(time.RFC3339))
	}
}

// published is the Published event that makes a's content public under slug, first published at
// now unless it was before.
func published(a Article, slug string, now time.Time) Published {
	publishedAt := a.PublishedAt
	if publishedAt.IsZero() {
		publishedAt = now
	}
	return Published{
		Slug: slug, PublishedAt: publishedAt,
		Headline: a.Headline, Summary: a.Summary, Body: a.Body, Language: a.Language,
		Byline: a.Byline, Dateline: a.Dateline, Tags: a.Tags, Media: a.Media, TranslationOf: a.TranslationOf,
	}
}

func embargoLifted(a Article, at time.Time) EmbargoLifted {
	return EmbargoLifted{
		Slug: a.Slug, PublishedAt: at,
		Headline: a.Headline, Summary: a.Summary, Body: a.Body, Language: a.Language,
		Byline: a.Byline, Dateline: a.Dateline, Tags: a.Tags, Media: a.Media, TranslationOf: a.TranslationOf,
	}
}
