-- +goose Up
-- Red envelopes: the internal account role 'envelope' (the escrow account
-- of an asset, channel '') and the envelopes with their claims.
ALTER TABLE internal_accounts DROP CONSTRAINT internal_accounts_role_check;
ALTER TABLE internal_accounts ADD CONSTRAINT internal_accounts_role_check
    CHECK (role IN ('clearing', 'fee_income', 'frozen', 'clearing_inst', 'points_issuance', 'envelope'));

CREATE TABLE envelopes (
    id               TEXT    PRIMARY KEY,
    institution_id   TEXT    NOT NULL,
    payer_account    TEXT    NOT NULL REFERENCES accounts (id),
    escrow_account   TEXT    NOT NULL REFERENCES accounts (id),
    asset            TEXT    NOT NULL,
    total            BIGINT  NOT NULL CHECK (total > 0),
    count            INTEGER NOT NULL CHECK (count > 0),
    remaining_amount BIGINT  NOT NULL CHECK (remaining_amount >= 0),
    remaining_count  INTEGER NOT NULL CHECK (remaining_count >= 0),
    split            TEXT    NOT NULL CHECK (split IN ('equal', 'random')),
    seed             BIGINT  NOT NULL,
    expires_at       BIGINT  NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('open', 'done', 'expired')),
    reference        TEXT    NOT NULL,
    transaction_id   TEXT    NOT NULL,
    created_at       BIGINT  NOT NULL,
    UNIQUE (institution_id, reference)
);
CREATE INDEX envelopes_open_expiry ON envelopes (expires_at) WHERE status = 'open';

CREATE TABLE envelope_claims (
    envelope_id       TEXT   NOT NULL REFERENCES envelopes (id),
    recipient_account TEXT   NOT NULL REFERENCES accounts (id),
    amount            BIGINT NOT NULL CHECK (amount > 0),
    status            TEXT   NOT NULL CHECK (status IN ('pending', 'done')),
    transaction_id    TEXT,
    claimed_at        BIGINT NOT NULL,
    UNIQUE (envelope_id, recipient_account)
);

-- +goose Down
DROP TABLE envelope_claims;
DROP TABLE envelopes;
DELETE FROM internal_accounts WHERE role = 'envelope';
ALTER TABLE internal_accounts DROP CONSTRAINT internal_accounts_role_check;
ALTER TABLE internal_accounts ADD CONSTRAINT internal_accounts_role_check
    CHECK (role IN ('clearing', 'fee_income', 'frozen', 'clearing_inst', 'points_issuance'));
