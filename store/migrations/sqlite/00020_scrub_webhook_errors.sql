-- +goose Up
-- Webhook delivery logs written before their errors were bounded kept a
-- receiver's answer and the text of dial errors, with the addresses and
-- ports tried: a window on the operator's network for any institution's
-- admin. Keep only the status ("http 500") or, without one, a fixed phrase;
-- what the code writes now (outbox.attemptError) is left as it is.
CREATE TEMPORARY TABLE bounded_phrases (phrase TEXT PRIMARY KEY);
INSERT INTO bounded_phrases (phrase) VALUES ('address not allowed'), ('connection refused'), ('connection closed'),
    ('timeout'), ('no such host'), ('dns lookup failed'), ('unreachable'), ('canceled'), ('request failed'), ('tls'),
    ('tls: certificate signed by an unknown authority'), ('tls: certificate not valid for the host'),
    ('tls: certificate expired or not yet valid'), ('tls: certificate invalid');
UPDATE webhook_attempts SET error = CASE WHEN status_code > 0 THEN 'http ' || status_code ELSE 'request failed' END
WHERE error <> '' AND NOT (status_code > 0 AND error = 'http ' || status_code)
    AND error NOT IN (SELECT phrase FROM bounded_phrases);
UPDATE webhook_deliveries SET last_error = CASE WHEN last_status > 0 THEN 'http ' || last_status ELSE 'request failed' END
WHERE last_error <> '' AND NOT (last_status > 0 AND last_error = 'http ' || last_status)
    AND last_error NOT IN (SELECT phrase FROM bounded_phrases);
DROP TABLE bounded_phrases;
-- A delivery job's error repeated the attempt's; the delivery log keeps
-- the bounded one.
UPDATE jobs SET last_error = 'webhook delivery failed; see the delivery log'
WHERE kind = 'webhook.deliver' AND last_error <> '';

-- +goose Down
-- What was removed cannot come back; nothing to undo.
SELECT 1;
