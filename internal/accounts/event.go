package accounts

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/suanpan/suanpan/internal/ledger"
)

// The event types the account life cycle emits.
const (
	EventAccountOpened            = "account.opened"
	EventAccountFrozen            = "account.frozen"
	EventAccountThawed            = "account.thawed"
	EventAccountClosed            = "account.closed"
	EventAccountPropertiesChanged = "account.properties_changed"
)

// Event is one row of the outbox: a domain change, written in the same
// storage transaction as the change itself, for a publisher to deliver
// later (published_at is set then). ID is a UUIDv7, so ID order is time
// order. Payload never holds a customer's identity fields.
type Event struct {
	ID            string    `json:"id"`
	Type          string    `json:"type"`
	Subject       string    `json:"subject"` // what changed, e.g. "account:0196…"
	InstitutionID string    `json:"institution_id"`
	Payload       any       `json:"payload"`
	CreatedAt     time.Time `json:"created_at"`
}

// ChangeWrite is extra work committed in the same storage transaction as a
// life-cycle change (an audit record): it is given the event the change
// records, whose Payload describes the change.
type ChangeWrite func(ctx context.Context, tx *sql.Tx, e *Event) error

// recordEvent inserts e into the outbox inside tx, through ex (tx itself,
// or the ledger's statement-caching wrapper of it on the hot path), filling
// its ID, and runs the writes with it.
func recordEvent(ctx context.Context, tx *sql.Tx, ex ledger.Execer, e *Event, writes []ChangeWrite) error {
	if e.ID == "" {
		e.ID = uuid.Must(uuid.NewV7()).String()
	}
	e.CreatedAt = e.CreatedAt.UTC().Truncate(time.Microsecond)
	payload, err := json.Marshal(e.Payload)
	if err != nil {
		return fmt.Errorf("event %s: encode payload: %w", e.Type, err)
	}
	if _, err := ex.ExecContext(ctx, `INSERT INTO events (id, type, subject, institution_id, payload, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, e.ID, e.Type, e.Subject, e.InstitutionID, string(payload), e.CreatedAt.UnixMicro()); err != nil {
		return fmt.Errorf("record event %s: %w", e.Type, err)
	}
	for _, w := range writes {
		if err := w(ctx, tx, e); err != nil {
			return err
		}
	}
	return nil
}
