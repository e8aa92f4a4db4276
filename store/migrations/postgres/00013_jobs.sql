-- +goose Up
-- The durable job scheduler (internal/jobs): work that must happen later or
-- again until it succeeds — channel status queries, webhook deliveries —
-- enqueued in the storage transaction of the change that needs it.
-- (kind, key) is unique: enqueueing the same work twice is a no-op.
-- state: pending (waiting for run_at), running (leased until lease_until by
-- lease_owner; an expired lease makes it due again), succeeded, dead
-- (retries exhausted or a permanent error). Times are unix microseconds.
CREATE TABLE jobs (
    id             TEXT    PRIMARY KEY,
    kind           TEXT    NOT NULL,
    key            TEXT    NOT NULL,
    institution_id TEXT    NOT NULL,
    payload        TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    run_at         BIGINT  NOT NULL,
    lease_owner    TEXT    NOT NULL DEFAULT '',
    lease_until    BIGINT  NOT NULL DEFAULT 0,
    last_error     TEXT    NOT NULL DEFAULT '',
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    finished_at    BIGINT,
    UNIQUE (kind, key)
);
CREATE INDEX jobs_due ON jobs (run_at) WHERE state IN ('pending', 'running');
CREATE INDEX jobs_state ON jobs (state, kind, id);

-- +goose Down
DROP TABLE jobs;
