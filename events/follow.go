package events

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/nats-io/nats.go/jetstream"
)

// PublicMessage is one message of the public stream as a reader gets it.
type PublicMessage struct {
	Seq     uint64 // its NEWSROOM_PUBLIC sequence
	Subject string
	Type    string // the CloudEvent type
	ID      string // the CloudEvent id
	Time    string
	Article string
	Data    []byte // the ninjs document
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
		header := func(name string) string {
			v := msg.Headers().Get(name)
			if decoded, err := url.PathUnescape(v); err == nil {
				return decoded
			}
			return v
		}
		if err := fn(PublicMessage{Seq: md.Sequence.Stream, Subject: msg.Subject(), Type: header("ce-type"),
			ID: header("ce-id"), Time: header("ce-time"), Article: header("ce-subject"), Data: msg.Data()}); err != nil {
			return err
		}
	}
}
