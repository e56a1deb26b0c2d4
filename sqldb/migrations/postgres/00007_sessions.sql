-- Sessions: the desk's browser sign-ins (auth.Sessions). Operator state, as tokens are: replay
-- never touches this table, and it cannot be rebuilt from the log.
--
-- A session is made from a token (POST /api/v1/session) and acts as that token's user until
-- expires_at. hash is the hex SHA-256 of the session id the cookie carries: the id itself is
-- never stored, so the table is useless to a reader. Who the session is, and whether it still
-- stands, is read through token_id on every request: revoking the token (or every token of its
-- user) ends its sessions on every instance at once. csrf_token is what a cookie-authenticated
-- state-changing request must send as X-CSRF-Token. Signing out deletes the row; expired rows
-- are deleted when later sessions are made.

-- +goose Up

CREATE TABLE sessions (
    hash       TEXT PRIMARY KEY,
    token_id   TEXT NOT NULL REFERENCES tokens (id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_token ON sessions (token_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- +goose Down
DROP TABLE sessions;
