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
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/sqldb"
)

// ackWait is how long the server waits for a view to finish one event before redelivering it.
// It must outlast the in-process retries (see Retry in Start), or the server would redeliver an
// event the handler is still retrying; it is also how long a view waits after a crash for the
// event that was in hand.
const ackWait = 30 * time.Second

// seqMetadata is the Watermill metadata key that carries an event's stream sequence.
const seqMetadata = "newsroom-stream-seq"

// RunnerConfig wires a Runner.
type RunnerConfig struct {
	DB *sqldb.DB
	// Connect opens a NATS connection for one view's subscriber. Each view needs its own:
	// closing a watermill-nats subscriber drains the connection it was given.
	Connect func() (*nats.Conn, error)
	Logger  *slog.Logger
}

// Runner feeds every view from its durable consumer, in log order, one event at a time.
type Runner struct {
	cfg    RunnerConfig
	views  []View
	states map[string]*viewState
	router *message.Router
	conns  []*nats.Conn
}

// NewRunner returns a Runner for views.
func NewRunner(cfg RunnerConfig, views ...View) *Runner {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	r := &Runner{cfg: cfg, views: views, states: make(map[string]*viewState)}
	for _, v := range views {
		r.states[v.Name()] = newViewState()
	}
	return r
}

// Start positions every view's durable consumer at the view's SQL checkpoint, then starts
// applying events in the background until ctx ends or Close is called.
func (r *Runner) Start(ctx context.Context) error {
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 15 * time.Second},
		watermill.NewSlogLogger(r.cfg.Logger))
	if err != nil {
		return fmt.Errorf("projections: %w", err)
	}
	router.AddMiddleware(
		middleware.Recoverer,
		// Transient failures (a busy database) are retried in place, keeping the order; past
		// that, the event is nacked and the server redelivers it after NakDelay.
		middleware.Retry{MaxRetries: 5, InitialInterval: 100 * time.Millisecond, MaxInterval: 5 * time.Second,
			Multiplier: 2, Logger: watermill.NewSlogLogger(r.cfg.Logger)}.Middleware,
	)
	for _, v := range r.views {
		if err := r.prepare(ctx, v); err != nil {
			r.closeConns()
			return err
		}
		sub, err := r.subscriber(v)
		if err != nil {
			r.closeConns()
			return err
		}
		router.AddConsumerHandler(Durable(v.Name()), events.SubjectAll, sub, r.handler(v))
	}
	r.router = router
	go func() {
		if err := router.Run(ctx); err != nil {
			r.cfg.Logger.Error("projections stopped", "error", err)
		}
	}()
	select {
	case <-router.Running():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops applying events, letting the one in hand finish.
func (r *Runner) Close() error {
	var err error
	if r.router != nil {
		err = r.router.Close()
	}
	r.closeConns()
	return err
}

func (r *Runner) closeConns() {
	for _, nc := range r.conns {
		nc.Close()
	}
	r.conns = nil
}

// prepare makes sure view v has a checkpoint row and a durable consumer that delivers from
// just after it. A consumer that is ahead of the checkpoint (the view was dropped or restored
// from an older backup) is recreated, so the view refills from the log.
func (r *Runner) prepare(ctx context.Context, v View) error {
	if err := EnsureCheckpoint(ctx, r.cfg.DB, v.Name()); err != nil {
		return err
	}
	checkpoint, err := Checkpoint(ctx, r.cfg.DB, v.Name())
	if err != nil {
		return err
	}
	r.states[v.Name()].set(checkpoint, nil)

	nc, err := r.cfg.Connect()
	if err != nil {
		return fmt.Errorf("view %s: connect: %w", v.Name(), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	stream, err := js.Stream(ctx, events.StreamName)
	if err != nil {
		return fmt.Errorf("view %s: stream %s: %w", v.Name(), events.StreamName, err)
	}
	durable := Durable(v.Name())
	consumer, err := stream.Consumer(ctx, durable)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
	case err != nil:
		return fmt.Errorf("view %s: consumer %s: %w", v.Name(), durable, err)
	default:
		info := consumer.CachedInfo()
		if info.AckFloor.Stream <= checkpoint {
			return nil // at or behind the checkpoint: redelivered events are no-ops
		}
		r.cfg.Logger.Warn("view is behind its consumer; repositioning the consumer at the view's checkpoint",
			"view", v.Name(), "checkpoint", checkpoint, "consumer_ack_floor", info.AckFloor.Stream)
		if err := stream.DeleteConsumer(ctx, durable); err != nil {
			return fmt.Errorf("view %s: reposition consumer %s: %w", v.Name(), durable, err)
		}
	}
	cfg := consumerConfig(durable)
	if checkpoint > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = checkpoint + 1
	}
	if _, err := stream.CreateConsumer(ctx, cfg); err != nil {
		return fmt.Errorf("view %s: create consumer %s: %w", v.Name(), durable, err)
	}
	return nil
}

// consumerConfig is the durable consumer of a view: strictly ordered, one event in flight,
// redelivered forever (a view never skips an event).
func consumerConfig(durable string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       durable,
		Description:   "newsroom view " + durable,
		FilterSubject: events.SubjectAll,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxAckPending: 1,
		MaxDeliver:    -1,
		ReplayPolicy:  jetstream.ReplayInstantPolicy,
	}
}

func (r *Runner) subscriber(v View) (message.Subscriber, error) {
	nc, err := r.cfg.Connect()
	if err != nil {
		return nil, fmt.Errorf("view %s: connect: %w", v.Name(), err)
	}
	r.conns = append(r.conns, nc)
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	return newDurableSubscriber(js, Durable(v.Name()), r.cfg.Logger), nil
}

func (r *Runner) handler(v View) message.NoPublishHandlerFunc {
	state := r.states[v.Name()]
	return func(msg *message.Message) error {
		seq, err := strconv.ParseUint(msg.Metadata.Get(seqMetadata), 10, 64)
		if err != nil {
			err = fmt.Errorf("view %s: message %s has no stream sequence", v.Name(), msg.UUID)
			state.fail(err)
			return err
		}
		env, err := events.Unmarshal(msg.Payload, seq)
		if err == nil {
			_, err = Apply(msg.Context(), r.cfg.DB, v, env)
		}
		if err != nil {
			state.fail(err)
			return err
		}
		state.set(seq, nil)
		return nil
	}
}

// Status is what a view has done: its checkpoint and its last error, if the last event failed.
type Status struct {
	Name       string
	Checkpoint uint64
	LastError  string
}

// Statuses returns every view's status.
func (r *Runner) Statuses() []Status {
	out := make([]Status, 0, len(r.views))
	for _, v := range r.views {
		seq, err := r.states[v.Name()].get()
		s := Status{Name: v.Name(), Checkpoint: seq}
		if err != nil {
			s.LastError = err.Error()
		}
		out = append(out, s)
	}
	return out
}

// WaitFor waits until the named views (every view, if none is named) have applied the log up
// to stream sequence seq, or ctx ends.
func (r *Runner) WaitFor(ctx context.Context, seq uint64, names ...string) error {
	if len(names) == 0 {
		for _, v := range r.views {
			names = append(names, v.Name())
		}
	}
	for _, name := range names {
		state, ok := r.states[name]
		if !ok {
			return fmt.Errorf("no view named %q", name)
		}
		if err := state.waitFor(ctx, seq); err != nil {
			return fmt.Errorf("view %s: %w", name, err)
		}
	}
	return nil
}

// viewState is a view's progress as this process saw it, with a way to wait for it.
type viewState struct {
	mu      sync.Mutex
	seq     uint64
	err     error
	changed chan struct{} // closed and replaced at every change
}

func newViewState() *viewState { return &viewState{changed: make(chan struct{})} }

func (s *viewState) set(seq uint64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq, s.err = max(s.seq, seq), err
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *viewState) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *viewState) get() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq, s.err
}

func (s *viewState) waitFor(ctx context.Context, seq uint64) error {
	for {
		s.mu.Lock()
		reached, changed := s.seq >= seq, s.changed
		s.mu.Unlock()
		if reached {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
