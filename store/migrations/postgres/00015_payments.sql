-- +goose Up
-- Payment channels (internal/payments): one row per configured channel of
-- an institution. code is the channel token the account products and the
-- clearing accounts name (accounts' internal_accounts.channel); params is
-- the JSON of limits, enabled directions, timeout, retry policy and fee
-- rates, read on every use so that a change applies without a restart.
-- secret signs the channel's messages and is never returned by the API.
CREATE TABLE payment_channels (
    id             TEXT    PRIMARY KEY,
    institution_id TEXT    NOT NULL,
    code           TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    endpoint       TEXT    NOT NULL,
    merchant_id    TEXT    NOT NULL,
    secret         TEXT    NOT NULL,
    asset          TEXT    NOT NULL,
    params         TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    UNIQUE (institution_id, code)
);

-- What was sent to a channel per direction and business day, for its
-- daily limits; a failed order gives its amount back.
CREATE TABLE payment_channel_usage (
    channel_id TEXT    NOT NULL REFERENCES payment_channels (id),
    direction  TEXT    NOT NULL,
    day        TEXT    NOT NULL,
    amount     BIGINT  NOT NULL,
    count      BIGINT  NOT NULL,
    PRIMARY KEY (channel_id, direction, day)
);

-- Pay-in, pay-out and refund orders. reference is the caller's, unique per
-- institution (idempotent creation; request_hash tells a retry from a
-- conflicting reuse). hold_id is a pay-out's or refund's ledger hold,
-- transaction_id the posting that settled the order, reversal_id the
-- compensation of a success the channel later failed. batch_id/line_no
-- tie an order to the bulk file it came from. version counts the order's
-- changes: every change is a compare-and-set on it.
CREATE TABLE payment_orders (
    id              TEXT    PRIMARY KEY,
    institution_id  TEXT    NOT NULL,
    reference       TEXT    NOT NULL,
    request_hash    TEXT    NOT NULL,
    channel_id      TEXT    NOT NULL REFERENCES payment_channels (id),
    direction       TEXT    NOT NULL,
    account_id      TEXT    NOT NULL,
    asset           TEXT    NOT NULL,
    amount          BIGINT  NOT NULL,
    channel_fee     BIGINT  NOT NULL DEFAULT 0,
    party           TEXT    NOT NULL,
    party_name      TEXT    NOT NULL,
    memo            TEXT    NOT NULL,
    original_id     TEXT    NOT NULL DEFAULT '',
    state           TEXT    NOT NULL,
    version         INTEGER NOT NULL DEFAULT 0,
    channel_ref     TEXT    NOT NULL DEFAULT '',
    failure_code    TEXT    NOT NULL DEFAULT '',
    failure_message TEXT    NOT NULL DEFAULT '',
    hold_id         TEXT    NOT NULL DEFAULT '',
    transaction_id  TEXT    NOT NULL DEFAULT '',
    reversal_id     TEXT    NOT NULL DEFAULT '',
    batch_id        TEXT    NOT NULL DEFAULT '',
    line_no         INTEGER NOT NULL DEFAULT 0,
    business_date   TEXT    NOT NULL,
    created_by      TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    finished_at     BIGINT,
    UNIQUE (institution_id, reference)
);
CREATE INDEX payment_orders_state ON payment_orders (state, id);
CREATE INDEX payment_orders_channel ON payment_orders (channel_id, business_date, id);
CREATE INDEX payment_orders_batch ON payment_orders (batch_id, line_no) WHERE batch_id <> '';

-- Every change of an order's state, with its time and cause (api, start,
-- query, callback, operator, compensation, …); notes without a state
-- change (a contradicting answer) have from_state = to_state.
CREATE TABLE payment_order_transitions (
    order_id   TEXT    NOT NULL REFERENCES payment_orders (id),
    seq        INTEGER NOT NULL,
    from_state TEXT    NOT NULL,
    to_state   TEXT    NOT NULL,
    cause      TEXT    NOT NULL,
    detail     TEXT    NOT NULL,
    at         BIGINT  NOT NULL,
    PRIMARY KEY (order_id, seq)
);

-- Bulk order files: the upload (payment_batch_files), one row per line
-- (payment_batch_lines: the order it became, or why not), and counters:
-- the batch is completed when every line is processed and no order of it
-- is still open.
CREATE TABLE payment_batches (
    id             TEXT    PRIMARY KEY,
    institution_id TEXT    NOT NULL,
    reference      TEXT    NOT NULL,
    content_hash   TEXT    NOT NULL,
    channel_id     TEXT    NOT NULL REFERENCES payment_channels (id),
    direction      TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    lines          INTEGER NOT NULL,
    processed      INTEGER NOT NULL DEFAULT 0,
    open_orders    INTEGER NOT NULL DEFAULT 0,
    succeeded      INTEGER NOT NULL DEFAULT 0,
    failed         INTEGER NOT NULL DEFAULT 0,
    rejected       INTEGER NOT NULL DEFAULT 0,
    created_by     TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    finished_at    BIGINT,
    UNIQUE (institution_id, reference)
);

CREATE TABLE payment_batch_files (
    batch_id TEXT PRIMARY KEY REFERENCES payment_batches (id),
    content  BYTEA NOT NULL
);

CREATE TABLE payment_batch_lines (
    batch_id  TEXT    NOT NULL REFERENCES payment_batches (id),
    line_no   INTEGER NOT NULL,
    reference TEXT    NOT NULL,
    order_id  TEXT    NOT NULL,
    code      TEXT    NOT NULL,
    message   TEXT    NOT NULL,
    PRIMARY KEY (batch_id, line_no)
);

-- +goose Down
DROP TABLE payment_batch_lines;
DROP TABLE payment_batch_files;
DROP TABLE payment_batches;
DROP TABLE payment_order_transitions;
DROP TABLE payment_orders;
DROP TABLE payment_channel_usage;
DROP TABLE payment_channels;
