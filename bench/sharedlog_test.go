package bench

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/newsroom/newsroom/events"
)

// sharedLog reads the log once for several rebuilds that run at once, to measure what reading
// and decoding the log once per replay (instead of once per view) would save. The first
// ReadLog from position 1 of each of the n callers receives the same batches, read and decoded
// once; any other read goes to the store. The views only read the envelopes they are given.
type sharedLog struct {
	store   *events.Store
	n       int32
	callers atomic.Int32
	once    sync.Once
	subs    []chan []events.Envelope
	err     error // set before the channels close
}

func newSharedLog(store *events.Store, n int) *sharedLog {
	l := &sharedLog{store: store, n: int32(n), subs: make([]chan []events.Envelope, n)}
	for i := range l.subs {
		l.subs[i] = make(chan []events.Envelope, 4) // bounded: the slowest view sets the pace
	}
	return l
}

func (l *sharedLog) LastSequence(ctx context.Context) (uint64, error) {
	return l.store.LastSequence(ctx)
}

func (l *sharedLog) ReadLog(ctx context.Context, from, until uint64, batchSize int, fn func([]events.Envelope) error) error {
	if from > 1 {
		return l.store.ReadLog(ctx, from, until, batchSize, fn)
	}
	i := l.callers.Add(1) - 1
	if i >= l.n {
		return l.store.ReadLog(ctx, from, until, batchSize, fn)
	}
	l.once.Do(func() {
		go func() {
			l.err = l.store.ReadLog(ctx, from, until, batchSize, func(batch []events.Envelope) error {
				for _, sub := range l.subs {
					sub <- batch
				}
				return nil
			})
			for _, sub := range l.subs {
				close(sub)
			}
		}()
	})
	sub := l.subs[i]
	for batch := range sub {
		if err := fn(batch); err != nil {
			go func() {
				for range sub { // let the others go on
				}
			}()
			return err
		}
	}
	return l.err
}
