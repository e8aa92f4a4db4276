-- +goose Up
-- Institutions form a tree (group → branch → department). path is the chain
-- of IDs from the root, "/root/branch/", so a subtree is a path prefix.
CREATE TABLE institutions (
    id         TEXT    PRIMARY KEY,
    parent_id  TEXT    REFERENCES institutions (id),
    name       TEXT    NOT NULL,
    path       TEXT    NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- API keys are stored only as the SHA-256 of their secret.
CREATE TABLE api_keys (
    id             TEXT    PRIMARY KEY,
    institution_id TEXT    NOT NULL REFERENCES institutions (id),
    role           TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    secret_hash    TEXT    NOT NULL,
    created_by     TEXT    NOT NULL,
    created_at     BIGINT NOT NULL,
    revoked_at     BIGINT
);

-- The audit log is a hash chain: each record's hash covers its content and
-- the previous record's hash. audit_head holds the newest seq and hash, so
-- that deleting the newest records is detected too.
CREATE TABLE audit_log (
    seq            BIGINT PRIMARY KEY,
    at             BIGINT NOT NULL,
    key_id         TEXT    NOT NULL,
    institution_id TEXT    NOT NULL,
    source         TEXT    NOT NULL,
    operation      TEXT    NOT NULL,
    target         TEXT    NOT NULL,
    request_id     TEXT    NOT NULL,
    before         TEXT    NOT NULL,
    after          TEXT    NOT NULL,
    prev_hash      TEXT    NOT NULL,
    hash           TEXT    NOT NULL
);
CREATE INDEX audit_log_target ON audit_log (target);

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

-- Idempotency-Key replays: the key, what the request was, and what answered
-- it; written in the same storage transaction as the request's effect.
CREATE TABLE idempotency_keys (
    institution_id TEXT    NOT NULL,
    key            TEXT    NOT NULL,
    request_hash   TEXT    NOT NULL,
    operation      TEXT    NOT NULL,
    result         TEXT    NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (institution_id, key)
);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE audit_head;
DROP TABLE audit_log;
DROP TABLE api_keys;
DROP TABLE institutions;
