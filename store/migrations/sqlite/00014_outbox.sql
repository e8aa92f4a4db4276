-- +goose Up
-- Delivery of the events outbox (00005) to webhooks and NATS JetStream.
--
-- streamed_at is the NATS publisher's own marker, apart from published_at
-- (the webhook fan-out's), so that a NATS outage never holds webhooks back.
-- Events recorded before this migration were never meant for a stream: they
-- are marked streamed, so that enabling NATS does not replay old history.
ALTER TABLE events ADD COLUMN streamed_at INTEGER;
UPDATE events SET streamed_at = created_at;
CREATE INDEX events_unstreamed ON events (id) WHERE streamed_at IS NULL;

-- Webhook subscriptions. event_types is a JSON array of exact types or
-- prefixes ("order.*"); empty means every type. A subscriber receives the
-- events of its institution and of every institution below it. The secret
-- signs every request, so it is kept as it is.
CREATE TABLE webhooks (
    id             TEXT    PRIMARY KEY,
    institution_id TEXT    NOT NULL REFERENCES institutions (id),
    url            TEXT    NOT NULL,
    secret         TEXT    NOT NULL,
    event_types    TEXT    NOT NULL,
    active         INTEGER NOT NULL CHECK (active IN (0, 1)),
    description    TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX webhooks_institution ON webhooks (institution_id, id);
CREATE INDEX webhooks_active ON webhooks (id) WHERE active = 1;

-- One delivery per (webhook, event), created by the fan-out in the same
-- storage transaction that marks the event published; the unique key makes
-- a repeated fan-out a no-op. job_key names the job currently in charge of
-- it: a manual redelivery enqueues a new job (with a full retry schedule)
-- and so retires the old one. institution_id is the webhook's, for scoping.
CREATE TABLE webhook_deliveries (
    id              TEXT    PRIMARY KEY,
    webhook_id      TEXT    NOT NULL REFERENCES webhooks (id),
    event_id        TEXT    NOT NULL REFERENCES events (id),
    institution_id  TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL,
    job_key         TEXT    NOT NULL,
    last_status     INTEGER NOT NULL,
    last_error      TEXT    NOT NULL,
    next_attempt_at INTEGER,
    delivered_at    INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (webhook_id, event_id)
) STRICT;
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_institution ON webhook_deliveries (institution_id, id);

-- Every HTTP attempt of a delivery: when, the response status (0 when there
-- was none), the error text (truncated) and how long it took.
CREATE TABLE webhook_attempts (
    delivery_id TEXT    NOT NULL REFERENCES webhook_deliveries (id),
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    status_code INTEGER NOT NULL,
    error       TEXT    NOT NULL,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
) STRICT;

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP INDEX events_unstreamed;
ALTER TABLE events DROP COLUMN streamed_at;
