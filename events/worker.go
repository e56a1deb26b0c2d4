package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ActiveGroup is the priority group every durable worker pulls in, with the pinned-client
// policy (nats-server 2.11 and later): whatever the number of instances, the server pins one
// puller of a durable and hands its messages to that one alone; the others' pulls wait. When
// the pinned instance stops pulling for the pin's TTL (it died, or lost NATS), the server pins
// the next puller; an instance that stops cleanly unpins itself, and the next one takes over at
// once.
//
// Chosen over a lease in a KV bucket: the pin is enforced where messages are handed out, so a
// standby cannot receive one at all, while a lease is only advice to its holder, which may
// outlive it (a long GC pause, a partition) and keep pulling. The pin decides who does the
// work; what makes a handover safe is each owner's own fence (a view's SQL checkpoint moved by
// compare-and-set, the outbox's source sequence on the public stream, a webhook's cursor).
//
// The group is part of the durables' configuration: renaming it updates them in place at the
// next start, and instances of older releases are refused by the server until replaced.
const ActiveGroup = "active"

// DefaultPinnedTTL is how long a silent active instance keeps a durable before another takes it
// over. A worker pulls at least every second while idle, and while it handles a batch its
// pull is still outstanding or renewed within a second of the batch's end; a handler that
// takes longer than this hands the pin over, which is harmless (the fences hold) but churns.
const DefaultPinnedTTL = 10 * time.Second

// progressEvery is how often a worker tells the server that the messages it holds are in hand
// while a handler works on them, so that a slow handler (a retried webhook, a database stall)
// does not see them redelivered after the consumer's AckWait.
const progressEvery = time.Second

// ErrStopWorker, returned by a handler, stops the worker without repositioning its durable: the
// messages it held are handed to whichever instance pulls next (the newer release of a view,
// say). Run returns it.
var ErrStopWorker = errors.New("stop the worker")

// Worker pulls one durable consumer in batches, in stream order, as the active member of its
// priority group, and hands each batch to a handler. It is the one JetStream worker of the
// read side: the views' reader, the public outbox and the webhooks each run one.
//
// Messages reach the handler as soon as one is there, together with those that arrived with it
// (up to MaxBatch): a quiet log is handled event by event with no added wait, a busy one in
// batches. A message at or below the last sequence handed out is a redelivery and is dropped.
//
// When the handler succeeds, the batch is acknowledged: with the consumer's AckAll policy one
// acknowledgement covers the whole batch. When it fails, nothing is acknowledged; the worker
// waits (a backoff that grows with consecutive failures), asks Resume where the owner's own
// record says it stopped, and moves the durable to just after it, so that the next batch starts
// exactly there, in order, however many messages were in flight.
type Worker struct {
	JS     jetstream.JetStream
	Stream string
	// Consumer is the durable's configuration, with its name in Durable; the worker creates the
	// durable if it is missing, and sets its priority group, pin TTL and AckWait in place.
	Consumer jetstream.ConsumerConfig
	// MaxBatch bounds the messages handed to the handler at once (and pulled at once).
	MaxBatch int
	// Resume returns the last stream sequence the owner has handled for good (0 for none). The
	// durable is created, and moved back after a failure, to deliver from just after it; a
	// durable found ahead of it (its owner's record was dropped or restored from a backup) is
	// moved back too. An error wrapping ErrStopWorker (the owner is gone) stops the worker.
	Resume func(ctx context.Context) (uint64, error)
	Logger *slog.Logger
	// Unordered marks a durable whose messages do not depend on one another (the scheduler's
	// triggers), so that one may wait while the others go on. Each batch is settled on its
	// own: acknowledged message by message when the handler succeeds, and handed back to be
	// delivered again when it fails (after Backoff) or returns a *Later (after its delay):
	// never dropped, and redeliveries are handed out again. The durable's acknowledgements are
	// the owner's record: Resume says only where a missing durable is created, and the durable
	// is never moved back. It needs AckExplicit, and MaxAckPending above 1 so that a message
	// handed back for later does not hold up the others.
	Unordered bool
}

// Later, returned by the handler of an Unordered worker, hands its batch back to be delivered
// again After this long: not a failure (a trigger that came before its time, say).
type Later struct{ After time.Duration }

func (l *Later) Error() string { return fmt.Sprintf("hand back for %s", l.After) }

// Handler handles a batch of messages, oldest first. Returning nil acknowledges them all.
type Handler func(ctx context.Context, batch []jetstream.Msg) error

// Ensure creates the worker's durable if it is missing, positioned after Resume, and brings an
// existing one to the worker's priority group, pin TTL and AckWait; a durable ahead of Resume
// is repositioned. Run calls it; call it directly to prepare the durable before running.
func (w *Worker) Ensure(ctx context.Context) error {
	after, err := w.Resume(ctx)
	if err != nil {
		return err
	}
	stream, err := w.JS.Stream(ctx, w.Stream)
	if err != nil {
		return fmt.Errorf("%s: stream %s: %w", w.Consumer.Durable, w.Stream, unavailable(err))
	}
	c, err := stream.Consumer(ctx, w.Consumer.Durable)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		return w.create(ctx, stream, after)
	case err != nil:
		return fmt.Errorf("%s: %w", w.Consumer.Durable, unavailable(err))
	}
	info := c.CachedInfo()
	if w.Unordered {
		// Its acknowledgements are its record, so it is never ahead of it: never moved back.
		after = info.AckFloor.Stream
	}
	if info.AckFloor.Stream > after {
		// The owner may have moved on between the two reads: look again before calling it behind.
		if after, err = w.Resume(ctx); err != nil {
			return err
		}
	}
	if info.AckFloor.Stream > after || info.Config.AckPolicy != w.config(0).AckPolicy {
		w.logger().Warn("durable consumer is ahead of its owner's record, or of another kind: repositioning it",
			"durable", w.Consumer.Durable, "resume_after", after, "ack_floor", info.AckFloor.Stream)
		return w.reposition(ctx, stream, after)
	}
	want := w.config(0)
	have := info.Config
	if have.PriorityPolicy == want.PriorityPolicy && slices.Equal(have.PriorityGroups, want.PriorityGroups) &&
		have.PinnedTTL == want.PinnedTTL && have.AckWait == want.AckWait && have.MaxAckPending == want.MaxAckPending &&
		sameFilter(have, want) {
		return nil
	}
	have.PriorityPolicy, have.PriorityGroups, have.PinnedTTL = want.PriorityPolicy, want.PriorityGroups, want.PinnedTTL
	have.AckWait, have.MaxAckPending = want.AckWait, want.MaxAckPending
	// A release that reads more of the log (the images' subjects) widens its durable's filter;
	// what it did not see before is read by the views that need it from their own checkpoints.
	have.FilterSubject, have.FilterSubjects = want.FilterSubject, want.FilterSubjects
	if _, err := stream.UpdateConsumer(ctx, have); err != nil {
		return fmt.Errorf("%s: update to the pinned priority group: %w", w.Consumer.Durable, unavailable(err))
	}
	return nil
}

// Acknowledged returns the durable's acknowledgement floor: the stream sequence up to which
// every message was handled, by whichever instance holds the durable. Errors: ErrUnavailable
// when NATS does not answer; jetstream.ErrConsumerNotFound when the durable does not exist (yet,
// or any more).
func (w *Worker) Acknowledged(ctx context.Context) (uint64, error) {
	c, err := w.JS.Consumer(ctx, w.Stream, w.Consumer.Durable)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", w.Consumer.Durable, unavailable(err))
	}
	return c.CachedInfo().AckFloor.Stream, nil
}

// config is the durable's configuration, delivering from after+1.
func (w *Worker) config(after uint64) jetstream.ConsumerConfig {
	cfg := w.Consumer
	cfg.PriorityPolicy, cfg.PriorityGroups = jetstream.PriorityPolicyPinned, []string{ActiveGroup}
	if cfg.PinnedTTL <= 0 {
		cfg.PinnedTTL = DefaultPinnedTTL
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.MaxDeliver == 0 {
		cfg.MaxDeliver = -1
	}
	cfg.ReplayPolicy = jetstream.ReplayInstantPolicy
	cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverAllPolicy, 0
	if after > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, after+1
	}
	return cfg
}

// create creates the durable after sequence after. Instances starting together may race to
// create it: one that appeared meanwhile is kept, its position coming from the same record.
func (w *Worker) create(ctx context.Context, stream jetstream.Stream, after uint64) error {
	_, err := stream.CreateConsumer(ctx, w.config(after))
	if err == nil {
		return nil
	}
	if _, lookErr := stream.Consumer(ctx, w.Consumer.Durable); lookErr == nil {
		return nil
	}
	return fmt.Errorf("create consumer %s: %w", w.Consumer.Durable, unavailable(err))
}

// reposition moves the durable to deliver from after+1: it is deleted and created again (a
// consumer's start cannot be updated, and resetting it needs nats-server 2.14), which also
// drops whatever it had delivered and not yet seen acknowledged.
func (w *Worker) reposition(ctx context.Context, stream jetstream.Stream, after uint64) error {
	if err := stream.DeleteConsumer(ctx, w.Consumer.Durable); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("reposition consumer %s: %w", w.Consumer.Durable, unavailable(err))
	}
	return w.create(ctx, stream, after)
}

// Run pulls and hands out batches until ctx ends or the handler returns ErrStopWorker. NATS
// being away is waited out; a failing handler is retried from its Resume position. On return
// the worker gives up its pin, so that a standby instance takes over at once.
func (w *Worker) Run(ctx context.Context, handle Handler) error {
	log := w.logger().With("durable", w.Consumer.Durable)
	var pin pinned
	defer pin.release(w)
	failures := 0
	backoff := func() bool {
		failures++
		select {
		case <-ctx.Done():
			return false
		case <-time.After(Backoff(failures)):
			return true
		}
	}
	for ctx.Err() == nil {
		if err := w.Ensure(ctx); errors.Is(err, ErrStopWorker) {
			return err
		} else if err != nil {
			log.Warn("durable worker: prepare the consumer", "error", err)
			if !backoff() {
				break
			}
			continue
		}
		err := w.pull(ctx, handle, &pin, &failures)
		switch {
		case errors.Is(err, ErrStopWorker):
			return err
		case err != nil && ctx.Err() == nil:
			log.Warn("durable worker: handling failed; resuming from the owner's record", "error", err, "failures", failures)
			if !backoff() {
				break
			}
			stream, serr := w.JS.Stream(ctx, w.Stream)
			if serr == nil {
				var after uint64
				if after, serr = w.Resume(ctx); serr == nil {
					serr = w.reposition(ctx, stream, after)
				}
			}
			if serr != nil {
				log.Warn("durable worker: reposition", "error", serr)
			}
		}
	}
	return ctx.Err()
}

// pull runs fetches on the durable until the handler fails or ctx ends. It returns the
// handler's error, or nil when the consumer must be prepared again (it vanished).
func (w *Worker) pull(ctx context.Context, handle Handler, pin *pinned, failures *int) error {
	consumer, err := w.JS.Consumer(ctx, w.Stream, w.Consumer.Durable)
	if err != nil {
		return nil
	}
	maxBatch := max(w.MaxBatch, 1)
	var last uint64 // the last stream sequence handed out: anything at or below is a redelivery
	for ctx.Err() == nil {
		fetch, err := consumer.Fetch(maxBatch, jetstream.FetchMaxWait(time.Second), jetstream.FetchPriorityGroup(ActiveGroup))
		if err != nil {
			if isGone(err) {
				return nil
			}
			w.pause(ctx)
			continue
		}
		msgs := fetch.Messages()
		batch := make([]jetstream.Msg, 0, maxBatch)
		for {
			// Block for one message, then take whatever came with it.
			msg, ok := <-msgs
			if !ok {
				break
			}
			batch = takeReady(msgs, append(batch[:0], msg), maxBatch)
			fresh := batch[:0]
			for _, m := range batch {
				md, err := m.Metadata()
				if w.Unordered && err == nil {
					fresh = append(fresh, m) // a message handed back comes again, and is handled again
					pin.saw(m)
					continue
				}
				if err != nil || md.Sequence.Stream <= last {
					_ = m.Ack() // a redelivery of what is handled, or no metadata to order it by
					continue
				}
				last = md.Sequence.Stream
				fresh = append(fresh, m)
				pin.saw(m)
			}
			if len(fresh) == 0 {
				continue
			}
			err := w.handle(ctx, handle, fresh)
			if err != nil && w.Unordered && ctx.Err() == nil && !errors.Is(err, ErrStopWorker) {
				w.handBack(fresh, err, failures)
				continue
			}
			if err != nil {
				// Drain what this fetch still delivers: it is not handed out, and the durable
				// is moved back to the owner's record before the next pull.
				go func() {
					for range msgs {
					}
				}()
				return err
			}
			*failures = 0
		}
		err = fetch.Error()
		switch {
		case err == nil, errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		case errors.Is(err, jetstream.ErrPinIDMismatch):
			// Another instance holds the pin now (this one was silent for the pin's TTL, or the
			// consumer's leader moved): nats.go forgot our pin id, and the next pull waits as a
			// standby.
			w.logger().Info("durable worker: another instance took over", "durable", w.Consumer.Durable)
		case isGone(err):
			return nil
		default:
			if ctx.Err() == nil {
				w.logger().Warn("durable worker: fetch", "durable", w.Consumer.Durable, "error", err)
				w.pause(ctx)
			}
		}
	}
	return nil
}

// handBack hands an Unordered worker's batch back to the server, to be delivered again after
// the delay a *Later asks for, or after a backoff that grows with consecutive failures.
func (w *Worker) handBack(batch []jetstream.Msg, err error, failures *int) {
	var later *Later
	delay := time.Duration(0)
	if errors.As(err, &later) {
		delay = max(later.After, 0)
	} else {
		*failures++
		delay = Backoff(*failures)
		w.logger().Warn("durable worker: handling failed; handed back for a retry", "durable", w.Consumer.Durable,
			"error", err, "failures", *failures, "retry_in", delay)
	}
	for _, m := range batch {
		// A hand-back that is lost only delays the message until the consumer's AckWait.
		_ = m.NakWithDelay(delay)
	}
}

// takeReady appends to batch the messages msgs holds ready, without waiting, up to max in all.
func takeReady(msgs <-chan jetstream.Msg, batch []jetstream.Msg, max int) []jetstream.Msg {
	for len(batch) < max {
		select {
		case msg, ok := <-msgs:
			if !ok {
				return batch
			}
			batch = append(batch, msg)
		default:
			return batch
		}
	}
	return batch
}

// handle runs handle on batch, telling the server every progressEvery that the batch is in
// hand, then acknowledges it.
func (w *Worker) handle(ctx context.Context, handle Handler, batch []jetstream.Msg) error {
	done := make(chan error, 1)
	go func() { done <- handle(ctx, batch) }()
	progress := time.NewTicker(progressEvery)
	defer progress.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				if ctx.Err() != nil {
					// Stopping: hand the batch back at once, so that the instance that takes
					// over need not wait for AckWait.
					for _, m := range batch {
						_ = m.Nak()
					}
				}
				return err
			}
			w.ack(ctx, batch)
			return nil
		case <-progress.C:
			for _, m := range batch {
				_ = m.InProgress()
			}
		}
	}
}

// ack acknowledges a handled batch: the last message alone under AckAll, each otherwise (the
// last one waiting for the server's answer). It retries while NATS is away (a node stopped, a
// leader being elected) and gives up after a while: the owner's record has moved, so the
// redelivery that follows is dropped as already handled.
func (w *Worker) ack(ctx context.Context, batch []jetstream.Msg) {
	if w.Consumer.AckPolicy != jetstream.AckAllPolicy {
		for _, m := range batch[:len(batch)-1] {
			_ = m.Ack()
		}
	}
	last := batch[len(batch)-1]
	deadline := time.Now().Add(30 * time.Second)
	for {
		actx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := last.DoubleAck(actx) // a repeated ack of an acked message is answered too
		cancel()
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			if err != nil {
				w.logger().Warn("durable worker: ack", "durable", w.Consumer.Durable, "error", err)
			}
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (w *Worker) pause(ctx context.Context) {
	select { // the server or the connection is away: do not spin
	case <-ctx.Done():
	case <-time.After(time.Second):
	}
}

func (w *Worker) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.Default()
	}
	return w.Logger
}

// isGone reports whether err says the durable no longer exists.
func isGone(err error) bool {
	return errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrConsumerDeleted)
}

// Backoff is how long to wait after the n-th consecutive failure (n ≥ 1): a second, doubling
// up to a minute, so that an outage is not a hot loop.
func Backoff(n int) time.Duration { return BackoffUpTo(n, time.Minute) }

// BackoffUpTo is Backoff capped at limit (at most a minute).
func BackoffUpTo(n int, limit time.Duration) time.Duration {
	return min(time.Second<<min(max(n-1, 0), 6), limit)
}

// pinned remembers the pin id the server gave this worker, to give the pin up at the end.
type pinned struct{ id string }

// pinHeader carries the id of the pinned client on every message a pinned-client consumer
// delivers.
const pinHeader = "Nats-Pin-Id"

func (p *pinned) saw(m jetstream.Msg) {
	if id := m.Headers().Get(pinHeader); id != "" {
		p.id = id
	}
}

// release asks the server to unpin this worker if it is still the pinned one, so that a
// standby is handed the next message at once. Unpinning another instance would only make it
// re-pin, so the pin id is compared first; a failure leaves the pin to expire after its TTL.
func (p *pinned) release(w *Worker) {
	if p.id == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	stream, err := w.JS.Stream(ctx, w.Stream)
	if err != nil {
		return
	}
	c, err := stream.Consumer(ctx, w.Consumer.Durable)
	if err != nil {
		return
	}
	for _, g := range c.CachedInfo().PriorityGroups {
		if g.Group == ActiveGroup && g.PinnedClientID == p.id {
			if err := stream.UnpinConsumer(ctx, w.Consumer.Durable, ActiveGroup); err != nil {
				w.logger().Info("durable worker: unpin at stop (the pin expires by itself)", "durable", w.Consumer.Durable, "error", err)
			}
		}
	}
}

// sameFilter reports whether two consumer configurations filter the same subjects.
func sameFilter(a, b jetstream.ConsumerConfig) bool {
	fa, fb := a.FilterSubjects, b.FilterSubjects
	if a.FilterSubject != "" {
		fa = []string{a.FilterSubject}
	}
	if b.FilterSubject != "" {
		fb = []string{b.FilterSubject}
	}
	return slices.Equal(fa, fb)
}
