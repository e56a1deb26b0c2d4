package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
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
	)
	f := newFlags("tail", stderr)
	f.fs.StringVar(&cfg.DataDir, "data-dir", "./data", "data directory of the serve whose embedded NATS to read (its nats.url)")
	f.string(&cfg.NATSURL, "nats-url", "", "NATS server with the public stream (default: <data-dir>/nats.url)")
	f.fs.Uint64Var(&since, "since", 0, "start at this NEWSROOM_PUBLIC sequence (default: the first)")
	f.fs.BoolVar(&newOnly, "new", false, "only events published from now on")
	f.fs.StringVar(&durable, "durable", "", "a durable consumer name: resume where the last tail with this name stopped")
	f.fs.Uint64Var(&count, "count", 0, "stop after this many events (default: run until interrupted)")
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
	nc, err := nats.Connect(natsURL, nats.Name("newsroom tail"))
	if err != nil {
		return fmt.Errorf("tail: connect to %s: %w", redactNATSURL(natsURL), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	deliver, start := jetstream.DeliverAllPolicy, uint64(0)
	switch {
	case newOnly:
		deliver = jetstream.DeliverNewPolicy
	case since > 0:
		deliver, start = jetstream.DeliverByStartSequencePolicy, since
	}
	var consumer jetstream.Consumer
	if durable != "" {
		consumer, err = js.CreateOrUpdateConsumer(ctx, events.PublicStreamName, jetstream.ConsumerConfig{
			Durable: durable, Description: "newsroom tail", AckPolicy: jetstream.AckExplicitPolicy,
			DeliverPolicy: deliver, OptStartSeq: start, FilterSubject: events.PublicSubjectAll,
		})
	} else {
		consumer, err = js.OrderedConsumer(ctx, events.PublicStreamName, jetstream.OrderedConsumerConfig{
			DeliverPolicy: deliver, OptStartSeq: start, FilterSubjects: []string{events.PublicSubjectAll},
		})
	}
	if err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	enc := json.NewEncoder(stdout)
	for n := uint64(0); count == 0 || n < count; {
		// One message at a time, pulled when wanted: a durable tail that stops leaves nothing
		// delivered and unacknowledged behind it.
		msg, err := consumer.Next(jetstream.FetchMaxWait(2 * time.Second))
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, jetstream.ErrNoMessages) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			continue
		}
		if err != nil {
			return fmt.Errorf("tail: %w", err)
		}
		n++
		md, err := msg.Metadata()
		if err != nil {
			return err
		}
		h := func(name string) string {
			v, err := url.PathUnescape(msg.Headers().Get(name))
			if err != nil {
				return msg.Headers().Get(name)
			}
			return v
		}
		if err := enc.Encode(tailLine{Seq: md.Sequence.Stream, Subject: msg.Subject(), ID: h("ce-id"),
			Type: h("ce-type"), Source: h("ce-source"), Time: h("ce-time"), Article: h("ce-subject"),
			Data: json.RawMessage(strings.TrimSpace(string(msg.Data())))}); err != nil {
			return err
		}
		if durable != "" {
			if err := msg.DoubleAck(ctx); err != nil {
				return fmt.Errorf("tail: ack: %w", err)
			}
		}
	}
	return nil
}
