package accounts

import (
	"context"
	"database/sql"

	"github.com/suanpan/suanpan/internal/outbox"
	"github.com/suanpan/suanpan/ledger"
)

// The event types the account life cycle emits.
const (
	EventAccountOpened            = "account.opened"
	EventAccountFrozen            = "account.frozen"
	EventAccountThawed            = "account.thawed"
	EventAccountClosed            = "account.closed"
	EventAccountPropertiesChanged = "account.properties_changed"
)

// Event is an outbox event: the account system records one with every
// change, in the change's storage transaction (see package outbox).
type Event = outbox.Event

// ChangeWrite is extra work committed in the same storage transaction as a
// life-cycle change (an audit record): it is given the event the change
// records, whose Payload describes the change.
type ChangeWrite func(ctx context.Context, tx *sql.Tx, e *Event) error

// recordEvent inserts e into the outbox inside tx, through ex (tx itself,
// or the ledger's statement-caching wrapper of it on the hot path), filling
// its ID, and runs the writes with it.
func recordEvent(ctx context.Context, tx *sql.Tx, ex ledger.Execer, e *Event, writes []ChangeWrite) error {
	if err := outbox.Record(ctx, ex, e); err != nil {
		return err
	}
	for _, w := range writes {
		if err := w(ctx, tx, e); err != nil {
			return err
		}
	}
	return nil
}
