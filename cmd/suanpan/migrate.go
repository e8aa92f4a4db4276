package main

import (
	"context"
	"fmt"
)

// MigrateCmd applies the pending schema migrations. It is safe to run at
// every deployment: applied migrations are recorded and skipped.
type MigrateCmd struct {
	StoreFlags `embed:""`
}

// Run migrates the store and prints how many migrations ran and the schema
// version it is at now.
func (c *MigrateCmd) Run(ctx context.Context, a *app) (err error) {
	db, n, err := c.open(ctx, a.log)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	current, latest, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s (%s): applied %d migration(s); schema version %d\n", db.Name, db.Dialect, n, current)
	if current > latest {
		a.log.Warn("the store's schema is newer than this binary knows: upgrade suanpan",
			"store", db.Name, "schema_version", current, "binary_schema_version", latest)
	}
	return nil
}
