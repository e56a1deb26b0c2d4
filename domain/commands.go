package domain

import "time"

// Command is something an actor asks of one article.
type Command interface {
	command()
}

// Draft starts a new article. TranslationOf, when set, is the id of the article this one
// translates: the shell checks that it exists.
type Draft struct {
	Content       Content
	TranslationOf string
}

// Revise changes editable fields.
type Revise struct {
	Changes Changes
}

// Submit sends a draft to review.
type Submit struct{}

// Approve records an editor's approval of the article under review.
type Approve struct{}

// Publish makes an approved article public under Slug, which the shell has reserved for this
// article beforehand (slugs are unique across articles, which one article cannot check). With
// EmbargoUntil set it is published under embargo: to trusted subscribers only, until then.
type Publish struct {
	Slug         string
	EmbargoUntil time.Time
}

// RequestChanges sends an article under review back to its writers with a comment.
type RequestChanges struct {
	Comment string
}

// Correct changes a published article and tells readers why, in Note. A correction that changes
// a public field is proposed, and reaches readers only once another editor confirms it (unless
// the newsroom's Policy allows one-editor corrections); a note alone is published at once.
type Correct struct {
	Changes Changes
	Note    string
}

// ConfirmCorrection publishes the pending correction; the editor who proposed it may not.
type ConfirmCorrection struct{}

// WithdrawCorrection drops the pending correction; the public article stays as it is.
type WithdrawCorrection struct{}

// Retract withdraws a published article; Reason is public.
type Retract struct {
	Reason string
}

// Spike abandons an unpublished article.
type Spike struct {
	Reason string
}

// Kill withdraws a published or retracted article for legal reasons: it leaves every public
// view and its text is erased from the log. Reason is internal (the desk and history show it).
type Kill struct {
	Reason string
}

func (Kill) command()               {}
func (RequestChanges) command()     {}
func (Correct) command()            {}
func (ConfirmCorrection) command()  {}
func (WithdrawCorrection) command() {}
func (Retract) command()            {}
func (Spike) command()              {}

func (Draft) command()   {}
func (Revise) command()  {}
func (Submit) command()  {}
func (Approve) command() {}
func (Publish) command() {}

// CommandName names a command in refusals ("cannot publish: …").
func CommandName(c Command) string {
	switch c.(type) {
	case Draft:
		return "draft"
	case Revise:
		return "revise"
	case Submit:
		return "submit"
	case Approve:
		return "approve"
	case Publish:
		return "publish"
	case RequestChanges:
		return "request changes"
	case Correct:
		return "correct"
	case ConfirmCorrection:
		return "confirm the correction"
	case WithdrawCorrection:
		return "withdraw the correction"
	case Retract:
		return "retract"
	case Spike:
		return "spike"
	case Kill:
		return "kill"
	case Schedule:
		return "schedule"
	case Unschedule:
		return "unschedule"
	case PublishOnSchedule:
		return "publish on schedule"
	case LiftEmbargo, LiftEmbargoOnSchedule:
		return "lift the embargo"
	case MoveEmbargo:
		return "move the embargo"
	}
	return "do that"
}

// Decision is what the shell passes to Decide beside the state and the command.
type Decision struct {
	By     Actor
	Now    time.Time
	Policy Policy
}

// Policy is what a newsroom chose where the rules leave it a choice. The zero Policy is the
// default: every rule on.
type Policy struct {
	// SingleEditorCorrections lets one editor publish a correction that changes public fields
	// without a second editor's confirmation. Off by default; each correction made this way
	// says so in its event (Corrected.SingleEditor).
	SingleEditorCorrections bool
}
