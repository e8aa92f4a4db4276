-- +goose Up
-- More business operations: internal account roles for the frozen-funds
-- account of a balance freeze (channel ''), the clearing account towards
-- another institution (channel: that institution's ID) and the points
-- issuance account of a points asset (channel '').
ALTER TABLE internal_accounts DROP CONSTRAINT internal_accounts_role_check;
ALTER TABLE internal_accounts ADD CONSTRAINT internal_accounts_role_check
    CHECK (role IN ('clearing', 'fee_income', 'frozen', 'clearing_inst', 'points_issuance'));

-- +goose Down
DELETE FROM internal_accounts WHERE role NOT IN ('clearing', 'fee_income');
ALTER TABLE internal_accounts DROP CONSTRAINT internal_accounts_role_check;
ALTER TABLE internal_accounts ADD CONSTRAINT internal_accounts_role_check
    CHECK (role IN ('clearing', 'fee_income'));
