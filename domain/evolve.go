package domain

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
			Byline: e.Byline, Dateline: e.Dateline, Tags: e.Tags, Slug: e.Slug,
		}
		a.CreatedBy, a.LastRevisedBy = r.By.ID, r.By.ID
		a.CreatedAt = r.At
	case Revised:
		a.Content = e.Changes.apply(a.Content)
		a.LastRevisedBy = r.By.ID
		a.Status = StatusDraft // a pending review or approval lapses
	case ChangesRequested:
		a.Status = StatusChangesRequested
	case Submitted:
		a.Status = StatusInReview
	case Approved:
		a.Status = StatusApproved
	case Published:
		a.Status = StatusPublished
		a.Slug = e.Slug
		a.PublishedAt = e.PublishedAt
	case Corrected:
		a.Content = Content{
			Headline: e.Headline, Summary: e.Summary, Body: e.Body, Language: e.Language,
			Byline: e.Byline, Dateline: e.Dateline, Tags: e.Tags, Slug: e.Slug,
		}
		a.LastRevisedBy = r.By.ID
		a.Corrections = append(a.Corrections[:len(a.Corrections):len(a.Corrections)], Correction{Note: e.Note, At: r.At})
	case Retracted:
		a.Status = StatusRetracted
		a.RetractedReason = e.Reason
		a.RetractedAt = r.At
	case Spiked:
		a.Status = StatusSpiked
	case Killed:
		// Everything the article held is dropped: the event alone makes the killed article,
		// as it must once the earlier events are erased.
		a = Article{ID: a.ID, Version: r.Version, Status: StatusKilled, UpdatedAt: r.At,
			Content:   Content{Language: e.Language},
			CreatedBy: e.CreatedBy, CreatedAt: e.CreatedAt, LastRevisedBy: e.LastRevisedBy,
			PublishedAt: e.PublishedAt, Timeline: e.Timeline}
	}
	a.Timeline = append(a.Timeline[:len(a.Timeline):len(a.Timeline)],
		Step{Type: r.Event.EventType(), Version: r.Version, ActorID: r.By.ID, ActorRole: r.By.Role, At: r.At})
	return a
}

// Fold rebuilds an article from its events, oldest first.
func Fold(id string, history []Recorded) Article {
	a := Article{ID: id}
	for _, r := range history {
		a = Evolve(a, r)
	}
	return a
}
