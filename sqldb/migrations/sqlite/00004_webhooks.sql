-- Webhooks: operator state, not views of the log. Replay never touches these tables and they
-- cannot be rebuilt from the log.
--
-- webhooks holds each registration and its delivery cursor: the last NEWSROOM_PUBLIC sequence
-- that was delivered (or skipped because it was erased). A webhook's durable consumer
-- (webhook-<id> on NEWSROOM_PUBLIC) is recreated just after the cursor if it is ever lost.
-- secret is the Standard Webhooks signing secret (whsec_…); it is needed to sign, so it is kept
-- as given, and the API never shows it after the registration's answer.
--
-- webhook_deliveries records every attempt. It deliberately holds no payload, no article text
-- and no response body: a killed article's text must exist nowhere on disk, and the payload is
-- read from the public stream for each attempt.

-- +goose Up

CREATE TABLE webhooks (
    id            TEXT    PRIMARY KEY,
    url           TEXT    NOT NULL,
    secret        TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    created_by    TEXT    NOT NULL, -- the admin's user id
    delivered_seq INTEGER NOT NULL  -- the cursor: last public sequence delivered or skipped
) STRICT;

CREATE TABLE webhook_deliveries (
    id            INTEGER PRIMARY KEY, -- insertion order: newest first is id descending
    webhook_id    TEXT    NOT NULL,
    seq           INTEGER NOT NULL,    -- the NEWSROOM_PUBLIC sequence
    message_id    TEXT    NOT NULL,    -- the CloudEvent id, sent as webhook-id
    event_type    TEXT    NOT NULL,
    article_id    TEXT    NOT NULL,
    attempt       INTEGER NOT NULL,    -- 1, 2, … per (webhook, seq)
    attempted_at  TEXT    NOT NULL,
    duration_ms   INTEGER NOT NULL,
    outcome       TEXT    NOT NULL,    -- delivered, failed, skipped
    status_code   INTEGER NOT NULL DEFAULT 0, -- 0: no HTTP answer
    error         TEXT    NOT NULL DEFAULT '', -- bounded; never the response body
    next_retry_at TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_message ON webhook_deliveries (webhook_id, seq, attempt);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
