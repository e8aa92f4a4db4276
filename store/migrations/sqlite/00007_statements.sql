-- +goose Up
-- Customer statements, stored once per customer and period: generating the
-- same period again returns the stored one unless it is regenerated. body
-- is the statement as JSON (masked customer name only). Periods are
-- business dates, period_to exclusive.
CREATE TABLE statements (
    id             TEXT    PRIMARY KEY,
    institution_id TEXT    NOT NULL,
    customer_id    TEXT    NOT NULL REFERENCES customers (id),
    period_from    TEXT    NOT NULL,
    period_to      TEXT    NOT NULL,
    generated_at   INTEGER NOT NULL,
    body           TEXT    NOT NULL,
    UNIQUE (customer_id, period_from, period_to)
) STRICT;

-- Control accounts of the total-score check: per institution, chart code
-- and asset, the account whose balance must equal the sum of all other
-- accounts with that code and asset (its sub-accounts).
CREATE TABLE control_accounts (
    institution_id TEXT    NOT NULL,
    code           TEXT    NOT NULL,
    asset          TEXT    NOT NULL,
    account_id     TEXT    NOT NULL REFERENCES accounts (id),
    created_at     INTEGER NOT NULL,
    created_by     TEXT    NOT NULL,
    PRIMARY KEY (institution_id, code, asset)
) STRICT;

-- Runs of the total-score check, one row per institution checked; body
-- holds the lines, the uncontrolled codes and the trial balance as JSON.
CREATE TABLE check_runs (
    id             TEXT    PRIMARY KEY,
    institution_id TEXT    NOT NULL,
    ran_at         INTEGER NOT NULL,
    ok             INTEGER NOT NULL,
    differences    INTEGER NOT NULL,
    body           TEXT    NOT NULL
) STRICT;
CREATE INDEX check_runs_institution ON check_runs (institution_id, id);

-- Daily vouchers read a business date's transactions of an institution.
CREATE INDEX transactions_business_date ON transactions (institution_id, business_date);

-- +goose Down
DROP INDEX transactions_business_date;
DROP TABLE check_runs;
DROP TABLE control_accounts;
DROP TABLE statements;
