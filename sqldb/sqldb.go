// Package sqldb opens the SQL database that holds the views of the event log and the operator
// state (API tokens): SQLite by default, PostgreSQL in production. It applies the migrations for
// its dialect at open, and holds the conventions every table shares (times as fixed-width UTC
// text, unique-violation detection for both drivers).
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/jmoiron/sqlx"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"               // also registers the "sqlite" database/sql driver
)

// Dialect names the SQL database behind a DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// sqliteReadConns is the size of the SQLite read pool. Readers never block each other or the
// writer under WAL, so a few connections let HTTP reads proceed while a projection writes.
const sqliteReadConns = 4

// postgresConns is the size of the PostgreSQL pool, shared by reads and writes.
const postgresConns = 16

func init() {
	// sqlx knows "sqlite3" (mattn) but not modernc's "sqlite"; without this, Named and In
	// would not know the bind style.
	sqlx.BindDriver(string(SQLite), sqlx.QUESTION)
}

// DB is an open database. Write is for transactions that change rows; Read is for queries.
// Queries are written with `?` placeholders and passed through Rebind (Write.Rebind, Read.Rebind),
// which turns them into `$1…` for PostgreSQL, so the same text runs on both dialects.
//
// For SQLite, Write has exactly one connection and every transaction on it starts with
// BEGIN IMMEDIATE, so a transaction that reads (a checkpoint) and then writes cannot fail with
// SQLITE_BUSY_SNAPSHOT; Read has several connections that are read-only (PRAGMA query_only).
// For PostgreSQL, Write and Read are the same pool.
type DB struct {
	Write   *sqlx.DB
	Read    *sqlx.DB
	Dialect Dialect
}

// Close closes both pools.
func (db *DB) Close() error {
	if db.Read == db.Write {
		return db.Write.Close()
	}
	return errors.Join(db.Read.Close(), db.Write.Close())
}

// dsnForms is what Open accepts, for error messages.
const dsnForms = `want "" (SQLite at <data-dir>/newsroom.db), "sqlite:<path>", or "postgres://…" / "postgresql://…"`

// Open opens the database that dsn names, pings it and applies its dialect's migrations.
//
//   - "" is SQLite at dataDir/newsroom.db; dataDir is created (0o750) if missing.
//   - "sqlite:<path>" is SQLite at path.
//   - "postgres://…" or "postgresql://…" is PostgreSQL (pgx). Parameters such as search_path
//     may be given in the URL.
//
// Anything else is an error that lists the accepted forms. Applying migrations that are already
// applied is a no-op, so Open may be called on every start, and by several processes at once on
// PostgreSQL (migrations run under an advisory lock).
func Open(ctx context.Context, dsn, dataDir string) (*DB, error) {
	var (
		db  *DB
		err error
	)
	switch {
	case dsn == "":
		if dataDir == "" {
			return nil, errors.New("open database: no data directory for the default SQLite database")
		}
		if err := os.MkdirAll(dataDir, 0o750); err != nil {
			return nil, fmt.Errorf("open database: create data directory: %w", err)
		}
		db, err = openSQLite(ctx, filepath.Join(dataDir, "newsroom.db"))
	case strings.HasPrefix(dsn, "sqlite:"):
		db, err = openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db, err = openPostgres(ctx, dsn)
	default:
		// Only the scheme is echoed: the rest of a URL may hold a password.
		scheme, _, _ := strings.Cut(dsn, ":")
		if len(scheme) > 20 {
			scheme = scheme[:20] + "…"
		}
		return nil, fmt.Errorf("open database: unsupported database %q: %s", scheme, dsnForms)
	}
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database: apply migrations: %w", err)
	}
	return db, nil
}

// sqlitePragmas run on every new connection, in both pools. WAL lets readers run beside the one
// writer; busy_timeout makes a second process (a CLI command beside the server) wait for the
// write lock instead of failing at once; synchronous=NORMAL is durable under WAL except for the
// last transactions before a power loss, which replay from the log restores. secure_delete
// zeroes deleted content instead of leaving it in free pages: a killed article's text must
// leave the file, not just the tables.
var sqlitePragmas = []string{
	"busy_timeout(10000)",
	"secure_delete(1)",
	"journal_mode(WAL)",
	"synchronous(NORMAL)",
	"foreign_keys(1)",
}

func sqliteDSN(path string, write bool) string {
	var b strings.Builder
	// A plain file name (not a file: URI): modernc strips the query and SQLite sees the path
	// verbatim, so '%' or '#' in a path mean nothing special.
	b.WriteString(path)
	sep := byte('?')
	add := func(kv string) {
		b.WriteByte(sep)
		b.WriteString(kv)
		sep = '&'
	}
	for _, p := range sqlitePragmas {
		add("_pragma=" + p)
	}
	if write {
		add("_txlock=immediate")
		// The one writer walks every view's B-trees: with SQLite's default 2 MB cache, tables
		// that outgrow it make each upsert read pages back (a 1,000,000-event replay took 150 s
		// with it, 115 s with 64 MiB). The readers keep the default.
		add("_pragma=cache_size(-65536)")
		// A multi-row statement (sqldb.Bulk) keeps a statement journal of the pages it
		// changes, so that it can be undone alone; in a file, its writes were a tenth of a
		// replay's CPU. It holds one statement's pages at most.
		add("_pragma=temp_store(MEMORY)")
		// Checkpoints copy the write-ahead log into the database every wal_autocheckpoint
		// pages, and fsync it: at SQLite's default of 1,000 pages (4 MB), a replay rewrote the
		// same hot pages (B-tree interiors, the checkpoints row) into the database dozens of
		// times over, a sixth of its CPU. Kills still truncate the log at once (Scrub).
		add("_pragma=wal_autocheckpoint(16384)")
	} else {
		add("_query_only=1")
	}
	return b.String()
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New(`sqlite: empty path after "sqlite:"`)
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite %s: a path may not contain '?'", path)
	}
	// The writer opens (and creates) the file first and migrates it; the read pool opens after,
	// so a query_only connection never meets a file that is not yet in WAL mode.
	w, err := openSQLitePool(sqliteDSN(path, true))
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	r, err := openSQLitePool(sqliteDSN(path, false))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	r.SetMaxOpenConns(sqliteReadConns)
	r.SetMaxIdleConns(sqliteReadConns)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	return &DB{Write: w, Read: r, Dialect: SQLite}, nil
}

// openSQLitePool opens a pool of SQLite connections that keep their prepared statements (see
// cachingConnector).
func openSQLitePool(dsn string) (*sqlx.DB, error) {
	connector, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sqlx.NewDb(sql.OpenDB(cachingConnector{connector}), string(SQLite)), nil
}

// postgresConnectTimeout bounds the opening of one connection (dial, TLS, start-up) unless the
// URL's connect_timeout or PGCONNECT_TIMEOUT says otherwise. pgx has no bound by default: behind
// a network that drops packets, a view, a token check or a read would wait for a connection
// forever, and would not notice the database's return.
const postgresConnectTimeout = "5"

func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	if u, err := url.Parse(dsn); err == nil && u.Query().Get("connect_timeout") == "" && os.Getenv("PGCONNECT_TIMEOUT") == "" {
		q := u.Query()
		q.Set("connect_timeout", postgresConnectTimeout)
		u.RawQuery = q.Encode()
		dsn = u.String()
	}
	db, err := sqlx.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	// Bounded so that several instances stay well under the server's max_connections
	// (100 by default).
	db.SetMaxOpenConns(postgresConns)
	db.SetMaxIdleConns(postgresConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return &DB{Write: db, Read: db, Dialect: Postgres}, nil
}

// Scrub makes deleted rows leave the database's files as far as the database allows. On
// SQLite, deleted content is zeroed in the database file (secure_delete) but older copies of
// the pages stay in the write-ahead log until a checkpoint: Scrub checkpoints and truncates it.
// PostgreSQL keeps dead row versions until VACUUM reuses their space and offers no way to
// overwrite them; Scrub does nothing there (the README says so).
func (db *DB) Scrub(ctx context.Context) error {
	if db.Dialect != SQLite {
		return nil
	}
	var busy, logFrames, checkpointed int
	if err := db.Write.QueryRowxContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &checkpointed); err != nil {
		return fmt.Errorf("sqlite: checkpoint the write-ahead log: %w", err)
	}
	if busy != 0 {
		return fmt.Errorf("sqlite: checkpoint the write-ahead log: readers kept it busy (%d of %d frames copied)", checkpointed, logFrames)
	}
	return nil
}
