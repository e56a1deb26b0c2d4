package auth_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/newsroom/newsroom/auth"
	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// TestSessions is the session store's contract, on SQLite and PostgreSQL.
func TestSessions(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		t.Run("CreateThenAuthenticate", func(t *testing.T) { testSessionCreate(t, db) })
		t.Run("BadIDs", func(t *testing.T) { testSessionBadIDs(t, db) })
		t.Run("BadSecret", func(t *testing.T) { testSessionBadSecret(t, db) })
		t.Run("End", func(t *testing.T) { testSessionEnd(t, db) })
		t.Run("Expires", func(t *testing.T) { testSessionExpires(t, db) })
		t.Run("TokenRevoked", func(t *testing.T) { testSessionTokenRevoked(t, db) })
		t.Run("OnlyHashStored", func(t *testing.T) { testSessionOnlyHashStored(t, db) })
	})
}

func testSessionCreate(t *testing.T, db *sqldb.DB) {
	tk, clk := newTokens(t, db)
	ss := auth.NewSessions(tk, time.Hour)
	ctx := testContext(t)
	secret, p := mustCreate(t, tk, "sess-create", domain.RoleEditor)
	id, s, err := ss.Create(ctx, secret)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if !strings.HasPrefix(id, "ns_") || len(id) != len("ns_")+43 {
		t.Errorf("id = %q; want \"ns_\" and 43 base64url characters", id)
	}
	if s.Principal != p || len(s.CSRFToken) != 43 || !s.CreatedAt.Equal(clk.Now()) || !s.ExpiresAt.Equal(clk.Now().Add(time.Hour)) {
		t.Errorf("Create = %+v; want %+v, a 43-character CSRF token, made now, expiring in an hour", s, p)
	}
	id2, s2, err := ss.Create(ctx, secret)
	if err != nil || id2 == id || s2.CSRFToken == s.CSRFToken {
		t.Errorf("a second Create = %q, %q, %v; want another id and CSRF token", id2, s2.CSRFToken, err)
	}

	clk.Advance(time.Minute)
	got, err := ss.Authenticate(ctx, id)
	if err != nil || got != s {
		t.Errorf("Authenticate = %+v, %v; want %+v", got, err, s)
	}
	// Another process on the same database (another instance) accepts it.
	other := auth.NewSessions(tokensAt(db, clk), time.Hour)
	if got, err := other.Authenticate(ctx, id); err != nil || got.Principal != p || got.CSRFToken != s.CSRFToken {
		t.Errorf("another instance: Authenticate = %+v, %v; want %+v", got, err, s)
	}
	if got := find(t, tk, "sess-create").LastUsedAt; !got.Equal(clk.Now()) {
		t.Errorf("token LastUsedAt = %v; want %v: a session's use is its token's", got, clk.Now())
	}
}

func testSessionBadIDs(t *testing.T, db *sqldb.DB) {
	tk, _ := newTokens(t, db)
	ss := auth.NewSessions(tk, time.Hour)
	ctx := testContext(t)
	secret, _ := mustCreate(t, tk, "sess-bad-ids", domain.RoleEditor)
	id, _, err := ss.Create(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	flipped := []byte(id)
	flipped[10] ^= 'A' ^ 'B'
	for _, bad := range []string{"", "ns_", id[:len(id)-1], id + "A", string(flipped), secret,
		"ns_" + strings.Repeat("A", 43), strings.TrimPrefix(id, "ns_")} {
		if _, err := ss.Authenticate(ctx, bad); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("Authenticate(%q) error = %v; want ErrUnauthenticated", bad, err)
		}
	}
}

func testSessionBadSecret(t *testing.T, db *sqldb.DB) {
	tk, _ := newTokens(t, db)
	ss := auth.NewSessions(tk, time.Hour)
	ctx := testContext(t)
	secret, p := mustCreate(t, tk, "sess-bad-secret", domain.RoleEditor)
	for _, bad := range []string{"", "nr_" + strings.Repeat("A", 43), secret + "A"} {
		if _, _, err := ss.Create(ctx, bad); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("Create(%q) error = %v; want ErrUnauthenticated", bad, err)
		}
	}
	if err := tk.Revoke(ctx, p.TokenID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ss.Create(ctx, secret); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("Create(revoked secret) error = %v; want ErrUnauthenticated", err)
	}
}

func testSessionEnd(t *testing.T, db *sqldb.DB) {
	tk, clk := newTokens(t, db)
	ss := auth.NewSessions(tk, time.Hour)
	other := auth.NewSessions(tokensAt(db, clk), time.Hour)
	ctx := testContext(t)
	secret, _ := mustCreate(t, tk, "sess-end", domain.RoleReporter)
	id, _, err := ss.Create(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	kept, _, err := ss.Create(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Authenticate(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := ss.End(ctx, id); err != nil {
		t.Fatalf("End: %v", err)
	}
	for name, s := range map[string]*auth.Sessions{"this instance": ss, "another instance": other} {
		if _, err := s.Authenticate(ctx, id); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("%s: Authenticate(ended) error = %v; want ErrUnauthenticated", name, err)
		}
	}
	if _, err := ss.Authenticate(ctx, kept); err != nil {
		t.Errorf("Authenticate(another session of the token) error = %v; want it kept", err)
	}
	if err := ss.End(ctx, id); err != nil {
		t.Errorf("End(ended) error = %v; want nil", err)
	}
}

func testSessionExpires(t *testing.T, db *sqldb.DB) {
	tk, clk := newTokens(t, db)
	ss := auth.NewSessions(tk, 2*time.Hour)
	ctx := testContext(t)
	secret, _ := mustCreate(t, tk, "sess-expires", domain.RoleEditor)
	id, _, err := ss.Create(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(2*time.Hour - time.Microsecond)
	if _, err := ss.Authenticate(ctx, id); err != nil {
		t.Errorf("Authenticate just before it expires: %v", err)
	}
	clk.Advance(time.Microsecond)
	if _, err := ss.Authenticate(ctx, id); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("Authenticate once expired: error = %v; want ErrUnauthenticated", err)
	}
	// The next sign-in sweeps expired sessions away.
	if _, _, err := ss.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Read.GetContext(ctx, &n, db.Read.Rebind(`SELECT count(*) FROM sessions WHERE hash = ?`), hashHex(id)); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("the expired session's row is still there after a later sign-in")
	}
}

func testSessionTokenRevoked(t *testing.T, db *sqldb.DB) {
	tk, _ := newTokens(t, db)
	ss := auth.NewSessions(tk, time.Hour)
	ctx := testContext(t)
	mustEnd := func(what string, s *auth.Sessions, id string) {
		t.Helper()
		if _, err := s.Authenticate(ctx, id); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("%s: Authenticate error = %v; want ErrUnauthenticated", what, err)
		}
	}
	mustSession := func(secret string) string {
		t.Helper()
		id, _, err := ss.Create(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}

	// Revoked through these Tokens.
	secret, p := mustCreate(t, tk, "sess-revoked", domain.RoleEditor)
	other, _ := mustCreate(t, tk, "sess-revoked", "") // the same user's second token
	id := mustSession(secret)
	otherID := mustSession(other)
	if _, err := ss.Authenticate(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := tk.Revoke(ctx, p.TokenID); err != nil {
		t.Fatal(err)
	}
	mustEnd("token revoked here", ss, id)
	if _, err := ss.Authenticate(ctx, otherID); err != nil {
		t.Errorf("the user's other token's session: %v; want it kept", err)
	}

	// Revoked by another process (`newsroom token revoke`): at once, though the token itself
	// is still accepted here from memory for up to 30 s.
	secret, p = mustCreate(t, tk, "sess-revoked-elsewhere", domain.RoleEditor)
	id = mustSession(secret)
	if err := auth.NewTokens(db).Revoke(ctx, p.TokenID); err != nil {
		t.Fatal(err)
	}
	mustEnd("token revoked by another process", ss, id)

	// Every token of the user revoked.
	secret, _ = mustCreate(t, tk, "sess-user-revoked", domain.RoleReporter)
	id = mustSession(secret)
	if _, err := auth.NewTokens(db).RevokeUser(ctx, "sess-user-revoked"); err != nil {
		t.Fatal(err)
	}
	mustEnd("user revoked by another process", ss, id)
}

func testSessionOnlyHashStored(t *testing.T, db *sqldb.DB) {
	tk, _ := newTokens(t, db)
	ss := auth.NewSessions(tk, time.Hour)
	ctx := testContext(t)
	secret, _ := mustCreate(t, tk, "sess-hash", domain.RoleEditor)
	id, _, err := ss.Create(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	if err := db.Read.SelectContext(ctx, &rows, `SELECT hash || ' ' || token_id || ' ' || csrf_token FROM sessions`); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rows {
		if strings.Contains(r, id) || strings.Contains(r, strings.TrimPrefix(id, "ns_")) || strings.Contains(r, secret) {
			t.Errorf("a sessions row holds the session id or the token's secret: %q", r)
		}
		found = found || strings.HasPrefix(r, hashHex(id)+" ")
	}
	if !found {
		t.Errorf("no sessions row is keyed by the id's SHA-256")
	}
}

// TestSessionsDuringOutage: while the database does not answer, a session this process saw
// confirmed is still accepted, as its token would be; one it never saw is unavailable, not
// refused.
func TestSessionsDuringOutage(t *testing.T) {
	outages(t, func(t *testing.T, o outage) {
		tk, clk := newTokens(t, o.db)
		auth.SetLogger(tk, discardLogger())
		ss := auth.NewSessions(tk, time.Hour)
		ctx := testContext(t)
		secret, _ := mustCreate(t, tk, "sess-outage", domain.RoleEditor)
		seen, s, err := ss.Create(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		unseen, _, err := ss.Create(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ss.Authenticate(ctx, seen); err != nil {
			t.Fatal(err)
		}
		o.stop()
		clk.Advance(5 * time.Minute)
		if got, err := ss.Authenticate(ctx, seen); err != nil || got != s {
			t.Errorf("database down: Authenticate(seen) = %+v, %v; want %+v", got, err, s)
		}
		if _, err := ss.Authenticate(ctx, unseen); !errors.Is(err, auth.ErrUnavailable) {
			t.Errorf("database down: Authenticate(never seen here) error = %v; want ErrUnavailable", err)
		}
		clk.Advance(time.Hour)
		if _, err := ss.Authenticate(ctx, seen); err == nil {
			t.Errorf("database down, session expired: Authenticate accepted it")
		}
	})
}

func hashHex(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// tokensAt is another process's Tokens on db, with the same clock.
func tokensAt(db *sqldb.DB, clk *clock) *auth.Tokens {
	tk := auth.NewTokens(db)
	auth.SetClock(tk, clk.Now)
	return tk
}
