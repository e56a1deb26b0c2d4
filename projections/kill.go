package projections

import (
	"context"
)

// SweepKilled erases again every article whose kill the views (views, nil for none) or the
// public stream record, before it returns: see Eraser.Sweep. It runs at every start.
func (o *Outbox) SweepKilled(ctx context.Context, views KilledLister) error {
	return o.cfg.Eraser.Sweep(ctx, views)
}
