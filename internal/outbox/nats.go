package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/store"
)

// StreamOptions tune a Streamer.
type StreamOptions struct {
	// Prefix starts every subject: an event of type "account.frozen" is
	// published to "<Prefix>.account.frozen". Default "suanpan".
	Prefix string
	// Stream is the JetStream stream the subjects belong to, created with
	// the subjects "<Prefix>.>" when missing (an existing stream is used as
	// it is). Default "SUANPAN".
	Stream string
	// DuplicateWindow is how long JetStream remembers message IDs to drop
	// re-publications, for a stream the Streamer creates; default 1 h.
	DuplicateWindow time.Duration
	// Batch is how many events one pass publishes; default 100, at most
	// 1000.
	Batch int
	// AckTimeout bounds the wait for JetStream's acknowledgements; default
	// 10 s.
	AckTimeout time.Duration
}

// Streamer publishes outbox events to NATS JetStream, each once (de-duplicated
// by its ID within the stream's duplicate window), in ID order, after the
// webhook fan-out and independently of it: it keeps its own marker
// (streamed_at).
type Streamer struct {
	db    *store.DB
	clock clock.Clock
	js    jetstream.JetStream
	opts  StreamOptions

	mu    sync.Mutex
	ready bool // the stream exists
}

var (
	subjectToken = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
	streamName   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// NewStreamer returns a Streamer publishing through nc. It does not talk to
// NATS yet: the stream is looked up (and created) by the first Publish, so
// that a NATS server that is down at start delays only the stream.
func NewStreamer(db *store.DB, clk clock.Clock, nc *nats.Conn, opts StreamOptions) (*Streamer, error) {
	if opts.Prefix == "" {
		opts.Prefix = "suanpan"
	}
	if opts.Stream == "" {
		opts.Stream = "SUANPAN"
	}
	if !subjectToken.MatchString(opts.Prefix) {
		return nil, fmt.Errorf("nats: subject prefix %q is not dot-separated letters, digits, _ and -", opts.Prefix)
	}
	if !streamName.MatchString(opts.Stream) {
		return nil, fmt.Errorf("nats: stream name %q is not 1-64 letters, digits, _ and -", opts.Stream)
	}
	if opts.DuplicateWindow <= 0 {
		opts.DuplicateWindow = time.Hour
	}
	if opts.Batch <= 0 {
		opts.Batch = 100
	}
	opts.Batch = min(opts.Batch, 1000)
	if opts.AckTimeout <= 0 {
		opts.AckTimeout = 10 * time.Second
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(opts.AckTimeout),
		jetstream.WithPublishAsyncMaxPending(opts.Batch))
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	return &Streamer{db: db, clock: clk, js: js, opts: opts}, nil
}

// Subject returns the subject events of type typ are published to.
func (s *Streamer) Subject(typ string) string { return s.opts.Prefix + "." + typ }

// ensureStream looks the stream up, creating it when missing.
func (s *Streamer) ensureStream(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ready {
		return nil
	}
	_, err := s.js.Stream(ctx, s.opts.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = s.js.CreateStream(ctx, jetstream.StreamConfig{
			Name:       s.opts.Stream,
			Subjects:   []string{s.opts.Prefix + ".>"},
			Storage:    jetstream.FileStorage,
			Duplicates: s.opts.DuplicateWindow,
		})
	}
	if err != nil {
		return fmt.Errorf("nats stream %s: %w", s.opts.Stream, err)
	}
	s.ready = true
	return nil
}

// Publish publishes the oldest batch of events not yet streamed, each with
// its ID as Nats-Msg-Id, waits for JetStream's acknowledgements and marks
// the acknowledged events streamed. It returns how many it marked. An event
// published again after a crash between the acknowledgement and the mark
// is dropped by JetStream as a duplicate (within the duplicate window).
func (s *Streamer) Publish(ctx context.Context) (int, error) {
	if err := s.ensureStream(ctx); err != nil {
		return 0, err
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT id, type, subject, institution_id, payload, created_at FROM events
		WHERE streamed_at IS NULL ORDER BY id LIMIT $1`, s.opts.Batch)
	if err != nil {
		return 0, fmt.Errorf("stream events: %w", err)
	}
	var batch []Envelope
	for rows.Next() {
		var e Envelope
		var data string
		var created int64
		if err := rows.Scan(&e.ID, &e.Type, &e.Subject, &e.InstitutionID, &data, &created); err != nil {
			rows.Close()
			return 0, fmt.Errorf("stream events: %w", err)
		}
		e.Data, e.CreatedAt = json.RawMessage(data), fromMicros(created)
		batch = append(batch, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("stream events: %w", err)
	}
	if len(batch) == 0 {
		return 0, nil
	}
	futures := make([]jetstream.PubAckFuture, 0, len(batch))
	var pubErr error
	for _, e := range batch {
		body, err := json.Marshal(e)
		if err != nil {
			return 0, fmt.Errorf("stream event %s: %w", e.ID, err)
		}
		f, err := s.js.PublishAsync(s.Subject(e.Type), body, jetstream.WithMsgID(e.ID), jetstream.WithExpectStream(s.opts.Stream))
		if err != nil {
			pubErr = fmt.Errorf("publish event %s: %w", e.ID, err)
			break
		}
		futures = append(futures, f)
	}
	// The wait stops at the first failure. The next pass publishes the
	// rest of the batch again; JetStream drops those that got through as
	// duplicates.
	var acked []string
	for i, f := range futures {
		select {
		case <-f.Ok():
			acked = append(acked, batch[i].ID)
			continue
		case err := <-f.Err():
			pubErr = fmt.Errorf("publish event %s: %w", batch[i].ID, err)
		case <-ctx.Done():
			pubErr = ctx.Err()
		}
		break
	}
	if len(acked) > 0 {
		if err := markEvents(ctx, s.db.Write, `streamed_at = $1`, acked, s.clock.Now()); err != nil {
			return 0, errors.Join(pubErr, err)
		}
	}
	return len(acked), pubErr
}

// Lag returns the age of the oldest event not yet published to NATS, or
// zero when there is none.
func (s *Streamer) Lag(ctx context.Context) (time.Duration, error) {
	return lag(ctx, s.db, s.clock, "streamed_at")
}
