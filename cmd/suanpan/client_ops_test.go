package main

import (
	"strings"
	"testing"

	"github.com/suanpan/suanpan/internal/httpapi"
	"github.com/suanpan/suanpan/store/storetest"
)

// customerPage is a page of customers list --json.
type customerPage struct {
	Items      []*httpapi.CustomerView `json:"items"`
	NextCursor string                  `json:"next_cursor"`
}

// TestClientCustomersProductsOps sets up products and internal accounts
// over the API, then creates customers (their accounts auto-opened) and
// runs operations on them with the client commands.
func TestClientCustomersProductsOps(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			b := newClientBooks(t, engine)
			url, key := b.url, b.key
			var fees httpapi.AccountView
			clientJSON(t, url, key, &fees, "accounts", "create", "--asset", "CNY", "--code", "6021", "--normal-side", "credit", "--name", "fees")
			mustFetch(t, 201, "POST", url+"/v1/internal-accounts", key, `{"role":"clearing","channel":"app","account_id":"`+b.bank.ID+`"}`)
			mustFetch(t, 201, "POST", url+"/v1/internal-accounts", key, `{"role":"fee_income","account_id":"`+fees.ID+`"}`)
			mustFetch(t, 201, "POST", url+"/v1/products", key, `{"id":"wallet-cny","name":"CNY wallet","class":"wallet","asset":"CNY",
				"chart_code":"2001","normal_side":"credit","auto_open":[{"customer_type":"personal"}],
				"limits":[{"operation":"payment","per_transaction":5000}],
				"fees":[{"operation":"transfer","kind":"fixed","fixed":100,"payer":"payer","rounding":"half_even","fee_account_code":"6021"}]}`)
			mustFetch(t, 201, "POST", url+"/v1/products", key, `{"id":"merchant-cny","name":"Merchant settlement","class":"merchant_settlement",
				"asset":"CNY","chart_code":"2202","normal_side":"credit","operations":["payment","refund"],"auto_open":[{"customer_type":"merchant"}],
				"fees":[{"operation":"payment","kind":"percentage","rate":"0.006","payer":"payee","rounding":"half_even","fee_account_code":"6021"}]}`)

			clientRun(t, url, key, exitOK, []string{"wallet-cny", "merchant-cny", "merchant_settlement"}, "products", "list")
			clientRun(t, url, key, exitOK, []string{"wallet-cny v1", "auto-open", "for new personal customers", "payment", "50.00",
				"transfer", "fixed", "1.00"}, "products", "get", "wallet-cny")
			clientRun(t, url, key, exitError, []string{"product_not_found"}, "products", "get", "no-such-product")

			var alice, bob, shop httpapi.CreatedCustomerView
			clientJSON(t, url, key, &alice, "customers", "create", "--name", "Alice Demo", "--id-doc-type", "resident_id",
				"--id-number", "000000190001010001", "--phone", "10000000001", "--property", "segment=student")
			clientJSON(t, url, key, &bob, "customers", "create", "--name", "Bob Demo")
			clientRun(t, url, key, exitOK, []string{"type         merchant", "merchant-cny v1"},
				"customers", "create", "--type", "merchant", "--name", "Demo Shop")
			var shops customerPage
			clientJSON(t, url, key, &shops, "customers", "list", "--type", "merchant")
			if len(shops.Items) != 1 {
				t.Fatalf("customers list --type merchant = %+v, want one", shops)
			}
			clientJSON(t, url, key, &shop.CustomerView, "customers", "get", shops.Items[0].ID)
			for _, c := range []*httpapi.CreatedCustomerView{&alice, &bob} {
				if len(c.Accounts) != 1 || c.Accounts[0].ProductID != "wallet-cny" {
					t.Fatalf("customer %s opened %+v, want a wallet", c.Name, c.Accounts)
				}
			}
			aw, bw := alice.Accounts[0].Account.ID, bob.Accounts[0].Account.ID
			if alice.IDDocNumber == "000000190001010001" || alice.Phone == "10000000001" {
				t.Errorf("customers create printed alice's identity unmasked: %+v", alice.CustomerView)
			}
			clientRun(t, url, key, exitOK, []string{"name         A", "phone        100****0001", "property     segment=student", aw, "wallet-cny v1"},
				"customers", "get", alice.ID)
			clientRun(t, url, key, exitOK, []string{alice.ID, bob.ID, "personal"}, "customers", "list", "--type", "personal")
			clientRun(t, url, key, exitOK, []string{alice.ID}, "customers", "list", "--id-number", "000000190001010001")
			out := clientRun(t, url, key, exitOK, nil, "customers", "list", "--limit", "1")
			if want := "more: --after"; !strings.Contains(out, want) {
				t.Errorf("customers list --limit 1 printed %q, want %q", out, want)
			}
			shopOut := clientRun(t, url, key, exitOK, []string{"merchant-cny"}, "customers", "get", shop.ID)
			shopAcct := ""
			for _, f := range strings.Fields(shopOut) {
				if len(f) == 36 && f != shop.ID {
					shopAcct = f
				}
			}
			if shopAcct == "" {
				t.Fatalf("customers get of the merchant printed no account:\n%s", shopOut)
			}

			clientRun(t, url, key, exitOK, []string{"operation  topup", "amount     100.00 CNY", "reference    top-1"},
				"ops", "topup", "--account", aw, "--amount", "100.00", "--reference", "top-1")
			clientRun(t, url, key, exitOK, []string{"nothing changed now"},
				"ops", "topup", "--account", aw, "--amount", "100.00", "--reference", "top-1")
			clientRun(t, url, key, exitOK, []string{"operation  transfer", "amount     10.00 CNY", "fee        1.00 CNY (paid by the payer)"},
				"ops", "transfer", "--account", aw, "--to", bw, "--amount", "10", "--reference", "tr-1")
			var pay httpapi.OperationView
			clientJSON(t, url, key, &pay, "ops", "pay", "--account", aw, "--merchant", shopAcct, "--amount", "20.00",
				"--reference", "pay-1", "--metadata", "order=42")
			if pay.Operation != "payment" || pay.Fee != 12 || pay.FeePayer != "payee" || pay.Transaction.Metadata["order"] != "42" {
				t.Errorf("ops pay = %+v, want a payment with a fee of 0.12 paid by the payee and the order in its metadata", pay)
			}
			clientRun(t, url, key, exitError, []string{"limit_exceeded"},
				"ops", "pay", "--account", aw, "--merchant", shopAcct, "--amount", "50.01", "--reference", "pay-2")
			clientRun(t, url, key, exitError, []string{"too many decimal places"},
				"ops", "pay", "--account", aw, "--merchant", shopAcct, "--amount", "1.001", "--reference", "pay-3")
			clientRun(t, url, key, exitOK, []string{"operation  refund", "amount     5.00 CNY", "reverses     " + pay.Transaction.ID},
				"ops", "refund", pay.Transaction.ID, "--amount", "5.00", "--reference", "refund-1")
			clientRun(t, url, key, exitError, []string{"reversal_exceeds_original"},
				"ops", "refund", pay.Transaction.ID, "--reference", "refund-3")
			clientRun(t, url, key, exitOK, []string{"operation  refund", "amount     14.00 CNY"},
				"ops", "refund", pay.Transaction.ID, "--amount", "14", "--reference", "refund-2")
			clientRun(t, url, key, exitOK, []string{"operation  withdraw", "amount     3.00 CNY", "kind         hold"},
				"ops", "withdraw", "--account", bw, "--amount", "3.00", "--reference", "wd-1", "--timeout", "1h")
			clientRun(t, url, key, exitError, []string{"--timeout"},
				"ops", "withdraw", "--account", bw, "--amount", "3.00", "--reference", "wd-2", "--timeout", "1500ms")
			// 100.00 - 10.00 - 1.00 fee - 20.00 + 5.00 + 14.00
			clientRun(t, url, key, exitOK, []string{"balance    88.00 CNY"}, "balance", aw)
			// 10.00, 3.00 reserved by the withdrawal
			clientRun(t, url, key, exitOK, []string{"balance    10.00 CNY", "available  7.00 CNY"}, "balance", bw)
			b.srv.mustStop()
		})
	}
}
