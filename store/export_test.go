package store

import "context"

// MigrateTo applies the migrations up to version: a test of what a
// migration does to data writes the data first.
func (db *DB) MigrateTo(ctx context.Context, version int64) error {
	p, err := db.migrator()
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, version)
	return err
}
