package auth_test

import (
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // "sqlite" driver, to build the database as an older release left it

	"github.com/newsroom/newsroom/auth"
	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// oneTokenPerName is the last migration of the releases in which a token was its own user
// (tokens.name unique, tokens.id the user id).
const oneTokenPerName = 4

// oldDatabase is a database that a test migrates by hand, to leave it as an older release did.
type oldDatabase struct {
	dialect        sqldb.Dialect
	dsn            string // for sqldb.Open
	driver, source string // for database/sql, without sqldb's migrations
}

func openOld(t *testing.T, dialect sqldb.Dialect) oldDatabase {
	t.Helper()
	switch dialect {
	case sqldb.SQLite:
		path := filepath.Join(t.TempDir(), "newsroom.db")
		return oldDatabase{dialect: dialect, dsn: "sqlite:" + path, driver: "sqlite", source: path}
	default:
		dsn := sqldbtest.PostgresURL(t)
		return oldDatabase{dialect: dialect, dsn: dsn, driver: "pgx", source: dsn}
	}
}

// migrateTo runs the repository's migrations for the dialect up (or down) to version.
func (o oldDatabase) migrateTo(t *testing.T, version int64) {
	t.Helper()
	raw, err := sql.Open(o.driver, o.source)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	dialect, dir := goose.DialectSQLite3, "sqlite"
	if o.dialect == sqldb.Postgres {
		dialect, dir = goose.DialectPostgres, "postgres"
	}
	p, err := goose.NewProvider(dialect, raw, os.DirFS(filepath.Join("..", "sqldb", "migrations", dir)),
		goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	current, err := p.GetDBVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if version >= current {
		_, err = p.UpTo(ctx, version)
	} else {
		_, err = p.DownTo(ctx, version)
	}
	if err != nil {
		t.Fatalf("migrate %s to %d: %v", o.dialect, version, err)
	}
}

func (o oldDatabase) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	raw, err := sql.Open(o.driver, o.source)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.ExecContext(testContext(t), sqlx.Rebind(sqlx.BindType(o.driver), query), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// oldSecret makes a secret as Create does, and its stored hash.
func oldSecret(t *testing.T) (secret, hash string) {
	t.Helper()
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	secret = "nr_" + base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(secret))
	return secret, hex.EncodeToString(sum[:])
}

// An existing database upgrades: each old token becomes a user of the same id (the id its
// events record), name and role, holding that token; a revoked one stays revoked, and its name
// no longer blocks a new token, which belongs to the same user.
func TestTokensUpgradeFromOneTokenPerName(t *testing.T) {
	for _, dialect := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			old := openOld(t, dialect)
			old.migrateTo(t, oneTokenPerName)
			const (
				ritaID = "0b6f3c1e-9a4d-4f7e-8c21-5d2a7e9b1c01"
				edID   = "3e9a7b2c-1d4f-4a8e-9b6c-7f1e2d3c4b02"
			)
			rita, ritaHash := oldSecret(t)
			ed, edHash := oldSecret(t)
			insert := "INSERT INTO tokens (id, name, role, hash, created_at, last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
			old.exec(t, insert, ritaID, "rita", "reporter", ritaHash, "2026-11-01T09:00:00.000000Z", "2026-11-02T09:00:00.000000Z", "")
			old.exec(t, insert, edID, "ed", "editor", edHash, "2026-11-01T09:00:00.000000Z", "", "2026-11-03T09:00:00.000000Z")

			ctx := testContext(t)
			db, err := sqldb.Open(ctx, old.dsn, "")
			if err != nil {
				t.Fatalf("open (and upgrade) the old database: %v", err)
			}
			tk := auth.NewTokens(db)

			if info := find(t, tk, "rita"); info.LastUsedAt.Format("2006-01-02") != "2026-11-02" {
				t.Errorf("List: rita's old token last used %v; want 2026-11-02", info.LastUsedAt)
			}
			want := auth.Principal{UserID: ritaID, Name: "rita", Role: domain.RoleReporter, TokenID: ritaID}
			if got, err := tk.Authenticate(ctx, rita); err != nil || got != want {
				t.Errorf("Authenticate(rita's old token) = %+v, %v; want %+v", got, err, want)
			}
			if got, err := tk.Authenticate(ctx, ed); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Errorf("Authenticate(ed's revoked old token) = %+v, %v; want ErrUnauthenticated", got, err)
			}
			if info := find(t, tk, "ed"); !info.Revoked() || info.RevokedAt.Format("2006-01-02") != "2026-11-03" || info.UserID != edID {
				t.Errorf("List: ed's old token = %+v; want user %s, revoked on 2026-11-03", info, edID)
			}

			// New tokens for the old names belong to the old users.
			_, p := mustCreate(t, tk, "rita", domain.RoleReporter)
			if p.UserID != ritaID {
				t.Errorf("a new token for rita: user %s; want the old %s", p.UserID, ritaID)
			}
			edAgain, p := mustCreate(t, tk, "ed", "")
			if p.UserID != edID || p.Role != domain.RoleEditor {
				t.Errorf("a new token for ed (whose old one is revoked): %+v; want user %s, editor", p, edID)
			}
			if got, err := tk.Authenticate(ctx, edAgain); err != nil || got.UserID != edID {
				t.Errorf("Authenticate(ed's new token) = %+v, %v; want user %s", got, err, edID)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}

			// Down again: one token per name, each user's newest active one under the user's id.
			old.migrateTo(t, oneTokenPerName)
			raw, err := sql.Open(old.driver, old.source)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			rows, err := raw.QueryContext(ctx, "SELECT id, name, role, hash, revoked_at FROM tokens ORDER BY name")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var got [][5]string
			for rows.Next() {
				var r [5]string
				if err := rows.Scan(&r[0], &r[1], &r[2], &r[3], &r[4]); err != nil {
					t.Fatal(err)
				}
				got = append(got, r)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256([]byte(edAgain))
			if len(got) != 2 || got[0][0] != edID || got[0][1] != "ed" || got[0][3] != hex.EncodeToString(sum[:]) || got[0][4] != "" ||
				got[1][0] != ritaID || got[1][1] != "rita" || got[1][2] != "reporter" {
				t.Errorf("tokens after migrating down = %q; want ed (its new, active token) and rita, under their user ids", got)
			}
		})
	}
}
