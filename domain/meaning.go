package domain

// What each event type means to everything downstream of the log, said once: the views, the
// public outbox and the caches ask here instead of keeping tables of their own. (Embargoes and
// schedules will make "is it public" depend on an event's payload and time as well: that is
// why these take the type name today and will grow to take the event.)

// meaning is what one event type does to an article.
type meaning struct {
	statusAfter Status // "" for an event that leaves the status as it was
	public      bool   // it changes what readers and subscribers may see
}

var meanings = map[string]meaning{
	TypeDrafted:          {statusAfter: StatusDraft},
	TypeRevised:          {statusAfter: StatusDraft},
	TypeSubmitted:        {statusAfter: StatusInReview},
	TypeChangesRequested: {statusAfter: StatusChangesRequested},
	TypeApproved:         {statusAfter: StatusApproved},
	TypePublished:        {statusAfter: StatusPublished, public: true},
	TypeCorrected:        {statusAfter: StatusPublished, public: true},
	TypeRetracted:        {statusAfter: StatusRetracted, public: true},
	TypeSpiked:           {statusAfter: StatusSpiked},
	TypeKilled:           {statusAfter: StatusKilled, public: true},

	TypeCorrectionProposed:  {statusAfter: StatusPublished},
	TypeCorrectionWithdrawn: {statusAfter: StatusPublished},

	TypeScheduled:     {statusAfter: StatusScheduled},
	TypeUnscheduled:   {statusAfter: StatusApproved},
	TypeEmbargoLifted: {statusAfter: StatusPublished, public: true},
	TypeEmbargoMoved:  {statusAfter: StatusPublished},
}

// StatusAfter is the status an event of type eventType leaves its article in; false for a type
// this release does not know.
func StatusAfter(eventType string) (Status, bool) {
	m, ok := meanings[eventType]
	return m.statusAfter, ok
}

// IsPublic reports whether an event of type eventType may change what the public sees of its
// article: only these reach the public stream, the feeds and the public caches. Drafts,
// revisions and reviews never do. An event of these types about an article under embargo
// reaches trusted subscribers only: AudienceOf, given the event, says which.
func IsPublic(eventType string) bool { return meanings[eventType].public }
