-- +goose Up
-- A freeze's optional reference makes placing it idempotent: unique per
-- account, NULL when the caller gave none.
ALTER TABLE account_freezes ADD COLUMN reference TEXT;
CREATE UNIQUE INDEX account_freezes_reference ON account_freezes (account_id, reference);

-- +goose Down
DROP INDEX account_freezes_reference;
ALTER TABLE account_freezes DROP COLUMN reference;
