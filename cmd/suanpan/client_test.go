package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/suanpan/suanpan/internal/httpapi"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// clientRun runs a client command against server with key and fails the
// test unless it exits with want and its stdout (for want 0) or stderr
// holds every string in contains.
func clientRun(t *testing.T, server, key string, want int, contains []string, args ...string) string {
	t.Helper()
	args = append(args, "--server", server, "--api-key", key)
	code, stdout, stderr := cli(t, args...)
	if code != want {
		t.Fatalf("suanpan %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, stdout, stderr)
	}
	where := stdout
	if want != exitOK {
		where = stderr
	}
	for _, c := range contains {
		if !strings.Contains(where, c) {
			t.Errorf("suanpan %s printed:\n%s\nwant it to contain %q", strings.Join(args[:2], " "), where, c)
		}
	}
	return stdout
}

// clientJSON runs a client command with --json and decodes its answer.
func clientJSON(t *testing.T, server, key string, out any, args ...string) {
	t.Helper()
	stdout := clientRun(t, server, key, exitOK, nil, append(args, "--json")...)
	if err := json.Unmarshal([]byte(stdout), out); err != nil {
		t.Fatalf("suanpan %s --json printed %q: %v", strings.Join(args, " "), stdout, err)
	}
}

// accountPage is a page of accounts list --json.
type accountPage struct {
	Items      []*httpapi.AccountView `json:"items"`
	NextCursor string                 `json:"next_cursor"`
}

// clientBooks is a running server with a bank account, two customer
// wallets (bob's may overdraw by 5.00) and 100.00 CNY topped up into
// alice's with the transfer command.
type clientBooks struct {
	srv              *running
	url, key         string
	bank, alice, bob httpapi.AccountView
}

func newClientBooks(t *testing.T, engine store.Dialect) *clientBooks {
	t.Helper()
	cleanEnv(t)
	setEncryptionKeys(t, engine)
	b := &clientBooks{srv: startCommand(t, "http", "serve", "--addr", "127.0.0.1:0", "--store", storetest.Location(t, engine))}
	b.url, b.key = b.srv.url, tokenPattern.FindString(b.srv.stdout.String())
	url, key := b.url, b.key
	mustFetch(t, 201, "POST", url+"/v1/assets", key, `{"code":"CNY","scale":2}`)
	clientJSON(t, url, key, &b.bank, "accounts", "create", "--asset", "CNY", "--code", "1002", "--normal-side", "debit",
		"--overdraft", "unlimited", "--name", "bank")
	clientJSON(t, url, key, &b.alice, "accounts", "create", "--asset", "CNY", "--code", "2001", "--normal-side", "credit", "--name", "alice")
	clientRun(t, url, key, exitOK, []string{"bob", "credit-normal, overdraft limit 500 minor units", "0.00 CNY"},
		"accounts", "create", "--asset", "CNY", "--code", "2001", "--normal-side", "credit", "--name", "bob",
		"--overdraft", "limit", "--overdraft-limit", "5.00")
	var page accountPage
	clientJSON(t, url, key, &page, "accounts", "list", "--code", "2001", "--limit", "1")
	if len(page.Items) != 1 || page.NextCursor == "" {
		t.Fatalf("accounts list --limit 1 = %+v, want one account and a cursor", page)
	}
	first := *page.Items[0]
	clientJSON(t, url, key, &page, "accounts", "list", "--code", "2001", "--after", page.NextCursor)
	if len(page.Items) != 1 {
		t.Fatalf("the second page of wallets has %d accounts, want 1", len(page.Items))
	}
	b.bob = *page.Items[0]
	if first.Name == "bob" { // list order is by ID
		b.bob = first
	}
	clientRun(t, url, key, exitOK, []string{"reference    topup-1", "100.00"},
		"transfer", "--from", b.bank.ID, "--to", b.alice.ID, "--amount", "100.00", "--reference", "topup-1", "--type", "topup")
	return b
}

func TestClientCommands(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			b := newClientBooks(t, engine)
			url, key, bank, alice, bob := b.url, b.key, b.bank, b.alice, b.bob
			if bob.Name != "bob" || bob.OverdraftLimit != 500 {
				t.Fatalf("bob = %+v, want bob's wallet with an overdraft limit of 500", bob)
			}
			clientRun(t, url, key, exitOK, []string{bank.ID, alice.ID, "more: --after"}, "accounts", "list", "--limit", "2")
			clientRun(t, url, key, exitOK, []string{"ID", alice.ID, bob.ID}, "accounts", "list", "--code", "2001")

			beforePayment := time.Now()
			var pay httpapi.TransactionView
			clientJSON(t, url, key, &pay, "transfer", "--from", alice.ID, "--to", bob.ID, "--amount", "12.34", "--asset", "CNY",
				"--reference", "pay-1")
			clientRun(t, url, key, exitOK, []string{"nothing changed now", pay.ID},
				"transfer", "--from", alice.ID, "--to", bob.ID, "--amount", "12.34", "--reference", "pay-1")
			clientRun(t, url, key, exitError, []string{"insufficient_funds", "HTTP 422"},
				"transfer", "--from", alice.ID, "--to", bob.ID, "--amount", "1000", "--reference", "pay-2")
			clientRun(t, url, key, exitError, []string{"too many decimal places"},
				"transfer", "--from", alice.ID, "--to", bob.ID, "--amount", "1.234", "--reference", "pay-3")

			clientRun(t, url, key, exitOK, []string{"balance    87.66 CNY", "available  87.66 CNY", "posted     debits 12.34, credits 100.00"},
				"balance", alice.ID)
			clientRun(t, url, key, exitOK, []string{"balance    100.00 CNY"},
				"balance", alice.ID, "--as-of", beforePayment.UTC().Format(time.RFC3339Nano))
			clientRun(t, url, key, exitError, []string{"--as-of"}, "balance", alice.ID, "--as-of", "yesterday")
			clientRun(t, url, key, exitOK, []string{"topup-1", "100.00", "more: --after 1"}, "entries", alice.ID, "--limit", "1")
			clientRun(t, url, key, exitOK, []string{"pay-1", "87.66"}, "entries", alice.ID, "--after", "1")

			clientRun(t, url, key, exitOK, []string{"kind         reversal (refund)", "reverses     " + pay.ID, "2.34"},
				"reverse", pay.ID, "--reference", "refund-1", "--amount", "2.34", "--type", "refund")
			clientRun(t, url, key, exitOK, []string{"90.00 CNY"}, "balance", alice.ID)
			clientRun(t, url, key, exitOK, []string{"reference    pay-1", "12.34", alice.ID, bob.ID}, "transactions", "get", pay.ID)

			clientRun(t, url, key, exitOK, []string{"status       credit_frozen"}, "accounts", "freeze", bob.ID, "--side", "credit", "--reason", "test")
			clientRun(t, url, key, exitError, []string{"account_frozen"},
				"transfer", "--from", alice.ID, "--to", bob.ID, "--amount", "1.00", "--reference", "pay-4")
			clientRun(t, url, key, exitOK, []string{"status       active"}, "accounts", "thaw", bob.ID, "--side", "credit")
			clientRun(t, url, key, exitError, []string{"account_not_empty"}, "accounts", "close", bob.ID)
			clientRun(t, url, key, exitOK, []string{"status       active", "balance      90.00 CNY"}, "accounts", "get", alice.ID)
			clientRun(t, url, key, exitError, []string{"account_not_found", "HTTP 404"}, "accounts", "get", "no-such-account")
			clientRun(t, url, "sp_bad_key", exitError, []string{"unauthenticated", "HTTP 401"}, "accounts", "list")

			var raw map[string]any
			clientJSON(t, url, key, &raw, "accounts", "get", alice.ID)
			if raw["balance_display"] != "90.00" {
				t.Errorf("accounts get --json = %v, want the server's JSON with balance_display 90.00", raw)
			}
			var empty httpapi.AccountView
			clientJSON(t, url, key, &empty, "accounts", "create", "--asset", "CNY", "--code", "2001", "--normal-side", "credit")
			clientRun(t, url, key, exitOK, []string{"status       closed"}, "accounts", "close", empty.ID, "--reason", "test")

			// The server and key from the environment, as the demo suggests.
			t.Setenv("SUANPAN_SERVER", url)
			t.Setenv("SUANPAN_API_KEY", key)
			if out := mustRun(t, exitOK, "balance", alice.ID); !strings.Contains(out, "90.00") {
				t.Errorf("balance with the server and key from the environment printed %q", out)
			}
			b.srv.mustStop()
		})
	}
}

func TestClientHolds(t *testing.T) {

	for _, engine := range storetest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			b := newClientBooks(t, engine)
			url, key, alice, bob := b.url, b.key, b.alice, b.bob
			var hold httpapi.TransactionView
			clientJSON(t, url, key, &hold, "hold", "create", "--from", alice.ID, "--to", bob.ID, "--amount", "10.00",
				"--reference", "hold-1", "--timeout", "1h", "--type", "preauth")
			if hold.Kind != "hold" || hold.ExpiresAt == nil {
				t.Errorf("hold create = %+v, want a hold with an expiry", hold)
			}
			clientRun(t, url, key, exitOK, []string{"available  90.00 CNY"}, "balance", alice.ID)
			clientRun(t, url, key, exitOK, []string{"kind         post", "hold         " + hold.ID, "4.00"},
				"hold", "post", hold.ID, "--reference", "capture-1", "--amount", "4.00")
			clientRun(t, url, key, exitError, []string{"hold_already_posted"}, "hold", "void", hold.ID, "--reference", "void-1")
			clientRun(t, url, key, exitOK, []string{"balance    96.00 CNY", "available  96.00 CNY"}, "balance", alice.ID)
			var hold2 httpapi.TransactionView
			clientJSON(t, url, key, &hold2, "hold", "create", "--from", alice.ID, "--to", bob.ID, "--amount", "1", "--reference", "hold-2")
			clientRun(t, url, key, exitOK, []string{"kind         void"}, "hold", "void", hold2.ID, "--reference", "void-2")
			clientRun(t, url, key, exitError, []string{"--timeout"},
				"hold", "create", "--from", alice.ID, "--to", bob.ID, "--amount", "1", "--reference", "hold-3", "--timeout", "1500ms")
			b.srv.mustStop()
		})
	}
}

func TestClientNeedsKey(t *testing.T) {
	cleanEnv(t)
	code, _, stderr := cli(t, "accounts", "list")
	if code != exitError || !strings.Contains(stderr, "--api-key") {
		t.Errorf("accounts list without a key: exit %d, stderr %q; want %d naming --api-key", code, stderr, exitError)
	}
	code, _, stderr = cli(t, "accounts", "list", "--api-key", "k", "--server", "ftp://x")
	if code != exitError || !strings.Contains(stderr, "not an http") {
		t.Errorf("accounts list with an ftp server: exit %d, stderr %q", code, stderr)
	}
}
