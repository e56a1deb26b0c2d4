package domain

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Callers test them with errors.Is; the HTTP layer maps each kind to a status.
var (
	// ErrNotFound: the article was never drafted.
	ErrNotFound = errors.New("article not found")
	// ErrAlreadyExists: a draft for an id that already has events.
	ErrAlreadyExists = errors.New("article already exists")
	// ErrForbidden: the actor's role may not give this command.
	ErrForbidden = errors.New("forbidden")
	// ErrInvalidTransition: the article's status does not allow the command.
	ErrInvalidTransition = errors.New("invalid transition")
	// ErrSelfApproval: the four-eyes rule; an editor may not approve their own latest revision.
	ErrSelfApproval = errors.New("self-approval")
	// ErrSlugTaken: the requested slug belongs to another published article.
	ErrSlugTaken = errors.New("slug taken")
	// ErrUnknownRole: a role name that is not reporter, editor or admin.
	ErrUnknownRole = errors.New("unknown role: want reporter, editor or admin")
)

// RuleError is a refusal by the workflow: it wraps one of the sentinels above and says why in
// words an editor can act on.
type RuleError struct {
	Kind   error
	Reason string
}

func (e *RuleError) Error() string { return e.Reason }
func (e *RuleError) Unwrap() error { return e.Kind }

func refuse(kind error, format string, args ...any) error {
	return &RuleError{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}

// FieldError says what is wrong with one field.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// ValidationError lists every invalid field of a command at once.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Detail
		if f.Field != "" {
			parts[i] = f.Field + ": " + f.Detail
		}
	}
	return "invalid article: " + strings.Join(parts, "; ")
}

func (e *ValidationError) add(field, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
}

func (e *ValidationError) orNil() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// merge adds the fields of other validation errors, except for fields already reported.
func (e *ValidationError) merge(errs ...error) {
	for _, err := range errs {
		other, ok := err.(*ValidationError)
		if !ok {
			continue
		}
		for _, f := range other.Fields {
			if !e.has(f.Field) {
				e.Fields = append(e.Fields, f)
			}
		}
	}
}

func (e *ValidationError) has(field string) bool {
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}
