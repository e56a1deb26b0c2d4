package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/sqldb"
)

// ReaderDurable is the durable consumer of the log that feeds every view: one for all views,
// read by one pinned instance at a time. The name is permanent: renaming it makes every view
// start over from its SQL checkpoint, which is safe but rereads the log.
const ReaderDurable = "proj-reader"

// readerBatch bounds the events the reader hands to the views at once: a view applies a batch
// in one transaction, so this also bounds a transaction's size and the memory a batch holds
// (events are at most a few tens of KB each).
const readerBatch = 500

// applyTimeout bounds one attempt at applying one batch. A database behind a network that drops
// packets never answers: without a bound, the view would wait on a dead connection forever.
// SQLite is a local file with one writer connection that every view, outbox and token write
// queues for: on a loaded machine a batch can wait seconds for its turn, and giving up would only
// put it back in the queue, so its bound is that of a disk that stopped answering.
func applyTimeout(d sqldb.Dialect) time.Duration {
	if d == sqldb.SQLite {
		return 30 * time.Second
	}
	return 4 * time.Second
}

// Durable is the name of the durable consumer that fed view name, one per view, before one
// reader fed them all. The first start of a release with the reader deletes them.
func Durable(name string) string { return "proj-" + name }

// reader is the instance's one reader of the log: a durable worker (events.Worker) on
// ReaderDurable that decodes each event once and hands each batch to every attached view, each
// on its Watermill handler. The log is acknowledged once every attached view has answered:
// committed, or failed and detached. A detached view catches up from its own checkpoint
// (catchup.go) and is attached again under mu, between two batches.
type reader struct {
	r *Runner

	mu    sync.Mutex // held while a batch is handed out, and while a view is attached
	last  uint64     // the last stream sequence handed out
	feeds map[string]*feed

	conn   *nats.Conn
	cancel context.CancelFunc // stops the worker
	done   chan struct{}      // closed when the worker has stopped
}

func newReader(r *Runner) *reader {
	return &reader{r: r, feeds: make(map[string]*feed), done: make(chan struct{})}
}

// start starts every view's handler and the worker. Before the first batch, it deletes the
// per-view durables of earlier releases: the reader replaces them, and a view's position is
// its SQL checkpoint, so nothing is lost; an instance of an earlier release still running in a
// rolling deploy sees its consumer vanish and stops applying (it keeps serving reads) until it
// is replaced or restarted, while this one applies for both.
func (rd *reader) start(ctx context.Context) error {
	r := rd.r
	for _, v := range r.views {
		f, err := startFeed(ctx, r.cfg.Logger.With("view", v.Name()), v.Name(), rd.applier(v))
		if err != nil {
			rd.stopFeeds()
			return err
		}
		rd.feeds[v.Name()] = f
	}
	nc, err := r.cfg.Connect()
	if err != nil {
		rd.stopFeeds()
		return fmt.Errorf("log reader: connect: %w", err)
	}
	rd.conn = nc
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	w := &events.Worker{JS: js, Stream: events.StreamName, MaxBatch: readerBatch, Resume: rd.resume,
		Logger: r.cfg.Logger, Consumer: jetstream.ConsumerConfig{
			Durable:        ReaderDurable,
			Description:    "newsroom views: one reader of the log per instance",
			FilterSubjects: events.LogSubjects,
			AckPolicy:      jetstream.AckAllPolicy,
			MaxAckPending:  4 * readerBatch,
			PinnedTTL:      r.cfg.PinnedTTL,
		}}
	if err := whileTransient(ctx, func() error { return w.Ensure(ctx) }); err != nil {
		rd.stopFeeds()
		return fmt.Errorf("log reader: %w", err)
	}
	rd.dropPerViewDurables(ctx, js)
	for _, v := range r.views {
		if r.states[v.Name()].get().phase == phaseSuperseded {
			// An instance of an older release never holds the reader: it would hand the log
			// to views that do not apply it, and acknowledge it.
			r.cfg.Logger.Warn("this instance does not read the log: a view is superseded", "view", v.Name())
			close(rd.done)
			return nil
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	rd.cancel = cancel
	go func() {
		defer close(rd.done)
		if err := w.Run(wctx, rd.handle); errors.Is(err, events.ErrStopWorker) {
			r.cfg.Logger.Warn("log reader stopped: this instance no longer applies events to any view")
		}
	}()
	return nil
}

func (rd *reader) dropPerViewDurables(ctx context.Context, js jetstream.JetStream) {
	stream, err := js.Stream(ctx, events.StreamName)
	if err != nil {
		return
	}
	for _, v := range rd.r.views {
		err := stream.DeleteConsumer(ctx, Durable(v.Name()))
		if err == nil {
			rd.r.cfg.Logger.Info("deleted the view's own durable consumer of an earlier release: the log's reader feeds it now",
				"view", v.Name(), "durable", Durable(v.Name()))
		}
	}
}

// resume is where the reader's durable starts: just after the lowest checkpoint of the views it
// feeds (the others skip what they have). Views not attached catch up by themselves.
func (rd *reader) resume(ctx context.Context) (uint64, error) {
	lowest, found := uint64(0), false
	highest := uint64(0)
	for _, v := range rd.r.views {
		ph := rd.r.states[v.Name()].get().phase
		if ph == phaseSuperseded {
			continue
		}
		cp, err := Checkpoint(ctx, rd.r.cfg.DB, v.Name())
		if err != nil {
			return 0, err
		}
		highest = max(highest, cp)
		if ph == phaseAttached && (!found || cp < lowest) {
			lowest, found = cp, true
		}
	}
	if !found {
		return highest, nil
	}
	return lowest, nil
}

// handle is the worker's handler: it decodes the batch once and hands it to every attached
// view at the same time, waiting for each answer. A view that fails is detached; the batch is
// acknowledged whatever the views answered, since each view's position is its own checkpoint.
func (rd *reader) handle(ctx context.Context, msgs []jetstream.Msg) error {
	batch, err := events.EnvelopesOf(msgs)
	if err != nil {
		// Not skipped: the reader stops here, and retries, until someone looks.
		return fmt.Errorf("log reader: %w", err)
	}
	rd.mu.Lock()
	defer rd.mu.Unlock()
	r := rd.r
	type sent struct {
		v      View
		msg    *message.Message
		result error
	}
	var out []*sent
	for _, v := range r.views {
		if r.states[v.Name()].get().phase != phaseAttached {
			continue
		}
		s := &sent{v: v}
		s.msg = rd.feeds[v.Name()].send(ctx, batch, &s.result)
		out = append(out, s)
	}
	for _, s := range out {
		s.result = rd.feeds[s.v.Name()].wait(s.msg, &s.result)
	}
	stop := false
	for _, s := range out {
		switch err := s.result; {
		case err == nil:
		case errors.Is(err, errFeedClosed), errors.Is(err, context.Canceled) && ctx.Err() != nil:
			return err // stopping: what was not applied is read again at the next start
		case errors.Is(err, ErrSuperseded):
			// This instance gives the reader up (returning ErrStopWorker unpins it), so that
			// an instance of the newer release applies to every view.
			newer, _ := supersededBy(ctx, r.cfg.DB, s.v)
			r.markSuperseded(s.v, newer)
			stop = true
		case errors.Is(err, ErrOlderTables):
			// An older release rebuilt the view down: rebuild it up, blue/green; it joins the
			// reader again after the swap.
			rd.detach(s.v, err, false)
			if rerr := r.Rebuild(s.v.Name()); rerr != nil && !errors.Is(rerr, ErrRebuilding) {
				r.cfg.Logger.Error("rebuild a view rebuilt down by an older release", "view", s.v.Name(), "error", rerr)
			}
		default:
			rd.detach(s.v, err, true)
		}
	}
	rd.last = batch[len(batch)-1].Sequence
	if r.cfg.AfterBatch != nil {
		r.cfg.AfterBatch(batch)
	}
	if stop {
		return events.ErrStopWorker
	}
	return nil
}

// applier is view v's handler: apply the batch to the live tables, under the view's apply lock
// (a rebuild's swap waits for it), and record how far the view got.
func (rd *reader) applier(v View) func(context.Context, []events.Envelope) error {
	st := rd.r.states[v.Name()]
	return func(ctx context.Context, batch []events.Envelope) error {
		st.apply.Lock()
		defer st.apply.Unlock()
		ctx, cancel := context.WithTimeout(ctx, applyTimeout(rd.r.cfg.DB.Dialect))
		defer cancel()
		if _, err := applyFollowing(ctx, rd.r.cfg.Logger, rd.r.cfg.DB, v, batch); err != nil {
			return err
		}
		st.applied(batch[len(batch)-1].Sequence)
		return nil
	}
}

// detach stops feeding view v after err, and starts its catch-up.
func (rd *reader) detach(v View, err error, catchUp bool) {
	r := rd.r
	st := r.states[v.Name()]
	st.change(func(s *viewStatus) { s.phase, s.err = phaseDetached, err })
	if errors.Is(err, errBehind) {
		r.cfg.Logger.Info("view is behind the log's reader; it catches up on its own", "view", v.Name())
		st.change(func(s *viewStatus) { s.err = nil })
	} else {
		r.cfg.Logger.Error("view failed; the log's reader goes on without it while it catches up from its checkpoint",
			"view", v.Name(), "error", err)
	}
	if catchUp {
		r.goBackground(func() { r.catchUp(v, slog.LevelInfo) })
	}
}

// attachIfCaughtUp attaches view v, caught up to until, unless the reader has handed out more
// since; the check runs between two batches, so the next batch the view gets follows.
func (rd *reader) attachIfCaughtUp(v View, until uint64) bool {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.last > until {
		return false // the reader moved on meanwhile: catch up a little more
	}
	rd.r.states[v.Name()].change(func(s *viewStatus) {
		if s.phase == phaseDetached || s.phase == phaseStarting {
			s.phase = phaseAttached
		}
	})
	return true
}

// position is the last stream sequence the reader has handed out.
func (rd *reader) position() uint64 {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	return rd.last
}

// standAside stops the worker without waiting (it may be the caller), which gives up its pin:
// another instance's reader takes the log over.
func (rd *reader) standAside() {
	if rd.cancel != nil {
		rd.cancel()
	}
}

// close stops the worker after the batch in hand, then the views' handlers.
func (rd *reader) close() error {
	if rd.cancel != nil {
		rd.cancel()
		<-rd.done
	}
	err := rd.stopFeeds()
	if rd.conn != nil {
		rd.conn.Close()
	}
	return err
}

func (rd *reader) stopFeeds() error {
	var errs []error
	for _, f := range rd.feeds {
		errs = append(errs, f.stop())
	}
	return errors.Join(errs...)
}
