// Package auth authenticates HTTP API callers by bearer token. A token belongs to a user (a
// person: a name, a role and the opaque id that events record as the actor); a user may hold
// several tokens, and each is revoked on its own. Users and tokens are operator state, kept in
// the users and tokens tables (replay of the event log never touches them). Only the SHA-256 of
// a secret is stored: a secret is 256 random bits, so a fast hash is enough to make the table
// useless to a reader, and a slow password hash on every request would cap the API's throughput.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/sqldb"
)

var (
	// ErrUnauthenticated: the secret is malformed, unknown, or its token was revoked. Callers
	// must not tell these apart to the client.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrRoleMismatch: a token was asked for an existing user with another role than the
	// user's. A user's role is the person's, not a token's: every token of a user has it.
	ErrRoleMismatch = errors.New("the user has another role")
	// ErrInvalidName: a user name that is not 1–64 characters of A–Z a–z 0–9 . _ -
	ErrInvalidName = errors.New("invalid user name: want 1-64 characters of A-Z a-z 0-9 . _ -")
	// ErrNotFound: no token has this id, or no user has this name.
	ErrNotFound = errors.New("no such token or user")
	// ErrUnavailable: the token database did not answer, and the secret was not verified by this
	// process before, so it can be neither accepted nor refused. The HTTP layer should answer
	// 503 Service Unavailable (with Retry-After), not 401: the token may well be valid, and the
	// client should retry rather than ask for a new one.
	ErrUnavailable = errors.New("token database unavailable")
)

const (
	// secretPrefix marks newsroom secrets so that they are recognisable in logs and by secret
	// scanners. It is part of the wire format of every issued token: never change it.
	secretPrefix = "nr_"
	secretBytes  = 32
	// lastUsedEvery bounds how often Authenticate writes last_used_at for one token, so that
	// authenticating a request is a read, not a write, almost always.
	lastUsedEvery = time.Minute
	maxNameLen    = 64

	// verifiedFor is how long Authenticate answers from memory for a secret the database
	// confirmed. It is the longest a revocation made by another process (`newsroom token
	// revoke`) takes to reach this one.
	verifiedFor = 30 * time.Second
	// recheckTimeout bounds the lookup that re-checks a remembered secret, so that a database
	// that hangs, rather than fails, does not hold up requests that memory can answer.
	recheckTimeout = 2 * time.Second
	// lookupTimeout bounds the lookup of a secret this process does not know yet, and
	// touchTimeout the write of last_used_at: a database behind a network that drops packets
	// never answers, and a request must not wait on it until TCP gives up.
	lookupTimeout = 5 * time.Second
	touchTimeout  = 2 * time.Second
	// maxVerified bounds how many verified secrets are remembered. Only secrets the database
	// confirmed are remembered, so this is reached only with that many live tokens in use.
	maxVerified = 10_000
)

// Principal is an authenticated caller: a user, through one of their tokens.
type Principal struct {
	// UserID is an opaque random UUID made when the user's first token was created; every
	// token of the user authenticates as it. Events record it as the actor; they never record
	// Name.
	UserID string
	// Name is the user's name, for operators (token list/revoke) and logs.
	Name string
	Role domain.Role
	// TokenID names the token the caller used, among the user's tokens.
	TokenID string
}

// Actor is the domain actor for commands this principal gives.
func (p Principal) Actor() domain.Actor { return domain.Actor{ID: p.UserID, Role: p.Role} }

// TokenInfo describes a token for operators. It never holds the secret or its hash.
type TokenInfo struct {
	TokenID    string
	UserID     string
	Name       string      // the user's
	Role       domain.Role // the user's
	CreatedAt  time.Time
	LastUsedAt time.Time // zero if never used; updated at most once a minute per process
	RevokedAt  time.Time // zero if active
}

// Revoked reports whether the token was revoked.
func (i TokenInfo) Revoked() bool { return !i.RevokedAt.IsZero() }

// Tokens creates, authenticates, lists and revokes API tokens. It is safe for concurrent use.
type Tokens struct {
	db  *sqldb.DB
	now func() time.Time
	log *slog.Logger // nil: slog.Default()
	// maxVerified is maxVerified except in tests.
	maxVerified int

	mu sync.Mutex
	// lastWrite is when this process last wrote last_used_at, by token id.
	lastWrite map[string]time.Time
	// verified remembers, by secret hash, the principals of secrets the database confirmed, so
	// that most checks need no query and a brief database outage does not lock editors out.
	verified map[string]verifiedToken
	// dbDown is set by the first failed database call of an outage and cleared by the next one
	// that succeeds, so that an outage is logged once, not once per request.
	dbDown bool
	// sessions are the Sessions made on these Tokens: a revocation forgets their sessions too.
	sessions []*Sessions
}

// verifiedToken is a principal and when the database last confirmed its secret.
type verifiedToken struct {
	p  Principal
	at time.Time
}

// NewTokens returns Tokens stored in db, which must be migrated (sqldb.Open does it).
func NewTokens(db *sqldb.DB) *Tokens {
	return &Tokens{
		db:          db,
		now:         time.Now,
		maxVerified: maxVerified,
		lastWrite:   make(map[string]time.Time),
		verified:    make(map[string]verifiedToken),
	}
}

func (t *Tokens) logger() *slog.Logger {
	if t.log != nil {
		return t.log
	}
	return slog.Default()
}

// Create issues a token for the user called name and returns its secret, which is shown to the
// operator once and never stored, and the principal it authenticates as. A user that does not
// exist yet is created with role and a new UserID; for an existing user (even one whose tokens
// were all revoked) the token joins the user's others, with the same UserID, so that authorship
// and the four-eyes rules follow the person whichever token they use. role may be empty for an
// existing user; otherwise it must be the user's.
//
// Errors: ErrInvalidName; domain.ErrUnknownRole (also for an empty role and a new user);
// ErrRoleMismatch; otherwise a database error.
func (t *Tokens) Create(ctx context.Context, name string, role domain.Role) (secret string, p Principal, err error) {
	if err := validName(name); err != nil {
		return "", Principal{}, err
	}
	if role != "" {
		if _, err := domain.ParseRole(string(role)); err != nil {
			return "", Principal{}, fmt.Errorf("create token for %s: role %q: %w", name, role, err)
		}
	}
	raw := make([]byte, secretBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", Principal{}, fmt.Errorf("create token for %s: %w", name, err)
	}
	secret = secretPrefix + base64.RawURLEncoding.EncodeToString(raw)
	userID, err := uuid.NewRandom()
	if err != nil {
		return "", Principal{}, fmt.Errorf("create token for %s: %w", name, err)
	}
	tokenID, err := uuid.NewRandom()
	if err != nil {
		return "", Principal{}, fmt.Errorf("create token for %s: %w", name, err)
	}
	now := sqldb.FormatTime(t.now())

	tx, err := t.db.Write.BeginTxx(ctx, nil)
	if err != nil {
		return "", Principal{}, fmt.Errorf("create token for %s: %w", name, err)
	}
	defer tx.Rollback()
	var user struct {
		ID   string `db:"id"`
		Role string `db:"role"`
	}
	err = tx.GetContext(ctx, &user, tx.Rebind(`SELECT id, role FROM users WHERE name = ?`), name)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if role == "" {
			return "", Principal{}, fmt.Errorf("create token for %s: no such user yet, and a new user needs a role: %w", name, domain.ErrUnknownRole)
		}
		// Two processes creating the same new user at once: the second insert does nothing,
		// and both read back the one user.
		if _, err := tx.ExecContext(ctx, tx.Rebind(
			`INSERT INTO users (id, name, role, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`),
			userID.String(), name, string(role), now); err != nil {
			return "", Principal{}, fmt.Errorf("create token for %s: %w", name, err)
		}
		if err := tx.GetContext(ctx, &user, tx.Rebind(`SELECT id, role FROM users WHERE name = ?`), name); err != nil {
			return "", Principal{}, fmt.Errorf("create token for %s: %w", name, err)
		}
	case err != nil:
		return "", Principal{}, fmt.Errorf("create token for %s: %w", name, err)
	}
	if role != "" && string(role) != user.Role {
		return "", Principal{}, fmt.Errorf("create token for %s: %s is a user with role %s, not %s: %w", name, name, user.Role, role, ErrRoleMismatch)
	}
	userRole, err := domain.ParseRole(user.Role)
	if err != nil {
		return "", Principal{}, fmt.Errorf("create token for %s: stored role %q: %w", name, user.Role, err)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(
		`INSERT INTO tokens (id, user_id, hash, created_at) VALUES (?, ?, ?, ?)`),
		tokenID.String(), user.ID, hashSecret(secret), now); err != nil {
		// id and hash are random (122 and 256 bits): nothing here can collide.
		return "", Principal{}, fmt.Errorf("create token for %s: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return "", Principal{}, fmt.Errorf("create token for %s: %w", name, err)
	}
	return secret, Principal{UserID: user.ID, Name: name, Role: userRole, TokenID: tokenID.String()}, nil
}

// Authenticate returns the principal whose token has this secret (the bearer token, without
// "Bearer "). It records when the token was last used, writing at most once a minute per token;
// failing to record it does not refuse the caller.
//
// A secret the database confirmed less than 30 s ago is accepted from memory: a revocation made
// by another process (`newsroom token revoke`) takes effect within 30 s; one made through these
// Tokens takes effect at once. After 30 s the secret is checked again; if the database does not
// answer then, the remembered principal is still accepted, and the outage is logged once.
//
// Errors: ErrUnauthenticated if the secret is malformed, unknown or revoked; an error wrapping
// ErrUnavailable if the database did not answer and the secret was never confirmed by this
// process (the caller should answer 503); otherwise a database error (the caller should answer
// 5xx, not 401).
func (t *Tokens) Authenticate(ctx context.Context, secret string) (Principal, error) {
	if !wellFormed(secret) {
		return Principal{}, ErrUnauthenticated
	}
	hash := hashSecret(secret)
	now := t.now()
	t.mu.Lock()
	known, remembered := t.verified[hash]
	t.mu.Unlock()
	if remembered && now.Sub(known.at) < verifiedFor {
		t.touch(ctx, known.p)
		return known.p, nil
	}

	timeout := lookupTimeout
	if remembered {
		timeout = recheckTimeout
	}
	lookupCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	row, err := t.lookup(lookupCtx, hash)
	switch {
	case errors.Is(err, ErrUnauthenticated):
		t.forget(hash)
		t.dbAnswered(ctx)
		return Principal{}, ErrUnauthenticated
	case err != nil && ctx.Err() != nil:
		// The caller went away; that says nothing about the database.
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	case err != nil && remembered:
		t.dbFailed(ctx, err)
		return known.p, nil
	case err != nil:
		t.dbFailed(ctx, err)
		return Principal{}, fmt.Errorf("authenticate: %w: %w", ErrUnavailable, err)
	}
	t.dbAnswered(ctx)
	role, err := domain.ParseRole(row.Role)
	if err != nil {
		t.forget(hash)
		return Principal{}, fmt.Errorf("authenticate: user %s has stored role %q: %w", row.Name, row.Role, err)
	}
	p := Principal{UserID: row.UserID, Name: row.Name, Role: role, TokenID: row.TokenID}
	t.remember(hash, p, now)
	t.touch(ctx, p)
	return p, nil
}

// Known tells whether the database confirmed this secret before (this process remembers it),
// without asking the database: a client past the failure limit of its address (http) is still
// checked with such a secret, since one who guesses tokens cannot hold one.
func (t *Tokens) Known(secret string) bool {
	if !wellFormed(secret) {
		return false
	}
	hash := hashSecret(secret)
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.verified[hash]
	return ok
}

type tokenRow struct {
	TokenID   string `db:"token_id"`
	UserID    string `db:"user_id"`
	Name      string `db:"name"`
	Role      string `db:"role"`
	RevokedAt string `db:"revoked_at"`
}

// lookup reads the token whose secret has this hash. It returns ErrUnauthenticated if there is
// none or it is revoked, and the database error if the database did not answer.
func (t *Tokens) lookup(ctx context.Context, hash string) (tokenRow, error) {
	var row tokenRow
	// The lookup by hash is the comparison: the secret itself is never compared, so there is
	// nothing to time.
	r := t.db.Read
	err := r.GetContext(ctx, &row, r.Rebind(
		`SELECT t.id AS token_id, t.user_id, u.name, u.role, t.revoked_at
		FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?`), hash)
	if errors.Is(err, sql.ErrNoRows) {
		return tokenRow{}, ErrUnauthenticated
	}
	if err != nil {
		return tokenRow{}, err
	}
	if row.RevokedAt != "" {
		return tokenRow{}, ErrUnauthenticated
	}
	return row, nil
}

// remember records that the database confirmed the secret with this hash at time at. When
// memory is full, the entry confirmed longest ago makes room.
func (t *Tokens) remember(hash string, p Principal, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	makeRoom(t.verified, hash, t.maxVerified, func(v verifiedToken) time.Time { return v.at })
	t.verified[hash] = verifiedToken{p: p, at: at}
}

// makeRoom deletes from m, when it holds max entries and not key, the entry confirmed longest
// ago (at says when each was): the memories of verified secrets and sessions stay bounded.
func makeRoom[V any](m map[string]V, key string, max int, at func(V) time.Time) {
	if _, ok := m[key]; ok || len(m) < max {
		return
	}
	var oldest string
	var oldestAt time.Time
	for k, v := range m {
		if oldest == "" || at(v).Before(oldestAt) {
			oldest, oldestAt = k, at(v)
		}
	}
	delete(m, oldest)
}

// forget drops the remembered secret with this hash.
func (t *Tokens) forget(hash string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.verified, hash)
}

// forgetTokens drops the remembered secrets of these tokens, and their sessions.
func (t *Tokens) forgetTokens(ids []string) {
	t.mu.Lock()
	for h, v := range t.verified {
		if slices.Contains(ids, v.p.TokenID) {
			delete(t.verified, h)
		}
	}
	sessions := slices.Clone(t.sessions)
	t.mu.Unlock()
	for _, s := range sessions {
		s.forgetTokens(ids)
	}
}

// dbFailed notes that the database did not answer; the first failure of an outage is logged.
func (t *Tokens) dbFailed(ctx context.Context, err error) {
	t.mu.Lock()
	first := !t.dbDown
	t.dbDown = true
	t.mu.Unlock()
	if first {
		t.logger().WarnContext(ctx, "token database unavailable: tokens verified recently are accepted from memory, others refused until it answers",
			"err", err)
	}
}

// dbAnswered notes that the database answered, which ends an outage.
func (t *Tokens) dbAnswered(ctx context.Context) {
	t.mu.Lock()
	was := t.dbDown
	t.dbDown = false
	t.mu.Unlock()
	if was {
		t.logger().InfoContext(ctx, "token database answers again")
	}
}

// touch records that p's token was used now, unless this process did so less than
// lastUsedEvery ago, or the database is known to be down (last use is worth no retry storm).
func (t *Tokens) touch(ctx context.Context, p Principal) {
	id := p.TokenID
	now := t.now()
	t.mu.Lock()
	prev, seen := t.lastWrite[id]
	if t.dbDown || seen && now.Sub(prev) < lastUsedEvery {
		t.mu.Unlock()
		return
	}
	// Claimed before the write so that concurrent requests with one token write once.
	t.lastWrite[id] = now
	t.mu.Unlock()

	stamp := sqldb.FormatTime(now)
	w := t.db.Write
	writeCtx, cancel := context.WithTimeout(ctx, touchTimeout)
	defer cancel()
	// The condition keeps last_used_at from going backwards when several processes race.
	_, err := w.ExecContext(writeCtx, w.Rebind(
		`UPDATE tokens SET last_used_at = ? WHERE id = ? AND last_used_at < ?`), stamp, id, stamp)
	if err == nil {
		return
	}
	t.mu.Lock()
	if t.lastWrite[id].Equal(now) { // let the next request try again
		if seen {
			t.lastWrite[id] = prev
		} else {
			delete(t.lastWrite, id)
		}
	}
	t.mu.Unlock()
	if ctx.Err() == nil { // a caller that went away is not worth a warning
		t.dbFailed(ctx, fmt.Errorf("record last use of token %s of %s: %w", p.TokenID, p.Name, err))
	}
}

// List returns every token, revoked ones included, ordered by user name, then oldest first.
//
// Errors: a database error, or a stored time that does not parse.
func (t *Tokens) List(ctx context.Context) ([]TokenInfo, error) {
	var rows []struct {
		TokenID    string `db:"token_id"`
		UserID     string `db:"user_id"`
		Name       string `db:"name"`
		Role       string `db:"role"`
		CreatedAt  string `db:"created_at"`
		LastUsedAt string `db:"last_used_at"`
		RevokedAt  string `db:"revoked_at"`
	}
	if err := t.db.Read.SelectContext(ctx, &rows,
		`SELECT t.id AS token_id, t.user_id, u.name, u.role, t.created_at, t.last_used_at, t.revoked_at
		FROM tokens t JOIN users u ON u.id = t.user_id ORDER BY u.name, t.created_at, t.id`); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	infos := make([]TokenInfo, 0, len(rows))
	for _, r := range rows {
		info := TokenInfo{TokenID: r.TokenID, UserID: r.UserID, Name: r.Name, Role: domain.Role(r.Role)}
		var err error
		if info.CreatedAt, err = sqldb.ParseTime(r.CreatedAt); err != nil {
			return nil, fmt.Errorf("list tokens: %s: %w", r.TokenID, err)
		}
		if info.LastUsedAt, err = sqldb.ParseTime(r.LastUsedAt); err != nil {
			return nil, fmt.Errorf("list tokens: %s: %w", r.TokenID, err)
		}
		if info.RevokedAt, err = sqldb.ParseTime(r.RevokedAt); err != nil {
			return nil, fmt.Errorf("list tokens: %s: %w", r.TokenID, err)
		}
		infos = append(infos, info)
	}
	return infos, nil
}

// Revoke revokes the token with this id: from now on these Tokens refuse its secret, and other
// Tokens sharing the database (other processes) refuse it within 30 s. The user's other tokens
// keep working, and a new token can be created for the user at any time. The token keeps its
// row so that List shows when it was revoked. Revoking a revoked token does nothing and
// returns nil.
//
// Errors: ErrNotFound if no token has this id; otherwise a database error.
func (t *Tokens) Revoke(ctx context.Context, tokenID string) error {
	w := t.db.Write
	res, err := w.ExecContext(ctx, w.Rebind(
		`UPDATE tokens SET revoked_at = CASE WHEN revoked_at = '' THEN ? ELSE revoked_at END WHERE id = ?`),
		sqldb.FormatTime(t.now()), tokenID)
	if err != nil {
		return fmt.Errorf("revoke token %q: %w", tokenID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("revoke token %q: %w", tokenID, err)
	}
	if n == 0 {
		return fmt.Errorf("revoke token %q: %w", tokenID, ErrNotFound)
	}
	t.forgetTokens([]string{tokenID})
	return nil
}

// RevokeUser revokes every token of the user called name that is not revoked yet, as Revoke
// does, and returns their ids, sorted. The user stays: a token created for the name later belongs to
// the same user again.
//
// Errors: ErrNotFound if no user has this name; otherwise a database error.
func (t *Tokens) RevokeUser(ctx context.Context, name string) (revoked []string, err error) {
	tx, err := t.db.Write.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("revoke the tokens of %q: %w", name, err)
	}
	defer tx.Rollback()
	var userID string
	if err := tx.GetContext(ctx, &userID, tx.Rebind(`SELECT id FROM users WHERE name = ?`), name); errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("revoke the tokens of %q: %w", name, ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("revoke the tokens of %q: %w", name, err)
	}
	if err := tx.SelectContext(ctx, &revoked, tx.Rebind(
		`UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at = '' RETURNING id`),
		sqldb.FormatTime(t.now()), userID); err != nil {
		return nil, fmt.Errorf("revoke the tokens of %q: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("revoke the tokens of %q: %w", name, err)
	}
	t.forgetTokens(revoked)
	slices.Sort(revoked)
	return revoked, nil
}

func validName(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("%w: got %d characters", ErrInvalidName, len(name))
	}
	for _, c := range []byte(name) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return fmt.Errorf("%w: %q", ErrInvalidName, name)
		}
	}
	return nil
}

// wellFormed reports whether s has the shape of a secret Create makes, so that garbage is
// refused without a database lookup.
func wellFormed(s string) bool {
	return wellFormedID(s, secretPrefix, secretBytes)
}

// hashSecret is the stored form of a secret: hex SHA-256 of the whole secret, prefix included.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
