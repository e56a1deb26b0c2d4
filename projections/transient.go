package projections

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

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
