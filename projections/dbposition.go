package projections

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// DatabasePosition is how far the database holds the log for this runner's views: the lowest of
// their SQL checkpoints (0 while one has none), whichever instance applied them. It is read in
// one query, so an error also means the database does not answer.
func (r *Runner) DatabasePosition(ctx context.Context) (uint64, error) {
	names := make([]string, len(r.views))
	for i, v := range r.views {
		names[i] = v.Name()
	}
	if len(names) == 0 {
		return 0, nil
	}
	query, args, err := sqlx.In(`SELECT name, seq FROM checkpoints WHERE name IN (?)`, names)
	if err != nil {
		return 0, err
	}
	var rows []struct {
		Name string `db:"name"`
		Seq  uint64 `db:"seq"`
	}
	db := r.cfg.DB.Read
	if err := db.SelectContext(ctx, &rows, db.Rebind(query), args...); err != nil {
		return 0, fmt.Errorf("read the views' checkpoints: %w", err)
	}
	if len(rows) < len(names) {
		return 0, nil // a view not yet created holds nothing
	}
	lowest := rows[0].Seq
	for _, row := range rows[1:] {
		lowest = min(lowest, row.Seq)
	}
	return lowest, nil
}
