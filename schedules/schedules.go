// Package schedules publishes articles, and lifts embargoes, at the time an editor set, with
// JetStream's own message schedules (ADR-51, nats-server 2.12 and later) instead of a timer of
// newsroom's own. It has three parts:
//
//   - The writer reads the log (durable schedule-writer on NEWSROOM) and keeps one schedule
//     message per article and kind on NEWSROOM_SCHEDULES: set from article.scheduled (and from
//     a publication under embargo, or a moved embargo), replaced by a cancellation when the
//     schedule no longer applies (unscheduled, revised, spiked; lifted, retracted, killed). It
//     acknowledges a batch of events only once their messages are written, so a crash between
//     the two writes them again.
//   - At its time the server copies a schedule message to its due subject. The trigger (durable
//     schedule-trigger on the due subjects, one pinned instance) gives the domain's trigger
//     command through the editorial desk: the same decide-and-append path as any command, so a
//     trigger that no longer applies records nothing, and a trigger that comes twice publishes
//     once (the append expects the article's last sequence; the domain refuses a second
//     publication).
//   - At every start the reconciliation takes every article the desk view shows as scheduled
//     or under embargo, reads it from the log, and restores its schedule message if it is
//     missing (the schedules stream was lost or replaced, say).
//
// Schedule messages carry ids, times and log positions, never text.
package schedules

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
)

// Permanent names. Renaming any of them orphans the schedules stored under the old one (the
// reconciliation at start writes them again from the log) or the durables' positions.
const (
	// StreamName holds the schedules and their due triggers. Never the log's own stream:
	// allowing schedules on a stream forces roll-ups and purges on it for good.
	StreamName = "NEWSROOM_SCHEDULES"
	// SubjectPrefix + <kind>.<article id> holds an article's schedule of that kind (one message:
	// a new one replaces it); SubjectPrefix + due.<kind>.<article id> receives it at its time.
	SubjectPrefix = "newsroom.schedules."
	// WriterDurable reads the log on NEWSROOM and writes the schedules.
	WriterDurable = "schedule-writer"
	// TriggerDurable reads the due triggers on NEWSROOM_SCHEDULES.
	TriggerDurable = "schedule-trigger"
)

const (
	subjectAll = SubjectPrefix + ">"
	dueAll     = SubjectPrefix + "due.>"
	duePrefix  = SubjectPrefix + "due."
)

// Kind is what a schedule does at its time. Kinds are parts of subjects: permanent.
type Kind string

const (
	// Publish publishes a scheduled article (domain.PublishOnSchedule).
	Publish Kind = "publish"
	// Lift lifts an article's embargo at its end (domain.LiftEmbargoOnSchedule).
	Lift Kind = "lift"
)

// ScheduleSubject is the subject of article id's schedule of kind k.
func ScheduleSubject(k Kind, id string) string { return SubjectPrefix + string(k) + "." + id }

// DueSubject is where the server publishes article id's schedule of kind k at its time.
func DueSubject(k Kind, id string) string { return duePrefix + string(k) + "." + id }

// StreamConfig is the configuration of the schedules stream, replicated like the log.
func StreamConfig(replicas int) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        StreamName,
		Description: "newsroom schedules: when to publish an article or lift its embargo (ids and times only)",
		Subjects:    []string{subjectAll},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Replicas:    replicas,
		// A schedule, or its cancellation, replaces the one before it on its subject by a
		// roll-up; the server also purges a schedule once it has fired.
		AllowMsgSchedules: true,
		AllowRollup:       true,
	}
}

// Headers of schedule messages (permanent: stored messages are read back by them).
const (
	// sourceSeqHeader is the log sequence of the event (or, for the reconciliation, of the
	// article's last event) a schedule message reflects: its fence against older writes.
	sourceSeqHeader = events.SourceSeqHeader
	// cancelledHeader marks a cancellation: the message that replaces a schedule that no longer
	// applies, so that an older write cannot bring it back.
	cancelledHeader = "Newsroom-Schedule-Cancelled"
)

// payload is the body of a schedule message, which the server copies to its due message.
type payload struct {
	At time.Time `json:"at"`
	// Cause is the id of the event that set the schedule: the trigger's causation id.
	Cause string `json:"cause,omitempty"`
}

// scheduleMsg is the schedule of kind k for article id at at, set by event cause, reflecting
// the log up to sequence src.
func scheduleMsg(k Kind, id string, at time.Time, cause string, src uint64) (*nats.Msg, error) {
	data, err := json.Marshal(payload{At: at, Cause: cause})
	if err != nil {
		return nil, err
	}
	msg := nats.NewMsg(ScheduleSubject(k, id))
	msg.Data = data
	// Set by hand: nats.go's WithScheduleAt drops the fraction of a second, and a trigger that
	// comes early only waits again. The server reads RFC 3339 with a fraction.
	msg.Header.Set(jetstream.ScheduleHeader, "@at "+at.UTC().Format(time.RFC3339Nano))
	msg.Header.Set(jetstream.ScheduleTargetHeader, DueSubject(k, id))
	msg.Header.Set(sourceSeqHeader, strconv.FormatUint(src, 10))
	return msg, nil
}

// cancellation replaces article id's schedule of kind k, reflecting the log up to src.
func cancellation(k Kind, id string, src uint64) *nats.Msg {
	msg := nats.NewMsg(ScheduleSubject(k, id))
	msg.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
	msg.Header.Set(cancelledHeader, "true")
	msg.Header.Set(sourceSeqHeader, strconv.FormatUint(src, 10))
	return msg
}

// stored is a schedule message (or cancellation, or due trigger) as the stream holds it.
type stored struct {
	seq       uint64 // its stream sequence on NEWSROOM_SCHEDULES
	src       uint64 // the log sequence it reflects
	cancelled bool
	at        time.Time
}

func storedOf(m *jetstream.RawStreamMsg) (stored, error) {
	s := stored{seq: m.Sequence, cancelled: m.Header.Get(cancelledHeader) != ""}
	if v := m.Header.Get(sourceSeqHeader); v != "" {
		src, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return stored{}, fmt.Errorf("schedule message %d: %s %q", m.Sequence, sourceSeqHeader, v)
		}
		s.src = src
	}
	if s.cancelled {
		return s, nil
	}
	var p payload
	if err := json.Unmarshal(m.Data, &p); err != nil {
		return stored{}, fmt.Errorf("schedule message %d: %w", m.Sequence, err)
	}
	s.at = p.At
	return s, nil
}

// Due is a schedule that has come due: the server published it on its due subject.
type Due struct {
	Kind      Kind
	ArticleID string
	At        time.Time
	Cause     string // the id of the event that set it; may be empty
}

// dueOf reads a due trigger from its subject and body.
func dueOf(subject string, data []byte) (Due, error) {
	kind, id, ok := strings.Cut(strings.TrimPrefix(subject, duePrefix), ".")
	if !strings.HasPrefix(subject, duePrefix) || !ok || (Kind(kind) != Publish && Kind(kind) != Lift) {
		return Due{}, fmt.Errorf("not a due subject: %q", subject)
	}
	var p payload
	if err := json.Unmarshal(data, &p); err != nil || p.At.IsZero() {
		return Due{}, fmt.Errorf("due trigger on %s: no time in %q", subject, data)
	}
	return Due{Kind: Kind(kind), ArticleID: id, At: p.At, Cause: p.Cause}, nil
}

// Command is the trigger the domain decides for d.
func (d Due) Command() domain.Command {
	if d.Kind == Lift {
		return domain.LiftEmbargoOnSchedule{Until: d.At}
	}
	return domain.PublishOnSchedule{PublishAt: d.At}
}

// effect is what an event does to one of its article's schedules: set it to at, or cancel it
// (at zero).
type effect struct {
	kind Kind
	at   time.Time
}

// effectsOf lists what event e does to its article's schedules. Some cancellations may find
// nothing to cancel (a revision of an article that was not scheduled).
func effectsOf(e domain.Event) []effect {
	cancel := func(k Kind) effect { return effect{kind: k} }
	switch e := e.(type) {
	case domain.Scheduled:
		return []effect{{kind: Publish, at: e.PublishAt}}
	case domain.Unscheduled, domain.Revised, domain.Spiked:
		return []effect{cancel(Publish)}
	case domain.Published:
		// A scheduled publication's schedule has fired (the server purged it); a publication
		// by hand comes from approved, where no schedule is left.
		if !e.EmbargoUntil.IsZero() {
			return []effect{{kind: Lift, at: e.EmbargoUntil}}
		}
	case domain.EmbargoMoved:
		return []effect{{kind: Lift, at: e.EmbargoUntil}}
	case domain.EmbargoLifted:
		return []effect{cancel(Lift)} // early, or on schedule: either way nothing is left to lift
	case domain.Retracted:
		if e.Embargoed {
			return []effect{cancel(Lift)}
		}
	case domain.Killed:
		if e.Embargoed {
			return []effect{cancel(Lift)}
		}
	}
	return nil
}

// affects lists the event types effectsOf may act on: the writer decodes no other.
var affects = map[string]bool{
	domain.TypeScheduled: true, domain.TypeUnscheduled: true, domain.TypeRevised: true, domain.TypeSpiked: true,
	domain.TypePublished: true, domain.TypeEmbargoMoved: true, domain.TypeEmbargoLifted: true,
	domain.TypeRetracted: true, domain.TypeKilled: true,
}

// wanted is the schedule of kind k article a needs now, as the log has it (zero: none).
func wanted(a domain.Article, k Kind) time.Time {
	switch {
	case k == Publish && a.Status == domain.StatusScheduled:
		return a.PublishAt
	case k == Lift && a.Status == domain.StatusPublished && a.Embargoed():
		return a.EmbargoUntil
	}
	return time.Time{}
}
