package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/newsroom/newsroom/events"
)

// catchUpBatch bounds the events a view catching up applies in one transaction.
const catchUpBatch = 500

// rangeReader reads a short range of the log in one go, leaving nothing behind on the server
// (ReadLog's ordered consumer would linger for minutes); *events.Store implements it.
type rangeReader interface {
	ReadRange(ctx context.Context, from, until uint64, limit int) ([]events.Envelope, error)
}

// catchUp brings a view that is not attached to the reader (it failed on a batch, was behind,
// or was just rebuilt) up to what the reader has handed out, from its own checkpoint, in
// batches, then attaches it. It retries failures with a short backoff until it succeeds, the
// view is superseded, or the runner closes: a view is never left behind for good, and a
// failing event is never skipped (the view stops at it, and says so in its status).
//
// The rejoin is logged at level rejoined: news after a view fell behind or failed, routine after
// a rebuild ("view rebuilt" said it).
func (r *Runner) catchUp(v View, rejoined slog.Level) {
	st := r.states[v.Name()]
	read := func(ctx context.Context, from, until uint64) ([]events.Envelope, error) {
		if rr, ok := r.cfg.Log.(rangeReader); ok {
			return rr.ReadRange(ctx, from, until, catchUpBatch)
		}
		var out []events.Envelope
		err := r.cfg.Log.ReadLog(ctx, from, until, catchUpBatch, func(b []events.Envelope) error {
			out = append(out, b...)
			return errStopRead
		})
		if errors.Is(err, errStopRead) {
			err = nil
		}
		return out, err
	}
	// step applies the next batch the view lacks, up to until; it reports whether there was one.
	step := func(until uint64) (bool, error) {
		ctx, cancel := context.WithTimeout(r.ctx, applyTimeout(r.cfg.DB.Dialect))
		defer cancel()
		cp, err := Checkpoint(ctx, r.cfg.DB, v.Name())
		if err != nil {
			return false, err
		}
		if cp >= until {
			return false, nil
		}
		batch, err := read(ctx, cp+1, until)
		if err != nil {
			return false, fmt.Errorf("view %s: read the log to catch up: %w", v.Name(), err)
		}
		if len(batch) == 0 {
			return false, nil // what lay between was erased
		}
		st.apply.Lock()
		defer st.apply.Unlock()
		_, err = applyBatch(ctx, r.cfg.Logger, r.cfg.DB, v, v.Name(), Live, batch)
		if err != nil && len(batch) > 1 && !errors.Is(err, ErrSuperseded) && !errors.Is(err, ErrOlderTables) && ctx.Err() == nil {
			// A batch fails whole: apply its events one by one, so that the view stops
			// exactly at the failing event, with everything before it applied.
			for _, env := range batch {
				if _, err = applyBatch(ctx, r.cfg.Logger, r.cfg.DB, v, v.Name(), Live, []events.Envelope{env}); err != nil {
					break
				}
				st.applied(env.Sequence)
			}
		}
		if err != nil {
			return false, err
		}
		st.applied(batch[len(batch)-1].Sequence)
		return true, nil
	}
	for failures := 0; r.ctx.Err() == nil; {
		if ph := st.get().phase; ph == phaseSuperseded || ph == phaseAttached {
			return
		}
		// Up to what the reader has handed out; while this instance's reader stands by, up to
		// the log's end as it was, so that the view is current when it is attached.
		until := r.reader.position()
		if until == 0 {
			if last, err := r.cfg.Log.LastSequence(r.ctx); err == nil {
				until = last
			}
		}
		more, err := step(until)
		if err == nil && !more {
			if r.reader.attachIfCaughtUp(v, until) {
				st.change(func(s *viewStatus) { s.err = nil })
				r.cfg.Logger.Log(r.ctx, rejoined, "view caught up and rejoined the log's reader", "view", v.Name(), "checkpoint", st.get().seq)
				return
			}
		}
		if err == nil {
			failures = 0
			continue
		}
		if errors.Is(err, ErrSuperseded) {
			newer, _ := supersededBy(r.ctx, r.cfg.DB, v)
			r.supersede(v, newer)
			return
		}
		if errors.Is(err, ErrOlderTables) {
			// An older release rebuilt the view down: the rebuild brings it back, then
			// catches it up.
			if rerr := r.Rebuild(v.Name()); rerr == nil || errors.Is(rerr, ErrRebuilding) {
				return
			}
		}
		failures++
		st.failed(err)
		if r.ctx.Err() == nil {
			r.cfg.Logger.Error("view catch-up failed; retrying", "view", v.Name(), "attempt", failures, "error", err)
		}
		select {
		case <-r.ctx.Done():
		case <-time.After(retryDelay(failures)):
		}
	}
}

// errStopRead ends a ReadLog after its first batch.
var errStopRead = errors.New("enough read")
