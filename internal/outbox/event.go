package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"
)

// Event is one row of the outbox: a domain change, written in the same
// storage transaction as the change itself, for the relay to deliver later.
// ID is a UUIDv7, so ID order is time order. Payload never holds a
// customer's identity fields.
type Event struct {
	ID            string    `json:"id"`
	Type          string    `json:"type"`    // e.g. "account.opened"; dot-separated lower-case words
	Subject       string    `json:"subject"` // what changed, e.g. "account:0196…"
	InstitutionID string    `json:"institution_id"`
	Payload       any       `json:"payload"`
	CreatedAt     time.Time `json:"created_at"`
}

// typePattern is what an event type looks like. Each dot-separated word
// becomes one NATS subject token, and webhook filters match on the words.
var typePattern = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)*$`)

// maxTypeLen bounds an event type (and a webhook filter entry).
const maxTypeLen = 100

// Record inserts e into the outbox through ex, inside the caller's storage
// transaction, so that the event commits (or rolls back) with the change it
// describes. It fills e.ID with a new UUIDv7 when empty and truncates
// e.CreatedAt to the microsecond, in UTC.
func Record(ctx context.Context, ex Execer, e *Event) error {
	if len(e.Type) > maxTypeLen || !typePattern.MatchString(e.Type) {
		return fmt.Errorf("record event: type %q is not dot-separated lower-case words", e.Type)
	}
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
	return nil
}
