package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/events"
)

// tailLine is one public event as `newsroom tail` prints it.
type tailLine struct {
	Seq     uint64          `json:"seq"`
	Subject string          `json:"subject"`
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Source  string          `json:"source"`
	Time    string          `json:"time"`
	Article string          `json:"article"`
	Data    json.RawMessage `json:"data"`
}

func tailCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cfg          config
		since, count uint64
		newOnly      bool
		durable      string
		read         tailRead
	)
	f := newFlags("tail", stderr)
	f.fs.StringVar(&cfg.DataDir, "data-dir", "./data", "data directory of the serve whose embedded NATS to read (its nats.url)")
	f.string(&cfg.NATSURL, "nats-url", "", "NATS server with the public stream (default: <data-dir>/nats.url)")
	f.fs.Uint64Var(&since, "since", 0, "start at this sequence of the stream read (default: the first)")
	f.fs.BoolVar(&newOnly, "new", false, "only events published from now on")
	f.fs.StringVar(&durable, "durable", "", "a durable consumer name: resume where the last tail with this name stopped")
	f.fs.Uint64Var(&count, "count", 0, "stop after this many events (default: run until interrupted)")
	f.fs.BoolVar(&read.embargoed, "embargoed", false, "read NEWSROOM_EMBARGOED, what trusted partners get of articles under embargo, instead of NEWSROOM_PUBLIC (as a partner's NATS user, with --inbox-prefix)")
	f.fs.StringVar(&read.article, "article", "", "only the events of the article with this id")
	f.fs.StringVar(&read.inboxPrefix, "inbox-prefix", "", "ask for NATS replies under this prefix instead of _INBOX (a partner user: _INBOX_<user>, see deploy/nats/auth.conf)")
	if err := f.parse(args); err != nil {
		return err
	}
	if since > 0 && newOnly {
		return errors.New("tail: give --since or --new, not both")
	}
	natsURL := cfg.NATSURL
	if natsURL == "" {
		var err error
		if natsURL, err = readURLFile(cfg.DataDir, natsURLFile); err != nil {
			return fmt.Errorf("tail: no --nats-url, and no running serve's %s in %s (%v)", natsURLFile, cfg.DataDir, err)
		}
	}
	opts := []nats.Option{nats.Name("newsroom tail")}
	if read.inboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(read.inboxPrefix))
	}
	nc, err := nats.Connect(natsURL, opts...)
	if err != nil {
		return fmt.Errorf("tail: connect to %s: %w", redactNATSURL(natsURL), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	next, stop, err := tailSource(ctx, js, read, durable, since, newOnly)
	if err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	defer stop()
	enc := json.NewEncoder(stdout)
	for n := uint64(0); count == 0 || n < count; n++ {
		m, printed, err := next()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("tail: %w", err)
		}
		if err := enc.Encode(tailLine{Seq: m.Seq, Subject: m.Subject, ID: m.ID, Type: m.Type, Source: m.Source,
			Time: m.Time, Article: m.Article, Data: json.RawMessage(strings.TrimSpace(string(m.Data)))}); err != nil {
			return err
		}
		if err := printed(); err != nil {
			return fmt.Errorf("tail: ack: %w", err)
		}
	}
	return nil
}

// tailRead is which stream tail reads, and which of its messages.
type tailRead struct {
	embargoed   bool
	article     string
	inboxPrefix string
}

// stream is the stream read and the subjects of the messages wanted.
func (r tailRead) stream() (name, subjects string) {
	name, prefix := events.PublicStreamName, events.PublicSubjectPrefix
	if r.embargoed {
		name, prefix = events.EmbargoedStreamName, events.EmbargoedSubjectPrefix
	}
	if r.article != "" {
		return name, prefix + "*." + r.article
	}
	return name, prefix + ">"
}

// tailNext returns the next message, and what to call once it is printed.
type tailNext func() (m events.PublicMessage, printed func() error, err error)

// tailSource returns what tail reads from, and how to stop: without --durable, a follower
// whose consumer is deleted when tail exits (and, after a crash, soon by the server), so that
// tails never pile up on the stream's consumer cap; with --durable, that durable consumer,
// which stays, as asked, each message acknowledged once printed.
func tailSource(ctx context.Context, js jetstream.JetStream, read tailRead, durable string, since uint64, newOnly bool) (next tailNext, stop func(), err error) {
	stream, subjects := read.stream()
	if durable == "" {
		after := uint64(0)
		if since > 0 {
			after = since - 1
		}
		f, err := events.Follow(ctx, js, stream, subjects, after, newOnly)
		if err != nil {
			return nil, nil, err
		}
		stopOnCancel := context.AfterFunc(ctx, f.Stop) // ends a waiting Next at ^C
		next = func() (events.PublicMessage, func() error, error) {
			m, err := f.Next()
			return m, func() error { return nil }, err
		}
		return next, func() { stopOnCancel(); f.Stop() }, nil
	}
	deliver, start := jetstream.DeliverAllPolicy, uint64(0)
	switch {
	case newOnly:
		deliver = jetstream.DeliverNewPolicy
	case since > 0:
		deliver, start = jetstream.DeliverByStartSequencePolicy, since
	}
	consumer, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable: durable, Description: "newsroom tail", AckPolicy: jetstream.AckExplicitPolicy,
		DeliverPolicy: deliver, OptStartSeq: start, FilterSubject: subjects,
	})
	if err != nil {
		return nil, nil, err
	}
	next = func() (events.PublicMessage, func() error, error) {
		for {
			// One message at a time, pulled when wanted: a durable tail that stops leaves
			// nothing delivered and unacknowledged behind it.
			msg, err := consumer.Next(jetstream.FetchMaxWait(2 * time.Second))
			if ctx.Err() != nil {
				return events.PublicMessage{}, nil, ctx.Err()
			}
			if errors.Is(err, jetstream.ErrNoMessages) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
				continue
			}
			if err != nil {
				return events.PublicMessage{}, nil, err
			}
			md, err := msg.Metadata()
			if err != nil {
				return events.PublicMessage{}, nil, err
			}
			return events.PublicMessageOf(md.Sequence.Stream, msg.Subject(), msg.Headers(), msg.Data()),
				func() error { return msg.DoubleAck(ctx) }, nil
		}
	}
	return next, func() {}, nil
}
