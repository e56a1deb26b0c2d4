package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// MaxBatchBytes bounds the stored size of the events of one ReadLog batch, and of the messages
// it keeps fetched ahead: with batchSize, it bounds a read's memory whatever the events' sizes
// and the log's length.
const MaxBatchBytes = 8 << 20

// ReadLog reads the log in order from stream sequence from (1 for the start) up to and
// including until (or the log's last event, if that is older), and calls fn with batches of at
// most batchSize envelopes and about MaxBatchBytes of stored events (a batch ends with the event
// that passes it). It uses an ordered consumer: no durable state on the server, and flow
// control for large reads. An error from fn stops the read and is returned.
func (s *Store) ReadLog(ctx context.Context, from, until uint64, batchSize int, fn func([]Envelope) error) error {
	if from == 0 {
		from = 1
	}
	last, err := s.LastSequence(ctx)
	if err != nil {
		return err
	}
	until = min(until, last)
	if until < from {
		return nil
	}
	consumer, err := s.js.OrderedConsumer(ctx, StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: LogSubjects,
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    from,
	})
	if err != nil {
		return fmt.Errorf("read log from %d: %w", from, unavailable(err))
	}
	it, err := consumer.Messages(jetstream.PullMaxMessagesWithBytesLimit(max(2*batchSize, 256), MaxBatchBytes))
	if err != nil {
		return fmt.Errorf("read log from %d: %w", from, unavailable(err))
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()

	batch, batchBytes := make([]Envelope, 0, min(batchSize, 4096)), 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := fn(batch)
		// fn may keep the slice it was given.
		batch, batchBytes = make([]Envelope, 0, min(batchSize, 4096)), 0
		return err
	}
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read log: %w", unavailable(err))
		}
		md, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("read log: %w", err)
		}
		seq := md.Sequence.Stream
		if seq > until {
			return flush()
		}
		env, err := Unmarshal(msg.Data(), seq)
		if err != nil {
			return err
		}
		batch, batchBytes = append(batch, env), batchBytes+len(msg.Data())
		// Done at until, or when nothing is left (until itself may have been deleted).
		if seq >= until || md.NumPending == 0 {
			return flush()
		}
		if len(batch) == batchSize || batchBytes >= MaxBatchBytes {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// ReadRange returns the events from stream sequence from up to and including until, at most
// limit of them, as the log holds them now (erased events are not there). It is for short
// reads that happen often (a live view catching up): see readOnce.
func (s *Store) ReadRange(ctx context.Context, from, until uint64, limit int) ([]Envelope, error) {
	if from == 0 {
		from = 1
	}
	if until < from || limit <= 0 {
		return nil, nil
	}
	want := int(min(uint64(limit), until-from+1))
	out := make([]Envelope, 0, want)
	err := readOnce(ctx, s.stream, LogSubjects, from, want, func(msg jetstream.Msg, seq uint64) error {
		if seq > until {
			return nil
		}
		env, err := Unmarshal(msg.Data(), seq)
		if err != nil {
			return err
		}
		out = append(out, env)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read log from %d: %w", from, err)
	}
	return out, nil
}

// readOnce calls fn with at most n messages on subject from stream sequence from on, as the
// stream holds them now, with their stream sequences. One ephemeral consumer, one pull that
// does not wait for more than is there, and the consumer is deleted at once, where an ordered
// consumer would linger on the server for minutes, woken by every message: short reads that
// happen often (a view catching up, a reader resuming) leave nothing behind.
func readOnce(ctx context.Context, stream jetstream.Stream, subjects []string, from uint64, n int, fn func(msg jetstream.Msg, seq uint64) error) error {
	consumer, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{
		FilterSubjects:    subjects,
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       from,
		AckPolicy:         jetstream.AckNonePolicy,
		MemoryStorage:     true,
		InactiveThreshold: 30 * time.Second, // in case the delete below is lost
	})
	if err != nil {
		return unavailable(err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = stream.DeleteConsumer(dctx, consumer.CachedInfo().Name)
	}()
	batch, err := consumer.FetchNoWait(n)
	if err != nil {
		return unavailable(err)
	}
	for msg := range batch.Messages() {
		md, err := msg.Metadata()
		if err != nil {
			return err
		}
		if err := fn(msg, md.Sequence.Stream); err != nil {
			return err
		}
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
		return unavailable(err)
	}
	return nil
}
