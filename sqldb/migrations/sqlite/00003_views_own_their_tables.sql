-- Views own their tables from here on: each view creates them from its own schema, versioned,
-- so that a rebuild can fill a fresh set beside the live one and swap it in (blue/green). The
-- view tables that earlier migrations made are dropped; they are views of the log, and every
-- view rebuilds from the log at the next start because its checkpoint is gone.
--
-- checkpoints gains the view version its tables were built with, and the generation of those
-- tables (index names carry it, so that a rebuild's indexes never collide with the live ones).

-- +goose Up
DROP TABLE IF EXISTS public_tags;
DROP TABLE IF EXISTS public_corrections;
DROP TABLE IF EXISTS article_history;
DROP TABLE IF EXISTS desk_articles;
DROP TABLE IF EXISTS public_articles;
DELETE FROM checkpoints;
ALTER TABLE checkpoints ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE checkpoints ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;

-- +goose Down
-- Views are rebuilt from the log by the code that owns them; going down leaves them to it.
ALTER TABLE checkpoints DROP COLUMN generation;
ALTER TABLE checkpoints DROP COLUMN version;
