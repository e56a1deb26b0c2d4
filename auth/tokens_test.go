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
		t.Run("SameUserManyTokens", func(t *testing.T) { testSameUserManyTokens(t, db) })
		t.Run("RevokeUser", func(t *testing.T) { testRevokeUser(t, db) })
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
		if id, err := uuid.Parse(created.TokenID); err != nil || id.Version() != 4 || created.TokenID == created.UserID {
			t.Errorf("TokenID = %q; want a random (version 4) UUID, not the user's", created.TokenID)
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
	secret, p := mustCreate(t, tk, "to-revoke", domain.RoleAdmin)
	other, otherP := mustCreate(t, tk, "to-keep", domain.RoleAdmin)
	if _, err := tk.Authenticate(ctx, secret); err != nil {
		t.Fatalf("Authenticate before revoke: %v", err)
	}

	clk.Advance(time.Hour)
	revokedAt := clk.Now()
	if err := tk.Revoke(ctx, p.TokenID); err != nil {
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
	if err := tk.Revoke(ctx, p.TokenID); err != nil {
		t.Errorf("Revoke again = %v; want nil", err)
	}
	if info := find(t, tk, "to-revoke"); !info.Revoked() || !info.RevokedAt.Equal(revokedAt) {
		t.Errorf("List: to-revoke RevokedAt = %v; want %v (the first revocation)", info.RevokedAt, revokedAt)
	}
	if info := find(t, tk, "to-keep"); info.Revoked() {
		t.Errorf("List: to-keep RevokedAt = %v; want zero", info.RevokedAt)
	}

	for _, id := range []string{"no-such-token", uuid.NewString(), "to-keep"} {
		if err := tk.Revoke(ctx, id); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("Revoke(%q) = %v; want ErrNotFound", id, err)
		}
	}
	if got, err := tk.Authenticate(ctx, other); err != nil || got != otherP {
		t.Errorf("Authenticate(other token) after revoking unknown ids = %+v, %v; want %+v, nil", got, err, otherP)
	}
}

// A user holds several tokens: each authenticates as the same user, and each is revoked alone.
func testSameUserManyTokens(t *testing.T, db *sqldb.DB) {
	tk, _ := newTokens(t, db)
	ctx := testContext(t)
	first, firstP := mustCreate(t, tk, "rita", domain.RoleReporter)
	second, secondP := mustCreate(t, tk, "rita", domain.RoleReporter)
	third, thirdP := mustCreate(t, tk, "rita", "") // no role: the user's
	for i, p := range []auth.Principal{secondP, thirdP} {
		if p.UserID != firstP.UserID || p.Name != "rita" || p.Role != domain.RoleReporter {
			t.Errorf("token %d for rita: principal %+v; want user %s, rita, reporter", i+2, p, firstP.UserID)
		}
	}
	if firstP.TokenID == secondP.TokenID || secondP.TokenID == thirdP.TokenID || first == second {
		t.Errorf("three tokens for rita share an id or a secret: %+v %+v %+v", firstP, secondP, thirdP)
	}
	for _, secret := range []string{first, second, third} {
		if got, err := auth.NewTokens(db).Authenticate(ctx, secret); err != nil || got.UserID != firstP.UserID {
			t.Errorf("Authenticate(a token of rita) = %+v, %v; want user %s", got, err, firstP.UserID)
		}
	}

	// Another role for an existing user is refused, and issues nothing.
	if secret, p, err := tk.Create(ctx, "rita", domain.RoleEditor); !errors.Is(err, auth.ErrRoleMismatch) || secret != "" {
		t.Errorf("Create(rita, editor) = %q, %+v, %v; want ErrRoleMismatch and no secret", secret, p, err)
	}
	// A new user needs a role.
	if _, _, err := tk.Create(ctx, "nobody-yet", ""); !errors.Is(err, domain.ErrUnknownRole) {
		t.Errorf("Create(new user, no role) error = %v; want domain.ErrUnknownRole", err)
	}
	if n := countTokens(t, db, "rita"); n != 3 {
		t.Errorf("%d tokens for rita; want 3", n)
	}
	if n := countTokens(t, db, "nobody-yet"); n != 0 {
		t.Errorf("%d tokens for nobody-yet; want 0", n)
	}

	// Revoking one token leaves the others.
	if err := tk.Revoke(ctx, secondP.TokenID); err != nil {
		t.Fatal(err)
	}
	if _, err := tk.Authenticate(ctx, second); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("Authenticate(revoked token of rita) error = %v; want ErrUnauthenticated", err)
	}
	for _, secret := range []string{first, third} {
		if got, err := tk.Authenticate(ctx, secret); err != nil || got.UserID != firstP.UserID {
			t.Errorf("Authenticate(another token of rita) after one was revoked = %+v, %v; want rita", got, err)
		}
	}
	var revoked int
	for _, info := range list(t, tk) {
		if info.Name != "rita" {
			continue
		}
		if info.UserID != firstP.UserID {
			t.Errorf("List: a token of rita with user %s; want %s", info.UserID, firstP.UserID)
		}
		if info.Revoked() {
			revoked++
			if info.TokenID != secondP.TokenID {
				t.Errorf("List: token %s of rita revoked; want only %s", info.TokenID, secondP.TokenID)
			}
		}
	}
	if revoked != 1 {
		t.Errorf("List: %d tokens of rita revoked; want 1", revoked)
	}
}

// Revoking a user's tokens leaves the user: a token created later is the same user's again.
func testRevokeUser(t *testing.T, db *sqldb.DB) {
	tk, _ := newTokens(t, db)
	ctx := testContext(t)
	a, aP := mustCreate(t, tk, "ed", domain.RoleEditor)
	b, bP := mustCreate(t, tk, "ed", domain.RoleEditor)
	other, otherP := mustCreate(t, tk, "eve", domain.RoleEditor)
	if err := tk.Revoke(ctx, aP.TokenID); err != nil {
		t.Fatal(err)
	}
	revoked, err := tk.RevokeUser(ctx, "ed")
	if err != nil || len(revoked) != 1 || revoked[0] != bP.TokenID {
		t.Errorf("RevokeUser(ed) = %v, %v; want [%s] (the one not revoked yet)", revoked, err, bP.TokenID)
	}
	for _, secret := range []string{a, b} {
		if _, err := auth.NewTokens(db).Authenticate(ctx, secret); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("Authenticate(token of ed) after RevokeUser = %v; want ErrUnauthenticated", err)
		}
	}
	if got, err := tk.Authenticate(ctx, other); err != nil || got != otherP {
		t.Errorf("Authenticate(eve) after revoking ed = %+v, %v; want %+v", got, err, otherP)
	}
	if revoked, err := tk.RevokeUser(ctx, "ed"); err != nil || len(revoked) != 0 {
		t.Errorf("RevokeUser(ed) again = %v, %v; want nothing revoked, nil", revoked, err)
	}
	if _, err := tk.RevokeUser(ctx, "nobody"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("RevokeUser(nobody) error = %v; want ErrNotFound", err)
	}

	// A revoked token's name does not block the user: ed gets a token again, as the same user.
	again, againP := mustCreate(t, tk, "ed", domain.RoleEditor)
	if againP.UserID != aP.UserID {
		t.Errorf("a new token for ed after revoking all of ed's: user %s; want %s", againP.UserID, aP.UserID)
	}
	if got, err := auth.NewTokens(db).Authenticate(ctx, again); err != nil || got != againP {
		t.Errorf("Authenticate(new token of ed) = %+v, %v; want %+v", got, err, againP)
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
	secret, p := mustCreate(t, tk, "hashed", domain.RoleEditor)

	var row struct {
		ID         string `db:"id"`
		UserID     string `db:"user_id"`
		Hash       string `db:"hash"`
		CreatedAt  string `db:"created_at"`
		LastUsedAt string `db:"last_used_at"`
		RevokedAt  string `db:"revoked_at"`
	}
	if err := db.Read.GetContext(ctx, &row, db.Read.Rebind(
		"SELECT id, user_id, hash, created_at, last_used_at, revoked_at FROM tokens WHERE id = ?"), p.TokenID); err != nil {
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
	if info.UserID != p.UserID || info.TokenID != p.TokenID || info.Role != domain.RoleEditor || !info.CreatedAt.Equal(created) ||
		!info.LastUsedAt.IsZero() || info.Revoked() {
		t.Errorf("List: listed = %+v; want user %s, role editor, created %v, never used, not revoked",
			info, p.UserID, created)
	}
	for i := 1; i < len(list); i++ {
		if list[i-1].Name > list[i].Name {
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

func list(tb testing.TB, tk *auth.Tokens) []auth.TokenInfo {
	tb.Helper()
	infos, err := tk.List(testContext(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return infos
}

// find is the first token of the user called name.
func find(tb testing.TB, tk *auth.Tokens, name string) auth.TokenInfo {
	tb.Helper()
	for _, info := range list(tb, tk) {
		if info.Name == name {
			return info
		}
	}
	tb.Fatalf("List() has no token %q", name)
	return auth.TokenInfo{}
}

// countTokens is how many tokens the user called name holds (0 if there is no such user).
func countTokens(tb testing.TB, db *sqldb.DB, name string) int {
	tb.Helper()
	var n int
	if err := db.Read.Get(&n, db.Read.Rebind(
		"SELECT COUNT(*) FROM tokens t JOIN users u ON u.id = t.user_id WHERE u.name = ?"), name); err != nil {
		tb.Fatal(err)
	}
	return n
}
