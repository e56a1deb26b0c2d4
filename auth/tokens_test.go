package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/newsroom/newsroom/auth"
	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// clock is a time source that tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newTokens returns Tokens on db with a clock at a fixed time.
func newTokens(tb testing.TB, db *sqldb.DB) (*auth.Tokens, *clock) {
	tb.Helper()
	c := &clock{now: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
	tk := auth.NewTokens(db)
	auth.SetClock(tk, c.Now)
	return tk, c
}

func testContext(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	tb.Cleanup(cancel)
	return ctx
}

func mustCreate(tb testing.TB, tk *auth.Tokens, name string, role domain.Role) (string, auth.Principal) {
	tb.Helper()
	secret, p, err := tk.Create(testContext(tb), name, role)
	if err != nil {
		tb.Fatalf("Create(%q, %q): %v", name, role, err)
	}
	return secret, p
}

func TestTokens(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		t.Run("CreateThenAuthenticate", func(t *testing.T) { testCreateThenAuthenticate(t, db) })
		t.Run("WrongToken", func(t *testing.T) { testWrongToken(t, db) })
		t.Run("Revoked", func(t *testing.T) { testRevoked(t, db) })
		t.Run("DuplicateName", func(t *testing.T) { testDuplicateName(t, db) })
		t.Run("BadRole", func(t *testing.T) { testBadRole(t, db) })
		t.Run("BadName", func(t *testing.T) { testBadName(t, db) })
		t.Run("StoredHashIsNotSecret", func(t *testing.T) { testStoredHashIsNotSecret(t, db) })
		t.Run("ListHidesSecrets", func(t *testing.T) { testListHidesSecrets(t, db) })
		t.Run("LastUsed", func(t *testing.T) { testLastUsed(t, db) })
		t.Run("ConcurrentAuthenticate", func(t *testing.T) { testConcurrentAuthenticate(t, db) })
	})
}

func testCreateThenAuthenticate(t *testing.T, db *sqldb.DB) {
	tk, _ := newTokens(t, db)
	ctx := testContext(t)
	for _, role := range []domain.Role{domain.RoleReporter, domain.RoleEditor, domain.RoleAdmin} {
		name := "create-" + string(role)
		secret, created := mustCreate(t, tk, name, role)
		if !strings.HasPrefix(secret, "nr_") || len(secret) != len("nr_")+43 {
			t.Errorf("secret = %q; want \"nr_\" and 43 base64url characters", secret)
		}
		if id, err := uuid.Parse(created.UserID); err != nil || id.Version() != 4 {
			t.Errorf("UserID = %q; want a random (version 4) UUID", created.UserID)
		}
		if created.Name != name || created.Role != role {
			t.Errorf("Create(%q, %q) principal = %+v", name, role, created)
		}
		got, err := tk.Authenticate(ctx, secret)
		if err != nil {
			t.Fatalf("Authenticate(secret of %s) error = %v", name, err)
		}
		if got != created {
			t.Errorf("Authenticate(secret of %s) = %+v; want %+v", name, got, created)
		}
		if a := got.Actor(); a.ID != created.UserID || a.Role != role {
			t.Errorf("Actor() = %+v; want ID %s, role %s", a, created.UserID, role)
		}
	}

	// A second Tokens on the same database (another process) knows the token too.
	secret, created := mustCreate(t, tk, "shared", domain.RoleEditor)
	if got, err := auth.NewTokens(db).Authenticate(ctx, secret); err != nil || got != created {
		t.Errorf("another Tokens: Authenticate = %+v, %v; want %+v, nil", got, err, created)
	}
}

func testWrongToken(t *testing.T, db *sqldb.DB) {
	tk, _ := newTokens(t, db)
	ctx := testContext(t)
	secret, _ := mustCreate(t, tk, "wrong-token", domain.RoleEditor)
	rest := strings.TrimPrefix(secret, "nr_")
	flipped := []byte(secret)
	flipped[10] ^= 'A' ^ 'B' // still base64url, another token
	if flipped[10] == secret[10] {
		t.Fatal("flip did not change the secret")
	}

	tests := []struct {
		name, secret string
	}{
		{"empty", ""},
		{"prefix only", "nr_"},
		{"another well-formed secret", "nr_" + strings.Repeat("A", 43)},
		{"one character changed", string(flipped)},
		{"without prefix", rest},
		{"other prefix", "xx_" + rest},
		{"with Bearer", "Bearer " + secret},
		{"extra character", secret + "A"},
		{"one character short", secret[:len(secret)-1]},
		{"not base64url", "nr_" + strings.Repeat("+", 43)},
		{"surrounding space", " " + secret},
	}
	for _, tt := range tests {
		p, err := tk.Authenticate(ctx, tt.secret)
		if !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("%s: Authenticate(%q) = %+v, %v; want ErrUnauthenticated", tt.name, tt.secret, p, err)
		}
	}
}

func testRevoked(t *testing.T, db *sqldb.DB) {
	tk, clk := newTokens(t, db)
	ctx := testContext(t)
	secret, _ := mustCreate(t, tk, "to-revoke", domain.RoleAdmin)
	other, otherP := mustCreate(t, tk, "to-keep", domain.RoleAdmin)
	if _, err := tk.Authenticate(ctx, secret); err != nil {
		t.Fatalf("Authenticate before revoke: %v", err)
	}

	clk.Advance(time.Hour)
	revokedAt := clk.Now()
	if err := tk.Revoke(ctx, "to-revoke"); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if p, err := tk.Authenticate(ctx, secret); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("Authenticate(revoked) = %+v, %v; want ErrUnauthenticated", p, err)
	}
	// A revocation made by another process (the token revoke command) is seen at once too.
	if p, err := auth.NewTokens(db).Authenticate(ctx, secret); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("another Tokens: Authenticate(revoked) = %+v, %v; want ErrUnauthenticated", p, err)
	}
	if p, err := tk.Authenticate(ctx, other); err != nil || p != otherP {
		t.Errorf("Authenticate(other token) = %+v, %v; want %+v, nil", p, err, otherP)
	}

	clk.Advance(time.Hour)
	if err := tk.Revoke(ctx, "to-revoke"); err != nil {
		t.Errorf("Revoke again = %v; want nil", err)
	}
	if info := find(t, tk, "to-revoke"); !info.Revoked() || !info.RevokedAt.Equal(revokedAt) {
		t.Errorf("List: to-revoke RevokedAt = %v; want %v (the first revocation)", info.RevokedAt, revokedAt)
	}
	if info := find(t, tk, "to-keep"); info.Revoked() {
		t.Errorf("List: to-keep RevokedAt = %v; want zero", info.RevokedAt)
	}

	if err := tk.Revoke(ctx, "no-such-token"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("Revoke(unknown) = %v; want ErrNotFound", err)
	}
}

func testDuplicateName(t *testing.T, db *sqldb.DB) {
	tk, _ := newTokens(t, db)
	ctx := testContext(t)
	first, firstP := mustCreate(t, tk, "dup", domain.RoleReporter)
	secret, p, err := tk.Create(ctx, "dup", domain.RoleEditor)
	if !errors.Is(err, auth.ErrNameTaken) {
		t.Errorf("Create(duplicate) = %q, %+v, %v; want ErrNameTaken", secret, p, err)
	}
	if secret != "" {
		t.Errorf("Create(duplicate) returned a secret %q; want none", secret)
	}
	if got, err := tk.Authenticate(ctx, first); err != nil || got != firstP {
		t.Errorf("Authenticate(first dup) = %+v, %v; want %+v, nil", got, err, firstP)
	}

	// A revoked token keeps its name.
	if err := tk.Revoke(ctx, "dup"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tk.Create(ctx, "dup", domain.RoleEditor); !errors.Is(err, auth.ErrNameTaken) {
		t.Errorf("Create(name of a revoked token) error = %v; want ErrNameTaken", err)
	}
}

func testBadRole(t *testing.T, db *sqldb.DB) {
	tk, _ := newTokens(t, db)
	ctx := testContext(t)
	for _, role := range []domain.Role{"", "root", "Editor", "editor "} {
		if _, _, err := tk.Create(ctx, "bad-role", role); !errors.Is(err, domain.ErrUnknownRole) {
			t.Errorf("Create(%q) error = %v; want domain.ErrUnknownRole", role, err)
		}
	}
	if n := countTokens(t, db, "bad-role"); n != 0 {
		t.Errorf("%d rows for bad-role; want 0", n)
	}
}

func testBadName(t *testing.T, db *sqldb.DB) {
	tk, _ := newTokens(t, db)
	ctx := testContext(t)
	tests := []struct {
		name string
		ok   bool
	}{
		{"a", true},
		{strings.Repeat("n", 64), true},
		{"ops.bot_1-X", true},
		{"", false},
		{strings.Repeat("n", 65), false},
		{"has space", false},
		{"slash/name", false},
		{"ümlaut", false},
		{"new\nline", false},
		{"semi;colon", false},
	}
	for _, tt := range tests {
		_, _, err := tk.Create(ctx, tt.name, domain.RoleReporter)
		if tt.ok && err != nil {
			t.Errorf("Create(%q) error = %v; want nil", tt.name, err)
		}
		if !tt.ok && !errors.Is(err, auth.ErrInvalidName) {
			t.Errorf("Create(%q) error = %v; want ErrInvalidName", tt.name, err)
		}
	}
}

func testStoredHashIsNotSecret(t *testing.T, db *sqldb.DB) {
	tk, _ := newTokens(t, db)
	ctx := testContext(t)
	secret, _ := mustCreate(t, tk, "hashed", domain.RoleEditor)

	var row struct {
		ID         string `db:"id"`
		Name       string `db:"name"`
		Role       string `db:"role"`
		Hash       string `db:"hash"`
		CreatedAt  string `db:"created_at"`
		LastUsedAt string `db:"last_used_at"`
		RevokedAt  string `db:"revoked_at"`
	}
	if err := db.Read.GetContext(ctx, &row, db.Read.Rebind(
		"SELECT id, name, role, hash, created_at, last_used_at, revoked_at FROM tokens WHERE name = ?"), "hashed"); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(secret))
	if want := hex.EncodeToString(sum[:]); row.Hash != want {
		t.Errorf("stored hash = %q; want hex SHA-256 of the secret %q", row.Hash, want)
	}
	body := strings.TrimPrefix(secret, "nr_")
	if dump := fmt.Sprintf("%+v", row); strings.Contains(dump, body) {
		t.Errorf("stored row %s contains the secret", dump)
	}
}

func testListHidesSecrets(t *testing.T, db *sqldb.DB) {
	tk, clk := newTokens(t, db)
	created := clk.Now()
	secret, p := mustCreate(t, tk, "listed", domain.RoleEditor)
	list, err := tk.List(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(secret))
	hash := hex.EncodeToString(sum[:])
	dump := fmt.Sprintf("%+v %#v", list, list)
	for _, s := range []string{strings.TrimPrefix(secret, "nr_"), hash} {
		if strings.Contains(dump, s) {
			t.Errorf("List() = %s; contains the secret or its hash %q", dump, s)
		}
	}
	info := find(t, tk, "listed")
	if info.UserID != p.UserID || info.Role != domain.RoleEditor || !info.CreatedAt.Equal(created) ||
		!info.LastUsedAt.IsZero() || info.Revoked() {
		t.Errorf("List: listed = %+v; want user %s, role editor, created %v, never used, not revoked",
			info, p.UserID, created)
	}
	for i := 1; i < len(list); i++ {
		if list[i-1].Name >= list[i].Name {
			t.Errorf("List() not ordered by name: %q before %q", list[i-1].Name, list[i].Name)
		}
	}
}

func testLastUsed(t *testing.T, db *sqldb.DB) {
	tk, clk := newTokens(t, db)
	ctx := testContext(t)
	secret, _ := mustCreate(t, tk, "used", domain.RoleReporter)
	if got := find(t, tk, "used").LastUsedAt; !got.IsZero() {
		t.Errorf("LastUsedAt before use = %v; want zero", got)
	}
	authenticate := func() {
		t.Helper()
		if _, err := tk.Authenticate(ctx, secret); err != nil {
			t.Fatal(err)
		}
	}

	clk.Advance(time.Minute)
	first := clk.Now()
	authenticate()
	if got := find(t, tk, "used").LastUsedAt; !got.Equal(first) {
		t.Errorf("LastUsedAt after first use = %v; want %v", got, first)
	}

	// Within the minute, no write.
	clk.Advance(59 * time.Second)
	authenticate()
	if got := find(t, tk, "used").LastUsedAt; !got.Equal(first) {
		t.Errorf("LastUsedAt after a use 59s later = %v; want still %v", got, first)
	}

	clk.Advance(time.Second)
	authenticate()
	if got, want := find(t, tk, "used").LastUsedAt, first.Add(time.Minute); !got.Equal(want) {
		t.Errorf("LastUsedAt after a use a minute later = %v; want %v", got, want)
	}

	// Another process whose clock lags never moves last_used_at back.
	lagging := auth.NewTokens(db)
	auth.SetClock(lagging, func() time.Time { return first })
	if _, err := lagging.Authenticate(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if got, want := find(t, tk, "used").LastUsedAt, first.Add(time.Minute); !got.Equal(want) {
		t.Errorf("LastUsedAt after a lagging process used the token = %v; want still %v", got, want)
	}
}

func testConcurrentAuthenticate(t *testing.T, db *sqldb.DB) {
	tk, clk := newTokens(t, db)
	ctx := testContext(t)
	secret, want := mustCreate(t, tk, "busy", domain.RoleEditor)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			if i%8 == 0 {
				clk.Advance(10 * time.Second)
			}
			p, err := tk.Authenticate(ctx, secret)
			if err == nil && p != want {
				err = fmt.Errorf("principal %+v; want %+v", p, want)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Authenticate: %v", err)
	}
	if got := find(t, tk, "busy").LastUsedAt; got.IsZero() {
		t.Error("LastUsedAt after concurrent use is zero")
	}
}

func find(tb testing.TB, tk *auth.Tokens, name string) auth.TokenInfo {
	tb.Helper()
	list, err := tk.List(testContext(tb))
	if err != nil {
		tb.Fatal(err)
	}
	for _, info := range list {
		if info.Name == name {
			return info
		}
	}
	tb.Fatalf("List() has no token %q", name)
	return auth.TokenInfo{}
}

func countTokens(tb testing.TB, db *sqldb.DB, name string) int {
	tb.Helper()
	var n int
	if err := db.Read.Get(&n, db.Read.Rebind("SELECT COUNT(*) FROM tokens WHERE name = ?"), name); err != nil {
		tb.Fatal(err)
	}
	return n
}
