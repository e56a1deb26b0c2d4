package domain

import "strings"

// Decide returns the one event that command c records on article a, or the reason it is
// refused: ErrNotFound, ErrAlreadyExists, ErrForbidden, ErrInvalidTransition or ErrSelfApproval
// inside a *RuleError, or a *ValidationError. It never has side effects.
func Decide(a Article, c Command, d Decision) (Event, error) {
	name := CommandName(c)
	if _, isDraft := c.(Draft); isDraft {
		if a.Exists() {
			return nil, refuse(ErrAlreadyExists, "cannot draft: article %s already exists", a.ID)
		}
	} else if !a.Exists() {
		return nil, ErrNotFound
	}
	if need := requiredRole(c); !d.By.Role.AtLeast(need) {
		return nil, refuse(ErrForbidden, "cannot %s: the %s role may not; it needs %s", name, roleName(d.By.Role), need)
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
		return Drafted{
			Headline: content.Headline, Summary: content.Summary, Body: content.Body,
			Language: content.Language, Byline: content.Byline, Dateline: content.Dateline,
			Tags: content.Tags, Slug: content.Slug,
		}, nil

	case Revise:
		if c.Changes.Empty() {
			return nil, &ValidationError{Fields: []FieldError{{Field: "", Detail: "the revision changes no field"}}}
		}
		if err := c.Changes.apply(a.Content).validate(); err != nil {
			return nil, err
		}
		return Revised{Changes: c.Changes}, nil

	case Submit:
		if err := a.Content.readyForReview(); err != nil {
			return nil, err
		}
		return Submitted{}, nil

	case Approve:
		if d.By.ID == a.LastRevisedBy {
			return nil, refuse(ErrSelfApproval, "cannot approve: you wrote the latest revision; another editor must approve it")
		}
		return Approved{}, nil

	case Publish:
		if !ValidSlug(c.Slug) {
			return nil, &ValidationError{Fields: []FieldError{{Field: "slug", Detail: "the article needs a slug: give one, or a headline with letters or digits"}}}
		}
		publishedAt := a.PublishedAt
		if publishedAt.IsZero() {
			publishedAt = d.Now
		}
		return Published{
			Slug: c.Slug, PublishedAt: publishedAt,
			Headline: a.Headline, Summary: a.Summary, Body: a.Body, Language: a.Language,
			Byline: a.Byline, Dateline: a.Dateline, Tags: a.Tags,
		}, nil
	}
	return nil, refuse(ErrInvalidTransition, "unknown command %T", c)
}

// SlugFor is the slug the article asks for at publication: the one an editor gave, or one
// derived from the headline.
func SlugFor(a Article) string {
	if a.Slug != "" {
		return a.Slug
	}
	return Slugify(a.Headline)
}

func requiredRole(c Command) Role {
	switch c.(type) {
	case Approve, Publish:
		return RoleEditor
	}
	return RoleReporter
}

func allowedFrom(c Command) []Status {
	switch c.(type) {
	case Draft:
		return []Status{StatusNone}
	case Revise, Submit:
		return []Status{StatusDraft}
	case Approve:
		return []Status{StatusInReview}
	case Publish:
		return []Status{StatusApproved}
	}
	return nil
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
	return strings.Join(names, " or ")
}

func roleName(r Role) string {
	if r == "" {
		return "anonymous"
	}
	return string(r)
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
	return to
}
