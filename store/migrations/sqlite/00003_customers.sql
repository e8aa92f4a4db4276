-- +goose Up
-- Customers of an institution. name, id_doc_number and phone hold
-- ciphertext ("KEYID:BASE64(nonce|ciphertext)", AES-256-GCM bound to the
-- column and the row's id); id_number_index is the HMAC blind index of the
-- ID document number, for exact lookups without decrypting. Empty values
-- are stored empty.
CREATE TABLE customers (
    id              TEXT    PRIMARY KEY,
    institution_id  TEXT    NOT NULL,
    type            TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    id_doc_type     TEXT    NOT NULL,
    id_doc_number   TEXT    NOT NULL,
    id_number_index TEXT    NOT NULL,
    phone           TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    status_reason   TEXT    NOT NULL,
    risk_level      TEXT    NOT NULL,
    properties      TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX customers_institution ON customers (institution_id, id);
CREATE INDEX customers_id_number ON customers (id_number_index) WHERE id_number_index <> '';
-- One open customer per ID document number and institution; a closed
-- customer frees its number.
CREATE UNIQUE INDEX customers_open_id_number ON customers (institution_id, id_number_index)
    WHERE id_number_index <> '' AND status <> 'closed';

-- +goose Down
DROP TABLE customers;
