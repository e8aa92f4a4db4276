-- +goose Up
-- The account life cycle on products. customer_accounts links a ledger
-- account to its customer (NULL for an institution's internal account) and
-- to the product version it was opened on, which it keeps for life. An open
-- may carry a reference, unique within the institution, so that a retried
-- open returns the account the first one opened.
CREATE TABLE customer_accounts (
    account_id      TEXT    PRIMARY KEY REFERENCES accounts (id),
    institution_id  TEXT    NOT NULL,
    customer_id     TEXT    REFERENCES customers (id),
    product_id      TEXT    NOT NULL,
    product_version INTEGER NOT NULL,
    reference       TEXT,
    properties      TEXT    NOT NULL,
    opened_at       INTEGER NOT NULL,
    opened_by       TEXT    NOT NULL,
    closed_at       INTEGER,
    closed_by       TEXT    NOT NULL DEFAULT '',
    FOREIGN KEY (institution_id, product_id, product_version) REFERENCES products (institution_id, id, version)
) STRICT;
CREATE UNIQUE INDEX customer_accounts_reference ON customer_accounts (institution_id, reference) WHERE reference IS NOT NULL;
CREATE INDEX customer_accounts_customer ON customer_accounts (customer_id, account_id) WHERE customer_id IS NOT NULL;

-- Freezes of an account, each with its side, authority and reason. The
-- account's ledger status freezes at least every side of the freezes in
-- force (lifted_at NULL); lifting one thaws only the sides no other holds.
CREATE TABLE account_freezes (
    id             TEXT    PRIMARY KEY,
    account_id     TEXT    NOT NULL REFERENCES accounts (id),
    institution_id TEXT    NOT NULL,
    side           TEXT    NOT NULL CHECK (side IN ('debit', 'credit', 'both')),
    authority      TEXT    NOT NULL CHECK (authority IN ('operator', 'risk', 'judicial')),
    reason         TEXT    NOT NULL,
    placed_by      TEXT    NOT NULL,
    placed_at      INTEGER NOT NULL,
    lifted_at      INTEGER,
    lifted_by      TEXT    NOT NULL DEFAULT '',
    lift_reason    TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX account_freezes_account ON account_freezes (account_id, id);

-- The outbox: one row per domain change, written in the change's storage
-- transaction; a publisher delivers the rows with published_at NULL in ID
-- (time) order and then sets it.
CREATE TABLE events (
    id             TEXT    PRIMARY KEY,
    type           TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    institution_id TEXT    NOT NULL,
    payload        TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    published_at   INTEGER
) STRICT;
CREATE INDEX events_unpublished ON events (id) WHERE published_at IS NULL;
CREATE INDEX events_subject ON events (subject, id);

-- +goose Down
DROP TABLE events;
DROP TABLE account_freezes;
DROP TABLE customer_accounts;
