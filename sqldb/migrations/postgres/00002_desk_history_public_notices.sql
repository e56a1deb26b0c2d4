-- The full desk: the desk and history views, and corrections, retractions and tag filters in the
-- public view. Every table here is a view of the log: it can be dropped and rebuilt by replay.

-- +goose Up

-- desk_articles: every article and its state, for editors.
CREATE TABLE desk_articles (
    id              TEXT    PRIMARY KEY,
    version         BIGINT  NOT NULL,
    status          TEXT    NOT NULL,
    slug            TEXT    NOT NULL DEFAULT '',
    headline        TEXT    NOT NULL DEFAULT '',
    summary         TEXT    NOT NULL DEFAULT '',
    body            TEXT    NOT NULL DEFAULT '',
    language        TEXT    NOT NULL DEFAULT '',
    byline          TEXT    NOT NULL DEFAULT '',
    dateline        TEXT    NOT NULL DEFAULT '',
    tags            TEXT    NOT NULL DEFAULT '[]', -- JSON array of strings
    created_by      TEXT    NOT NULL,
    last_revised_by TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    published_at    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX desk_articles_updated ON desk_articles (updated_at, id);
CREATE INDEX desk_articles_status_updated ON desk_articles (status, updated_at, id);

-- article_history: each article's timeline, one row per event. Actors are user ids; names come
-- from tokens when the timeline is read, so that no name is ever part of the log.
CREATE TABLE article_history (
    article_id TEXT    NOT NULL,
    version    BIGINT  NOT NULL,
    seq        BIGINT  NOT NULL,
    event_type TEXT    NOT NULL,
    status     TEXT    NOT NULL, -- the article's status after the event
    actor_id   TEXT    NOT NULL,
    actor_role TEXT    NOT NULL,
    at         TEXT    NOT NULL,
    comment    TEXT    NOT NULL DEFAULT '', -- a change request's comment, a correction's note, a reason
    PRIMARY KEY (article_id, version)
);

ALTER TABLE public_articles ADD COLUMN retracted_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE public_articles ADD COLUMN retracted_at TEXT NOT NULL DEFAULT '';
CREATE INDEX public_articles_language ON public_articles (language, status, published_at, id);

-- public_corrections: the public notes of corrections, per article.
CREATE TABLE public_corrections (
    article_id   TEXT    NOT NULL,
    version      BIGINT  NOT NULL,
    note         TEXT    NOT NULL,
    corrected_at TEXT    NOT NULL,
    PRIMARY KEY (article_id, version)
);

-- public_tags: one row per tag of a public article, for ?tag= filters.
CREATE TABLE public_tags (
    tag        TEXT NOT NULL,
    article_id TEXT NOT NULL,
    PRIMARY KEY (tag, article_id)
);

-- +goose Down
DROP TABLE public_tags;
DROP TABLE public_corrections;
DROP INDEX public_articles_language;
ALTER TABLE public_articles DROP COLUMN retracted_at;
ALTER TABLE public_articles DROP COLUMN retracted_reason;
DROP TABLE article_history;
DROP TABLE desk_articles;
