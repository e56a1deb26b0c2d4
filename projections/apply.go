// Package projections folds the event log into SQL read models. Each view is a Watermill
// handler on its own durable JetStream consumer; it applies events and moves its checkpoint
// (the last applied stream sequence) in one SQL transaction, so a view is always exactly as far
// as its checkpoint says. A view owns its tables and their schema: a rebuild replays the log
// into a fresh set of tables while the live ones keep serving, then swaps them in (rebuild.go).
package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/sqldb"
)

// View is one read model.
type View interface {
	// Name identifies the view: its checkpoint row and its durable consumer "proj-<name>".
	// It is permanent: renaming it rebuilds the view from scratch.
	Name() string
	// Version names the rules and schema the view's tables follow. Bump it with any change to
	// Schema or Apply: serve then rebuilds the view, blue/green, at start.
	Version() int
	// Tables lists the view's base table names.
	Tables() []string
	// Schema is the DDL that creates the view's tables as t names them.
	Schema(d sqldb.Dialect, t Tables) []string
	// Apply applies a batch of events, oldest first, to the tables t names, inside tx; it must
	// not commit or roll back. It returns ErrGap when an event is not the next version of its
	// article.
	Apply(ctx context.Context, tx *sqlx.Tx, t Tables, batch []events.Envelope) error
}

// Tables names one generation of a view's tables.
type Tables struct {
	Suffix     string // "" for the live tables
	Generation int    // index names carry it, so that two generations never collide
}

// Live names the live tables; readers always use them.
var Live = Tables{}

// Name is the name of base table in this generation.
func (t Tables) Name(base string) string { return base + t.Suffix }

// Index is the name of an index of this generation.
func (t Tables) Index(name string) string { return fmt.Sprintf("%s_g%d", name, t.Generation) }

var tableRef = regexp.MustCompile(`\{(\w+)\}`)

// SQL replaces every {table} in query with that table's name in t, and binds ? for tx's driver.
func (t Tables) SQL(tx *sqlx.Tx, query string) string { return tx.Rebind(t.names(query)) }

func (t Tables) names(query string) string {
	return tableRef.ReplaceAllStringFunc(query, func(ref string) string { return t.Name(ref[1 : len(ref)-1]) })
}

var (
	// ErrGap: an event is not the next version of its article in a view. It is a bug or a lost
	// event, never skipped: the view stops there until someone looks.
	ErrGap = errors.New("version gap")
	// ErrCheckpointMoved: another process moved the view's checkpoint while this one applied
	// events; the work was rolled back.
	ErrCheckpointMoved = errors.New("checkpoint moved by another process")
	// ErrSuperseded: the database holds, or is rebuilding, a newer version of the view than
	// this process's. In a rolling deploy the newer release wins: an older one neither applies
	// events to the newer tables nor rebuilds them down; it serves reads until it is replaced.
	ErrSuperseded = errors.New("a newer version of the view is in the database")
	// ErrOlderTables: the view's live tables follow an older version than this process's (an
	// older release rebuilt them down); they must be rebuilt before this process applies to them.
	ErrOlderTables = errors.New("the view's tables follow an older version")
)

// rebuildName is the checkpoint row of a view's rebuild in progress.
func rebuildName(name string) string { return name + "+rebuild" }

// checkpoint is a view's row in checkpoints.
type checkpoint struct {
	Seq        uint64 `db:"seq"`
	Version    int    `db:"version"`
	Generation int    `db:"generation"`
}

// Apply applies env to view v's live tables and moves its checkpoint, in one transaction. An
// event at or below the checkpoint has no effect and Apply returns false. A scrub that fails
// after a kill is logged to slog.Default().
func Apply(ctx context.Context, db *sqldb.DB, v View, env events.Envelope) (applied bool, err error) {
	n, err := applyBatch(ctx, slog.Default(), db, v, v.Name(), Live, []events.Envelope{env})
	return n > 0, err
}

// applyBatch applies the events of batch above checkpoint row name to the tables t names, and
// moves that checkpoint to the last one, in one transaction. It returns how many it applied.
func applyBatch(ctx context.Context, log *slog.Logger, db *sqldb.DB, v View, name string, t Tables, batch []events.Envelope) (int, error) {
	return applyBatchTo(ctx, log, db, v, name, t, batch, false)
}

// errBehind: the view's checkpoint is behind the first event of a batch the reader handed it
// (it lacks events the log holds, or held before an erasure): it must catch up from the log.
var errBehind = errors.New("the view is behind the batch")

// applyFollowing applies a batch of the log's reader to view v's live tables, as applyBatch,
// but only if the batch follows the view's checkpoint; errBehind otherwise.
func applyFollowing(ctx context.Context, log *slog.Logger, db *sqldb.DB, v View, batch []events.Envelope) (int, error) {
	return applyBatchTo(ctx, log, db, v, v.Name(), Live, batch, true)
}

func applyBatchTo(ctx context.Context, log *slog.Logger, db *sqldb.DB, v View, name string, t Tables, batch []events.Envelope, mustFollow bool) (int, error) {
	tx, err := db.Write.BeginTxx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("view %s: begin: %w", v.Name(), err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	// On PostgreSQL the checkpoint row is locked first, as a swap locks it first: the same
	// order on both sides, so the two never deadlock.
	cp, found, err := readCheckpointForUpdate(ctx, tx, db.Dialect, name)
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, fmt.Errorf("view %s: no checkpoint row %q", v.Name(), name)
	}
	if t != Live && (cp.Generation != t.Generation || cp.Version != v.Version()) {
		// Another process restarted the rebuild (another version of the view, say).
		return 0, fmt.Errorf("view %s: rebuild tables replaced by another process: %w", v.Name(), ErrCheckpointMoved)
	}
	// Another release's rules never write to these tables: in a rolling deploy, instances of
	// two versions of a view share the database.
	if t == Live && cp.Version > v.Version() {
		return 0, fmt.Errorf("view %s: tables at version %d, this process has version %d: %w", v.Name(), cp.Version, v.Version(), ErrSuperseded)
	}
	if t == Live && cp.Version < v.Version() {
		return 0, fmt.Errorf("view %s: tables at version %d, this process has version %d: %w", v.Name(), cp.Version, v.Version(), ErrOlderTables)
	}
	for len(batch) > 0 && batch[0].Sequence <= cp.Seq {
		batch = batch[1:]
	}
	if len(batch) == 0 {
		return 0, nil
	}
	if mustFollow && batch[0].Sequence != cp.Seq+1 {
		return 0, fmt.Errorf("view %s: checkpoint %d, batch from %d: %w", v.Name(), cp.Seq, batch[0].Sequence, errBehind)
	}
	// The checkpoint passes every event of the batch, the view applies those it is about.
	last := batch[len(batch)-1].Sequence
	mine := eventsOf(v, batch)
	if len(mine) > 0 {
		if err := v.Apply(ctx, tx, t, mine); err != nil {
			first, last := mine[0], mine[len(mine)-1]
			if len(mine) == 1 {
				return 0, fmt.Errorf("view %s: apply %s %s (seq %d): %w", v.Name(), first.Type, first.ID, first.Sequence, err)
			}
			return 0, fmt.Errorf("view %s: apply seq %d to %d: %w", v.Name(), first.Sequence, last.Sequence, err)
		}
	}
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE checkpoints SET seq = ?, updated_at = ? WHERE name = ? AND seq = ?`),
		last, sqldb.FormatTime(time.Now()), name, cp.Seq)
	if err != nil {
		return 0, fmt.Errorf("view %s: move checkpoint: %w", v.Name(), err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return 0, fmt.Errorf("view %s: move checkpoint from %d: %w", v.Name(), cp.Seq, ErrCheckpointMoved)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("view %s: commit: %w", v.Name(), err)
	}
	// Readers' caches learn of the commit first: a kill must not be served from memory while
	// the scrub below waits for readers.
	if c, ok := v.(committer); ok && t == Live && len(mine) > 0 {
		c.committed(mine)
	}
	if holdsKill(mine) {
		// The killed text left the tables; make it leave the files too (a view the kill did
		// not concern held none of it). Not fatal: the next kill, or the sweep at start,
		// scrubs again.
		if err := db.Scrub(ctx); err != nil {
			log.Warn("view: scrub after a kill", "view", v.Name(), "error", err)
		}
	}
	return len(batch), nil
}

// mediaView is a view of images: it is given their events and no article's. Every other view
// is given the articles' events only (the log holds both: events.LogSubjects).
type mediaView interface{ ofMedia() }

// eventsOf is what of batch view v is about (batch itself when that is all of it).
func eventsOf(v View, batch []events.Envelope) []events.Envelope {
	_, media := v.(mediaView)
	for i, env := range batch {
		if domain.IsMediaEvent(env.Type) != media {
			// At least one to leave out: copy those to keep.
			mine := append(make([]events.Envelope, 0, len(batch)), batch[:i]...)
			for _, env := range batch[i+1:] {
				if domain.IsMediaEvent(env.Type) == media {
					mine = append(mine, env)
				}
			}
			return mine
		}
	}
	return batch
}

func holdsKill(batch []events.Envelope) bool {
	for _, env := range batch {
		if domain.ErasesEarlierEvents(env.Type) {
			return true
		}
	}
	return false
}

// committer is a view that keeps in memory something derived from its live tables: it is told
// after a batch is committed to them (never before: a reader that refilled a cache between the
// two would keep the old rows), and with a nil batch after a rebuild swapped new tables in.
type committer interface {
	committed(batch []events.Envelope)
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

// EnsureTables creates view v's live tables and checkpoint (at 0, current version, first
// generation) if it has none, so that readers find empty tables rather than none. It reports
// whether the live tables follow v's current version.
func EnsureTables(ctx context.Context, db *sqldb.DB, v View) (current bool, err error) {
	tx, err := db.Write.BeginTxx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback() //nolint:errcheck
	cp, found, err := readCheckpoint(ctx, tx, v.Name())
	if err != nil {
		return false, err
	}
	if found {
		// A table dropped by hand behind a checkpoint makes the view stale too.
		for _, table := range v.Tables() {
			if exists, err := tableExists(ctx, tx, db.Dialect, table); err != nil || !exists {
				return false, err
			}
		}
		return cp.Version == v.Version(), nil
	}
	t := Tables{Generation: 1}
	if err := dropTables(ctx, tx, v, t); err != nil {
		return false, err
	}
	for _, ddl := range v.Schema(db.Dialect, t) {
		if _, err := tx.ExecContext(ctx, ddl); err != nil {
			return false, fmt.Errorf("view %s: create tables: %w", v.Name(), err)
		}
	}
	if err := writeCheckpoint(ctx, tx, v.Name(), checkpoint{Version: v.Version(), Generation: 1}); err != nil {
		return false, err
	}
	// A new view starts empty: it is current once the log is applied, which a rebuild does fast.
	return false, tx.Commit()
}

func tableExists(ctx context.Context, tx *sqlx.Tx, d sqldb.Dialect, name string) (bool, error) {
	var n int
	query := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if d == sqldb.Postgres {
		query = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`
	}
	if err := tx.GetContext(ctx, &n, tx.Rebind(query), name); err != nil {
		return false, fmt.Errorf("look for table %s: %w", name, err)
	}
	return n > 0, nil
}

func readCheckpoint(ctx context.Context, tx *sqlx.Tx, name string) (checkpoint, bool, error) {
	return readCheckpointForUpdate(ctx, tx, sqldb.SQLite, name)
}

// readCheckpointForUpdate reads a checkpoint row and, on PostgreSQL, locks it until the
// transaction ends (SQLite's writer lock already serialises every writing transaction).
func readCheckpointForUpdate(ctx context.Context, tx *sqlx.Tx, d sqldb.Dialect, name string) (checkpoint, bool, error) {
	var cp checkpoint
	query := `SELECT seq, version, generation FROM checkpoints WHERE name = ?`
	if d == sqldb.Postgres {
		query += ` FOR UPDATE`
	}
	err := tx.GetContext(ctx, &cp, tx.Rebind(query), name)
	if errors.Is(err, sql.ErrNoRows) {
		return checkpoint{}, false, nil
	}
	if err != nil {
		return checkpoint{}, false, fmt.Errorf("checkpoint %s: %w", name, err)
	}
	return cp, true, nil
}

func writeCheckpoint(ctx context.Context, tx *sqlx.Tx, name string, cp checkpoint) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO checkpoints (name, seq, version, generation, updated_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, version = excluded.version,
		generation = excluded.generation, updated_at = excluded.updated_at`),
		name, cp.Seq, cp.Version, cp.Generation, sqldb.FormatTime(time.Now()))
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", name, err)
	}
	return nil
}

func dropTables(ctx context.Context, tx *sqlx.Tx, v View, t Tables) error {
	for _, base := range v.Tables() {
		if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS `+t.Name(base)); err != nil {
			return fmt.Errorf("view %s: drop %s: %w", v.Name(), t.Name(base), err)
		}
	}
	return nil
}

// nextVersion checks that env is the next event of an article (or image) a view holds at
// version current.
func nextVersion(current int, env events.Envelope) error {
	if domain.ErasesEarlierEvents(env.Type) && env.ArticleVersion > current {
		return nil
	}
	if env.ArticleVersion != current+1 {
		what := "article"
		if domain.IsMediaEvent(env.Type) {
			what = "image"
		}
		return fmt.Errorf("%w: %s %s is at version %d, event %s (seq %d) is version %d",
			ErrGap, what, env.ArticleID, current, env.ID, env.Sequence, env.ArticleVersion)
	}
	return nil
}

// articleIDs lists the distinct article ids of a batch, in order of first appearance.
func articleIDs(batch []events.Envelope) []string {
	seen := make(map[string]bool, len(batch))
	ids := make([]string, 0, len(batch))
	for _, env := range batch {
		if !seen[env.ArticleID] {
			seen[env.ArticleID] = true
			ids = append(ids, env.ArticleID)
		}
	}
	return ids
}

// selectIn runs query, which names tables as {table} and ends in "IN (?)", for ids in chunks,
// appending rows to dst.
func selectIn[T any](ctx context.Context, tx *sqlx.Tx, t Tables, query string, ids []string, dst *[]T) error {
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		q, args, err := sqlx.In(t.names(query), part)
		if err != nil {
			return err
		}
		var rows []T
		if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
			return err
		}
		*dst = append(*dst, rows...)
	}
	return nil
}
