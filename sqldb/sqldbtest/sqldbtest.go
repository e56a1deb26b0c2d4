// Package sqldbtest opens real databases for tests: SQLite always, PostgreSQL when
// NEWSROOM_TEST_POSTGRES_URL names a server (without it, PostgreSQL tests skip, saying so, or
// fail under NEWSROOM_REQUIRE_POSTGRES=1). Each database is fresh (a new file, or a new schema
// on the server) and is removed when the test ends, so tests may run in parallel.
package sqldbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver for the admin connection

	"github.com/newsroom/newsroom/sqldb"
)

// PostgresURLEnv names the environment variable that holds the URL of a PostgreSQL database the
// tests may create schemas in, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const PostgresURLEnv = "NEWSROOM_TEST_POSTGRES_URL"

// RequirePostgresEnv names the environment variable that, set to 1, makes a test that needs
// PostgreSQL fail instead of skip when NEWSROOM_TEST_POSTGRES_URL is not set. CI sets it, so
// that a database it lost cannot pass as a row of skipped tests.
const RequirePostgresEnv = "NEWSROOM_REQUIRE_POSTGRES"

// PostgresServer returns NEWSROOM_TEST_POSTGRES_URL, the server a PostgreSQL test uses. When
// it is not set, the test skips, saying that what (a suite, a test) is skipped, or fails under
// NEWSROOM_REQUIRE_POSTGRES=1.
func PostgresServer(tb testing.TB, what string) string {
	tb.Helper()
	base := os.Getenv(PostgresURLEnv)
	switch {
	case base != "":
		return base
	case os.Getenv(RequirePostgresEnv) == "1":
		tb.Fatalf("%s not set, and %s=1: %s needs PostgreSQL", PostgresURLEnv, RequirePostgresEnv, what)
	default:
		tb.Skipf("%s not set: %s is skipped", PostgresURLEnv, what)
	}
	return ""
}

// Dialects runs run as the subtest "sqlite", on a fresh SQLite file, and as the subtest
// "postgres", on a fresh schema, which is skipped when NEWSROOM_TEST_POSTGRES_URL is not set
// (see PostgresServer).
// It is how one contract suite runs against both dialects.
func Dialects(t *testing.T, run func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			run(t, Open(t, d))
		})
	}
}

// Open returns a fresh, migrated database of the given dialect, closed (and for PostgreSQL,
// dropped) when the test ends. For PostgreSQL it skips the test when NEWSROOM_TEST_POSTGRES_URL
// is not set (see PostgresServer).
func Open(tb testing.TB, dialect sqldb.Dialect) *sqldb.DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var dsn string
	switch dialect {
	case sqldb.SQLite:
		dsn = "sqlite:" + filepath.Join(tb.TempDir(), "newsroom.db")
	case sqldb.Postgres:
		dsn = newSchema(tb, ctx, PostgresServer(tb, "the PostgreSQL suite"))
	default:
		tb.Fatalf("sqldbtest.Open: unknown dialect %q", dialect)
	}

	db, err := sqldb.Open(ctx, dsn, "")
	if err != nil {
		tb.Fatalf("sqldbtest.Open(%s): %v", dialect, err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close %s database: %v", dialect, err)
		}
	})
	return db
}

// PostgresURL returns the URL of a fresh, empty schema on the server NEWSROOM_TEST_POSTGRES_URL
// names (as search_path), dropped when the test ends, for a test that opens the database
// itself, or hands the URL to a process. It skips the test when the variable is not set (see
// PostgresServer).
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := PostgresServer(tb, "this PostgreSQL test")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return newSchema(tb, ctx, base)
}

// newSchema creates a schema with a random name on the server at base, registers its removal,
// and returns base with that schema as search_path.
func newSchema(tb testing.TB, ctx context.Context, base string) string {
	tb.Helper()
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("%s: %v", PostgresURLEnv, err)
	}
	schema := "nr_test_" + hex.EncodeToString(randomBytes(tb, 8))

	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("%s: %v", PostgresURLEnv, err)
	}
	// The name is ours and made of [a-z0-9_], so it needs no quoting beyond the identifier quotes.
	if _, err := admin.ExecContext(ctx, fmt.Sprintf(`CREATE SCHEMA %q`, schema)); err != nil {
		admin.Close()
		tb.Fatalf("create schema %s: %v", schema, err)
	}
	// Registered before the database's Close, so it runs after it (cleanups run last-first).
	tb.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, fmt.Sprintf(`DROP SCHEMA %q CASCADE`, schema)); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})

	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func randomBytes(tb testing.TB, n int) []byte {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return b
}
