package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suanpan/suanpan/internal/httpapi"
	"github.com/suanpan/suanpan/store/storetest"
)

// TestClientPlatform runs the institution, API key, asset and product
// commands against a real server.
func TestClientPlatform(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			b := newClientBooks(t, engine)
			url, key := b.url, b.key

			t.Run("assets", func(t *testing.T) {
				clientRun(t, url, key, exitOK, []string{"code        USD", "scale       2", "max amount  100000000000000"}, "assets", "create", "USD", "--scale", "2")
				clientRun(t, url, key, exitOK, []string{"code        JPY", "max amount  5000000"}, "assets", "create", "JPY", "--scale", "0", "--max-amount", "5000000")
				clientRun(t, url, key, exitOK, []string{"CNY", "USD", "JPY   0      5000000"}, "assets", "list")
				clientRun(t, url, key, exitOK, []string{"code        CNY", "scale       2"}, "assets", "get", "CNY")
				clientRun(t, url, key, exitOK, []string{"code        USD", "max amount  99"}, "assets", "update", "USD", "--max-amount", "99")
				clientRun(t, url, key, exitError, []string{"HTTP 422"}, "assets", "update", "USD", "--max-amount", "0")
				clientRun(t, url, key, exitError, []string{"HTTP 404"}, "assets", "get", "XXX")
				clientRun(t, url, key, exitError, []string{"HTTP 4"}, "assets", "create", "USD", "--scale", "3")
			})

			t.Run("institutions", func(t *testing.T) {
				var list []struct {
					ID string `json:"id"`
				}
				clientJSON(t, url, key, &list, "institutions", "list")
				if len(list) == 0 {
					t.Fatal("institutions list --json printed none")
				}
				top := list[0].ID
				clientRun(t, url, key, exitOK, []string{"id       branch-sh", "name     Shanghai branch", "parent   " + top},
					"institutions", "create", "branch-sh", "--name", "Shanghai branch", "--parent", top)
				clientRun(t, url, key, exitOK, []string{"branch-sh", top, "Shanghai branch"}, "institutions", "list")
				clientRun(t, url, key, exitOK, []string{"name     Shanghai branch"}, "institutions", "get", "branch-sh")
				clientRun(t, url, key, exitError, []string{"HTTP 404"}, "institutions", "get", "no-such-branch")
			})

			t.Run("keys", func(t *testing.T) {
				var created struct {
					ID    string `json:"id"`
					Token string `json:"token"`
				}
				clientJSON(t, url, key, &created, "keys", "create", "--role", "viewer", "--name", "dashboard")
				if created.ID == "" || !strings.HasPrefix(created.Token, "sp_") {
					t.Fatalf("keys create --json = %+v, want an ID and a token", created)
				}
				// The new key reads, and only reads.
				clientRun(t, url, created.Token, exitOK, []string{b.alice.ID}, "accounts", "list")
				clientRun(t, url, created.Token, exitError, []string{"HTTP 403"}, "assets", "create", "EUR", "--scale", "2")
				clientRun(t, url, key, exitOK, []string{"role         operator", "token        sp_", "cannot show it again"},
					"keys", "create", "--role", "operator", "--name", "ops")
				clientRun(t, url, key, exitOK, []string{created.ID, "viewer", "dashboard"}, "keys", "list")
				clientRun(t, url, key, exitOK, []string{"id           " + created.ID, "revoked      2"}, "keys", "revoke", created.ID)
				clientRun(t, url, created.Token, exitError, []string{"HTTP 401"}, "accounts", "list")
			})

			t.Run("products", func(t *testing.T) {
				dir := t.TempDir()
				def := filepath.Join(dir, "wallet.json")
				if err := os.WriteFile(def, []byte(`{"id":"wallet-cny","name":"CNY wallet","class":"wallet","asset":"CNY",
					"chart_code":"2001","normal_side":"credit","limits":[{"operation":"payment","per_transaction":5000}]}`), 0o644); err != nil {
					t.Fatal(err)
				}
				clientRun(t, url, key, exitOK, []string{"wallet-cny v1", "CNY wallet", "payment", "50.00"}, "products", "create", def)
				var versions []httpapi.ProductView
				clientJSON(t, url, key, &versions, "products", "versions", "wallet-cny")
				if len(versions) != 1 || versions[0].Version != 1 {
					t.Fatalf("products versions --json = %+v, want version 1", versions)
				}
				clientRun(t, url, key, exitOK, []string{"VERSION", "1", "active", "CNY wallet"}, "products", "versions", "wallet-cny")
				clientRun(t, url, key, exitError, []string{"HTTP 409"}, "products", "create", def)

				typo := filepath.Join(dir, "typo.json")
				if err := os.WriteFile(typo, []byte(`{"id":"x","nmae":"typo"}`), 0o644); err != nil {
					t.Fatal(err)
				}
				clientRun(t, url, key, exitError, []string{"not a product definition", "nmae"}, "products", "create", typo)
			})
		})
	}
}
