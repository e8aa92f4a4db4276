package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/httpapi"
)

// TestDuplicateKeysRefused: a body naming a key twice, exactly or in
// another case, at any depth, is refused before it is decoded, and
// changes nothing (the review froze both sides of an account with
// {"side":"debit","SIDE":"bogus"} and created an admin key with
// {"role":"viewer","ROLE":"admin"}).
func TestDuplicateKeysRefused(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		tests := []struct {
			name, method, path, body, field string
		}{
			{"role twice", "POST", "/v1/keys", `{"institution_id":"root","role":"viewer","ROLE":"admin","name":"k"}`, "body.ROLE"},
			{"side twice", "POST", "/v1/accounts/" + b.alice + "/freeze", `{"side":"debit","SIDE":"bogus","reason":"r"}`, "body.SIDE"},
			{"exact duplicate", "POST", "/v1/accounts/" + b.alice + "/freeze", `{"side":"debit","side":"credit","reason":"r"}`, "body.side"},
			{"escaped duplicate", "POST", "/v1/keys", `{"institution_id":"root","role":"viewer","\u0052ole":"admin","name":"k"}`, "body.Role"},
			{"in an array item", "POST", "/v1/transactions", `{"reference":"dup-1","postings":[{"debit":"` + b.bank + `","credit":"` + b.alice +
				`","asset":"CNY","amount":1,"Amount":100000}]}`, "body.postings[0].Amount"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := a.with(t)
				resp, _ := a.raw(a.admin, tt.method, tt.path, []byte(tt.body))
				p := checkProblem(t, resp, http.StatusUnprocessableEntity, "invalid_request")
				if p.Field != tt.field {
					t.Errorf("field %q, want %q (%s)", p.Field, tt.field, p.Detail)
				}
			})
		}
		t.Run("nothing changed", func(t *testing.T) {
			a := a.with(t)
			var acct httpapi.AccountView
			a.must(http.StatusOK, a.admin, "GET", "/v1/accounts/"+b.alice, nil, &acct)
			if acct.Status != "active" {
				t.Errorf("alice's status %q, want active", acct.Status)
			}
			var keys []struct {
				Role string `json:"role"`
			}
			a.must(http.StatusOK, a.admin, "GET", "/v1/keys", nil, &keys)
			if len(keys) != 1 {
				t.Errorf("%d keys, want only the bootstrap key", len(keys))
			}
		})
	})
}

// TestControlCharactersRefused: free text refuses control characters on
// every route; the documented exceptions take theirs.
func TestControlCharactersRefused(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		operator := a.newKey("root", auth.RoleOperator)
		tests := []struct {
			name, method, path, body, field string
		}{
			{"NUL in a key name", "POST", "/v1/keys", `{"institution_id":"root","role":"viewer","name":"a\u0000b"}`, "body.name"},
			{"LF in a freeze reason", "POST", "/v1/accounts/" + b.alice + "/freeze", `{"side":"both","reason":"court\norder"}`, "body.reason"},
			{"CR in an account name", "POST", "/v1/accounts", `{"asset":"CNY","code":"2001","name":"x\ry","normal_side":"credit"}`, "body.name"},
			{"ANSI escape in a customer name", "POST", "/v1/customers", `{"type":"personal","name":"\u001b[31mred"}`, "body.name"},
			{"C1 in a property", "POST", "/v1/customers", `{"type":"personal","name":"n","properties":{"note":"a\u009bb"}}`, "body.properties.note"},
			{"DEL in an institution name", "POST", "/v1/institutions", `{"id":"br1","parent_id":"root","name":"a\u007f"}`, "body.name"},
			{"TAB in a transaction reference", "POST", "/v1/transactions", `{"reference":"r\t1","postings":[{"debit":"` + b.bank +
				`","credit":"` + b.alice + `","asset":"CNY","amount":1}]}`, "body.reference"},
			{"control in an array item", "POST", "/v1/webhooks", `{"url":"https://example.com/h","event_types":["account.\u0007"]}`, "body.event_types[0]"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := a.with(t)
				resp, _ := a.raw(a.admin, tt.method, tt.path, []byte(tt.body))
				p := checkProblem(t, resp, http.StatusUnprocessableEntity, "invalid_request")
				if p.Field != tt.field {
					t.Errorf("field %q, want %q (%s)", p.Field, tt.field, p.Detail)
				}
			})
		}
		t.Run("a statement format's delimiter may be a tab", func(t *testing.T) {
			a := a.with(t)
			pay := a.payBooks(a.admin, "tb")
			body := `{"format":{"kind":"csv","columns":{"delimiter":"\t","trim":" \t","header":true,"order_id":"order_id","amount":"amount",` +
				`"time":"time","amount_format":"decimal","scale":2,"default_asset":"CNY","default_direction":"pay_in","default_status":"succeeded",` +
				`"time_layout":"2006-01-02T15:04:05Z07:00","time_zone":"UTC"}}}`
			resp, raw := a.raw(operator, "PUT", "/v1/recon/channels/"+pay.channel+"/settings", []byte(body))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", resp.StatusCode, raw)
			}
			bad := `{"format":{"kind":"csv","columns":{"delimiter":"\u0000"}}}`
			resp, _ = a.raw(operator, "PUT", "/v1/recon/channels/"+pay.channel+"/settings", []byte(bad))
			p := checkProblem(t, resp, http.StatusUnprocessableEntity, "invalid_request")
			if p.Field != "body.format.columns.delimiter" {
				t.Errorf("field %q, want body.format.columns.delimiter", p.Field)
			}
		})
	})
}
