package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Sealer encrypts values at rest, each bound to its field and row so that
// a value moved elsewhere no longer decrypts (accounts.Keyring is one).
type Sealer interface {
	Encrypt(field, rowID, plaintext string) (string, error)
	Decrypt(field, rowID, stored string) (string, error)
}

// Reseal re-encrypts column of every row of table (keyed by id) under the
// sealer's current key, in one transaction, and returns how many rows it
// did. It is for small tables of secrets (channels, webhooks); field is
// the name the values are sealed under. Table and column are constants of
// the caller, never input.
func Reseal(ctx context.Context, db *DB, sealer Sealer, table, column, field string) (int, error) {
	n := 0
	err := db.InTx(ctx, TxOptions{}, func(tx *sql.Tx) error {
		n = 0
		rows, err := tx.QueryContext(ctx, `SELECT id, `+column+` FROM `+table+` ORDER BY id`+db.Dialect.ForUpdate())
		if err != nil {
			return err
		}
		type row struct{ id, value string }
		var all []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.value); err != nil {
				rows.Close()
				return err
			}
			all = append(all, r)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		for _, r := range all {
			plain, err := sealer.Decrypt(field, r.id, r.value)
			if err != nil {
				return err
			}
			sealed, err := sealer.Encrypt(field, r.id, plain)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET `+column+` = $1 WHERE id = $2`, sealed, r.id); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("re-encrypt %s: %w", field, err)
	}
	return n, nil
}
