package store_test

import (
	"context"
	"testing"

	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// TestScrubWebhookErrors: migration 00020 removes from delivery logs
// written before errors were bounded the receivers' answers and the dial
// errors' addresses, keeping the status, and leaves the bounded phrases
// the code writes now as they are.
func TestScrubWebhookErrors(t *testing.T) {
	ctx := context.Background()
	for _, d := range storetest.Engines() {
		t.Run(string(d), func(t *testing.T) {
			db, err := store.Open(ctx, storetest.Location(t, d), store.Options{MaxConns: 4})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if err := db.MigrateTo(ctx, 19); err != nil {
				t.Fatal(err)
			}
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := db.Write.ExecContext(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			exec(`INSERT INTO institutions (id, parent_id, name, path, created_at) VALUES ('i', NULL, 'I', '/i/', 1)`)
			exec(`INSERT INTO webhooks (id, institution_id, url, secret, event_types, active, description, created_at, updated_at)
				VALUES ('w', 'i', 'https://example.com/', 's', '[]', 1, '', 1, 1)`)
			deliveries := []struct {
				id, lastErr, want string
				lastStatus        int
			}{
				{"d-body", "http 500: {\"secret\":\"internal\"}", "http 500", 500},
				{"d-dial", "dial tcp 10.1.2.3:5432: connect: connection refused", "request failed", 0},
				{"d-bounded", "connection refused", "connection refused", 0},
				{"d-status", "http 404", "http 404", 404},
				{"d-ok", "", "", 200},
			}
			for _, dl := range deliveries {
				exec(`INSERT INTO events (id, type, subject, institution_id, payload, created_at) VALUES ($1, 't', 's', 'i', '{}', 1)`, "e-"+dl.id)
				exec(`INSERT INTO webhook_deliveries (id, webhook_id, event_id, institution_id, state, attempts, job_key,
					last_status, last_error, created_at, updated_at) VALUES ($1, 'w', $2, 'i', 'failed', 1, $1, $3, $4, 1, 1)`,
					dl.id, "e-"+dl.id, dl.lastStatus, dl.lastErr)
				exec(`INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_ms)
					VALUES ($1, 1, 1, $2, $3, 5)`, dl.id, dl.lastStatus, dl.lastErr)
			}
			exec(`INSERT INTO jobs (id, kind, key, institution_id, payload, state, last_error, run_at, created_at, updated_at)
				VALUES ('j1', 'webhook.deliver', 'k1', 'i', '{}', 'dead', 'delivery d-body: http 500: {"secret":"internal"}', 1, 1, 1)`)
			exec(`INSERT INTO jobs (id, kind, key, institution_id, payload, state, last_error, run_at, created_at, updated_at)
				VALUES ('j2', 'payments.follow', 'k2', 'i', '{}', 'dead', 'no answer from the channel', 1, 1, 1)`)

			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			for _, dl := range deliveries {
				var last, attempt string
				if err := db.Read.QueryRowContext(ctx, `SELECT d.last_error, a.error FROM webhook_deliveries d
					JOIN webhook_attempts a ON a.delivery_id = d.id WHERE d.id = $1`, dl.id).Scan(&last, &attempt); err != nil {
					t.Fatal(err)
				}
				if last != dl.want || attempt != dl.want {
					t.Errorf("%s: last error %q, attempt error %q; want %q", dl.id, last, attempt, dl.want)
				}
			}
			for id, want := range map[string]string{"j1": "webhook delivery failed; see the delivery log", "j2": "no answer from the channel"} {
				var got string
				if err := db.Read.QueryRowContext(ctx, `SELECT last_error FROM jobs WHERE id = $1`, id).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("job %s: last error %q, want %q", id, got, want)
				}
			}
		})
	}
}
