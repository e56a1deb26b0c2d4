package projections

import (
	"context"
	"fmt"

	"github.com/newsroom/newsroom/domain"
)

// KilledIDs lists the articles the desk holds as killed (by the status index): what the
// eraser's sweep at start erases again, however far behind the outbox is.
func (d *Desk) KilledIDs(ctx context.Context) ([]string, error) {
	db := d.db.Read
	var ids []string
	if err := db.SelectContext(ctx, &ids, db.Rebind(`SELECT id FROM desk_articles WHERE status = ?`), string(domain.StatusKilled)); err != nil {
		return nil, fmt.Errorf("killed articles on the desk: %w", err)
	}
	return ids, nil
}
