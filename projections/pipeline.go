package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/events"
)

// publicPipeline writes public messages to NEWSROOM_PUBLIC with many in flight and reads their
// acknowledgements in order.
//
// Order without waiting: only the pinned outbox writes the public stream, so the sequence each
// message will get is known before it is sent. Each carries Nats-Expected-Last-Sequence = the
// stream's last sequence + its place in the pipeline, and its event id as Nats-Msg-Id. If one
// fails (refused, lost, timed out), every later one fails its expectation too, whatever the
// order the server sees them in: the stream only ever gains a prefix of the pipeline, in order,
// never a hole or a swap. A message that was stored although its ack was lost is a longer
// prefix, not a duplicate. After any failure the pipeline stops, reads where the stream really
// stopped (resync) and the outbox resumes from there: nothing is published twice, nothing is
// skipped. Another instance that still believes itself pinned for a moment is fenced the same
// way: its expectations fail as soon as one of the two writes.
type publicPipeline struct {
	js     jetstream.JetStream // with an async window of `window` and an ack timeout
	feed   outboxFeed
	public jetstream.Stream
	window int
	// created is when the stream was created, as the server says (see outboxFeed.sparse).
	created time.Time

	// Where the public stream stands, as far as this pipeline knows: its last sequence (what
	// the next message expects; it does not move back when the newest message is erased) and
	// the source sequence of the newest message the outbox wrote.
	lastSeq    uint64
	lastSource uint64
}

// pipelineAckTimeout bounds the wait for one publish's acknowledgement. A lost one stops the
// pipeline, which then resyncs: waiting longer gains nothing.
const pipelineAckTimeout = 5 * time.Second

// outgoing is one public message and the event it was made from.
type outgoing struct {
	msg     *nats.Msg
	id      string // the event id, the message's Nats-Msg-Id
	source  uint64 // the event's sequence in NEWSROOM
	kill    bool   // a kill: its article's text is erased (again) once this message is written
	article string
}

func newPublicPipeline(nc *nats.Conn, window int, feed outboxFeed) (*publicPipeline, error) {
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(window),
		jetstream.WithPublishAsyncTimeout(pipelineAckTimeout))
	if err != nil {
		return nil, err
	}
	return &publicPipeline{js: js, window: window, feed: feed}, nil
}

// resync reads where the public stream stopped: its last sequence, and the source sequence of
// the newest public message that exists. It creates the stream if it is missing.
func (p *publicPipeline) resync(ctx context.Context, replicas int) error {
	if p.public == nil {
		public, err := events.EnsureStream(ctx, p.js, p.feed.stream(replicas))
		if err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		p.public = public
	}
	info, err := p.public.Info(ctx)
	if err != nil {
		return fmt.Errorf("outbox: read the public stream: %w", err)
	}
	source, err := lastSourceSeq(ctx, p.public, p.feed.subjects)
	if err != nil {
		return err
	}
	p.lastSeq, p.lastSource, p.created = info.State.LastSeq, source, info.Created
	return nil
}

// publish writes out in order, up to window in flight, and returns how many it saw
// acknowledged in place. On an error the stream holds out[:n] and perhaps a few more (acks
// lost): the caller resyncs before it publishes again.
func (p *publicPipeline) publish(ctx context.Context, out []outgoing) (n int, err error) {
	inFlight := make([]jetstream.PubAckFuture, 0, p.window)
	// confirm reads the oldest acknowledgement in flight.
	confirm := func() error {
		f := inFlight[0]
		inFlight = inFlight[1:]
		select {
		case ack := <-f.Ok():
			if ack.Duplicate || ack.Sequence != p.lastSeq+1 {
				// Written before (a retry inside the dedupe window) or elsewhere: the stream
				// is not where this pipeline thought.
				return fmt.Errorf("outbox: public message for event %s landed at %d (duplicate %v); expected %d",
					out[n].id, ack.Sequence, ack.Duplicate, p.lastSeq+1)
			}
			p.lastSeq, p.lastSource = ack.Sequence, out[n].source
			n++
			return nil
		case err := <-f.Err():
			return fmt.Errorf("outbox: publish event %s: %w", out[n].id, err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer func() {
		if err != nil {
			p.settle(ctx, inFlight)
		}
	}()
	for _, o := range out {
		if len(inFlight) == p.window {
			if err := confirm(); err != nil {
				return n, err
			}
		}
		f, err := p.js.PublishMsgAsync(o.msg, jetstream.WithMsgID(o.id),
			jetstream.WithExpectLastSequence(p.lastSeq+uint64(len(inFlight))))
		if err != nil {
			return n, fmt.Errorf("outbox: publish event %s: %w", o.id, err)
		}
		inFlight = append(inFlight, f)
	}
	for len(inFlight) > 0 {
		if err := confirm(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// settle waits until the messages still in flight after a failure are answered (they fail
// their expectation, or land in order after the ones that did), so that the resync that
// follows sees where they ended. A message whose answer never comes can land later only in
// its place, which the next publish's expectation then notices.
func (p *publicPipeline) settle(ctx context.Context, inFlight []jetstream.PubAckFuture) {
	for _, f := range inFlight {
		select {
		case <-f.Ok():
		case <-f.Err():
		case <-ctx.Done():
			return
		}
	}
}

// isWrongLastSequence reports whether err is JetStream refusing a message whose expected last
// sequence was not the stream's: another writer, or an earlier message of the pipeline lost.
func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}
