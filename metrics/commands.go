package metrics

import (
	"errors"
	"reflect"
	"strings"
	"unicode"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/editorial"
	"github.com/newsroom/newsroom/events"
)

// Outcomes of a command, the values of newsroom_commands_total's outcome label.
const (
	OutcomeOK       = "ok"
	OutcomeRefused  = "refused"
	OutcomeConflict = "conflict"
	OutcomeError    = "error"
)

// CommandDone counts a command by type and outcome; it is an editorial.Observer.
func (m *Metrics) CommandDone(cmd domain.Command, err error) {
	m.commands.WithLabelValues(CommandLabel(cmd), Outcome(err)).Inc()
}

// CommandLabel names a command by its type, in snake case (domain.RequestChanges:
// "request_changes"): a finite set, whatever the command carries, and commands added later are
// named without a change here.
func CommandLabel(cmd domain.Command) string {
	if cmd == nil {
		return "unknown"
	}
	t := reflect.TypeOf(cmd)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return snakeCase(t.Name())
}

func snakeCase(name string) string {
	var b strings.Builder
	for i, r := range name {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Outcome classifies what editorial.Desk.Execute returned.
func Outcome(err error) string {
	var (
		rule    *domain.RuleError
		invalid *domain.ValidationError
	)
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, events.ErrConflict), errors.Is(err, editorial.ErrVersionMismatch):
		return OutcomeConflict
	case errors.As(err, &rule), errors.As(err, &invalid), isDomainRefusal(err):
		return OutcomeRefused
	}
	return OutcomeError
}

// isDomainRefusal reports the domain's sentinels returned bare (an article id that names no
// article is refused before any rule runs).
func isDomainRefusal(err error) bool {
	for _, kind := range []error{domain.ErrNotFound, domain.ErrAlreadyExists, domain.ErrForbidden,
		domain.ErrInvalidTransition, domain.ErrSelfApproval, domain.ErrSlugTaken} {
		if errors.Is(err, kind) {
			return true
		}
	}
	return false
}
