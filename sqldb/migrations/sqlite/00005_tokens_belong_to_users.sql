-- Tokens belong to users: a person (a user, with a name and a role) may hold several tokens, and
-- revoking one leaves the others and the user. Both tables are operator state: replay never
-- touches them.
--
-- users.id is the opaque user id that events record as the actor; users.name is for operators
-- and for the history's actor names, never written to the log. tokens.id names one token, so
-- that one can be revoked alone; tokens.hash is the hex SHA-256 of its secret.
--
-- Each existing token becomes a user with the token's id (the id its events already record as
-- the actor), name and role, holding that one token (whose id stays the same). SQLite cannot
-- drop the UNIQUE constraint on tokens.name, so the table is copied.

-- +goose Up

CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

INSERT INTO users (id, name, role, created_at)
    SELECT id, name, role, created_at FROM tokens;

CREATE TABLE tokens_by_user (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    hash         TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT NOT NULL DEFAULT '',
    revoked_at   TEXT NOT NULL DEFAULT ''
) STRICT;

INSERT INTO tokens_by_user (id, user_id, hash, created_at, last_used_at, revoked_at)
    SELECT id, id, hash, created_at, last_used_at, revoked_at FROM tokens;

DROP TABLE tokens;
ALTER TABLE tokens_by_user RENAME TO tokens;
CREATE INDEX tokens_user ON tokens (user_id);

-- +goose Down
-- One token per name again: each user keeps its newest token that is not revoked (or, if all
-- are, its newest), under the user's id, as before this migration.
CREATE TABLE tokens_by_name (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT NOT NULL DEFAULT '',
    revoked_at   TEXT NOT NULL DEFAULT ''
) STRICT;
INSERT INTO tokens_by_name (id, name, role, hash, created_at, last_used_at, revoked_at)
    SELECT u.id, u.name, u.role, t.hash, t.created_at, t.last_used_at, t.revoked_at
    FROM users u JOIN tokens t ON t.id = (
        SELECT k.id FROM tokens k WHERE k.user_id = u.id
        ORDER BY k.revoked_at = '' DESC, k.created_at DESC, k.id LIMIT 1);
DROP TABLE tokens;
DROP TABLE users;
ALTER TABLE tokens_by_name RENAME TO tokens;
