package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/sqldb"
)

// DefaultSessionTTL is how long a session lasts when NewSessions is given no TTL: a working day
// and then some, so that an editor signs in once a day.
const DefaultSessionTTL = 12 * time.Hour

const (
	// sessionPrefix marks session ids (the cookie's value), as secretPrefix marks tokens, so
	// that one is never mistaken for the other in logs and by secret scanners.
	sessionPrefix = "ns_"
	sessionBytes  = 32
	csrfBytes     = 32
)

// Session is a browser's sign-in: made from a token, it acts as that token's user until it
// expires, its token (or every token of its user) is revoked, or it is ended.
type Session struct {
	// Principal is the token's user, read afresh on every Authenticate: the token's, with
	// its TokenID.
	Principal
	// CSRFToken is what a request authenticated by this session must send as X-CSRF-Token
	// to change anything. It is random, one per session, and never changes.
	CSRFToken string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Sessions makes, checks and ends sessions, stored in the sessions table of the tokens'
// database, so that every instance sharing the database accepts them. Only the SHA-256 of a
// session id is stored, as for token secrets. It is safe for concurrent use.
//
// Every Authenticate reads the session, its token and its user from the database: a token
// revoked by any process (`newsroom token revoke` included) ends its sessions at once, sooner
// than the token itself, which other processes accept from memory for up to 30 s. Memory is
// the fallback only while the database does not answer: a session this process saw confirmed
// is accepted then until it expires, as Tokens accept a token they confirmed, so that an outage
// does not sign the desk out.
type Sessions struct {
	tokens *Tokens
	ttl    time.Duration

	mu sync.Mutex
	// verified remembers, by id hash, the sessions the database last confirmed and when.
	verified map[string]verifiedSession
}

type verifiedSession struct {
	s  Session
	at time.Time
}

// NewSessions returns Sessions that authenticate tokens with tokens, in tokens' database, and
// last ttl (DefaultSessionTTL if ttl is not positive). Revoking a token through tokens also
// forgets its sessions' entries in memory.
func NewSessions(tokens *Tokens, ttl time.Duration) *Sessions {
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	s := &Sessions{tokens: tokens, ttl: ttl, verified: make(map[string]verifiedSession)}
	tokens.mu.Lock()
	tokens.sessions = append(tokens.sessions, s)
	tokens.mu.Unlock()
	return s
}

// TTL is how long a session lasts from when it is made.
func (s *Sessions) TTL() time.Duration { return s.ttl }

// Create makes a session for the token with this secret and returns its id, which only the
// client keeps (in a cookie), and the session.
//
// Errors: those of Tokens.Authenticate (ErrUnauthenticated for a malformed, unknown or revoked
// secret; ErrUnavailable), otherwise a database error.
func (s *Sessions) Create(ctx context.Context, secret string) (id string, _ Session, err error) {
	p, err := s.tokens.Authenticate(ctx, secret)
	if err != nil {
		return "", Session{}, err
	}
	raw := make([]byte, sessionBytes+csrfBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", Session{}, fmt.Errorf("create session for %s: %w", p.Name, err)
	}
	id = sessionPrefix + base64.RawURLEncoding.EncodeToString(raw[:sessionBytes])
	now := s.tokens.now()
	sess := Session{Principal: p, CSRFToken: base64.RawURLEncoding.EncodeToString(raw[sessionBytes:]),
		CreatedAt: now.UTC().Truncate(time.Microsecond), ExpiresAt: now.Add(s.ttl).UTC().Truncate(time.Microsecond)}

	tx, err := s.tokens.db.Write.BeginTxx(ctx, nil)
	if err != nil {
		return "", Session{}, fmt.Errorf("create session for %s: %w", p.Name, err)
	}
	defer tx.Rollback()
	// Sessions nobody can use any more go when new ones come: the table holds about as many
	// rows as there are sessions live.
	if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM sessions WHERE expires_at <= ?`), sqldb.FormatTime(now)); err != nil {
		return "", Session{}, fmt.Errorf("create session for %s: delete expired ones: %w", p.Name, err)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(
		`INSERT INTO sessions (hash, token_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`),
		hashSecret(id), p.TokenID, sess.CSRFToken, sqldb.FormatTime(sess.CreatedAt), sqldb.FormatTime(sess.ExpiresAt)); err != nil {
		return "", Session{}, fmt.Errorf("create session for %s: %w", p.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return "", Session{}, fmt.Errorf("create session for %s: %w", p.Name, err)
	}
	return id, sess, nil
}

type sessionRow struct {
	TokenID   string `db:"token_id"`
	CSRFToken string `db:"csrf_token"`
	CreatedAt string `db:"created_at"`
	ExpiresAt string `db:"expires_at"`
	UserID    string `db:"user_id"`
	Name      string `db:"name"`
	Role      string `db:"role"`
	RevokedAt string `db:"revoked_at"`
}

// Authenticate returns the session with this id. It records the use of the session's token as
// Tokens.Authenticate does.
//
// Errors: ErrUnauthenticated if the id is malformed or unknown, the session expired or was
// ended, or its token was revoked; an error wrapping ErrUnavailable if the database did not
// answer and never confirmed the session to this process; otherwise a database error.
func (s *Sessions) Authenticate(ctx context.Context, id string) (Session, error) {
	if !wellFormedID(id, sessionPrefix, sessionBytes) {
		return Session{}, ErrUnauthenticated
	}
	hash := hashSecret(id)
	now := s.tokens.now()
	lookupCtx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	var row sessionRow
	r := s.tokens.db.Read
	// The lookup by hash is the comparison, as for tokens: there is nothing to time.
	err := r.GetContext(lookupCtx, &row, r.Rebind(
		`SELECT s.token_id, s.csrf_token, s.created_at, s.expires_at, t.user_id, u.name, u.role, t.revoked_at
		FROM sessions s JOIN tokens t ON t.id = s.token_id JOIN users u ON u.id = t.user_id
		WHERE s.hash = ?`), hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		s.forget(hash)
		s.tokens.dbAnswered(ctx)
		return Session{}, ErrUnauthenticated
	case err != nil && ctx.Err() != nil:
		return Session{}, fmt.Errorf("authenticate session: %w", err)
	case err != nil:
		s.tokens.dbFailed(ctx, err)
		s.mu.Lock()
		known, ok := s.verified[hash]
		s.mu.Unlock()
		if ok && now.Before(known.s.ExpiresAt) {
			return known.s, nil
		}
		return Session{}, fmt.Errorf("authenticate session: %w: %w", ErrUnavailable, err)
	}
	s.tokens.dbAnswered(ctx)
	sess, err := row.session()
	if err != nil {
		return Session{}, fmt.Errorf("authenticate session: %w", err)
	}
	if row.RevokedAt != "" || !now.Before(sess.ExpiresAt) {
		s.forget(hash)
		return Session{}, ErrUnauthenticated
	}
	s.mu.Lock()
	// Bounded as the tokens' memory is: the session confirmed longest ago makes room.
	makeRoom(s.verified, hash, s.tokens.maxVerified, func(v verifiedSession) time.Time { return v.at })
	s.verified[hash] = verifiedSession{s: sess, at: now}
	s.mu.Unlock()
	s.tokens.touch(ctx, sess.Principal)
	return sess, nil
}

func (r sessionRow) session() (Session, error) {
	role, err := domain.ParseRole(r.Role)
	if err != nil {
		return Session{}, fmt.Errorf("user %s has stored role %q: %w", r.Name, r.Role, err)
	}
	created, err := sqldb.ParseTime(r.CreatedAt)
	if err != nil {
		return Session{}, err
	}
	expires, err := sqldb.ParseTime(r.ExpiresAt)
	if err != nil {
		return Session{}, err
	}
	return Session{
		Principal: Principal{UserID: r.UserID, Name: r.Name, Role: role, TokenID: r.TokenID},
		CSRFToken: r.CSRFToken, CreatedAt: created, ExpiresAt: expires,
	}, nil
}

// End ends the session with this id on every instance: its row is deleted. Ending a session
// that does not exist (ended already, expired and swept, or never made) does nothing.
//
// Errors: a database error.
func (s *Sessions) End(ctx context.Context, id string) error {
	hash := hashSecret(id)
	s.forget(hash)
	w := s.tokens.db.Write
	if _, err := w.ExecContext(ctx, w.Rebind(`DELETE FROM sessions WHERE hash = ?`), hash); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

func (s *Sessions) forget(hash string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.verified, hash)
}

// forgetTokens drops the remembered sessions of these tokens (they were revoked).
func (s *Sessions) forgetTokens(ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, v := range s.verified {
		if slices.Contains(ids, v.s.TokenID) {
			delete(s.verified, h)
		}
	}
}

// wellFormedID reports whether s is prefix and n random bytes in unpadded base64url, so that
// garbage is refused without a database lookup.
func wellFormedID(s, prefix string, n int) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || len(rest) != base64.RawURLEncoding.EncodedLen(n) {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	return err == nil && len(raw) == n
}
