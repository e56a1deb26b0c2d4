package projections

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/events"
)

// Eraser removes killed articles' text from the log, the public stream and the embargoed stream
// (events.EraseKilled), on a goroutine of its own, beside the outboxes rather than in their way:
// a kill is erased as soon as it is known, however far behind or blocked an outbox is.
//
// It is fed twice per kill. First as soon as the kill is in the log (the views' reader enqueues
// each kill of a batch once the views committed it): the article's earlier events leave the
// log, so an outbox that is behind never reads, let alone publishes, the killed text
// (consumers skip deleted messages), and its public messages so far leave the public stream.
// Then by the outbox once it has written the kill's public message: a message of the article
// the outbox had in flight during the first pass may have landed after it, and the second pass
// removes it (the embargoed outbox likewise, once it has passed the kill, whichever stream the
// kill's message went to). Erasing is idempotent, so a kill fed twice, or after a restart,
// costs one read per stream.
//
// What bounds the delay from a kill to its text gone: the time for the kill to be read by the
// views and committed (the first pass starts then), plus the erasure itself (one direct get per
// event and public message of the article, one secure delete each), plus the wait behind
// kills queued before it; never the outbox's backlog. A pass that fails (NATS away) is retried
// after a pause; a crash loses the queue, and the sweep at the next start (Sweep) finds the
// kills again in the views and on the public and embargoed streams.
type Eraser struct {
	js  jetstream.JetStream
	log *slog.Logger
	// Erased, if set, is called after each successful pass (for tests and benchmarks).
	erased func(articleID string, killSeq uint64, e events.Erasure)

	mu      sync.Mutex
	started bool
	pending map[string]uint64 // article id → its kill's log sequence, waiting for a pass
	wake    chan struct{}     // holds one token while pending is not empty

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// eraserRetry is the pause before a failed pass is tried again.
const eraserRetry = time.Second

// NewEraser returns an eraser on js; it works once started.
func NewEraser(js jetstream.JetStream, log *slog.Logger) *Eraser {
	if log == nil {
		log = slog.Default()
	}
	return &Eraser{js: js, log: log, pending: map[string]uint64{}, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
}

// OnErased sets a function called after each pass that succeeded. Call it before Start.
func (e *Eraser) OnErased(fn func(articleID string, killSeq uint64, erased events.Erasure)) {
	e.erased = fn
}

// Enqueue asks for article articleID, killed at log sequence killSeq, to be erased. It never
// blocks; the same article enqueued again before its pass is erased once.
func (e *Eraser) Enqueue(articleID string, killSeq uint64) {
	e.mu.Lock()
	e.pending[articleID] = max(e.pending[articleID], killSeq)
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Pending is how many articles wait for a pass.
func (e *Eraser) Pending() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.pending)
}

// Start runs the passes in the background until Close.
func (e *Eraser) Start() {
	e.mu.Lock()
	e.started = true
	e.mu.Unlock()
	go e.run()
}

// Close stops after the pass in hand; what is still queued is found again by the next sweep.
func (e *Eraser) Close() {
	e.once.Do(func() { close(e.stop) })
	e.mu.Lock()
	started := e.started
	e.mu.Unlock()
	if started {
		<-e.done
	}
}

func (e *Eraser) run() {
	defer close(e.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-e.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		select {
		case <-e.stop:
			return
		case <-e.wake:
		}
		e.mu.Lock()
		batch := e.pending
		e.pending = map[string]uint64{}
		e.mu.Unlock()
		failed := false
		for id, killSeq := range batch {
			if err := e.erase(ctx, id, killSeq); err != nil {
				if ctx.Err() != nil {
					return
				}
				e.log.Warn("erase a killed article; retrying", "article", id, "error", err)
				e.Enqueue(id, killSeq)
				failed = true
			}
		}
		if failed {
			select {
			case <-e.stop:
				return
			case <-time.After(eraserRetry):
			}
		}
	}
}

func (e *Eraser) erase(ctx context.Context, articleID string, killSeq uint64) error {
	erased, err := events.EraseKilled(ctx, e.js, articleID, killSeq)
	if err != nil {
		return err
	}
	if erased.LogEvents+erased.PublicMessages+erased.EmbargoedMessages > 0 {
		e.log.Info("killed article erased", "article", articleID, "log_events", erased.LogEvents,
			"public_messages", erased.PublicMessages, "embargoed_messages", erased.EmbargoedMessages)
	}
	if e.erased != nil {
		e.erased(articleID, killSeq, erased)
	}
	return nil
}

// KilledLister lists the articles a view holds as killed; *Desk implements it.
type KilledLister interface {
	KilledIDs(ctx context.Context) ([]string, error)
}

// Sweep erases again, before it returns, every kill the views or the public stream know of:
// at every start, it finishes an erasure a crash interrupted (the queue is lost with the
// process). The views know every kill they committed, however far behind the outbox is; the
// public stream knows every kill published, whatever the views' state (a view being rebuilt).
// Erasing what is erased already costs one read per stream and article.
func (e *Eraser) Sweep(ctx context.Context, views KilledLister) error {
	kills := map[string]uint64{}
	published, err := events.KilledArticles(ctx, e.js)
	if err != nil {
		return fmt.Errorf("sweep killed articles: %w", err)
	}
	for _, k := range published {
		kills[k.ID] = k.KillSeq
	}
	if views != nil {
		ids, err := views.KilledIDs(ctx)
		if err != nil {
			// The desk's table is being rebuilt (or was dropped): the kills the views had seen
			// are found on the public stream, and those they had not reach the eraser through
			// the views' reader, which rereads the log from the lowest checkpoint.
			e.log.Warn("sweep killed articles: the desk cannot say which are killed; sweeping those on the public stream", "error", err)
			ids = nil
		}
		for _, id := range ids {
			if _, known := kills[id]; known {
				continue
			}
			seq, killed, err := events.KillOf(ctx, e.js, id)
			if err != nil {
				return fmt.Errorf("sweep killed articles: %w", err)
			}
			if killed {
				kills[id] = seq
			}
		}
	}
	for id, seq := range kills {
		if err := e.erase(ctx, id, seq); err != nil {
			return fmt.Errorf("sweep killed articles: %w", err)
		}
	}
	return nil
}
