package projections

import "context"

// OpenOnly prepares the outbox for PublishBatch without consuming its durable: a test feeds it
// batches itself.
func (o *Outbox) OpenOnly(ctx context.Context) error { return o.open(ctx) }

// Crash closes the outbox's NATS connection at once, publishes in flight included, as a
// crashed process would; Close still has to be called.
func (o *Outbox) Crash() { o.nc.Close() }
