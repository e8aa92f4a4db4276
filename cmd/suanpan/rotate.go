package main

import (
	"context"
	"fmt"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/outbox"
	"github.com/suanpan/suanpan/internal/payments"
)

// RotateKeysCmd re-encrypts every customer's identity fields, and the
// payment channels' and webhooks' signing secrets, under the current
// encryption key, and rebuilds the ID-number index.
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
	channels, err := payments.ResealSecrets(ctx, db, keys)
	if err != nil {
		return err
	}
	hooks, err := outbox.ResealSecrets(ctx, db, keys)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "re-encrypted %d customers, %d channel secrets and %d webhook secrets under key %s; keys other than %s may now be removed\n",
		n, channels, hooks, keys.Current(), keys.Current())
	return nil
}
