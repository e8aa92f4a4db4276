-- +goose Up
-- Times are integer microseconds since the Unix epoch (UTC) in both dialects,
-- so that one SQL text serves SQLite and PostgreSQL. Transaction IDs are
-- UUIDv7 built from the ledger's own timestamp (with microseconds in the
-- rand_a bits), so ID order is time order and time ranges are ID ranges:
-- no separate time index is needed on the hot insert path.

CREATE TABLE assets (
    code       TEXT    PRIMARY KEY,
    scale      INTEGER NOT NULL CHECK (scale BETWEEN 0 AND 18),
    created_at BIGINT NOT NULL
);

-- Balance updates rewrite account rows many times a second; free space in
-- each page lets PostgreSQL make them heap-only (HOT) updates that touch no
-- index.
CREATE TABLE accounts (
    id              TEXT    PRIMARY KEY,
    institution_id  TEXT    NOT NULL,
    asset           TEXT    NOT NULL REFERENCES assets (code),
    code            TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    normal_side     TEXT    NOT NULL CHECK (normal_side IN ('debit', 'credit')),
    overdraft       TEXT    NOT NULL CHECK (overdraft IN ('none', 'limit', 'unlimited')),
    overdraft_limit BIGINT NOT NULL CHECK (overdraft_limit >= 0),
    status          TEXT    NOT NULL CHECK (status IN ('active', 'debit_frozen', 'credit_frozen', 'frozen', 'closed')),
    metadata        TEXT    NOT NULL,
    debits_posted   BIGINT NOT NULL CHECK (debits_posted >= 0),
    credits_posted  BIGINT NOT NULL CHECK (credits_posted >= 0),
    debits_pending  BIGINT NOT NULL CHECK (debits_pending >= 0),
    credits_pending BIGINT NOT NULL CHECK (credits_pending >= 0),
    entry_seq       BIGINT NOT NULL,
    last_entry_at   BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
) WITH (fillfactor = 70);
CREATE INDEX accounts_institution ON accounts (institution_id, id);

CREATE TABLE transactions (
    id             TEXT    PRIMARY KEY,
    institution_id TEXT    NOT NULL,
    reference      TEXT    NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('transfer', 'hold', 'post', 'void', 'reversal')),
    type           TEXT    NOT NULL,
    business_date  TEXT    NOT NULL,
    metadata       TEXT    NOT NULL,
    hold_id        TEXT,
    reverses_id    TEXT,
    content_hash   TEXT    NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX transactions_reference ON transactions (reference, institution_id);
CREATE INDEX transactions_reverses ON transactions (reverses_id) WHERE reverses_id IS NOT NULL;

-- entries is the journal: one row per account per leg, never updated or
-- deleted. A posting is the debit entry and the credit entry that share
-- (tx_id, posting). kind: posted moves posted balances, pending reserves,
-- release gives a reservation back. The *_after columns are the account's
-- balances after the entry, for running balances and point-in-time queries.
CREATE TABLE entries (
    account_id            TEXT    NOT NULL,
    seq                   BIGINT NOT NULL,
    tx_id                 TEXT    NOT NULL,
    posting               INTEGER NOT NULL,
    side                  TEXT    NOT NULL CHECK (side IN ('D', 'C')),
    kind                  TEXT    NOT NULL CHECK (kind IN ('posted', 'pending', 'release')),
    asset                 TEXT    NOT NULL,
    amount                BIGINT NOT NULL CHECK (amount > 0),
    debits_posted_after   BIGINT NOT NULL,
    credits_posted_after  BIGINT NOT NULL,
    debits_pending_after  BIGINT NOT NULL,
    credits_pending_after BIGINT NOT NULL,
    created_at            BIGINT NOT NULL,
    PRIMARY KEY (account_id, seq)
);
CREATE INDEX entries_tx ON entries (tx_id);

CREATE TABLE holds (
    id             TEXT    PRIMARY KEY,
    institution_id TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('pending', 'posted', 'voided', 'expired')),
    expires_at     BIGINT,
    resolved_by    TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
) WITH (fillfactor = 80);
CREATE INDEX holds_expiry ON holds (expires_at) WHERE status = 'pending' AND expires_at IS NOT NULL;

-- +goose Down
DROP TABLE holds;
DROP TABLE entries;
DROP TABLE transactions;
DROP TABLE accounts;
DROP TABLE assets;
