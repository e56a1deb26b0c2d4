// Package projections folds the event log into SQL read models. Each view is a Watermill
// handler on its own durable JetStream consumer; it applies an event and moves its checkpoint
// (the event's stream sequence) in one SQL transaction, so a view is always exactly as far as
// its checkpoint says and can be dropped and rebuilt from the log at any time.
package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/sqldb"
)

// View is one read model. Apply writes what one event changes; it runs inside the transaction
// that also moves the view's checkpoint, and must not commit or roll back.
type View interface {
	// Name identifies the view: its checkpoint row and its durable consumer "proj-<name>".
	// It is permanent: renaming it rebuilds the view from scratch.
	Name() string
	// Apply returns ErrGap when the event is not the next version of its article.
	Apply(ctx context.Context, tx *sqlx.Tx, env events.Envelope) error
}

var (
	// ErrGap: an event is not the next version of its article in a view. It is a bug or a lost
	// event, never skipped: the view stops there until someone looks.
	ErrGap = errors.New("version gap")
	// ErrCheckpointMoved: another process moved the view's checkpoint while this one applied an
	// event; the work was rolled back.
	ErrCheckpointMoved = errors.New("checkpoint moved by another process")
)

// Durable is the name of the durable consumer that feeds view name. Durable names are
// permanent: renaming one makes the view start over from its SQL checkpoint.
func Durable(name string) string { return "proj-" + name }

// Apply applies env to view v and moves v's checkpoint to env.Sequence in one transaction. An
// event at or below the checkpoint has no effect and Apply returns false.
func Apply(ctx context.Context, db *sqldb.DB, v View, env events.Envelope) (applied bool, err error) {
	tx, err := db.Write.BeginTxx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("view %s: begin: %w", v.Name(), err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	checkpoint, err := readCheckpoint(ctx, tx, v.Name())
	if err != nil {
		return false, err
	}
	if env.Sequence <= checkpoint {
		return false, nil
	}
	if err := v.Apply(ctx, tx, env); err != nil {
		return false, fmt.Errorf("view %s: apply %s %s (seq %d): %w", v.Name(), env.Type, env.ID, env.Sequence, err)
	}
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE checkpoints SET seq = ?, updated_at = ? WHERE name = ? AND seq = ?`),
		env.Sequence, sqldb.FormatTime(time.Now()), v.Name(), checkpoint)
	if err != nil {
		return false, fmt.Errorf("view %s: move checkpoint: %w", v.Name(), err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return false, fmt.Errorf("view %s: move checkpoint from %d: %w", v.Name(), checkpoint, ErrCheckpointMoved)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("view %s: commit: %w", v.Name(), err)
	}
	return true, nil
}

// Checkpoint returns the stream sequence view name has applied up to (0 for none).
func Checkpoint(ctx context.Context, db *sqldb.DB, name string) (uint64, error) {
	var seq uint64
	err := db.Read.GetContext(ctx, &seq, db.Read.Rebind(`SELECT seq FROM checkpoints WHERE name = ?`), name)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("view %s: read checkpoint: %w", name, err)
	}
	return seq, nil
}

// EnsureCheckpoint creates view name's checkpoint at 0 if it has none.
func EnsureCheckpoint(ctx context.Context, db *sqldb.DB, name string) error {
	_, err := db.Write.ExecContext(ctx, db.Write.Rebind(
		`INSERT INTO checkpoints (name, seq, updated_at) VALUES (?, 0, ?) ON CONFLICT (name) DO NOTHING`),
		name, sqldb.FormatTime(time.Now()))
	if err != nil {
		return fmt.Errorf("view %s: create checkpoint: %w", name, err)
	}
	return nil
}

func readCheckpoint(ctx context.Context, tx *sqlx.Tx, name string) (uint64, error) {
	var seq uint64
	err := tx.GetContext(ctx, &seq, tx.Rebind(`SELECT seq FROM checkpoints WHERE name = ?`), name)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("view %s: no checkpoint row (EnsureCheckpoint not called)", name)
	}
	if err != nil {
		return 0, fmt.Errorf("view %s: read checkpoint: %w", name, err)
	}
	return seq, nil
}

// nextVersion checks that env is the next event of an article a view holds at version current.
func nextVersion(current int, env events.Envelope) error {
	if env.ArticleVersion != current+1 {
		return fmt.Errorf("%w: article %s is at version %d, event is version %d", ErrGap, env.ArticleID, current, env.ArticleVersion)
	}
	return nil
}
