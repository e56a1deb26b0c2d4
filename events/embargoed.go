package events

import (
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
)

// Permanent names of the embargoed stream, what trusted subscribers (partners, trusted
// webhooks) read beside the public one: articles published under embargo, before the embargo
// ends. Renaming any of them breaks every partner. deploy/nats/auth.conf names them too: the
// subscriber user may not read them, partner users may.
const (
	EmbargoedStreamName    = "NEWSROOM_EMBARGOED"
	EmbargoedSubjectPrefix = "newsroom.embargoed.article."
	EmbargoedSubjectAll    = EmbargoedSubjectPrefix + ">"
)

// Actions of the embargoed stream besides those of the public one (published, corrected,
// retracted, killed, each about an article under embargo). Permanent, as the public ones.
const (
	// ActionEmbargoMoved: the embargo ends at another time (ninjs embargoed says when).
	ActionEmbargoMoved = "embargo_moved"
	// ActionEmbargoLifted: the embargo ended and the article is public (NEWSROOM_PUBLIC has it
	// as published): the partners' copy is no longer embargoed.
	ActionEmbargoLifted = "embargo_lifted"
)

// EmbargoedSubject is the subject of one message of the embargoed stream.
func EmbargoedSubject(action, articleID string) string {
	return EmbargoedSubjectPrefix + action + "." + articleID
}

// EmbargoedIDSuffix ends the CloudEvent id of every message of the embargoed stream: the lift
// of an embargo makes a message on each stream from one event, and a trusted webhook, which
// receives both, must not take the second for a redelivery of the first (Standard Webhooks
// receivers deduplicate on webhook-id).
const EmbargoedIDSuffix = ":embargoed"

// EmbargoedStreamConfig is the configuration of the embargoed stream: as the public stream's.
func EmbargoedStreamConfig(replicas int) jetstream.StreamConfig {
	cfg := PublicStreamConfig(replicas)
	cfg.Name = EmbargoedStreamName
	cfg.Description = "newsroom embargoed events: what trusted subscribers may see before an embargo ends, as CloudEvents with IPTC ninjs bodies"
	cfg.Subjects = []string{EmbargoedSubjectAll}
	return cfg
}

// EmbargoedActionOf says which message of the embargoed stream an internal event makes, if
// any: every event trusted subscribers alone may learn of (domain.AudienceOf), and the lift,
// which ends their embargo.
func EmbargoedActionOf(e domain.Event) (string, bool) {
	if _, lifted := e.(domain.EmbargoLifted); lifted {
		return ActionEmbargoLifted, true
	}
	if domain.AudienceOf(e) != domain.Embargoed {
		return "", false
	}
	switch e.(type) {
	case domain.Published:
		return ActionPublished, true
	case domain.Corrected:
		return ActionCorrected, true
	case domain.Retracted:
		return ActionRetracted, true
	case domain.Killed:
		return ActionKilled, true
	case domain.EmbargoMoved:
		return ActionEmbargoMoved, true
	}
	return "", false
}
