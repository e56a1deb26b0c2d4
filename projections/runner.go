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

// applyTimeout bounds one attempt at applying one event. A database behind a network that
// drops packets never answers: without a bound, the view would wait on a dead connection
// forever, long after the database came back. The attempts in place (see Retry in runHandler:
// six of them, 3 s of backoff) must fit in ackWait.
const applyTimeout = 4 * time.Second

// seqMetadata is the Watermill metadata key that carries an event's stream sequence.
const seqMetadata = "newsroom-stream-seq"

// RunnerConfig wires a Runner.
type RunnerConfig struct {
	DB  *sqldb.DB
	Log Log
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
	ctx    context.Context // the context the routers and rebuilds run in
	cancel context.CancelFunc

	mu      sync.Mutex // guards conns and routers
	conns   []*nats.Conn
	routers []*message.Router // one per live view: a view goes live when it is ready
	closed  bool
	wg      sync.WaitGroup // rebuilds in the background
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

// Start creates every view's tables if they are missing, positions each durable consumer at
// its view's checkpoint and starts applying events in the background, until ctx ends or Close
// is called. A view whose tables are missing or were built by another version of the view is
// first rebuilt (blue/green, in the background): its live handler starts after the swap.
func (r *Runner) Start(ctx context.Context) error {
	ctx, r.cancel = context.WithCancel(ctx)
	r.ctx = ctx
	var stale []View
	for _, v := range r.views {
		current, err := EnsureTables(ctx, r.cfg.DB, v)
		if err != nil {
			return err
		}
		if !current {
			stale = append(stale, v)
			continue
		}
		if err := r.addLive(ctx, v); err != nil {
			r.closeConns()
			return err
		}
	}
	for _, v := range stale {
		r.cfg.Logger.Info("view is missing or of another version: rebuilding it from the log", "view", v.Name(), "version", v.Version())
		if err := r.Rebuild(v.Name()); err != nil {
			return err
		}
	}
	return nil
}

// ErrRebuilding: a rebuild of the view is already running.
var ErrRebuilding = errors.New("a rebuild of this view is already running")

// Rebuild starts rebuilding view name in the background, blue/green: the live tables keep
// serving until the rebuilt ones are swapped in. It returns ErrRebuilding if one is running.
func (r *Runner) Rebuild(name string) error {
	v, st := r.view(name)
	if v == nil {
		return fmt.Errorf("%w: %q", ErrNoView, name)
	}
	if !st.startRebuild() {
		return ErrRebuilding
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		rb := Rebuild{DB: r.cfg.DB, Log: r.cfg.Log, View: v, Live: &st.apply, Progress: st.progress}
		for attempt := 1; ; attempt++ {
			p, err := rb.Run(r.ctx)
			if err == nil || p.Done {
				st.finishRebuild(p, err)
				r.cfg.Logger.Info("view rebuilt", "view", name, "events", p.Applied, "checkpoint", p.Checkpoint,
					"seconds", time.Since(p.Started).Seconds())
				break
			}
			if r.ctx.Err() != nil {
				st.finishRebuild(p, err)
				return
			}
			st.fail(err)
			r.cfg.Logger.Error("view rebuild failed; retrying", "view", name, "attempt", attempt, "error", err)
			select {
			case <-r.ctx.Done():
				return
			case <-time.After(nakDelay(uint64(attempt))):
			}
		}
		if !st.isLive() {
			if err := r.addLive(r.ctx, v); err != nil {
				st.fail(err)
				r.cfg.Logger.Error("view live handler", "view", name, "error", err)
			}
		}
	}()
	return nil
}

// runHandler runs handler on sub under a Watermill router of its own, and returns once it
// runs. Transient failures (a busy database) are retried in place, keeping the order; past
// that, the event is nacked and the server redelivers it after a backoff.
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
		// A router that never ran must not be closed: it would wait for its handler forever.
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
}

// ErrNoView: no view has that name.
var ErrNoView = errors.New("no such view")

func (r *Runner) view(name string) (View, *viewState) {
	for _, v := range r.views {
		if v.Name() == name {
			return v, r.states[name]
		}
	}
	return nil, nil
}

// addLive positions view v's durable consumer and starts its live handler, on a Watermill
// router of its own.
func (r *Runner) addLive(ctx context.Context, v View) error {
	if err := r.prepare(ctx, v); err != nil {
		return err
	}
	sub, err := r.subscriber(v)
	if err != nil {
		return err
	}
	router, err := runHandler(ctx, r.cfg.Logger.With("view", v.Name()), Durable(v.Name()), sub, r.handler(v))
	if err != nil {
		return fmt.Errorf("view %s: %w", v.Name(), err)
	}
	r.mu.Lock()
	if r.closed { // Close has passed: stop what it could not
		r.mu.Unlock()
		_ = router.Close()
		return errors.New("projections closed")
	}
	r.routers = append(r.routers, router)
	r.mu.Unlock()
	r.states[v.Name()].setLive()
	return nil
}

// Close stops applying events, letting the one in hand finish; a rebuild stops at its last
// checkpoint (the next one resumes there) once the context given to Start ends.
func (r *Runner) Close() error {
	r.mu.Lock()
	r.closed = true
	routers := r.routers
	r.routers = nil
	r.mu.Unlock()
	errs := make([]error, len(routers))
	var closing sync.WaitGroup
	for i, router := range routers { // each lets the event in hand finish
		closing.Add(1)
		go func() {
			defer closing.Done()
			errs[i] = router.Close()
		}()
	}
	closing.Wait()
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait() // rebuilds stop at their last checkpoint
	r.closeConns()
	return errors.Join(errs...)
}

func (r *Runner) closeConns() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, nc := range r.conns {
		nc.Close()
	}
	r.conns = nil
}

// prepare makes sure view v has a checkpoint row and a durable consumer that delivers from
// just after it. A consumer that is ahead of the checkpoint (the view was dropped or restored
// from an older backup) is recreated, so the view refills from the log.
func (r *Runner) prepare(ctx context.Context, v View) error {
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
	r.mu.Lock()
	r.conns = append(r.conns, nc)
	r.mu.Unlock()
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
			state.apply.Lock() // a rebuild's swap waits for the event in hand
			ctx, cancel := context.WithTimeout(msg.Context(), applyTimeout)
			_, err = Apply(ctx, r.cfg.DB, v, env)
			cancel()
			state.apply.Unlock()
		}
		if err != nil {
			state.fail(err)
			return err
		}
		state.set(seq, nil)
		return nil
	}
}

// Status is what a view has done: its checkpoint, its last error if the last event failed,
// and whether it is live or rebuilding.
type Status struct {
	Name       string
	Version    int
	State      string // "starting", "rebuilding" (the live tables serve meanwhile) or "live"
	Checkpoint uint64
	LastError  string
	Rebuild    *Progress // the running or the last rebuild, if any
}

// Statuses returns every view's status.
func (r *Runner) Statuses() []Status {
	out := make([]Status, 0, len(r.views))
	for _, v := range r.views {
		// Another instance may be the one applying the view's events: the SQL checkpoint counts.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if cp, err := Checkpoint(ctx, r.cfg.DB, v.Name()); err == nil {
			r.states[v.Name()].advance(cp)
		}
		cancel()
		s := r.states[v.Name()].status()
		s.Name, s.Version = v.Name(), v.Version()
		out = append(out, s)
	}
	return out
}

// WaitFor waits until the named views (every view, if none is named) have applied the log up
// to stream sequence seq, or ctx ends. Another instance may be the one applying a view's events
// (they share its durable consumer): while this process has not seen the position, the SQL
// checkpoint is polled too.
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
		for {
			reached, changed := state.reached(seq)
			if reached {
				break
			}
			if cp, err := Checkpoint(ctx, r.cfg.DB, name); err == nil && cp >= seq {
				state.advance(cp)
				break
			}
			select {
			case <-changed:
			case <-time.After(100 * time.Millisecond):
			case <-ctx.Done():
				return fmt.Errorf("view %s: %w", name, ctx.Err())
			}
		}
	}
	return nil
}

// viewState is a view's progress as this process saw it, with a way to wait for it.
type viewState struct {
	apply sync.Mutex // held while the live handler applies an event, and during a swap

	mu         sync.Mutex
	seq        uint64
	err        error
	live       bool
	rebuilding bool
	rebuild    *Progress
	changed    chan struct{} // closed and replaced at every change of seq
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

func (s *viewState) setLive() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live = true
}

func (s *viewState) isLive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live
}

func (s *viewState) startRebuild() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rebuilding {
		return false
	}
	s.rebuilding, s.rebuild = true, &Progress{Started: time.Now()}
	return true
}

func (s *viewState) progress(p Progress) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rebuild = &p
}

func (s *viewState) finishRebuild(p Progress, err error) {
	s.mu.Lock()
	s.rebuilding, s.rebuild, s.err = false, &p, err
	s.mu.Unlock()
	if p.Done {
		s.set(p.Checkpoint, err) // the swapped-in tables are at the rebuild's checkpoint
	}
}

func (s *viewState) status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{Checkpoint: s.seq, State: "starting"}
	switch {
	case s.rebuilding:
		st.State = "rebuilding"
	case s.live:
		st.State = "live"
	}
	if s.err != nil {
		st.LastError = s.err.Error()
	}
	if s.rebuild != nil {
		p := *s.rebuild
		st.Rebuild = &p
	}
	return st
}

// reached reports whether the view is at seq, and a channel closed at the next change.
func (s *viewState) reached(seq uint64) (bool, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq >= seq, s.changed
}

// advance raises the position this process knows, leaving the error as it is.
func (s *viewState) advance(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq > s.seq {
		s.seq = seq
		close(s.changed)
		s.changed = make(chan struct{})
	}
}
