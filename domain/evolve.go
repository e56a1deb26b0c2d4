package domain

import (
	"slices"
	"time"
)

// Evolve returns the article after event r. It trusts the log: every event in it was decided
// against the state before it, so Evolve checks nothing and never fails.
func Evolve(a Article, r Recorded) Article {
	a.Version = r.Version
	a.UpdatedAt = r.At
	switch e := r.Event.(type) {
	case Drafted:
		a.Status = StatusDraft
		a.Content = Content{
			Headline: e.Headline, Summary: e.Summary, Body: e.Body, Language: e.Language,
			Byline: e.Byline, Dateline: e.Dateline, Tags: e.Tags, Slug: e.Slug, Media: e.Media,
		}
		a.CreatedBy, a.LastRevisedBy = r.By.ID, r.By.ID
		a.Writers = []string{r.By.ID}
		a.CreatedAt = r.At
		a.TranslationOf = e.TranslationOf
	case Revised:
		a.Content = e.Changes.apply(a.Content)
		a.LastRevisedBy = r.By.ID
		a = a.writtenBy(r.By.ID)
		a.Status = StatusDraft // a pending review, approval or schedule lapses
		a = a.unscheduled()
	case ChangesRequested:
		a.Status = StatusChangesRequested
	case Submitted:
		a.Status = StatusInReview
	case Approved:
		a.Status = StatusApproved
		a.Writers = nil
	case Scheduled:
		a.Status = StatusScheduled
		a.PublishAt, a.ScheduledSlug, a.ScheduledBy, a.ScheduleEmbargo = e.PublishAt, e.Slug, r.By.ID, e.EmbargoUntil
	case Unscheduled:
		a.Status = StatusApproved
		a = a.unscheduled()
	case Published:
		a.Status = StatusPublished
		a.Slug = e.Slug
		a.PublishedAt = e.PublishedAt
		a.EmbargoUntil = e.EmbargoUntil
		a = a.unscheduled()
	case EmbargoLifted:
		// The public's first publication is the lift.
		a.EmbargoUntil, a.PublishedAt = time.Time{}, e.PublishedAt
	case EmbargoMoved:
		a.EmbargoUntil = e.EmbargoUntil
	case CorrectionProposed:
		a.PendingCorrection = &PendingCorrection{Changes: e.Changes, Note: e.Note, ProposedBy: r.By.ID, ProposedAt: r.At}
	case CorrectionWithdrawn:
		a.PendingCorrection = nil
	case Corrected:
		after := Content{
			Headline: e.Headline, Summary: e.Summary, Body: e.Body, Language: e.Language,
			Byline: e.Byline, Dateline: e.Dateline, Tags: e.Tags, Slug: e.Slug, Media: e.Media,
		}
		switch {
		case e.ProposedBy != "":
			// Its actor confirmed what ProposedBy wrote: a second person read the change.
			a.LastRevisedBy, a.Writers = e.ProposedBy, nil
		case !sameContent(a.Content, after):
			// One editor alone (by policy, or before corrections needed two).
			a.LastRevisedBy = r.By.ID
			a = a.writtenBy(r.By.ID)
		}
		a.Content = after
		a.PendingCorrection = nil
		a.Corrections = append(a.Corrections[:len(a.Corrections):len(a.Corrections)], Correction{Note: e.Note, At: r.At})
	case Retracted:
		a.Status = StatusRetracted
		a.RetractedReason = e.Reason
		a.RetractedAt = r.At
		a.PendingCorrection = nil
	case Spiked:
		a.Status = StatusSpiked
		a = a.unscheduled()
	case Killed:
		// Everything the article held is dropped: the event alone makes the killed article,
		// as it must once the earlier events are erased.
		a = Article{ID: a.ID, Version: r.Version, Status: StatusKilled, UpdatedAt: r.At,
			Content:   Content{Language: e.Language, Media: e.Media},
			CreatedBy: e.CreatedBy, CreatedAt: e.CreatedAt, LastRevisedBy: e.LastRevisedBy,
			PublishedAt: e.PublishedAt, Timeline: e.Timeline, TranslationOf: e.TranslationOf}
	}
	a.Timeline = append(a.Timeline[:len(a.Timeline):len(a.Timeline)],
		Step{Type: r.Event.EventType(), Version: r.Version, ActorID: r.By.ID, ActorRole: r.By.Role, At: r.At})
	return a
}

// unscheduled drops the schedule.
func (a Article) unscheduled() Article {
	a.PublishAt, a.ScheduledSlug, a.ScheduledBy, a.ScheduleEmbargo = time.Time{}, "", "", time.Time{}
	return a
}

// writtenBy records that actor id changed the content.
func (a Article) writtenBy(id string) Article {
	if !a.wrote(id) {
		a.Writers = append(a.Writers[:len(a.Writers):len(a.Writers)], id)
	}
	return a
}

// sameContent reports whether x and y hold the same text in every field.
func sameContent(x, y Content) bool {
	return x.Headline == y.Headline && x.Summary == y.Summary && x.Body == y.Body &&
		x.Language == y.Language && x.Byline == y.Byline && x.Dateline == y.Dateline &&
		x.Slug == y.Slug && slices.Equal(x.Tags, y.Tags) && SameMedia(x.Media, y.Media)
}

// Fold rebuilds an article from its events, oldest first.
func Fold(id string, history []Recorded) Article {
	a := Article{ID: id}
	for _, r := range history {
		a = Evolve(a, r)
	}
	return a
}
