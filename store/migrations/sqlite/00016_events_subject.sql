-- +goose Up
-- Nothing reads events by subject (the API lists an order's transitions from
-- its own table), and the index cost every event a b-tree insert on the
-- busiest write path.
DROP INDEX events_subject;

-- +goose Down
CREATE INDEX events_subject ON events (subject, id);
