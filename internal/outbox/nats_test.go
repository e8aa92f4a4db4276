package outbox_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/suanpan/suanpan/internal/outbox"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// natsEnv names the environment variable holding the NATS server (with
// JetStream) that the NATS tests publish to.
const natsEnv = "SUANPAN_TEST_NATS_URL"

// natsURL returns the test NATS server's URL, skipping the test when there
// is none.
func natsURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv(natsEnv)
	if url == "" {
		t.Skipf("%s is not set: skipping the NATS JetStream tests (set it to a JetStream-enabled server, e.g. nats://127.0.0.1:4222)", natsEnv)
	}
	return url
}

// testStream returns a connection to the test NATS server and a stream name
// and subject prefix of this test's own; the stream is deleted when the
// test ends.
func testStream(t *testing.T) (nc *nats.Conn, stream, prefix string) {
	t.Helper()
	nc, err := nats.Connect(natsURL(t))
	if err != nil {
		t.Fatalf("connect to %s: %v", natsEnv, err)
	}
	t.Cleanup(nc.Close)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	suffix := hex.EncodeToString(b)
	stream, prefix = "SUANPAN_TEST_"+suffix, "suanpantest_"+suffix
	t.Cleanup(func() {
		js, err := jetstream.New(nc)
		if err == nil {
			err = js.DeleteStream(context.Background(), stream)
		}
		if err != nil {
			t.Errorf("delete stream %s: %v", stream, err)
		}
	})
	return nc, stream, prefix
}

func TestStreamerPublishesOnceInOrder(t *testing.T) {
	natsURL(t)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		nc, stream, prefix := testStream(t)
		w := newWorld(t, db)
		st, err := outbox.NewStreamer(db, w.clk, nc, outbox.StreamOptions{Prefix: prefix, Stream: stream})
		if err != nil {
			t.Fatal(err)
		}
		relay := outbox.NewRelay(db, w.clk, outbox.RelayOptions{Streamer: st})
		ids := w.record(
			outbox.Event{Type: "account.opened", Subject: "account:1", InstitutionID: "root", Payload: map[string]string{"product": "wallet"}},
			outbox.Event{Type: "operation.completed", Subject: "transaction:1", InstitutionID: "dept"},
			outbox.Event{Type: "internal_account.registered", Subject: "account:2", InstitutionID: "branch"},
		)
		if _, err := relay.FanOut(ctx); err != nil {
			t.Fatal(err)
		}
		w.clk.Advance(time.Minute)
		if lag, err := st.Lag(ctx); err != nil || lag != time.Minute {
			t.Errorf("stream Lag after the fan-out = %s, %v; want 1m: the fan-out must leave the stream's marker alone", lag, err)
		}
		if n, err := st.Publish(ctx); err != nil || n != 3 {
			t.Fatalf("Publish = %d, %v; want 3", n, err)
		}
		if n, err := st.Publish(ctx); err != nil || n != 0 {
			t.Fatalf("second Publish = %d, %v; want 0", n, err)
		}
		if lag, err := st.Lag(ctx); err != nil || lag != 0 {
			t.Errorf("stream Lag = %s, %v; want 0", lag, err)
		}

		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		s, err := js.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			typ, id, subject string
			seq              uint64
		}{
			{"account.opened", ids[0], prefix + ".account.opened", 1},
			{"operation.completed", ids[1], prefix + ".operation.completed", 2},
			{"internal_account.registered", ids[2], prefix + ".internal_account.registered", 3},
		}
		for _, tc := range tests {
			t.Run(tc.typ, func(t *testing.T) {
				if got := st.Subject(tc.typ); got != tc.subject {
					t.Errorf("Subject = %s, want %s", got, tc.subject)
				}
				msg, err := s.GetLastMsgForSubject(ctx, tc.subject)
				if err != nil {
					t.Fatal(err)
				}
				var env outbox.Envelope
				if err := json.Unmarshal(msg.Data, &env); err != nil {
					t.Fatal(err)
				}
				if msg.Sequence != tc.seq || msg.Header.Get(jetstream.MsgIDHeader) != tc.id || env.ID != tc.id {
					t.Errorf("message = seq %d, id %s, envelope %+v; want seq %d, id %s", msg.Sequence, msg.Header.Get(jetstream.MsgIDHeader), env, tc.seq, tc.id)
				}
			})
		}

		// A crash between JetStream's ack and the mark publishes again:
		// JetStream drops it as a duplicate.
		if _, err := db.Write.ExecContext(ctx, `UPDATE events SET streamed_at = NULL WHERE id = $1`, ids[0]); err != nil {
			t.Fatal(err)
		}
		if n, err := st.Publish(ctx); err != nil || n != 1 {
			t.Fatalf("Publish after the crash = %d, %v; want 1", n, err)
		}
		ack, err := js.Publish(ctx, prefix+".account.opened", []byte("{}"), jetstream.WithMsgID(ids[0]))
		if err != nil || !ack.Duplicate {
			t.Errorf("publishing event %s again = %+v, %v; want a duplicate", ids[0], ack, err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs != 3 || info.Config.Duplicates != time.Hour {
			t.Errorf("stream holds %d messages with a %s duplicate window, want 3 and 1h", info.State.Msgs, info.Config.Duplicates)
		}
	})
}

// A NATS outage holds back the stream, never the webhooks.
func TestNATSOutageDoesNotStopWebhooks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		nc, err := nats.Connect("nats://127.0.0.1:1", nats.RetryOnFailedConnect(true), nats.MaxReconnects(0))
		if err != nil {
			t.Fatal(err)
		}
		nc.Close() // the server is gone for good
		w := newWorld(t, db)
		st, err := outbox.NewStreamer(db, w.clk, nc, outbox.StreamOptions{})
		if err != nil {
			t.Fatal(err)
		}
		delivered := make(chan struct{}, 1)
		relay := outbox.NewRelay(db, w.clk, outbox.RelayOptions{Streamer: st, Poll: time.Hour,
			Delivered: func() { delivered <- struct{}{} }, Log: slog.New(slog.DiscardHandler)})
		r := newReceiver(t, w.clk)
		_, secret := w.webhook("root", r.url())
		r.set(secret, http.StatusOK)
		w.record(outbox.Event{Type: "account.opened", InstitutionID: "root"})
		if _, err := st.Publish(ctx); err == nil {
			t.Error("Publish without NATS succeeded")
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error)
		go func() { done <- relay.Run(runCtx) }()
		relay.Notify()
		<-delivered // the fan-out went ahead while the stream loop fails
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
		w.runDue()
		if n := len(r.requests()); n != 1 {
			t.Errorf("receiver got %d requests, want 1", n)
		}
		w.clk.Advance(time.Minute)
		if lag, err := st.Lag(ctx); err != nil || lag != time.Minute {
			t.Errorf("stream Lag = %s, %v; want 1m: the event waits for NATS", lag, err)
		}
	})
}

func TestNewStreamerValidates(t *testing.T) {
	nc, err := nats.Connect("nats://127.0.0.1:1", nats.RetryOnFailedConnect(true), nats.MaxReconnects(0))
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	tests := []struct {
		name string
		opts outbox.StreamOptions
		ok   bool
	}{
		{"defaults", outbox.StreamOptions{}, true},
		{"dotted prefix", outbox.StreamOptions{Prefix: "bank.core", Stream: "CORE-EVENTS"}, true},
		{"wildcard prefix", outbox.StreamOptions{Prefix: "bank.*"}, false},
		{"prefix with a space", outbox.StreamOptions{Prefix: "bank core"}, false},
		{"dotted stream", outbox.StreamOptions{Stream: "A.B"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := outbox.NewStreamer(nil, nil, nc, tc.opts); (err == nil) != tc.ok {
				t.Errorf("NewStreamer = %v, want ok %v", err, tc.ok)
			}
		})
	}
}
