package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/sqldb"
)

// Log is the event log as a rebuild reads it; *events.Store implements it.
type Log interface {
	LastSequence(ctx context.Context) (uint64, error)
	ReadLog(ctx context.Context, from, until uint64, batchSize int, fn func([]events.Envelope) error) error
}

// DefaultBatchSize is how many events a rebuild applies per transaction (fewer when they pass
// events.MaxBatchBytes). A view folds a batch per article in memory and writes each article's
// rows once per batch: larger batches write less (an article's events are spread over the log),
// and cost memory in proportion, bounded by events and bytes whatever the log's length. With
// 8,000 a 1,000,000-event replay of all three views at once (embedded NATS included) peaked at
// 496 MB resident; 10,000 at 511 MB.
const DefaultBatchSize = 8000

// Rebuild replays the log into a fresh generation of a view's tables while the live ones keep
// serving, then swaps the new tables in, in one transaction (blue/green). Its progress is
// checkpointed with every batch: a rebuild that is stopped, or killed, resumes where it stopped
// when run again.
type Rebuild struct {
	DB        *sqldb.DB
	Log       Log
	View      View
	BatchSize int // events per transaction; DefaultBatchSize if 0
	// Progress, if set, is called after every batch.
	Progress func(Progress)
	// Live, if set, is held while the tables are swapped: the live handler of this process
	// holds it while it applies an event.
	Live sync.Locker
	// Logger receives what is worth knowing but not fatal (a scrub that failed); nil:
	// slog.Default().
	Logger *slog.Logger
}

func (rb Rebuild) logger() *slog.Logger {
	if rb.Logger == nil {
		return slog.Default()
	}
	return rb.Logger
}

// Progress is how far a rebuild is.
type Progress struct {
	View       string
	Applied    uint64 // events applied by this run
	Checkpoint uint64 // the rebuild's checkpoint
	Target     uint64 // the log's last sequence when this run started
	From       uint64 // the checkpoint this run started from
	Started    time.Time
	Done       bool
}

// Remaining is how many log positions are left to the target.
func (p Progress) Remaining() uint64 {
	if p.Checkpoint >= p.Target {
		return 0
	}
	return p.Target - p.Checkpoint
}

// Rate is events applied per second so far.
func (p Progress) Rate() float64 {
	elapsed := time.Since(p.Started).Seconds()
	if elapsed <= 0 {
		return 0
	}
	return float64(p.Applied) / elapsed
}

// Run rebuilds the view and swaps it in. It returns the final progress; Done says whether the
// rebuilt tables were swapped in, which they are even when a gap (ErrGap, returned) stopped
// the rebuild, provided they are not behind the live ones.
func (rb Rebuild) Run(ctx context.Context) (Progress, error) {
	if rb.BatchSize <= 0 {
		rb.BatchSize = DefaultBatchSize
	}
	v := rb.View
	shadow, err := rb.prepare(ctx)
	if err != nil {
		return Progress{}, err
	}
	t := Tables{Suffix: "_next", Generation: shadow.Generation}
	target, err := rb.Log.LastSequence(ctx)
	if err != nil {
		return Progress{}, err
	}
	p := Progress{View: v.Name(), Checkpoint: shadow.Seq, From: shadow.Seq, Target: target, Started: time.Now()}
	catchUp := func(until uint64) error {
		apply := func(batch []events.Envelope) error {
			n, err := applyBatch(ctx, rb.logger(), rb.DB, v, rebuildName(v.Name()), t, batch)
			if err != nil {
				return err
			}
			p.Applied += uint64(n)
			p.Checkpoint = batch[len(batch)-1].Sequence
			if rb.Progress != nil {
				rb.Progress(p)
			}
			return nil
		}
		return rb.Log.ReadLog(ctx, p.Checkpoint+1, until, rb.BatchSize, func(batch []events.Envelope) error {
			err := apply(batch)
			if err == nil || len(batch) == 1 || ctx.Err() != nil {
				return err
			}
			// A batch fails whole: apply its events one by one, so that the rebuild stops
			// exactly at the failing event, with everything before it applied.
			for i := range batch {
				if err := apply(batch[i : i+1]); err != nil {
					return err
				}
			}
			return nil
		})
	}
	// A gap stops the rebuild where the live view would stop too: the rebuilt tables are
	// still swapped in if they are not behind the live ones, and the gap is reported.
	var gap error
	if err := catchUp(target); errors.Is(err, ErrGap) {
		gap = err
	} else if err != nil {
		return p, err
	}
	if gap == nil {
		// What arrived during the long pass, before the live handler is held.
		if last, err := rb.Log.LastSequence(ctx); err != nil {
			return p, err
		} else if err := catchUp(last); errors.Is(err, ErrGap) {
			gap = err
		} else if err != nil {
			return p, err
		}
	}
	if err := rb.createIndexes(ctx, t); err != nil {
		return p, err
	}
	if rb.Live != nil {
		rb.Live.Lock()
		defer rb.Live.Unlock()
	}
	for {
		swapped, liveSeq, err := rb.swap(ctx, p.Checkpoint, t)
		if err != nil {
			return p, err
		}
		if swapped {
			break
		}
		if gap != nil {
			return p, gap
		}
		// Another process applied more to the live tables: the new ones must not be behind.
		if err := catchUp(liveSeq); err != nil {
			return p, err
		}
		if p.Checkpoint < liveSeq {
			return p, fmt.Errorf("view %s: rebuild stopped at %d, the live view is at %d", v.Name(), p.Checkpoint, liveSeq)
		}
	}
	p.Done = true
	if rb.Progress != nil {
		rb.Progress(p)
	}
	return p, gap
}

// prepare creates the rebuild's tables and checkpoint, or finds those of an interrupted
// rebuild of the same version to resume.
func (rb Rebuild) prepare(ctx context.Context) (checkpoint, error) {
	v := rb.View
	tx, err := rb.DB.Write.BeginTxx(ctx, nil)
	if err != nil {
		return checkpoint{}, err
	}
	defer tx.Rollback() //nolint:errcheck
	// Locked (on PostgreSQL) so that instances starting rebuilds together decide one at a time.
	live, _, err := readCheckpointForUpdate(ctx, tx, rb.DB.Dialect, v.Name())
	if err != nil {
		return checkpoint{}, err
	}
	shadow, found, err := readCheckpointForUpdate(ctx, tx, rb.DB.Dialect, rebuildName(v.Name()))
	if err != nil {
		return checkpoint{}, err
	}
	// An older release never rebuilds a newer version down, nor replaces a newer rebuild: in
	// a rolling deploy the two would undo each other's work forever. A newer one takes over.
	if live.Version > v.Version() || found && shadow.Version > v.Version() {
		return checkpoint{}, fmt.Errorf("view %s: version %d is in the database, this process has version %d: %w",
			v.Name(), max(live.Version, shadow.Version), v.Version(), ErrSuperseded)
	}
	if found && shadow.Version == v.Version() && shadow.Generation > live.Generation {
		return shadow, nil
	}
	shadow = checkpoint{Version: v.Version(), Generation: max(live.Generation, shadow.Generation) + 1}
	t := Tables{Suffix: "_next", Generation: shadow.Generation}
	if err := dropTables(ctx, tx, v, t); err != nil {
		return checkpoint{}, err
	}
	tables, _ := RebuildSchema(v, rb.DB.Dialect, t)
	for _, ddl := range tables {
		if _, err := tx.ExecContext(ctx, ddl); err != nil {
			return checkpoint{}, fmt.Errorf("view %s: create rebuild tables: %w", v.Name(), err)
		}
	}
	if err := writeCheckpoint(ctx, tx, rebuildName(v.Name()), shadow); err != nil {
		return checkpoint{}, err
	}
	return shadow, tx.Commit()
}

// swap replaces the live tables with the rebuilt ones, unless the live view is ahead of the
// rebuild (then it returns false and the live checkpoint).
func (rb Rebuild) swap(ctx context.Context, rebuilt uint64, t Tables) (bool, uint64, error) {
	v := rb.View
	tx, err := rb.DB.Write.BeginTxx(ctx, nil)
	if err != nil {
		return false, 0, err
	}
	defer tx.Rollback() //nolint:errcheck
	// The live checkpoint is locked first (on PostgreSQL), as every apply locks it first.
	live, found, err := readCheckpointForUpdate(ctx, tx, rb.DB.Dialect, v.Name())
	if err != nil {
		return false, 0, err
	}
	mine, ok, err := readCheckpointForUpdate(ctx, tx, rb.DB.Dialect, rebuildName(v.Name()))
	if err != nil {
		return false, 0, err
	}
	if !ok || mine.Seq != rebuilt || mine.Generation != t.Generation || mine.Version != v.Version() {
		return false, 0, fmt.Errorf("view %s: the rebuild's tables were replaced by another process: %w", v.Name(), ErrCheckpointMoved)
	}
	if found && live.Seq > rebuilt {
		return false, live.Seq, nil
	}
	if err := dropTables(ctx, tx, v, Live); err != nil {
		return false, 0, err
	}
	for _, base := range v.Tables() {
		if _, err := tx.ExecContext(ctx, `ALTER TABLE `+t.Name(base)+` RENAME TO `+base); err != nil {
			return false, 0, fmt.Errorf("view %s: swap in %s: %w", v.Name(), base, err)
		}
	}
	if err := writeCheckpoint(ctx, tx, v.Name(), checkpoint{Seq: rebuilt, Version: v.Version(), Generation: t.Generation}); err != nil {
		return false, 0, err
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM checkpoints WHERE name = ?`), rebuildName(v.Name())); err != nil {
		return false, 0, err
	}
	if err := tx.Commit(); err != nil {
		return false, 0, err
	}
	if c, ok := v.(committer); ok {
		c.committed(nil)
	}
	return true, rebuilt, nil
}

// createIndexes creates the secondary indexes of the rebuild's tables (see deferIndexes), in
// one transaction that checks the tables are still this rebuild's.
func (rb Rebuild) createIndexes(ctx context.Context, t Tables) error {
	v := rb.View
	_, indexes := RebuildSchema(v, rb.DB.Dialect, t)
	if len(indexes) == 0 {
		return nil
	}
	if rb.DB.Dialect == sqldb.SQLite {
		// Held so that the rebuilds of a RebuildAll, which take turns on SQLite's one writer
		// anyway, do not set temp_store back under each other.
		sqliteIndexBuild.Lock()
		defer sqliteIndexBuild.Unlock()
		// SQLite sorts an index's entries in memory up to its cache size and beyond that in
		// temporary files, unless temp_store keeps those in memory too (as the writer's
		// connection does for its statement journals): the sort of a long log's index would
		// then hold it all. PostgreSQL bounds it by maintenance_work_mem.
		if _, err := rb.DB.Write.ExecContext(ctx, `PRAGMA temp_store = FILE`); err != nil {
			return fmt.Errorf("view %s: create indexes: %w", v.Name(), err)
		}
		defer rb.DB.Write.ExecContext(context.WithoutCancel(ctx), `PRAGMA temp_store = MEMORY`) //nolint:errcheck
		// The sort holds up to a page cache's worth of entries in memory beside the page cache
		// itself: both are made small while indexes are built, so that the peak stays that of
		// the long pass.
		var cacheSize int
		if err := rb.DB.Write.GetContext(ctx, &cacheSize, `PRAGMA cache_size`); err != nil {
			return fmt.Errorf("view %s: create indexes: %w", v.Name(), err)
		}
		if _, err := rb.DB.Write.ExecContext(ctx, `PRAGMA cache_size = -16384`); err != nil {
			return fmt.Errorf("view %s: create indexes: %w", v.Name(), err)
		}
		defer rb.DB.Write.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`PRAGMA cache_size = %d`, cacheSize)) //nolint:errcheck
	}
	tx, err := rb.DB.Write.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck
	mine, ok, err := readCheckpointForUpdate(ctx, tx, rb.DB.Dialect, rebuildName(v.Name()))
	if err != nil {
		return err
	}
	if !ok || mine.Generation != t.Generation || mine.Version != v.Version() {
		return fmt.Errorf("view %s: the rebuild's tables were replaced by another process: %w", v.Name(), ErrCheckpointMoved)
	}
	for _, ddl := range indexes {
		if _, err := tx.ExecContext(ctx, ddl); err != nil {
			return fmt.Errorf("view %s: create index: %w", v.Name(), err)
		}
	}
	return tx.Commit()
}

var sqliteIndexBuild sync.Mutex
