-- +goose Up
-- Account products are versioned configuration: a change adds a row with the
-- next version and never alters an old one, so an account keeps the exact
-- product version it was opened on. The rule lists (limits, fees, channels,
-- operations, term, auto-open) are JSON in body; what lists filter on is in
-- columns. Retiring a product is a version too, with status retired.
CREATE TABLE products (
    institution_id TEXT    NOT NULL,
    id             TEXT    NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 1),
    class          TEXT    NOT NULL CHECK (class IN ('wallet', 'merchant_settlement', 'escrow', 'points', 'credit', 'shadow', 'clearing', 'internal')),
    asset          TEXT    NOT NULL REFERENCES assets (code),
    status         TEXT    NOT NULL CHECK (status IN ('active', 'retired')),
    body           TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    created_by     TEXT    NOT NULL,
    PRIMARY KEY (institution_id, id, version)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE products;
