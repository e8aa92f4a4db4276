package ledger_test

import (
	"testing"

	"github.com/suanpan/suanpan/ledger"
)

// TestUnstorableTextRefused: text PostgreSQL cannot store (NUL, invalid
// UTF-8) is refused up front, so it never fails the storage transaction that
// other callers' requests share.
func TestUnstorableTextRefused(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		bank, w := e.bank(), e.wallet()
		good := transfer("good", bank, w, 100)
		good.InstitutionID = "inst1"
		bad := []struct {
			name  string
			req   ledger.Request
			field string
		}{
			{"NUL in reference", transfer("bad\x00ref", bank, w, 1), "reference"},
			{"invalid UTF-8 reference", transfer("bad\xffref", bank, w, 1), "reference"},
			{"control character in reference", transfer("bad\nref", bank, w, 1), "reference"},
			{"NUL in metadata key", func() ledger.Request {
				r := transfer("meta-key", bank, w, 1)
				r.Metadata = map[string]string{"a\x00": "x"}
				return r
			}(), "metadata"},
			{"invalid UTF-8 metadata value", func() ledger.Request {
				r := transfer("meta-val", bank, w, 1)
				r.Metadata = map[string]string{"a": "\xff"}
				return r
			}(), "metadata.a"},
			{"sub-millisecond hold timeout", ledger.Request{Kind: ledger.KindHold, Reference: "short-hold", Timeout: 999,
				Postings: []ledger.Posting{{Debit: w.ID, Credit: bank.ID, Asset: "CNY", Amount: 1}}}, "timeout"},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				tc.req.InstitutionID = "inst1"
				res, err := e.l.Submit(e.ctx, []ledger.Request{good, tc.req}, false)
				if err != nil {
					t.Fatalf("submit: %v (a bad request must not fail the batch)", err)
				}
				if res[0].Err != nil {
					t.Errorf("good request: %v", res[0].Err)
				}
				if res[1].Err == nil || res[1].Err.Code != ledger.CodeInvalidRequest || res[1].Err.Field != tc.field {
					t.Errorf("bad request: %+v, want invalid_request on %s", res[1].Err, tc.field)
				}
			})
		}
		if _, err := e.l.CreateAccount(e.ctx, ledger.NewAccount{InstitutionID: "inst1", Asset: "CNY", Code: "2001",
			NormalSide: ledger.Credit, Name: "nul\x00name"}); ledger.ErrorCode(err) != ledger.CodeInvalidRequest {
			t.Errorf("account name with NUL: %v, want invalid_request", err)
		}
		e.verify()
	})
}
