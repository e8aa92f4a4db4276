-- +goose Up
-- More business operations: internal account roles for the frozen-funds
-- account of a balance freeze (channel ''), the clearing account towards
-- another institution (channel: that institution's ID) and the points
-- issuance account of a points asset (channel ''). SQLite cannot alter a
-- CHECK constraint: the table is rebuilt (nothing references it).
CREATE TABLE internal_accounts_new (
    institution_id TEXT    NOT NULL,
    role           TEXT    NOT NULL CHECK (role IN ('clearing', 'fee_income', 'frozen', 'clearing_inst', 'points_issuance')),
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

-- +goose Down
CREATE TABLE internal_accounts_old (
    institution_id TEXT    NOT NULL,
    role           TEXT    NOT NULL CHECK (role IN ('clearing', 'fee_income')),
    channel        TEXT    NOT NULL,
    asset          TEXT    NOT NULL,
    account_id     TEXT    NOT NULL REFERENCES accounts (id),
    registered_at  INTEGER NOT NULL,
    registered_by  TEXT    NOT NULL,
    PRIMARY KEY (institution_id, role, channel, asset)
) STRICT;
INSERT INTO internal_accounts_old SELECT institution_id, role, channel, asset, account_id, registered_at, registered_by
    FROM internal_accounts WHERE role IN ('clearing', 'fee_income');
DROP TABLE internal_accounts;
ALTER TABLE internal_accounts_old RENAME TO internal_accounts;
