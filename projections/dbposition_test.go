package projections_test

import (
	"context"
	"testing"

	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// TestDatabasePosition: the database holds the log up to its views' lowest checkpoint, 0 while a
// view has none; a database that does not answer is an error, not a position.
func TestDatabasePosition(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		views := []projections.View{projections.NewPublished(db), projections.NewDesk(db), projections.NewHistory(db)}
		r := projections.NewRunner(projections.RunnerConfig{DB: db}, views...)
		position := func(want uint64, when string) {
			t.Helper()
			if got, err := r.DatabasePosition(ctx); err != nil || got != want {
				t.Errorf("%s: DatabasePosition = %d, %v; want %d", when, got, err, want)
			}
		}
		position(0, "before any view has tables")
		for i, v := range views {
			if _, err := projections.EnsureTables(ctx, db, v); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Write.ExecContext(ctx, db.Write.Rebind(`UPDATE checkpoints SET seq = ? WHERE name = ?`), 19+i, v.Name()); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				position(0, "while two views have no checkpoint")
			}
		}
		position(19, "views at 19, 20 and 21")
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if got, err := r.DatabasePosition(ctx); err == nil {
			t.Errorf("DatabasePosition with the database closed = %d, nil; want an error", got)
		}
	})
}
