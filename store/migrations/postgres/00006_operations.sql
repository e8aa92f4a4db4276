-- +goose Up
-- Business operations. internal_accounts names the institution's own
-- accounts the operations post to: a clearing account per channel and
-- asset, and a fee-income account per asset (channel '').
CREATE TABLE internal_accounts (
    institution_id TEXT    NOT NULL,
    role           TEXT    NOT NULL CHECK (role IN ('clearing', 'fee_income')),
    channel        TEXT    NOT NULL,
    asset          TEXT    NOT NULL,
    account_id     TEXT    NOT NULL REFERENCES accounts (id),
    registered_at  BIGINT  NOT NULL,
    registered_by  TEXT    NOT NULL,
    PRIMARY KEY (institution_id, role, channel, asset)
);

-- What an account has used of its limits: amount (minor units) and number
-- of operations per operation type, channel and period ('d:YYYY-MM-DD' for
-- a business day, 'm:YYYY-MM' for a month). Written only by the operations'
-- ride-along write, in the ledger transaction that moves the money.
CREATE TABLE account_usage (
    account_id TEXT    NOT NULL REFERENCES accounts (id),
    operation  TEXT    NOT NULL,
    channel    TEXT    NOT NULL,
    period     TEXT    NOT NULL,
    amount     BIGINT  NOT NULL CHECK (amount >= 0),
    count      BIGINT  NOT NULL CHECK (count >= 0),
    PRIMARY KEY (account_id, operation, period, channel)
);

-- +goose Down
DROP TABLE account_usage;
DROP TABLE internal_accounts;
