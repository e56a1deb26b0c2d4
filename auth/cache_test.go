package auth_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/newsroom/newsroom/auth"
	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

func TestTokensMemory(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		t.Run("RevokedElsewhereWithin30s", func(t *testing.T) { testRevokedElsewhere(t, db) })
		t.Run("UnknownNotRemembered", func(t *testing.T) { testUnknownNotRemembered(t, db) })
		t.Run("Bounded", func(t *testing.T) { testBounded(t, db) })
	})
}

// A revocation by another process (the token revoke command) is seen once the secret was
// answered from memory for 30 s, and not before.
func testRevokedElsewhere(t *testing.T, db *sqldb.DB) {
	tk, clk := newTokens(t, db)
	ctx := testContext(t)
	secret, p := mustCreate(t, tk, "revoked-elsewhere", domain.RoleEditor)
	if _, err := tk.Authenticate(ctx, secret); err != nil {
		t.Fatalf("Authenticate before revoke: %v", err)
	}
	if err := auth.NewTokens(db).Revoke(ctx, p.TokenID); err != nil {
		t.Fatalf("Revoke through another Tokens: %v", err)
	}

	steps := []struct {
		advance time.Duration
		ok      bool
	}{
		{0, true},
		{29 * time.Second, true},
		{999 * time.Millisecond, true}, // 29.999 s after the check
		{time.Millisecond, false},      // 30 s: checked again
		{time.Second, false},
		{time.Hour, false},
	}
	var elapsed time.Duration
	for _, s := range steps {
		clk.Advance(s.advance)
		elapsed += s.advance
		got, err := tk.Authenticate(ctx, secret)
		switch {
		case s.ok && (err != nil || got != p):
			t.Errorf("%v after revocation elsewhere: Authenticate = %+v, %v; want %+v from memory", elapsed, got, err, p)
		case !s.ok && !errors.Is(err, auth.ErrUnauthenticated):
			t.Errorf("%v after revocation elsewhere: Authenticate = %+v, %v; want ErrUnauthenticated", elapsed, got, err)
		}
	}
	if n := auth.Remembered(tk); n != 0 {
		t.Errorf("%d secrets remembered after the only one was revoked; want 0", n)
	}
}

func testUnknownNotRemembered(t *testing.T, db *sqldb.DB) {
	tk, _ := newTokens(t, db)
	ctx := testContext(t)
	secret, _ := mustCreate(t, tk, "remembered", domain.RoleReporter)
	if _, err := tk.Authenticate(ctx, secret); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		garbage := fmt.Sprintf("nr_%043d", i)
		if _, err := tk.Authenticate(ctx, garbage); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("Authenticate(%q) error = %v; want ErrUnauthenticated", garbage, err)
		}
	}
	if n := auth.Remembered(tk); n != 1 {
		t.Errorf("Remembered after one valid and 200 unknown secrets = %d; want 1", n)
	}
	if auth.MaxVerified != 10_000 {
		t.Errorf("MaxVerified = %d; want 10000", auth.MaxVerified)
	}
}

// When memory is full, the secret confirmed longest ago is forgotten.
func testBounded(t *testing.T, db *sqldb.DB) {
	tk, clk := newTokens(t, db)
	auth.SetMaxVerified(tk, 3)
	ctx := testContext(t)
	secrets := make([]string, 5)
	for i := range secrets {
		secrets[i], _ = mustCreate(t, tk, fmt.Sprintf("bounded-%d", i), domain.RoleReporter)
		clk.Advance(time.Second)
		if _, err := tk.Authenticate(ctx, secrets[i]); err != nil {
			t.Fatal(err)
		}
		if n, want := auth.Remembered(tk), min(i+1, 3); n != want {
			t.Errorf("after %d secrets: Remembered = %d; want %d", i+1, n, want)
		}
	}
	// Revoked elsewhere: a remembered secret is still accepted from memory, a forgotten one is
	// checked and refused. That tells which were forgotten.
	other := auth.NewTokens(db)
	for i := range secrets {
		if _, err := other.RevokeUser(ctx, fmt.Sprintf("bounded-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i, secret := range secrets {
		_, err := tk.Authenticate(ctx, secret)
		if remembered := i >= 2; remembered && err != nil {
			t.Errorf("Authenticate(secret %d, among the last 3 verified) = %v; want it accepted from memory", i, err)
		} else if !remembered && !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("Authenticate(secret %d, evicted) = %v; want ErrUnauthenticated", i, err)
		}
	}
}

// outage is a database that a test can make stop answering, and (where it can) answer again.
type outage struct {
	db     *sqldb.DB
	stop   func()
	resume func() // nil if the database cannot come back
}

// outages opens a database of each dialect that the test can cut off: SQLite by closing its
// pools, PostgreSQL through a TCP proxy that the test stops and starts.
func outages(t *testing.T, run func(t *testing.T, o outage)) {
	t.Run("sqlite", func(t *testing.T) {
		db := sqldbtest.Open(t, sqldb.SQLite)
		run(t, outage{db: db, stop: func() {
			if err := db.Close(); err != nil {
				t.Errorf("close database: %v", err)
			}
		}})
	})
	t.Run("postgres", func(t *testing.T) {
		direct := sqldbtest.Open(t, sqldb.Postgres) // skips without NEWSROOM_TEST_POSTGRES_URL
		ctx := testContext(t)
		var schema string
		if err := direct.Read.GetContext(ctx, &schema, "SELECT current_schema()"); err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(os.Getenv(sqldbtest.PostgresURLEnv))
		if err != nil {
			t.Fatal(err)
		}
		p := sqldbtest.StartProxy(t, u.Host)
		u.Host = p.Addr()
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		db, err := sqldb.Open(ctx, u.String(), "")
		if err != nil {
			t.Fatalf("open PostgreSQL through the proxy: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		run(t, outage{db: db, stop: func() { p.Cut(sqldbtest.Refusing) }, resume: p.Restore})
	})
}

func TestAuthenticateDuringOutage(t *testing.T) {
	outages(t, func(t *testing.T, o outage) {
		tk, clk := newTokens(t, o.db)
		logs := &lockedBuffer{}
		auth.SetLogger(tk, slog.New(slog.NewTextHandler(logs, nil)))
		ctx := testContext(t)
		verified, p := mustCreate(t, tk, "verified", domain.RoleEditor)
		neverUsed, _ := mustCreate(t, tk, "never-used", domain.RoleEditor)
		if _, err := tk.Authenticate(ctx, verified); err != nil {
			t.Fatal(err)
		}

		o.stop()
		accepted := func(when string) {
			t.Helper()
			if got, err := tk.Authenticate(ctx, verified); err != nil || got != p {
				t.Errorf("%s: Authenticate(verified) = %+v, %v; want %+v", when, got, err, p)
			}
		}
		unavailable := func(when, name, secret string) {
			t.Helper()
			_, err := tk.Authenticate(ctx, secret)
			if !errors.Is(err, auth.ErrUnavailable) || errors.Is(err, auth.ErrUnauthenticated) {
				t.Errorf("%s: Authenticate(%s) error = %v; want ErrUnavailable, not ErrUnauthenticated", when, name, err)
			}
		}
		clk.Advance(10 * time.Second)
		accepted("database down, verified 10 s ago")
		for range 3 {
			clk.Advance(time.Minute)
			accepted("database down, verified minutes ago")
		}
		unavailable("database down", "a valid secret never verified here", neverUsed)
		unavailable("database down", "an unknown secret", "nr_"+strings.Repeat("B", 43))
		if _, err := tk.Authenticate(ctx, "not-a-token"); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("database down: Authenticate(malformed) error = %v; want ErrUnauthenticated", err)
		}
		if n := logs.count("level=WARN"); n != 1 {
			t.Errorf("%d warnings over one outage; want 1:\n%s", n, logs)
		}
		if o.resume == nil {
			return
		}

		o.resume()
		accepted("database back")
		if _, err := tk.Authenticate(ctx, neverUsed); err != nil {
			t.Errorf("database back: Authenticate(never-used) error = %v", err)
		}
		if !strings.Contains(logs.String(), "answers again") {
			t.Errorf("no log line says the database answers again:\n%s", logs)
		}
		if got := find(t, tk, "verified").LastUsedAt; !got.Equal(clk.Now()) {
			t.Errorf("LastUsedAt after the outage = %v; want %v (recorded again)", got, clk.Now())
		}

		o.stop()
		clk.Advance(time.Minute)
		accepted("second outage")
		if n := logs.count("level=WARN"); n != 2 {
			t.Errorf("%d warnings over two outages; want 2:\n%s", n, logs)
		}
	})
}

// lockedBuffer is a log destination that goroutines may share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) count(s string) int { return strings.Count(b.String(), s) }
