package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
)

// StoreFlags locate the server's store. Commands that work on it embed them.
type StoreFlags struct {
	Store             string `default:"suanpan.db" env:"SUANPAN_STORE" help:"The store: an SQLite file path, or a postgres:// URL. Shown only with its password removed."`
	SQLiteSynchronous string `name:"sqlite-synchronous" enum:"full,normal" default:"full" env:"SUANPAN_SQLITE_SYNCHRONOUS" help:"SQLite durability, full or normal: full acknowledges a commit only once it is on disk; normal is faster, but a power loss or OS crash may lose the last acknowledged commits (a process crash cannot). Ignored on PostgreSQL."`
}

// open opens the store and applies pending migrations, so a command never
// works on a schema older than its code.
func (f *StoreFlags) open(ctx context.Context, log *slog.Logger) (db *store.DB, migrations int, err error) {
	db, err = store.Open(ctx, f.Store, store.Options{SQLiteSynchronous: f.SQLiteSynchronous})
	if err != nil {
		return nil, 0, err
	}
	log.Debug("store opened", "store", db.Name, "dialect", db.Dialect)
	n, err := db.Migrate(ctx)
	if err != nil {
		return nil, 0, errors.Join(err, db.Close())
	}
	if n > 0 {
		log.Info("store migrated", "store", db.Name, "migrations", n)
	}
	return db, n, nil
}

// closeStore closes db and adds a failure to close to *err.
func closeStore(db *store.DB, err *error) {
	*err = errors.Join(*err, db.Close())
}

// openLedger opens the store as open does and a ledger on it. done closes
// both and adds a failure to close to *err.
func (f *StoreFlags) openLedger(ctx context.Context, log *slog.Logger) (db *store.DB, l *ledger.Ledger, done func(err *error), err error) {
	db, _, err = f.open(ctx, log)
	if err != nil {
		return nil, nil, nil, err
	}
	l = ledger.New(db, ledger.Options{})
	return db, l, func(err *error) { *err = errors.Join(*err, l.Close(), db.Close()) }, nil
}
