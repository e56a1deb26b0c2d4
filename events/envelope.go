// Package events is the event log: the envelope that carries a domain event, its codec and type
// registry, and the JetStream store that appends with optimistic concurrency and reads back.
package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/newsroom/newsroom/domain"
)

// Envelope is one event as the log holds it, serialised as JSON in the message body. Its field
// names are permanent: every replay reads them back.
type Envelope struct {
	ID             string          `json:"id"` // also the Nats-Msg-Id: a retried append is deduplicated
	Type           string          `json:"type"`
	SchemaVersion  int             `json:"schema_version"`
	ArticleID      string          `json:"article_id"`
	ArticleVersion int             `json:"article_version"`
	Time           time.Time       `json:"time"`
	Actor          Actor           `json:"actor"`
	CorrelationID  string          `json:"correlation_id,omitempty"` // the HTTP request id
	CausationID    string          `json:"causation_id,omitempty"`
	Data           json.RawMessage `json:"data"`

	// Sequence is the event's stream sequence, known once it is in the log. It is not part of
	// the stored body.
	Sequence uint64 `json:"-"`

	// decoded is the payload once decoded, shared by every copy of an envelope read from the
	// log: every view fed the same batch asks for it, and decoding it once per view was the
	// largest cost of a replay after SQL.
	decoded *decodedEvent
}

type decodedEvent struct {
	once     sync.Once
	recorded domain.Recorded
	err      error
}

// Actor is who caused an event: an opaque user id and a role, never a person's name.
type Actor struct {
	ID   string `json:"id"`
	Role string `json:"role"`
}

// Trace ties an event to the request that caused it.
type Trace struct {
	CorrelationID string
	CausationID   string
}

// NewEnvelope wraps event e, the version'th event of article articleID, with a fresh event id.
func NewEnvelope(articleID string, version int, e domain.Event, by domain.Actor, at time.Time, trace Trace) (Envelope, error) {
	kind, ok := registry[e.EventType()]
	if !ok {
		return Envelope{}, fmt.Errorf("encode event: unregistered type %q", e.EventType())
	}
	data, err := json.Marshal(e)
	if err != nil {
		return Envelope{}, fmt.Errorf("encode %s: %w", e.EventType(), err)
	}
	id, err := uuid.NewV7() // time-ordered, which keeps ids readable in logs
	if err != nil {
		return Envelope{}, fmt.Errorf("new event id: %w", err)
	}
	return Envelope{
		ID:             id.String(),
		Type:           e.EventType(),
		SchemaVersion:  kind.current,
		ArticleID:      articleID,
		ArticleVersion: version,
		Time:           at.UTC(),
		Actor:          Actor{ID: by.ID, Role: string(by.Role)},
		CorrelationID:  trace.CorrelationID,
		CausationID:    trace.CausationID,
		Data:           data,
	}, nil
}

// Recorded decodes the envelope's payload, upcast to the current schema, into the form
// domain.Evolve takes. It fails on an unknown type or a payload that does not decode.
// The envelopes Unmarshal returns decode once, however often and from however many goroutines
// they are asked: callers must not change what the event holds (its slices are shared).
func (e Envelope) Recorded() (domain.Recorded, error) {
	if e.decoded == nil {
		return e.decode()
	}
	d := e.decoded
	d.once.Do(func() { d.recorded, d.err = e.decode() })
	return d.recorded, d.err
}

func (e Envelope) decode() (domain.Recorded, error) {
	ev, err := decodeEvent(e.Type, e.SchemaVersion, e.Data)
	if err != nil {
		return domain.Recorded{}, fmt.Errorf("event %s (seq %d): %w", e.ID, e.Sequence, err)
	}
	return domain.Recorded{
		Event:   ev,
		Version: e.ArticleVersion,
		By:      domain.Actor{ID: e.Actor.ID, Role: domain.Role(e.Actor.Role)},
		At:      e.Time,
	}, nil
}

// Marshal returns the envelope's stored form. HTML is not escaped: "<" stays one byte, not six,
// so that an article within the domain's limits always fits in a NATS message.
func (e Envelope) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Unmarshal reads an envelope from its stored form and checks the fields every reader relies on.
func Unmarshal(body []byte, seq uint64) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(body, &e); err != nil {
		return Envelope{}, fmt.Errorf("decode envelope at seq %d: %w", seq, err)
	}
	switch {
	case e.ID == "":
		return Envelope{}, fmt.Errorf("decode envelope at seq %d: no event id", seq)
	case e.ArticleID == "":
		return Envelope{}, fmt.Errorf("decode envelope at seq %d: no article id", seq)
	case e.ArticleVersion < 1:
		return Envelope{}, fmt.Errorf("decode envelope at seq %d: article version %d", seq, e.ArticleVersion)
	case e.Type == "":
		return Envelope{}, fmt.Errorf("decode envelope at seq %d: no type", seq)
	}
	e.Sequence = seq
	e.decoded = new(decodedEvent)
	return e, nil
}
