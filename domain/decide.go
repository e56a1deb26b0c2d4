package domain

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits on the words that go with a workflow step.
const (
	MaxComment = 5_000 // request-changes comment
	MaxNote    = 2_000 // public correction note
	MaxReason  = 2_000 // retraction, spike or kill reason
)

// Decide returns the one event that command c records on article a, or the reason it is
// refused: ErrNotFound, or a *RuleError wrapping ErrAlreadyExists, ErrForbidden,
// ErrInvalidTransition or ErrSelfApproval, or a *ValidationError. It never has side effects.
func Decide(a Article, c Command, d Decision) (Event, error) {
	c = normalized(c) // headlines, tags and slugs are recorded in NFC (text.go)
	name := CommandName(c)
	if _, isDraft := c.(Draft); isDraft {
		if a.Exists() {
			return nil, refuse(ErrAlreadyExists, "cannot draft: article %s already exists", a.ID)
		}
	} else if !a.Exists() {
		return nil, ErrNotFound
	}
	if err := authorise(a, c, d.By, name); err != nil {
		return nil, err
	}
	if allowed := allowedFrom(c); a.Exists() && !containsStatus(allowed, a.Status) {
		return nil, refuse(ErrInvalidTransition, "cannot %s: article is %s, not %s", name, a.Status, joinStatuses(allowed))
	}

	switch c := c.(type) {
	case Draft:
		content := c.Content
		if content.Language == "" {
			content.Language = DefaultLanguage
		}
		if err := content.validate(); err != nil {
			return nil, err
		}
		if c.TranslationOf == a.ID && a.ID != "" {
			return nil, invalid("translation_of", "an article cannot translate itself")
		}
		return Drafted{
			TranslationOf: c.TranslationOf,
			Headline:      content.Headline, Summary: content.Summary, Body: content.Body,
			Language: content.Language, Byline: content.Byline, Dateline: content.Dateline,
			Tags: content.Tags, Slug: content.Slug, Media: content.Media,
		}, nil

	case Revise:
		if c.Changes.Empty() {
			return nil, invalid("", "the revision changes no field")
		}
		if err := c.Changes.apply(a.Content).validate(); err != nil {
			return nil, err
		}
		return Revised{Changes: c.Changes}, nil

	case Submit:
		if err := a.Content.complete("submitting"); err != nil {
			return nil, err
		}
		return Submitted{}, nil

	case RequestChanges:
		if err := words("comment", c.Comment, MaxComment, true); err != nil {
			return nil, err
		}
		return ChangesRequested{Comment: c.Comment}, nil

	case Approve:
		if a.wrote(d.By.ID) {
			return nil, refuse(ErrSelfApproval, "cannot approve: you wrote part of this text since its last approval; another editor must approve it")
		}
		return Approved{}, nil

	case Publish:
		var v ValidationError
		if !ValidSlug(c.Slug) {
			v.add("slug", "the article needs a slug: give one, or a headline with letters or digits")
		}
		if !c.EmbargoUntil.IsZero() {
			checkFuture(&v, "embargo_until", c.EmbargoUntil, d.Now)
		}
		if err := v.orNil(); err != nil {
			return nil, err
		}
		e := published(a, c.Slug, d.Now)
		e.EmbargoUntil = c.EmbargoUntil.UTC()
		return e, nil

	case Schedule, Unschedule, PublishOnSchedule, LiftEmbargo, LiftEmbargoOnSchedule, MoveEmbargo:
		return decideSchedule(a, c, d)

	case Correct:
		return decideCorrection(a, c, d)

	case ConfirmCorrection:
		p := a.PendingCorrection
		if p == nil {
			return nil, refuse(ErrInvalidTransition, "cannot confirm the correction: no correction is pending")
		}
		if d.By.ID == p.ProposedBy {
			return nil, refuse(ErrSelfApproval, "cannot confirm the correction: you proposed it; another editor must confirm it")
		}
		// The content cannot have changed since the proposal (a note alone leaves it as it is,
		// and a second proposal waits for this one), so the changes apply as they were read.
		return corrected(a, p.Changes.apply(a.Content), p.Note, p.ProposedBy), nil

	case WithdrawCorrection:
		if a.PendingCorrection == nil {
			return nil, refuse(ErrInvalidTransition, "cannot withdraw the correction: no correction is pending")
		}
		return CorrectionWithdrawn{}, nil

	case Retract:
		if err := words("reason", c.Reason, MaxReason, true); err != nil {
			return nil, err
		}
		return Retracted{Reason: c.Reason, Slug: a.Slug, PublishedAt: a.PublishedAt, Headline: a.Headline, Embargoed: a.Embargoed(),
			TranslationOf: a.TranslationOf}, nil

	case Spike:
		if err := words("reason", c.Reason, MaxReason, false); err != nil {
			return nil, err
		}
		return Spiked{Reason: c.Reason}, nil

	case Kill:
		if err := words("reason", c.Reason, MaxReason, true); err != nil {
			return nil, err
		}
		return Killed{
			Embargoed: a.Embargoed(),
			Reason:    c.Reason, SlugDigest: SlugDigest(a.Slug), Language: a.Language,
			CreatedBy: a.CreatedBy, CreatedAt: a.CreatedAt, LastRevisedBy: a.LastRevisedBy,
			PublishedAt: a.PublishedAt, Timeline: a.Timeline, TranslationOf: a.TranslationOf,
			Media: withoutCaptions(a.Media),
		}, nil
	}
	return nil, refuse(ErrInvalidTransition, "unknown command %T", c)
}

// decideCorrection decides a correction: a note alone is published at once; changed public
// fields are proposed, for another editor to confirm, unless the policy lets one editor publish
// them.
func decideCorrection(a Article, c Correct, d Decision) (Event, error) {
	// Every invalid field is reported at once, as for a draft.
	var v ValidationError
	if c.Changes.Slug != nil && *c.Changes.Slug != a.Slug {
		v.add("slug", "cannot change after publication: readers and links know the article by it")
	}
	changes := c.Changes.differences(a.Content)
	after := changes.apply(a.Content)
	v.merge(words("note", c.Note, MaxNote, true), after.validate(), after.complete("a published article"))
	if err := v.orNil(); err != nil {
		return nil, err
	}
	switch {
	case changes.Empty():
		return corrected(a, a.Content, c.Note, ""), nil
	case a.PendingCorrection != nil:
		return nil, refuse(ErrInvalidTransition, "cannot correct: a correction proposed at %s is pending; confirm or withdraw it first",
			a.PendingCorrection.ProposedAt.Format("2006-01-02 15:04 MST"))
	case d.Policy.SingleEditorCorrections:
		e := corrected(a, after, c.Note, "")
		e.SingleEditor = true
		return e, nil
	}
	return CorrectionProposed{Changes: changes, Note: c.Note}, nil
}

// corrected is the Corrected event that makes content public under a's slug, with note.
func corrected(a Article, content Content, note, proposedBy string) Corrected {
	return Corrected{
		Embargoed:  a.Embargoed(),
		ProposedBy: proposedBy, Note: note, Slug: a.Slug, PublishedAt: a.PublishedAt,
		Headline: content.Headline, Summary: content.Summary, Body: content.Body, Language: content.Language,
		Byline: content.Byline, Dateline: content.Dateline, Tags: content.Tags, Media: content.Media,
		TranslationOf: a.TranslationOf,
	}
}

// SlugFor is the slug the article asks for at publication: the one an editor gave, or one
// derived from the headline.
func SlugFor(a Article) string {
	if a.Slug != "" {
		return a.Slug
	}
	return Slugify(a.Headline)
}

// authorise checks that by's role may give c. Spiking is the one rule that depends on the
// article: its author may spike it whatever their role.
func authorise(a Article, c Command, by Actor, name string) error {
	need := RoleReporter
	switch c.(type) {
	case Approve, Publish, RequestChanges, Correct, ConfirmCorrection, WithdrawCorrection, Retract, Kill,
		Schedule, Unschedule, LiftEmbargo, MoveEmbargo:
		need = RoleEditor
	case PublishOnSchedule, LiftEmbargoOnSchedule:
		// Triggers are the scheduler's alone, and the scheduler gives nothing else.
		if by.Role != RoleSystem {
			return refuse(ErrForbidden, "cannot %s: only newsroom's scheduler may", name)
		}
		return nil
	case Revise, Submit:
		// Reporters work on their own articles; editors on any.
		if by.Role == RoleReporter && by.ID != a.CreatedBy {
			return refuse(ErrForbidden, "cannot %s: a reporter may %s only their own articles; this one is another writer's", name, name)
		}
	case Spike:
		if by.Role.AtLeast(RoleReporter) && by.ID == a.CreatedBy {
			return nil
		}
		if !by.Role.AtLeast(RoleEditor) {
			return refuse(ErrForbidden, "cannot spike: only the article's author or an editor may")
		}
	}
	if !by.Role.AtLeast(need) {
		return refuse(ErrForbidden, "cannot %s: the %s role may not; it needs %s", name, roleName(by.Role), need)
	}
	return nil
}

// allowedFrom lists the statuses command c may be given in.
func allowedFrom(c Command) []Status {
	switch c.(type) {
	case Draft:
		return []Status{StatusNone}
	case Revise, Spike:
		return []Status{StatusDraft, StatusChangesRequested, StatusInReview, StatusApproved, StatusScheduled}
	case Submit:
		return []Status{StatusDraft, StatusChangesRequested}
	case RequestChanges, Approve:
		return []Status{StatusInReview}
	case Publish:
		return []Status{StatusApproved}
	case Schedule:
		return []Status{StatusApproved, StatusScheduled}
	case Unschedule, PublishOnSchedule:
		return []Status{StatusScheduled}
	case LiftEmbargo, LiftEmbargoOnSchedule, MoveEmbargo:
		return []Status{StatusPublished}
	case Correct, ConfirmCorrection, WithdrawCorrection, Retract:
		return []Status{StatusPublished}
	case Kill:
		return []Status{StatusPublished, StatusRetracted}
	}
	return nil
}

func words(field, text string, max int, required bool) error {
	switch n := utf8.RuneCountInString(text); {
	case textProblem(text, true) != "":
		return invalid(field, "%s", textProblem(text, true))
	case required && strings.TrimSpace(text) == "":
		return invalid(field, "is required")
	case n > max:
		return invalid(field, "is %d characters long; at most %d are allowed", n, max)
	}
	return nil
}

func invalid(field, format string, args ...any) error {
	var v ValidationError
	v.add(field, format, args...)
	return &v
}

func containsStatus(list []Status, s Status) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func joinStatuses(list []Status) string {
	names := make([]string, len(list))
	for i, s := range list {
		names[i] = string(s)
	}
	if len(names) > 1 {
		return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	}
	return strings.Join(names, "")
}

func roleName(r Role) string {
	if r == "" {
		return "anonymous"
	}
	return string(r)
}

// differences returns the changes that change something in content: a field set to the value
// it has already is no change.
func (c Changes) differences(content Content) Changes {
	keep := func(v *string, current string) *string {
		if v != nil && *v == current {
			return nil
		}
		return v
	}
	out := Changes{
		Headline: keep(c.Headline, content.Headline), Summary: keep(c.Summary, content.Summary),
		Body: keep(c.Body, content.Body), Language: keep(c.Language, content.Language),
		Byline: keep(c.Byline, content.Byline), Dateline: keep(c.Dateline, content.Dateline),
		Slug: keep(c.Slug, content.Slug), Tags: c.Tags,
	}
	if c.Tags != nil && slices.Equal(*c.Tags, content.Tags) {
		out.Tags = nil
	}
	if c.Media != nil && !SameMedia(*c.Media, content.Media) {
		out.Media = c.Media
	}
	return out
}

// apply returns the content with the changes made.
func (c Changes) apply(to Content) Content {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&to.Headline, c.Headline)
	set(&to.Summary, c.Summary)
	set(&to.Body, c.Body)
	set(&to.Language, c.Language)
	set(&to.Byline, c.Byline)
	set(&to.Dateline, c.Dateline)
	set(&to.Slug, c.Slug)
	if c.Tags != nil {
		to.Tags = *c.Tags
	}
	if c.Media != nil {
		to.Media = *c.Media
		if len(to.Media) == 0 {
			to.Media = nil // none, as an article drafted without images has
		}
	}
	return to
}
