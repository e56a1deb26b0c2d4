package domain_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/newsroom/newsroom/domain"
)

func TestRuleError(t *testing.T) {
	for _, kind := range []error{
		domain.ErrNotFound, domain.ErrAlreadyExists, domain.ErrForbidden,
		domain.ErrInvalidTransition, domain.ErrSelfApproval, domain.ErrSlugTaken,
	} {
		err := error(&domain.RuleError{Kind: kind, Reason: "because"})
		if got := err.Error(); got != "because" {
			t.Errorf("RuleError{%v}.Error() = %q; want %q", kind, got, "because")
		}
		if !errors.Is(err, kind) {
			t.Errorf("errors.Is(RuleError{%v}, %v) = false; want true", kind, kind)
		}
		wrapped := fmt.Errorf("append article %s: %w", articleID, err)
		if !errors.Is(wrapped, kind) {
			t.Errorf("errors.Is(wrapped RuleError{%v}, %v) = false; want true", kind, kind)
		}
		var re *domain.RuleError
		if !errors.As(wrapped, &re) || re.Reason != "because" {
			t.Errorf("errors.As(wrapped RuleError{%v}) = %v; want the RuleError", kind, re)
		}
	}
}

// TestSentinelsDiffer checks that no sentinel is another: the HTTP layer maps each to a status.
func TestSentinelsDiffer(t *testing.T) {
	sentinels := []error{
		domain.ErrNotFound, domain.ErrAlreadyExists, domain.ErrForbidden, domain.ErrInvalidTransition,
		domain.ErrSelfApproval, domain.ErrSlugTaken, domain.ErrUnknownRole,
	}
	for i, a := range sentinels {
		for j, b := range sentinels {
			if got := errors.Is(a, b); got != (i == j) {
				t.Errorf("errors.Is(%v, %v) = %v; want %v", a, b, got, i == j)
			}
		}
	}
}

func TestValidationErrorMessage(t *testing.T) {
	tests := []struct {
		fields []domain.FieldError
		want   string
	}{
		{
			[]domain.FieldError{{Field: "headline", Detail: "is required"}},
			"invalid article: headline: is required",
		},
		{
			[]domain.FieldError{{Field: "headline", Detail: "is required"}, {Field: "tags", Detail: "a tag is empty"}},
			"invalid article: headline: is required; tags: a tag is empty",
		},
	}
	for _, tt := range tests {
		err := &domain.ValidationError{Fields: tt.fields}
		if got := err.Error(); got != tt.want {
			t.Errorf("ValidationError%v.Error() = %q; want %q", tt.fields, got, tt.want)
		}
	}
	// As Decide returns it.
	_, err := draft(domain.Content{Headline: " ", Language: "e"})
	want := `invalid article: headline: is required; language: "e" is not a BCP 47 language tag (for example en, fr, pt-BR)`
	if err == nil || err.Error() != want {
		t.Errorf("Decide(draft blank headline, language e) = %v; want %q", err, want)
	}
}
