-- Trusted webhooks: a webhook registered as trusted receives the embargoed stream
-- (NEWSROOM_EMBARGOED) too, through a durable consumer of its own there (webhook-<id> on that
-- stream), in the order of that stream, with a cursor of its own: embargoed_seq, the last
-- NEWSROOM_EMBARGOED sequence delivered (or skipped because it was erased). Operator state, as
-- the rest of these tables.
--
-- webhook_deliveries.stream says which stream an attempt's seq is a sequence of: 'public' for
-- NEWSROOM_PUBLIC (every attempt recorded before this migration), 'embargoed' for
-- NEWSROOM_EMBARGOED.

-- +goose Up

ALTER TABLE webhooks ADD COLUMN trusted BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE webhooks ADD COLUMN embargoed_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook_deliveries ADD COLUMN stream TEXT NOT NULL DEFAULT 'public';
DROP INDEX webhook_deliveries_message;
CREATE INDEX webhook_deliveries_message ON webhook_deliveries (webhook_id, stream, seq, attempt);

-- +goose Down
DROP INDEX webhook_deliveries_message;
CREATE INDEX webhook_deliveries_message ON webhook_deliveries (webhook_id, seq, attempt);
ALTER TABLE webhook_deliveries DROP COLUMN stream;
ALTER TABLE webhooks DROP COLUMN embargoed_seq;
ALTER TABLE webhooks DROP COLUMN trusted;
