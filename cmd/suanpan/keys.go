package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/store"
)

// keyFileSuffix names the file beside an SQLite store that keeps the
// generated encryption key when --encryption-keys is not set.
const keyFileSuffix = ".keys"

// keyring returns the keys that encrypt customers' identity fields: those
// of setting (--encryption-keys) when given; otherwise, on SQLite, those kept
// in the file beside the store, generating one key into it on first use. On
// PostgreSQL the setting is required: several servers share the database and
// must share its keys, which a file on one machine cannot ensure.
func keyring(setting string, db *store.DB, log *slog.Logger) (*accounts.Keyring, error) {
	if strings.TrimSpace(setting) != "" {
		kr, err := accounts.ParseKeyring(setting)
		if err != nil {
			return nil, fmt.Errorf("--encryption-keys: %w", err)
		}
		return kr, nil
	}
	if db.Dialect != store.SQLite {
		return nil, errors.New("--encryption-keys (SUANPAN_ENCRYPTION_KEYS) is required with a PostgreSQL store: " +
			"give every server the same keys, e.g. k1:<base64 of 32 random bytes> (openssl rand -base64 32)")
	}
	path := db.Name + keyFileSuffix
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		kr, err := accounts.ParseKeyring(string(data))
		if err != nil {
			return nil, fmt.Errorf("encryption keys in %s: %w", path, err)
		}
		return kr, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("encryption keys: %w", err)
	}
	key, err := accounts.GenerateKey("k1")
	if err != nil {
		return nil, err
	}
	// O_EXCL: never overwrite a key file that appeared meanwhile.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("keep the encryption key: %w", err)
	}
	_, werr := f.WriteString(key + "\n")
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return nil, fmt.Errorf("keep the encryption key in %s: %w", path, err)
	}
	log.Warn("generated the key that encrypts customers' identity fields; back it up with the store, "+
		"without it they cannot be read", "file", path)
	return accounts.ParseKeyring(key)
}
