package domain_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/newsroom/newsroom/domain"
)

func TestParseRole(t *testing.T) {
	tests := []struct {
		in      string
		want    domain.Role
		wantErr error
	}{
		{"reporter", domain.RoleReporter, nil},
		{"editor", domain.RoleEditor, nil},
		{"admin", domain.RoleAdmin, nil},
		{"", "", domain.ErrUnknownRole},
		{"Editor", "", domain.ErrUnknownRole},
		{"ADMIN", "", domain.ErrUnknownRole},
		{" editor", "", domain.ErrUnknownRole},
		{"editor ", "", domain.ErrUnknownRole},
		{"anonymous", "", domain.ErrUnknownRole},
		{"root", "", domain.ErrUnknownRole},
		{"editors", "", domain.ErrUnknownRole},
	}
	for _, tt := range tests {
		got, err := domain.ParseRole(tt.in)
		if got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
			t.Errorf("ParseRole(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestRoleAtLeast(t *testing.T) {
	const (
		reporter = domain.RoleReporter
		editor   = domain.RoleEditor
		admin    = domain.RoleAdmin
		none     = domain.Role("")
		unknown  = domain.Role("root")
	)
	tests := []struct {
		r, min domain.Role
		want   bool
	}{
		{reporter, reporter, true},
		{reporter, editor, false},
		{reporter, admin, false},
		{editor, reporter, true},
		{editor, editor, true},
		{editor, admin, false},
		{admin, reporter, true},
		{admin, editor, true},
		{admin, admin, true},
		// No role, or one nobody knows, may do nothing, whatever is asked.
		{none, reporter, false},
		{none, editor, false},
		{none, admin, false},
		{none, none, false},
		{unknown, reporter, false},
		{unknown, none, false},
		{unknown, unknown, false},
		{domain.Role("Admin"), reporter, false},
	}
	for _, tt := range tests {
		if got := tt.r.AtLeast(tt.min); got != tt.want {
			t.Errorf("Role(%q).AtLeast(%q) = %v; want %v", tt.r, tt.min, got, tt.want)
		}
	}
}

func TestStatusValid(t *testing.T) {
	tests := []struct {
		s    domain.Status
		want bool
	}{
		{domain.StatusDraft, true},
		{domain.StatusInReview, true},
		{domain.StatusApproved, true},
		{domain.StatusPublished, true},
		{domain.StatusChangesRequested, true},
		{domain.StatusRetracted, true},
		{domain.StatusSpiked, true},
		{domain.StatusKilled, true},
		{domain.StatusNone, false},
		{"Draft", false},
		{"in-review", false},
		{"changes-requested", false},
		{"Retracted", false},
		{"spiked ", false},
		{"Killed", false},
		{"kill", false},
		{"deleted", false},
	}
	for _, tt := range tests {
		if got := tt.s.Valid(); got != tt.want {
			t.Errorf("Status(%q).Valid() = %v; want %v", tt.s, got, tt.want)
		}
	}
}

// TestStatusNames pins the stored names: renaming one means migrating or replaying history.
func TestStatusNames(t *testing.T) {
	tests := []struct {
		s    domain.Status
		want string
	}{
		{domain.StatusNone, ""},
		{domain.StatusDraft, "draft"},
		{domain.StatusInReview, "in_review"},
		{domain.StatusApproved, "approved"},
		{domain.StatusPublished, "published"},
		{domain.StatusChangesRequested, "changes_requested"},
		{domain.StatusRetracted, "retracted"},
		{domain.StatusSpiked, "spiked"},
		{domain.StatusKilled, "killed"},
	}
	for _, tt := range tests {
		if got := string(tt.s); got != tt.want {
			t.Errorf("string(%#v) = %q; want %q", tt.s, got, tt.want)
		}
	}
}

// TestStatuses pins the list of statuses and its workflow order, which views show to editors.
func TestStatuses(t *testing.T) {
	want := []domain.Status{
		domain.StatusDraft, domain.StatusChangesRequested, domain.StatusInReview, domain.StatusApproved,
		domain.StatusScheduled, domain.StatusPublished, domain.StatusRetracted, domain.StatusSpiked, domain.StatusKilled,
	}
	if !slices.Equal(domain.Statuses, want) {
		t.Errorf("domain.Statuses = %q; want %q", domain.Statuses, want)
	}
	for _, s := range domain.Statuses {
		if !s.Valid() {
			t.Errorf("Status(%q).Valid() = false; want true for every status in domain.Statuses", s)
		}
	}
	if slices.Contains(domain.Statuses, domain.StatusNone) {
		t.Errorf("domain.Statuses = %q; want no StatusNone: an article that does not exist has no status", domain.Statuses)
	}
}

func TestArticleExists(t *testing.T) {
	tests := []struct {
		a    domain.Article
		want bool
	}{
		{domain.Article{}, false},
		{domain.Article{ID: articleID}, false},
		{domain.Article{ID: articleID, Content: domain.Content{Headline: "h"}}, false},
		{domain.Article{ID: articleID, Version: 1, Status: domain.StatusDraft}, true},
		{domain.Article{ID: articleID, Version: 9, Status: domain.StatusPublished}, true},
	}
	for _, tt := range tests {
		if got := tt.a.Exists(); got != tt.want {
			t.Errorf("Article{Version: %d}.Exists() = %v; want %v", tt.a.Version, got, tt.want)
		}
	}
}

func TestCommandName(t *testing.T) {
	tests := []struct {
		c    domain.Command
		want string
	}{
		{domain.Draft{}, "draft"},
		{domain.Revise{}, "revise"},
		{domain.Submit{}, "submit"},
		{domain.Approve{}, "approve"},
		{domain.Publish{Slug: natoSlug}, "publish"},
		{domain.RequestChanges{}, "request changes"},
		{domain.Correct{}, "correct"},
		{domain.Retract{}, "retract"},
		{domain.Spike{}, "spike"},
		{domain.Kill{Reason: natoKillReason}, "kill"},
		{nil, "do that"},
		{&domain.Approve{}, "do that"},
		{&domain.Spike{}, "do that"},
		{&domain.Kill{}, "do that"},
	}
	for _, tt := range tests {
		if got := domain.CommandName(tt.c); got != tt.want {
			t.Errorf("CommandName(%#v) = %q; want %q", tt.c, got, tt.want)
		}
	}
}
