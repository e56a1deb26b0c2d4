package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

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

// followInactiveThreshold is how long the server keeps a follower's consumer once its client
// is gone without deleting it (a crash): the default, 5 minutes, let abandoned readers fill
// the stream's 1,000-consumer cap. A live follower always has a pull waiting, which keeps it.
const followInactiveThreshold = 10 * time.Second

// PublicFollower reads the public stream in order, through reconnects, with one ordered
// consumer that leaves nothing on the server: Stop deletes it, and a crash leaves it for
// followInactiveThreshold only.
type PublicFollower struct {
	js       jetstream.JetStream
	stream   string
	consumer jetstream.Consumer
	it       jetstream.MessagesContext
	stopOnce sync.Once
}

// FollowPublic starts following the public stream after sequence after; with fromNow, only
// what is published from now on. It returns ErrUnavailable when NATS does not answer.
func FollowPublic(ctx context.Context, js jetstream.JetStream, after uint64, fromNow bool) (*PublicFollower, error) {
	return Follow(ctx, js, PublicStreamName, PublicSubjectAll, after, fromNow)
}

// Follow is FollowPublic on stream, NEWSROOM_PUBLIC or NEWSROOM_EMBARGOED (the messages are
// alike), on its messages whose subject matches subjects (one article's, say).
func Follow(ctx context.Context, js jetstream.JetStream, stream, subjects string, after uint64, fromNow bool) (*PublicFollower, error) {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subjects},
		InactiveThreshold: followInactiveThreshold}
	switch {
	case fromNow:
		cfg.DeliverPolicy = jetstream.DeliverNewPolicy
	case after > 0:
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, after+1
	}
	consumer, err := js.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("follow %s: %w", stream, unavailable(err))
	}
	it, err := consumer.Messages()
	if err != nil {
		return nil, fmt.Errorf("follow %s: %w", stream, unavailable(err))
	}
	return &PublicFollower{js: js, stream: stream, consumer: consumer, it: it}, nil
}

// Next waits for the next message. After Stop it returns jetstream.ErrMsgIteratorClosed.
func (f *PublicFollower) Next() (PublicMessage, error) {
	msg, err := f.it.Next()
	if err != nil {
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			return PublicMessage{}, err
		}
		return PublicMessage{}, fmt.Errorf("follow public stream: %w", unavailable(err))
	}
	md, err := msg.Metadata()
	if err != nil {
		return PublicMessage{}, fmt.Errorf("follow public stream: %w", err)
	}
	return PublicMessageOf(md.Sequence.Stream, msg.Subject(), msg.Headers(), msg.Data()), nil
}

// Stop ends Next and deletes the consumer from the server. It may be called more than once,
// from any goroutine.
func (f *PublicFollower) Stop() {
	f.stopOnce.Do(func() {
		f.it.Stop()
		// The ordered consumer recreates itself under new names (after a reconnect); the
		// current one is the only one left: it deletes the ones it replaces.
		if info := f.consumer.CachedInfo(); info != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = f.js.DeleteConsumer(ctx, f.stream, info.Name)
		}
	})
}
