package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// accountCache spares the SQLite writer from reading the accounts a batch
// touches when nothing but the writer itself has changed them since. It is
// a validated cache, never a source of truth:
//
//   - SQLite's data_version changes whenever another connection (another
//     process, or a tool) commits to the file; every batch reads it inside
//     its write transaction and drops the whole cache when it moved.
//   - Changes through the writer connection that bypass the engine
//     (SetStatus) drop the account and advance the epoch inside their own
//     transaction.
//   - A batch notes the epoch inside its write transaction and stores its
//     accounts only after a successful commit, and only if the epoch has
//     not moved meanwhile; otherwise, and after any failure, the cache is
//     dropped.
//
// PostgreSQL, where several processes share the database, has no cache:
// every batch reads and locks its accounts.
type accountCache struct {
	mu      sync.Mutex
	version int64 // data_version seen last
	epoch   int64 // advanced by every drop
	m       map[string]Account
}

// maxCachedAccounts bounds the cache's memory; past it, it starts over.
const maxCachedAccounts = 200_000

// validate checks data_version inside tx, drops the cache when another
// connection has committed since the last batch, and returns the epoch.
func (c *accountCache) validate(ctx context.Context, tx *sql.Tx) (int64, error) {
	var v int64
	if err := tx.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("data_version: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v != c.version || c.m == nil {
		c.m, c.version = map[string]Account{}, v
	}
	return c.epoch, nil
}

// take returns copies of the cached accounts among ids, and the ids missing.
func (c *accountCache) take(ids []string) (map[string]*Account, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	found := make(map[string]*Account, len(ids))
	var missing []string
	for _, id := range ids {
		if a, ok := c.m[id]; ok {
			found[id] = &a
		} else {
			missing = append(missing, id)
		}
	}
	return found, missing
}

// put stores copies of a committed batch's accounts, unless a drop came
// after the batch noted epoch.
func (c *accountCache) put(epoch int64, accts map[string]*Account) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		return
	}
	if epoch != c.epoch {
		c.m = nil
		return
	}
	if len(c.m)+len(accts) > maxCachedAccounts {
		clear(c.m)
	}
	for id, a := range accts {
		c.m[id] = *a
	}
}

// drop forgets one account and advances the epoch.
func (c *accountCache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
	c.epoch++
}

// reset forgets everything.
func (c *accountCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}
