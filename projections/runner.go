package projections

import (
	"context"
	"database/sql"
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
	"github.com/newsroom/newsroom/sqldb"
)

// ackWait is how long the server waits for word about an event it delivered before it
// redelivers it. While the handler works on the event (retries included), the subscriber tells
// the server so every progressEvery, so ackWait need not outlast the work; it is what a view
// loses when a delivery or an ack goes missing: a crash, or a NATS node stopped while the
// event was on its way (the consumer's new leader knows it as delivered, unacknowledged).
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

// One active consumer per view, whatever the number of instances: every durable (each view's
// and the public outbox's) has one priority group, activeGroup, with the pinned-client policy
// (nats-server 2.11 and later). The server pins one puller of the group and delivers to it
// alone; the others' pulls wait. When the pinned instance stops pulling for PinnedTTL (it died,
// or lost NATS), the server unpins it and pins the next puller; an instance that stops cleanly
// unpins itself, and the next one takes over at once. The consumer's leader moving to another
// NATS node resets the pin the same way.
//
// Chosen over a lease in a KV bucket (a key per view, a TTL, renewals by revision): the pin is
// enforced where events are handed out, so a standby cannot receive an event at all, while a
// lease is only advice to the holder, which may outlive it (a long GC pause, a partition) and
// keep pulling; it would need its own renew loop, clock margins and a permanent bucket name,
// and the consumer (MaxAckPending 1) and the SQL checkpoint's compare-and-set would still be
// the real fence. Those remain the fence here too: a handover never applies an event twice or
// skips one, it only decides who does the work. Rebuilds need no leader: who may rebuild a
// view is decided by versions, in SQL (see Rebuild and ErrSuperseded).
//
// activeGroup is part of the durables' configuration; renaming it updates them in place at the
// next start, and instances of older releases (which pull without a group) are refused by the
// server until they are replaced.
const activeGroup = "active"

// DefaultPinnedTTL is how long a silent active instance keeps a view before another takes it
// over. The active instance pulls at least every second while idle; while it applies an event
// it does not pull, so this must outlast one event's handling, retries included (or the pin
// changes hands, which is harmless but churns).
const DefaultPinnedTTL = 10 * time.Second

// applyTimeout bounds one attempt at applying one event. A database behind a network that
// drops packets never answers: without a bound, the view would wait on a dead connection
// forever, long after the database came back.
const applyTimeout = 4 * time.Second

// RunnerConfig wires a Runner.
type RunnerConfig struct {
	DB  *sqldb.DB
	Log Log
	// Connect opens a NATS connection for one view's subscriber. Each view needs its own:
	// closing a watermill-nats subscriber drains the connection it was given.
	Connect func() (*nats.Conn, error)
	Logger  *slog.Logger
	// PinnedTTL is how long a silent active instance keeps a view before another takes over;
	// DefaultPinnedTTL if 0. It is set on the durables at start.
	PinnedTTL time.Duration
}

// Runner feeds every view from its durable consumer, in log order, one event at a time, or in
// batches while the view is behind (see catchUpFrom).
type Runner struct {
	cfg    RunnerConfig
	views  []View
	states map[string]*viewState
	ctx    context.Context // the context the routers and rebuilds run in
	cancel context.CancelFunc

	mu      sync.Mutex // guards conns and routers
	conns   []*nats.Conn
	routers map[string]*message.Router // one per live view: a view goes live when it is ready
	closed  bool
	wg      sync.WaitGroup // rebuilds in the background
}

// NewRunner returns a Runner for views.
func NewRunner(cfg RunnerConfig, views ...View) *Runner {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PinnedTTL <= 0 {
		cfg.PinnedTTL = DefaultPinnedTTL
	}
	r := &Runner{cfg: cfg, views: views, states: make(map[string]*viewState), routers: make(map[string]*message.Router)}
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
			if newer, err := supersededBy(ctx, r.cfg.DB, v); err != nil {
				return err
			} else if newer > 0 {
				r.supersede(v, newer)
				continue
			}
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
		before, _, _ := readLive(r.ctx, r.cfg.DB, name) // to recognise another instance's swap
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
			if errors.Is(err, ErrSuperseded) {
				// A newer version of the view is in the database or being rebuilt: this
				// process does not rebuild it down, and does not apply to it.
				st.finishRebuild(p, nil)
				newer, _ := supersededBy(r.ctx, r.cfg.DB, v)
				r.supersede(v, newer)
				return
			}
			if live, found, lerr := readLive(r.ctx, r.cfg.DB, name); lerr == nil && found &&
				live.Version == v.Version() && live.Generation > before.Generation {
				// Another instance of this version ran the same rebuild and swapped it in
				// first (they shared the work): the view is rebuilt.
				p.Done, p.Checkpoint = true, live.Seq
				st.finishRebuild(p, nil)
				r.cfg.Logger.Info("view rebuilt by another instance", "view", name, "checkpoint", live.Seq)
				break
			}
			st.fail(err)
			r.cfg.Logger.Error("view rebuild failed; retrying", "view", name, "attempt", attempt, "error", err)
			select {
			case <-r.ctx.Done():
				return
			case <-time.After(nakDelay(uint64(attempt))):
			}
		}
		// The live handler starts again, however long NATS takes to answer: a view left
		// without one would stay behind for good.
		for attempt := 1; !st.isLive() && !st.isSuperseded(); attempt++ {
			err := r.addLive(r.ctx, v)
			if err == nil || errors.Is(err, errRunnerClosed) {
				break
			}
			st.fail(err)
			r.cfg.Logger.Error("view live handler; retrying", "view", name, "attempt", attempt, "error", err)
			select {
			case <-r.ctx.Done():
				return
			case <-time.After(nakDelay(uint64(attempt))):
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
		MaxInterval: 5 * time.Second, Multiplier: 2, Logger: watermill.NewSlogLogger(log),
		// A superseded view will not apply anything again: hand the event back at once.
		ShouldRetry: func(p middleware.RetryParams) bool { return !errors.Is(p.Err, ErrSuperseded) },
	}.Middleware)
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

// errRunnerClosed: Close has begun; nothing starts any more.
var errRunnerClosed = errors.New("projections closed")

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
	if err := whileTransient(ctx, func() error { return r.prepare(ctx, v) }); err != nil {
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
		return errRunnerClosed
	}
	r.routers[v.Name()] = router
	r.mu.Unlock()
	r.states[v.Name()].setLive()
	return nil
}

// supersede stops applying view v: the database holds (or is rebuilding) version newer of it,
// newer than this process's. Its live handler, if any, stops and gives up its pin, so that an
// instance of the newer version takes the view over; the tables keep serving reads.
func (r *Runner) supersede(v View, newer int) {
	st := r.states[v.Name()]
	if !st.supersede() {
		return
	}
	r.cfg.Logger.Warn("a newer version of the view is in the database: this instance no longer applies or rebuilds it (replace it with the newer release)",
		"view", v.Name(), "version", v.Version(), "database_version", newer)
	r.mu.Lock()
	router := r.routers[v.Name()]
	delete(r.routers, v.Name())
	r.mu.Unlock()
	if router != nil {
		if err := router.Close(); err != nil {
			r.cfg.Logger.Warn("stop superseded view", "view", v.Name(), "error", err)
		}
	}
}

// Close stops applying events, letting the one in hand finish; a rebuild stops at its last
// checkpoint (the next one resumes there) once the context given to Start ends.
func (r *Runner) Close() error {
	r.mu.Lock()
	r.closed = true
	var routers []*message.Router
	for _, router := range r.routers {
		routers = append(routers, router)
	}
	clear(r.routers)
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
	r.states[v.Name()].positioned()

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
		if info.AckFloor.Stream > checkpoint {
			// Another instance may have applied and acknowledged an event between the two
			// reads: look at the checkpoint again before calling the view behind.
			if checkpoint, err = Checkpoint(ctx, r.cfg.DB, v.Name()); err != nil {
				return err
			}
		}
		if info.AckFloor.Stream <= checkpoint {
			// At or behind the checkpoint: redelivered events are no-ops.
			return upgradeDurable(ctx, stream, info.Config, r.cfg.PinnedTTL, r.cfg.Logger)
		}
		r.cfg.Logger.Warn("view is behind its consumer; repositioning the consumer at the view's checkpoint",
			"view", v.Name(), "checkpoint", checkpoint, "consumer_ack_floor", info.AckFloor.Stream)
		if err := stream.DeleteConsumer(ctx, durable); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return fmt.Errorf("view %s: reposition consumer %s: %w", v.Name(), durable, err)
		}
	}
	return createDurable(ctx, stream, consumerConfig(durable, "newsroom view "+durable, checkpoint, r.cfg.PinnedTTL))
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

// A live view that has fallen behind (a stall of the database, a restart, a burst of
// commands) catches up in batches, as a rebuild does: when the consumer holds at least
// catchUpFrom events behind the one delivered, the handler reads up to catchUpBatch events from
// the log, starting with the delivered one, and applies them in one transaction, moving the
// checkpoint once. The consumer then delivers the rest of the batch one by one: those are
// acknowledged without a transaction (see viewState.caughtUp). Once the view has caught up it
// applies one event at a time again, each as soon as it arrives.
const (
	catchUpFrom  = 8
	catchUpBatch = 500
)

func (r *Runner) handler(v View) message.NoPublishHandlerFunc {
	state := r.states[v.Name()]
	return func(msg *message.Message) error {
		seq, err := strconv.ParseUint(msg.Metadata.Get(seqMetadata), 10, 64)
		if err != nil {
			err = fmt.Errorf("view %s: message %s has no stream sequence", v.Name(), msg.UUID)
			state.fail(err)
			return err
		}
		if state.caughtUp(seq) {
			return nil // applied and committed by this handler's last batch
		}
		pending, _ := strconv.ParseUint(msg.Metadata.Get(pendingMetadata), 10, 64)
		env, err := events.Unmarshal(msg.Payload, seq)
		last := seq
		if err == nil {
			state.apply.Lock() // a rebuild's swap waits for the event in hand
			batched := false
			if pending >= catchUpFrom && r.cfg.Log != nil && state.mayBatch(seq) {
				last, err = r.catchUp(msg.Context(), v, env, pending)
				batched = err == nil
				if err != nil && !errors.Is(err, ErrSuperseded) && !errors.Is(err, ErrOlderTables) {
					// Apply this event alone; the events up to where the batch would have
					// gone follow one by one, so that a failing event stops the view at
					// itself, with everything before it applied.
					r.cfg.Logger.Warn("view catch-up batch failed; applying one event at a time", "view", v.Name(),
						"seq", seq, "error", err)
					state.noBatchThrough(seq + min(pending, catchUpBatch))
					last, err = seq, nil
				}
			}
			if err == nil && !batched {
				ctx, cancel := context.WithTimeout(msg.Context(), applyTimeout)
				_, err = Apply(ctx, r.cfg.DB, v, env)
				cancel()
			}
			if batched {
				state.batchCommitted(last)
			}
			state.apply.Unlock()
		}
		if errors.Is(err, ErrSuperseded) {
			// The handler cannot stop its own router: it waits for the handler to return.
			go func() {
				newer, _ := supersededBy(context.Background(), r.cfg.DB, v)
				r.supersede(v, newer)
			}()
			return err
		}
		if errors.Is(err, ErrOlderTables) {
			// An older release rebuilt the view down: rebuild it up, blue/green, and hand
			// this event back meanwhile; the live handler resumes after the swap.
			if rerr := r.Rebuild(v.Name()); rerr != nil && !errors.Is(rerr, ErrRebuilding) {
				r.cfg.Logger.Error("rebuild a view rebuilt down by an older release", "view", v.Name(), "error", rerr)
			}
		}
		if err != nil {
			state.fail(err)
			return err
		}
		state.set(last, nil)
		return nil
	}
}

// rangeReader reads a short range of the log in one go, leaving nothing behind on the server
// (ReadLog's ordered consumer would linger for minutes); *events.Store implements it.
type rangeReader interface {
	ReadRange(ctx context.Context, from, until uint64, limit int) ([]events.Envelope, error)
}

// catchUp applies env and the events that follow it in the log, up to catchUpBatch in all and
// no further than the pending events the consumer holds, in one transaction (applyBatch: the
// checkpoint's compare-and-set and the version checks, as for one event). It returns the
// stream sequence of the last event of the batch.
func (r *Runner) catchUp(ctx context.Context, v View, env events.Envelope, pending uint64) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, applyTimeout)
	defer cancel()
	batch := make([]events.Envelope, 1, catchUpBatch)
	batch[0] = env
	until := env.Sequence + min(pending, catchUpBatch-1)
	var err error
	if rr, ok := r.cfg.Log.(rangeReader); ok {
		var more []events.Envelope
		more, err = rr.ReadRange(ctx, env.Sequence+1, until, catchUpBatch-1)
		batch = append(batch, more...)
	} else {
		err = r.cfg.Log.ReadLog(ctx, env.Sequence+1, until, catchUpBatch, func(more []events.Envelope) error {
			batch = append(batch, more...)
			return nil
		})
	}
	if err != nil {
		return 0, fmt.Errorf("view %s: read the log to catch up: %w", v.Name(), err)
	}
	if _, err := applyBatch(ctx, r.cfg.DB, v, v.Name(), Live, batch); err != nil {
		return 0, err
	}
	return batch[len(batch)-1].Sequence, nil
}

// readLive reads view name's live checkpoint row.
func readLive(ctx context.Context, db *sqldb.DB, name string) (checkpoint, bool, error) {
	var cp checkpoint
	err := db.Read.GetContext(ctx, &cp, db.Read.Rebind(`SELECT seq, version, generation FROM checkpoints WHERE name = ?`), name)
	if errors.Is(err, sql.ErrNoRows) {
		return checkpoint{}, false, nil
	}
	if err != nil {
		return checkpoint{}, false, fmt.Errorf("view %s: read checkpoint: %w", name, err)
	}
	return cp, true, nil
}

// supersededBy returns the newest version of view v that the database holds or is rebuilding,
// if it is newer than v's, and 0 otherwise.
func supersededBy(ctx context.Context, db *sqldb.DB, v View) (int, error) {
	newest := 0
	for _, name := range []string{v.Name(), rebuildName(v.Name())} {
		cp, found, err := readLive(ctx, db, name)
		if err != nil {
			return 0, err
		}
		if found && cp.Version > v.Version() {
			newest = max(newest, cp.Version)
		}
	}
	return newest, nil
}

// Status is what a view has done: its checkpoint, its last error if the last event failed,
// and whether it is live or rebuilding.
type Status struct {
	Name    string
	Version int
	// "starting", "rebuilding" (the live tables serve meanwhile), "live" (this instance applies
	// events, or stands by to: see activeGroup) or "superseded" (the database holds a newer
	// version of the view, which this instance neither applies nor rebuilds; it serves reads)
	State      string
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
	superseded bool // a newer version of the view is in the database: never applied here again
	rebuilding bool
	rebuild    *Progress
	changed    chan struct{} // closed and replaced at every change of seq

	// batchedThrough is the last event of the live handler's last catch-up batch, 0 once the
	// consumer delivered past it. The consumer delivers the batch's events after it was
	// committed: those are acknowledged without a transaction, which would be a no-op (the
	// checkpoint only moves forward: an apply's compare-and-set, a swap only of tables at
	// least as far). It is cleared when the consumer is positioned again (prepare), and at the
	// first event past the batch, so that it never outlives the batch it vouches for.
	batchedThrough uint64
	// unbatchedThrough: a catch-up batch up to here failed; these events are applied one by one.
	unbatchedThrough uint64
}

func newViewState() *viewState { return &viewState{changed: make(chan struct{})} }

func (s *viewState) set(seq uint64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq, s.err = max(s.seq, seq), err
	close(s.changed)
	s.changed = make(chan struct{})
}

// caughtUp reports whether the event at seq was applied by the live handler's last catch-up
// batch, and forgets the batch at the first event past it.
func (s *viewState) caughtUp(seq uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq <= s.batchedThrough {
		return true
	}
	s.batchedThrough = 0
	return false
}

// batchCommitted records that a catch-up batch up to seq was committed.
func (s *viewState) batchCommitted(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batchedThrough = seq
}

// mayBatch reports whether the event at seq may start a catch-up batch.
func (s *viewState) mayBatch(seq uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return seq > s.unbatchedThrough
}

// noBatchThrough makes the events up to seq apply one by one.
func (s *viewState) noBatchThrough(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unbatchedThrough = max(s.unbatchedThrough, seq)
}

// positioned forgets the catch-up batches: the durable consumer was positioned at the SQL
// checkpoint again.
func (s *viewState) positioned() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batchedThrough, s.unbatchedThrough = 0, 0
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

// supersede marks the view superseded; it reports false if it already was.
func (s *viewState) supersede() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.superseded {
		return false
	}
	s.superseded, s.live = true, false
	return true
}

func (s *viewState) isSuperseded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.superseded
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
	case s.superseded:
		st.State = "superseded"
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
