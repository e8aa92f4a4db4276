-- +goose Up
-- Red envelopes: the internal account role 'envelope' (the escrow account
-- of an asset, channel '') and the envelopes with their claims. SQLite
-- cannot alter a CHECK constraint: internal_accounts is rebuilt as in 00008.
CREATE TABLE internal_accounts_new (
    institution_id TEXT    NOT NULL,
    role           TEXT    NOT NULL CHECK (role IN ('clearing', 'fee_income', 'frozen', 'clearing_inst', 'points_issuance', 'envelope')),
    channel        TEXT    NOT NULL,
    asset          TEXT    NOT NULL,
    account_id     TEXT    NOT NULL REFERENCES accounts (id),
    registered_at  INTEGER NOT NULL,
    registered_by  TEXT    NOT NULL,
    PRIMARY KEY (institution_id, role, channel, asset)
) STRICT;
INSERT INTO internal_accounts_new SELECT institution_id, role, channel, asset, account_id, registered_at, registered_by
    FROM internal_accounts;
DROP TABLE internal_accounts;
ALTER TABLE internal_accounts_new RENAME TO internal_accounts;

CREATE TABLE envelopes (
    id               TEXT    PRIMARY KEY,
    institution_id   TEXT    NOT NULL,
    payer_account    TEXT    NOT NULL REFERENCES accounts (id),
    escrow_account   TEXT    NOT NULL REFERENCES accounts (id),
    asset            TEXT    NOT NULL,
    total            INTEGER NOT NULL CHECK (total > 0),
    count            INTEGER NOT NULL CHECK (count > 0),
    remaining_amount INTEGER NOT NULL CHECK (remaining_amount >= 0),
    remaining_count  INTEGER NOT NULL CHECK (remaining_count >= 0),
    split            TEXT    NOT NULL CHECK (split IN ('equal', 'random')),
    seed             INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('open', 'done', 'expired')),
    reference        TEXT    NOT NULL,
    transaction_id   TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    UNIQUE (institution_id, reference)
) STRICT;
CREATE INDEX envelopes_open_expiry ON envelopes (expires_at) WHERE status = 'open';

CREATE TABLE envelope_claims (
    envelope_id       TEXT    NOT NULL REFERENCES envelopes (id),
    recipient_account TEXT    NOT NULL REFERENCES accounts (id),
    amount            INTEGER NOT NULL CHECK (amount > 0),
    status            TEXT    NOT NULL CHECK (status IN ('pending', 'done')),
    transaction_id    TEXT,
    claimed_at        INTEGER NOT NULL,
    UNIQUE (envelope_id, recipient_account)
) STRICT;

-- +goose Down
DROP TABLE envelope_claims;
DROP TABLE envelopes;
CREATE TABLE internal_accounts_old (
    institution_id TEXT    NOT NULL,
    role           TEXT    NOT NULL CHECK (role IN ('clearing', 'fee_income', 'frozen', 'clearing_inst', 'points_issuance')),
    channel        TEXT    NOT NULL,
    asset          TEXT    NOT NULL,
    account_id     TEXT    NOT NULL REFERENCES accounts (id),
    registered_at  INTEGER NOT NULL,
    registered_by  TEXT    NOT NULL,
    PRIMARY KEY (institution_id, role, channel, asset)
) STRICT;
INSERT INTO internal_accounts_old SELECT institution_id, role, channel, asset, account_id, registered_at, registered_by
    FROM internal_accounts WHERE role <> 'envelope';
DROP TABLE internal_accounts;
ALTER TABLE internal_accounts_old RENAME TO internal_accounts;
