package bench

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

func TestCheckTarget(t *testing.T) {
	tests := []struct {
		url         string
		allowRemote bool
		ok          bool
	}{
		{"http://127.0.0.1:8080", false, true},
		{"https://127.0.0.2", false, true},
		{"http://[::1]:8080/", false, true},
		{"http://localhost:8080", false, true},
		{"http://LOCALHOST", false, true},
		{"http://10.0.0.1:8080", false, false},
		{"http://suanpan.example:8080", false, false},
		{"http://127.0.0.1.example", false, false},
		{"http://10.0.0.1:8080", true, true},
		{"ftp://127.0.0.1", false, false},
		{"127.0.0.1:8080", false, false},
		{"", true, false},
	}
	for _, tt := range tests {
		err := CheckTarget(tt.url, tt.allowRemote)
		if (err == nil) != tt.ok {
			t.Errorf("CheckTarget(%q, %v) = %v, want ok %v", tt.url, tt.allowRemote, err, tt.ok)
		}
	}
}

// TestAppendTransfers checks that the hand-built request bodies are the
// JSON the API expects.
func TestAppendTransfers(t *testing.T) {
	cfg := HTTPConfig{Accounts: []string{"a", "b", "c"}, Asset: "CNY", Batch: 1}
	rng := rand.New(rand.NewPCG(1, 2))
	type transfer struct {
		Kind      string `json:"kind"`
		Reference string `json:"reference"`
		Type      string `json:"type"`
		Postings  []struct {
			Debit, Credit, Asset string
			Amount               int64
		} `json:"postings"`
	}
	var one transfer
	if err := json.Unmarshal(appendTransfers(nil, rng, "r1", cfg), &one); err != nil {
		t.Fatal(err)
	}
	if p := one.Postings; one.Reference != "r1" || len(p) != 1 || p[0].Debit == p[0].Credit || p[0].Amount < 1 || p[0].Asset != "CNY" {
		t.Errorf("single transfer = %+v", one)
	}
	cfg.Batch = 3
	var batch struct{ Items []transfer }
	if err := json.Unmarshal(appendTransfers([]byte("junk"), rng, "r2", cfg)[4:], &batch); err != nil {
		t.Fatal(err)
	}
	if len(batch.Items) != 3 || batch.Items[2].Reference != "r2-2" || batch.Items[0].Kind != "transfer" {
		t.Errorf("batch = %+v", batch)
	}
}
