package main

import (
	"context"
	"fmt"

	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/clock"
)

// RotateKeysCmd re-encrypts every customer's identity fields under the
// current encryption key and rebuilds the ID-number index.
type RotateKeysCmd struct {
	StoreFlags `embed:""`
	// EncryptionKeys is a secret: it is never logged or printed.
	EncryptionKeys string `name:"encryption-keys" placeholder:"ID:BASE64,…" env:"SUANPAN_ENCRYPTION_KEYS" help:"The keys, the new current key first and every key still in use after it. On SQLite, empty means the key file beside the store."`
}

// Run rotates and prints how many customers it re-encrypted. It is
// idempotent: run it again after an interruption.
func (c *RotateKeysCmd) Run(ctx context.Context, a *app) (err error) {
	db, _, err := c.open(ctx, a.log)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	keys, err := keyring(c.EncryptionKeys, db, a.log)
	if err != nil {
		return err
	}
	n, err := accounts.NewCustomers(db, clock.Real{}, keys).RotateCustomers(ctx)
	if err != nil {
		return fmt.Errorf("rotate keys after %d customers: %w", n, err)
	}
	fmt.Fprintf(a.stdout, "re-encrypted %d customers under key %s; keys other than %s may now be removed\n", n, keys.Current(), keys.Current())
	return nil
}
