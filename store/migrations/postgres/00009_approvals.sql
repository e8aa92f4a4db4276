-- +goose Up
-- Maker–checker approvals. A request (kind 'adjustment': payload is the
-- transaction to reverse, if any, and the right postings, as JSON) is
-- proposed by one key and decided by another; nothing posts before it is
-- approved, and the approval's status changes in the same storage
-- transaction as the ledger batch it posts (approved ⇔ posted).
CREATE TABLE approvals (
    id             TEXT    PRIMARY KEY,
    institution_id TEXT    NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('adjustment')),
    payload        TEXT    NOT NULL,
    reference      TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'cancelled')),
    maker_key      TEXT    NOT NULL,
    checker_key    TEXT    NOT NULL DEFAULT '',
    reason         TEXT    NOT NULL,
    decided_reason TEXT    NOT NULL DEFAULT '',
    created_at     BIGINT  NOT NULL,
    decided_at     BIGINT,
    UNIQUE (institution_id, reference)
);
CREATE INDEX approvals_status ON approvals (institution_id, status, id);

-- +goose Down
DROP TABLE approvals;
