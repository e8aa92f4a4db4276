-- +goose Up
-- Two more roles of internal accounts: suspense (differences parked while
-- open) and write_off.
ALTER TABLE internal_accounts DROP CONSTRAINT internal_accounts_role_check;
ALTER TABLE internal_accounts ADD CONSTRAINT internal_accounts_role_check
    CHECK (role IN ('clearing', 'fee_income', 'frozen', 'clearing_inst', 'points_issuance', 'envelope', 'suspense', 'write_off'));

-- Reconciliation (internal/recon). recon_settings holds, per payment
-- channel, how its statement file is laid out (format: the JSON of a
-- statement.Format, so each channel of each branch can have its own CSV
-- column map) and the matching rules: tolerances, the late window, the
-- alert thresholds and whether orders the channel never listed fail once
-- the late window has passed.
CREATE TABLE recon_settings (
    channel_id          TEXT    PRIMARY KEY REFERENCES payment_channels (id),
    institution_id      TEXT    NOT NULL,
    format              TEXT    NOT NULL,
    amount_tolerance    BIGINT  NOT NULL,
    amount_tolerance_bp BIGINT  NOT NULL,
    date_tolerance_ms   BIGINT  NOT NULL,
    late_window_ms      BIGINT  NOT NULL,
    alert_count         BIGINT  NOT NULL,
    alert_amount        BIGINT  NOT NULL,
    auto_fail_short     BIGINT  NOT NULL,
    version             BIGINT  NOT NULL,
    updated_by          TEXT    NOT NULL,
    updated_at          BIGINT  NOT NULL
);

-- An imported statement file: one per channel and business date; the same
-- file again (by SHA-256) is the same import. content is the file as it
-- came; the totals are those validated at import.
CREATE TABLE recon_statements (
    id             TEXT    PRIMARY KEY,
    institution_id TEXT    NOT NULL,
    channel_id     TEXT    NOT NULL REFERENCES payment_channels (id),
    date           TEXT    NOT NULL,
    format         TEXT    NOT NULL,
    sha256         TEXT    NOT NULL,
    size           BIGINT  NOT NULL,
    lines          BIGINT  NOT NULL,
    credits        BIGINT  NOT NULL,
    debits         BIGINT  NOT NULL,
    fees           BIGINT  NOT NULL,
    imported_by    TEXT    NOT NULL,
    imported_at    BIGINT  NOT NULL,
    UNIQUE (channel_id, date)
);

CREATE TABLE recon_statement_files (
    statement_id TEXT PRIMARY KEY REFERENCES recon_statements (id),
    content      BYTEA NOT NULL
);

-- The statement's lines, normalized. state: open (not yet reconciled),
-- late (one-sided, inside the late window: looked at again by the next
-- run), matched, discrepancy, ignored (a failure with no order: no money).
CREATE TABLE recon_lines (
    statement_id TEXT    NOT NULL REFERENCES recon_statements (id),
    line_no      BIGINT  NOT NULL,
    channel_id   TEXT    NOT NULL,
    order_id     TEXT    NOT NULL,
    channel_ref  TEXT    NOT NULL,
    direction    TEXT    NOT NULL,
    amount       BIGINT  NOT NULL,
    fee          BIGINT  NOT NULL,
    asset        TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    at           BIGINT  NOT NULL,
    party        TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    run_id       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (statement_id, line_no)
);
CREATE INDEX recon_lines_late ON recon_lines (channel_id, state) WHERE state = 'late';

-- A reconciliation run of one channel and date. status: resolving (matched
-- and recorded; its rules and parking are being applied) then done.
CREATE TABLE recon_runs (
    id             TEXT    PRIMARY KEY,
    institution_id TEXT    NOT NULL,
    channel_id     TEXT    NOT NULL REFERENCES payment_channels (id),
    statement_id   TEXT    NOT NULL REFERENCES recon_statements (id),
    date           TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    counts         TEXT    NOT NULL,
    open_amount    BIGINT  NOT NULL DEFAULT 0,
    alerted        BIGINT  NOT NULL DEFAULT 0,
    started_by     TEXT    NOT NULL,
    started_at     BIGINT  NOT NULL,
    finished_at    BIGINT
);
CREATE INDEX recon_runs_channel ON recon_runs (channel_id, date);

-- A difference a run found. effect is its amount as a debit to the
-- channel's clearing account (channel's view minus Suanpan's): the amount
-- parked in suspense while it is open. status: new (rules not yet
-- applied), open (parked, waiting for an operator), write_off_pending
-- (proposed, waiting for a second person), resolved. action is what the
-- run decided: settle or fail (a rule), park.
CREATE TABLE recon_discrepancies (
    id             TEXT    PRIMARY KEY,
    run_id         TEXT    NOT NULL REFERENCES recon_runs (id),
    institution_id TEXT    NOT NULL,
    channel_id     TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    by_rule        TEXT    NOT NULL,
    statement_id   TEXT    NOT NULL,
    line_no        BIGINT  NOT NULL,
    order_ids      TEXT    NOT NULL,
    account_id     TEXT    NOT NULL,
    direction      TEXT    NOT NULL,
    asset          TEXT    NOT NULL,
    difference     BIGINT  NOT NULL,
    effect         BIGINT  NOT NULL,
    detail         TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    action         TEXT    NOT NULL,
    resolution     TEXT    NOT NULL DEFAULT '',
    park_tx        TEXT    NOT NULL DEFAULT '',
    resolve_tx     TEXT    NOT NULL DEFAULT '',
    proposed_by    TEXT    NOT NULL DEFAULT '',
    resolved_by    TEXT    NOT NULL DEFAULT '',
    note           TEXT    NOT NULL DEFAULT '',
    created_at     BIGINT  NOT NULL,
    resolved_at    BIGINT,
    version        BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX recon_discrepancies_status ON recon_discrepancies (institution_id, status, id);
CREATE INDEX recon_discrepancies_run ON recon_discrepancies (run_id, id);

-- Orders' reconciliation state: '' not yet seen, late, matched,
-- discrepancy.
ALTER TABLE payment_orders ADD COLUMN recon_state TEXT NOT NULL DEFAULT '';
ALTER TABLE payment_orders ADD COLUMN recon_run TEXT NOT NULL DEFAULT '';
CREATE INDEX payment_orders_recon ON payment_orders (channel_id, recon_state, business_date);
CREATE INDEX payment_orders_channel_ref ON payment_orders (channel_id, channel_ref) WHERE channel_ref <> '';

-- +goose Down
DROP INDEX payment_orders_channel_ref;
DROP INDEX payment_orders_recon;
ALTER TABLE payment_orders DROP COLUMN recon_run;
ALTER TABLE payment_orders DROP COLUMN recon_state;
DROP TABLE recon_discrepancies;
DROP TABLE recon_runs;
DROP TABLE recon_lines;
DROP TABLE recon_statement_files;
DROP TABLE recon_statements;
DROP TABLE recon_settings;
DELETE FROM internal_accounts WHERE role IN ('suspense', 'write_off');
ALTER TABLE internal_accounts DROP CONSTRAINT internal_accounts_role_check;
ALTER TABLE internal_accounts ADD CONSTRAINT internal_accounts_role_check
    CHECK (role IN ('clearing', 'fee_income', 'frozen', 'clearing_inst', 'points_issuance', 'envelope'));
