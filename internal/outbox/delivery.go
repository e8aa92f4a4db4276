package outbox

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/store"
)

// JobKind is the kind of the jobs that deliver webhooks.
const JobKind = "webhook.deliver"

// The retry schedule of a delivery: the wait after the n-th failed attempt
// is RetryBackoff doubled n-1 times, at most RetryBackoffMax; after
// MaxAttempts failed attempts the delivery has failed. The schedule spans
// more than two days (see RetryDelay), so a subscriber that is down for
// hours gets every event once it is back.
const (
	RetryBackoff    = 10 * time.Second
	RetryBackoffMax = 10 * time.Minute
	MaxAttempts     = 300
)

// RetryDelay returns the wait after the attempt-th (1-based) failed attempt.
func RetryDelay(attempt int) time.Duration {
	d := RetryBackoff
	for i := 1; i < attempt && d < RetryBackoffMax; i++ {
		d *= 2
	}
	return min(d, RetryBackoffMax)
}

// DeliveryState is where a delivery is.
type DeliveryState string

// The states of a delivery.
const (
	DeliveryPending   DeliveryState = "pending"   // an attempt is due at NextAttemptAt
	DeliveryDelivered DeliveryState = "delivered" // the subscriber answered 2xx
	DeliveryFailed    DeliveryState = "failed"    // attempts exhausted, or the webhook was inactive
)

// Delivery is one event on its way to one webhook.
type Delivery struct {
	ID            string        `json:"id"`
	WebhookID     string        `json:"webhook_id"`
	EventID       string        `json:"event_id"`
	EventType     string        `json:"event_type"`
	InstitutionID string        `json:"institution_id"` // the webhook's
	State         DeliveryState `json:"state"`
	Attempts      int           `json:"attempts"`
	LastStatus    int           `json:"last_status,omitempty"` // HTTP status of the last attempt; 0 when none came back
	LastError     string        `json:"last_error,omitempty"`  // why the last attempt failed, in a few fixed words (see Attempt.Error)
	NextAttemptAt *time.Time    `json:"next_attempt_at,omitempty"`
	DeliveredAt   *time.Time    `json:"delivered_at,omitempty"`
	CreatedAt     time.Time     `json:"created_at"`
	UpdatedAt     time.Time     `json:"updated_at"`

	jobKey string
}

// Attempt is one HTTP request of a delivery.
type Attempt struct {
	DeliveryID string    `json:"delivery_id"`
	Attempt    int       `json:"attempt"` // 1-based, over the delivery's life
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code,omitempty"` // 0 when no response came
	// Error is why the attempt failed, one of a few fixed phrases: "http
	// 500" (the status), "address not allowed", "connection refused",
	// "connection closed", "timeout", "no such host", "dns lookup failed",
	// "unreachable", "tls…", "canceled", "request failed". Never what the
	// receiver answered, nor the addresses a connection tried.
	Error      string `json:"error,omitempty"`
	DurationMs int64  `json:"duration_ms"`
}

// Envelope is the JSON body of a webhook request and of a NATS message.
type Envelope struct {
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	Subject       string          `json:"subject"`
	InstitutionID string          `json:"institution_id"`
	CreatedAt     time.Time       `json:"created_at"`
	Data          json.RawMessage `json:"data"`
}

// deliveryJob is the payload of a JobKind job.
type deliveryJob struct {
	DeliveryID string `json:"delivery_id"`
}

// maxResponseLen bounds the bytes of a response body read (and dropped) so
// the connection is reused.
const maxResponseLen = 64 << 10

// DeliveryFilter selects deliveries for ListDeliveries.
type DeliveryFilter struct {
	Scope     []string // institutions whose webhooks' deliveries to list; nil: all
	WebhookID string
	EventID   string
	State     DeliveryState
	After     string // cursor: the next of the previous page
	Limit     int    // default 100, at most 1000
}

const deliveryCols = `d.id, d.webhook_id, d.event_id, e.type, d.institution_id, d.state, d.attempts, d.last_status,
	d.last_error, d.next_attempt_at, d.delivered_at, d.created_at, d.updated_at, d.job_key`

const deliveryFrom = ` FROM webhook_deliveries d JOIN events e ON e.id = d.event_id`

func scanDelivery(sc interface{ Scan(...any) error }) (*Delivery, error) {
	var d Delivery
	var next, delivered sql.NullInt64
	var created, updated int64
	if err := sc.Scan(&d.ID, &d.WebhookID, &d.EventID, &d.EventType, &d.InstitutionID, &d.State, &d.Attempts,
		&d.LastStatus, &d.LastError, &next, &delivered, &created, &updated, &d.jobKey); err != nil {
		return nil, err
	}
	d.NextAttemptAt, d.DeliveredAt = optTime(next), optTime(delivered)
	d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &d, nil
}

func optTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// ListDeliveries returns deliveries, newest first, a page at a time; next
// is the cursor for the following page, or "" after the last. Permission:
// webhooks:read. Returns CodeInvalidRequest for an unknown state.
func (s *Webhooks) ListDeliveries(ctx context.Context, f DeliveryFilter) (ds []*Delivery, next string, err error) {
	switch f.State {
	case "", DeliveryPending, DeliveryDelivered, DeliveryFailed:
	default:
		return nil, "", fieldErr("state", "state must be pending, delivered or failed")
	}
	q := &store.Where{}
	q.In("d.institution_id", f.Scope)
	q.Add("d.webhook_id = ?", f.WebhookID)
	q.Add("d.event_id = ?", f.EventID)
	q.Add("d.state = ?", string(f.State))
	q.Add("d.id < ?", f.After)
	limit := pageSize(f.Limit)
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+deliveryCols+deliveryFrom+` WHERE `+q.String()+
		` ORDER BY d.id DESC LIMIT `+strconv.Itoa(limit+1), q.Args...)
	if err != nil {
		return nil, "", fmt.Errorf("list deliveries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, "", fmt.Errorf("list deliveries: %w", err)
		}
		ds = append(ds, d)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list deliveries: %w", err)
	}
	if len(ds) > limit {
		ds = ds[:limit]
		next = ds[limit-1].ID
	}
	return ds, next, nil
}

func getDelivery(ctx context.Context, q querier, scope []string, id string) (*Delivery, error) {
	d, err := scanDelivery(q.QueryRowContext(ctx, `SELECT `+deliveryCols+deliveryFrom+` WHERE d.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !inScope(scope, d.InstitutionID)) {
		return nil, errorf(CodeDeliveryNotFound, "delivery %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get delivery %s: %w", id, err)
	}
	return d, nil
}

// GetDelivery returns a delivery of a webhook of the institutions in scope
// (nil: any). Permission: webhooks:read. Returns CodeDeliveryNotFound.
func (s *Webhooks) GetDelivery(ctx context.Context, scope []string, id string) (*Delivery, error) {
	return getDelivery(ctx, s.db.Read, scope, id)
}

// Attempts returns the attempts of a delivery of a webhook of the
// institutions in scope (nil: any), oldest first. Permission:
// webhooks:read. Returns CodeDeliveryNotFound.
func (s *Webhooks) Attempts(ctx context.Context, scope []string, deliveryID string) ([]Attempt, error) {
	if _, err := s.GetDelivery(ctx, scope, deliveryID); err != nil {
		return nil, err
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT attempt, at, status_code, error, duration_ms FROM webhook_attempts
		WHERE delivery_id = $1 ORDER BY attempt`, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("delivery %s attempts: %w", deliveryID, err)
	}
	defer rows.Close()
	var out []Attempt
	for rows.Next() {
		a := Attempt{DeliveryID: deliveryID}
		var at int64
		if err := rows.Scan(&a.Attempt, &at, &a.StatusCode, &a.Error, &a.DurationMs); err != nil {
			return nil, fmt.Errorf("delivery %s attempts: %w", deliveryID, err)
		}
		a.At = fromMicros(at)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("delivery %s attempts: %w", deliveryID, err)
	}
	return out, nil
}

// Redeliver sends a delivery of a webhook of the institutions in scope (nil:
// any) again, whatever its state, with a fresh retry schedule: it enqueues a
// new job, due now, which retires any job still retrying it. Call the
// scheduler's Notify afterwards to send it at once. Permission:
// webhooks:write. Returns CodeDeliveryNotFound.
func (s *Webhooks) Redeliver(ctx context.Context, scope []string, deliveryID string, writes ...TxWrite) (*Delivery, error) {
	var d *Delivery
	err := s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		var err error
		if d, err = getDelivery(ctx, tx, scope, deliveryID); err != nil {
			return err
		}
		now := s.clock.Now().UTC().Truncate(time.Microsecond)
		d.jobKey = d.ID + "/" + newID()
		d.State, d.NextAttemptAt, d.UpdatedAt = DeliveryPending, &now, now
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'pending', job_key = $1, next_attempt_at = $2,
			updated_at = $2 WHERE id = $3`, d.jobKey, now.UnixMicro(), d.ID); err != nil {
			return fmt.Errorf("redeliver %s: %w", d.ID, err)
		}
		if err := enqueue(ctx, tx, d.jobKey, d.ID, d.InstitutionID, now); err != nil {
			return err
		}
		return runWrites(ctx, tx, writes)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

func enqueue(ctx context.Context, tx *sql.Tx, key, deliveryID, inst string, now time.Time) error {
	if _, err := jobs.Enqueue(ctx, tx, jobs.Spec{Kind: JobKind, Key: key, InstitutionID: inst,
		Payload: deliveryJob{DeliveryID: deliveryID}}, now); err != nil {
		return fmt.Errorf("delivery %s: %w", deliveryID, err)
	}
	return nil
}

// Register makes the scheduler deliver webhooks (jobs of JobKind) through
// this service.
func (s *Webhooks) Register(sch *jobs.Scheduler) {
	sch.Register(JobKind, jobs.Policy{
		MaxAttempts: MaxAttempts,
		Backoff:     RetryBackoff,
		MaxBackoff:  RetryBackoffMax,
		// The request's own timeout, plus the storage transactions around it.
		Timeout: s.client.Timeout + 30*time.Second,
	}, s.deliver)
}

// target is what one attempt needs: the delivery, its webhook and its event.
type target struct {
	d      *Delivery
	url    string
	secret string
	active bool
	env    Envelope
}

// deliver is the JobKind handler: one attempt of one delivery.
func (s *Webhooks) deliver(ctx context.Context, j *jobs.Job) error {
	var p deliveryJob
	if err := j.Decode(&p); err != nil {
		return err
	}
	t, err := s.target(ctx, p.DeliveryID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // the webhook was deleted with its deliveries
	}
	if err != nil {
		return err
	}
	if t.d.jobKey != j.Key || t.d.State != DeliveryPending {
		return nil // retired by a redelivery, or already done
	}
	if !t.active {
		return s.finishInactive(ctx, t.d.ID, j.Key)
	}
	body, err := json.Marshal(t.env)
	if err != nil {
		return jobs.Permanent(fmt.Errorf("delivery %s: encode event: %w", t.d.ID, err))
	}
	at, began := s.clock.Now(), time.Now() // the clock stamps the attempt; the wall clock times it
	status, sendErr := s.post(ctx, t, body, at)
	// The log, which the institution reads, and the job's error, which
	// the jobs API shows it, keep only why in a few fixed words.
	attempt := Attempt{At: at, StatusCode: status, Error: attemptError(sendErr), DurationMs: time.Since(began).Milliseconds()}
	if sendErr != nil {
		sendErr = errors.New(attempt.Error)
	}
	now := s.clock.Now()
	var next *time.Time
	var retry error
	state := DeliveryDelivered
	if sendErr != nil {
		state = DeliveryFailed
		retry = jobs.Permanent(fmt.Errorf("delivery %s: %w (attempts exhausted)", t.d.ID, sendErr))
		if j.Attempts < j.MaxAttempts {
			wait := RetryDelay(j.Attempts)
			due := now.Add(wait)
			state, next, retry = DeliveryPending, &due, jobs.RetryAfter(wait, fmt.Errorf("delivery %s: %w", t.d.ID, sendErr))
		}
	}
	if err := s.recordAttempt(ctx, t.d.ID, j.Key, attempt, state, next, now); err != nil {
		return err // the job runs again; the receiver sees the same webhook-id
	}
	return retry
}

// target loads what an attempt of a delivery needs.
func (s *Webhooks) target(ctx context.Context, id string) (*target, error) {
	var t target
	var active int
	var created int64
	var data string
	row := s.db.Read.QueryRowContext(ctx, `SELECT `+deliveryCols+`, w.url, w.secret, w.active, e.subject, e.institution_id,
		e.payload, e.created_at`+deliveryFrom+` JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1`, id)
	d, err := scanDelivery(scanFunc(func(dest ...any) error {
		return row.Scan(append(dest, &t.url, &t.secret, &active, &t.env.Subject, &t.env.InstitutionID, &data, &created)...)
	}))
	if err != nil {
		return nil, err
	}
	t.d, t.active = d, active == 1
	if t.secret, err = s.open(d.WebhookID, t.secret); err != nil {
		return nil, err
	}
	t.env.ID, t.env.Type, t.env.CreatedAt, t.env.Data = d.EventID, d.EventType, fromMicros(created), json.RawMessage(data)
	return &t, nil
}

// scanFunc adapts a function to the Scan method scanDelivery takes.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// post sends one signed attempt and returns the response status (0 when
// none came) and, unless it was 2xx, why the attempt failed.
func (s *Webhooks) post(ctx context.Context, t *target, body []byte, now time.Time) (int, error) {
	sig, err := Sign(t.secret, t.env.ID, now, body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Suanpan-Webhooks/1")
	req.Header.Set(HeaderID, t.env.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	// The body is read only so the connection is reused, and dropped: what
	// an address answers is not the subscriber's to read in the log.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseLen))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, statusError(resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// recordAttempt logs an attempt and moves the delivery to state. A success
// counts whichever job made it; a failure changes the delivery's state only
// while job key is still in charge of it.
func (s *Webhooks) recordAttempt(ctx context.Context, id, key string, a Attempt, state DeliveryState, next *time.Time, now time.Time) error {
	var nextAt any
	if next != nil {
		nextAt = next.UnixMicro()
	}
	// A failure's outcome applies only while its job is in charge.
	update := `UPDATE webhook_deliveries SET attempts = $1, last_status = $2, last_error = $3, updated_at = $4,
		state = CASE WHEN job_key = $5 THEN $6 ELSE state END,
		next_attempt_at = CASE WHEN job_key = $5 THEN $7 ELSE next_attempt_at END WHERE id = $8`
	args := []any{a.StatusCode, a.Error, now.UnixMicro(), key, string(state), nextAt, id}
	if state == DeliveryDelivered {
		update = `UPDATE webhook_deliveries SET attempts = $1, last_status = $2, last_error = $3, updated_at = $4,
			state = 'delivered', next_attempt_at = NULL, delivered_at = $4 WHERE id = $5`
		args = []any{a.StatusCode, a.Error, now.UnixMicro(), id}
	}
	err := s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT attempts FROM webhook_deliveries WHERE id = $1`+s.db.Dialect.ForUpdate(), id).
			Scan(&n); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_ms)
			VALUES ($1, $2, $3, $4, $5, $6)`, id, n+1, a.At.UnixMicro(), a.StatusCode, a.Error, a.DurationMs); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, update, append([]any{n + 1}, args...)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("record delivery %s attempt: %w", id, err)
	}
	return nil
}

// finishInactive ends a delivery whose webhook is inactive as failed,
// without an attempt.
func (s *Webhooks) finishInactive(ctx context.Context, id, key string) error {
	now := s.clock.Now().UnixMicro()
	err := s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'failed', last_error = 'webhook is inactive',
			next_attempt_at = NULL, updated_at = $1 WHERE id = $2 AND job_key = $3`, now, id, key)
		return err
	})
	if err != nil {
		return fmt.Errorf("delivery %s: %w", id, err)
	}
	return nil
}
