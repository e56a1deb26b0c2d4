package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/newsroom/newsroom/events"
)

// Each view is a Watermill handler on a router of its own, and the reader hands it a whole
// batch as one message. Why a batch per message rather than feeding the router event by event:
// a view applies a batch in one SQL transaction with one compare-and-set of its checkpoint
// (that is what makes the read side fast), so the unit of work, of retry and of
// acknowledgement is the batch; one message per event would either cost a transaction each
// again or need the handler to regroup what the reader had grouped. The events travel decoded,
// in the message's context: the reader decodes each event once for every view, and nothing
// leaves the process. The router still brings what it is for: a panic in a view becomes a
// failed batch (Recoverer), transient failures are retried in place, in order (Retry), and
// the handler's answer is the message's ack or nack.

// batchKey is the context key of the decoded batch a feed message carries.
type batchKey struct{}

// feed is one view's Watermill router and the in-process subscriber the reader sends to.
type feed struct {
	router *message.Router
	in     chan *message.Message
	closed chan struct{}
	once   sync.Once
}

var _ message.Subscriber = (*feed)(nil)

// Subscribe implements message.Subscriber: the router's handler reads what the reader sends.
func (f *feed) Subscribe(ctx context.Context, _ string) (<-chan *message.Message, error) {
	out := make(chan *message.Message)
	go func() {
		defer close(out)
		for {
			select {
			case msg := <-f.in:
				select {
				case out <- msg:
				case <-f.closed:
					msg.Nack()
					return
				}
			case <-f.closed:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// Close implements message.Subscriber.
func (f *feed) Close() error {
	f.once.Do(func() { close(f.closed) })
	return nil
}

// errFeedClosed: the view's router is stopping; the batch was not applied.
var errFeedClosed = errors.New("view feed closed")

// send hands batch to the view; wait waits for its answer: nil once the view committed it (or
// had it already), the view's error otherwise.
func (f *feed) send(ctx context.Context, batch []events.Envelope, result *error) *message.Message {
	first, last := batch[0].Sequence, batch[len(batch)-1].Sequence
	msg := message.NewMessage(watermill.NewUUID(), []byte(strconv.FormatUint(first, 10)+"-"+strconv.FormatUint(last, 10)))
	// A batch handed out is finished even if the reader is stopping meanwhile (each attempt is
	// bounded by applyTimeout): rolled back half-way, it would only be read and applied again.
	msg.SetContext(context.WithValue(context.WithoutCancel(ctx), batchKey{}, feedBatch{events: batch, result: result}))
	select {
	case f.in <- msg:
	case <-f.closed:
		*result = errFeedClosed
		return nil
	case <-ctx.Done():
		*result = ctx.Err()
		return nil
	}
	return msg
}

// feedBatch is what a feed message carries: the events, and where the handler leaves its error
// (a nack says only that the batch failed; the reader needs to know why).
type feedBatch struct {
	events []events.Envelope
	result *error
}

// wait waits for the view's answer to msg.
func (f *feed) wait(msg *message.Message, result *error) error {
	if msg == nil {
		return *result
	}
	select {
	case <-msg.Acked():
		return nil
	case <-msg.Nacked():
		if *result == nil {
			return errors.New("the view's handler failed")
		}
		return *result
	}
}

// startFeed runs apply as view name's Watermill handler. Transient failures (a busy database,
// a dropped connection) are retried in place, keeping the order; past that the batch fails and
// the reader detaches the view.
func startFeed(ctx context.Context, log *slog.Logger, name string, apply func(context.Context, []events.Envelope) error) (*feed, error) {
	f := &feed{in: make(chan *message.Message), closed: make(chan struct{})}
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 15 * time.Second}, watermillLogger(log))
	if err != nil {
		return nil, err
	}
	// The outermost middleware records the final answer for the reader, a recovered panic
	// included: a nack alone would not say why.
	router.AddMiddleware(recordResult, middleware.Recoverer, middleware.Retry{MaxRetries: 2, InitialInterval: 100 * time.Millisecond,
		MaxInterval: time.Second, Multiplier: 4, Logger: watermillLogger(log),
		// These will fail again at once: the reader deals with them.
		ShouldRetry: func(p middleware.RetryParams) bool {
			return !errors.Is(p.Err, ErrSuperseded) && !errors.Is(p.Err, ErrOlderTables) && !errors.Is(p.Err, errBehind) &&
				!errors.Is(p.Err, ErrGap)
		},
	}.Middleware)
	router.AddConsumerHandler(name, events.SubjectAll, f, func(msg *message.Message) error {
		b, ok := msg.Context().Value(batchKey{}).(feedBatch)
		if !ok {
			return fmt.Errorf("view %s: a feed message without a batch", name)
		}
		return apply(msg.Context(), b.events)
	})
	ran := make(chan error, 1)
	go func() {
		err := router.Run(ctx)
		ran <- err
		if err != nil && ctx.Err() == nil {
			log.Error("view handler stopped", "error", err)
		}
	}()
	select {
	case <-router.Running():
		f.router = router
		return f, nil
	case err := <-ran:
		// A router that never ran must not be closed: it would wait for its handler forever.
		return nil, fmt.Errorf("start view %s: %w", name, err)
	}
}

// watermillLogger hands Watermill's logging to log, its INFO chatter (each handler added,
// started, stopped: some forty lines a start) at DEBUG; its errors stay errors.
func watermillLogger(log *slog.Logger) watermill.LoggerAdapter {
	return watermill.NewSlogLoggerWithLevelMapping(log.With("from", "watermill"), map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
}

// recordResult leaves the handler's final error where the reader reads it.
func recordResult(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		if b, ok := msg.Context().Value(batchKey{}).(feedBatch); ok {
			*b.result = err
		}
		return out, err
	}
}

// stop lets the batch in hand finish, then stops the router.
func (f *feed) stop() error {
	_ = f.Close()
	return f.router.Close()
}
