package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/store"
)

// RelayOptions tune a Relay.
type RelayOptions struct {
	// Batch is how many events one fan-out transaction takes; default 100,
	// at most 1000.
	Batch int
	// Poll is how often Run looks for new events when not notified;
	// default 1 s. It is also the pause after a failed pass.
	Poll time.Duration
	// Streamer, when set, publishes the events to NATS JetStream too. When
	// nil, the fan-out marks events streamed as it publishes them, so that
	// configuring NATS later does not replay them.
	Streamer *Streamer
	// Delivered is called after a fan-out enqueued deliveries: the job
	// scheduler's Notify, to send them at once.
	Delivered func()
	// Log receives failed passes; default slog.Default().
	Log *slog.Logger
}

// Relay moves committed events out of the outbox: the fan-out turns each
// into one delivery (and one delivery job) per matching active webhook, and
// the optional Streamer publishes them to NATS. Several relays may share a
// store: the fan-out's unique (webhook, event) key makes a repeat a no-op.
type Relay struct {
	db    *store.DB
	clock clock.Clock
	opts  RelayOptions

	wakeFanOut, wakeStream chan struct{}
}

// NewRelay returns a relay on a migrated store.
func NewRelay(db *store.DB, clk clock.Clock, opts RelayOptions) *Relay {
	if opts.Batch <= 0 {
		opts.Batch = 100
	}
	opts.Batch = min(opts.Batch, 1000)
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	return &Relay{db: db, clock: clk, opts: opts, wakeFanOut: make(chan struct{}, 1), wakeStream: make(chan struct{}, 1)}
}

// Notify wakes Run to look for new events now, e.g. after a commit that
// recorded some. It never blocks.
func (r *Relay) Notify() {
	for _, c := range []chan struct{}{r.wakeFanOut, r.wakeStream} {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// Run fans events out until ctx is done, and publishes them to NATS in a
// loop of its own when a Streamer is configured, so that a NATS outage
// never holds webhooks back. Failed passes are logged and tried again after
// Poll. It returns nil once both loops have stopped.
func (r *Relay) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	if r.opts.Streamer != nil {
		wg.Go(func() {
			r.loop(ctx, "stream events", r.wakeStream, r.opts.Streamer.opts.Batch, r.opts.Streamer.Publish)
		})
	}
	r.loop(ctx, "fan out events", r.wakeFanOut, r.opts.Batch, r.FanOut)
	wg.Wait()
	return nil
}

// loop runs pass until ctx is done: again at once while passes fill their
// batch, otherwise when woken or after Poll.
func (r *Relay) loop(ctx context.Context, what string, wake <-chan struct{}, batch int, pass func(context.Context) (int, error)) {
	t := time.NewTimer(r.opts.Poll)
	defer t.Stop()
	for {
		n, err := pass(ctx)
		if err != nil && ctx.Err() == nil {
			r.opts.Log.ErrorContext(ctx, what, "err", err)
		}
		if err == nil && n >= batch {
			if ctx.Err() != nil {
				return
			}
			continue
		}
		t.Reset(r.opts.Poll)
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		}
	}
}

// pendingEvent is an event the fan-out is publishing.
type pendingEvent struct {
	id, typ, inst, path string
}

// subscriber is an active webhook as the fan-out matches it.
type subscriber struct {
	id, inst, path string
	filter         []string
}

// receives reports whether subscriber w gets event e: e's type passes w's
// filter and e's institution is w's or one below it.
func (w *subscriber) receives(e *pendingEvent) bool {
	if !matches(w.filter, e.typ) {
		return false
	}
	return e.inst == w.inst || (w.path != "" && strings.HasPrefix(e.path, w.path))
}

// FanOut takes the oldest batch of unpublished events and, in one storage
// transaction, creates a delivery and enqueues its job for every matching
// active webhook and marks the events published. It returns how many events
// it published. Events that commit late, out of ID order, are taken by a
// later pass: the fan-out selects unpublished rows, never "after a cursor".
func (r *Relay) FanOut(ctx context.Context) (int, error) {
	var n, deliveries int
	err := r.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		n, deliveries = 0, 0
		events, err := r.unpublished(ctx, tx)
		if err != nil || len(events) == 0 {
			return err
		}
		subs, err := activeSubscribers(ctx, tx)
		if err != nil {
			return err
		}
		now := r.clock.Now().UTC().Truncate(time.Microsecond)
		if len(subs) > 0 {
			if err := fillPaths(ctx, tx, events); err != nil {
				return err
			}
			for _, e := range events {
				for _, w := range subs {
					if !w.receives(e) {
						continue
					}
					created, err := createDelivery(ctx, tx, w, e, now)
					if err != nil {
						return err
					}
					if created {
						deliveries++
					}
				}
			}
		}
		if err := r.markPublished(ctx, tx, events, now); err != nil {
			return err
		}
		n = len(events)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("fan out events: %w", err)
	}
	if deliveries > 0 && r.opts.Delivered != nil {
		r.opts.Delivered()
	}
	return n, nil
}

// unpublished returns the oldest unpublished events, locked on PostgreSQL so
// that a concurrent relay waits and then skips them.
func (r *Relay) unpublished(ctx context.Context, tx *sql.Tx) ([]*pendingEvent, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, type, institution_id FROM events WHERE published_at IS NULL
		ORDER BY id LIMIT $1`+r.db.Dialect.ForUpdate(), r.opts.Batch)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*pendingEvent
	for rows.Next() {
		var e pendingEvent
		if err := rows.Scan(&e.id, &e.typ, &e.inst); err != nil {
			return nil, err
		}
		out = append(out, &e)
	}
	return out, rows.Err()
}

// activeSubscribers returns every active webhook with its institution's
// tree path (at most MaxWebhooks per institution).
func activeSubscribers(ctx context.Context, tx *sql.Tx) ([]*subscriber, error) {
	rows, err := tx.QueryContext(ctx, `SELECT w.id, w.institution_id, COALESCE(i.path, ''), w.event_types
		FROM webhooks w LEFT JOIN institutions i ON i.id = w.institution_id WHERE w.active = 1 ORDER BY w.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*subscriber
	for rows.Next() {
		var w subscriber
		var filter string
		if err := rows.Scan(&w.id, &w.inst, &w.path, &filter); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(filter), &w.filter); err != nil {
			return nil, fmt.Errorf("webhook %s: event types: %w", w.id, err)
		}
		out = append(out, &w)
	}
	return out, rows.Err()
}

// fillPaths sets the events' institution tree paths ("" for an institution
// not in the tree).
func fillPaths(ctx context.Context, tx *sql.Tx, events []*pendingEvent) error {
	q := &store.Where{}
	seen := map[string]bool{}
	var ids []string
	for _, e := range events {
		if !seen[e.inst] {
			seen[e.inst] = true
			ids = append(ids, e.inst)
		}
	}
	q.In("id", ids)
	rows, err := tx.QueryContext(ctx, `SELECT id, path FROM institutions WHERE `+q.String(), q.Args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	paths := map[string]string{}
	for rows.Next() {
		var id, path string
		if err := rows.Scan(&id, &path); err != nil {
			return err
		}
		paths[id] = path
	}
	for _, e := range events {
		e.path = paths[e.inst]
	}
	return rows.Err()
}

// createDelivery creates the delivery of e to w with its job, unless it
// exists already, and reports whether it did.
func createDelivery(ctx context.Context, tx *sql.Tx, w *subscriber, e *pendingEvent, now time.Time) (bool, error) {
	id := newID()
	res, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, webhook_id, event_id, institution_id, state, attempts,
		job_key, last_status, last_error, next_attempt_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, 'pending', 0, $1, 0, '', $5, $5, $5) ON CONFLICT (webhook_id, event_id) DO NOTHING`,
		id, w.id, e.id, w.inst, now.UnixMicro())
	if err != nil {
		return false, fmt.Errorf("delivery of %s to %s: %w", e.id, w.id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	return true, enqueue(ctx, tx, id, id, w.inst, now)
}

// markPublished sets the events' published_at, and their streamed_at too
// when no Streamer is configured.
func (r *Relay) markPublished(ctx context.Context, tx *sql.Tx, events []*pendingEvent, now time.Time) error {
	set := `published_at = $1`
	if r.opts.Streamer == nil {
		set += `, streamed_at = COALESCE(streamed_at, $1)`
	}
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.id
	}
	return markEvents(ctx, tx, set, ids, now)
}

// markEvents runs "UPDATE events SET <set> WHERE id IN (ids)", with now as
// $1.
func markEvents(ctx context.Context, ex Execer, set string, ids []string, now time.Time) error {
	args := make([]any, 0, len(ids)+1)
	args = append(args, now.UnixMicro())
	marks := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		marks[i] = "$" + strconv.Itoa(i+2)
	}
	if _, err := ex.ExecContext(ctx, `UPDATE events SET `+set+` WHERE id IN (`+strings.Join(marks, ", ")+`)`, args...); err != nil {
		return fmt.Errorf("mark events: %w", err)
	}
	return nil
}

// Lag returns the age of the oldest event not yet fanned out to webhooks,
// or zero when there is none: the "outbox lag" to alert on.
func (r *Relay) Lag(ctx context.Context) (time.Duration, error) {
	return lag(ctx, r.db, r.clock, "published_at")
}

// lag returns how long ago the oldest event whose marker column is NULL was
// created.
func lag(ctx context.Context, db *store.DB, clk clock.Clock, marker string) (time.Duration, error) {
	var created int64
	err := db.Read.QueryRowContext(ctx, `SELECT created_at FROM events WHERE `+marker+` IS NULL ORDER BY id LIMIT 1`).Scan(&created)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("outbox lag: %w", err)
	}
	return max(clk.Now().Sub(fromMicros(created)), 0), nil
}
