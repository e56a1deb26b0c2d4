-- Views of the log and operator state.
--
-- public_articles and checkpoints are views of the event log: they can be dropped and rebuilt by
-- replaying the log from sequence 0. A projection writes its rows and its checkpoint in one
-- transaction.
-- tokens is operator state: replay never touches it, and it cannot be rebuilt from the log.
--
-- Times are TEXT in UTC, fixed width (2006-01-02T15:04:05.000000Z; '' for none), so they sort as
-- strings. Integers are BIGINT, the width of SQLite's INTEGER, so both dialects hold the same
-- values.

-- +goose Up

-- checkpoints: each view's last applied stream sequence (a view of the log).
CREATE TABLE checkpoints (
    name       TEXT   PRIMARY KEY,
    seq        BIGINT NOT NULL,
    updated_at TEXT   NOT NULL
);

-- public_articles: published articles as readers see them (a view of the log).
CREATE TABLE public_articles (
    id           TEXT   PRIMARY KEY,
    version      BIGINT NOT NULL,
    status       TEXT   NOT NULL,
    slug         TEXT   NOT NULL DEFAULT '',
    headline     TEXT   NOT NULL DEFAULT '',
    summary      TEXT   NOT NULL DEFAULT '',
    body         TEXT   NOT NULL DEFAULT '',
    body_html    TEXT   NOT NULL DEFAULT '',
    language     TEXT   NOT NULL DEFAULT '',
    byline       TEXT   NOT NULL DEFAULT '',
    dateline     TEXT   NOT NULL DEFAULT '',
    tags         TEXT   NOT NULL DEFAULT '[]', -- JSON array of strings
    created_at   TEXT   NOT NULL,
    updated_at   TEXT   NOT NULL,
    published_at TEXT   NOT NULL DEFAULT ''
);

CREATE INDEX public_articles_status_published ON public_articles (status, published_at, id);
CREATE INDEX public_articles_slug ON public_articles (slug);

-- tokens: API bearer tokens. Operator state, not a view: replay never touches it, and dropping
-- it locks every user out. hash is the hex SHA-256 of the secret; the secret is never stored.
-- id is the user id that events record as the actor; name is for operators only.
CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT NOT NULL DEFAULT '',
    revoked_at   TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE tokens;
DROP TABLE public_articles;
DROP TABLE checkpoints;
