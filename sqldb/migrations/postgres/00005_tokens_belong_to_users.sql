-- Tokens belong to users: a person (a user, with a name and a role) may hold several tokens, and
-- revoking one leaves the others and the user. Both tables are operator state: replay never
-- touches them.
--
-- users.id is the opaque user id that events record as the actor; users.name is for operators
-- and for the history's actor names, never written to the log. tokens.id names one token, so
-- that one can be revoked alone; tokens.hash is the hex SHA-256 of its secret.
--
-- Each existing token becomes a user with the token's id (the id its events already record as
-- the actor), name and role, holding that one token (whose id stays the same).

-- +goose Up

CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

INSERT INTO users (id, name, role, created_at)
    SELECT id, name, role, created_at FROM tokens;

ALTER TABLE tokens ADD COLUMN user_id TEXT;
UPDATE tokens SET user_id = id;
ALTER TABLE tokens ALTER COLUMN user_id SET NOT NULL;
ALTER TABLE tokens ADD CONSTRAINT tokens_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
-- Dropping name drops its UNIQUE constraint: a user's name may now have several tokens.
ALTER TABLE tokens DROP COLUMN name;
ALTER TABLE tokens DROP COLUMN role;
CREATE INDEX tokens_user ON tokens (user_id);

-- +goose Down
-- One token per name again: each user keeps its newest token that is not revoked (or, if all
-- are, its newest), under the user's id, as before this migration.
DELETE FROM tokens t WHERE t.id <> (
    SELECT k.id FROM tokens k WHERE k.user_id = t.user_id
    ORDER BY k.revoked_at = '' DESC, k.created_at DESC, k.id LIMIT 1);
ALTER TABLE tokens ADD COLUMN name TEXT;
ALTER TABLE tokens ADD COLUMN role TEXT;
UPDATE tokens t SET name = u.name, role = u.role FROM users u WHERE u.id = t.user_id;
UPDATE tokens SET id = user_id;
ALTER TABLE tokens ALTER COLUMN name SET NOT NULL;
ALTER TABLE tokens ALTER COLUMN role SET NOT NULL;
ALTER TABLE tokens ADD CONSTRAINT tokens_name_key UNIQUE (name);
DROP INDEX tokens_user;
ALTER TABLE tokens DROP COLUMN user_id;
DROP TABLE users;
