package projections

import (
	"context"
	"errors"
	"sync"

	"github.com/newsroom/newsroom/events"
)

// RebuildAll runs the rebuilds at once, reading the log once for all of them: the first long
// pass of each, when it starts where the first rebuild's does, receives the same decoded
// batches, paced by the slowest view; any other read each does for itself. With one SQLite
// writer the views' transactions still take turns, but the log is read and decoded once instead
// of once per view, and one view's decoding overlaps another's writing. It returns each
// rebuild's final progress and error, in order.
func RebuildAll(ctx context.Context, rebuilds []Rebuild) ([]Progress, []error) {
	progress := make([]Progress, len(rebuilds))
	errs := make([]error, len(rebuilds))
	if len(rebuilds) == 0 {
		return progress, errs
	}
	shared := &sharedRead{log: rebuilds[0].Log, subs: make([]chan []events.Envelope, len(rebuilds))}
	for i := range shared.subs {
		shared.subs[i] = make(chan []events.Envelope, 1) // one batch ahead: decoding overlaps writing, memory stays a few batches
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for i, rb := range rebuilds {
		rb.Log = &sharedReader{sharedRead: shared, index: i}
		wg.Add(1)
		go func() {
			defer wg.Done()
			progress[i], errs[i] = rb.Run(ctx)
			go drain(shared.subs[i]) // whatever it did not take, so that the others go on
		}()
	}
	wg.Wait()
	return progress, errs
}

// sharedRead is one read of the log, fanned out to every rebuild of a RebuildAll.
type sharedRead struct {
	log  Log
	once sync.Once
	from uint64
	subs []chan []events.Envelope
	err  error // set before the channels close
}

func (s *sharedRead) start(ctx context.Context, from, until uint64, batchSize int) {
	s.once.Do(func() {
		s.from = from
		go func() {
			s.err = s.log.ReadLog(ctx, from, until, batchSize, func(batch []events.Envelope) error {
				// Decoded here, once for every view (an envelope keeps what it decoded), while
				// the views write the batch before: decoding overlaps SQL. An error is kept
				// too, and met by each view at its event.
				for _, env := range batch {
					env.Recorded() //nolint:errcheck
				}
				for _, sub := range s.subs {
					select {
					case sub <- batch:
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				return nil
			})
			for _, sub := range s.subs {
				close(sub)
			}
		}()
	})
}

// sharedReader is the Log one rebuild of a RebuildAll sees.
type sharedReader struct {
	*sharedRead
	index int
	used  bool
}

func (r *sharedReader) LastSequence(ctx context.Context) (uint64, error) {
	return r.log.LastSequence(ctx)
}

func (r *sharedReader) ReadLog(ctx context.Context, from, until uint64, batchSize int, fn func([]events.Envelope) error) error {
	if r.used {
		return r.log.ReadLog(ctx, from, until, batchSize, fn)
	}
	r.used = true
	r.start(ctx, from, until, batchSize)
	sub := r.subs[r.index]
	if from != r.from {
		// This rebuild resumes elsewhere: it lets the shared read pass and reads alone.
		go drain(sub)
		return r.log.ReadLog(ctx, from, until, batchSize, fn)
	}
	for batch := range sub {
		if err := fn(batch); err != nil {
			go drain(sub)
			return err
		}
	}
	if r.err != nil && !errors.Is(r.err, context.Canceled) {
		return r.err
	}
	return ctx.Err()
}

func drain(sub <-chan []events.Envelope) {
	for range sub {
	}
}
