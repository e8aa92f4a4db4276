-- +goose Up
-- The largest amount one operation may move in the asset, in minor units:
-- a ceiling checked before any money moves or any channel is called. The
-- default is a trillion (10^12) major units, at most 10^18 minor units
-- (ledger.DefaultMaxAmount).
ALTER TABLE assets ADD COLUMN max_amount BIGINT NOT NULL DEFAULT 1000000000000000000 CHECK (max_amount > 0);
UPDATE assets SET max_amount = CASE scale
    WHEN 0 THEN 1000000000000
    WHEN 1 THEN 10000000000000
    WHEN 2 THEN 100000000000000
    WHEN 3 THEN 1000000000000000
    WHEN 4 THEN 10000000000000000
    WHEN 5 THEN 100000000000000000
    ELSE 1000000000000000000 END;

-- +goose Down
ALTER TABLE assets DROP COLUMN max_amount;
