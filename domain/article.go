// Package domain holds the Article aggregate: its state, the commands editors give it, the
// events it records, and the rules between them. It is pure: no I/O, no clock, no randomness.
// The shell loads an article's events, folds them with Evolve, asks Decide for the next event,
// and appends that event to the log.
package domain

import "time"

// Status is where an article stands in the editorial workflow. Status values are stored in
// events and views: renaming one means migrating or replaying history.
type Status string

const (
	StatusNone      Status = ""          // not drafted yet
	StatusDraft     Status = "draft"     // being written
	StatusInReview  Status = "in_review" // submitted, waiting for an editor
	StatusApproved  Status = "approved"  // an editor approved it; ready to publish
	StatusScheduled Status = "scheduled" // approved, and to be published by the system at a set time
	StatusPublished Status = "published" // public
	// StatusChangesRequested: an editor sent it back with a comment.
	StatusChangesRequested Status = "changes_requested"
	StatusRetracted        Status = "retracted" // withdrawn; stays at its URL as a notice
	StatusSpiked           Status = "spiked"    // abandoned before publication
	// StatusKilled: withdrawn for legal reasons; its text is erased everywhere.
	StatusKilled Status = "killed"
)

// Statuses lists every status an article can be in, in workflow order.
var Statuses = []Status{StatusDraft, StatusChangesRequested, StatusInReview, StatusApproved,
	StatusScheduled, StatusPublished, StatusRetracted, StatusSpiked, StatusKilled}

// Valid reports whether s is a status an article can be in.
func (s Status) Valid() bool {
	for _, x := range Statuses {
		if s == x {
			return true
		}
	}
	return false
}

// Role is what an actor may do. Roles are stored in events (the actor of each event).
type Role string

const (
	RoleReporter Role = "reporter"
	RoleEditor   Role = "editor"
	RoleAdmin    Role = "admin"
)

// ParseRole returns the role named s, or ErrUnknownRole.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleReporter, RoleEditor, RoleAdmin:
		return r, nil
	}
	return "", ErrUnknownRole
}

// rank orders roles by what they may do: each role may do everything the ones below it may.
func (r Role) rank() int {
	switch r {
	case RoleReporter:
		return 1
	case RoleEditor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// AtLeast reports whether r may do what min may.
func (r Role) AtLeast(min Role) bool { return r.rank() >= min.rank() && r.rank() > 0 }

// Actor is who gives a command: an opaque user id (never a person's name) and a role.
type Actor struct {
	ID   string
	Role Role
}

// Content is what editors write. Every field but Headline may be empty.
type Content struct {
	Headline string
	Summary  string
	Body     string // Markdown
	Language string // BCP 47
	Byline   string
	Dateline string
	Tags     []string
	Slug     string // requested slug; empty means "derive from the headline at publish"
	// Media are the article's images, the main one and those its body places (media.go).
	Media []MediaRef
}

// Article is the state of one communiqué, folded from its events by Evolve.
type Article struct {
	ID      string
	Status  Status
	Version int // the number of events applied; 0 for an article that does not exist
	Content

	CreatedBy     string // actor id of the draft
	LastRevisedBy string // actor id of the latest change to the content
	// Writers are the actor ids that changed the content since the last approval (the draft's
	// author first): none of them may approve it (four eyes).
	Writers []string

	// PendingCorrection is the correction proposed and not yet confirmed or withdrawn; nil when
	// none is.
	PendingCorrection *PendingCorrection

	// TranslationOf is the id of the article this one translates; empty for an original.
	TranslationOf string

	// The schedule of a scheduled article: when, under which reserved slug, set by whom, and
	// the embargo its publication will carry. Zero when it is not scheduled.
	PublishAt       time.Time
	ScheduledSlug   string
	ScheduledBy     string
	ScheduleEmbargo time.Time
	// EmbargoUntil is the end of the embargo of a published article; zero once it is lifted
	// (or when there was none).
	EmbargoUntil time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
	PublishedAt  time.Time // first publication; zero until published

	Corrections     []Correction // public corrections, oldest first
	RetractedReason string
	RetractedAt     time.Time

	// Timeline is every step so far without its words: what a kill keeps of the history.
	Timeline []Step
}

// Step is one event of an article's history without its text: who did what, when.
type Step struct {
	Type      string    `json:"type"`
	Version   int       `json:"version"`
	ActorID   string    `json:"actor_id"`
	ActorRole Role      `json:"actor_role"`
	At        time.Time `json:"at"`
}

// PendingCorrection is a proposed correction: the changes, the public note, who proposed it.
type PendingCorrection struct {
	Changes    Changes
	Note       string
	ProposedBy string
	ProposedAt time.Time
}

// Correction is a public note on a change made after publication.
type Correction struct {
	Note string
	At   time.Time
}

// Exists reports whether the article has been drafted.
func (a Article) Exists() bool { return a.Version > 0 }

// wrote reports whether actor id changed the content since the last approval.
func (a Article) wrote(id string) bool {
	for _, w := range a.Writers {
		if w == id {
			return true
		}
	}
	return false
}
