package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/suanpan/suanpan/internal/outbox"
)

// serve delivers the outbox: an event recorded by an API request reaches a
// webhook, signed, and — with --nats-url — the JetStream stream.
func TestServeDeliversEvents(t *testing.T) {
	cleanEnv(t)
	type delivery struct {
		header http.Header
		body   []byte
	}
	got := make(chan delivery, 16)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Clone(), body}
	}))
	defer recv.Close()

	// The receiver listens on this machine, which deliveries reach only
	// when the operator allows it.
	args := []string{"serve", "--addr", "127.0.0.1:0", "--store", t.TempDir() + "/s.db", "--webhook-allow-cidr", "127.0.0.1,::1/128"}
	var events jetstream.Consumer
	if natsURL := os.Getenv("SUANPAN_TEST_NATS_URL"); natsURL != "" {
		suffix := fmt.Sprint(time.Now().UnixNano())
		stream, prefix := "SERVETEST"+suffix, "servetest"+suffix
		args = append(args, "--nats-url", natsURL, "--nats-stream", stream, "--nats-prefix", prefix)
		nc, err := nats.Connect(natsURL)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		// The stream the server is told to use; it would create it itself.
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{prefix + ".>"}}); err != nil {
			t.Fatal(err)
		}
		defer js.DeleteStream(ctx, stream)
		if events, err = js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{prefix + ".internal_account.registered"}}); err != nil {
			t.Fatal(err)
		}
	} else {
		t.Log("SUANPAN_TEST_NATS_URL is not set: the NATS half of this test is skipped")
	}
	srv := startCommand(t, "http", args...)
	key := tokenPattern.FindString(srv.stdout.String())

	var hook struct {
		Webhook *outbox.Webhook `json:"webhook"`
		Secret  string          `json:"secret"`
	}
	if err := json.Unmarshal([]byte(mustFetch(t, 201, "POST", srv.url+"/v1/webhooks", key,
		`{"url":"`+recv.URL+`","event_types":["internal_account.*"]}`)), &hook); err != nil || hook.Secret == "" {
		t.Fatalf("webhook %+v: %v", hook, err)
	}
	mustFetch(t, 201, "POST", srv.url+"/v1/assets", key, `{"code":"CNY","scale":2}`)
	var acct struct{ ID string }
	if err := json.Unmarshal([]byte(mustFetch(t, 201, "POST", srv.url+"/v1/accounts", key,
		`{"asset":"CNY","code":"6021","normal_side":"credit"}`)), &acct); err != nil {
		t.Fatal(err)
	}
	mustFetch(t, 201, "POST", srv.url+"/v1/internal-accounts", key, `{"role":"fee_income","account_id":"`+acct.ID+`"}`)

	select {
	case d := <-got:
		if err := outbox.Verify(hook.Secret, d.header, d.body, time.Now(), outbox.DefaultTolerance); err != nil {
			t.Errorf("delivery does not verify: %v", err)
		}
		var env outbox.Envelope
		if err := json.Unmarshal(d.body, &env); err != nil || env.Type != "internal_account.registered" {
			t.Errorf("delivered %s (%v), want internal_account.registered", d.body, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook delivery within 30 s")
	}

	if events != nil {
		msg, err := events.Next(jetstream.FetchMaxWait(30 * time.Second))
		if err != nil {
			t.Fatalf("no event on NATS: %v", err)
		}
		if msg.Headers().Get(jetstream.MsgIDHeader) == "" {
			t.Errorf("message %s has no Nats-Msg-Id", msg.Subject())
		}
	}
	srv.mustStop()
}
