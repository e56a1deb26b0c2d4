package sqldb

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrations holds one directory of goose SQL files per dialect. A migration, once released, is
// never edited: add a new numbered file instead.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// migrate brings db up to the newest migration for its dialect. Already applied migrations are
// skipped, so this runs on every Open.
func migrate(ctx context.Context, db *DB) error {
	var (
		dir     string
		dialect goose.Dialect
		opts    = []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	)
	switch db.Dialect {
	case SQLite:
		// The writer pool has one connection, so migrations are serialised within a process;
		// another process waits on SQLite's write lock (busy_timeout).
		dir, dialect = "migrations/sqlite", goose.DialectSQLite3
	case Postgres:
		dir, dialect = "migrations/postgres", goose.DialectPostgres
		locker, err := postgresLocker(ctx, db)
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	default:
		return fmt.Errorf("unknown dialect %q", db.Dialect)
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(dialect, db.Write.DB, fsys, opts...)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		var pe *goose.PartialError
		if errors.As(err, &pe) && pe.Failed != nil && pe.Failed.Source != nil {
			return fmt.Errorf("%s: %w", pe.Failed.Source.Path, pe.Err)
		}
		return err
	}
	return nil
}

// postgresLocker serialises migrations between instances that share a schema, with a
// session-level advisory lock. The lock id is derived from the schema so that instances (and
// test suites) using different schemas of one database do not wait for each other.
func postgresLocker(ctx context.Context, db *DB) (lock.SessionLocker, error) {
	var schema *string
	if err := db.Write.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return nil, fmt.Errorf("current schema: %w", err)
	}
	if schema == nil {
		return nil, errors.New("no schema on the search_path exists: create it or fix search_path")
	}
	h := fnv.New64a()
	h.Write([]byte("newsroom migrations\x00" + *schema))
	return lock.NewPostgresSessionLocker(
		lock.WithLockID(int64(h.Sum64())),
		lock.WithLockTimeout(1, 300), // retry each second for five minutes
	)
}
