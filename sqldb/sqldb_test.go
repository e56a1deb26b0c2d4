package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

func testContext(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	tb.Cleanup(cancel)
	return ctx
}

// TestSQLitePragmas checks every connection of both pools, not just the first: the pragmas come
// from the DSN, so a connection the pool opens later must have them too.
func TestSQLitePragmas(t *testing.T) {
	db := sqldbtest.Open(t, sqldb.SQLite)
	ctx := testContext(t)

	if got, want := db.Write.Stats().MaxOpenConnections, 1; got != want {
		t.Errorf("Write.Stats().MaxOpenConnections = %d; want %d", got, want)
	}
	readConns := db.Read.Stats().MaxOpenConnections
	if readConns < 2 {
		t.Errorf("Read.Stats().MaxOpenConnections = %d; want several", readConns)
	}

	pools := []struct {
		name      string
		db        *sql.DB
		conns     int
		queryOnly int64
	}{
		{"write", db.Write.DB, 1, 0},
		{"read", db.Read.DB, readConns, 1},
	}
	for _, p := range pools {
		// Hold all connections at once so that each is a distinct one.
		conns := make([]*sql.Conn, p.conns)
		for i := range conns {
			c, err := p.db.Conn(ctx)
			if err != nil {
				t.Fatalf("%s pool: conn %d: %v", p.name, i, err)
			}
			defer c.Close()
			conns[i] = c
		}
		for i, c := range conns {
			var mode string
			if err := c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
				t.Fatalf("%s conn %d: PRAGMA journal_mode: %v", p.name, i, err)
			}
			if mode != "wal" {
				t.Errorf("%s conn %d: PRAGMA journal_mode = %q; want %q", p.name, i, mode, "wal")
			}
			for _, q := range []struct {
				pragma string
				want   int64
			}{
				{"busy_timeout", 10000},
				{"synchronous", 1}, // NORMAL
				{"foreign_keys", 1},
				{"query_only", p.queryOnly},
			} {
				var got int64
				if err := c.QueryRowContext(ctx, "PRAGMA "+q.pragma).Scan(&got); err != nil {
					t.Fatalf("%s conn %d: PRAGMA %s: %v", p.name, i, q.pragma, err)
				}
				if got != q.want {
					t.Errorf("%s conn %d: PRAGMA %s = %d; want %d", p.name, i, q.pragma, got, q.want)
				}
			}
		}
	}
}

func TestSQLiteReadPoolIsReadOnly(t *testing.T) {
	db := sqldbtest.Open(t, sqldb.SQLite)
	ctx := testContext(t)
	_, err := db.Read.ExecContext(ctx, "INSERT INTO checkpoints (name, seq, updated_at) VALUES ('x', 1, '')")
	if err == nil {
		t.Fatal("insert through the Read pool succeeded; want an error")
	}
	var n int
	if err := db.Read.GetContext(ctx, &n, "SELECT COUNT(*) FROM checkpoints"); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("checkpoints has %d rows after a refused insert; want 0", n)
	}
}

// TestSQLiteWriteTxIsImmediate checks that a transaction on Write takes the write lock at BEGIN:
// while it is open, another connection (that does not wait) cannot write, even though the
// transaction has not yet written anything.
func TestSQLiteWriteTxIsImmediate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "newsroom.db")
	ctx := testContext(t)
	db, err := sqldb.Open(ctx, "sqlite:"+path, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	insert := func(name string) error {
		_, err := other.ExecContext(ctx, "INSERT INTO checkpoints (name, seq, updated_at) VALUES (?, 1, '')", name)
		return err
	}
	if err := insert("before"); err != nil {
		t.Fatalf("insert with no transaction open: %v", err)
	}

	tx, err := db.Write.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = insert("during")
	var se *sqlite.Error
	if !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
		t.Errorf("insert from another connection during a Write transaction: err = %v; want SQLITE_BUSY", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := insert("after"); err != nil {
		t.Errorf("insert after the transaction ended: %v", err)
	}
}

func TestOpenDefaultCreatesDataDir(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data", "nested")
	db, err := sqldb.Open(testContext(t), "", dataDir)
	if err != nil {
		t.Fatalf("Open(\"\", %q): %v", dataDir, err)
	}
	defer db.Close()
	if db.Dialect != sqldb.SQLite {
		t.Errorf("Dialect = %q; want %q", db.Dialect, sqldb.SQLite)
	}
	fi, err := os.Stat(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&^0o750 != 0 {
		t.Errorf("data directory mode = %v; want at most 0750", perm)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "newsroom.db")); err != nil {
		t.Errorf("default database file: %v", err)
	}
}

func TestOpenRejectsUnknownDSN(t *testing.T) {
	for _, dsn := range []string{
		"mysql://root:secret@localhost/newsroom",
		"/var/lib/newsroom.db",
		"sqlite3:/tmp/x.db",
		"postgres:/missing-slashes",
	} {
		db, err := sqldb.Open(testContext(t), dsn, t.TempDir())
		if err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded; want an error", dsn)
			continue
		}
		msg := err.Error()
		for _, want := range []string{"sqlite:", "postgres://"} {
			if !strings.Contains(msg, want) {
				t.Errorf("Open(%q) error = %q; want it to name the accepted form %q", dsn, msg, want)
			}
		}
		if strings.Contains(msg, "secret") {
			t.Errorf("Open(%q) error = %q; want no password in it", dsn, msg)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	notADB := filepath.Join(t.TempDir(), "garbage.db")
	if err := os.WriteFile(notADB, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dsn := range []string{
		"sqlite:",
		"sqlite:" + notADB,
		"sqlite:" + filepath.Join(t.TempDir(), "missing", "dir", "x.db"),
		"postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=5",
	} {
		db, err := sqldb.Open(testContext(t), dsn, "")
		if err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded; want an error", dsn)
			continue
		}
		if !strings.HasPrefix(err.Error(), "open database: ") {
			t.Errorf("Open(%q) error = %q; want it to start with %q", dsn, err, "open database: ")
		}
	}
}

// TestMigrationsIdempotent opens, writes, closes and opens again: the second Open must apply
// nothing and keep the data.
func TestMigrationsIdempotent(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "newsroom.db")
	t.Run("postgres", func(t *testing.T) {
		// Reuse one schema across two Opens: the helper's DB is the first Open.
		first := sqldbtest.Open(t, sqldb.Postgres)
		var schema string
		if err := first.Read.Get(&schema, "SELECT current_schema()"); err != nil {
			t.Fatal(err)
		}
		checkReopen(t, first, withSearchPath(t, os.Getenv(sqldbtest.PostgresURLEnv), schema))
	})
	t.Run("sqlite", func(t *testing.T) {
		first, err := sqldb.Open(testContext(t), dsn, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { first.Close() })
		checkReopen(t, first, dsn)
	})
}

func withSearchPath(t *testing.T, base, schema string) string {
	t.Helper()
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

func checkReopen(t *testing.T, first *sqldb.DB, dsn string) {
	t.Helper()
	ctx := testContext(t)
	if _, err := first.Write.ExecContext(ctx, first.Write.Rebind(
		"INSERT INTO checkpoints (name, seq, updated_at) VALUES (?, ?, ?)"), "articles", 42, sqldb.FormatTime(time.Now())); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second, err := sqldb.Open(ctx, dsn, "")
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	defer second.Close()
	var seq int64
	if err := second.Read.GetContext(ctx, &seq, second.Read.Rebind("SELECT seq FROM checkpoints WHERE name = ?"), "articles"); err != nil {
		t.Fatalf("checkpoint after reopen: %v", err)
	}
	if seq != 42 {
		t.Errorf("checkpoint seq after reopen = %d; want 42", seq)
	}
	var versions []int64
	if err := second.Read.SelectContext(ctx, &versions, "SELECT version_id FROM goose_db_version WHERE version_id > 0 ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	for i, v := range versions {
		if v != int64(i+1) {
			t.Errorf("applied migrations after two Opens = %v; want 1, 2, … each once", versions)
			break
		}
	}
}

// TestSchema is the part of the contract both dialects share: the tables exist with their
// defaults, integers are 64-bit, and unique violations are recognised.
func TestSchema(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx := testContext(t)
		w := db.Write
		now := sqldb.FormatTime(time.Now())

		const bigSeq = int64(1) << 40
		if _, err := w.ExecContext(ctx, w.Rebind("INSERT INTO checkpoints (name, seq, updated_at) VALUES (?, ?, ?)"), "articles", bigSeq, now); err != nil {
			t.Fatal(err)
		}
		var seq int64
		if err := db.Read.GetContext(ctx, &seq, db.Read.Rebind("SELECT seq FROM checkpoints WHERE name = ?"), "articles"); err != nil {
			t.Fatal(err)
		}
		if seq != bigSeq {
			t.Errorf("seq = %d; want %d", seq, bigSeq)
		}

		var row struct {
			Version    int64 `db:"version"`
			Generation int64 `db:"generation"`
		}
		if err := db.Read.GetContext(ctx, &row, db.Read.Rebind("SELECT version, generation FROM checkpoints WHERE name = ?"), "articles"); err != nil {
			t.Fatal(err)
		}
		if row.Version != 0 || row.Generation != 0 {
			t.Errorf("checkpoint defaults = %+v; want version 0, generation 0", row)
		}

		// Both dialects refuse text in an integer column (SQLite because the tables are STRICT).
		if _, err := w.ExecContext(ctx, w.Rebind("INSERT INTO checkpoints (name, seq, updated_at) VALUES (?, ?, ?)"), "bad", "not a number", now); err == nil {
			t.Error("text in checkpoints.seq accepted; want an error")
		}

		insertUser := func(id, name string) error {
			_, err := w.ExecContext(ctx, w.Rebind(
				"INSERT INTO users (id, name, role, created_at) VALUES (?, ?, ?, ?)"), id, name, "editor", now)
			return err
		}
		insertToken := func(id, hash string) error {
			_, err := w.ExecContext(ctx, w.Rebind(
				"INSERT INTO tokens (id, user_id, hash, created_at) VALUES (?, ?, ?, ?)"), id, "u1", hash, now)
			return err
		}
		if err := insertUser("u1", "alice"); err != nil {
			t.Fatal(err)
		}
		if err := insertToken("t1", "h1"); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			what string
			err  error
			want bool
		}{
			{"duplicate primary key", insertToken("t1", "h2"), true},
			{"duplicate unique name", insertUser("u2", "alice"), true},
			{"duplicate unique hash", insertToken("t3", "h1"), true},
			{"wrapped duplicate", wrap(insertUser("u1", "dave")), true},
			{"not null violation", notNull(ctx, db), false},
			{"no error", nil, false},
			{"other error", errors.New("boom"), false},
		}
		for _, tt := range tests {
			if got := sqldb.IsUniqueViolation(tt.err); got != tt.want {
				t.Errorf("%s: IsUniqueViolation(%v) = %v; want %v", tt.what, tt.err, got, tt.want)
			}
		}
	})
}

func wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("create token: %w", err)
}

func notNull(ctx context.Context, db *sqldb.DB) error {
	_, err := db.Write.ExecContext(ctx, db.Write.Rebind("INSERT INTO users (id, name, role, created_at) VALUES (?, ?, ?, NULL)"), "u9", "erin", "editor")
	if err == nil {
		return errors.New("NULL created_at accepted")
	}
	return err
}
