-- +goose Up
-- Batch operations: an uploaded CSV of operations (batch_files, the raw
-- bytes), processed asynchronously by the batch worker, with one result row
-- per data line (batch_lines). reference is the uploader's, unique per
-- institution: uploading the same file under it again returns this batch.
-- lease_until (microseconds) is when a running batch's worker must have
-- renewed its claim by; after it another worker may take the batch over.
CREATE TABLE batches (
    id             TEXT    PRIMARY KEY,
    institution_id TEXT    NOT NULL,
    reference      TEXT    NOT NULL,
    content_hash   TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    lines          BIGINT  NOT NULL,
    succeeded      INTEGER NOT NULL DEFAULT 0,
    failed_lines   INTEGER NOT NULL DEFAULT 0,
    created_by     TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    finished_at    BIGINT,
    lease_until    BIGINT  NOT NULL DEFAULT 0,
    error          TEXT    NOT NULL DEFAULT '',
    UNIQUE (institution_id, reference)
);
CREATE INDEX batches_status ON batches (status, created_at);

CREATE TABLE batch_files (
    batch_id TEXT PRIMARY KEY REFERENCES batches (id),
    content  BYTEA NOT NULL
);

CREATE TABLE batch_lines (
    batch_id       TEXT    NOT NULL REFERENCES batches (id),
    line_no        BIGINT  NOT NULL,
    reference      TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    code           TEXT    NOT NULL,
    message        TEXT    NOT NULL,
    transaction_id TEXT    NOT NULL,
    PRIMARY KEY (batch_id, line_no)
);

-- +goose Down
DROP TABLE batch_lines;
DROP TABLE batch_files;
DROP INDEX batches_status;
DROP TABLE batches;
