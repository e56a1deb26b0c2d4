package domain

import "time"

// Event type names are permanent: they are stored in the log and read back on every replay.
// Renaming one means writing an upcaster or replaying history.
const (
	TypeDrafted   = "article.drafted"
	TypeRevised   = "article.revised"
	TypeSubmitted = "article.submitted"
	TypeApproved  = "article.approved"
	TypePublished = "article.published"

	TypeChangesRequested = "article.changes_requested"
	TypeCorrected        = "article.corrected"
	TypeRetracted        = "article.retracted"
	TypeSpiked           = "article.spiked"
	TypeKilled           = "article.killed"

	TypeCorrectionProposed  = "article.correction_proposed"
	TypeCorrectionWithdrawn = "article.correction_withdrawn"
)

// Event is a fact about one article, as Decide returns it and Evolve applies it. Its JSON form
// is its payload in the log: field names are permanent too.
type Event interface {
	EventType() string
}

// Drafted starts an article.
type Drafted struct {
	// TranslationOf is the id of the article this one translates.
	TranslationOf string `json:"translation_of,omitempty"`

	Headline string   `json:"headline"`
	Summary  string   `json:"summary,omitempty"`
	Body     string   `json:"body,omitempty"`
	Language string   `json:"language"`
	Byline   string   `json:"byline,omitempty"`
	Dateline string   `json:"dateline,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	Slug     string   `json:"slug,omitempty"`

	Media []MediaRef `json:"media,omitempty"`
}

// Revised changes the fields that are set and leaves the others as they were.
type Revised struct {
	Changes
}

// Changes names the editable fields a revision sets; nil means "unchanged". An empty string
// (or an empty list) clears a field.
type Changes struct {
	Headline *string   `json:"headline,omitempty"`
	Summary  *string   `json:"summary,omitempty"`
	Body     *string   `json:"body,omitempty"`
	Language *string   `json:"language,omitempty"`
	Byline   *string   `json:"byline,omitempty"`
	Dateline *string   `json:"dateline,omitempty"`
	Tags     *[]string `json:"tags,omitempty"`
	Slug     *string   `json:"slug,omitempty"`
	// Media replaces the article's images; an empty list removes them all.
	Media *[]MediaRef `json:"media,omitempty"`
}

// Empty reports whether the changes set no field.
func (c Changes) Empty() bool { return c == Changes{} }

// Submitted sends the article to review.
type Submitted struct{}

// Approved records an editor's approval.
type Approved struct{}

// Published makes the article public. It carries what was published, so that the public view
// and subscribers need no earlier event to show it. ScheduledBy names the editor who scheduled
// a publication the scheduler made (the event's actor is then the scheduler). EmbargoUntil, when
// set, publishes it to trusted subscribers only until then (see AudienceOf).
type Published struct {
	ScheduledBy  string    `json:"scheduled_by,omitempty"`
	EmbargoUntil time.Time `json:"embargo_until,omitzero"`

	Slug        string     `json:"slug"`
	PublishedAt time.Time  `json:"published_at"` // the first publication
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

// ChangesRequested sends the article back to its writers.
type ChangesRequested struct {
	Comment string `json:"comment"`
}

// CorrectionProposed records a correction one editor proposes for a published article: the
// changed fields and the public note. It is internal: readers see nothing of it until another
// editor confirms it (Corrected).
type CorrectionProposed struct {
	Changes Changes `json:"changes"`
	Note    string  `json:"note"`
}

// CorrectionWithdrawn drops the pending correction.
type CorrectionWithdrawn struct{}

// Corrected changes a published article. Like Published it carries the whole public text after
// the correction, so that readers' views need no earlier event. ProposedBy is the editor who
// proposed a correction another editor (the event's actor) confirmed; SingleEditor marks one made
// by one editor alone under Policy.SingleEditorCorrections. Neither is set on a note alone, nor on
// events recorded before corrections needed a second editor.
type Corrected struct {
	ProposedBy   string `json:"proposed_by,omitempty"`
	SingleEditor bool   `json:"single_editor,omitempty"`
	// Embargoed: the article is under embargo; the correction reaches trusted subscribers only.
	Embargoed bool `json:"embargoed,omitempty"`

	Note        string     `json:"note"`
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

// Retracted withdraws a published article; the reason is public. Like Published it carries what
// its public notice shows (the headline withdrawn, under its slug and first publication time), so
// that the outbox and the views need no earlier event. Events recorded before these fields
// existed hold the reason alone: a reader falls back to the article's earlier events (see
// Retracted.Complete).
type Retracted struct {
	// Embargoed: retracted under embargo, so the public never learns of the article.
	Embargoed   bool      `json:"embargoed,omitempty"`
	Reason      string    `json:"reason"`
	Slug        string    `json:"slug,omitempty"`
	PublishedAt time.Time `json:"published_at,omitzero"`
	Headline    string    `json:"headline,omitempty"`

	// TranslationOf names the article's translation set (see TranslationSetOf): the original's
	// id for a translation, empty for an original.
	TranslationOf string `json:"translation_of,omitempty"`
}

// Complete reports whether the event carries its notice (recorded since Retracted has a
// headline); an older one needs the article's earlier events to be shown.
func (e Retracted) Complete() bool { return e.Headline != "" }

// Spiked abandons an unpublished article.
type Spiked struct {
	Reason string `json:"reason,omitempty"`
}

// Killed withdraws an article for legal reasons. It is self-sufficient: once it is recorded the
// article's earlier events are erased from the log, so it carries everything the desk and the
// history keep of the article, and no text of it (not even its slug: only the slug's digest,
// so that its old URL can still answer "gone").
type Killed struct {
	// Embargoed: killed under embargo, so the public never learns of the article.
	Embargoed     bool      `json:"embargoed,omitempty"`
	Reason        string    `json:"reason"`
	SlugDigest    string    `json:"slug_sha256,omitempty"`
	Language      string    `json:"language,omitempty"`
	CreatedBy     string    `json:"created_by"`
	CreatedAt     time.Time `json:"created_at"`
	LastRevisedBy string    `json:"last_revised_by"`
	PublishedAt   time.Time `json:"published_at"`
	Timeline      []Step    `json:"timeline"` // the steps before the kill
	// Media are the ids and roles of the images the article showed, without their captions:
	// they say which images no live article uses any more (an id is not erasable text).
	Media []MediaRef `json:"media,omitempty"`

	// TranslationOf names the article's translation set (see TranslationSetOf): the original's
	// id for a translation, empty for an original.
	TranslationOf string `json:"translation_of,omitempty"`
}

func (Killed) EventType() string           { return TypeKilled }
func (ChangesRequested) EventType() string { return TypeChangesRequested }
func (Corrected) EventType() string        { return TypeCorrected }

func (CorrectionProposed) EventType() string  { return TypeCorrectionProposed }
func (CorrectionWithdrawn) EventType() string { return TypeCorrectionWithdrawn }
func (Retracted) EventType() string           { return TypeRetracted }
func (Spiked) EventType() string              { return TypeSpiked }

func (Drafted) EventType() string   { return TypeDrafted }
func (Revised) EventType() string   { return TypeRevised }
func (Submitted) EventType() string { return TypeSubmitted }
func (Approved) EventType() string  { return TypeApproved }
func (Published) EventType() string { return TypePublished }

// Recorded is an event as the log holds it: with who recorded it, when, and the article version
// it made. Evolve needs all three (the four-eyes rule, timestamps, versions).
type Recorded struct {
	Event   Event
	Version int
	By      Actor
	At      time.Time
}
