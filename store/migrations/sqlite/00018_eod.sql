-- +goose Up
-- End of day (internal/eod): one run per business date, its steps in order,
-- and the files it produced. A run is claimed with a lease (lease_owner,
-- lease_until: unix microseconds) so that one runner works on a date at a
-- time; a crashed runner's lease runs out and the next run resumes at the
-- first step not done. status: running, completed, completed_with_warnings,
-- failed. manifest_sha256 is the SHA-256 of the archive step's manifest.
CREATE TABLE eod_runs (
    business_date   TEXT    PRIMARY KEY,
    status          TEXT    NOT NULL CHECK (status IN ('running', 'completed', 'completed_with_warnings', 'failed')),
    started_by      TEXT    NOT NULL,
    started_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    attempts        INTEGER NOT NULL,
    lease_owner     TEXT    NOT NULL DEFAULT '',
    lease_until     INTEGER NOT NULL DEFAULT 0,
    manifest_sha256 TEXT    NOT NULL DEFAULT '',
    last_error      TEXT    NOT NULL DEFAULT '',
    updated_at      INTEGER NOT NULL
) STRICT;

-- A run's steps (cutover, expire_holds, check, reconcile, settlement_report,
-- vouchers, archive), seq giving their order. outcome is the step's result
-- as JSON ('' until it has one); error why its last attempt failed.
CREATE TABLE eod_steps (
    business_date TEXT    NOT NULL REFERENCES eod_runs (business_date),
    step          TEXT    NOT NULL,
    seq           INTEGER NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'running', 'done', 'warning', 'failed', 'skipped')),
    outcome       TEXT    NOT NULL DEFAULT '',
    error         TEXT    NOT NULL DEFAULT '',
    attempts      INTEGER NOT NULL DEFAULT 0,
    started_at    INTEGER,
    finished_at   INTEGER,
    PRIMARY KEY (business_date, step)
) STRICT;

-- The files a run produced (settlement reports, vouchers, reconciliation
-- summaries, the manifest), written in the storage transaction that
-- completes their step. name is unique per date (it carries the
-- institution); institution_id is '' for a file about every institution.
-- content depends only on the date's data, so a rerun writes the same bytes.
CREATE TABLE eod_artifacts (
    business_date  TEXT    NOT NULL REFERENCES eod_runs (business_date),
    name           TEXT    NOT NULL,
    institution_id TEXT    NOT NULL,
    step           TEXT    NOT NULL,
    content_type   TEXT    NOT NULL,
    content        BLOB    NOT NULL,
    sha256         TEXT    NOT NULL,
    size           INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (business_date, name)
) STRICT;

-- +goose Down
DROP TABLE eod_artifacts;
DROP TABLE eod_steps;
DROP TABLE eod_runs;
