package projections

import (
	"context"
	"fmt"

	"github.com/newsroom/newsroom/domain"
)

// ScheduledIDs lists the articles the desk holds as scheduled, or as published under an
// embargo (by the status and embargo indexes): those the scheduler must hold a schedule
// message for. It is where the scheduler's reconciliation starts; the log says what is due.
func (d *Desk) ScheduledIDs(ctx context.Context) ([]string, error) {
	db := d.db.Read
	var ids []string
	query := `SELECT id FROM desk_articles WHERE status = ? UNION SELECT id FROM desk_articles WHERE embargo_until > ''`
	if err := db.SelectContext(ctx, &ids, db.Rebind(query), string(domain.StatusScheduled)); err != nil {
		return nil, fmt.Errorf("scheduled articles on the desk: %w", err)
	}
	return ids, nil
}
