package ledger

import (
	"encoding/hex"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"testing"
)

// FuzzRequestValidate decodes arbitrary JSON into a Request and validates
// it. Validation must never panic, every rejection must carry a code and a
// message, and whatever it accepts must be well formed and have a stable
// content hash that tells the content apart.
func FuzzRequestValidate(f *testing.F) {
	for _, seed := range []string{
		`{"kind":"transfer","institution_id":"inst1","reference":"t-1","type":"topup",` +
			`"postings":[{"debit":"bank","credit":"w1","asset":"CNY","amount":10000}],"metadata":{"order":"42"}}`,
		`{"kind":"hold","institution_id":"inst1","reference":"h-1","postings":[{"debit":"w1","credit":"m1",` +
			`"asset":"CNY","amount":500},{"debit":"w1","credit":"fee","asset":"CNY","amount":3}],"timeout":60000000000}`,
		`{"kind":"post","institution_id":"inst1","reference":"p-1","hold_id":"h-1","amounts":[400,3]}`,
		`{"kind":"void","institution_id":"inst1","reference":"v-1","hold_id":"h-1"}`,
		`{"kind":"reversal","institution_id":"inst1","reference":"r-1","transaction_id":"t-1","amounts":[0,100]}`,
		`{"kind":"transfer","institution_id":"inst1","reference":"x","postings":[{"debit":"a","credit":"a","asset":"CNY","amount":1}]}`,
		`{"kind":"post","institution_id":"inst1","reference":"p-2","hold_id":"h-1","amounts":[]}`,
		`{"kind":"hold","institution_id":"i","reference":"h","postings":[{"debit":"a","credit":"b","asset":"X","amount":9223372036854775807}],"timeout":-1}`,
		`{"kind":"transfer","postings":null,"amounts":null,"metadata":{"":""}}`,
		`{"kind":7}`,
		`[1,2,3]`,
		"\x00\xff{",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var in Request
		if err := json.Unmarshal(data, &in); err != nil {
			return
		}
		r := fuzzClone(in)
		if err := r.validate(); err != nil {
			if err.Code == "" || err.Message == "" {
				t.Fatalf("rejection without code or message: %+v", err)
			}
			if r.hash != "" {
				t.Fatalf("rejected request has a content hash")
			}
			return
		}

		if r.Type == "" {
			t.Fatalf("accepted with an empty type: %+v", r)
		}
		if r.InstitutionID == "" || r.Reference == "" {
			t.Fatalf("accepted without institution or reference: %+v", r)
		}
		for i, p := range r.Postings {
			if p.Amount <= 0 {
				t.Fatalf("accepted posting %d with amount %d", i, p.Amount)
			}
			if p.Debit == p.Credit {
				t.Fatalf("accepted posting %d debiting and crediting %q", i, p.Debit)
			}
		}
		if (r.Kind == KindTransfer || r.Kind == KindHold) != (len(r.Postings) > 0) {
			t.Fatalf("accepted a %s with %d postings", r.Kind, len(r.Postings))
		}
		if len(r.hash) != 64 {
			t.Fatalf("content hash %q is not 64 characters", r.hash)
		}
		if _, err := hex.DecodeString(r.hash); err != nil {
			t.Fatalf("content hash %q is not hex: %v", r.hash, err)
		}

		// Stable: the same content, validated afresh or again, hashes the same.
		for _, again := range []Request{fuzzClone(in), fuzzClone(r)} {
			again.hash = ""
			if err := again.validate(); err != nil {
				t.Fatalf("accepted once, rejected the second time: %v", err)
			}
			if again.hash != r.hash {
				t.Fatalf("content hash changed from %s to %s", r.hash, again.hash)
			}
		}
		// The key is not content.
		key := fuzzClone(r)
		key.Reference += "x"
		if key.contentHash() != r.hash {
			t.Fatalf("content hash depends on the reference")
		}

		// Other content, another hash.
		if len(r.Postings) > 0 {
			other := fuzzClone(r)
			if p := &other.Postings[0]; p.Amount == math.MaxInt64 {
				p.Amount--
			} else {
				p.Amount++
			}
			if other.contentHash() == r.hash {
				t.Fatalf("changing the first posting's amount kept the hash %s", r.hash)
			}
		}
		if len(r.Amounts) > 0 {
			other := fuzzClone(r)
			if other.Amounts[0] == math.MaxInt64 {
				other.Amounts[0]--
			} else {
				other.Amounts[0]++
			}
			if other.contentHash() == r.hash {
				t.Fatalf("changing the first amount kept the hash %s", r.hash)
			}
		}
	})
}

// fuzzClone copies a request deeply, so that validating the copy cannot
// touch the original.
func fuzzClone(r Request) Request {
	c := r
	c.Postings = slices.Clone(r.Postings)
	c.Amounts = slices.Clone(r.Amounts)
	c.Metadata = maps.Clone(r.Metadata)
	return c
}
