package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/events"
)

// durableSubscriber is a Watermill subscriber on one existing durable JetStream consumer, one
// message at a time. It replaces watermill-nats' jetstream subscriber, whose shutdown closes
// its output channel while a send may be in flight (a data race, and a panic under load), whose
// Close drains the shared connection, and whose unmarshal errors dereference a nil message.
// Here the goroutine that sends is the one that closes, and a message in hand at shutdown is
// nacked so that the next consumer gets it at once rather than after AckWait.
//
// It pulls as a member of the durable's priority group (activeGroup): when several instances
// pull, the server pins one of them and hands the events to it alone; the others' pulls wait.
// On Close, an instance that holds the pin gives it up, so that another takes over at once
// rather than after the pin's TTL.
type durableSubscriber struct {
	js      jetstream.JetStream
	durable string
	log     *slog.Logger

	closing   chan struct{}
	closeOnce sync.Once
	done      sync.WaitGroup

	mu  sync.Mutex
	pin string // the pin id of the last event handed to this subscriber
}

var _ message.Subscriber = (*durableSubscriber)(nil)

func newDurableSubscriber(js jetstream.JetStream, durable string, log *slog.Logger) *durableSubscriber {
	return &durableSubscriber{js: js, durable: durable, log: log, closing: make(chan struct{})}
}

// Subscribe delivers the durable's messages; topic is ignored (the durable has its filter).
func (s *durableSubscriber) Subscribe(ctx context.Context, _ string) (<-chan *message.Message, error) {
	consumer, err := s.js.Consumer(ctx, events.StreamName, s.durable)
	if err != nil {
		return nil, err
	}
	out := make(chan *message.Message)
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		defer close(out)
		for {
			select {
			case <-s.closing:
				return
			case <-ctx.Done():
				return
			default:
			}
			// One message per pull: the server's AckWait starts when it sends a message, so
			// prefetching would start the clock before the handler sees it. A plain fetch loop
			// rather than nats.go's Messages iterator, which was seen to stall for its
			// heartbeat timeout (30 s) between two pulls under load.
			batch, err := consumer.Fetch(1, jetstream.FetchMaxWait(time.Second), jetstream.FetchPriorityGroup(activeGroup))
			if err == nil {
				for msg := range batch.Messages() {
					if !s.deliver(ctx, msg, out) {
						return
					}
				}
				err = batch.Error()
			}
			if errors.Is(err, jetstream.ErrPinIDMismatch) {
				// Another instance holds the pin now (this one was silent for the pin's TTL, or
				// the consumer's leader moved): nats.go forgot our pin id, and the next pull
				// waits as a standby.
				s.log.Info("view consumer: another instance took over", "durable", s.durable)
				continue
			}
			if err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
				s.log.Warn("view consumer: fetch", "durable", s.durable, "error", err)
				select { // the server or the connection is away: do not spin
				case <-s.closing:
					return
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
			}
		}
	}()
	return out, nil
}

// deliver hands one message to the handler and acknowledges it as the handler says. It
// returns false when the subscriber is closing.
func (s *durableSubscriber) deliver(ctx context.Context, msg jetstream.Msg, out chan<- *message.Message) bool {
	if pin := msg.Headers().Get(pinHeader); pin != "" {
		s.mu.Lock()
		s.pin = pin
		s.mu.Unlock()
	}
	wm := toWatermill(msg)
	wm.SetContext(ctx)
	select {
	case out <- wm:
	case <-s.closing:
		_ = msg.Nak()
		return false
	case <-ctx.Done():
		_ = msg.Nak()
		return false
	}
	// While the handler works, the server hears every progressEvery that the event is in
	// hand, so that it does not redeliver it after ackWait.
	progress := time.NewTicker(progressEvery)
	defer progress.Stop()
	var settled bool
wait:
	for {
		select {
		case <-wm.Acked():
			settled = true
			break wait
		case <-wm.Nacked():
			settled = true
			break wait
		case <-progress.C:
			_ = msg.InProgress()
		case <-s.closing:
			break wait
		case <-ctx.Done():
			break wait
		}
	}
	if !settled {
		// Shutting down with the handler still at work: give it a moment to finish.
		grace := time.After(10 * time.Second)
	finish:
		for {
			select {
			case <-wm.Acked():
				break finish
			case <-wm.Nacked():
				break finish
			case <-progress.C:
				_ = msg.InProgress()
			case <-grace:
				break finish
			}
		}
	}
	select {
	case <-wm.Acked():
		s.ack(msg)
	default:
		delay := time.Duration(0)
		if md, err := msg.Metadata(); err == nil && settled {
			delay = nakDelay(md.NumDelivered)
		}
		_ = msg.NakWithDelay(delay)
	}
	return settled
}

// ack acknowledges a handled event, and retries while NATS is away (a node stopped, the
// consumer's leader being elected): until the ack lands, MaxAckPending 1 holds every later
// event back until the server redelivers this one. It gives up when the subscriber closes or
// after a while; the event is applied and its checkpoint moved, so the redelivery that
// follows is a no-op.
func (s *durableSubscriber) ack(msg jetstream.Msg) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := msg.DoubleAck(ctx) // a repeated ack of an acked event is answered too
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.log.Warn("view consumer: ack", "durable", s.durable, "error", err)
			return
		}
		select {
		case <-s.closing:
			s.log.Warn("view consumer: ack at shutdown", "durable", s.durable, "error", err)
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Close stops delivering, waits until the message in hand is settled, and gives up the pin if
// this subscriber holds it.
func (s *durableSubscriber) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.done.Wait()
		s.unpin()
	})
	s.done.Wait()
	return nil
}

// unpin asks the server to unpin this subscriber, if it is the pinned one, so that a standby
// instance is handed the next event at once. Unpinning another instance would only make it
// re-pin, so the pin id is compared first; a failure leaves the pin to expire after its TTL.
func (s *durableSubscriber) unpin() {
	s.mu.Lock()
	pin := s.pin
	s.mu.Unlock()
	if pin == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	consumer, err := s.js.Consumer(ctx, events.StreamName, s.durable)
	if err != nil {
		return
	}
	for _, g := range consumer.CachedInfo().PriorityGroups {
		if g.Group == activeGroup && g.PinnedClientID == pin {
			stream, err := s.js.Stream(ctx, events.StreamName)
			if err == nil {
				err = stream.UnpinConsumer(ctx, s.durable, activeGroup)
			}
			if err != nil {
				s.log.Info("view consumer: unpin at close (the pin expires by itself)", "durable", s.durable, "error", err)
			}
		}
	}
}

const pinHeader = "Nats-Pin-Id"

// The outbox's durable is still pulled one event at a time, by durableSubscriber, until it
// moves onto events.Worker like the views' reader.
const activeGroup = events.ActiveGroup

// DefaultPinnedTTL is how long a silent active instance keeps a durable before another takes
// it over.
const DefaultPinnedTTL = events.DefaultPinnedTTL

// ackWait is how long the server waits for word about an event it delivered one by one before
// it redelivers it; progressEvery how often a handler at work says it is.
const (
	ackWait       = 5 * time.Second
	progressEvery = time.Second
)

// seqMetadata is the Watermill metadata key that carries an event's stream sequence,
// deliveredMetadata how many times the server has delivered it, and pendingMetadata how many
// events the consumer holds behind it.
const (
	seqMetadata       = "newsroom-stream-seq"
	deliveredMetadata = "newsroom-delivered"
	pendingMetadata   = "newsroom-pending"
)

// runHandler runs handler on sub under a Watermill router of its own, and returns once it
// runs. Transient failures are retried in place, keeping the order; past that, the event is
// nacked and the server redelivers it after a backoff.
func runHandler(ctx context.Context, log *slog.Logger, name string, sub message.Subscriber, handler message.NoPublishHandlerFunc) (*message.Router, error) {
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 15 * time.Second}, watermill.NewSlogLogger(log))
	if err != nil {
		return nil, err
	}
	router.AddMiddleware(middleware.Recoverer, middleware.Retry{MaxRetries: 5, InitialInterval: 100 * time.Millisecond,
		MaxInterval: 5 * time.Second, Multiplier: 2, Logger: watermill.NewSlogLogger(log)}.Middleware)
	router.AddConsumerHandler(name, events.SubjectAll, sub, handler)
	ran := make(chan error, 1)
	go func() {
		err := router.Run(ctx)
		ran <- err
		if err != nil && ctx.Err() == nil {
			log.Error("handler stopped", "handler", name, "error", err)
		}
	}()
	select {
	case <-router.Running():
		return router, nil
	case err := <-ran:
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
}

// transientWait bounds how long start-up waits out a JetStream that does not answer yet.
const transientWait = 30 * time.Second

// whileTransient runs fn until it succeeds, fails for good, or has not answered for
// transientWait. On a cluster, a consumer that another instance is creating, or whose leader
// is being elected, does not answer for a few seconds: not a reason to fail a start.
func whileTransient(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(transientWait)
	for {
		err := fn()
		if err == nil || !isTransient(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// isTransient reports whether err means JetStream did not answer (yet), as opposed to refusing.
func isTransient(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Code == 503
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, nats.ErrDisconnected)
}

// consumerConfig is the durable consumer of a view or the outbox: strictly ordered, one event
// in flight, redelivered forever (a view never skips an event), delivering from just after
// stream sequence after, to one pinned instance at a time (see activeGroup).
func consumerConfig(durable, description string, after uint64, pinnedTTL time.Duration) jetstream.ConsumerConfig {
	cfg := jetstream.ConsumerConfig{
		Durable:        durable,
		Description:    description,
		FilterSubject:  events.SubjectAll,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        ackWait,
		MaxAckPending:  1,
		MaxDeliver:     -1,
		ReplayPolicy:   jetstream.ReplayInstantPolicy,
		PriorityPolicy: jetstream.PriorityPolicyPinned,
		PriorityGroups: []string{activeGroup},
		PinnedTTL:      pinnedTTL,
	}
	if after > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = after + 1
	}
	return cfg
}

// createDurable creates a durable. Instances starting together may race to create it: if one
// with the same name appeared meanwhile, it is kept (made pinned if it is not): its position
// came from the same SQL checkpoint or public stream, give or take events that are no-ops.
func createDurable(ctx context.Context, stream jetstream.Stream, cfg jetstream.ConsumerConfig) error {
	_, err := stream.CreateConsumer(ctx, cfg)
	if err == nil {
		return nil
	}
	existing, lookErr := stream.Consumer(ctx, cfg.Durable)
	if lookErr != nil {
		return fmt.Errorf("create consumer %s: %w", cfg.Durable, err)
	}
	return upgradeDurable(ctx, stream, existing.CachedInfo().Config, cfg.PinnedTTL, nil)
}

// upgradeDurable puts an existing durable in the pinned priority group, in place: durables
// created by releases before the group existed, or with another PinnedTTL or AckWait. The server updates
// priority settings without touching the consumer's position or pending acks.
func upgradeDurable(ctx context.Context, stream jetstream.Stream, cfg jetstream.ConsumerConfig, pinnedTTL time.Duration, log *slog.Logger) error {
	if cfg.PriorityPolicy == jetstream.PriorityPolicyPinned && slices.Equal(cfg.PriorityGroups, []string{activeGroup}) &&
		cfg.PinnedTTL == pinnedTTL && cfg.AckWait == ackWait {
		return nil
	}
	if log != nil {
		log.Info("durable consumer: one active instance at a time (pinned priority group)", "durable", cfg.Durable)
	}
	cfg.PriorityPolicy, cfg.PriorityGroups, cfg.PinnedTTL = jetstream.PriorityPolicyPinned, []string{activeGroup}, pinnedTTL
	cfg.AckWait = ackWait
	if _, err := stream.UpdateConsumer(ctx, cfg); err != nil {
		return fmt.Errorf("update consumer %s to a pinned priority group: %w", cfg.Durable, err)
	}
	return nil
}

// toWatermill carries the event id as the message UUID, and the stream sequence, the delivery
// count and how many events wait behind this one as metadata.
func toWatermill(m jetstream.Msg) *message.Message {
	id := m.Headers().Get(jetstream.MsgIDHeader)
	if id == "" {
		id = watermill.NewUUID()
	}
	wm := message.NewMessage(id, m.Data())
	if md, err := m.Metadata(); err == nil {
		wm.Metadata.Set(seqMetadata, strconv.FormatUint(md.Sequence.Stream, 10))
		wm.Metadata.Set(deliveredMetadata, strconv.FormatUint(md.NumDelivered, 10))
		wm.Metadata.Set(pendingMetadata, strconv.FormatUint(md.NumPending, 10))
	}
	return wm
}

// nakDelay delays the redelivery of a failed event: 2 s after its first delivery, then 4 s,
// 8 s … up to a minute, so that a database outage is not a hot loop.
func nakDelay(delivered uint64) time.Duration {
	return min(time.Second<<min(delivered, 6), time.Minute)
}
