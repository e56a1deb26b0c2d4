package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// PublicMessage is one message of the public stream as a reader gets it.
type PublicMessage struct {
	Seq     uint64 // its NEWSROOM_PUBLIC sequence
	Subject string
	Type    string // the CloudEvent type
	ID      string // the CloudEvent id
	Source  string // the CloudEvent source
	Time    string
	Article string
	Data    []byte // the ninjs document
}

// PublicMessageOf reads a public stream message: its CloudEvent attributes come from the
// percent-encoded ce-* headers of the NATS binary mode.
func PublicMessageOf(seq uint64, subject string, h nats.Header, data []byte) PublicMessage {
	header := func(name string) string {
		v := h.Get(name)
		if decoded, err := url.PathUnescape(v); err == nil {
			return decoded
		}
		return v
	}
	return PublicMessage{Seq: seq, Subject: subject, Type: header("ce-type"), ID: header("ce-id"),
		Source: header("ce-source"), Time: header("ce-time"), Article: header("ce-subject"), Data: data}
}

// StructuredJSON is the message as a CloudEvent in structured mode (the JSON event format,
// media type application/cloudevents+json): its attributes and, as data, the ninjs document.
func (m PublicMessage) StructuredJSON() ([]byte, error) {
	return json.Marshal(struct {
		SpecVersion     string          `json:"specversion"`
		ID              string          `json:"id"`
		Source          string          `json:"source"`
		Type            string          `json:"type"`
		Time            string          `json:"time,omitempty"`
		Subject         string          `json:"subject,omitempty"`
		DataContentType string          `json:"datacontenttype"`
		Data            json.RawMessage `json:"data"`
	}{"1.0", m.ID, m.Source, m.Type, m.Time, m.Article, "application/json", m.Data})
}

// PublicReader reads the public stream.
type PublicReader struct {
	js jetstream.JetStream
}

// NewPublicReader returns a reader of the public stream through js.
func NewPublicReader(js jetstream.JetStream) *PublicReader { return &PublicReader{js: js} }

// Follow calls fn with every public message after sequence after (0 and fromNow: only those
// published from now on), in order, until ctx ends or fn fails. It uses an ordered consumer:
// nothing is left on the server when the reader goes.
func (r *PublicReader) Follow(ctx context.Context, after uint64, fromNow bool, fn func(PublicMessage) error) error {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{PublicSubjectAll}}
	switch {
	case after > 0:
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, after+1
	case fromNow:
		cfg.DeliverPolicy = jetstream.DeliverNewPolicy
	}
	consumer, err := r.js.OrderedConsumer(ctx, PublicStreamName, cfg)
	if err != nil {
		return fmt.Errorf("follow public stream: %w", unavailable(err))
	}
	it, err := consumer.Messages()
	if err != nil {
		return fmt.Errorf("follow public stream: %w", unavailable(err))
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return ctx.Err()
			}
			return fmt.Errorf("follow public stream: %w", unavailable(err))
		}
		md, err := msg.Metadata()
		if err != nil {
			return err
		}
		if err := fn(PublicMessageOf(md.Sequence.Stream, msg.Subject(), msg.Headers(), msg.Data())); err != nil {
			return err
		}
	}
}
