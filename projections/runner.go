package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/sqldb"
)

// RunnerConfig wires a Runner.
type RunnerConfig struct {
	DB  *sqldb.DB
	Log Log
	// Connect opens the NATS connection the instance's reader pulls on.
	Connect func() (*nats.Conn, error)
	Logger  *slog.Logger
	// PinnedTTL is how long a silent active instance keeps the reader before another takes
	// over; events.DefaultPinnedTTL if 0. It is set on the durable at start.
	PinnedTTL time.Duration
	// AfterBatch, if set, is called with every batch the reader has handed to the views, after
	// they answered (the legal erasure starts from the kills in it).
	AfterBatch func(batch []events.Envelope)
}

// Runner keeps every view up to date with the log: one reader per instance reads the log in
// batches and feeds them to the views (reader.go); a view that fails is detached and catches
// up on its own (catchup.go); a view whose tables are missing or of another version is rebuilt
// blue/green (rebuild.go) and then joins the reader.
type Runner struct {
	cfg    RunnerConfig
	views  []View
	states map[string]*viewState
	reader *reader
	ctx    context.Context // what the reader, catch-ups and rebuilds run in
	cancel context.CancelFunc
	mu     sync.Mutex // guards closed, and wg's additions against Close's wait
	closed bool
	wg     sync.WaitGroup // catch-ups and rebuilds
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
	r.reader = newReader(r)
	return r
}

// Start creates every view's tables if they are missing and starts the reader in the
// background, until ctx ends or Close is called. A view whose tables are missing or were built
// by another version of the view is first rebuilt (blue/green, in the background): it joins
// the reader after the swap. A view whose tables belong to a newer version is superseded.
func (r *Runner) Start(ctx context.Context) error {
	r.ctx, r.cancel = context.WithCancel(ctx)
	var stale []View
	for _, v := range r.views {
		current, err := EnsureTables(ctx, r.cfg.DB, v)
		if err != nil {
			return err
		}
		if current {
			cp, err := Checkpoint(ctx, r.cfg.DB, v.Name())
			if err != nil {
				return err
			}
			r.states[v.Name()].change(func(st *viewStatus) { st.phase, st.seq = phaseAttached, cp })
			continue
		}
		if newer, err := supersededBy(ctx, r.cfg.DB, v); err != nil {
			return err
		} else if newer > 0 {
			r.supersede(v, newer)
			continue
		}
		stale = append(stale, v)
	}
	if err := r.reader.start(r.ctx); err != nil {
		r.cancel()
		return err
	}
	if len(stale) > 0 {
		// One line for them all: a first start rebuilds every view.
		names := make([]string, len(stale))
		for i, v := range stale {
			names[i] = fmt.Sprintf("%s (version %d)", v.Name(), v.Version())
		}
		r.cfg.Logger.Info("views missing or of another version: rebuilding them from the log", "views", strings.Join(names, ", "))
	}
	for _, v := range stale {
		if err := r.Rebuild(v.Name()); err != nil {
			return err
		}
	}
	return nil
}

// Close stops the reader after the batch in hand; catch-ups and rebuilds stop at their last
// checkpoint (the next start resumes there).
func (r *Runner) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
	return r.reader.close()
}

// goBackground runs fn in the background; Close waits for it. Nothing starts once Close has.
func (r *Runner) goBackground(fn func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		fn()
	}()
}

// ErrRebuilding: a rebuild of the view is already running.
var ErrRebuilding = errors.New("a rebuild of this view is already running")

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

// Rebuild starts rebuilding view name in the background, blue/green: the live tables keep
// serving (and, if the view is attached, being fed) until the rebuilt ones are swapped in. It
// returns ErrRebuilding if one is running. A view that was not attached joins the reader after
// the swap, once it has caught up.
func (r *Runner) Rebuild(name string) error {
	v, st := r.view(name)
	if v == nil {
		return fmt.Errorf("%w: %q", ErrNoView, name)
	}
	if !st.startRebuild() {
		return ErrRebuilding
	}
	r.goBackground(func() {
		p, err := r.rebuild(v, st)
		st.change(func(s *viewStatus) {
			s.rebuilding, s.rebuild, s.err = false, &p, err
			if p.Done {
				s.seq = max(s.seq, p.Checkpoint) // the swapped-in tables are at the rebuild's checkpoint
			}
		})
		if p.Done {
			r.cfg.Logger.Info("view rebuilt", "view", name, "events", p.Applied, "checkpoint", p.Checkpoint,
				"seconds", time.Since(p.Started).Seconds())
		}
		if r.ctx.Err() == nil && st.get().phase != phaseAttached && st.get().phase != phaseSuperseded {
			r.catchUp(v, slog.LevelDebug)
		}
	})
	return nil
}

// rebuild runs the rebuild of v until it is swapped in, superseded, or the runner closes.
func (r *Runner) rebuild(v View, st *viewState) (Progress, error) {
	rb := Rebuild{DB: r.cfg.DB, Log: r.cfg.Log, View: v, Live: &st.apply, Logger: r.cfg.Logger,
		Progress: func(p Progress) { st.change(func(s *viewStatus) { s.rebuild = &p }) }}
	before, _, _ := readLive(r.ctx, r.cfg.DB, v.Name()) // to recognise another instance's swap
	for attempt := 1; ; attempt++ {
		p, err := rb.Run(r.ctx)
		if err == nil || p.Done || r.ctx.Err() != nil {
			return p, err
		}
		if errors.Is(err, ErrSuperseded) {
			// A newer version of the view is in the database or being rebuilt: this process
			// does not rebuild it down, and does not apply to it.
			newer, _ := supersededBy(r.ctx, r.cfg.DB, v)
			r.supersede(v, newer)
			return p, nil
		}
		if live, found, lerr := readLive(r.ctx, r.cfg.DB, v.Name()); lerr == nil && found &&
			live.Version == v.Version() && live.Generation > before.Generation {
			// Another instance of this version ran the same rebuild and swapped it in first
			// (they shared the work): the view is rebuilt.
			r.cfg.Logger.Info("view rebuilt by another instance", "view", v.Name(), "checkpoint", live.Seq)
			p.Done, p.Checkpoint = true, live.Seq
			return p, nil
		}
		st.failed(err)
		r.cfg.Logger.Error("view rebuild failed; retrying", "view", v.Name(), "attempt", attempt, "error", err)
		select {
		case <-r.ctx.Done():
			return p, err
		case <-time.After(retryDelay(attempt)):
		}
	}
}

// supersede stops applying view v for good: the database holds (or is rebuilding) version newer
// of it, newer than this process's. The instance gives up its reader, so that an instance of
// the newer release takes the log over; the tables keep serving reads.
func (r *Runner) supersede(v View, newer int) {
	if r.markSuperseded(v, newer) {
		r.reader.standAside()
	}
}

// markSuperseded marks view v superseded; it reports whether it was not already.
func (r *Runner) markSuperseded(v View, newer int) bool {
	first := false
	r.states[v.Name()].change(func(s *viewStatus) {
		first = s.phase != phaseSuperseded
		s.phase = phaseSuperseded
	})
	if !first {
		return false
	}
	r.cfg.Logger.Warn("a newer version of the view is in the database: this instance no longer applies or rebuilds it, and leaves the log's reader to an instance of the newer release (replace this one)",
		"view", v.Name(), "version", v.Version(), "database_version", newer)
	return true
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

// Statuses returns every view's status.
func (r *Runner) Statuses() []Status {
	out := make([]Status, 0, len(r.views))
	for _, v := range r.views {
		// Another instance may be the one applying the view's events: the SQL checkpoint counts.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if cp, err := Checkpoint(ctx, r.cfg.DB, v.Name()); err == nil {
			r.states[v.Name()].change(func(s *viewStatus) { s.seq = max(s.seq, cp) })
		}
		cancel()
		s := r.states[v.Name()].get().report()
		s.Name, s.Version = v.Name(), v.Version()
		out = append(out, s)
	}
	return out
}

// WaitFor waits until the named views (every view, if none is named) have applied the log up
// to stream sequence seq, or ctx ends. Another instance may be the one applying the events:
// while this process has not seen the position, the SQL checkpoint is polled too.
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
				state.change(func(s *viewStatus) { s.seq = max(s.seq, cp) })
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

// retryDelay is how long a view waits before its n-th retry (n ≥ 1) of a failed catch-up or
// rebuild: a second, doubling to five. Short, because a view that waits is a view behind.
func retryDelay(n int) time.Duration { return events.BackoffUpTo(n, 5*time.Second) }
